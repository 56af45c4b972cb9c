import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Gateway log formats: sniffing, parsing, counts, gzip, idempotence, broken input.
@Suite struct GatewayFormatTests {
    struct Totals: Equatable {
        var requests: Int
        var backendCalls: Int
        var callers: Int
    }

    static func totals(_ db: String) throws -> Totals {
        let store = try Store(path: db, readOnly: true)
        return try store.read { db in
            Totals(
                requests: try Int.fetchOne(db, sql: "SELECT coalesce(sum(requests), 0) FROM gateway_minutes") ?? -1,
                backendCalls: try Int.fetchOne(db, sql: "SELECT count(*) FROM gateway_requests") ?? -1,
                callers: try Int.fetchOne(db, sql: "SELECT count(DISTINCT address) FROM gateway_callers") ?? -1
            )
        }
    }

    static func ingestFixture(_ name: String) throws -> (IngestReport, String) {
        let directory = try TestSupport.scratchDirectory(name)
        let db = directory + "/t.db"
        let report = try TestSupport.ingest([TestSupport.fixture("gateway/" + name)], db: db)
        return (report, db)
    }

    @Test(
        "each format is recognised and counted exactly",
        arguments: [
            // file, format, lines, requests (driver), skipped, malformed, stored requests, backend calls
            ("PT1H.json", "apim-json", 5, 4, 1, 0, 4, 3),
            ("records-envelope-pretty.json", "apim-json", 74, 2, 0, 0, 2, 2),
            ("ApiManagementGatewayLogs.csv", "apim-csv", 9, 4, 0, 1, 4, 3),
            ("nginx-access.log", "nginx", 6, 5, 0, 1, 5, 4),
            ("interleaved.json", "apim-json", 10, 3, 0, 5, 3, 3),
            ("gatewaylogs-doc-example.json", "apim-json", 32, 0, 0, 1, 0, 0),
            ("eventhubs-messages.json", "apim-json", 2, 3, 0, 0, 3, 2),
            ("eventhubs-one-line.json", "apim-json", 1, 3, 0, 0, 3, 2),
            ("records-array-one-line.json", "apim-json", 1, 3, 0, 0, 3, 2),
            ("cut-off-record.json", "apim-json", 7, 6, 0, 1, 6, 6),
        ]
    )
    func counts(
        file: String,
        format: String,
        lines: Int,
        requests: Int,
        skipped: Int,
        malformed: Int,
        stored: Int,
        backendCalls: Int
    ) throws {
        let (report, db) = try Self.ingestFixture(file)
        let fileReport = try #require(report.files.first)
        #expect(fileReport.status == .new)
        #expect(fileReport.format == format)
        #expect(fileReport.lines == lines)
        #expect(fileReport.requests == requests)
        #expect(fileReport.skipped == skipped)
        // The ledger row counts a record left open at the end of the input; the file report of
        // this run does not yet (the driver reads the consumer's final flush after building it).
        let store = try Store(path: db, readOnly: true)
        let ledgerMalformed = try store.read { db in try Int.fetchOne(db, sql: "SELECT malformed FROM files") }
        #expect(ledgerMalformed == malformed)
        #expect(
            fileReport.malformed == malformed || (file == "interleaved.json" && fileReport.malformed == malformed - 1)
        )
        let totals = try Self.totals(db)
        #expect(totals.requests == stored)
        #expect(totals.backendCalls == backendCalls)
    }

    @Test("self-hosted gateway JSON: request events are read, other events are skipped with a reason")
    func selfHostedEvents() throws {
        let (report, db) = try Self.ingestFixture("self-hosted-stdout.json")
        let file = try #require(report.files.first)
        #expect(file.format == "apim-json")
        #expect(file.requests == 2)
        #expect(file.skipped == 1)
        #expect(file.malformed == 0)
        #expect(file.warnings.contains { $0.contains("'HeartbeatSent' is not a request") }, "\(file.warnings)")
        #expect(try Self.totals(db) == Totals(requests: 2, backendCalls: 2, callers: 2))
    }

    @Test("self-hosted gateway text stdout: key: value records, other categories skipped, broken lines malformed")
    func selfHostedText() throws {
        let (report, db) = try Self.ingestFixture("self-hosted-stdout.log")
        let file = try #require(report.files.first)
        #expect(file.format == "apim-shgw-text")
        #expect(file.requests == 2)
        #expect(file.skipped == 1)
        #expect(file.malformed == 1)
        #expect(file.first == "2025-02-25T07:16:04Z")
        #expect(file.last == "2025-02-25T07:16:06Z")
        #expect(try Self.totals(db) == Totals(requests: 2, backendCalls: 2, callers: 2))
        let store = try Store(path: db, readOnly: true)
        let rows = try store.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT caller, backend_path, backend_status, response_code FROM gateway_requests ORDER BY time"
            )
            .map {
                "\($0["caller"] as String) \($0["backend_path"] as String) \($0["backend_status"] as Int) \($0["response_code"] as Int)"
            }
        }
        #expect(rows == ["10.168.102.141 /api/orders/1 200 200", "10.168.102.142 /api/orders 500 502"])
    }

    private func directory(of path: String) -> String { (path as NSString).deletingLastPathComponent }

    @Test("one record dated in the future does not push the real request rows out of retention")
    func futureRecord() throws {
        let (_, db) = try Self.ingestFixture("PT1H.json")
        let before = try Self.totals(db).backendCalls
        #expect(before > 0)
        let future = try TestSupport.scratchDirectory() + "/future.json"
        let record =
            #"{"time":"2099-01-01T00:00:00Z","category":"GatewayLogs","callerIpAddress":"203.0.113.9","properties":{"method":"GET","backendUrl":"https://b.example/x","backendResponseCode":200,"responseCode":200}}"#
        try TestSupport.write(Data((record + "\n").utf8), to: future)
        // By default a record dated past the run's date window is malformed (issue 20) ...
        let refused = try TestSupport.ingest([future], db: directory(of: db) + "/default.db")
        #expect(refused.malformed == 1)
        #expect(refused.malformedSamples.first?.reason.contains("2099-01-01") == true)
        // ... and a window opened wide still keeps the real rows.
        _ = try TestSupport.ingest([future], db: db) { $0.notAfter = .max }
        #expect(try Self.totals(db).backendCalls == before + 1)
    }

    @Test("a JSON Lines blob caught mid-record leaves that record for the next run, which reads it whole")
    func growingBlob() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let whole = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("gateway/PT1H.json")))
        let (full, _) = try Self.ingestFixture("PT1H.json")
        // Cut in the middle of the last line's record, as APIM appends to the hour's blob.
        let lastLine = (whole.dropLast().lastIndex(of: 0x0A) ?? 0) + 1
        let cut = lastLine + (whole.count - lastLine) / 2
        try TestSupport.write(whole.prefix(cut), to: directory + "/PT1H.json")
        let first = try TestSupport.ingest([directory + "/PT1H.json"], db: db)
        let file = try #require(first.files.first)
        #expect(file.malformed == 0)
        #expect(file.requests == full.requests - 1)
        #expect(file.warnings.contains { $0.contains("left for the next run") }, "\(file.warnings)")
        try TestSupport.write(whole, to: directory + "/PT1H.json")
        let second = try TestSupport.ingest([directory + "/PT1H.json"], db: db)
        #expect(second.files.first?.status == .grown)
        #expect(second.requests == 1)
        #expect(second.malformed == 0)
        #expect(try Self.totals(db).requests == full.requests)
    }

    @Test("an Event Hubs line holding several records stores every record")
    func envelopePerLine() throws {
        let (report, db) = try Self.ingestFixture("eventhubs-messages.json")
        #expect(report.files.first?.format == "apim-json")
        #expect(report.files.first?.malformed == 0)
        #expect(report.requests == 3)
        #expect(report.last == "2026-11-23T10:15:24Z")
        #expect(try Self.totals(db).requests == 3)
    }

    @Test(
        "every record of a one-line envelope or array is counted, and the times span them all",
        arguments: ["eventhubs-one-line.json", "records-array-one-line.json"]
    )
    func severalRecordsOnOneLine(file: String) throws {
        let (report, db) = try Self.ingestFixture(file)
        let fileReport = try #require(report.files.first)
        #expect(fileReport.lines == 1)
        #expect(fileReport.requests == 3)
        #expect(fileReport.first == "2026-11-23T10:15:23Z")
        #expect(fileReport.last == "2026-11-23T10:16:00Z")
        #expect(report.requests == 3)
        #expect(report.first == "2026-11-23T10:15:23Z")
        #expect(report.last == "2026-11-23T10:16:00Z")
        let store = try Store(path: db, readOnly: true)
        let ledger = try #require(
            try store.read { db in try Row.fetchOne(db, sql: "SELECT requests, first_time, last_time FROM files") }
        )
        #expect(ledger[0] as Int == 3)
        #expect(ledger[1] as String == "2026-11-23T10:15:23Z")
        #expect(ledger[2] as String == "2026-11-23T10:16:00Z")
        let stored = try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM gateway_requests") }
        #expect(stored == 2)  // the 429 answered by APIM itself has no backend call
        #expect(try Self.totals(db).requests == 3)
    }

    @Test("a cut-off record is malformed at its own line, and the record after it counts")
    func cutOffRecord() throws {
        let (report, db) = try Self.ingestFixture("cut-off-record.json")
        let lines = try String(contentsOfFile: TestSupport.fixture("gateway/cut-off-record.json"), encoding: .utf8)
            .split(separator: "\n")
        let sample = try #require(report.malformedSamples.first)
        #expect(report.malformedSamples.count == 1)
        #expect(sample.line == 2)
        #expect(sample.reason.contains("starts at line 2 is cut off by a new record"))
        #expect(sample.text == String(lines[1].prefix(200)))
        // Every line is accounted for once: 6 records and 1 malformed line in 7 lines.
        #expect(report.lines == 7)
        #expect(report.requests == 6)
        #expect(report.malformed == 1)
        let store = try Store(path: db, readOnly: true)
        let kept = try store.read { db in
            try String.fetchAll(db, sql: "SELECT request_id FROM gateway_requests ORDER BY line")
        }
        #expect(kept == [1, 3, 4, 5, 6, 7].map { "c0000000-0000-4000-8000-00000000000\($0)" })
        let ledger = try store.read { db in
            try Row.fetchOne(db, sql: "SELECT requests, malformed FROM files")
        }
        #expect(ledger?[0] as Int? == 6)
        #expect(ledger?[1] as Int? == 1)
        let stored = try store.read { db in try Row.fetchOne(db, sql: "SELECT line, sample FROM malformed_lines") }
        #expect(stored?[0] as Int? == 2)
        #expect(stored?[1] as String? == String(lines[1].prefix(200)))
    }

    @Test("broken and interleaved JSON is reported with line numbers, and whole records are kept")
    func interleaved() throws {
        let (report, db) = try Self.ingestFixture("interleaved.json")
        let lines = report.malformedSamples.map(\.line)
        // The pretty-printed record that never ends is reported at the line it starts on.
        #expect(lines == [2, 4, 5, 6, 8])
        let reasons = report.malformedSamples.map(\.reason)
        #expect(reasons[0].contains("string is not closed"))
        #expect(reasons[4].contains("starts at line 8 never ends"))
        #expect(report.malformedSamples[4].text == "{")
        let store = try Store(path: db, readOnly: true)
        let kept = try store.read { db in
            try String.fetchAll(db, sql: "SELECT request_id FROM gateway_requests ORDER BY line")
        }
        #expect(
            kept == [
                "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000003",
                "a0000000-0000-4000-8000-000000000007",
            ]
        )
    }

    @Test("the documented example record is read, and its placeholder time makes it malformed")
    func documentedExample() throws {
        let (report, _) = try Self.ingestFixture("gatewaylogs-doc-example.json")
        let sample = try #require(report.malformedSamples.first)
        // Reported at the line the pretty-printed record starts on, not at its closing brace.
        #expect(sample.line == 1)
        #expect(sample.text == "{")
        #expect(sample.reason.contains("'2020-10-14T17:xx:xx.xx', not an ISO 8601 time"))

        // With real values in the placeholders, the same record is a request.
        let text = try String(
            contentsOfFile: TestSupport.fixture("gateway/gatewaylogs-doc-example.json"),
            encoding: .utf8
        )
        .replacingOccurrences(of: "2020-10-14T17:xx:xx.xx", with: "2020-10-14T17:05:09.25")
        .replacingOccurrences(of: "xx.xx.xxx.xx", with: "203.0.113.24")
        let directory = try TestSupport.scratchDirectory()
        try TestSupport.write(Data(text.utf8), to: directory + "/doc.json")
        let fixed = try TestSupport.ingest([directory + "/doc.json"], db: directory + "/t.db")
        #expect(fixed.requests == 1)
        #expect(fixed.first == "2020-10-14T17:05:09Z")
        let store = try Store(path: directory + "/t.db", readOnly: true)
        let row = try #require(
            try store.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT gateway, api_id, operation_id, method, backend_path, backend_status, response_code
                        FROM gateway_minutes
                        """
                )
            }
        )
        #expect(row[0] as String == "apim-hello-world")
        #expect(row[1] as String == "demo-conference-api")
        #expect(row[2] as String == "GetSpeakers")
        #expect(row[3] as String == "GET")
        #expect(row[4] as String == "/speakers")
        #expect(row[5] as Int == 200)
        #expect(row[6] as Int == 200)
    }

    @Test("gzip input reads the same, and the same content twice counts once")
    func gzipAndIdempotence() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let plain = TestSupport.fixture("gateway/PT1H.json")
        let data = try Data(contentsOf: URL(fileURLWithPath: plain))
        try TestSupport.write(try TestSupport.gzip(data), to: directory + "/PT1H.json.gz")
        let first = try TestSupport.ingest([directory + "/PT1H.json.gz"], db: db)
        #expect(first.files.first?.compressed == true)
        #expect(first.requests == 4)
        let once = try Self.totals(db)
        let second = try TestSupport.ingest([plain, directory + "/PT1H.json.gz"], db: db)
        #expect(second.filesKnown == 2)
        #expect(try Self.totals(db) == once)
        #expect(once == Totals(requests: 4, backendCalls: 3, callers: 3))
    }

    @Test("a grown JSON Lines file adds only its new records; a grown CSV keeps its header")
    func growth() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let lines = try String(contentsOfFile: TestSupport.fixture("gateway/PT1H.json"), encoding: .utf8)
            .split(separator: "\n")
        try TestSupport.write(Data((lines[0..<2].joined(separator: "\n") + "\n").utf8), to: directory + "/PT1H.json")
        _ = try TestSupport.ingest([directory + "/PT1H.json"], db: db)
        try TestSupport.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: directory + "/PT1H.json")
        let grown = try TestSupport.ingest([directory + "/PT1H.json"], db: db)
        #expect(grown.filesGrown == 1)
        #expect(try Self.totals(db).requests == 4)

        let csv = try String(
            contentsOfFile: TestSupport.fixture("gateway/ApiManagementGatewayLogs.csv"),
            encoding: .utf8
        )
        let rows = csv.components(separatedBy: "\r\n")
        try TestSupport.write(
            Data((rows[0..<2].joined(separator: "\r\n") + "\r\n").utf8),
            to: directory + "/export.csv"
        )
        _ = try TestSupport.ingest([directory + "/export.csv"], db: db)
        try TestSupport.write(Data(csv.utf8), to: directory + "/export.csv")
        let grownCSV = try TestSupport.ingest([directory + "/export.csv"], db: db)
        #expect(grownCSV.filesGrown == 1)
        #expect(grownCSV.requests == 3)
        #expect(grownCSV.malformed == 1)
        #expect(try Self.totals(db).requests == 8)
    }

    @Test(
        "timestamps in every gateway form convert to UTC",
        arguments: [
            ("2025-03-04T10:15:22.1234567Z", Int64(1_741_083_322_123)),
            ("2025-03-04T11:15:22.5+01:00", 1_741_083_322_500),
            ("2025-03-04 10:15:22", 1_741_083_322_000),
            ("3/4/2025, 10:15:22.123 AM", 1_741_083_322_123),
            ("3/4/2025, 12:00:00 AM", 1_741_046_400_000),
            ("3/4/2025, 12:00:00 PM", 1_741_089_600_000),
        ]
    )
    func times(text: String, expected: Int64) {
        #expect(GatewayTime.parse(text) == expected)
    }

    @Test(
        "invalid timestamps are rejected, not trapped on",
        arguments: [
            "2020-10-14T17:xx:xx.xx", "", "2025-02-30T00:00:00Z", "9/99/2025, 1:00 PM",
            "2025-03-04T10:15:22.99999999999999999999Z",
        ]
    )
    func badTimes(text: String) {
        #expect(GatewayTime.parse(text) == nil)
    }

    @Test("nginx local time with offset converts to UTC")
    func nginxTime() {
        let value = Array("06/Aug/2018:09:57:51 +0800".utf8).withUnsafeBytes { GatewayTime.parseNginx($0) }
        #expect(value == 1_533_520_671_000)
    }

    @Test("nginx lines: fields, the main variant, and the stored UTC times")
    func nginx() throws {
        let (report, db) = try Self.ingestFixture("nginx-access.log")
        #expect(report.first == "2026-11-23T10:15:22Z")
        #expect(report.malformedSamples.first?.line == 5)
        let store = try Store(path: db, readOnly: true)
        let rows = try store.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT time, caller, method, backend_path, backend_status FROM gateway_requests ORDER BY time"
            )
        }
        #expect(rows.count == 4)
        #expect(rows[0]["time"] as String == "2026-11-23T10:15:22Z")
        #expect(rows[0]["backend_path"] as String == "/api/v1/orders/42")
        #expect(rows[1]["caller"] as String == "198.51.100.23")
        #expect(rows[1]["time"] as String == "2026-11-23T10:15:23Z")
        #expect(rows[2]["caller"] as String == "2001:db8:4f0:1c2::a1")
    }

    @Test(
        "hostile JSON never traps",
        arguments: [
            String(repeating: "[", count: 10_000),
            "{" + String(repeating: "\"a\":{", count: 200) + String(repeating: "}", count: 201),
            "{\"time\": 1e999, \"method\": \"GET\"}",
            "{\"time\": \"2026-11-23T10:00:00Z\", \"method\": \"GET\", \"responseCode\": 1e300, \"durationMs\": \"NaN\"}",
            "{\"time\": \"2026-11-23T10:00:00Z\", \"method\": \"GET\", \"backendUrl\": 42}",
            "\u{0}\u{1}{\"records\": [1, \"x\", null, {}]}",
            "}}}]]]{{{",
        ]
    )
    func hostile(text: String) throws {
        let consumer = APIMJSONConsumer()
        var bytes = Array(text.utf8)
        bytes.append(
            contentsOf: Array("\n{\"time\": \"2026-11-23T10:00:01Z\", \"method\": \"GET\", \"apiId\": \"x\"}".utf8)
        )
        var outcomes: [ConsumedLine] = []
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            outcomes.append(Array(line).withUnsafeBytes { consumer.consume($0, lineNumber: index + 1) })
        }
        // The record on the line after the garbage is always read, stored and counted; when the
        // garbage left a record open, the line also reports that record as cut off, at line 1.
        let last = try #require(outcomes.last)
        var lastOutcomes = [last]
        if case .several(let several) = last { lastOutcomes = several }
        #expect(lastOutcomes.last == .record(time: 1_795_428_001))
        for outcome in lastOutcomes.dropLast() {
            if case .malformedRecord(let reason, let startLine, _) = outcome {
                #expect(reason.contains("cut off by a new record"))
                #expect(startLine == 1)
            } else {
                Issue.record("unexpected \(outcome)")
            }
        }
        #expect(consumer.pendingRowCount >= 2)
    }

    @Test("sniffing claims gateway heads only")
    func sniffing() {
        #expect(GatewayFormats.sniff(Array("{\"category\":\"GatewayLogs\"}".utf8)) == .apimJSON)
        #expect(GatewayFormats.sniff(Array("{\"category\":\"AppServiceHTTPLogs\"}".utf8)) == nil)
        #expect(GatewayFormats.sniff(Array("hello world\n".utf8)) == nil)
        if case .apimCSV(let header)? = GatewayFormats.sniff(
            Array("TimeGenerated [UTC],CallerIpAddress,Method\r\n".utf8)
        ) {
            #expect(header == ["timegenerated", "calleripaddress", "method"])
        } else {
            Issue.record("CSV header not recognised")
        }
    }
}

/// The gateway side of SampleLogs (written by `SampleLogs/generate_gateway.py`).
@Suite struct GatewaySampleTests {
    @Test("SampleLogs/gateway holds six hourly PT1H.json.gz blobs of GatewayLogs")
    func sample() throws {
        let directory = try TestSupport.scratchDirectory()
        let inputs = InputDiscovery.expand([TestSupport.sample("gateway")])
        #expect(inputs.paths.count == 6)
        let report = try TestSupport.ingest(inputs.paths, db: directory + "/t.db")
        #expect(report.filesNew == 6)
        #expect(report.files.allSatisfy { $0.format == "apim-json" && $0.compressed })
        #expect(report.requests == 1475)
        #expect(report.malformed == 0)
        let totals = try GatewayFormatTests.totals(directory + "/t.db")
        #expect(totals.requests == 1475)
        #expect(totals.backendCalls == 1452)
    }
}
