import GRDB

/// Requests that a re-judgement moves from one verdict and outcome to another.
public struct JudgementMove: Sendable, Equatable, Codable {
    /// The verdict before.
    public var fromVerdict: String
    /// The outcome before (empty for none).
    public var fromOutcome: String
    /// The verdict after.
    public var toVerdict: String
    /// The outcome after.
    public var toOutcome: String
    /// Distinct addresses.
    public var addresses: Int
    /// Requests.
    public var requests: Int

    enum CodingKeys: String, CodingKey {
        case fromVerdict = "from_verdict"
        case fromOutcome = "from_outcome"
        case toVerdict = "to_verdict"
        case toOutcome = "to_outcome"
        case addresses, requests
    }

    /// `direct/served → allowed`.
    public var text: String {
        func name(_ verdict: String, _ outcome: String) -> String {
            outcome.isEmpty ? verdict : "\(verdict)/\(outcome)"
        }
        return "\(name(fromVerdict, fromOutcome)) → \(name(toVerdict, toOutcome))"
    }
}

/// What `reclassify` did.
public struct ReclassifyResult: Sendable, Equatable, Codable {
    /// The policy the verdicts were under.
    public var previous: PolicyRecord?
    /// The policy they are under now.
    public var current: PolicyRecord
    /// Judgement keys judged.
    public var keys: Int
    /// Keys whose verdict, outcome or rule changed.
    public var changedKeys: Int
    /// Requests moved, per move.
    public var moves: [JudgementMove]
    /// What the store cannot follow without a re-ingest.
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case previous, current, keys
        case changedKeys = "changed_keys"
        case moves, notes
    }
}

/// Re-judges the whole store under a declared policy, in one transaction.
///
/// Time is proportional to the distinct judgement keys: `hourly` is a view that reads each row's
/// verdict from `judgements`, whose per-key requests count what moved (no read of the hourly
/// facts), and `evidence` rows of keys that changed are rewritten. No alert is fired for history.
public struct Reclassifier: Sendable {
    /// The policy to judge under.
    public var declaration: PolicyDeclaration

    /// Creates the operation.
    public init(declaration: PolicyDeclaration) { self.declaration = declaration }

    /// Runs it.
    ///
    /// - Parameter store: The store (SQLite or PostgreSQL).
    /// - Returns: What moved.
    /// - Throws: ``RejudgementError`` when the policy needs facts the store does not keep.
    public func run(store: Store) throws -> ReclassifyResult {
        try store.write { db in
            if db.dialect == .postgres {
                // One re-judgement at a time, and no ingest writing keys meanwhile.
                try db.execute("LOCK TABLE judgements IN EXCLUSIVE MODE", [])
            }
            return try run(db)
        }
    }

    func run(_ db: any SQLDatabase) throws -> ReclassifyResult {
        let previous = try PolicyRegistry.current(db)
        let rejudged = try Rejudgement.judge(db, declaration: declaration)
        let moves = Self.moves(of: rejudged.changes)
        try Rejudgement.stage(rejudged.changes, into: "changed_keys", db)
        // The staged keys drive the join, in key order (SQLite would otherwise walk `judgements` by
        // its address index and seek each row: about a third more time).
        try db.execute(
            """
            UPDATE judgements SET verdict = c.verdict, outcome = c.outcome, rule = c.rule
            FROM (SELECT key_id, verdict, outcome, rule FROM changed_keys ORDER BY key_id) AS c
            WHERE judgements.key_id = c.key_id
            """,
            []
        )
        // `hourly` and `evidence` read the verdict of their key from `judgements`.
        // Inventory's direct counts have no key: an address with no direct key left has none
        // (a changed key that is not direct now, of an address with direct counts, was direct).
        try db.execute(
            """
            UPDATE inventory SET direct = 0, served = 0, blocked = 0
            WHERE direct > 0 AND address IN (
                SELECT j.address FROM changed_keys c JOIN judgements j ON j.key_id = c.key_id
                WHERE c.verdict <> 'direct')
                AND address NOT IN (SELECT address FROM judgements WHERE verdict = 'direct')
            """,
            []
        )
        let notes = try Self.notes(db, rejudged: rejudged, moves: moves)
        if rejudged.changes.contains(where: \.moves), try StoreMeta.value(db, "latency_policy") == nil,
            let previous
        {
            // The latency histograms keep the verdict they were split by at ingest.
            try StoreMeta.set(db, "latency_policy", previous.fingerprint)
        }
        try db.execute("DROP TABLE changed_keys", [])
        try PolicyRegistry.declare(db, declaration)
        // Every backend file's verdicts are now under this policy: a later ingest of the same file
        // under it has nothing to warn about.
        try db.execute(
            "UPDATE files SET policy_fingerprint = ?, policy_source = ? WHERE format = 'w3c'",
            [declaration.fingerprint, declaration.source]
        )
        guard let current = try PolicyRegistry.current(db) else {
            throw SQLError(message: "the policy was not recorded", code: "XX000", sql: "INSERT INTO policies")
        }
        return ReclassifyResult(
            previous: previous,
            current: current,
            keys: rejudged.keys,
            changedKeys: rejudged.changes.count,
            moves: moves,
            notes: notes
        )
    }

