import Foundation
import GRDB
import GRDBSQLite

/// SQLite's "copy the text now" destructor.
nonisolated(unsafe) let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Writes ingest results inside the caller's transaction, through cached statements bound in
/// place (no argument arrays on the per-row path).
final class StoreWriter: IngestWriter {
    let db: Database
    let database: any SQLDatabase
    let source: String
    private var upsertStatement: Statement?
    private var inventoryStatement: Statement?
    /// The same upserts for ``rowsPerStatement`` rows at once: one statement's cursors walk the
    /// B-trees for all of them (one row per statement costs about three times as much per row).
    private var upsertBatchStatement: Statement?
    private var inventoryBatchStatement: Statement?
    private var latencyStatement: Statement?
    private var minuteStatement: Statement?
    private var minuteBatchStatement: Statement?
    private var judgementStatement: Statement?
    private var keyRequestsStatement: Statement?
    /// Judgement keys this transaction has written (or found written).
    private var knownKeys = Set<Int64>()
    /// Texts the flushes bind without a copy: names shared by every row, and one row's own.
    private let constants: BoundConstants
    private let scratch = RowScratch()
    var betweenRows: (() throws -> Void)?
    /// Rows the flushes write between two calls of ``betweenRows`` (a few milliseconds).
    static let rowsBetweenCalls = 2_048
    /// Rows per multi-row upsert (13 parameters each for the hourly rows, far below SQLite's
    /// limit of 32,766); a flush writes the rest one row at a time.
    static let rowsPerStatement = 64

    /// `INSERT INTO … VALUES (?, …), (?, …) … ON CONFLICT …` for `rows` rows of `columns` values.
    static func multiRowSQL(_ head: String, columns: Int, rows: Int, _ tail: String) -> String {
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        return head + " VALUES " + Array(repeating: row, count: rows).joined(separator: ", ") + " " + tail
    }

    static let hourlyHead = """
        INSERT INTO hourly_facts (hour, site, address, status, substatus, requests, bytes,
            time_taken_sum, time_taken_max, first_seen, last_seen, source, key_id)
        """
    static let hourlyTail = """
        ON CONFLICT (hour, site, address, key_id, source) DO UPDATE SET
            requests = requests + excluded.requests,
            bytes = bytes + excluded.bytes,
            time_taken_sum = time_taken_sum + excluded.time_taken_sum,
            time_taken_max = max(time_taken_max, excluded.time_taken_max),
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen)
        """
    static let minuteHead = "INSERT INTO direct_minutes (minute, key_id, source, requests)"
    static let minuteTail =
        "ON CONFLICT (minute, key_id, source) DO UPDATE SET requests = requests + excluded.requests"
    static let inventoryHead = "INSERT INTO inventory (day, address, kind, value, requests, direct, served, blocked)"
    static let inventoryTail = """
        ON CONFLICT (day, address, kind, value) DO UPDATE SET requests = requests + excluded.requests,
            direct = direct + excluded.direct, served = served + excluded.served,
            blocked = blocked + excluded.blocked
        """

    init(db: Database, source: String) {
        self.db = db
        self.source = source
        database = SQLiteDatabase(db)
        constants = BoundConstants(source: source)
    }

