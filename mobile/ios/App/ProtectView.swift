import Paaf
import SwiftUI

/// Protect: the flags of every flag service, searchable; a toggle per environment is the kill
/// switch: it asks the model, which reads the flag now and asks the confirmation naming flag,
/// environment and service; then the change made, with undo.
struct ProtectView: View {
    @ObservedObject var model: Observed<ProtectScreen, ProtectState>
    /// What is typed; the model searches when it is submitted.
    @State private var query = ""

    private var screen: ProtectScreen { model.screen }

    var body: some View {
        let state: ProtectState = model.state
        List {
            state.error.map { ErrorView(error: $0) }
            state.lastChange.map { change in
                Section("Last change") {
                    Text("\(change.key) in \(change.environment) (\(change.backend)): "
                        + "\(onOff(change.wasEnabled)) → \(onOff(change.enabled))")
                    Button("Undo") { screen.askUndo() }.disabled(!state.canUndo)
                }
            }
            ForEach(state.services, id: \.backend) { service in
                Section(service.backend) {
                    service.error.map { ErrorView(error: $0) }
                    ForEach(service.flags, id: \.self) { flag in
                        FlagRow(flag: flag) { environment, on in
                            screen.askSwitch(
                                target: FlagTarget(backend: flag.backend, project: flag.project,
                                                   key: flag.key, environment: environment),
                                enabled: on)
                        }
                    }
                }
            }
        }
        .searchable(text: $query, prompt: "Search flags")
        .onSubmit(of: .search) { screen.search(query: query) }
        .refreshable { screen.refresh() }
        .busy(state.busy)
        .modifier(Asking(
            asking: state.asking,
            question: { $0.question },
            details: { $0.steps.joined(separator: "\n") },
            yes: { _ in "Change" },
            onConfirm: { screen.confirm() },
            onDismiss: { screen.dismiss() }
        ))
    }
}

/// A flag's state in a word.
private func onOff(_ enabled: Bool) -> String {
    enabled ? "ON" : "OFF"
}

private struct FlagRow: View {
    let flag: Flag
    let onSwitch: (String, Bool) -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(flag.name ?? flag.key).font(.headline)
            Text("\(flag.project) / \(flag.key)").font(.caption)
            flag.description.map { Text($0).font(.caption) }
            ForEach(flag.environments, id: \.name) { environment in
                // Shows the state read; a tap only asks (nothing changes before the yes).
                Toggle(environment.name, isOn: Binding(
                    get: { environment.enabled },
                    set: { onSwitch(environment.name, $0) }
                ))
            }
        }
    }
}
