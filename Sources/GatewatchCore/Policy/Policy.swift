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
    /// Other request headers App Service filters on (`x-azure-fdid`, `x-fd-healthprobe`,
    /// `x-forwarded-host`), keyed by lower-case name.
    public var headers: [String: String]

    /// Creates a request description.
    ///
    /// - Parameters:
    ///   - address: The TCP peer address.
    ///   - forwardedFor: The raw `X-Forwarded-For` value.
    ///   - host: The `Host` header.
    ///   - path: The URL path.
    ///   - userAgent: The user agent.
    ///   - headers: Other headers, keyed by lower-case name.
    public init(
        address: IPAddress,
        forwardedFor: String? = nil,
        host: String? = nil,
        path: String? = nil,
        userAgent: String? = nil,
        headers: [String: String] = [:]
    ) {
        self.address = address
        self.forwardedFor = forwardedFor
        self.host = host
        self.path = path
        self.userAgent = userAgent
        self.headers = headers
    }
}

/// The outcome of evaluating a request, with the rule that decided it.
public struct PolicyDecision: Sendable, Hashable, Codable {
    /// Allow, deny, abort, config error or indeterminate.
    public var verdict: PolicyVerdict
    /// The deciding rule: `file:line #position` in the effective list, or a pseudo-rule such as
    /// `allowUnlisted`, `implicit-deny-all`, `xff-invalid`.
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
/// Build one with ``Policy/load(policyFiles:serviceTags:gateways:iisVersion:)``,
/// ``Policy/load(policyFiles:serviceTags:gateways:options:)``, ``Policy/lockDown(gateways:)`` or
/// ``Policy/allowAll``. Layers are evaluated in the order of spec D1: App Service front end, IIS
/// configuration validity, IIS `ipSecurity`; the first denial wins. `dynamicIpSecurity` needs
/// request timing, so ``evaluate(_:)`` does not simulate it; ``isLoggedDenial(status:substatus:for:)``
/// recognises its logged denials and ``DynamicRestrictionSimulator`` predicts them.
///
/// Each layer's rules are compiled into a ``FirstMatchTable``, so a lookup is a binary search
/// whatever the number of rules. On the address-only path (``needsRequestHeaders`` is `false`)
/// evaluation neither allocates nor touches strings.
public struct Policy: Sendable {
    /// A short description of where the policy came from, for run summaries.
    public var source: String
    /// The IIS profile that decides logged statuses.
    public var profile: IISProfile
    /// The declared gateway addresses.
    public var gateways: CIDRSet
    /// The effective `dynamicIpSecurity` settings, when a file configures the section.
    public var dynamic: IISDynamicSettings?
    /// Reverse DNS names for `domainName` entries (D6); without one, domain entries make the
    /// verdict `indeterminate` when `enableReverseDns` is on.
    public var reverseDNS: [IPAddress: String] = [:]
    /// Whether an X-Forwarded-For element that is not an address gives `400.10` in proxy mode
    /// (D8.4); when `false` such elements are ignored.
    public var rejectsInvalidForwardedFor = true
    /// Problems found while loading (the input of ``lint()``).
    public var loadFindings: [LintFinding] = []
    /// The files the policy was loaded from.
    public var files: [String] = []
    /// A fingerprint of what the policy was compiled from (the files' text, service tags,
    /// gateways, options), recorded with every file ingested under it; empty for a policy built
    /// in code.
    public var fingerprint = ""

    /// Whether the policy judges nothing: no file, no App Service layer, no gateway (``allowAll``).
    ///
    /// Requests ingested under it are `unjudged`, not `allowed`.
    public var judgesNothing: Bool { iisScopes.isEmpty && appService == nil && gateways.isEmpty }

    var appService: CompiledAppService?
    var serviceTags: ServiceTagsSummary?

    /// A warning when the service tags file is more than 14 days older or newer than the logs
    /// (spec D22.4: tag ranges change weekly), or `nil`.
    ///
    /// - Parameters:
    ///   - first: The earliest log time (ISO 8601 UTC), if any.
    ///   - last: The latest log time, if any.
    /// - Returns: The warning text, naming the file, its date and change number.
    public func serviceTagsAgeWarning(first: String?, last: String?) -> String? {
        guard let tags = serviceTags, let published = tags.publishedDay,
            let firstDay = first.flatMap(Self.day), let lastDay = last.flatMap(Self.day)
        else { return nil }
        let gap = published < firstDay ? firstDay - published : published - lastDay
        guard gap > 14 else { return nil }
        let side = published < firstDay ? "older than" : "newer than"
        let change = tags.changeNumber.map { ", changeNumber \($0)" } ?? ""
        return "service tags file '\(tags.path)' (\(UTCTime.format(published * 86_400).prefix(10))\(change)) is "
            + "\(gap) days \(side) the logs: tag ranges change weekly, so ServiceTag rules may be judged with "
            + "addresses they did not have then; use the file published nearest to the logs"
    }

