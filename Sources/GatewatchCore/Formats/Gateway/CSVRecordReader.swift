/// An RFC 4180 record reader fed one line at a time; quoted fields may span lines.
struct CSVRecordReader {
    enum Result: Equatable {
        case pending
        case row([String])
        case failed(String)
    }

    /// A record longer than this is malformed.
    static let maximumRecordBytes = 4 << 20

    private var cells: [String] = []
    private var field: [UInt8] = []
    private var inQuotes = false
    private var afterQuote = false
    private var recordBytes = 0
    private(set) var isInRecord = false

    private mutating func reset() {
        cells.removeAll()
        field.removeAll(keepingCapacity: true)
        inQuotes = false
        afterQuote = false
        recordBytes = 0
        isInRecord = false
    }

    /// Reads one line (terminator removed, a trailing CR allowed).
    mutating func feed(_ line: UnsafeRawBufferPointer) -> Result {
        var end = line.count
        if !inQuotes, end > 0, line[end - 1] == 0x0D { end -= 1 }
        if isInRecord { field.append(0x0A) }
        isInRecord = true
        recordBytes += line.count + 1
        guard recordBytes <= Self.maximumRecordBytes else {
            reset()
            return .failed("the record is longer than \(Self.maximumRecordBytes >> 20) MiB")
        }
        var index = 0
        while index < end {
            let byte = line[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                    afterQuote = true
                } else {
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                if afterQuote {
                    field.append(byte)  // "" inside a quoted field
                    inQuotes = true
                    afterQuote = false
                } else if field.isEmpty {
                    inQuotes = true
                } else {
                    reset()
                    return .failed("a quote inside an unquoted field")
                }
            case UInt8(ascii: ","):
                cells.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                afterQuote = false
            default:
                if afterQuote, byte != 0x0D {
                    reset()
                    return .failed("text after the closing quote of a field")
                }
                if !afterQuote { field.append(byte) }
            }
        }
        if inQuotes { return .pending }
        cells.append(String(decoding: field, as: UTF8.self))
        let row = cells
        reset()
        return .row(row)
    }
}
