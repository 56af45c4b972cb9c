import Foundation
import GRDB

/// Why the database could not be used.
public enum StoreError: Error, CustomStringConvertible, LocalizedError {
    /// SQLite could not open or migrate the file.
    case cannotOpen(path: String, message: String)
    /// A query needs a database that does not exist yet.
    case missing(path: String)
    /// The database was written by a newer Gatewatch.
    case newerSchema(path: String)
    /// A read-only open met a store an older Gatewatch made, whose upgrade needs a writer.
    case olderSchema(path: String, missing: [String])
    /// A write failed (disk full, I/O error, lock timeout).
    case writeFailed(path: String, message: String)
    /// The operation needs a SQLite store; the store is PostgreSQL.
    case sqliteOnly(path: String)
    /// The file is another application's SQLite database (its first tables named); it is left
    /// untouched.
    case foreign(path: String, tables: [String])

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let message) where StoreLocation.isPostgresURL(path):
            "cannot open database '\(path)': \(message); check that the server runs and the URL's host, port, user "
                + "and database (a password comes from the URL, PGPASSWORD or ~/.pgpass)"
        case .cannotOpen(let path, let message):
            "cannot open database '\(path)': \(message); check the path, or remove the file if it is not a Gatewatch database"
        case .missing(let path):
            "no database at '\(path)'; run 'gatewatch ingest' first, or point --db / GATEWATCH_DB at one"
        case .newerSchema(let path):
            "database '\(path)' was written by a newer Gatewatch; upgrade gatewatch to read it"
        case .olderSchema(let path, let missing):
            "database '\(path)' was made by an older Gatewatch (schema upgrades \(missing.joined(separator: ", ")) "
                + "not applied yet); a read-only command cannot upgrade it: run 'gatewatch ingest' against it once, "
                + "as the role that owns its schema, then ask again"
        case .writeFailed(let path, let message):
            "writing to '\(path)' failed: \(message); the file being ingested was rolled back and can be ingested again"
        case .foreign(let path, let tables):
            "'\(path)' is another application's SQLite database (tables \(tables.joined(separator: ", "))) with no "
                + "Gatewatch schema; it was left untouched: point --db at a Gatewatch store or a new file"
        case .sqliteOnly(let path):
            "'\(path)' is a PostgreSQL store; this operation reads SQLite files only"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// The store: one SQLite file (WAL mode), or a shared PostgreSQL database for a fleet of ingesters
/// (`postgres://…`).
///
/// A front over the engine that holds it (``SQLiteStore`` or ``PostgresStore``), chosen once from
/// the ``StoreLocation``. The schema is versioned by migrations on both.
public final class Store: Sendable {
    /// The engine.
    let engine: any StoreEngine

    /// The database path, or the PostgreSQL URL without its password.
    public var path: String { engine.path }
    /// The engine's SQL dialect.
    public var dialect: SQLDialect { engine.dialect }

    /// The file the store lives in, or `nil` for a store on a server (one that other hosts share).
    public var localFilePath: String? { engine.localFilePath }

    /// Whether the store may keep state that belongs to this host only (the watcher's file stamps):
    /// `false` for a store shared by a fleet, where such state would mix the paths of different
    /// hosts.
    public var keepsHostLocalState: Bool { engine.keepsHostLocalState }

    /// The path used when neither `--db` nor `$GATEWATCH_DB` is given.
    public static let defaultPath = StoreLocation.defaultPath

    /// The optional library behind server stores, as this process sees it (for `--version --verbose`).
    public static var optionalLibraryStatus: OptionalLibraryStatus { PostgresStore.libraryStatus }

    /// Opens (and creates or migrates) the database.
    ///
    /// - Parameters:
    ///   - location: Where the store lives.
    ///   - readOnly: Open read-only: the database must exist and is not modified (except that a
    ///     SQLite file written by an older Gatewatch is first brought to the current schema).
    /// - Throws: ``StoreError``.
    public init(location: StoreLocation, readOnly: Bool = false) throws {
        switch location {
        case .sqlite(let path): engine = try SQLiteStore(path: path, readOnly: readOnly)
        case .postgres(let url): engine = try PostgresStore(url: url, readOnly: readOnly)
        }
    }

    /// Opens (and creates or migrates) the database named by a `--db` value.
    ///
    /// - Parameters:
    ///   - location: The database file, `sqlite:PATH`, or a `postgres://` URL.
    ///   - readOnly: See ``init(location:readOnly:)``.
    /// - Throws: ``StoreError``.
    public convenience init(path location: String, readOnly: Bool = false) throws {
        try self.init(location: try StoreLocation(location), readOnly: readOnly)
    }

