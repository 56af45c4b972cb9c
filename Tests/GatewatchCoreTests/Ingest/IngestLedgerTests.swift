import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Idempotence and growth: the ledger knows content, not paths.
@Suite struct IngestLedgerTests {
    static let header =
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
        + "#Date: 2026-11-20 00:00:00\r\n"
        + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n"

    /// `count` IIS lines starting at `start`; every 10th from a direct client.
    static func lines(_ range: Range<Int>) -> String {
        range.map { index in
            let second = index % 86_400
            let time = String(format: "%02d:%02d:%02d", second / 3600, second / 60 % 60, second % 60)
            let client = index % 10 == 0 ? "203.0.113.\(index % 200)" : "20.50.10.4"
            let status = index % 20 == 0 ? "403 503" : "200 0"
            return
                "2026-11-20 \(time) 10.0.1.4 GET /api/v1/orders/\(index) - 443 - \(client) okhttp/4.12.0 - \(status) 0 \(index % 97)\r\n"
        }.joined()
    }

    func summary(_ db: String) throws -> Summary {
        try Summary.compute(store: try Store(path: db, readOnly: true), range: .all)
    }

    func configure(_ options: inout IngestOptions) {
        options.gateways = [CIDR("20.50.10.4")].compactMap { $0 }
    }

    @Test("the same file twice, and the same content renamed and gzipped, count once")
    func idempotent() throws {
        let directory = try TestSupport.scratchDirectory()
        let content = Data((Self.header + Self.lines(0..<5000)).utf8)
        try TestSupport.write(content, to: directory + "/u_ex261120.log")
        let db = directory + "/t.db"
        let first = try TestSupport.ingest([directory + "/u_ex261120.log"], db: db, configure: configure)
        #expect(first.filesNew == 1)
        #expect(first.requests == 5000)
        let once = try summary(db)
        let dumpOnce = try TestSupport.dump(db)

        try TestSupport.write(try TestSupport.gzip(content), to: directory + "/renamed.log.gz")
        let second = try TestSupport.ingest(
            [directory + "/u_ex261120.log", directory + "/renamed.log.gz"],
            db: db,
            configure: configure
        )
        #expect(second.filesKnown == 2)
        #expect(second.requests == 0)
        #expect(try summary(db) == once)
        #expect(try TestSupport.dump(db) == dumpOnce)
        #expect(once.requests == 5000)
        #expect(once.byVerdict["gateway"] == 4500)
        #expect(once.byVerdict["direct"] == 500)
        #expect(once.direct.blocked == 250)
        #expect(once.direct.served == 250)
    }

    @Test("a grown file contributes only its new lines, gzipped or not")
    func grown() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let reference = directory + "/reference.db"
        let part1 = Self.header + Self.lines(0..<3000)
        let part2 = Self.lines(3000..<7000)
        try TestSupport.write(Data(part1.utf8), to: directory + "/u_ex.log")
        _ = try TestSupport.ingest([directory + "/u_ex.log"], db: db, configure: configure)
        try TestSupport.write(Data((part1 + part2).utf8), to: directory + "/u_ex.log")
        let second = try TestSupport.ingest([directory + "/u_ex.log"], db: db, configure: configure)
        #expect(second.filesGrown == 1)
        #expect(second.requests == 4000)
        // The complete file, later compressed, is known.
        try TestSupport.write(try TestSupport.gzip(Data((part1 + part2).utf8)), to: directory + "/u_ex.log.gz")
        let third = try TestSupport.ingest([directory + "/u_ex.log.gz"], db: db, configure: configure)
        #expect(third.filesKnown == 1)

