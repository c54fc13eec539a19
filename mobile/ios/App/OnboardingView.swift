import Paaf
import SwiftUI
import UniformTypeIdentifiers

/// Onboarding and settings: where the config stands (the model's stage: empty, invalid with
/// why, ready with what it holds) and the ways to give paaf a config: paste its TOML or pick a
/// file. paaf validates it first; a refused one is shown with its error and changes nothing.
struct OnboardingView: View {
    let state: OnboardingState
    @ObservedObject var app: AppModel
    /// Closes the settings sheet; nil when there is nothing to go back to.
    let onDone: (() -> Void)?
    @State private var toml = ""
    @State private var picking = false

    var body: some View {
        NavigationStack {
            Form {
                Section("Config: \(words(state.stage))") {
                    Text(state.configPath).font(.caption.monospaced())
                    Text("\(state.hosts) hosts · \(state.clouds) cloud accounts · "
                        + "\(state.monitoring) monitoring sources · \(state.flags) flag services")
                    state.error.map { ErrorView(error: $0) }
                    app.fileError.map { Text($0).foregroundStyle(.red) }
                }
                Section("Paste a config (TOML)") {
                    TextEditor(text: $toml)
                        .font(.caption.monospaced())
                        .frame(minHeight: 160)
                        .autocorrectionDisabled()
                        .textInputAutocapitalization(.never)
                    Button("Import") { app.importToml(toml) }
                        .disabled(toml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
                }
                Section {
                    Button("From a file…") { picking = true }
                    Button("Reload") { app.reload() }
                } footer: {
                    Text("Secrets the config names (keyring:NAME) are read from this phone's Keychain.")
                }
            }
            .navigationTitle("paaf")
            .toolbar {
                onDone.map { done in Button("Done", action: done) }
            }
            .fileImporter(isPresented: $picking, allowedContentTypes: [.plainText, .data]) {
                app.importFile($0)
            }
        }
    }
}
