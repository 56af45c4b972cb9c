import ArgumentParser
import Foundation
import GatewatchCore

/// `--db`, shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The store: a SQLite file, or postgres://user@host:port/dbname for a shared fleet store (default: $GATEWATCH_DB, else db: of ./gatewatch.yaml, else ./gatewatch.db)."
    )
    var db: String?

    /// The database path: `--db`, else `$GATEWATCH_DB`, else `db:` of the working directory's
    /// `gatewatch.yaml` (as `ingest` would use it), else `./gatewatch.db`.
    ///
    /// - Throws: ``ConfigurationError`` when the configuration file has to be read and is invalid.
    func resolvedPath() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard (db ?? "").isEmpty, (environment["GATEWATCH_DB"] ?? "").isEmpty else {
            return Store.resolvePath(option: db, environment: environment)
        }
        let configuration = try GatewatchConfiguration.discover(in: FileManager.default.currentDirectoryPath)
        return Store.resolvePath(option: db, configured: configuration?.database, environment: environment)
    }

    /// Opens the store read-write, for commands that change a store but never start one (`prune`,
    /// `alert check`): a SQLite file that does not exist or is empty is an error, not a new empty
    /// store.
    ///
    /// - Throws: ``StoreError/missing(path:)``, or what ``resolvedPath()`` and ``Store`` throw.
    func openExisting() throws -> Store {
        let location = try resolvedPath()
        if !Store.isPostgres(location) {
            let file = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
            // An empty file is not a store either: opening it read-write would make it one.
            var status = stat()
            guard stat(file, &status) == 0, status.st_size > 0 else { throw StoreError.missing(path: file) }
        }
        return try Store(path: location)
    }
}

/// `--since`, `--until`, `--last`, shared by query commands.
struct TimeRangeOptions: ParsableArguments {
    @Option(
        help:
            "Only data from this UTC time on (2026-11-20, 2026-11-20T13:00Z, or a duration back from now: 7d, which ends the window now)."
    )
    var since: String?

    @Option(help: "Only data before this UTC time (a date alone means the end of that day).")
    var until: String?

    @Option(help: "Only the last duration of data, e.g. 24h or 7d (before --until, or now; never later).")
    var last: String?

    /// Refuses a time option that cannot be read while parsing, so that the message names the
    /// command's usage, not the top-level one.
    func validate() throws {
        _ = try resolve()
    }

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
