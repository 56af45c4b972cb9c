import Foundation
import GRDB

/// One ingest worker's connection to the store.
///
/// A sequential run uses the store's own SQLite connection; each parallel worker opens its own
/// (SQLite's write lock then orders their commits), and on PostgreSQL every session is its own
/// connection with its staging tables.
final class IngestSession {
    let store: Store
    let source: String
    private let sqlite: DatabaseQueue?
    private let postgres: PostgresConnection?

    /// Opens a session.
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
        if let pool = store.postgres {
            let connection: PostgresConnection
            do {
                connection = try pool.open()
                try PostgresWriter.prepareSession(connection)
            } catch let error as SQLError {
                throw StoreError.cannotOpen(path: store.path, message: error.message)
            }
            postgres = connection
            sqlite = nil
        } else {
            postgres = nil
            sqlite = ownConnection ? try store.makeWriterQueue() : store.queue
        }
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
        if let postgres {
            let transaction = PassTransaction(
                database: postgres,
                begin: { try postgres.execute("BEGIN", []) },
                makeWriter: { PostgresWriter(connection: postgres, source: self.source) }
            )
            try run(
                transaction,
                deferred: deferred,
                end: { commit in
                    try postgres.execute(commit ? "COMMIT" : "ROLLBACK", [])
                },
                body
            )
            return
        }
        guard let sqlite else { return }
        // Workers of this process queue on the store's gate before SQLite's lock: the next one
        // starts the moment a commit ends, instead of polling the lock with sleeps.
        let gate = store.writeGate
        try sqlite.writeWithoutTransaction { db in
            // No checkpoint inside the commit (SQLite's automatic one runs there, under the write
            // lock, and the next worker waits for it): the pass checkpoints after it has let go
            // of the gate, while the next worker writes (a passive checkpoint does not block
            // writers). The connection's own setting is back when the pass is done. (The
            // setting lives in SQLite's WAL hook: not while a test's fault hook holds it.)
            let automatic =
                FaultInjection.ownsWALHook ? 0 : try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? 1000
            if automatic > 0 { try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
            defer { if automatic > 0 { try? db.execute(sql: "PRAGMA wal_autocheckpoint = \(automatic)") } }
            let transaction = PassTransaction(
                database: SQLiteDatabase(db),
                begin: {
                    gate.lock()
                    do {
                        try db.execute(sql: "BEGIN IMMEDIATE TRANSACTION")
                    } catch {
                        gate.unlock()
                        throw error
                    }
                },
                makeWriter: { StoreWriter(db: db, source: self.source) }
            )
            var committed = false
            try run(
                transaction,
                deferred: deferred,
                end: { commit in
                    defer { gate.unlock() }
                    try db.execute(sql: commit ? "COMMIT TRANSACTION" : "ROLLBACK TRANSACTION")
                    committed = commit
                },
                body
            )
            if committed, automatic > 0 {
                PhaseTrace.mark("M checkpoint")
                // Best effort, as SQLite's automatic one: a failure here loses nothing.
                _ = try? Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
                PhaseTrace.mark("M checkpoint done")
            }
        }
    }

    private func run(
        _ transaction: PassTransaction,
        deferred: Bool,
        end: (Bool) throws -> Void,
        _ body: (PassTransaction) throws -> Bool
    ) throws {
        if !deferred { _ = try transaction.begin() }
        let commit: Bool
        do {
            commit = try body(transaction)
        } catch {
            if transaction.isOpen { try? end(false) }
            throw error
        }
        if transaction.isOpen { try end(commit) }
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
}

/// The inputs of a parallel run that are being read, with their first bytes: an input whose head
/// and an earlier input's head are one a prefix of the other (the same file, or one that grew)
/// waits for the earlier one to be written before it writes, so the ledger sees them in input
/// order, exactly as a sequential run does.
///
/// `@unchecked Sendable`: `heads` is read and written only while `condition` is locked.
final class InFlightHeads: @unchecked Sendable {
    private let condition = NSCondition()
    /// Input index → its first bytes, or `nil` while they are not read yet.
    private var heads: [Int: [UInt8]?] = [:]

    /// An input is taken by a worker (its head is not known yet).
    func take(_ index: Int) {
        condition.withLock { heads[index] = .some(nil) }
    }

    /// The input's first bytes are known.
    func setHead(_ index: Int, _ head: [UInt8]) {
        condition.withLock {
            heads[index] = .some(head)
            condition.broadcast()
        }
    }

    /// The input is done (written, known, or failed).
    func finish(_ index: Int) {
        condition.withLock {
            heads[index] = nil
            condition.broadcast()
        }
    }

    /// Blocks while an earlier input is unread or shares this head.
    func waitForEarlier(_ index: Int, head: [UInt8]) {
        condition.withLock {
            while heads.contains(where: { other, otherHead in
                guard other < index else { return false }
                guard let otherHead else { return true }
                return Self.overlaps(head, otherHead)
            }) {
                condition.wait()
            }
        }
    }

    /// Blocks while any earlier input is in flight.
    func waitForAllEarlier(_ index: Int) {
        condition.withLock {
            while heads.keys.contains(where: { $0 < index }) { condition.wait() }
        }
    }

    /// Whether one head is a prefix of the other.
    static func overlaps(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        let length = min(lhs.count, rhs.count)
        return lhs.prefix(length) == rhs.prefix(length)
    }
}
