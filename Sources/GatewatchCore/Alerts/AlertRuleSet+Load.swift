import Foundation
import Yams

/// Why a rules file could not be used.
public enum AlertRulesError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file cannot be read.
    case cannotRead(path: String, reason: String)
    /// The YAML is not well-formed.
    case malformedYAML(SourceLocation, reason: String)
    /// A key the rules file does not define.
    case unknownKey(SourceLocation, key: String, known: [String])
    /// A value of the wrong type or outside its range.
    case invalidValue(SourceLocation, key: String, value: String, expected: String)
    /// A required key is missing.
    case missingKey(SourceLocation, key: String, context: String)
    /// Two rules have the same name.
    case duplicateName(SourceLocation, name: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            "cannot read alert rules '\(path)': \(reason); check the path given with --rules"
        case .malformedYAML(let location, let reason):
            "\(location): malformed YAML: \(reason); fix the indentation or quoting"
        case .unknownKey(let location, let key, let known):
            "\(location): unknown key '\(key)'; use one of: \(known.joined(separator: ", "))"
        case .invalidValue(let location, let key, let value, let expected):
            "\(location): '\(PolicyError.clip(value))' is not a valid value for '\(key)'; use \(expected)"
        case .missingKey(let location, let key, let context):
            "\(location): \(context) has no '\(key)'; add it"
        case .duplicateName(let location, let name):
            "\(location): a rule named '\(name)' already exists; give each rule its own name"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

extension AlertRuleSet {
    /// The keys a rules file may contain at the top level.
    public static let topLevelKeys = ["anchor", "defaults", "rules", "sinks"]
    /// The keys a rule (or `defaults`) may contain.
    public static let ruleKeys = [
        "name", "kind", "severity", "window", "threshold", "group_by", "prefix_length", "prefix_length_v6", "prefixes",
        "include_blocked", "after", "measure", "min_lines", "cooldown", "digest", "max_messages", "ignore",
    ]
    /// The keys a sink may contain.
    public static let sinkKeys = [
        "type", "path", "url", "payload", "timeout", "retries", "backoff", "headers", "command",
    ]

    /// The rules file read when `--rules` is not given, if it exists in the working directory.
    public static let defaultFileName = "gatewatch-alerts.yaml"

    /// Loads a rules file.
    ///
    /// - Parameter path: The YAML file.
    /// - Returns: The rules and sinks.
    /// - Throws: ``AlertRulesError`` with file:line:column.
    public static func load(path: String) throws(AlertRulesError) -> AlertRuleSet {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .cannotRead(
                path: path,
                reason: (error as NSError).localizedFailureReason ?? "no such file or not readable"
            )
        }
        return try parse(text, path: path)
    }

    /// Parses a rules file.
    ///
    /// ```yaml
    /// anchor: data                # data (default) | now: where windows end
    /// defaults:                   # applied to every rule, before the rule's own keys
    ///   cooldown: 15m
    ///   ignore: { cidrs: [10.0.0.0/8], user_agents: [Pingdom], paths: [/health] }
    /// rules:
    ///   - name: served-direct
    ///     kind: served_direct     # served_direct | path_prefix | new_address | platform_denied | stalled | malformed_ratio
    ///     threshold: 1            # fires at this many served direct requests in the window
    ///     window: 5m
    ///     group_by: address       # none | address | cidr (prefix_length, prefix_length_v6)
    ///     digest: true            # one message per evaluation for all addresses
    /// sinks:
    ///   - type: stdout
    ///   - { type: webhook, url: "https://hooks.slack.com/services/…", payload: slack }
    /// ```
    ///
    /// - Parameters:
    ///   - text: The YAML.
    ///   - path: The file path, for errors.
    /// - Returns: The rules and sinks. Without a `rules` key the default rules apply (with
    ///   `defaults` applied to them); `rules: []` means no rules.
    /// - Throws: ``AlertRulesError``.
    public static func parse(_ text: String, path: String) throws(AlertRulesError) -> AlertRuleSet {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw .malformedYAML(
                GatewatchConfiguration.location(of: error, path: path),
                reason: GatewatchConfiguration.problem(error)
            )
        } catch {
            throw .malformedYAML(SourceLocation(file: path), reason: "\(error)")
        }
        var set = AlertRuleSet()
        set.path = path
        guard let root else { return set }
        let reader = RulesReader(path: path)
        let top = try reader.mapping(root, key: "(top level)")
        var defaultsNode: Node?
        var ruleNodes: [Node] = []
        var hasRulesKey = false
        for (keyNode, value) in top {
            let key = keyNode.string ?? ""
            switch key {
            case "anchor":
                set.anchor = try reader.choice(value, key: key)
            case "defaults":
                defaultsNode = value
            case "rules":
                hasRulesKey = true
                guard let sequence = value.sequence else {
                    if value.null != nil { continue }
                    throw .invalidValue(
                        reader.at(value),
                        key: key,
                        value: value.string ?? "…",
                        expected: "a list of rules"
                    )
                }
                ruleNodes = Array(sequence)
            case "sinks":
                guard let sequence = value.sequence else {
                    if value.null != nil { continue }
                    throw .invalidValue(
                        reader.at(value),
                        key: key,
                        value: value.string ?? "…",
                        expected: "a list of sinks"
                    )
                }
                for item in sequence { set.sinks.append(try reader.sink(item)) }
            default:
                throw .unknownKey(reader.at(keyNode), key: key, known: topLevelKeys)
            }
        }
        var names = Set<String>()
        for node in ruleNodes {
            let mapping = try reader.mapping(node, key: "rules")
            guard let kindNode = mapping["kind"] else {
                throw .missingKey(reader.at(node), key: "kind", context: "a rule")
            }
            let kind: AlertKind = try reader.choice(kindNode, key: "kind")
            let name =
                try mapping["name"].map { node throws(AlertRulesError) in try reader.string(node, key: "name") }
                ?? kind.rawValue.replacingOccurrences(of: "_", with: "-")
            guard names.insert(name).inserted else { throw .duplicateName(reader.at(node), name: name) }
            var rule = AlertRule(name: name, kind: kind)
            if let defaultsNode {
                for (keyNode, value) in try reader.mapping(defaultsNode, key: "defaults") {
                    let key = keyNode.string ?? ""
                    guard key != "name", key != "kind" else {
                        throw .unknownKey(
                            reader.at(keyNode),
                            key: key,
                            known: ruleKeys.filter { $0 != "name" && $0 != "kind" }
                        )
                    }
                    try reader.apply(key: key, keyNode: keyNode, value: value, to: &rule, strict: false)
                }
            }
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? ""
                guard key != "name", key != "kind" else { continue }
                try reader.apply(key: key, keyNode: keyNode, value: value, to: &rule, strict: true)
            }
            if kind == .pathPrefix, rule.prefixes.isEmpty {
                throw .missingKey(reader.at(node), key: "prefixes", context: "path_prefix rule '\(name)'")
            }
            set.rules.append(rule)
        }
        if !hasRulesKey {
            set.rules = defaults.rules
            if let defaultsNode {
                for index in set.rules.indices {
                    for (keyNode, value) in try reader.mapping(defaultsNode, key: "defaults") {
                        try reader.apply(
                            key: keyNode.string ?? "",
                            keyNode: keyNode,
                            value: value,
                            to: &set.rules[index],
                            strict: false
                        )
                    }
                }
            }
        }
        return set
    }
}

