import CMalloc
import Foundation
import GRDB
import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The input formats `ingest` reads.
public enum InputFormat: String, Sendable, CaseIterable {
    /// Sniff each input.
    case auto
    /// W3C extended log format (IIS, App Service).
    case w3c
}

/// Settings for an ingest run.
public struct IngestOptions: Sendable {
    /// Gateway addresses: requests from them are `gateway`.
    public var gateways: [CIDR] = []
    /// The backend's allowlist; `nil` means the lock-down policy implied by ``gateways``.
    public var policy: Policy?
    /// Platform traffic rules.
    public var platformRules = PlatformRules()
    /// Which address of a request is the client.
    public var clientAddress: ClientAddressSource = .clientIP
    /// Proxies skipped by `xff-rightmost-untrusted`.
    public var trustedProxies: [CIDR] = []
    /// The layout for lines before any `#Fields` directive (`--fields`).
    public var fallbackLayout: W3CLayout = .iisDefault
    /// The format, or `auto` to sniff.
    public var format: InputFormat = .auto
    /// Malformed lines kept per file in the database and per run in the report.
    public var malformedSampleLimit = 5
    /// The earliest plausible request time (`--not-before`), in seconds since the epoch: 1995-01-01.
    public var notBefore: Int64 = DateWindow.defaultEarliest
    /// The latest plausible request time (`--not-after`); `nil` is a day after the newest input's
    /// modification time (the time of the run for standard input).
    public var notAfter: Int64?
    /// Leave an unterminated last line of a plain file for a later run (follow mode: the writer may
    /// be in the middle of it).
    ///
    /// Batch ingest reads it as a line.
    public var holdPartialLastLine = false
    /// Record every gateway-verdict request in `backend_gateway_requests` for `correlate` (always
    /// on for layouts that log a request id).
    ///
    /// Costs about as much as the evidence of the same number of direct requests.
    public var keepGatewayRequests = false
    /// The W3C column holding the gateway's request id (`--request-id-field`).
    public var requestIDField: String?
    /// Replace what the store holds for the inputs (`--reingest`): their rows are removed first,
    /// then they are read as new (see ``Ingestor/removeForReingest(_:)``).
    public var reingest = false
    /// Aggregate rows held in memory before they are written (bounds memory).
    ///
    /// PostgreSQL stores hold at least 250,000 (each flushed row is staged on the server), and a
    /// parallel pass holds up to 400,000 rows and 48 MiB of evidence before it takes the write
    /// lock.
    public var aggregateFlushThreshold = 45_000
    /// Inputs ingested at once (one thread and connection each); 1 reads them one after the other.
    ///
    /// The default is the number of cores this process may use, at most 4.
    public var parallelism = min(IngestOptions.usableCores, 4)

    /// The cores this process may run on: its CPU affinity (`taskset`, cpusets), read from
    /// `/proc/self/status`, else the cores online.
    public static let usableCores: Int = {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        {
            let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
            let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
            if count > 0 { return count }
        }
        return max(ProcessInfo.processInfo.activeProcessorCount, 1)
    }()
    /// The name this ingester's rows carry (`--source`): the host name unless given.
    public var source: String = IngestOptions.defaultSource

    /// The host name, the default ``source``.
    public static var defaultSource: String {
        let name = ProcessInfo.processInfo.hostName
        return name.isEmpty ? "localhost" : name
    }

    /// Creates default options.
    public init() {}
}

/// Progress of a run, reported while it goes.
public struct IngestProgress: Sendable {
    /// The input being read.
    public var path: String
    /// Raw bytes read so far over all inputs.
    public var rawBytesDone: Int64
    /// Raw bytes of all inputs (regular files only).
    public var rawBytesTotal: Int64
    /// Lines read so far over all inputs.
    public var lines: Int
}

/// Streams inputs into the store: parse, classify, aggregate, and record in the ledger.
///
/// Each input is ingested in one write transaction that also records it in the ledger, so a run
/// killed at any instant leaves the store as if the input had not been started, and a rerun adds
/// exactly what one clean run would. The ledger knows inputs by the fingerprint of their
/// decompressed content: the same content again (renamed, copied, gzipped) adds nothing, and a
/// file that has grown contributes only its new lines.
///
/// `@unchecked Sendable`: everything parallel workers read is immutable after `init` (the
/// policy, rules and options are `Sendable` values); `mainSession` is used only by the thread
/// that calls ``ingest(_:progress:)``, which runs one call at a time.
public final class Ingestor: @unchecked Sendable {
    /// The store written to.
    public let store: Store
    /// The run's settings.
    public let options: IngestOptions

    let policy: Policy
    let gateways: CIDRSet
    let platform: CompiledPlatformRules
    let resolver: ClientResolver
    /// What this run reads and judges under, recorded in each file's ledger row.
    let basis: ReadingBasis
    /// The sequential run's connection, opened on first use.
    private var mainSession: IngestSession?

    /// Creates an ingestor.
    ///
    /// - Parameters:
    ///   - store: The store to write to.
    ///   - options: The run's settings.
    public init(store: Store, options: IngestOptions) {
        self.store = store
        self.options = options
        policy = options.policy ?? Policy.lockDown(gateways: options.gateways)
        gateways = CIDRSet(options.gateways)
        platform = options.platformRules.compiled()
        resolver = ClientResolver(source: options.clientAddress, trustedProxies: CIDRSet(options.trustedProxies))
        basis = ReadingBasis(options: options, policy: policy, gateways: options.gateways)
        _ = Self.memorySetup
    }

    /// Process-wide, once: blocks of 256 KiB and more (the aggregate maps handed between threads,
    /// the read-ahead chunks) get mappings of their own and go back to the system when freed.
    ///
    /// Glibc would otherwise raise that threshold as such blocks are freed and keep them in the
    /// heap of the thread that allocated them: 4–5 MB more peak RSS at 5M lines, no faster.
    private static let memorySetup: Void = { _ = gw_set_mmap_threshold(256 << 10) }()

    /// Ingests inputs: one after the other, or several at once (``IngestOptions/parallelism``).
    ///
    /// In a parallel run each worker reads, parses and aggregates its input without holding the
    /// write lock and takes it only to write (SQLite orders the workers' commits; each worker has
    /// its own connection). A worker whose input's ledger entries changed while it parsed reads
    /// that input again under the lock, and inputs whose first bytes overlap are written in input
    /// order, so the store holds the rows, counts and ledger of a sequential run (row ids follow
    /// commit order).
    ///
    /// - Parameters:
    ///   - inputs: Resolved input paths (see ``InputDiscovery``); `-` is standard input.
    ///   - progress: Called now and then with the run's progress (from any worker thread, one call
    ///     at a time).
    /// - Returns: The run summary, files in input order; failed inputs are reported in it, not
    ///   thrown.
    /// - Throws: ``StoreError`` when the database cannot be written.
    public func ingest(
        _ inputs: [String],
        progress: ((IngestProgress) -> Void)? = nil
    ) throws -> IngestReport {
        PhaseTrace.start()
        let clock = ContinuousClock()
        let started = clock.now
        var report = IngestReport()
        if options.reingest { report.filesReingested = try removeForReingest(inputs) }
        var total: Int64 = 0
        for path in inputs where path != "-" {
            if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber {
                total += size.int64Value
            }
        }
        let run = RunProgress(total: total, callback: progress)
        let window = dateWindow(for: inputs)
        let workers = min(options.parallelism, inputs.count)
        var results: [FileIngest?]
        if workers <= 1 || inputs.contains("-") {
            if mainSession == nil {
                mainSession = try IngestSession(store: store, source: options.source, ownConnection: false)
            }
            guard let session = mainSession else { return report }
            results = []
            for (index, path) in inputs.enumerated() {
                let file = FileIngest(
                    ingestor: self,
                    path: path,
                    tracker: ProgressTracker(path: path, slot: index, run: run),
                    session: session,
                    dateWindow: window
                )
                try file.run(reportingTo: run, slot: index)
                results.append(file)
            }
        } else {
            results = try ingestInParallel(inputs, workers: workers, run: run, dateWindow: window)
        }
        var loggedIISVersions: Set<Int> = []
        for file in results {
            guard let file, let fileReport = file.report else { continue }
            loggedIISVersions.formUnion(file.loggedIISVersions)
            report.files.append(fileReport)
            for sample in file.samples where report.malformedSamples.count < options.malformedSampleLimit {
                report.malformedSamples.append(sample)
            }
            if fileReport.status == .new || fileReport.status == .grown || fileReport.status == .failed {
                for (verdict, count) in file.verdictCounts { report.byVerdict[verdict.rawValue, default: 0] += count }
                report.blocked += file.blockedCount
                report.served += file.servedCount
                report.platformDenied += file.platformDeniedCount
            }
        }
        if options.clientAddress.isSpoofable {
            report.notes.append(
                "--client-ip \(options.clientAddress.rawValue) trusts X-Forwarded-For, which any client can forge: "
                    + "a direct caller can pose as the gateway; prefer xff-rightmost-untrusted with --trusted-proxy"
            )
        } else if options.clientAddress == .forwardedForRightmostUntrusted, options.trustedProxies.isEmpty {
            report.notes.append("xff-rightmost-untrusted without --trusted-proxy always picks c-ip")
        }
        if let note = versionNote(loggedIISVersions) { report.notes.append(note) }
        if let warning = options.policy?.serviceTagsAgeWarning(first: report.first, last: report.last) {
            report.notes.append(warning)
        }
        let elapsed = clock.now - started
        report.elapsedSeconds =
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return report
    }
}

