import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Issue 20, items 3 and 4: the store knows what each file was judged under, says so when a later
/// run's policy or layout differs, replaces a file's rows with `--reingest`, and never calls a
/// request `allowed` when nothing judged it.
@Suite struct JudgementCLITests {
    static let webConfig = CLI.repositoryRoot.appendingPathComponent("SampleLogs/web.config").path
    static let policy = ["--policy", webConfig, "--gateway", "20.50.10.4", "--gateway", "20.50.10.5"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("no policy and no gateway: requests are unjudged, ingest warns once, and no command calls them allowed")
    func unjudged() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/u_ex261120.log"
        try Self.write(CLI.log(0..<700), to: log)
        let db = directory + "/gatewatch.db"

        let ingest = try CLI.run(["ingest", "--json", "--db", db, log], in: directory)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let report = try Self.json(ingest.stdout)
        let verdicts = try #require(report["by_verdict"] as? [String: Int])
        #expect(verdicts["unjudged"] == 700)
        #expect(verdicts["allowed"] == 0)
        let warning = "nothing to judge against: give --gateway or --policy"
        #expect(ingest.stderr.components(separatedBy: warning).count == 2, "\(ingest.stderr)")

        let summary = try CLI.run(["summary", "--db", db])
        #expect(summary.status == 0)
        #expect(summary.stdout.contains("700 requests were not judged"), "\(summary.stdout)")
        #expect(!summary.stdout.contains("0 direct requests were served."), "\(summary.stdout)")
        let summaryJSON = try Self.json(try CLI.run(["summary", "--format", "json", "--db", db]).stdout)
        #expect((summaryJSON["by_verdict"] as? [String: Int])?["unjudged"] == 700)

        let top = try CLI.run(["top", "--db", db])
        #expect(top.stdout.contains("not judged"), "\(top.stdout)")
        let topJSON = try CLI.run(["top", "--format", "json", "--db", db])
        #expect(topJSON.stdout == "[]\n")
        #expect(topJSON.stderr.contains("not judged"), "\(topJSON.stderr)")

        let readiness = try CLI.run(["readiness", "--quiet-days", "1", "--db", db])
        #expect(readiness.status == 3, "\(readiness.stdout)")
        #expect(readiness.stdout.contains("NOT READY"))
        #expect(readiness.stdout.contains("700 request(s)"), "\(readiness.stdout)")
        let readinessJSON = try CLI.run(["readiness", "--quiet-days", "1", "--format", "json", "--db", db])
        #expect(readinessJSON.status == 3)
        #expect(try Self.json(readinessJSON.stdout)["ready"] as? Bool == false)

        // whatif: the unjudged callers the proposal would refuse are listed as such.
        let whatIf = try CLI.run(["whatif", "--gateway", "20.50.10.4", "--gateway", "20.50.10.5", "--db", db])
        #expect(whatIf.status == 4, "\(whatIf.stdout)")
        let rows = whatIf.stdout.split(separator: "\n")
        #expect(rows.contains { $0.hasPrefix("198.51.100.") && $0.contains(" unjudged ") }, "\(whatIf.stdout)")

        let html = directory + "/report.html"
        #expect(try CLI.run(["report", "--out", html, "--db", db]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("were not judged"))
        #expect(!page.contains("No request bypassed the gateway"))
    }

    @Test(
        "a file read with no policy, then with one: ingest refuses naming both policies (issue 21); --reingest --reclassify replaces its rows"
    )
    func policyChangedThenReingest() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/u_ex261120.log"
        try Self.write(CLI.log(0..<900), to: log)
        let db = directory + "/gatewatch.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, log]).status == 0)
        let before = try CLI.dump(db)

        let again = try CLI.run(["ingest", "--db", db] + Self.policy + [log])
        #expect(again.status == 2, "\(again.stderr)")
        #expect(again.stderr.contains("under the policy none (unjudged)"), "\(again.stderr)")
        #expect(again.stderr.contains("web.config; gateways 20.50.10.4/32, 20.50.10.5/32"), "\(again.stderr)")
        #expect(again.stderr.contains("gatewatch reclassify") && again.stderr.contains("--reclassify"))
        #expect(try CLI.dump(db) == before)

        let reingest = try CLI.run(
            ["ingest", "--reingest", "--reclassify", "--json", "--db", db] + Self.policy + [log]
        )
        #expect(reingest.status == 0, "\(reingest.stderr)")
        let report = try Self.json(reingest.stdout)
        #expect(report["files_new"] as? Int == 1)
        #expect(report["files_reingested"] as? Int == 1)

