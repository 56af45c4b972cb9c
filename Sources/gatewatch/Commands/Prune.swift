import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch prune`: retention.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove stored data older than a cut-off (the ledger is kept, so old logs are not ingested again).",
            discussion: """
                Examples:
                  gatewatch prune --older-than 90d                 # everything before 90 days ago
                  gatewatch prune --older-than 30d --evidence-only # keep aggregates, drop per-request rows
                  gatewatch prune --before 2026-01-01
                """
        )

        @OptionGroup var store: StoreOptions

        @Option(
            help: ArgumentHelp("Remove data older than this duration before now (e.g. 90d).", valueName: "duration")
        )
        var olderThan: String?

        @Option(help: ArgumentHelp("Remove data before this UTC time.", valueName: "time"))
        var before: String?

        @Flag(help: "Remove only per-request rows (evidence, gateway request rows), keep the aggregates.")
        var evidenceOnly = false

        @Flag(help: "Print what was removed as JSON.")
        var json = false

        func validate() throws {
            if (olderThan == nil) == (before == nil) {
                throw ValidationError("give exactly one of --older-than or --before")
            }
        }

        func run() throws {
            let now = Int64(Date.now.timeIntervalSince1970)
            let cutoff: Int64
            do {
                if let olderThan {
                    cutoff = now - (try TimeRange.parseDuration(olderThan))
                } else {
                    cutoff = try TimeRange.parse(since: before, until: nil, last: nil, now: now).since ?? now
                }
            } catch {
                throw ValidationError("\(error)")
            }
            let database = try store.openExisting()
            let report = try Pruner.prune(store: database, before: cutoff, evidenceOnly: evidenceOnly)
            if json {
                print(try JSONOutput.encode(report))
            } else {
                print("removed data before \(report.before):")
                for (table, count) in report.rows.sorted(by: { $0.key < $1.key }) {
                    print("  \(table): \(count) rows")
                }
            }
        }
    }
}
