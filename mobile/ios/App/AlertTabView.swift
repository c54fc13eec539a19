import Paaf
import SwiftUI

/// The silence lengths offered, as (label, minutes).
private let lengths: [(String, UInt32)] = [("30m", 30), ("1h", 60), ("4h", 240), ("1d", 1_440)]

/// Alert: the silences of a source (active, pending, expired, as the model orders them) with
/// expire where the model allows it; a silence asked with its matchers, length and comment (a
/// firing alert's Silence button fills its name in), added once the model's confirmation of
/// what it mutes is accepted; a Grafana annotation written now.
struct AlertTabView: View {
    @ObservedObject var model: Observed<AlertScreen, AlertState>
    // The forms, as typed; nothing reaches the model before Silence / Annotate.
    @State private var matchers = ""
    @State private var minutes: UInt32 = 60
    @State private var comment = ""
    @State private var note = ""
    @State private var tags = ""
    @State private var grafana: String?

    private var screen: AlertScreen { model.screen }

    var body: some View {
        let state: AlertState = model.state
        List {
            SourcePicker(sources: state.silenceSources, shown: state.source) { screen.useSource(source: $0) }
            state.error.map { ErrorView(error: $0) }
            state.lastSilence.map { Text("Silence \($0) added").font(.caption) }
            state.lastAnnotation.map { Text("Annotation \($0) written").font(.caption) }
            Section("New silence") {
                TextField("Matchers, one a line (alertname=X)", text: $matchers, axis: .vertical)
                    .font(.caption.monospaced())
                Picker("For", selection: $minutes) {
                    ForEach(lengths.indices, id: \.self) { Text(lengths[$0].0).tag(lengths[$0].1) }
                }
                .pickerStyle(.segmented)
                TextField("Comment", text: $comment)
                Button("Silence") {
                    screen.askSilence(
                        matchers: matchers.split(separator: "\n").map(String.init)
                            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty },
                        minutes: minutes, comment: comment)
                }
            }
            Section("Silences") {
                ForEach(state.silences, id: \.silence.id) { row in
                    SilenceCard(row: row) { screen.expireSilence(id: row.silence.id) }
                }
            }
            ForEach(state.alerts, id: \.source) { source in
                Section("Alerts: \(source.source) (\(source.kind))") {
                    source.error.map { ErrorView(error: $0) }
                    ForEach(Array(source.alerts.enumerated()), id: \.offset) { _, alert in
                        AlertRow(alert: alert, action: "Silence") { matchers = "alertname=\(alert.name)" }
                    }
                }
            }
            Section("Annotate") {
                Picker("Grafana", selection: Binding(
                    get: { grafana ?? state.grafanaSources.first ?? "" },
                    set: { grafana = $0 }
                )) {
                    ForEach(state.grafanaSources, id: \.self) { Text($0).tag($0) }
                }
                TextField("Text", text: $note)
                TextField("Tags, comma-separated", text: $tags)
                Button("Annotate") {
                    screen.annotate(
                        grafana: grafana ?? state.grafanaSources.first,
                        input: AnnotationInput(
                            text: note,
                            tags: tags.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                                .filter { !$0.isEmpty },
                            dashboardUid: nil, panelId: nil))
                }
            }
        }
        .refreshable { screen.refresh() }
        .busy(state.busy)
        .modifier(Asking(
            asking: state.asking,
            question: { $0.question },
            details: { ask in ([ask.warning].compactMap { $0 } + ask.steps).joined(separator: "\n") },
            yes: { _ in "Silence" },
            onConfirm: { screen.confirm() },
            onDismiss: { screen.dismiss() }
        ))
    }
}

private struct SilenceCard: View {
    let row: SilenceRow
    let onExpire: () -> Void

    var body: some View {
        let silence = row.silence
        HStack {
            VStack(alignment: .leading, spacing: 2) {
                Text(row.matchers.joined(separator: ", ")).font(.caption.monospaced())
                Text(([words(silence.state)]
                    + [silence.endsAtMs.map { "until \(Date(timeIntervalSince1970: Double($0) / 1000).formatted())" }]
                        .compactMap { $0 }
                    + [silence.createdBy]).joined(separator: " · "))
                    .font(.caption)
                Text(silence.comment).font(.caption)
            }
            Spacer()
            Button("Expire", action: onExpire).disabled(!row.canExpire)
        }
    }
}
