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
        for group in groups {
            deleted += try database.changes(sql, [group.address, group.outcome, group.day, group.day + "U", cap])
        }
        return deleted
    }
}
