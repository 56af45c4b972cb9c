import Foundation
import GRDB

/// When enforcement of the allowlist began on a site.
public struct WhatIfEnforcement: Sendable, Equatable, Codable {
    /// The site (`s-sitename`; empty when not logged).
    public var site: String
    /// The first logged denial with the proposed policy's status.
    public var since: String
}

/// What one pass of a what-if leaves: the result without its three lists (their counts in
/// ``WhatIfResult/counts``), and the lists' rendered entries in a scratch file.
struct WhatIfPass {
    /// The entries of each list, rendered, to be read back busiest first.
    var scratch: ScratchRows
    /// Everything else.
    var result: WhatIfResult
    /// Newly blocked or unenforced addresses that have an owner, for the owner notes.
    var ownedAddresses: [String]
}

extension WhatIfQuery {
    /// Where a (key, site) group of the history goes.
    private enum Group: Int {
        case newlyBlocked = 0
        case unenforced, newlyAllowed, platformDenied
    }

    /// A judged key as the scratch file keeps it.
    private struct JudgedKey {
        var id: Int64
        var address: String
        var old: (verdict: Verdict, outcome: Outcome)
        var new: (verdict: Verdict, outcome: Outcome)
        var decision: String
        var rule: String
        var status: String?

        init(_ row: Row) {
            id = row[0]
            address = row[1]
            old = (Verdict(rawValue: row[2] as String) ?? .unjudged, Outcome(rawValue: row[3] as String) ?? .none)
            new = (Verdict(rawValue: row[4] as String) ?? .unjudged, Outcome(rawValue: row[5] as String) ?? .none)
            decision = row[6]
            rule = row[7]
            status = row[8]
        }
    }

    /// The scratch judgement read in key order beside a store statement in key order (a merge
    /// join: the store's connection reads one statement at a time on PostgreSQL).
    private struct KeyCursor {
        let cursor: RowCursor
        var current: JudgedKey?

        init(_ scratch: Database) throws {
            cursor = try Row.fetchCursor(
                scratch,
                sql:
                    "SELECT key_id, address, old_verdict, old_outcome, new_verdict, new_outcome, decision, rule, status "
                    + "FROM keys ORDER BY key_id"
            )
            current = try cursor.next().map(JudgedKey.init)
        }

        /// The judged key `id`, or `nil` when the judgement holds none.
        mutating func seek(_ id: Int64) throws -> JudgedKey? {
            while let key = current, key.id < id { current = try cursor.next().map(JudgedKey.init) }
            return current?.id == id ? current : nil
        }
    }

