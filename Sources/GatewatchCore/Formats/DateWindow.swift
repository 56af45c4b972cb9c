/// The span of request times an ingest run accepts: a line dated outside it is malformed.
///
/// A log dated `0001-01-01` or `9999-12-31` is corrupt or hostile, and one such line stretched
/// every bucketed query over millennia (`timeline --bucket hour` allocated 24 GB). By default
/// the window runs from 1995-01-01 (before any W3C log) to a day after the newest input's
/// modification time: a line cannot be written after its file was last changed, and the day
/// covers a server whose clock runs ahead.
public struct DateWindow: Sendable, Equatable {
    /// The earliest accepted time, in seconds since the Unix epoch (UTC).
    public var earliest: Int64
    /// The latest accepted time, in seconds since the Unix epoch (UTC).
    public var latest: Int64

    /// Creates a window.
    ///
    /// - Parameters:
    ///   - earliest: The earliest accepted time (seconds since the epoch, UTC).
    ///   - latest: The latest accepted time.
    public init(earliest: Int64, latest: Int64) {
        self.earliest = earliest
        self.latest = latest
    }

    /// 1995-01-01T00:00:00Z, the default ``earliest``.
    public static let defaultEarliest: Int64 = 788_918_400

    /// The slack past the newest input's modification time: one day.
    public static let defaultSlackSeconds: Int64 = 86_400

    /// A window that accepts every time (for callers that check nothing).
    public static let unbounded = DateWindow(earliest: .min, latest: .max)

    /// Whether `seconds` is inside the window.
    ///
    /// O(1); no allocation.
    ///
    /// - Parameter seconds: A time in seconds since the epoch.
    /// - Returns: `true` when it is accepted.
    @inline(__always)
    public func contains(_ seconds: Int64) -> Bool { seconds >= earliest && seconds <= latest }

    /// Why `seconds` is outside the window, for malformed-line reasons.
    ///
    /// - Parameter seconds: The rejected time.
    /// - Returns: A short explanation that names the options that widen the window.
    public func reason(for seconds: Int64) -> String {
        let side = seconds < earliest ? "before" : "after"
        let bound = seconds < earliest ? earliest : latest
        return "date \(Self.day(seconds)) is \(side) \(Self.day(bound)), outside the plausible dates "
            + "\(Self.day(earliest)) to \(Self.day(latest)) (--not-before / --not-after widen them)"
    }

    /// `YYYY-MM-DD` of a time (or the year-out-of-range marker of ``UTCTime``).
    static func day(_ seconds: Int64) -> String {
        let text = UTCTime.format(seconds)
        return text.count >= 10 && text.first?.isNumber == true ? String(text.prefix(10)) : text
    }
}
