import ArgumentParser
import Foundation
import Testing

@testable import GatewatchCore
@testable import gatewatch

/// `whatif`, `readiness` and `report` parsed and run in-process, for their options and exit codes.
@Suite struct MigrationCLITests {
    static let yaml = CLI.repositoryRoot.appendingPathComponent("SampleLogs/gatewatch.yaml").path

    /// The sample ingested once by the real binary.
    static let sampleDatabase: String = {
        do {
            let db = try CLI.scratch("migrationcli") + "/gatewatch.db"
            let backend = CLI.repositoryRoot.appendingPathComponent("SampleLogs/backend").path
            // Every evidence row: the retention test counts the sample's 2,204 (2,058 when sampled).
            let result = try CLI.run(["ingest", "--quiet", "--evidence", "all", "--db", db, "--config", yaml, backend])
            guard result.status == 0 else { preconditionFailure("ingest failed: \(result.stderr)") }
            return db
        } catch {
            preconditionFailure("cannot ingest SampleLogs: \(error)")
        }
    }()

    /// Runs a parsed command; returns its exit code (0 when it returns normally).
    static func exitCode(of command: some ParsableCommand) throws -> Int32 {
        var command = command
        do {
            try command.run()
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        }
    }

    @Test(
        "readiness exits 0 when ready and 3 when not",
        arguments: [
            (["--quiet-days", "2"], Int32(0)),
            (["--quiet-days", "2", "--include-blocked"], Int32(3)),
            (["--quiet-days", "4"], Int32(3)),
            (["--quiet-days", "2", "--until", "2026-11-21"], Int32(3)),
            (
                [
                    "--quiet-days", "2", "--include-blocked", "--ignore", "192.0.2.0/24", "--ignore", "198.51.100.0/24",
                    "--ignore", "203.0.113.0/24", "--ignore", "2001:db8::/32",
                ], Int32(0)
            ),
        ]
    )
    func readinessExitCodes(arguments: [String], expected: Int32) throws {
        let command = try Gatewatch.Readiness.parse(["--db", Self.sampleDatabase, "--format", "json"] + arguments)
        #expect(try Self.exitCode(of: command) == expected)
    }

