import Foundation
import GRDB

/// One address whose traffic a proposed policy treats differently from the current one.
public struct WhatIfEntry: Sendable, Equatable, Codable {
    /// The client address, as stored.
    public var address: String
    /// How the stored history classified these requests: `gateway`, `allowed` or `direct`.
    public var current: String
    /// Requests in the window that change.
    public var requests: Int
    /// Of which the log shows as blocked by the current allowlist.
    public var blocked: Int
    /// The first request in the window.
    public var firstSeen: String
    /// The last request in the window.
    public var lastSeen: String
    /// What the proposed policy decides: `allow`, `deny`, `abort`, `config-error` or `indeterminate`.
    public var proposed: String
    /// The proposed policy's deciding rule, as `layer: rule`.
    public var rule: String
    /// The `status.substatus` the proposed policy would log, when it denies.
    public var status: String?
    /// The busiest endpoints of the address in the window (from the inventory; empty for
    /// gateway addresses, whose traffic has no inventory).
    public var endpoints: [ValueCount]
    /// The busiest user agents of the address in the window.
    public var userAgents: [ValueCount]
    /// Who the address belongs to (issue 24); omitted from JSON when unknown.
    public var owner: Owner?

    enum CodingKeys: String, CodingKey {
        case address, current, requests, blocked, owner
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case proposed, rule, status, endpoints
        case userAgents = "user_agents"
    }
}

/// Platform traffic (Always On, health checks, warm-up, load-balancer probes) that a proposed
/// policy would deny.
public struct WhatIfPlatformEntry: Sendable, Equatable, Codable {
    /// The client address.
    public var address: String
    /// What the traffic is, from its user agents and address: `Always On`, `health check`,
    /// `warm-up`, `container ready`, `load-balancer probe`, `platform`.
    public var kinds: [String]
    /// Platform requests from the address in the window.
    public var requests: Int
    /// Of which the log already shows as blocked (the current allowlist breaks them too).
    public var blocked: Int
    /// The last request in the window.
    public var lastSeen: String
    /// The proposed policy's deciding rule, as `layer: rule`.
    public var rule: String
    /// The `status.substatus` the proposed policy would log.
    public var status: String?
    /// The user agents of the address in the window.
    public var userAgents: [ValueCount]

    /// Whether the proposed policy breaks traffic that works today (some of it was not blocked).
    public var isNewlyBroken: Bool { blocked < requests }

    enum CodingKeys: String, CodingKey {
        case address, kinds, requests, blocked
        case lastSeen = "last_seen"
        case rule, status
        case userAgents = "user_agents"
    }
}

/// A declared gateway address range the proposed policy itself denies: after the change, all
/// traffic through that gateway would be refused.
public struct WhatIfGatewayDenial: Sendable, Equatable, Codable {
    /// The gateway address or range (`first-last`).
    public var gateway: String
    /// The proposed policy's deciding rule, as `layer: rule`.
    public var rule: String
    /// The `status.substatus` the proposed policy would log.
    public var status: String?
}

/// What a proposed policy would change, as a change pipeline sees it.
public enum WhatIfOutcome: String, Sendable, Codable {
    /// Nothing that works today breaks (exit 0).
    case ok
    /// Non-platform traffic that was served in the window would be refused, or a declared
    /// gateway is denied (exit 4).
    case blocksTraffic = "blocks-traffic"
    /// Platform traffic (Always On, health checks, probes, warm-up) would be refused (exit 5).
    case breaksPlatform = "breaks-platform"

    /// The process exit code: 0, 4 or 5.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .blocksTraffic: 4
        case .breaksPlatform: 5
        }
    }
}

/// Request and address totals of one what-if group.
public struct WhatIfTotal: Sendable, Equatable, Codable {
    /// Distinct addresses.
    public var addresses: Int
    /// Requests.
    public var requests: Int
}

/// The result of evaluating a proposed policy over stored history.
public struct WhatIfResult: Sendable, Equatable {
    /// Where the proposed policy came from.
    public var policySource: String
    /// The declared gateways of the proposed policy, as ranges.
    public var gateways: [String]
    /// The first request in the window.
    public var first: String
    /// The last request in the window.
    public var last: String
    /// Requests the current policy lets in (`gateway`, `allowed`) that the proposed policy denies.
    public var newlyBlocked: [WhatIfEntry]
    /// Direct requests both policies deny but that were served: the allowlist is not enforced
    /// today, so deploying the proposed policy cuts these callers off.
    public var unenforced: [WhatIfEntry]
    /// Direct requests (denied by the current policy) that the proposed policy allows.
    public var newlyAllowed: [WhatIfEntry]
    /// Platform traffic the proposed policy denies.
    public var platformBroken: [WhatIfPlatformEntry]
    /// Declared gateway ranges the proposed policy denies.
    public var gatewaysDenied: [WhatIfGatewayDenial]
    /// `lint` findings for the proposed policy.
    public var findings: [LintFinding]
    /// What the evaluation cannot see (host-based Kudu rules, header-dependent rules, …).
    public var notes: [String]

