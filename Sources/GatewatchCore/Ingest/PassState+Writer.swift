import Foundation

extension PassState {
    /// The input's writer: in a deferred pass, opens the transaction, checks that the ledger
    /// still holds what the pass was read against, opens the ledger row and hands over what was
    /// held in memory.
    func activeWriter() throws -> any IngestWriter {
        if let writer = transaction.writer { return writer }
        if let inFlight = file.inFlight { inFlight.heads.waitForEarlier(inFlight.index, head: head) }
        let writer = try transaction.begin()
        try writer.lockHead(headHashText)
        try checkLedgerUnchanged()
        if fileID == 0 {
            fileID = try Ledger(writer.database).insertPlaceholder(
                path: file.path,
                headHash: headHashText,
                headLength: headLength,
                source: writer.source
            )
        }
        for batch in held.takeAll() { try startWriterThread(writer).submit(.evidence(batch)) }
        return writer
    }

    /// Ends the pass with ``PassResult/ledgerChanged`` when the ledger rows for this head are no
    /// longer those the pass was read against (a deferred pass; a preset list only comes from a
    /// classic retry).
    func checkLedgerUnchanged() throws {
        guard deferred, presetCandidates == nil else { return }
        let now = try Ledger(db).candidates(head: head, headLength: headLength)
        let same =
            now.count == candidatesBeforeLock.count
            && zip(now, candidatesBeforeLock).allSatisfy {
                $0.id == $1.id && $0.fingerprint == $1.fingerprint && $0.bytes == $1.bytes
            }
        guard same else { throw PassInterruption(result: .ledgerChanged) }
    }

    /// The writer thread (started on first use, or the one running): from then on it is the
    /// connection's only user until ``finishWriterThread()`` has stopped it.
    func startWriterThread(_ writer: any IngestWriter) throws -> BackgroundWorker<WriteJob> {
        if let writerThread { return writerThread }
        if sampler != nil, storeHeldEvidence == nil {
            storeHeldEvidence = try writer.database.value(Int64.self, "SELECT max(id) FROM evidence_rows") != nil
        }
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

    /// Hands the aggregates held to the writer thread, which writes them while parsing goes on.
    ///
    /// One flush at a time: the previous one (and the evidence before it) is done before this one
    /// is handed over, so at most two sets of aggregates are held.
    func handFlush(to worker: BackgroundWorker<WriteJob>) throws {
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
    func flushIfWriterIdle() throws {
        guard IngestOptions.usableCores > 1, db.prefersEarlyFlushes, transaction.isOpen,
            aggregator.count + inventories.count >= flushThreshold / 8
        else { return }
        let worker = try startWriterThread(try activeWriter())
        guard worker.isIdle else { return }
        try handFlush(to: worker)
    }

    /// Hands the pending evidence rows to the writer thread (started on first use).
    func submitEvidence() throws {
        guard evidence.count > 0 || gatewayRequests.count > 0 else { return }
        if !transaction.isOpen, held.bytes < Self.deferredEvidenceLimit {
            for batch in [evidence, gatewayRequests] where batch.count > 0 { held.hold(batch) }
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

    /// Applies the evidence cap across inputs (``EvidenceTrim``) to the groups this input wrote
    /// to; nothing to do on SQLite when the store held no evidence before this input (its own rows
    /// are capped already).
    func trimEvidence(_ database: any SQLDatabase) throws {
        guard let sampler, !sampler.groups.isEmpty else { return }
        if database.dialect == .sqlite, storeHeldEvidence != true { return }
        var dayTexts: [Int32: String] = [:]
        let groups = sampler.groups.keys.map { group in
            let day =
                dayTexts[group.day]
                ?? {
                    let text = String(UTCTime.format(Int64(group.day) * 86_400).prefix(10))
                    dayTexts[group.day] = text
                    return text
                }()
            return (
                address: aggregator.addressText(group.address, invalid: group.invalidAddress),
                outcome: Outcome.allCases.first { $0.code == group.outcomeCode }?.rawValue ?? "",
                day: day
            )
        }
        let deleted = try EvidenceTrim.trim(groups, cap: Int(sampler.cap), in: database)
        PhaseTrace.mark("M evidence trimmed: \(groups.count) groups, \(deleted) rows")
    }

    static var emptyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Writes the remaining evidence and stops the writer thread.
    func finishWriterThread() throws {
        try submitEvidence()
        if heldLatest.count > 0 {
            let latest = heldLatest.compacted()
            heldLatest = EvidenceBatch()
            try startWriterThread(try activeWriter()).submit(.evidence(latest))
        }
        if !held.isEmpty { _ = try activeWriter() }
        try writerThread?.finish()
        writerThread = nil
    }
}

/// Emptied aggregate maps handed back by the writer thread, filled again by the parser: the two
/// sets of maps take turns, with no fresh allocation (and no fresh pages to fault in) per flush.
///
/// `@unchecked Sendable`: the fields are touched only while `lock` is held.
final class SpareMaps: @unchecked Sendable {
    typealias Maps = (
        table: FlatMap<AggregateKey, AggregateValue>,
        counts: FlatMap<Inventories.Key, Inventories.Count>,
        latency: FlatMap<Inventories.LatencyKey, Int64>
    )
    private let lock = NSLock()
    private var maps: Maps?

    func put(
        table: FlatMap<AggregateKey, AggregateValue>,
        counts: FlatMap<Inventories.Key, Inventories.Count>,
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
