import Foundation

/// Reverse DNS names of client addresses, cached in the store's `rdns_cache` with the time they
/// were resolved (``OwnerSchema``); a name older than the TTL is asked again.
public struct ReverseDNSCache: Sendable {
    /// The resolver asked for names missing or stale in the cache.
    public var resolver: ReverseDNSResolver
    /// How long a cached answer (a name or "none") is used.
    public var ttlSeconds: Int64

    /// Creates the cache.
    ///
    /// - Parameters:
    ///   - resolver: The resolver.
    ///   - ttlSeconds: How long an answer is kept.
    public init(resolver: ReverseDNSResolver, ttlSeconds: Int64 = 86_400) {
        self.resolver = resolver
        self.ttlSeconds = ttlSeconds
    }

    /// The PTR owners of addresses: cached answers younger than the TTL, the rest resolved (at
    /// most ``ReverseDNSResolver/concurrency`` at a time) and written back.
    ///
    /// - Parameters:
    ///   - addresses: Canonical address texts.
    ///   - store: A writable store.
    ///   - now: The wall clock, Unix seconds.
    /// - Returns: Owners by address, for addresses with a name.
    /// - Throws: Database errors.
    public func owners(for addresses: [String], store: Store, now: Int64) throws -> [IPAddress: Owner] {
        var cached: [String: (name: String?, at: String)] = [:]
        let wanted = Array(Set(addresses)).sorted()
        try store.query { db in
            let list = try db.inTextList("address", wanted)
            try db.forEachRow("SELECT address, name, resolved_at FROM rdns_cache WHERE \(list.clause)", [list.argument])
            {
                row in cached[row[0]] = (row.optional(String.self, at: 1), row[2])
            }
        }
        let cutoff = UTCTime.format(now - ttlSeconds)
        let stale = wanted.filter { address in cached[address].map { $0.at < cutoff } ?? true }
        let parsed = stale.compactMap { text in IPAddress(text).map { (text, $0) } }
        let answers = resolver.resolve(parsed.map(\.1))
        let resolvedAt = UTCTime.format(now)
        if !answers.isEmpty {
            try store.write { db in
                for (text, address) in parsed {
                    guard let answer = answers[address] else { continue }
                    try db.execute(
                        """
                        INSERT INTO rdns_cache (address, name, resolved_at) VALUES (?, ?, ?)
                        ON CONFLICT (address) DO UPDATE SET name = excluded.name, resolved_at = excluded.resolved_at
                        """,
                        [text, answer, resolvedAt]
                    )
                    cached[text] = (answer, resolvedAt)
                }
            }
        }
        var owners: [IPAddress: Owner] = [:]
        for address in wanted {
            guard let entry = cached[address], let name = entry.name, let parsed = IPAddress(address) else { continue }
            owners[parsed] = Owner(name: name, source: .reverseDNS, detail: "PTR, resolved \(entry.at)")
        }
        return owners
    }
}
