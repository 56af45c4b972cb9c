/// When enforcement of the allowlist began on a site.
public struct WhatIfEnforcement: Sendable, Equatable, Codable {
    /// The site (`s-sitename`; empty when not logged).
    public var site: String
    /// The first logged denial with the proposed policy's status.
    public var since: String
}

extension WhatIfQuery {
    /// The current classification groups the comparison needs.
    private enum Group: Hashable {
        case newlyBlocked(Verdict)
        case unenforced, newlyAllowed, platformDenied
    }

    /// The evaluation, on one read transaction: ``Rejudgement`` (the computation `reclassify`
    /// runs) into a scratch judgement, compared per key with the stored one.
    func run(_ db: any SQLDatabase, path: String) throws -> WhatIfResult {
        let rejudged = try Rejudgement.judge(db, declaration: declaration, keepAll: true, lenient: true)
        let keys = rejudged.judgements

        // When enforcement began per site: the first request, in all history, that the proposal
        // judges denied and that the log shows refused.
        var enforcement: [String: String] = [:]
        try db.forEachRow("SELECT key_id, site, MIN(first_seen) FROM hourly_facts GROUP BY key_id, site", []) { row in
            let id: Int64 = row[0]
            guard let judged = keys[id], judged.new.verdict == .direct, judged.new.outcome == .blocked else { return }
            let site: String = row[1]
            let first: String = row[2]
            if let known = enforcement[site], known <= first { return }
            enforcement[site] = first
        }

        let conditions = try QueryFilter(range: range).hourlyConditions(db)
        var tallies: [String: [Group: (tally: Tally, judgement: Judgement)]] = [:]
        var history: [String: Int] = [:]
        var moves: [String: (move: JudgementMove, addresses: Set<String>)] = [:]
        var first = ""
        var last = ""
        try db.forEachRow(
            """
            SELECT key_id, site, SUM(requests), MIN(first_seen), MAX(last_seen) FROM hourly_facts
            \(conditions.whereClause) GROUP BY key_id, site
            """,
            conditions.values
        ) { row in
            let id: Int64 = row[0]
            let site: String = row[1]
            let requests: Int = row[2]
            let firstSeen: String = row[3]
            let lastSeen: String = row[4]
            if first.isEmpty || firstSeen < first { first = firstSeen }
            if lastSeen > last { last = lastSeen }
            guard let (address, old, new) = keys[id] else { return }
            if old.verdict != new.verdict || old.outcome != new.outcome {
                let name =
                    "\(old.verdict.rawValue)|\(old.outcome.rawValue)|\(new.verdict.rawValue)|\(new.outcome.rawValue)"
                var entry =
                    moves[name]
                    ?? (
                        JudgementMove(
                            fromVerdict: old.verdict.rawValue,
                            fromOutcome: old.outcome.rawValue,
                            toVerdict: new.verdict.rawValue,
                            toOutcome: new.outcome.rawValue,
                            addresses: 0,
                            requests: 0
                        ),
                        []
                    )
                entry.move.requests += requests
                entry.addresses.insert(address)
                moves[name] = entry
            }
            let group: Group
            switch (old.verdict, new.verdict) {
            case (.gateway, .direct), (.allowed, .direct), (.unjudged, .direct):
                // Refused today already (the log shows the denial): nothing breaks.
                guard new.outcome != .blocked else { return }
                group = .newlyBlocked(old.verdict)
            case (.direct, .allowed), (.direct, .gateway):
                group = .newlyAllowed
            case (.direct, .direct):
                guard old.outcome == .served, new.outcome == .served else { return }
                // Served before the allowlist was enforced on the site: history, not a break.
                if !includeHistory, let since = enforcement[site], lastSeen < since {
                    history[address, default: 0] += requests
                    return
                }
                group = .unenforced
            case (_, .platform) where new.outcome != .none:
                group = .platformDenied
            default:
                return
            }
            tallies[address, default: [:]][group, default: (Tally(), new)].tally.add(
                requests: requests,
                blocked: group == .platformDenied ? new.outcome == .blocked : old.outcome == .blocked,
                first: firstSeen,
                last: lastSeen
            )
        }
        guard !first.isEmpty else { throw LockdownError.noData(path: path, window: windowText(range)) }

        var newlyBlocked: [WhatIfEntry] = []
        var unenforced: [WhatIfEntry] = []
        var newlyAllowed: [WhatIfEntry] = []
        var platform: [(address: String, tally: Tally, judgement: Judgement)] = []
        for (address, groups) in tallies {
            func entry(_ current: Verdict, _ tally: Tally, _ proposal: Judgement) -> WhatIfEntry {
                WhatIfEntry(
                    address: address,
                    current: current.rawValue,
                    requests: tally.requests,
                    blocked: tally.blocked,
                    firstSeen: tally.first,
                    lastSeen: tally.last,
                    proposed: proposal.decision.rawValue,
                    rule: proposal.rule,
                    status: proposal.status,
                    endpoints: [],
                    userAgents: []
                )
            }
            for (group, (tally, proposal)) in groups {
                switch group {
                case .newlyBlocked(let current): newlyBlocked.append(entry(current, tally, proposal))
                case .unenforced: unenforced.append(entry(.direct, tally, proposal))
                case .newlyAllowed: newlyAllowed.append(entry(.direct, tally, proposal))
                case .platformDenied: platform.append((address, tally, proposal))
                }
            }
        }

        let filter = QueryFilter(range: range)
        let lookup = try InventoryLookup(db, filter: filter, perAddress: valuesPerAddress)
        func withValues(_ entries: [WhatIfEntry]) throws -> [WhatIfEntry] {
            let values = try lookup.values(for: entries.map(\.address))
            return Self.sorted(entries).map { entry in
                var entry = entry
                entry.endpoints = values.endpoints[entry.address] ?? []
                entry.userAgents = values.userAgents[entry.address] ?? []
                return entry
            }
        }
        let platformValues = try InventoryLookup(db, filter: filter, perAddress: 0)
            .values(for: platform.map(\.address))
        var platformBroken: [WhatIfPlatformEntry] = platform.map { item in
            let userAgents = platformValues.userAgents[item.address] ?? []
            return WhatIfPlatformEntry(
                address: item.address,
                kinds: Self.platformKinds(address: item.address, userAgents: userAgents),
                requests: item.tally.requests,
                blocked: item.tally.blocked,
                lastSeen: item.tally.last,
                rule: item.judgement.rule,
                status: item.judgement.status,
                userAgents: userAgents
            )
        }
        platformBroken.sort {
            $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.address, $1.address)
        }