extension Ingestor {
    /// The run's ``DateWindow``: ``IngestOptions/notBefore`` to ``IngestOptions/notAfter``, or to
    /// a day after the newest input's modification time (now, for standard input).
    func dateWindow(for inputs: [String]) -> DateWindow {
        if let latest = options.notAfter { return DateWindow(earliest: options.notBefore, latest: latest) }
        var newest = Int64.min
        for path in inputs {
            if path == "-" {
                newest = max(newest, Int64(Date().timeIntervalSince1970))
            } else if let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
            {
                newest = max(newest, Int64(modified.timeIntervalSince1970))
            }
        }
        if newest == .min { newest = Int64(Date().timeIntervalSince1970) }
        return DateWindow(earliest: options.notBefore, latest: newest + DateWindow.defaultSlackSeconds)
    }

    /// A run note when a log's `#Software` names an IIS version that logs denials differently
    /// from the profile blocked/served is otherwise read with (D3: `403.6` before IIS 8, `x.503` from 8).
    func versionNote(_ versions: Set<Int>) -> String? {
        let profile = policy.profile
        let other = versions.filter { ($0 >= 8) != profile.hasDenyAction }.sorted()
        guard !other.isEmpty else { return nil }
        let named = other.map { "IIS \($0)" }.joined(separator: ", ")
        let statuses = profile.hasDenyAction ? "403.6/403.8" : "x.503/x.504"
        return "the logs' #Software says \(named) but the profile is IIS \(profile.version): blocked/served in those "
            + "blocks is read with the statuses that version logs (\(statuses)); the allowlist is still judged as "
            + "configured (set iis_version / --iis-version if the server is that version)"
    }

    /// Runs `workers` threads, each with its own connection, taking the next input in turn.
    private func ingestInParallel(
        _ inputs: [String],
        workers: Int,
        run: RunProgress,
        dateWindow: DateWindow
    ) throws -> [FileIngest?] {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var results: [FileIngest?]
            var failure: (any Error)?
            init(count: Int) { results = Array(repeating: nil, count: count) }
        }
        let shared = Shared(count: inputs.count)
        let heads = InFlightHeads()
        let group = DispatchGroup()
        // Everything the worker holds (its connection, this ingestor and its store) is let go
        // on its thread before the run learns that it is done: otherwise the last release of
        // a connection, and its close (the WAL checkpoint), could happen on that thread after
        // `ingest` returned, and lock out whoever opens the store next.
        let work = { [self] in
            let session: IngestSession
            do {
                session = try IngestSession(store: store, source: options.source, ownConnection: true)
            } catch {
                shared.lock.withLock { if shared.failure == nil { shared.failure = error } }
                return
            }
            while true {
                // Taken in input order, and known to the other workers before the lock is let go.
                let index: Int? = shared.lock.withLock {
                    guard shared.failure == nil, shared.next < inputs.count else { return nil }
                    defer { shared.next += 1 }
                    heads.take(shared.next)
                    return shared.next
                }
                guard let index else { return }
                defer { heads.finish(index) }
                let path = inputs[index]
                let file = FileIngest(
                    ingestor: self,
                    path: path,
                    tracker: ProgressTracker(path: path, slot: index, run: run),
                    session: session,
                    dateWindow: dateWindow,
                    inFlight: (heads, index)
                )
                do {
                    try file.run(reportingTo: run, slot: index)
                    shared.lock.withLock { shared.results[index] = file }
                } catch {
                    shared.lock.withLock { if shared.failure == nil { shared.failure = error } }
                    return
                }
            }
        }
        for _ in 0..<workers {
            group.enter()
            let job = WorkerJob(work)
            let thread = Thread {
                job.run()
                group.leave()
            }
            thread.name = "gatewatch-ingest"
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        if let failure = shared.failure { throw failure }
        return shared.results
    }
}

/// A worker thread's body, dropped (with everything it captured) as soon as it has run.
///
/// `@unchecked Sendable`: `body` is read and cleared by the worker thread alone.
private final class WorkerJob: @unchecked Sendable {
    private var body: (() -> Void)?

    init(_ body: @escaping () -> Void) { self.body = body }

    func run() {
        body?()
        body = nil
    }
}

/// The progress of a whole run, summed over the inputs in flight.
///
/// `@unchecked Sendable`: every field is read and written under `lock`.
final class RunProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int64
    private let callback: ((IngestProgress) -> Void)?
    private var doneBytes: Int64 = 0
    private var doneLines = 0
    private var inFlight: [Int: (bytes: Int64, lines: Int)] = [:]
    private var lastReport = ContinuousClock.now

    init(total: Int64, callback: ((IngestProgress) -> Void)?) {
        self.total = total
        self.callback = callback
    }

    /// Records an input's progress; calls back at most every 100 ms.
    func update(slot: Int, path: String, rawBytes: Int64, lines: Int) {
        guard let callback else { return }
        lock.withLock {
            inFlight[slot] = (rawBytes, lines)
            let now = ContinuousClock.now
            guard now - lastReport >= .milliseconds(100) else { return }
            lastReport = now
            let bytes = doneBytes + inFlight.values.reduce(0) { $0 + $1.bytes }
            let lines = doneLines + inFlight.values.reduce(0) { $0 + $1.lines }
            callback(IngestProgress(path: path, rawBytesDone: bytes, rawBytesTotal: total, lines: lines))
        }
    }

    /// Records that an input is done.
    func complete(slot: Int, rawBytes: Int64, lines: Int) {
        lock.withLock {
            inFlight[slot] = nil
            doneBytes += rawBytes
            doneLines += lines
        }
    }
}

/// Reports one input's progress into its run's ``RunProgress``.
final class ProgressTracker {
    let path: String
    let slot: Int
    let run: RunProgress

    init(path: String, slot: Int, run: RunProgress) {
        self.path = path
        self.slot = slot
        self.run = run
    }

    func update(rawBytes: Int64, lines: Int) {
        run.update(slot: slot, path: path, rawBytes: rawBytes, lines: lines)
    }
}

