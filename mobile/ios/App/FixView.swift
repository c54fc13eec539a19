import Paaf
import SwiftUI

/// Fix: hosts and cloud servers in one list with their status read now and the actions the
/// model offers for each; an action waits for the confirmation showing the plan, then its
/// live progress with a stop button, then its outcome, verified or not.
struct FixView: View {
    @ObservedObject var model: Observed<FixScreen, FixState>

    private var screen: FixScreen { model.screen }

    var body: some View {
        let state: FixState = model.state
        List {
            state.error.map { ErrorView(error: $0) }
            state.running.map { run in
                Section("\(words(run.action)) \(run.machine.name)") {
                    RunView(run: run, onStop: { screen.cancel() })
                }
            }
            Section {
                ForEach(state.machines, id: \.self) { machine in
                    MachineRow(machine: machine) { screen.ask(name: machine.name, action: $0) }
                }
                ForEach(state.unreadable, id: \.self) { Text("Not listed: \($0)").foregroundStyle(.red) }
            }
        }
        .refreshable { screen.refresh() }
        .busy(state.busy)
        .modifier(Asking(
            asking: state.asking,
            question: { $0.question },
            details: { ask in ([ask.warning].compactMap { $0 } + ask.steps).joined(separator: "\n") },
            yes: { words($0.action).capitalized },
            onConfirm: { screen.confirm() },
            onDismiss: { screen.dismiss() }
        ))
    }
}

private struct MachineRow: View {
    let machine: Machine
    let onAct: (MachineAction) -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            HStack {
                VStack(alignment: .leading) {
                    Text(machine.name).font(.headline)
                    Text(machine.place).font(.caption)
                }
                Spacer()
                Text(([machine.status] + (machine.uptimeSecs.map { ["up \(uptime($0))"] } ?? []))
                    .joined(separator: " · "))
                    .font(.caption.bold())
                    // The model says whether it is up; the colour only shows it.
                    .foregroundStyle(machine.up ? Color.green : Color.red)
            }
            machine.error.map { ErrorView(error: $0) }
            HStack {
                ForEach(machine.actions, id: \.self) { action in
                    Button(words(action).capitalized) { onAct(action) }.buttonStyle(.bordered)
                }
            }
        }
    }
}

private struct RunView: View {
    let run: PowerRun
    let onStop: () -> Void

    var body: some View {
        run.actionId.map { Text("action \($0)").font(.caption) }
        StepsView(lines: run.progress)
        // Shown while the model says it runs: the bar and the stop button.
        if !run.finished {
            ProgressView()
            Button("Stop", role: .destructive, action: onStop)
        }
        run.outcome.map { Text($0).foregroundStyle(run.verified ? Color.green : Color.orange) }
        run.error.map { ErrorView(error: $0) }
    }
}
