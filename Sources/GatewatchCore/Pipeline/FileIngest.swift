import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How one pass over an input ended: with a report, or with the reason to read it again.
enum PassResult {
    /// The pass is done; `commit` says whether its transaction is kept.
    case done(FileReport, commit: Bool)
    /// The head matched a known file but the content did not: read again, resuming at one of
    /// `remaining` (or from the start).
    case restart(remaining: [LedgerCandidate])
    /// A deferred pass found, once it took the write lock, that the ledger entries for its head
    /// were no longer those it parsed against: read again under the lock.
    case ledgerChanged
    /// A PostgreSQL transaction lost a race (deadlock, unique key taken by another ingester):
    /// read the input again from the start.
    case retry(SQLError)
}

/// Thrown inside a pass when the input is not a format this run reads.
struct UnsupportedInput: Error {
    var reason: String
}

/// The ingest of one input: one transaction.
final class FileIngest {
    let ingestor: Ingestor
    let path: String
    /// What the input is read from: `path`, or for standard input (`-`) a copy of it spooled to
    /// a temporary file (``StandardInputSpool``).
    private(set) var sourcePath: String
    let tracker: ProgressTracker
    var samples: [MalformedSample] = []
    /// The requests by verdict, once a pass is committed.
    var tally: VerdictTally?
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
                sourcePath = try StandardInputSpool.spool()
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
            switch try runPass(candidates: candidates) {
            case .done(let report, _):
                return report
            case .restart(let remaining):
                // The head matched a known file but the content did not: try the next candidate,
                // and after a few attempts read the file from the start. The candidates were read
                // without the lock: in a parallel run, go on in the classic way (lock first).
                candidates = attempts < 4 ? remaining : []
                deferred = false
            case .ledgerChanged:
                // Another worker wrote a ledger entry for this head while this one parsed: read
                // the input again under the lock, as a sequential run would.
                deferred = false
                candidates = nil
            case .retry(let error):
                transientFailures += 1
                guard transientFailures <= 8 else {
                    throw StoreError.writeFailed(path: ingestor.store.path, message: error.message)
                }
                usleep(UInt32(20_000 * transientFailures))
            }
        }
    }

    private func blankReport(status: FileStatus) -> FileReport {
        FileReport(path: path, status: status)
    }

    /// One pass over the input inside one transaction.
    private func runPass(candidates preset: [LedgerCandidate]?) throws -> PassResult {
        let source: ByteSource
        do {
            source = try ByteSource(path: sourcePath)
        } catch {
            var report = blankReport(status: .failed)
            report.error = "\(error)"
            return .done(report, commit: false)
        }
        var result: PassResult?
        if !deferred, let inFlight {
            // Read again under the lock: after every earlier input, as a sequential run would.
            inFlight.heads.waitForAllEarlier(inFlight.index)
        }
        do {
            try session.withTransaction(deferred: deferred) { transaction in
                let pass = PassState(file: self, transaction: transaction, source: source, presetCandidates: preset)
                let outcome = try pass.run()
                result = outcome
                guard case .done(_, let commit) = outcome else { return false }
                if commit {
                    tally = pass.tally
                    samples = pass.samples
                    loggedIISVersions = pass.parser.loggedIISVersions
                }
                PhaseTrace.mark("M \(self.path): ends its transaction")
                return commit
            }
            if case .done = result { PhaseTrace.mark("M \(path): transaction ended") }
        } catch let unsupported as UnsupportedInput {
            var report = blankReport(status: .unsupported)
            report.compressed = source.isGzip
            report.rawBytes = source.rawOffset
            report.error = "'\(path)' is not a W3C log (\(unsupported.reason)); pass --format w3c to read it anyway"
            return .done(report, commit: false)
        } catch let error as SQLError where error.isTransient || error.kind == .uniqueViolation {
            // PostgreSQL: another ingester won a race on the same rows or ledger entry; rerun the
            // input, which now sees the winner's ledger row. (Not standard input: it cannot be
            // read twice; that input fails instead.)
            return .retry(error)
        } catch let error as DatabaseError {
            throw StoreError.writeFailed(path: ingestor.store.path, message: error.message ?? "\(error.resultCode)")
        } catch let error as SQLError {
            throw StoreError.writeFailed(path: ingestor.store.path, message: error.message)
        }
        guard let result else { preconditionFailure("a pass either returns a result or throws") }
        return result
    }
}
