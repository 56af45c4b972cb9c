import Foundation
import GRDB
import Testing

@testable import GatewatchCore

@Suite struct WatcherTests {
    static func lines(_ range: Range<Int>) -> String {
        var text = ""
        for index in range {
            let client = index % 7 == 0 ? "198.51.100.\(index % 250)" : "20.50.10.\(4 + index % 2)"
            text += AlertLog.line(second: 36_000 + index, client: client, status: index % 21 == 0 ? "403 503" : "200 0")
        }
        return text
    }

    static func watcher(
        _ db: String,
        _ paths: [String],
        configure: (inout WatchOptions) -> Void = { _ in },
        evaluator: AlertEvaluator? = nil,
        dispatcher: AlertDispatcher? = nil
    ) throws -> Watcher {
        var ingest = IngestOptions()
        ingest.gateways = AlertLog.gateways
        var options = WatchOptions(paths: paths)
        configure(&options)
        return try Watcher(
            store: try Store(path: db),
            ingestOptions: ingest,
            options: options,
            evaluator: evaluator,
            dispatcher: dispatcher
        )
    }

    @Test(
        "appends (with a partial line), rotation and a .log replaced by its .log.gz end as one batch ingest of the final files"
    )
    func followEqualsBatch() throws {
        let directory = try TestSupport.scratchDirectory()
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let db = directory + "/watch.db"
        let live = logs + "/u_ex261120.log"
        let first = AlertLog.header + Self.lines(0..<100)
        let partial = Self.lines(100..<101)
        try AlertLog.write(first + partial.prefix(30), to: live)
        let watcher = try Self.watcher(db, [logs])
        var report = try watcher.poll(now: 0)
        #expect(report.files.map(\.status) == [.new])
        #expect(report.files.first?.requests == 100, "the partial line waits")

        try AlertLog.append(String(partial.dropFirst(30)) + Self.lines(101..<150), to: live)
        report = try watcher.poll(now: 0)
        #expect(report.files.map(\.status) == [.grown])
        #expect(report.files.first?.requests == 50)

        // Rotation: rename, then a new file; the renamed one grew once more before the rename.
        try AlertLog.append(Self.lines(150..<160), to: live)
        try FileManager.default.moveItem(atPath: live, toPath: logs + "/u_ex261120.log.1")
        try AlertLog.write(AlertLog.header + Self.lines(1000..<1040), to: live)
        report = try watcher.poll(now: 0)
        #expect(Set(report.files.map(\.status)) == [.new, .grown])

        // The rotated file is gzipped: first half-written (deferred), then complete, then the .log goes.
        let rotated = try Data(contentsOf: URL(fileURLWithPath: logs + "/u_ex261120.log.1"))
        let gz = try TestSupport.gzip(rotated)
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: logs + "/u_ex261120.log.1.gz"))
        report = try watcher.poll(now: 0)
        #expect(report.deferred == [logs + "/u_ex261120.log.1.gz"])
        try gz.write(to: URL(fileURLWithPath: logs + "/u_ex261120.log.1.gz"))
        try FileManager.default.removeItem(atPath: logs + "/u_ex261120.log.1")
        try AlertLog.append(Self.lines(1040..<1050), to: live)
        report = try watcher.poll(now: 0)
        #expect(report.files.map(\.status).sorted { $0.rawValue < $1.rawValue } == [.grown, .known])

        let batch = directory + "/batch.db"
        try AlertLog.ingest([logs + "/u_ex261120.log.1.gz", live], db: batch)
        #expect(try TestSupport.dump(db) == TestSupport.dump(batch))
    }

    @Test("unchanged files are not read again, also after a restart; a renamed file is recognised by its stamp")
    func stamps() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/watch.db"
        try AlertLog.write(AlertLog.header + Self.lines(0..<20), to: directory + "/a.log")
        try AlertLog.write(AlertLog.header + Self.lines(20..<40), to: directory + "/b.log")
        let watcher = try Self.watcher(db, [directory])
        #expect(try watcher.poll(now: 0).files.count == 2)
        let again = try watcher.poll(now: 0)
        #expect(again.files.isEmpty && again.unchanged == 2)
        let restarted = try Self.watcher(db, [directory])
        #expect(try restarted.poll(now: 0).unchanged == 2)
        try FileManager.default.moveItem(atPath: directory + "/a.log", toPath: directory + "/a.log.1")
        let renamed = try restarted.poll(now: 0)
        #expect(renamed.files.isEmpty && renamed.unchanged == 2)
        let rows = try Store(path: db).read { db in
            try String.fetchAll(db, sql: "SELECT path FROM watch_files ORDER BY path")
        }
        #expect(rows == [directory + "/a.log.1", directory + "/b.log"])
    }

    @Test("a stop request is honoured between files, and the next run picks up the rest")
    func stopBetweenFiles() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/watch.db"
        for name in ["a", "b", "c"] {
            try AlertLog.write(
                AlertLog.header + Self.lines(name == "a" ? 0..<10 : (name == "b" ? 10..<20 : 20..<30)),
                to: directory + "/\(name).log"
            )
        }
        final class Counter: @unchecked Sendable { var calls = 0 }
        let counter = Counter()
        let watcher = try Self.watcher(db, [directory])
        let report = try watcher.poll(now: 0) {
            counter.calls += 1
            return counter.calls > 1
        }
        #expect(report.interrupted && report.files.count == 1)
        #expect(try Self.watcher(db, [directory]).poll(now: 0).files.map(\.status) == [.new, .new])
        let batch = directory + "/batch.db"
        try AlertLog.ingest(["a", "b", "c"].map { directory + "/\($0).log" }, db: batch)
        #expect(try TestSupport.dump(db) == TestSupport.dump(batch))
    }

    @Test("each poll evaluates the rules and sends what fires once; a failing sink is reported and ingestion goes on")
    func alertsFromPolls() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/watch.db"
        let live = directory + "/u.log"
        try AlertLog.write(AlertLog.header + AlertLog.line(second: 100, client: "20.50.10.4"), to: live)
        let store = try Store(path: db)
        var set = AlertRuleSet()
        set.rules = [AlertRule(name: "served", kind: .servedDirect)]
        let sink = directory + "/alerts.ndjson"
        let dispatcher = AlertDispatcher(sinks: [
            .file(path: sink), .exec(ExecSettings(command: ["/bin/false"])),
        ])
        let watcher = try Self.watcher(
            db,
            [directory],
            evaluator: AlertEvaluator(store: store, rules: set),
            dispatcher: dispatcher
        )
        #expect(try watcher.poll(now: 0).alerts.isEmpty)
        try AlertLog.append(AlertLog.line(second: 110, client: "198.51.100.66"), to: live)
        let fired = try watcher.poll(now: 0)
        #expect(fired.alerts.map(\.addresses) == [["198.51.100.66"]])
        #expect(fired.failedDeliveries.map(\.sink) == ["exec:/bin/false"])
        #expect(try watcher.poll(now: 0).alerts.isEmpty)
        try AlertLog.append(AlertLog.line(second: 120, client: "20.50.10.4"), to: live)
        #expect(try watcher.poll(now: 0).files.map(\.status) == [.grown])
        #expect(try String(contentsOfFile: sink, encoding: .utf8).split(separator: "\n").count == 1)
        let failed = try store.read { db in try Int.fetchOne(db, sql: "SELECT sinks_failed FROM alerts") }
        #expect(failed == 1)
    }

    @Test("the metrics file is Prometheus text, written atomically")
    func metrics() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/watch.db"
        try AlertLog.write(AlertLog.header + Self.lines(0..<210) + "garbage\n", to: directory + "/u.log")
        let metrics = directory + "/gatewatch.prom"
        let watcher = try Self.watcher(db, [directory]) { $0.metricsFile = metrics }
        let now = AlertLog.time(36_000 + 209) + 60
        try watcher.poll(now: now)
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(text.contains("# TYPE gatewatch_requests_total counter\n"))
        #expect(text.contains("gatewatch_requests_total{outcome=\"served\",verdict=\"direct\"} 20\n"))
        #expect(text.contains("gatewatch_requests_total{outcome=\"blocked\",verdict=\"direct\"} 10\n"))
        #expect(text.contains("gatewatch_requests_total{outcome=\"\",verdict=\"gateway\"} 180\n"))
        #expect(text.contains("gatewatch_malformed_lines_total 1\n"))
        #expect(text.contains("gatewatch_files{status=\"complete\"} 1\n"))
        #expect(text.contains("gatewatch_lag_seconds 60\n"))
        #expect(text.contains("gatewatch_watch_polls_total 1\n"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
        let error = #expect(throws: MetricsError.self) { try AtomicFile.write("x", to: "/nonexistent/dir/g.prom") }
        #expect(error?.description.contains("check that its directory exists and is writable") == true)
    }
}