/// Reads typed values out of YAML nodes, with locations for errors.
private struct RulesReader {
    let path: String

    func at(_ node: Node) -> SourceLocation { GatewatchConfiguration.location(node, path) }

    func mapping(_ node: Node, key: String) throws(AlertRulesError) -> Node.Mapping {
        guard let mapping = node.mapping else {
            throw .invalidValue(
                at(node),
                key: key,
                value: node.string ?? "a list",
                expected: "a mapping of keys to values"
            )
        }
        return mapping
    }

    func string(_ node: Node, key: String) throws(AlertRulesError) -> String {
        guard let scalar = node.scalar else {
            throw .invalidValue(at(node), key: key, value: "a list or mapping", expected: "a single value")
        }
        return scalar.string
    }

    func strings(_ node: Node, key: String) throws(AlertRulesError) -> [String] {
        if let sequence = node.sequence {
            var result: [String] = []
            for item in sequence { result.append(try string(item, key: key)) }
            return result
        }
        return [try string(node, key: key)]
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, key: String) throws(AlertRulesError) -> T
    where T.RawValue == String {
        let text = try string(node, key: key)
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw .invalidValue(at(node), key: key, value: text, expected: "one of \(names)")
        }
        return value
    }

    func bool(_ node: Node, key: String) throws(AlertRulesError) -> Bool {
        guard let value = node.bool else {
            throw .invalidValue(at(node), key: key, value: node.string ?? "…", expected: "true or false")
        }
        return value
    }

    func integer(_ node: Node, key: String, range: ClosedRange<Int>) throws(AlertRulesError) -> Int {
        guard let value = node.int, range.contains(value) else {
            throw .invalidValue(
                at(node),
                key: key,
                value: node.string ?? "…",
                expected: "a whole number from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return value
    }

    func number(_ node: Node, key: String) throws(AlertRulesError) -> Double {
        var text = try string(node, key: key).trimmingCharacters(in: .whitespaces)
        var scale = 1.0
        if text.hasSuffix("%") {
            text.removeLast()
            scale = 0.01
        }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw .invalidValue(
                at(node),
                key: key,
                value: node.string ?? "…",
                expected: "a non-negative number (or a percentage such as 5%)"
            )
        }
        return value * scale
    }

    func seconds(_ node: Node, key: String) throws(AlertRulesError) -> Double {
        let text = try string(node, key: key)
        guard let value = AlertDuration.seconds(text) else {
            throw .invalidValue(at(node), key: key, value: text, expected: "a duration such as 30s, 5m, 2h or 1d")
        }
        return value
    }

    func apply(key: String, keyNode: Node, value: Node, to rule: inout AlertRule, strict: Bool) throws(AlertRulesError)
    {
        switch key {
        case "severity":
            let text = try string(value, key: key)
            guard ["critical", "warning", "info"].contains(text) else {
                throw .invalidValue(at(value), key: key, value: text, expected: "'critical', 'warning' or 'info'")
            }
            rule.severity = text
        case "window":
            let window = try seconds(value, key: key)
            guard window >= 1 else {
                throw .invalidValue(at(value), key: key, value: value.string ?? "", expected: "at least 1s")
            }
            rule.windowSeconds = Int64(window.rounded())
        case "threshold":
            rule.threshold = try number(value, key: key)
            if rule.kind == .malformedRatio, rule.threshold > 1 {
                throw .invalidValue(
                    at(value),
                    key: key,
                    value: value.string ?? "",
                    expected: "a fraction from 0 to 1 (or 0% to 100%)"
                )
            }
        case "group_by":
            rule.groupBy = try choice(value, key: key)
        case "prefix_length":
            rule.prefixLength = try integer(value, key: key, range: 0...32)
        case "prefix_length_v6":
            rule.prefixLengthV6 = try integer(value, key: key, range: 0...128)
        case "prefixes":
            rule.prefixes = try strings(value, key: key).filter { !$0.isEmpty }
        case "include_blocked":
            rule.includeBlocked = try bool(value, key: key)
        case "after":
            rule.afterSeconds = Int64(try seconds(value, key: key).rounded())
        case "measure":
            rule.measure = try choice(value, key: key)
        case "min_lines":
            rule.minimumLines = try integer(value, key: key, range: 0...Int.max)
        case "cooldown":
            rule.cooldownSeconds = Int64(try seconds(value, key: key).rounded())
        case "digest":
            rule.digest = try bool(value, key: key)
        case "max_messages":
            rule.maxMessages = try integer(value, key: key, range: 1...1000)
        case "ignore":
            for (ignoreKey, list) in try mapping(value, key: key) {
                let name = ignoreKey.string ?? ""
                switch name {
                case "cidrs", "addresses":
                    for item in list.sequence.map(Array.init) ?? [list] {
                        let text = try string(item, key: "ignore.\(name)")
                        guard let block = CIDR(text) else {
                            throw .invalidValue(
                                at(item),
                                key: "ignore.\(name)",
                                value: text,
                                expected: "an IP address or CIDR block such as 10.0.0.0/8"
                            )
                        }
                        rule.ignore.cidrs.append(block)
                    }
                case "user_agents":
                    rule.ignore.userAgents += try strings(list, key: "ignore.user_agents").filter { !$0.isEmpty }
                case "paths":
                    rule.ignore.paths += try strings(list, key: "ignore.paths").filter { !$0.isEmpty }
                default:
                    throw .unknownKey(at(ignoreKey), key: name, known: ["cidrs", "user_agents", "paths"])
                }
            }
        default:
            throw .unknownKey(at(keyNode), key: key, known: AlertRuleSet.ruleKeys)
        }
    }

    func sink(_ node: Node) throws(AlertRulesError) -> SinkConfiguration {
        if let scalar = node.scalar {
            guard scalar.string == "stdout" else {
                throw .invalidValue(
                    at(node),
                    key: "sinks",
                    value: scalar.string,
                    expected: "'stdout' or a mapping with 'type'"
                )
            }
            return .stdout
        }
        let mapping = try mapping(node, key: "sinks")
        for (keyNode, _) in mapping where !AlertRuleSet.sinkKeys.contains(keyNode.string ?? "") {
            throw .unknownKey(at(keyNode), key: keyNode.string ?? "", known: AlertRuleSet.sinkKeys)
        }
        guard let typeNode = mapping["type"] else { throw .missingKey(at(node), key: "type", context: "a sink") }
        let type = try string(typeNode, key: "type")
        switch type {
        case "stdout":
            return .stdout
        case "file":
            guard let pathNode = mapping["path"] else {
                throw .missingKey(at(node), key: "path", context: "a file sink")
            }
            return .file(path: resolve(try string(pathNode, key: "path")))
        case "webhook":
            guard let urlNode = mapping["url"] else {
                throw .missingKey(at(node), key: "url", context: "a webhook sink")
            }
            let url = try string(urlNode, key: "url")
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw .invalidValue(at(urlNode), key: "url", value: url, expected: "an http:// or https:// URL")
            }
            var settings = WebhookSettings(url: url)
            if let node = mapping["payload"] { settings.payload = try choice(node, key: "payload") }
            if let node = mapping["timeout"] { settings.timeoutSeconds = max(0.1, try seconds(node, key: "timeout")) }
            if let node = mapping["retries"] { settings.retries = try integer(node, key: "retries", range: 0...10) }
            if let node = mapping["backoff"] { settings.backoffSeconds = try seconds(node, key: "backoff") }
            if let node = mapping["headers"] {
                for (name, value) in try self.mapping(node, key: "headers") {
                    settings.headers[name.string ?? ""] = try string(value, key: "headers")
                }
            }
            return .webhook(settings)
        case "exec":
            guard let commandNode = mapping["command"] else {
                throw .missingKey(at(node), key: "command", context: "an exec sink")
            }
            let command = try strings(commandNode, key: "command")
            guard !command.isEmpty, !command[0].isEmpty else {
                throw .invalidValue(at(commandNode), key: "command", value: "", expected: "a program and its arguments")
            }
            var settings = ExecSettings(command: command)
            if let node = mapping["timeout"] { settings.timeoutSeconds = max(0.1, try seconds(node, key: "timeout")) }
            return .exec(settings)
        default:
            throw .invalidValue(
                at(typeNode),
                key: "type",
                value: type,
                expected: "'stdout', 'file', 'webhook' or 'exec'"
            )
        }
    }

    func resolve(_ file: String) -> String {
        let base = (path as NSString).deletingLastPathComponent
        if file.hasPrefix("/") || base.isEmpty { return file }
        return (base as NSString).appendingPathComponent(file)
    }
}

/// Durations in rules files and options: `30s`, `5m`, `2h`, `1d`, `500ms`, or plain seconds.
public enum AlertDuration {
    /// Parses a duration.
    ///
    /// - Parameter text: `30s`, `5m`, `2h`, `1d`, `1w`, `500ms`, or a number of seconds.
    /// - Returns: Seconds, or `nil` when the text is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [
            ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
            return value * scale
        }
        guard let value = Double(trimmed), value.isFinite, value >= 0 else { return nil }
        return value
    }

    /// Formats seconds the way rules files write them (`90s`, `5m`, `2h`, `1d`).
    ///
    /// - Parameter seconds: Whole seconds.
    /// - Returns: The shortest exact form.
    public static func format(_ seconds: Int64) -> String {
        if seconds > 0, seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds > 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0, seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
