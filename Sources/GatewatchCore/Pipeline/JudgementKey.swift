/// Which request facts beyond the always-kept ones a judgement key holds (the `kept` column of
/// `judgements`): each is kept only when the policy the request was ingested under reads it, so
/// that keys stay few (one per address, status and platform class on an IIS allowlist).
struct FactCoverage: OptionSet, Hashable, Sendable {
    let rawValue: Int

    /// The `Host` header (App Service: SCM host selection, `X-Forwarded-Host` fallback).
    static let host = FactCoverage(rawValue: 1)
    /// The raw `X-Forwarded-For` header (IIS proxy mode, App Service XFF rules).
    static let forwardedFor = FactCoverage(rawValue: 2)
    /// The IIS `<location>` scope the URL path falls in (under the scopes in `meta`
    /// `facts_scopes`).
    static let scope = FactCoverage(rawValue: 4)
    /// A key made by the schema migration from a store written before facts were kept: only the
    /// address, status, sub-status and platform class (of non-gateway traffic) are known.
    static let legacy = FactCoverage(rawValue: 8)

    /// The facts a policy reads besides address, status, platform class, IIS version and the App
    /// Service filter headers (which are always kept).
    static func needed(by policy: Policy) -> FactCoverage {
        var needed: FactCoverage = []
        if policy.appService != nil { needed.formUnion([.host, .forwardedFor]) }
        if policy.iisScopes.contains(where: { $0.enableProxyMode }) { needed.insert(.forwardedFor) }
        if policy.iisScopes.count > 1 { needed.insert(.scope) }
        return needed
    }

    /// The facts for people: `host, X-Forwarded-For`.
    var names: [String] {
        var names: [String] = []
        if contains(.host) { names.append("the Host header") }
        if contains(.forwardedFor) { names.append("X-Forwarded-For") }
        if contains(.scope) { names.append("URL paths (<location> scopes)") }
        return names
    }
}

/// What a request says that a policy can depend on, besides its address and logged status: the
/// facts of one judgement key (DESIGN.md, "Facts are stored; judgements are derived").
struct JudgementFacts: Hashable, Sendable {
    /// Platform traffic by the platform rules the store was ingested under (address or user agent).
    var platform = false
    /// A built-in platform user agent: App Service lets it past its access restrictions (D21).
    var bypass = false
    /// The IIS version the log's `#Software` names, if any.
    var iisVersion: Int?
    /// `X-Azure-FDID`, when logged.
    var fdid: String?
    /// `X-FD-HealthProbe`, when logged.
    var healthProbe: String?
    /// `X-Forwarded-Host`, when logged.
    var forwardedHost: String?
    /// The `Host` header, when ``kept`` holds it.
    var host: String?
    /// The raw `X-Forwarded-For`, when ``kept`` holds it.
    var forwardedFor: String?
    /// The `<location>` scope of the URL path, when ``kept`` holds it.
    var scope: String?
    /// Which optional facts are kept (a fact not kept is `nil`, whatever the request said).
    var kept: FactCoverage = []

    /// The hash state of these facts, continued by ``JudgementKey/id(facts:address:invalid:status:substatus:)``.
    var hashSeed: UInt64 {
        var hash = StableHash()
        hash.add(platform ? 1 : 0)
        hash.add(bypass ? 1 : 0)
        hash.add(Int64(iisVersion ?? -1))
        for text in [fdid, healthProbe, forwardedHost, host, forwardedFor, scope] { hash.add(text) }
        hash.add(Int64(kept.rawValue))
        return hash.state
    }
}

/// FNV-1a, 64 bits: the same on every machine and run, so that every ingester (SQLite workers,
/// a fleet on PostgreSQL) names a key with the same id without asking the store.
struct StableHash {
    private(set) var state: UInt64 = 0xCBF2_9CE4_8422_2325

    init(seed: UInt64 = 0xCBF2_9CE4_8422_2325) { state = seed }

    @inline(__always)
    mutating func add(byte: UInt8) {
        state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add(_ value: Int64) {
        var bits = UInt64(bitPattern: value)
        for _ in 0..<8 {
            add(byte: UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { add(byte: byte) }
        add(byte: 0xFF)  // not UTF-8: ends the text unambiguously
    }

    mutating func add(_ text: String?) {
        guard var text else {
            add(byte: 0xFE)
            return
        }
        add(byte: 0xFD)
        text.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }
}

/// One distinct judgement key: a client address with the facts and status of its requests.
struct JudgementKey: Hashable, Sendable {
    /// The stored address text (for an invalid address, the logged text).
    var address: String
    /// Whether the address is not an IP address (`nil`: unknown, in keys made by the migration:
    /// read from the text).
    var invalid: Bool?
    /// The logged status (0: `-`, none logged).
    var status: Int32
    /// The logged sub-status.
    var substatus: Int32
    /// The other facts.
    var facts: JudgementFacts

    /// The key's id: a positive 63-bit hash of everything above (keys made by the migration have
    /// negative ids instead).
    var id: Int64 {
        var text = address
        return text.withUTF8 {
            Self.id(
                seed: facts.hashSeed,
                address: UnsafeRawBufferPointer($0),
                invalid: invalid ?? false,
                status: status,
                substatus: substatus
            )
        }
    }

    /// The id from the facts' ``JudgementFacts/hashSeed`` and the rest of the key: what the
    /// writers compute per flushed row without building a key.
    @inline(__always)
    static func id(
        seed: UInt64,
        address: UnsafeRawBufferPointer,
        invalid: Bool,
        status: Int32,
        substatus: Int32
    )
        -> Int64
    {
        var hash = StableHash(seed: seed)
        hash.add(address)
        hash.add(byte: invalid ? 1 : 0)
        hash.add(Int64(status) << 32 | Int64(UInt32(bitPattern: substatus)))
        let id = Int64(bitPattern: hash.state & 0x7FFF_FFFF_FFFF_FFFF)
        return id == 0 ? 1 : id
    }
}
