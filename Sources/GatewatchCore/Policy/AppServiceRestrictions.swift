import Foundation

/// One App Service access restriction (`IpSecurityRestriction`, spec §2.2).
struct AppServiceRule: Sendable {
    enum Source: Sendable {
        /// `Any`.
        case any
        /// IP blocks (comma list; a bare IPv4 with `subnetMask` may be non-contiguous).
        case addresses([MaskedAddress])
        /// Service tags; `unresolved` lists the names the tags file lacks, and when it is not empty
        /// `blocks` is empty: the rule never matches (D22.2).
        case serviceTags(names: [String], blocks: [CIDR], unresolved: [String])
        /// A VNet service-endpoint rule (`vnetSubnetResourceId` or `AnyVnets`; D18).
        case virtualNetwork
        /// Legacy `XffProxy`: matches X-Forwarded-For elements (D19).
        case forwardedFor([MaskedAddress])
    }

    var name: String
    var priority: Int
    var arrayIndex: Int
    var allows: Bool
    var source: Source
    /// Header filters, lower-cased names; an empty value list matches anything.
    var headers: [(name: String, values: [String])]
    var location: SourceLocation
    var rawAddress: String

    /// The rule reference shown to users.
    var reference: String {
        "\(location.file):\(location.line) '\(name)' (priority \(priority))"
    }
}

/// One rule list (main site or SCM) with its unmatched action.
struct AppServiceRuleList: Sendable {
    /// Rules in evaluation order (ascending priority, stable on array order).
    var rules: [AppServiceRule]
    /// The action when nothing matches.
    var unmatchedAllows: Bool
    /// `implicit-allow-all`, `implicit-deny-all`, or `unmatched-rule(Allow|Deny)`.
    var unmatchedName: String
}

/// App Service access restrictions as `az webapp config access-restriction show` prints them, or
/// the ARM `siteConfig` shape.
struct AppServiceRestrictions: Sendable {
    var main: AppServiceRuleList
    var scm: AppServiceRuleList
    var scmUsesMain: Bool
    var path: String
    var findings: [LintFinding] = []
    /// Unknown keys, in the rule objects, their headers, and near-misses of the site-level keys read.
    var configErrors: [PolicyError] = []

    /// The site-level keys read; ARM's `siteConfig` has many more, so only near-misses of these
    /// (`ipSecurityRestrictionDefaultAction`, `ScmIpSecurityRestrictionsUseMain`) are errors.
    static let siteKeys = [
        "ipSecurityRestrictions", "ipSecurityRestrictionsDefaultAction", "scmIpSecurityRestrictions",
        "scmIpSecurityRestrictionsDefaultAction", "scmIpSecurityRestrictionsUseMain",
    ]
    static let ruleKeys = [
        "ipAddress", "subnetMask", "vnetSubnetResourceId", "vnetTrafficTag", "subnetTrafficTag", "action", "tag",
        "priority", "name", "description", "headers",
    ]
    static let headerNames = ["x-forwarded-host", "x-forwarded-for", "x-azure-fdid", "x-fd-healthprobe"]
    /// The most addresses, blocks or service tags one rule's `ipAddress` may list (spec §2.3, D17).
    static let maximumListed = 8

    /// Finds the object holding `ipSecurityRestrictions` in the accepted shapes.
    static func siteConfig(in object: Any) -> [String: Any]? {
        if let array = object as? [Any] { return ["ipSecurityRestrictions": array] }
        guard let dictionary = object as? [String: Any] else { return nil }
        if dictionary["ipSecurityRestrictions"] != nil || dictionary["scmIpSecurityRestrictions"] != nil {
            return dictionary
        }
        for key in ["properties", "siteConfig"] {
            if let inner = dictionary[key], let found = siteConfig(in: inner) { return found }
        }
        if let resources = dictionary["resources"] as? [Any] {
            for resource in resources {
                if let found = siteConfig(in: resource) { return found }
            }
        }
        return nil
    }