    /// Requests and addresses per move (from/to verdict and outcome) of `changes`.
    ///
    /// From each key's stored requests (`judgements.requests`, the sum of its hourly facts): no
    /// read of the facts themselves. A move counts the addresses of its keys that hold requests.
    static func moves(of changes: [KeyChange]) -> [JudgementMove] {
        var moves: [JudgementMove] = []
        var addresses: [Set<String>] = []
        var index: [String: Int] = [:]
        for change in changes where change.moves && change.requests > 0 {
            let name =
                "\(change.old.verdict.rawValue)|\(change.old.outcome.rawValue)|\(change.new.verdict.rawValue)|"
                + change.new.outcome.rawValue
            let kind: Int
            if let known = index[name] {
                kind = known
            } else {
                kind = moves.count
                index[name] = kind
                moves.append(
                    JudgementMove(
                        fromVerdict: change.old.verdict.rawValue,
                        fromOutcome: change.old.outcome.rawValue,
                        toVerdict: change.new.verdict.rawValue,
                        toOutcome: change.new.outcome.rawValue,
                        addresses: 0,
                        requests: 0
                    )
                )
                addresses.append([])
            }
            moves[kind].requests += change.requests
            addresses[kind].insert(change.address)
        }
        for kind in moves.indices { moves[kind].addresses = addresses[kind].count }
        // As `ORDER BY requests DESC, from_verdict, from_outcome, to_verdict, to_outcome`.
        return moves.sorted { lhs, rhs in
            if lhs.requests != rhs.requests { return lhs.requests > rhs.requests }
            return [lhs.fromVerdict, lhs.fromOutcome, lhs.toVerdict, lhs.toOutcome].lexicographicallyPrecedes(
                [rhs.fromVerdict, rhs.fromOutcome, rhs.toVerdict, rhs.toOutcome]
            )
        }
    }

    /// What the re-judged store cannot show without reading the logs again.
    static func notes(_ db: any SQLDatabase, rejudged: Rejudgement, moves: [JudgementMove]) throws -> [String] {
        var notes: [String] = []
        let newlyDirect = Set(
            rejudged.changes.filter { $0.new.verdict == .direct && $0.old.verdict != .direct }
                .map(\.address)
        )
        if !newlyDirect.isEmpty {
            notes.append(
                "evidence (sample requests) and the report's direct endpoints and user agents are recorded at ingest "
                    + "for direct requests only: the \(newlyDirect.count) address(es) that became direct have none until "
                    + "their logs are ingested again (--reingest)"
            )
        }
        let leftGateway = Set(
            rejudged.changes.filter { $0.old.verdict == .gateway && $0.new.verdict != .gateway }
                .map(\.address)
        )
        if !leftGateway.isEmpty {
            notes.append(
                "endpoint and user-agent inventories are recorded at ingest for non-gateway traffic only: the "
                    + "\(leftGateway.count) address(es) no longer declared gateways have none until their logs are "
                    + "ingested again (--reingest)"
            )
        }
        if rejudged.legacyGatewayKeys > 0 {
            notes.append(
                "\(rejudged.legacyGatewayKeys) judgement key(s) of gateway traffic come from a store made before facts "
                    + "were kept (schema v4-facts): their platform class is unknown and was taken as not platform"
            )
        }
        if rejudged.changes.contains(where: \.moves) {
            notes.append(
                "latency histograms ('statuses --verdict') keep the verdict split of their ingest; after this "
                    + "reclassify they are reported with that caveat"
            )
        }
        return notes
    }
}