    private static func day(_ time: String) -> Int64? {
        let digits = Array(time.prefix(10).utf8)
        guard digits.count == 10 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in digits[range] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        return CivilDate.days(year: year, month: month, day: day)
    }
    /// IIS sections per URL scope, deepest scope first; the last one is the root (`/`).
    var iisScopes: [CompiledIISSection] = []
    /// `status * 1000 + substatus` of every static denial this policy logs.
    var staticDenialCodes: [Int] = []

    /// Evaluates a request known only by its address (the fast path for ingest's per-address cache).
    ///
    /// Equivalent to `evaluate(PolicyRequest(address: address))`. O(log n); no allocation, no
    /// string work.
    ///
    /// - Parameter address: The client address.
    /// - Returns: The decision and the rule behind it.
    public func evaluate(address: IPAddress) -> PolicyDecision {
        if let addressOnly { return addressOnly.decide(address, profile: profile, reverseDNS: reverseDNS) }
        return evaluate(PolicyRequest(address: address))
    }

    /// The only section, when nothing but the address can matter (no App Service layer, one
    /// scope, no proxy mode, no configuration error).
    var addressOnly: CompiledIISSection? {
        guard appService == nil, iisScopes.count == 1, let section = iisScopes.first,
            !section.enableProxyMode, section.configError == nil
        else { return nil }
        return section
    }

    /// Whether evaluation looks at anything besides the address (X-Forwarded-For in proxy mode,
    /// App Service header filters or SCM host selection, `<location>` paths, platform user
    /// agents that bypass App Service rules), so that a per-address cache would be wrong.
    public var needsRequestHeaders: Bool {
        if iisScopes.count > 1 { return true }
        if iisScopes.contains(where: { $0.enableProxyMode }) { return true }
        if let appService { return appService.needsRequestHeaders }
        return false
    }

    init(source: String, profile: IISProfile = .iis10, gateways: CIDRSet = CIDRSet()) {
        self.source = source
        self.profile = profile
        self.gateways = gateways
    }

    /// The policy implied by gateway addresses alone: allow the gateway, loopback (platform
    /// warm-up, Always On) and the load-balancer probe `168.63.129.16`, deny everything else with
    /// IIS's default `403.503`.
    ///
    /// - Parameter gateways: The gateway blocks.
    /// - Returns: The lock-down policy.
    public static func lockDown(gateways: [CIDR]) -> Policy {
        lockDown(gateways: gateways, profile: .iis10)
    }

    static func lockDown(gateways: [CIDR], profile: IISProfile) -> Policy {
        var entries: [IISEntry] = []
        let loopback = [CIDR("127.0.0.0/8"), CIDR("::1/128")].compactMap { $0 }
        // The load-balancer probe's address is platform traffic by address (every request from it
        // is `platform` at ingest), so the lock-down target lets it in: `check` and `lint` agree.
        let probe = [CIDR("168.63.129.16/32")].compactMap { $0 }
        for (label, blocks) in [("gateway", gateways), ("loopback", loopback), ("platform", probe)] {
            for block in blocks {
                let mask = block.network.isIPv4 ? "\(block.prefixLength)" : "\(block.prefixLength)"
                var entry = IISEntry(
                    ipAddress: block.network.description,
                    subnetMask: mask,
                    domainName: nil,
                    allowed: true,
                    location: SourceLocation(file: label == "gateway" ? "--gateway" : "lock-down")
                )
                entry.label = "\(label) \(block)"
                entries.append(entry)
            }
        }
        var section = IISEffectiveSection(scope: "/")
        section.allowUnlisted = false
        section.entries = entries
        section.isConfigured = true
        var policy = Policy(source: "implied lock-down (gateway only)", profile: profile, gateways: CIDRSet(gateways))
        policy.iisScopes = [CompiledIISSection(section)]
        policy.staticDenialCodes = policy.computeStaticDenialCodes()
        return policy
    }

    /// A policy that allows everything (no allowlist configured).
    public static var allowAll: Policy { Policy(source: "none") }

    /// Whether `address` is one of the declared gateway addresses.
    ///
    /// - Parameter address: The client address.
    /// - Returns: `true` for a gateway address.
    public func isGateway(_ address: IPAddress) -> Bool { gateways.contains(address) }

    /// Evaluates one request.
    ///
    /// O(log n) in the number of rules per layer. No allocation and no string work when only the
    /// address matters (see ``needsRequestHeaders``).
    ///
    /// - Parameter request: The request.
    /// - Returns: The decision and the rule behind it.
    public func evaluate(_ request: PolicyRequest) -> PolicyDecision {
        if let addressOnly { return addressOnly.decide(request.address, profile: profile, reverseDNS: reverseDNS) }
        guard let appService else {
            // IIS only (or nothing): the common, address-only path.
            guard let section = iisScopes.count == 1 ? iisScopes[0] : scope(for: request.path) else {
                return PolicyDecision(verdict: .allow, rule: "implicit-allow-all", layer: .none)
            }
            return section.evaluate(
                request,
                profile: profile,
                reverseDNS: reverseDNS,
                rejectsInvalidForwardedFor: rejectsInvalidForwardedFor
            )
        }
        let frontEnd: PolicyDecision
        if let userAgent = request.userAgent, PlatformTraffic.bypassesFrontEnd(userAgent: userAgent) {
            frontEnd = PolicyDecision(verdict: .allow, rule: "platform-bypass", layer: .appserviceFrontend)
        } else {
            frontEnd = appService.evaluate(request)
            if case .allow = frontEnd.verdict {} else { return frontEnd }
        }
        guard let section = scope(for: request.path) else { return frontEnd }
        let decision = section.evaluate(
            request,
            profile: profile,
            reverseDNS: reverseDNS,
            rejectsInvalidForwardedFor: rejectsInvalidForwardedFor
        )
        if case .allow = decision.verdict, !section.isConfigured { return frontEnd }
        return decision
    }

