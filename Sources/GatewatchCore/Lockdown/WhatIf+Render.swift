import Foundation

extension WhatIfResult: Encodable {
    private enum CodingKeys: String, CodingKey {
        case policy, gateways, first, last, outcome
        case exitCode = "exit_code"
        case totals
        case newlyBlocked = "newly_blocked"
        case unenforced
        case newlyAllowed = "newly_allowed"
        case platformBroken = "platform_broken"
        case gatewaysDenied = "gateways_denied"
        case findings, notes
        case currentPolicy = "current_policy"
        case unchanged, enforcement, history, moves
    }

    private struct Totals: Encodable {
        var newlyBlocked: WhatIfTotal
        var unenforced: WhatIfTotal
        var newlyAllowed: WhatIfTotal
        var platformBroken: WhatIfTotal

        enum CodingKeys: String, CodingKey {
            case newlyBlocked = "newly_blocked"
            case unenforced
            case newlyAllowed = "newly_allowed"
            case platformBroken = "platform_broken"
        }
    }

    /// Encodes the result as the `whatif --format json` document.
    ///
    /// - Parameter encoder: The encoder.
    /// - Throws: Encoding errors.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policySource, forKey: .policy)
        try container.encode(gateways, forKey: .gateways)
        try container.encode(first, forKey: .first)
        try container.encode(last, forKey: .last)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(outcome.exitCode, forKey: .exitCode)
        try container.encode(totals, forKey: .totals)
        try container.encode(newlyBlocked, forKey: .newlyBlocked)
        try container.encode(unenforced, forKey: .unenforced)
        try container.encode(newlyAllowed, forKey: .newlyAllowed)
        try container.encode(platformBroken, forKey: .platformBroken)
        try container.encode(gatewaysDenied, forKey: .gatewaysDenied)
        try container.encode(findings.map(FindingRow.init), forKey: .findings)
        try container.encode(notes, forKey: .notes)
        // Named by source and fingerprint (as `summary`): no declaration time in a comparable output.
        try container.encode(
            currentPolicy.map { ["source": $0.source, "fingerprint": $0.fingerprint] },
            forKey: .currentPolicy
        )
        try container.encode(unchanged, forKey: .unchanged)
        try container.encode(enforcement, forKey: .enforcement)
        try container.encode(history, forKey: .history)
        try container.encode(moves, forKey: .moves)
    }

    /// A lint finding in the shape `gatewatch lint --format json` prints.
    struct FindingRow: Encodable {
        var severity: String
        var code: String
        var file: String
        var line: Int
        var column: Int
        var message: String

        init(_ finding: LintFinding) {
            severity = finding.severity.rawValue
            code = finding.code
            file = finding.location.file
            line = finding.location.line
            column = finding.location.column
            message = finding.message
        }
    }

    private var totals: Totals {
        Totals(
            newlyBlocked: total(.newlyBlocked),
            unenforced: total(.unenforced),
            newlyAllowed: total(.newlyAllowed),
            platformBroken: WhatIfTotal(
                addresses: platformBroken.count,
                requests: platformBroken.reduce(0) { $0 + $1.requests }
            )
        )
    }

    /// The result in an output format.
    ///
    /// `json` is one document (see ``encode(to:)``); `ndjson` and `csv` are one row per affected
    /// address with a `group` column (`newly-blocked`, `unenforced`, `newly-allowed`,
    /// `platform-broken`, `gateway-denied`); `table` is a readable report with every log-derived
    /// value escaped for the terminal.
    ///
    /// - Parameters:
    ///   - format: The format.
    ///   - limit: The most rows per group in `table` output (0 = all).
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat, limit: Int = 20) throws -> String {
        switch format {
        case .json:
            return try JSONOutput.encode(self) + "\n"
        case .ndjson, .csv:
            let sink = OutputSink.string()
            var writer = ListWriter<FlatRow>(format: format, sink: sink, columns: FlatRow.columns)
            for row in flatRows { writer.add(row, cells: \.cells) }
            writer.finish()
            return sink.text
        case .table:
            return renderText(limit: limit)
        }
    }

    /// One row of the flat (`csv`, `ndjson`) forms.
    struct FlatRow: Encodable {
        var group: String
        var address: String
        var current: String
        var requests: Int
        var blocked: Int
        var firstSeen: String
        var lastSeen: String
        var proposed: String
        var rule: String
        var status: String?
        var endpoints: [String]
        var userAgents: [String]

        enum CodingKeys: String, CodingKey {
            case group, address, current, requests, blocked
            case firstSeen = "first_seen"
            case lastSeen = "last_seen"
            case proposed, rule, status, endpoints
            case userAgents = "user_agents"
        }
    }

    private var flatRows: [FlatRow] {
        WhatIfQuery.List.allCases.flatMap { list in entries(list).map { FlatRow(list, $0) } } + trailingFlatRows
    }

    /// The flat rows after the three lists: platform traffic and denied gateways.
    var trailingFlatRows: [FlatRow] {
        var result = platformBroken.map {
            FlatRow(
                group: "platform-broken",
                address: $0.address,
                current: Verdict.platform.rawValue,
                requests: $0.requests,
                blocked: $0.blocked,
                firstSeen: "",
                lastSeen: $0.lastSeen,
                proposed: "deny",
                rule: $0.rule,
                status: $0.status,
                endpoints: [],
                userAgents: $0.userAgents.map(\.value)
            )
        }
        result += gatewaysDenied.map {
            FlatRow(
                group: "gateway-denied",
                address: $0.gateway,
                current: Verdict.gateway.rawValue,
                requests: 0,
                blocked: 0,
                firstSeen: "",
                lastSeen: "",
                proposed: "deny",
                rule: $0.rule,
                status: $0.status,
                endpoints: [],
                userAgents: []
            )
        }
        return result
    }

    private func renderText(limit: Int) -> String {
        var output = "What-if: \(SafeText.terminal(policySource))"
        if !gateways.isEmpty { output += "; gateways \(gateways.joined(separator: ", "))" }
        output += "\nHistory: \(first) … \(last)\n"
        switch outcome {
        case .ok: output += "Result: nothing that works today would break (exit 0)\n"
        case .blocksTraffic: output += "Result: would refuse traffic that is served today (exit 4)\n"
        case .breaksPlatform: output += "Result: would break platform traffic (exit 5)\n"
        }
        if let currentPolicy {
            output +=
                unchanged
                ? "Policy: unchanged: the stored verdicts are already under it (\(SafeText.terminal(currentPolicy.label)))\n"
                : "Verdicts now under: \(SafeText.terminal(currentPolicy.label))\n"
        }
        if enforcement.isEmpty {
            output += "Enforcement: no logged denial with the proposed policy's status: every request is judged\n"
        } else {
            let sites = enforcement.map {
                $0.site.isEmpty ? $0.since : "\(SafeText.terminal($0.site)) since \($0.since)"
            }
            output += "Enforcement began: \(sites.joined(separator: ", ")); served direct requests before it are "
            output += "history (\(history.requests) request(s) from \(history.addresses) address(es))\n"
        }
        if moves.isEmpty {
            output += "Moves: no request would change verdict or outcome ('reclassify' would change nothing)\n"
        } else {
            output += "Moves ('reclassify' under it would move, in this window):\n"
            for move in moves {
                output += "  \(move.text): \(move.requests) request(s) from \(move.addresses) address(es)\n"
            }
        }
        func section(_ title: String, _ list: WhatIfQuery.List, lastColumn: String = "LAST SEEN") {
            let sum = self.total(list)
            let entries = self.entries(list)
            output += "\n\(title): \(sum.addresses) address(es), \(sum.requests) request(s)\n"
            guard !entries.isEmpty else { return }
            let shown = limit > 0 ? Array(entries.prefix(limit)) : entries
            // OWNER only when attribution named someone (a run without service tags or names reads as before).
            let owners = shown.contains { $0.owner != nil }
            let table = TextTable(
                columns: ["ADDRESS", "NOW", "REQUESTS", "BLOCKED", lastColumn, "RULE", "ENDPOINTS", "USER AGENTS"]
                    + (owners ? ["OWNER"] : []),
                rows: shown.map {
                    [
                        $0.address, $0.current, String($0.requests), String($0.blocked), $0.lastSeen,
                        $0.rule + ($0.status.map { " (\($0))" } ?? ""),
                        $0.endpoints.map(\.value).joined(separator: " | "),
                        $0.userAgents.map(\.value).joined(separator: " | "),
                    ] + (owners ? [$0.owner?.name ?? "-"] : [])
                },
                numericColumns: [2, 3]
            )
            output += table.renderText()
            if shown.count < entryCount(list) {
                output += "… \(entryCount(list) - shown.count) more (use --limit 0 or --format json)\n"
            }
        }
        section("Newly blocked (the current policy lets them in)", .newlyBlocked)
        section(
            "Cut off once enforced (denied by both policies, but served: the allowlist is not enforced)",
            .unenforced,
            lastColumn: "LAST SERVED"
        )
        section("Newly allowed (the current policy denies them)", .newlyAllowed)

        let platformRequests = platformBroken.reduce(0) { $0 + $1.requests }
        output +=
            "\nPlatform traffic the proposed policy denies: \(platformBroken.count) address(es), \(platformRequests) request(s)\n"
        if !platformBroken.isEmpty {
            output += TextTable(
                columns: ["ADDRESS", "KIND", "REQUESTS", "ALREADY BLOCKED", "LAST SEEN", "RULE", "USER AGENTS"],
                rows: platformBroken.map {
                    [
                        $0.address, $0.kinds.joined(separator: ", "), String($0.requests), String($0.blocked),
                        $0.lastSeen,
                        $0.rule + ($0.status.map { " (\($0))" } ?? ""),
                        $0.userAgents.map(\.value).joined(separator: " | "),
                    ]
                },
                numericColumns: [2, 3]
            ).renderText()
        }
        if !gatewaysDenied.isEmpty {
            output += "\nDeclared gateways the proposed policy denies (all traffic through them would be refused):\n"
            output += TextTable(
                columns: ["GATEWAY", "RULE"],
                rows: gatewaysDenied.map { [$0.gateway, $0.rule + ($0.status.map { " (\($0))" } ?? "")] }
            ).renderText()
        }
        output += "\nLint of the proposed policy:\n"
        output += PolicyReport.lintTable(findings)
        if !output.hasSuffix("\n") { output += "\n" }
        if !notes.isEmpty {
            output += "\nNotes:\n"
            for note in notes { output += "  - \(SafeText.terminal(note))\n" }
        }
        return output
    }
}

