import Foundation
import GRDB
import GRDBSQLite

/// Writes ingest results inside the caller's transaction, through cached statements bound in
/// place (no argument arrays on the per-row path).
final class StoreWriter {
    let db: Database
    private var evidenceStatement: Statement?
    private var upsertStatement: Statement?
    private var inventoryStatement: Statement?
    private var latencyStatement: Statement?
    private var lastTime: Int64 = .min
    private var lastTimeText = ""

    // SQLite copies transient text before `bind` returns.
    private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(db: Database) {
        self.db = db
    }

    private static func now() -> String {
        UTCTime.format(Int64(Date().timeIntervalSince1970))
    }

    private func check(_ code: Int32, _ statement: Statement) throws {
        guard code == SQLITE_DONE || code == SQLITE_ROW || code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    /// Inserts a ledger row for a new input; it is completed by ``updateLedger``.
    func insertPlaceholder(path: String, headHash: String, headLength: Int) throws -> Int64 {
        let now = Self.now()
        try db.execute(
            sql: """
                INSERT INTO files (fingerprint, head_hash, head_length, path, format, compressed, bytes, lines, requests,
                    skipped, malformed, ends_with_newline, status, ingested_at, updated_at)
                VALUES (?, ?, ?, ?, 'w3c', 0, 0, 0, 0, 0, 0, 1, 'ingesting', ?, ?)
                """,
            arguments: ["pending:" + UUID().uuidString, headHash, headLength, path, now, now]
        )
        return db.lastInsertedRowID
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
        try db.execute(
            sql: """
                UPDATE files SET fingerprint = ?, head_hash = ?, head_length = ?, path = ?, format = ?, compressed = ?, bytes = ?, lines = ?,
                    requests = requests + ?, skipped = skipped + ?, malformed = malformed + ?,
                    ends_with_newline = ?,
                    first_time = CASE WHEN first_time IS NULL OR ? < first_time THEN ? ELSE first_time END,
                    last_time = CASE WHEN last_time IS NULL OR ? > last_time THEN ? ELSE last_time END,
                    status = ?, error = ?, updated_at = ?
                WHERE id = ?
                """,
            arguments: [
                fingerprint, headHash, headLength, path, format, compressed, bytes, lines, requests, skipped, malformed, endsWithNewline,
                first.map(UTCTime.format), first.map(UTCTime.format),
                last.map(UTCTime.format), last.map(UTCTime.format),
                status, error, Self.now(), id,
            ]
        )
    }

    /// Keeps a malformed line as a sample.
    func insertMalformed(fileID: Int64, line: Int, reason: String, text: String) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO malformed_lines (file_id, line, reason, sample) VALUES (?, ?, ?, ?)",
            arguments: [fileID, line, reason, text]
        )
    }

    @inline(__always)
    private func bind(_ statement: SQLiteStatement, _ index: Int32, _ bytes: UnsafeRawBufferPointer?) {
        if let bytes, let base = bytes.baseAddress {
            sqlite3_bind_text(statement, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient)
        } else {
            sqlite3_bind_null(statement, index)
        }
    }

    @inline(__always)
    private func bind(_ statement: SQLiteStatement, _ index: Int32, _ text: String) {
        var copy = text
        copy.withUTF8 { buffer in
            bind(statement, index, UnsafeRawBufferPointer(buffer))
        }
        if text.isEmpty { sqlite3_bind_text(statement, index, "", 0, transient) }
    }

    /// Records one flagged request as evidence.
    func insertEvidence(
        time: Int64,
        fileID: Int64,
        line: Int,
        site: String,
        address: String,
        parser: W3CParser,
        status: Int32,
        substatus: Int32,
        verdict: Verdict,
        outcome: Outcome,
        rule: String
    ) throws {
        if evidenceStatement == nil {
            evidenceStatement = try db.makeStatement(
                sql: """
                    INSERT INTO evidence (time, file_id, line, site, address, forwarded_for, method, uri_stem,
                        uri_query, status, substatus, user_agent, host, verdict, outcome, rule)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
        }
        guard let statement = evidenceStatement else { return }
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        if time != lastTime {
            lastTime = time
            lastTimeText = UTCTime.format(time)
        }
        bind(raw, 1, lastTimeText)
        sqlite3_bind_int64(raw, 2, fileID)
        sqlite3_bind_int64(raw, 3, Int64(line))
        bind(raw, 4, site)
        bind(raw, 5, address)
        bind(raw, 6, parser.field(.forwardedFor))
        bind(raw, 7, parser.field(.method))
        bind(raw, 8, parser.field(.uriStem))
        bind(raw, 9, parser.field(.uriQuery))
        sqlite3_bind_int64(raw, 10, Int64(status))
        sqlite3_bind_int64(raw, 11, Int64(substatus))
        bind(raw, 12, parser.field(.userAgent))
        bind(raw, 13, parser.field(.host))
        bind(raw, 14, verdict.rawValue)
        bind(raw, 15, outcome.rawValue)
        bind(raw, 16, rule)
        try check(sqlite3_step(raw), statement)
    }

    /// Writes the aggregates held in memory and empties them.
    func flush(_ aggregator: inout Aggregator) throws {
        guard aggregator.count > 0 else { return }
        if upsertStatement == nil {
            upsertStatement = try db.makeStatement(
                sql: """
                    INSERT INTO hourly (hour, site, address, verdict, outcome, status, substatus, requests, bytes,
                        time_taken_sum, time_taken_max, first_seen, last_seen)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (hour, site, address, verdict, outcome, status, substatus) DO UPDATE SET
                        requests = requests + excluded.requests,
                        bytes = bytes + excluded.bytes,
                        time_taken_sum = time_taken_sum + excluded.time_taken_sum,
                        time_taken_max = max(time_taken_max, excluded.time_taken_max),
                        first_seen = min(first_seen, excluded.first_seen),
                        last_seen = max(last_seen, excluded.last_seen)
                    """
            )
        }
        guard let statement = upsertStatement else { return }
        let raw = statement.sqliteStatement
        for (key, value) in aggregator.table {
            sqlite3_reset(raw)
            bind(raw, 1, UTCTime.format(key.hour))
            bind(raw, 2, aggregator.siteName(key.site))
            bind(raw, 3, aggregator.addressText(key.address, invalid: key.invalidAddress))
            bind(raw, 4, key.verdict.rawValue)
            bind(raw, 5, key.outcome.rawValue)
            sqlite3_bind_int64(raw, 6, Int64(key.status))
            sqlite3_bind_int64(raw, 7, Int64(key.substatus))
            sqlite3_bind_int64(raw, 8, value.requests)
            sqlite3_bind_int64(raw, 9, value.bytes)
            sqlite3_bind_int64(raw, 10, value.timeTakenSum)
            sqlite3_bind_int64(raw, 11, value.timeTakenMax)
            bind(raw, 12, UTCTime.format(value.first))
            bind(raw, 13, UTCTime.format(value.last))
            try check(sqlite3_step(raw), statement)
        }
        aggregator.removeAll()
    }

    /// Writes inventories and latency histograms held in memory and empties them.
    ///
    /// The per-address bound holds in the store too: a value not yet stored for an address,
    /// day and kind that already has its quota of values is counted under `(other)`.
    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws {
        if inventoryStatement == nil {
            inventoryStatement = try db.makeStatement(
                sql: """
                    INSERT INTO inventory (day, address, kind, value, requests)
                    VALUES (?1, ?2, ?3,
                        CASE WHEN ?4 = '(other)'
                            OR EXISTS (SELECT 1 FROM inventory WHERE day = ?1 AND address = ?2 AND kind = ?3 AND value = ?4)
                            OR (SELECT COUNT(*) FROM inventory
                                WHERE day = ?1 AND address = ?2 AND kind = ?3 AND value != '(other)') < ?6
                        THEN ?4 ELSE '(other)' END,
                        ?5)
                    ON CONFLICT (day, address, kind, value) DO UPDATE SET requests = requests + excluded.requests
                    """
            )
            latencyStatement = try db.makeStatement(
                sql: """
                    INSERT INTO latency (day, site, endpoint, verdict, bucket, requests) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (day, site, endpoint, verdict, bucket) DO UPDATE SET requests = requests + excluded.requests
                    """
            )
        }
        guard let inventoryStatement, let latencyStatement else { return }
        var dayTexts: [Int32: String] = [:]
        func dayText(_ day: Int32) -> String {
            if let known = dayTexts[day] { return known }
            let text = String(UTCTime.format(Int64(day) * 86_400).prefix(10))
            dayTexts[day] = text
            return text
        }
        // The busiest values first, so that they are the ones that get a place of their own.
        let sorted = inventories.counts.sorted { $0.value > $1.value }
        let raw = inventoryStatement.sqliteStatement
        for (key, requests) in sorted {
            sqlite3_reset(raw)
            bind(raw, 1, dayText(key.day))
            bind(raw, 2, aggregator.addressText(key.address, invalid: key.invalidAddress))
            bind(raw, 3, Inventories.Kind(rawValue: key.kind)?.name ?? "")
            bind(raw, 4, inventories.text(kind: key.kind, value: key.value))
            sqlite3_bind_int64(raw, 5, requests)
            sqlite3_bind_int64(raw, 6, Int64(Inventories.valuesPerAddress))
            try check(sqlite3_step(raw), inventoryStatement)
        }
        let latencyRaw = latencyStatement.sqliteStatement
        for (key, requests) in inventories.latency {
            sqlite3_reset(latencyRaw)
            bind(latencyRaw, 1, dayText(key.day))
            bind(latencyRaw, 2, aggregator.siteName(key.site))
            bind(latencyRaw, 3, key.endpoint >= 0 ? inventories.templates.text(key.endpoint) : Inventories.otherValue)
            bind(latencyRaw, 4, Verdict.allCases[Int(key.verdictCode)].rawValue)
            sqlite3_bind_int64(latencyRaw, 5, Int64(key.bucket))
            sqlite3_bind_int64(latencyRaw, 6, requests)
            try check(sqlite3_step(latencyRaw), latencyStatement)
        }
        inventories.removeCounts()
    }
}
