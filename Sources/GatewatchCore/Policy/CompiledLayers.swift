/// One effective `ipSecurity` section compiled for evaluation.
///
/// A final class with immutable storage, so the hot path passes one reference instead of
/// copying (and retaining) a dozen arrays per request.
final class CompiledIISSection: Sendable {
    let scope: String
    /// The scope as lower-case UTF-8 bytes, for allocation-free path matching.
    let scopeBytes: [UInt8]
    let allowUnlisted: Bool
    let denyAction: IISDenyAction
    let enableProxyMode: Bool
    let enableReverseDns: Bool
    let isConfigured: Bool
    let entries: [IISEntry]
    let ruleNames: [String]
    /// Per entry: allowed, and whether it is a domain entry (kept apart so the hot path does not
    /// copy whole entries).
    let entryAllows: [Bool]
    let entryIsDomain: [Bool]
    /// Address entries with contiguous masks.
    let table: FirstMatchTable
    /// Positions (ascending) of entries the table cannot hold: non-contiguous masks, and domain
    /// entries when reverse DNS is on.
    let slowEntries: [Int32]
    let configError: PolicyDecision?
    let declarationLocation: SourceLocation?

    init(_ section: IISEffectiveSection) {
        scope = section.scope
        scopeBytes = Array(section.scope.utf8)
        allowUnlisted = section.allowUnlisted
        denyAction = section.denyAction
        enableProxyMode = section.enableProxyMode
        enableReverseDns = section.enableReverseDns
        isConfigured = section.isConfigured
        entries = section.entries
        declarationLocation = section.declarationLocation
        ruleNames = section.entries.enumerated().map { IISMerger.ruleName($0.element, index: $0.offset) }
        entryAllows = section.entries.map(\.allowed)
        entryIsDomain = section.entries.map {
            if case .domain = $0.match { return true }
            return false
        }
        var ranges: [FirstMatchTable.Entry] = []
        var slow: [Int32] = []
        for (index, entry) in section.entries.enumerated() {
            switch entry.match {
            case .address(let masked):
                if let block = masked.cidr {
                    ranges.append(FirstMatchTable.Entry(block, priority: Int32(index)))
                } else {
                    slow.append(Int32(index))
                }
            case .domain:
                if section.enableReverseDns { slow.append(Int32(index)) }
            case .invalid:
                break
            }
        }
        table = FirstMatchTable(ranges)
        slowEntries = slow
        configError = section.configError.map {
            PolicyDecision(verdict: .configError, rule: $0.rule, layer: .iisConfig, status: 500, substatus: 19)
        }
    }

    /// Whether `path` is this scope or below it (segment-wise, ASCII case-insensitive).
    func contains(path: String) -> Bool {
        if scopeBytes == [UInt8(ascii: "/")] { return true }
        var copy = path
        return copy.withUTF8 { bytes in
            var offset = 0
            // Tolerate a missing leading slash.
            if bytes.first != UInt8(ascii: "/") { offset = -1 }
            for (index, expected) in scopeBytes.enumerated() {
                let position = index + offset
                if position < 0 { continue }
                guard position < bytes.count else { return false }
                var byte = bytes[position]
                if byte == UInt8(ascii: "\\") { byte = UInt8(ascii: "/") }
                if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { byte += 32 }
                guard byte == expected else { return false }
            }
            let next = scopeBytes.count + offset
            return next >= bytes.count || bytes[next] == UInt8(ascii: "/") || bytes[next] == UInt8(ascii: "\\")
        }
    }

    enum Match {
        case entry(Int)
        case unlisted
        case indeterminate(Int)
    }

    /// The first entry matching `address` (D7).
    func firstMatch(_ address: IPAddress, reverseDNS: [IPAddress: String]) -> Match {
        let fromTable = table.lookup(address)
        let best = fromTable < 0 ? Int32.max : fromTable
        for index in slowEntries where index < best {
            let entry = entries[Int(index)]
            switch entry.match {
            case .address(let masked):
                if masked.matches(address) { return .entry(Int(index)) }
            case .domain(let pattern):
                guard !reverseDNS.isEmpty else { return .indeterminate(Int(index)) }
                if let name = reverseDNS[address], Self.domain(name, matches: pattern) { return .entry(Int(index)) }
            case .invalid:
                break
            }
        }
        return fromTable < 0 ? .unlisted : .entry(Int(fromTable))
    }

    /// IIS domain patterns: `*` matches everything, `*.example.com` any deeper name; case-insensitive.
    static func domain(_ name: String, matches pattern: String) -> Bool {
        let name = name.lowercased()
        if pattern == "*" { return true }
        if pattern.hasPrefix("*.") { return name.hasSuffix(String(pattern.dropFirst(1))) }
        return name == pattern
    }

