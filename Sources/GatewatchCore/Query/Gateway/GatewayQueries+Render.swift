/// Rendering of the gateway-side query results (`top --side gateway`, the gateway part of `ip`).
extension GatewayCaller {
    /// Renders a ranking in an output format; log-derived text is escaped by the writers.
    ///
    /// - Parameters:
    ///   - callers: The ranking.
    ///   - format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public static func render(_ callers: [GatewayCaller], format: OutputFormat) throws -> String {
        switch format {
        case .json:
            return try JSONOutput.encode(callers) + "\n"
        case .ndjson:
            return try callers.map { try JSONOutput.encode($0) + "\n" }.joined()
        case .csv, .table:
            let table = TextTable(
                columns: ["address", "requests", "backend_calls", "errors", "apis", "first_seen", "last_seen"],
                rows: callers.map {
                    [
                        $0.address, String($0.requests), String($0.backendCalls), String($0.errors), String($0.apis),
                        $0.firstSeen, $0.lastSeen,
                    ]
                },
                numericColumns: [1, 2, 3, 4]
            )
            return format == .csv ? table.renderCSV() : table.renderText()
        }
    }
}

extension GatewayAddressStats {
    /// The gateway side of `ip` as text: nothing when the gateway never saw the address.
    public func renderText() -> String {
        guard requests > 0 else { return "" }
        var output = "\ngateway side: \(requests) requests, \(backendCalls) forwarded to the backend"
        output += ", first seen \(firstSeen ?? "-"), last seen \(lastSeen ?? "-")\n"
        let codes = byResponseCode.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }
        output += TextTable(columns: ["response", "requests"], rows: codes, numericColumns: [1]).renderText()
        if !apis.isEmpty {
            output +=
                "\n"
                + TextTable(
                    columns: ["api", "requests", "backend_calls"],
                    rows: apis.map { [$0.apiID, String($0.requests), String($0.backendCalls)] },
                    numericColumns: [1, 2]
                ).renderText()
        }
        return output
    }
}
