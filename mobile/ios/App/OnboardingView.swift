import Paaf
import SwiftUI
import UniformTypeIdentifiers

/// Onboarding and settings: where the config stands (the model's stage: empty, invalid with
/// why, ready with what it holds) and the ways to give paaf a config: paste its TOML, pick a
/// file or scan the QR code of `paaf config qr`. paaf validates it first; a refused one is shown with its error and changes nothing.
/// Adding a host: the model reads its SSH key and shows the fingerprint to compare; the host is
/// saved only once the user trusts it and the login worked.
struct OnboardingView: View {
    let state: OnboardingState
    @ObservedObject var app: AppModel
    /// Closes the settings sheet; nil when there is nothing to go back to.
    let onDone: (() -> Void)?
    @State private var toml = ""
    @State private var picking = false
    @State private var scanning = false

    private var screen: OnboardingScreen { app.onboarding.screen }

    var body: some View {
        NavigationStack {
            Form {
                Section("Config: \(words(state.stage))") {
                    Text(state.configPath).font(.caption.monospaced())
                    Text("\(state.hosts) hosts · \(state.clouds) cloud accounts · "
                        + "\(state.monitoring) monitoring sources · \(state.flags) flag services")
                    state.error.map { ErrorView(error: $0) }
                    app.readError.map { Text($0).foregroundStyle(.red) }
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
                    if QrScanner.canScan {
                        Button("Scan a QR code") { scanning = true }
                    }
                    Button("From a file…") { picking = true }
                    Button("Reload") { app.reload() }
                } footer: {
                    Text("On the computer, paaf config qr | qrencode -t ansiutf8 shows the config "
                        + "as a QR code. Secrets the config names (keyring:NAME) are read from "
                        + "this phone's Keychain.")
                }
                AddHostSection(busy: state.busy) { screen.addHost(input: $0) }
                state.addedHost.map { Text("\($0.name) added").font(.caption) }
            }
            .navigationTitle("paaf")
            .toolbar {
                onDone.map { done in Button("Done", action: done) }
            }
            .fileImporter(isPresented: $picking, allowedContentTypes: [.plainText, .data]) {
                app.importFile($0)
            }
            .sheet(isPresented: $scanning) {
                NavigationStack {
                    QrScanner(
                        onScan: { scanning = false; app.importQr($0) },
                        onFailure: { scanning = false; app.scanFailed($0) }
                    )
                    .ignoresSafeArea()
                    .navigationTitle("The config's QR code")
                    .navigationBarTitleDisplayMode(.inline)
                    .toolbar {
                        ToolbarItem(placement: .cancellationAction) {
                            Button("Cancel") { scanning = false }
                        }
                    }
                }
            }
            .modifier(Asking(
                asking: state.hostKey,
                question: { $0.question },
                details: { "\($0.key.keyType) \($0.key.fingerprint)" },
                yes: { _ in "Trust and add" },
                onConfirm: { screen.trustHostKey() },
                onDismiss: { screen.dismissHostKey() }
            ))
        }
    }
}

/// The new host as typed; the password goes to the Keychain once the host is added.
private struct AddHostSection: View {
    let busy: Bool
    let onAdd: (HostInput) -> Void
    @State private var name = ""
    @State private var address = ""
    @State private var port = "22"
    @State private var user = ""
    @State private var withKey = false
    @State private var keyPath = ""
    @State private var password = ""

    var body: some View {
        Section("Add a host") {
            TextField("Name (web-1)", text: $name)
            TextField("Address", text: $address)
            TextField("Port", text: $port).keyboardType(.numberPad)
            TextField("User", text: $user)
            Picker("Log in with", selection: $withKey) {
                Text("Password").tag(false)
                Text("Key file").tag(true)
            }
            .pickerStyle(.segmented)
            if withKey {
                TextField("Private key file (in the app's files)", text: $keyPath)
            } else {
                SecureField("Password (kept in the Keychain)", text: $password)
            }
            Button("Add") {
                let auth: AuthInput = withKey
                    ? .key(path: keyPath, passphrase: nil)
                    : .password(password: .value(password))
                onAdd(HostInput(name: name, address: address, port: UInt16(port) ?? 0, user: user, auth: auth))
            }
            .disabled(busy || UInt16(port) == nil)
        }
        .autocorrectionDisabled()
        .textInputAutocapitalization(.never)
    }
}
