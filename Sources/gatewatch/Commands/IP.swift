import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch ip ADDRESS`: everything about one client.
    struct IP: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ip",
            abstract: "Show everything about one client address.",
            discussion: """
                Verdicts and the policy rule that decided them, counts by verdict and status, endpoints, \
                methods and user agents (--limit caps these lists), a daily trend, first and last seen. \
                Endpoints and user agents come from the per-day inventory (UTC days), or from the \
                evidence of direct requests when the store has no inventory.
                """
        )

        @Argument(help: "The client address (any IPv4 or IPv6 form, or the raw text logged).")
        var address: String

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var owners: OwnerOptions

        func run() throws {
            let filter = try query.filter(time: time, format: output.format, tableLimit: 10)
            let database = try store.open(.readOnly, config: query.config)
            var report = try AddressReport.compute(address: address, filter: filter, store: database)
            // Text that is no address and was never logged as one is a typo (1.2.3.999), not a
            // client without requests.
            if IPAddress(report.address) == nil, report.requests == 0 {
                throw Gatewatch.badInput(QueryError.notAnAddress(report.address))
            }
            report.name = try query.addressNames().name(for: report.address)
            let attribution = try owners.attribution(
                query: query,
                storePath: try store.resolvedPath(config: query.config)
            ) {
                [report.address]
            }
            report = try report.attributed(attribution, store: database)
            // The gateway side, when gateway logs were ingested and the gateway saw this caller.
            if let gateway = try? GatewayQueries.addressStats(
                store: database,
                address: report.address,
                range: filter.range
            ),
                gateway.requests > 0
            {
                report.gateway = gateway
            }
            let text = try report.render(output.format)
            emit(output.format == .table ? text + (report.gateway?.renderText() ?? "") : text)
        }
    }
}
