import ArgumentParser
import Foundation
import GatewatchCore

/// How logs are read and classified: shared by `ingest` and `watch`.
struct ReadingOptions: ParsableArguments {
    @Option(
        name: .customLong("client-ip"),
        help: ArgumentHelp(
            "Which address is the client: c-ip (the TCP peer), xff-leftmost (spoofable), or xff-rightmost-untrusted.",
            valueName: "source"
        )
    )
    var clientIP: ClientAddressSource?

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp("A proxy whose X-Forwarded-For hop is skipped (repeatable).", valueName: "cidr")
    )
    var trustedProxy: [String] = []

    @Option(
        name: .customLong("platform-rules"),
        help: ArgumentHelp("A YAML file of platform-traffic rules (user agents, addresses).", valueName: "file")
    )
    var platformRules: String?

    @Option(
        name: .customLong("request-id-field"),
        help: ArgumentHelp(
            "The W3C custom field holding the gateway's request id (default: x-correlation-id, x-request-id, …).",
            valueName: "name"
        )
    )
    var requestIDField: String?

    @Flag(
        name: .customLong("keep-gateway-requests"),
        help: "Keep every gateway request as a row for 'correlate' (automatic when a request-id field is logged)."
    )
    var keepGatewayRequests = false

    @Option(
        name: .customLong("evidence"),
        help: ArgumentHelp(
            "Which direct requests are kept as evidence rows: sample (default: the first N and the latest per address, UTC day and outcome), all, or none. Counts stay exact either way.",
            valueName: "mode"
        )
    )
    var evidence: String?

    @Option(
        name: .customLong("evidence-cap"),
        help: ArgumentHelp("N for --evidence sample (default 100).", valueName: "n")
    )
    var evidenceCap: Int?

    @Option(name: .customLong("format"), help: "Input format: auto or w3c.")
    var inputFormat: InputFormat = .auto

    @Option(
        help: ArgumentHelp(
            "Column layout for lines before any #Fields directive: iis, iis-xff, appservice, appservice-xff, or a list of field names.",
            valueName: "layout"
        )
    )
    var fields: String?

    @Option(
        help: ArgumentHelp(
            "The name this host's rows carry in a shared store (default: the host name).",
            valueName: "name"
        )
    )
    var source: String?

    @Option(
        name: .customLong("not-before"),
        help: ArgumentHelp(
            "Lines dated before this are malformed (default: 1995-01-01).",
            valueName: "date"
        )
    )
    var notBefore: String?

    @Option(
        name: .customLong("not-after"),
        help: ArgumentHelp(
            "Lines dated after this are malformed (default: a day after the newest input's modification time).",
            valueName: "date"
        )
    )
    var notAfter: String?

    func validate() throws {
        if let source, source.isEmpty || source.utf8.count > 200 {
            throw ValidationError("--source must be 1 to 200 characters")
        }
        for value in trustedProxy where CIDR(value) == nil {
            throw ValidationError("--trusted-proxy '\(value)' is not an IP address or CIDR block")
        }
        if let evidence, EvidenceMode(evidence) == nil || evidence.contains(" ") {
            throw ValidationError("--evidence '\(evidence)' is not one of \(EvidenceMode.accepted)")
        }
        if let evidenceCap {
            guard evidenceCap > 0 else { throw ValidationError("--evidence-cap must be at least 1") }
            if let evidence, evidence.lowercased() != "sample" {
                throw ValidationError("--evidence-cap applies to --evidence sample, not '\(evidence)'")
            }
        }
        if let fields, W3CLayout.named(fields) == nil {
            throw ValidationError("--fields '\(fields)' names no columns")
        }
    }

    /// The ingest settings: these flags over the configuration file over the defaults.
    ///
    /// - Parameter configuration: The effective configuration (policy files, gateways, …).
    /// - Returns: The settings, with the policy and platform rules loaded.
    /// - Throws: Policy or platform-rules errors (bad input).
    func ingestOptions(configuration: GatewatchConfiguration) throws -> IngestOptions {
        var options = IngestOptions()
        options.policy = try configuration.loadPolicy()
        if let rulesPath = platformRules ?? configuration.platformRules {
            options.platformRules = try PlatformRules.load(path: rulesPath)
        }
        options.gateways = configuration.gateways
        options.format = inputFormat
        options.clientAddress = clientIP ?? configuration.clientAddress
        options.trustedProxies =
            trustedProxy.isEmpty ? configuration.trustedProxies : trustedProxy.compactMap(CIDR.init)
        options.requestIDField = requestIDField
        options.keepGatewayRequests = keepGatewayRequests
        options.evidence = configuration.evidence
        if let evidence, let mode = EvidenceMode(evidence, cap: evidenceCap ?? EvidenceMode.defaultCap) {
            options.evidence = mode
        } else if let evidenceCap {
            options.evidence = .sample(cap: evidenceCap)
        }
        if let fields, let layout = W3CLayout.named(fields) { options.fallbackLayout = layout }
        if let source { options.source = source }
        if notBefore != nil || notAfter != nil {
            let now = Int64(Date().timeIntervalSince1970)
            let window = try TimeRange.parse(since: notBefore, until: notAfter, last: nil, now: now)
            if let since = window.since { options.notBefore = since }
            options.notAfter = window.until
        }
        return options
    }
}
