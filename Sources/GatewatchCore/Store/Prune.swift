import Foundation
import GRDB

/// What `prune` removed.
public struct PruneReport: Sendable, Codable, Equatable {
    /// The cut-off: data before it was removed (ISO 8601 UTC).
    public var before: String
    /// Rows removed per table.
    public var rows: [String: Int]
    /// With retention (`--keep-hourly`): hourly rows before this day (ISO 8601 UTC midnight)
    /// were rolled up into one row per day.
    public var hourlyRolledUpBefore: String?
    /// Hourly rows the roll-up replaced, and the daily rows that replaced them.
    public var hourlyRowsRolledUp: Int?
    /// The daily rows written by the roll-up.
    public var dailyRows: Int?

    enum CodingKeys: String, CodingKey {
        case before, rows
        case hourlyRolledUpBefore = "hourly_rolled_up_before"
        case hourlyRowsRolledUp = "hourly_rows_rolled_up"
        case dailyRows = "daily_rows"
    }
}

/// Retention: removes data older than a cut-off, table by table, in one transaction.
///
/// The ledger (`files`) is kept, so pruned logs are still recognised and never ingested again.
public enum Pruner {
    /// Tables with a time column, and that column; each table is pruned only if it exists.
    ///
    /// `hourly_facts` and `evidence_rows` (what the `hourly` and `evidence` views read) are
    /// reported as `hourly` and `evidence`.
    static let tables: [(table: String, column: String, isDay: Bool)] = [
        ("hourly_facts", "hour", false),
        ("evidence_rows", "time", false),
        ("inventory", "day", true),
        ("latency", "day", true),
        ("backend_gateway_requests", "time", false),
        ("gateway_requests", "time", false),
        ("gateway_minutes", "minute", false),
        ("direct_minutes", "minute", false),
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
        try store.write { db in
            for (table, column, isDay) in tables {
                guard try hasColumn(db, table: table, column: column) else { continue }
                if evidenceOnly, !["evidence_rows", "backend_gateway_requests", "gateway_requests"].contains(table) {
                    continue
                }
                var count = 0
                if table == "hourly_facts", db.dialect == .postgres {
                    count += try dropHourlyPartitions(db, before: cutoff)
                }
                // `direct_minutes.minute` is Unix seconds; the other columns ISO 8601 text.
                let bound: any DatabaseValueConvertible = table == "direct_minutes" ? before : isDay ? day : cutoff
                count += try db.changes("DELETE FROM \(table) WHERE \(column) < ?", [bound])
                removed[table == "hourly_facts" ? "hourly" : table == "evidence_rows" ? "evidence" : table] = count
            }
        }
        return PruneReport(before: cutoff, rows: removed)
    }

    /// Retention by kind, in one transaction: per-request rows (evidence and request tables)
    /// before `evidenceBefore` are removed; `hourly` rows before `hourlyBefore` (taken back to
    /// midnight UTC) are rolled up into one row per day and key, dated at the day's `T00:00:00Z`.
    ///
    /// The roll-up keeps every count and sum (`requests`, `bytes`, `time_taken_sum`), the maximum
    /// and the first and last times, so every query over those days gives the same totals; only
    /// the hour within such a day is lost (`timeline --bucket hour` shows it at midnight). Rolling
    /// up days already rolled up changes nothing.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - evidenceBefore: Unix seconds, or `nil` to keep every per-request row.
    ///   - hourlyBefore: Unix seconds, or `nil` to keep every hourly row as it is.
    /// - Returns: What was removed and rolled up.
    /// - Throws: Database errors.
    public static func applyRetention(
        store: Store,
        evidenceBefore: Int64?,
        hourlyBefore: Int64?
    ) throws
        -> PruneReport
    {
        var report = PruneReport(before: evidenceBefore.map(UTCTime.format) ?? "", rows: [:])
        if let evidenceBefore {
            report = try prune(store: store, before: evidenceBefore, evidenceOnly: true)
        }
        guard let hourlyBefore else { return report }
        let midnight = hourlyBefore - ((hourlyBefore % 86_400) + 86_400) % 86_400
        let cutoff = UTCTime.format(midnight)
        try store.write { db in
            guard try hasColumn(db, table: "hourly_facts", column: "hour") else { return }
            let before = try db.value(Int.self, "SELECT COUNT(*) FROM hourly_facts WHERE hour < ?", [cutoff]) ?? 0
            try db.execute("DROP TABLE IF EXISTS gatewatch_rollup", [])
            try db.execute(
                """
                CREATE TEMPORARY TABLE gatewatch_rollup AS
                SELECT substr(hour, 1, 10) || 'T00:00:00Z' AS hour, site, address, status, substatus,
                    SUM(requests) AS requests, SUM(bytes) AS bytes, SUM(time_taken_sum) AS time_taken_sum,
                    MAX(time_taken_max) AS time_taken_max, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen,
                    source, key_id
                FROM hourly_facts WHERE hour < ?
                GROUP BY substr(hour, 1, 10), site, address, status, substatus, source, key_id
                """,
                [cutoff]
            )
            try db.execute("DELETE FROM hourly_facts WHERE hour < ?", [cutoff])
            let columns =
                "hour, site, address, status, substatus, requests, bytes, time_taken_sum, "
                + "time_taken_max, first_seen, last_seen, source, key_id"
            let daily = try db.changes(
                "INSERT INTO hourly_facts (\(columns)) SELECT \(columns) FROM gatewatch_rollup",
                []
            )
            try db.execute("DROP TABLE gatewatch_rollup", [])
            report.hourlyRolledUpBefore = cutoff
            report.hourlyRowsRolledUp = before
            report.dailyRows = daily
        }
        return report
    }

    private static func hasColumn(_ db: any SQLDatabase, table: String, column: String) throws -> Bool {
        switch db.dialect {
        case .sqlite:
            return try db.value(
                Int.self,
                "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?",
                [table, column]
            ) ?? 0 > 0
        case .postgres:
            return try db.value(
                Int.self,
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?",
                [table, column]
            ) ?? 0 > 0
        }
    }

    /// PostgreSQL: drops the monthly partitions of `hourly` that end on or before the cut-off
    /// (instead of deleting their rows one by one); returns the rows they held.
    private static func dropHourlyPartitions(_ db: any SQLDatabase, before cutoff: String) throws -> Int {
        let partitions = try db.values(
            String.self,
            """
            SELECT CAST(c.relname AS TEXT) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'hourly_facts' AND c.relname LIKE 'hourly\\_%' AND c.relname <> 'hourly_other'
            ORDER BY 1
            """
        )
        var rows = 0
        for name in partitions {
            // hourly_2026_11 holds 2026-11; it ends where 2026-12 begins.
            let parts = name.split(separator: "_")
            guard parts.count == 3, let year = Int(parts[1]), let month = Int(parts[2]) else { continue }
            let end = month == 12 ? String(format: "%04d-01", year + 1) : String(format: "%04d-%02d", year, month + 1)
            guard end <= cutoff else { continue }
            rows += try db.value(Int.self, "SELECT COUNT(*) FROM \(name)") ?? 0
            try db.execute("DROP TABLE \(name)", [])
        }
        return rows
    }
}