    /// The IIS section for a URL path: the deepest scope that contains it.
    func scope(for path: String?) -> CompiledIISSection? {
        guard iisScopes.count > 1, let path else { return iisScopes.last }
        for section in iisScopes where section.contains(path: path) { return section }
        return iisScopes.last
    }

    /// Whether a logged `status.substatus` is a denial this policy (or IIS dynamic restrictions)
    /// produces: whether a denied request was actually blocked.
    ///
    /// The decision's own expected status counts, and so do every static denial the policy's IIS
    /// sections log (`x.503`/`x.504` by `denyAction` on IIS 8+, `403.6`/`403.8` on IIS 7) and the
    /// dynamic denials `x.501`/`x.502`. A line for a request the App Service front end denies is
    /// never a logged denial: the front end does not write W3C lines, so the line proves the
    /// request was served (D14). O(1); no allocation.
    ///
    /// - Parameters:
    ///   - status: The logged HTTP status.
    ///   - substatus: The logged IIS sub-status.
    ///   - decision: The decision made for the request.
    /// - Returns: `true` when the log line shows the server refused the request.
    public func isLoggedDenial(status: Int, substatus: Int, for decision: PolicyDecision) -> Bool {
        isLoggedDenial(status: status, substatus: substatus, for: decision, staticCodes: staticDenialCodes)
    }

    /// Whether a logged `status.substatus` is a denial, read with the denial statuses of the IIS
    /// version that wrote the log rather than those of the configured profile.
    ///
    /// IIS 7.x logs an `ipSecurity` denial as `403.6`/`403.8`, IIS 8 and later as `x.503`/`x.504`
    /// (D3). When the log's `#Software` names a version on the other side of that line than
    /// ``profile``, the decision (made under the configured profile) is checked against the
    /// log's statuses: `denialCodes` from ``staticDenialCodes(hasDenyAction:)``.
    ///
    /// - Parameters:
    ///   - status: The logged HTTP status.
    ///   - substatus: The logged IIS sub-status.
    ///   - decision: The decision made for the request.
    ///   - denialCodes: The static denial codes of the logging server's version.
    /// - Returns: `true` when the log line shows the server refused the request.
    func isLoggedDenial(
        status: Int,
        substatus: Int,
        for decision: PolicyDecision,
        loggedBy denialCodes: [Int]
    ) -> Bool {
        var expected = decision
        // The configured profile's status for an IIS denial is not the one this server logs.
        if decision.layer == .iisStatic { expected.status = nil }
        return isLoggedDenial(status: status, substatus: substatus, for: expected, staticCodes: denialCodes)
    }

    private func isLoggedDenial(
        status: Int,
        substatus: Int,
        for decision: PolicyDecision,
        staticCodes: [Int]
    ) -> Bool {
        if decision.layer != .appserviceFrontend, decision.verdict != .allow, let expected = decision.status,
            status == expected, substatus == (decision.substatus ?? 0)
        {
            return true
        }
        if substatus == 501 || substatus == 502 {
            if let dynamic {
                if dynamic.denyAction != .abortRequest && status == dynamic.denyAction.rawValue { return true }
            } else if status == 401 || status == 403 || status == 404 {
                return true
            }
        }
        let code = status * 1000 + substatus
        return staticCodes.contains(code)
    }

    func computeStaticDenialCodes() -> [Int] { staticDenialCodes(hasDenyAction: profile.hasDenyAction) }

    /// `status * 1000 + substatus` of every static denial the policy's IIS sections log on an
    /// IIS version with (8 and later) or without (7.x and earlier) `denyAction`.
    func staticDenialCodes(hasDenyAction: Bool) -> [Int] {
        var codes: Set<Int> = []
        for section in iisScopes where section.isConfigured {
            if hasDenyAction {
                if section.denyAction != .abortRequest {
                    codes.insert(section.denyAction.rawValue * 1000 + 503)
                    codes.insert(section.denyAction.rawValue * 1000 + 504)
                }
            } else {
                codes.insert(403_006)
                codes.insert(403_008)
            }
            if section.enableProxyMode { codes.insert(400_010) }
            if section.configError != nil { codes.insert(500_019) }
        }
        return codes.sorted()
    }
}
