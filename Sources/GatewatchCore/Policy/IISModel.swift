/// What IIS does to a request its `ipSecurity` (or `dynamicIpSecurity`) list denies.
public enum IISDenyAction: Int, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Reset the connection; no response and no W3C line.
    case abortRequest = 0
    /// `401`.
    case unauthorized = 401
    /// `403` (the default).
    case forbidden = 403
    /// `404`.
    case notFound = 404

    /// Parses an enum name (case-insensitive) or its numeric value (D2).
    ///
    /// - Parameter text: `Forbidden`, `forbidden`, `403`, `AbortRequest`, `0`, ...
    public init?(text: String) {
        switch text.trimmingWhitespace.lowercased() {
        case "abortrequest", "0": self = .abortRequest
        case "unauthorized", "401": self = .unauthorized
        case "forbidden", "403": self = .forbidden
        case "notfound", "404": self = .notFound
        default: return nil
        }
    }

    /// The schema's enum name.
    public var description: String {
        switch self {
        case .abortRequest: "AbortRequest"
        case .unauthorized: "Unauthorized"
        case .forbidden: "Forbidden"
        case .notFound: "NotFound"
        }
    }
}

/// The IIS version whose logging a policy follows (D3): IIS 8+ logs `x.503`/`x.504`, IIS 7.x `403.6`/`403.8`.
public struct IISProfile: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The major IIS version (7, 8, 10).
    public var version: Int
    /// Whether the site runs on Azure App Service (Windows): `ipSecurity` is unlocked there (D12).
    public var isAppService: Bool

    /// Creates a profile.
    ///
    /// - Parameters:
    ///   - version: The major IIS version.
    ///   - isAppService: Whether the site runs on App Service.
    public init(version: Int = 10, isAppService: Bool = false) {
        self.version = version
        self.isAppService = isAppService
    }

    /// The default: IIS 10.
    public static let iis10 = IISProfile()

    /// Whether `denyAction` exists and the `x.50x` sub-statuses are used (IIS 8.0 and later).
    public var hasDenyAction: Bool { version >= 8 }

    /// `iis10`, `iis7`, or `appservice`.
    public var description: String { isAppService ? "appservice" : "iis\(version)" }
}

/// The normalised combined key of an `ipSecurity` entry (`ipAddress`, `subnetMask`, `domainName`; D10).
struct IISEntryKey: Sendable, Hashable {
    var address: String
    var mask: String
    var domain: String

    var text: String { "'\(address), \(mask), \(domain)'" }
}

/// How an `ipSecurity` entry matches.
enum IISEntryMatch: Sendable, Hashable {
    /// An address with a mask.
    case address(MaskedAddress)
    /// A `domainName` entry (needs reverse DNS).
    case domain(String)
    /// The entry can never match; the lint code says why.
    case invalid(code: String, reason: String)
}

/// One `<add>` of an `ipSecurity` collection.
struct IISEntry: Sendable, Hashable {
    var ipAddress: String?
    var subnetMask: String?
    var domainName: String?
    var allowed: Bool
    var location: SourceLocation
    var match: IISEntryMatch
    var key: IISEntryKey
    /// A rule reference that replaces `file:line` (used by synthetic lists such as lock-down).
    var label: String?
    /// Whether the `<add>` carries `lockItem="true"`: lower levels may not remove it or clear
    /// over it (spec §1.7).
    var isLockedItem = false

    init(ipAddress: String?, subnetMask: String?, domainName: String?, allowed: Bool, location: SourceLocation) {
        self.ipAddress = ipAddress
        self.subnetMask = subnetMask
        self.domainName = domainName
        self.allowed = allowed
        self.location = location
        (match, key) = Self.interpret(ipAddress: ipAddress, subnetMask: subnetMask, domainName: domainName)
    }

    static func interpret(
        ipAddress: String?,
        subnetMask: String?,
        domainName: String?
    ) -> (IISEntryMatch, IISEntryKey) {
        let rawAddress = (ipAddress ?? "").trimmingWhitespace
        let rawDomain = (domainName ?? "").trimmingWhitespace.lowercased()
        var maskKey = (subnetMask ?? "255.255.255.255").trimmingWhitespace.lowercased()
        if rawAddress.isEmpty {
            let key = IISEntryKey(address: "", mask: maskKey, domain: rawDomain)
            if !rawDomain.isEmpty { return (.domain(rawDomain), key) }
            return (
                .invalid(code: "EMPTY_IP_ENTRY", reason: "the entry has neither an ipAddress nor a domainName"), key
            )
        }
        if rawAddress.contains("/") {
            let key = IISEntryKey(address: String(rawAddress), mask: maskKey, domain: rawDomain)
            return (
                .invalid(
                    code: "CIDR_IN_IPADDRESS",
                    reason: "ipAddress '\(rawAddress)' holds a prefix; IIS wants the mask in subnetMask"
                ),
                key
            )
        }
        guard let address = IPAddress(rawAddress) else {
            let key = IISEntryKey(address: String(rawAddress), mask: maskKey, domain: rawDomain)
            return (.invalid(code: "INVALID_IP_ADDRESS", reason: "'\(rawAddress)' is not an IP address"), key)
        }
        switch MaskedAddress.parseMask(subnetMask, isIPv4: address.isIPv4) {
        case .invalid(let reason):
            let key = IISEntryKey(address: address.description, mask: maskKey, domain: rawDomain)
            return (.invalid(code: "INVALID_MASK", reason: reason), key)
        case .mask(let familyMask):
            let masked = MaskedAddress(address: address, familyMask: familyMask)
            if let length = masked.prefixLength {
                maskKey = "\(length)"
            } else {
                maskKey = masked.text
            }
            let key = IISEntryKey(address: address.description, mask: maskKey, domain: rawDomain)
            return (.address(masked), key)
        }
    }