    init(config: [String: Any], text: String, path: String, serviceTags: ServiceTags?) throws(PolicyError) {
        self.path = path
        var occurrences: [String: Int] = [:]
        var findings: [LintFinding] = []
        var problems: [PolicyError] = []
        for key in config.keys.sorted() where !Self.siteKeys.contains(key) {
            let lowered = key.lowercased()
            if lowered.contains("restriction") || lowered.contains("ipsecurity")
                || Self.siteKeys.contains(where: { IISParser.isNearMiss(key, of: $0) })
            {
                problems.append(
                    .unknownKey(
                        PolicyFile.location(of: "\"\(key)\"", in: text, path: path),
                        object: "siteConfig",
                        key: key,
                        known: Self.siteKeys
                    )
                )
            }
        }
        func list(_ key: String, _ defaultKey: String) throws(PolicyError) -> AppServiceRuleList {
            var rules: [AppServiceRule] = []
            let raw = config[key] as? [Any] ?? []
            for (index, item) in raw.enumerated() {
                guard let object = item as? [String: Any] else {
                    throw .malformedJSON(
                        PolicyFile.location(of: "\"\(key)\"", in: text, path: path),
                        reason: "'\(key)' item \(index) is not an object"
                    )
                }
                let nameKey = (object["name"] as? String).map { "\"\($0)\"" } ?? "\"ipAddress\""
                let occurrence = occurrences[nameKey, default: 0]
                occurrences[nameKey] = occurrence + 1
                let location = PolicyFile.location(of: nameKey, occurrence: occurrence, in: text, path: path)
                if let rule = try Self.rule(
                    object,
                    index: index,
                    location: location,
                    serviceTags: serviceTags,
                    findings: &findings,
                    problems: &problems,
                    text: text
                ) {
                    rules.append(rule)
                }
            }
            // Stable sort on priority, ties in array order (doc S27).
            rules = rules.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }
                .map(\.element)
            let defaultAction = config[defaultKey] as? String
            switch defaultAction?.lowercased() {
            case "allow":
                return AppServiceRuleList(rules: rules, unmatchedAllows: true, unmatchedName: "unmatched-rule(Allow)")
            case "deny":
                return AppServiceRuleList(rules: rules, unmatchedAllows: false, unmatchedName: "unmatched-rule(Deny)")
            case nil:
                return rules.isEmpty
                    ? AppServiceRuleList(rules: rules, unmatchedAllows: true, unmatchedName: "implicit-allow-all")
                    : AppServiceRuleList(rules: rules, unmatchedAllows: false, unmatchedName: "implicit-deny-all")
            case let other?:
                throw .invalidValue(
                    PolicyFile.location(of: "\"\(defaultKey)\"", in: text, path: path),
                    attribute: defaultKey,
                    value: other,
                    expected: "'Allow', 'Deny' or null"
                )
            }
        }
        main = try list("ipSecurityRestrictions", "ipSecurityRestrictionsDefaultAction")
        scm = try list("scmIpSecurityRestrictions", "scmIpSecurityRestrictionsDefaultAction")
        scmUsesMain = config["scmIpSecurityRestrictionsUseMain"] as? Bool ?? false
        self.findings = findings
        configErrors = problems
    }

    /// Parses one rule; `nil` for a synthetic `Allow all`/`Deny all` row (D16).
    static func rule(
        _ object: [String: Any],
        index: Int,
        location: SourceLocation,
        serviceTags: ServiceTags?,
        findings: inout [LintFinding],
        problems: inout [PolicyError],
        text: String
    ) throws(PolicyError) -> AppServiceRule? {
        // The key's own line: the first occurrence at or after the rule's name.
        func keyLocation(_ key: String) -> SourceLocation {
            let found = PolicyFile.location(of: "\"\(key)\"", in: text, path: location.file)
            return found.line == 0 ? location : found
        }
        for key in object.keys.sorted() where !ruleKeys.contains(key) {
            problems.append(
                .unknownKey(keyLocation(key), object: "ipSecurityRestrictions[\(index)]", key: key, known: ruleKeys)
            )
        }
        let name = object["name"] as? String ?? "rule \(index)"
        let rawAddress = String((object["ipAddress"] as? String ?? "").trimmingWhitespace)
        let priority: Int
        if let value = object["priority"] {
            guard let number = value as? Int, number >= 0, number <= Int(Int32.max) else {
                throw .invalidValue(
                    location,
                    attribute: "priority",
                    value: "\(value)",
                    expected: "a whole number from 0 to 2147483647"
                )
            }
            priority = number
        } else {
            priority = Int(Int32.max)
        }
        let actionText = (object["action"] as? String) ?? "Allow"
        let allows: Bool
        switch actionText.lowercased() {
        case "allow": allows = true
        case "deny": allows = false
        default: throw .invalidValue(location, attribute: "action", value: actionText, expected: "'Allow' or 'Deny'")
        }
        let description = object["description"] as? String
        if rawAddress.lowercased() == "any", priority == 1 || priority == Int(Int32.max),
            (name == "Allow all" && description.map { $0 == "Allow all access" } ?? true)
                || (name == "Deny all" && description.map { $0 == "Deny all access" } ?? true)
        {
            return nil
        }
        let tagText = object["tag"] as? String ?? "Default"
        let tag = tagText.lowercased()
        guard ["default", "xffproxy", "servicetag"].contains(tag) else {
            throw .invalidValue(
                location,
                attribute: "tag",
                value: tagText,
                expected: "'Default', 'XffProxy' or 'ServiceTag'"
            )
        }
        var headers: [(String, [String])] = []
        if let rawHeaders = object["headers"], !(rawHeaders is NSNull) {
            guard let dictionary = rawHeaders as? [String: Any] else {
                throw .invalidValue(
                    location,
                    attribute: "headers",
                    value: "\(rawHeaders)",
                    expected: "an object of header name to value list"
                )
            }
            for (headerName, rawValues) in dictionary.sorted(by: { $0.key < $1.key }) {
                let lower = headerName.lowercased()
                guard headerNames.contains(lower) else {
                    problems.append(
                        .unknownKey(keyLocation(headerName), object: "headers", key: headerName, known: headerNames)
                    )
                    continue
                }
                let values = (rawValues as? [Any] ?? []).compactMap { $0 as? String }
                if lower == "x-forwarded-for" {
                    for value in values where CIDR(value) == nil {
                        throw .invalidValue(
                            location,
                            attribute: "headers.x-forwarded-for",
                            value: value,
                            expected: "CIDR blocks"
                        )
                    }
                }
                headers.append((lower, values))
            }
        }
        let listed = rawAddress.split(separator: ",").filter { !$0.trimmingWhitespace.isEmpty }.count
        if listed > maximumListed {
            findings.append(
                LintFinding(
                    severity: .warning,
                    code: "IPADDRESS_LIST_TOO_LONG",
                    location: location,
                    message: "rule '\(name)' lists \(listed) entries in ipAddress; App Service accepts at most "
                        + "\(maximumListed) addresses, blocks or service tags per rule; split it into rules of at most "
                        + "\(maximumListed) (all \(listed) are evaluated here)"
                )
            )
        }
        let source: AppServiceRule.Source
        let subnet = object["vnetSubnetResourceId"] as? String
        if let subnet, !subnet.isEmpty {
            source = .virtualNetwork
        } else if rawAddress.lowercased() == "anyvnets" {
            source = .virtualNetwork
        } else if rawAddress.lowercased() == "any" {
            source = .any
        } else if tag == "servicetag" {
            let names = rawAddress.split(separator: ",").map { String($0.trimmingWhitespace) }.filter { !$0.isEmpty }
            var blocks: [CIDR] = []
            var unresolved: [String] = []
            for tagName in names {
                if let found = serviceTags?.prefixes(of: tagName) {
                    blocks += found
                } else {
                    unresolved.append(tagName)
                }
            }
            // D22.2: one unknown tag makes the whole rule unresolvable; it never matches.
            source = .serviceTags(names: names, blocks: unresolved.isEmpty ? blocks : [], unresolved: unresolved)
        } else {
            let masked = try addresses(rawAddress, mask: object["subnetMask"] as? String, location: location)
            source = tag == "xffproxy" ? .forwardedFor(masked) : .addresses(masked)
            for item in masked where item.hadHostBits {
                findings.append(
                    LintFinding(
                        severity: .warning,
                        code: "HOST_BITS_SET",
                        location: location,
                        message: "rule '\(name)' lists \(item.text) with host bits set; it is matched as "
                            + "\(item.text); write the network address to make that explicit"
                    )
                )
            }
        }
        return AppServiceRule(
            name: name,
            priority: priority,
            arrayIndex: index,
            allows: allows,
            source: source,
            headers: headers,
            location: location,
            rawAddress: rawAddress
        )
    }

    static func addresses(
        _ text: String,
        mask: String?,
        location: SourceLocation
    ) throws(PolicyError) -> [MaskedAddress] {
        let items = text.split(separator: ",").map { String($0.trimmingWhitespace) }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            throw .invalidValue(
                location,
                attribute: "ipAddress",
                value: text,
                expected: "CIDR blocks, addresses, 'Any' or service tag names"
            )
        }
        var result: [MaskedAddress] = []
        for item in items {
            if !item.contains("/"), let mask, !mask.isEmpty, let address = IPAddress(item), address.isIPv4 {
                switch MaskedAddress.parseMask(mask, isIPv4: true) {
                case .mask(let value):
                    var masked = MaskedAddress(address: address, familyMask: value)
                    masked.hadHostBits = masked.network != address.value
                    result.append(masked)
                case .invalid:
                    throw .invalidValue(location, attribute: "subnetMask", value: mask, expected: "a dotted IPv4 mask")
                }
                continue
            }
            guard let block = CIDR(item) else {
                throw .invalidValue(
                    location,
                    attribute: "ipAddress",
                    value: item,
                    expected: "a CIDR block such as 203.0.113.0/24"
                )
            }
            result.append(MaskedAddress(block))
        }
        return result
    }
}
