import Foundation
import GRDB

/// Rendered rows of a streamed result, kept in a scratch SQLite file until they can be written in
/// their output order (issue 23).
///
/// A query that reads the store address by address but must list the addresses busiest first
/// renders each row as it goes, stores it here with its sort keys, and reads the rows back
/// sorted: SQLite sorts on disk, so memory stays bounded whatever the number of rows. The file
/// sits among the system's temporary files, unlinked as soon as it is open (no journal: nothing
/// else is created), so that nothing is left behind however the process ends.
final class ScratchRows {
    private let queue: DatabaseQueue

    /// Creates the scratch file.
    ///
    /// - Throws: Database errors.
    init() throws {
        let path = NSTemporaryDirectory() + "/gatewatch-scratch-\(getpid())-\(UUID().uuidString).db"
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF")
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA temp_store = FILE")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        unlink(path)
    }

    /// Fills the file: `body` gets a function that stores one row (`list`, `requests`, `address`,
    /// `tie`, `text`); the rows are committed, and indexed in their output order, when it returns.
    ///
    /// - Parameter body: The pass over the store.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, database errors.
    func fill<T>(_ body: (_ insert: Insert) throws -> T) throws -> T {
        try write { _, insert in try body(insert) }
    }

    /// Stores one row: `insert(list, requests, address, tie, text)`.
    struct Insert {
        fileprivate let statement: Statement

        func callAsFunction(_ list: Int, _ requests: Int, _ address: String, _ tie: String, _ text: String) throws {
            try statement.execute(arguments: [list, requests, address, tie, text])
        }
    }

    /// Like ``fill(_:)``, with the scratch database too, for a query that keeps more tables of its
    /// own there.
    ///
    /// - Parameter body: The pass: the scratch database and the row insert.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, database errors.
    func write<T>(
        _ body: (_ scratch: Database, _ insert: Insert) throws -> T
    ) throws -> T {
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE rows (list INTEGER NOT NULL, requests INTEGER NOT NULL, address TEXT NOT NULL,
                        tie TEXT NOT NULL, text TEXT NOT NULL)
                    """
            )
            let statement = try db.makeStatement(sql: "INSERT INTO rows VALUES (?, ?, ?, ?, ?)")
            let result = try body(db, Insert(statement: statement))
            // Busiest first, then address and the tie-breaker in byte order (BINARY collation).
            try db.execute(sql: "CREATE INDEX rows_order ON rows (list, requests DESC, address, tie)")
            return result
        }
    }

    /// Reads the scratch database.
    ///
    /// - Parameter body: The reads.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, database errors.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.read(body)
    }

    /// Calls `body` with the text of each row of a list, busiest first, at most `limit` rows
    /// (0 = all).
    ///
    /// - Throws: Database errors, what `body` throws.
    func forEach(list: Int, limit: Int = 0, _ body: (String) throws -> Void) throws {
        try queue.read { db in
            let cursor = try String.fetchCursor(
                db,
                sql: "SELECT text FROM rows WHERE list = ? ORDER BY requests DESC, address, tie LIMIT ?",
                arguments: [list, limit > 0 ? limit : -1]
            )
            while let text = try cursor.next() { try body(text) }
        }
    }
}
