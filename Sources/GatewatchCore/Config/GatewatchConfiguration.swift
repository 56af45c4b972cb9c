import Foundation
import Yams

/// Why `gatewatch.yaml` could not be used.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file cannot be read.
    case cannotRead(path: String, reason: String)
    /// The YAML is not well-formed.
    case malformedYAML(SourceLocation, reason: String)
    /// A key the configuration does not define.
    case unknownKey(SourceLocation, key: String, known: [String])
    /// A value of the wrong type or outside its range.
    case invalidValue(SourceLocation, key: String, value: String, expected: String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            "cannot read configuration '\(path)': \(reason); check the path given with --config"
        case .malformedYAML(let location, let reason):
            "\(location): malformed YAML: \(reason); fix the indentation or quoting"
        case .unknownKey(let location, let key, let known):
            "\(location): unknown key '\(key)'; use one of: \(known.joined(separator: ", "))"
        case .invalidValue(let location, let key, let value, let expected):
            "\(location): '\(PolicyError.clip(value))' is not a valid value for '\(key)'; use \(expected)"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// Where a gateway block of `gatewatch.yaml` was written, and its text as written.
public struct GatewaySource: Sendable, Equatable {
    /// The line and column of the value.
    public var location: SourceLocation
    /// The value as written (`20.50.10.4/0`).
    public var text: String
}

/// The contents of `gatewatch.yaml`: everything `ingest`, `check`, `lint` and later commands need
/// besides the logs, so that they need no long flag lists.
///
/// Precedence, highest first: **command-line flags**, then **the configuration file** (named by
/// `--config`, else `gatewatch.yaml` / `gatewatch.yml` in the working directory), then **the
/// defaults** below. A flag that can repeat (`--policy`, `--gateway`) replaces the file's whole
/// list rather than adding to it. Relative paths in the file are relative to the file's directory;
/// `~/…` is the home directory. A key whose value is YAML null (`db: ~`, `db: null`, `db:`) is
/// unset: the default applies. `db:` takes a SQLite path, `sqlite:PATH` or a server URL (see ``StoreLocation``),
/// which is used as it is (never as a path) and printed without its password.
///
/// ```yaml
/// policy: [web.config]                 # or one string; parent first
/// service_tags: ServiceTags_Public_20250101.json
/// gateways: [20.50.10.0/28]
/// iis_version: 10                      # 6, 7, 8 or 10
/// profile: iis                         # iis | appservice
/// site: Default Web Site               # applicationHost.config <location path> site name
/// client_ip: c-ip                      # c-ip | xff-leftmost | xff-rightmost-untrusted
/// trusted_proxies: [10.0.0.0/8]
/// platform_rules: platform.yaml
/// reverse_dns: { 198.51.100.7: host.example.com }   # for domainName entries (D6)
/// xff_invalid: reject                  # reject (400.10) | ignore: a non-address XFF element (D8.4)
/// evidence: sample                     # sample (first 100 + latest per address/day/outcome) | 250 | all | none
/// names: { 20.50.10.4: apim-prod }
/// db: gatewatch.db
/// ```
public struct GatewatchConfiguration: Sendable, Equatable {
    /// The file this came from, or `nil` for the defaults.
    public var path: String?
    /// Policy files, parent first (resolved against the file's directory).
    public var policyFiles: [String] = []
    /// A `ServiceTags_*.json` file.
    public var serviceTags: String?
    /// Gateway addresses.
    public var gateways: [CIDR] = []
    /// The IIS profile (version and App Service).
    public var profile: IISProfile = .iis10
    /// The IIS site name for `applicationHost.config` locations.
    public var siteName: String?
    /// Which address is the client.
    public var clientAddress: ClientAddressSource = .clientIP
    /// Proxies whose `X-Forwarded-For` additions are trusted.
    public var trustedProxies: [CIDR] = []
    /// A file of platform-traffic rules.
    public var platformRules: String?
    /// Display names for addresses or blocks (`20.50.10.4: apim-prod`).
    public var addressNames: [String: String] = [:]
    /// The database: a `--db` value (see ``StoreLocation``).
    public var database: String?
    /// Where each gateway of the file was written, and how (for errors about it).
    public var gatewaySources: [CIDR: GatewaySource] = [:]
    /// Whether a gateway block with host bits set (`20.50.10.4/28`) or one covering every
    /// address (`/0`) is taken as written (`--force-gateway`) instead of refused.
    public var forcesGateways = false
    /// Whether unknown configuration in the policy files is taken as IIS would take it instead of
    /// refused (`--accept-config-errors`; see ``PolicyLoadOptions/acceptsConfigurationErrors``).
    public var acceptsConfigurationErrors = false
    /// Reverse DNS names of client addresses, for `domainName` entries under
    /// `enableReverseDns="true"` (spec D6: without a name such a request is indeterminate).
    public var reverseDNS: [IPAddress: String] = [:]
    /// Whether an `X-Forwarded-For` element that is not an address gets `400.10` in proxy mode
    /// (`xff_invalid: reject`, the default) or is ignored (`ignore`); spec D8.4.
    public var rejectsInvalidForwardedFor = true
    /// Which direct requests become `evidence` rows (`evidence:`; `--evidence` overrides).
    public var evidence: EvidenceMode = .default

    /// The keys the file may contain.
    public static let knownKeys = [
        "policy", "service_tags", "gateways", "iis_version", "profile", "site", "client_ip", "trusted_proxies",
        "platform_rules", "names", "db", "reverse_dns", "xff_invalid", "evidence",
    ]

    /// The file names ``discover(in:)`` looks for, in order.
    public static let fileNames = ["gatewatch.yaml", "gatewatch.yml"]

    /// The defaults (no file).
    public init() {}

    /// Loads a configuration file.
    ///
    /// - Parameter path: The YAML file.
    /// - Returns: The configuration, paths resolved against the file's directory.
    /// - Throws: ``ConfigurationError`` with file:line:column for malformed YAML, unknown keys and bad values.
    public static func load(path: String) throws(ConfigurationError) -> GatewatchConfiguration {
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

    /// Looks for `gatewatch.yaml` (or `.yml`) in a directory.
    ///
    /// - Parameter directory: The directory, usually the working directory.
    /// - Returns: The configuration, or `nil` when there is no file.
    /// - Throws: ``ConfigurationError`` when a file exists but is invalid.
    public static func discover(in directory: String) throws(ConfigurationError) -> GatewatchConfiguration? {
        for name in fileNames {
            let candidate = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate) { return try load(path: candidate) }
        }
        return nil
    }

    /// Parses configuration text.
    ///
    /// - Parameters:
    ///   - text: The YAML.
    ///   - path: The file path, for errors and relative paths.
    /// - Returns: The configuration.
    /// - Throws: ``ConfigurationError``.
    public static func parse(_ text: String, path: String) throws(ConfigurationError) -> GatewatchConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw .malformedYAML(Self.location(of: error, path: path), reason: Self.problem(error))
        } catch {
            throw .malformedYAML(SourceLocation(file: path), reason: "\(error)")
        }
        var configuration = GatewatchConfiguration()
        configuration.path = path
        guard let root else { return configuration }
        guard let mapping = root.mapping else {
            throw .invalidValue(
                Self.location(root, path),
                key: "(top level)",
                value: root.string ?? "…",
                expected: "a mapping of keys to values"
            )
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            if file == "~" || file.hasPrefix("~/") {
                // $HOME first, as a shell expands it; the password database only without one.
                let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
                return (home ?? NSHomeDirectory()) + file.dropFirst()
            }
            if file.hasPrefix("/") || base.isEmpty { return file }
            return (base as NSString).appendingPathComponent(file)
        }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            let at = Self.location(value, path)
            // `db: ~` is YAML null, not a file named '~': the key is unset.
            if value.null != nil, Self.knownKeys.contains(key) { continue }
            switch key {
            case "policy":
                configuration.policyFiles = try strings(value, key: key, path: path).map(resolve)
            case "service_tags":
                configuration.serviceTags = resolve(try string(value, key: key, path: path))
            case "gateways":
                configuration.gateways = try blocks(value, key: key, path: path)
                for (block, item) in zip(configuration.gateways, value.sequence.map(Array.init) ?? [value]) {
                    configuration.gatewaySources[block] = GatewaySource(
                        location: Self.location(item, path),
                        text: item.string ?? block.description
                    )
                }
            case "trusted_proxies":
                configuration.trustedProxies = try blocks(value, key: key, path: path)
            case "iis_version":
                guard let version = value.int, [6, 7, 8, 10].contains(version) else {
                    throw .invalidValue(at, key: key, value: value.string ?? "…", expected: "6, 7, 8 or 10")
                }
                configuration.profile.version = version
            case "profile":
                switch try string(value, key: key, path: path).lowercased() {
                case "iis": configuration.profile.isAppService = false
                case "appservice", "app-service": configuration.profile.isAppService = true
                default:
                    throw .invalidValue(at, key: key, value: value.string ?? "…", expected: "'iis' or 'appservice'")
                }
            case "site":
                configuration.siteName = try string(value, key: key, path: path)
            case "client_ip":
                let text = try string(value, key: key, path: path)
                guard let source = ClientAddressSource(rawValue: text) else {
                    throw .invalidValue(
                        at,
                        key: key,
                        value: text,
                        expected: "'c-ip', 'xff-leftmost' or 'xff-rightmost-untrusted'"
                    )
                }
                configuration.clientAddress = source
            case "platform_rules":
                configuration.platformRules = resolve(try string(value, key: key, path: path))
            case "names":
                let names = try textMapping(value, key: key, path: path, keys: "an address or CIDR block") {
                    CIDR($0) != nil
                }
                for (address, name) in names { configuration.addressNames[address] = name }
            case "db":
                configuration.database = try database(try string(value, key: key, path: path), at: at, resolve: resolve)
            case "reverse_dns":
                let names = try textMapping(value, key: key, path: path, keys: "an IP address") {
                    IPAddress($0) != nil
                }
                for (address, name) in names {
                    if let parsed = IPAddress(address) { configuration.reverseDNS[parsed] = name }
                }
            case "xff_invalid":
                switch try string(value, key: key, path: path).lowercased() {
                case "reject": configuration.rejectsInvalidForwardedFor = true
                case "ignore": configuration.rejectsInvalidForwardedFor = false
                default:
                    throw .invalidValue(at, key: key, value: value.string ?? "…", expected: "'reject' or 'ignore'")
                }
            case "evidence":
                let text = try string(value, key: key, path: path)
                if let cap = Int(text), cap > 0 {
                    configuration.evidence = .sample(cap: cap)
                } else if let mode = EvidenceMode(text), !text.contains(" ") {
                    configuration.evidence = mode
                } else {
                    throw .invalidValue(
                        at,
                        key: key,
                        value: text,
                        expected: EvidenceMode.accepted + ", or a number N to sample with that cap"
                    )
                }
            default:
                throw .unknownKey(Self.location(keyNode, path), key: key, known: knownKeys)
            }
        }
        return configuration
    }

    /// A `db:` value: a URL as it is, `sqlite:PATH` and plain paths resolved against the file;
    /// `nil` for an empty value.
    static func database(
        _ text: String,
        at location: SourceLocation,
        resolve: (String) -> String
    ) throws(ConfigurationError) -> String? {
        // `db: ""` would resolve to the file's own directory; like null, it leaves the default.
        if text.trimmingWhitespace.isEmpty { return nil }
        if text.hasPrefix("sqlite:") { return "sqlite:" + resolve(String(text.dropFirst("sqlite:".count))) }
        if StoreLocation.isServerURL(text) { return text }
        if let problem = StoreLocation.urlProblem(text) {
            throw .invalidValue(
                location,
                key: "db",
                value: StoreLocation.redacted(text),
                expected: "\(StoreLocation.acceptedForms) (\(problem))"
            )
        }
        return resolve(text)
    }

    /// Refuses gateway blocks that are probably mistakes, unless ``forcesGateways``: host bits
    /// set (`20.50.10.4/28` would silently mean `20.50.10.0/28`) or a `/0` (every client would
    /// count as the gateway, so no direct access is ever seen).
    ///
    /// - Throws: ``ConfigurationError/invalidValue(_:key:value:expected:)`` naming where the
    ///   block was written (the file's line, or `--gateway`).
    public func checkGateways() throws(ConfigurationError) {
        guard !forcesGateways else { return }
        for block in gateways {
            guard let problem = Self.gatewayProblem(block) else { continue }
            let source = gatewaySources[block]
            throw .invalidValue(
                source?.location ?? SourceLocation(file: "--gateway"),
                key: "gateways",
                value: source?.text ?? block.description,
                expected: "\(problem); write the block you mean, or pass --force-gateway to take it as written"
            )
        }
    }

    /// What is suspicious about a gateway block, if anything.
    package static func gatewayProblem(_ block: CIDR) -> String? {
        if block.prefixLength == 0 {
            return "a block that is not /0 (/0 makes every client the gateway, so direct access is never seen)"
        }
        if block.hadHostBits {
            return "the network address \(block.network)/\(block.prefixLength) or the single address with /32 or "
                + "/128 (host bits are set: it would silently mean \(block))"
        }
        return nil
    }

    /// Lint findings for forced gateway blocks (`GATEWAY_MATCHES_ALL`, `GATEWAY_HOST_BITS`).
    ///
    /// - Returns: One finding per suspicious block.
    public func gatewayFindings() -> [LintFinding] {
        gateways.compactMap { block in
            let location = gatewaySources[block]?.location ?? SourceLocation(file: "--gateway")
            let text = gatewaySources[block]?.text ?? block.description
            if block.prefixLength == 0 {
                return LintFinding(
                    severity: .error,
                    code: "GATEWAY_MATCHES_ALL",
                    location: location,
                    message: "gateway \(block) covers every address: every client counts as the gateway and no "
                        + "direct access is ever reported; list the gateway's own addresses"
                )
            }
            guard block.hadHostBits else { return nil }
            return LintFinding(
                severity: .warning,
                code: "GATEWAY_HOST_BITS",
                location: location,
                message: "gateway '\(text)' has host bits set and is taken as \(block); write \(block) "
                    + "or the single address"
            )
        }
    }

    /// Applies command-line values over this configuration (flags win; a non-empty repeatable
    /// flag replaces the whole list).
    ///
    /// - Parameters:
    ///   - policyFiles: `--policy` values.
    ///   - serviceTags: `--service-tags`.
    ///   - gateways: `--gateway` values.
    ///   - iisVersion: `--iis-version`.
    ///   - isAppService: `--appservice` / profile flag, when given.
    /// - Returns: The effective configuration.
    public func overriding(
        policyFiles: [String] = [],
        serviceTags: String? = nil,
        gateways: [CIDR] = [],
        iisVersion: Int? = nil,
        isAppService: Bool? = nil
    ) -> GatewatchConfiguration {
        var result = self
        if !policyFiles.isEmpty { result.policyFiles = policyFiles }
        if let serviceTags { result.serviceTags = serviceTags }
        if !gateways.isEmpty { result.gateways = gateways }
        if let iisVersion { result.profile.version = iisVersion }
        if let isAppService { result.profile.isAppService = isAppService }
        return result
    }

    /// Loads the policy this configuration describes.
    ///
    /// - Returns: The compiled policy.
    /// - Throws: ``PolicyError`` from the loaders.
    public func loadPolicy() throws(PolicyError) -> Policy {
        var options = PolicyLoadOptions(
            profile: profile,
            siteName: siteName,
            reverseDNS: reverseDNS,
            rejectsInvalidForwardedFor: rejectsInvalidForwardedFor
        )
        options.acceptsConfigurationErrors = acceptsConfigurationErrors
        return try Policy.load(
            policyFiles: policyFiles,
            serviceTags: serviceTags,
            gateways: gateways,
            options: options
        )
    }

    /// The effective configuration as YAML (what `gatewatch config show` prints).
    public var yaml: String {
        func list(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }
        func quoted(_ text: String) -> String {
            "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
        var lines = ["# effective configuration (\(path.map { "from '\($0)'" } ?? "defaults"); flags override)"]
        lines.append("policy: \(list(policyFiles))")
        lines.append("service_tags: \(serviceTags.map(quoted) ?? "null")")
        lines.append("gateways: \(list(gateways.map(\.description)))")
        lines.append("iis_version: \(profile.version)")
        lines.append("profile: \(profile.isAppService ? "appservice" : "iis")")
        lines.append("site: \(siteName.map(quoted) ?? "null")")
        lines.append("client_ip: \(clientAddress.rawValue)")
        lines.append("trusted_proxies: \(list(trustedProxies.map(\.description)))")
        lines.append("platform_rules: \(platformRules.map(quoted) ?? "null")")
        func mapping(_ key: String, _ entries: [(String, String)]) {
            lines.append(entries.isEmpty ? "\(key): {}" : "\(key):")
            for (address, name) in entries.sorted(by: { $0.0 < $1.0 }) {
                lines.append("  \(quoted(address)): \(quoted(name))")
            }
        }
        mapping("names", addressNames.map { ($0.key, $0.value) })
        lines.append("db: \(database.map { quoted(StoreLocation.redacted($0)) } ?? "null")")
        mapping("reverse_dns", reverseDNS.map { ($0.key.description, $0.value) })
        lines.append("xff_invalid: \(rejectsInvalidForwardedFor ? "reject" : "ignore")")
        switch evidence {
        case .sample(let cap): lines.append("evidence: \(cap == EvidenceMode.defaultCap ? "sample" : String(cap))")
        case .all, .none: lines.append("evidence: \(evidence)")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Node helpers

    static func location(_ node: Node, _ path: String) -> SourceLocation {
        SourceLocation(file: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    static func location(of error: YamlError, path: String) -> SourceLocation {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            SourceLocation(file: path, line: mark.line, column: mark.column)
        default:
            SourceLocation(file: path)
        }
    }

    static func problem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            problem
        default:
            "\(error)"
        }
    }

    /// The entries of a mapping whose values are single texts (`names`, `reverse_dns`), each key
    /// checked by `valid` (described by `keys` in the error).
    static func textMapping(
        _ node: Node,
        key: String,
        path: String,
        keys: String,
        valid: (String) -> Bool
    ) throws(ConfigurationError) -> [(String, String)] {
        guard let mapping = node.mapping else {
            throw .invalidValue(
                location(node, path),
                key: key,
                value: node.string ?? "…",
                expected: "a mapping of \(keys) to a name"
            )
        }
        var entries: [(String, String)] = []
        for (keyNode, valueNode) in mapping {
            let text = keyNode.string ?? ""
            guard valid(text) else {
                throw .invalidValue(location(keyNode, path), key: key, value: text, expected: "\(keys) as the key")
            }
            entries.append((text, try string(valueNode, key: "\(key).\(text)", path: path)))
        }
        return entries
    }

    static func string(_ node: Node, key: String, path: String) throws(ConfigurationError) -> String {
        guard let scalar = node.scalar else {
            throw .invalidValue(location(node, path), key: key, value: "a list or mapping", expected: "a single value")
        }
        return scalar.string
    }

    static func strings(_ node: Node, key: String, path: String) throws(ConfigurationError) -> [String] {
        if let sequence = node.sequence {
            var result: [String] = []
            for item in sequence { result.append(try string(item, key: key, path: path)) }
            return result
        }
        return [try string(node, key: key, path: path)]
    }

    static func blocks(_ node: Node, key: String, path: String) throws(ConfigurationError) -> [CIDR] {
        var result: [CIDR] = []
        let items = node.sequence.map(Array.init) ?? [node]
        for item in items {
            let text = try string(item, key: key, path: path)
            guard let block = CIDR(text) else {
                throw .invalidValue(
                    location(item, path),
                    key: key,
                    value: text,
                    expected: "an IP address or CIDR block such as 20.50.10.0/28"
                )
            }
            result.append(block)
        }
        return result
    }
}
