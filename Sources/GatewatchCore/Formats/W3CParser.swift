import CByteScan
import Foundation

/// Why a line could not be read as a request.
public enum MalformedReason: Sendable, Equatable, CustomStringConvertible {
    /// The value count differs from the `#Fields` column count.
    case fieldCount(expected: Int, found: Int)
    /// The date or time column is not a valid W3C date/time.
    case badTimestamp
    /// The line has no date: a `time`-only layout without a `#Date` directive before it.
    case noDate
    /// A quoted value has no closing quote.
    case unterminatedQuote
    /// The line is longer than the limit.
    case overlong(byteCount: Int)
    /// The line contains NUL bytes (a binary or zero-filled file).
    case binary
    /// A numeric column (`sc-status`, `sc-bytes`, `time-taken`, …) holds something other than
    /// decimal digits or `-`; `field` is its `#Fields` name.
    case notANumber(field: String)
    /// The date is outside the run's ``DateWindow``.
    case implausibleDate(String)

    /// A short explanation for summaries.
    public var description: String {
        switch self {
        case .fieldCount(let expected, let found): "\(found) values where #Fields declares \(expected)"
        case .badTimestamp: "date/time is not a valid W3C date and time"
        case .noDate: "time-only layout and no #Date directive before this line"
        case .unterminatedQuote: "a quoted value has no closing quote"
        case .overlong(let count): "line of \(count) bytes exceeds the line-length limit of 1 MiB"
        case .binary: "line contains NUL bytes"
        case .notANumber(let field): "\(field) is not a number (digits, or - when absent)"
        case .implausibleDate(let reason): reason
        }
    }
}

/// A streaming W3C extended log parser that works on bytes.
///
/// Feed it one line at a time with ``parse(_:)``. Directives update the column layout
/// (`#Fields`, re-read at every header block) and the date for `time`-only layouts (`#Date`);
/// every other non-blank line is a record whose values are read with ``field(_:)`` while the
/// line's bytes are alive. Values are split on runs of spaces or tabs; a value that starts with a
/// double quote runs to the closing quote (`""` escapes a quote) and may hold spaces.
///
/// O(n) in the line length per line; no allocation for records.
public final class W3CParser {
    /// The layout in effect for records before any `#Fields` directive.
    public let fallbackLayout: W3CLayout
    /// The column holding the gateway's request id, when not one of the usual names.
    public let requestIDField: String?
    /// The layout from the most recent `#Fields` directive, if any.
    public private(set) var layout: W3CLayout?
    /// Whether any `#Fields` directive has been seen.
    public var sawFieldsDirective: Bool { layout != nil }
    /// Whether a record was dated by `date-local`/`time-local` (the server's local time).
    public private(set) var readLocalTime = false
    /// The timestamp of the last record, in seconds since the Unix epoch (UTC).
    public private(set) var timestamp: Int64 = 0
    /// The times records may carry; a record dated outside is malformed.
    public var dateWindow = DateWindow.unbounded
    /// The major IIS version the current header block's `#Software` names (`7` for
    /// `Microsoft Internet Information Services 7.5`), or `nil`.
    public private(set) var loggedIISVersion: Int?
    /// Every IIS major version a `#Software` directive named for a block with HTTP records.
    public private(set) var loggedIISVersions: Set<Int> = []
    private var versionRecorded = true

    /// The non-HTTP service of the current block: from `#Software`, from `#Fields`, or from its
    /// first record (`nil` when that is not yet read or the block is HTTP).
    private var blockService: W3CService?
    private var softwareService: W3CService?
    private var serviceDecided = false
    /// Parsed numeric columns by field (-1: absent).
    private let numbers: UnsafeMutablePointer<Int64>
    /// The ``numericFields`` the active layout has, unboxed for the per-record path.
    private let numericColumns: UnsafeMutablePointer<W3CField>
    private var numericColumnCount = 0

