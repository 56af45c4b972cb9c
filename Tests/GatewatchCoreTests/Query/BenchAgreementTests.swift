import Foundation
import Testing

@testable import GatewatchCore

/// `summary`, `top` and `timeline` against the neutral reference `expected.py` on a `genlog.py` log.
///
/// The log is ingested with the allowlist's blocks as gateway addresses, so `direct` means "not in
/// the allowlist", which is expected.py's `denied`. genlog.py's platform probes come from
/// 169.254.x and loopback, which the allowlist contains, so none of them can be `direct`; and no
/// direct client uses a platform user agent, so none of the denied lines becomes `platform`.
@Suite struct BenchAgreementTests {
    /// `Benchmarks/reference` (copies of the shared genlog.py and expected.py).
    static let bench = TestSupport.repositoryRoot.appendingPathComponent("Benchmarks/reference")
        .path

    struct Reference {
        var json: [String: Any]
        var db: String
    }

    static func python() -> String {
        ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "/usr/bin/python3"
    }

    /// Generates the log, runs expected.py on it, and ingests it.
    static func prepare(label: String = #function) throws -> Reference {
        let directory = try TestSupport.scratchDirectory(label)
        let log = directory + "/bench.log.gz"
        let allow = directory + "/allow.txt"
        let (generated, _, genError) = try TestSupport.run(
            python(),
            [bench + "/genlog.py", "--lines", "20000", "--seed", "3", "--out", log, "--write-allowlist", allow]
        )
        #expect(generated == 0, "\(String(decoding: genError, as: UTF8.self))")
        let (status, output, error) = try TestSupport.run(
            python(),
            [bench + "/expected.py", log, "--allow-file", allow]
        )
        #expect(status == 0, "\(String(decoding: error, as: UTF8.self))")
        let json = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let blocks = try String(contentsOfFile: allow, encoding: .utf8)
            .split(whereSeparator: \.isNewline)
            .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0] }
            .filter { !$0.allSatisfy(\.isWhitespace) }
            .map { try #require(CIDR($0)) }
        #expect(blocks.count == 7)
        let db = directory + "/g.db"
        let report = try TestSupport.ingest([log], db: db) { $0.gateways = blocks }
        #expect(report.files.count == 1)
        return Reference(json: json, db: db)
    }

    @Test("summary agrees exactly with expected.py")
    func summaryAgrees() throws {
        let reference = try Self.prepare()
        let json = reference.json
        let verdicts = try #require(json["verdicts"] as? [String: Int])
        let summary = try Summary.compute(store: try Store(path: reference.db, readOnly: true), range: .all)
        #expect(summary.requests == json["lines"] as? Int)
        #expect(summary.byVerdict["direct"] == verdicts["denied"])
        #expect(
            (summary.byVerdict["gateway"] ?? 0) + (summary.byVerdict["allowed"] ?? 0)
                + (summary.byVerdict["platform"] ?? 0) == verdicts["allowed"]
        )
        #expect(verdicts["invalid"] == 0)
        #expect(summary.direct.clients == json["distinct_denied_ips"] as? Int)
        // The lock-down policy's denial is 403.503, and only denied clients are ever answered with it.
        #expect(summary.direct.blocked == json["status_403_503"] as? Int)
        #expect(summary.direct.blocked + summary.direct.served == verdicts["denied"])
        #expect(summary.files == 1)
        #expect(summary.malformed == 0)
    }

    @Test("top --verdict direct --limit 10 and top --verdict all agree exactly with expected.py")
    func topAgrees() throws {
        let reference = try Self.prepare()
        let store = try Store(path: reference.db, readOnly: true)
        let direct = try TopQuery(filter: QueryFilter(limit: 10), verdict: .direct).run(store: store)
        let expectedDenied = try #require(reference.json["top_denied"] as? [[Any]])
        #expect(direct.entries.count == 10)
        #expect(direct.entries.map(\.address) == expectedDenied.map { $0[0] as? String })
        #expect(direct.entries.map(\.requests) == expectedDenied.map { $0[1] as? Int })
        #expect(direct.total == reference.json["distinct_denied_ips"] as? Int)
        for entry in direct.entries { #expect(entry.blocked + entry.served == entry.requests) }

        let all = try TopQuery(filter: QueryFilter(limit: 10), verdict: .all).run(store: store)
        let expectedAll = try #require(reference.json["top_clients"] as? [[Any]])
        #expect(all.entries.map(\.address) == expectedAll.map { $0[0] as? String })
        #expect(all.entries.map(\.requests) == expectedAll.map { $0[1] as? Int })
        #expect(all.total == reference.json["distinct_ips"] as? Int)
    }

    @Test("timeline per hour agrees with expected.py's per_hour table")
    func timelineAgrees() throws {
        let reference = try Self.prepare()
        let store = try Store(path: reference.db, readOnly: true)
        let perHour = try #require(reference.json["per_hour"] as? [String: [String: Int]])
        let timeline = try TimelineQuery(filter: QueryFilter(), bucket: .hour).run(store: store)
        #expect(timeline.points.count == perHour.count)
        for point in timeline.points {
            // "2024-03-11T13:00:00Z" → expected.py's "2024-03-11 13".
            let key = String(point.bucket.prefix(10)) + " " + String(point.bucket.dropFirst(11).prefix(2))
            let expected = try #require(perHour[key])
            #expect(point.direct == expected["denied"] ?? 0, "\(key)")
            #expect(point.requests == (expected["allowed"] ?? 0) + (expected["denied"] ?? 0), "\(key)")
        }
    }
}