/// A ledger row that may describe an earlier state of the input being read.
struct LedgerCandidate {
    var id: Int64
    var fingerprint: String
    var bytes: Int64
    var lines: Int
    var endsWithNewline: Bool
    /// What the row's content was read and judged under.
    var recorded: RecordedBasis
}

/// Thrown inside a pass when the input is not a format this run reads.
struct UnsupportedInput: Error {
    var reason: String
}

/// Thrown when a PostgreSQL transaction lost a race (deadlock, unique key taken by another
/// ingester): the input is read again from the start.
struct RetryPass: Error {
    var error: SQLError
}

/// Thrown by a deferred pass when, at the moment it took the write lock, the ledger entries for
/// its head were no longer those it parsed against.
struct LedgerChanged: Error {}

/// Thrown inside a pass to start the input again without resuming at `candidate`.
struct RestartPass: Error {
    var remaining: [LedgerCandidate]
}

/// The ingest of one input: one transaction.
final class FileIngest {
    let ingestor: Ingestor
    let path: String
    /// What the input is read from: `path`, or for standard input (`-`) a copy of it spooled to
    /// a temporary file, so that it can be read again like any file (a pass that restarts, the
    /// ledger's check of a grown file's prefix).
    private(set) var sourcePath: String
    let tracker: ProgressTracker
    var samples: [MalformedSample] = []
    var verdictCounts: [Verdict: Int] = [:]
    var blockedCount = 0
    var servedCount = 0
    var platformDeniedCount = 0
    /// The IIS major versions the input's `#Software` directives named.
    var loggedIISVersions: Set<Int> = []
    /// The request times this run accepts.
    let dateWindow: DateWindow
    /// The outcome, once the input is done.
    var report: FileReport?

    /// The connection this input is written through.
    let session: IngestSession
    /// Parse before taking the write lock (parallel runs); falls back to locking up front when
    /// the ledger changed meanwhile. (The run's first input, when it is new, takes the lock as
    /// soon as its head is read: see ``PassState``'s `start(head:)`.)
    var deferred: Bool

    static let headSize = 4096

    /// The run's inputs in flight and this input's place among them (parallel runs).
    let inFlight: (heads: InFlightHeads, index: Int)?

    init(
        ingestor: Ingestor,
        path: String,
        tracker: ProgressTracker,
        session: IngestSession,
        dateWindow: DateWindow,
        inFlight: (heads: InFlightHeads, index: Int)? = nil
    ) {
        self.dateWindow = dateWindow
        self.ingestor = ingestor
        self.path = path
        sourcePath = path
        self.tracker = tracker
        self.session = session
        self.inFlight = inFlight
        deferred = inFlight != nil
    }

    /// Ingests the input, keeps its report and adds it to the run's progress.
    func run(reportingTo progress: RunProgress, slot: Int) throws {
        let done = try execute()
        report = done
        progress.complete(slot: slot, rawBytes: done.rawBytes, lines: done.lines)
    }

    func execute() throws -> FileReport {
        if path == "-" {
            do {
                sourcePath = try Self.spoolStandardInput()
            } catch {
                var report = blankReport(status: .failed)
                report.error =
                    "standard input could not be copied to a temporary file in "
                    + "\(FileManager.default.temporaryDirectory.path) (set TMPDIR to a directory with room): \(error)"
                return report
            }
        }
        defer { if sourcePath != path { try? FileManager.default.removeItem(atPath: sourcePath) } }
        var candidates: [LedgerCandidate]?
        var attempts = 0
        var transientFailures = 0
        while true {
            attempts += 1
            do {
                return try runPass(candidates: candidates)
            } catch let restart as RestartPass {
                // The head matched a known file but the content did not: try the next candidate,
                // and after a few attempts read the file from the start. The candidates were read
                // without the lock: in a parallel run, go on in the classic way (lock first).
                candidates = attempts < 4 ? restart.remaining : []
                deferred = false
            } catch is LedgerChanged {
                // Another worker wrote a ledger entry for this head while this one parsed: read
                // the input again under the lock, as a sequential run would.
                deferred = false
                candidates = nil
            } catch let retry as RetryPass {
                transientFailures += 1
                guard transientFailures <= 8 else {
                    throw StoreError.writeFailed(path: ingestor.store.path, message: retry.error.message)
                }
                usleep(UInt32(20_000 * transientFailures))
            }
        }
    }

    private func blankReport(status: FileStatus) -> FileReport {
        FileReport(path: path, status: status)
    }

    /// Copies standard input, as it comes (compressed or not), to a new temporary file.
    ///
    /// - Returns: The file's path.
    /// - Throws: ``InputError`` when standard input cannot be read or the copy written.
    static func spoolStandardInput() throws -> String {
        let directory = FileManager.default.temporaryDirectory.path
        var template = Array((directory + "/gatewatch-stdin-XXXXXX").utf8CString)
        let output = template.withUnsafeMutableBufferPointer { name in name.baseAddress.map { mkstemp($0) } ?? -1 }
        let path = String(cString: template)
        guard output >= 0 else { throw InputError.cannotOpen(path: path, errno: errno) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw InputError.readFailed(path: "-", errno: errno) }
            if count == 0 { return path }
            var written = 0
            while written < count {
                let step = buffer.withUnsafeBytes { bytes in
                    write(output, UnsafeRawBufferPointer(rebasing: bytes[written..<count]).baseAddress, count - written)
                }
                if step < 0, errno == EINTR { continue }
                guard step > 0 else {
                    let failure = errno
                    try? FileManager.default.removeItem(atPath: path)
                    throw InputError.writeFailed(path: path, errno: failure)
                }
                written += step
            }
        }
    }

    /// One pass over the input inside one transaction.
    private func runPass(candidates preset: [LedgerCandidate]?) throws -> FileReport {
        let source: ByteSource
        do {
            source = try ByteSource(path: sourcePath)
        } catch {
            var report = blankReport(status: .failed)
            report.error = "\(error)"
            return report
        }
        var result: FileReport?
        if !deferred, let inFlight {
            // Read again under the lock: after every earlier input, as a sequential run would.
            inFlight.heads.waitForAllEarlier(inFlight.index)
        }
        do {
            try session.withTransaction(deferred: deferred) { transaction in
                let pass = PassState(file: self, transaction: transaction, source: source, presetCandidates: preset)
                let (report, commit) = try pass.run()
                result = report
                if commit {
                    platformDeniedCount = pass.platformDeniedCount
                    verdictCounts = pass.verdictCounts
                    blockedCount = pass.blockedCount
                    servedCount = pass.servedCount
                    samples = pass.samples
                    loggedIISVersions = pass.parser.loggedIISVersions
                }
                PhaseTrace.mark("M \(self.path): ends its transaction")
                return commit
            }
            PhaseTrace.mark("M \(path): transaction ended")
        } catch let restart as RestartPass {
            throw restart
        } catch let changed as LedgerChanged {
            throw changed
        } catch let unsupported as UnsupportedInput {
            var report = blankReport(status: .unsupported)
            report.compressed = source.isGzip
            report.rawBytes = source.rawOffset
            report.error = "'\(path)' is not a W3C log (\(unsupported.reason)); pass --format w3c to read it anyway"
            return report
        } catch let error as SQLError where error.isTransient || error.code == "23505" {
            // PostgreSQL: another ingester won a race on the same rows or ledger entry; rerun the
            // input, which now sees the winner's ledger row. (Not standard input: it cannot be
            // read twice; that input fails instead.)
            throw RetryPass(error: error)
        } catch let error as DatabaseError {
            throw StoreError.writeFailed(path: ingestor.store.path, message: error.message ?? "\(error.resultCode)")
        } catch let error as SQLError {
            throw StoreError.writeFailed(path: ingestor.store.path, message: error.message)
        }
        guard let result else { preconditionFailure("a pass either returns a report or throws") }
        return result
    }
}

