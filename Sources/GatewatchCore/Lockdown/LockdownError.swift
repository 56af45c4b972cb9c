import Foundation

/// Why a what-if or readiness evaluation could not run.
public enum LockdownError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The store holds no backend requests (in the window), so there is nothing to judge.
    case noData(path: String, window: String?)
    /// `--quiet-days` is not a positive number of days.
    case invalidQuietDays(Int)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .noData(let path, let window):
            if let window {
                "no backend requests in '\(path)' \(window); widen --since/--until or ingest the logs of that period"
            } else {
                "no backend requests in '\(path)'; run 'gatewatch ingest' first, or point --db at the right database"
            }
        case .invalidQuietDays(let days):
            "--quiet-days must be from 1 to \(ReadinessQuery.maximumQuietDays), not \(days); pass the number of days without served direct traffic you require"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// A window description for messages: `between A and B`, `since A`, `before B`, or `nil`.
func windowText(_ range: TimeRange) -> String? {
    switch (range.since, range.until) {
    case (let since?, let until?): "between \(UTCTime.format(since)) and \(UTCTime.format(until))"
    case (let since?, nil): "since \(UTCTime.format(since))"
    case (nil, let until?): "before \(UTCTime.format(until))"
    case (nil, nil): nil
    }
}
