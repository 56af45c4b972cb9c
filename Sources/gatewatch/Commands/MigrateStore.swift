import ArgumentParser
import Foundation
import GatewatchCore

extension Gatewatch {
    /// `gatewatch migrate-store`: copy a SQLite store into PostgreSQL.
    struct MigrateStore: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate-store",
            abstract: "Copy a SQLite store into an empty PostgreSQL store (fleet mode), without loss.",
            discussion: """
                Every table and row is copied in one transaction, ids included; row counts are
                checked before the commit. The destination must be empty.

                Examples:
                  gatewatch migrate-store --from gatewatch.db --to postgres://gatewatch@db.internal/gatewatch
                  gatewatch migrate-store --from gatewatch.db --to "$GATEWATCH_DB" --json
                """
        )

        @Option(help: ArgumentHelp("The SQLite store to copy.", valueName: "path"))
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL store to fill: postgres://user@host:port/dbname.", valueName: "url"))
        var to: String

        @Flag(help: "Print what was copied as JSON.")
        var json = false

        func validate() throws {
            guard !StoreLocation.isServerURL(from) else { throw ValidationError("--from must be a SQLite file") }
            guard StoreLocation.isServerURL(to) else { throw ValidationError("--to must be a postgres:// URL") }
            guard FileManager.default.fileExists(atPath: from) else {
                throw ValidationError("no SQLite store at '\(from)'")
            }
        }

        func run() throws {
            // Read-only: a file that is not a Gatewatch store is refused, never given our schema.
            let source: Store
            do {
                source = try Store(path: from, readOnly: true)
            } catch StoreError.missing {
                throw ValidationError(
                    "'\(from)' is not a Gatewatch store (no Gatewatch schema in it); nothing was copied"
                )
            }
            let destination = try Store(path: to)
            let report = try StoreCopy.copy(from: source, to: destination)
            if json {
                print(try JSONOutput.encode(report))
            } else {
                print("copied \(SafeText.terminal(report.from)) → \(SafeText.terminal(report.to)):")
                for (table, count) in report.rows.sorted(by: { $0.key < $1.key }) {
                    print("  \(table): \(count) rows")
                }
            }
        }
    }
}
