import Foundation
import Yams

/// Why a platform rules file could not be used.
public enum PlatformRulesError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The file could not be read.
    case unreadable(path: String)
    /// The YAML is malformed or has unknown keys or bad values.
    case invalid(path: String, message: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .unreadable(let path):
            "cannot read platform rules '\(path)'; check the path"
        case .invalid(let path, let message):
            "platform rules '\(path)': \(message); see README, section 'Platform traffic'"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

extension PlatformRules {
    /// Loads editable platform rules from YAML; keys left out keep their defaults.
    ///
    /// ```yaml
    /// user_agents: [AlwaysOn, SiteWarmup]            # exact matches
    /// user_agent_prefixes: ["ReadyForRequest/1.0", "HealthCheck/", "IIS Application Initialization"]
    /// addresses: [168.63.129.16]                     # addresses or CIDR blocks
    /// ```
    ///
    /// - Parameter path: The YAML file.
    /// - Returns: The rules.
    /// - Throws: ``PlatformRulesError``.
    public static func load(path: String) throws -> PlatformRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlatformRulesError.unreadable(path: path)
        }
        let text = String(decoding: data, as: UTF8.self)
        let object: Any?
        do {
            object = try Yams.load(yaml: text)
        } catch {
            throw PlatformRulesError.invalid(path: path, message: "not valid YAML (\(error))")
        }
        var rules = PlatformRules()
        guard let object else { return rules }
        guard let mapping = object as? [String: Any] else {
            throw PlatformRulesError.invalid(
                path: path,
                message: "expected a mapping of user_agents, user_agent_prefixes, addresses"
            )
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = mapping[key] else { return nil }
            guard let list = value as? [Any] else {
                throw PlatformRulesError.invalid(path: path, message: "'\(key)' must be a list")
            }
            return list.map { "\($0)" }
        }
        for key in mapping.keys where !["user_agents", "user_agent_prefixes", "addresses"].contains(key) {
            throw PlatformRulesError.invalid(path: path, message: "unknown key '\(key)'")
        }
        if let exact = try strings("user_agents") { rules.exactUserAgents = exact }
        if let prefixes = try strings("user_agent_prefixes") { rules.userAgentPrefixes = prefixes }
        if let addresses = try strings("addresses") {
            var blocks: [CIDR] = []
            for text in addresses {
                guard let block = CIDR(text) else {
                    throw PlatformRulesError.invalid(path: path, message: "'\(text)' is not an address or CIDR block")
                }
                blocks.append(block)
            }
            rules.addresses = CIDRSet(blocks)
        }
        return rules
    }
}