        try TestSupport.write(Data((part1 + part2).utf8), to: directory + "/whole.log")
        _ = try TestSupport.ingest([directory + "/whole.log"], db: reference, configure: configure)
        #expect(try TestSupport.dump(db) == TestSupport.dump(reference))
    }

    @Test("a small file that grows past the head size is still recognised")
    func smallFileGrows() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let part1 = Self.header + Self.lines(0..<2)
        try TestSupport.write(Data(part1.utf8), to: directory + "/small.log")
        _ = try TestSupport.ingest([directory + "/small.log"], db: db, configure: configure)
        try TestSupport.write(Data((part1 + Self.lines(2..<500)).utf8), to: directory + "/small.log")
        let second = try TestSupport.ingest([directory + "/small.log"], db: db, configure: configure)
        #expect(second.filesGrown == 1)
        #expect(second.requests == 498)
        #expect(try summary(db).requests == 500)
    }

    @Test("a truncated gzip keeps its complete lines; the complete file later adds only the rest")
    func truncatedThenComplete() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let content = Data((Self.header + Self.lines(0..<40_000)).utf8)
        let compressed = try TestSupport.gzip(content)
        try TestSupport.write(compressed.prefix(compressed.count * 2 / 3), to: directory + "/cut.log.gz")
        let first = try TestSupport.ingest([directory + "/cut.log.gz"], db: db, configure: configure)
        let file = try #require(first.files.first)
        #expect(file.status == .failed)
        #expect(file.error?.contains("cut.log.gz") == true)
        #expect(file.error?.contains("cut short") == true)
        #expect(file.requests > 10_000)
        #expect(file.malformed == 0)
        try TestSupport.write(compressed, to: directory + "/complete.log.gz")
        let second = try TestSupport.ingest([directory + "/complete.log.gz"], db: db, configure: configure)
        #expect(second.files.first?.status == .grown)
        #expect(second.requests == 40_000 - file.requests)
        #expect(try summary(db).requests == 40_000)
    }

    @Test("different files that share a header are not confused")
    func sharedHead() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        try TestSupport.write(Data((Self.header + Self.lines(0..<100)).utf8), to: directory + "/a.log")
        try TestSupport.write(
            Data((Self.header + Self.lines(0..<50) + Self.lines(200..<300)).utf8),
            to: directory + "/b.log"
        )
        let report = try TestSupport.ingest([directory + "/a.log", directory + "/b.log"], db: db, configure: configure)
        #expect(report.filesNew == 2)
        #expect(report.requests == 250)
        #expect(try summary(db).requests == 250)
    }

    @Test("follow mode holds an unterminated last line until it is complete")
    func heldPartialLine() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let complete = Self.header + Self.lines(0..<100)
        let cut = complete.utf8.count - 40
        let partial = String(decoding: Array(complete.utf8)[0..<cut], as: UTF8.self)
        try TestSupport.write(Data(partial.utf8), to: directory + "/live.log")
        let first = try TestSupport.ingest([directory + "/live.log"], db: db) { $0.holdPartialLastLine = true }
        #expect(first.requests == 99)
        #expect(first.malformed == 0)
        try TestSupport.write(Data((complete + Self.lines(100..<150)).utf8), to: directory + "/live.log")
        let second = try TestSupport.ingest([directory + "/live.log"], db: db) { $0.holdPartialLastLine = true }
        #expect(second.filesGrown == 1)
        #expect(second.requests == 51)
        #expect(second.malformed == 0)
        #expect(try summary(db).requests == 150)
    }

    @Test("a batch ingest leaves a last line that is visibly cut short for the next run; a whole one counts")
    func batchCutLine() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let complete = Self.header + Self.lines(0..<100)
        // Cut inside the last line's user agent: fewer values than #Fields.
        let cut = complete.utf8.count - 60
        try TestSupport.write(Data(Array(complete.utf8)[0..<cut]), to: directory + "/live.log")
        let first = try TestSupport.ingest([directory + "/live.log"], db: db, configure: configure)
        let file = try #require(first.files.first)
        #expect(file.requests == 99)
        #expect(file.malformed == 0)
        #expect(file.warnings.contains { $0.contains("cut short") && $0.contains("left for the next run") })
        let again = try TestSupport.ingest([directory + "/live.log"], db: db, configure: configure)
        #expect(again.files.first?.status == .known)
        try TestSupport.write(Data((complete + Self.lines(100..<150)).utf8), to: directory + "/live.log")
        let second = try TestSupport.ingest([directory + "/live.log"], db: db, configure: configure)
        #expect(second.files.first?.status == .grown)
        #expect(second.requests == 51)
        #expect(second.malformed == 0)
        #expect(try summary(db).requests == 150)
        // A file whose last line is whole but unterminated counts it at once.
        let whole = Self.header + Self.lines(0..<10)
        try TestSupport.write(Data(whole.utf8.dropLast(2)), to: directory + "/done.log")
        let done = try TestSupport.ingest([directory + "/done.log"], db: directory + "/d.db", configure: configure)
        #expect(done.requests == 10)
        #expect(done.files.first?.warnings.contains { $0.contains("cut short") } == false)
    }

    @Test("the sample logs ingest to the numbers their generator reports")
    func sampleLogs() throws {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        // The properties are the keys of SampleLogs/expected.json.
        struct Expected: Decodable {
            var lines: Int
            var requests: Int
            var malformed: Int
            var first: String
            var last: String
            var by_class: [String: Int]
            var direct_blocked: Int
            var direct_served: Int
            var direct_clients: Int
        }
        let data = try #require(FileManager.default.contents(atPath: TestSupport.sample("expected.json")))
        let expected = try JSONDecoder().decode(Expected.self, from: data)
        let directory = try TestSupport.scratchDirectory()
        let paths = InputDiscovery.expand([TestSupport.sample("backend")]).paths
        #expect(paths.count == 5)
        let configuration = try GatewatchConfiguration.load(path: TestSupport.sample("gatewatch.yaml"))
        let policy = try configuration.loadPolicy()
        let report = try TestSupport.ingest(paths, db: directory + "/t.db") {
            $0.gateways = configuration.gateways
            $0.policy = policy
        }
        #expect(report.lines == expected.lines)
        #expect(report.requests == expected.requests)
        #expect(report.malformed == expected.malformed)
        #expect(report.first == expected.first)
        #expect(report.last == expected.last)
        #expect(report.byVerdict["gateway"] == expected.by_class["gateway"])
        #expect(report.byVerdict["platform"] == expected.by_class["platform"])
        #expect(report.byVerdict["allowed"] == expected.by_class["office"])
        #expect(report.byVerdict["direct"] == expected.by_class["direct"])
        #expect(report.blocked == expected.direct_blocked)
        #expect(report.served == expected.direct_served)
        let summary = try Summary.compute(store: try Store(path: directory + "/t.db", readOnly: true), range: .all)
        #expect(summary.direct.clients == expected.direct_clients)
        #expect(report.malformedSamples.map(\.line) == [4569, 5004])
    }

    @Test("standard input is ingested, and the same content again is known")
    func standardInput() throws {
        let directory = try TestSupport.scratchDirectory()
        let content = Data((Self.header + Self.lines(0..<100)).utf8)
        try TestSupport.write(content, to: directory + "/in.log")
        let db = directory + "/t.db"
        _ = try TestSupport.ingest([directory + "/in.log"], db: db, configure: configure)
        // Standard input cannot be re-read, so a duplicate is found by the whole-content fingerprint.
        let saved = dup(0)
        let descriptor = open(directory + "/in.log", O_RDONLY)
        dup2(descriptor, 0)
        defer {
            dup2(saved, 0)
            close(saved)
            close(descriptor)
        }
        let report = try TestSupport.ingest(["-"], db: db, configure: configure)
        #expect(report.filesKnown == 1)
        #expect(try summary(db).requests == 100)
    }
}
