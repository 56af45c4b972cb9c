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
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions

        @Option(parsing: .unconditional, help: "Days without a request after which a caller is quiet.")
        var quietDays: Int = 7

        @Option(help: "Only callers in this state: active, quiet or blocked-only.")
        var state: ClientState?

        func validate() throws {
            try NumericOption.check(quietDays, in: 0...NumericOption.maximumDays, option: "--quiet-days")
        }

        func run() throws {
            let filter = try query.filter(time: time, format: output.format)
            let database = try Store(path: store.resolvedPath(), readOnly: true)
            let result = try ClientsQuery(filter: filter, quietDays: quietDays, state: state).run(store: database)
            emit(try result.named(try query.addressNames()).render(output.format))
        }
    }
}
