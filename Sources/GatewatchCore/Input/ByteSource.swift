import CISAL
import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why reading an input failed.
public enum InputError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened.
    case cannotOpen(path: String, errno: Int32)
    /// Reading failed part-way.
    case readFailed(path: String, errno: Int32)
    /// Writing a copy of the input failed (standard input spooled to a temporary file).
    case writeFailed(path: String, errno: Int32)
    /// The gzip stream is damaged at `offset` (compressed bytes into the file).
    case corruptGzip(path: String, offset: Int64, member: Int, message: String)
    /// The file ends inside a gzip member.
    case truncatedGzip(path: String, offset: Int64, member: Int)
    /// The path is a directory or something else that is not a regular file.
    case notAFile(path: String)
    /// A glob or directory matched nothing.
    case noMatch(pattern: String)
    /// The input inflated past the safety limit (a gzip bomb).
    case inflationLimit(path: String, ratio: Int)

    /// The input the error is about: a path, or the pattern that matched nothing.
    public var path: String {
        switch self {
        case .cannotOpen(let path, _), .readFailed(let path, _), .writeFailed(let path, _),
            .corruptGzip(let path, _, _, _), .truncatedGzip(let path, _, _), .notAFile(let path),
            .inflationLimit(let path, _):
            path
        case .noMatch(let pattern): pattern
        }
    }

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            "cannot open '\(path)': \(String(cString: strerror(code))); check the path and its permissions"
        case .readFailed(let path, let code):
            "reading '\(path)' failed: \(String(cString: strerror(code)))"
        case .writeFailed(let path, let code):
            "writing '\(path)' failed: \(String(cString: strerror(code)))"
        case .corruptGzip(let path, let offset, let member, let message):
            "'\(path)' is corrupt gzip at byte \(offset) (member \(member): \(message)); "
                + "lines before that point were kept; re-copy the file"
        case .truncatedGzip(let path, let offset, let member):
            "'\(path)' ends inside gzip member \(member) at byte \(offset): the file was cut short; "
                + "lines before that point were kept; re-copy the file or wait until it is complete"
        case .notAFile(let path):
            "'\(path)' is not a regular file"
        case .noMatch(let pattern):
            "'\(pattern)' matches no file; check the path or quote the glob"
        case .inflationLimit(let path, let ratio):
            "'\(path)' inflates more than \(ratio)x its compressed size; refusing it as a likely gzip bomb"
        }
    }
}

/// Reads the decompressed bytes of one input (a file or standard input), gzip or plain.
///
/// Gzip is recognised by its magic bytes (`1f 8b`), never by the file name; concatenated gzip
/// members are read as one stream. A damaged or truncated gzip stream throws after every byte
/// before the damage has been delivered, so callers keep what was parsed.
public final class ByteSource {
    /// The inflate implementation for gzip inputs.
    public enum Inflater: String, Sendable, CaseIterable {
        /// Intel ISA-L (`libisal.so.2`, loaded at run time): the default when it is installed,
        /// several times faster than zlib.
        case isal
        /// zlib: the fallback, and the choice with `GATEWATCH_INFLATE=zlib`.
        case zlib

        /// `GATEWATCH_INFLATE` when it names one that is available, else ISA-L when it is
        /// installed, else zlib.
        public static let preferred: Inflater = {
            let named = getenv("GATEWATCH_INFLATE").flatMap { Inflater(rawValue: String(cString: $0).lowercased()) }
            return (named ?? .isal).usable
        }()

        /// The inflaters this process can use (zlib always; ISA-L when its library loaded).
        public static var available: [Inflater] { allCases.filter { $0.usable == $0 } }

        /// This inflater, or zlib when this one is ISA-L and ISA-L is not installed.
        public var usable: Inflater { self == .isal && ISAL.available == nil ? .zlib : self }

