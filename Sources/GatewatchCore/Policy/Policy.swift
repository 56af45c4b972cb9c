/// What the allowlist says about one request.
public enum PolicyVerdict: String, Sendable, Hashable, Codable {
    /// The request is let through.
    case allow
    /// The request is refused with a logged status.
    case deny
    /// The connection is dropped (`denyAction="AbortRequest"`): the server logs no line.
    case abort
    /// The configuration itself is invalid (IIS 500.19): every request fails.
    case configError = "config-error"
    /// The answer depends on something the log does not carry (e.g. a reverse DNS lookup).
    case indeterminate
}

/// Which part of the platform makes a decision (spec §0, D1: first denial wins, in this order).
public enum PolicyLayer: String, Sendable, Hashable, Codable {
    /// Azure App Service access restrictions, evaluated by the front end.
    case appserviceFrontend = "appservice-frontend"
    /// IIS `<ipSecurity>`.
    case iisStatic = "iis-static"
    /// IIS `<dynamicIpSecurity>`.
    case iisDynamic = "iis-dynamic"
    /// An IIS configuration error (500.19).
    case iisConfig = "iis-config"
    /// No layer decided (nothing configured).
    case none
}

/// The request attributes an allowlist can look at.
public struct PolicyRequest: Sendable, Hashable {
    /// The address the server sees as the TCP peer (IIS `c-ip`).
    public var address: IPAddress
    /// The raw `X-Forwarded-For` header value, if logged.
    public var forwardedFor: String?
    /// The `Host` header, if logged.
    public var host: String?
    /// The URL path (`cs-uri-stem`), if logged.
    public var path: String?
    /// The `User-Agent` header, decoded (`+` as space), if logged.
    public var userAgent: String?

    /// Creates a request description.
    ///
    /// - Parameters:
    ///   - address: The TCP peer address.
    ///   - forwardedFor: The raw `X-Forwarded-For` value.
    ///   - host: The `Host` header.
    ///   - path: The URL path.
    ///   - userAgent: The user agent.
    public init(
        address: IPAddress,
        forwardedFor: String? = nil,
        host: String? = nil,
        path: String? = nil,
        userAgent: String? = nil
    ) {
        self.address = address
        self.forwardedFor = forwardedFor
        self.host = host
        self.path = path
        self.userAgent = userAgent
    }
}

/// The outcome of evaluating a request, with the rule that decided it.
public struct PolicyDecision: Sendable, Hashable, Codable {
    /// Allow, deny, abort, config error or indeterminate.
    public var verdict: PolicyVerdict
    /// The deciding rule: `file:line` and position, or a pseudo-rule such as `allowUnlisted`.
    public var rule: String
    /// The layer that decided.
    public var layer: PolicyLayer
    /// The HTTP status the server logs, or `nil` when it logs no line or lets the request through.
    public var status: Int?
    /// The IIS sub-status the server logs, or `nil`.
    public var substatus: Int?

    /// Creates a decision.
    ///
    /// - Parameters:
    ///   - verdict: The verdict.
    ///   - rule: The deciding rule.
    ///   - layer: The deciding layer.
    ///   - status: The logged status.
    ///   - substatus: The logged sub-status.
    public init(verdict: PolicyVerdict, rule: String, layer: PolicyLayer, status: Int? = nil, substatus: Int? = nil) {
        self.verdict = verdict
        self.rule = rule
        self.layer = layer
        self.status = status
        self.substatus = substatus
    }
}

/// A compiled allowlist: every layer the backend enforces, ready to evaluate requests.
///
/// Build one with ``Policy/lockDown(gateways:)`` or the loaders; evaluation never allocates on
/// the address-only path.
public struct Policy: Sendable {
    /// The allowed blocks of the implied lock-down policy.
    var allowed: CIDRSet
    /// A short description of where the policy came from, for run summaries.
    public var source: String

    /// Whether evaluation looks at anything besides the address (header filters), so that a
    /// per-address cache would be wrong.
    public var needsRequestHeaders: Bool { false }

    /// The policy implied by gateway addresses alone: allow the gateway and loopback (platform
    /// warm-up), deny everything else with IIS's default `403.503`.
    ///
    /// - Parameter gateways: The gateway blocks.
    /// - Returns: The lock-down policy.
    public static func lockDown(gateways: [CIDR]) -> Policy {
        let loopback = [CIDR("127.0.0.0/8"), CIDR("::1/128")].compactMap { $0 }
        return Policy(allowed: CIDRSet(gateways + loopback), source: "implied lock-down (gateway only)")
    }

    /// A policy that allows everything (no allowlist configured).
    public static var allowAll: Policy { Policy(allowed: CIDRSet([CIDR("::/0"), CIDR("0.0.0.0/0")].compactMap { $0 }), source: "none") }

    /// Evaluates one request.
    ///
    /// - Parameter request: The request.
    /// - Returns: The decision and the rule behind it.
    public func evaluate(_ request: PolicyRequest) -> PolicyDecision {
        if allowed.contains(request.address) {
            return PolicyDecision(verdict: .allow, rule: "allowed range", layer: .iisStatic)
        }
        return PolicyDecision(verdict: .deny, rule: "allowUnlisted=false", layer: .iisStatic, status: 403, substatus: 503)
    }

    /// Whether a logged `status.substatus` is a denial this policy (or IIS dynamic restrictions)
    /// produces, i.e. whether a denied request was actually blocked.
    ///
    /// - Parameters:
    ///   - status: The logged HTTP status.
    ///   - substatus: The logged IIS sub-status.
    ///   - decision: The decision made for the request.
    /// - Returns: `true` when the log line shows the server refused the request.
    public func isLoggedDenial(status: Int, substatus: Int, for decision: PolicyDecision) -> Bool {
        if let expected = decision.status, status == expected, substatus == (decision.substatus ?? 0) {
            return true
        }
        return substatus == 501 || substatus == 502 || (status == 403 && substatus == 503)
    }
}
