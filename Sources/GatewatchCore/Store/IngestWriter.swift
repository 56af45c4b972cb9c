import Foundation
import GRDB

/// What the ingest of one input writes, inside that input's one transaction, on either engine.
///
/// The SQLite writer (``StoreWriter``) upserts through prepared statements bound in place; the
/// PostgreSQL writer (``PostgresWriter``) streams rows with `COPY` into session-local staging
/// tables and merges them with one ordered upsert per table when the input ends.
protocol IngestWriter: AnyObject {
    /// The connection, for the ledger's reads and the gateway tables.
    var database: any SQLDatabase { get }
    /// The name every row written is tagged with (`--source`).
    var source: String { get }

    /// Serialises ingesters that read inputs starting with the same bytes, so that one of them
    /// sees the other's ledger row (PostgreSQL; SQLite's write lock already serialises).
    func lockHead(_ headHash: String) throws

    /// Inserts a ledger row for a new input; it is completed by ``updateLedger``.
    func insertPlaceholder(path: String, headHash: String, headLength: Int) throws -> Int64

    /// Returns the function that writes a batch of evidence (possibly on another thread, while
    /// nothing else uses the connection).
    func makeEvidenceSink(fileID: Int64) throws -> (EvidenceBatch) throws -> Void

    /// Writes (or stages) the hourly aggregates held in memory and empties them.
    func flush(_ aggregator: inout Aggregator) throws

    /// Writes (or stages) inventories and latency histograms held in memory and empties them.
    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws

    /// Merges whatever was staged; called once, after the last flush of the input.
    func finishInput() throws

    /// Work for the flushes to run every so many rows (`nil`: none): the writer thread lets the
    /// evidence batches queued meanwhile through, so that the parser does not wait for a whole
    /// flush to hand over its next batch.
    var betweenRows: (() throws -> Void)? { get set }
}

extension IngestWriter {
    static func now() -> String {
        UTCTime.format(Int64(Date().timeIntervalSince1970))
    }

    /// Inserts a ledger row and returns its id (portable: `RETURNING` on both engines).
    func insertLedgerRow(path: String, headHash: String, headLength: Int) throws -> Int64 {
        let now = Self.now()
        guard
            let id = try database.value(
                Int64.self,
                """
                INSERT INTO files (fingerprint, head_hash, head_length, path, format, compressed, bytes, lines, requests,
                    skipped, malformed, ends_with_newline, status, ingested_at, updated_at, source)
                VALUES (?, ?, ?, ?, 'w3c', 0, 0, 0, 0, 0, 0, 1, 'ingesting', ?, ?, ?)
                RETURNING id
                """,
                ["pending:" + UUID().uuidString, headHash, headLength, path, now, now, source]
            )
        else { throw SQLError(message: "the ledger row was not created", code: "XX000", sql: "INSERT INTO files") }
        return id
    }

    /// Completes a ledger row (new or grown input).
    func updateLedger(
        id: Int64,
        fingerprint: String,
        headHash: String,
        headLength: Int,
        path: String,
        format: String,
        compressed: Bool,
        bytes: Int64,
        lines: Int,
        requests: Int,
        skipped: Int,
        malformed: Int,
        endsWithNewline: Bool,
        first: Int64?,
        last: Int64?,
        status: String,
        error: String?
    ) throws {
        let firstText: DatabaseValue = first.map { UTCTime.format($0).databaseValue } ?? .null
        let lastText: DatabaseValue = last.map { UTCTime.format($0).databaseValue } ?? .null
        try database.execute(
            """
            UPDATE files SET fingerprint = ?, head_hash = ?, head_length = ?, path = ?, format = ?, compressed = ?,
                bytes = ?, lines = ?, requests = requests + ?, skipped = skipped + ?, malformed = malformed + ?,
                ends_with_newline = ?,
                first_time = CASE WHEN first_time IS NULL OR CAST(? AS TEXT) < first_time THEN CAST(? AS TEXT) ELSE first_time END,
                last_time = CASE WHEN last_time IS NULL OR CAST(? AS TEXT) > last_time THEN CAST(? AS TEXT) ELSE last_time END,
                status = ?, error = ?, updated_at = ?
            WHERE id = ?
            """,
            [
                fingerprint, headHash, headLength, path, format, compressed ? 1 : 0, bytes, lines, requests, skipped,
                malformed, endsWithNewline ? 1 : 0, firstText, firstText, lastText, lastText, status,
                error.map { $0.databaseValue } ?? DatabaseValue.null, Self.now(), id,
            ]
        )
    }

    /// Records what a ledger row's content was read and judged under (`nil`: unknown).
    func recordBasis(id: Int64, _ basis: RecordedBasis) throws {
        func value(_ text: String?) -> DatabaseValue { text.map { $0.databaseValue } ?? .null }
        try database.execute(
            "UPDATE files SET policy_fingerprint = ?, policy_source = ?, read_fields = ?, read_options = ? WHERE id = ?",
            [value(basis.policyFingerprint), value(basis.policySource), value(basis.fields), value(basis.options), id]
        )
    }

    /// Keeps a malformed line as a sample.
    func insertMalformed(fileID: Int64, line: Int, reason: String, text: String) throws {
        try database.execute(
            """
            INSERT INTO malformed_lines (file_id, line, reason, sample) VALUES (?, ?, ?, ?)
            ON CONFLICT (file_id, line) DO UPDATE SET reason = excluded.reason, sample = excluded.sample
            """,
            [fileID, line, reason, text.replacingOccurrences(of: "\0", with: "")]
        )
    }
}
