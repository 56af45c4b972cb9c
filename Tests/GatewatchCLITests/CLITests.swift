import Foundation
import GRDB
import Synchronization
import Testing

@testable import GatewatchCore

/// End-to-end runs of the built `gatewatch` binary: real processes, real files, real SQLite.
enum CLI {
    /// Judgement keys whose stored `requests` are not the sum of their `hourly_facts` rows (issue
    /// 21: `reclassify` counts what moves from them); 0 when every key agrees.
    static func keysWithWrongRequests(_ location: String) throws -> Int {
        try Store(path: location, readOnly: true).query { db in
            try db.value(
                Int.self,
                """
                SELECT COUNT(*) FROM judgements j
                LEFT JOIN (SELECT key_id, SUM(requests) AS n FROM hourly_facts GROUP BY key_id) h ON h.key_id = j.key_id
                WHERE j.requests <> COALESCE(h.n, 0)
                """,
                []
            ) ?? -1
        }
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `gatewatch` executable next to the test bundle (SwiftPM builds it for this target).
    static var binary: String {
        let besideRunner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("gatewatch").path
        if FileManager.default.isExecutableFile(atPath: besideRunner) { return besideRunner }
        return repositoryRoot.appendingPathComponent(".build/debug/gatewatch").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        in directory: String? = nil
    ) throws -> Result {
        try runProgram(binary, arguments, environment: environment, stdin: stdin, in: directory)
    }

    /// Runs any program (`/bin/sh` around the binary, `setpriv`) as ``run(_:environment:stdin:in:)`` does.
    @discardableResult
    static func runProgram(
        _ program: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        in directory: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["GATEWATCH_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let output = Pipe()
        let error = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }

    static func scratch(_ label: String = #function) throws -> String {
        let path = NSTemporaryDirectory() + "gatewatch-cli-\(label.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func gzip(_ data: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c", "-n", "-1"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(data)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return result
    }

    static let header =
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
        + "#Date: 2026-11-20 00:00:00\r\n"
        + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"

    static func log(_ range: Range<Int>, day: Int = 20) -> String {
        var text = header
        text.reserveCapacity(range.count * 130)
        for index in range {
            let second = index % 86_400
            let h = second / 3600
            let m = second / 60 % 60
            let s = second % 60
            let client = index % 7 == 0 ? "198.51.100.\(index % 250)" : "20.50.10.\(4 + index % 2)"
            let status = index % 21 == 0 ? "403 503" : "200 0"
            text +=
                "2026-11-\(day) \(h < 10 ? "0" : "")\(h):\(m < 10 ? "0" : "")\(m):\(s < 10 ? "0" : "")\(s) 10.0.1.4 GET /api/v1/orders/\(index % 1000) - 443 - \(client) okhttp/4.12.0 - \(status) 0 \(index % 97)\r\n"
        }
        return text
    }

    /// The store's data, canonically ordered, for comparing two stores.
    static func dump(_ path: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            var text = ""
            for row in try Row.fetchAll(
                db,
                sql: "SELECT * FROM hourly ORDER BY hour, site, address, verdict, outcome, status, substatus"
            ) {
                text += row.description + "\n"
            }
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT time, line, address, uri_stem, status, substatus, outcome FROM evidence ORDER BY time, line, address"
            ) {
                text += row.description + "\n"
            }
            for row in try Row.fetchAll(
                db,
                sql: "SELECT fingerprint, bytes, lines, requests, malformed, status FROM files ORDER BY fingerprint"
            ) {
                text += row.description + "\n"
            }
            return text
        }
    }
}

