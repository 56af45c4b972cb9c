import Foundation
import GRDB
import GRDBSQLite

/// SQLite's "copy the text now" destructor.
nonisolated(unsafe) let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Direct requests waiting to be written as evidence: the text of every row lives in one arena.
struct EvidenceBatch {
    /// What the rows are.
    enum Kind {
        /// `evidence` rows; text fields: site, address, forwarded_for, method, uri_stem,
        /// uri_query, user_agent, host, rule.
        case evidence
        /// `backend_gateway_requests` rows; text fields: site, address, method, path, request_id,
        /// request_id_field.
        case gatewayRequests

        var fieldCount: Int { self == .evidence ? 9 : 6 }
    }

    let kind: Kind
    var fieldCount: Int { kind.fieldCount }

    struct Span {
        var offset: Int32
        var count: Int32  // -1 for NULL
    }

    struct Row {
        var time: Int64
        var line: Int64
        var status: Int32
        var substatus: Int32
        var verdictCode: UInt8
        var outcomeCode: UInt8
    }

    var arena: [UInt8] = []
    var spans: [Span] = []
    var rows: [Row] = []

    init(kind: Kind = .evidence) {
        self.kind = kind
        arena.reserveCapacity(1 << 18)
        spans.reserveCapacity(2048 * kind.fieldCount)
        rows.reserveCapacity(2048)
    }

    var count: Int { rows.count }
    var arenaBytes: Int { arena.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else {
            spans.append(Span(offset: 0, count: -1))
            return
        }
        spans.append(Span(offset: Int32(arena.count), count: Int32(bytes.count)))
        arena.append(contentsOf: bytes)
    }

    mutating func append(_ text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}

/// Writes ingest results inside the caller's transaction, through cached statements bound in
/// place (no argument arrays on the per-row path).
final class StoreWriter: IngestWriter {
    let db: Database
    let database: any SQLDatabase
    let source: String
    private var upsertStatement: Statement?
    private var inventoryStatement: Statement?
    private var latencyStatement: Statement?

    init(db: Database, source: String) {
        self.db = db
        self.source = source
        database = SQLiteDatabase(db)
    }