    @Test("whatif exits 0, 4 or 5 as documented")
    func whatIfExitCodes() throws {
        let directory = try CLI.scratch()
        let webConfig = try String(
            contentsOfFile: CLI.repositoryRoot.appendingPathComponent("SampleLogs/web.config").path,
            encoding: .utf8
        )
        func variant(_ name: String, removing fragment: String) throws -> String {
            let path = directory + "/" + name
            let text = webConfig.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !($0.contains("<add") && $0.contains(fragment)) }.joined(separator: "\n")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let noOffice = try variant("no-office.config", removing: "10.20.0.0")
        let noProbe = try variant("no-probe.config", removing: "168.63.129.16")
        let common = ["--db", Self.sampleDatabase, "--config", Self.yaml, "--since", "2026-11-22"]
        #expect(try Self.exitCode(of: Gatewatch.WhatIf.parse(common)) == 0)
        #expect(try Self.exitCode(of: Gatewatch.WhatIf.parse(common + ["--policy", noOffice])) == 4)
        #expect(try Self.exitCode(of: Gatewatch.WhatIf.parse(common + ["--policy", noProbe, "--format", "json"])) == 5)
        #expect(
            try Self.exitCode(of: Gatewatch.WhatIf.parse(common + ["--gateway", "20.50.10.9", "--format", "csv"])) == 4
        )
    }

    @Test(
        "usage errors name the option and the fix",
        arguments: [
            (["--quiet-days", "0"], "--quiet-days must be from 1 to 36500, not 0"),
            (["--quiet-days", "2", "--ignore", "not-an-address"], "cannot read --ignore 'not-an-address'"),
        ]
    )
    func readinessUsage(arguments: [String], fragment: String) {
        #expect {
            _ = try Gatewatch.Readiness.parse(arguments)
        } throws: { error in
            Gatewatch.Readiness.message(for: error).contains(fragment)
        }
    }

    @Test("report writes one file; --out - prints it")
    func reportFile() throws {
        let directory = try CLI.scratch()
        let out = directory + "/r.html"
        let command = try Gatewatch.Report.parse([
            "--db", Self.sampleDatabase, "--out", out, "--rows", "5", "--title", "T",
        ])
        #expect(try Self.exitCode(of: command) == 0)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.contains("<title>T</title>"))
        #expect(html.contains("No policy was given.") || html.contains("Policy findings"))
        #expect {
            _ = try Gatewatch.Report.parse(["--db", Self.sampleDatabase, "--out", out, "--rows", "0"])
        } throws: { error in
            Gatewatch.Report.message(for: error).contains("--rows must be from 1 to 1000000, not 0")
        }
    }

    /// The arguments were fine; the file system refused: a failure (1), not a usage error (2).
    @Test("report into a missing directory fails with exit 1 and says where")
    func reportUnwritable() throws {
        let directory = try CLI.scratch()
        let result = try CLI.run(["report", "--db", Self.sampleDatabase, "--out", directory + "/missing/r.html"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot write '\(directory)/missing/r.html'"))
        #expect(!result.stderr.contains("Usage:"))
    }

    @Test("an empty --since/--until window is a usage error that says why")
    func emptyWindow() throws {
        let result = try CLI.run(["top", "--db", Self.sampleDatabase, "--since", "2026-01-02", "--until", "2026-01-01"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is empty; --since must come before --until"))
    }
}

/// `prune --keep-evidence --keep-hourly` end to end, on a copy of the ingested sample.
@Suite struct RetentionCLITests {
    @Test("retention by kind rolls old hours into days and keeps every total the queries show")
    func keepEvidenceAndHourly() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        try FileManager.default.copyItem(atPath: MigrationCLITests.sampleDatabase, toPath: db)
        let summary = try CLI.run(["summary", "--db", db, "--format", "json"])
        let top = try CLI.run(["top", "--db", db, "--format", "json", "--limit", "0"])
        // The sample is days old: a few days' retention rolls it all up and drops its evidence.
        let prune = try CLI.run(["prune", "--db", db, "--keep-evidence", "1d", "--keep-hourly", "2d", "--json"])
        #expect(prune.status == 0, "\(prune.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(prune.stdout.utf8)) as? [String: Any])
        #expect((report["hourly_rows_rolled_up"] as? Int ?? 0) > (report["daily_rows"] as? Int ?? 0))
        #expect(((report["rows"] as? [String: Int])?["evidence"] ?? 0) == 2204)
        #expect(try CLI.run(["summary", "--db", db, "--format", "json"]).stdout == summary.stdout)
        #expect(try CLI.run(["top", "--db", db, "--format", "json", "--limit", "0"]).stdout == top.stdout)
        let hours = try CLI.run(["sql", "--db", db, "--format", "csv", "SELECT COUNT(DISTINCT hour) FROM hourly"])
        #expect(hours.stdout.hasSuffix("\r\n5\r\n"), "\(hours.stdout)")
        // Mixed modes are a usage error.
        let mixed = try CLI.run(["prune", "--db", db, "--keep-hourly", "2d", "--older-than", "3d"])
        #expect(mixed.status == 2)
    }
}

/// Output that cannot be written is a failure, and `report --out` writes through links and devices.
@Suite struct OutputFailureTests {
    @Test("a full standard output makes a command fail (exit 1), not succeed silently")
    func fullStandardOutput() throws {
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { return }
        for arguments in [
            ["summary"], ["report", "--out", "-"], ["readiness", "--quiet-days", "2", "--format", "json"],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = arguments + ["--db", MigrationCLITests.sampleDatabase]
            process.standardOutput = full
            let error = Pipe()
            process.standardError = error
            try process.run()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 1, "\(arguments)")
            #expect(message.contains("writing to standard output failed"), "\(arguments): \(message)")
        }
    }

    @Test("report --out follows a symbolic link to its target and keeps the link")
    func reportThroughLink() throws {
        let directory = try CLI.scratch()
        let target = directory + "/target.html"
        let link = directory + "/link.html"
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let result = try CLI.run(["report", "--db", MigrationCLITests.sampleDatabase, "--out", link])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
    }
}
