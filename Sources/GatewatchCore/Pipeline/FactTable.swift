/// The distinct facts of the requests a pass has aggregated, interned: hourly keys and evidence
/// rows name them by index, and the writers turn index and address into the key's id.
struct FactTable {
    private(set) var facts: [JudgementFacts] = []
    /// Per fact, its ``JudgementFacts/hashSeed``.
    private(set) var seeds: [UInt64] = []
    private var index: [JudgementFacts: Int32] = [:]
    /// The facts without text (IIS logs): by a small code, the last one first.
    private var plain: [Int: Int32] = [:]
    private var lastPlainCode = -1
    private var lastPlainID: Int32 = 0

    var count: Int { facts.count }

    mutating func id(_ fact: JudgementFacts) -> Int32 {
        if let known = index[fact] { return known }
        let id = Int32(facts.count)
        facts.append(fact)
        seeds.append(fact.hashSeed)
        index[fact] = id
        return id
    }

    /// The id of facts that hold no text: the per-line path of logs without App Service headers.
    @inline(__always)
    mutating func plainID(platform: Bool, bypass: Bool, iisVersion: Int?, kept: FactCoverage) -> Int32 {
        let code = (iisVersion ?? -1) &* 8 &+ (platform ? 1 : 0) &+ (bypass ? 2 : 0) &+ (kept.isEmpty ? 0 : 4)
        if code == lastPlainCode { return lastPlainID }
        let id: Int32
        if let known = plain[code] {
            id = known
        } else {
            id = self.id(JudgementFacts(platform: platform, bypass: bypass, iisVersion: iisVersion, kept: kept))
            plain[code] = id
        }
        lastPlainCode = code
        lastPlainID = id
        return id
    }
}

/// Reads the facts of a logged request that the judgement keys keep (``JudgementFacts``).
struct FactReader {
    /// What the ingest policy reads beyond the facts always kept.
    let kept: FactCoverage
    /// The policy, for its `<location>` scopes.
    private let policy: Policy
    /// The built-in platform user agents (App Service's front-end bypass, D21).
    private let builtInAgents: CompiledPlatformRules
    /// Whether the configured platform rules hold every built-in agent: then a request that is not
    /// platform traffic has no built-in agent either, and the agent is not read again.
    private let rulesCoverBuiltIn: Bool

    init(policy: Policy, platformRules: PlatformRules) {
        kept = FactCoverage.needed(by: policy)
        self.policy = policy
        let defaults = PlatformRules()
        builtInAgents = CompiledPlatformRules(
            exact: defaults.exactUserAgents.map { Array($0.utf8) },
            prefixes: defaults.userAgentPrefixes.map { Array($0.utf8) },
            addresses: CIDRSet()
        )
        rulesCoverBuiltIn =
            Set(defaults.exactUserAgents).isSubset(of: platformRules.exactUserAgents)
            && Set(defaults.userAgentPrefixes).isSubset(of: platformRules.userAgentPrefixes)
    }

    private static func text(_ bytes: UnsafeRawBufferPointer?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The facts id of the parser's current request.
    @inline(__always)
    func read(
        _ parser: W3CParser,
        isPlatform: Bool,
        userAgent: UnsafeRawBufferPointer?,
        into table: inout FactTable
    ) -> Int32 {
        let bypass =
            (isPlatform || !rulesCoverBuiltIn) && builtInAgents.matches(address: nil, userAgent: userAgent)
        let fdid = parser.field(.azureFDID)
        let probe = parser.field(.frontDoorHealthProbe)
        let forwardedHost = parser.field(.forwardedHost)
        if kept.isEmpty, fdid == nil, probe == nil, forwardedHost == nil {
            return table.plainID(platform: isPlatform, bypass: bypass, iisVersion: parser.loggedIISVersion, kept: [])
        }
        var facts = JudgementFacts(platform: isPlatform, bypass: bypass, iisVersion: parser.loggedIISVersion)
        facts.fdid = Self.text(fdid)
        facts.healthProbe = Self.text(probe)
        facts.forwardedHost = Self.text(forwardedHost)
        facts.kept = kept
        if kept.contains(.host) { facts.host = Self.text(parser.field(.host)) }
        if kept.contains(.forwardedFor) { facts.forwardedFor = Self.text(parser.field(.forwardedFor)) }
        if kept.contains(.scope) {
            let path = Self.text(parser.field(.uriStem))
            facts.scope = policy.scope(for: path)?.scope
        }
        return table.id(facts)
    }
}