/// The state of one pass over one input.
final class PassState {
    let file: FileIngest
    let db: any SQLDatabase
    let source: ByteSource
    let options: IngestOptions
    let parser: W3CParser
    var splitter = LineSplitter()
    var hasher = ContentHasher()
    var boundaryHasher = ContentHasher()  // state at the last line boundary
    var aggregator = Aggregator()
    var inventories = Inventories()
    /// Direct requests not yet handed to the evidence writer.
    var evidence = EvidenceBatch()
    /// Gateway-verdict requests not yet handed to the writer (for `correlate`).
    var gatewayRequests = EvidenceBatch(kind: .gatewayRequests)
    /// Emptied aggregate maps the writer thread hands back for the next batch.
    let spareMaps = SpareMaps()
    /// Writes evidence batches and aggregate flushes on its own thread while parsing goes on.
    var writerThread: BackgroundWorker<WriteJob>?
    /// The reader of a gateway log; `nil` for W3C, which is parsed inline (the hot path).
    var consumer: (any RecordConsumer)?
    /// The input's transaction; in a deferred pass it opens at the first write.
    let transaction: PassTransaction
    /// Parse before taking the write lock (see ``FileIngest/deferred``).
    let deferred: Bool
    /// The ledger candidates seen before the write lock, checked again once it is taken.
    var candidatesBeforeLock: [LedgerCandidate] = []
    /// The first bytes of the input, to look the ledger up again under the lock.
    var head: [UInt8] = []
    /// Evidence batches held until the transaction opens (deferred passes).
    var heldEvidence: [EvidenceBatch] = []
    var heldEvidenceBytes = 0
    var classifier: Classifier
    /// Reads the facts the judgement keys keep.
    let factReader: FactReader

