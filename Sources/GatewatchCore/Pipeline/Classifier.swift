/// The verdict for one request, with the policy decision behind it.
struct Classification {
    var verdict: Verdict
    var outcome: Outcome
    /// Index into ``Classifier/decisions``, or -1 when no policy decision was needed.
    var decision: Int32
}

/// Turns a request into a verdict: gateway, platform, then the allowlist (DESIGN.md).
///
/// Policy decisions are cached per address when the policy looks at nothing but the address,
/// so the allowlist is evaluated once per distinct client, not once per line.
struct Classifier {
    let policy: Policy
    /// `policy.needsRequestHeaders`, computed once: it walks the policy's scopes.
    let needsHeaders: Bool
    let gateways: CIDRSet
    /// No policy and no gateway: nothing to judge against, so requests are `unjudged`.
    let judgesNothing: Bool
    let platform: CompiledPlatformRules
    /// The static denial codes of IIS versions on the other side of `denyAction` (IIS 8) from the
    /// policy's profile: for logs whose `#Software` names such a version (D3).
    let otherVersionDenialCodes: [Int]
    private(set) var decisions: [PolicyDecision] = []
    private var ruleTexts: [String] = []
    private var decisionIndex: [PolicyDecision: Int32] = [:]
    private var cache = FlatMap<IPAddress, Int32>()

    /// How many addresses the per-address decision cache holds.
    var cachedAddresses: Int { cache.count }

    /// Empties the per-address decision cache (its storage is kept): for a caller that judges
    /// millions of addresses once each and must stay within bounded memory (issue 23).
    mutating func forgetAddresses() { cache.removeAll() }
    private let invalidDecision = PolicyDecision(
        verdict: .indeterminate,
        rule: "client address is not an IP address",
        layer: .none
    )

    init(policy: Policy, gateways: CIDRSet, platform: CompiledPlatformRules) {
        self.policy = policy
        needsHeaders = policy.needsRequestHeaders
        self.gateways = gateways
        judgesNothing = policy.judgesNothing && gateways.isEmpty
        self.platform = platform
        otherVersionDenialCodes = policy.staticDenialCodes(hasDenyAction: !policy.profile.hasDenyAction)
    }

    /// Whether the logged status shows the server refused the request, read with the statuses of
    /// the IIS version that wrote the log (`#Software`), or the profile's when it names none.
    ///
    /// `status` `nil` (the log says `-`): the outcome cannot be known, so it is neither.
    private func outcome(
        _ status: Int32?,
        _ substatus: Int32,
        _ decision: PolicyDecision,
        _ loggedIISVersion: Int?
    )
        -> Outcome
    {
        guard let status else { return .none }
        let blocked: Bool
        if let version = loggedIISVersion, (version >= 8) != policy.profile.hasDenyAction {
            blocked = policy.isLoggedDenial(
                status: Int(status),
                substatus: Int(substatus),
                for: decision,
                loggedBy: otherVersionDenialCodes
            )
        } else {
            blocked = policy.isLoggedDenial(status: Int(status), substatus: Int(substatus), for: decision)
        }
        return blocked ? .blocked : .served
    }

    /// The App Service filter headers the layout logs (`X-Azure-FDID`, `X-FD-HealthProbe`,
    /// `X-Forwarded-Host`), keyed by lower-case name.
    private static func filteredHeaders(_ parser: W3CParser) -> [String: String] {
        var headers: [String: String] = [:]
        for (field, name) in filterHeaderFields {
            if let value = text(parser.field(field)) { headers[name] = value }
        }
        return headers
    }

    /// The W3C columns of the App Service filter headers, and the headers' names.
    private static let filterHeaderFields: [(W3CField, String)] = [
        (.azureFDID, "x-azure-fdid"), (.frontDoorHealthProbe, "x-fd-healthprobe"), (.forwardedHost, "x-forwarded-host"),
    ]

