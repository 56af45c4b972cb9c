import Foundation
import GRDB
import Testing

/// Issue 20, no silent wrong answers: the filesystem and command-line edges.
///
/// Every mistake is a clear refusal with a non-zero exit, never a wrong answer with exit 0.
///
/// Real processes on real files and stores.
@Suite struct CLIEdgeTests {
    /// A store holding 50 requests of 2026-11-20 (see ``CLI/log(_:day:)``); those of
    /// 198.51.100.x are direct.
    static func store(_ directory: String) throws -> String {
        let log = directory + "/u_ex261120.log"
        try Data(CLI.log(0..<50).utf8).write(to: URL(fileURLWithPath: log))
        let db = directory + "/g.db"
        let result = try Self.run(["ingest", "-q", "--gateway", "20.50.10.0/24", "--db", db, log])
        #expect(result.status == 0, "\(result.stderr)")
        return db
    }

    /// Runs the binary with at most 4 GB of address space and 60 seconds: a defect that loops or
    /// allocates without bound fails the test instead of hanging it or the machine.
    @discardableResult
    static func run(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(
            ["-c", "ulimit -v 4000000; exec timeout -k 5 60 \"$0\" \"$@\"", CLI.binary] + arguments,
            shell: true
        )
    }

    /// Adds one hourly row for `address` at `hour` (`YYYY-MM-DDTHH:00:00Z`), written straight into
    /// the store: the state a store reaches when ingest let an absurd date through.
    static func addRow(_ db: String, address: String, hour: String) throws {
        try DatabaseQueue(path: db).write { db in
            try db.execute(
                sql: """
                    INSERT INTO hourly_facts (hour, site, address, status, substatus, requests, bytes,
                        time_taken_sum, time_taken_max, first_seen, last_seen, key_id)
                    SELECT ?, site, ?, status, substatus, requests, bytes,
                        time_taken_sum, time_taken_max, ?, ?, key_id
                    FROM hourly WHERE verdict = 'direct' LIMIT 1
                    """,
                arguments: [hour, address, hour, hour]
            )
        }
    }

