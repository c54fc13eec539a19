import SwiftUI
import VisionKit

/// The camera looking for one QR code (VisionKit's live scanner): the first code it reads goes
/// to `onScan` exactly as read; paaf decodes and checks it. `onFailure` gets why the camera
/// could not scan, in words.
struct QrScanner: UIViewControllerRepresentable {
    let onScan: (String) -> Void
    let onFailure: (String) -> Void

    /// Whether this device can scan now: it has the hardware (A12 or later) and the camera is
    /// allowed (not denied by the user, not restricted).
    @MainActor static var canScan: Bool {
        DataScannerViewController.isSupported && DataScannerViewController.isAvailable
    }

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let scanner = DataScannerViewController(
            recognizedDataTypes: [.barcode(symbologies: [.qr])],
            qualityLevel: .balanced,
            recognizesMultipleItems: false,
            isHighFrameRateTrackingEnabled: false,
            isHighlightingEnabled: true
        )
        scanner.delegate = context.coordinator
        return scanner
    }

    func updateUIViewController(_ scanner: DataScannerViewController, context: Context) {
        context.coordinator.parent = self
        context.coordinator.startOnce(scanner)
    }

    func makeCoordinator() -> Coordinator { Coordinator(self) }

    /// Starts the camera once and hands over the first code only (the sheet closes on it).
    @MainActor
    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        var parent: QrScanner
        private var started = false
        private var delivered = false

        init(_ parent: QrScanner) { self.parent = parent }

        func startOnce(_ scanner: DataScannerViewController) {
            guard !started else { return }
            started = true
            do {
                try scanner.startScanning()
            } catch {
                parent.onFailure("could not scan: \(error.localizedDescription)")
            }
        }

        func dataScanner(_ dataScanner: DataScannerViewController, didAdd addedItems: [RecognizedItem],
                         allItems: [RecognizedItem]) {
            guard !delivered, case .barcode(let code)? = addedItems.first else { return }
            delivered = true
            dataScanner.stopScanning()
            // A code that is not text has no string: paaf refuses the empty payload.
            parent.onScan(code.payloadStringValue ?? "")
        }

        func dataScanner(_ dataScanner: DataScannerViewController,
                         becameUnavailableWithError error: DataScannerViewController.ScanningUnavailable) {
            parent.onFailure("could not scan: \(error.localizedDescription)")
        }
    }
}
