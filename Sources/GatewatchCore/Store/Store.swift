import CSQLiteSetup
import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

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
        case .cannotOpen(let path, let message) where Store.isPostgres(path):
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
/// The schema is versioned by migrations on both.
public final class Store: Sendable {
    /// The database path, or the PostgreSQL URL without its password.
    public let path: String
    /// The engine.
    public let dialect: SQLDialect
    private let sqliteQueue: DatabaseQueue?
    /// The PostgreSQL connections, when the store is PostgreSQL.
    let postgres: PostgresPool?
    /// Orders this process's ingest transactions on a SQLite store (see ``IngestSession``).
    let writeGate = NSLock()

    /// The SQLite connection queue.
    ///
    /// Only for SQLite stores: callers check ``dialect`` first.
    var queue: DatabaseQueue {
        guard let sqliteQueue else { preconditionFailure("the SQLite queue of a PostgreSQL store") }
        return sqliteQueue
    }

    /// The path used when neither `--db` nor `$GATEWATCH_DB` is given.
    public static let defaultPath = "gatewatch.db"

    /// Whether a `--db` value names a PostgreSQL database (`postgres://` or `postgresql://`).
    ///
    /// - Parameter location: The `--db` value.
    /// - Returns: `true` for a PostgreSQL URL.
    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// Why a `--db` / `db:` value that looks like a URL is not one Gatewatch opens, or `nil`.
    ///
    /// - Parameter location: The value.
    /// - Returns: What is wrong (another scheme, `postgres:` without `//`), or `nil`.
    public static func urlProblem(_ location: String) -> String? {
        if isPostgres(location) || location.hasPrefix("sqlite:") { return nil }
        let lowered = location.lowercased()
        if lowered.hasPrefix("postgres:") || lowered.hasPrefix("postgresql:") {
            return "a PostgreSQL store is a URL that starts with postgres:// or postgresql:// (lower case)"
        }
        if location.contains("://") {
            return "only postgres:// and postgresql:// URLs are stores; anything else is a SQLite file path"
        }
        return nil
    }

