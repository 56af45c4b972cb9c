import Foundation
import GRDB

/// Reads APIM `GatewayLogs` JSON: JSON Lines (storage `PT1H.json`), `{"records": [...]}`
/// envelopes (Event Hubs, older blobs; one per line or pretty-printed), pretty-printed records.
///
/// Each object is parsed with `JSONSerialization` (gateway logs are far smaller than backend
/// logs); a broken object is a malformed line, and reading resumes at the next line. A broken
/// record that spans lines is reported at the line it starts on.
final class APIMJSONConsumer: RecordConsumer {
    let formatName = "apim-json"
    private var framer = JSONRecordFramer()
    private let sink = GatewaySink()

    func limitDates(to window: DateWindow) { sink.dateWindow = window }

    var pendingRowCount: Int { sink.pendingRowCount }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        var outcomes: [ConsumedLine] = []
        framer.feed(line, lineNumber: lineNumber) { event in
            switch event {
            case .malformed(let reason, let start):
                outcomes.append(Self.malformed(reason, start: start, lineNumber: lineNumber))
            case .object(let bytes, let start):
                read(bytes, start: start, lineNumber: lineNumber, into: &outcomes)
            }
        }
        return GatewayOutcome.collapse(outcomes, isOpen: framer.isOpen)
    }

    /// A JSON Lines record cut short: no record was open before the line, and the line leaves one
    /// open (APIM appends to the hour's `PT1H.json` blob while it is being read).
    func leavesUnterminatedLine(_ line: UnsafeRawBufferPointer) -> Bool {
        guard !framer.isOpen, let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return false }
        // Open brackets (outside strings) or an open string at the end: the record goes on.
        var depth = 0
        var inString = false
        var escaped = false
        for byte in line {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return inString || depth > 0
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        var leftOver: ConsumedLine?
        if final, case .malformed(let reason, let start)? = framer.finish() {
            leftOver = Self.malformed(reason, start: start, lineNumber: nil)
        }
        try sink.flush(db: db, fileID: fileID, final: final)
        return leftOver
    }

    /// A broken record, reported at the line it starts on: the line being read, or an earlier one
    /// (`lineNumber` is nil at the end of the input).
    private static func malformed(_ reason: String, start: JSONRecordFramer.Start, lineNumber: Int?) -> ConsumedLine {
        if start.line == lineNumber { return .malformed(reason: reason) }
        return .malformedRecord(
            reason: reason,
            startLine: start.line,
            text: String(decoding: start.text, as: UTF8.self)
        )
    }

    private func read(
        _ bytes: [UInt8],
        start: JSONRecordFramer.Start,
        lineNumber: Int,
        into outcomes: inout [ConsumedLine]
    ) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            let reason = "not valid JSON (\(GatewayOutcome.describe(error)))"
            outcomes.append(Self.malformed(reason, start: start, lineNumber: lineNumber))
            return
        }
        guard let dictionary = object as? [String: Any] else {
            outcomes.append(Self.malformed("not a JSON object", start: start, lineNumber: lineNumber))
            return
        }
        if let records = dictionary["records"] as? [Any] {
            for element in records {
                guard let record = element as? [String: Any] else {
                    let reason = "an element of 'records' is not a JSON object"
                    outcomes.append(Self.malformed(reason, start: start, lineNumber: lineNumber))
                    continue
                }
                outcomes.append(accept(APIMRecord.map(json: record), start: start, lineNumber: lineNumber))
            }
            return
        }
        outcomes.append(accept(APIMRecord.map(json: dictionary), start: start, lineNumber: lineNumber))
    }

    private func accept(_ parse: GatewayParse, start: JSONRecordFramer.Start, lineNumber: Int) -> ConsumedLine {
        if case .malformed(let reason) = parse { return Self.malformed(reason, start: start, lineNumber: lineNumber) }
        return GatewayOutcome.accept(parse, line: start.line, sink: sink)
    }
}

/// Helpers shared by the gateway consumers.
enum GatewayOutcome {
    /// Stores a parsed record and says what it was.
    static func accept(_ parse: GatewayParse, line: Int, sink: GatewaySink) -> ConsumedLine {
        switch parse {
        case .record(let record):
            guard sink.dateWindow.contains(record.timeSeconds) else {
                return .malformed(reason: sink.dateWindow.reason(for: record.timeSeconds))
            }
            sink.add(record, line: line)
            return .record(time: record.timeSeconds)
        case .skipped(let reason):
            return .skipped(reason: reason)
        case .malformed(let reason):
            return .malformed(reason: reason)
        }
    }

    /// The outcome of a line from the outcomes of the records it ended.
    ///
    /// A line can end a broken record and hold a whole one, or hold a whole envelope of records:
    /// each is counted (``ConsumedLine/several(_:)``), so the driver's counts match the stored rows.
    static func collapse(_ outcomes: [ConsumedLine], isOpen: Bool) -> ConsumedLine {
        if outcomes.count == 1 { return outcomes[0] }
        if outcomes.isEmpty { return isOpen ? .pending : .ignored }
        return .several(outcomes)
    }

    /// A short, single-line description of a Foundation error.
    static func describe(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
        return String(line.prefix(120))
    }
}
