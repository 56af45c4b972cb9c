extension ClientsResult {
    /// The same inventory with owners, the findings they imply, and gateway drift (issue 24).
    ///
    /// Owners are computed once per listed address. A caller inside `ApiManagement.*` is checked
    /// against the gateway's own logs (path and time) to tell your own second gateway from another
    /// tenant's.
    ///
    /// - Parameters:
    ///   - attribution: The compiled owner sources.
    ///   - store: The store, for the gateway-log match and drift detection.
    /// - Returns: The attributed inventory.
    /// - Throws: Database errors.
    public func attributed(_ attribution: OwnerAttribution, store: Store) throws -> ClientsResult {
        var copy = self
        let drifts = try store.query { db in try GatewayDrift.detect(db, attribution: attribution) }
        try store.query { db in
            for index in copy.clients.indices {
                let client = copy.clients[index]
                var findings: [String] = []
                if let owner = attribution.owner(of: client.address) {
                    copy.clients[index].owner = owner
                    if client.name == nil, owner.source == .names { copy.clients[index].name = owner.name }
                    if let finding = try owner.finding(for: client.address, db: db) { findings.append(finding) }
                }
                let drifted = drifts.filter { $0.new == client.address }.map(\.message)
                // Drift is the better explanation than "another tenant's" for the same caller.
                if !drifted.isEmpty { findings = drifted }
                copy.clients[index].findings = findings.isEmpty ? nil : findings
            }
        }
        copy.notes = drifts.map(\.message)
        if let note = attribution.sourceNote { copy.notes.append(note) }
        if let warning = attribution.serviceTagsAgeWarning(newest: newest) { copy.notes.append("warning: " + warning) }
        return copy
    }

    /// Direct traffic per owner, busiest first: one row per owner ("tell the Logic Apps team")
    /// instead of one per address; addresses without an owner share the row `(unknown)`.
    ///
    /// - Returns: The groups.
    public func byOwner() -> [OwnerGroup] {
        var groups: [String: OwnerGroup] = [:]
        for client in clients {
            let key = client.owner.map { "\($0.source.rawValue)\u{0}\($0.name)" } ?? ""
            var group =
                groups[key]
                ?? OwnerGroup(
                    owner: client.owner?.name ?? "(unknown)",
                    source: client.owner?.source,
                    addresses: 0,
                    requests: 0,
                    blocked: 0,
                    served: 0,
                    lastSeen: client.lastSeen,
                    sample: []
                )
            group.addresses += 1
            group.requests += client.requests
            group.blocked += client.blocked
            group.served += client.served
            group.lastSeen = max(group.lastSeen, client.lastSeen)
            if group.sample.count < 5 { group.sample.append(client.address) }
            groups[key] = group
        }
        return groups.values.sorted {
            $0.requests != $1.requests ? $0.requests > $1.requests : $0.owner < $1.owner
        }
    }
}

/// Direct traffic of one owner (`clients --by owner`).
public struct OwnerGroup: Sendable, Equatable, Codable {
    /// The owner's name, or `(unknown)`.
    public var owner: String
    /// Where the name came from; absent for `(unknown)`.
    public var source: OwnerSource?
    /// Distinct direct addresses.
    public var addresses: Int
    /// Direct requests.
    public var requests: Int
    /// Of which blocked.
    public var blocked: Int
    /// Of which served.
    public var served: Int
    /// The last direct request of any of its addresses.
    public var lastSeen: String
    /// The busiest addresses, at most five.
    public var sample: [String]

    enum CodingKeys: String, CodingKey {
        case owner, source, addresses, requests, blocked, served
        case lastSeen = "last_seen"
        case sample = "sample_addresses"
    }

    /// Groups in an output format.
    ///
    /// - Parameters:
    ///   - groups: The groups.
    ///   - format: The format.
    ///   - notes: Lines under the table.
    /// - Returns: The text.
    /// - Throws: Encoding errors.
    public static func render(_ groups: [OwnerGroup], format: OutputFormat, notes: [String]) throws -> String {
        try QueryRendering.list(
            groups,
            format: format,
            footer: notes.isEmpty ? nil : notes.map(SafeText.terminal).joined(separator: "\n")
        ) {
            TextTable(
                columns: [
                    "owner", "source", "addresses", "requests", "blocked", "served", "last_seen", "addresses_sample",
                ],
                rows: groups.map { group in
                    [
                        group.owner, group.source?.rawValue ?? "", String(group.addresses), String(group.requests),
                        String(group.blocked), String(group.served), group.lastSeen,
                        group.sample.joined(separator: " "),
                    ]
                },
                numericColumns: [2, 3, 4, 5]
            )
        }
    }
}

