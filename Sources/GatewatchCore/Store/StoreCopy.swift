import Foundation
import GRDB

/// What `migrate-store` copied.
public struct StoreCopyReport: Sendable, Codable, Equatable {
    /// The source store (path or URL without password).
    public var from: String
    /// The destination store.
    public var to: String
    /// Rows copied per table.
    public var rows: [String: Int]
}

/// Why a store could not be copied.
public enum StoreCopyError: Error, CustomStringConvertible, LocalizedError {
    /// The destination already holds data.
    case destinationNotEmpty(String)
    /// The destination is not PostgreSQL or the source is not SQLite.
    case unsupported(String)
    /// A table's row count differs after the copy.
    case countMismatch(table: String, source: Int, destination: Int)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .destinationNotEmpty(let store):
            "'\(store)' already holds ingested data; migrate-store copies into an empty store only (create a new database, or drop its tables)"
        case .unsupported(let reason):
            reason
        case .countMismatch(let table, let source, let destination):
            "table \(table): \(source) rows in the source but \(destination) in the destination; nothing was committed"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// Copies a SQLite store into an empty PostgreSQL store, every table and row, in one transaction.
public enum StoreCopy {
    /// Copies `source` into `destination`.
    ///
    /// Ids are kept (evidence and malformed lines point at their ledger rows), identity sequences
    /// are moved past them, and every table's row count is checked before the commit.
    ///
    /// - Parameters:
    ///   - source: A SQLite store.
    ///   - destination: An empty PostgreSQL store.
    /// - Returns: Rows copied per table.
    /// - Throws: ``StoreCopyError``, ``SQLError``.
    public static func copy(from source: Store, to destination: Store) throws -> StoreCopyReport {
        guard source.dialect == .sqlite else { throw StoreCopyError.unsupported("the source must be a SQLite store") }
        guard let pool = (destination.engine as? PostgresStore)?.pool else {
            throw StoreCopyError.unsupported("the destination must be a PostgreSQL store (postgres://…)")
        }
        var counts: [String: Int] = [:]
        try source.query { reader in
            try pool.withConnection { connection in
                try connection.transaction("BEGIN") {
                    for (table, _) in PostgresSchema.tables {
                        if try connection.value(Int.self, "SELECT COUNT(*) FROM \(table)") ?? 0 > 0 {
                            throw StoreCopyError.destinationNotEmpty(destination.path)
                        }
                    }
                    let months = try reader.values(
                        String.self,
                        "SELECT DISTINCT substr(hour, 1, 7) FROM hourly_facts ORDER BY 1"
                    )
                    try PostgresSchema.ensurePartitions(months, on: connection)
                    for (table, identity) in PostgresSchema.tables {
                        let columns = try reader.values(String.self, "SELECT name FROM pragma_table_info(?)", [table])
                        guard !columns.isEmpty else { continue }
                        let list = columns.joined(separator: ", ")
                        var copied = 0
                        try connection.copyIn("COPY \(table) (\(list)) FROM STDIN") { copy in
                            try reader.forEachRow("SELECT \(list) FROM \(table)", []) { row in
                                for value in row.values { copy.value(value) }
                                try copy.endRow()
                                copied += 1
                            }
                        }
                        let stored = try connection.value(Int.self, "SELECT COUNT(*) FROM \(table)") ?? 0
                        guard stored == copied else {
                            throw StoreCopyError.countMismatch(table: table, source: copied, destination: stored)
                        }
                        if let identity {
                            try connection.execute(
                                """
                                SELECT setval(pg_get_serial_sequence('\(table)', '\(identity)'),
                                    COALESCE((SELECT MAX(\(identity)) FROM \(table)), 0) + 1, false)
                                """,
                                []
                            )
                        }
                        counts[table] = copied
                    }
                }
            }
        }
        return StoreCopyReport(from: source.path, to: destination.path, rows: counts)
    }
}
