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
