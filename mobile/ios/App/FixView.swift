import Paaf
import SwiftUI

/// Fix: hosts and cloud servers in one list with their status read now and the actions the
/// model offers for each; an action waits for the confirmation showing the plan, then its
/// live progress with a stop button, then its outcome, verified or not. A host's runbooks and a
/// typed command run behind their own confirmation (a dangerous runbook's name typed there),
/// then show their exit code and bounded output.
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
            state.commandRunning.map { run in
                Section("\(run.text) on \(run.host)") { CommandRunView(run: run) }
            }
            state.runbooks.map { books in
                Section("Runbooks on \(books.host)") {
                    RunbooksView(
                        books: books,
                        onRun: { screen.askRunbook(runbook: $0) },
                        onExec: { screen.askExec(host: books.host, command: $0) }
                    )
                }
            }
            Section {
                ForEach(state.machines, id: \.self) { machine in
                    MachineRow(
                        machine: machine,
                        onAct: { screen.ask(name: machine.name, action: $0) },
                        onCommands: { screen.showRunbooks(host: machine.name) }
                    )
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
        .modifier(CommandAsking(
            asking: state.commandAsking,
            onType: { screen.typeConfirmation(text: $0) },
            onConfirm: { screen.confirmCommand() },
            onDismiss: { screen.dismissCommand() }
        ))
    }
}

private struct MachineRow: View {
    let machine: Machine
    let onAct: (MachineAction) -> Void
    let onCommands: () -> Void

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
            HStack(alignment: .top, spacing: 12) {
                ForEach(machine.metrics, id: \.label) { MetricCell(metric: $0) }
            }
            HStack {
                ForEach(machine.actions, id: \.self) { action in
                    Button(words(action).capitalized) { onAct(action) }.buttonStyle(.bordered)
                }
                // Offered where the model says runbooks and commands can run.
                if machine.runsCommands {
                    Button("Runbooks", action: onCommands).buttonStyle(.bordered)
                }
            }
        }
    }
}

/// One metric: its label, its worded value and a bar, coloured by the level the model gives.
private struct MetricCell: View {
    let metric: MachineMetric

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            Text(metric.label).font(.caption2)
            Text(metric.shown).font(.caption.bold()).foregroundStyle(levelColor(metric.level))
            metric.ratio.map { ProgressView(value: $0).tint(levelColor(metric.level)) }
        }
    }
}

/// The colour of a level the model decided (ok, unknown, warning, danger).
func levelColor(_ level: Level) -> Color {
    switch level {
    case .ok: return .green
    case .unknown: return .gray
    case .warning: return .orange
    case .danger: return .red
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

/// The runbooks of the host chosen (a dangerous one marked so) and a command to type.
private struct RunbooksView: View {
    let books: HostRunbooks
    let onRun: (String) -> Void
    let onExec: (String) -> Void
    @State private var command = ""

    var body: some View {
        ForEach(books.runbooks, id: \.self) { book in
            HStack {
                Text(book.name).font(.body.monospaced())
                // The core marks it dangerous; the label only shows it.
                if book.dangerous {
                    Text("dangerous").font(.caption.bold()).foregroundStyle(.red)
                }
                Spacer()
                Button("Run") { onRun(book.name) }
            }
        }
        HStack {
            TextField("Command", text: $command).font(.body.monospaced())
            Button("Run") { onExec(command) }
        }
    }
}

/// The confirmation of a runbook or command: the model's question, warning and exact command;
/// a dangerous runbook's name is typed in the field (the model says when it is `ready`).
private struct CommandAsking: ViewModifier {
    let asking: CommandAsk?
    let onType: (String) -> Void
    let onConfirm: () -> Void
    let onDismiss: () -> Void

    func body(content: Content) -> some View {
        content.alert(
            asking?.question ?? "",
            // Closed by the model's next state, not by SwiftUI: the answer must reach it first.
            isPresented: Binding(get: { asking != nil }, set: { _ in }),
            presenting: asking
        ) { ask in
            ask.typedName.map { name in
                TextField("Type \(name) to confirm", text: Binding(get: { ask.typed }, set: onType))
            }
            Button("Run", role: .destructive, action: onConfirm).disabled(!ask.ready)
            Button("Cancel", role: .cancel, action: onDismiss)
        } message: { ask in
            Text(([ask.warning].compactMap { $0 } + ask.steps).joined(separator: "\n"))
        }
    }
}

/// A runbook or command: its progress, then its outcome, exit code and bounded output.
private struct CommandRunView: View {
    let run: CommandRun

    var body: some View {
        StepsView(lines: run.progress)
        // Shown while the model says it runs.
        if !run.finished {
            ProgressView()
        }
        run.outcome.map { Text($0).foregroundStyle(run.succeeded ? Color.green : Color.orange) }
        run.output.map { output in
            VStack(alignment: .leading) {
                StepsView(lines: [output.stdout, output.stderr])
                // The model says the output was cut at the host's limit.
                if output.stdoutTruncated || output.stderrTruncated {
                    Text("output cut at the host's max_output_bytes").font(.caption)
                }
            }
        }
        run.error.map { ErrorView(error: $0) }
    }
}