    private var activeLayout: W3CLayout {
        didSet { cachePositions() }
    }
    /// `activeLayout`'s positions and column count, unboxed for the per-field path.
    private let positions: UnsafeMutablePointer<Int32>
    private var fieldCount = 0
    private var activeUsesLocalTime = false
    /// The `cs-uri` column read as stem and query, or -1.
    private var uriColumn = -1
    private var directiveDays: Int64?
    /// For `time`-only layouts: days past `#Date` (entries that cross midnight) and the time of
    /// day of the last such entry (at first, that of `#Date`).
    private var rolloverDays: Int64 = 0
    private var lastTimeOfDay: Int64 = 0
    private var capacity = 512
    private var starts: UnsafeMutablePointer<Int32>
    private var ends: UnsafeMutablePointer<Int32>
    private var tokenCount = 0
    private var line = UnsafeRawBufferPointer(start: nil, count: 0)
    private var cachedDateKey: (UInt64, UInt16) = (0, 0)
    private var cachedDays: Int64 = 0

    /// What a line turned out to be.
    public enum LineKind: Equatable {
        /// A `#` directive (or comment).
        case directive
        /// An empty or whitespace-only line.
        case blank
        /// A request record; read its values with ``W3CParser/field(_:)``.
        case record
        /// A line that is not a valid record.
        case malformed(MalformedReason)
        /// A record of a service that is not a web server (its block is an FTP or SMTP log).
        case skipped(W3CService)
    }

    /// Creates a parser.
    ///
    /// - Parameters:
    ///   - fallbackLayout: The layout for records before any `#Fields` directive (headerless
    ///     files); the IIS default layout unless `--fields` names another.
    ///   - requestIDField: The custom field holding the gateway's request id
    ///     (`--request-id-field`); `nil` looks for the usual names.
    public init(fallbackLayout: W3CLayout = .iisDefault, requestIDField: String? = nil) {
        self.requestIDField = requestIDField
        self.fallbackLayout = fallbackLayout.withRequestIDField(requestIDField)
        activeLayout = self.fallbackLayout
        starts = .allocate(capacity: capacity + Self.splitHeadroom)
        ends = .allocate(capacity: capacity + Self.splitHeadroom)
        positions = .allocate(capacity: W3CField.allCases.count)
        numbers = .allocate(capacity: W3CField.allCases.count)
        numbers.initialize(repeating: -1, count: W3CField.allCases.count)
        numericColumns = .allocate(capacity: Self.numericFields.count)
        cachePositions()
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
        positions.deallocate()
        numbers.deallocate()
        numericColumns.deallocate()
    }

    private func cachePositions() {
        for field in W3CField.allCases { positions[field.rawValue] = Int32(activeLayout.position(field)) }
        fieldCount = activeLayout.fieldCount
        numericColumnCount = 0
        for field in Self.numericFields where positions[field.rawValue] >= 0 {
            numericColumns[numericColumnCount] = field
            numericColumnCount += 1
        }
        activeUsesLocalTime = activeLayout.usesLocalTime
        // `cs-uri` without `cs-uri-stem`: its two parts go to the token slots past the columns.
        uriColumn = -1
        if positions[W3CField.uri.rawValue] >= 0, positions[W3CField.uriStem.rawValue] < 0 {
            uriColumn = Int(positions[W3CField.uri.rawValue])
            positions[W3CField.uriStem.rawValue] = Int32(fieldCount)
            if positions[W3CField.uriQuery.rawValue] < 0 {
                positions[W3CField.uriQuery.rawValue] = Int32(fieldCount + 1)
            }
        }
        if fieldCount + 2 >= capacity {
            // A layout wider than the token slots (found by fuzzing: 600 fields): grow them.
            starts.deallocate()
            ends.deallocate()
            capacity = fieldCount + 3
            starts = .allocate(capacity: capacity + Self.splitHeadroom)
            ends = .allocate(capacity: capacity + Self.splitHeadroom)
        }
    }

    /// The layout records are currently read with.
    public var currentLayout: W3CLayout { activeLayout }