        /// Which library inflates and, for zlib, why: `ISA-L (libisal.so.2)`, `zlib (ISA-L not
        /// found (apt-get install libisal2))`, `zlib (GATEWATCH_INFLATE=zlib)`.
        public var explanation: String {
            let chosen =
                switch (self, ISAL.shared) {
                case (.isal, .success(let library)): "ISA-L (\(library.libraryName))"
                case (.isal, .failure(let error)), (.zlib, .failure(let error)): "zlib (\(error))"
                case (.zlib, .success): "zlib (GATEWATCH_INFLATE=zlib)"
                }
            guard let value = getenv("GATEWATCH_INFLATE").map({ String(cString: $0) }), !value.isEmpty,
                Inflater(rawValue: value.lowercased()) == nil
            else { return chosen }
            return chosen
                + "; GATEWATCH_INFLATE='\(SafeText.terminal(String(value.prefix(80))))' ignored (isal or zlib)"
        }
    }

    /// The path shown in messages (`-` for standard input).
    public let path: String
    /// How gzip is inflated (zlib when ISA-L was asked for and is not installed).
    public let inflater: Inflater
    /// Whether the content is gzip-compressed.
    public private(set) var isGzip = false
    /// Raw bytes read from the file so far (compressed bytes for gzip): drives progress.
    public private(set) var rawOffset: Int64 = 0
    /// The size of the file in raw bytes, when known.
    public let rawSize: Int64?

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var rawBuffer: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var rawEOF = false
    private var output: [UInt8]
    private var stream = z_stream()
    /// ISA-L's functions, when it inflates.
    private let isal: ISAL?
    /// ISA-L's state (tens of KiB), allocated at the first gzip member.
    private var isalState: UnsafeMutablePointer<inflate_state>?
    private var streamActive = false
    private var member = 0
    private var memberStartOffset: Int64 = 0
    private var started = false
    private var finished = false
    private var inflatedTotal: Int64 = 0

    /// A gzip input may inflate to at most this many times its compressed size (plus 256 MiB)
    /// before it is refused as a gzip bomb; real access logs compress 5–30×.
    public static let maximumInflationRatio: Int64 = 250

    /// The size of each chunk handed to the caller (large enough that the per-chunk work is
    /// noise, small enough that the chunks in flight between threads stay a few hundred KiB).
    public static let chunkSize = 1 << 18

