import Foundation

/// One ingest worker's connection to the store.
///
/// A sequential run uses the store's own SQLite connection; each parallel worker opens its own
/// (SQLite's write lock then orders their commits), and on PostgreSQL every session is its own
/// connection with its staging tables. The engine's part is its ``IngestConnection``.
final class IngestSession {
    let store: Store
    let source: String
    private let connection: any IngestConnection

    /// Opens a session (the same as ``Store/makeIngestSession(source:ownConnection:)``).
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - source: The name rows are tagged with.
    ///   - ownConnection: Open a SQLite connection of its own (parallel workers) instead of
    ///     sharing the store's.
    /// - Throws: ``StoreError/cannotOpen(path:message:)`` when the connection cannot be opened.
    init(store: Store, source: String, ownConnection: Bool) throws {
        self.store = store
        self.source = source
        connection = try store.engine.makeIngestConnection(source: source, ownConnection: ownConnection)
    }

    /// Runs one input's pass in one transaction: committed when `body` returns `true`, rolled
    /// back when it returns `false` or throws.
    ///
    /// - Parameters:
    ///   - deferred: Open the transaction at the first write (``PassTransaction/begin()``) instead
    ///     of before the pass.
    ///   - body: The pass.
    /// - Throws: What `body` throws, or the database's error when the transaction cannot begin
    ///   or end.
    func withTransaction(deferred: Bool, _ body: (PassTransaction) throws -> Bool) throws {
        try connection.withTransaction(deferred: deferred, body)
    }
}

/// The transaction of one pass: open from the start, or opened at its first write.
final class PassTransaction {
    /// The connection, for reads before and after the transaction opens.
    let database: any SQLDatabase
    private let opener: () throws -> Void
    private let makeWriter: () -> any IngestWriter
    /// The writer, once the transaction is open.
    private(set) var writer: (any IngestWriter)?

    init(database: any SQLDatabase, begin: @escaping () throws -> Void, makeWriter: @escaping () -> any IngestWriter) {
        self.database = database
        opener = begin
        self.makeWriter = makeWriter
    }

    /// Whether the transaction is open.
    var isOpen: Bool { writer != nil }

    /// Opens the transaction (taking the write lock on SQLite) and returns its writer.
    func begin() throws -> any IngestWriter {
        if let writer { return writer }
        try opener()
        let writer = makeWriter()
        self.writer = writer
        return writer
    }

    /// Runs a pass in this transaction: begun first unless `deferred`, ended by `end(commit)`
    /// when it was opened (rolled back when `body` throws).
    ///
    /// - Parameters:
    ///   - deferred: Leave the transaction to be opened at the first write.
    ///   - end: Commits (`true`) or rolls back (`false`).
    ///   - body: The pass; returns whether to commit.
    /// - Throws: What `body` or the engine throws.
    func run(deferred: Bool, end: (Bool) throws -> Void, _ body: (PassTransaction) throws -> Bool) throws {
        if !deferred { _ = try begin() }
        let commit: Bool
        do {
            commit = try body(self)
        } catch {
            if isOpen { try? end(false) }
            throw error
        }
        if isOpen { try end(commit) }
    }
}
