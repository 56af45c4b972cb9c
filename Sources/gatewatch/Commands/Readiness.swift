import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch readiness`: the lock-down gate for a change pipeline.
    struct Readiness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 only when no non-platform direct traffic was served in the last N days of data.",
            discussion: """
                The window counts back from the newest data in the store (or in the data before --until), \
                not from now: it ends with the hour of the newest stored request and starts N × 24 hours \
                earlier. The store must reach back to the window's start. Platform traffic never counts; \
                blocked direct requests count only with --include-blocked.

                The JSON form is a stable contract:
                  {"ready": bool, "quiet_days": N, "last_direct": "…"|null,
                   "blocking": [{"address": "…", "requests": N, "last_seen": "…"}]}

                Exit codes: 0 ready; 3 not ready; 1 failure (no database or no data); 2 usage.
                """
        )

        @OptionGroup var config: ConfigOptions
        @OptionGroup var store: StoreOptions

        @Option(parsing: .unconditional, help: "Days of data that must hold no served direct request (1 to 36500).")
        var quietDays: Int

        @Option(help: "An address or CIDR block whose direct traffic never counts (scanners, a monitor). Repeatable.")
        var ignore: [String] = []

        @Option(help: "Judge the data before this UTC time (a date alone means the end of that day).")
        var until: String?

        @Flag(help: "Count blocked direct attempts too: ready only when nobody calls the backend directly.")
        var includeBlocked = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var owners: OwnerOptions

        func validate() throws {
            try NumericOption.check(quietDays, in: 1...NumericOption.maximumDays, option: "--quiet-days")
            _ = try blocks()
            _ = try end()
        }

        /// The `--until` time, if given.
        func end() throws -> Int64? {
            guard let until else { return nil }
            do {
                let now = Int64(Date.now.timeIntervalSince1970)
                return try TimeRange.timeOption("--until", until, now: now, endOfDay: true)
            } catch let error as TimeRangeError {
                throw ValidationError(error.description)
            }
        }

        func blocks() throws -> [CIDR] {
            try ignore.map { text in
                guard let block = CIDR(text) else {
                    throw ValidationError(
                        "cannot read --ignore '\(text)'; use an address or a block such as 203.0.113.0/24"
                    )
                }
                return block
            }
        }

        func run() throws {
            let end = try end()
            let database = try store.open(.readOnly, config: config)
            let query = ReadinessQuery(
                quietDays: quietDays,
                ignored: try blocks(),
                until: end,
                includesBlocked: includeBlocked
            )
            let path = try store.resolvedPath(config: config)
            var result = try query.run(store: database)
            let configuration: GatewatchConfiguration?
            do {
                configuration = try config.load()
            } catch {
                throw ValidationError("\(error)")
            }
            let attribution = try owners.attribution(configuration: configuration, storePath: path) {
                result.blocking.map(\.address)
            }
            result = try result.attributed(attribution, store: database)
            emit(try result.render(output.format))
            if result.exitCode != 0 { throw ExitCode(result.exitCode) }
        }
    }
}
