import Foundation

/// Reads a ``ByteSource`` ahead on its own thread, so decompression runs in parallel with parsing.
///
/// The reader thread inflates chunks into buffers of their own (no copy: see
/// ``ByteSource/nextChunk(into:)``) and queues up to `depth` of them; the
/// consumer takes them in order with ``nextChunk(_:)``, which has the same contract as
/// ``ByteSource/nextChunk(_:)``: the error that ended the source is thrown after every chunk read
/// before it has been delivered.
///
/// `@unchecked Sendable`: the queue and flags are touched only while `condition` is locked; the
/// source is used by the reader thread alone until `finished` is set, after which only the
/// consumer reads its final counters.
final class ChunkPrefetcher: @unchecked Sendable {
    private enum Item {
        case chunk([UInt8], count: Int, rawOffset: Int64)
        case failure(any Error)
    }

    private let source: ByteSource
    private let condition = NSCondition()
    private var queue: [Item] = []
    /// Buffers handed back by the consumer, refilled by the reader: no allocation (and no fresh
    /// pages to fault in) per chunk.
    private var spare: [[UInt8]] = []
    private let depth: Int
    private var ended = false
    private var cancelled = false
    private var threadDone = false

    /// The raw offset of the last chunk handed out.
    private(set) var rawOffset: Int64 = 0
    /// Whether the source is gzip (known once the first chunk is out).
    private(set) var isGzip = false

    init(source: ByteSource, depth: Int = 2) {
        self.source = source
        self.depth = max(1, depth)
        let thread = Thread { [self] in run() }
        thread.name = "gatewatch-inflate"
        thread.start()
    }

    private func push(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queue.count >= depth, !cancelled { condition.wait() }
        if cancelled { return false }
        queue.append(item)
        condition.broadcast()
        return true
    }

    private func run() {
        do {
            var keepGoing = true
            while keepGoing {
                condition.lock()
                var buffer = spare.popLast() ?? [UInt8](repeating: 0, count: ByteSource.chunkSize)
                condition.unlock()
                let count = try source.nextChunk(into: &buffer)
                if count > 0, !push(.chunk(buffer, count: count, rawOffset: source.rawOffset)) { break }
                keepGoing = count > 0
            }
        } catch {
            _ = push(.failure(error))
        }
        condition.lock()
        ended = true
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, in order.
    ///
    /// - Parameter body: Receives the chunk; the buffer is valid only during the call.
    /// - Returns: `false` at the end of the input.
    /// - Throws: The error that ended the source, after the chunks before it.
    func nextChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        condition.lock()
        while queue.isEmpty, !ended { condition.wait() }
        if queue.isEmpty {
            isGzip = source.isGzip
            condition.unlock()
            return false
        }
        let item = queue.removeFirst()
        condition.broadcast()
        condition.unlock()
        switch item {
        case .chunk(let bytes, let count, let offset):
            rawOffset = offset
            isGzip = source.isGzip
            defer {
                condition.lock()
                if spare.count < depth + 1 { spare.append(bytes) }
                condition.unlock()
            }
            try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            return true
        case .failure(let error):
            throw error
        }
    }

    /// Stops the reader thread and waits for it (after the consumer gave up).
    func cancel() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        condition.broadcast()
        while !threadDone { condition.wait() }
        condition.unlock()
    }

    deinit {
        cancel()
    }
}
