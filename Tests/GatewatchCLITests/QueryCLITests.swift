import Foundation
import Testing

@testable import GatewatchCore

/// End-to-end runs of the query commands on a store built by `gatewatch ingest`.
@Suite struct QueryCLITests {
    /// A store from `CLI.log(0..<2000)`: gateways 20.50.10.4/5; every 7th line from 198.51.100.x
    /// is direct, every 21st line is `403 503` (blocked when direct).
    static func store(label: String = #function) throws -> String {
        let directory = try CLI.scratch(label)
        let db = directory + "/g.db"
        try Data(CLI.log(0..<2000).utf8).write(to: URL(fileURLWithPath: directory + "/u_ex261120.log"))
        let ingest = try CLI.run(["ingest", "--db", db, "--gateway", "20.50.10.0/28", directory])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return db
    }

    static let directIndices = (0..<2000).filter { $0 % 7 == 0 }

    @Test("top --format json keeps its contract, sorted by requests then address")
    func topContract() throws {
        let db = try Self.store()
        let result = try CLI.run(["top", "--db", db, "--format", "json", "--limit", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        var expected: [String: Int] = [:]
        for index in Self.directIndices { expected["198.51.100.\(index % 250)", default: 0] += 1 }
        #expect(rows.count == expected.count)
        for row in rows {
            // The contract's keys, extended by "owner" (issue 24: these are documentation addresses).
            #expect(
                Set(row.keys) == [
                    "address", "requests", "blocked", "served", "bytes", "first_seen", "last_seen", "owner",
                ]
            )
            #expect(
                row["owner"] as? [String: String] == [
                    "name": "documentation (RFC 5737)", "source": "private", "detail": "198.51.100.0/24",
                ]
            )
        }
        let pairs = rows.map { ($0["address"] as? String ?? "", $0["requests"] as? Int ?? -1) }
        let sorted = expected.sorted {
            $0.value != $1.value ? $0.value > $1.value : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
        }
        #expect(pairs.map(\.0) == sorted.map(\.key))
        #expect(pairs.map(\.1) == sorted.map(\.value))
        let blocked = rows.reduce(0) { $0 + ($1["blocked"] as? Int ?? 0) }
        #expect(blocked == Self.directIndices.count { $0 % 21 == 0 })

        let table = try CLI.run(["top", "--db", db])
        #expect(table.stdout.hasPrefix("address "))
        #expect(table.stdout.contains("(20 of \(expected.count) addresses; --limit 0 shows all)"))
        let csv = try CLI.run(["top", "--db", db, "--format", "csv", "--verdict", "gateway", "--by", "bytes"])
        #expect(csv.stdout.hasPrefix("address,requests,blocked,served,bytes,first_seen,last_seen\r\n"))
        #expect(csv.stdout.components(separatedBy: "\r\n").count == 4)  // header, two gateways, trailing ""
        let ndjson = try CLI.run(["top", "--db", db, "--format", "ndjson", "--limit", "3"])
        #expect(ndjson.stdout.split(separator: "\n").count == 3)
    }