    /// The decision for one candidate address.
    func decide(_ address: IPAddress, profile: IISProfile, reverseDNS: [IPAddress: String]) -> PolicyDecision {
        switch firstMatch(address, reverseDNS: reverseDNS) {
        case .entry(let index):
            if entryAllows[index] { return PolicyDecision(verdict: .allow, rule: ruleNames[index], layer: .iisStatic) }
            return denial(rule: ruleNames[index], isDomain: entryIsDomain[index], profile: profile)
        case .unlisted:
            if allowUnlisted { return PolicyDecision(verdict: .allow, rule: "allowUnlisted", layer: .iisStatic) }
            return denial(rule: "allowUnlisted", isDomain: false, profile: profile)
        case .indeterminate(let index):
            return PolicyDecision(verdict: .indeterminate, rule: ruleNames[index], layer: .iisStatic)
        }
    }

    /// The logged status of a denial (D3).
    func denial(rule: String, isDomain: Bool, profile: IISProfile) -> PolicyDecision {
        guard profile.hasDenyAction else {
            return PolicyDecision(
                verdict: .deny,
                rule: rule,
                layer: .iisStatic,
                status: 403,
                substatus: isDomain ? 8 : 6
            )
        }
        if denyAction == .abortRequest { return PolicyDecision(verdict: .abort, rule: rule, layer: .iisStatic) }
        return PolicyDecision(
            verdict: .deny,
            rule: rule,
            layer: .iisStatic,
            status: denyAction.rawValue,
            substatus: isDomain ? 504 : 503
        )
    }

    /// Evaluates the section for a request, in proxy mode for every X-Forwarded-For element (D8).
    func evaluate(
        _ request: PolicyRequest,
        profile: IISProfile,
        reverseDNS: [IPAddress: String],
        rejectsInvalidForwardedFor: Bool
    ) -> PolicyDecision {
        if let configError { return configError }
        let own = decide(request.address, profile: profile, reverseDNS: reverseDNS)
        guard enableProxyMode, let forwardedFor = request.forwardedFor else { return own }
        if rejectsInvalidForwardedFor && profile.hasDenyAction {
            var invalid = false
            ForwardedFor.forEach(in: forwardedFor) { address in
                if address == nil { invalid = true }
                return !invalid
            }
            if invalid {
                return PolicyDecision(
                    verdict: .deny,
                    rule: "xff-invalid",
                    layer: .iisStatic,
                    status: 400,
                    substatus: 10
                )
            }
        }
        if case .allow = own.verdict {} else { return own }
        var result = own
        ForwardedFor.forEach(in: forwardedFor) { address in
            guard let address else { return true }
            let decision = decide(address, profile: profile, reverseDNS: reverseDNS)
            if case .allow = decision.verdict {
            } else {
                result = decision
                result.rule += " via X-Forwarded-For \(address)"
                return false
            }
            return true
        }
        return result
    }
}

/// App Service access restrictions compiled for evaluation.
struct CompiledAppService: Sendable {
    final class List: Sendable {
        let rules: [AppServiceRule]
        let references: [String]
        let table: FirstMatchTable
        let slowRules: [Int32]
        let unmatchedAllows: Bool
        let unmatchedName: String
        /// Per-rule source sets for slow rules with address sources.
        let sourceSets: [Int: CIDRSet]

        init(_ list: AppServiceRuleList) {
            rules = list.rules
            references = list.rules.map(\.reference)
            unmatchedAllows = list.unmatchedAllows
            unmatchedName = list.unmatchedName
            var ranges: [FirstMatchTable.Entry] = []
            var slow: [Int32] = []
            var sets: [Int: CIDRSet] = [:]
            let everything = [CIDR("0.0.0.0/0"), CIDR("::/0")].compactMap { $0 }
            for (index, rule) in list.rules.enumerated() {
                let priority = Int32(index)
                var blocks: [CIDR] = []
                var isSimple = rule.headers.isEmpty
                switch rule.source {
                case .any:
                    blocks = everything
                case .addresses(let masked):
                    for item in masked {
                        if let block = item.cidr { blocks.append(block) } else { isSimple = false }
                    }
                case .serviceTags(_, let tagBlocks, _):
                    blocks = tagBlocks
                case .virtualNetwork, .forwardedFor:
                    isSimple = false
                }
                if isSimple {
                    ranges += blocks.map { FirstMatchTable.Entry($0, priority: priority) }
                } else {
                    slow.append(priority)
                    sets[index] = CIDRSet(blocks)
                }
            }
            table = FirstMatchTable(ranges)
            slowRules = slow
            sourceSets = sets
        }

