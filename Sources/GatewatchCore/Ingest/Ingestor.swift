import CMalloc
import Foundation

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
    /// Which direct requests become `evidence` rows (`--evidence`, `evidence:`): by default a
    /// bounded sample; the aggregates count every request either way.
    public var evidence: EvidenceMode = .default
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
                if let tally = file.tally {
                    for (verdict, count) in tally.counts { report.byVerdict[verdict.rawValue, default: 0] += count }
                    report.blocked += tally.blocked
                    report.served += tally.served
                    report.platformDenied += tally.platformDenied
                }
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

}