    @Test("a symbolic link cycle and a second way into a directory are walked once; each file is read once")
    func symlinkCycles() throws {
        let directory = try CLI.scratch()
        let logs = directory + "/L"
        try FileManager.default.createDirectory(atPath: logs + "/a", withIntermediateDirectories: true)
        try Data(CLI.log(0..<30).utf8).write(to: URL(fileURLWithPath: logs + "/a/u_ex261120.log"))
        try FileManager.default.createSymbolicLink(atPath: logs + "/a/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: logs + "/current", withDestinationPath: ".")
        try FileManager.default.linkItem(atPath: logs + "/a/u_ex261120.log", toPath: logs + "/same.log")
        let started = Date()
        // Before the fix this walked L/a/up/a/up/… until memory ran out.
        let result = try Self.run([
            "ingest", "--json", "--db", directory + "/g.db", logs, logs + "/a/*", logs + "/current",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 30)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        )
        let files = try #require(summary["files"] as? [[String: Any]])
        #expect(files.count == 1, "\(files.map { $0["path"] ?? "" })")
        #expect(summary["requests"] as? Int == 30)
        #expect(!result.stderr.contains("matches no file"))
    }

    @Test("a missing path beside a good file is counted as failed, with the reason, in text and JSON")
    func missingPathCountsFailed() throws {
        let directory = try CLI.scratch()
        let good = directory + "/u_ex261120.log"
        try Data(CLI.log(0..<20).utf8).write(to: URL(fileURLWithPath: good))
        let text = try Self.run(["ingest", "--db", directory + "/t.db", good, directory + "/missing.log"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("1 new, 0 already known, 0 grown, 1 failed"), "\(text.stdout)")
        #expect(text.stdout.contains("failed: cannot open '\(directory)/missing.log': No such file"))
        let json = try Self.run([
            "ingest", "--json", "--db", directory + "/j.db", good, directory + "/missing.log",
            directory + "/none-*.log",
        ])
        #expect(json.status == 1)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(summary["files_failed"] as? Int == 2)
        let failed = (summary["files"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "failed" }
        #expect(failed.map { $0["path"] as? String } == [directory + "/missing.log", directory + "/none-*.log"])
        #expect(failed.allSatisfy { ($0["error"] as? String)?.isEmpty == false })
        // Each problem is reported once on standard error.
        #expect(json.stderr.components(separatedBy: "missing.log").count == 2, "\(json.stderr)")
    }

    @Test("a bucketed query on a store spanning 0001 to 9999 is bounded in memory, or refused with a way out")
    func bucketsBounded() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        try Self.addRow(db, address: "198.51.100.200", hour: "0001-01-01T00:00:00Z")
        try Self.addRow(db, address: "198.51.100.200", hour: "9999-12-31T23:00:00Z")
        // 87 million hour buckets needed 24 GB before the fix: the 4 GB limit of `run` makes that a crash.
        for bucket in ["hour", "day"] {
            let all = try Self.run(["timeline", "--db", db, "--bucket", bucket, "--format", "json"])
            #expect(all.status == 2, "\(bucket): \(all.stderr)")
            #expect(all.stderr.contains("0001-01-01"))
            #expect(all.stderr.contains("--since/--until"))
            #expect(all.stderr.contains("--bucket day") == (bucket == "hour"))
            #expect(all.stdout.isEmpty)
        }
        let newest = try Self.run(["timeline", "--db", db, "--limit", "3"])
        #expect(newest.status == 0, "\(newest.stderr)")
        #expect(newest.stdout.contains("9999-12-31T23:00:00Z"))
        #expect(newest.stdout.contains("3 of 87649416 buckets"), "\(newest.stdout)")
        let window = try Self.run([
            "timeline", "--db", db, "--since", "2026-11-20", "--until", "2026-11-20", "--format", "csv",
        ])
        #expect(window.status == 0)
        #expect(window.stdout.split(whereSeparator: \.isNewline).count == 2)  // the header and hour 00
        // The address's daily series lists the days with requests, not 3.6 million days.
        let address = try Self.run(["ip", "--db", db, "198.51.100.200", "--format", "json"])
        #expect(address.status == 0, "\(address.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(address.stdout.utf8)) as? [String: Any])
        let daily = try #require(report["daily"] as? [[String: Any]])
        #expect(daily.compactMap { $0["day"] as? String } == ["0001-01-01", "9999-12-31"])
        let readiness = try Self.run(["readiness", "--db", db, "--quiet-days", "36500"])
        #expect(readiness.status == 3)
        #expect(readiness.stdout.contains("more)"), "\(readiness.stdout.prefix(400))")
        for command in [["summary"], ["top"], ["clients"], ["statuses"], ["report", "--out", directory + "/r.html"]] {
            let result = try Self.run(command + ["--db", db])
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
    }

    @Test("ip refuses text that is no IP address and was never logged, with exit 2")
    func ipNotAnAddress() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        for text in ["1.2.3.999", "1.2.3", "2001:db8::g", "300.1.1.1", "203.0.113.0/24"] {
            let result = try Self.run(["ip", "--db", db, text])
            #expect(result.status == 2, "\(text): \(result.stdout)")
            #expect(result.stderr.contains("'\(text)' is not an IP address"), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        #expect(try Self.run(["ip", "--db", db, "203.0.113.0/24"]).stderr.contains("clients --cidr 203.0.113.0/24"))
        // A real address without requests is an answer, not an error.
        let quiet = try Self.run(["ip", "--db", db, "203.0.113.9"])
        #expect(quiet.status == 0)
        #expect(quiet.stdout.contains("no requests"))
        // Raw client text that was logged as such is still shown.
        try Self.addRow(db, address: "unknown", hour: "2026-11-20T05:00:00Z")
        #expect(try Self.run(["ip", "--db", db, "unknown"]).status == 0)
    }

    @Test("numeric options out of range are refused at once, naming the option and the range")
    func numericRanges() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        let cases: [([String], String)] = [
            (["readiness", "--db", db, "--quiet-days", "99999999999"], "--quiet-days must be from 1 to 36500"),
            (["readiness", "--db", db, "--quiet-days", "0"], "--quiet-days must be from 1 to 36500"),
            (["clients", "--db", db, "--quiet-days", "99999999999999"], "--quiet-days must be from 0 to 36500"),
            (
                ["report", "--db", db, "--out", directory + "/r.html", "--quiet-days", "-3"],
                "--quiet-days must be from 0"
            ),
            (
                ["report", "--db", db, "--out", directory + "/r.html", "--rows", "-1"],
                "--rows must be from 1 to 1000000"
            ),
            (["whatif", "--db", db, "--values", "-1"], "--values must be 0 (no limit) or a positive number, not -1"),
            (["correlate", "--db", db, "--limit", "-1"], "--limit must be 0 (list none) or a positive number, not -1"),
            (["ingest", "--db", db, "--jobs", "-1", directory + "/u_ex261120.log"], "--jobs must be between 1 and 64"),
            (["check", "--iis-version", "-1", "203.0.113.9"], "'-1' is not a supported IIS version"),
            (
                ["watch", "--db", db, "--interval", "99999999999w", directory],
                "--interval '99999999999w' is not a duration"
            ),
            (["alert", "test", "--webhook-timeout", "1e300s"], "--webhook-timeout '1e300s' is not a duration from"),
            (["alert", "test", "--webhook-retries", "-1"], "--webhook-retries must be from 0 to 10"),
        ]
        for (arguments, message) in cases {
            let started = Date()
            let result = try Self.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(Date().timeIntervalSince(started) < 10)
        }
        for command in [
            ["top"], ["clients"], ["statuses"], ["events"], ["timeline"], ["ip", "1.2.3.4"], ["sql", "SELECT 1"],
            ["whatif"],
        ] {
            let result = try Self.run(command + ["--db", db, "--limit", "-1"])
            #expect(result.status == 2, "\(command)")
            #expect(
                result.stderr.contains("--limit must be 0 (no limit) or a positive number, not -1"),
                "\(command): \(result.stderr)"
            )
            #expect(!result.stderr.contains("Missing value"))
        }
    }

    @Test("--last and a duration as --since end now: rows dated in the future are not in the last 7 days")
    func lastExcludesFuture() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        let hour = { (offset: TimeInterval) in
            let seconds = Int(Date().timeIntervalSince1970 + offset)
            return ISO8601DateFormatter().string(
                from: Date(timeIntervalSince1970: TimeInterval(seconds - seconds % 3600))
            )
        }
        try Self.addRow(db, address: "198.51.100.201", hour: hour(-3600))
        try Self.addRow(db, address: "198.51.100.202", hour: hour(2 * 86_400))
        for window in [["--last", "7d"], ["--since", "7d"]] {
            let summary = try Self.run(["summary", "--db", db, "--format", "json"] + window)
            #expect(summary.status == 0)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
            let requests = try #require(json["requests"] as? Int)
            let top = try Self.run(["top", "--db", db, "--format", "csv"] + window)
            #expect(top.stdout.contains("198.51.100.201"))
            #expect(!top.stdout.contains("198.51.100.202"), "\(window): \(top.stdout)")
            let clients = try Self.run(["clients", "--db", db, "--format", "csv"] + window)
            #expect(!clients.stdout.contains("198.51.100.202"))
            #expect(requests >= 1 && requests < 50, "\(window): \(requests)")
        }
        // With --until the window ends there, as before.
        let until = try Self.run(["top", "--db", db, "--format", "csv", "--last", "30d", "--until", hour(3 * 86_400)])
        #expect(until.stdout.contains("198.51.100.202"))
    }

