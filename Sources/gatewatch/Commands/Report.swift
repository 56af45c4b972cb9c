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
                traffic. Exit codes: 0 written, 1 failure, 2 usage or a policy file that cannot be read.
                """
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var time: TimeRangeOptions
        @OptionGroup var policy: PolicyOptions

        @Option(help: "The HTML file to write ('-' for standard output).")
        var out: String

        @Option(help: "The page title.")
        var title: String = "Gatewatch report"

        @Option(help: "Rows per table (clients, endpoints, user agents, platform addresses).")
        var rows: Int = 25

        @Option(help: "Days without a request after which a direct client counts as quiet.")
        var quietDays: Int = 7

        func validate() throws {
            if rows < 1 { throw ValidationError("--rows must be 1 or more, not \(rows)") }
            if quietDays < 0 { throw ValidationError("--quiet-days must be 0 or more, not \(quietDays)") }
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
            let database = try Store(
                path: Store.resolvePath(option: store.db, configured: configuration.database),
                readOnly: true
            )
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
            do {
                // Through a symbolic link to its target, and straight into a device or FIFO
                // (`/dev/stdout`, a pipe): a new file renamed over them would replace them.
                let target = URL(fileURLWithPath: out).resolvingSymlinksInPath()
                let type = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.type]
                let special = type != nil && (type as? FileAttributeType) != .typeRegular
                try Data(html.utf8).write(to: target, options: special ? [] : .atomic)
            } catch {
                // Not a usage error: the arguments were fine, the file system refused (exit 1).
                StandardError().write(
                    errorMessage:
                        "cannot write '\(out)': \(error.localizedDescription); check the directory exists and is writable"
                )
                throw ExitCode.failure
            }
            FileHandle.standardError.write(
                Data("Wrote \(SafeText.terminal(out)) (\(html.utf8.count / 1024) KiB)\n".utf8)
            )
        }
    }
}
