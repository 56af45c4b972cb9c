import ArgumentParser
import Foundation
import GatewatchCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Gatewatch {
    /// `gatewatch events`: the evidence rows of direct requests.
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the evidence of direct requests, one row per request.",
            discussion: """
                Oldest first; --limit keeps the newest rows. The default format is a table on a terminal \
                and NDJSON otherwise, for piping: gatewatch events --outcome served | jq .address
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var query: QueryOptions

        @Option(help: "Output format: table, json, ndjson or csv (default: table on a terminal, else ndjson).")
        var format: OutputFormat?

        @Option(help: "Only requests from this client address.")
        var address: String?

        @Option(help: "Only blocked or served requests.")
        var outcome: String?

        func validate() throws {
            if let outcome, outcome != "blocked", outcome != "served" {
                throw ValidationError("--outcome must be blocked or served, not '\(outcome)'")
            }
        }

        func run() throws {
            let resolvedFormat = format ?? (isatty(STDOUT_FILENO) != 0 ? .table : .ndjson)
            let filter = try query.filter(time: time, format: resolvedFormat)
            let database = try store.open(.readOnly, config: query.config)
            let sink = OutputSink.standardOutput()
            try EventsQuery(
                filter: filter,
                address: address,
                outcome: outcome.flatMap(Outcome.init(rawValue:))
            ).write(store: database, format: resolvedFormat, to: sink)
            sink.flush()
        }
    }
}
