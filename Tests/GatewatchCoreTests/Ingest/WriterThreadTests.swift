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
                // Each key's requests, added per flush: the sum of its hourly rows however often.
                """
                SELECT j.key_id, j.requests, (SELECT SUM(h.requests) FROM hourly_facts h WHERE h.key_id = j.key_id)
                FROM judgements j ORDER BY j.key_id
                """,
            ].map { sql in try Row.fetchAll(db, sql: sql).map(\.description).joined(separator: "\n") }
        }
    }

    static func ingest(
        _ paths: [String],
        db: String,
        threshold: Int,
        jobs: Int = 1,
        gateways: [String] = ["20.50.10.0/28"]
    ) throws -> IngestReport {
        try TestSupport.ingest(paths, db: db) { options in
            options.aggregateFlushThreshold = threshold
            options.parallelism = jobs
            options.gateways = gateways.compactMap { CIDR($0) }
        }
    }

    /// With every address a gateway there is no evidence to start the writer thread: the flushes
    /// start it (whenever it would be idle, on two cores or more) and the store is the same.
    @Test("an input without direct requests flushes as often, to the same store")
    func flushesWithoutEvidence() throws {
        let directory = try TestSupport.scratchDirectory("writer-thread-no-evidence")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try Self.generate(in: directory)
        let everyone = ["0.0.0.0/0", "::/0"]
        let once = directory + "/once.db"
        _ = try Self.ingest(logs, db: once, threshold: 10_000_000, gateways: everyone)
        let expected = try Self.contents(once)
        #expect(expected[0].split(separator: "\n").count > 50)  // hourly rows
        #expect(expected[3].isEmpty)  // no evidence
        for (threshold, jobs) in [(40, 1), (997, 1), (40, 2)] {
            let db = directory + "/t\(threshold)-j\(jobs).db"
            _ = try Self.ingest(logs, db: db, threshold: threshold, jobs: jobs, gateways: everyone)
            #expect(try Self.contents(db) == expected, "threshold \(threshold), \(jobs) jobs")
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
        for (threshold, jobs) in [(40, 1), (997, 1), (5_000, 1), (40, 2)] {
            let db = directory + "/t\(threshold)-j\(jobs).db"
            let report = try Self.ingest(logs, db: db, threshold: threshold, jobs: jobs)
            #expect(report.files.allSatisfy { $0.status == .new })
            let got = try Self.contents(db)
            for index in expected.indices where got[index] != expected[index] {
                let want = expected[index].split(separator: "\n")
                let have = got[index].split(separator: "\n")
                let first = zip(want, have).first { $0 != $1 }
                let context = "threshold \(threshold), \(jobs) jobs, table \(index)"
                Issue.record(
                    "\(context): \(have.count) rows for \(want.count), first difference \(String(describing: first))"
                )
            }
        }
    }

    /// A long item lets the short ones queued behind it through (as a flush lets evidence
    /// batches through between its rows): each runs once, in order, and a `submit` blocked on
    /// the full queue returns while the long item is still running.
    @Test("a long item runs the queued short ones in the middle, each once, in order")
    func runQueuedInTheMiddle() throws {
        final class Log: @unchecked Sendable {
            let condition = NSCondition()
            var done: [Int] = []
            var longFinished = false
            var thirdSubmitted = false
        }
        let log = Log()
        let handle = WorkerHandle<Int>()
        // Items: 0 is long; positives are short; -1 would be long too and must not be taken.
        let worker = BackgroundWorker<Int>(name: "test-worker", capacity: 2) { item in
            guard item == 0 else {
                log.condition.withLock { log.done.append(item) }
                return
            }
            // Let the test queue two short items and block on a third, then let the queued ones
            // through; wait (at most 5 s: a failure, not a hang) until the third submit returned.
            usleep(100_000)
            try handle.worker?.runQueued(while: { $0 > 0 }) { short in
                log.condition.withLock { log.done.append(short) }
            }
            log.condition.withLock {
                let deadline = Date() + 5
                while !log.thirdSubmitted, Date() < deadline { _ = log.condition.wait(until: deadline) }
            }
            try handle.worker?.runQueued(while: { $0 > 0 }) { short in
                log.condition.withLock { log.done.append(short) }
            }
            log.condition.withLock {
                log.done.append(0)
                log.longFinished = true
            }
        }
        handle.worker = worker
        try worker.submit(0)
        try worker.submit(1)
        try worker.submit(2)
        try worker.submit(3)  // blocks until the long item takes 1 and 2
        let longFinishedBeforeThird = log.condition.withLock { () -> Bool in
            log.thirdSubmitted = true
            log.condition.broadcast()
            return log.longFinished
        }
        try worker.submit(-1)
        try worker.submit(4)
        try worker.finish()
        #expect(!longFinishedBeforeThird)
        #expect(log.done == [1, 2, 3, 0, -1, 4])
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
        try Store(path: db).writeSQLite { db in
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

        try Store(path: db).writeSQLite { db in try db.execute(sql: "DROP TRIGGER refuse") }
        let report = try Self.ingest(logs, db: db, threshold: 40)
        #expect(report.files.map(\.status) == [.known, .new])
        #expect(try Self.contents(db) == Self.contents(clean))
    }
}
