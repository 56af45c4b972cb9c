import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Aggregates are written on the input's writer thread while parsing goes on: however often that
/// happens, the store is the same, and a write that fails there fails the input and leaves
/// nothing of it.
@Suite("writer thread")
struct WriterThreadTests {
    static func generate(in directory: String) throws -> [String] {
        let generator = TestSupport.repositoryRoot.appendingPathComponent("Benchmarks/reference/genlog.py").path
        return try (0..<2).map { index in
            let path = directory + "/u_ex\(index).log.gz"
            let (status, _, error) = try TestSupport.run(
                "/usr/bin/env",
                ["python3", generator, "--lines", "15000", "--seed", String(70 + index), "--out", path]
            )
            #expect(status == 0, "\(String(decoding: error, as: UTF8.self))")
            return path
        }
    }

    /// Every data table, sorted, without the ids that follow commit order.
    static func contents(_ db: String) throws -> [String] {
        try Store(path: db, readOnly: true).read { db in
            try [
                "SELECT * FROM hourly ORDER BY hour, site, address, verdict, outcome, status, substatus",
                "SELECT * FROM inventory ORDER BY day, address, kind, value",
                "SELECT * FROM latency ORDER BY day, site, endpoint, verdict, bucket",
                """
                SELECT time, line, site, address, forwarded_for, method, uri_stem, uri_query, status, substatus,
                    user_agent, host, verdict, outcome, rule FROM evidence ORDER BY time, line, address
                """,
                "SELECT fingerprint, bytes, lines, requests, malformed, status FROM files ORDER BY fingerprint",
            ].map { sql in try Row.fetchAll(db, sql: sql).map(\.description).joined(separator: "\n") }
        }
    }

    static func ingest(_ paths: [String], db: String, threshold: Int, jobs: Int = 1) throws -> IngestReport {
        try TestSupport.ingest(paths, db: db) { options in
            options.aggregateFlushThreshold = threshold
            options.parallelism = jobs
            options.gateways = [CIDR("20.50.10.0/28")].compactMap { $0 }
        }
    }

    @Test("flushing every few dozen keys gives the store of one flush at the end")
    func flushFrequency() throws {
        let directory = try TestSupport.scratchDirectory("writer-thread-frequency")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try Self.generate(in: directory)
        let once = directory + "/once.db"
        _ = try Self.ingest(logs, db: once, threshold: 10_000_000)
        let expected = try Self.contents(once)
        // Hourly rows, inventories, latency and evidence: enough of each for many flushes.
        #expect(expected.prefix(4).allSatisfy { $0.split(separator: "\n").count > 50 })
        for (threshold, jobs) in [(40, 1), (997, 1), (40, 2)] {
            let db = directory + "/t\(threshold)-j\(jobs).db"
            let report = try Self.ingest(logs, db: db, threshold: threshold, jobs: jobs)
            #expect(report.files.allSatisfy { $0.status == .new })
            let got = try Self.contents(db)
            for index in expected.indices where got[index] != expected[index] {
                let want = expected[index].split(separator: "\n")
                let have = got[index].split(separator: "\n")
                let first = zip(want, have).first { $0 != $1 }
                let where_ = "threshold \(threshold), \(jobs) jobs, table \(index)"
                Issue.record("\(where_): \(have.count) rows for \(want.count), first difference \(String(describing: first))")
            }
        }
    }

    @Test("a write that fails on the writer thread fails the input, and a rerun completes it")
    func failureOnWriterThread() throws {
        let directory = try TestSupport.scratchDirectory("writer-thread-failure")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try Self.generate(in: directory)
        let clean = directory + "/clean.db"
        _ = try Self.ingest(logs, db: clean, threshold: 40)

        let db = directory + "/failing.db"
        _ = try Self.ingest([logs[0]], db: db, threshold: 40)
        // From now on, the 200th inventory row of an input cannot be written: the failure
        // happens in a flush on the writer thread, long before the input ends.
        try Store(path: db).queue.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse AFTER INSERT ON inventory
                    WHEN (SELECT COUNT(*) FROM inventory) > (SELECT value FROM limits)
                    BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                    """
            )
            try db.execute(sql: "CREATE TABLE limits (value INTEGER)")
            try db.execute(sql: "INSERT INTO limits SELECT COUNT(*) + 200 FROM inventory")
        }
        let before = try Self.contents(db)
        let error = #expect(throws: (any Error).self) { try Self.ingest([logs[1]], db: db, threshold: 40) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("refused by the test"))
        #expect(try Self.contents(db) == before, "nothing of the failed input is kept")

        try Store(path: db).queue.write { db in try db.execute(sql: "DROP TRIGGER refuse") }
        let report = try Self.ingest(logs, db: db, threshold: 40)
        #expect(report.files.map(\.status) == [.known, .new])
        #expect(try Self.contents(db) == Self.contents(clean))
    }
}