    private func check(_ code: Int32, _ statement: Statement) throws {
        guard code == SQLITE_DONE || code == SQLITE_ROW || code == SQLITE_OK else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: statement.sql
            )
        }
    }

    /// Inserts a ledger row for a new input; it is completed by ``updateLedger``.
    func insertPlaceholder(path: String, headHash: String, headLength: Int) throws -> Int64 {
        try insertLedgerRow(path: path, headHash: headHash, headLength: headLength)
    }

    /// SQLite's write lock (`BEGIN IMMEDIATE`) already serialises ingesters.
    func lockHead(_ headHash: String) throws {}

    /// Nothing is staged on SQLite.
    func finishInput() throws {}

    @inline(__always)
    private func bind(_ statement: SQLiteStatement, _ index: Int32, _ bytes: UnsafeRawBufferPointer?) {
        if let bytes, let base = bytes.baseAddress {
            sqlite3_bind_text(
                statement,
                index,
                base.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count),
                sqliteTransient
            )
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
        if text.isEmpty { sqlite3_bind_text(statement, index, "", 0, sqliteTransient) }
    }

    /// Prepares the evidence insert and returns the function that writes a batch with it.
    ///
    /// The returned closure may run on another thread, as long as nothing else uses the
    /// connection meanwhile (the ingest driver waits for it before its own writes).
    func makeEvidenceSink(fileID: Int64) throws -> (EvidenceBatch) throws -> Void {
        let evidence = try makeSink(fileID: fileID, kind: .evidence)
        let gatewayRequests = try makeSink(fileID: fileID, kind: .gatewayRequests)
        return { batch in try batch.kind == .evidence ? evidence(batch) : gatewayRequests(batch) }
    }

    private func makeSink(fileID: Int64, kind: EvidenceBatch.Kind) throws -> (EvidenceBatch) throws -> Void {
        if kind == .gatewayRequests {
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO backend_gateway_requests (time, file_id, line, site, address, method, path, status,
                        substatus, request_id, request_id_field)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            )
            return try makeSink(
                fileID: fileID,
                statement: statement,
                textColumns: [4, 5, 6, 7, 10, 11],
                statusColumns: (8, 9),
                verdictColumns: nil,
                sourceColumn: nil
            )
        }
        let statement = try db.makeStatement(
            sql: """
                INSERT INTO evidence (time, file_id, line, site, address, forwarded_for, method, uri_stem,
                    uri_query, status, substatus, user_agent, host, verdict, outcome, rule, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        return try makeSink(
            fileID: fileID,
            statement: statement,
            textColumns: [4, 5, 6, 7, 8, 9, 12, 13, 16],
            statusColumns: (10, 11),
            verdictColumns: (14, 15),
            sourceColumn: 17
        )
    }

    private func makeSink(
        fileID: Int64,
        statement: Statement,
        textColumns: [Int32],
        statusColumns: (Int32, Int32),
        verdictColumns: (Int32, Int32)?,
        sourceColumn: Int32?
    ) throws -> (EvidenceBatch) throws -> Void {
        let connection = db.sqliteConnection
        let source = source
        let sql = statement.sql
        nonisolated(unsafe) let raw = statement.sqliteStatement
        return { batch in
            var lastTime: Int64 = .min
            var timeText: [UInt8] = []
            let fieldCount = batch.fieldCount
            try withExtendedLifetime(statement) {
                try batch.arena.withUnsafeBytes { arena in
                    let base = arena.baseAddress
                    for (rowIndex, row) in batch.rows.enumerated() {
                        sqlite3_reset(raw)
                        if row.time != lastTime {
                            lastTime = row.time
                            timeText = Array(UTCTime.format(row.time).utf8)
                        }
                        timeText.withUnsafeBytes { text in
                            _ = sqlite3_bind_text(
                                raw,
                                1,
                                text.baseAddress?.assumingMemoryBound(to: CChar.self),
                                Int32(text.count),
                                sqliteTransient
                            )
                        }
                        sqlite3_bind_int64(raw, 2, fileID)
                        sqlite3_bind_int64(raw, 3, row.line)
                        for (fieldIndex, column) in textColumns.enumerated() {
                            let span = batch.spans[rowIndex * fieldCount + fieldIndex]
                            if span.count < 0 {
                                sqlite3_bind_null(raw, column)
                            } else if let base {
                                // The arena outlives the step: no copy needed.
                                sqlite3_bind_text(
                                    raw,
                                    column,
                                    (base + Int(span.offset)).assumingMemoryBound(to: CChar.self),
                                    span.count,
                                    nil
                                )
                            } else {
                                sqlite3_bind_text(raw, column, "", 0, sqliteTransient)
                            }
                        }
                        sqlite3_bind_int64(raw, statusColumns.0, Int64(row.status))
                        sqlite3_bind_int64(raw, statusColumns.1, Int64(row.substatus))
                        if let verdictColumns {
                            let verdict = Verdict.allCases[Int(row.verdictCode)].rawValue
                            let outcome = Outcome.allCases[Int(row.outcomeCode)].rawValue
                            sqlite3_bind_text(raw, verdictColumns.0, verdict, -1, sqliteTransient)
                            sqlite3_bind_text(raw, verdictColumns.1, outcome, -1, sqliteTransient)
                        }
                        if let sourceColumn { sqlite3_bind_text(raw, sourceColumn, source, -1, sqliteTransient) }
                        let code = sqlite3_step(raw)
                        guard code == SQLITE_DONE else {
                            throw DatabaseError(
                                resultCode: ResultCode(rawValue: code),
                                message: String(cString: sqlite3_errmsg(connection)),
                                sql: sql
                            )
                        }
                    }
                    sqlite3_reset(raw)
                    sqlite3_clear_bindings(raw)
                }
            }
        }
    }

    /// Writes the aggregates held in memory and empties them.
    func flush(_ aggregator: inout Aggregator) throws {
        guard aggregator.count > 0 else { return }
        if upsertStatement == nil {
            upsertStatement = try db.makeStatement(
                sql: """
                    INSERT INTO hourly (hour, site, address, verdict, outcome, status, substatus, requests, bytes,
                        time_taken_sum, time_taken_max, first_seen, last_seen, source)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (hour, site, address, verdict, outcome, status, substatus, source) DO UPDATE SET
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
        // In key order: consecutive upserts then touch neighbouring pages of the primary key and of
        // the address index (a flush mostly covers one or two hours), instead of pages all over a
        // table that outgrows the page cache.
        var rows: [(hour: String, address: String, key: AggregateKey, value: AggregateValue)] = []
        rows.reserveCapacity(aggregator.count)
        var hourTexts: [Int64: String] = [:]
        for (key, value) in aggregator.table {
            let hour: String
            if let known = hourTexts[key.hour] {
                hour = known
            } else {
                hour = UTCTime.format(key.hour)
                hourTexts[key.hour] = hour
            }
            rows.append((hour, aggregator.addressText(key.address, invalid: key.invalidAddress), key, value))
        }
        // String order (byte order for these ASCII keys; only locality depends on it).
        rows.sort { lhs, rhs in
            if lhs.hour != rhs.hour { return lhs.hour < rhs.hour }
            if lhs.key.site != rhs.key.site {
                return aggregator.siteName(lhs.key.site) < aggregator.siteName(rhs.key.site)
            }
            return lhs.address < rhs.address
        }
        for (hour, address, key, value) in rows {
            sqlite3_reset(raw)
            bind(raw, 1, hour)
            bind(raw, 2, aggregator.siteName(key.site))
            bind(raw, 3, address)
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
            bind(raw, 14, source)
            try check(sqlite3_step(raw), statement)
        }
        aggregator.removeAll()
    }

    /// Writes inventories and latency histograms held in memory and empties them.
    ///
    /// The per-address bound is applied per input (see ``Inventories``): an address, day and
    /// kind gets at most that many values from each input file, the rest under `(other)`.
    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws {
        if inventoryStatement == nil {
            inventoryStatement = try db.makeStatement(
                sql: """
                    INSERT INTO inventory (day, address, kind, value, requests) VALUES (?, ?, ?, ?, ?)
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
        let raw = inventoryStatement.sqliteStatement
        // In (day, address) order, for the same locality as the hourly rows.
        var rows = inventories.counts.map { (address: aggregator.addressText($0.key.address, invalid: $0.key.invalidAddress), key: $0.key, requests: $0.value) }
        rows.sort { $0.key.day != $1.key.day ? $0.key.day < $1.key.day : $0.address < $1.address }
        for (address, key, requests) in rows {
            sqlite3_reset(raw)
            bind(raw, 1, dayText(key.day))
            bind(raw, 2, address)
            bind(raw, 3, Inventories.Kind(rawValue: key.kind)?.name ?? "")
            bind(raw, 4, inventories.text(kind: key.kind, value: key.value))
            sqlite3_bind_int64(raw, 5, requests)
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