    /// Resolves the database path: the explicit option, else `$GATEWATCH_DB`, else the
    /// configuration file's `database`, else `./gatewatch.db`.
    ///
    /// - Parameters:
    ///   - option: The `--db` value, if given.
    ///   - configured: The `database` of `gatewatch.yaml`, if any (below the environment).
    ///   - environment: The process environment.
    /// - Returns: The path or URL to use.
    public static func resolvePath(
        option: String?,
        configured: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let option, !option.isEmpty { return option }
        if let fromEnvironment = environment["GATEWATCH_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let configured, !configured.isEmpty { return configured }
        return defaultPath
    }

    /// Process-wide, once, before the first connection: SQLite's memory statistics off.
    ///
    /// They serialise every allocation SQLite makes through one mutex (2–3% of an ingest's writer
    /// thread), and nothing here reads them. Too late when SQLite was already used in this process
    /// (a library user's own connection): then the setting stays as it was.
    private static let sqliteSetup: Void = { _ = gw_sqlite_disable_memory_statistics() }()

    /// Opens (and creates or migrates) the database.
    ///
    /// - Parameters:
    ///   - location: The database file, `sqlite:PATH`, or a `postgres://` URL.
    ///   - readOnly: Open read-only: the database must exist and is not modified (except that a
    ///     SQLite file written by an older Gatewatch is first brought to the current schema).
    /// - Throws: ``StoreError``.
    public init(path location: String, readOnly: Bool = false) throws {
        if let problem = Self.urlProblem(location) {
            // Not a file path either: opening it as one would create 'mysql:/…' (and print its password).
            throw StoreError.cannotOpen(path: PostgresConnection.redacted(location), message: problem)
        }
        if Self.isPostgres(location) {
            let pool = PostgresPool(url: location, readOnly: readOnly)
            let display = PostgresConnection.redacted(location)
            path = display
            dialect = .postgres
            sqliteQueue = nil
            postgres = pool
            do {
                try pool.withConnection { connection in
                    if readOnly {
                        guard try PostgresSchema.isMigrated(connection) else { throw StoreError.missing(path: display) }
                    } else {
                        try PostgresSchema.migrate(connection)
                    }
                }
            } catch let error as SQLError {
                throw StoreError.cannotOpen(path: display, message: error.message)
            }
            return
        }
        let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
        _ = Self.sqliteSetup
        self.path = path
        dialect = .sqlite
        postgres = nil
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw StoreError.missing(path: path)
        }
        do {
            sqliteQueue = try Self.openSQLite(path: path, readOnly: readOnly)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, message: error.message ?? "\(error.resultCode)")
        } catch {
            throw StoreError.cannotOpen(path: path, message: "\(error)")
        }
    }

    /// Opens a SQLite store: checks (read-only) or brings (read-write) its schema up to date.
    ///
    /// Processes that create one new store at once race on it: switching the new file to WAL
    /// and creating the schema take its locks in ways SQLite's busy timeout does not always wait
    /// for (it answers `database is locked` at once where waiting could deadlock), and a read of
    /// the migrations table can meet it half-made. Such an open is tried again, from the start,
    /// a few times (seen with `watch` and an ingest started together on a new store).
    private static func openSQLite(path: String, readOnly: Bool) throws -> DatabaseQueue {
        var attempt = 0
        while true {
            do {
                return try openSQLiteOnce(path: path, readOnly: readOnly)
            } catch let error as DatabaseError
                where attempt < 8
                && (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
                    || error.message?.contains("grdb_migrations") == true)
            {
                attempt += 1
                usleep(UInt32(20_000 * attempt))
            }
        }
    }

    /// The first tables of an existing SQLite file that Gatewatch never migrated (another
    /// application's database), read without changing the file; empty for a new or empty file or
    /// a Gatewatch store.
    private static func foreignTables(path: String) throws -> [String] {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
        guard size > 0 else { return [] }
        var configuration = Configuration()
        configuration.readonly = true
        let probe = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? probe.close() }
        return try probe.read { db -> [String] in
            guard try Schema.migrator.appliedIdentifiers(db).isEmpty else { return [] }
            return try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                        AND name <> 'grdb_migrations' ORDER BY name LIMIT 4
                    """
            )
        }
    }

    private static func openSQLiteOnce(path: String, readOnly: Bool) throws -> DatabaseQueue {
        if !readOnly {
            // Another application's database is never given Gatewatch's tables (nor switched to
            // WAL): a store is a new or empty file, or one that Gatewatch's migrations started.
            let foreign = try foreignTables(path: path)
            if !foreign.isEmpty { throw StoreError.foreign(path: path, tables: foreign) }
        }
        let configuration = Self.configuration(readOnly: readOnly)
        guard readOnly else {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrate(queue, path: path)
            let environment = ProcessInfo.processInfo.environment
            if environment["GATEWATCH_FAULT"] != nil {
                queue.inDatabase { db in FaultInjection.install(on: db.sqliteConnection, environment: environment) }
            }
            return queue
        }
        func open(_ location: String) throws -> (DatabaseQueue, Bool) {
            let queue = try DatabaseQueue(path: location, configuration: configuration)
            return (queue, try queue.read { db in try Schema.migrator.hasBeenSuperseded(db) })
        }
        var location = path
        let opened: (queue: DatabaseQueue, isNewer: Bool)
        do {
            opened = try open(location)
        } catch let error as DatabaseError
            where error.resultCode == .SQLITE_READONLY || error.resultCode == .SQLITE_CANTOPEN
        {
            // Nothing beside the file can be written (read-only media, another user's store).
            guard let uri = Self.readOnlyURI(path) else { throw error }
            location = uri
            opened = try open(location)
        }
        if opened.isNewer { throw StoreError.newerSchema(path: path) }
        let applied = try opened.queue.read { db in try Schema.migrator.hasCompletedMigrations(db) }
        guard !applied else { return opened.queue }
        let started = try opened.queue.read { db in try !Schema.migrator.appliedIdentifiers(db).isEmpty }
        if !started { throw StoreError.missing(path: path) }
        // Written by an older Gatewatch: upgrade it once (waiting for a running ingest like any
        // writer), then read it read-only.
        try Self.migrate(try DatabaseQueue(path: path, configuration: Self.configuration(readOnly: false)), path: path)
        return try DatabaseQueue(path: location, configuration: configuration)
    }

    /// A URI that opens `path` with no write access beside it, or `nil` when the file and its
    /// folder can be written (a failed read-only open has another cause then).
    ///
    /// A WAL-mode store opened read-only still creates and locks its `-shm` file, and fails
    /// ("attempt to write a readonly database") where it cannot. Only then is this used, so that
    /// a store another process may be writing is read through the usual locks whenever they can
    /// be taken. Without a WAL file holding data, the file is complete and is opened
    /// `immutable=1` (no locks, no `-shm`); with one, `mode=ro` reads the WAL through an existing
    /// `-shm` (SQLite 3.22+) rather than ignore it.
    static func readOnlyURI(_ path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(path, W_OK) != 0 || access(folder, W_OK) != 0 else { return nil }
        var status = stat()
        let walHoldsData = stat(path + "-wal", &status) == 0 && status.st_size > 0
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        // RFC 3986 path characters; `?`, `#` and `%` in a file name must not end the path.
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "/-._~!$&'()*+,;=:@")
        let encoded = absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute
        return "file:\(encoded)?\(walHoldsData ? "mode=ro" : "immutable=1")"
    }

    /// The SQLite connection settings.
    private static func configuration(readOnly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(600)
        configuration.foreignKeysEnabled = true
        if !readOnly {
            configuration.prepareDatabase { db in
                // Larger pages make bulk upserts into the aggregate tables cheaper; takes effect
                // only when the file is created.
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // A file is one transaction; a 7 MiB page cache keeps the hot index pages in memory
                // instead of re-reading them from the WAL (8 MiB measured no faster, and the ingest
                // of 5M lines must stay under 64 MB).
                try db.execute(sql: "PRAGMA cache_size = -7168")
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
        }
        return configuration
    }

    /// A further write connection to the same SQLite file, for a parallel ingest worker: workers
    /// read and parse at the same time, and SQLite's write lock orders their commits.
    ///
    /// - Returns: A connection queue of its own.
    /// - Throws: ``StoreError/cannotOpen(path:message:)``.
    func makeWriterQueue() throws -> DatabaseQueue {
        do {
            let queue = try DatabaseQueue(path: path, configuration: Self.configuration(readOnly: false))
            let environment = ProcessInfo.processInfo.environment
            if environment["GATEWATCH_FAULT"] != nil {
                queue.inDatabase { db in FaultInjection.install(on: db.sqliteConnection, environment: environment) }
            }
            return queue
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, message: error.message ?? "\(error.resultCode)")
        }
    }

    /// Applies pending migrations, after checking that no newer Gatewatch wrote the schema.
    ///
    /// Two processes that create the same database at once race on the schema: the loser's
    /// migration fails, or its read of the migrations table meets the table half-way (GRDB's read
    /// of `grdb_migrations` fails, and the table exists by the time it looks again); on retry it
    /// finds the schema in place.
    private static func migrate(_ queue: DatabaseQueue, path: String) throws {
        var attempt = 0
        while true {
            do {
                if try queue.read({ db in try Schema.migrator.hasBeenSuperseded(db) }) {
                    throw StoreError.newerSchema(path: path)
                }
                try Schema.migrator.migrate(queue)
                return
            } catch let error as DatabaseError where attempt < 5 {
                attempt += 1
                _ = error
                usleep(UInt32(50_000 * attempt))
            }
        }
    }

    /// Runs a read-only block.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: What the block throws.
    public func read<T>(_ block: (Database) throws -> T) throws -> T {
        guard let sqliteQueue else { throw StoreError.sqliteOnly(path: path) }
        return try sqliteQueue.read(block)
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
        if let postgres {
            return try postgres.withConnection { connection in
                try connection.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try block(connection) }
            }
        }
        return try queue.read { db in try block(SQLiteDatabase(db)) }
    }

    /// Runs a block like ``query(_:)``, in a transaction that is rolled back, never committed: for
    /// statements a user typed (`sql`), so that whatever a read-only transaction lets through
    /// does not last.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func queryRolledBack<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        guard let postgres else { return try query(block) }
        return try postgres.withConnection { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [])
            defer { try? connection.execute("ROLLBACK", []) }
            return try block(connection)
        }
    }

    /// Runs a block in one write transaction on either engine: committed when the block returns,
    /// rolled back when it throws.
    ///
    /// - Parameter block: The block.
    /// - Returns: What the block returns.
    /// - Throws: ``SQLError``, ``StoreError``, or what the block throws.
    public func write<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        if let postgres {
            return try postgres.withConnection { connection in
                try connection.transaction("BEGIN") { try block(connection) }
            }
        }
        return try queue.write { db in try block(SQLiteDatabase(db)) }
    }
}