    /// Opens a file, or standard input for `-`.
    ///
    /// - Parameters:
    ///   - path: The file path, or `-`.
    ///   - inflater: How gzip is inflated (the same bytes and errors either way); ISA-L falls back
    ///     to zlib when its library is not installed.
    /// - Throws: ``InputError/cannotOpen(path:errno:)`` or ``InputError/notAFile(path:)``.
    public init(path: String, inflater: Inflater = .preferred) throws {
        self.path = path
        self.isal = inflater == .isal ? ISAL.available : nil
        self.inflater = isal == nil ? .zlib : .isal
        if path == "-" {
            descriptor = 0
            ownsDescriptor = false
            rawSize = nil
        } else {
            // O_NONBLOCK so that a FIFO named by mistake is refused instead of blocking forever.
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { throw InputError.cannotOpen(path: path, errno: errno) }
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
                close(fd)
                throw InputError.notAFile(path: path)
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            descriptor = fd
            ownsDescriptor = true
            rawSize = Int64(info.st_size)
        }
        rawBuffer = [UInt8](repeating: 0, count: 1 << 18)
        output = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    deinit {
        if streamActive, inflater == .zlib { inflateEnd(&stream) }
        if let isalState { ISAL.deallocateState(isalState) }
        if ownsDescriptor { close(descriptor) }
    }

    private func fillRaw() throws {
        if rawStart > 0 {
            let remaining = rawEnd - rawStart
            if remaining > 0 {
                rawBuffer.withUnsafeMutableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    memmove(base, base + rawStart, remaining)
                }
            }
            rawStart = 0
            rawEnd = remaining
        }
        guard !rawEOF, rawEnd < rawBuffer.count else { return }
        let capacity = rawBuffer.count - rawEnd
        let count = rawBuffer.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return -1 }
            while true {
                let result = read(descriptor, base + rawEnd, capacity)
                if result < 0, errno == EINTR { continue }
                return result
            }
        }
        if count < 0 { throw InputError.readFailed(path: path, errno: errno) }
        if count == 0 { rawEOF = true }
        rawEnd += count
        rawOffset += Int64(count)
    }

    /// Reads the next chunk of decompressed bytes.
    ///
    /// - Parameter body: Receives the chunk; the buffer is valid only during the call.
    /// - Returns: `false` at the end of the input.
    /// - Throws: ``InputError`` when the input cannot be read or is damaged gzip.
    public func nextChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        if finished { return false }
        if !started {
            started = true
            while rawEnd < 2, !rawEOF { try fillRaw() }
            isGzip = rawEnd >= 2 && rawBuffer[0] == 0x1F && rawBuffer[1] == 0x8B
        }
        if !isGzip {
            if rawStart == rawEnd {
                rawStart = 0
                rawEnd = 0
                try fillRaw()
            }
            if rawEnd == rawStart {
                finished = true
                return false
            }
            try rawBuffer.withUnsafeBytes { raw in
                try body(UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]))
            }
            rawStart = rawEnd
            return true
        }
        return try inflateChunk(body)
    }

    /// Reads the next chunk into `buffer`, which the caller keeps (``ChunkPrefetcher`` hands it to
    /// another thread): gzip inflates straight into it (it takes the place of the source's output
    /// buffer for the call, so the inflated bytes are never copied); plain input is copied in.
    ///
    /// - Returns: The number of bytes now at the start of `buffer` (0 at the end of the input).
    /// - Throws: As ``nextChunk(_:)``; bytes read before the error are then not in `buffer`.
    func nextChunk(into buffer: inout [UInt8]) throws -> Int {
        var count = 0
        if !started || !isGzip || buffer.count != Self.chunkSize {
            // The first call (the format is not known yet), plain input, or a buffer too small to
            // inflate into (its size is the chunk size, so chunks end where they always do).
            _ = try nextChunk { chunk in
                if buffer.count < chunk.count {
                    buffer = [UInt8](repeating: 0, count: max(chunk.count, Self.chunkSize))
                }
                buffer.withUnsafeMutableBytes { target in target.copyMemory(from: chunk) }
                count = chunk.count
            }
            return count
        }
        swap(&output, &buffer)
        defer { swap(&output, &buffer) }
        _ = try inflateChunk { chunk in count = chunk.count }
        return count
    }

    private func consumedOffset() -> Int64 { rawOffset - Int64(rawEnd - rawStart) }

    private func inflateChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var produced = 0
        while produced == 0 {
            if !streamActive {
                // Start a new member, or finish.
                if rawStart == rawEnd { try fillRaw() }
                if rawStart == rawEnd, rawEOF {
                    finished = true
                    return false
                }
                while rawEnd - rawStart < 2, !rawEOF { try fillRaw() }
                let hasMagic = rawEnd - rawStart >= 2 && rawBuffer[rawStart] == 0x1F && rawBuffer[rawStart + 1] == 0x8B
                if !hasMagic {
                    if member > 0, rawBuffer[rawStart..<rawEnd].allSatisfy({ $0 == 0 }) {
                        // Zero padding after the last member (tape or block devices): gzip ignores it too.
                        rawStart = rawEnd
                        continue
                    }
                    throw InputError.corruptGzip(
                        path: path,
                        offset: consumedOffset(),
                        member: member + 1,
                        message: "trailing bytes that are not a gzip member"
                    )
                }
                guard beginMember() else {
                    throw InputError.corruptGzip(
                        path: path,
                        offset: consumedOffset(),
                        member: member + 1,
                        message: "the inflater could not start"
                    )
                }
                streamActive = true
                member += 1
                memberStartOffset = consumedOffset()
            }
            if rawStart == rawEnd {
                try fillRaw()
                if rawStart == rawEnd, rawEOF {
                    throw InputError.truncatedGzip(path: path, offset: rawOffset, member: member)
                }
            }
            let inputCount = rawEnd - rawStart
            let step = rawBuffer.withUnsafeMutableBytes { raw in
                output.withUnsafeMutableBytes { out in
                    guard let input = raw.baseAddress, let target = out.baseAddress else {
                        preconditionFailure("the gzip buffers are allocated once, never empty")
                    }
                    return inflateStep(
                        input: input.assumingMemoryBound(to: UInt8.self) + rawStart,
                        count: inputCount,
                        output: target.assumingMemoryBound(to: UInt8.self) + produced,
                        capacity: out.count - produced
                    )
                }
            }
            rawStart += step.used
            produced += step.written
            switch step.result {
            case .memberEnd:
                endMember()
                streamActive = false
            case .progress:
                break
            case .stalled:
                // No progress possible: need more input.
                if rawStart == rawEnd {
                    try fillRaw()
                    if rawStart == rawEnd, rawEOF {
                        if produced > 0 {
                            try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
                        }
                        throw InputError.truncatedGzip(path: path, offset: rawOffset, member: member)
                    }
                }
            case .failure(let message):
                let offset = consumedOffset()
                if produced > 0 {
                    try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
                }
                endMember()
                streamActive = false
                throw InputError.corruptGzip(path: path, offset: offset, member: member, message: message)
            }
            if produced == output.count { break }
            if !streamActive, produced > 0 { break }
        }
        inflatedTotal += Int64(produced)
        if inflatedTotal > (256 << 20) + Self.maximumInflationRatio * max(rawOffset, 1) {
            throw InputError.inflationLimit(path: path, ratio: Int(Self.maximumInflationRatio))
        }
        try output.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        return true
    }

    /// What one call of the inflater did.
    private enum StepResult {
        case progress
        /// The member's trailer was read and checked.
        case memberEnd
        /// Nothing consumed or produced: more input is needed.
        case stalled
        case failure(String)
    }

    /// Starts a gzip member (header parsing included).
    private func beginMember() -> Bool {
        switch inflater {
        case .zlib:
            stream = z_stream()
            return gw_inflateInit2(&stream, 16 + 15) == Z_OK
        case .isal:
            guard let isal else { return false }
            let state = isalState ?? ISAL.allocateState()
            isalState = state
            isal.inflateInit(state)
            state.pointee.crc_flag = UInt32(ISAL_GZIP)
            return true
        }
    }

    private func endMember() {
        if inflater == .zlib { inflateEnd(&stream) }
    }

    /// One call of the inflater over what is buffered.
    private func inflateStep(
        input: UnsafeMutablePointer<UInt8>,
        count: Int,
        output: UnsafeMutablePointer<UInt8>,
        capacity: Int
    ) -> (used: Int, written: Int, result: StepResult) {
        switch inflater {
        case .zlib:
            stream.next_in = input
            stream.avail_in = uInt(count)
            stream.next_out = output
            stream.avail_out = uInt(capacity)
            let status = inflate(&stream, Z_NO_FLUSH)
            let used = count - Int(stream.avail_in)
            let written = capacity - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END: return (used, written, .memberEnd)
            case Z_OK: return (used, written, .progress)
            case Z_BUF_ERROR: return (used, written, .stalled)
            default: return (used, written, .failure(stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"))
            }
        case .isal:
            guard let isal, let state = isalState else { return (0, 0, .failure("the inflater was not started")) }
            state.pointee.next_in = input
            state.pointee.avail_in = UInt32(count)
            state.pointee.next_out = output
            state.pointee.avail_out = UInt32(capacity)
            let status = isal.inflate(state)
            let used = count - Int(state.pointee.avail_in)
            let written = capacity - Int(state.pointee.avail_out)
            if status < 0 || status == ISAL_NEED_DICT { return (used, written, .failure(Self.isalMessage(status))) }
            if state.pointee.block_state == ISAL_BLOCK_FINISH { return (used, written, .memberEnd) }
            if used == 0, written == 0 { return (used, written, .stalled) }
            return (used, written, .progress)
        }
    }

    /// ISA-L's error codes in zlib's words, so that messages do not depend on the inflater.
    private static func isalMessage(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: "invalid block type"
        case ISAL_INVALID_SYMBOL: "invalid code"
        case ISAL_INVALID_LOOKBACK: "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: "incorrect header check"
        case ISAL_UNSUPPORTED_METHOD: "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: "incorrect data check"
        case ISAL_NEED_DICT: "a preset dictionary is needed"
        default: "inflate error \(status)"
        }
    }
}