    /// `allow 10.0.0.0/8`, `deny *.example.com`, `allow ''`.
    var summary: String {
        let verb = allowed ? "allow" : "deny"
        switch match {
        case .address(let masked): return "\(verb) \(masked.text)"
        case .domain(let name): return "\(verb) \(name)"
        case .invalid:
            var text = "\(verb) '\(ipAddress ?? "")'"
            if let subnetMask { text += " mask '\(subnetMask)'" }
            return text
        }
    }
}

/// One change an `<ipSecurity>` element makes to its collection.
enum IISCollectionOperation: Sendable, Hashable {
    case add(IISEntry)
    case remove(IISEntryKey, SourceLocation)
    case clear(SourceLocation)
}

/// One `<ipSecurity>` element as written.
struct IISSectionDeclaration: Sendable, Hashable {
    var location: SourceLocation
    var allowUnlisted: Bool?
    var denyAction: IISDenyAction?
    var enableProxyMode: Bool?
    var enableReverseDns: Bool?
    var operations: [IISCollectionOperation] = []
    /// The attribute names listed in `lockAttributes`: lower levels may not set them (spec §1.7).
    var lockedAttributes: [String] = []
    /// The collection directives (`add`, `remove`, `clear`) listed in `lockElements`: lower
    /// levels may not use them (spec §1.7).
    var lockedElements: [String] = []
    /// Locking attributes present that the spec does not describe, so they are not evaluated
    /// (`lockAllAttributesExcept`, `lockAllElementsExcept`, `lockItem` on the section).
    var unevaluatedLocks: [String] = []
    /// Where the first `<ipSecurity>` of the same block is, when this is a second one: IIS
    /// defines a section once per file and path, so it fails with 500.19.
    var duplicateOf: SourceLocation?
}

/// One `<dynamicIpSecurity>` element as written.
struct IISDynamicDeclaration: Sendable, Hashable {
    var location: SourceLocation
    var denyAction: IISDenyAction?
    var enableProxyMode: Bool?
    var enableLoggingOnlyMode: Bool?
    var concurrentEnabled: Bool?
    var maxConcurrentRequests: UInt32?
    var rateEnabled: Bool?
    var maxRequests: UInt32?
    var requestIntervalMilliseconds: UInt32?
}

/// The effective `dynamicIpSecurity` settings (spec §1.8).
public struct IISDynamicSettings: Sendable, Hashable, Codable {
    /// What a dynamic denial does (separate from `ipSecurity/@denyAction`).
    public var denyAction: IISDenyAction = .forbidden
    /// Whether the key is the leftmost `X-Forwarded-For` address (D8b).
    public var enableProxyMode = false
    /// Whether denials are only logged (`200.501`, `200.502`), not enforced.
    public var enableLoggingOnlyMode = false
    /// Whether the concurrency limit is on.
    public var denyByConcurrentRequests = false
    /// The concurrency limit.
    public var maxConcurrentRequests: UInt32 = 5
    /// Whether the rate limit is on.
    public var denyByRequestRate = false
    /// Requests allowed per interval.
    public var maxRequests: UInt32 = 20
    /// The rate interval in milliseconds.
    public var requestIntervalMilliseconds: UInt32 = 200

    /// Creates settings with the schema defaults.
    public init() {}

    /// Whether any limit is enabled.
    public var isEnabled: Bool { denyByConcurrentRequests || denyByRequestRate }

    mutating func apply(_ declaration: IISDynamicDeclaration) {
        if let value = declaration.denyAction { denyAction = value }
        if let value = declaration.enableProxyMode { enableProxyMode = value }
        if let value = declaration.enableLoggingOnlyMode { enableLoggingOnlyMode = value }
        if let value = declaration.concurrentEnabled { denyByConcurrentRequests = value }
        if let value = declaration.maxConcurrentRequests { maxConcurrentRequests = value }
        if let value = declaration.rateEnabled { denyByRequestRate = value }
        if let value = declaration.maxRequests { maxRequests = value }
        if let value = declaration.requestIntervalMilliseconds { requestIntervalMilliseconds = value }
    }
}

/// `overrideMode` / `allowOverride` on a `<location>`.
enum IISOverrideMode: Sendable, Hashable {
    case allow
    case deny
    case inherit
}

/// A block of configuration: the file's top level, or one `<location>`.
struct IISBlock: Sendable, Hashable {
    /// The `<location path>` as written, or `nil` for the top level of the file.
    var locationPath: String?
    var overrideMode: IISOverrideMode = .inherit
    var location: SourceLocation
    var ipSecurity: [IISSectionDeclaration] = []
    var dynamic: [IISDynamicDeclaration] = []
}

/// One parsed IIS configuration file.
struct IISDocument: Sendable, Hashable {
    var path: String
    var isApplicationHost: Bool
    /// `overrideModeDefault` of the `ipSecurity` registration, when the file registers it.
    var ipSecurityOverrideModeDefault: IISOverrideMode?
    var registrationLocation: SourceLocation?
    var blocks: [IISBlock] = []
    /// The `<location>` tags that set both `overrideMode` and `allowOverride`, which IIS refuses
    /// (spec §1.7): the whole file is a configuration error.
    var overrideConflicts: [SourceLocation] = []
    /// Unknown elements and attributes, and impossible values, where Gatewatch reads: IIS cannot
    /// read the file and answers every request it governs with 500.19.
    var configErrors: [PolicyError] = []
}
