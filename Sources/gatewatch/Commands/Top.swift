import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch top`: the busiest client addresses.
    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the busiest client addresses of a verdict (direct callers by default).",
            discussion: """
                Sorted by --by descending, ties by address. The JSON form is a stable contract:
                  [{"address": "…", "requests": N, "blocked": N, "served": N, "bytes": N,
                    "first_seen": "…", "last_seen": "…"}]
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var anchor: AnchorOptions
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var owners: OwnerOptions

        @Option(help: "The verdict to rank: gateway, allowed, platform, direct, unjudged or all.")
        var verdict: VerdictSelection = .direct

        @Option(help: "Rank by requests or bytes.")
        var by: TopMeasure = .requests

        @Option(
            help: "backend (the backend's clients, default) or gateway (the gateway's own callers, from gateway logs)."
        )
        var side: Side = .backend

        enum Side: String, ExpressibleByArgument, CaseIterable {
            case backend, gateway
        }

        func run() throws {
            var filter = try query.filter(time: time, format: output.format)
            let database = try store.open(.readOnly, config: query.config)
            filter.range = try anchor.resolve(time, store: database)
            if side == .gateway {
                let callers = try GatewayQueries.topCallers(
                    store: database,
                    range: filter.range,
                    limit: filter.limit == 0 ? Int(Int32.max) : filter.limit  // 0 means all
                )
                emit(try GatewayCaller.render(callers, format: output.format))
                return
            }
            let path = try store.resolvedPath(config: query.config)
            if output.format == .json || output.format == .ndjson, !owners.resolveNames {
                // Streamed (issue 23): `top --format json --limit 0` lists every address.
                let sink = OutputSink.standardOutput()
                let result = try TopQuery(filter: filter, verdict: verdict, measure: by).write(
                    store: database,
                    format: output.format,
                    names: try query.addressNames(),
                    owners: try owners.attribution(query: query, storePath: path) { [] },
                    to: sink
                )
                sink.flush()
                if let note = result.unjudgedNote { StandardError().write("warning: \(note)\n") }
                return
            }
            let result = try TopQuery(filter: filter, verdict: verdict, measure: by).run(store: database)
            let attribution = try owners.attribution(query: query, storePath: path) { result.entries.map(\.address) }
            emit(try result.named(try query.addressNames()).attributed(attribution).render(output.format))
            // The table says it in its footer; a machine format keeps its shape, so the note goes to stderr.
            if output.format != .table, let note = result.unjudgedNote { StandardError().write("warning: \(note)\n") }
        }
    }
}