extension TopResult {
    /// The same ranking with owners attached (issue 24), once per listed address.
    ///
    /// - Parameter attribution: The compiled owner sources.
    /// - Returns: The attributed ranking.
    public func attributed(_ attribution: OwnerAttribution) -> TopResult {
        var copy = self
        for index in copy.entries.indices {
            copy.entries[index].owner = attribution.owner(of: copy.entries[index].address)
        }
        return copy
    }
}

extension AddressReport {
    /// The same report with the address's owner and what it means (issue 24).
    ///
    /// - Parameters:
    ///   - attribution: The compiled owner sources.
    ///   - store: The store, to match the address against the gateway's own logs.
    /// - Returns: The attributed report.
    /// - Throws: Database errors.
    public func attributed(_ attribution: OwnerAttribution, store: Store) throws -> AddressReport {
        var copy = self
        guard let owner = attribution.owner(of: address) else { return copy }
        copy.owner = owner
        copy.findings = try store.query { db in try owner.finding(for: address, db: db) }.map { [$0] }
        return copy
    }
}

extension Owner {
    /// What the owner of a direct caller means, with another API Management instance checked
    /// against the gateway's own logs (ever) to tell your own second gateway from another tenant's.
    ///
    /// - Parameters:
    ///   - address: The caller.
    ///   - db: The store's database.
    /// - Returns: The finding, or `nil`.
    /// - Throws: Database errors.
    func finding(for address: String, db: any SQLDatabase) throws -> String? {
        let seen =
            tagFamily?.lowercased() == "apimanagement"
            ? try GatewayDrift.matchesGatewayLogs(db, address: address, from: "0000", to: "9999") : false
        return finding(seenInGatewayLogs: seen)
    }
}

extension OwnerAttribution {
    /// Lint-style notes for `whatif` and `readiness` (issue 24): what the owners of some direct
    /// callers mean (`OWNER_API_MANAGEMENT`, `OWNER_FRONT_DOOR`, `OWNER_AZURE`, info), and gateway
    /// drift (`GATEWAY_DRIFT`, warning).
    ///
    /// - Parameters:
    ///   - addresses: The callers.
    ///   - store: The store.
    /// - Returns: The notes, drift first.
    /// - Throws: Database errors.
    public func notes(for addresses: [String], store: Store) throws -> [LintFinding] {
        let location = SourceLocation(file: serviceTagsPath ?? "(owners)")
        return try store.query { db in
            var notes = try GatewayDrift.detect(db, attribution: self).map {
                LintFinding(severity: .warning, code: "GATEWAY_DRIFT", location: location, message: $0.message)
            }
            for address in Set(addresses).sorted(by: byteOrder) {
                guard let owner = owner(of: address), let finding = try owner.finding(for: address, db: db) else {
                    continue
                }
                let code =
                    switch owner.tagFamily?.lowercased() {
                    case "apimanagement": "OWNER_API_MANAGEMENT"
                    case "azurefrontdoor": "OWNER_FRONT_DOOR"
                    default: "OWNER_AZURE"
                    }
                notes.append(
                    LintFinding(severity: .info, code: code, location: location, message: "\(address): \(finding)")
                )
            }
            return notes
        }
    }
}

extension WhatIfResult {
    /// The same result with owners on its entries and owner notes among its findings (issue 24).
    ///
    /// - Parameters:
    ///   - attribution: The compiled owner sources.
    ///   - store: The store.
    /// - Returns: The attributed result.
    /// - Throws: Database errors.
    public func attributed(_ attribution: OwnerAttribution, store: Store) throws -> WhatIfResult {
        func owned(_ entries: [WhatIfEntry]) -> [WhatIfEntry] {
            entries.map { entry in
                var entry = entry
                entry.owner = attribution.owner(of: entry.address)
                return entry
            }
        }
        var copy = self
        (copy.newlyBlocked, copy.unenforced, copy.newlyAllowed) = (
            owned(newlyBlocked), owned(unenforced), owned(newlyAllowed)
        )
        copy.findings += try attribution.notes(for: (newlyBlocked + unenforced).map(\.address), store: store)
        return copy
    }
}

extension ReadinessResult {
    /// The same result with owners on its blockers and owner notes (issue 24).
    ///
    /// - Parameters:
    ///   - attribution: The compiled owner sources.
    ///   - store: The store.
    /// - Returns: The attributed result.
    /// - Throws: Database errors.
    public func attributed(_ attribution: OwnerAttribution, store: Store) throws -> ReadinessResult {
        var copy = self
        for index in copy.blocking.indices {
            copy.blocking[index].owner = attribution.owner(of: copy.blocking[index].address)
        }
        copy.findings = try attribution.notes(for: blocking.map(\.address), store: store)
        return copy
    }
}
