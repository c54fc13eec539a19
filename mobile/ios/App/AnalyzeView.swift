import Paaf
import SwiftUI

/// Grafana's value for a variable's All option.
private let all = "$__all"

/// Analyze: the dashboards of a Grafana (search, starred only), and the one opened with its
/// panels drawn from the series the core prepared for this screen's pixel width, the time range
/// and the variables to pick; PromQL quick queries (the playbooks') or one typed, drawn the
/// same way.
struct AnalyzeView: View {
    @ObservedObject var model: Observed<AnalyzeScreen, AnalyzeState>
    /// What is typed; the model searches (or runs it) when it is submitted.
    @State private var search = ""
    @State private var expr = ""
    /// The quick query tapped last: its trouble values are drawn over its chart.
    @State private var picked: QuickQuery?

    private var screen: AnalyzeScreen { model.screen }

    var body: some View {
        let state: AnalyzeState = model.state
        List {
            SourcePicker(sources: state.grafanaSources, shown: state.grafana) { screen.useGrafana(source: $0) }
            state.error.map { ErrorView(error: $0) }
            switch state.dashboard {
            case .none:
                Section {
                    Toggle("Starred only", isOn: Binding(
                        get: { state.starredOnly },
                        set: { screen.showStarred(starredOnly: $0) }
                    ))
                    ForEach(state.dashboards, id: \.uid) { hit in
                        Button { screen.openDashboard(uid: hit.uid) } label: { DashboardRow(hit: hit) }
                    }
                }
                Section("Quick queries") {
                    ForEach(state.quickQueries, id: \.self) { quick in
                        Button {
                            picked = quick
                            screen.runQuery(source: quick.source, expr: quick.expr)
                        } label: {
                            Text(quick.label + (quick.above.map { " > \(shortly($0))" } ?? "")
                                + (quick.below.map { " < \(shortly($0))" } ?? ""))
                                .font(.caption.monospaced())
                        }
                    }
                    HStack {
                        TextField("PromQL", text: $expr).font(.caption.monospaced())
                        Button("Run") {
                            picked = nil
                            screen.runQuery(source: nil, expr: expr)
                        }
                    }
                    state.query.map { chart in
                        VStack(alignment: .leading) {
                            Text(chart.expr).font(.caption.monospaced())
                            ForEach(chart.warnings, id: \.self) { Text($0).foregroundStyle(.red) }
                            SeriesChart(series: chart.series, unit: nil, thresholds: nil,
                                        marks: [picked?.above, picked?.below].compactMap { $0 },
                                        onWidth: { screen.setWidth(width: $0) })
                        }
                    }
                }
            case .some(let open):
                DashboardSections(open: open, state: state, screen: screen)
            }
        }
        .searchable(text: $search, prompt: "Search dashboards")
        .onSubmit(of: .search) { screen.search(query: search) }
        .refreshable { screen.refresh() }
        .busy(state.busy)
    }
}

/// The open dashboard: back, the range and variable pickers, then each panel's chart.
private struct DashboardSections: View {
    let open: OpenDashboard
    let state: AnalyzeState
    let screen: AnalyzeScreen

    var body: some View {
        Section {
            Button("Dashboards") { screen.closeDashboard() }
            Text(open.title).font(.headline)
            Text("\(Date(timeIntervalSince1970: Double(open.fromMs) / 1000).formatted()) – "
                + "\(Date(timeIntervalSince1970: Double(open.toMs) / 1000).formatted())")
                .font(.caption)
            Picker("Range", selection: Binding(
                get: { state.view.window },
                set: { screen.setWindow(window: $0) }
            )) {
                Text("Dashboard's range").tag(TimeWindow?.none)
                ForEach(state.ranges, id: \.label) { Text($0.label).tag(Optional($0.window)) }
            }
            ForEach(open.variables, id: \.name) { variable in
                VariablePicker(variable: variable) { screen.setVariable(name: variable.name, values: $0) }
            }
        }
        ForEach(open.panels, id: \.panelId) { panel in
            Section(panel.title) {
                Text(([panel.row, panel.kind].compactMap { $0 }).joined(separator: " · ")).font(.caption)
                panel.error.map { ErrorView(error: $0) }
                panel.chart.map { chart in
                    VStack(alignment: .leading) {
                        ForEach(chart.errors, id: \.refId) { error in
                            Text("\(error.refId) · \(error.message)").font(.caption).foregroundStyle(.red)
                        }
                        SeriesChart(series: chart.series, unit: chart.unit, thresholds: chart.thresholds,
                                    marks: [], onWidth: { screen.setWidth(width: $0) })
                    }
                }
            }
        }
    }
}

private struct DashboardRow: View {
    let hit: DashboardHit

    var body: some View {
        HStack {
            VStack(alignment: .leading) {
                Text(hit.title).font(.headline)
                Text(([hit.folderTitle] + hit.tags.map { Optional($0) }).compactMap { $0 }
                    .joined(separator: " · ")).font(.caption)
            }
            Spacer()
            Image(systemName: hit.starred ? "star.fill" : "star")
        }
    }
}

/// A variable's options (All first when it offers one); a pick sets that value.
private struct VariablePicker: View {
    let variable: ResolvedVariable
    let onPick: ([String]) -> Void

    var body: some View {
        VStack(alignment: .leading) {
            Picker(variable.label ?? variable.name, selection: Binding(
                get: { variable.isAll ? all : (variable.values.first ?? "") },
                set: { onPick([$0]) }
            )) {
                if variable.includeAll { Text("All").tag(all) }
                ForEach(variable.options, id: \.self) { Text($0).tag($0) }
            }
            variable.warning.map { Text($0).font(.caption).foregroundStyle(.red) }
        }
    }
}

/// The configured sources to choose from; a pick shows that one.
struct SourcePicker: View {
    let sources: [String]
    let shown: String?
    let onPick: (String) -> Void

    var body: some View {
        Picker("Source", selection: Binding(get: { shown ?? "" }, set: onPick)) {
            ForEach(sources, id: \.self) { Text($0).tag($0) }
        }
    }
}
