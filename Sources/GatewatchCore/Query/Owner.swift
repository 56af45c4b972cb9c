/// Where an owner attribution came from.
public enum OwnerSource: String, Sendable, Codable, CaseIterable {
    /// The `names:` map of `gatewatch.yaml`.
    case names
    /// The most specific tag of the service-tags file.
    case serviceTag = "service-tag"
    /// A special-purpose range: RFC 1918, CGNAT, link-local, loopback, documentation, ULA.
    case special = "private"
    /// A reverse DNS (PTR) name, from `--resolve-names` and its cache.
    case reverseDNS = "rdns"
}

/// Who a client address belongs to, as far as Gatewatch can tell (issue 24).
///
/// In JSON: `{"name": "AzureFrontDoor.Backend", "source": "service-tag", "detail": "…"}`.
public struct Owner: Sendable, Hashable, Codable {
    /// The owner: a `names:` label, a service tag (`ApiManagement.WestEurope`), a range label
    /// (`private (RFC 1918)`) or a PTR name.
    public var name: String
    /// Where the name came from.
    public var source: OwnerSource
    /// More context: the tag's region and file, the matching block, the PTR's resolution time.
    public var detail: String?

    /// Creates an owner.
    ///
    /// - Parameters:
    ///   - name: The owner's name.
    ///   - source: Where it came from.
    ///   - detail: More context, if any.
    public init(name: String, source: OwnerSource, detail: String? = nil) {
        self.name = name
        self.source = source
        self.detail = detail
    }

    /// `name [source]`, for table cells.
    public var label: String { "\(name) [\(source.rawValue)]" }

    /// The service tag's family: `ApiManagement` for `ApiManagement.WestEurope`; `nil` unless
    /// the owner is a service tag.
    public var tagFamily: String? {
        guard source == .serviceTag else { return nil }
        return String(name.split(separator: ".", maxSplits: 1).first ?? Substring(name))
    }

    /// The tag's region suffix: `WestEurope` for `ApiManagement.WestEurope`, or `nil`.
    public var tagRegion: String? {
        guard source == .serviceTag else { return nil }
        let parts = name.split(separator: ".", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : nil
    }
}
