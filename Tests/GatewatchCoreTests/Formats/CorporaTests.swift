import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Every W3C file of the shared corpora, ingested and checked against counts worked out by
/// reading the files (Tests/Fixtures/corpora/expected.json, provenance in PROVENANCE.md).
@Suite struct CorporaTests {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The properties are the keys of expected.json.
    struct Expectation: Decodable {
        var lines: Int
        var requests: Int
        var malformed: Int
        var headerless: Bool
        var first_c_ip: String?
        var min_time: String?
        var max_time: String?
        var distinct_c_ip: Int?
        var fields_hint: [String]?
        var with_fields_hint: Hinted?
        /// `ftp` or `smtp`: a log of a service that is not a web server; its records are skipped.
        var non_http: String?

        struct Hinted: Decodable {
            var requests: Int
            var malformed: Int
            var first_c_ip: String
            var first_time: String
            var last_time: String
            var distinct_c_ip: Int
        }
    }

    struct ExpectationFile: Decodable {
        var files: [String: Expectation]
    }

    static let expectations: [String: Expectation] = {
        let path = TestSupport.fixture("corpora/expected.json")
        guard let data = FileManager.default.contents(atPath: path),
            let decoded = try? JSONDecoder().decode(ExpectationFile.self, from: data)
        else { return [:] }
        return decoded.files
    }()

    static let names = expectations.keys.sorted()

    @Test("the expectation file lists every corpora log")
    func everyFileHasExpectations() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TestSupport.fixture("corpora"))
            .filter { $0 != "expected.json" && $0 != "PROVENANCE.md" }
        #expect(Set(files) == Set(Self.names))
        #expect(Self.names.count >= 20)
    }

    @Test("each corpora file parses to its expected counts", arguments: names)
    func corpus(name: String) throws {
        let expected = try #require(Self.expectations[name])
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let report = try TestSupport.ingest([TestSupport.fixture("corpora/" + name)], db: db)
        let file = try #require(report.files.first)
        #expect(file.status == .new)
        #expect(file.lines == expected.lines)
        #expect(file.malformed == expected.malformed)
        // Every line is accounted for.
        #expect(file.lines == file.requests + file.skipped + file.malformed + file.otherLines)
        if let service = expected.non_http {
            // An FTP or SMTP log: its records are not HTTP requests (issue 20).
            #expect(file.requests == 0)
            #expect(file.skipped == expected.requests)
            #expect(file.warnings.contains { $0.contains("\(service.uppercased()) log") })
            return
        }
        if expected.first_c_ip == nil, !expected.headerless {
            // A layout without c-ip (Windows Firewall): records are skipped with a reason.
            #expect(file.requests == 0)
            #expect(file.skipped == expected.requests)
            #expect(file.warnings.contains { $0.contains("no c-ip column") })
        } else {
            #expect(file.requests == expected.requests)
        }
        if let minTime = expected.min_time, let maxTime = expected.max_time, file.requests > 0 {
            #expect(file.first == minTime)
            #expect(file.last == maxTime)
        }
        if let distinct = expected.distinct_c_ip, expected.requests > 0 {
            let store = try Store(path: db, readOnly: true)
            let addresses = try store.read { db in
                try String.fetchAll(db, sql: "SELECT DISTINCT address FROM hourly WHERE address != '-'")
            }
            #expect(addresses.count == distinct)
            if let firstAddress = expected.first_c_ip {
                #expect(addresses.contains(firstAddress))
            }
        }
        if expected.headerless {
            #expect(file.warnings.contains { $0.contains("--fields") })
        }
        #expect(!file.warnings.contains { $0.contains("carriage return") })
    }

    /// Lines that end with CR alone (the W3C draft's "CR or CRLF") read as the same file with LF:
    /// the same lines, requests and addresses, and no note about carriage returns.
    @Test(
        "a file whose lines end with CR alone reads as with LF",
        arguments: ["theodorejb__iis-log-parser__u_ex230505.log", "log2timeline__plaso__iis10.log"]
    )
    func carriageReturnLineEnds(name: String) throws {
        let source = try #require(FileManager.default.contents(atPath: TestSupport.fixture("corpora/" + name)))
        let text = String(decoding: source, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        let directory = try TestSupport.scratchDirectory()
        var reports: [FileReport] = []
        for (label, content) in [("lf", text), ("cr", text.replacingOccurrences(of: "\n", with: "\r"))] {
            let path = directory + "/\(label).log"
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            let report = try TestSupport.ingest([path], db: directory + "/\(label).db")
            reports.append(try #require(report.files.first))
        }
        let (lf, cr) = (reports[0], reports[1])
        #expect(lf.requests > 0)
        #expect(cr.lines == lf.lines)
        #expect(cr.requests == lf.requests)
        #expect(cr.malformed == lf.malformed)
        #expect(cr.first == lf.first && cr.last == lf.last)
        #expect(!cr.warnings.contains { $0.contains("carriage return") })
    }

    /// A CR that is not a line end inside a directive (a file that switches to CR line ends past
    /// its first 4 KiB) is named in the run's notes rather than passing silently.
    @Test("a directive that goes on after a carriage return is reported")
    func carriageReturnInsideDirective() throws {
        let directory = try TestSupport.scratchDirectory()
        let path = directory + "/mixed.log"
        let head = String(repeating: "#Remark: padding past the head\n", count: 200)
        let tail = "#Fields: date time c-ip cs-method cs-uri-stem sc-status\r2026-11-20 00:00:01 10.0.0.1 GET / 200\r"
        try Data((head + tail).utf8).write(to: URL(fileURLWithPath: path))
        let report = try TestSupport.ingest([path], db: directory + "/t.db")
        let file = try #require(report.files.first)
        #expect(file.warnings.contains { $0.contains("line 201: a directive goes on after a carriage return") })
    }

    @Test(
        "headerless files read with --fields give every request",
        arguments: names.filter { expectations[$0]?.headerless == true }
    )
    func headerlessWithFields(name: String) throws {
        let expected = try #require(Self.expectations[name])
        let hint = try #require(expected.fields_hint)
        let hinted = try #require(expected.with_fields_hint)
        let layout = try #require(W3CLayout.named(hint.joined(separator: ",")))
        let directory = try TestSupport.scratchDirectory()
        let report = try TestSupport.ingest([TestSupport.fixture("corpora/" + name)], db: directory + "/t.db") {
            $0.fallbackLayout = layout
        }
        let file = try #require(report.files.first)
        #expect(file.requests == hinted.requests)
        #expect(file.malformed == hinted.malformed)
        #expect(file.first == min(hinted.first_time, hinted.last_time))
        #expect(file.last == max(hinted.first_time, hinted.last_time))
    }
}
