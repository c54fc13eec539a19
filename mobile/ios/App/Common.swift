import Foundation
import Paaf
import SwiftUI

/// An enum case as the CLI and the journal spell it: `hostKeyUnknown` → `host-key-unknown`.
func spelled<T>(_ value: T) -> String {
    String(describing: value).reduce(into: "") { out, c in
        out += c.isUppercase ? "-" + c.lowercased() : String(c)
    }
}

/// An enum case in words: `standingDown` → `standing down`.
func words<T>(_ value: T) -> String {
    spelled(value).replacingOccurrences(of: "-", with: " ")
}

/// A duration in seconds as `3d 4h 5m`.
func uptime(_ secs: UInt64) -> String {
    "\(secs / 86_400)d \(secs % 86_400 / 3_600)h \(secs % 3_600 / 60)m"
}

/// A failed call as paaf reports it: its code (what kind of trouble: `auth-failed`,
/// `host-key-unknown`, ...), the phase that ran out of time, and the reason, which says what
/// to do. The app adds nothing: the advice is paaf's, the same on every front-end.
struct ErrorView: View {
    let error: ErrorInfo

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Text(([spelled(error.code)] + (error.phase.map { ["during \(words($0))"] } ?? []))
                .joined(separator: " · "))
                .font(.caption.monospaced())
            Text(error.message).font(.callout)
        }
        .foregroundStyle(.red)
    }
}

extension View {
    /// A spinner over the view while the model says a read or a change is under way.
    func busy(_ busy: Bool) -> some View {
        overlay {
            if busy { ProgressView() }
        }
    }
}

/// Lines shown as a monospaced block (plan steps, progress).
struct StepsView: View {
    let lines: [String]

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            ForEach(Array(lines.enumerated()), id: \.offset) { _, line in
                Text(line).font(.caption.monospaced())
            }
        }
    }
}

/// Shows a confirmation a screen model asks for (its `asking`) while it asks; the buttons
/// answer it (yes → `confirm()`, no → `dismiss()`) and the model's next state closes it.
struct Asking<Ask>: ViewModifier {
    let asking: Ask?
    let question: (Ask) -> String
    let details: (Ask) -> String
    let yes: (Ask) -> String
    let onConfirm: () -> Void
    let onDismiss: () -> Void

    func body(content: Content) -> some View {
        content.alert(
            asking.map(question) ?? "",
            // Closed by the model's next state, not by SwiftUI: the answer must reach it first.
            isPresented: Binding(get: { asking != nil }, set: { _ in }),
            presenting: asking
        ) { ask in
            Button(yes(ask), role: .destructive, action: onConfirm)
            Button("Cancel", role: .cancel, action: onDismiss)
        } message: { ask in
            Text(details(ask))
        }
    }
}