    var presetCandidates: [LedgerCandidate]?
    var candidates: [LedgerCandidate] = []
    var resume: LedgerCandidate?
    var resumeVerified = false
    var fileID: Int64 = 0
    /// Whether the head was seen and the ledger looked up.
    var started = false
    var lineNumber = 0
    var lines = 0
    var requests = 0
    var skipped = 0
    var malformed = 0
    /// Directive, comment and blank lines, and gateway lines that only continue a record.
    var otherLines = 0
    var invalidAddresses = 0
    /// Requests read with c-ip because their X-Forwarded-For holds no address.
    var forwardedForFallbacks = 0
    /// Non-gateway requests logged without a status (`sc-status -`): neither blocked nor served.
    var noStatus = 0
    var noClientColumn = 0
    /// The first directive line holding a carriage return with more text after it, or 0: a file
    /// that ends its lines with CR alone only past its head (where the terminator was chosen)
    /// reads its rest as one directive line.
    var bareCarriageReturnLine = 0
    var skipReasons: [String] = []
    var noForwardedColumn = 0
    var skippedContinuation = 0
    var first = Int64.max
    var last = Int64.min
    var samples: [MalformedSample] = []
    var verdictTally = [Int](repeating: 0, count: Verdict.allCases.count)
    var verdictCounts: [Verdict: Int] {
        Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0, verdictTally[Int($0.code)]) })
    }
    var blockedCount = 0
    var servedCount = 0
    var platformDeniedCount = 0
    var warnings: [String] = []
    var headHashText = ""
    var headLength = 0
    var streamOffset: Int64 = 0

    /// A deferred pass holds up to this many aggregate rows, and this many bytes of evidence,
    /// before it takes the write lock and writes as it goes.
    static let deferredAggregateLimit = 400_000
    /// Aggregate rows held before a flush.
    ///
    /// PostgreSQL stages every flushed row with `COPY` and folds duplicates on the server, so it
    /// holds more in memory and stages each key about once.
    let flushThreshold: Int
    static let deferredEvidenceLimit = 48 << 20

    init(file: FileIngest, transaction: PassTransaction, source: ByteSource, presetCandidates: [LedgerCandidate]?) {
        self.file = file
        self.transaction = transaction
        deferred = !transaction.isOpen
        db = transaction.database
        let threshold = file.ingestor.options.aggregateFlushThreshold
        flushThreshold = transaction.database.dialect == .postgres ? max(threshold, 250_000) : threshold
        self.source = source
        options = file.ingestor.options
        parser = W3CParser(fallbackLayout: options.fallbackLayout, requestIDField: options.requestIDField)
        parser.dateWindow = file.dateWindow
        factReader = FactReader(policy: file.ingestor.policy, platformRules: file.ingestor.options.platformRules)
        classifier = Classifier(
            policy: file.ingestor.policy,
            gateways: file.ingestor.gateways,
            platform: file.ingestor.platform
        )
        self.presetCandidates = presetCandidates
    }

    /// Reads the input; returns the report and whether to commit.
    func run() throws -> (FileReport, Bool) {
        var headBuffer: [UInt8] = []
        var headDone = false
        var failure: (any Error)?
        // Inflate on one core, parse on the other; every exit stops both helper threads.
        let prefetcher = ChunkPrefetcher(source: source)
        defer {
            prefetcher.cancel()
            writerThread?.cancel()
        }
        do {
            while true {
                var chunkCopy: [UInt8]?
                let more = try prefetcher.nextChunk { chunk in
                    if !headDone {
                        headBuffer.append(contentsOf: chunk)
                        if headBuffer.count >= FileIngest.headSize {
                            headDone = true
                            chunkCopy = headBuffer
                        }
                    } else {
                        try process(chunk)
                    }
                }
                if let chunkCopy {
                    try start(head: chunkCopy)
                    try chunkCopy.withUnsafeBytes { try process($0) }
                }
                file.tracker.update(rawBytes: prefetcher.rawOffset, lines: lines)
                try flushIfWriterIdle()
                if !more { break }
            }
            if !headDone {
                try start(head: headBuffer)
                try headBuffer.withUnsafeBytes { try process($0) }
            }
        } catch let error as InputError {
            // Damaged input: keep what was read before it. Anything else ends the pass.
            failure = error
        }
        if !started, failure != nil, !headDone {
            // Failed before the head was complete (tiny damaged file): still record what was read.
            try start(head: headBuffer)
            try headBuffer.withUnsafeBytes { try process($0) }
        }
        return try finish(failure: failure)
    }

    /// Called once the first block is known: look up the ledger and open the ledger row.
    ///
    /// The ledger keeps, per file, the hash of its first `head_length` bytes (4 KiB, or the whole
    /// file when it was smaller). Candidates are rows whose head matches this input's first
    /// `head_length` bytes; the content check happens when the stream reaches their length.
    private func start(head: [UInt8]) throws {
        if options.format == .auto {
            // Gateway formats claim only heads they recognise (a quoted CSV header row would
            // otherwise pass for a quoted W3C record).
            if let gateway = GatewayFormats.consumer(forHead: head, path: file.path) {
                gateway.limitDates(to: file.dateWindow)
                consumer = gateway
            } else if let reason = FormatSniffer.rejectW3C(head) {
                throw UnsupportedInput(reason: reason)
            }
        }
        started = true
        // Lines that end with CR alone (no LF in the head, and CRs): CR is the terminator.
        if consumer == nil, !head.contains(0x0A), head.contains(0x0D) { splitter.terminator = 0x0D }
        headLength = min(head.count, FileIngest.headSize)
        headHashText = head.withUnsafeBytes { raw in
            var hasher = ContentHasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<headLength]))
            return hasher.fingerprint
        }
        if let writer = transaction.writer { try writer.lockHead(headHashText) }
        if let preset = presetCandidates {
            candidates = preset
        } else {
            candidates = try ledgerCandidates(head: head)
        }
        if let best = candidates.first {
            resume = best
            lineNumber = best.lines
            fileID = best.id
        } else if let writer = transaction.writer {
            fileID = try writer.insertPlaceholder(path: file.path, headHash: headHashText, headLength: headLength)
        }
        if deferred {
            candidatesBeforeLock = candidates
            self.head = head
            if let inFlight = file.inFlight {
                inFlight.heads.setHead(inFlight.index, head)
                // The run's first input, new to the ledger, takes the write lock now: it has no
                // earlier input to wait for, and its writes then overlap its own parsing while the
                // other workers parse. (Deferred to its end, the run's first write phase started
                // only once it was read, and the second worker, done reading at about the same
                // time, waited for all of it: traced on 8 × 250k lines, the first two inputs are
                // written by 0.48 s instead of 0.54 s.) An input the ledger knows stays deferred:
                // re-reading it to check its content needs no lock.
                if inFlight.index == 0, candidates.isEmpty { _ = try activeWriter() }
            }
        }
    }

    /// Ledger rows whose head matches this input's first bytes, longest first.
    private func ledgerCandidates(head: [UInt8]) throws -> [LedgerCandidate] {
        var found: [LedgerCandidate] = []
        let lengths = try db.values(
            Int.self,
            "SELECT DISTINCT head_length FROM files WHERE head_length <= ?",
            [headLength]
        )
        for length in lengths {
            let hash = head.withUnsafeBytes { raw in
                var hasher = ContentHasher()
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                return hasher.fingerprint
            }
            found += try db.rows(
                """
                SELECT id, fingerprint, bytes, lines, ends_with_newline, policy_fingerprint, policy_source,
                    read_fields, read_options
                FROM files WHERE head_length = ? AND head_hash = ? AND status != 'ingesting'
                """,
                [length, hash]
            ).map {
                LedgerCandidate(
                    id: $0[0],
                    fingerprint: $0[1],
                    bytes: $0[2],
                    lines: $0[3],
                    endsWithNewline: ($0[4] as Int64) != 0,
                    recorded: RecordedBasis(
                        policyFingerprint: $0.optional(String.self, at: 5),
                        policySource: $0.optional(String.self, at: 6),
                        fields: $0.optional(String.self, at: 7),
                        options: $0.optional(String.self, at: 8)
                    )
                )
            }
        }
        found.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.id < $1.id }
        return found
    }

    /// The input's writer: in a deferred pass, opens the transaction, checks that the ledger
    /// still holds what the pass was read against, opens the ledger row and hands over what was
    /// held in memory.
    private func activeWriter() throws -> any IngestWriter {
        if let writer = transaction.writer { return writer }
        if let inFlight = file.inFlight { inFlight.heads.waitForEarlier(inFlight.index, head: head) }
        let writer = try transaction.begin()
        try writer.lockHead(headHashText)
        try checkLedgerUnchanged()
        if fileID == 0 {
            fileID = try writer.insertPlaceholder(path: file.path, headHash: headHashText, headLength: headLength)
        }
        let held = heldEvidence
        heldEvidence = []
        heldEvidenceBytes = 0
        for batch in held { try startWriterThread(writer).submit(.evidence(batch)) }
        return writer
    }

    /// Throws ``LedgerChanged`` when the ledger rows for this head are no longer those the pass
    /// was read against (a deferred pass; a preset list only comes from a classic retry).
    private func checkLedgerUnchanged() throws {
        guard deferred, presetCandidates == nil else { return }
        let now = try ledgerCandidates(head: head)
        let same =
            now.count == candidatesBeforeLock.count
            && zip(now, candidatesBeforeLock).allSatisfy {
                $0.id == $1.id && $0.fingerprint == $1.fingerprint && $0.bytes == $1.bytes
            }
        guard same else { throw LedgerChanged() }
    }

    /// The writer thread (started on first use, or the one running): from then on it is the
    /// connection's only user until ``finishWriterThread()`` has stopped it.
    private func startWriterThread(_ writer: any IngestWriter) throws -> BackgroundWorker<WriteJob> {
        if let writerThread { return writerThread }
        let sink = try writer.makeEvidenceSink(fileID: fileID)
        let spares = spareMaps
        let handle = WorkerHandle<WriteJob>()
        let worker = BackgroundWorker<WriteJob>(name: "gatewatch-writer", capacity: 2) { job in
            switch job {
            case .evidence(let batch):
                try sink(batch)
            case .aggregates(var aggregator, var inventories):
                PhaseTrace.mark("W flush: \(aggregator.count) hourly, \(inventories.count) inventory and latency keys")
                // Evidence queued while the flush runs is written between its rows: the parser
                // fills the next batches meanwhile instead of waiting on a full queue.
                writer.betweenRows = {
                    try handle.worker?.runQueued(while: \.isEvidence) { item in
                        if case .evidence(let batch) = item { try sink(batch) }
                    }
                }
                defer { writer.betweenRows = nil }
                try writer.flush(&aggregator)
                try writer.flush(&inventories, aggregator: aggregator)
                PhaseTrace.mark("W flush written")
                spares.put(table: aggregator.table, counts: inventories.counts, latency: inventories.latency)
            }
        }
        handle.worker = worker
        writerThread = worker
        return worker
    }

    /// Processes one chunk of decompressed bytes.
    private func process(_ chunk: UnsafeRawBufferPointer) throws {
        let chunkStart = streamOffset
        let chunkEnd = chunkStart + Int64(chunk.count)
        if let resume, !resumeVerified, chunkEnd >= resume.bytes {
            var snapshot = hasher
            let cut = Int(resume.bytes - chunkStart)
            snapshot.update(UnsafeRawBufferPointer(rebasing: chunk[0..<cut]))
            guard snapshot.fingerprint == resume.fingerprint else {
                throw RestartPass(remaining: candidates.filter { $0.bytes < resume.bytes })
            }
            resumeVerified = true
        }
        // Hash up to the last line boundary, snapshot, then the rest.
        if let boundary = Self.endOfLastLine(chunk, terminator: splitter.terminator) {
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<boundary]))
            boundaryHasher = hasher
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[boundary...]))
        } else {
            hasher.update(chunk)
        }
        streamOffset = chunkEnd
        try splitter.feed(chunk) { event, lineEnd in
            try handle(event, lineEnd: lineEnd)
        }
    }

    /// The offset just past the last line terminator (``LineSplitter/terminator``) in `chunk`, if any.
    private static func endOfLastLine(_ chunk: UnsafeRawBufferPointer, terminator: UInt8) -> Int? {
        var index = chunk.count - 1
        while index >= 0 {
            if chunk[index] == terminator { return index + 1 }
            index -= 1
        }
        return nil
    }

    /// Whether a line ending at `lineEnd` was already ingested in an earlier run.
    @inline(__always)
    private func isAlreadyIngested(lineEnd: Int64, lineStart: Int64) -> Bool {
        guard let resume else { return false }
        if lineEnd <= resume.bytes { return true }
        // The earlier run ended inside this line (an unterminated last line it counted).
        return !resume.endsWithNewline && lineStart < resume.bytes
    }

    private func handle(_ event: LineSplitter.Event, lineEnd: Int64) throws {
        let lineStart: Int64
        switch event {
        case .line(let bytes): lineStart = lineEnd - Int64(bytes.count) - 1
        case .overlong(let count): lineStart = lineEnd - Int64(count) - 1
        }
        if isAlreadyIngested(lineEnd: lineEnd, lineStart: lineStart) {
            if lineEnd > (resume?.bytes ?? 0) {
                skippedContinuation += 1
            } else if case .line(let bytes) = event, bytes.first == UInt8(ascii: "#") {
                _ = parser.parse(bytes)  // rebuild the layout in effect
            }
            return
        }
        lineNumber += 1
        lines += 1
        if let consumer {
            switch event {
            case .overlong(let count):
                recordMalformed(.overlong(byteCount: count), text: nil)
            case .line(let bytes):
                count(consumer.consume(bytes, lineNumber: lineNumber), text: bytes)
                if consumer.pendingRowCount >= options.aggregateFlushThreshold {
                    let writer = try activeWriter()
                    _ = try consumer.flush(db: writer.database, fileID: fileID, final: false)
                }
            }
            return
        }
        switch event {
        case .overlong(let count):
            recordMalformed(.overlong(byteCount: count), text: nil)
        case .line(let bytes):
            switch parser.parse(bytes) {
            case .directive:
                otherLines += 1
                if bareCarriageReturnLine == 0, let carriageReturn = bytes.firstIndex(of: 0x0D),
                    carriageReturn < bytes.count - 1
                {
                    bareCarriageReturnLine = lineNumber
                }
            case .blank:
                otherLines += 1
            case .malformed(let reason):
                recordMalformed(reason, text: bytes)
            case .skipped(let service):
                skipped += 1
                addSkipReason(service.skipReason)
            case .record:
                try record()
            }
        }
    }

    /// Accounts for a line read by a gateway consumer.
    private func count(_ outcome: ConsumedLine, text: UnsafeRawBufferPointer?) {
        switch outcome {
        case .ignored, .pending:
            otherLines += 1
        case .record(let time):
            requests += 1
            if time < first { first = time }
            if time > last { last = time }
        case .skipped(let reason):
            skipped += 1
            addSkipReason(reason)
        case .malformed(let reason):
            malformedWithText(reason, text: text)
        case .malformedRecord(let reason, let startLine, let startText):
            countMalformed(reason, line: startLine) { startText }
        case .several(let outcomes):
            for outcome in outcomes { count(outcome, text: text) }
        }
    }

    private func addSkipReason(_ reason: String) {
        if skipReasons.count < 5, !skipReasons.contains(reason) { skipReasons.append(reason) }
    }

    private func malformedWithText(_ reason: String, text: UnsafeRawBufferPointer?) {
        countMalformed(reason, line: lineNumber) {
            text.map { String(decoding: UnsafeRawBufferPointer(rebasing: $0.prefix(200)), as: UTF8.self) } ?? ""
        }
    }

    /// Counts a malformed record at `line`; `sample` makes the sample text while samples are kept.
    private func countMalformed(_ reason: String, line: Int, sample: () -> String) {
        malformed += 1
        guard samples.count < options.malformedSampleLimit else { return }
        samples.append(MalformedSample(path: file.path, line: line, reason: reason, text: sample()))
    }

    private func recordMalformed(_ reason: MalformedReason, text: UnsafeRawBufferPointer?) {
        malformedWithText(reason.description, text: text)
    }

    private func record() throws {
        guard parser.hasColumn(.clientIP) else {
            skipped += 1
            noClientColumn += 1
            return
        }
        let timestamp = parser.timestamp
        let clientBytes = parser.field(.clientIP)
        // D5: a c-ip with a port (`a.b.c.d:port`, `[v6]:port`) is its address; the port forms
        // are tried only when the plain parse fails.
        let peer = clientBytes.flatMap { IPAddress(endpoint: $0) }
        let address: IPAddress?
        if options.clientAddress == .clientIP {
            address = peer
        } else {
            if !parser.hasColumn(.forwardedFor) { noForwardedColumn += 1 }
            var fellBack = false
            address = file.ingestor.resolver.resolve(
                peer: peer,
                forwardedFor: parser.field(.forwardedFor),
                fellBack: &fellBack
            )
            if fellBack { forwardedForFallbacks += 1 }
        }
        if address == nil { invalidAddresses += 1 }
        // `-` is absent, not 0: a request without a status is neither blocked nor served. It is
        // stored with status 0 (no HTTP status is 0) and no outcome; an absent sub-status reads as 0.
        let loggedStatus = parser.number(.status).map { Int32(clamping: $0) }
        let status = loggedStatus ?? 0
        let substatus = Int32(clamping: parser.number(.substatus) ?? 0)
        let userAgent = parser.field(.userAgent)
        // Platform traffic by the rules is a fact of every request, gateway traffic too: a later
        // policy without that gateway judges it from the stored facts (Judgement/).
        let isPlatform = file.ingestor.platform.matches(address: address, userAgent: userAgent)
        let decision = classifier.classify(
            address: address,
            isPlatform: isPlatform,
            status: loggedStatus,
            substatus: substatus,
            loggedIISVersion: parser.loggedIISVersion,
            userAgent: userAgent,
            parser: parser
        )
        if loggedStatus == nil, decision.verdict == .direct { noStatus += 1 }
        requests += 1
        if timestamp < first { first = timestamp }
        if timestamp > last { last = timestamp }
        verdictTally[Int(decision.verdict.code)] += 1
        if decision.verdict == .direct {
            if decision.outcome == .blocked { blockedCount += 1 }
            if decision.outcome == .served { servedCount += 1 }
        } else if decision.verdict == .platform, decision.outcome != .none {
            platformDeniedCount += 1
        }
        let siteID = aggregator.siteID(parser.field(.siteName))
        let invalidID = address == nil ? aggregator.invalidAddressID(clientBytes) : 0
        let factsID = factReader.read(parser, isPlatform: isPlatform, userAgent: userAgent, into: &aggregator.facts)
        if Int(decision.decision) >= aggregator.rules.count { aggregator.rules = classifier.rules }
        let key = AggregateKey(
            hour: timestamp - timestamp % 3600,
            site: siteID,
            address: address ?? IPAddress(high: 0, low: 0),
            invalidAddress: invalidID,
            verdict: decision.verdict,
            outcome: decision.outcome,
            status: status,
            substatus: substatus,
            facts: factsID,
            decision: decision.decision
        )
        // Absent sizes and times add nothing to the sums, and no latency sample.
        let timeTaken = parser.number(.timeTaken)
        aggregator.add(key, bytes: parser.number(.bytesSent) ?? 0, timeTaken: timeTaken ?? 0, time: timestamp)
        let day = Int32(truncatingIfNeeded: timestamp >= 0 ? timestamp / 86_400 : (timestamp - 86_399) / 86_400)
        let stem = parser.field(.uriStem)
        if let timeTaken {
            inventories.addLatency(
                day: day,
                site: siteID,
                endpoint: stem.map { inventories.templateID($0) },
                verdictCode: decision.verdict.code,
                milliseconds: timeTaken
            )
        }
        if decision.verdict != .gateway {
            inventories.addInventory(
                day: day,
                address: key.address,
                invalidAddress: invalidID,
                endpoint: stem.map { inventories.endpoints.id($0) },
                method: parser.field(.method),
                userAgent: userAgent
            )
        }
        if decision.verdict == .direct {
            evidence.rows.append(
                EvidenceBatch.Row(
                    time: timestamp,
                    line: Int64(lineNumber),
                    status: status,
                    substatus: substatus,
                    verdictCode: decision.verdict.code,
                    outcomeCode: decision.outcome.code
                )
            )
            evidence.append(aggregator.siteName(siteID))
            evidence.appendAddress(key.address, invalid: invalidID, aggregator)
            evidence.setLastKeyID(aggregator, key)
            evidence.append(parser.field(.forwardedFor))
            evidence.append(parser.field(.method))
            evidence.append(stem)
            evidence.append(parser.field(.uriQuery))
            evidence.append(userAgent)
            evidence.append(parser.field(.host))
            evidence.append(classifier.ruleText(decision))
            if evidence.isFull { try submitEvidence() }
        } else if decision.verdict == .gateway, options.keepGatewayRequests || parser.hasColumn(.requestID) {
            gatewayRequests.rows.append(
                EvidenceBatch.Row(
                    time: timestamp,
                    line: Int64(lineNumber),
                    status: status,
                    substatus: substatus,
                    verdictCode: 0,
                    outcomeCode: 0
                )
            )
            gatewayRequests.append(aggregator.siteName(siteID))
            gatewayRequests.appendAddress(key.address, invalid: invalidID, aggregator)
            gatewayRequests.append(parser.field(.method) ?? Self.emptyBytes)
            gatewayRequests.append(stem ?? Self.emptyBytes)
            let requestID = parser.field(.requestID)
            gatewayRequests.append(requestID)
            if requestID != nil, let name = parser.currentLayout.requestIDFieldName {
                gatewayRequests.append(name)
            } else {
                gatewayRequests.append(nil as UnsafeRawBufferPointer?)
            }
            if gatewayRequests.isFull { try submitEvidence() }
        }
        let held = aggregator.count + inventories.count
        if held >= flushThreshold, transaction.isOpen || held >= Self.deferredAggregateLimit {
            try handFlush(to: try startWriterThread(try activeWriter()))
        }
    }

    /// Hands the aggregates held to the writer thread, which writes them while parsing goes on.
    ///
    /// One flush at a time: the previous one (and the evidence before it) is done before this one
    /// is handed over, so at most two sets of aggregates are held.
    private func handFlush(to worker: BackgroundWorker<WriteJob>) throws {
        PhaseTrace.mark("M waits for the writer")
        try worker.waitIdle()
        PhaseTrace.mark("M hands a flush over")
        let spare = spareMaps.take()
        try worker.submit(
            .aggregates(
                aggregator.detachTable(reusing: spare?.table),
                inventories.detachCounts(reusing: spare.map { ($0.counts, $0.latency) })
            )
        )
    }

    /// Hands the aggregates held to the writer whenever it is idle, from an eighth of a flush up.
    ///
    /// Checked once per chunk. The writer is the busier thread (SQLite's B-tree work), so it is
    /// kept busy from the start: with flushes only at the full size it sat idle but for the
    /// evidence until the first one (~180 ms into 1M lines). And the last flush, which comes after
    /// parsing with nothing to overlap it, holds only the keys since the writer was last idle. On
    /// 1M lines, 11 interleaved runs: median 0.82 → 0.78 s (best 0.75 → 0.72 s), about 0.05 s
    /// more CPU (more flushes, so more keys written twice); on 5M lines 4.44 → 4.32 s (median of
    /// 5), about 0.25 s more CPU. Before, this applied only past 85 % of an input.
    ///
    /// Only with a core for the writer beside the parser (on one core the early flush overlaps
    /// nothing and only writes the keys it splits twice), and only on SQLite: PostgreSQL stages
    /// each key about once and merges them all at the end of the input.
    ///
    /// The writer thread is started here when no evidence has started it: an input with few or no
    /// direct requests (the common case once clients use the gateway) otherwise wrote nothing until
    /// the first full flush, then waited for it after its last line (1M lines of gateway traffic:
    /// parsed at 0.55 s, written at 0.71 s).
    private func flushIfWriterIdle() throws {
        guard IngestOptions.usableCores > 1, db.dialect == .sqlite, transaction.isOpen,
            aggregator.count + inventories.count >= flushThreshold / 8
        else { return }
        let worker = try startWriterThread(try activeWriter())
        guard worker.isIdle else { return }
        try handFlush(to: worker)
    }

    /// Hands the pending evidence rows to the writer thread (started on first use).
    private func submitEvidence() throws {
        guard evidence.count > 0 || gatewayRequests.count > 0 else { return }
        if !transaction.isOpen, heldEvidenceBytes < Self.deferredEvidenceLimit {
            for batch in [evidence, gatewayRequests] where batch.count > 0 {
                heldEvidence.append(batch)
                heldEvidenceBytes += batch.arenaBytes + batch.count * 64
            }
            evidence = EvidenceBatch()
            gatewayRequests = EvidenceBatch(kind: .gatewayRequests)
            return
        }
        let worker = try startWriterThread(try activeWriter())
        if evidence.count > 0 {
            try worker.submit(.evidence(evidence))
            evidence = EvidenceBatch()
        }
        if gatewayRequests.count > 0 {
            try worker.submit(.evidence(gatewayRequests))
            gatewayRequests = EvidenceBatch(kind: .gatewayRequests)
        }
    }

    private static var emptyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Writes the remaining evidence and stops the writer thread.
    private func finishWriterThread() throws {
        try submitEvidence()
        if !heldEvidence.isEmpty { _ = try activeWriter() }
        try writerThread?.finish()
        writerThread = nil
    }

    /// Whether a plain file's unterminated last line is visibly cut short (a writer in the middle
    /// of it): a W3C record with fewer values than `#Fields` declares, or a gateway record its
    /// consumer calls unfinished (``RecordConsumer/leavesUnterminatedLine(_:)``).
    ///
    /// Such a line is left for the next run, as follow mode does, instead of being counted as
    /// malformed now and its rest skipped once the file has grown. An unterminated last line that
    /// reads as a whole record is a line (many files end without a newline).
    private func partialLineIsCut() -> Bool {
        if let consumer {
            guard splitter.withPartialLine({ consumer.leavesUnterminatedLine($0) }) == true else { return false }
            warnings.append(
                "the last line is an unterminated record cut short: left for the next run, once the file has grown"
            )
            return true
        }
        let verdict: (Bool, String)? = splitter.withPartialLine { bytes in
            if case .malformed(.fieldCount(let expected, let found)) = parser.parse(bytes), found < expected {
                return (true, "\(found) of the \(expected) values")
            }
            return (false, "")
        }
        guard let (cut, what) = verdict, cut else { return false }
        warnings.append(
            "the last line is unterminated and cut short (\(what)): left for the next run, once the file has grown"
        )
        return true
    }

    /// Finishes the pass: final line, ledger row, aggregates; decides commit or rollback.
    private func finish(failure: (any Error)?) throws -> (FileReport, Bool) {
        let holdsPartialLine =
            failure == nil && !source.isGzip && file.path != "-" && splitter.hasPartialLine
            && (options.holdPartialLastLine || partialLineIsCut())
        if failure == nil, !holdsPartialLine {
            // The input is complete: an unterminated last line is a line.
            try splitter.finish { event, lineEnd in try handle(event, lineEnd: lineEnd) }
        } else if splitter.hasPartialLine {
            if failure != nil { warnings.append("an incomplete line at the point of failure was not counted") }
            splitter.discardPartialLine()
        }
        let upToBoundary = failure != nil || holdsPartialLine
        let consumedBytes = upToBoundary ? boundaryHasher.byteCount : hasher.byteCount
        let fingerprint = upToBoundary ? boundaryHasher.fingerprint : hasher.fingerprint
        let endsWithNewline = upToBoundary || hasher.byteCount == boundaryHasher.byteCount
        if let resume {
            guard resumeVerified || resume.bytes == 0 else {
                // The input ended before the candidate's length: not the same file.
                throw RestartPass(remaining: candidates.filter { $0.bytes < resume.bytes })
            }
            if consumedBytes <= resume.bytes {
                // Nothing new: nothing to write (a deferred pass never takes the write lock). In
                // a parallel run, only once the earlier inputs that share this head are written
                // and the ledger still says so, as it would have in a sequential run.
                if transaction.writer == nil, let inFlight = file.inFlight {
                    inFlight.heads.waitForEarlier(inFlight.index, head: head)
                    try checkLedgerUnchanged()
                }
                return (knownReport(fileReportBase()), false)
            }
        }
        let differences = resume.map { basisDifferences(from: $0.recorded) } ?? []
        PhaseTrace.mark("M \(file.path): parsed \(lines) lines")
        let lockedBefore = transaction.isOpen
        let writer = try activeWriter()
        if !lockedBefore { PhaseTrace.mark("M \(file.path): write lock taken, held evidence written") }
        // Before any other use of the connection: the writer thread must be done with it.
        try finishWriterThread()
        PhaseTrace.mark("M writer thread done")
        if let consumer, let leftOver = try consumer.flush(db: writer.database, fileID: fileID, final: true) {
            count(leftOver, text: nil)  // a record left open at the end of the input
        }
        var report = fileReportBase()
        if let resume {
            report.status = failure == nil ? .grown : .failed
            warnings.append("resumed after line \(resume.lines) (byte \(resume.bytes)), ingested earlier")
            if !differences.isEmpty {
                report.readUnderOtherSettings = true
                warnings.append(Self.basisWarning(differences, grown: true))
            }
        } else {
            // The same content read from standard input, or under a head seen differently.
            let existing = try db.value(
                Int64.self,
                "SELECT id FROM files WHERE fingerprint = ? AND id != ?",
                [fingerprint, fileID]
            )
            if existing != nil {
                return (knownReport(report), false)
            }
            report.status = failure == nil ? .new : .failed
        }
        if skippedContinuation > 0 {
            warnings.append("the rest of a line that an earlier run read unterminated was skipped")
        }
        if noClientColumn > 0 {
            warnings.append("\(noClientColumn) records skipped: their #Fields layout has no c-ip column")
        }
        if noForwardedColumn > 0 {
            warnings.append(
                "\(noForwardedColumn) requests read with c-ip: their #Fields layout has no X-Forwarded-For column"
            )
        }
        if invalidAddresses > 0 {
            warnings.append("\(invalidAddresses) requests have a client address that is not an IP address")
        }
        if forwardedForFallbacks > 0 {
            warnings.append(
                "\(forwardedForFallbacks) requests read with c-ip: their X-Forwarded-For holds no IP address"
                    + " (--client-ip \(options.clientAddress.rawValue))"
            )
        }
        if noStatus > 0 {
            warnings.append(
                "\(noStatus) direct requests have no sc-status (-): whether they were blocked or served cannot be"
                    + " told, so they are counted as direct with neither outcome"
            )
        }
        if lines == 0, resume == nil {
            warnings.append("empty input: it holds no lines")
        }
        if bareCarriageReturnLine > 0 {
            warnings.append(
                "line \(bareCarriageReturnLine): a directive goes on after a carriage return; lines that end with CR"
                    + " alone are not line breaks here (convert the file to CRLF or LF)"
            )
        }
        if consumer == nil, !parser.sawFieldsDirective, requests + malformed > 0 {
            let names = parser.fallbackLayout.names.count
            warnings.append(
                parser.fallbackLayout == .iisDefault
                    ? "no #Fields directive: read with IIS's default \(names)-column layout (pass --fields to name another)"
                    : "no #Fields directive: read with the \(names)-column layout given by --fields"
            )
        }
        if consumer == nil, parser.readLocalTime {
            warnings.append(
                "records dated by date-local/time-local (the server's local time, its offset not logged) are"
                    + " stored as if that time were UTC"
            )
        }
        for reason in skipReasons { warnings.append("records skipped: \(reason)") }
        PhaseTrace.mark("M last flush: \(aggregator.count) hourly, \(inventories.count) inventory and latency keys")
        try writer.flush(&aggregator)
        try writer.flush(&inventories, aggregator: aggregator)
        try writer.finishInput()
        PhaseTrace.mark("M last flush written")
        try writer.updateLedger(
            id: fileID,
            fingerprint: fingerprint,
            headHash: headHashText,
            headLength: headLength,
            path: file.path,
            format: consumer?.formatName ?? "w3c",
            compressed: source.isGzip,
            bytes: consumedBytes,
            lines: (resume?.lines ?? 0) + lines,
            requests: requests,
            skipped: skipped,
            malformed: malformed,
            endsWithNewline: endsWithNewline,
            first: first == Int64.max ? nil : first,
            last: last == Int64.min ? nil : last,
            status: failure == nil ? "complete" : "error",
            error: failure.map { "\($0)" }
        )
        try writer.recordBasis(id: fileID, recordedBasis())
        for sample in samples {
            try writer.insertMalformed(fileID: fileID, line: sample.line, reason: sample.reason, text: sample.text)
        }
        report.error = failure.map { "\($0)" }
        report.warnings = warnings
        return (report, true)
    }

    private func knownReport(_ base: FileReport) -> FileReport {
        var report = base
        report.status = .known
        let differences = resume.map { basisDifferences(from: $0.recorded) } ?? []
        if !differences.isEmpty {
            report.readUnderOtherSettings = true
            report.warnings = [Self.basisWarning(differences, grown: false)]
        }
        report.lines = 0
        report.requests = 0
        report.skipped = 0
        report.malformed = 0
        report.otherLines = 0
        report.bytes = 0
        report.first = nil
        report.last = nil
        return report
    }

    /// How the settings a ledger row was read under differ from this run's (nothing for gateway
    /// logs, which no allowlist or `--fields` applies to).
    private func basisDifferences(from recorded: RecordedBasis) -> [String] {
        guard consumer == nil else { return [] }
        return file.ingestor.basis.differences(from: recorded)
    }

    static func basisWarning(_ differences: [String], grown: Bool) -> String {
        (grown ? "its earlier lines were" : "it was") + " read under other settings ("
            + differences.joined(separator: "; ") + "): what the store holds for "
            + (grown ? "them" : "it") + " was read and judged under those, not this run's; "
            + "run the same command with --reingest to replace its rows"
    }

    /// What the ledger row records: this run's settings, or `mixed` where a grown file's earlier
    /// lines were read under others; `nil` (unknown) where they are unknown, and for gateway logs.
    private func recordedBasis() -> RecordedBasis {
        guard consumer == nil else { return RecordedBasis() }
        let current = file.ingestor.basis
        let fields = parser.sawFieldsDirective ? ReadingBasis.fieldsFromDirective : current.fields
        guard let earlier = resume?.recorded else {
            return RecordedBasis(
                policyFingerprint: current.policyFingerprint,
                policySource: current.policySource,
                fields: fields,
                options: current.options
            )
        }
        func merged(_ old: String?, _ new: String) -> String? {
            guard let old else { return nil }
            return old == new ? new : ReadingBasis.mixed
        }
        var result = RecordedBasis(
            policyFingerprint: merged(earlier.policyFingerprint, current.policyFingerprint),
            policySource: earlier.policySource,
            fields: earlier.fields == ReadingBasis.fieldsFromDirective ? fields : merged(earlier.fields, fields),
            options: merged(earlier.options, current.options)
        )
        if result.policyFingerprint == ReadingBasis.mixed, let old = earlier.policySource {
            result.policySource = "mixed: \(old), then \(current.policySource)"
        }
        return result
    }

    private func fileReportBase() -> FileReport {
        FileReport(
            path: file.path,
            status: .new,
            format: consumer?.formatName ?? "w3c",
            compressed: source.isGzip,
            lines: lines,
            requests: requests,
            skipped: skipped,
            malformed: malformed,
            otherLines: otherLines,
            bytes: streamOffset - (resume?.bytes ?? 0),
            rawBytes: source.rawOffset,
            first: first == Int64.max ? nil : UTCTime.format(first),
            last: last == Int64.min ? nil : UTCTime.format(last),
            error: nil,
            warnings: []
        )
    }
}

/// Emptied aggregate maps handed back by the writer thread, filled again by the parser: the two
/// sets of maps take turns, with no fresh allocation (and no fresh pages to fault in) per flush.
///
/// `@unchecked Sendable`: the fields are touched only while `lock` is held.
final class SpareMaps: @unchecked Sendable {
    typealias Maps = (
        table: FlatMap<AggregateKey, AggregateValue>,
        counts: FlatMap<Inventories.Key, Int64>,
        latency: FlatMap<Inventories.LatencyKey, Int64>
    )
    private let lock = NSLock()
    private var maps: Maps?

    func put(
        table: FlatMap<AggregateKey, AggregateValue>,
        counts: FlatMap<Inventories.Key, Int64>,
        latency: FlatMap<Inventories.LatencyKey, Int64>
    ) {
        lock.lock()
        maps = (table, counts, latency)
        lock.unlock()
    }

    func take() -> Maps? {
        lock.lock()
        defer { lock.unlock() }
        let taken = maps
        maps = nil
        return taken
    }
}
