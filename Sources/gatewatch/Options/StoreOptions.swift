import ArgumentParser
import Foundation
import GatewatchCore

/// `--db`, shared by every command that touches the store.
///
/// Every command opens its store through ``open(_:config:)``: `--db`, else `$GATEWATCH_DB`, else
/// `db:` of the command's configuration file (`--config`, else `./gatewatch.yaml`; relative to
/// the file's folder), else `./gatewatch.db`.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The store: a SQLite file, or postgres://user@host:port/dbname for a shared fleet store (default: $GATEWATCH_DB, else db: of ./gatewatch.yaml, else ./gatewatch.db)."
    )
    var db: String?

    /// How a command uses the store.
    enum Access {
        /// Read only: the store must exist.
        case readOnly
        /// Read and write; a new store is created (`ingest`, `watch`).
        case create
        /// Read and write, for commands that change a store but never start one (`prune`,
        /// `alert check`): a SQLite file that does not exist or is empty is an error, not a new
        /// empty store.
        case existing
    }

    /// The `--db` value to use: `--db`, else `$GATEWATCH_DB`, else `db:` of the configuration
    /// file (read only when neither names a store), else `./gatewatch.db`.
    ///
    /// - Parameter config: The command's `--config`.
    /// - Returns: The path or URL.
    /// - Throws: ``ConfigurationError`` when the configuration file has to be read and is invalid.
    func resolvedPath(config: ConfigOptions) throws -> String {
        try StoreLocation.resolve(option: db, configured: { try config.load()?.database })
    }

    /// Opens the store: the one way every command does.
    ///
    /// - Parameters:
    ///   - access: How the command uses it.
    ///   - config: The command's `--config`.
    /// - Returns: The store.
    /// - Throws: ``StoreError``, ``ConfigurationError``, or what ``Store`` throws.
    func open(_ access: Access, config: ConfigOptions) throws -> Store {
        let location = try StoreLocation(try resolvedPath(config: config))
        if access == .existing, let file = location.filePath {
            // An empty file is not a store either: opening it read-write would make it one.
            var status = stat()
            guard stat(file, &status) == 0, status.st_size > 0 else { throw StoreError.missing(path: file) }
        }
        return try Store(location: location, readOnly: access == .readOnly)
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
