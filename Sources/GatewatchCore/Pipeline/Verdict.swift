/// How a backend request reached the backend (DESIGN.md, "Verdicts").
public enum Verdict: String, Sendable, Codable, CaseIterable, Comparable {
    /// The client address is one of the declared gateway addresses.
    case gateway
    /// The policy allows it, and it is not the gateway (office, localhost, partner).
    case allowed
    /// Platform traffic: Always On, health checks, load-balancer probes, warm-up.
    case platform
    /// The policy denies it: the request bypassed the gateway.
    case direct
    /// Nothing to judge it against: ingested with neither a policy nor gateway addresses.
    ///
    /// Not `allowed`: nobody made that judgement. Re-read the file with `--policy` or
    /// `--gateway` and `--reingest` to judge it.
    case unjudged

    /// A small integer for in-memory keys (the position in `allCases`).
    var code: UInt8 {
        switch self {
        case .gateway: 0
        case .allowed: 1
        case .platform: 2
        case .direct: 3
        case .unjudged: 4
        }
    }

    public static func < (lhs: Verdict, rhs: Verdict) -> Bool { lhs.code < rhs.code }
}

/// What happened to a `direct` request.
public enum Outcome: String, Sendable, Codable, CaseIterable {
    /// Not a direct request.
    case none = ""
    /// The logged status is the policy's denial: the allowlist is enforced.
    case blocked
    /// The backend answered: the allowlist is not enforced.
    case served

    /// A small integer for in-memory keys (the position in `allCases`).
    var code: UInt8 {
        switch self {
        case .none: 0
        case .blocked: 1
        case .served: 2
        }
    }
}

/// Built-in recognition of Azure platform traffic (allowlist spec §5, decision D24).
///
/// User agents are matched as logged, where IIS writes spaces as `+`: exact for `AlwaysOn` and
/// `SiteWarmup`; prefix for `ReadyForRequest/1.0`, `IIS Application Initialization` and
/// `HealthCheck/`. The Azure load-balancer / platform probe address `168.63.129.16` is platform
/// whatever its user agent.
public struct PlatformRules: Sendable {
    /// User agents matched exactly (case-sensitive, `+` and space equivalent).
    public var exactUserAgents: [String] = ["AlwaysOn", "SiteWarmup"]
    /// User-agent prefixes.
    public var userAgentPrefixes: [String] = ["ReadyForRequest/1.0", "IIS Application Initialization", "HealthCheck/"]
    /// Addresses whose traffic is always platform traffic.
    public var addresses: CIDRSet = CIDRSet([CIDR("168.63.129.16/32")].compactMap { $0 })

    /// The default rules.
    public init() {}

    /// A matcher with the rules compiled to bytes.
    func compiled() -> CompiledPlatformRules {
        CompiledPlatformRules(
            exact: exactUserAgents.map { Array($0.utf8) },
            prefixes: userAgentPrefixes.map { Array($0.utf8) },
            addresses: addresses
        )
    }
}

/// ``PlatformRules`` prepared for the per-line path.
struct CompiledPlatformRules {
    let exact: [[UInt8]]
    let prefixes: [[UInt8]]
    let addresses: CIDRSet
    /// Per first byte of a user agent, whether any rule can match it (`+` stands for a space): most
    /// agents (`Mozilla/…`) are refused on their first byte, the per-line cost of a fact every
    /// request keeps.
    private let firstBytes: [Bool]

    init(exact: [[UInt8]], prefixes: [[UInt8]], addresses: CIDRSet) {
        self.exact = exact
        self.prefixes = prefixes
        self.addresses = addresses
        var firstBytes = [Bool](repeating: false, count: 256)
        for rule in exact + prefixes {
            guard let first = rule.first else {
                firstBytes = [Bool](repeating: true, count: 256)  // an empty prefix matches any agent
                break
            }
            firstBytes[Int(first)] = true
            if first == UInt8(ascii: " ") { firstBytes[Int(UInt8(ascii: "+"))] = true }
        }
        self.firstBytes = firstBytes
    }

    @inline(__always)
    private static func same(_ logged: UInt8, _ rule: UInt8) -> Bool {
        logged == rule || (logged == UInt8(ascii: "+") && rule == UInt8(ascii: " "))
    }

    private static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard bytes.count >= prefix.count else { return false }
        for index in 0..<prefix.count where !same(bytes[index], prefix[index]) { return false }
        return true
    }

    /// Whether a request with this address and user agent is platform traffic.
    func matches(address: IPAddress?, userAgent: UnsafeRawBufferPointer?) -> Bool {
        if let address, addresses.contains(address) { return true }
        guard let userAgent, userAgent.count > 0, firstBytes[Int(userAgent[0])] else { return false }
        for rule in exact where rule.count == userAgent.count && Self.hasPrefix(userAgent, rule) { return true }
        for rule in prefixes where Self.hasPrefix(userAgent, rule) { return true }
        return false
    }
}
