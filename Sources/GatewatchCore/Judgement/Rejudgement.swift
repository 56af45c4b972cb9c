import Foundation
import GRDB

/// Why stored history cannot be judged under a policy without reading the logs again.
public enum RejudgementError: Error, CustomStringConvertible, Sendable {
    /// The policy needs a request fact the store does not keep.
    case needsReingest(String)
    /// The store holds no judged history.
    case empty(path: String)

    public var description: String {
        switch self {
        case .needsReingest(let why):
            "this policy needs a re-ingest: \(why); ingest the logs into a new store (or use 'ingest --reingest') "
                + "under it"
        case .empty(let path): "'\(path)' holds no ingested requests: nothing to judge"
        }
    }
}

/// One key whose judgement a policy changes.
struct KeyChange: Sendable {
    var id: Int64
    var address: String
    var old: Judgement
    var new: Judgement
    /// The key's stored requests (`judgements.requests`).
    var requests: Int

    /// Whether `verdict` or `outcome` move; the rule alone may change too (a renumbered entry).
    var moves: Bool { old.verdict != new.verdict || old.outcome != new.outcome }
}

/// The stored keys judged under a policy: what `reclassify` writes and `whatif` compares.
///
/// ``judge(_:declaration:)`` is the one computation both run, so a what-if and the reclassify that
/// follows cannot disagree.
struct Rejudgement: Sendable {
    /// Keys whose judgement changes (the rule text included).
    var changes: [KeyChange]
    /// Keys judged.
    var keys: Int
    /// Legacy keys of gateway traffic (platform class unknown) that the policy no longer treats as
    /// gateway traffic.
    var legacyGatewayKeys: Int
    /// What a lenient judgement (what-if) could not judge exactly.
    var note: String?

    /// The keys' columns as ``judge(_:declaration:)`` reads them.
    static let keyColumns =
        "key_id, address, invalid, status, substatus, platform, bypass, iis_version, fdid, health_probe, "
        + "forwarded_host, host, forwarded_for, scope, kept, verdict, outcome, rule, requests"

    /// Refuses a policy that reads facts the stored keys lack; `lenient` (what-if) judges such keys
    /// as requests without those facts instead, and returns the note that says so.
    @discardableResult
    static func checkFacts(
        _ db: any SQLDatabase,
        declaration: PolicyDeclaration,
        lenient: Bool = false
    ) throws
        -> String?
    {
        do {
            try checkFacts(db, declaration: declaration)
            return nil
        } catch RejudgementError.needsReingest(let why) where lenient {
            return "the proposed policy \(why.replacingOccurrences(of: "it reads", with: "reads")): those requests "
                + "were judged as requests without them; 'reclassify' refuses such a policy (it needs a re-ingest)"
        }
    }

    private static func checkFacts(_ db: any SQLDatabase, declaration: PolicyDeclaration) throws {
        let needed = FactCoverage.needed(by: declaration.policy)
        if !needed.isEmpty {
            let missing =
                try db.value(
                    Int.self,
                    "SELECT COUNT(*) FROM judgements WHERE (kept & ?) <> ?",
                    [needed.rawValue, needed.rawValue]
                ) ?? 0
            if missing > 0 {
                throw RejudgementError.needsReingest(
                    "it reads \(needed.names.joined(separator: " and ")), which the store does not keep for "
                        + "\(missing) of its judgement keys (requests ingested under a policy that does not read them)"
                )
            }
        }
        if needed.contains(.scope) {
            let recorded = try StoreMeta.value(db, "facts_scopes") ?? ""
            let scopes = declaration.scopes.joined(separator: " ")
            if recorded != scopes {
                throw RejudgementError.needsReingest(
                    "its <location> scopes (\(scopes)) are not those the stored URL paths were cut by "
                        + "(\(recorded.isEmpty ? "none" : recorded))"
                )
            }
        }
        if let rules = try StoreMeta.value(db, "facts_platform_rules"), rules != declaration.platformFingerprint {
            throw RejudgementError.needsReingest(
                "its platform rules (\(declaration.platformText)) are not those the stored platform class was "
                    + "read with (\(try StoreMeta.value(db, "facts_platform_text") ?? "other rules")): the store "
                    + "keeps whether a request matched them, not every user agent"
            )
        }
    }

    /// Judges every stored key under `declaration`.
    ///
    /// O(keys), one policy evaluation per distinct address for an address-only policy.
    static func judge(_ db: any SQLDatabase, declaration: PolicyDeclaration) throws -> Rejudgement {
        var changes: [KeyChange] = []
        var keys = 0
        var legacyGateway = 0
        let note = try forEachStoredKey(db, declaration: declaration, lenient: false) { id, key, old, new, requests in
            keys += 1
            if key.facts.kept.contains(.legacy), old.verdict == .gateway, new.verdict != .gateway {
                legacyGateway += 1
            }
            if new.differs(from: old) {
                changes.append(KeyChange(id: id, address: key.address, old: old, new: new, requests: requests))
            }
        }
        return Rejudgement(
            changes: changes,
            keys: keys,
            legacyGatewayKeys: legacyGateway,
            note: note
        )
    }