@Suite struct IngestCLITests {
    /// Processes that create one new store at once all open it: the ones that lose the race on
    /// the schema find it in place (a read of the migrations table can meet it half-made; seen
    /// as "no such table: grdb_migrations" from an ingest started beside a new `watch`).
    @Test("six ingests creating one new store at once all succeed, and it holds all six inputs")
    func concurrentCreation() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try (0..<6).map { index -> String in
            let path = directory + "/u_ex26112\(index).log"
            try CLI.log(0..<200, day: 20 + index).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        for round in 0..<4 {
            let db = directory + "/round\(round).db"
            let results = Mutex<[CLI.Result]>([])
            DispatchQueue.concurrentPerform(iterations: logs.count) { index in
                let result =
                    (try? CLI.run(["ingest", "--quiet", "--db", db, "--gateway", "20.50.10.0/28", logs[index]]))
                    ?? CLI.Result(status: -1, stdout: "", stderr: "could not start")
                results.withLock { $0.append(result) }
            }
            for result in results.withLock({ $0 }) {
                #expect(result.status == 0, "round \(round): \(result.stderr)")
            }
            let files = try DatabaseQueue(path: db).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM files")
            }
            #expect(files == logs.count, "round \(round)")
        }
    }

    @Test("summary JSON keeps its contract and is byte-identical after ingesting the same data twice")
    func summaryContract() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        try Data(CLI.log(0..<2000).utf8).write(to: URL(fileURLWithPath: directory + "/u_ex261120.log"))
        let ingest = try CLI.run(["ingest", "--db", db, "--gateway", "20.50.10.0/28", directory])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stdout.contains("1 new"))
        let first = try CLI.run(["summary", "--db", db, "--format", "json"])
        #expect(first.status == 0)
        let again = try CLI.run(["ingest", "--db", db, "--gateway", "20.50.10.0/28", directory + "/u_ex261120.log"])
        #expect(again.stdout.contains("1 already known"))
        let second = try CLI.run(["summary", "--db", db, "--format", "json"])
        #expect(first.stdout == second.stdout)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        // "policy": the policy the verdicts are under (issue 21).
        #expect(
            Set(object.keys) == ["files", "requests", "malformed", "first", "last", "by_verdict", "direct", "policy"]
        )
        #expect(object["requests"] as? Int == 2000)
        #expect(object["first"] as? String == "2026-11-20T00:00:00Z")
        let verdicts = try #require(object["by_verdict"] as? [String: Int])
        // Extended (never broken) by issue 20: 'unjudged' counts requests ingested with nothing to judge against.
        #expect(Set(verdicts.keys) == ["gateway", "allowed", "platform", "direct", "unjudged"])
        #expect(verdicts["unjudged"] == 0)
        #expect(verdicts["direct"] == (0..<2000).count { $0 % 7 == 0 })
        let direct = try #require(object["direct"] as? [String: Int])
        #expect(direct["blocked"] == (0..<2000).count { $0 % 7 == 0 && $0 % 21 == 0 })
        #expect(Set(direct.keys) == ["blocked", "served", "clients"])

        // $GATEWATCH_DB is the default database; --db overrides it.
        let fromEnvironment = try CLI.run(["summary", "--format", "json"], environment: ["GATEWATCH_DB": db])
        #expect(fromEnvironment.stdout == first.stdout)
        let csv = try CLI.run(["summary", "--db", db, "--format", "csv"])
        #expect(csv.stdout.hasPrefix("metric,value\r\n"))
    }

    @Test("standard input is an input, recognised by the ledger like a file")
    func standardInput() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        let result = try CLI.run(
            ["ingest", "--db", db, "--json", "-"],
            stdin: try CLI.gzip(Data(CLI.log(0..<300).utf8))
        )
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["requests"] as? Int == 300)
        #expect(object["files_new"] as? Int == 1)
        // The ledger knows standard input as it knows files: the same content again adds
        // nothing, and a longer version (a file that grew) adds only the rest.
        let again = try CLI.run(["ingest", "--db", db, "--json", "-"], stdin: Data(CLI.log(0..<300).utf8))
        let known = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(known["files_known"] as? Int == 1)
        #expect(known["requests"] as? Int == 0)
        let grown = try CLI.run(["ingest", "--db", db, "--json", "-"], stdin: Data(CLI.log(0..<500).utf8))
        let more = try #require(try JSONSerialization.jsonObject(with: Data(grown.stdout.utf8)) as? [String: Any])
        #expect(more["files_grown"] as? Int == 1)
        #expect(more["requests"] as? Int == 200)
        let total = try CLI.run(["sql", "--db", db, "--format", "csv", "SELECT SUM(requests) FROM hourly"])
        #expect(total.stdout.hasSuffix("\r\n500\r\n"), "\(total.stdout)")
    }

    @Test(
        "bad input never passes silently",
        arguments: [
            ("missing", 2, "cannot open"),
            ("corrupt", 1, "corrupt gzip at byte"),
            ("truncated", 1, "cut short"),
            ("json", 1, "is not a W3C log"),
        ]
    )
    func badInput(kind: String, status: Int32, message: String) throws {
        let directory = try CLI.scratch()
        let path = directory + "/input.log.gz"
        let compressed = try CLI.gzip(Data(CLI.log(0..<20_000).utf8))
        switch kind {
        case "corrupt":
            var damaged = compressed
            for index in 3000..<3100 { damaged[index] ^= 0xA5 }
            try damaged.write(to: URL(fileURLWithPath: path))
        case "truncated":
            try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: path))
        case "json":
            try Data("{\"records\": []}\n".utf8).write(to: URL(fileURLWithPath: path))
        default:
            break
        }
        let result = try CLI.run(["ingest", "--db", directory + "/g.db", path])
        #expect(result.status == Int32(status))
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("input.log.gz"))
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test("--strict fails on malformed lines and names file and line")
    func strict() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex.log"
        try Data((CLI.log(0..<10) + "2026-11-20 00:00:11 only four values\r\n").utf8).write(
            to: URL(fileURLWithPath: path)
        )
        let lenient = try CLI.run(["ingest", "--db", directory + "/a.db", path])
        #expect(lenient.status == 0)
        #expect(lenient.stdout.contains("u_ex.log:15: 5 values where #Fields declares 15"))
        let strict = try CLI.run(["ingest", "--db", directory + "/b.db", "--strict", path])
        #expect(strict.status == 3)
        #expect(strict.stderr.contains("malformed"))
    }

    @Test("hostile log text reaches the terminal escaped")
    func hostileText() throws {
        let directory = try CLI.scratch()
        let path = directory + "/evil.log"
        try Data((CLI.header + "2026-11-20 00:00:01 \u{1B}[31mred\u{1B}[0m \u{07}bell\r\n").utf8).write(
            to: URL(fileURLWithPath: path)
        )
        let result = try CLI.run(["ingest", "--db", directory + "/g.db", path])
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(!result.stdout.contains("\u{07}"))
        #expect(result.stdout.contains("\\x1b[31mred"))
    }

    /// Error messages quote paths, arguments and configuration values; none of them may carry a
    /// control sequence to the terminal, whichever command or layer reports the error.
    @Test(
        "error messages reach the terminal escaped",
        arguments: [
            (["summary", "--db", "a\u{1B}[31mb.db"], 1),  // a store path (StoreError, from run())
            (["top", "--db", "a.db", "--since", "\u{1B}[31m"], 2),  // an argument (validation)
            (["ingest", "--db", "g.db", "--policy", "evil.txt", "x.log"], 2),  // a policy file's line
            (["check", "--policy", "evil.txt", "10.0.0.1"], 2),  // the same, through check
        ]
    )
    func hostileErrors(arguments: [String], status: Int) throws {
        let directory = try CLI.scratch()
        try Data("10.0.0.0/8\n\u{1B}[31mevil\n".utf8).write(to: URL(fileURLWithPath: directory + "/evil.txt"))
        let resolved = arguments.map { $0.hasSuffix(".db") || $0.hasSuffix(".txt") ? directory + "/" + $0 : $0 }
        let result = try CLI.run(resolved)
        #expect(result.status == Int32(status))
        #expect(result.stderr.contains("Error: "))
        #expect(!result.stderr.contains("\u{1B}"), "\(result.stderr)")
        #expect(result.stderr.contains("\\x1b[31m"), "\(result.stderr)")
    }
}

