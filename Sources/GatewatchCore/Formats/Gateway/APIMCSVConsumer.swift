import GRDB

/// Reads the Log Analytics `ApiManagementGatewayLogs` table exported as CSV (RFC 4180).
///
/// The header row names the columns (PascalCase, possibly with a ` [UTC]` suffix as portal
/// exports write it, or `_s`/`_d` suffixes of `AzureDiagnostics` mode); a quoted field may span
/// lines, so such lines are `.pending` until the record ends. The header is read from the
/// input's head, so a grown file that resumes after the header still knows its columns.
final class APIMCSVConsumer: RecordConsumer {
    let formatName = "apim-csv"
    /// Normalised column names (lower-cased, suffixes removed).
    let header: [String]
    private let sink = GatewaySink()

    func limitDates(to window: DateWindow) { sink.dateWindow = window }
    private var reader = CSVRecordReader()
    private var recordStartLine = 0

    var pendingRowCount: Int { sink.pendingRowCount }

    init(header: [String]) {
        self.header = header
    }

    /// Normalises a header cell: `TimeGenerated [UTC]` → `timegenerated`, `url_s` → `url`.
    static func normalise(_ name: String) -> String {
        var text = GatewayText.trim(name).lowercased()
        if text.hasSuffix("]"), let open = text.lastIndex(of: "[") {
            text = GatewayText.trim(text[..<open])
        }
        for suffix in ["_s", "_d", "_b", "_g", "_t"] where text.hasSuffix(suffix) && text.count > 2 {
            text.removeLast(2)
            break
        }
        return text
    }

    /// The header of a CSV export in `head`, when it is an APIM gateway log export.
    static func header(fromHead head: [UInt8]) -> [String]? {
        var reader = CSVRecordReader()
        var lineNumber = 0
        for line in head.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Array(line)
            if bytes.last == 0x0D { bytes.removeLast() }
            if lineNumber == 1, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                bytes.removeFirst(3)
            }
            let row = bytes.withUnsafeBytes { reader.feed($0) }
            switch row {
            case .pending: continue
            case .failed: return nil
            case .row(let cells):
                let names = cells.map(normalise)
                guard names.count >= 3, names.contains("timegenerated"),
                    names.contains(where: { ["calleripaddress", "apiid", "backendurl", "correlationid"].contains($0) })
                else { return nil }
                return names
            }
        }
        return nil
    }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        if !reader.isInRecord {
            recordStartLine = lineNumber
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .ignored }
        }
        var body = line
        if lineNumber == 1, line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
            body = UnsafeRawBufferPointer(rebasing: line[3...])
        }
        switch reader.feed(body) {
        case .pending:
            return .pending
        case .failed(let reason):
            return .malformed(reason: reason)
        case .row(let cells):
            if cells.count == header.count, cells.map(Self.normalise) == header { return .ignored }
            guard cells.count == header.count else {
                return .malformed(reason: "\(cells.count) values for \(header.count) columns")
            }
            var fields: APIMRecord.Fields = [:]
            for (name, value) in zip(header, cells) where !value.isEmpty { fields[name] = value }
            return GatewayOutcome.accept(APIMRecord.map(fields: fields), line: recordStartLine, sink: sink)
        }
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        var leftOver: ConsumedLine?
        if final, reader.isInRecord {
            leftOver = .malformed(
                reason: "the record that starts at line \(recordStartLine) never ends (a quoted field is not closed)"
            )
            reader = CSVRecordReader()
        }
        try sink.flush(db: db, fileID: fileID, final: final)
        return leftOver
    }
}

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
