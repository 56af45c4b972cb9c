import Foundation
import GRDB

extension ClientsQuery {
    /// Runs the query and writes the callers to `sink` in a streaming format (`json`, `ndjson`,
    /// `csv`), byte for byte what `run(store:).named(names).attributed(owners, store:)
    /// .render(format)` gives, in bounded memory (issue 23).
    ///
    /// One pass reads the direct callers address by address with their endpoint and user-agent
    /// counts; each caller is rendered as it is read and kept in ``ScratchRows``, which gives the
    /// rows back busiest first, at most the filter's limit.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: `json`, `ndjson` or `csv`.
    ///   - names: The configured address names.
    ///   - owners: Owner sources, or `nil` for none.
    ///   - sink: Where the text goes.
    /// - Throws: Database errors.
    public func write(
        store: Store,
        format: OutputFormat,
        names: AddressNames,
        owners: OwnerAttribution?,
        to sink: OutputSink
    ) throws {
        precondition(format != .table, "a table is rendered from run(store:)")
        let scratch = try ScratchRows()
        let drifts = try owners.map { owners in
            try store.query { db in try GatewayDrift.detect(db, attribution: owners) }
        }
        let gatewayFindings = try owners.map { try apiManagementFindings(store: store, owners: $0) } ?? [:]
        try scratch.fill { insert in
            try store.query { db in
                try scan(db) { client in
                    var client = client
                    client.name = names.name(for: client.address)
                    if let owners {
                        var findings: [String] = []
                        if let owner = owners.owner(of: client.address) {
                            client.owner = owner
                            if client.name == nil, owner.source == .names { client.name = owner.name }
                            let finding =
                                gatewayFindings[client.address] ?? owner.finding(seenInGatewayLogs: false)
                            if let finding { findings.append(finding) }
                        }
                        let drifted = (drifts ?? []).filter { $0.new == client.address }.map(\.message)
                        // Drift is the better explanation than "another tenant's" for the same caller.
                        if !drifted.isEmpty { findings = drifted }
                        client.findings = findings.isEmpty ? nil : findings
                    }
                    var text = ""
                    if format == .csv {
                        text = ClientsResult.cells(client).map(SafeText.csv).joined(separator: ",") + "\r\n"
                    } else {
                        JSONObjectWriter.object(client, into: &text)
                        if format == .ndjson { text += "\n" }
                    }
                    try insert(0, client.requests, client.address, "", text)
                }
            }
        }
        switch format {
        case .json: sink.write("[")
        case .csv: sink.write(ClientsResult.columns.map(SafeText.csv).joined(separator: ",") + "\r\n")
        case .ndjson, .table: break
        }
        var first = true
        try scratch.forEach(list: 0, limit: filter.limit) { text in
            if format == .json, !first { sink.write(",") }
            first = false
            sink.write(text)
        }
        if format == .json { sink.write("]\n") }
    }

    /// The findings of the callers an API Management service tag owns, which the gateway's own
    /// logs decide (read before the pass: a PostgreSQL connection reads one statement at a time).
    private func apiManagementFindings(store: Store, owners: OwnerAttribution) throws -> [String: String?] {
        try store.query { db in
            let direct = try filter.hourlyConditions(db, verdict: .direct)
            var owned: [(String, Owner)] = []
            try db.forEachRow("SELECT DISTINCT address FROM hourly \(direct.whereClause)", direct.values) { row in
                let address: String = row[0]
                if let owner = owners.owner(of: address), owner.tagFamily?.lowercased() == "apimanagement" {
                    owned.append((address, owner))
                }
            }
            var findings: [String: String?] = [:]
            for (address, owner) in owned { findings[address] = try owner.finding(for: address, db: db) }
            return findings
        }
    }

    /// Calls `body` with each direct caller in the window, in address order, with its endpoints
    /// and user agents, before names and owners.
    ///
    /// - Returns: The newest data in the window (UTC), or `nil` when the window is empty.
    @discardableResult
    func scan(_ db: any SQLDatabase, _ body: (ClientEntry) throws -> Void) throws -> String? {
        let all = try filter.hourlyConditions(db)
        guard
            let newestText = try db.value(
                String.self,
                "SELECT MAX(last_seen) FROM hourly_facts \(all.whereClause)",
                all.values
            ),
            let newest = TimeDisplay.parse(newestText)
        else { return nil }
        let display = filter.display
        let reference = (newest - ((newest % 3600) + 3600) % 3600) + 3600
        let quietSince = UTCTime.format(newest - Int64(quietDays) * 86_400)
        let direct = try filter.hourlyConditions(db, verdict: .direct)
        let recent: [any DatabaseValueConvertible] = [
            UTCTime.format(reference - 86_400), UTCTime.format(reference - 7 * 86_400),
            UTCTime.format(reference - 30 * 86_400),
        ]
        let (valuesSQL, valueConditions) = try InventoryLookup.valuesStatement(db, filter: filter, nulls: 5)
        var client: ClientEntry?
        var counts: [String: [String: Int]] = [:]  // kind → value → requests
        func finish() throws {
            defer { counts.removeAll(keepingCapacity: true) }
            guard var entry = client else { return }
            client = nil
            if let wanted = state, wanted != entry.state { return }
            entry.endpoints = InventoryLookup.ranked(counts["endpoint"] ?? [:], perAddress: valuesPerClient)
            entry.userAgents = InventoryLookup.ranked(counts["user_agent"] ?? [:], perAddress: valuesPerClient)
            entry.firstSeen = display.format(entry.firstSeen)
            entry.lastSeen = display.format(entry.lastSeen)
            try body(entry)
        }
        var address: String?
        // Hourly rows: (address, 0, first, last, requests, blocked, served, 1d, 7d, 30d); then the
        // address's values: (address, 1, kind, value, requests, NULL × 5).
        try db.forEachRow(
            """
            SELECT address, 0, MIN(first_seen), MAX(last_seen), SUM(requests),
                SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END),
                SUM(CASE WHEN outcome = 'served' THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END)
            FROM hourly \(direct.whereClause) GROUP BY address
            UNION ALL \(valuesSQL)
            ORDER BY 1, 2
            """,
            recent + direct.values + valueConditions
        ) { row in
            let rowAddress: String = row[0]
            if rowAddress != address {
                try finish()
                address = rowAddress
            }
            let isHourly: Int = row[1]
            guard isHourly == 0 else {
                let kind: String = row[2]
                counts[kind, default: [:]][row.optional(String.self, at: 3) ?? "-", default: 0] += row[4] as Int
                return
            }
            let served: Int = row[6]
            let lastSeen: String = row[3]
            client = ClientEntry(
                address: rowAddress,
                state: served == 0 ? .blockedOnly : (lastSeen < quietSince ? .quiet : .active),
                firstSeen: row[2],
                lastSeen: lastSeen,
                requests: row[4],
                blocked: row[5],
                served: served,
                last1d: row[7],
                last7d: row[8],
                last30d: row[9],
                endpoints: [],
                userAgents: []
            )
        }
        try finish()
        return newestText
    }
}