@Suite(.serialized) struct CrashSafetyTests {
    // Serialized: each case runs several multi-second ingests; in parallel they starve each other
    // on a 2-core machine and the kills would land at less varied points.

    /// The kills land at shares of the clean run's duration (`share`, twice `share`, three times
    /// `share`), so that they fall inside the ingest however fast the binary is (fixed delays
    /// killed nothing once a release binary ingested the logs in under half a second).
    @Test(
        "SIGKILL mid-ingest, then a rerun, ends with exactly the store of one clean run",
        arguments: [0.1, 0.3, 0.6]
    )
    func killAndRerun(share: Double) throws {
        let directory = try CLI.scratch()
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try CLI.gzip(Data(CLI.log(0..<60_000, day: 20).utf8)).write(
            to: URL(fileURLWithPath: logs + "/u_ex261120.log.gz")
        )
        try Data(CLI.log(0..<60_000, day: 21).utf8).write(to: URL(fileURLWithPath: logs + "/u_ex261121.log"))
        try CLI.gzip(Data(CLI.log(0..<60_000, day: 22).utf8)).write(
            to: URL(fileURLWithPath: logs + "/u_ex261122.log.gz")
        )

        let clean = directory + "/clean.db"
        let clock = ContinuousClock()
        let started = clock.now
        let cleanRun = try CLI.run([
            "ingest", "--db", clean, "--gateway", "20.50.10.4", "--gateway", "20.50.10.5", logs,
        ])
        let elapsed = clock.now - started
        let cleanSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(cleanRun.status == 0)

        let crashed = directory + "/crashed.db"
        var kills = 0
        for attempt in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["ingest", "--db", crashed, "--gateway", "20.50.10.4", "--gateway", "20.50.10.5", logs]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: cleanSeconds * share * Double(attempt + 1))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        let rerun = try CLI.run(["ingest", "--db", crashed, "--gateway", "20.50.10.4", "--gateway", "20.50.10.5", logs])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try CLI.dump(crashed) == CLI.dump(clean))
        let summaryClean = try CLI.run(["summary", "--db", clean, "--format", "json"])
        let summaryCrashed = try CLI.run(["summary", "--db", crashed, "--format", "json"])
        #expect(summaryClean.stdout == summaryCrashed.stdout)
        #expect(summaryClean.stdout.contains("\"requests\":180000"))
        #expect(kills >= 1, "the ingest finished before any kill; the test proved nothing")
    }
}
