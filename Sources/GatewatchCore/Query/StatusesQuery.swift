import Foundation
import GRDB

/// Requests of one `status.substatus`, per verdict.
public struct StatusRow: Sendable, Equatable, Codable {
    /// `status.substatus`, such as `403.503`.
    public var status: String
    /// All verdicts.
    public var total: Int
    /// Gateway requests.
    public var gateway: Int
    /// Allowed requests.
    public var allowed: Int
    /// Platform requests.
    public var platform: Int
    /// Direct requests.
    public var direct: Int
    /// Requests ingested with nothing to judge them against (no policy, no gateway).
    public var unjudged = 0
}

/// Approximate time-taken percentiles of one endpoint.
///
/// A percentile is the upper bound of the histogram bucket where the cumulative count reaches
/// it (buckets 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, … ms), so it is at most one bucket
/// above the true value; `-1` means above the largest bucket.
public struct EndpointLatency: Sendable, Equatable, Codable {
    /// The endpoint (`cs-uri-stem`).
    public var endpoint: String
    /// Requests counted in the histogram.
    public var requests: Int
    /// Median, in milliseconds.
    public var p50Ms: Int
    /// 95th percentile, in milliseconds.
    public var p95Ms: Int
    /// 99th percentile, in milliseconds.
    public var p99Ms: Int

    enum CodingKeys: String, CodingKey {
        case endpoint, requests
        case p50Ms = "p50_ms"
        case p95Ms = "p95_ms"
        case p99Ms = "p99_ms"
    }
}

/// The `statuses` result: the status × verdict matrix and latency per endpoint.
public struct StatusesReport: Sendable, Equatable, Codable {
    /// Statuses in numeric order.
    public var statuses: [StatusRow]
    /// Endpoints, busiest first, at most the filter's limit; empty when a block filter is given
    /// (latency is not stored per address).
    public var endpoints: [EndpointLatency]
    /// How many endpoints there were before the limit.
    public var endpointsTotal: Int

    enum CodingKeys: String, CodingKey {
        case statuses, endpoints
        case endpointsTotal = "endpoints_total"
    }
}

/// `status.substatus` × verdict counts from `hourly`, and p50/p95/p99 per endpoint from `latency`.
public struct StatusesQuery: Sendable {
    /// The common filter; its limit caps the endpoint list.
    ///
    /// Latency is stored per UTC day, so its
    /// window is rounded out to whole days.
    public var filter: QueryFilter
    /// The verdicts counted.
    public var verdict: VerdictSelection

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - filter: The common filter.
    ///   - verdict: The verdicts counted.
    public init(filter: QueryFilter, verdict: VerdictSelection = .all) {
        self.filter = filter
        self.verdict = verdict
    }

    /// The bucket bound at which the cumulative count reaches `fraction` of the total.
    ///
    /// - Parameters:
    ///   - buckets: `(upper bound in ms, requests)`; bound `-1` is above the largest bucket.
    ///   - fraction: The percentile as a fraction, e.g. `0.95`.
    /// - Returns: The bucket's upper bound, `-1` for the overflow bucket, or `nil` without data.
    public static func percentile(_ buckets: [(bound: Int, requests: Int)], _ fraction: Double) -> Int? {
        let sorted = buckets.sorted { ($0.bound < 0 ? Int.max : $0.bound) < ($1.bound < 0 ? Int.max : $1.bound) }
        let total = sorted.reduce(0) { $0 + $1.requests }
        guard total > 0 else { return nil }
        // The rank of the percentile: the smallest count whose share reaches the fraction.
        let rank = max(1, Int((Double(total) * fraction).rounded(.up)))
        var cumulative = 0
        for bucket in sorted {
            cumulative += bucket.requests
            if cumulative >= rank { return bucket.bound }
        }
        return sorted.last?.bound
    }

