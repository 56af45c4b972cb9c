import Foundation
import GRDB

/// Where an input's ledger row stands (the `files.status` column).
enum LedgerStatus: String {
    /// Opened by an ingest whose transaction is still running (or never committed).
    case ingesting
    /// Read to its end.
    case complete
    /// Read up to a failure; what came before it is kept.
    case error
}

/// A ledger row that may describe an earlier state of the input being read.
struct LedgerCandidate {
    var id: Int64
    var fingerprint: String
    var bytes: Int64
    var lines: Int
    var endsWithNewline: Bool
    /// What the row's content was read and judged under.
    var recorded: RecordedBasis
}

/// What an ingested input's ledger row (`files`) says about it.
struct LedgerUpdate {
    var fingerprint: String
    var headHash: String
    var headLength: Int
    var path: String
    var format: String
    var compressed: Bool
    var bytes: Int64
    var lines: Int
    var requests: Int
    var skipped: Int
    var malformed: Int
    var endsWithNewline: Bool
    var first: Int64?
    var last: Int64?
    var status: LedgerStatus
    var error: String?
}

/// The ledger of ingested inputs (the `files` table, and the malformed-line samples kept per
/// file) as the ingest reads and writes it, through one connection.
struct Ledger {
    let database: any SQLDatabase

    init(_ database: any SQLDatabase) {
        self.database = database
    }

    static func now() -> String {
        UTCTime.format(Int64(Date().timeIntervalSince1970))
    }

    /// Ledger rows whose head matches `head`'s first bytes (up to `headLength`), longest first.
    func candidates(head: [UInt8], headLength: Int) throws -> [LedgerCandidate] {
        var found: [LedgerCandidate] = []
        let lengths = try database.values(
            Int.self,
            "SELECT DISTINCT head_length FROM files WHERE head_length <= ?",
            [headLength]
        )
        for length in lengths {
            let hash = head.withUnsafeBytes { raw in
                var hasher = ContentHasher()
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                return hasher.fingerprint
            }
            found += try database.rows(
                """
                SELECT id, fingerprint, bytes, lines, ends_with_newline, policy_fingerprint, policy_source,
                    read_fields, read_options
                FROM files WHERE head_length = ? AND head_hash = ? AND status != '\(LedgerStatus.ingesting.rawValue)'
                """,
                [length, hash]
            ).map {
                LedgerCandidate(
                    id: $0[0],
                    fingerprint: $0[1],
                    bytes: $0[2],
                    lines: $0[3],
                    endsWithNewline: ($0[4] as Int64) != 0,
                    recorded: RecordedBasis(
                        policyFingerprint: $0.optional(String.self, at: 5),
                        policySource: $0.optional(String.self, at: 6),
                        fields: $0.optional(String.self, at: 7),
                        options: $0.optional(String.self, at: 8)
                    )
                )
            }
        }
        found.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.id < $1.id }
        return found
    }

    /// Whether another ledger row than `id` holds this content.
    func holdsFingerprint(_ fingerprint: String, besides id: Int64) throws -> Bool {
        try database.value(Int64.self, "SELECT id FROM files WHERE fingerprint = ? AND id != ?", [fingerprint, id])
            != nil
    }

    /// Inserts a ledger row for a new input and returns its id (portable: `RETURNING` on both
    /// engines); it is completed by ``complete(id:_:)``.
    func insertPlaceholder(path: String, headHash: String, headLength: Int, source: String) throws -> Int64 {
        let now = Self.now()
        guard
            let id = try database.value(
                Int64.self,
                """
                INSERT INTO files (fingerprint, head_hash, head_length, path, format, compressed, bytes, lines, requests,
                    skipped, malformed, ends_with_newline, status, ingested_at, updated_at, source)
                VALUES (?, ?, ?, ?, 'w3c', 0, 0, 0, 0, 0, 0, 1, '\(LedgerStatus.ingesting.rawValue)', ?, ?, ?)
                RETURNING id
                """,
                ["pending:" + UUID().uuidString, headHash, headLength, path, now, now, source]
            )
        else { throw SQLError(message: "the ledger row was not created", code: "XX000", sql: "INSERT INTO files") }
        return id
    }

    /// Completes a ledger row (new or grown input).
    func complete(id: Int64, _ entry: LedgerUpdate) throws {
        let firstText: DatabaseValue = entry.first.map { UTCTime.format($0).databaseValue } ?? .null
        let lastText: DatabaseValue = entry.last.map { UTCTime.format($0).databaseValue } ?? .null
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
                entry.fingerprint, entry.headHash, entry.headLength, entry.path, entry.format,
                entry.compressed ? 1 : 0, entry.bytes, entry.lines, entry.requests, entry.skipped, entry.malformed,
                entry.endsWithNewline ? 1 : 0, firstText, firstText, lastText, lastText, entry.status.rawValue,
                entry.error.map { $0.databaseValue } ?? DatabaseValue.null, Self.now(), id,
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

    /// Records how the evidence of a ledger row's content was kept (`files.evidence`: `sample 100`,
    /// `all`, `none`; `mixed` when a grown file's lines were kept under different modes) and the
    /// run's mode as the store's latest (`meta.evidence`).
    func recordEvidence(id: Int64, _ mode: EvidenceMode, grown: Bool) throws {
        let text = mode.description
        // A row from before the column (NULL) kept every row.
        if grown {
            try database.execute(
                "UPDATE files SET evidence = CASE WHEN COALESCE(evidence, 'all') = ? THEN ? ELSE 'mixed' END WHERE id = ?",
                [text, text, id]
            )
        } else {
            try database.execute("UPDATE files SET evidence = ? WHERE id = ?", [text, id])
        }
        try database.execute(
            "INSERT INTO meta (key, value) VALUES ('evidence', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [text]
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
