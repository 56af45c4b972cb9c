import ArgumentParser
import Foundation
import GatewatchCore

/// `--service-tags`, `--resolve-names`, `--resolver` and the reverse DNS limits: where owners of
/// client addresses come from (issue 24).
struct OwnerOptions: ParsableArguments {
    @Option(
        name: .customLong("service-tags"),
        help:
            "A ServiceTags_*.json file to attribute addresses to Azure services (default: service_tags: of the config)."
    )
    var serviceTags: String?

    @Flag(help: "Look up reverse DNS (PTR) names of unattributed addresses; cached in the store for --rdns-ttl-hours.")
    var resolveNames = false

    @Option(
        help:
            "The DNS resolver for --resolve-names, IPv4[:port] (default: $GATEWATCH_RESOLVER, else the first nameserver of /etc/resolv.conf)."
    )
    var resolver: String?

    @Option(help: "Milliseconds to wait for each reverse DNS answer.")
    var rdnsTimeoutMs = 1000

    @Option(help: "Reverse DNS queries in flight at most.")
    var rdnsConcurrency = 8

    @Option(help: "Hours a cached reverse DNS answer is used before it is asked again.")
    var rdnsTtlHours = 24

    func validate() throws {
        if rdnsTimeoutMs < 1 || rdnsTimeoutMs > 60_000 {
            throw ValidationError("--rdns-timeout-ms must be 1 to 60000 (a minute), not \(rdnsTimeoutMs)")
        }
        if rdnsConcurrency < 1 || rdnsConcurrency > 256 {
            throw ValidationError("--rdns-concurrency must be 1 to 256, not \(rdnsConcurrency)")
        }
        if rdnsTtlHours < 0 || rdnsTtlHours > 876_000 {
            throw ValidationError("--rdns-ttl-hours must be 0 to 876000 (100 years), not \(rdnsTtlHours)")
        }
    }

    /// The compiled owner sources for a command.
    ///
    /// - Parameters:
    ///   - query: The query options (for `--config`).
    ///   - storePath: The store, written only to cache reverse DNS answers.
    ///   - addresses: The addresses shown, resolved when `--resolve-names` is given.
    /// - Returns: The attribution.
    /// - Throws: `ValidationError` for unreadable files or a bad resolver.
    func attribution(
        query: QueryOptions,
        storePath: String,
        addresses: () throws -> [String]
    ) throws
        -> OwnerAttribution
    {
        try attribution(configuration: try query.configuration(), storePath: storePath, addresses: addresses)
    }

    /// The compiled owner sources, from a configuration.
    ///
    /// - Parameters:
    ///   - configuration: The configuration file, if any (`service_tags:`, `names:`).
    ///   - storePath: The store, written only to cache reverse DNS answers.
    ///   - addresses: The addresses shown, resolved when `--resolve-names` is given.
    /// - Returns: The attribution.
    /// - Throws: `ValidationError` for unreadable files or a bad resolver.
    func attribution(
        configuration: GatewatchConfiguration?,
        storePath: String,
        addresses: () throws -> [String]
    ) throws -> OwnerAttribution {
        let names = configuration?.addressNames ?? [:]
        let plain: OwnerAttribution
        do {
            plain = try OwnerAttribution.load(serviceTags: serviceTags ?? configuration?.serviceTags, names: names)
        } catch {
            throw ValidationError("\(error)")
        }
        guard resolveNames else { return plain }
        let unattributed = try addresses().filter { plain.owner(of: $0) == nil }
        guard
            let server = resolver ?? ProcessInfo.processInfo.environment["GATEWATCH_RESOLVER"]
                ?? ReverseDNSResolver.systemResolver()
        else {
            throw ValidationError(
                "--resolve-names needs a resolver: give --resolver IPv4[:port] or set GATEWATCH_RESOLVER"
            )
        }
        do {
            let client = try ReverseDNSResolver(
                resolver: server,
                timeoutMilliseconds: rdnsTimeoutMs,
                concurrency: rdnsConcurrency
            )
            let cache = ReverseDNSCache(resolver: client, ttlSeconds: Int64(rdnsTtlHours) * 3600)
            let store = try Store(path: storePath)
            let owners = try cache.owners(
                for: unattributed,
                store: store,
                now: Int64(Date().timeIntervalSince1970)
            )
            return plain.with(reverseDNS: owners)
        } catch let error as ReverseDNSError {
            throw ValidationError(error.description)
        }
    }
}

/// How `clients` groups its rows.
enum ClientGrouping: String, ExpressibleByArgument, CaseIterable {
    /// One row per owner.
    case owner
}