    /// The evaluation, in bounded memory (issue 23): ``Rejudgement`` (the computation `reclassify`
    /// runs) into a scratch judgement, compared per key with the stored one, on one read
    /// transaction of the store.
    ///
    /// Every per-key and per-address state goes to a scratch SQLite file: the judged keys, the
    /// (key, site) groups of the window by address, the moves; the store's history and
    /// inventories are read in key or address order beside them, and each affected address's
    /// entry is rendered in `format` (``entryText(_:list:format:)``) into ``ScratchRows``.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - owner: Names each entry's owner (owner attribution), or `nil`.
    ///   - format: The format the entries are rendered in.
    /// - Returns: The pass.
    /// - Throws: ``LockdownError/noData(path:window:)`` when the window holds no request, database
    ///   errors otherwise.
    func pass(store: Store, owner: ((String) -> Owner?)?, format: OutputFormat) throws -> WhatIfPass {
        let scratch = try ScratchRows()
        var result = WhatIfResult(
            policySource: proposed.source,
            gateways: proposed.gateways.ranges.map(Self.rangeText),
            first: "",
            last: "",
            newlyBlocked: [],
            unenforced: [],
            newlyAllowed: [],
            platformBroken: [],
            gatewaysDenied: gatewayDenials(),
            findings: proposed.lint(),
            notes: []
        )
        var owned: [String] = []
        var note: String?
        try scratch.write { scratchDB, insert in
            try store.query { db in
                note = try judgeKeys(db, scratch: scratchDB)
                let enforcement = try enforcementStarts(db, scratch: scratchDB)
                result.enforcement = enforcement.map { WhatIfEnforcement(site: $0.key, since: $0.value) }
                    .sorted { byteOrder($0.site, $1.site) }
                (result.first, result.last) = try groupHistory(db, scratch: scratchDB, enforcement: enforcement)
                guard !result.first.isEmpty else {
                    throw LockdownError.noData(path: store.path, window: windowText(range))
                }
                result.platformBroken = try renderEntries(db, scratch: scratchDB, owner: owner, format: format) {
                    list,
                    entry,
                    text in
                    try insert(list.rawValue, entry.requests, entry.address, entry.current, text)
                    if entry.owner != nil, list != .newlyAllowed { owned.append(entry.address) }
                }
                result.currentPolicy = try PolicyRegistry.current(db)
            }
            (result.history, result.moves) = try historyAndMoves(scratchDB)
        }
        result.counts = try scratch.read { db in
            var counts = WhatIfCounts()
            for row in try Row.fetchAll(
                db,
                sql: "SELECT list, COUNT(DISTINCT address), SUM(requests), COUNT(*) FROM rows GROUP BY list"
            ) {
                let list: Int = row[0]
                counts.totals[list] = WhatIfTotal(addresses: row[1], requests: row[2])
                counts.entries[list] = row[3]
            }
            return counts
        }
        let blocksGateway = try scratch.read { db in
            try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM rows WHERE list = ? AND tie = ?)",
                arguments: [List.newlyBlocked.rawValue, Verdict.gateway.rawValue]
            ) ?? false
        }
        result.unchanged = result.currentPolicy?.fingerprint == declaration.fingerprint
        result.notes = notes(blocksGateway: blocksGateway)
        if let note { result.notes.insert(note, at: 0) }
        if !result.enforcement.isEmpty, !includeHistory {
            result.notes.insert(
                "direct requests served before enforcement began on their site (\(result.enforcement.map { "\($0.site.isEmpty ? "-" : $0.site) since \($0.since)" }.joined(separator: ", "))) are history, "
                    + "not breaks: \(result.history.requests) request(s) from \(result.history.addresses) address(es); "
                    + "--include-history judges them too",
                at: 0
            )
        }
        return WhatIfPass(scratch: scratch, result: result, ownedAddresses: owned)
    }

    /// Judges every stored key into the scratch table `keys`; returns the lenient judgement's note.
    private func judgeKeys(_ db: any SQLDatabase, scratch: Database) throws -> String? {
        try scratch.execute(
            sql: """
                CREATE TABLE keys (key_id INTEGER PRIMARY KEY, address TEXT NOT NULL, old_verdict TEXT NOT NULL,
                    old_outcome TEXT NOT NULL, new_verdict TEXT NOT NULL, new_outcome TEXT NOT NULL,
                    decision TEXT NOT NULL, rule TEXT NOT NULL, status TEXT);
                CREATE TABLE parts (address TEXT NOT NULL, grp INTEGER NOT NULL, current TEXT NOT NULL,
                    requests INTEGER NOT NULL, blocked INTEGER NOT NULL, first TEXT NOT NULL, last TEXT NOT NULL,
                    decision TEXT NOT NULL, rule TEXT NOT NULL, status TEXT);
                CREATE TABLE moves (move TEXT NOT NULL, address TEXT NOT NULL, requests INTEGER NOT NULL);
                CREATE TABLE history (address TEXT NOT NULL, requests INTEGER NOT NULL);
                """
        )
        let statement = try scratch.makeStatement(sql: "INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        return try Rejudgement.forEachKey(db, declaration: declaration, lenient: true) { id, key, old, new in
            try statement.execute(arguments: [
                id, key.address, old.verdict.rawValue, old.outcome.rawValue, new.verdict.rawValue,
                new.outcome.rawValue, new.decision.rawValue, new.rule, new.status,
            ])
        }
    }

    /// When enforcement began per site: the first request, in all history, that the proposal
    /// judges denied and that the log shows refused.
    private func enforcementStarts(_ db: any SQLDatabase, scratch: Database) throws -> [String: String] {
        var enforcement: [String: String] = [:]
        var keys = try KeyCursor(scratch)
        try db.forEachRow(
            "SELECT key_id, site, MIN(first_seen) FROM hourly_facts GROUP BY key_id, site ORDER BY key_id",
            []
        ) { row in
            guard let judged = try keys.seek(row[0]), judged.new.verdict == .direct, judged.new.outcome == .blocked
            else { return }
            let site: String = row[1]
            let first: String = row[2]
            if let known = enforcement[site], known <= first { return }
            enforcement[site] = first
        }
        return enforcement
    }

    /// The window's (key, site) groups, each into its list by address (scratch `parts`), its move
    /// (`moves`) or the history served before enforcement (`history`).
    ///
    /// - Returns: The first and last request in the window (empty when it holds none).
    private func groupHistory(
        _ db: any SQLDatabase,
        scratch: Database,
        enforcement: [String: String]
    ) throws -> (first: String, last: String) {
        let addPart = try scratch.makeStatement(sql: "INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        let addMove = try scratch.makeStatement(sql: "INSERT INTO moves VALUES (?, ?, ?)")
        let addHistory = try scratch.makeStatement(sql: "INSERT INTO history VALUES (?, ?)")
        let conditions = try QueryFilter(range: range).hourlyConditions(db)
        var keys = try KeyCursor(scratch)
        var first = ""
        var last = ""
        try db.forEachRow(
            """
            SELECT key_id, site, SUM(requests), MIN(first_seen), MAX(last_seen) FROM hourly_facts
            \(conditions.whereClause) GROUP BY key_id, site ORDER BY key_id, site
            """,
            conditions.values
        ) { row in
            let site: String = row[1]
            let requests: Int = row[2]
            let firstSeen: String = row[3]
            let lastSeen: String = row[4]
            if first.isEmpty || firstSeen < first { first = firstSeen }
            if lastSeen > last { last = lastSeen }
            guard let key = try keys.seek(row[0]) else { return }
            let (old, new) = (key.old, key.new)
            if old.verdict != new.verdict || old.outcome != new.outcome {
                let move =
                    "\(old.verdict.rawValue)|\(old.outcome.rawValue)|\(new.verdict.rawValue)|\(new.outcome.rawValue)"
                try addMove.execute(arguments: [move, key.address, requests])
            }
            let group: Group
            switch (old.verdict, new.verdict) {
            case (.gateway, .direct), (.allowed, .direct), (.unjudged, .direct):
                // Refused today already (the log shows the denial): nothing breaks.
                guard new.outcome != .blocked else { return }
                group = .newlyBlocked
            case (.direct, .allowed), (.direct, .gateway):
                group = .newlyAllowed
            case (.direct, .direct):
                guard old.outcome == .served, new.outcome == .served else { return }
                // Served before the allowlist was enforced on the site: history, not a break.
                if !includeHistory, let since = enforcement[site], lastSeen < since {
                    try addHistory.execute(arguments: [key.address, requests])
                    return
                }
                group = .unenforced
            case (_, .platform) where new.outcome != .none:
                group = .platformDenied
            default:
                return
            }
            let blocked = group == .platformDenied ? new.outcome == .blocked : old.outcome == .blocked
            try addPart.execute(arguments: [
                key.address, group.rawValue, group == .newlyBlocked ? old.verdict.rawValue : Verdict.direct.rawValue,
                requests, blocked ? requests : 0, firstSeen, lastSeen, key.decision, key.rule, key.status,
            ])
        }
        return (first, last)
    }

    /// Reads the window's groups back by address, beside the store's endpoints and user agents in
    /// address order, and hands each list entry to `emit` with its text in `format`.
    ///
    /// - Returns: The platform traffic the proposal denies (few addresses, kept whole), busiest first.
    private func renderEntries(
        _ db: any SQLDatabase,
        scratch: Database,
        owner: ((String) -> Owner?)?,
        format: OutputFormat,
        _ emit: (List, WhatIfEntry, String) throws -> Void
    ) throws -> [WhatIfPlatformEntry] {
        // Per address, group and current verdict: the sums, and the proposal of its first key
        // (in key and site order, as the groups were read).
        let groups = try Row.fetchCursor(
            scratch,
            sql: """
                SELECT g.address, g.grp, g.current, g.requests, g.blocked, g.first, g.last, p.decision, p.rule, p.status
                FROM (SELECT address, grp, current, SUM(requests) AS requests, SUM(blocked) AS blocked,
                        MIN(first) AS first, MAX(last) AS last, MIN(rowid) AS head
                    FROM parts GROUP BY address, grp, current) AS g
                JOIN parts p ON p.rowid = g.head ORDER BY g.address
                """
        )
        var pending = try groups.next()?.copy()
        var platform: [WhatIfPlatformEntry] = []
        var counts: [String: [String: Int]] = [:]  // kind → value → requests, of `valuesAddress`
        var valuesAddress: String?

        /// Renders the groups of the addresses before `address` (all when `nil`): those of
        /// `valuesAddress` with its values, the others with none.
        func flush(before address: String?) throws {
            while let row = pending {
                let rowAddress = row[0] as String
                if let address, !byteOrder(rowAddress, address) { return }
                let values = rowAddress == valuesAddress ? counts : [:]
                let group = Group(rawValue: row[1] as Int) ?? .newlyBlocked
                let requests: Int = row[3]
                let blocked: Int = row[4]
                let lastSeen: String = row[6]
                let status: String? = row[9]
                if group == .platformDenied {
                    let userAgents = InventoryLookup.ranked(values["user_agent"] ?? [:], perAddress: 0)
                    platform.append(
                        WhatIfPlatformEntry(
                            address: rowAddress,
                            kinds: Self.platformKinds(address: rowAddress, userAgents: userAgents),
                            requests: requests,
                            blocked: blocked,
                            lastSeen: lastSeen,
                            rule: row[8],
                            status: status,
                            userAgents: userAgents
                        )
                    )
                } else {
                    let list = List(rawValue: group.rawValue) ?? .newlyBlocked
                    let entry = WhatIfEntry(
                        address: rowAddress,
                        current: row[2],
                        requests: requests,
                        blocked: blocked,
                        firstSeen: row[5],
                        lastSeen: lastSeen,
                        proposed: row[7],
                        rule: row[8],
                        status: status,
                        endpoints: InventoryLookup.ranked(values["endpoint"] ?? [:], perAddress: valuesPerAddress),
                        userAgents: InventoryLookup.ranked(values["user_agent"] ?? [:], perAddress: valuesPerAddress),
                        owner: owner?(rowAddress)
                    )
                    try emit(list, entry, Self.entryText(entry, list: list, format: format))
                }
                pending = try groups.next()?.copy()
            }
        }

        let (valuesSQL, conditions) = try InventoryLookup.valuesStatement(
            db,
            filter: QueryFilter(range: range),
            nulls: 0
        )
        try db.forEachRow(valuesSQL + " ORDER BY 1", conditions) { row in
            let address: String = row[0]
            if address != valuesAddress {
                try flush(before: address)
                // Values of addresses no list names are read past without being kept.
                counts.removeAll(keepingCapacity: true)
                valuesAddress = address
            }
            guard let next = pending, (next[0] as String) == address else { return }
            let kind: String = row[2]
            counts[kind, default: [:]][row.optional(String.self, at: 3) ?? "-", default: 0] += row[4] as Int
        }
        try flush(before: nil)
        return platform.sorted {
            $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.address, $1.address)
        }
    }

    /// The history served before enforcement began, and the moves, from the scratch tables.
    private func historyAndMoves(_ scratch: Database) throws -> (WhatIfTotal, [JudgementMove]) {
        let history =
            try Row.fetchOne(scratch, sql: "SELECT COUNT(DISTINCT address), COALESCE(SUM(requests), 0) FROM history")
            .map { WhatIfTotal(addresses: $0[0], requests: $0[1]) } ?? WhatIfTotal(addresses: 0, requests: 0)
        let moves = try Row.fetchAll(
            scratch,
            sql: "SELECT move, SUM(requests), COUNT(DISTINCT address) FROM moves GROUP BY move"
        ).map { row in
            let parts = (row[0] as String).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return JudgementMove(
                fromVerdict: parts[0],
                fromOutcome: parts[1],
                toVerdict: parts[2],
                toOutcome: parts[3],
                addresses: row[2],
                requests: row[1]
            )
        }
        .sorted {
            if $0.requests != $1.requests { return $0.requests > $1.requests }
            return ($0.fromVerdict, $0.fromOutcome, $0.toVerdict, $0.toOutcome)
                < ($1.fromVerdict, $1.fromOutcome, $1.toVerdict, $1.toOutcome)
        }
        return (history, moves)
    }

    /// An entry as its format writes it: a JSON object (`json`, and `table`, which decodes it
    /// again), or a flat row (`ndjson`, `csv`).
    static func entryText(_ entry: WhatIfEntry, list: List, format: OutputFormat) -> String {
        switch format {
        case .json, .table:
            var text = ""
            JSONObjectWriter.object(entry, into: &text)
            return text
        case .ndjson, .csv:
            return flatText(WhatIfResult.FlatRow(list, entry), format: format)
        }
    }

    /// A flat row as a line of `ndjson` or `csv`.
    static func flatText(_ row: WhatIfResult.FlatRow, format: OutputFormat) -> String {
        guard format == .csv else {
            var text = ""
            JSONObjectWriter.object(row, into: &text)
            return text + "\n"
        }
        return row.cells.map(SafeText.csv).joined(separator: ",") + "\r\n"
    }
}
