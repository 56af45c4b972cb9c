import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch prune`: retention.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove stored data older than a cut-off, or roll old hourly rows into daily ones (the ledger is kept, so old logs are not ingested again).",
            discussion: """
                Examples:
                  gatewatch prune --older-than 90d                 # everything before 90 days ago
                  gatewatch prune --older-than 30d --evidence-only # keep aggregates, drop per-request rows
                  gatewatch prune --before 2026-01-01
                  gatewatch prune --keep-evidence 30d --keep-hourly 180d
                                   # per-request rows for 30 days; hourly rows for 180 days, then one row per day

                Rolled-up days keep every count, sum, maximum and first/last time, so queries over them
                give the same totals; only the hour within such a day is lost.
                """
        )

        @OptionGroup var config: ConfigOptions
        @OptionGroup var store: StoreOptions

        @Option(
            help: ArgumentHelp("Remove data older than this duration before now (e.g. 90d).", valueName: "duration")
        )
        var olderThan: String?

        @Option(help: ArgumentHelp("Remove data before this UTC time.", valueName: "time"))
        var before: String?

        @Flag(help: "Remove only per-request rows (evidence, gateway request rows), keep the aggregates.")
        var evidenceOnly = false

        @Option(
            help: ArgumentHelp(
                "Keep per-request rows (evidence, gateway request rows) for this duration; remove older ones.",
                valueName: "duration"
            )
        )
        var keepEvidence: String?

        @Option(
            help: ArgumentHelp(
                "Keep hourly rows for this duration; roll older days into one row per day.",
                valueName: "duration"
            )
        )
        var keepHourly: String?

        @Flag(help: "Print what was removed as JSON.")
        var json = false

        func validate() throws {
            let retention = keepEvidence != nil || keepHourly != nil
            if retention {
                if olderThan != nil || before != nil || evidenceOnly {
                    throw ValidationError(
                        "--keep-evidence/--keep-hourly set retention by kind; do not combine them with --older-than, --before or --evidence-only"
                    )
                }
            } else if (olderThan == nil) == (before == nil) {
                throw ValidationError("give exactly one of --older-than or --before, or --keep-evidence/--keep-hourly")
            }
            // Values that cannot be read are usage errors, named, before anything is opened.
            let now = Int64(Date.now.timeIntervalSince1970)
            _ = try Self.cutoff(keepEvidence, option: "--keep-evidence", now: now)
            _ = try Self.cutoff(keepHourly, option: "--keep-hourly", now: now)
            _ = try Self.cutoff(olderThan, option: "--older-than", now: now)
            _ = try Self.cutoff(before: before, now: now)
        }

        /// Unix seconds `duration` before `now`.
        private static func cutoff(_ duration: String?, option: String, now: Int64) throws -> Int64? {
            guard let duration else { return nil }
            do {
                return now - (try TimeRange.durationOption(option, duration))
            } catch {
                throw ValidationError("\(error)")
            }
        }

        /// The `--before` time.
        private static func cutoff(before: String?, now: Int64) throws -> Int64? {
            guard let before else { return nil }
            do {
                return try TimeRange.timeOption("--before", before, now: now, endOfDay: false)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func run() throws {
            let now = Int64(Date.now.timeIntervalSince1970)
            if keepEvidence != nil || keepHourly != nil {
                let evidenceBefore = try Self.cutoff(keepEvidence, option: "--keep-evidence", now: now)
                let hourlyBefore = try Self.cutoff(keepHourly, option: "--keep-hourly", now: now)
                let database = try store.open(.existing, config: config)
                let report = try Pruner.applyRetention(
                    store: database,
                    evidenceBefore: evidenceBefore,
                    hourlyBefore: hourlyBefore
                )
                if json {
                    print(try JSONOutput.encode(report))
                    return
                }
                if evidenceBefore != nil {
                    print("removed per-request rows before \(report.before):")
                    for (table, count) in report.rows.sorted(by: { $0.key < $1.key }) {
                        print("  \(table): \(count) rows")
                    }
                }
                if let day = report.hourlyRolledUpBefore {
                    print(
                        "rolled up hourly rows before \(day): \(report.hourlyRowsRolledUp ?? 0) rows into "
                            + "\(report.dailyRows ?? 0) daily rows"
                    )
                }
                return
            }
            let cutoff =
                try Self.cutoff(olderThan, option: "--older-than", now: now) ?? Self.cutoff(before: before, now: now)
                ?? now
            let database = try store.open(.existing, config: config)
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
