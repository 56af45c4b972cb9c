/// Recognises gateway log formats and makes their consumers.
///
/// - `apim-json`: APIM `GatewayLogs` resource logs: JSON Lines, `{"records": [...]}` envelopes,
///   pretty-printed records. Claimed when the head is JSON that mentions `GatewayLogs`,
///   `apiId` or `backendUrl`.
/// - `apim-csv`: the Log Analytics `ApiManagementGatewayLogs` table exported as CSV. Claimed
///   when the first line is a CSV header naming `TimeGenerated` and an APIM column.
/// - `nginx`: nginx `combined` (and `main`, with a trailing `"$http_x_forwarded_for"`). Claimed
///   when one of the first lines parses as such.
/// - `apim-shgw-text`: the self-hosted gateway's default text stdout (`[Info] 2025-02-25T07:16:04
///   [GatewayLogs], key: value, …`). Claimed when the first line starts `[Level] YYYY-MM-DDT`.
public enum GatewayFormats {
    /// A consumer for an input whose first bytes are a gateway log, or `nil`.
    ///
    /// - Parameters:
    ///   - head: The first bytes of the decompressed input.
    ///   - path: The input's path, for messages.
    /// - Returns: The consumer, or `nil` when the input is not a gateway log.
    public static func consumer(forHead head: [UInt8], path: String) -> (any RecordConsumer)? {
        switch sniff(head) {
        case .apimJSON: APIMJSONConsumer()
        case .apimCSV(let header): APIMCSVConsumer(header: header)
        case .nginx: NginxConsumer()
        case .selfHostedText: SelfHostedTextConsumer()
        case nil: nil
        }
    }

    enum Kind: Equatable {
        case apimJSON
        case apimCSV(header: [String])
        case nginx
        case selfHostedText
    }

    static func sniff(_ head: [UInt8]) -> Kind? {
        var index = 0
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF { index = 3 }
        while index < head.count,
            head[index] == 0x20 || head[index] == 0x09 || head[index] == 0x0D
                || head[index] == 0x0A
        {
            index += 1
        }
        guard index < head.count else { return nil }
        let body = head[index...]
        if SelfHostedTextConsumer.looksLikeLine(body.prefix { $0 != 0x0A }) { return .selfHostedText }
        if body.first == UInt8(ascii: "{") || body.first == UInt8(ascii: "[") {
            let lowered = String(
                decoding: body.prefix(4096).map { $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0) },
                as: UTF8.self
            )
            let markers = ["gatewaylogs", "\"apiid\"", "\"backendurl\""]
            return markers.contains(where: { lowered.contains($0) }) ? .apimJSON : nil
        }
        if let header = APIMCSVConsumer.header(fromHead: Array(body)) { return .apimCSV(header: header) }
        var lines = 0
        for line in body.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(5) {
            lines += 1
            var bytes = Array(line)
            if bytes.last == 0x0D { bytes.removeLast() }
            if bytes.withUnsafeBytes({ NginxParser.parse($0) }).isNginx { return .nginx }
            if lines >= 5 { break }
        }
        return nil
    }
}
