import Foundation
import GRDB

/// Why alert rules could not be evaluated.
public enum AlertEvaluationError: Error, CustomStringConvertible, LocalizedError {
    /// A query or a state update failed.
    case database(path: String, message: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .database(let path, let message):
            "evaluating alert rules against '\(path)' failed: \(message); check that the database is a Gatewatch database and not locked"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// An alert recorded as fired and the sinks it is still owed to.
public struct PendingDelivery: Sendable, Equatable {
    /// The alert's row in `alerts` (0 in a dry run, which records nothing).
    public var id: Int64
    /// The alert.
    public var alert: Alert
    /// The labels (``SinkConfiguration/label``) of the sinks that have not received it.
    public var sinks: [String]

    /// The `alerts.pending` text: one label per line (labels hold no newline: a URL's host, a
    /// path or a program name as configured).
    static func encode(_ labels: [String]) -> String { labels.joined(separator: "\n") }

    static func decode(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
}

/// Evaluates alert rules against the store and records what fired.
///
/// **Windows.** Rules over requests (`served_direct`, `path_prefix`, `new_address`,
/// `platform_denied`) look at the window `(end - window, end]`, where `end` is the newest request
/// time in the store (`anchor: data`, the default, so logs replayed or shipped late alert as if
/// live) or the wall clock (`anchor: now`). Rules over the ledger (`stalled`, `malformed_ratio`)
/// always use the wall clock, since the ledger records wall-clock times. `served_direct` and
/// `new_address` count `direct_minutes` (every direct request, exact whether or not evidence is
/// sampled), so their window is whole minutes: from the minute of `end - window` to `end`'s.
///
/// **De-duplication.** Each rule fires per key (an address, a CIDR block, or `*`). A key fires
/// only when it has data newer than what it last fired for (so the same requests never alert
/// twice, however often rules are evaluated) and its cooldown has passed. `new_address` fires once
/// per address, ever; `stalled` repeats after its cooldown while the stall lasts.
///
/// **Digest.** With `digest: true` (the default) every key that fires in one evaluation goes into
/// one alert; otherwise each key is its own alert, up to `max_messages`, and the rest are folded
/// into one digest.
public struct AlertEvaluator {
    /// The PostgreSQL advisory lock key that serialises evaluations (next to the schema's keys).
    static let evaluationLock: Int64 = 0x6761_7465_7761_0010

    /// The store evaluated (and written, to record what fired).
    public let store: Store
    /// The rules.
    public let rules: AlertRuleSet
    /// Owner attribution for `gateway_drift` (the service tags that name API Management ranges).
    public var attribution: OwnerAttribution = .none

    /// Creates an evaluator.
    ///
    /// - Parameters:
    ///   - store: The store; it must be writable unless every evaluation is a dry run.
    ///   - rules: The rules.
    ///   - attribution: Owner attribution for `gateway_drift` (its service tags).
    public init(store: Store, rules: AlertRuleSet, attribution: OwnerAttribution = .none) {
        self.store = store
        self.rules = rules
        self.attribution = attribution
    }

    /// Evaluates every rule once.
    ///
    /// - Parameters:
    ///   - now: The wall-clock time, Unix seconds.
    ///   - dryRun: Do not record what fired (the same alerts fire again next time).
    /// - Returns: The alerts to send, in rule order. Each has been recorded in `alerts` and
    ///   `alert_state` unless `dryRun`.
    /// - Throws: ``AlertEvaluationError``.
    public func evaluate(now: Int64, dryRun: Bool = false) throws -> [Alert] {
        try fire(now: now, dryRun: dryRun).map(\.alert)
    }

    /// Evaluates every rule once and returns what fired with the sinks it is owed to.
    ///
    /// Unless `dryRun`, each alert is recorded as owed to every sink before it is sent
    /// (``PendingDelivery``): a delivery that fails, or a process that dies while sending,
    /// leaves it owed, and ``pendingDeliveries()`` hands it out again on the next run.
    ///
    /// - Parameters:
    ///   - now: The wall-clock time, Unix seconds.
    ///   - dryRun: Do not record what fired (the same alerts fire again next time).
    ///   - sinks: The sinks the alerts go to (the dispatcher's); `nil` means those of ``rules``.
    /// - Returns: The alerts to send, in rule order (with id 0 in a dry run).
    /// - Throws: ``AlertEvaluationError``.
    public func fire(now: Int64, dryRun: Bool = false, sinks: [SinkConfiguration]? = nil) throws -> [PendingDelivery] {
        // Each label once: two sinks with one label are one delivery.
        var seen = Set<String>()
        let labels = (sinks ?? rules.sinks).map(\.label).filter { seen.insert($0).inserted }
        do {
            if dryRun {
                return try store.query { db in try firing(db, now: now) }.map {
                    PendingDelivery(id: 0, alert: $0.alert, sinks: labels)
                }
            }
            // One write transaction: two evaluators (watch and a cron 'alert check') never both
            // fire for the same requests. SQLite lets one writer in at a time; PostgreSQL, where
            // every host of a fleet may evaluate, is told to by an advisory lock held to the commit.
            return try store.write(locking: Self.evaluationLock) { db in
                let fired = try firing(db, now: now)
                return try record(fired, db: db, now: now, sinks: labels)
            }
        } catch let error as SQLError {
            throw AlertEvaluationError.database(path: store.path, message: error.message)
        } catch let error as DatabaseError {
            // Beginning or committing the transaction, on SQLite.
            throw AlertEvaluationError.database(path: store.path, message: error.message ?? "\(error.resultCode)")
        }
    }

    private func record(
        _ fired: [Fired],
        db: any SQLDatabase,
        now: Int64,
        sinks: [String]
    ) throws -> [PendingDelivery] {
        var deliveries: [PendingDelivery] = []
        for item in fired {
            for key in item.keys {
                // `alert_state.` is the stored row and `excluded.` the proposed one, on both engines.
                try db.execute(
                    """
                    INSERT INTO alert_state (rule, key, last_fired, last_evidence_id, last_seen, fired_count)
                    VALUES (?, ?, ?, ?, ?, 1)
                    ON CONFLICT (rule, key) DO UPDATE SET last_fired = excluded.last_fired,
                        last_evidence_id = \(db.greatest("alert_state.last_evidence_id", "excluded.last_evidence_id")),
                        last_seen = \(db.greatest("alert_state.last_seen", "excluded.last_seen")),
                        fired_count = alert_state.fired_count + 1
                    """,
                    [item.alert.rule, key.key, UTCTime.format(now), key.maxEvidenceID, key.lastSeen]
                )
            }
            let id = try db.value(
                Int64.self,
                """
                INSERT INTO alerts (fired_at, rule, kind, window_start, window_end, count, keys, payload, pending)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [
                    item.alert.firedAt, item.alert.rule, item.alert.kind, item.alert.window.start,
                    item.alert.window.end, item.alert.count, item.alert.keyCount, try item.alert.json(),
                    PendingDelivery.encode(sinks),
                ]
            )
            deliveries.append(PendingDelivery(id: id ?? 0, alert: item.alert, sinks: sinks))
        }
        return deliveries
    }

    /// The alerts still owed to a sink: recorded, then not delivered (the sink failed, or the
    /// process ended while sending), oldest first.
    ///
    /// - Returns: Each alert with the sinks it is still owed to.
    /// - Throws: ``AlertEvaluationError``.
    public func pendingDeliveries() throws -> [PendingDelivery] {
        do {
            return try store.query { db in
                try db.rows("SELECT id, payload, pending FROM alerts WHERE pending <> '' ORDER BY id", []).compactMap {
                    row in
                    let payload: String = row["payload"]
                    guard let alert = try? JSONDecoder().decode(Alert.self, from: Data(payload.utf8)) else {
                        return nil
                    }
                    return PendingDelivery(id: row["id"], alert: alert, sinks: PendingDelivery.decode(row["pending"]))
                }
            }
        } catch let error as SQLError {
            throw AlertEvaluationError.database(path: store.path, message: error.message)
        } catch let error as DatabaseError {
            throw AlertEvaluationError.database(path: store.path, message: error.message ?? "\(error.resultCode)")
        }
    }

    /// Records the outcome of sending an alert: the sinks that failed stay owed (and are counted
    /// in `sinks_failed`); a sink that is no longer configured is dropped.
    ///
    /// - Parameters:
    ///   - delivery: What ``fire(now:dryRun:sinks:)`` or ``pendingDeliveries()`` returned.
    ///   - results: What ``AlertDispatcher/send(_:to:)`` returned for it.
    /// - Throws: ``AlertEvaluationError``.
    public func recordDelivery(_ delivery: PendingDelivery, results: [DeliveryResult]) throws {
        guard delivery.id > 0 else { return }
        let failed = results.filter { $0.error != nil }
        let owed = failed.filter {
            if case .noLongerConfigured = $0.error { return false }
            return true
        }
        do {
            try store.write { db in
                try db.execute(
                    "UPDATE alerts SET pending = ?, sinks_failed = sinks_failed + ? WHERE id = ?",
                    [PendingDelivery.encode(owed.map(\.sink)), failed.count, delivery.id]
                )
            }
        } catch let error as SQLError {
            throw AlertEvaluationError.database(path: store.path, message: error.message)
        } catch let error as DatabaseError {
            throw AlertEvaluationError.database(path: store.path, message: error.message ?? "\(error.resultCode)")
        }
    }

    // MARK: - Evaluation

    /// A key that passed its rule's condition.
    struct Candidate {
        var key: String
        var count: Int
        var first: String?
        var last: String?
        var addresses: [String]
        var maxEvidenceID: Int64 = 0
        var lastSeen = ""
        /// `gateway_drift`: the drift's message.
        var note = ""
    }

    /// An alert with the keys it covers (to record their state).
    struct Fired {
        var alert: Alert
        var keys: [Candidate]
    }

    struct State {
        var lastFired: Int64
        var lastEvidenceID: Int64
        var lastSeen: String
    }

    func firing(_ db: any SQLDatabase, now: Int64) throws -> [Fired] {
        var dataEnd = now
        if rules.anchor == .data,
            let newest = try db.value(String.self, "SELECT MAX(last_time) FROM files"),
            let seconds = AlertTime.parse(newest)
        {
            dataEnd = seconds
        }
        var result: [Fired] = []
        for rule in rules.rules {
            let end = rule.kind == .stalled || rule.kind == .malformedRatio ? now : dataEnd
            let window = AlertWindow(end: end, seconds: rule.windowSeconds)
            var candidates: [Candidate]
            var windowOverride: AlertWindow?
            switch rule.kind {
            case .servedDirect, .pathPrefix, .newAddress:
                candidates = try evidenceCandidates(db, rule: rule, window: window)
            case .platformDenied:
                candidates = try platformCandidates(db, rule: rule, window: window)
            case .stalled:
                let (found, since) = try stalledCandidate(db, rule: rule, now: now)
                candidates = found
                if let since { windowOverride = AlertWindow(end: now, seconds: now - since) }
            case .malformedRatio:
                candidates = try malformedCandidate(db, rule: rule, window: window)
            case .gatewayDrift:
                candidates = try GatewayDrift.detect(db, attribution: attribution).map { drift in
                    Candidate(
                        key: "\(drift.old)->\(drift.new)",
                        count: drift.blocked,
                        first: drift.oldLastSeen,
                        last: drift.newFirstSeen,
                        addresses: [drift.old, drift.new],
                        lastSeen: drift.newFirstSeen,
                        note: drift.message
                    )
                }
            }
            candidates = try candidates.filter { try eligible($0, rule: rule, db: db, now: now) }
            guard !candidates.isEmpty else { continue }
            candidates.sort { ($0.count, $1.key) > ($1.count, $0.key) }
            let groups: [[Candidate]]
            if rule.digest || candidates.count == 1 {
                groups = [candidates]
            } else {
                let single = candidates.prefix(max(0, rule.maxMessages - 1)).map { [$0] }
                let rest = Array(candidates.dropFirst(single.count))
                groups = rest.isEmpty ? single : single + [rest]
            }
            for group in groups {
                let alert = try makeAlert(
                    db,
                    rule: rule,
                    window: windowOverride ?? window,
                    keys: group,
                    now: now
                )
                result.append(Fired(alert: alert, keys: group))
            }
        }
        return result
    }

    private func eligible(_ candidate: Candidate, rule: AlertRule, db: any SQLDatabase, now: Int64) throws -> Bool {
        guard
            let row = try db.row(
                "SELECT last_fired, last_evidence_id, last_seen FROM alert_state WHERE rule = ? AND key = ?",
                [rule.name, candidate.key]
            )
        else { return true }
        let state = State(
            lastFired: AlertTime.parse(row.optional(String.self, named: "last_fired")) ?? 0,
            lastEvidenceID: row["last_evidence_id"],
            lastSeen: row["last_seen"]
        )
        switch rule.kind {
        case .newAddress, .gatewayDrift:
            return false
        case .stalled:
            return now - state.lastFired >= rule.cooldownSeconds
        case .servedDirect, .pathPrefix:
            // Counted from direct_minutes: newer when its last minute is; from evidence: a newer row.
            let newer =
                Self.countsMinutes(rule)
                ? candidate.lastSeen > state.lastSeen : candidate.maxEvidenceID > state.lastEvidenceID
            return newer && now - state.lastFired >= rule.cooldownSeconds
        case .platformDenied, .malformedRatio:
            return candidate.lastSeen > state.lastSeen && now - state.lastFired >= rule.cooldownSeconds
        }
    }

    /// The SQL conditions on `evidence` for a rule (outcome, path prefixes, ignored paths and
    /// user agents); CIDR ignores are applied afterwards.
    func evidenceFilter(_ rule: AlertRule, db: any SQLDatabase) -> (String, [any DatabaseValueConvertible]) {
        var sql = "e.verdict = 'direct' AND e.time > ? AND e.time <= ?"
        var arguments: [any DatabaseValueConvertible] = []
        if !(rule.kind == .newAddress && rule.includeBlocked) { sql += " AND e.outcome = 'served'" }
        // substr's length is an `integer` on PostgreSQL (there is no `substr(text, int, bigint)`).
        if rule.kind == .pathPrefix {
            let clauses = rule.prefixes.map { _ in "substr(lower(e.uri_stem), 1, CAST(? AS INTEGER)) = ?" }
            sql += " AND (" + clauses.joined(separator: " OR ") + ")"
            for prefix in rule.prefixes {
                arguments.append(prefix.utf8.count)
                arguments.append(prefix.lowercased())
            }
        }
        for path in rule.ignore.paths {
            sql += " AND (e.uri_stem IS NULL OR substr(lower(e.uri_stem), 1, CAST(? AS INTEGER)) != ?)"
            arguments.append(path.utf8.count)
            arguments.append(path.lowercased())
        }
        for agent in rule.ignore.userAgents {
            sql += " AND (e.user_agent IS NULL OR \(PortableSQL.position(db, of: "?", in: "e.user_agent")) = 0)"
            arguments.append(agent)
        }
        return (sql, arguments)
    }

    private func key(for address: String, rule: AlertRule) -> String {
        switch rule.groupBy {
        case .none: return "*"
        case .address: return address
        case .cidr:
            guard let ip = IPAddress(address) else { return address }
            return CIDR(address: ip, prefixLength: ip.isIPv4 ? rule.prefixLength : rule.prefixLengthV6).description
        }
    }

    private func ignored(_ address: String, rule: AlertRule) -> Bool {
        guard !rule.ignore.cidrs.isEmpty, let ip = IPAddress(address) else { return false }
        return rule.ignore.cidrs.contains { $0.contains(ip) }
    }

    // The candidates' rows are ordered by address, which orders the addresses listed in an alert
    // (PostgreSQL may hash a GROUP BY where SQLite sorts it).
    private func evidenceCandidates(_ db: any SQLDatabase, rule: AlertRule, window: AlertWindow) throws -> [Candidate] {
        if Self.countsMinutes(rule) { return try minuteCandidates(db, rule: rule, window: window) }
        let (filter, filterArguments) = evidenceFilter(rule, db: db)
        var arguments: [any DatabaseValueConvertible] = [window.start, window.end]
        arguments += filterArguments
        let rows = try db.rows(
            """
            SELECT e.address, COUNT(*) AS n, MIN(e.time) AS first, MAX(e.time) AS last, MAX(e.id) AS max_id
            FROM evidence e WHERE \(filter) GROUP BY e.address ORDER BY e.address
            """,
            arguments
        )
        let counted = rows.map {
            CountRow(address: $0["address"], count: $0["n"], first: $0["first"], last: $0["last"], maxID: $0["max_id"])
        }
        return try group(counted, db, rule: rule, window: window)
    }

    /// Whether a rule over direct requests is counted from `direct_minutes` (every direct request)
    /// rather than from `evidence`: every such rule but those that look into the requests' paths or
    /// user agents (`path_prefix`, `ignore.paths`, `ignore.user_agents`), which only rows hold.
    static func countsMinutes(_ rule: AlertRule) -> Bool {
        rule.kind != .pathPrefix && rule.ignore.paths.isEmpty && rule.ignore.userAgents.isEmpty
    }

    /// Candidates from `direct_minutes`.
    ///
    /// Every minute of the window after its first; of the first
    /// (the minute of `end − window`), the requests after `end − window` when the evidence holds
    /// every request of that minute (always with `--evidence all`), else the whole minute (never
    /// fewer requests than the window holds). First and last are minutes.
    private func minuteCandidates(_ db: any SQLDatabase, rule: AlertRule, window: AlertWindow) throws -> [Candidate] {
        let startSeconds = end(of: window) - rule.windowSeconds
        let startMinute = startSeconds - ((startSeconds % 60) + 60) % 60
        let outcome = rule.kind == .newAddress && rule.includeBlocked ? "" : " AND j.outcome = 'served'"
        let counts = """
            SELECT j.address, SUM(m.requests) AS n, MIN(m.minute) AS first, MAX(m.minute) AS last
            FROM direct_minutes m JOIN judgements j ON j.key_id = m.key_id
            WHERE j.verdict = 'direct'\(outcome) AND m.minute %@ ? AND m.minute <= ?
            GROUP BY j.address ORDER BY j.address
            """
        let minuteText = UTCTime.format(startMinute)
        let endSeconds = end(of: window)
        func countRow(_ row: SQLRow) -> CountRow {
            let first: Int64 = row["first"]
            let last: Int64 = row["last"]
            return CountRow(
                address: row["address"],
                count: row["n"],
                first: UTCTime.format(first),
                last: UTCTime.format(last)
            )
        }
        var rows = try db.rows(counts.replacingOccurrences(of: "%@", with: ">"), [startMinute, endSeconds])
            .map(countRow)
        // The first minute: exact from the evidence where it holds every request of the minute.
        let firstMinute = try db.rows(counts.replacingOccurrences(of: "%@", with: ">="), [startMinute, startMinute])
        if !firstMinute.isEmpty {
            // Per address, through the (address, time) index: no index on time alone.
            let heldSQL = """
                SELECT COUNT(*), SUM(CASE WHEN e.time > ? THEN 1 ELSE 0 END) FROM evidence e
                JOIN judgements j ON j.key_id = e.key_id
                WHERE e.address = ? AND j.verdict = 'direct'\(outcome) AND e.time >= ? AND e.time < ?
                """
            let minuteEnd = UTCTime.format(startMinute + 60)
            for row in firstMinute {
                let address: String = row["address"]
                let requests: Int = row["n"]
                var held: (all: Int, inside: Int)?
                try db.forEachRow(heldSQL, [window.start, address, minuteText, minuteEnd]) { row in
                    let all: Int = row[0]
                    if all > 0 { held = (all, row.optional(Int.self, at: 1) ?? 0) }
                }
                let count = held.map { $0.all == requests ? $0.inside : requests } ?? requests
                guard count > 0 else { continue }
                rows.append(CountRow(address: address, count: count, first: minuteText, last: minuteText))
            }
        }
        return try group(rows.sorted { $0.address < $1.address }, db, rule: rule, window: window)
    }

    /// One address's requests counted for a rule over direct requests; `maxID` is the newest
    /// evidence row's id when counted from evidence, else `nil` (then `last` is the newest data).
    struct CountRow {
        var address: String
        var count: Int
        var first: String
        var last: String
        var maxID: Int64?
    }

    /// Groups counted rows (ordered by address) into the rule's keys, over its threshold.
    private func group(
        _ rows: [CountRow],
        _ db: any SQLDatabase,
        rule: AlertRule,
        window: AlertWindow
    ) throws
        -> [Candidate]
    {
        var byKey: [String: Candidate] = [:]
        for row in rows {
            let address = row.address
            guard !ignored(address, rule: rule) else { continue }
            if rule.kind == .newAddress {
                var firstSQL = "SELECT MIN(first_seen) FROM hourly WHERE address = ? AND verdict = 'direct'"
                if !rule.includeBlocked { firstSQL += " AND outcome = 'served'" }
                let firstEver = try db.value(String.self, firstSQL, [address]) ?? ""
                guard firstEver > window.start else { continue }
            }
            let groupKey = rule.kind == .newAddress ? address : key(for: address, rule: rule)
            var candidate = byKey[groupKey] ?? Candidate(key: groupKey, count: 0, addresses: [])
            candidate.count += row.count
            candidate.first = min(candidate.first ?? row.first, row.first)
            candidate.last = max(candidate.last ?? row.last, row.last)
            if let maxID = row.maxID {
                candidate.maxEvidenceID = max(candidate.maxEvidenceID, maxID)
            } else {
                candidate.lastSeen = max(candidate.lastSeen, row.last)
            }
            if candidate.addresses.last != address { candidate.addresses.append(address) }
            byKey[groupKey] = candidate
        }
        let threshold = rule.kind == .servedDirect ? max(1, rule.threshold) : 1
        return byKey.values.filter { Double($0.count) >= threshold }
    }

    private func platformCandidates(_ db: any SQLDatabase, rule: AlertRule, window: AlertWindow) throws -> [Candidate] {
        let rows = try db.rows(
            """
            SELECT address, SUM(requests) AS n, MIN(first_seen) AS first, MAX(last_seen) AS last
            FROM hourly WHERE verdict = 'platform' AND hour > ? AND outcome != '' AND last_seen > ? AND first_seen <= ?
            GROUP BY address ORDER BY address
            """,
            [UTCTime.format(end(of: window) - rule.windowSeconds - 3600), window.start, window.end]
        )
        var byKey: [String: Candidate] = [:]
        for row in rows {
            let address: String = row["address"]
            guard !ignored(address, rule: rule) else { continue }
            let groupKey = key(for: address, rule: rule)
            var candidate = byKey[groupKey] ?? Candidate(key: groupKey, count: 0, addresses: [])
            candidate.count += row["n"] as Int
            let first: String = row["first"]
            let last: String = row["last"]
            candidate.first = min(candidate.first ?? first, first)
            candidate.last = max(candidate.last ?? last, last)
            candidate.lastSeen = max(candidate.lastSeen, last)
            candidate.addresses.append(address)
            byKey[groupKey] = candidate
        }
        return byKey.values.filter { Double($0.count) >= max(1, rule.threshold) }
    }

    /// The window's end in Unix seconds.
    private func end(of window: AlertWindow) -> Int64 {
        AlertTime.parse(window.end) ?? 0
    }

    private func stalledCandidate(_ db: any SQLDatabase, rule: AlertRule, now: Int64) throws -> ([Candidate], Int64?) {
        let column = rule.measure == .ingest ? "updated_at" : "last_time"
        guard
            let text = try db.value(String.self, "SELECT MAX(\(column)) FROM files WHERE status != 'ingesting'"),
            let since = AlertTime.parse(text)
        else { return ([], nil) }
        let age = now - since
        guard age >= rule.afterSeconds else { return ([], nil) }
        return ([Candidate(key: "*", count: Int(age), first: text, last: text, addresses: [], lastSeen: text)], since)
    }

    private func malformedCandidate(_ db: any SQLDatabase, rule: AlertRule, window: AlertWindow) throws -> [Candidate] {
        guard
            let row = try db.row(
                """
                SELECT COALESCE(SUM(lines), 0) AS lines, COALESCE(SUM(malformed), 0) AS malformed,
                    MAX(updated_at) AS latest
                FROM files WHERE updated_at > ? AND status != 'ingesting'
                """,
                [window.start]
            )
        else { return [] }
        let lines: Int = row["lines"]
        let malformed: Int = row["malformed"]
        guard lines > 0, lines >= rule.minimumLines, Double(malformed) / Double(lines) > rule.threshold else {
            return []
        }
        let latest = row.optional(String.self, named: "latest") ?? ""
        return [Candidate(key: "*", count: malformed, first: nil, last: latest, addresses: [], lastSeen: latest)]
    }
}