    private mutating func intern(_ decision: PolicyDecision) -> Int32 {
        if let known = decisionIndex[decision] { return known }
        let index = Int32(decisions.count)
        decisions.append(decision)
        ruleTexts.append("\(decision.layer.rawValue): \(decision.rule)")
        decisionIndex[decision] = index
        return index
    }

    private static func text(_ bytes: UnsafeRawBufferPointer?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Classifies one logged request (the ingest path): its facts are read from the parser only
    /// when the policy looks at more than the address.
    mutating func classify(
        address: IPAddress?,
        isPlatform: Bool,
        status: Int32?,
        substatus: Int32,
        loggedIISVersion: Int?,
        userAgent: UnsafeRawBufferPointer?,
        parser: W3CParser
    ) -> Classification {
        judge(
            address: address,
            isPlatform: isPlatform,
            status: status,
            substatus: substatus,
            loggedIISVersion: loggedIISVersion
        ) { address in
            PolicyRequest(
                address: address,
                forwardedFor: Self.text(parser.field(.forwardedFor)),
                host: Self.text(parser.field(.host)),
                path: Self.text(parser.field(.uriStem)),
                userAgent: Self.text(userAgent).map { String($0.map { $0 == "+" ? " " : $0 }) },
                headers: Self.filteredHeaders(parser)
            )
        }
    }

    /// The one judgement (DESIGN.md, "Verdicts"): gateway, platform, the allowlist, the outcome.
    ///
    /// Ingest calls it per request (through ``classify``), the ``Judge`` per stored key; `request`
    /// is asked only when the policy looks at more than the address.
    mutating func judge(
        address: IPAddress?,
        isPlatform: Bool,
        status: Int32?,
        substatus: Int32,
        loggedIISVersion: Int?,
        request: (IPAddress) -> PolicyRequest
    ) -> Classification {
        if let address, gateways.contains(address) {
            return Classification(verdict: .gateway, outcome: .none, decision: -1)
        }
        if judgesNothing {
            // Platform traffic is recognised by its own rules; anything else would be `allowed`
            // only by a judgement nobody made.
            return Classification(verdict: isPlatform ? .platform : .unjudged, outcome: .none, decision: -1)
        }
        let index: Int32
        if let address {
            if !needsHeaders, let slot = cache.index(of: address) {
                index = cache[valueAt: slot]
            } else if needsHeaders {
                index = intern(policy.evaluate(request(address)))
            } else {
                index = intern(policy.evaluate(address: address))
                cache[valueAt: cache.insertIndex(address, default: index)] = index
            }
        } else {
            index = intern(invalidDecision)
        }
        let decision = decisions[Int(index)]
        if isPlatform {
            // Platform traffic is never a bypass; an outcome marks the platform requests the
            // allowlist denies (Always On or health probes the policy would break).
            // The implied lock-down policy (no policy file) allows platform traffic by definition.
            guard decision.verdict != .allow, address != nil, !policy.files.isEmpty else {
                return Classification(verdict: .platform, outcome: .none, decision: index)
            }
            let outcome = outcome(status, substatus, decision, loggedIISVersion)
            return Classification(verdict: .platform, outcome: outcome, decision: index)
        }
        switch decision.verdict {
        case .allow:
            return Classification(verdict: .allowed, outcome: .none, decision: index)
        case .deny, .abort, .configError, .indeterminate:
            let outcome = outcome(status, substatus, decision, loggedIISVersion)
            return Classification(verdict: .direct, outcome: outcome, decision: index)
        }
    }

    /// The rule texts of the decisions made so far, by ``Classification/decision``.
    var rules: [String] { ruleTexts }

    /// The rule text stored with evidence.
    func ruleText(_ classification: Classification) -> String {
        guard classification.decision >= 0 else { return "" }
        return ruleTexts[Int(classification.decision)]
    }
}

extension IPAddress: FlatKey {
    var flatHash: UInt64 { mix64(mix64(high) ^ low) }
}