    /// Reads one line (without its terminator).
    ///
    /// - Parameter bytes: The line; it must stay valid until the next call to `parse`.
    /// - Returns: What the line is.
    public func parse(_ bytes: UnsafeRawBufferPointer) -> LineKind {
        line = bytes
        var begin = 0
        let count = bytes.count
        // A byte-order mark at the start of a file's first line.
        if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { begin = 3 }
        while begin < count, bytes[begin] == 0x20 || bytes[begin] == 0x09 || bytes[begin] == 0x0D { begin += 1 }
        if begin == count { return .blank }
        if bytes[begin] == UInt8(ascii: "#") {
            parseDirective(UnsafeRawBufferPointer(rebasing: bytes[begin...]))
            return .directive
        }
        if bytes[begin] == 0 { return .malformed(.binary) }
        // Tokenise: a line without double quotes, carriage returns or NULs (nearly every line)
        // in one pass of eight-byte words; any other line byte by byte.
        if let base = bytes.baseAddress,
            let found = Self.splitPlain(base, from: begin, count: count, starts: starts, ends: ends, capacity: capacity)
        {
            tokenCount = found
        } else {
            tokenCount = 0
        }
        var index = tokenCount > 0 ? count : begin
        while index < count {
            let byte = bytes[index]
            if byte == 0x20 || byte == 0x09 || byte == 0x0D {
                index += 1
                continue
            }
            if tokenCount == capacity { return .malformed(.fieldCount(expected: fieldCount, found: tokenCount + 1)) }
            let tokenStart = index
            if byte == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < count {
                    if bytes[index] == UInt8(ascii: "\"") {
                        if index + 1 < count, bytes[index + 1] == UInt8(ascii: "\"") {
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    index += 1
                }
                if !closed { return .malformed(.unterminatedQuote) }
            } else {
                // Eight bytes at a time to the first space, tab or NUL (user agents are long),
                // then byte by byte from there.
                if let base = bytes.baseAddress {
                    while index + 8 <= count {
                        let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                        let stops =
                            Self.zeroBytes(word ^ 0x2020_2020_2020_2020)
                            | Self.zeroBytes(word ^ 0x0909_0909_0909_0909) | Self.zeroBytes(word)
                        if stops != 0 {
                            index += stops.trailingZeroBitCount >> 3
                            break
                        }
                        index += 8
                    }
                }
                while index < count, bytes[index] != 0x20, bytes[index] != 0x09 {
                    if bytes[index] == 0 { return .malformed(.binary) }
                    index += 1
                }
            }
            starts[tokenCount] = Int32(tokenStart)
            ends[tokenCount] = Int32(index)
            tokenCount += 1
        }
        guard tokenCount == fieldCount else {
            return .malformed(.fieldCount(expected: fieldCount, found: tokenCount))
        }
        if uriColumn >= 0 { splitURI() }
        if !serviceDecided {
            // The first record of a block that neither #Software nor #Fields placed.
            blockService = W3CService.from(method: field(.method), siteName: field(.siteName), uriStem: field(.uriStem))
            serviceDecided = true
        }
        if let blockService { return .skipped(blockService) }
        // Timestamp.
        var days: Int64
        var seconds: Int64 = 0
        if let time = field(.time) {
            guard let parsed = Self.parseTime(time) else { return .malformed(.badTimestamp) }
            seconds = parsed
        } else if positions[W3CField.date.rawValue] < 0 {
            return .malformed(.noDate)
        }
        if let date = field(.date) {
            guard let parsed = parseDays(date) else { return .malformed(.badTimestamp) }
            days = parsed
        } else if let fromDirective = directiveDays {
            // `#Date` dates the block; a time of day more than 12 hours before the previous
            // entry's (or `#Date`'s) is the next day: the block went past midnight (UTC).
            if seconds < lastTimeOfDay - 43_200 { rolloverDays += 1 }
            lastTimeOfDay = seconds
            days = fromDirective + rolloverDays
        } else {
            return .malformed(.noDate)
        }
        timestamp = days * 86_400 + seconds
        guard dateWindow.contains(timestamp) else {
            return .malformed(.implausibleDate(dateWindow.reason(for: timestamp)))
        }
        var slot = 0
        while slot < numericColumnCount {
            let field = numericColumns[slot]
            guard readNumber(field) else {
                return .malformed(.notANumber(field: activeLayout.names[Int(positions[field.rawValue])]))
            }
            slot += 1
        }
        if activeUsesLocalTime { readLocalTime = true }
        if !versionRecorded, let loggedIISVersion {
            loggedIISVersions.insert(loggedIISVersion)
            versionRecorded = true
        }
        return .record
    }

    /// The columns read as numbers; a value other than digits or `-` makes a record malformed.
    public static let numericFields: [W3CField] = [
        .status, .substatus, .win32Status, .bytesSent, .bytesReceived, .timeTaken, .serverPort, .clientPort,
    ]

    /// The largest value a numeric field counts as: 2^40.
    ///
    /// That is 1.1 × 10^12: 35 years in milliseconds, a TiB in bytes. Larger values are corrupt;
    /// capped, a key's sums cannot overflow.
    public static let numericCeiling: Int64 = 1 << 40

    /// Reads `field`'s value into `numbers` (-1 when absent); `false` when it is not all digits.
    @inline(__always)
    private func readNumber(_ field: W3CField) -> Bool {
        guard let bytes = self.field(field) else {
            numbers[field.rawValue] = -1
            return true
        }
        var value: Int64 = 0
        for byte in bytes {
            let digit = Int64(byte) &- 48
            guard digit >= 0, digit <= 9 else {
                guard field == .timeTaken, let milliseconds = Self.fixedPointSeconds(bytes) else { return false }
                numbers[field.rawValue] = milliseconds
                return true
            }
            value = min(value &* 10 &+ digit, Self.numericCeiling)
        }
        numbers[field.rawValue] = value
        return true
    }

    /// Milliseconds of a `time-taken` written as the W3C draft's fixed-point seconds (`0.002`,
    /// `12.5`, as CloudFront and other non-IIS producers log it; IIS writes whole milliseconds),
    /// or `nil` when the value is not digits, a point and digits.
    static func fixedPointSeconds(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let point = bytes.firstIndex(of: UInt8(ascii: ".")), point > 0, point < bytes.count - 1 else {
            return nil
        }
        var milliseconds: Int64 = 0
        var scale: Int64 = 1000
        for (index, byte) in bytes.enumerated() where index != point {
            let digit = Int64(byte) &- 48
            guard digit >= 0, digit <= 9 else { return nil }
            if index < point {
                milliseconds = min(milliseconds &* 10 &+ digit * 1000, numericCeiling)
            } else if scale > 1 {
                scale /= 10
                milliseconds += digit * scale
            }
        }
        return min(milliseconds, numericCeiling)
    }

    /// The value of a numeric column of the current record (one of `sc-status`, `sc-substatus`,
    /// `sc-win32-status`, `sc-bytes`, `cs-bytes`, `time-taken`, `s-port`, `c-port`), at most
    /// ``numericCeiling``; `nil` when the layout has no such column or the value is `-` (absent).
    ///
    /// O(1); no allocation. Valid after ``parse(_:)`` returned ``LineKind/record``.
    ///
    /// - Parameter field: The field.
    /// - Returns: The value, or `nil` when absent.
    @inline(__always)
    public func number(_ field: W3CField) -> Int64? {
        guard positions[field.rawValue] >= 0 else { return nil }
        let value = numbers[field.rawValue]
        return value >= 0 ? value : nil
    }

    /// Room past `capacity` in the token buffers: a step of sixteen bytes starts at most eight
    /// tokens before ``splitPlain`` checks the count (a word of eight bytes, four).
    static let splitHeadroom = 8

    /// Splits `base[begin..<count]` on runs of spaces and tabs into `starts` and `ends`, eight
    /// bytes at a time, and returns the number of tokens; `nil` when the line holds a double quote,
    /// a carriage return or a NUL (the byte-by-byte tokenizer reads those) or more tokens than
    /// `capacity`.
    ///
    /// `begin` is at the first byte of the first token. `starts` and `ends` have room for
    /// ``splitHeadroom`` more than `capacity`.
    ///
    /// On x86-64 this is `gw_split_plain` (CByteScan), sixteen bytes a step with SSE2; `words`
    /// (or a machine without SSE2) takes the Swift split, eight bytes a step.
    @inline(__always)
    static func splitPlain(
        _ base: UnsafeRawPointer,
        from begin: Int,
        count: Int,
        starts: UnsafeMutablePointer<Int32>,
        ends: UnsafeMutablePointer<Int32>,
        capacity: Int,
        words: Bool = false
    ) -> Int? {
        #if arch(x86_64)
        if !words {
            let found = gw_split_plain(base.assumingMemoryBound(to: UInt8.self), begin, count, starts, ends, capacity)
            if found != -2 { return found < 0 ? nil : found }
        }
        #endif
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var tokens = 0  // tokens started
        var ended = 0  // tokens ended
        var inToken = false  // whether the byte before `index` belongs to a token
        var index = begin
        while index &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let special =
                exactZeroBytes(word ^ 0x2222_2222_2222_2222) | exactZeroBytes(word ^ 0x0D0D_0D0D_0D0D_0D0D)
                | exactZeroBytes(word)
            if special != 0 { return nil }
            let separators = exactZeroBytes(word ^ 0x2020_2020_2020_2020) | exactZeroBytes(word ^ 0x0909_0909_0909_0909)
            let inside = ~separators & highBits
            // Each byte's flag against the flag of the byte before it: where tokens start, and
            // where they end, each in order (no branch on which one a bit is).
            let before = inside << 8 | (inToken ? 0x80 : 0)
            var startBits = inside & ~before
            var endBits = ~inside & before & highBits
            while startBits != 0 {
                starts[tokens] = Int32(truncatingIfNeeded: index &+ startBits.trailingZeroBitCount >> 3)
                tokens &+= 1
                startBits &= startBits &- 1
            }
            while endBits != 0 {
                ends[ended] = Int32(truncatingIfNeeded: index &+ endBits.trailingZeroBitCount >> 3)
                ended &+= 1
                endBits &= endBits &- 1
            }
            // At most four tokens start in a word: the buffers have that much room past `capacity`.
            if tokens > capacity { return nil }
            inToken = inside >> 63 != 0
            index &+= 8
        }
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == 0x22 || byte == 0x0D || byte == 0 { return nil }
            let isSeparator = byte == 0x20 || byte == 0x09
            if isSeparator == inToken {
                if inToken {
                    ends[ended] = Int32(truncatingIfNeeded: index)
                    ended &+= 1
                } else {
                    if tokens == capacity { return nil }
                    starts[tokens] = Int32(truncatingIfNeeded: index)
                    tokens &+= 1
                }
                inToken.toggle()
            }
            index &+= 1
        }
        if inToken {
            ends[ended] = Int32(truncatingIfNeeded: count)
            ended &+= 1
        }
        return tokens
    }

    /// The high bit of exactly the zero bytes of `word` set.
    @inline(__always)
    static func exactZeroBytes(_ word: UInt64) -> UInt64 {
        ~(((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F) | word | 0x7F7F_7F7F_7F7F_7F7F)
    }

    /// The high bit of every zero byte of `word` set (and possibly of bytes above the first zero
    /// byte: only the lowest set bit is exact, and only it is used).
    @inline(__always)
    static func zeroBytes(_ word: UInt64) -> UInt64 {
        (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
    }

    /// The value of `field` in the current record, without quotes; `nil` when the layout has no
    /// such column or the value is `-` or empty.
    ///
    /// - Parameter field: The field.
    /// - Returns: The value's bytes, valid until the next `parse`.
    @inline(__always)
    public func field(_ field: W3CField) -> UnsafeRawBufferPointer? {
        let position = Int(positions[field.rawValue])
        guard position >= 0, position < tokenCount, let base = line.baseAddress else { return nil }
        var start = Int(starts[position])
        var end = Int(ends[position])
        if end - start >= 2, line[start] == UInt8(ascii: "\"") {
            start += 1
            end -= 1
        }
        if end == start || (end - start == 1 && line[start] == UInt8(ascii: "-")) { return nil }
        return UnsafeRawBufferPointer(start: base + start, count: end - start)
    }

    /// Splits the `cs-uri` value at its first `?` into the stem and query slots past the columns
    /// (unquoted first; a value without `?` has no query).
    private func splitURI() {
        var start = Int(starts[uriColumn])
        var end = Int(ends[uriColumn])
        if end - start >= 2, line[start] == UInt8(ascii: "\""), line[end - 1] == UInt8(ascii: "\"") {
            start += 1
            end -= 1
        }
        var mark = start
        while mark < end, line[mark] != UInt8(ascii: "?") { mark += 1 }
        starts[fieldCount] = Int32(start)
        ends[fieldCount] = Int32(mark)
        starts[fieldCount + 1] = Int32(min(mark + 1, end))
        ends[fieldCount + 1] = Int32(end)
        tokenCount = fieldCount + 2
    }

    /// Whether the current layout has a column for `field`.
    ///
    /// - Parameter field: The field.
    /// - Returns: `true` when the column exists.
    public func hasColumn(_ field: W3CField) -> Bool { positions[field.rawValue] >= 0 }

    // MARK: Directives

    private func parseDirective(_ bytes: UnsafeRawBufferPointer) {
        // "#Name: value"; names are case-insensitive.
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: bytes[1..<colon], as: UTF8.self).lowercased()
        var value = String(decoding: bytes[(colon + 1)...], as: UTF8.self)
        if name != "fields", let comment = value.range(of: " //") {
            // HTTP Server API samples append "// comments" after directive values.
            value = String(value[..<comment.lowerBound])
        }
        switch name {
        case "fields":
            let names = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard !names.isEmpty else { return }
            let parsed = W3CLayout(names: names, requestIDField: requestIDField)
            layout = parsed
            activeLayout = parsed
            blockService = W3CService.from(fields: names.map { $0.lowercased() }) ?? softwareService
            serviceDecided = blockService != nil
        case "software":
            // A new header block: its server, and so its service and version, may differ.
            softwareService = W3CService.from(software: value)
            blockService = softwareService
            serviceDecided = blockService != nil
            loggedIISVersion = Self.iisMajorVersion(software: value)
            versionRecorded = loggedIISVersion == nil
        case "date", "start-date":
            let trimmed = value.trimmingWhitespace
            let datePart = trimmed.split(separator: " ").first.map(String.init) ?? ""
            var utf8 = Array(datePart.utf8)
            if let days = utf8.withUnsafeMutableBytes({ parseDays(UnsafeRawBufferPointer($0)) }) {
                directiveDays = days
            } else if let days = Self.parseDayMonthYear(datePart) {
                directiveDays = days
            } else {
                break
            }
            rolloverDays = 0
            let timePart = trimmed.split(separator: " ").dropFirst().first.map { Array($0.utf8) } ?? []
            lastTimeOfDay = timePart.withUnsafeBytes { Self.parseTime($0) } ?? 0
        default:
            break
        }
    }

    /// The major version in `Microsoft Internet Information Services 7.5` (or IIS 4's `… Server
    /// 4.0`), or `nil` for other software.
    static func iisMajorVersion(software: String) -> Int? {
        // "Services" from IIS 5 on, "Server" before.
        let lowered = software.lowercased()
        guard let found = lowered.range(of: "internet information serv") else { return nil }
        let rest = lowered[found.upperBound...].drop { $0.isLetter }.drop { $0 == " " || $0 == "\t" }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        return Int(digits)
    }

    // MARK: Dates and times (the static readers are in W3CParser+Dates.swift)

    /// `YYYY-MM-DD` (also `YYYY-M-D`) to days since 1970-01-01.
    private func parseDays(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        if bytes.count == 10, let base = bytes.baseAddress {
            let key = (base.loadUnaligned(as: UInt64.self), base.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
            if key == cachedDateKey { return cachedDays }
            guard let days = Self.parseDate(bytes) else { return nil }
            cachedDateKey = key
            cachedDays = days
            return days
        }
        return Self.parseDate(bytes)
    }
}
