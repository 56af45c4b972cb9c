#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a stream of byte chunks into lines, across chunk boundaries.
///
/// Lines end with LF; a CR before the LF is removed (CRLF and LF files read the same). Files whose
/// lines end with CR alone set ``terminator`` to CR before the first chunk. A line
/// longer than ``maximumLineLength`` is reported as over-long and its bytes are dropped as they
/// stream by, so memory stays bounded whatever the input. O(n) with `memchr`; a line is copied
/// only when it straddles two chunks.
public struct LineSplitter {
    /// Lines longer than this many bytes are reported as over-long instead of being returned.
    public let maximumLineLength: Int
    /// The stream offset just past the last complete line handed out.
    public private(set) var offset: Int64 = 0
    /// The number of lines handed out (complete, over-long, or a final unterminated line).
    public private(set) var lineCount = 0

    /// The byte that ends a line: LF, or CR for a file whose lines end with CR alone.
    ///
    /// CR is the W3C draft's "CR or CRLF"; a CRLF file reads with LF. Set before the first chunk.
    public var terminator: UInt8 = 0x0A

    private var carry: [UInt8] = []
    private var carryOverflow = 0  // bytes of an over-long line already dropped

    /// What the splitter found.
    public enum Event {
        /// A line without its terminator (CR and LF removed).
        case line(UnsafeRawBufferPointer)
        /// A line longer than the limit; only its length is known.
        case overlong(byteCount: Int)
    }

    /// Creates a splitter.
    ///
    /// - Parameter maximumLineLength: The longest line returned whole (default 1 MiB).
    public init(maximumLineLength: Int = 1 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// Whether bytes of an unterminated line are held, waiting for more input.
    public var hasPartialLine: Bool { !carry.isEmpty || carryOverflow > 0 }

    /// Feeds the next chunk.
    ///
    /// - Parameters:
    ///   - chunk: The bytes.
    ///   - handle: Called for each complete line with the event and the stream offset just past
    ///     the line's terminator.
    /// - Throws: Whatever `handle` throws.
    public mutating func feed(
        _ chunk: UnsafeRawBufferPointer,
        _ handle: (Event, Int64) throws -> Void
    ) rethrows {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        let count = chunk.count
        while start < count {
            guard let found = memchr(base + start, Int32(terminator), count - start) else {
                // No terminator in the rest of the chunk: keep it for the next one.
                appendCarry(UnsafeRawBufferPointer(start: base + start, count: count - start))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(found))
            let lineEnd = offset + Int64(carry.count + carryOverflow) + Int64(end - start + 1)
            lineCount += 1
            if carryOverflow > 0 || carry.count + (end - start) > maximumLineLength {
                let length = carryOverflow + carry.count + (end - start)
                carry.removeAll(keepingCapacity: true)
                carryOverflow = 0
                offset = lineEnd
                try handle(.overlong(byteCount: length), lineEnd)
            } else if carry.isEmpty {
                var length = end - start
                if length > 0, base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0D { length -= 1 }
                offset = lineEnd
                try handle(.line(UnsafeRawBufferPointer(start: base + start, count: length)), lineEnd)
            } else {
                carry.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: end - start))
                if carry.last == 0x0D { carry.removeLast() }
                offset = lineEnd
                try carry.withUnsafeBytes { try handle(.line($0), lineEnd) }
                carry.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    private mutating func appendCarry(_ bytes: UnsafeRawBufferPointer) {
        if carryOverflow > 0 || carry.count + bytes.count > maximumLineLength {
            carryOverflow += carry.count + bytes.count
            carry.removeAll(keepingCapacity: false)
        } else {
            carry.append(contentsOf: bytes)
        }
    }

    /// Hands out a final line that has no terminator, if any.
    ///
    /// - Parameter handle: Called once for the final line, with the stream offset at its end.
    /// - Throws: Whatever `handle` throws.
    public mutating func finish(_ handle: (Event, Int64) throws -> Void) rethrows {
        guard hasPartialLine else { return }
        let lineEnd = offset + Int64(carry.count + carryOverflow)
        lineCount += 1
        offset = lineEnd
        if carryOverflow > 0 {
            let length = carryOverflow
            carryOverflow = 0
            try handle(.overlong(byteCount: length), lineEnd)
        } else {
            if carry.last == 0x0D { carry.removeLast() }
            try carry.withUnsafeBytes { try handle(.line($0), lineEnd) }
            carry.removeAll()
        }
    }

    /// Reads the held unterminated line (a trailing CR removed), or `nil` when there is none or
    /// it is over-long.
    ///
    /// - Parameter body: Reads the bytes, valid during the call.
    /// - Returns: What `body` returns.
    public func withPartialLine<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard !carry.isEmpty, carryOverflow == 0 else { return nil }
        let count = carry.last == 0x0D ? carry.count - 1 : carry.count
        return try carry.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Drops a held partial line without handing it out (follow mode waits for its end).
    public mutating func discardPartialLine() {
        carry.removeAll()
        carryOverflow = 0
    }
}
