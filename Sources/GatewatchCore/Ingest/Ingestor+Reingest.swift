import Foundation

/// Why `ingest --reingest` refused to replace files' rows.
public enum ReingestError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Standard input has no identity in the ledger to replace.
    case standardInput
    /// Files not named in the run have requests on the days of the files to replace: the hourly,
    /// inventory and latency rows of those days hold their counts too.
    case sharedDays(files: [String], more: Int)

    public var description: String {
        switch self {
        case .standardInput:
            return "--reingest replaces the rows of named files; it cannot read standard input (-): save it to a file"
        case .sharedDays(let files, let more):
            let list = files.map { "'\($0)'" }.joined(separator: ", ") + (more > 0 ? " and \(more) more" : "")
            return "--reingest would remove rows that other files also counted: \(list) "
                + "\(files.count + more == 1 ? "has" : "have") requests on the same days (hourly, inventory and "
                + "latency rows are per day, summed over files); name them in the same run, or ingest every log "
                + "again into a new store (--db)"
        }
    }

    public var errorDescription: String? { description }
}

/// A ledger row as `--reingest` sees it.
private struct LedgerEntry {
    var id: Int64
    var path: String
    var fingerprint: String
    var bytes: Int64
    var format: String
    /// The first and last day with a request (`YYYY-MM-DD`), when the file has requests.
    var days: ClosedRange<String>?
}

extension Ingestor {
    /// Removes, in one transaction, everything the ledger holds for these inputs, so that the run
    /// reads them again as new under its own policy and layout.
    ///
    /// An input's ledger rows are those whose content is a prefix of it (the same file, or an
    /// earlier state of a file that grew), found by fingerprint as ingest does. Aggregates are
    /// summed over files per hour and per day, and maxima and first/last times cannot be
    /// subtracted, so a file's contribution is removed by removing whole days: every hourly,
    /// inventory and latency row of the days its requests span, with its evidence, malformed
    /// samples and gateway-request rows. That is exact only when no other file has requests on
    /// those days; otherwise nothing is removed and ``ReingestError/sharedDays(files:more:)``
    /// names the files to add to the run. Gateway logs (not judged by an allowlist) are left as
    /// they are.
    ///
    /// Crash safety: the removal commits before the inputs are read, each in its own transaction
    /// as always. A run stopped in between leaves a store without those files (ledger and rows
    /// agree); the same command again, or a plain `ingest`, reads them in.
    ///
    /// - Parameter inputs: The run's inputs (paths; not standard input).
    /// - Returns: The number of ledger rows removed.
    /// - Throws: ``ReingestError``, or database errors.
    func removeForReingest(_ inputs: [String]) throws -> Int {
        if inputs.contains("-") { throw ReingestError.standardInput }
        let entries: [LedgerEntry] = try store.query { db in
            try db.rows(
                "SELECT id, path, fingerprint, bytes, format, first_time, last_time FROM files WHERE status != 'ingesting'",
                []
            ).map { row in
                let first = row.optional(String.self, at: 5).map { String($0.prefix(10)) }
                let last = row.optional(String.self, at: 6).map { String($0.prefix(10)) }
                var days: ClosedRange<String>?
                if let first, let last, first <= last { days = first...last }
                return LedgerEntry(
                    id: row[0],
                    path: row[1],
                    fingerprint: row[2],
                    bytes: row[3],
                    format: row[4],
                    days: days
                )
            }
        }
        let lengths = Set(entries.map(\.bytes).filter { $0 > 0 }).sorted()
        var replaced = Set<Int64>()
        for input in inputs {
            let prefixes = Self.prefixFingerprints(of: input, lengths: lengths)
            for entry in entries where entry.format == "w3c" && prefixes[entry.bytes] == entry.fingerprint {
                replaced.insert(entry.id)
            }
        }
        guard !replaced.isEmpty else { return 0 }
        let removed = entries.filter { replaced.contains($0.id) }
        let spans = removed.compactMap(\.days)
        let sharing = entries.filter { entry in
            guard !replaced.contains(entry.id), entry.format == "w3c", let days = entry.days else { return false }
            return spans.contains { $0.overlaps(days) }
        }
        if !sharing.isEmpty {
            throw ReingestError.sharedDays(
                files: sharing.prefix(5).map { $0.path },
                more: max(sharing.count - 5, 0)
            )
        }
        try store.write { db in
            for span in spans {
                let start = span.lowerBound + "T00:00:00Z"
                let end = UTCTime.format((TimeDisplay.parse(span.upperBound + "T00:00:00Z") ?? 0) + 86_400)
                try db.execute(
                    """
                    UPDATE judgements SET requests = judgements.requests - s.requests
                    FROM (SELECT key_id, SUM(requests) AS requests FROM hourly_facts WHERE hour >= ? AND hour < ?
                        GROUP BY key_id) AS s
                    WHERE judgements.key_id = s.key_id
                    """,
                    [start, end]
                )
                try db.execute("DELETE FROM hourly_facts WHERE hour >= ? AND hour < ?", [start, end])
                try db.execute(
                    "DELETE FROM direct_minutes WHERE minute >= ? AND minute < ?",
                    [TimeDisplay.parse(start) ?? 0, TimeDisplay.parse(end) ?? 0]
                )
                try db.execute("DELETE FROM inventory WHERE day >= ? AND day <= ?", [span.lowerBound, span.upperBound])
                try db.execute("DELETE FROM latency WHERE day >= ? AND day <= ?", [span.lowerBound, span.upperBound])
            }
            for entry in removed {
                for table in ["evidence_rows", "malformed_lines", "backend_gateway_requests"] {
                    try db.execute("DELETE FROM \(table) WHERE file_id = ?", [entry.id])
                }
                try db.execute("DELETE FROM files WHERE id = ?", [entry.id])
            }
        }
        return removed.count
    }

    /// The fingerprints of an input's first `lengths` decompressed bytes (those it has), keyed by
    /// length; empty when it cannot be read (the run reports that).
    private static func prefixFingerprints(of path: String, lengths: [Int64]) -> [Int64: String] {
        var found: [Int64: String] = [:]
        guard !lengths.isEmpty, let source = try? ByteSource(path: path) else { return found }
        var hasher = ContentHasher()
        var next = 0
        func reach(_ chunk: UnsafeRawBufferPointer) {
            var offset = 0
            while next < lengths.count, hasher.byteCount + Int64(chunk.count - offset) >= lengths[next] {
                let take = Int(lengths[next] - hasher.byteCount)
                hasher.update(UnsafeRawBufferPointer(rebasing: chunk[offset..<(offset + take)]))
                offset += take
                found[lengths[next]] = hasher.fingerprint
                next += 1
            }
            if offset < chunk.count { hasher.update(UnsafeRawBufferPointer(rebasing: chunk[offset...])) }
        }
        // A damaged input counts up to the damage, as ingest does.
        while next < lengths.count, (try? source.nextChunk(reach)) == true {}
        return found
    }
}