    /// Judges every stored key under `declaration` and hands each to `body` (id, key, stored and
    /// new judgement) as it is read, so that a what-if over millions of keys holds none of them
    /// (issue 23).
    ///
    /// - Parameters:
    ///   - db: The store's database.
    ///   - declaration: The policy.
    ///   - lenient: Judge keys that lack facts the policy reads as requests without them (what-if)
    ///     instead of refusing.
    ///   - body: Called with each key.
    /// - Returns: The lenient judgement's note, if any.
    /// - Throws: ``RejudgementError/needsReingest(_:)`` (not lenient), database errors, what `body`
    ///   throws.
    @discardableResult
    static func forEachKey(
        _ db: any SQLDatabase,
        declaration: PolicyDeclaration,
        lenient: Bool = false,
        _ body: (Int64, JudgementKey, Judgement, Judgement) throws -> Void
    ) throws -> String? {
        try forEachStoredKey(db, declaration: declaration, lenient: lenient) { id, key, old, new, _ in
            try body(id, key, old, new)
        }
    }

    /// ``forEachKey(_:declaration:lenient:_:)`` with each key's stored requests.
    private static func forEachStoredKey(
        _ db: any SQLDatabase,
        declaration: PolicyDeclaration,
        lenient: Bool,
        _ body: (Int64, JudgementKey, Judgement, Judgement, Int) throws -> Void
    ) throws -> String? {
        let note = try checkFacts(db, declaration: declaration, lenient: lenient)
        var judge = Judge(declaration)
        try db.forEachRow("SELECT \(keyColumns) FROM judgements", []) { row in
            let (id, key, old, requests) = Self.read(row)
            try body(id, key, old, judge.judge(key), requests)
        }
        return note
    }

    /// A key row: its id, key, current judgement and requests.
    static func read(_ row: SQLRow) -> (Int64, JudgementKey, Judgement, Int) {
        func text(_ index: Int) -> String? { row.optional(String.self, at: index) }
        var facts = JudgementFacts()
        facts.platform = (row.optional(Int64.self, at: 5) ?? 0) != 0
        facts.bypass = (row.optional(Int64.self, at: 6) ?? 0) != 0
        facts.iisVersion = row.optional(Int64.self, at: 7).map { Int($0) }
        facts.fdid = text(8)
        facts.healthProbe = text(9)
        facts.forwardedHost = text(10)
        facts.host = text(11)
        facts.forwardedFor = text(12)
        facts.scope = text(13)
        facts.kept = FactCoverage(rawValue: Int(row.optional(Int64.self, at: 14) ?? 0))
        let key = JudgementKey(
            address: text(1) ?? "",
            invalid: row.optional(Int64.self, at: 2).map { $0 != 0 },
            status: Int32(clamping: row.optional(Int64.self, at: 3) ?? 0),
            substatus: Int32(clamping: row.optional(Int64.self, at: 4) ?? 0),
            facts: facts
        )
        let judgement = Judgement(
            verdict: Verdict(rawValue: text(15) ?? "") ?? .unjudged,
            outcome: Outcome(rawValue: text(16) ?? "") ?? .none,
            rule: text(17) ?? ""
        )
        return (row.optional(Int64.self, at: 0) ?? 0, key, judgement, Int(row.optional(Int64.self, at: 18) ?? 0))
    }

    /// Writes `changes` into a temporary table `table(key_id, verdict, outcome, rule)`, created
    /// empty first (dropped at commit on PostgreSQL).
    static func stage(
        _ changes: [KeyChange],
        into table: String,
        _ db: any SQLDatabase
    ) throws {
        let integer = db.dialect == .postgres ? "BIGINT" : "INTEGER"
        try db.execute("DROP TABLE IF EXISTS \(table)", [])
        try db.execute(
            """
            CREATE TEMP TABLE \(table) (key_id \(integer) PRIMARY KEY, verdict TEXT NOT NULL, outcome TEXT NOT NULL,
                rule TEXT NOT NULL)
            """,
            []
        )
        try db.appendRows(
            table,
            columns: ["key_id", "verdict", "outcome", "rule"],
            count: changes.count
        ) { row, column in
            let change = changes[row]
            switch column {
            case 0: return .integer(change.id)
            case 1: return .text(change.new.verdict.rawValue)
            case 2: return .text(change.new.outcome.rawValue)
            default: return .text(change.new.rule)
            }
        }
    }
}

/// The `meta` table's values.
enum StoreMeta {
    static func value(_ db: any SQLDatabase, _ key: String) throws -> String? {
        try db.value(String.self, "SELECT value FROM meta WHERE key = ?", [key])
    }

    static func set(_ db: any SQLDatabase, _ key: String, _ value: String) throws {
        try db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value]
        )
    }
}
