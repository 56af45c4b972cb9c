import ArgumentParser
import Foundation
import GatewatchCore

/// `--db`, shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The store: a SQLite file, or postgres://user@host:port/dbname for a shared fleet store (default: $GATEWATCH_DB, else ./gatewatch.db)."
    )
    var db: String?

    /// The database path after applying `$GATEWATCH_DB` and the default.
    var resolvedPath: String { Store.resolvePath(option: db) }
}

/// `--since`, `--until`, `--last`, shared by query commands.
struct TimeRangeOptions: ParsableArguments {
    @Option(help: "Only data from this UTC time on (2026-11-20, 2026-11-20T13:00Z, or a duration back from now: 7d).")
    var since: String?

    @Option(help: "Only data before this UTC time (a date alone means the end of that day).")
    var until: String?

    @Option(help: "Only the last duration of data, e.g. 24h or 7d (before --until, or now).")
    var last: String?

    func resolve() throws -> TimeRange {
        do {
            let now = Int64(Date.now.timeIntervalSince1970)
            return try TimeRange.parse(since: since, until: until, last: last, now: now)
        } catch let error as TimeRangeError {
            throw ValidationError(error.description)
        }
    }
}

/// `--format`, shared by query commands.
struct OutputOptions: ParsableArguments {
    @Option(help: "Output format: table, json, ndjson or csv.")
    var format: OutputFormat = .table
}

extension OutputFormat: ExpressibleByArgument {}

extension InputFormat: ExpressibleByArgument {}

extension ClientAddressSource: ExpressibleByArgument {}