        let current = try PolicyRegistry.current(db)
        var result = WhatIfResult(
            policySource: proposed.source,
            gateways: proposed.gateways.ranges.map(Self.rangeText),
            first: first,
            last: last,
            newlyBlocked: try withValues(newlyBlocked),
            unenforced: try withValues(unenforced),
            newlyAllowed: try withValues(newlyAllowed),
            platformBroken: platformBroken,
            gatewaysDenied: gatewayDenials(),
            findings: proposed.lint(),
            notes: []
        )
        result.currentPolicy = current
        result.unchanged = current?.fingerprint == declaration.fingerprint
        result.enforcement = enforcement.map { WhatIfEnforcement(site: $0.key, since: $0.value) }
            .sorted { byteOrder($0.site, $1.site) }
        result.history = WhatIfTotal(addresses: history.count, requests: history.values.reduce(0, +))
        result.moves = moves.values.map { entry in
            var move = entry.move
            move.addresses = entry.addresses.count
            return move
        }
        .sorted {
            if $0.requests != $1.requests { return $0.requests > $1.requests }
            return ($0.fromVerdict, $0.fromOutcome, $0.toVerdict, $0.toOutcome)
                < ($1.fromVerdict, $1.fromOutcome, $1.toVerdict, $1.toOutcome)
        }
        result.notes = notes(for: result)
        if let note = rejudged.note { result.notes.insert(note, at: 0) }
        if !result.enforcement.isEmpty, !includeHistory {
            result.notes.insert(
                "direct requests served before enforcement began on their site (\(result.enforcement.map { "\($0.site.isEmpty ? "-" : $0.site) since \($0.since)" }.joined(separator: ", "))) are history, "
                    + "not breaks: \(result.history.requests) request(s) from \(result.history.addresses) address(es); "
                    + "--include-history judges them too",
                at: 0
            )
        }
        return result
    }
}
