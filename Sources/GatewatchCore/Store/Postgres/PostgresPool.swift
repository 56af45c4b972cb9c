import Foundation

/// The PostgreSQL connections of one ``Store``: opened on first use and kept for the next.
///
/// `@unchecked Sendable`: `idle` is read and written only under `lock`; a connection is used by
/// one caller at a time (taken out of `idle` while in use).
final class PostgresPool: @unchecked Sendable {
    let url: String
    let readOnly: Bool
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []

    init(url: String, readOnly: Bool) {
        self.url = url
        self.readOnly = readOnly
    }

    /// Opens a connection of this store that the caller owns (the ingest pipeline holds one for
    /// its whole run).
    func open() throws -> PostgresConnection {
        let connection = try PostgresConnection(url: url)
        if readOnly { try connection.execute("SET default_transaction_read_only = on", []) }
        return connection
    }

    /// Runs `body` with a connection outside any transaction, returned to the pool afterwards
    /// (dropped when `body` threw, in case the session is left in a bad state).
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        let connection = try reused ?? open()
        let result = try body(connection)
        lock.lock()
        idle.append(connection)
        lock.unlock()
        return result
    }
}

extension PostgresConnection {
    /// Runs `body` between `begin` and `COMMIT`; rolls back when it throws.
    ///
    /// - Parameters:
    ///   - begin: The statement that opens the transaction (`BEGIN`, `BEGIN … READ ONLY`).
    ///   - body: The work.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or ``SQLError``.
    func transaction<T>(_ begin: String, _ body: () throws -> T) throws -> T {
        try execute(begin, [])
        do {
            let result = try body()
            try execute("COMMIT", [])
            return result
        } catch {
            try? execute("ROLLBACK", [])
            throw error
        }
    }
}
