// swift-tools-version:5.9
// paaf for iOS: the generated Swift bindings (Sources/Paaf, scripts/mobile-bindings.sh) over
// the static library in PaafFFI.xcframework (built by ../build-ios.sh, not checked in).
// Not built in CI (no Xcode there).
import PackageDescription

let package = Package(
    name: "Paaf",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Paaf", targets: ["Paaf"]),
    ],
    targets: [
        // libpaaf_mobile.a + headers + one module.modulemap (paaf_coreFFI, paaf_mobileFFI).
        .binaryTarget(name: "PaafFFI", path: "PaafFFI.xcframework"),
        .target(name: "Paaf", dependencies: ["PaafFFI"], path: "Sources/Paaf"),
    ]
)
