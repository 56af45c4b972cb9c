/// Reads the APIM self-hosted gateway's default `text` stdout logs (log-formats spec §3.3).
///
/// ```text
/// [Info] 2025-02-25T07:16:04.050 [GatewayLogs], correlationId: 6d36…, totalTime: 4348, callerIpAddress: "10.168.102.141", …
/// ```
///
/// A request line is `[Level] time [GatewayLogs],` then `key: value` pairs separated by `, `,
/// strings in double quotes (with `\"` escapes); the keys are those of the `GatewayLogs` resource
/// log, so the record is read as ``APIMRecord`` reads JSON. Lines of other categories
/// (`[Info] … [ConfigurationSync] …`) are skipped with a reason.
final class SelfHostedTextConsumer: RecordConsumer {
    let formatName = "apim-shgw-text"
    private let sink = GatewaySink()

    func limitDates(to window: DateWindow) { sink.dateWindow = window }

    var pendingRowCount: Int { sink.pendingRowCount }

    /// Whether a line starts as the self-hosted gateway's text logs do: `[Level] YYYY-MM-DDT`.
    static func looksLikeLine(_ line: some Collection<UInt8>) -> Bool {
        guard let (_, rest) = prefix(Array(line.prefix(64))) else { return false }
        let digits = rest.prefix(11)
        guard digits.count == 11 else { return false }
        for (offset, byte) in digits.enumerated() {
            switch offset {
            case 4, 7: if byte != UInt8(ascii: "-") { return false }
            case 10: if byte != UInt8(ascii: "T") && byte != UInt8(ascii: " ") { return false }
            default: if byte < 0x30 || byte > 0x39 { return false }
            }
        }
        return true
    }

    /// The level and what follows `[Level] `, or `nil`.
    private static func prefix(_ bytes: [UInt8]) -> (String, ArraySlice<UInt8>)? {
        guard bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1,
            bytes[1..<close].allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }),
            close + 1 < bytes.count, bytes[close + 1] == 0x20
        else { return nil }
        return (String(decoding: bytes[1..<close], as: UTF8.self), bytes[(close + 2)...])
    }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .ignored }
        return GatewayOutcome.accept(Self.parse(Array(line)), line: lineNumber, sink: sink)
    }

    /// Reads one line: a request record, a line of another category (skipped), or malformed.
    static func parse(_ bytes: [UInt8]) -> GatewayParse {
        guard let (_, afterLevel) = prefix(bytes), let space = afterLevel.firstIndex(of: 0x20) else {
            return .malformed("not a self-hosted gateway log line ('[Level] time [Category], key: value, …')")
        }
        let rest = afterLevel[(space + 1)...]
        guard rest.first == UInt8(ascii: "["), let close = rest.firstIndex(of: UInt8(ascii: "]")) else {
            return .malformed("no [Category] after the time")
        }
        let category = String(decoding: rest[(rest.startIndex + 1)..<close], as: UTF8.self)
        guard category.lowercased() == "gatewaylogs" else {
            return .skipped("category '\(APIMRecord.bounded(category))' is not GatewayLogs")
        }
        var fields = pairs(rest[(close + 1)...])
        if fields["timegenerated"] == nil {
            fields["timegenerated"] = String(decoding: afterLevel[afterLevel.startIndex..<space], as: UTF8.self)
        }
        return APIMRecord.map(fields: fields)
    }

    /// `, key: value` pairs, keys lower-cased; quoted values unquoted (`\"` and `\\` escapes).
    static func pairs(_ text: ArraySlice<UInt8>) -> APIMRecord.Fields {
        var fields: APIMRecord.Fields = [:]
        var index = text.startIndex
        let end = text.endIndex
        while index < end {
            while index < end, text[index] == UInt8(ascii: ",") || text[index] == 0x20 { index += 1 }
            let keyStart = index
            while index < end, text[index] != UInt8(ascii: ":") { index += 1 }
            guard index < end else { break }
            let key = String(decoding: text[keyStart..<index], as: UTF8.self).lowercased()
            index += 1
            while index < end, text[index] == 0x20 { index += 1 }
            var value: [UInt8] = []
            if index < end, text[index] == UInt8(ascii: "\"") {
                index += 1
                while index < end, text[index] != UInt8(ascii: "\"") {
                    if text[index] == UInt8(ascii: "\\"), index + 1 < end { index += 1 }
                    value.append(text[index])
                    index += 1
                }
                index += 1
            } else {
                while index < end, !(text[index] == UInt8(ascii: ",") && (index + 1 == end || text[index + 1] == 0x20))
                {
                    value.append(text[index])
                    index += 1
                }
            }
            // The first occurrence wins (correlationId is logged twice).
            if fields[key] == nil { fields[key] = String(decoding: value, as: UTF8.self) }
        }
        return fields
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        try sink.flush(db: db, fileID: fileID, final: final)
        return nil
    }
}
