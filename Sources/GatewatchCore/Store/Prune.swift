import GRDB

/// What `prune` removed.
public struct PruneReport: Sendable, Codable, Equatable {
    /// The cut-off: data before it was removed (ISO 8601 UTC).
    public var before: String
    /// Rows removed per table.
    public var rows: [String: Int]
}

/// Retention: removes data older than a cut-off, table by table, in one transaction.
///
/// The ledger (`files`) is kept, so pruned logs are still recognised and never ingested again.
public enum Pruner {
    /// Tables with a time column, and that column; each table is pruned only if it exists.
    static let tables: [(table: String, column: String, isDay: Bool)] = [
        ("hourly", "hour", false),
        ("evidence", "time", false),
        ("inventory", "day", true),
        ("latency", "day", true),
        ("backend_gateway_requests", "time", false),
        ("gateway_requests", "time", false),
        ("gateway_minutes", "minute", false),
        ("gateway_callers", "hour", false),
    ]

    /// Removes rows older than `before`.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - before: Unix seconds; rows whose time is earlier are removed.
    ///   - evidenceOnly: Remove only per-request rows (evidence and request tables), keeping aggregates.
    /// - Returns: Rows removed per table.
    /// - Throws: Database errors.
    public static func prune(store: Store, before: Int64, evidenceOnly: Bool = false) throws -> PruneReport {
        let cutoff = UTCTime.format(before)
        let day = String(cutoff.prefix(10))
        var removed: [String: Int] = [:]
        try store.queue.write { db in
            for (table, column, isDay) in tables {
                guard try db.tableExists(table), try db.columns(in: table).contains(where: { $0.name == column }) else {
                    continue
                }
                if evidenceOnly, !["evidence", "backend_gateway_requests", "gateway_requests"].contains(table) {
                    continue
                }
                try db.execute(sql: "DELETE FROM \(table) WHERE \(column) < ?", arguments: [isDay ? day : cutoff])
                removed[table] = db.changesCount
            }
        }
        return PruneReport(before: cutoff, rows: removed)
    }
}