    /// The change-pipeline verdict: platform breakage first, then blocked traffic.
    public var outcome: WhatIfOutcome {
        if platformBroken.contains(where: \.isNewlyBroken) { return .breaksPlatform }
        if !newlyBlocked.isEmpty || !unenforced.isEmpty || !gatewaysDenied.isEmpty { return .blocksTraffic }
        return .ok
    }

    /// Totals of a list of entries.
    static func total(_ entries: [WhatIfEntry]) -> WhatIfTotal {
        WhatIfTotal(addresses: Set(entries.map(\.address)).count, requests: entries.reduce(0) { $0 + $1.requests })
    }
}

/// Evaluates a proposed allowlist (and/or gateway set) over the stored history, per address,
/// without reading any log again, and compares it with the current policy.
///
/// The *current* policy is the one the history was classified with: the stored verdicts are its
/// decisions (`gateway`/`allowed` let in, `direct` denied), and the stored outcome says whether
/// the backend actually enforced the denial (`blocked`) or answered (`served`). The proposed
/// policy is evaluated once per distinct address.
///
/// ```swift
/// let proposed = try Policy.load(policyFiles: ["web.next.config"], serviceTags: nil, gateways: gateways)
/// let result = try WhatIfQuery(proposed: proposed).run(store: store)
/// exit(result.outcome.exitCode)
/// ```
///
/// Limits: history keeps addresses, not headers. A proposed policy that looks at
/// X-Forwarded-For (proxy mode), URL paths (`<location>`) or App Service header filters is
/// evaluated per address as a request without headers, and Kudu / deployment traffic to the
/// `*.scm.*` host name is filtered by App Service's SCM rules and never reaches the site's W3C
/// logs, so it cannot be judged from history. Both are listed in ``WhatIfResult/notes``.
public struct WhatIfQuery: Sendable {
    /// The proposed policy, with its gateway set.
    public var proposed: Policy
    /// The window of history to evaluate.
    public var range: TimeRange
    /// Endpoints and user agents listed per address (0 = all).
    public var valuesPerAddress: Int

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - proposed: The proposed policy.
    ///   - range: The window of history; everything by default.
    ///   - valuesPerAddress: Endpoints and user agents listed per address.
    public init(proposed: Policy, range: TimeRange = .all, valuesPerAddress: Int = 3) {
        self.proposed = proposed
        self.range = range
        self.valuesPerAddress = valuesPerAddress
    }

    /// Stored history of one address under one current classification.
    private struct Tally {
        var requests = 0
        var blocked = 0
        var first = ""
        var last = ""

        mutating func add(requests count: Int, blocked isBlocked: Bool, first: String, last: String) {
            requests += count
            if isBlocked { blocked += count }
            if self.first.isEmpty || first < self.first { self.first = first }
            if last > self.last { self.last = last }
        }
    }

    /// The current classification groups the comparison needs.
    private enum Group: Hashable {
        case gateway, allowed, directServed, directBlocked, platform, unjudged
    }

