import Paaf
import SwiftUI

/// Journal: the actions of every front-end sharing this journal, newest first, filtered by
/// target (the model's list of targets); a row opens its detail.
struct JournalView: View {
    @ObservedObject var model: Observed<JournalScreen, JournalState>

    private var screen: JournalScreen { model.screen }

    var body: some View {
        let state: JournalState = model.state
        List {
            state.error.map { ErrorView(error: $0) }
            ForEach(state.actions, id: \.id) { action in
                NavigationLink {
                    ActionDetail(action: action)
                } label: {
                    JournalRow(action: action)
                }
            }
        }
        .refreshable { screen.refresh() }
        .toolbar {
            Menu {
                Button("All") { screen.filter(target: nil) }
                ForEach(state.targets, id: \.self) { target in
                    Button(target) { screen.filter(target: target) }
                }
            } label: {
                Label(state.target ?? "All", systemImage: "line.3.horizontal.decrease.circle")
            }
        }
    }
}

private struct JournalRow: View {
    let action: ActionRecord

    private var line: String {
        let when = action.createdAt.formatted(date: .abbreviated, time: .shortened)
        return ([words(action.state)] + [action.errorCode, when].compactMap { $0 }).joined(separator: " · ")
    }

    var body: some View {
        VStack(alignment: .leading) {
            Text("\(words(action.kind)) \(action.target)").font(.headline)
            Text(line).font(.caption)
        }
    }
}

private struct ActionDetail: View {
    let action: ActionRecord

    var body: some View {
        List {
            Text(action.detail).font(.callout.monospaced())
            LabeledContent("State", value: words(action.state))
            action.result.map { LabeledContent("Result", value: $0) }
            action.errorCode.map { LabeledContent("Error", value: $0) }
            LabeledContent("Operator", value: action.`operator`)
            LabeledContent("Front-end", value: "\(action.frontend) (\(action.device))")
            LabeledContent("Started", value: action.createdAt.formatted())
            action.durationMs.map { LabeledContent("Took", value: "\($0) ms") }
            action.incidentId.map { LabeledContent("Incident", value: "#\($0)") }
            action.step.map { LabeledContent("Step", value: $0) }
        }
        .navigationTitle("Action \(action.id)")
    }
}