    /// Runs the query.
    ///
    /// - Parameter store: The store.
    /// - Returns: The report.
    /// - Throws: Database errors.
    public func run(store: Store) throws -> StatusesReport {
        try store.query { db in
            let conditions = try filter.hourlyConditions(db, verdict: verdict.verdict)
            var matrix: [Int: [Int: StatusRow]] = [:]
            try db.forEachRow(
                """
                SELECT status, substatus, verdict, SUM(requests) FROM hourly \(conditions.whereClause)
                GROUP BY status, substatus, verdict
                """,
                conditions.values
            ) { row in
                let status: Int = row[0]
                let substatus: Int = row[1]
                let requests: Int = row[3]
                var entry =
                    matrix[status]?[substatus]
                    ?? StatusRow(
                        status: statusText(status, substatus),
                        total: 0,
                        gateway: 0,
                        allowed: 0,
                        platform: 0,
                        direct: 0
                    )
                entry.total += requests
                switch Verdict(rawValue: row[2] as String) {
                case .gateway: entry.gateway += requests
                case .allowed: entry.allowed += requests
                case .platform: entry.platform += requests
                case .direct: entry.direct += requests
                case .unjudged: entry.unjudged += requests
                case nil: break
                }
                matrix[status, default: [:]][substatus] = entry
            }
            let statuses = matrix.keys.sorted().flatMap { status in
                (matrix[status] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            }
            guard filter.cidrs.isEmpty else {
                return StatusesReport(statuses: statuses, endpoints: [], endpointsTotal: 0)
            }
            // Latency has no source column: it counts every source.
            var latency = filter.dayConditions()
            if let site = filter.site { latency.add("site = ?", site) }
            if let selected = verdict.verdict { latency.add("verdict = ?", selected.rawValue) }
            var histograms: [String: [(bound: Int, requests: Int)]] = [:]
            try db.forEachRow(
                "SELECT endpoint, bucket, SUM(requests) FROM latency \(latency.whereClause) GROUP BY endpoint, bucket",
                latency.values
            ) { row in
                histograms[row[0], default: []].append((bound: row[1], requests: row[2]))
            }
            var endpoints: [EndpointLatency] = histograms.compactMap { endpoint, buckets in
                guard let p50 = Self.percentile(buckets, 0.50), let p95 = Self.percentile(buckets, 0.95),
                    let p99 = Self.percentile(buckets, 0.99)
                else { return nil }
                return EndpointLatency(
                    endpoint: endpoint,
                    requests: buckets.reduce(0) { $0 + $1.requests },
                    p50Ms: p50,
                    p95Ms: p95,
                    p99Ms: p99
                )
            }
            endpoints.sort {
                $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.endpoint, $1.endpoint)
            }
            let total = endpoints.count
            endpoints.removeSubrange(filter.cap(total)...)
            return StatusesReport(statuses: statuses, endpoints: endpoints, endpointsTotal: total)
        }
    }
}

extension StatusesReport {
    /// The report in an output format.
    ///
    /// `json` is one object; `ndjson` and `csv` are one table
    /// with a `section` column (`status` rows, then `endpoint` rows).
    ///
    /// - Parameters:
    ///   - format: The format.
    ///   - hasBlockFilter: Whether `--cidr` was given (the table then explains the missing latency).
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat, hasBlockFilter: Bool = false) throws -> String {
        func milliseconds(_ value: Int) -> String { value < 0 ? "overflow" : String(value) }
        switch format {
        case .json:
            return try JSONOutput.encode(self) + "\n"
        case .ndjson:
            struct Line: Encodable {
                var section: String
                var status: StatusRow?
                var endpoint: EndpointLatency?
                func encode(to encoder: any Encoder) throws {
                    try status?.encode(to: encoder)
                    try endpoint?.encode(to: encoder)
                    var container = encoder.container(keyedBy: AnyCodingKey.self)
                    try container.encode(section, forKey: AnyCodingKey(stringValue: "section"))
                }
            }
            return try QueryRendering.ndjson(
                statuses.map { Line(section: "status", status: $0) }
                    + endpoints.map { Line(section: "endpoint", endpoint: $0) }
            )
        case .csv:
            let columns = [
                "section", "key", "total", "gateway", "allowed", "platform", "direct", "p50_ms", "p95_ms", "p99_ms",
            ]
            let rows =
                statuses.map {
                    [
                        "status", $0.status, String($0.total), String($0.gateway), String($0.allowed),
                        String($0.platform),
                        String($0.direct), "", "", "",
                    ]
                }
                + endpoints.map {
                    [
                        "endpoint", $0.endpoint, String($0.requests), "", "", "", "", String($0.p50Ms),
                        String($0.p95Ms),
                        String($0.p99Ms),
                    ]
                }
            return TextTable(columns: columns, rows: rows).renderCSV()
        case .table:
            // The unjudged column appears only when there are unjudged requests (JSON always has the key).
            let unjudged = statuses.contains { $0.unjudged > 0 }
            var output = TextTable(
                columns: ["status", "total", "gateway", "allowed", "platform", "direct"]
                    + (unjudged ? ["unjudged"] : []),
                rows: statuses.map {
                    [
                        $0.status, String($0.total), String($0.gateway), String($0.allowed), String($0.platform),
                        String($0.direct),
                    ] + (unjudged ? [String($0.unjudged)] : [])
                },
                numericColumns: unjudged ? [1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5]
            ).renderText()
            if hasBlockFilter {
                output += "\n(latency per endpoint is not stored per address, so --cidr leaves it out)\n"
            } else if !endpoints.isEmpty {
                output +=
                    "\n"
                    + TextTable(
                        columns: ["endpoint", "requests", "p50_ms", "p95_ms", "p99_ms"],
                        rows: endpoints.map {
                            [
                                $0.endpoint, String($0.requests), milliseconds($0.p50Ms), milliseconds($0.p95Ms),
                                milliseconds($0.p99Ms),
                            ]
                        },
                        numericColumns: [1, 2, 3, 4]
                    ).renderText()
                output += "(percentiles are approximate: the upper bound of the histogram bucket)\n"
                if let note = QueryRendering.truncationNote(
                    shown: endpoints.count,
                    total: endpointsTotal,
                    noun: "endpoints"
                ) {
                    output += note + "\n"
                }
            } else {
                output += "\n(no latency histogram in the store for this window)\n"
            }
            return output
        }
    }
}

/// A coding key from any string.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
