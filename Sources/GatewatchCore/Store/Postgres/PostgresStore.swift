import Foundation

/// A store in a shared PostgreSQL database: the engine behind a ``Store`` opened on a
/// `postgres://` URL.
final class PostgresStore: StoreEngine {
    /// The URL without its password.
    let path: String
    /// The connections.
    let pool: PostgresPool

    var dialect: SQLDialect { .postgres }
    var localFilePath: String? { nil }
    /// The stat cache of `watch` persists on SQLite only: a shared PostgreSQL store would mix the
    /// paths of different hosts.
    var keepsHostLocalState: Bool { false }

    /// libpq as this process sees it.
    static var libraryStatus: OptionalLibraryStatus { Libpq.status }

    /// Connects, and creates or migrates the schema (read-write), or checks that it is there.
    ///
    /// - Parameters:
    ///   - url: The `postgres://` URL.
    ///   - readOnly: Every transaction read-only; the schema must exist.
    /// - Throws: ``StoreError``, ``OptionalLibraryError``.
    init(url: String, readOnly: Bool) throws {
        let pool = PostgresPool(url: url, readOnly: readOnly)
        let display = PostgresConnection.redacted(url)
        path = display
        self.pool = pool
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
    }

    func query<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try pool.withConnection { connection in
            try connection.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try block(connection) }
        }
    }

    func queryRolledBack<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try pool.withConnection { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [])
            defer { try? connection.execute("ROLLBACK", []) }
            return try block(connection)
        }
    }

    func write<T>(_ block: (any SQLDatabase) throws -> T) throws -> T {
        try pool.withConnection { connection in
            try connection.transaction("BEGIN") { try block(connection) }
        }
    }

    func makeIngestConnection(source: String, ownConnection: Bool) throws -> any IngestConnection {
        let connection: PostgresConnection
        do {
            connection = try pool.open()
            try PostgresWriter.prepareSession(connection)
        } catch let error as SQLError {
            throw StoreError.cannotOpen(path: path, message: error.message)
        }
        return PostgresIngestConnection(connection: connection, source: source)
    }
}

/// An ingest worker's own PostgreSQL connection, with its staging tables.
final class PostgresIngestConnection: IngestConnection {
    private let connection: PostgresConnection
    private let source: String

    init(connection: PostgresConnection, source: String) {
        self.connection = connection
        self.source = source
    }

    func withTransaction(deferred: Bool, _ body: (PassTransaction) throws -> Bool) throws {
        let connection = connection
        let source = source
        let transaction = PassTransaction(
            database: connection,
            begin: { try connection.execute("BEGIN", []) },
            makeWriter: { PostgresWriter(connection: connection, source: source) }
        )
        try transaction.run(
            deferred: deferred,
            end: { commit in try connection.execute(commit ? "COMMIT" : "ROLLBACK", []) },
            body
        )
    }
}

extension PostgresConnection {
    public func forEachRowOfUserStatement(_ sql: String, _ body: (SQLRow) throws -> Bool) throws -> [String] {
        var columns: [String] = []
        var going = true
        // The rows come as they arrive; those after `body` declined are read and dropped.
        try forEachRow(sql, []) { row in
            if columns.isEmpty { columns = row.columns }
            if going { going = try body(row) }
        }
        // With no row, the connection knows the columns of the result.
        return columns.isEmpty ? lastColumns : columns
    }

    /// An advisory lock held to the end of the transaction.
    public func lock(_ key: Int64) throws {
        try execute("SELECT pg_advisory_xact_lock(?)", [key])
    }
}