        // Exactly what one ingest under the policy stores: nothing counted twice, nothing kept.
        let fresh = directory + "/fresh.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", fresh] + Self.policy + [log]).status == 0)
        #expect(try CLI.dump(db) == CLI.dump(fresh))
        // The replaced rows' keys gave their requests back (the first run's keys hold none now).
        #expect(try CLI.keysWithWrongRequests(db) == 0)
        let summary = try Self.json(try CLI.run(["summary", "--format", "json", "--db", db]).stdout)
        #expect((summary["by_verdict"] as? [String: Int])?["unjudged"] == 0)
        #expect(((summary["direct"] as? [String: Int])?["served"] ?? 0) > 0)
        #expect(summary["requests"] as? Int == 900)

        // The same settings again: known, and nothing to warn about.
        let quiet = try CLI.run(["ingest", "--db", db] + Self.policy + [log])
        #expect(quiet.stdout.contains("0 new, 1 already known"))
        #expect(!quiet.stderr.contains("--reingest"), "\(quiet.stderr)")
    }

    @Test("a wrong --fields is recorded: the next run says so, and --reingest reads the lines again")
    func wrongFieldsThenReingest() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // No #Fields directive: the layout comes from --fields.
        let lines = CLI.log(0..<400).split(separator: "\r\n").filter { !$0.hasPrefix("#") }
        let log = directory + "/headerless.log"
        try Self.write(lines.joined(separator: "\r\n") + "\r\n", to: log)
        let db = directory + "/gatewatch.db"
        let wrong = try CLI.run(["ingest", "--json", "--fields", "appservice", "--db", db] + Self.policy + [log])
        #expect(try Self.json(wrong.stdout)["malformed"] as? Int == 400)

        let again = try CLI.run(["ingest", "--db", db] + Self.policy + [log])
        #expect(again.stdout.contains("--fields '"), "\(again.stdout)")
        #expect(again.stderr.contains("--reingest"))

        let reingest = try CLI.run(["ingest", "--reingest", "--json", "--db", db] + Self.policy + [log])
        #expect(reingest.status == 0, "\(reingest.stderr)")
        let report = try Self.json(reingest.stdout)
        #expect(report["requests"] as? Int == 400)
        #expect(report["malformed"] as? Int == 0)
        let summary = try Self.json(try CLI.run(["summary", "--format", "json", "--db", db]).stdout)
        #expect(summary["requests"] as? Int == 400)
        #expect(summary["malformed"] as? Int == 0)
    }

    @Test("--reingest refuses, and changes nothing, while a file left out has requests on the same days")
    func reingestSharedDays() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = directory + "/a.log"
        let second = directory + "/b.log"
        let other = directory + "/c.log"
        try Self.write(CLI.log(0..<300), to: first)
        try Self.write(CLI.log(300..<600), to: second)
        try Self.write(CLI.log(0..<200, day: 22), to: other)
        let db = directory + "/gatewatch.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, first, second, other]).status == 0)
        // The store's verdicts under the policy first (issue 21: ingest refuses another policy).
        #expect(try CLI.run(["reclassify", "--db", db] + Self.policy).status == 0)
        let before = try CLI.dump(db)

        let refused = try CLI.run(["ingest", "--reingest", "--db", db] + Self.policy + [first])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("'\(second)'"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("c.log"))
        #expect(try CLI.dump(db) == before)

        let accepted = try CLI.run(["ingest", "--reingest", "--quiet", "--db", db] + Self.policy + [first, second])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let fresh = directory + "/fresh.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", fresh] + Self.policy + [first, second, other]).status == 0)
        let hourly = "SELECT * FROM hourly ORDER BY hour, site, address, verdict, outcome, status, substatus"
        let rows = try [db, fresh].map { path in
            try DatabaseQueue(path: path).read { try Row.fetchAll($0, sql: hourly).map(\.description) }
        }
        #expect(rows[0] == rows[1])
        #expect(try CLI.run(["ingest", "--reingest", "--db", db, "-"]).status == 2)
    }

    @Test(
        "--reingest killed (SIGKILL) in the removal's commit or a file's, then run again, equals one clean run",
        arguments: ["commit-start:1", "commit-written:1", "commit-start:3", "commit-written:2"]
    )
    func reingestKilled(fault: String) throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = directory + "/a.log"
        let second = directory + "/b.log"
        try Self.write(CLI.log(0..<3_000), to: first)
        try Self.write(CLI.log(3_000..<6_000), to: second)
        let db = directory + "/gatewatch.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, first, second]).status == 0)
        #expect(try CLI.run(["reclassify", "--db", db] + Self.policy).status == 0)
        // One input at a time: the removal is the first commit, then a.log's, then b.log's.
        let command = ["ingest", "--reingest", "--quiet", "--jobs", "1", "--db", db] + Self.policy + [first, second]
        let killed = try CLI.run(command, environment: ["GATEWATCH_FAULT": fault])
        #expect(killed.status == 9, "the fault point was not reached: \(killed.stderr)")
        let rerun = try CLI.run(command)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let fresh = directory + "/fresh.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", fresh] + Self.policy + [first, second]).status == 0)
        #expect(try CLI.dump(db) == CLI.dump(fresh))
    }

    @Test("a store made by main before this schema opens, upgrades, and records what later files are read under")
    func migrationFromEarlierStore() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixture = CLI.repositoryRoot.appendingPathComponent("Tests/Fixtures/store/main-d8122ce.db").path
        let db = directory + "/old.db"
        try FileManager.default.copyItem(atPath: fixture, toPath: db)
        let log = directory + "/u_ex261120.log"
        try Self.write(CLI.log(0..<250), to: log)

        let summary = try Self.json(try CLI.run(["summary", "--format", "json", "--db", db]).stdout)
        #expect(summary["requests"] as? Int == 250)
        #expect((summary["by_verdict"] as? [String: Int])?["unjudged"] == 0)
        // The old rows' policy is unknown: recorded at ingest; another policy is refused until
        // the store is re-judged under it (issue 21).
        let refused = try CLI.run(["ingest", "--db", db, log])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("recorded at ingest"), "\(refused.stderr)")
        let later = directory + "/u_ex261121.log"
        try Self.write(CLI.log(0..<50, day: 21), to: later)
        let reclassified = try CLI.run(["ingest", "--quiet", "--reclassify", "--db", db] + Self.policy + [log, later])
        #expect(reclassified.status == 0, "\(reclassified.stderr)")
        let recorded = try DatabaseQueue(path: db).read { db in
            try Row.fetchAll(db, sql: "SELECT path, policy_source, read_fields FROM files ORDER BY id")
        }
        try #require(recorded.count == 2)
        #expect((recorded[0]["policy_source"] as String?)?.contains("web.config") == true)
        #expect((recorded[1]["policy_source"] as String?)?.contains("web.config") == true)
        #expect((recorded[1]["read_fields"] as String?) == "#Fields")
    }
}
