import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch statuses`: status × verdict, and latency per endpoint.
    struct Statuses: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count requests by status.substatus and verdict, with time-taken percentiles per endpoint.",
            discussion: """
                p50, p95 and p99 are approximate: each is the upper bound of the time-taken histogram bucket \
                (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, … ms) where the \
                cumulative count reaches the percentile; "overflow" (-1 in JSON) means above the largest \
                bucket. Latency is stored per UTC day and endpoint, not per address: the window is rounded \
                to whole days, and --cidr leaves the latency table out. --limit caps the endpoints.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "The verdicts counted: gateway, allowed, platform, direct or all.")
        var verdict: VerdictSelection = .all

        func run() throws {
            let filter = try query.filter(time: time, format: output.format)
            let database = try store.open(.readOnly, config: query.config)
            let report = try StatusesQuery(filter: filter, verdict: verdict).run(store: database)
            emit(try report.render(output.format, hasBlockFilter: !filter.cidrs.isEmpty))
            if verdict.verdict != nil, let split = try PolicyRegistry.latencySplit(store: database) {
                // The histograms keep the verdict of their ingest (issue 21): said, never silently mixed.
                StandardError().write(
                    "warning: the latency percentiles per verdict count requests by the verdict of their ingest "
                        + "(under \(SafeText.terminal(split.label)) for rows from before the store was reclassified); "
                        + "the status counts follow the current policy; re-ingest (--reingest) to split latency under it\n"
                )
            }
        }
    }
}
