import Foundation
import Synchronization
import Testing

@testable import GatewatchCore

/// Evidence is a bounded sample, aggregates stay exact (issue 23): real logs, the built binary, real
/// SQLite.
@Suite struct EvidenceSamplingCLITests {
    static let heavy = "198.51.100.7"
    static let light = "203.0.113.9"
    static let fields =
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
        + "cs(Referer) sc-status sc-substatus sc-win32-status time-taken"

    /// A W3C log of 2026-11-20: `heavy` requests from `heavy` at seconds `range` (one every 10 s,
    /// served), 30 from `light`, and 120 with a c-ip that is not an address.
    static func log(_ range: Range<Int>, extras: Bool = true) -> String {
        var lines = ["#Software: Microsoft Internet Information Services 10.0", fields]
        func line(_ second: Int, _ client: String, _ path: String) -> String {
            let time = UTCTime.format(1_795_132_800 + Int64(second))  // 2026-11-20T00:00:00Z + second
            let date = time.prefix(10)
            let clock = time.dropFirst(11).prefix(8)
            return "\(date) \(clock) 10.0.0.5 GET \(path) - 443 - \(client) curl/8.0 - 200 0 0 12"
        }
        for index in range { lines.append(line(index * 10, heavy, "/api/item/\(index)")) }
        if extras {
            for index in 0..<30 { lines.append(line(index * 7 + 3, light, "/light/\(index)")) }
            for index in 0..<120 { lines.append(line(index * 5 + 1, "not-an-address", "/odd/\(index)")) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Two logs of one day: 150 requests of ``heavy`` with the extras, then 80 more alone.
    static func twoFiles(in directory: String) throws -> (String, String) {
        let first = directory + "/u_ex26112000.log"
        let second = directory + "/u_ex26112012.log"
        try write(log(0..<150), first)
        try write(log(150..<230, extras: false), second)
        return (first, second)
    }

    /// Writes ``log(_:extras:)`` of `range` as the day's log in `directory`; returns its path.
    static func dayLog(_ range: Range<Int>, in directory: String) throws -> String {
        let path = directory + "/u_ex261120.log"
        try write(log(range), path)
        return path
    }

    static func ingest(_ db: String, _ paths: [String], _ extra: [String] = []) throws -> CLI.Result {
        let result = try CLI.run(["ingest", "--quiet", "--db", db, "--gateway", "192.0.2.1"] + extra + paths)
        #expect(result.status == 0, "\(result.stderr)")
        return result
    }

    /// The evidence rows of an address (`events --format json`), decoded.
    static func events(_ db: String, _ address: String) throws -> [[String: Any]] {
        let result = try CLI.run(["events", "--db", db, "--address", address, "--limit", "0", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    static func count(_ db: String, _ sql: String) throws -> Int {
        let store = try Store(path: db, readOnly: true)
        return try store.query { try $0.value(Int.self, sql, []) ?? -1 }
    }

    @Test("an address over the cap keeps the first N and the latest; events says what they stand for")
    func capAndEvents() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.dayLog(0..<250, in: directory)
        let db = directory + "/g.db"
        _ = try Self.ingest(db, [path])
        let rows = try Self.events(db, Self.heavy)
        #expect(rows.count == 101)
        let lines = rows.compactMap { $0["line"] as? Int }.sorted()
        // The first 100 requests (lines 3…102: two header lines) and the latest (line 252).
        #expect(lines == Array(3...102) + [252])
        for row in rows {
            let sample = try #require(row["sample"] as? [String: Any], "\(row)")
            #expect(sample["requests"] as? Int == 250)
            #expect(sample["rows"] as? Int == 101)
            #expect(sample["day"] as? String == "2026-11-20")
        }
        // Below the cap: every row, and no sample member (the output of before).
        let light = try Self.events(db, Self.light)
        #expect(light.count == 30)
        #expect(light.allSatisfy { $0["sample"] == nil })
        // The invalid-address text is an address of its own.
        #expect(try Self.count(db, "SELECT COUNT(*) FROM evidence WHERE address = 'not-an-address'") == 101)
        let table = try CLI.run(["events", "--db", db, "--address", Self.heavy, "--limit", "0", "--format", "table"])
        #expect(
            table.stdout.contains(
                "sampled: \(Self.heavy) on 2026-11-20 (served): the store keeps 101 rows of 250 requests"
            ),
            "\(table.stdout.suffix(400))"
        )
        let ndjson = try CLI.run(["events", "--db", db, "--address", Self.heavy, "--format", "ndjson", "--limit", "1"])
        #expect(ndjson.stdout.contains("\"sample\":{\"day\":\"2026-11-20\",\"requests\":250,\"rows\":101}"))
        #expect(try Self.count(db, "SELECT COUNT(*) FROM meta WHERE key = 'evidence' AND value = 'sample 100'") == 1)
        #expect(try Self.count(db, "SELECT COUNT(*) FROM files WHERE evidence = 'sample 100'") == 1)
    }

    @Test("aggregates under the sample equal those under --evidence all; --evidence none keeps no row")
    func aggregatesExact() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try Self.dayLog(0..<400, in: directory)
        let generated = directory + "/gen.log.gz"
        let generation = try CLI.runProgram(
            "/usr/bin/python3",
            [
                CLI.repositoryRoot.appendingPathComponent("Benchmarks/reference/genlog.py").path, "--lines", "30000",
                "--seed", "42", "--fields", "iis", "--out", generated,
            ]
        )
        #expect(generation.status == 0, "\(generation.stderr)")
        let sampled = directory + "/sampled.db"
        let all = directory + "/all.db"
        let none = directory + "/none.db"
        _ = try Self.ingest(sampled, [path, generated])
        _ = try Self.ingest(all, [path, generated], ["--evidence", "all"])
        _ = try Self.ingest(none, [path, generated], ["--evidence", "none"])
        let sampledRows = try Self.count(sampled, "SELECT COUNT(*) FROM evidence")
        let allRows = try Self.count(all, "SELECT COUNT(*) FROM evidence")
        #expect(sampledRows < allRows)
        #expect(allRows == (try Self.count(all, "SELECT SUM(requests) FROM hourly WHERE verdict = 'direct'")))
        #expect(try Self.count(none, "SELECT COUNT(*) FROM evidence") == 0)
        // No address, day and outcome has more than N + 1 rows.
        #expect(
            try Self.count(
                sampled,
                """
                SELECT COUNT(*) FROM (SELECT 1 FROM evidence GROUP BY address, substr(time, 1, 10), outcome
                    HAVING COUNT(*) > 101) over
                """
            ) == 0
        )
        for query in [
            ["summary", "--format", "json"], ["top", "--verdict", "all", "--limit", "0", "--format", "json"],
            ["clients", "--limit", "0", "--format", "json"], ["timeline", "--format", "json"],
            ["statuses", "--format", "json"], ["ip", Self.heavy, "--format", "json"],
        ] {
            let expected = try CLI.run(query + ["--db", all])
            #expect(expected.status == 0, "\(query): \(expected.stderr)")
            #expect(try CLI.run(query + ["--db", sampled]).stdout == expected.stdout, "\(query)")
            #expect(try CLI.run(query + ["--db", none]).stdout == expected.stdout, "\(query)")
        }
        // Under --evidence all nothing is sampled: events carries no sample member.
        let every = try Self.events(all, Self.heavy)
        #expect(every.count == 400)
        #expect(every.allSatisfy { $0["sample"] == nil })
    }

    @Test("the cap holds across files of one day, in one run or two, and on re-ingest")
    func capAcrossFiles() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, second) = try Self.twoFiles(in: directory)
        let expectedLines = Array(3...102)  // the first file's first 100 requests
        func check(_ db: String) throws {
            let rows = try Self.events(db, Self.heavy)
            #expect(rows.count == 101, "\(db)")
            // The latest is the second file's last request, at 229 × 10 s.
            let latest = try #require(rows.last)
            #expect(latest["time"] as? String == "2026-11-20T00:38:10Z")
            #expect(latest["file"] as? String == second)
            let firstFileLines = rows.filter { $0["file"] as? String == first }.compactMap { $0["line"] as? Int }
            #expect(firstFileLines.sorted() == expectedLines)
            #expect((rows.first?["sample"] as? [String: Any])?["requests"] as? Int == 230)
        }
        let separate = directory + "/separate.db"
        _ = try Self.ingest(separate, [first])
        _ = try Self.ingest(separate, [second])
        try check(separate)
        // Both at once (parallel passes, one writer at a time).
        let together = directory + "/together.db"
        _ = try Self.ingest(together, [first, second])
        try check(together)
        // Again: nothing new. Re-ingested (both: they share the day): the same rows.
        _ = try Self.ingest(separate, [first, second])
        try check(separate)
        _ = try Self.ingest(separate, [first, second], ["--reingest"])
        try check(separate)
        // A smaller cap applies from the next input on.
        let capped = directory + "/capped.db"
        _ = try Self.ingest(capped, [first, second], ["--evidence-cap", "10"])
        #expect(try Self.events(capped, Self.heavy).count == 11)
    }

