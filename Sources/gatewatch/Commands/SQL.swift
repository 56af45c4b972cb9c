import ArgumentParser
import GatewatchCore

extension Gatewatch {
    /// `gatewatch sql`: a read-only SQL statement on the store.
    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run one read-only SQL statement on the database.",
            discussion: """
                The database is opened read-only and statements that would write are refused. Tables: \
                hourly, evidence, files, inventory, latency (documented in docs/schema.md). Exit codes: 0 ok; \
                1 the database cannot be read; 2 usage, or a statement that is refused or fails. Example:
                  gatewatch sql "SELECT address, SUM(requests) n FROM hourly WHERE verdict = 'direct' \
                GROUP BY address ORDER BY n DESC LIMIT 5"
                """
        )

        @Argument(help: "One SQL statement.")
        var statement: String

        @OptionGroup var config: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        @Option(
            parsing: .unconditional,
            help: "At most N rows; 0 shows all (default: 20 in table output, all otherwise)."
        )
        var limit: Int?

        func validate() throws {
            try NumericOption.checkLimit(limit)
        }

        func run() throws {
            let database = try store.open(.readOnly, config: config)
            let sink = OutputSink.standardOutput()
            do {
                try SQLQuery.write(
                    statement,
                    store: database,
                    limit: limit ?? (output.format == .table ? 20 : 0),
                    format: output.format,
                    to: sink
                )
            } catch let error as QueryError {
                // The statement is the user's input: refused or failing, it is bad input (2).
                throw Gatewatch.badInput(error)
            }
            sink.flush()
        }
    }
}
