/// Cuts a stream of lines into JSON objects: JSON Lines, the `{"records": [...]}` envelope (one
/// message per line or pretty-printed), top-level arrays, and pretty-printed single objects.
///
/// Works on bytes with a small state machine (strings, escapes, depth); the objects it returns
/// are parsed by `JSONSerialization`. Broken input resynchronises at line ends:
///
/// - a line that ends inside a string ends the open record (JSON strings hold no raw newline);
/// - a record that starts on a line with more than its opening brace (JSON Lines style) must
///   end on that line — a half-written or interleaved line is malformed on its own line;
/// - a line that starts with `{"` while a pretty-printed record is open cuts that record off.
///
/// O(n) in the input; one buffer per open record, bounded by ``maximumRecordBytes``.
struct JSONRecordFramer {
    /// Where a record starts.
    struct Start: Equatable {
        /// The line number.
        var line: Int
        /// The start of that line (at most ``sampleByteCount`` bytes) when the record goes on past
        /// it; empty for a record on one line (its line is the one being read).
        var text: [UInt8]
    }

    /// What one line produced.
    enum Event: Equatable {
        /// A complete object, and where it started.
        case object([UInt8], start: Start)
        /// A broken record, with the reason and where it started.
        case malformed(String, start: Start)
    }

    /// How much of a record's first line is kept to show where a broken record starts.
    static let sampleByteCount = 200

    /// Records longer than this are malformed (their bytes are not kept).
    static let maximumRecordBytes = 4 << 20
    /// Deeper nesting is malformed (guards the JSON parser's recursion).
    static let maximumDepth = 64

    private var depth = 0
    private var inString = false
    private var escaped = false
    private var containers: [Int] = [0]
    private var capturing = false
    private var captureDepth = 0
    private var captureStartLine = 0
    /// The start of the capture's first line, kept once the capture goes on past that line.
    private var captureStartText: [UInt8] = []
    private var captureOversized = false
    private var captureTooDeep = false
    private var buffer: [UInt8] = []
    /// The container (envelope or array) was opened on a compact line that must close it.
    private var containerStartLine = 0
    // Envelope detection: the last string at depth 1 of a top-level object, and whether a `:` followed it.
    private var keyBytes: [UInt8] = []
    private var keyCollecting = false
    private var keyComplete = false
    private var keyColon = false

    /// Whether a record or container is open (the line is part of something that continues).
    var isOpen: Bool { capturing || depth > 0 || containers.count > 1 }

    /// The line an open record started on, if one is open.
    var openRecordStartLine: Int? { capturing ? captureStartLine : nil }

    private mutating func resetCapture() {
        if capturing { depth = captureDepth }
        capturing = false
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
        captureOversized = false
        captureTooDeep = false
        inString = false
        escaped = false
    }

    private mutating func resetAll() {
        resetCapture()
        depth = 0
        containers = [0]
        keyCollecting = false
        keyComplete = false
        keyColon = false
    }

    /// Where the open record started, seen from `lineNumber`.
    private func captureStart(lineNumber: Int) -> Start {
        Start(line: captureStartLine, text: captureStartLine == lineNumber ? [] : captureStartText)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }

