import Foundation
import GRDB

/// Writes one input's results into PostgreSQL inside that input's transaction.
///
/// Aggregates are streamed with `COPY` into session-local staging tables (no indexes, no
/// conflicts) while the input is read, then merged into the shared tables with one upsert per
/// table, grouped and ordered by key, when the input ends. Many ingesters thus hold row locks on
/// the shared tables only for the merge, and always take them in key order, so they do not
/// deadlock on each other; `hourly` rows also carry the ingester's source, so two hosts never
/// touch the same `hourly` row at all. Evidence is appended with `COPY` as it is found.
final class PostgresWriter: IngestWriter {
    /// Not used: PostgreSQL stages a flush with `COPY` in one go.
    var betweenRows: (() throws -> Void)?
    let connection: PostgresConnection
    let source: String
    var database: any SQLDatabase { connection }

    /// Flushes staged so far for this input: with one, the staged rows are already unique and the
    /// merge needs no grouping on the server.
    private var hourlyFlushes = 0
    private var inventoryFlushes = 0
    /// Judgement keys this transaction has staged.
    private var knownKeys = Set<Int64>()
    /// User agents of this input's evidence rows, written to `user_agents` when the input ends
    /// (as its judgement keys are: a concurrent ingest waits on a new one only for that merge).
    private let agents = PendingAgents()

    /// User agents by id (``AgentID``), filled by the evidence sink, emptied by ``finishInput()``.
    final class PendingAgents: @unchecked Sendable {
        var texts: [Int64: String] = [:]
    }

    init(connection: PostgresConnection, source: String) {
        self.connection = connection
        self.source = source
    }

