import Paaf
import SwiftUI
import UIKit

/// The hosts of the config and one reboot at a time: confirmation dialog, progress, stop.
@MainActor
final class HostsModel: ObservableObject {
    @Published private(set) var hosts: [HostSummary] = []
    @Published private(set) var progress: String?
    @Published private(set) var running = false
    private var paaf: Paaf?
    private var operation: RebootOperation?

    init() {
        // Config, journal and known_hosts in the app's sandbox; secrets in the Keychain.
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let config = dir.appendingPathComponent("paaf/config.toml").path
            paaf = try Paaf.open(config: .path(path: config), secrets: KeychainSecretStore(),
                                 device: UIDevice.current.name)
            hosts = paaf?.hosts() ?? []
        } catch {
            progress = error.localizedDescription
        }
    }

    func reboot(_ host: String) {
        guard let paaf else { return }
        let listener = Listener { [weak self] step in
            Task { @MainActor in self?.progress = step }
        }
        let operation = paaf.reboot(name: host, confirmation: .yes, listener: listener)
        self.operation = operation
        running = true
        Task {
            do {
                let report = try await operation.result()
                progress = "\(report.host) verified in \(report.elapsedMs / 1000) s"
            } catch {
                progress = error.localizedDescription // PaafError: code + message
            }
            running = false
            self.operation = nil // releasing the handle after the end changes nothing
        }
    }

    /// Stops the reboot: before the command is sent nothing happens to the host.
    func stop() {
        operation?.cancel()
    }
}

/// Progress events arrive on a paaf thread; the model hops to the main actor.
private final class Listener: ProgressListener, @unchecked Sendable {
    private let onStep: (String) -> Void
    init(_ onStep: @escaping (String) -> Void) { self.onStep = onStep }

    func onProgress(event: ProgressEvent) {
        onStep("\(event.step)")
    }
}

struct HostsView: View {
    @StateObject private var model = HostsModel()
    @State private var confirming: HostSummary?

    var body: some View {
        NavigationStack {
            List {
                if let progress = model.progress {
                    Section("Reboot") {
                        Text(progress)
                        if model.running {
                            ProgressView()
                            Button("Stop", role: .destructive) { model.stop() }
                        }
                    }
                }
                Section("Hosts") {
                    ForEach(model.hosts, id: \.name) { host in
                        HStack {
                            VStack(alignment: .leading) {
                                Text(host.name).font(.headline)
                                Text("\(host.user)@\(host.address):\(host.port)").font(.caption)
                            }
                            Spacer()
                            Button("Reboot") { confirming = host }.disabled(model.running)
                        }
                    }
                }
            }
            .navigationTitle("paaf")
            // A reboot is destructive: paaf refuses it without an explicit confirmation.
            .confirmationDialog("Reboot \(confirming?.name ?? "")?",
                                isPresented: Binding(get: { confirming != nil },
                                                     set: { if !$0 { confirming = nil } }),
                                titleVisibility: .visible) {
                Button("Reboot", role: .destructive) {
                    if let host = confirming { model.reboot(host.name) }
                }
            } message: {
                Text("The host goes down and must come back with a new boot id.")
            }
        }
    }
}