    /// Runs a read-only block on the SQLite connection.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``StoreError/sqliteOnly(path:)`` on a server store, or what the block throws.
    public func read<T>(_ block: (Database) throws -> T) throws -> T {
        guard let sqlite = engine as? SQLiteStore else { throw StoreError.sqliteOnly(path: path) }
        return try sqlite.queue.read(block)
    }

    /// Runs a write transaction on the SQLite connection (tests that set a store up by hand).
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``StoreError/sqliteOnly(path:)`` on a server store, or what the block throws.
    func writeSQLite<T>(_ block: (Database) throws -> T) throws -> T {
        guard let sqlite = engine as? SQLiteStore else { throw StoreError.sqliteOnly(path: path) }
        return try sqlite.queue.write(block)
    }

    /// Runs a read-only block on either engine: what every query command uses.
    ///
    /// On SQLite the block sees one consistent snapshot; on PostgreSQL it runs in one
    /// `READ ONLY` repeatable-read transaction.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func query<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try engine.query(block)
    }

    /// Runs a block like ``query(_:)``, in a transaction that is rolled back, never committed: for
    /// statements a user typed (`sql`), so that whatever a read-only transaction lets through
    /// does not last.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func queryRolledBack<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try engine.queryRolledBack(block)
    }

    /// Runs a block in one write transaction on either engine: committed when the block returns,
    /// rolled back when it throws.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func write<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try engine.write(block)
    }

    /// Runs a block in one write transaction that holds `key` until it ends, so that processes
    /// (hosts of a fleet, on a shared store) that do the same work never do it at once.
    ///
    /// On SQLite the write transaction already lets one writer in at a time.
    ///
    /// - Parameters:
    ///   - key: What is locked, the same number in every process.
    ///   - block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func write<T>(locking key: Int64, _ block: (any SQLDatabase) throws -> T) throws -> T {
        try engine.write { db in
            try db.lock(key)
            return try block(db)
        }
    }

    /// Opens an ingest session: one worker's connection to the store.
    ///
    /// - Parameters:
    ///   - source: The name rows are tagged with.
    ///   - ownConnection: Open a connection of its own (parallel workers) instead of sharing the
    ///     store's (SQLite; on PostgreSQL every session is its own connection).
    /// - Returns: The session.
    /// - Throws: ``StoreError/cannotOpen(path:message:)``.
    func makeIngestSession(source: String, ownConnection: Bool) throws -> IngestSession {
        try IngestSession(store: self, source: source, ownConnection: ownConnection)
    }
}

/// Formats Unix seconds as ISO 8601 UTC text (`2026-11-20T13:04:05Z`) without Foundation.
public enum UTCTime {
    /// Formats seconds since the Unix epoch.
    ///
    /// - Parameter seconds: Seconds since 1970-01-01T00:00:00Z.
    /// - Returns: The ISO 8601 text.
    public static func format(_ seconds: Int64) -> String {
        String(unsafeUninitializedCapacity: 20) { write(seconds, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// Writes the text of ``format(_:)`` into `buffer` (at least 20 bytes) without allocating.
    ///
    /// - Returns: The length written: 20, or 12 for `invalid-time` (a year outside 0...9999).
    static func write(_ seconds: Int64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= 20, "UTCTime.write needs 20 bytes")
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        guard year >= 0, year <= 9999 else {
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<12]).copyBytes(from: "invalid-time".utf8)
            return 12
        }
        func put(_ value: Int64, at offset: Int, width: Int) {
            var remaining = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[position] = UInt8(48 + remaining % 10)
                remaining /= 10
            }
        }
        put(year, at: 0, width: 4)
        buffer[4] = UInt8(ascii: "-")
        put(month, at: 5, width: 2)
        buffer[7] = UInt8(ascii: "-")
        put(day, at: 8, width: 2)
        buffer[10] = UInt8(ascii: "T")
        put(secondOfDay / 3600, at: 11, width: 2)
        buffer[13] = UInt8(ascii: ":")
        put(secondOfDay / 60 % 60, at: 14, width: 2)
        buffer[16] = UInt8(ascii: ":")
        put(secondOfDay % 60, at: 17, width: 2)
        buffer[19] = UInt8(ascii: "Z")
        return 20
    }

    /// Year, month, day for days since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
