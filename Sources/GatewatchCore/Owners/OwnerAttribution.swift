import Foundation

/// Attributes client addresses to owners (issue 24), in order: the `names:` map (most specific
/// block), the service-tags file (most specific tag; a regional tag over its global parent, a
/// service's tag over `AzureCloud`), special-purpose ranges, then cached reverse DNS names.
///
/// Built once per command; ``owner(of:)`` is a few binary searches, so attribution runs once per
/// distinct address, never per request.
public struct OwnerAttribution: Sendable {
    private var names: OwnerIndex
    private var tags: OwnerIndex
    private var reverseNames: [IPAddress: Owner]
    /// The service-tags file the attribution used, if any.
    public private(set) var serviceTagsPath: String?
    /// The file's `changeNumber`.
    public private(set) var serviceTagsChangeNumber: Int?

    /// No attribution but special ranges.
    public static let none = OwnerAttribution(names: [:], serviceTags: nil)

    /// Compiles the sources.
    ///
    /// - Parameters:
    ///   - names: The `names:` map (address or block → label).
    ///   - serviceTags: The service-tags file, if any.
    ///   - reverseDNS: PTR owners by address (``ReverseDNSCache``).
    public init(names: [String: String], serviceTags: ServiceTags?, reverseDNS: [IPAddress: Owner] = [:]) {
        self.names = OwnerIndex(
            names.compactMap { key, label in
                CIDR(key).map { OwnerIndex.Entry(block: $0, owner: Owner(name: label, source: .names, detail: key)) }
            }
        )
        var entries: [OwnerIndex.Entry] = []
        if let serviceTags {
            let file = (serviceTags.path as NSString).lastPathComponent
            for tag in serviceTags.tags {
                let family = tag.name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? tag.name
                let isRegional = !tag.region.isEmpty || tag.name.contains(".")
                let rank = (family.lowercased() == "azurecloud" ? 0 : 2) + (isRegional ? 1 : 0)
                let region = tag.region.isEmpty ? "" : ", region \(tag.region)"
                for block in tag.blocks {
                    let owner = Owner(name: tag.name, source: .serviceTag, detail: "\(block)\(region), \(file)")
                    entries.append(OwnerIndex.Entry(block: block, owner: owner, rank: rank))
                }
            }
            serviceTagsPath = serviceTags.path
            serviceTagsChangeNumber = serviceTags.changeNumber
        }
        tags = OwnerIndex(entries)
        reverseNames = reverseDNS
    }

    /// Reads the service-tags file, if any, and compiles.
    ///
    /// - Parameters:
    ///   - serviceTags: The `ServiceTags_*.json` path, if any.
    ///   - names: The `names:` map.
    /// - Returns: The attribution.
    /// - Throws: ``PolicyError`` when the file cannot be read.
    public static func load(serviceTags: String?, names: [String: String]) throws(PolicyError) -> OwnerAttribution {
        let tags = try serviceTags.map { path throws(PolicyError) in try ServiceTags(path: path) }
        return OwnerAttribution(names: names, serviceTags: tags)
    }

    /// The same attribution with reverse DNS owners as the last resort.
    ///
    /// - Parameter reverseDNS: PTR owners by address (``ReverseDNSCache``).
    /// - Returns: The attribution.
    public func with(reverseDNS: [IPAddress: Owner]) -> OwnerAttribution {
        var copy = self
        copy.reverseNames = reverseDNS
        return copy
    }

    /// The owner of an address.
    ///
    /// - Parameter address: The address.
    /// - Returns: The owner, or `nil` when no source knows it.
    public func owner(of address: IPAddress) -> Owner? {
        names.owner(of: address) ?? tags.owner(of: address) ?? Self.special.owner(of: address)
            ?? reverseNames[address]
    }

    /// The owner of an address given as text; `nil` for text that is not an address.
    ///
    /// - Parameter address: Canonical address text (as stored).
    /// - Returns: The owner, or `nil`.
    public func owner(of address: String) -> Owner? {
        IPAddress(address).flatMap { owner(of: $0) }
    }

    /// Special-purpose ranges (RFC 6890 and friends), labelled for operators.
    static let special = OwnerIndex(
        [
            ("10.0.0.0/8", "private (RFC 1918)"), ("172.16.0.0/12", "private (RFC 1918)"),
            ("192.168.0.0/16", "private (RFC 1918)"), ("100.64.0.0/10", "carrier-grade NAT (RFC 6598)"),
            ("169.254.0.0/16", "link-local (App Service platform)"), ("127.0.0.0/8", "loopback"),
            ("192.0.2.0/24", "documentation (RFC 5737)"), ("198.51.100.0/24", "documentation (RFC 5737)"),
            ("203.0.113.0/24", "documentation (RFC 5737)"), ("::1/128", "loopback"),
            ("fe80::/10", "link-local (App Service platform)"), ("fc00::/7", "unique local (IPv6 ULA)"),
            ("2001:db8::/32", "documentation (RFC 3849)"),
        ].compactMap { text, label in
            CIDR(text).map { OwnerIndex.Entry(block: $0, owner: Owner(name: label, source: .special, detail: text)) }
        }
    )

    /// A warning when the service-tags file is more than 30 days older than the newest data.
    ///
    /// The JSON has no timestamp and `changeNumber` is a counter, not a date, so the age comes from
    /// the `_YYYYMMDD` of Microsoft's file names; a file without one gets a note that its age is
    /// unknown.
    ///
    /// - Parameter newest: The newest request time of the data (ISO 8601 UTC), if any.
    /// - Returns: The warning, or `nil`.
    public func serviceTagsAgeWarning(newest: String?) -> String? {
        guard let path = serviceTagsPath else { return nil }
        let change = serviceTagsChangeNumber.map { ", changeNumber \($0)" } ?? ""
        let summary = ServiceTagsSummary(path: path, changeNumber: serviceTagsChangeNumber, sharedPrefixes: [])
        guard let published = summary.publishedDay else {
            return "service tags file '\(path)'\(change): its name has no _YYYYMMDD date and the JSON has no "
                + "timestamp, so its age is unknown; Microsoft publishes weekly, use ServiceTags_Public_YYYYMMDD.json"
        }
        guard let newest, let newestTime = TimeDisplay.parse(newest) else { return nil }
        let age = newestTime / 86_400 - published
        guard age > 30 else { return nil }
        return "service tags file '\(path)' is dated \(UTCTime.format(published * 86_400).prefix(10)) (from its "
            + "file name\(change)), \(age) days older than the newest data: Microsoft publishes weekly, so owners "
            + "may be out of date; download the current file"
    }

    /// Where the attribution came from, for footers: the service-tags file and its change number.
    public var sourceNote: String? {
        serviceTagsPath.map { path in
            "(owners from names:, service tags '\(path)'"
                + (serviceTagsChangeNumber.map { " changeNumber \($0)" } ?? "") + " and special ranges)"
        }
    }
}
