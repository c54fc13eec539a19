import Paaf
import SwiftUI

/// Overview: the open incident, the headline and the firing alerts as the core ranks them, the
/// sources it could not read, the actions not finished yet; pull to refresh. An alert opens an
/// incident (title, severity and playbook chosen by the core from the alert).
struct OverviewView: View {
    @ObservedObject var model: Observed<OverviewScreen, OverviewState>
    @State private var resolving = false
    @State private var summary = ""

    private var screen: OverviewScreen { model.screen }

    var body: some View {
        let state: OverviewState = model.state
        List {
            state.error.map { ErrorView(error: $0) }
            state.incident.map { incident in
                Section("Incident #\(incident.id)") {
                    Text(incident.title).font(.headline)
                    Text("\(words(incident.severity)) · \(words(incident.phase))").font(.caption)
                    Text("since \(incident.openedAt.formatted(date: .abbreviated, time: .shortened))")
                        .font(.caption)
                    Text("by \(incident.`operator`) (\(incident.device))").font(.caption)
                    incident.playbook.map { Text("Playbook: \($0)").font(.caption) }
                    Button("Resolve…") { resolving = true }
                }
            }
            state.overview.map { overview in
                Group {
                    Section {
                        VStack(alignment: .leading) {
                            Text(overview.headline).font(.title3)
                            Text("\(words(overview.level)) · \(overview.firing) firing · \(overview.critical) critical")
                                .font(.callout)
                            Text(overview.short).font(.caption)
                        }
                    }
                    Section("Alerts") {
                        ForEach(Array(overview.topAlerts.enumerated()), id: \.offset) { _, alert in
                            AlertRow(alert: alert, action: "Open incident") {
                                // Empty title, no severity, no playbook: the core takes them from the alert.
                                screen.openIncident(input: IncidentInput(
                                    title: "", severity: nil,
                                    alert: AlertRef(source: alert.source, name: alert.name, labels: alert.labels),
                                    playbook: nil, alongside: false))
                            }
                        }
                        ForEach(overview.unreadable, id: \.self) { Text("Not read: \($0)").foregroundStyle(.red) }
                    }
                    Section("Unfinished actions") {
                        ForEach(overview.running, id: \.id) { RunningRow(action: $0) }
                    }
                }
            }
        }
        .refreshable { screen.refresh() }
        .busy(state.busy)
        .alert("Resolve the incident?", isPresented: $resolving) {
            TextField("Closing summary", text: $summary)
            Button("Resolve") { screen.resolveIncident(summary: summary) }
            Button("Cancel", role: .cancel) {}
        }
    }
}

/// An alert of a source (name, severity, state, source, summary) with one button, `action`.
struct AlertRow: View {
    let alert: AlertView
    let action: String
    let onAction: () -> Void

    var body: some View {
        HStack {
            VStack(alignment: .leading) {
                Text(alert.name).font(.headline)
                Text([alert.severity, alert.state, alert.source].compactMap { $0 }.joined(separator: " · "))
                    .font(.caption)
                alert.summary.map { Text($0).font(.caption) }
            }
            Spacer()
            Button(action, action: onAction).buttonStyle(.bordered)
        }
    }
}

struct RunningRow: View {
    let action: ActionRecord

    var body: some View {
        let since = action.createdAt.formatted(date: .omitted, time: .shortened)
        Text("\(words(action.kind)) \(action.target) · \(words(action.state)) since \(since)")
    }
}