extension WhatIfResult.FlatRow: FastJSONObject {
    /// The CSV header.
    static let columns = [
        "group", "address", "current", "requests", "blocked", "first_seen", "last_seen", "proposed", "rule", "status",
        "endpoints", "user_agents",
    ]

    /// The row of an entry of a list.
    init(_ list: WhatIfQuery.List, _ entry: WhatIfEntry) {
        self.init(
            group: list.group,
            address: entry.address,
            current: entry.current,
            requests: entry.requests,
            blocked: entry.blocked,
            firstSeen: entry.firstSeen,
            lastSeen: entry.lastSeen,
            proposed: entry.proposed,
            rule: entry.rule,
            status: entry.status,
            endpoints: entry.endpoints.map(\.value),
            userAgents: entry.userAgents.map(\.value)
        )
    }

    /// The CSV cells.
    var cells: [String] {
        [
            group, address, current, String(requests), String(blocked), firstSeen, lastSeen, proposed, rule,
            status ?? "", endpoints.joined(separator: " | "), userAgents.joined(separator: " | "),
        ]
    }

    func writeMembers(to writer: inout JSONObjectWriter) {
        writer.member("address", address)
        writer.member("blocked", blocked)
        writer.member("current", current)
        writer.member("endpoints", endpoints)
        writer.member("first_seen", firstSeen)
        writer.member("group", group)
        writer.member("last_seen", lastSeen)
        writer.member("proposed", proposed)
        writer.member("requests", requests)
        writer.member("rule", rule)
        if let status { writer.member("status", status) }
        writer.member("user_agents", userAgents)
    }
}

extension WhatIfEntry: FastJSONObject {
    func writeMembers(to writer: inout JSONObjectWriter) {
        writer.member("address", address)
        writer.member("blocked", blocked)
        writer.member("current", current)
        writer.member("endpoints", endpoints)
        writer.member("first_seen", firstSeen)
        writer.member("last_seen", lastSeen)
        if let owner { writer.member("owner", owner) }
        writer.member("proposed", proposed)
        writer.member("requests", requests)
        writer.member("rule", rule)
        if let status { writer.member("status", status) }
        writer.member("user_agents", userAgents)
    }
}
