import CSQLiteSetup
import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A store in one SQLite file (WAL mode): the engine behind a ``Store`` opened on a file path.
final class SQLiteStore: StoreEngine {
    /// The database path.
    let path: String
    /// The connection queue the store's own reads and writes use.
    let queue: DatabaseQueue
    /// Orders this process's ingest transactions (see ``SQLiteIngestConnection``).
    let writeGate = NSLock()

    var dialect: SQLDialect { .sqlite }
    var localFilePath: String? { path }
    var keepsHostLocalState: Bool { true }

    /// Opens (and creates or migrates) the file.
    ///
    /// - Parameters:
    ///   - path: The file.
    ///   - readOnly: Open read-only: the file must exist and is not modified (except that a
    ///     file written by an older Gatewatch is first brought to the current schema).
    /// - Throws: ``StoreError``.
    init(path: String, readOnly: Bool) throws {
        _ = Self.sqliteSetup
        self.path = path
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw StoreError.missing(path: path)
        }
        do {
            queue = try Self.openSQLite(path: path, readOnly: readOnly)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, message: error.message ?? "\(error.resultCode)")
        } catch {
            throw StoreError.cannotOpen(path: path, message: "\(error)")
        }
    }

    /// Process-wide, once, before the first connection: SQLite's memory statistics off.
    ///
    /// They serialise every allocation SQLite makes through one mutex (2–3% of an ingest's writer
    /// thread), and nothing here reads them. Too late when SQLite was already used in this process
    /// (a library user's own connection): then the setting stays as it was.
    private static let sqliteSetup: Void = { _ = gw_sqlite_disable_memory_statistics() }()

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

    func query<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try queue.read { db in try block(SQLiteDatabase(db)) }
    }

    func queryRolledBack<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        // The connection is read-only (`SQLITE_OPEN_READONLY`) for the commands that use this.
        try query(block)
    }

    func write<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try queue.write { db in try block(SQLiteDatabase(db)) }
    }

    func makeIngestConnection(source: String, ownConnection: Bool) throws -> any IngestConnection {
        SQLiteIngestConnection(
            queue: ownConnection ? try makeWriterQueue() : queue,
            gate: writeGate,
            source: source
        )
    }
}
