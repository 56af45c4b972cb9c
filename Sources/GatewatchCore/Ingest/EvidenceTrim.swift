/// Applies the evidence cap across inputs, in the input's transaction once its rows are written:
/// per (address, day, outcome) group the input wrote to, the rows past the first `cap` (by id,
/// that is in ingest order) are deleted but the latest of them (by time, then id).
///
/// Exact on both engines: SQLite lets one writer in at a time, and on PostgreSQL the trim takes
/// ``SQLDatabase/lock(_:)`` (held to the commit) before its statements, which then see, under READ
/// COMMITTED, every row the inputs trimmed before it committed. Rows of files ingested under
/// `--evidence all` (or before sampling existed: `files.evidence` NULL) count towards the cap but
/// are never deleted.
struct EvidenceTrim {
    /// The lock key that serialises trims across processes (PostgreSQL).
    static let lockKey: Int64 = 0x6761_7465_7761_0003

    /// Deletes a group's rows past the cap but the latest of them (only rows of sampled files).
    static let sql = """
        DELETE FROM evidence_rows WHERE id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (ORDER BY time DESC, id DESC) AS recency FROM (
                    SELECT id, time, row_number() OVER (ORDER BY id) AS position FROM evidence
                    WHERE address = ? AND outcome = ? AND time >= ? AND time < ?
                ) ranked WHERE position > ?
            ) beyond WHERE recency > 1
        ) AND file_id IN (SELECT id FROM files WHERE evidence LIKE 'sample%' OR evidence = 'mixed')
        """

    /// Trims the groups an input wrote to.
    ///
    /// - Parameters:
    ///   - groups: (address text, outcome, UTC day as `YYYY-MM-DD`) of each group.
    ///   - cap: The cap.
    ///   - database: The input's connection, inside its transaction.
    /// - Returns: The rows deleted.
    /// - Throws: ``SQLError``.
    static func trim(
        _ groups: [(address: String, outcome: String, day: String)],
        cap: Int,
        in database: any SQLDatabase
    )
        throws -> Int
    {
        guard !groups.isEmpty else { return 0 }
        try database.lock(lockKey)
        var deleted = 0
        for group in try overCap(groups, cap: cap, in: database) {
            deleted += try database.changes(sql, [group.address, group.outcome, group.day, group.day + "U", cap])
        }
        return deleted
    }

    /// The groups of `groups` holding more than `cap` rows.
    ///
    /// Only they can lose rows to the windowed `DELETE`, which costs about 1 ms a group (a second
    /// 250k-line file, 6,694 groups under the cap, spent 6.4 s in it): the groups are staged and
    /// counted in one statement, a range of the covering index `evidence_address` each. That first
    /// count is of the address's rows that day whatever their outcome (the outcome is the key's
    /// judgement, a join per row): an upper bound, so no group over the cap is missed; only the
    /// groups it keeps are counted again by outcome (13,272 groups, sqlite3: 0.18 → 0.09 s CPU, the
    /// same 51 groups).
    static func overCap(
        _ groups: [(address: String, outcome: String, day: String)],
        cap: Int,
        in database: any SQLDatabase
    ) throws -> [(address: String, outcome: String, day: String)] {
        try database.execute("DROP TABLE IF EXISTS trim_groups", [])
        try database.execute(
            "CREATE TEMP TABLE trim_groups (address TEXT NOT NULL, outcome TEXT NOT NULL, day TEXT NOT NULL)",
            []
        )
        try database.appendRows("trim_groups", columns: ["address", "outcome", "day"], count: groups.count) {
            row,
            column in
            let group = groups[row]
            switch column {
            case 0: return .text(group.address)
            case 1: return .text(group.outcome)
            default: return .text(group.day)
            }
        }
        var over: [(address: String, outcome: String, day: String)] = []
        try database.forEachRow(
            """
            WITH candidates AS (
                SELECT t.address, t.outcome, t.day FROM trim_groups t
                JOIN evidence_rows e ON e.address = t.address AND e.time >= t.day AND e.time < t.day || 'U'
                GROUP BY t.address, t.outcome, t.day HAVING COUNT(*) > ?
            )
            SELECT c.address, c.outcome, c.day FROM candidates c
            JOIN evidence e ON e.address = c.address AND e.time >= c.day AND e.time < c.day || 'U'
                AND e.outcome = c.outcome
            GROUP BY c.address, c.outcome, c.day HAVING COUNT(*) > ?
            """,
            [cap, cap]
        ) { row in over.append((address: row[0], outcome: row[1], day: row[2])) }
        try database.execute("DROP TABLE trim_groups", [])
        return over
    }
}
