import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of the follow loop.
public struct WatchOptions: Sendable {
    /// Files, directories and glob patterns, expanded again at every poll.
    public var paths: [String]
    /// Seconds between polls.
    public var intervalSeconds: Double = 5
    /// A Prometheus textfile to rewrite after every poll.
    public var metricsFile: String?
    /// Minimum seconds between full recounts of `hourly` for the request counters (the other
    /// metrics are refreshed at every poll).
    public var metricsRecountSeconds: Double = 30

    /// Creates options with a 5-second interval.
    ///
    /// - Parameter paths: What to follow.
    public init(paths: [String]) {
        self.paths = paths
    }
}

/// What the follow loop reports as it goes.
public enum WatchEvent {
    /// An input with new content was ingested (new, grown or failed part-way).
    case ingested(FileReport)
    /// A gzip file is still being written (it does not end yet); it is read at a later poll.
    case deferred(path: String)
    /// A file that is not a log format Gatewatch reads; it is skipped until it changes.
    case skipped(path: String, reason: String)
    /// An alert was raised and sent; failed deliveries are in the results.
    case alert(Alert, [DeliveryResult])
    /// Something the operator should know; the loop goes on.
    case problem(String)
}

/// The outcome of one poll.
public struct PollReport: Sendable {
    /// Inputs read in this poll (new, grown, known or failed).
    public var files: [FileReport] = []
    /// Inputs skipped because their (device, inode, size, mtime) had not changed.
    public var unchanged = 0
    /// Gzip inputs not yet complete.
    public var deferred: [String] = []
    /// Alerts raised.
    public var alerts: [Alert] = []
    /// Deliveries that failed.
    public var failedDeliveries: [DeliveryResult] = []
    /// Whether the poll stopped early because a stop was requested.
    public var interrupted = false
}

/// The identity and state of a file at a poll: if all four are unchanged, so is the file.
struct FileStamp: Equatable, Hashable {
    var device: Int64
    var inode: Int64
    var size: Int64
    var modifiedNanoseconds: Int64

    init(device: Int64, inode: Int64, size: Int64, modifiedNanoseconds: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
    }

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = Int64(bitPattern: UInt64(info.st_dev))
        inode = Int64(bitPattern: UInt64(info.st_ino))
        size = Int64(info.st_size)
        modifiedNanoseconds = Int64(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int64(info.st_mtim.tv_nsec)
    }
}

/// Follows files and directories into the store, then evaluates alert rules and writes metrics.
///
/// Every poll expands the paths again (new files appear), skips files whose (device, inode, size,
/// mtime) are unchanged since they were last ingested (without opening them; the stamps are kept
/// in `watch_files`, so this holds across restarts too), and ingests the rest through
/// ``Ingestor`` with ``IngestOptions/holdPartialLastLine`` set, one file per transaction. The
/// content ledger makes renames, rotations, copies and a `.log` replaced by its `.log.gz` add
/// nothing twice; a file renamed with its stamp unchanged is not even re-read. A gzip file that
/// does not end yet (the compressor is still writing it) is deferred to a later poll, because
/// a prefix of content already ingested would be read as new content.
///
/// A stop request (``StopSignal``) is honoured between files: the file being ingested commits
/// first, and nothing is lost or counted twice when the loop starts again.
public final class Watcher {
    /// The store.
    public let store: Store
    /// The loop's settings.
    public let options: WatchOptions
    let ingestor: Ingestor
    let evaluator: AlertEvaluator?
    let dispatcher: AlertDispatcher?
    let events: (WatchEvent) -> Void
    var stamps: [String: FileStamp] = [:]
    var reportedProblems = Set<String>()
    var totals = StoreTotals()
    var lastRecount: ContinuousClock.Instant?
    /// When alerts owed to a sink were last sent again.
    var lastRetry: ContinuousClock.Instant?
    var needsRecount = true
    var polls = 0
    var lastPollSeconds = 0.0

