/// What a ``Store`` asks of the engine behind it (``SQLiteStore``, ``PostgresStore``).
protocol StoreEngine: Sendable {
    /// The database path, or the URL without its password.
    var path: String { get }
    /// The SQL dialect.
    var dialect: SQLDialect { get }
    /// The file the store lives in, or `nil` on a server.
    var localFilePath: String? { get }
    /// Whether state that belongs to this host only may be kept in the store.
    var keepsHostLocalState: Bool { get }

    /// Runs a block in a read-only snapshot.
    func query<T>(_ block: (any SQLDatabase) throws -> T) throws -> T
    /// Runs a block in a read-only transaction that is rolled back.
    func queryRolledBack<T>(_ block: (any SQLDatabase) throws -> T) throws -> T
    /// Runs a block in one write transaction.
    func write<T>(_ block: (any SQLDatabase) throws -> T) throws -> T
    /// Opens one ingest worker's connection.
    func makeIngestConnection(source: String, ownConnection: Bool) throws -> any IngestConnection
}

/// One ingest worker's connection, on one engine: runs each input's pass in one transaction.
protocol IngestConnection: AnyObject {
    /// Runs one pass in one transaction (see ``IngestSession/withTransaction(deferred:_:)``).
    func withTransaction(deferred: Bool, _ body: (PassTransaction) throws -> Bool) throws
}
