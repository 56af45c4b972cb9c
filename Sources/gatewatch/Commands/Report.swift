import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch report`: one self-contained HTML page for people who will not run a CLI.
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write a self-contained HTML report: coverage, the migration curve, direct clients, platform traffic.",
            discussion: """
                One file with inline CSS and SVG charts: no script, no font, nothing fetched from the network, \
                so it can be mailed or attached to a ticket. Every value from the logs is HTML-escaped. Give the \
                policy (--config / --policy) to include its lint findings and whether it allows platform \
                traffic. --out never replaces the store, a SQLite file or a dangling symbolic link, and an \
                existing file keeps its permissions. Exit codes: 0 written, 1 failure, 2 usage, a policy \
                file that cannot be read, or an --out that is refused.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var policy: PolicyOptions

        @Option(help: "The HTML file to write ('-' for standard output).")
        var out: String

        @Option(help: "The page title.")
        var title: String = "Gatewatch report"

        @Option(parsing: .unconditional, help: "Rows per table (clients, endpoints, user agents, platform addresses).")
        var rows: Int = 25

        @Option(
            parsing: .unconditional,
            help: "Days without a request after which a direct client counts as quiet."
        )
        var quietDays: Int = 7

        func validate() throws {
            try NumericOption.check(rows, in: 1...1_000_000, option: "--rows")
            try NumericOption.check(quietDays, in: 0...NumericOption.maximumDays, option: "--quiet-days")
        }

        func run() throws {
            let range = try time.resolve()
            let configuration: GatewatchConfiguration
            var loaded: Policy?
            let owners: OwnerAttribution
            do {
                configuration = try policy.configuration()
                owners = try OwnerAttribution.load(
                    serviceTags: configuration.serviceTags,
                    names: configuration.addressNames
                )
                if !configuration.policyFiles.isEmpty || !configuration.gateways.isEmpty {
                    loaded = try configuration.loadPolicy()
                }
            } catch {
                throw Gatewatch.badInput(error)
            }
            let database = try store.open(.readOnly, config: policy.config)
            var options = ReportOptions(
                range: range,
                policy: loaded,
                title: title,
                generatedAt: UTCTime.format(Int64(Date.now.timeIntervalSince1970)),
                rowsPerTable: rows,
                quietDays: quietDays
            )
            options.owners = owners
            let html = try HTMLReport(options: options).render(store: database)
            if out == "-" {
                emit(html)
                return
            }
            do throws(ReportFileError) {
                try ReportFile.write(html, to: out, store: database.localFilePath)
            } catch {
                // The file system refused: not a usage error (exit 1).
                if case .cannotWrite = error {
                    StandardError().write(error: error)
                    throw ExitCode.failure
                }
                // --out names the store, a database or a dangling link: fix the argument (exit 2).
                throw Gatewatch.badInput(error)
            }
            FileHandle.standardError.write(
                Data("Wrote \(SafeText.terminal(out)) (\(html.utf8.count / 1024) KiB)\n".utf8)
            )
        }
    }
}
