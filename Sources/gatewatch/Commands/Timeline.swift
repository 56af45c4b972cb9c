import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch timeline`: requests per hour or day.
    struct Timeline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show requests per hour or day, by verdict, with a bar chart in the terminal.",
            discussion: """
                Empty buckets between the first and the last are shown. Hours are UTC hours labelled in \
                --tz; days are days in --tz. --limit keeps the newest buckets (default: all).
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var query: QueryOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "Bucket width: hour or day.")
        var bucket: TimelineBucket = .hour

        @Option(help: "The verdicts counted: gateway, allowed, platform, direct or all.")
        var verdict: VerdictSelection = .all

        func run() throws {
            let filter = try query.filter(time: time, format: output.format, tableLimit: 0)
            let database = try store.open(.readOnly, config: query.config)
            let result: TimelineResult
            do {
                result = try TimelineQuery(filter: filter, bucket: bucket, verdict: verdict).run(store: database)
            } catch let error as QueryError {
                // Too many buckets: the options must change (exit 2), not the store.
                throw Gatewatch.badInput(error)
            }
            emit(try result.render(output.format))
        }
    }
}
