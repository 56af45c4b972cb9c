/// What a file was read and judged under, recorded in its ledger row (`files.policy_fingerprint`,
/// `policy_source`, `read_fields`, `read_options`): a later run under other settings says so
/// instead of keeping the first run's verdicts silently.
struct ReadingBasis: Equatable {
    /// Recorded when a grown file's lines were read under different settings.
    static let mixed = "mixed"
    /// Recorded as `read_fields` when the file's own `#Fields` directive named its columns (`--fields`
    /// did not matter).
    static let fieldsFromDirective = "#Fields"

    /// The fingerprint of the policy, gateways and platform rules the verdicts came from.
    var policyFingerprint: String
    /// The policy for people: its files, or `none (unjudged)`, and the gateways.
    var policySource: String
    /// The `--fields` layout for lines before any `#Fields` directive.
    var fields: String
    /// How the client address was chosen (`--client-ip`, `--trusted-proxy`, `--request-id-field`).
    var options: String

    /// The basis of a run with these settings.
    init(options: IngestOptions, policy: Policy, gateways: [CIDR]) {
        let gatewayList = gateways.map(\.description).sorted()
        let rules = options.platformRules
        // The policy by content (a file named by another path is the same policy); a policy built in
        // code has no fingerprint and is known by its description.
        var parts = [
            "judgement-v1", policy.fingerprint.isEmpty ? "source \(policy.source)" : "policy \(policy.fingerprint)",
        ]
        parts += gatewayList.map { "gateway \($0)" }
        parts += rules.exactUserAgents.map { "platform-agent \($0)" }
        parts += rules.userAgentPrefixes.map { "platform-prefix \($0)" }
        parts += rules.addresses.ranges.map { "platform-range \($0.lowerBound)-\($0.upperBound)" }
        policyFingerprint = ContentHasher.fingerprint(of: Array(parts.joined(separator: "\n").utf8))
        if policy.judgesNothing, gateways.isEmpty {
            policySource = "none (unjudged)"
        } else {
            policySource =
                policy.source + (gatewayList.isEmpty ? "" : "; gateways " + gatewayList.joined(separator: ", "))
        }
        fields = options.fallbackLayout.names.joined(separator: " ")
        let proxies = options.trustedProxies.map(\.description).sorted().joined(separator: ",")
        self.options =
            "client-ip \(options.clientAddress.rawValue); trusted-proxy \(proxies.isEmpty ? "-" : proxies); "
            + "request-id-field \(options.requestIDField ?? "-")"
    }

    init(policyFingerprint: String, policySource: String, fields: String, options: String) {
        self.policyFingerprint = policyFingerprint
        self.policySource = policySource
        self.fields = fields
        self.options = options
    }

    /// How a recorded basis differs from this run's, for people; empty when it does not (or is
    /// unknown: rows from before the schema recorded it).
    ///
    /// - Parameter recorded: The ledger row's basis; `nil` fields are unknown.
    /// - Returns: One phrase per difference (`policy 'a', not this run's 'b'`).
    func differences(from recorded: RecordedBasis) -> [String] {
        var found: [String] = []
        if let fingerprint = recorded.policyFingerprint, fingerprint != policyFingerprint {
            found.append("policy '\(recorded.policySource ?? "?")', not this run's '\(policySource)'")
        }
        if let recordedFields = recorded.fields, recordedFields != Self.fieldsFromDirective, recordedFields != fields {
            found.append("--fields '\(recordedFields)', not '\(fields)'")
        }
        if let recordedOptions = recorded.options, recordedOptions != options {
            found.append("'\(recordedOptions)', not '\(options)'")
        }
        return found
    }
}

/// A ledger row's recorded basis; `nil` where it is unknown (a row written before the schema's
/// `v3-read-under` version, or a gateway log, which no allowlist judges).
struct RecordedBasis: Equatable {
    var policyFingerprint: String?
    var policySource: String?
    var fields: String?
    var options: String?
}