    /// Creates a follow loop.
    ///
    /// - Parameters:
    ///   - store: The store (writable).
    ///   - ingestOptions: Policy, gateways and parsing settings; ``IngestOptions/holdPartialLastLine``
    ///     is turned on.
    ///   - options: Paths, interval, metrics file.
    ///   - evaluator: The alert rules, or `nil` for no alerting.
    ///   - dispatcher: Where alerts go.
    ///   - events: Called with what happens (on the loop's thread).
    /// - Throws: ``StoreError`` when the stamps cannot be read.
    public init(
        store: Store,
        ingestOptions: IngestOptions,
        options: WatchOptions,
        evaluator: AlertEvaluator? = nil,
        dispatcher: AlertDispatcher? = nil,
        events: @escaping (WatchEvent) -> Void = { _ in }
    ) throws {
        self.store = store
        self.options = options
        var ingest = ingestOptions
        ingest.holdPartialLastLine = true
        // A poll finds a few changed files; one after the other on the watcher's one long-lived
        // connection (parallel workers would open connections at every poll).
        ingest.parallelism = 1
        ingestor = Ingestor(store: store, options: ingest)
        self.evaluator = evaluator
        self.dispatcher = dispatcher
        self.events = events
        // The stat cache persists on SQLite only: a shared PostgreSQL store would mix the paths of
        // different hosts. Without it a restarted watcher reads each file once more and the ledger
        // finds it known.
        guard store.keepsHostLocalState else { return }
        do {
            try store.query { db in
                try db.forEachRow("SELECT path, device, inode, size, mtime_ns FROM watch_files", []) { row in
                    stamps[row[0]] = FileStamp(
                        device: row[1],
                        inode: row[2],
                        size: row[3],
                        modifiedNanoseconds: row[4]
                    )
                }
            }
        } catch let error as SQLError {
            throw StoreError.cannotOpen(path: store.path, message: error.message)
        }
    }

