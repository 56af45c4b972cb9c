import Foundation
import GatewatchCore

/// A one-line progress bar with ETA on standard error, driven by raw bytes read.
final class ProgressBar {
    let enabled: Bool
    private var drawn = false
    private let started = ContinuousClock.now

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: IngestProgress) {
        guard enabled else { return }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var line = ""
        if progress.rawBytesTotal > 0 {
            let fraction = min(1, Double(progress.rawBytesDone) / Double(progress.rawBytesTotal))
            let width = 24
            let filled = Int((fraction * Double(width)).rounded(.down))
            line += "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
            if fraction > 0.01, seconds > 0.5 {
                let remaining = seconds / fraction - seconds
                if remaining.isFinite { line += String(format: "ETA %.0fs ", remaining) }
            }
        }
        line += "\(IngestSummaryText.number(progress.lines)) lines  "
        let name = progress.path.split(separator: "/").last.map(String.init) ?? progress.path
        line += SafeText.terminal(String(name.suffix(40)))
        StandardError().write("\r\u{1B}[2K" + line)
        drawn = true
    }

    func clear() {
        if drawn { StandardError().write("\r\u{1B}[2K") }
    }
}