    /// Creates the session's staging tables (once per connection, outside any transaction).
    static func prepareSession(_ connection: PostgresConnection) throws {
        let text = "TEXT COLLATE \"C\""
        try connection.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS stage_hourly (
                hour \(text), site \(text), address \(text), verdict \(text), outcome \(text),
                status BIGINT, substatus BIGINT, requests BIGINT, bytes BIGINT, time_taken_sum BIGINT,
                time_taken_max BIGINT, first_seen \(text), last_seen \(text), key_id BIGINT);
            CREATE TEMP TABLE IF NOT EXISTS stage_judgements (LIKE judgements);
            CREATE TEMP TABLE IF NOT EXISTS stage_inventory (
                day \(text), address \(text), kind \(text), value \(text), requests BIGINT, direct BIGINT,
                served BIGINT, blocked BIGINT);
            CREATE TEMP TABLE IF NOT EXISTS stage_direct_minutes (minute BIGINT, key_id BIGINT, requests BIGINT);
            CREATE TEMP TABLE IF NOT EXISTS stage_latency (
                day \(text), site \(text), endpoint \(text), verdict \(text), bucket BIGINT, requests BIGINT);
            """,
            []
        )
    }

    /// Takes a transaction-scoped advisory lock named by the head's hash.
    func lockHead(_ headHash: String) throws {
        // The first 15 hex digits of the hash fit a positive Int64.
        let key = Int64(headHash.prefix(15), radix: 16) ?? 0
        try connection.execute("SELECT pg_advisory_xact_lock(?)", [key])
    }

    func makeEvidenceSink(fileID: Int64) throws -> (EvidenceBatch) throws -> Void {
        let connection = connection
        let source = source
        let agents = agents
        // The text fields before the status columns, in the `COPY` column order.
        let evidenceLead: [EvidenceField] = [.site, .address, .forwardedFor, .method, .uriStem, .uriQuery]
        let requestLead: [GatewayRequestField] = [.site, .address, .method, .path]
        return { batch in
            let evidence = batch.kind == .evidence
            let sql =
                evidence
                ? """
                COPY evidence_rows (time, file_id, line, site, address, forwarded_for, method, uri_stem, uri_query,
                    status, substatus, host, source, key_id, agent_id) FROM STDIN
                """
                : """
                COPY backend_gateway_requests (time, file_id, line, site, address, method, path, status,
                    substatus, request_id, request_id_field) FROM STDIN
                """
            try connection.copyIn(sql) { copy in
                try batch.arena.withUnsafeBytes { arena in
                    var lastTime: Int64 = .min
                    var timeText = ""
                    for (index, row) in batch.rows.enumerated() {
                        if row.time != lastTime {
                            lastTime = row.time
                            timeText = UTCTime.format(row.time)
                        }
                        copy.text(timeText)
                        copy.integer(fileID)
                        copy.integer(row.line)
                        if evidence {
                            for field in evidenceLead {
                                copy.text(batch.text(row: index, field, in: arena))
                            }
                            copy.integer(Int64(row.status))
                            copy.integer(Int64(row.substatus))
                            copy.text(batch.text(row: index, EvidenceField.host, in: arena))
                            copy.text(source)
                            copy.integer(row.keyID)
                            if let agent = batch.text(row: index, EvidenceField.userAgent, in: arena) {
                                let id = AgentID.of(agent)
                                copy.integer(id)
                                if agents.texts[id] == nil { agents.texts[id] = String(decoding: agent, as: UTF8.self) }
                            } else {
                                copy.text(nil as String?)
                            }
                        } else {
                            for field in requestLead {
                                copy.text(batch.text(row: index, field, in: arena))
                            }
                            copy.integer(Int64(row.status))
                            copy.integer(Int64(row.substatus))
                            copy.text(batch.text(row: index, GatewayRequestField.requestID, in: arena))
                            copy.text(batch.text(row: index, GatewayRequestField.requestIDField, in: arena))
                        }
                        try copy.endRow()
                    }
                }
            }
        }
    }

    func flush(_ aggregator: inout Aggregator) throws {
        guard aggregator.count > 0 else { return }
        let table = aggregator
        var hourTexts: [Int64: String] = [:]
        hourlyFlushes += 1
        // Sorted by hour, then numerically: the upsert then walks the primary key in order (half
        // the server's time on a 1M-line file) for the price of integer comparisons here.
        let entries = table.table.sorted { lhs, rhs in
            let (a, b) = (lhs.key, rhs.key)
            if a.hour != b.hour { return a.hour < b.hour }
            if a.site != b.site { return a.site < b.site }
            if a.address != b.address { return a.address < b.address }
            if a.invalidAddress != b.invalidAddress { return a.invalidAddress < b.invalidAddress }
            if a.verdictCode != b.verdictCode { return a.verdictCode < b.verdictCode }
            if a.outcomeCode != b.outcomeCode { return a.outcomeCode < b.outcomeCode }
            if a.status != b.status { return a.status < b.status }
            if a.substatus != b.substatus { return a.substatus < b.substatus }
            return a.facts < b.facts
        }
        var newKeys: [KeyRow] = []
        try connection.copyIn(
            """
            COPY stage_hourly (hour, site, address, verdict, outcome, status, substatus, requests, bytes,
                time_taken_sum, time_taken_max, first_seen, last_seen, key_id) FROM STDIN
            """
        ) { copy in
            for (key, value) in entries {
                if let hour = hourTexts[key.hour] {
                    copy.text(hour)
                } else {
                    let hour = UTCTime.format(key.hour)
                    hourTexts[key.hour] = hour
                    copy.text(hour)
                }
                copy.text(table.siteName(key.site))
                let address = table.addressText(key.address, invalid: key.invalidAddress)
                var addressCopy = address
                let keyID = addressCopy.withUTF8 { table.keyID(key, address: UnsafeRawBufferPointer($0)) }
                if knownKeys.insert(keyID).inserted { newKeys.append(KeyRow(key, id: keyID, in: table)) }
                copy.text(address)
                copy.text(key.verdict.rawValue)
                copy.text(key.outcome.rawValue)
                copy.integer(Int64(key.status))
                copy.integer(Int64(key.substatus))
                copy.integer(value.requests)
                copy.integer(value.bytes)
                copy.integer(value.timeTakenSum)
                copy.integer(value.timeTakenMax)
                copy.text(UTCTime.format(value.first))
                copy.text(UTCTime.format(value.last))
                copy.integer(keyID)
                try copy.endRow()
            }
        }
        if !newKeys.isEmpty {
            try connection.copyIn("COPY stage_judgements (\(KeyRow.columns.joined(separator: ", "))) FROM STDIN") {
                copy in
                for row in newKeys {
                    for value in row.values {
                        switch value {
                        case .integer(let number): copy.integer(number)
                        case .text(let text): copy.text(text)
                        case .null: copy.text(nil as String?)
                        }
                    }
                    try copy.endRow()
                }
            }
        }
        aggregator.removeAll()
    }

    func flush(_ inventories: inout Inventories, aggregator: Aggregator) throws {
        var dayTexts: [Int32: String] = [:]
        func dayText(_ day: Int32) -> String {
            if let known = dayTexts[day] { return known }
            let text = String(UTCTime.format(Int64(day) * 86_400).prefix(10))
            dayTexts[day] = text
            return text
        }
        if !inventories.counts.isEmpty || !inventories.latency.isEmpty { inventoryFlushes += 1 }
        if !inventories.counts.isEmpty {
            let held = inventories
            // Day, address, kind, then value text: the same order on every host (rows shared by
            // hosts are then locked in one order), cheap to compute here.
            let entries = held.counts.sorted { lhs, rhs in
                let (a, b) = (lhs.key, rhs.key)
                if a.day != b.day { return a.day < b.day }
                if a.address != b.address { return a.address < b.address }
                if a.invalidAddress != b.invalidAddress {
                    return aggregator.addressText(a.address, invalid: a.invalidAddress)
                        < aggregator.addressText(b.address, invalid: b.invalidAddress)
                }
                if a.kind != b.kind { return a.kind < b.kind }
                return held.text(kind: a.kind, value: a.value) < held.text(kind: b.kind, value: b.value)
            }
            let sql = "COPY stage_inventory (day, address, kind, value, requests, direct, served, blocked) FROM STDIN"
            try connection.copyIn(sql) { copy in
                for (key, count) in entries {
                    copy.text(dayText(key.day))
                    copy.text(aggregator.addressText(key.address, invalid: key.invalidAddress))
                    copy.text(Inventories.Kind(rawValue: key.kind)?.name ?? "")
                    copy.text(held.text(kind: key.kind, value: key.value))
                    copy.integer(count.requests)
                    copy.integer(count.direct)
                    copy.integer(count.served)
                    copy.integer(count.blocked)
                    try copy.endRow()
                }
            }
        }
        if inventories.directMinutes.count > 0 {
            let held = inventories.directMinutes
            try connection.copyIn("COPY stage_direct_minutes (minute, key_id, requests) FROM STDIN") { copy in
                for (key, requests) in held.counts {
                    copy.integer(key.minute)
                    var address = aggregator.addressText(key.address, invalid: key.invalidAddress)
                    copy.integer(address.withUTF8 { key.keyID(aggregator, address: UnsafeRawBufferPointer($0)) })
                    copy.integer(requests)
                    try copy.endRow()
                }
            }
        }
        if !inventories.latency.isEmpty {
            let held = inventories
            try connection.copyIn("COPY stage_latency (day, site, endpoint, verdict, bucket, requests) FROM STDIN") {
                copy in
                for (key, requests) in held.latency {
                    copy.text(dayText(key.day))
                    copy.text(aggregator.siteName(key.site))
                    copy.text(key.endpoint >= 0 ? held.templates.text(key.endpoint) : Inventories.otherValue)
                    copy.text(Verdict.allCases[Int(key.verdictCode)].rawValue)
                    copy.integer(Int64(key.bucket))
                    copy.integer(requests)
                    try copy.endRow()
                }
            }
        }
        inventories.removeCounts()
    }

    func finishInput() throws {
        // In id order: two ingests take the rows' locks in the same order.
        let pending = agents.texts.sorted { $0.key < $1.key }
        agents.texts = [:]
        for start in stride(from: 0, to: pending.count, by: 500) {
            let part = pending[start..<min(start + 500, pending.count)]
            try connection.execute(
                "INSERT INTO user_agents (id, value) VALUES "
                    + Array(repeating: "(?, ?)", count: part.count).joined(separator: ", ")
                    + " ON CONFLICT (id) DO NOTHING",
                part.flatMap { [$0.key, $0.value] as [any DatabaseValueConvertible] }
            )
        }
        let months = try connection.values(
            String.self,
            "SELECT DISTINCT substr(hour, 1, 7) FROM stage_hourly ORDER BY 1"
        )
        try PostgresSchema.ensurePartitions(months, on: connection)
        // One flush: the staged rows are unique; read them as they are (hourly rows carry this
        // ingester's source, so no other host waits on them, in whatever order they are taken).
        // Several: fold the duplicates on the server.
        let hourlyRows =
            hourlyFlushes <= 1
            ? """
            SELECT hour, site, address, status, substatus, CAST(? AS TEXT), requests, bytes,
                time_taken_sum, time_taken_max, first_seen, last_seen, key_id
            FROM stage_hourly
            """
            : """
            SELECT hour, site, address, status, substatus, CAST(? AS TEXT), SUM(requests), SUM(bytes),
                SUM(time_taken_sum), MAX(time_taken_max), MIN(first_seen), MAX(last_seen), key_id
            FROM stage_hourly
            GROUP BY hour, site, address, key_id, status, substatus
            ORDER BY hour, site, address, key_id
            """
        // New keys first, in key order (ingesters that share keys take them in one order).
        try connection.execute(
            """
            INSERT INTO judgements SELECT DISTINCT ON (key_id) * FROM stage_judgements ORDER BY key_id
            ON CONFLICT (key_id) DO NOTHING
            """,
            []
        )
        try connection.execute(
            """
            INSERT INTO hourly_facts AS h (hour, site, address, status, substatus, source, requests, bytes,
                time_taken_sum, time_taken_max, first_seen, last_seen, key_id)
            \(hourlyRows)
            ON CONFLICT (hour, site, address, key_id, source) DO UPDATE SET
                requests = h.requests + excluded.requests,
                bytes = h.bytes + excluded.bytes,
                time_taken_sum = h.time_taken_sum + excluded.time_taken_sum,
                time_taken_max = GREATEST(h.time_taken_max, excluded.time_taken_max),
                first_seen = LEAST(h.first_seen, excluded.first_seen),
                last_seen = GREATEST(h.last_seen, excluded.last_seen)
            """,
            [source]
        )
        // Each key's requests (`judgements.requests`): its rows are locked in key order first, as
        // other ingesters that share keys take them.
        try connection.execute(
            """
            SELECT key_id FROM judgements WHERE key_id IN (SELECT key_id FROM stage_hourly) ORDER BY key_id FOR UPDATE;
            UPDATE judgements AS j SET requests = j.requests + s.requests
            FROM (SELECT key_id, SUM(requests) AS requests FROM stage_hourly GROUP BY key_id) AS s
            WHERE j.key_id = s.key_id
            """,
            []
        )
        // Inventory rows are shared by every host: always taken in one order (the staged order).
        let inventoryRows =
            inventoryFlushes <= 1
            ? "SELECT day, address, kind, value, requests, direct, served, blocked FROM stage_inventory"
            : """
            SELECT day, address, kind, value, SUM(requests), SUM(direct), SUM(served), SUM(blocked) FROM stage_inventory
            GROUP BY day, address, kind, value ORDER BY day, address, kind, value
            """
        try connection.execute(
            """
            INSERT INTO inventory AS i (day, address, kind, value, requests, direct, served, blocked)
            \(inventoryRows)
            ON CONFLICT (day, address, kind, value) DO UPDATE SET requests = i.requests + excluded.requests,
                direct = i.direct + excluded.direct, served = i.served + excluded.served,
                blocked = i.blocked + excluded.blocked
            """,
            []
        )
        try connection.execute(
            """
            INSERT INTO latency AS l (day, site, endpoint, verdict, bucket, requests)
            SELECT day, site, endpoint, verdict, bucket, SUM(requests) FROM stage_latency
            GROUP BY day, site, endpoint, verdict, bucket ORDER BY day, site, endpoint, verdict, bucket
            ON CONFLICT (day, site, endpoint, verdict, bucket) DO UPDATE SET requests = l.requests + excluded.requests
            """,
            []
        )
        // Rows of this ingester's source only: no other host touches them.
        try connection.execute(
            """
            INSERT INTO direct_minutes AS m (minute, key_id, source, requests)
            SELECT minute, key_id, CAST(? AS TEXT), SUM(requests) FROM stage_direct_minutes
            GROUP BY minute, key_id ORDER BY minute, key_id
            ON CONFLICT (minute, key_id, source) DO UPDATE SET requests = m.requests + excluded.requests
            """,
            [source]
        )
        hourlyFlushes = 0
        inventoryFlushes = 0
        try connection.execute(
            "TRUNCATE stage_hourly, stage_inventory, stage_latency, stage_judgements, stage_direct_minutes",
            []
        )
    }
}