    /// Reads one line.
    ///
    /// - Parameters:
    ///   - line: The line, without its terminator.
    ///   - lineNumber: Its number.
    ///   - emit: Called for each complete object or broken record the line ends.
    mutating func feed(_ line: UnsafeRawBufferPointer, lineNumber: Int, emit: (Event) -> Void) {
        var start = 0
        if lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF { start = 3 }
        var first = start
        while first < line.count, Self.isSpace(line[first]) { first += 1 }
        var last = line.count - 1
        while last >= first, Self.isSpace(line[last]) { last -= 1 }
        guard first <= last else {
            if capturing, !inString { buffer.append(0x0A) }
            return
        }
        // A compact record starting while a pretty-printed one is open cuts it off.
        if capturing, !inString, depth > captureDepth, captureStartLine < lineNumber, first + 1 <= last,
            line[first] == UInt8(ascii: "{"), line[first + 1] == UInt8(ascii: "\"")
        {
            emit(
                .malformed(
                    "the record that starts at line \(captureStartLine) is cut off by a new record",
                    start: captureStart(lineNumber: lineNumber)
                )
            )
            resetCapture()
        }
        let lastByte = line[last]
        let compactLine =
            !(lastByte == UInt8(ascii: "{") || lastByte == UInt8(ascii: "[")
            || lastByte == UInt8(ascii: ",") || lastByte == UInt8(ascii: ":"))
        var reportedGarbage = false
        var index = first
        while index <= last {
            let byte = line[index]
            index += 1
            if capturing {
                if buffer.count < Self.maximumRecordBytes {
                    buffer.append(byte)
                } else {
                    captureOversized = true
                }
            }
            if inString {
                if keyCollecting, !escaped, byte != UInt8(ascii: "\""), keyBytes.count < 16 { keyBytes.append(byte) }
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if keyCollecting {
                        keyCollecting = false
                        keyComplete = true
                    }
                }
                continue
            }
            if Self.isSpace(byte) { continue }
            let container = containers[containers.count - 1]
            if !capturing, depth == container {
                switch byte {
                case UInt8(ascii: "{"):
                    capturing = true
                    captureDepth = depth
                    captureStartLine = lineNumber
                    buffer.removeAll(keepingCapacity: true)
                    buffer.append(byte)
                    depth += 1
                    keyCollecting = false
                    keyComplete = false
                    keyColon = false
                case UInt8(ascii: "["):
                    depth += 1
                    containers.append(depth)
                    if compactLine { containerStartLine = lineNumber }
                case UInt8(ascii: "]"), UInt8(ascii: "}"):
                    if depth > 0 { depth -= 1 }
                    if containers.count > 1, depth < container { containers.removeLast() }
                case UInt8(ascii: ","):
                    break
                default:
                    if !reportedGarbage {
                        emit(.malformed("text outside a JSON record", start: Start(line: lineNumber, text: [])))
                        reportedGarbage = true
                    }
                    index = last + 1
                }
                continue
            }
            // Inside a record (capturing) or inside the rest of an envelope object (not capturing).
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if capturing, captureDepth == 0, depth == 1, !keyComplete {
                    keyCollecting = true
                    keyBytes.removeAll(keepingCapacity: true)
                }
            case UInt8(ascii: ":"):
                if keyComplete { keyColon = true }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if capturing, captureDepth == 0, depth == 1, byte == UInt8(ascii: "["), keyColon,
                    keyBytes == Array("records".utf8)
                {
                    // `{"records": [` — an envelope: its elements are the records.
                    capturing = false
                    buffer.removeAll(keepingCapacity: true)
                    depth += 1
                    containers.append(depth)
                    if compactLine { containerStartLine = lineNumber }
                    keyComplete = false
                    keyColon = false
                    continue
                }
                depth += 1
                if depth - captureDepth > Self.maximumDepth { captureTooDeep = true }
                keyComplete = false
                keyColon = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                keyComplete = false
                keyColon = false
                if capturing, depth == captureDepth {
                    let start = captureStart(lineNumber: lineNumber)
                    if captureOversized {
                        emit(.malformed("the record is longer than \(Self.maximumRecordBytes >> 20) MiB", start: start))
                    } else if captureTooDeep {
                        emit(
                            .malformed("the record is nested more than \(Self.maximumDepth) levels deep", start: start)
                        )
                    } else {
                        emit(.object(buffer, start: start))
                    }
                    capturing = false
                    buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
                    captureOversized = false
                    captureTooDeep = false
                } else if !capturing, depth < containers[containers.count - 1] {
                    containers.removeLast()
                }
                if depth < 0 { depth = 0 }
            case UInt8(ascii: ","):
                keyComplete = false
                keyColon = false
            default:
                if keyComplete, !keyColon { keyComplete = false }
            }
        }
        if capturing {
            buffer.append(0x0A)
            if captureStartLine == lineNumber {
                captureStartText = Array(line.prefix(Self.sampleByteCount))
            }
        }
        // Resynchronise at the line end.
        if inString {
            if capturing {
                emit(
                    .malformed(
                        "a string is not closed at the end of the line (a half-written record?)",
                        start: captureStart(lineNumber: lineNumber)
                    )
                )
            }
            resetCapture()
        } else if capturing, captureStartLine == lineNumber, compactLine {
            emit(
                .malformed(
                    "the record does not end on its line (half-written, or interleaved with another)",
                    start: Start(line: lineNumber, text: [])
                )
            )
            resetCapture()
        }
        if !capturing, containers.count > 1, containerStartLine == lineNumber, compactLine {
            // A one-line envelope or array that did not close: start the next line afresh.
            resetAll()
        }
    }

    /// Ends the input.
    ///
    /// - Returns: A malformed event when a record is still open.
    mutating func finish() -> Event? {
        defer { resetAll() }
        guard capturing else { return nil }
        return .malformed(
            "the record that starts at line \(captureStartLine) never ends (the input ends inside it)",
            start: Start(line: captureStartLine, text: captureStartText)
        )
    }
}
