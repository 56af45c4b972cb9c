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
/// always use the wall clock, since the ledger records wall-clock times.
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
            return candidate.maxEvidenceID > state.lastEvidenceID && now - state.lastFired >= rule.cooldownSeconds
        case .platformDenied, .malformedRatio:
            return candidate.lastSeen > state.lastSeen && now - state.lastFired >= rule.cooldownSeconds
        }
    }

    /// The SQL conditions on `evidence` for a rule (outcome, path prefixes, ignored paths and
    /// user agents); CIDR ignores are applied afterwards.
    private func evidenceFilter(_ rule: AlertRule, db: any SQLDatabase) -> (String, [any DatabaseValueConvertible]) {
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
        var byKey: [String: Candidate] = [:]
        for row in rows {
            let address: String = row["address"]
            guard !ignored(address, rule: rule) else { continue }
            if rule.kind == .newAddress {
                var firstSQL = "SELECT MIN(first_seen) FROM hourly WHERE address = ? AND verdict = 'direct'"
                if !rule.includeBlocked { firstSQL += " AND outcome = 'served'" }
                let firstEver = try db.value(String.self, firstSQL, [address]) ?? ""
                guard firstEver > window.start else { continue }
            }
            let groupKey = rule.kind == .newAddress ? address : key(for: address, rule: rule)
            var candidate = byKey[groupKey] ?? Candidate(key: groupKey, count: 0, addresses: [])
            candidate.count += row["n"] as Int
            let first: String = row["first"]
            let last: String = row["last"]
            candidate.first = min(candidate.first ?? first, first)
            candidate.last = max(candidate.last ?? last, last)
            candidate.maxEvidenceID = max(candidate.maxEvidenceID, row["max_id"])
            candidate.addresses.append(address)
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

    // MARK: - Building alerts

    private func makeAlert(
        _ db: any SQLDatabase,
        rule: AlertRule,
        window: AlertWindow,
        keys: [Candidate],
        now: Int64
    ) throws
        -> Alert
    {
        let total = keys.reduce(0) { $0 + $1.count }
        var addresses: [String] = []
        var seen = Set<String>()
        for key in keys {
            for address in key.addresses where seen.insert(address).inserted { addresses.append(address) }
        }
        let samples = try self.samples(db, rule: rule, window: window, addresses: Array(addresses.prefix(50)))
        let span = AlertDuration.format(window.seconds)
        let addressCount = addresses.count
        let plural = addressCount == 1 ? "address" : "addresses"
        let top = keys.prefix(3).map { "\($0.key) (\($0.count))" }.joined(separator: ", ")
        let summary: String
        switch rule.kind {
        case .servedDirect:
            summary =
                "\(total) served direct request\(total == 1 ? "" : "s") from \(addressCount) \(plural) in \(span) "
                + "(threshold \(Self.number(rule.threshold)) per \(rule.groupBy == .none ? "window" : rule.groupBy.rawValue)): \(top)"
        case .pathPrefix:
            summary =
                "\(total) served direct request\(total == 1 ? "" : "s") to \(rule.prefixes.joined(separator: ", ")) from \(addressCount) \(plural) in \(span): \(top)"
        case .newAddress:
            summary = "\(keys.count) new direct \(keys.count == 1 ? "address" : "addresses") in \(span): \(top)"
        case .platformDenied:
            summary =
                "the allowlist denies \(total) platform requests (Always On, health checks, probes) from \(addressCount) \(plural) in \(span): \(top); allow them or the site will be taken out of rotation"
        case .stalled:
            let what = rule.measure == .ingest ? "no ingest activity" : "no new log data"
            summary =
                "\(what) for \(AlertDuration.format(Int64(total))) (since \(keys.first?.first ?? "?"); threshold \(AlertDuration.format(rule.afterSeconds)))"
        case .gatewayDrift:
            summary = keys.map(\.note).joined(separator: "; ")
        case .malformedRatio:
            let lines =
                try db.value(
                    Int.self,
                    "SELECT COALESCE(SUM(lines), 0) FROM files WHERE updated_at > ? AND status != 'ingesting'",
                    [window.start]
                ) ?? 0
            let ratio = lines > 0 ? Double(total) / Double(lines) * 100 : 0
            summary =
                "\(String(format: "%.1f", ratio))% of \(lines) lines ingested in \(span) are malformed (threshold \(String(format: "%.1f", rule.threshold * 100))%)"
        }
        return Alert(
            type: "alert",
            rule: rule.name,
            kind: rule.kind.rawValue,
            severity: rule.severity,
            summary: SafeText.terminal(summary),
            firedAt: UTCTime.format(now),
            window: window,
            count: total,
            threshold: rule.kind == .stalled ? Double(rule.afterSeconds) : rule.threshold,
            keyCount: keys.count,
            keys: keys.prefix(20).map {
                AlertKeyCount(key: SafeText.terminal($0.key), count: $0.count, first: $0.first, last: $0.last)
            },
            addresses: addresses.prefix(50).map(SafeText.terminal),
            samples: samples
        )
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private func samples(
        _ db: any SQLDatabase,
        rule: AlertRule,
        window: AlertWindow,
        addresses: [String]
    ) throws
        -> [AlertSample]
    {
        switch rule.kind {
        case .servedDirect, .pathPrefix, .newAddress:
            guard !addresses.isEmpty else { return [] }
            let (filter, filterArguments) = evidenceFilter(rule, db: db)
            var arguments: [any DatabaseValueConvertible] = [window.start, window.end]
            arguments += filterArguments
            arguments += addresses
            let marks = addresses.map { _ in "?" }.joined(separator: ", ")
            let rows = try db.rows(
                """
                SELECT e.time, e.address, e.method, e.uri_stem, e.status, e.substatus, e.user_agent, e.line, f.path
                FROM evidence e JOIN files f ON f.id = e.file_id
                WHERE \(filter) AND e.address IN (\(marks))
                ORDER BY e.id DESC LIMIT 5
                """,
                arguments
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.time = row.optional(String.self, named: "time")
                sample.address = row.optional(String.self, named: "address").map(SafeText.terminal)
                sample.method = row.optional(String.self, named: "method").map(SafeText.terminal)
                sample.uri = row.optional(String.self, named: "uri_stem").map(SafeText.terminal)
                sample.status = "\(row["status"] as Int).\(row["substatus"] as Int)"
                sample.userAgent = row.optional(String.self, named: "user_agent").map(SafeText.terminal)
                sample.file = row.optional(String.self, named: "path").map(SafeText.terminal)
                sample.line = row.optional(Int.self, named: "line")
                return sample
            }
        case .platformDenied:
            guard !addresses.isEmpty else { return [] }
            let marks = addresses.map { _ in "?" }.joined(separator: ", ")
            var arguments: [any DatabaseValueConvertible] = [window.start, window.end]
            arguments += addresses
            // Ties broken by the rest of the key, in key order, so both engines pick the same rows.
            let rows = try db.rows(
                """
                SELECT hour, address, status, substatus, requests FROM hourly
                WHERE verdict = 'platform' AND outcome != '' AND last_seen > ? AND first_seen <= ?
                    AND address IN (\(marks))
                ORDER BY requests DESC, hour DESC, site, address, outcome, status, substatus LIMIT 5
                """,
                arguments
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.time = row.optional(String.self, named: "hour")
                sample.address = row.optional(String.self, named: "address").map(SafeText.terminal)
                sample.status = "\(row["status"] as Int).\(row["substatus"] as Int)"
                sample.requests = row.optional(Int.self, named: "requests")
                return sample
            }
        case .malformedRatio:
            let rows = try db.rows(
                """
                SELECT f.path, m.line, m.reason, m.sample FROM malformed_lines m JOIN files f ON f.id = m.file_id
                WHERE f.updated_at > ? ORDER BY f.updated_at DESC, m.line, f.path, m.file_id LIMIT 5
                """,
                [window.start]
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.file = row.optional(String.self, named: "path").map(SafeText.terminal)
                sample.line = row.optional(Int.self, named: "line")
                sample.reason = row.optional(String.self, named: "reason").map(SafeText.terminal)
                sample.text = row.optional(String.self, named: "sample").map {
                    SafeText.terminal(String($0.prefix(120)))
                }
                return sample
            }
        case .stalled, .gatewayDrift:
            return []
        }
    }
}

/// ISO 8601 UTC text (`2026-11-20T13:04:05Z`, as the store writes it) to Unix seconds.
enum AlertTime {
    static func parse(_ text: String?) -> Int64? {
        guard let text else { return nil }
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let digit = Int64(bytes[index]) - 48
                guard digit >= 0, digit <= 9 else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        // Days from civil (Howard Hinnant), the inverse of UTCTime.civil.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }
}
