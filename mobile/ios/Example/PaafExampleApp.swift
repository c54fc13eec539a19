// An example screen over the Paaf package: the hosts of the config, a reboot behind a
// confirmation dialog, its progress. Add these files to an iOS app target that depends on the
// package in mobile/ios. Not built in CI.
import SwiftUI

@main
struct PaafExampleApp: App {
    var body: some Scene {
        WindowGroup { HostsView() }
    }
}
