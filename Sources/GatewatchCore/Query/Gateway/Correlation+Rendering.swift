import Foundation

extension CorrelationReport {
    /// The summary as metric/value rows.
    var summaryRows: [[String]] {
        [
            ["method", method + (method == "statistical" ? " (statistical result)" : "")],
            ["granularity", granularity],
            ["period", "\(since) – \(until)"],
            ["backend_from_gateway", String(backendFromGateway)],
            ["matched", String(matched)],
            ["unmatched_backend", String(unmatchedBackend)],
            ["unmatched_gateway", String(unmatchedGateway)],
            ["coverage", String(format: "%.4f", coverage)],
            ["skew_seconds", String(format: "%+.3f", skewSeconds)],
            ["window_seconds", String(format: "%.3f", windowSeconds)],
        ]
    }

    /// Text for people: the summary, notes, buckets with a difference and the unmatched lists;
    /// every log-derived cell escaped for the terminal.
    ///
    /// - Returns: The text.
    public func renderText() -> String {
        var output = TextTable(columns: ["metric", "value"], rows: summaryRows).renderText()
        output += "\n" + notes.map { "note: " + SafeText.terminal($0) }.joined(separator: "\n") + "\n"
        if !unmatched.isEmpty {
            output += "\nBackend requests from gateway addresses with no gateway record:\n"
            output += TextTable(
                columns: ["time", "address", "method", "path", "status", "file", "line"],
                rows: unmatched.map {
                    [$0.time, $0.address, $0.method, $0.path, String($0.status), $0.file, String($0.line)]
                },
                numericColumns: [4, 6]
            ).renderText()
        }
        if !unmatchedGatewayRequests.isEmpty {
            output += "\nGateway backend calls with no backend log line:\n"
            output += TextTable(
                columns: ["time", "request_id", "caller", "method", "path", "status", "file", "line"],
                rows: unmatchedGatewayRequests.map {
                    [
                        $0.time, $0.requestID ?? "", $0.caller, $0.method, $0.path, String($0.status), $0.file,
                        String($0.line),
                    ]
                },
                numericColumns: [5, 7]
            ).renderText()
        }
        if !buckets.isEmpty {
            output +=
                "\nBuckets with a difference (\(granularity == "hour" ? "hour × status" : "minute × method × path")):\n"
            output += bucketTable.renderText()
        }
        return output
    }

    var bucketTable: TextTable {
        TextTable(
            columns: [
                "time", "method", "path", "status", "backend", "gateway", "matched", "backend_only", "gateway_only",
            ],
            rows: buckets.map {
                [
                    $0.time, $0.method, $0.path, $0.status >= 0 ? String($0.status) : "", String($0.backend),
                    String($0.gateway), String($0.matched), String($0.backendOnly), String($0.gatewayOnly),
                ]
            },
            numericColumns: [3, 4, 5, 6, 7, 8]
        )
    }

    /// CSV: one row per unmatched request of either side (`side` = `backend` or `gateway`).
    ///
    /// - Returns: The CSV text.
    public func renderCSV() -> String {
        var rows = unmatched.map {
            [
                "backend", $0.time, $0.address, $0.method, $0.path, String($0.status), $0.file, String($0.line),
                $0.requestID ?? "",
            ]
        }
        rows += unmatchedGatewayRequests.map {
            [
                "gateway", $0.time, $0.caller, $0.method, $0.path, String($0.status), $0.file, String($0.line),
                $0.requestID ?? "",
            ]
        }
        return TextTable(
            columns: ["side", "time", "address", "method", "path", "status", "file", "line", "request_id"],
            rows: rows
        ).renderCSV()
    }

    /// NDJSON: one object per unmatched request of either side, each with a `side` key.
    ///
    /// - Returns: The NDJSON text.
    /// - Throws: Encoding errors.
    public func renderNDJSON() throws -> String {
        struct Line<Value: Encodable>: Encodable {
            var side: String
            var value: Value
            func encode(to encoder: any Encoder) throws {
                try value.encode(to: encoder)
                var container = encoder.container(keyedBy: SideKey.self)
                try container.encode(side, forKey: .side)
            }
            enum SideKey: String, CodingKey { case side }
        }
        var output = ""
        for entry in unmatched { output += try JSONOutput.encode(Line(side: "backend", value: entry)) + "\n" }
        for entry in unmatchedGatewayRequests {
            output += try JSONOutput.encode(Line(side: "gateway", value: entry)) + "\n"
        }
        return output
    }
}
