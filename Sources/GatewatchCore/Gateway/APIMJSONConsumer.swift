import Foundation
import GRDB

/// Reads APIM `GatewayLogs` JSON: JSON Lines (storage `PT1H.json`), `{"records": [...]}`
/// envelopes (Event Hubs, older blobs; one per line or pretty-printed), pretty-printed records.
///
/// Each object is parsed with `JSONSerialization` (gateway logs are far smaller than backend
/// logs); a broken object is a malformed line, and reading resumes at the next line.
final class APIMJSONConsumer: RecordConsumer {
    let formatName = "apim-json"
    private var framer = JSONRecordFramer()
    private let sink = GatewaySink()

    var pendingRowCount: Int { sink.pendingRowCount }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        var outcomes: [ConsumedLine] = []
        framer.feed(line, lineNumber: lineNumber) { event in
            switch event {
            case .malformed(let reason):
                outcomes.append(.malformed(reason: reason))
            case .object(let bytes, let startLine):
                read(bytes, startLine: startLine, into: &outcomes)
            }
        }
        return GatewayOutcome.collapse(outcomes, isOpen: framer.isOpen)
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        var leftOver: ConsumedLine?
        if final, case .malformed(let reason)? = framer.finish() { leftOver = .malformed(reason: reason) }
        try sink.flush(db: db, fileID: fileID, final: final)
        return leftOver
    }

    private func read(_ bytes: [UInt8], startLine: Int, into outcomes: inout [ConsumedLine]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            outcomes.append(.malformed(reason: "not valid JSON (\(GatewayOutcome.describe(error)))"))
            return
        }
        guard let dictionary = object as? [String: Any] else {
            outcomes.append(.malformed(reason: "not a JSON object"))
            return
        }
        if let records = dictionary["records"] as? [Any] {
            for element in records {
                guard let record = element as? [String: Any] else {
                    outcomes.append(.malformed(reason: "an element of 'records' is not a JSON object"))
                    continue
                }
                outcomes.append(accept(APIMRecord.map(json: record), line: startLine))
            }
            return
        }
        outcomes.append(accept(APIMRecord.map(json: dictionary), line: startLine))
    }

    private func accept(_ parse: GatewayParse, line: Int) -> ConsumedLine {
        GatewayOutcome.accept(parse, line: line, sink: sink)
    }
}

/// Helpers shared by the gateway consumers.
enum GatewayOutcome {
    /// Stores a parsed record and says what it was.
    static func accept(_ parse: GatewayParse, line: Int, sink: GatewaySink) -> ConsumedLine {
        switch parse {
        case .record(let record):
            sink.add(record, line: line)
            return .record(time: record.timeSeconds)
        case .skipped(let reason):
            return .skipped(reason: reason)
        case .malformed(let reason):
            return .malformed(reason: reason)
        }
    }

    /// One outcome for a line that produced several.
    ///
    /// `ConsumedLine` holds one outcome per line. A line can end a broken record and hold a
    /// whole one, or hold a whole envelope of records: the first malformed outcome wins (the
    /// break must be seen, with its line number), else the first record. Every whole record is
    /// stored either way; only the driver's per-file counts can then be lower than the rows.
    static func collapse(_ outcomes: [ConsumedLine], isOpen: Bool) -> ConsumedLine {
        if outcomes.count == 1 { return outcomes[0] }
        if outcomes.isEmpty { return isOpen ? .pending : .ignored }
        for outcome in outcomes {
            if case .malformed = outcome { return outcome }
        }
        for outcome in outcomes {
            if case .record = outcome { return outcome }
        }
        return outcomes[0]
    }

    /// A short, single-line description of a Foundation error.
    static func describe(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
        return String(line.prefix(120))
    }
}
