import Foundation

extension Ingestor {
    /// Runs `workers` threads, each with its own connection, taking the next input in turn.
    func ingestInParallel(
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