        func evaluate(_ request: PolicyRequest) -> PolicyDecision {
            let fromTable = table.lookup(request.address)
            var winner = fromTable < 0 ? Int32.max : fromTable
            for index in slowRules where index < winner {
                let rule = rules[Int(index)]
                switch rule.source {
                case .virtualNetwork:
                    // D18: only service-endpoint traffic matches; the log cannot show it.
                    if Self.isPrivate(request.address) {
                        return PolicyDecision(
                            verdict: .indeterminate,
                            rule: references[Int(index)],
                            layer: .appserviceFrontend
                        )
                    }
                    continue
                case .forwardedFor(let masked):
                    guard let value = request.forwardedFor else { continue }
                    var matched = false
                    ForwardedFor.forEach(in: value) { address in
                        if let address, masked.contains(where: { $0.matches(address) }) { matched = true }
                        return !matched
                    }
                    guard matched else { continue }
                case .addresses(let masked):
                    guard masked.contains(where: { $0.matches(request.address) }) else { continue }
                case .any, .serviceTags:
                    guard sourceSets[Int(index)]?.contains(request.address) == true else { continue }
                }
                if Self.headersMatch(rule, request) {
                    winner = index
                    break
                }
            }
            guard winner != Int32.max else {
                return PolicyDecision(
                    verdict: unmatchedAllows ? .allow : .deny,
                    rule: unmatchedName,
                    layer: .appserviceFrontend,
                    status: unmatchedAllows ? nil : 403
                )
            }
            let rule = rules[Int(winner)]
            return PolicyDecision(
                verdict: rule.allows ? .allow : .deny,
                rule: references[Int(winner)],
                layer: .appserviceFrontend,
                status: rule.allows ? nil : 403
            )
        }

        static func isPrivate(_ address: IPAddress) -> Bool {
            if let v4 = address.ipv4Value {
                return v4 >> 24 == 10 || v4 >> 20 == 0xAC1 || v4 >> 16 == 0xC0A8
            }
            return address.high >> 57 == 0x7E  // fc00::/7
        }

        /// D20: all header names must match; any value of one header may match.
        static func headersMatch(_ rule: AppServiceRule, _ request: PolicyRequest) -> Bool {
            for (name, values) in rule.headers where !values.isEmpty {
                switch name {
                case "x-forwarded-for":
                    guard let value = request.forwardedFor ?? request.headers[name] else { return false }
                    let blocks = values.compactMap { CIDR($0) }
                    var matched = false
                    ForwardedFor.forEach(in: value) { address in
                        if let address, blocks.contains(where: { $0.contains(address) }) { matched = true }
                        return !matched
                    }
                    if !matched { return false }
                case "x-forwarded-host":
                    guard let value = request.headers[name] ?? request.host else { return false }
                    // Compared in ASCII form: a Unicode name matches its Punycode and back.
                    let host = Punycode.asciiHost(hostWithoutPort(value))
                    if !values.contains(where: { hostPattern(Punycode.asciiHost($0), matches: Substring(host)) }) {
                        return false
                    }
                default:
                    guard let value = request.headers[name] else { return false }
                    if !values.contains(value) { return false }
                }
            }
            return true
        }

        static func hostWithoutPort(_ host: String) -> Substring {
            let trimmed = host.trimmingWhitespace
            if trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") {
                return trimmed[...close]
            }
            if let colon = trimmed.lastIndex(of: ":"), trimmed.firstIndex(of: ":") == colon {
                return trimmed[..<colon]
            }
            return trimmed
        }

        /// `*.contoso.com` matches exactly one extra label.
        static func hostPattern(_ pattern: String, matches host: Substring) -> Bool {
            if pattern.hasPrefix("*.") {
                let suffix = pattern.dropFirst(1)
                guard host.hasSuffix(suffix) else { return false }
                let label = host.dropLast(suffix.count)
                return !label.isEmpty && !label.contains(".")
            }
            return host == pattern
        }
    }

    var main: List
    var scm: List
    var scmUsesMain: Bool
    var needsRequestHeaders: Bool

    init(_ restrictions: AppServiceRestrictions) {
        main = List(restrictions.main)
        scm = List(restrictions.scm)
        scmUsesMain = restrictions.scmUsesMain
        needsRequestHeaders = true
    }

    /// Whether a host is the Kudu (SCM) site: a `scm` label after the first (D15).
    static func isSCM(_ host: String) -> Bool {
        host.lowercased().split(separator: ".").dropFirst().first == "scm"
    }

    func evaluate(_ request: PolicyRequest) -> PolicyDecision {
        if let host = request.host, !scmUsesMain, Self.isSCM(host) {
            return scm.evaluate(request)
        }
        return main.evaluate(request)
    }
}