    @Test("the cap is per outcome: an address over it in all but under it per outcome keeps every row")
    func capPerOutcome() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        /// `served` served and `refused` refused (403.503) requests of `heavy`, from second `start` on.
        func log(_ name: String, start: Int, served: Int, refused: Int) throws -> String {
            var lines = ["#Software: Microsoft Internet Information Services 10.0", Self.fields]
            for index in 0..<(served + refused) {
                let time = UTCTime.format(1_795_132_800 + Int64(start + index * 10))
                let status = index < served ? "200 0" : "403 503"
                lines.append(
                    "\(time.prefix(10)) \(time.dropFirst(11).prefix(8)) 10.0.0.5 GET /r/\(index) - 443 - \(Self.heavy) "
                        + "curl/8.0 - \(status) 0 12"
                )
            }
            let path = directory + "/" + name
            try Self.write(lines.joined(separator: "\n") + "\n", path)
            return path
        }
        let db = directory + "/g.db"
        func rows(_ outcome: String) throws -> Int {
            try Self.count(
                db,
                "SELECT COUNT(*) FROM evidence WHERE address = '\(Self.heavy)' AND outcome = '\(outcome)'"
            )
        }
        // 90 served and 90 refused over two files: 180 rows of one address and day, none over the cap.
        _ = try Self.ingest(db, [try log("u_ex26112000.log", start: 0, served: 60, refused: 60)])
        _ = try Self.ingest(db, [try log("u_ex26112006.log", start: 21_600, served: 30, refused: 30)])
        #expect(try rows("served") == 90)
        #expect(try rows("blocked") == 90)
        // 20 more served: the served group is over the cap (first 100 and the latest), the refused one untouched.
        _ = try Self.ingest(db, [try log("u_ex26112012.log", start: 43_200, served: 20, refused: 0)])
        #expect(try rows("served") == 101)
        #expect(try rows("blocked") == 90)
    }

    @Test("evidence: in gatewatch.yaml, and its errors")
    func configuration() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.write(Self.log(0..<150), directory + "/u_ex261120.log")
        try Self.write("gateways: [192.0.2.1]\nevidence: all\n", directory + "/gatewatch.yaml")
        let result = try CLI.run(["ingest", "--quiet", "--db", "g.db", "u_ex261120.log"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            try Self.count(directory + "/g.db", "SELECT COUNT(*) FROM evidence WHERE address = '\(Self.heavy)'") == 150
        )
        #expect(try Self.count(directory + "/g.db", "SELECT COUNT(*) FROM files WHERE evidence = 'all'") == 1)
        try Self.write("evidence: some\n", directory + "/gatewatch.yaml")
        let bad = try CLI.run(["ingest", "--db", "h.db", "u_ex261120.log"], in: directory)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'some' is not a valid value for 'evidence'"), "\(bad.stderr)")
        let flag = try CLI.run(["ingest", "--db", "h.db", "--evidence", "every", "u_ex261120.log"], in: directory)
        #expect(flag.status != 0)
        #expect(flag.stderr.contains("--evidence 'every'"), "\(flag.stderr)")
    }

    @Test(
        "the cap holds on PostgreSQL, with two hosts ingesting the same day at once",
        .enabled(if: TestPostgres.available)
    )
    func capOnPostgres() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, second) = try Self.twoFiles(in: directory)
        let url = try TestPostgres.makeDatabase()
        _ = try Self.ingest(url, [first])
        _ = try Self.ingest(url, [second])
        #expect(try Self.events(url, Self.heavy).count == 101)
        #expect(try Self.events(url, Self.heavy).last?["time"] as? String == "2026-11-20T00:38:10Z")
        // Two ingesters at once (as two hosts would): the trims take turns.
        let racing = try TestPostgres.makeDatabase("racing")
        let results = Mutex<[Int32]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let result = try? CLI.run(
                ["ingest", "--quiet", "--db", racing, "--gateway", "192.0.2.1", "--source", "host\(index)"]
                    + [index == 0 ? first : second]
            )
            results.withLock { $0.append(result?.status ?? -1) }
        }
        #expect(results.withLock { $0 } == [0, 0])
        let rows = try Self.events(racing, Self.heavy)
        #expect(rows.count == 101)
        #expect(rows.last?["time"] as? String == "2026-11-20T00:38:10Z")
        #expect((rows.first?["sample"] as? [String: Any])?["requests"] as? Int == 230)
    }
}