    /// Polls until a stop is requested: poll, then sleep the interval (waking every 50 ms to check
    /// for a stop).
    ///
    /// - Parameters:
    ///   - shouldStop: Whether to stop; by default, whether SIGINT or SIGTERM arrived (install the
    ///     handlers with ``StopSignal/install()``).
    ///   - now: The wall clock, Unix seconds.
    /// - Throws: Nothing the loop can recover from is thrown; database and sink failures are
    ///   reported through `events` and retried at the next poll. ``MetricsError`` is thrown only
    ///   for the first poll, so a wrong `--metrics-file` fails fast.
    public func run(
        shouldStop: () -> Bool = { StopSignal.isRequested },
        now: () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws {
        var first = true
        while !shouldStop() {
            let started = ContinuousClock.now
            do {
                _ = try poll(now: now(), shouldStop: shouldStop)
            } catch let error as MetricsError {
                if first { throw error }
                events(.problem(error.description))
            }
            first = false
            let deadline = started + .milliseconds(Int64(options.intervalSeconds * 1000))
            while !shouldStop(), ContinuousClock.now < deadline {
                usleep(50_000)
            }
        }
    }

    /// Runs one poll: ingest what changed, evaluate the rules, send the alerts, write the metrics.
    ///
    /// - Parameters:
    ///   - now: The wall clock, Unix seconds (alert windows and cooldowns, metrics lag).
    ///   - shouldStop: Checked between files.
    /// - Returns: What the poll did.
    /// - Throws: ``MetricsError`` when the metrics file cannot be written.
    @discardableResult
    public func poll(now: Int64, shouldStop: () -> Bool = { false }) throws -> PollReport {
        let clock = ContinuousClock()
        let started = clock.now
        var report = PollReport()
        let discovery = InputDiscovery.expand(options.paths)
        for problem in discovery.problems {
            // An empty directory or a pattern matching nothing yet is normal while following.
            if case .noMatch = problem { continue }
            note(problem: problem.description)
        }
        var present = Set<String>()
        var byStamp: [FileStamp: String] = [:]
        for (path, stamp) in stamps { byStamp[stamp] = path }
        for path in discovery.paths where path != "-" {
            present.insert(path)
            if shouldStop() {
                report.interrupted = true
                break
            }
            guard let stamp = FileStamp(path: path), stamp.size > 0 else { continue }
            if stamps[path] == stamp {
                report.unchanged += 1
                continue
            }
            if let previous = byStamp[stamp], previous != path, FileStamp(path: previous) != stamp {
                // Renamed (rotation): same inode, size and mtime, so the same bytes, all ingested.
                remember(path, stamp, forgetting: previous)
                report.unchanged += 1
                continue
            }
            if Self.isGzip(path), !Self.gzipIsComplete(path) {
                report.deferred.append(path)
                events(.deferred(path: path))
                continue
            }
            do {
                let result = try ingestor.ingest([path])
                for file in result.files {
                    report.files.append(file)
                    if file.status == .new || file.status == .grown || file.status == .failed {
                        events(.ingested(file))
                        needsRecount = true
                    }
                    if let error = file.error, file.status == .failed { note(problem: error) }
                    if let error = file.error, file.status == .unsupported {
                        events(.skipped(path: file.path, reason: error))
                    }
                }
                // A failed read (damaged or cut short) is tried again at the next poll.
                if result.files.allSatisfy({ $0.status != .failed }) { remember(path, stamp, forgetting: nil) }
            } catch {
                note(problem: "\(error)")
            }
        }
        if !report.interrupted {
            for path in stamps.keys where !present.contains(path) && FileStamp(path: path) == nil {
                forget(path)
            }
        }
        evaluateAlerts(now: now, into: &report)
        polls += 1
        let elapsed = clock.now - started
        lastPollSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if let metricsFile = options.metricsFile {
            try writeMetrics(to: metricsFile, now: now)
        }
        return report
    }

    private func note(problem: String) {
        // The same problem at every poll would flood the log: say it once.
        if reportedProblems.insert(problem).inserted { events(.problem(problem)) }
    }

    private func remember(_ path: String, _ stamp: FileStamp, forgetting previous: String?) {
        stamps[path] = stamp
        if let previous { stamps[previous] = nil }
        guard store.keepsHostLocalState else { return }
        do {
            try store.write { db in
                if let previous { try db.execute("DELETE FROM watch_files WHERE path = ?", [previous]) }
                try db.execute(
                    """
                    INSERT OR REPLACE INTO watch_files (path, device, inode, size, mtime_ns, checked_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [
                        path, stamp.device, stamp.inode, stamp.size, stamp.modifiedNanoseconds,
                        UTCTime.format(Int64(Date().timeIntervalSince1970)),
                    ]
                )
            }
        } catch {
            // Only an optimisation is lost: the file is read again (and found known) next time.
            note(problem: "cannot record the state of '\(path)': \(error); it will be re-read at the next poll")
        }
    }

    private func forget(_ path: String) {
        stamps[path] = nil
        guard store.keepsHostLocalState else { return }
        try? store.write { db in
            try db.execute("DELETE FROM watch_files WHERE path = ?", [path])
        }
    }

    private func evaluateAlerts(now: Int64, into report: inout PollReport) {
        guard let evaluator else { return }
        var deliveries: [PendingDelivery] = []
        do {
            // Alerts a sink failed to take are sent again, at most once a minute (a receiver that
            // is down costs each poll its timeouts and backoff).
            if lastRetry.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true {
                lastRetry = ContinuousClock.now
                deliveries = try evaluator.pendingDeliveries()
            }
            deliveries += try evaluator.fire(now: now, sinks: dispatcher?.sinks ?? [])
        } catch {
            note(problem: "\(error)")
            return
        }
        for delivery in deliveries {
            let results = dispatcher?.send(delivery.alert, to: delivery.sinks) ?? []
            let failed = results.filter { $0.error != nil }
            report.alerts.append(delivery.alert)
            report.failedDeliveries += failed
            do {
                try evaluator.recordDelivery(delivery, results: results)
            } catch {
                note(problem: "\(error); the alert may be sent again")
            }
            events(.alert(delivery.alert, results))
        }
    }

    private func writeMetrics(to path: String, now: Int64) throws(MetricsError) {
        do {
            let due =
                lastRecount.map {
                    ContinuousClock.now - $0 >= .milliseconds(Int64(options.metricsRecountSeconds * 1000))
                } ?? true
            if needsRecount, due {
                totals = try StoreTotals.read(from: store)
                lastRecount = ContinuousClock.now
                needsRecount = false
            } else {
                try store.query { db in try totals.readLedger(db) }
            }
        } catch {
            note(problem: "cannot read metrics from the store: \(error)")
        }
        let extra: [(String, [String: String], Double)] = [
            ("gatewatch_watch_polls_total", [:], Double(polls)),
            ("gatewatch_watch_last_poll_timestamp_seconds", [:], Double(now)),
            ("gatewatch_watch_poll_duration_seconds", [:], (lastPollSeconds * 1000).rounded() / 1000),
        ]
        try AtomicFile.write(totals.prometheusText(now: now, extra: extra), to: path)
    }

    /// Whether a file starts with the gzip magic bytes.
    static func isGzip(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 2)) ?? Data()
        return magic.count == 2 && magic[magic.startIndex] == 0x1F && magic[magic.startIndex + 1] == 0x8B
    }

    /// Whether a gzip file is not cut short.
    ///
    /// A damaged file counts as complete: the ingest reports the damage instead of the loop
    /// deferring it forever.
    static func gzipIsComplete(_ path: String) -> Bool {
        do {
            let source = try ByteSource(path: path)
            while try source.nextChunk({ _ in }) {}
            return true
        } catch let error as InputError {
            if case .truncatedGzip = error { return false }
            return true
        } catch {
            return true
        }
    }
}
