/// What an alert rule looks for.
public enum AlertKind: String, Sendable, Codable, CaseIterable {
    /// At least `threshold` served direct requests in the window, overall, per address or per CIDR block.
    case servedDirect = "served_direct"
    /// Any served direct request whose path starts with one of `prefixes`.
    case pathPrefix = "path_prefix"
    /// A direct address whose first direct request ever falls in the window.
    case newAddress = "new_address"
    /// Platform traffic (Always On, health checks, probes) that the allowlist would deny.
    case platformDenied = "platform_denied"
    /// No ledger activity (or no new data, with `measure: data`) for `after`.
    case stalled
    /// Malformed lines over `threshold` (a fraction) of the lines ingested in the window.
    case malformedRatio = "malformed_ratio"
    /// Gateway traffic fell away while a new blocked direct caller that is API Management (its
    /// service tag, or its requests match the gateway's logs) appeared: the gateway's outbound
    /// address changed. Fires once per old/new pair.
    case gatewayDrift = "gateway_drift"
}

/// How a rule groups the requests it counts: one count overall, per address, or per CIDR block.
public enum AlertGrouping: String, Sendable, Codable, CaseIterable {
    /// One count for all addresses.
    case none
    /// One count per client address.
    case address
    /// One count per CIDR block (`prefix_length`, `prefix_length_v6`).
    case cidr
}

/// What `stalled` measures.
public enum StallMeasure: String, Sendable, Codable, CaseIterable {
    /// Time since the ledger last changed (a file was ingested or grew).
    case ingest
    /// Time since the newest request time in the store.
    case data
}

/// Where an evaluation's window ends.
public enum WindowAnchor: String, Sendable, Codable, CaseIterable {
    /// At the newest request time in the store (the default: replays and late logs alert as if live).
    case data
    /// At the wall-clock time of the evaluation.
    case now
}

/// Requests a rule never alerts on.
public struct AlertIgnoreList: Sendable, Equatable {
    /// Client addresses or blocks.
    public var cidrs: [CIDR] = []
    /// User-agent substrings (as logged: IIS writes spaces as `+`; case-sensitive).
    public var userAgents: [String] = []
    /// URI stem prefixes (case-insensitive, as IIS matches paths).
    public var paths: [String] = []

    /// An empty list.
    public init() {}

    /// Whether nothing is ignored.
    public var isEmpty: Bool { cidrs.isEmpty && userAgents.isEmpty && paths.isEmpty }
}

/// One alert rule.
///
/// Rules come from a YAML file (see ``AlertRuleSet/parse(_:path:)``) or from
/// ``AlertRuleSet/defaults``. Every rule has a name (unique, the de-duplication key), a kind and
/// the settings of its kind; settings that do not apply to a kind are rejected by the loader.
public struct AlertRule: Sendable, Equatable {
    /// The rule's unique name.
    public var name: String
    /// What the rule looks for.
    public var kind: AlertKind
    /// `critical`, `warning` or `info`; shown in messages.
    public var severity: String = "warning"
    /// The window, in seconds.
    public var windowSeconds: Int64 = 300
    /// The count that fires (`served_direct`, `platform_denied`), or the fraction (`malformed_ratio`).
    public var threshold: Double = 1
    /// `served_direct`: how requests are grouped.
    public var groupBy: AlertGrouping = .address
    /// `cidr` grouping: the IPv4 prefix length.
    public var prefixLength = 24
    /// `cidr` grouping: the IPv6 prefix length.
    public var prefixLengthV6 = 64
    /// `path_prefix`: the path prefixes (case-insensitive).
    public var prefixes: [String] = []
    /// `new_address`: also count blocked direct requests (default: served only).
    public var includeBlocked = false
    /// `stalled`: seconds without activity that fire.
    public var afterSeconds: Int64 = 1800
    /// `stalled`: what is measured.
    public var measure: StallMeasure = .ingest
    /// `malformed_ratio`: lines needed in the window before the ratio counts.
    public var minimumLines = 1000
    /// Seconds after a key fired during which it does not fire again.
    public var cooldownSeconds: Int64 = 900
    /// Fold every key that fires in one evaluation into one message.
    public var digest = true
    /// Without digest: at most this many messages per evaluation; the rest are folded into one digest.
    public var maxMessages = 10
    /// Requests never alerted on.
    public var ignore = AlertIgnoreList()

    /// Creates a rule with the documented defaults of its kind.
    ///
    /// - Parameters:
    ///   - name: The rule's unique name.
    ///   - kind: What it looks for.
    public init(name: String, kind: AlertKind) {
        self.name = name
        self.kind = kind
        switch kind {
        case .servedDirect:
            severity = "critical"
        case .pathPrefix:
            severity = "critical"
            groupBy = .address
        case .newAddress:
            groupBy = .address
            cooldownSeconds = 0
        case .platformDenied:
            windowSeconds = 3600
            cooldownSeconds = 6 * 3600
        case .stalled:
            groupBy = .none
            cooldownSeconds = 3600
        case .malformedRatio:
            groupBy = .none
            threshold = 0.05
            windowSeconds = 3600
            cooldownSeconds = 3600
        case .gatewayDrift:
            severity = "critical"
            groupBy = .none
            cooldownSeconds = 0
        }
    }
}

/// The alert rules and sinks of a rules file.
public struct AlertRuleSet: Sendable, Equatable {
    /// The file the rules came from, or `nil` for the defaults.
    public var path: String?
    /// Where evaluation windows end.
    public var anchor: WindowAnchor = .data
    /// The rules, in file order.
    public var rules: [AlertRule] = []
    /// Where alerts go.
    public var sinks: [SinkConfiguration] = []

    /// An empty rule set.
    public init() {}

    /// The rules used when no rules file is given.
    ///
    /// Served direct hits per address (any served hit fires, 5-minute window, 15-minute cooldown),
    /// a new direct address, platform traffic the allowlist denies, and more than 5 % malformed
    /// lines, and gateway drift. `stalled` has no default (it depends on how often logs arrive).
    public static var defaults: AlertRuleSet {
        var set = AlertRuleSet()
        set.rules = [
            AlertRule(name: "served-direct", kind: .servedDirect),
            AlertRule(name: "new-direct-address", kind: .newAddress),
            AlertRule(name: "platform-denied", kind: .platformDenied),
            AlertRule(name: "malformed-lines", kind: .malformedRatio),
            AlertRule(name: "gateway-drift", kind: .gatewayDrift),
        ]
        return set
    }
}
