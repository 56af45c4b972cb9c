/// Everything a judgement depends on besides the request: the policy, the declared gateways and
/// the platform rules; with its fingerprint, as the policy registry records it.
public struct PolicyDeclaration: Sendable {
    /// The compiled policy (the implied lock-down when only gateways are declared).
    let policy: Policy
    /// The declared gateway blocks, as declared.
    let gateways: [String]
    /// The declared gateways.
    let gatewaySet: CIDRSet
    /// The platform rules.
    let platformRules: PlatformRules
    /// The fingerprint of policy, gateways and platform rules (``ReadingBasis/policyFingerprint``).
    public let fingerprint: String
    /// The policy for people: its files, or `none (unjudged)`, and the gateways.
    public let source: String

    /// The declaration of an ingest run's settings, exactly as ``Ingestor`` judges under them.
    ///
    /// - Parameter options: The run's settings (policy, gateways, platform rules).
    public init(options: IngestOptions) {
        policy = options.policy ?? Policy.lockDown(gateways: options.gateways)
        gateways = options.gateways.map(\.description).sorted()
        gatewaySet = CIDRSet(options.gateways)
        platformRules = options.platformRules
        let basis = ReadingBasis(options: options, policy: policy, gateways: options.gateways)
        fingerprint = basis.policyFingerprint
        source = basis.policySource
    }

    /// The declaration of a policy built in code, with its own gateways and the built-in platform
    /// rules.
    ///
    /// - Parameter policy: The policy (its ``Policy/gateways`` are the declared gateways).
    public init(policy: Policy) {
        self.policy = policy
        gatewaySet = policy.gateways
        gateways = policy.gateways.ranges.map { "\($0.lowerBound)-\($0.upperBound)" }
        platformRules = PlatformRules()
        var options = IngestOptions()
        options.policy = policy
        let basis = ReadingBasis(options: options, policy: policy, gateways: [])
        fingerprint = basis.policyFingerprint
        source = basis.policySource
    }

    /// The fingerprint of the platform rules alone: the `platform` fact of a key is theirs.
    var platformFingerprint: String {
        var parts = platformRules.exactUserAgents.map { "platform-agent \($0)" }
        parts += platformRules.userAgentPrefixes.map { "platform-prefix \($0)" }
        parts += platformRules.addresses.ranges.map { "platform-range \($0.lowerBound)-\($0.upperBound)" }
        return ContentHasher.fingerprint(of: Array(parts.joined(separator: "\n").utf8))
    }

    /// The platform rules for people.
    var platformText: String {
        let defaults = PlatformRules()
        if platformRules.exactUserAgents == defaults.exactUserAgents,
            platformRules.userAgentPrefixes == defaults.userAgentPrefixes,
            platformRules.addresses.ranges == defaults.addresses.ranges
        {
            return "built-in"
        }
        return
            (platformRules.exactUserAgents + platformRules.userAgentPrefixes.map { $0 + "*" }
            + platformRules.addresses.ranges.map { "\($0.lowerBound)-\($0.upperBound)" }).joined(separator: ", ")
    }

    /// The `<location>` scopes the policy's keys are cut by (empty with one scope).
    var scopes: [String] { policy.iisScopes.count > 1 ? policy.iisScopes.map(\.scope).sorted() : [] }
}

/// Judges stored keys: the same computation as ingest's per-request one (``Classifier/judge``),
/// from the facts a key holds instead of the log line.
///
/// Decisions are cached per address when the policy looks at the address only, so judging a store
/// costs one policy evaluation per distinct address; the cache is emptied past
/// ``cacheLimit`` addresses, so that judging a store of millions of addresses stays in bounded
/// memory (issue 23: about 36 bytes an address, 108 MB for 3M).
struct Judge {
    /// The most addresses the decision cache holds.
    static let cacheLimit = 1 << 16

    private var classifier: Classifier
    /// The facts the policy reads besides those every key holds.
    let needed: FactCoverage

    init(_ declaration: PolicyDeclaration) {
        classifier = Classifier(
            policy: declaration.policy,
            gateways: declaration.gatewaySet,
            platform: declaration.platformRules.compiled()
        )
        needed = FactCoverage.needed(by: declaration.policy)
    }

    /// The judgement of a key.
    mutating func judge(_ key: JudgementKey) -> Judgement {
        if classifier.cachedAddresses >= Self.cacheLimit { classifier.forgetAddresses() }
        let address = key.invalid == true ? nil : IPAddress(key.address)
        let facts = key.facts
        let classification = classifier.judge(
            address: address,
            isPlatform: facts.platform,
            status: key.status == 0 ? nil : key.status,
            substatus: key.substatus,
            loggedIISVersion: facts.iisVersion
        ) { address in
            var headers: [String: String] = [:]
            if let fdid = facts.fdid { headers["x-azure-fdid"] = fdid }
            if let probe = facts.healthProbe { headers["x-fd-healthprobe"] = probe }
            if let host = facts.forwardedHost { headers["x-forwarded-host"] = host }
            return PolicyRequest(
                address: address,
                forwardedFor: facts.forwardedFor,
                host: facts.host,
                path: facts.scope,
                // Only whether it is a built-in platform agent matters (the App Service front end
                // lets those past, D21): one such agent stands for all.
                userAgent: facts.bypass ? PlatformTraffic.exactUserAgents[0] : nil,
                headers: headers
            )
        }
        var judgement = Judgement(
            verdict: classification.verdict,
            outcome: classification.outcome,
            rule: classifier.ruleText(classification)
        )
        if classification.decision >= 0 {
            let decision = classifier.decisions[Int(classification.decision)]
            judgement.decision = decision.verdict
            if decision.verdict != .allow, let status = decision.status {
                judgement.status = "\(status).\(decision.substatus ?? 0)"
            }
        }
        return judgement
    }
}