    /// Runs the evaluation.
    ///
    /// - Parameter store: The store.
    /// - Returns: The comparison, each list busiest first (ties by address).
    /// - Throws: ``LockdownError/noData(path:window:)`` when the window holds no request, database
    ///   errors otherwise.
    public func run(store: Store) throws -> WhatIfResult {
        let filter = QueryFilter(range: range)
        return try store.query { db in
            let conditions = try filter.hourlyConditions(db)
            var tallies: [String: [Group: Tally]] = [:]
            var first = ""
            var last = ""
            try db.forEachRow(
                """
                SELECT address, verdict, outcome, SUM(requests), MIN(first_seen), MAX(last_seen)
                FROM hourly \(conditions.whereClause) GROUP BY address, verdict, outcome
                """,
                conditions.values
            ) { row in
                let address: String = row[0]
                let verdict: String = row[1]
                let outcome: String = row[2]
                let requests: Int = row[3]
                let firstSeen: String = row[4]
                let lastSeen: String = row[5]
                if first.isEmpty || firstSeen < first { first = firstSeen }
                if lastSeen > last { last = lastSeen }
                let group: Group
                switch Verdict(rawValue: verdict) {
                case .gateway: group = .gateway
                case .allowed: group = .allowed
                case .unjudged: group = .unjudged
                case .platform: group = .platform
                case .direct, nil: group = outcome == Outcome.blocked.rawValue ? .directBlocked : .directServed
                }
                tallies[address, default: [:]][group, default: Tally()].add(
                    requests: requests,
                    blocked: outcome == Outcome.blocked.rawValue,
                    first: firstSeen,
                    last: lastSeen
                )
            }
            guard !tallies.isEmpty else { throw LockdownError.noData(path: store.path, window: windowText(range)) }

            var newlyBlocked: [WhatIfEntry] = []
            var unenforced: [WhatIfEntry] = []
            var newlyAllowed: [WhatIfEntry] = []
            var platform: [(address: String, tally: Tally)] = []
            // The implied lock-down (gateways only, no policy file) allows platform traffic by
            // definition, as ingest does.
            let judgesPlatform = !proposed.files.isEmpty
            for (address, groups) in tallies {
                let decision = decide(address)
                let allows = decision.verdict == .allow
                func entry(_ current: Verdict, _ tally: Tally) -> WhatIfEntry {
                    WhatIfEntry(
                        address: address,
                        current: current.rawValue,
                        requests: tally.requests,
                        blocked: tally.blocked,
                        firstSeen: tally.first,
                        lastSeen: tally.last,
                        proposed: decision.verdict.rawValue,
                        rule: Self.ruleText(decision),
                        status: Self.statusText(decision),
                        endpoints: [],
                        userAgents: []
                    )
                }
                if allows {
                    var direct = Tally()
                    for group in [Group.directServed, .directBlocked] {
                        if let tally = groups[group] {
                            direct.add(requests: tally.requests, blocked: false, first: tally.first, last: tally.last)
                            direct.blocked += tally.blocked
                        }
                    }
                    if direct.requests > 0 { newlyAllowed.append(entry(.direct, direct)) }
                } else {
                    if let tally = groups[.gateway] { newlyBlocked.append(entry(.gateway, tally)) }
                    if let tally = groups[.allowed] { newlyBlocked.append(entry(.allowed, tally)) }
                    // Nothing judged these; whatever their status, the proposal would refuse them.
                    if let tally = groups[.unjudged] { newlyBlocked.append(entry(.unjudged, tally)) }
                    if let tally = groups[.directServed] { unenforced.append(entry(.direct, tally)) }
                }
                // Judged below with its user agents: App Service lets platform probes past its
                // access restrictions by user agent (D21).
                if judgesPlatform, let tally = groups[.platform] { platform.append((address, tally)) }
            }

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
            var platformBroken: [WhatIfPlatformEntry] = platform.compactMap { item in
                let userAgents = platformValues.userAgents[item.address] ?? []
                guard let decision = decidePlatform(item.address, userAgents: userAgents) else { return nil }
                return WhatIfPlatformEntry(
                    address: item.address,
                    kinds: Self.platformKinds(address: item.address, userAgents: userAgents),
                    requests: item.tally.requests,
                    blocked: item.tally.blocked,
                    lastSeen: item.tally.last,
                    rule: Self.ruleText(decision),
                    status: Self.statusText(decision),
                    userAgents: userAgents
                )
            }
            platformBroken.sort {
                $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.address, $1.address)
            }

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
            result.notes = notes(for: result)
            return result
        }
    }

    /// The proposed decision for a stored address; text that is not an address is indeterminate,
    /// as at ingest.
    private func decide(_ address: String) -> PolicyDecision {
        guard let parsed = IPAddress(address) else {
            return PolicyDecision(verdict: .indeterminate, rule: "client address is not an IP address", layer: .none)
        }
        return proposed.evaluate(address: parsed)
    }

    /// The proposed denial of an address's platform traffic, or `nil` when the proposed policy lets
    /// it in: each platform user agent of the address is evaluated (as logged, `+` for space), and
    /// the first denial wins; without user agents the address alone decides.
    private func decidePlatform(_ address: String, userAgents: [ValueCount]) -> PolicyDecision? {
        guard let parsed = IPAddress(address) else { return decide(address) }
        let agents = userAgents.map { $0.value.replacingOccurrences(of: "+", with: " ") }
            .filter { PlatformTraffic.isPlatform(userAgent: $0) }
        guard !agents.isEmpty else {
            let decision = proposed.evaluate(address: parsed)
            return decision.verdict == .allow ? nil : decision
        }
        for agent in agents {
            let decision = proposed.evaluate(PolicyRequest(address: parsed, userAgent: agent))
            if decision.verdict != .allow { return decision }
        }
        return nil
    }

    /// Declared gateway ranges whose first or last address the proposed policy denies.
    private func gatewayDenials() -> [WhatIfGatewayDenial] {
        var denials: [WhatIfGatewayDenial] = []
        for range in proposed.gateways.ranges {
            for address in Set([range.lowerBound, range.upperBound]).sorted() {
                let decision = proposed.evaluate(address: address)
                if decision.verdict != .allow {
                    denials.append(
                        WhatIfGatewayDenial(
                            gateway: Self.rangeText(range),
                            rule: Self.ruleText(decision),
                            status: Self.statusText(decision)
                        )
                    )
                    break
                }
            }
        }
        return denials
    }

    /// The limits that apply to this evaluation.
    private func notes(for result: WhatIfResult) -> [String] {
        var notes: [String] = []
        if proposed.needsRequestHeaders {
            notes.append(
                "the proposed policy looks at more than the client address (X-Forwarded-For in proxy mode, <location> "
                    + "paths or App Service header filters); history keeps addresses only, so each address was "
                    + "evaluated as a request without headers; confirm single cases with 'gatewatch check --xff/--url/--header'"
            )
        }
        if proposed.dynamic != nil {
            notes.append(
                "dynamicIpSecurity limits depend on request timing and are not simulated here; only the static list was evaluated"
            )
        }
        notes.append(
            "Kudu / deployment traffic goes to the *.scm.* host name: App Service filters it with the SCM rules "
                + "(scmIpSecurityRestrictions) and it never reaches this site's W3C logs, so history cannot show what "
                + "the proposed policy does to it; check a deployment agent with 'gatewatch check --host "
                + "<app>.scm.azurewebsites.net ADDRESS'"
        )
        if result.newlyBlocked.contains(where: { $0.current == Verdict.gateway.rawValue }) {
            notes.append(
                "gateway traffic keeps no endpoint or user-agent inventory, so newly blocked gateway addresses list none"
            )
        }
        return notes
    }

    static func sorted(_ entries: [WhatIfEntry]) -> [WhatIfEntry] {
        entries.sorted {
            if $0.requests != $1.requests { return $0.requests > $1.requests }
            if $0.address != $1.address { return byteOrder($0.address, $1.address) }
            return $0.current < $1.current
        }
    }

    static func ruleText(_ decision: PolicyDecision) -> String { "\(decision.layer.rawValue): \(decision.rule)" }

    static func statusText(_ decision: PolicyDecision) -> String? {
        guard decision.verdict != .allow, let status = decision.status else { return nil }
        return "\(status).\(decision.substatus ?? 0)"
    }

    static func rangeText(_ range: ClosedRange<IPAddress>) -> String {
        range.lowerBound == range.upperBound ? range.lowerBound.description : "\(range.lowerBound)-\(range.upperBound)"
    }

    /// What platform traffic an address sends, from its user agents (as logged, `+` for space)
    /// and its address.
    ///
    /// - Parameters:
    ///   - address: The client address.
    ///   - userAgents: Its user agents.
    /// - Returns: Kinds in a stable order, `platform` when nothing more specific is known.
    static func platformKinds(address: String, userAgents: [ValueCount]) -> [String] {
        var kinds: [String] = []
        func add(_ kind: String) { if !kinds.contains(kind) { kinds.append(kind) } }
        if address == "168.63.129.16" { add("load-balancer probe") }
        for userAgent in userAgents {
            let text = userAgent.value.replacingOccurrences(of: "+", with: " ")
            if text == "AlwaysOn" {
                add("Always On")
            } else if text.hasPrefix("HealthCheck/") || text.contains("(HealthCheck)") {
                add("health check")
            } else if text.hasPrefix("ReadyForRequest/") {
                add("container ready")
            } else if text == "SiteWarmup" || text.hasPrefix("IIS Application Initialization") {
                add("warm-up")
            }
        }
        if kinds.isEmpty { add("platform") }
        return kinds
    }
}
