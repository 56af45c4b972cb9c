import Foundation

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
    /// Whether direct requests become evidence rows at all (not under `--evidence none`).
    let keepsEvidence: Bool
    /// The input's evidence sample; `nil` when every row is kept (`--evidence all`) or none.
    var sampler: EvidenceSampler?
    /// The latest request of each sampled group past the cap, written at the end of the input.
    var heldLatest = EvidenceBatch()
    /// Whether the store held evidence rows when this input's writer started (`nil` until then):
    /// on SQLite, an input writing to a store without any needs no trim.
    var storeHeldEvidence: Bool?
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
    var held = HeldEvidence()
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
    var counts = LineCounts()
    var anomalies = ReadAnomalies()
    var times = TimeBounds()
    var samples: [MalformedSample] = []
    var tally = VerdictTally()
    var warnings: [String] = []
    var headHashText = ""
    var headLength = 0
    var streamOffset: Int64 = 0

    /// A deferred pass holds up to this many aggregate rows, and this many bytes of evidence,
    /// before it takes the write lock and writes as it goes.
    static let deferredAggregateLimit = 400_000
    /// Aggregate rows held before a flush: the run's setting, raised to the engine's
    /// ``SQLDatabase/minimumFlushRows``.
    let flushThreshold: Int
    static let deferredEvidenceLimit = 48 << 20

    init(file: FileIngest, transaction: PassTransaction, source: ByteSource, presetCandidates: [LedgerCandidate]?) {
        self.file = file
        self.transaction = transaction
        deferred = !transaction.isOpen
        db = transaction.database
        let threshold = file.ingestor.options.aggregateFlushThreshold
        flushThreshold = transaction.database.minimumFlushRows.map { max(threshold, $0) } ?? threshold
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
        keepsEvidence = options.evidence != .none
        if case .sample = options.evidence { sampler = EvidenceSampler(mode: options.evidence) }
    }

    /// Reads the input: the report and whether to commit, or why to read it again.
    func run() throws -> PassResult {
        do {
            return try read()
        } catch let interruption as PassInterruption {
            return interruption.result
        }
    }

    func read() throws -> PassResult {
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
                file.tracker.update(rawBytes: prefetcher.rawOffset, lines: counts.lines)
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
    func start(head: [UInt8]) throws {
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
            candidates = try Ledger(db).candidates(head: head, headLength: headLength)
        }
        if let best = candidates.first {
            resume = best
            lineNumber = best.lines
            fileID = best.id
        } else if let writer = transaction.writer {
            fileID = try Ledger(writer.database).insertPlaceholder(
                path: file.path,
                headHash: headHashText,
                headLength: headLength,
                source: writer.source
            )
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

    /// Processes one chunk of decompressed bytes.
    func process(_ chunk: UnsafeRawBufferPointer) throws {
        let chunkStart = streamOffset
        let chunkEnd = chunkStart + Int64(chunk.count)
        if let resume, !resumeVerified, chunkEnd >= resume.bytes {
            var snapshot = hasher
            let cut = Int(resume.bytes - chunkStart)
            snapshot.update(UnsafeRawBufferPointer(rebasing: chunk[0..<cut]))
            guard snapshot.fingerprint == resume.fingerprint else {
                throw PassInterruption(result: .restart(remaining: candidates.filter { $0.bytes < resume.bytes }))
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
    static func endOfLastLine(_ chunk: UnsafeRawBufferPointer, terminator: UInt8) -> Int? {
        var index = chunk.count - 1
        while index >= 0 {
            if chunk[index] == terminator { return index + 1 }
            index -= 1
        }
        return nil
    }

    /// Whether a line ending at `lineEnd` was already ingested in an earlier run.
    @inline(__always)
    func isAlreadyIngested(lineEnd: Int64, lineStart: Int64) -> Bool {
        guard let resume else { return false }
        if lineEnd <= resume.bytes { return true }
        // The earlier run ended inside this line (an unterminated last line it counted).
        return !resume.endsWithNewline && lineStart < resume.bytes
    }

    func handle(_ event: LineSplitter.Event, lineEnd: Int64) throws {
        let lineStart: Int64
        switch event {
        case .line(let bytes): lineStart = lineEnd - Int64(bytes.count) - 1
        case .overlong(let count): lineStart = lineEnd - Int64(count) - 1
        }
        if isAlreadyIngested(lineEnd: lineEnd, lineStart: lineStart) {
            if lineEnd > (resume?.bytes ?? 0) {
                anomalies.skippedContinuation += 1
            } else if case .line(let bytes) = event, bytes.first == UInt8(ascii: "#") {
                _ = parser.parse(bytes)  // rebuild the layout in effect
            }
            return
        }
        lineNumber += 1
        counts.lines += 1
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
                counts.otherLines += 1
                if anomalies.bareCarriageReturnLine == 0, let carriageReturn = bytes.firstIndex(of: 0x0D),
                    carriageReturn < bytes.count - 1
                {
                    anomalies.bareCarriageReturnLine = lineNumber
                }
            case .blank:
                counts.otherLines += 1
            case .malformed(let reason):
                recordMalformed(reason, text: bytes)
            case .skipped(let service):
                counts.skipped += 1
                anomalies.addSkipReason(service.skipReason)
            case .record:
                try record()
            }
        }
    }

    /// Accounts for a line read by a gateway consumer.
    func count(_ outcome: ConsumedLine, text: UnsafeRawBufferPointer?) {
        switch outcome {
        case .ignored, .pending:
            counts.otherLines += 1
        case .record(let time):
            counts.requests += 1
            times.include(time)
        case .skipped(let reason):
            counts.skipped += 1
            anomalies.addSkipReason(reason)
        case .malformed(let reason):
            malformedWithText(reason, text: text)
        case .malformedRecord(let reason, let startLine, let startText):
            countMalformed(reason, line: startLine) { startText }
        case .several(let outcomes):
            for outcome in outcomes { count(outcome, text: text) }
        }
    }

    func malformedWithText(_ reason: String, text: UnsafeRawBufferPointer?) {
        countMalformed(reason, line: lineNumber) {
            text.map { String(decoding: UnsafeRawBufferPointer(rebasing: $0.prefix(200)), as: UTF8.self) } ?? ""
        }
    }

    /// Counts a malformed record at `line`; `sample` makes the sample text while samples are kept.
    func countMalformed(_ reason: String, line: Int, sample: () -> String) {
        counts.malformed += 1
        guard samples.count < options.malformedSampleLimit else { return }
        samples.append(MalformedSample(path: file.path, line: line, reason: reason, text: sample()))
    }

    func recordMalformed(_ reason: MalformedReason, text: UnsafeRawBufferPointer?) {
        malformedWithText(reason.description, text: text)
    }
}
