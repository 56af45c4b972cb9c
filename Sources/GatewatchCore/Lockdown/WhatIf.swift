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
    /// The policy the stored verdicts are under.
    public var currentPolicy: PolicyRecord?
    /// Whether the proposal is that policy (same fingerprint): nothing would change.
    public var unchanged = false
    /// When enforcement began per site: the first logged denial the proposed policy would log.
    public var enforcement: [WhatIfEnforcement] = []
    /// Direct requests served before enforcement began on their site: history, not breaks.
    public var history = WhatIfTotal(addresses: 0, requests: 0)
    /// Requests whose verdict or outcome the proposal changes, per move: what `reclassify` under
    /// it would move in the window.
    public var moves: [JudgementMove] = []
    /// The counts of the whole lists when the lists hold only a page of them (a streamed
    /// `whatif`), else `nil`.
    var counts: WhatIfCounts?

    /// The change-pipeline verdict: platform breakage first, then blocked traffic.
    public var outcome: WhatIfOutcome {
        if platformBroken.contains(where: \.isNewlyBroken) { return .breaksPlatform }
        if entryCount(.newlyBlocked) > 0 || entryCount(.unenforced) > 0 || !gatewaysDenied.isEmpty {
            return .blocksTraffic
        }
        return .ok
    }

    /// The entries of a list (a page of it when ``counts`` is set).
    func entries(_ list: WhatIfQuery.List) -> [WhatIfEntry] {
        switch list {
        case .newlyBlocked: newlyBlocked
        case .unenforced: unenforced
        case .newlyAllowed: newlyAllowed
        }
    }

    /// How many entries a whole list has.
    func entryCount(_ list: WhatIfQuery.List) -> Int { counts?.entries[list.rawValue] ?? entries(list).count }

    /// Addresses and requests of a whole list.
    func total(_ list: WhatIfQuery.List) -> WhatIfTotal { counts?.totals[list.rawValue] ?? Self.total(entries(list)) }

    /// Totals of a list of entries.
    static func total(_ entries: [WhatIfEntry]) -> WhatIfTotal {
        WhatIfTotal(addresses: Set(entries.map(\.address)).count, requests: entries.reduce(0) { $0 + $1.requests })
    }
}

/// Addresses, requests and entries of each what-if list, as counted in the scratch file of a
/// streamed `whatif`.
struct WhatIfCounts: Sendable, Equatable {
    var totals = Array(repeating: WhatIfTotal(addresses: 0, requests: 0), count: WhatIfQuery.List.allCases.count)
    var entries = Array(repeating: 0, count: WhatIfQuery.List.allCases.count)
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
    /// The proposal with its gateways and platform rules, as the policy registry knows it.
    public var declaration: PolicyDeclaration
    /// Judge direct requests served before enforcement began as breaks too (they are history by
    /// default).
    public var includeHistory = false

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
        declaration = PolicyDeclaration(policy: proposed)
    }

    /// Creates the query for a declaration (policy, gateways, platform rules as `ingest` and
    /// `reclassify` take them).
    ///
    /// - Parameters:
    ///   - declaration: The proposal.
    ///   - range: The window of history; everything by default.
    ///   - valuesPerAddress: Endpoints and user agents listed per address.
    ///   - includeHistory: Judge direct requests served before enforcement began as breaks too.
    public init(
        declaration: PolicyDeclaration,
        range: TimeRange = .all,
        valuesPerAddress: Int = 3,
        includeHistory: Bool = false
    ) {
        proposed = declaration.policy
        self.declaration = declaration
        self.range = range
        self.valuesPerAddress = valuesPerAddress
        self.includeHistory = includeHistory
    }

    /// The lists of affected addresses, in the order the flat formats list them.
    enum List: Int, CaseIterable, Sendable {
        case newlyBlocked = 0
        case unenforced, newlyAllowed

        /// The `group` of the flat formats.
        var group: String {
            switch self {
            case .newlyBlocked: "newly-blocked"
            case .unenforced: "unenforced"
            case .newlyAllowed: "newly-allowed"
            }
        }
    }

    /// Runs the evaluation: the proposal judged over the stored judgement keys (as `reclassify`
    /// would judge them), compared with their current judgement.
    ///
    /// - Parameter store: The store.
    /// - Returns: The comparison, each list busiest first (ties by address).
    /// - Throws: ``LockdownError/noData(path:window:)`` when the window holds no request, database
    ///   errors otherwise.
    public func run(store: Store) throws -> WhatIfResult {
        let pass = try self.pass(store: store, owner: nil, format: .json)
        var result = pass.result
        let decoder = JSONDecoder()
        for list in List.allCases {
            var entries: [WhatIfEntry] = []
            try pass.scratch.forEach(list: list.rawValue) {
                entries.append(try decoder.decode(WhatIfEntry.self, from: Data($0.utf8)))
            }
            switch list {
            case .newlyBlocked: result.newlyBlocked = entries
            case .unenforced: result.unenforced = entries
            case .newlyAllowed: result.newlyAllowed = entries
            }
        }
        result.counts = nil
        return result
    }

    /// Declared gateway ranges whose first or last address the proposed policy denies.
    func gatewayDenials() -> [WhatIfGatewayDenial] {
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
    func notes(blocksGateway: Bool) -> [String] {
        var notes: [String] = []
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
        if blocksGateway {
            notes.append(
                "gateway traffic keeps no endpoint or user-agent inventory, so newly blocked gateway addresses list none"
            )
        }
        return notes
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
