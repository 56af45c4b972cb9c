import GRDB

/// Reads nginx `combined` / `main` access logs.
final class NginxConsumer: RecordConsumer {
    let formatName = "nginx"
    private let sink = GatewaySink()

    func limitDates(to window: DateWindow) { sink.dateWindow = window }

    var pendingRowCount: Int { sink.pendingRowCount }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .ignored }
        switch NginxParser.parse(line) {
        case .record(let record):
            return GatewayOutcome.accept(.record(record), line: lineNumber, sink: sink)
        case .malformed(let reason):
            return .malformed(reason: "not an nginx combined line: \(reason)")
        }
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        try sink.flush(db: db, fileID: fileID, final: final)
        return nil
    }
}
