import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch summary`: the headline numbers of the store.
    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how many requests came through the gateway and how many bypassed it.",
            discussion: """
                The JSON form is a stable contract:
                  {"files": N, "requests": N, "malformed": N, "first": "…", "last": "…",
                   "by_verdict": {"gateway": N, "allowed": N, "platform": N, "direct": N, "unjudged": N},
                   "direct": {"blocked": N, "served": N, "clients": N},
                   "policy": {"source": "…", "fingerprint": "…"}}
                "policy" names the policy the verdicts are under (absent when none was declared yet); \
                'gatewatch reclassify' changes it.
                """
        )

        @OptionGroup var config: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var anchor: AnchorOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Only what this host ingested (--source of ingest; fleet stores hold several).")
        var source: String?

        func run() throws {
            _ = try time.resolve()
            let database = try store.open(.readOnly, config: config)
            let range = try anchor.resolve(time, store: database)
            let summary = try GatewatchCore.Summary.compute(store: database, range: range, source: source)
            let policy = try PolicyRegistry.current(store: database)
            print(try render(summary, policy: policy), terminator: "")
        }

        /// The summary with the policy its verdicts are under.
        struct Document: Encodable {
            var summary: GatewatchCore.Summary
            var policy: PolicyName?

            struct PolicyName: Encodable {
                var source: String
                var fingerprint: String
            }

            enum CodingKeys: String, CodingKey { case policy }

            func encode(to encoder: any Encoder) throws {
                try summary.encode(to: encoder)
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeIfPresent(policy, forKey: .policy)
            }
        }

        func render(_ summary: GatewatchCore.Summary, policy: PolicyRecord?) throws -> String {
            let document = Document(
                summary: summary,
                policy: policy.map { Document.PolicyName(source: $0.source, fingerprint: $0.fingerprint) }
            )
            switch output.format {
            case .json:
                return try JSONOutput.encode(document) + "\n"
            case .ndjson:
                return try JSONOutput.encode(document) + "\n"
            case .csv, .table:
                let rows: [[String]] =
                    [
                        ["files", String(summary.files)],
                        ["requests", String(summary.requests)],
                        ["malformed", String(summary.malformed)],
                        ["first", summary.first ?? ""],
                        ["last", summary.last ?? ""],
                    ]
                    + Verdict.allCases.compactMap { verdict -> [String]? in
                        let count = summary.byVerdict[verdict.rawValue] ?? 0
                        // The text table leaves out `unjudged` when there is none (CSV keeps every row).
                        let hidden = verdict == .unjudged && count == 0 && output.format == .table
                        return hidden ? nil : ["verdict.\(verdict.rawValue)", String(count)]
                    }
                    + [
                        ["direct.blocked", String(summary.direct.blocked)],
                        ["direct.served", String(summary.direct.served)],
                        ["direct.clients", String(summary.direct.clients)],
                    ]
                let table = TextTable(columns: ["metric", "value"], rows: rows, numericColumns: [1])
                guard output.format == .table else { return table.renderCSV() }
                var text = table.renderText()
                if summary.requests > 0 {
                    let gateway = Double(summary.byVerdict[Verdict.gateway.rawValue] ?? 0)
                    let share = String(format: "%.1f", 100 * gateway / Double(summary.requests))
                    text += "\n\(share) % of backend requests came through the gateway; "
                    text += "\(summary.direct.served) direct requests were served"
                    text += summary.direct.served > 0 ? " (the allowlist is not enforced for them)" : ""
                    let unjudged = summary.byVerdict[Verdict.unjudged.rawValue] ?? 0
                    if unjudged > 0 {
                        text += " among the judged ones.\n\(unjudged) requests were not judged: they were ingested "
                        text += "with no policy and no gateway, so nothing says whether they came through the gateway; "
                        text += "ingest those logs again with --policy or --gateway and --reingest.\n"
                    } else {
                        text += ".\n"
                    }
                }
                if let policy {
                    text +=
                        "Verdicts are under the policy \(SafeText.terminal(policy.label)), declared \(policy.declaredAt).\n"
                }
                return text
            }
        }
    }
}
