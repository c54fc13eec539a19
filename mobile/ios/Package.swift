// swift-tools-version:5.9
// paaf for iOS: the generated Swift bindings (Sources/Paaf, scripts/mobile-bindings.sh) over
// the static library in PaafFFI.xcframework (built by ../build-ios.sh, not checked in), and the
// app's screens (App/, library PaafApp: SwiftUI views over the screen models). An iOS app
// target adds PaafApp and one file, AppMain/PaafMain.swift (see ../README.md). Not built in CI
// (no Xcode there); tests/mobile/check-app-symbols.py checks what App/ names.
import PackageDescription

let package = Package(
    name: "Paaf",
    // iOS 16: NavigationStack and Swift Charts.
    platforms: [.iOS(.v16)],
    products: [
        .library(name: "Paaf", targets: ["Paaf"]),
        .library(name: "PaafApp", targets: ["PaafApp"]),
    ],
    targets: [
        // libpaaf_mobile.a + headers + one module.modulemap (paaf_coreFFI, paaf_mobileFFI).
        .binaryTarget(name: "PaafFFI", path: "PaafFFI.xcframework"),
        .target(name: "Paaf", dependencies: ["PaafFFI"], path: "Sources/Paaf"),
        .target(name: "PaafApp", dependencies: ["Paaf"], path: "App"),
    ]
)
