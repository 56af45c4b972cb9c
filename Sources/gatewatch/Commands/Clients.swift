import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch clients`: the migration inventory of direct callers.
    struct Clients: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every client that calls the backend directly: the migration inventory.",
            discussion: """
                For each direct caller: first and last seen, requests in the last 1, 7 and 30 days of the \
                data (counted back from the newest data, not from now), top endpoints and user agents, and \
                a state: blocked-only (never served), quiet (no request for --quiet-days before the newest \
                data), or active. Busiest first.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var anchor: AnchorOptions
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var owners: OwnerOptions

        @Option(parsing: .unconditional, help: "Days without a request after which a caller is quiet.")
        var quietDays: Int = 7

        @Option(help: "Only callers in this state: active, quiet or blocked-only.")
        var state: ClientState?

        @Option(help: "Group direct traffic: 'owner' gives one row per owner (names:, service tag, range, PTR).")
        var by: ClientGrouping?

        func validate() throws {
            try NumericOption.check(quietDays, in: 0...NumericOption.maximumDays, option: "--quiet-days")
        }

        func run() throws {
            var filter = try query.filter(time: time, format: output.format)
            let limit = filter.limit
            if by != nil { filter.limit = 0 }  // group every caller, then cap the groups
            let path = try store.resolvedPath(config: query.config)
            let database = try store.open(.readOnly, config: query.config)
            filter.range = try anchor.resolve(time, store: database)
            if by == nil, output.format != .table, !owners.resolveNames {
                // Streamed (issue 23): the callers are written as the store gives them back.
                let attribution = try owners.attribution(query: query, storePath: path) { [] }
                let sink = OutputSink.standardOutput()
                try ClientsQuery(filter: filter, quietDays: quietDays, state: state).write(
                    store: database,
                    format: output.format,
                    names: try query.addressNames(),
                    owners: attribution,
                    to: sink
                )
                sink.flush()
                return
            }
            let result = try ClientsQuery(filter: filter, quietDays: quietDays, state: state).run(store: database)
            let attribution = try owners.attribution(query: query, storePath: path) { result.clients.map(\.address) }
            let attributed = try result.named(try query.addressNames()).attributed(attribution, store: database)
            guard by == .owner else {
                emit(try attributed.render(output.format))
                return
            }
            var groups = attributed.byOwner()
            var notes = attributed.notes
            if limit > 0, groups.count > limit {
                notes.insert("(\(limit) of \(groups.count) owners; --limit 0 shows all)", at: 0)
                groups.removeSubrange(limit...)
            }
            emit(try OwnerGroup.render(groups, format: output.format, notes: notes))
        }
    }
}
