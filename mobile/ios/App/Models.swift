import Combine
import Foundation
import Paaf
#if canImport(UIKit)
import UIKit
#endif

/// A screen model of the library and its states as a published property: the listener
/// (called on a paaf thread) only hands each state to the main queue, in order. Intents go to
/// `screen` directly.
@MainActor
final class Observed<Screen: AnyObject, State>: ObservableObject {
    @Published private(set) var state: State
    let screen: Screen
    private var subscription: Subscription?

    init(_ screen: Screen, initial: State,
         subscribe: (Screen, @escaping @Sendable (State) -> Void) -> Subscription) {
        self.screen = screen
        state = initial
        subscription = subscribe(screen) { [weak self] state in
            DispatchQueue.main.async { self?.state = state }
        }
    }
}

// One listener per screen model: each passes the states on.

final class OnboardingStates: OnboardingListener, @unchecked Sendable {
    private let deliver: (OnboardingState) -> Void
    init(_ deliver: @escaping (OnboardingState) -> Void) { self.deliver = deliver }
    func onState(state: OnboardingState) { deliver(state) }
}

final class OverviewStates: OverviewListener, @unchecked Sendable {
    private let deliver: (OverviewState) -> Void
    init(_ deliver: @escaping (OverviewState) -> Void) { self.deliver = deliver }
    func onState(state: OverviewState) { deliver(state) }
}

final class ProtectStates: ProtectListener, @unchecked Sendable {
    private let deliver: (ProtectState) -> Void
    init(_ deliver: @escaping (ProtectState) -> Void) { self.deliver = deliver }
    func onState(state: ProtectState) { deliver(state) }
}

final class AnalyzeStates: AnalyzeListener, @unchecked Sendable {
    private let deliver: (AnalyzeState) -> Void
    init(_ deliver: @escaping (AnalyzeState) -> Void) { self.deliver = deliver }
    func onState(state: AnalyzeState) { deliver(state) }
}

final class AlertStates: AlertListener, @unchecked Sendable {
    private let deliver: (AlertState) -> Void
    init(_ deliver: @escaping (AlertState) -> Void) { self.deliver = deliver }
    func onState(state: AlertState) { deliver(state) }
}

final class FixStates: FixListener, @unchecked Sendable {
    private let deliver: (FixState) -> Void
    init(_ deliver: @escaping (FixState) -> Void) { self.deliver = deliver }
    func onState(state: FixState) { deliver(state) }
}

final class JournalStates: JournalListener, @unchecked Sendable {
    private let deliver: (JournalState) -> Void
    init(_ deliver: @escaping (JournalState) -> Void) { self.deliver = deliver }
    func onState(state: JournalState) { deliver(state) }
}

/// The screens of one opened paaf, each made when first shown; released with the session
/// (which unsubscribes the listeners and stops a running action).
@MainActor
final class Session {
    private let paaf: Paaf

    init(_ paaf: Paaf) { self.paaf = paaf }

    lazy var overview: Observed<OverviewScreen, OverviewState> = {
        let screen: OverviewScreen = self.paaf.overviewScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: OverviewStates(deliver))
        }
    }()

    lazy var protect: Observed<ProtectScreen, ProtectState> = {
        let screen: ProtectScreen = self.paaf.protectScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: ProtectStates(deliver))
        }
    }()

    lazy var analyze: Observed<AnalyzeScreen, AnalyzeState> = {
        let screen: AnalyzeScreen = self.paaf.analyzeScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: AnalyzeStates(deliver))
        }
    }()

    lazy var alert: Observed<AlertScreen, AlertState> = {
        let screen: AlertScreen = self.paaf.alertScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: AlertStates(deliver))
        }
    }()

    lazy var fix: Observed<FixScreen, FixState> = {
        let screen: FixScreen = self.paaf.fixScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: FixStates(deliver))
        }
    }()

    lazy var journal: Observed<JournalScreen, JournalState> = {
        let screen: JournalScreen = self.paaf.journalScreen()
        return Observed(screen, initial: screen.state()) { s, deliver in
            s.subscribe(listener: JournalStates(deliver))
        }
    }()
}

/// The app's model: the Onboarding screen model (made first: it opens the config, or says
/// why it cannot) and the session of the paaf it opened.
@MainActor
final class AppModel: ObservableObject {
    private let setup: OnboardingScreen
    let onboarding: Observed<OnboardingScreen, OnboardingState>
    /// The screens of the open paaf; nil while the config is not open.
    @Published private(set) var session: Session?
    /// Why the picked file or the QR scan could not be read (it never reached paaf).
    @Published private(set) var readError: String?

    init() {
        // Config, journal and known_hosts in the app's sandbox; secrets in the Keychain.
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let config = dir.appendingPathComponent("paaf/config.toml").path
        let setup = OnboardingScreen(configPath: config, secrets: KeychainSecretStore(),
                                     device: AppModel.device)
        self.setup = setup
        onboarding = Observed(setup, initial: setup.state()) { s, deliver in
            s.subscribe(listener: OnboardingStates(deliver))
        }
        session = setup.paaf().map(Session.init)
    }

    private static var device: String {
        #if canImport(UIKit)
        return UIDevice.current.name
        #else
        return ProcessInfo.processInfo.hostName
        #endif
    }

    /// Imports a pasted config (validated by paaf: a refused one changes nothing).
    func importToml(_ toml: String) {
        reopen { $0.importToml(toml: toml) }
    }

    /// Imports the config file the user picked.
    func importFile(_ picked: Result<URL, Error>) {
        let read = picked.flatMap { url in
            Result {
                let granted = url.startAccessingSecurityScopedResource()
                defer { if granted { url.stopAccessingSecurityScopedResource() } }
                return try String(contentsOf: url, encoding: .utf8)
            }
        }
        switch read {
        case .success(let text):
            readError = nil
            importToml(text)
        case .failure(let error):
            readError = "could not read the file: \(error.localizedDescription)"
        }
    }

    /// Imports a scanned `paaf config qr` code as it was read: paaf decodes and validates it.
    func importQr(_ payload: String) {
        readError = nil
        reopen { $0.importQr(payload: payload) }
    }

    /// Shows why the camera could not scan (nothing reached paaf).
    func scanFailed(_ why: String) {
        readError = why
    }

    /// Reads the config file again.
    func reload() {
        reopen { $0.reload() }
    }

    // The screens of the paaf opened before are released: each new one reads its state afresh.
    private func reopen(_ change: @escaping @Sendable (OnboardingScreen) -> Void) {
        let setup = setup
        Task {
            await Task.detached { change(setup) }.value
            session = setup.paaf().map(Session.init)
        }
    }
}
