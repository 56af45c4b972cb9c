import Foundation

// The streamed writers of the queries that name owners (issue 23): here, beside
// `Owners+Results.swift`, since owners depend on the query results and not the other way round.

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
}

extension TopQuery {
    /// Runs the query and writes the ranking to `sink` as it is read (`json`, `ndjson`), named and
    /// attributed, byte for byte what `run(store:).named(names).attributed(owners).render(format)`
    /// gives.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: `json` or `ndjson`.
    ///   - names: The configured address names.
    ///   - owners: Owner sources, or `nil` for none.
    ///   - sink: Where the text goes.
    /// - Returns: The ranking's counts, without entries (its ``TopResult/unjudgedNote``).
    /// - Throws: Database errors.
    public func write(
        store: Store,
        format: OutputFormat,
        names: AddressNames,
        owners: OwnerAttribution?,
        to sink: OutputSink
    ) throws -> TopResult {
        precondition(format == .json || format == .ndjson, "table and csv columns depend on every row")
        var writer = ListWriter<TopEntry>(format: format, sink: sink, columns: [])
        let (total, unjudged) = try forEach(store: store) { entry in
            var entry = entry
            entry.name = names.name(for: entry.address)
            entry.owner = owners?.owner(of: entry.address)
            writer.add(entry) { _ in [] }
        }
        writer.finish()
        return TopResult(entries: [], total: total, unjudged: unjudged)
    }
}

extension WhatIfQuery {
    /// Runs the evaluation and writes the result to `sink` with owners on its entries and owner
    /// notes among its findings, byte for byte what
    /// `run(store:).attributed(owners, store:).render(format, limit:)` gives, in bounded memory.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: The output format.
    ///   - limit: The most rows per list in `table` output (0 = all).
    ///   - owners: Owner sources.
    ///   - sink: Where the text goes.
    /// - Returns: The change-pipeline verdict.
    /// - Throws: ``LockdownError/noData(path:window:)``, database and encoding errors.
    public func write(
        store: Store,
        format: OutputFormat,
        limit: Int = 20,
        owners: OwnerAttribution,
        to sink: OutputSink
    ) throws -> WhatIfOutcome {
        try write(
            store: store,
            format: format,
            limit: limit,
            owner: { owners.owner(of: $0) },
            ownerNotes: { try owners.notes(for: $0, store: store) },
            to: sink
        )
    }
}
