import Paaf
import SwiftUI

/// The app: the Onboarding screen until the config is open and configures something (its
/// stage, decided by the model), then one tab per step; the settings button brings the
/// Onboarding screen back as a sheet (import another config).
public struct PaafRootView: View {
    @StateObject private var app = AppModel()

    public init() {}

    public var body: some View {
        RootContent(app: app, onboarding: app.onboarding)
    }
}

private struct RootContent: View {
    @ObservedObject var app: AppModel
    @ObservedObject var onboarding: Observed<OnboardingScreen, OnboardingState>
    @State private var settings = false

    var body: some View {
        switch onboarding.state.stage {
        case .opening:
            ProgressView()
        case .empty, .invalid:
            OnboardingView(state: onboarding.state, app: app, onDone: nil)
        case .ready:
            app.session.map { session in
                Tabs(session: session, onSettings: { settings = true })
                    .sheet(isPresented: $settings) {
                        OnboardingView(state: onboarding.state, app: app, onDone: { settings = false })
                    }
            }
        }
    }
}

/// The tabs in the order of an incident: the Overview, then the PAAF steps.
private struct Tabs: View {
    let session: Session
    let onSettings: () -> Void

    var body: some View {
        TabView {
            screen("Overview") { OverviewView(model: session.overview) }
                .tabItem { Label("Overview", systemImage: "house") }
            screen("Protect") { ProtectView(model: session.protect) }
                .tabItem { Label("Protect", systemImage: "shield") }
            screen("Analyze") { AnalyzeView(model: session.analyze) }
                .tabItem { Label("Analyze", systemImage: "chart.xyaxis.line") }
            screen("Alert") { AlertTabView(model: session.alert) }
                .tabItem { Label("Alert", systemImage: "bell.slash") }
            screen("Fix") { FixView(model: session.fix) }
                .tabItem { Label("Fix", systemImage: "wrench.and.screwdriver") }
            screen("Journal") { JournalView(model: session.journal) }
                .tabItem { Label("Journal", systemImage: "list.bullet.rectangle") }
        }
    }

    private func screen<Content: View>(_ title: String,
                                       @ViewBuilder _ content: () -> Content) -> some View {
        NavigationStack {
            content()
                .navigationTitle(title)
                .toolbar {
                    Button(action: onSettings) { Image(systemName: "gearshape") }
                }
        }
    }
}
