import Foundation

/// Phase timings of an ingest on standard error, for finding where a slow run spends its time: set
/// `GATEWATCH_TRACE=1`.
///
/// Each line is the milliseconds since the run started, the thread (`M` parses, `W` writes) and the
/// event: a flush handed over and written (with its hourly and inventory key counts), waits for the
/// writer, the end of parsing, the last flush and the commit. Off (one load of a constant)
/// otherwise; never on a per-line path. Events name input paths: they are escaped as every path the
/// CLI prints is.
enum PhaseTrace {
    static let isOn = ProcessInfo.processInfo.environment["GATEWATCH_TRACE"].map { $0 != "" && $0 != "0" } ?? false
    private static let origin = DispatchTime.now().uptimeNanoseconds

    /// Starts the clock (the first ingest of the process).
    static func start() {
        guard isOn else { return }
        _ = origin
    }

    /// Writes one event line when tracing is on.
    static func mark(_ event: @autoclosure () -> String) {
        guard isOn else { return }
        let start = origin
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds &- start) / 1e6
        let line = String(format: "%9.1f ms ", milliseconds) + SafeText.terminal(event()) + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