    @Test(
        "usage errors exit with 2 and say what is wrong",
        arguments: [
            (["top", "--cidr", "10.0.0.0/33"], "--cidr '10.0.0.0/33'"),
            (["top", "--tz", "Mars/Olympus"], "unknown --tz 'Mars/Olympus'"),
            (["top", "--limit=-1"], "--limit must be 0"),
            (["top", "--verdict", "sideways"], "sideways"),
            (["timeline", "--bucket", "week"], "week"),
            (["clients", "--quiet-days=-3"], "--quiet-days must be"),
            (["events", "--outcome", "maybe"], "--outcome must be blocked or served"),
            (["top", "--since", "yesterday-ish"], "cannot read"),
            (["ip"], "Missing expected argument"),
        ]
    )
    func usageErrors(arguments: [String], fragment: String) throws {
        let db = try Self.store()
        let result = try CLI.run(arguments + ["--db", db])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(fragment), "\(result.stderr)")
    }

    @Test("a missing database is a failure (exit 1) that names the path")
    func missingDatabase() throws {
        let path = try CLI.scratch() + "/none.db"
        for command in ["top", "clients", "timeline", "statuses", "events"] {
            let result = try CLI.run([command, "--db", path])
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains("no database at '\(path)'"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        // prune and alert check change a store but never start one.
        for arguments in [["prune", "--older-than", "30d"], ["alert", "check"]] {
            let result = try CLI.run(arguments + ["--db", path])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.contains("no database at '\(path)'"), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("another application's SQLite database is refused and left untouched")
    func foreignDatabase() throws {
        let directory = try CLI.scratch()
        let db = directory + "/crm.db"
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        create.arguments = ["sqlite3", db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"]
        try create.run()
        create.waitUntilExit()
        guard create.terminationStatus == 0 else { return }  // no sqlite3 here
        let before = try Data(contentsOf: URL(fileURLWithPath: db))
        try Data(CLI.log(0..<10).utf8).write(to: URL(fileURLWithPath: directory + "/u_ex261120.log"))
        let result = try CLI.run(["ingest", "--db", db, directory + "/u_ex261120.log"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("another application's SQLite database (tables customers)"), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: db)) == before)
    }

    @Test("every command finds the store named by db: in ./gatewatch.yaml, as ingest does")
    func databaseFromConfiguration() throws {
        let directory = try CLI.scratch()
        try Data(CLI.log(0..<300).utf8).write(to: URL(fileURLWithPath: directory + "/u_ex261120.log"))
        try Data("db: stores/main.db\ngateways: [20.50.10.0/28]\n".utf8)
            .write(to: URL(fileURLWithPath: directory + "/gatewatch.yaml"))
        try FileManager.default.createDirectory(atPath: directory + "/stores", withIntermediateDirectories: true)
        let ingest = try CLI.run(["ingest", "u_ex261120.log"], in: directory)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/stores/main.db"))
        for command in [
            ["summary"], ["top"], ["clients"], ["timeline"], ["statuses"], ["events"], ["ip", "198.51.100.0"],
            ["sql", "SELECT COUNT(*) FROM files"], ["readiness", "--quiet-days", "1"],
            ["prune", "--older-than", "9999d"],
        ] {
            let result = try CLI.run(command, in: directory)
            #expect(
                result.status == 0 || command == ["readiness", "--quiet-days", "1"],
                "\(command): \(result.stderr)"
            )
            #expect(!result.stderr.contains("no database"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/gatewatch.db"))
        // --db and $GATEWATCH_DB still come first; an invalid file is an error, not ignored.
        let explicit = try CLI.run(["summary", "--db", directory + "/none.db"], in: directory)
        #expect(explicit.stderr.contains("no database at '\(directory)/none.db'"))
        try Data("db: [\n".utf8).write(to: URL(fileURLWithPath: directory + "/gatewatch.yaml"))
        let broken = try CLI.run(["summary"], in: directory)
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("gatewatch.yaml"), "\(broken.stderr)")
    }

    @Test("--config other/cfg.yaml names the store of every command, as it does for ingest (db: relative to the file)")
    func databaseFromExplicitConfiguration() throws {
        let directory = try CLI.scratch()
        try FileManager.default.createDirectory(atPath: directory + "/other", withIntermediateDirectories: true)
        try Data(CLI.log(0..<300).utf8).write(to: URL(fileURLWithPath: directory + "/u_ex261120.log"))
        try Data("db: other.db\ngateways: [20.50.10.0/28]\n".utf8)
            .write(to: URL(fileURLWithPath: directory + "/other/cfg.yaml"))
        let ingest = try CLI.run(["ingest", "--config", "other/cfg.yaml", "u_ex261120.log"], in: directory)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/other/other.db"))
        let top = try CLI.run(["top", "--config", "other/cfg.yaml", "--format", "json", "--limit", "0"], in: directory)
        #expect(top.status == 0, "\(top.stderr)")
        #expect(!top.stderr.contains("no database"), "\(top.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [[String: Any]])
        #expect(rows.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == (0..<300).filter { $0 % 7 == 0 }.count)
        for command in [
            ["summary"], ["clients"], ["timeline"], ["statuses"], ["events"], ["ip", "198.51.100.0"],
            ["sql", "SELECT COUNT(*) FROM files"], ["correlate"], ["report", "--out", directory + "/r.html"],
            ["whatif"], ["alert", "check", "--dry-run"],
            ["prune", "--older-than", "9999d"],
        ] {
            let result = try CLI.run(command + ["--config", "other/cfg.yaml"], in: directory)
            #expect(!result.stderr.contains("no database"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("gatewatch.db"), "\(command): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/gatewatch.db"))
        // --db and $GATEWATCH_DB still come before the file's db:.
        let explicit = try CLI.run(["summary", "--config", "other/cfg.yaml", "--db", "none.db"], in: directory)
        #expect(explicit.stderr.contains("no database at 'none.db'"), "\(explicit.stderr)")
        let environment = try CLI.run(
            ["summary", "--config", "other/cfg.yaml"],
            environment: ["GATEWATCH_DB": "env.db"],
            in: directory
        )
        #expect(environment.stderr.contains("no database at 'env.db'"), "\(environment.stderr)")
    }

    @Test("ip, clients, timeline, statuses and events answer on the same store")
    func commands() throws {
        let db = try Self.store()
        let ip = try CLI.run(["ip", "--db", db, "198.51.100.0", "--format", "json"])
        #expect(ip.status == 0, "\(ip.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(ip.stdout.utf8)) as? [String: Any])
        // 198.51.100.0 is index ≡ 0 (mod 7) and ≡ 0 (mod 250): 0, 1750.
        #expect(report["requests"] as? Int == 2)
        #expect((report["rules"] as? [[String: Any]])?.first?["value"] as? String != nil)
        let ipTable = try CLI.run(["ip", "--db", db, "198.51.100.0"])
        #expect(ipTable.stdout.contains("daily 2026-11-20"))
        #expect(ipTable.stdout.contains("/api/v1/orders/"))

        let clients = try CLI.run(["clients", "--db", db, "--format", "json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(clients.stdout.utf8)) as? [[String: Any]])
        #expect(list.count == Set(Self.directIndices.map { $0 % 250 }).count)
        #expect(list.allSatisfy { $0["state"] as? String == "active" || $0["state"] as? String == "blocked-only" })
        #expect(list.allSatisfy { ($0["last_1d"] as? Int) == ($0["requests"] as? Int) })

        let timeline = try CLI.run(["timeline", "--db", db, "--verdict", "direct", "--format", "json"])
        let points = try #require(
            try JSONSerialization.jsonObject(with: Data(timeline.stdout.utf8)) as? [[String: Any]]
        )
        #expect(points.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == Self.directIndices.count)
        let bars = try CLI.run(["timeline", "--db", db, "--bucket", "day"])
        #expect(bars.stdout.contains("2026-11-20"))
        #expect(bars.stdout.contains("█"))

        let statuses = try CLI.run(["statuses", "--db", db, "--format", "json"])
        let matrix = try #require(try JSONSerialization.jsonObject(with: Data(statuses.stdout.utf8)) as? [String: Any])
        let rows = try #require(matrix["statuses"] as? [[String: Any]])
        let denied = try #require(rows.first { $0["status"] as? String == "403.503" })
        #expect(denied["total"] as? Int == (0..<2000).count { $0 % 21 == 0 })
        #expect(denied["direct"] as? Int == Self.directIndices.count { $0 % 21 == 0 })
        let help = try CLI.run(["statuses", "--help"])
        #expect(help.stdout.contains("approximate"))

        // Not a terminal: events default to NDJSON.
        let events = try CLI.run(["events", "--db", db, "--address", "198.51.100.0"])
        let lines = events.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("{") })
        let table = try CLI.run(["events", "--db", db, "--format", "table", "--limit", "5"])
        #expect(table.stdout.hasPrefix("time "))
        #expect(table.stdout.contains("(newest 5 shown; --limit 0 shows all)"))
        let paris = try CLI.run(["events", "--db", db, "--format", "json", "--limit", "1", "--tz", "Europe/Paris"])
        #expect(paris.stdout.contains("+01:00"))
    }

    @Test("sql reads, and refuses writes as bad input (exit 2) leaving the database unchanged")
    func sql() throws {
        let db = try Self.store()
        let before = try CLI.dump(db)
        let read = try CLI.run([
            "sql", "--db", db, "--format", "csv",
            "SELECT verdict, SUM(requests) AS n FROM hourly GROUP BY verdict ORDER BY verdict",
        ])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(
            read.stdout
                == "verdict,n\r\ndirect,\(Self.directIndices.count)\r\ngateway,\(2000 - Self.directIndices.count)\r\n"
        )
        for statement in [
            "DELETE FROM hourly", "DROP TABLE evidence", "SELECT 1; DELETE FROM hourly",
            "ATTACH DATABASE ':memory:' AS x",
        ] {
            let write = try CLI.run(["sql", "--db", db, statement])
            #expect(write.status == 2, "\(statement)")
            #expect(write.stderr.hasPrefix("Error: "), "\(statement): \(write.stderr)")
        }
        #expect(try CLI.dump(db) == before)
    }

    @Test("summary and top agree with expected.py on a genlog.py log")
    func benchAgreement() throws {
        let bench = CLI.repositoryRoot.appendingPathComponent("Benchmarks/reference").path
        let directory = try CLI.scratch()
        let log = directory + "/g.log.gz"
        let allow = directory + "/allow.txt"
        func python(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + arguments
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return String(decoding: data, as: UTF8.self)
        }
        _ = try python([
            bench + "/genlog.py", "--lines", "20000", "--seed", "3", "--out", log, "--write-allowlist", allow,
        ])
        let expected = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try python([bench + "/expected.py", log, "--allow-file", allow]).utf8)
            )
                as? [String: Any]
        )
        let blocks = try String(contentsOfFile: allow, encoding: .utf8).split(separator: "\n").filter {
            !$0.hasPrefix("#")
        }
        let db = directory + "/g.db"
        let ingest = try CLI.run(["ingest", "--db", db] + blocks.flatMap { ["--gateway", String($0)] } + [log])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let top = try CLI.run(["top", "--db", db, "--verdict", "direct", "--limit", "10", "--format", "json"])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [[String: Any]])
        let denied = try #require(expected["top_denied"] as? [[Any]])
        #expect(rows.map { $0["address"] as? String } == denied.map { $0[0] as? String })
        #expect(rows.map { $0["requests"] as? Int } == denied.map { $0[1] as? Int })
        let summary = try CLI.run(["summary", "--db", db, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
        let verdicts = try #require(expected["verdicts"] as? [String: Int])
        #expect((object["by_verdict"] as? [String: Int])?["direct"] == verdicts["denied"])
        #expect(object["requests"] as? Int == expected["lines"] as? Int)
        #expect((object["direct"] as? [String: Int])?["clients"] == expected["distinct_denied_ips"] as? Int)
    }
}
