import ArgumentParser
import Foundation
import GatewatchCore

/// What `--last` (and a duration as `--since`) counts back from.
enum TimeAnchor: String, ExpressibleByArgument, CaseIterable {
    /// The clock.
    case now
    /// The newest request in the store (before `--until`): archived logs read as "the last 7 days of data".
    case data
}

/// `--anchor now|data`, for the query commands that take `--last` (summary, top, clients, whatif).
struct AnchorOptions: ParsableArguments {
    @Option(
        help:
            "What --last counts back from: now, or data (the newest request in the store, before --until), for archived logs."
    )
    var anchor: TimeAnchor = .now

    /// The window of `time`, counted back from the newest data when `--anchor data`.
    ///
    /// - Parameters:
    ///   - time: The time options.
    ///   - store: The store, for the newest data.
    /// - Returns: The window.
    /// - Throws: `ValidationError` for a window that cannot be read, database errors.
    func resolve(_ time: TimeRangeOptions, store: Store) throws -> TimeRange {
        guard anchor == .data else { return try time.resolve() }
        let bound = try time.resolve().until
        guard let newest = try DataAnchor.newest(store: store, before: bound) else { return try time.resolve() }
        do {
            return try TimeRange.parse(since: time.since, until: time.until, last: time.last, now: newest + 1)
        } catch let error as TimeRangeError {
            throw ValidationError(error.description)
        }
    }
}