    /// Throws SQLite's error for a failed step.
    ///
    /// SQLite's own calls only: this runs on the writer thread, where GRDB's accessors would trap
    /// (they check that they run on the connection's queue).
    private func check(_ code: Int32, _ statement: Statement) throws {
        guard code == SQLITE_DONE || code == SQLITE_ROW || code == SQLITE_OK else {
            let raw = statement.sqliteStatement
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(raw))),
                sql: sqlite3_sql(raw).map { String(cString: $0) }
            )
        }
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
        try prepareAggregateStatements()
        let evidence = try makeSink(fileID: fileID, kind: .evidence)
        let gatewayRequests = try makeSink(fileID: fileID, kind: .gatewayRequests)
        return { batch in try batch.kind == .evidence ? evidence(batch) : gatewayRequests(batch) }
    }

    /// The columns of the evidence insert, in parameter order (verdict, outcome and rule are the
    /// key's; the user agent is `agent_id`).
    private static let evidenceColumns = [
        "time", "file_id", "line", "site", "address", "forwarded_for", "method", "uri_stem", "uri_query", "status",
        "substatus", "host", "source", "key_id", "agent_id",
    ]
    /// The columns of the gateway-request insert, in parameter order.
    private static let gatewayRequestColumns = [
        "time", "file_id", "line", "site", "address", "method", "path", "status", "substatus", "request_id",
        "request_id_field",
    ]

    /// The parameter (1-based) that binds `column` in an insert of `columns`.
    private static func parameter(_ column: String, in columns: [String]) -> Int32 {
        guard let index = columns.firstIndex(of: column) else { preconditionFailure("no column \(column)") }
        return Int32(index + 1)
    }

    /// The parameters that bind a batch's text fields, in field order; 0 for a field not stored as
    /// its text (the rule, the user agent).
    private static func textParameters<Field: BatchField>(_: Field.Type, in columns: [String]) -> [Int32] {
        Field.allCases.map { field in columns.firstIndex(of: field.column).map { Int32($0 + 1) } ?? 0 }
    }

    private func makeSink(fileID: Int64, kind: EvidenceBatch.Kind) throws -> (EvidenceBatch) throws -> Void {
        let columns = kind == .evidence ? Self.evidenceColumns : Self.gatewayRequestColumns
        let table = kind == .evidence ? "evidence_rows" : "backend_gateway_requests"
        let statement = try db.makeStatement(
            sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ("
                + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        )
        let status = (Self.parameter("status", in: columns), Self.parameter("substatus", in: columns))
        if kind == .gatewayRequests {
            return try makeSink(
                fileID: fileID,
                statement: statement,
                textColumns: Self.textParameters(GatewayRequestField.self, in: columns),
                statusColumns: status,
                sourceColumn: nil,
                keyColumn: nil,
                agent: nil
            )
        }
        return try makeSink(
            fileID: fileID,
            statement: statement,
            textColumns: Self.textParameters(EvidenceField.self, in: columns),
            statusColumns: status,
            sourceColumn: Self.parameter("source", in: columns),
            keyColumn: Self.parameter("key_id", in: columns),
            agent: (
                Self.parameter("agent_id", in: columns),
                try db.makeStatement(
                    sql: "INSERT INTO user_agents (id, value) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
                )
            )
        )
    }

    private func makeSink(
        fileID: Int64,
        statement: Statement,
        textColumns: [Int32],
        statusColumns: (Int32, Int32),
        sourceColumn: Int32?,
        keyColumn: Int32?,
        agent: (column: Int32, insert: Statement)?
    ) throws -> (EvidenceBatch) throws -> Void {
        let connection = db.sqliteConnection
        let sql = statement.sql
        nonisolated(unsafe) let raw = statement.sqliteStatement
        nonisolated(unsafe) let agentRaw = agent?.insert.sqliteStatement
        // The source is bound from the writer's constants, which this closure keeps alive, without
        // a copy (as the arena's fields are).
        let constants = constants
        // User agents this input has written to `user_agents` (or found there).
        var knownAgents = Set<Int64>()
        return { batch in
            var lastTime: Int64 = .min
            var timeLength: Int32 = 0
            let fieldCount = batch.fieldCount
            try withExtendedLifetime(statement) {
                try withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { timeText in
                    guard let timeBase = timeText.baseAddress else {
                        preconditionFailure("a 32-byte allocation has an address")
                    }
                    try batch.arena.withUnsafeBytes { arena in
                        let base = arena.baseAddress
                        for (rowIndex, row) in batch.rows.enumerated() {
                            sqlite3_reset(raw)
                            if row.time != lastTime {
                                lastTime = row.time
                                timeLength = Int32(UTCTime.write(row.time, into: timeText))
                            }
                            // The time text changes only after the reset above: bound in place.
                            sqlite3_bind_text(
                                raw,
                                1,
                                timeBase.assumingMemoryBound(to: CChar.self),
                                timeLength,
                                nil
                            )
                            sqlite3_bind_int64(raw, 2, fileID)
                            sqlite3_bind_int64(raw, 3, row.line)
                            for (fieldIndex, column) in textColumns.enumerated() where column > 0 {
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
                            if let agent, let agentRaw {
                                let span = batch.spans[rowIndex * fieldCount + EvidenceField.userAgent.rawValue]
                                if span.count < 0 {
                                    sqlite3_bind_null(raw, agent.column)
                                } else {
                                    let text = UnsafeRawBufferPointer(
                                        start: base.map { $0 + Int(span.offset) },
                                        count: Int(span.count)
                                    )
                                    let id = AgentID.of(text)
                                    sqlite3_bind_int64(raw, agent.column, id)
                                    if knownAgents.insert(id).inserted {
                                        try Self.insertAgent(agentRaw, id: id, text: text, connection: connection)
                                    }
                                }
                            }
                            if let sourceColumn { constants.bind(raw, sourceColumn, constants.source) }
                            if let keyColumn { sqlite3_bind_int64(raw, keyColumn, row.keyID) }
                            let code = sqlite3_step(raw)
                            guard code == SQLITE_DONE else {
                                throw DatabaseError(
                                    resultCode: ResultCode(rawValue: code),
                                    message: String(cString: sqlite3_errmsg(connection)),
                                    sql: sql
                                )
                            }
                        }
                        // Nothing bound may outlive the buffers it points into.
                        sqlite3_reset(raw)
                        sqlite3_clear_bindings(raw)
                    }
                }
            }
        }
    }

    /// Writes one `user_agents` row (none when its id is there).
    private static func insertAgent(
        _ raw: SQLiteStatement,
        id: Int64,
        text: UnsafeRawBufferPointer,
        connection: SQLiteConnection?
    ) throws {
        sqlite3_reset(raw)
        sqlite3_bind_int64(raw, 1, id)
        if let base = text.baseAddress {
            sqlite3_bind_text(raw, 2, base.assumingMemoryBound(to: CChar.self), Int32(text.count), sqliteTransient)
        } else {
            sqlite3_bind_text(raw, 2, "", 0, sqliteTransient)
        }
        let code = sqlite3_step(raw)
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(connection)),
                sql: sqlite3_sql(raw).map { String(cString: $0) }
            )
        }
    }

    /// Prepares the upserts of ``flush(_:)`` and ``flush(_:aggregator:)`` (GRDB prepares
    /// statements on the connection's own thread only: this runs before the writer thread starts).
    private func prepareAggregateStatements() throws {
        if upsertStatement == nil {
            upsertStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.hourlyHead, columns: 13, rows: 1, Self.hourlyTail)
            )
            upsertBatchStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.hourlyHead, columns: 13, rows: Self.rowsPerStatement, Self.hourlyTail)
            )
            judgementStatement = try db.makeStatement(sql: KeyRow.insertSQL)
            keyRequestsStatement = try db.makeStatement(sql: KeyRow.addRequestsSQL)
        }
        if inventoryStatement == nil {
            inventoryStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.inventoryHead, columns: 8, rows: 1, Self.inventoryTail)
            )
            inventoryBatchStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.inventoryHead, columns: 8, rows: Self.rowsPerStatement, Self.inventoryTail)
            )
            minuteStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.minuteHead, columns: 4, rows: 1, Self.minuteTail)
            )
            minuteBatchStatement = try db.makeStatement(
                sql: Self.multiRowSQL(Self.minuteHead, columns: 4, rows: Self.rowsPerStatement, Self.minuteTail)
            )
            latencyStatement = try db.makeStatement(
                sql: """
                    INSERT INTO latency (day, site, endpoint, verdict, bucket, requests) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (day, site, endpoint, verdict, bucket) DO UPDATE SET requests = requests + excluded.requests
                    """
            )
        }
    }

    /// Writes rows in `order`: whole runs of ``rowsPerStatement`` through the multi-row `batch`
    /// statement, the rest one by one through `single`; `bind` binds one row at a parameter offset
    /// (0 for the first row of a statement, `columns` for the second, …) into the scratch buffer,
    /// which holds a statement's rows until its step.
    ///
    /// Calls ``betweenRows`` every ``rowsBetweenCalls`` rows, and leaves nothing bound.
    private func writeRows(
        _ order: [FlushOrder],
        columns: Int,
        single: Statement,
        batch: Statement,
        bind: (SQLiteStatement, FlushOrder, Int32) -> Void
    ) throws {
        let singleRaw = single.sqliteStatement
        let batchRaw = batch.sqliteStatement
        defer {
            // Nothing bound may outlive the scratch rows it points into.
            for raw in [singleRaw, batchRaw] {
                sqlite3_reset(raw)
                sqlite3_clear_bindings(raw)
            }
        }
        var position = 0
        var sinceCall = 0
        while position < order.count {
            let rows = order.count - position >= Self.rowsPerStatement ? Self.rowsPerStatement : 1
            let target = rows == 1 ? singleRaw : batchRaw
            sqlite3_reset(target)
            scratch.reset()
            for row in 0..<rows { bind(target, order[position + row], Int32(row * columns)) }
            try check(sqlite3_step(target), rows == 1 ? single : batch)
            position += rows
            sinceCall += rows
            if sinceCall >= Self.rowsBetweenCalls, let betweenRows {
                sinceCall = 0
                try betweenRows()
            }
        }
    }

    /// Writes the aggregates held in memory and empties them.
    func flush(_ aggregator: inout Aggregator) throws {
        guard aggregator.count > 0 else { return }
        try prepareAggregateStatements()
        guard let statement = upsertStatement else { return }
        let keys = aggregator.table.keys
        let values = aggregator.table.values
        // In key order: consecutive upserts then touch neighbouring pages of the primary key and of
        // the address index (a flush mostly covers one or two hours), instead of pages all over a
        // table that outgrows the page cache. The order is the text order of (hour, site,
        // address) as far as the first 16 bytes of the address; only locality depends on it.
        let siteRanks = aggregator.siteRanks()
        var order: [FlushOrder] = []
        order.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            let text = scratch.withAddressText(key.address, invalid: key.invalidAddress, aggregator) {
                FlushOrder.prefix($0)
            }
            order.append(FlushOrder(major: key.hour, minor: siteRanks[Int(key.site)], text: text, index: Int32(index)))
        }
        order.sort()
        guard let batchStatement = upsertBatchStatement else { return }
        var newKeys: [KeyRow] = []
        var keyRequests: [Int64: Int64] = [:]
        try writeRows(order, columns: 13, single: statement, batch: batchStatement) { target, entry, base in
            let key = keys[Int(entry.index)]
            let value = values[Int(entry.index)]
            scratch.bindTime(target, base + 1, key.hour)
            scratch.bindName(target, base + 2, aggregator.siteName(key.site))
            let keyID = scratch.withAddressText(key.address, invalid: key.invalidAddress, aggregator) { text in
                scratch.bind(target, base + 3, text)
                return aggregator.keyID(key, address: text)
            }
            if knownKeys.insert(keyID).inserted { newKeys.append(KeyRow(key, id: keyID, in: aggregator)) }
            keyRequests[keyID, default: 0] += value.requests
            sqlite3_bind_int64(target, base + 13, keyID)
            sqlite3_bind_int64(target, base + 4, Int64(key.status))
            sqlite3_bind_int64(target, base + 5, Int64(key.substatus))
            sqlite3_bind_int64(target, base + 6, value.requests)
            sqlite3_bind_int64(target, base + 7, value.bytes)
            sqlite3_bind_int64(target, base + 8, value.timeTakenSum)
            sqlite3_bind_int64(target, base + 9, value.timeTakenMax)
            scratch.bindTime(target, base + 10, value.first)
            scratch.bindTime(target, base + 11, value.last)
            constants.bind(target, base + 12, constants.source)
        }
        if let judgementStatement, let keyRequestsStatement {
            try insert(newKeys, adding: &keyRequests, with: judgementStatement)
            try add(keyRequests, with: keyRequestsStatement)
        }
        aggregator.removeAll()
    }

    /// Inserts the judgements of keys new to this transaction with the requests of their hourly
    /// rows (a key already stored only adds them), and takes those keys out of `requests`.
    private func insert(_ rows: [KeyRow], adding requests: inout [Int64: Int64], with statement: Statement) throws {
        var rows = rows
        for index in rows.indices { rows[index].requests = requests.removeValue(forKey: rows[index].id) ?? 0 }
        let raw = statement.sqliteStatement
        defer {
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
        }
        for row in rows {
            sqlite3_reset(raw)
            for (index, value) in row.values.enumerated() {
                let column = Int32(index + 1)
                switch value {
                case .integer(let number): sqlite3_bind_int64(raw, column, number)
                case .text(let text): bind(raw, column, text)
                case .null: sqlite3_bind_null(raw, column)
                }
            }
            try check(sqlite3_step(raw), statement)
        }
    }

    /// Adds the requests of this flush's hourly rows to keys this transaction wrote before, in key
    /// order (one statement per key and flush).
    private func add(_ requests: [Int64: Int64], with statement: Statement) throws {
        let raw = statement.sqliteStatement
        defer { sqlite3_reset(raw) }
        for (id, count) in requests.sorted(by: { $0.key < $1.key }) {
            sqlite3_reset(raw)
            sqlite3_bind_int64(raw, 1, count)
            sqlite3_bind_int64(raw, 2, id)
            try check(sqlite3_step(raw), statement)
        }
    }

    /// Writes inventories and latency histograms held in memory and empties them.
    ///
    /// The per-address bound is applied per input (see ``Inventories``): an address, day and
    /// kind gets at most that many values from each input file, the rest under `(other)`.
    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws {
        try prepareAggregateStatements()
        guard let inventoryStatement, let latencyStatement else { return }
        var dayTexts: [Int32: String] = [:]
        func dayText(_ day: Int32) -> String {
            if let known = dayTexts[day] { return known }
            let text = String(UTCTime.format(Int64(day) * 86_400).prefix(10))
            dayTexts[day] = text
            return text
        }
        // In (day, address) order, for the same locality as the hourly rows.
        let keys = inventories.counts.keys
        let counts = inventories.counts.values
        let order = addressOrder(keys, aggregator) { (Int64($0.day), $0.address, $0.invalidAddress) }
        guard let inventoryBatchStatement else { return }
        let single = inventoryStatement
        try writeRows(order, columns: 8, single: single, batch: inventoryBatchStatement) { target, entry, base in
            let key = keys[Int(entry.index)]
            scratch.bindDay(target, base + 1, key.day)
            scratch.bindAddress(target, base + 2, key.address, invalid: key.invalidAddress, aggregator)
            constants.bind(target, base + 3, constants.kinds[Int(key.kind)])
            if key.value < 0 {
                constants.bind(target, base + 4, constants.other)
            } else {
                inventories.withValueBytes(kind: key.kind, value: key.value) { scratch.bind(target, base + 4, $0) }
            }
            let count = counts[Int(entry.index)]
            sqlite3_bind_int64(target, base + 5, count.requests)
            sqlite3_bind_int64(target, base + 6, count.direct)
            sqlite3_bind_int64(target, base + 7, count.served)
            sqlite3_bind_int64(target, base + 8, count.blocked)
        }
        try flush(inventories.directMinutes, aggregator: aggregator)
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

    /// Writes the direct requests per minute, in primary-key (minute, key id) order: appended
    /// pages, filled (out of order, half-empty pages cost a fifth of the table).
    private func flush(_ minutes: DirectMinutes, aggregator: Aggregator) throws {
        guard minutes.count > 0, let minuteStatement, let minuteBatchStatement else { return }
        let keys = minutes.counts.keys
        let counts = minutes.counts.values
        var order: [FlushOrder] = []
        order.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            let keyID = scratch.withAddressText(key.address, invalid: key.invalidAddress, aggregator) { text in
                key.keyID(aggregator, address: text)
            }
            // The key id's sign bit flipped: its unsigned order is its signed order.
            let ordered = UInt64(bitPattern: keyID) ^ (1 << 63)
            order.append(FlushOrder(major: key.minute, minor: 0, text: (ordered, 0), index: Int32(index)))
        }
        order.sort()
        try writeRows(order, columns: 4, single: minuteStatement, batch: minuteBatchStatement) { target, entry, base in
            sqlite3_bind_int64(target, base + 1, keys[Int(entry.index)].minute)
            sqlite3_bind_int64(target, base + 2, Int64(bitPattern: entry.text.0 ^ (1 << 63)))
            constants.bind(target, base + 3, constants.source)
            sqlite3_bind_int64(target, base + 4, counts[Int(entry.index)])
        }
    }

    /// The write order of keys by (a time, address text): neighbouring primary-key pages.
    private func addressOrder<Key>(
        _ keys: [Key],
        _ aggregator: Aggregator,
        _ parts: (Key) -> (major: Int64, address: IPAddress, invalid: Int32)
    ) -> [FlushOrder] {
        var order: [FlushOrder] = []
        order.reserveCapacity(keys.count)
        for (index, key) in keys.enumerated() {
            let (major, address, invalid) = parts(key)
            let text = scratch.withAddressText(address, invalid: invalid, aggregator) { FlushOrder.prefix($0) }
            order.append(FlushOrder(major: major, minor: 0, text: text, index: Int32(index)))
        }
        order.sort()
        return order
    }
}