    @Test("a time option that cannot be read names the option and the accepted forms, with the command's usage")
    func timeOptionErrors() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        let commands: [[String]] = [
            ["summary"], ["top"], ["ip", "1.2.3.4"], ["clients"], ["timeline"], ["statuses"], ["events"], ["whatif"],
            ["report", "--out", directory + "/r.html"], ["correlate"],
        ]
        for command in commands {
            for option in ["--since", "--until", "--last"] {
                let result = try Self.run(command + ["--db", db, option, "yesterday"])
                #expect(result.status == 2, "\(command) \(option)")
                #expect(result.stderr.contains("cannot read \(option) 'yesterday'"), "\(command): \(result.stderr)")
                #expect(result.stderr.contains(option == "--last" ? "7d" : "2026-11-20T13:00"))
                #expect(result.stderr.contains("Usage: gatewatch \(command[0])"), "\(command): \(result.stderr)")
            }
        }
        let others: [([String], String)] = [
            (["readiness", "--quiet-days", "1", "--until", "yesterday"], "--until"),
            (["prune", "--before", "yesterday"], "--before"),
            (["prune", "--older-than", "yesterday"], "--older-than"),
            (["prune", "--keep-evidence", "yesterday"], "--keep-evidence"),
            (["prune", "--keep-hourly", "99999999999w"], "--keep-hourly"),
            (["summary", "--last", "99999999999w"], "--last"),
        ]
        for (arguments, option) in others {
            let result = try Self.run(arguments + ["--db", db])
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains("cannot read \(option) '"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("Usage: gatewatch \(arguments[0])"), "\(arguments): \(result.stderr)")
        }
    }

    @Test("readiness does not suggest lowering --quiet-days when it is 1")
    func readinessSuggestion() throws {
        let directory = try CLI.scratch()
        let db = try Self.store(directory)
        // Ignoring the direct callers leaves the window's start before the data as the reason.
        let ignore = ["--ignore", "198.51.100.0/24"]
        let one = try Self.run(["readiness", "--db", db, "--quiet-days", "1"] + ignore)
        #expect(one.status == 3)
        #expect(one.stdout.contains("ingest older logs"), "\(one.stdout)")
        #expect(!one.stdout.contains("--quiet-days"))
        let two = try Self.run(["readiness", "--db", db, "--quiet-days", "2"] + ignore)
        #expect(two.stdout.contains("ingest older logs or lower --quiet-days"))
    }
}
