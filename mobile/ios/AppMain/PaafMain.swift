// The app target's only source: everything else is the package's PaafApp library (App/).
// In Xcode: an iOS App target, this file instead of the template's, the package products
// Paaf and PaafApp added to the target, and the camera's purpose string for the QR scanner
// (build setting INFOPLIST_KEY_NSCameraUsageDescription; see mobile/README.md).
import PaafApp
import SwiftUI

@main
struct PaafMain: App {
    var body: some Scene {
        WindowGroup { PaafRootView() }
    }
}
