import Foundation
import GRDB
import Testing

/// Issue 20, the log-input items: every line is parsed, skipped with a reason, or malformed with
/// its file and line number, and no guess is passed off as an answer.
///
/// Real processes, real files, real SQLite.
@Suite struct InputAccountingTests {
    static let fixtures = CLI.repositoryRoot.appendingPathComponent("Tests/Fixtures/service-logs").path

    /// The `--json` summary of an ingest run.
    static func summary(_ result: CLI.Result) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any])
    }

    static func files(_ summary: [String: Any]) throws -> [[String: Any]] {
        try #require(summary["files"] as? [[String: Any]])
    }

    static func warnings(_ file: [String: Any]) -> [String] { file["warnings"] as? [String] ?? [] }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func addresses(_ db: String) throws -> Set<String> {
        let queue = try DatabaseQueue(path: db)
        return try queue.read { Set(try String.fetchAll($0, sql: "SELECT DISTINCT address FROM hourly")) }
    }

    /// A scratch directory holding `u_ex261120.log`: ``webHeader`` and `lines`.
    static func webLog(_ lines: [String], label: String = #function) throws -> (directory: String, path: String) {
        let directory = try CLI.scratch(label)
        let path = directory + "/u_ex261120.log"
        try write(webHeader + lines.map { $0 + "\n" }.joined(), to: path)
        return (directory, path)
    }

    static let webHeader =
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-11-20 00:00:00\n"
        + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
        + "cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes time-taken\n"

    // MARK: Item 2: FTP and SMTP logs

    @Test("an IIS log tree's FTP and SMTP logs are skipped with their reason, not counted as HTTP callers")
    func serviceLogsAreSkipped() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        let result = try CLI.run(["ingest", "--db", db, "--gateway", "20.50.10.4", "--json", Self.fixtures])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try Self.summary(result)
        // W3SVC1 holds the only HTTP requests; FTPSVC2 (10), FTPSVC3 (5) and SMTPSVC1 (7) are skipped.
        #expect(summary["requests"] as? Int == 6)
        #expect(summary["skipped"] as? Int == 22)
        #expect(summary["malformed"] as? Int == 0)
        let lines = try #require(summary["lines"] as? Int)
        #expect(lines == 6 + 22 + 0 + (summary["other_lines"] as? Int ?? -1))
        #expect(summary["direct"] as? [String: Int] == ["blocked": 1, "served": 1])
        for file in try Self.files(summary) {
            let path = try #require(file["path"] as? String)
            let warnings = Self.warnings(file)
            if path.contains("FTPSVC") {
                #expect(file["requests"] as? Int == 0)
                #expect(warnings.contains { $0.contains("FTP log") }, "\(path): \(warnings)")
            } else if path.contains("SMTPSVC") {
                #expect(file["skipped"] as? Int == 7)
                #expect(warnings.contains { $0.contains("SMTP log") }, "\(path): \(warnings)")
            } else {
                #expect(file["requests"] as? Int == 6)
            }
        }
        // The FTP and SMTP clients are nobody's callers.
        let stored = try Self.addresses(db)
        #expect(stored == ["20.50.10.4", "198.51.100.7"])
    }

    @Test("an FTP block inside a web log is skipped, the web blocks around it are read")
    func ftpBlockBetweenWebBlocks() throws {
        let directory = try CLI.scratch()
        let path = directory + "/mixed.log"
        let web = Self.webHeader + "2026-11-20 08:00:01 10.0.1.4 GET / - 443 - 198.51.100.7 curl/8 - 200 0 0 512 3\n"
        // IIS 4-6 FTP: the session number before the command; #Software names no FTP.
        let ftp =
            "#Software: Microsoft Internet Information Services 6.0\n#Version: 1.0\n#Date: 2026-11-20 09:00:00\n"
            + "#Fields: time c-ip cs-method cs-uri-stem sc-status\n"
            + "09:00:01 203.0.113.50 [7]USER anonymous 331\n09:00:02 203.0.113.50 [7]PASS - 230\n"
            + "09:00:03 203.0.113.50 [7]sent /pub/readme.txt 226\n09:00:04 203.0.113.50 [7]QUIT - 226\n"
        try Self.write(web + ftp + web.replacingOccurrences(of: "08:00:01", with: "10:00:01"), to: path)
        let result = try CLI.run(["ingest", "--db", directory + "/g.db", "--json", path])
        let summary = try Self.summary(result)
        #expect(summary["requests"] as? Int == 2)
        #expect(summary["skipped"] as? Int == 4)
        #expect(try Self.addresses(directory + "/g.db") == ["198.51.100.7"])
    }

    @Test("a web log whose first request uses an FTP or SMTP command as its method is still a web log")
    func commandWordsInAWebLog() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        // A scanner's first requests after the rotation name FTP and SMTP commands; HTTP.sys logs them
        // with their path, like any request. The block's later requests are served traffic.
        var text = Self.webHeader
        for verb in ["USER", "PASS", "EHLO", "QUIT"] {
            text += "2026-11-20 00:00:01 10.0.1.4 \(verb) / - 443 - 203.0.113.66 - - 405 0 0 0 1\n"
        }
        text += "2026-11-20 08:00:01 10.0.1.4 GET /api - 443 - 198.51.100.7 curl/8 - 200 0 0 512 3\n"
        try Self.write(text, to: path)
        let result = try CLI.run(["ingest", "--db", directory + "/g.db", "--gateway", "20.50.10.4", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try Self.summary(result)
        #expect(summary["requests"] as? Int == 5, "\(result.stdout)")
        #expect(summary["skipped"] as? Int == 0)
        #expect(try Self.addresses(directory + "/g.db") == ["198.51.100.7", "203.0.113.66"])
    }

    // MARK: Item 4b: the IIS version read from #Software

    @Test("a log whose #Software says IIS 7 is judged blocked/served by IIS 7's 403.6, and the run says so")
    func iisSevenLogUnderTenProfile() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        let block7 = Self.webHeader.replacingOccurrences(of: "Services 10.0", with: "Services 7.0")
        let lines7 =
            "2026-11-20 08:00:01 10.0.1.4 GET /a - 80 - 198.51.100.7 curl/8 - 403 6 5 0 1\n"
            + "2026-11-20 08:00:02 10.0.1.4 GET /b - 80 - 198.51.100.8 curl/8 - 200 0 0 10 2\n"
        // A second block, written after an upgrade to IIS 10: 403.503 is its denial, 403.6 is not.
        let lines10 =
            "2026-11-20 09:00:01 10.0.1.4 GET /c - 80 - 198.51.100.9 curl/8 - 403 503 5 0 1\n"
            + "2026-11-20 09:00:02 10.0.1.4 GET /d - 80 - 198.51.100.10 curl/8 - 403 6 5 0 1\n"
        try Self.write(block7 + lines7 + Self.webHeader + lines10, to: path)
        let result = try CLI.run(["ingest", "--db", directory + "/g.db", "--gateway", "20.50.10.4", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try Self.summary(result)
        #expect(summary["direct"] as? [String: Int] == ["blocked": 2, "served": 2])
        let notes = summary["notes"] as? [String] ?? []
        #expect(notes.contains { $0.contains("IIS 7") && $0.contains("403.6") }, "\(notes)")
        let queue = try DatabaseQueue(path: directory + "/g.db")
        let blocked = try queue.read {
            try String.fetchAll($0, sql: "SELECT address FROM hourly WHERE outcome = 'blocked' ORDER BY address")
        }
        #expect(blocked == ["198.51.100.7", "198.51.100.9"])
    }

    @Test("with --iis-version 7, a log whose #Software says IIS 10 is judged by x.503")
    func iisTenLogUnderSevenProfile() throws {
        let (directory, path) = try Self.webLog([
            "2026-11-20 08:00:01 10.0.1.4 GET /a - 80 - 198.51.100.7 curl/8 - 403 503 5 0 1"
        ])
        let result = try CLI.run([
            "ingest", "--db", directory + "/g.db", "--iis-version", "7", "--gateway", "20.50.10.4", "--json", path,
        ])
        let summary = try Self.summary(result)
        #expect(summary["direct"] as? [String: Int] == ["blocked": 1, "served": 0])
        #expect((summary["notes"] as? [String] ?? []).contains { $0.contains("IIS 10") && $0.contains("x.503") })
    }

    // MARK: Item 5: numbers

    @Test("a numeric field that is not a number makes the line malformed, naming the field; '-' is absent")
    func nonNumericFields() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        let line = "2026-11-20 08:00:0%d 10.0.1.4 GET /a - 80 - 198.51.100.7 curl/8 - %@\n"
        let bodies = [
            "200 0 0 1X405 12",  // sc-bytes
            "200 0 0 100 13X7",  // time-taken
            "403 X 0 100 12",  // sc-substatus
            "2OO 0 0 100 12",  // sc-status
            "- 0 0 - -",  // no status, bytes or time: absent
            "200 0 0 100 40",
        ]
        var text = Self.webHeader
        for (index, body) in bodies.enumerated() { text += String(format: line, index + 1, body) }
        try Self.write(text, to: path)
        let db = directory + "/g.db"
        let result = try CLI.run(["ingest", "--db", db, "--gateway", "20.50.10.4", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try Self.summary(result)
        #expect(summary["malformed"] as? Int == 4)
        #expect(summary["requests"] as? Int == 2)
        let samples = try #require(summary["malformed_samples"] as? [[String: Any]])
        let reasons = samples.compactMap { $0["reason"] as? String }
        for (field, line) in [("sc-bytes", 5), ("time-taken", 6), ("sc-substatus", 7), ("sc-status", 8)] {
            #expect(
                samples.contains {
                    ($0["reason"] as? String)?.hasPrefix(field + " ") == true && $0["line"] as? Int == line
                },
                "\(reasons)"
            )
        }
        // The request without a status is neither blocked nor served.
        #expect(summary["direct"] as? [String: Int] == ["blocked": 0, "served": 1])
        let file = try #require(try Self.files(summary).first)
        #expect(Self.warnings(file).contains { $0.contains("1 direct requests have no sc-status") })
        // Sums skip absent values; the latency histogram holds only the logged time.
        let queue = try DatabaseQueue(path: db)
        let row = try #require(
            try queue.read {
                try Row.fetchOne($0, sql: "SELECT sum(requests), sum(bytes), sum(time_taken_sum) FROM hourly")
            }
        )
        #expect(row[0] as Int64 == 2)
        #expect(row[1] as Int64 == 100)
        #expect(row[2] as Int64 == 40)
    }

    // MARK: Item 10: dates far outside the data

    @Test("lines dated 0001-01-01 or 9999-12-31 are malformed; the run's time range stays sane")
    func implausibleDates() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        var text = Self.webHeader
        for date in ["2026-11-20", "0001-01-01", "9999-12-31", "1994-12-31", "2026-11-21"] {
            text += "\(date) 08:00:00 10.0.1.4 GET /a - 80 - 198.51.100.7 curl/8 - 200 0 0 1 1\n"
        }
        try Self.write(text, to: path)
        let db = directory + "/g.db"
        let result = try CLI.run(["ingest", "--db", db, "--json", path])
        let summary = try Self.summary(result)
        #expect(summary["malformed"] as? Int == 3)
        #expect(summary["first"] as? String == "2026-11-20T08:00:00Z")
        #expect(summary["last"] as? String == "2026-11-21T08:00:00Z")
        let reasons = (summary["malformed_samples"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("date 0001-01-01 is before 1995-01-01") }, "\(reasons)")
        #expect(reasons.contains { $0.contains("date 9999-12-31 is after") && $0.contains("--not-after") })
        // The bucketed query has nothing absurd to span.
        let timeline = try CLI.run(["timeline", "--db", db, "--bucket", "hour", "--format", "json"])
        #expect(timeline.status == 0, "\(timeline.stderr)")
        #expect(timeline.stdout.utf8.count < 100_000)
    }

    @Test("--not-before and --not-after set the window; lines past a file's modification time are malformed")
    func dateWindowOptions() throws {
        let (directory, path) = try Self.webLog([
            "2030-06-01 08:00:00 10.0.1.4 GET /a - 80 - 198.51.100.7 curl/8 - 200 0 0 1 1"
        ])
        // Written long before 2030: by default that line cannot be true.
        let past = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: path)
        let first = try Self.summary(try CLI.run(["ingest", "--db", directory + "/a.db", "--json", path]))
        #expect(first["malformed"] as? Int == 1)
        #expect(first["requests"] as? Int == 0)
        let widened = try Self.summary(
            try CLI.run(["ingest", "--db", directory + "/b.db", "--not-after", "2031-01-01", "--json", path])
        )
        #expect(widened["requests"] as? Int == 1)
        let narrowed = try Self.summary(
            try CLI.run(["ingest", "--db", directory + "/c.db", "--not-before", "2031-01-01", "--json", path])
        )
        #expect(narrowed["malformed"] as? Int == 1)
        let bad = try CLI.run(["ingest", "--db", directory + "/d.db", "--not-after", "someday", path])
        #expect(bad.status == 2)
    }

    @Test("a gateway log line dated 9999 is malformed too")
    func gatewayImplausibleDate() throws {
        let directory = try CLI.scratch()
        let path = directory + "/access.log"
        let line = "192.0.2.10 - - [%@:11:15:22 +0000] \"GET /api/v1/orders/42 HTTP/1.1\" 200 1830 \"-\" \"curl/8\"\n"
        let text = ["23/Nov/2026", "31/Dec/9999", "23/Nov/2026"].map { String(format: line, $0) }.joined()
        try Self.write(text, to: path)
        let summary = try Self.summary(try CLI.run(["ingest", "--db", directory + "/g.db", "--json", path]))
        let file = try #require(try Self.files(summary).first)
        #expect(file["format"] as? String == "nginx")
        #expect(summary["malformed"] as? Int == 1)
        #expect(summary["requests"] as? Int == 2)
        let reasons = (summary["malformed_samples"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.contains { $0.contains("9999-12-31") }, "\(reasons)")
    }

    // MARK: Item 12: xff-leftmost fallback, empty input

    @Test("--client-ip xff-leftmost says when X-Forwarded-For holds no address and c-ip was used")
    func forwardedForWithoutAddress() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        let header =
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
            + "cs(Referer) sc-status sc-substatus sc-win32-status time-taken X-Forwarded-For\n"
        let body = [
            "2026-11-20 08:00:01 10.0.1.4 GET /a - 80 - 20.50.10.4 curl/8 - 200 0 0 1 198.51.100.7",
            "2026-11-20 08:00:02 10.0.1.4 GET /a - 80 - 20.50.10.4 curl/8 - 200 0 0 1 unknown",
            "2026-11-20 08:00:03 10.0.1.4 GET /a - 80 - 20.50.10.4 curl/8 - 200 0 0 1 -",
        ]
        try Self.write(header + body.joined(separator: "\n") + "\n", to: path)
        let result = try CLI.run([
            "ingest", "--db", directory + "/g.db", "--client-ip", "xff-leftmost", "--gateway", "20.50.10.4", path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("1 requests read with c-ip: their X-Forwarded-For holds no IP address"))
    }

    @Test("an empty file or empty standard input is reported as empty input", arguments: [false, true])
    func emptyInput(fromStandardInput: Bool) throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex261120.log"
        try Self.write("", to: path)
        let result = try CLI.run(
            ["ingest", "--db", directory + "/g.db", "--json", fromStandardInput ? "-" : path],
            stdin: fromStandardInput ? Data() : nil
        )
        #expect(result.status == 0, "\(result.stderr)")
        let file = try #require(try Self.files(try Self.summary(result)).first)
        #expect(Self.warnings(file).contains { $0.contains("empty input") }, "\(file)")
    }
}
