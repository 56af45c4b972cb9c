import Foundation
import GRDB

/// An ingest worker's SQLite connection: the store's own (sequential runs) or one of its own
/// (parallel workers, whose commits SQLite's write lock orders).
final class SQLiteIngestConnection: IngestConnection {
    private let queue: DatabaseQueue
    /// The store's gate: this process's workers queue on it before SQLite's lock.
    private let gate: NSLock
    private let source: String

    init(queue: DatabaseQueue, gate: NSLock, source: String) {
        self.queue = queue
        self.gate = gate
        self.source = source
    }

    func withTransaction(deferred: Bool, _ body: (PassTransaction) throws -> Bool) throws {
        // Workers of this process queue on the store's gate before SQLite's lock: the next one
        // starts the moment a commit ends, instead of polling the lock with sleeps.
        let gate = gate
        let source = source
        try queue.writeWithoutTransaction { db in
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
                makeWriter: { StoreWriter(db: db, source: source) }
            )
            var committed = false
            try transaction.run(
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
}
