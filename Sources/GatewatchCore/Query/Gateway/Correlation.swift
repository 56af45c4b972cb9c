import Foundation
import GRDB

/// Why `correlate` could not run.
public enum CorrelationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The store holds no gateway records.
    case noGatewayData
    /// The store holds no backend requests.
    case noBackendData
    /// The gateway and backend data do not overlap in time (in the requested range).
    case noOverlap(gateway: String, backend: String)
    /// `--window` is not a duration.
    case badWindow(String)
    /// `--request-id-field` names a field no stored backend request carries.
    case noRequestIDField(String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .noGatewayData:
            "the store holds no gateway records; ingest the gateway's logs first (APIM GatewayLogs JSON or CSV, nginx)"
        case .noBackendData:
            "the store holds no backend requests; ingest the backend's W3C logs first"
        case .noOverlap(let gateway, let backend):
            "the gateway logs (\(gateway)) and the backend logs (\(backend)) do not overlap in the requested range; "
                + "ingest logs of the same period, or widen --since/--until"
        case .badWindow(let text):
            "cannot read --window '\(text)'; use seconds or milliseconds: 2s, 1500ms, 2"
        case .noRequestIDField(let name):
            "no stored backend request carries a '\(name)' field; log the gateway's request id in an IIS custom "
                + "field and ingest the backend logs again, or drop --request-id-field to reconcile statistically"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// What `correlate` compares.
public struct CorrelationOptions: Sendable, Equatable {
    /// The time range; it is further limited to the period both sources cover.
    public var range: TimeRange = .all
    /// The clock-skew window: a backend request matches a gateway call this far apart (after the
    /// detected skew is removed).
    public var windowMilliseconds: Int64 = 2000
    /// Require the exact join on this backend field (as named in `#Fields`).
    public var requestIDField: String?
    /// The most unmatched requests listed per side (the counts are always complete).
    public var listLimit = 1000

    /// Creates default options.
    public init() {}

    /// Parses a window: `2s`, `1500ms`, `2` (seconds), `0.5s`.
    ///
    /// - Parameter text: The window.
    /// - Returns: Milliseconds.
    /// - Throws: ``CorrelationError/badWindow(_:)``.
    public static func parseWindow(_ text: String) throws -> Int64 {
        let trimmed = GatewayText.trim(text).lowercased()
        var number = Substring(trimmed)
        var scale = 1000.0
        if number.hasSuffix("ms") {
            number = number.dropLast(2)
            scale = 1
        } else if number.hasSuffix("s") {
            number = number.dropLast()
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale <= 86_400_000 else {
            throw CorrelationError.badWindow(text)
        }
        return Int64((value * scale).rounded())
    }
}

/// The result of `correlate`; its JSON form is a contract (extend, never break).
public struct CorrelationReport: Sendable, Equatable, Encodable {
    /// A backend request from a gateway address that no gateway record accounts for.
    public struct UnmatchedBackend: Sendable, Equatable, Encodable {
        /// When the backend logged it.
        public var time: String
        /// The client address (a gateway address).
        public var address: String
        /// The method.
        public var method: String
        /// The URL path.
        public var path: String
        /// The status.
        public var status: Int64
        /// The backend log file.
        public var file: String
        /// The line in it.
        public var line: Int64
        /// The request id the backend logged, if any.
        public var requestID: String?

        enum CodingKeys: String, CodingKey {
            case time, address, method, path, status, file, line
            case requestID = "request_id"
        }
    }

    /// A gateway backend call with no backend line.
    public struct UnmatchedGateway: Sendable, Equatable, Encodable {
        /// When the gateway logged it.
        public var time: String
        /// The gateway's request id.
        public var requestID: String?
        /// The gateway's caller.
        public var caller: String
        /// The backend method.
        public var method: String
        /// The backend URL path.
        public var path: String
        /// The backend status the gateway saw.
        public var status: Int64
        /// The gateway log file.
        public var file: String
        /// The line (the record's first line).
        public var line: Int64

        enum CodingKeys: String, CodingKey {
            case time, caller, method, path, status, file, line
            case requestID = "request_id"
        }
    }

    /// Counts per time bucket × method × path template (only buckets with a difference).
    public struct Bucket: Sendable, Equatable, Encodable {
        /// The bucket start (a minute, or an hour at `hour` granularity).
        public var time: String
        /// The method (empty at `hour` granularity).
        public var method: String
        /// The path template (empty at `hour` granularity).
        public var path: String
        /// The backend status (`hour` granularity only, else -1).
        public var status: Int64
        /// Backend requests from gateway addresses.
        public var backend: Int
        /// Gateway backend calls.
        public var gateway: Int
        /// Matched pairs.
        public var matched: Int
        /// Backend requests no gateway record accounts for.
        public var backendOnly: Int
        /// Gateway calls with no backend line.
        public var gatewayOnly: Int

        enum CodingKeys: String, CodingKey {
            case time, method, path, status, backend, gateway, matched
            case backendOnly = "backend_only"
            case gatewayOnly = "gateway_only"
        }
    }

    /// `request-id` (exact join) or `statistical`.
    public var method: String
    /// `request` (per-request rows) or `hour` (hourly aggregates only: coarse).
    public var granularity: String
    /// Backend requests from gateway addresses in the compared period.
    public var backendFromGateway: Int
    /// Backend requests matched to a gateway call.
    public var matched: Int
    /// Backend requests from gateway addresses that no gateway record accounts for.
    public var unmatchedBackend: Int
    /// Gateway backend calls with no backend line.
    public var unmatchedGateway: Int
    /// `matched / backendFromGateway` (0 when there is nothing to compare).
    public var coverage: Double
    /// Detected skew: backend clock minus gateway clock, seconds (0 when not measurable).
    public var skewSeconds: Double
    /// The window used, seconds.
    public var windowSeconds: Double
    /// Start of the compared period.
    public var since: String
    /// End of the compared period (exclusive).
    public var until: String
    /// The backend requests no gateway record accounts for (up to the list limit).
    public var unmatched: [UnmatchedBackend]
    /// The gateway calls with no backend line (up to the list limit).
    public var unmatchedGatewayRequests: [UnmatchedGateway]
    /// Buckets with a difference.
    public var buckets: [Bucket]
    /// How to read the result.
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case method, granularity, matched, coverage, unmatched, buckets, notes, since, until
        case backendFromGateway = "backend_from_gateway"
        case unmatchedBackend = "unmatched_backend"
        case unmatchedGateway = "unmatched_gateway"
        case skewSeconds = "skew_seconds"
        case windowSeconds = "window_seconds"
        case unmatchedGatewayRequests = "unmatched_gateway_requests"
    }
}

/// Reconciles the backend's requests from gateway addresses with the gateway's own records.
///
/// 1. **Exact** (`request-id`): when the backend logs the gateway's request id in a custom field
///    (stored in `backend_gateway_requests.request_id`), backend requests are joined to
///    `gateway_requests` on it. Backend rows without an id fall back to step 2.
/// 2. **Statistical**: per method × URL path (case-insensitive), backend requests and gateway
///    backend calls are paired in time order within the window, after removing the detected
///    clock skew (the median offset of nearest pairs). IIS logs whole seconds, so a backend
///    request at `s` may pair with a gateway call in `[s - window, s + 1 + window)`. The pairing
///    is optimal for equal windows, but which of two same-path requests a second apart is
///    "the" unmatched one is a guess: the counts are reliable, the listed rows are candidates.
/// 3. **Hourly** fallback: without `backend_gateway_requests` rows, counts per hour × status
///    from `hourly` (verdict `gateway`) are compared with `gateway_minutes`: coarse, no rows.
///
/// The compared period is the overlap of the two sources' data (and the requested range);
/// rows just outside it take part in pairing but are not counted.
public enum Correlation {
    struct BackendRow {
        var id: Int64
        var seconds: Int64
        var address: String
        var method: String
        var path: String
        var status: Int64
        var fileID: Int64
        var line: Int64
        var requestID: String?
    }

    struct GatewayRow {
        var id: Int64
        var milliseconds: Int64
        var requestID: String?
        var caller: String
        var method: String
        var path: String
        var status: Int64
        var fileID: Int64
        var line: Int64
    }

    /// Runs the reconciliation.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - options: The range, window and request-id field.
    /// - Returns: The report.
    /// - Throws: ``CorrelationError``, or database errors.
    public static func run(store: Store, options: CorrelationOptions) throws -> CorrelationReport {
        try store.query { db in try run(db: db, options: options) }
    }

    static func seconds(_ text: String?) -> Int64? {
        guard let text, let milliseconds = GatewayTime.parse(text) else { return nil }
        return GatewayRecord.floorDivide(milliseconds, 1000)
    }

    static func run(db: any SQLDatabase, options: CorrelationOptions) throws -> CorrelationReport {
        let gatewaySpan = try db.row("SELECT min(first_seen), max(last_seen) FROM gateway_minutes")
        guard let gatewayFirst = seconds(gatewaySpan?.optional(String.self, at: 0)),
            let gatewayLast = seconds(gatewaySpan?.optional(String.self, at: 1))
        else {
            throw CorrelationError.noGatewayData
        }
        let backendSpan = try db.row("SELECT min(first_seen), max(last_seen) FROM hourly_facts")
        guard let backendFirst = seconds(backendSpan?.optional(String.self, at: 0)),
            let backendLast = seconds(backendSpan?.optional(String.self, at: 1))
        else {
            throw CorrelationError.noBackendData
        }
        var since = max(gatewayFirst, backendFirst)
        var until = min(gatewayLast, backendLast) + 1
        if let start = options.range.since { since = max(since, start) }
        if let end = options.range.until { until = min(until, end) }
        guard since < until else {
            throw CorrelationError.noOverlap(
                gateway: "\(UTCTime.format(gatewayFirst)) – \(UTCTime.format(gatewayLast))",
                backend: "\(UTCTime.format(backendFirst)) – \(UTCTime.format(backendLast))"
            )
        }
        let margin = (options.windowMilliseconds + 999) / 1000 + 2
        let backendRows = try fetchBackend(db: db, since: since - margin, until: until + margin)
        if backendRows.isEmpty {
            if try !PortableSQL.hasRows(db, table: "backend_gateway_requests") {
                if let field = options.requestIDField { throw CorrelationError.noRequestIDField(field) }
                return try hourly(db: db, since: since, until: until, options: options)
            }
        }
        let gatewayRows = try fetchGateway(db: db, since: since - margin, until: until + margin)
        var matcher = Matcher(
            backend: backendRows,
            gateway: gatewayRows,
            since: since,
            until: until,
            options: options
        )
        if let field = options.requestIDField {
            let carrying =
                try db.value(
                    Int.self,
                    """
                    SELECT count(*) FROM backend_gateway_requests
                    WHERE request_id IS NOT NULL AND lower(request_id_field) = lower(CAST(? AS TEXT))
                    """,
                    [field]
                ) ?? 0
            guard carrying > 0 else { throw CorrelationError.noRequestIDField(field) }
            matcher.requestIDField = field
            matcher.requestIDRows = Set(
                try db.values(
                    Int64.self,
                    """
                    SELECT id FROM backend_gateway_requests
                    WHERE time >= ? AND time < ? AND request_id IS NOT NULL
                        AND lower(request_id_field) = lower(CAST(? AS TEXT))
                    """,
                    [UTCTime.format(since - margin), UTCTime.format(until + margin), field]
                )
            )
        }
        var report = matcher.run()
        let files = try fileNames(db: db)
        report.unmatched = matcher.unmatchedBackendRows.prefix(options.listLimit).map { row in
            CorrelationReport.UnmatchedBackend(
                time: UTCTime.format(row.seconds),
                address: row.address,
                method: row.method,
                path: row.path,
                status: row.status,
                file: files[row.fileID] ?? "",
                line: row.line,
                requestID: row.requestID
            )
        }
        report.unmatchedGatewayRequests = matcher.unmatchedGatewayRows.prefix(options.listLimit).map { row in
            CorrelationReport.UnmatchedGateway(
                time: UTCTime.format(GatewayRecord.floorDivide(row.milliseconds, 1000)),
                requestID: row.requestID,
                caller: row.caller,
                method: row.method,
                path: row.path,
                status: row.status,
                file: files[row.fileID] ?? "",
                line: row.line
            )
        }
        if matcher.unmatchedBackendRows.count > options.listLimit
            || matcher.unmatchedGatewayRows.count > options.listLimit
        {
            report.notes.append(
                "the lists show the first \(options.listLimit) unmatched requests per side; the counts are complete"
            )
        }
        return report
    }

    static func fileNames(db: any SQLDatabase) throws -> [Int64: String] {
        var names: [Int64: String] = [:]
        try db.forEachRow("SELECT id, path FROM files", []) { row in names[row[0] as Int64] = row[1] as String }
        return names
    }

    static func fetchBackend(db: any SQLDatabase, since: Int64, until: Int64) throws -> [BackendRow] {
        try db.rows(
            """
            SELECT id, time, address, method, path, status, file_id, line, request_id
            FROM backend_gateway_requests WHERE time >= ? AND time < ? ORDER BY time, id
            """,
            [UTCTime.format(since), UTCTime.format(until)]
        ).compactMap { row in
            guard let seconds = seconds(row.optional(String.self, at: 1)) else { return nil }
            let requestID = row.optional(String.self, at: 8)
            return BackendRow(
                id: row[0],
                seconds: seconds,
                address: row[2],
                method: row[3],
                path: row[4],
                status: row[5],
                fileID: row[6],
                line: row[7],
                requestID: requestID.map { GatewayText.trim($0).lowercased() }.flatMap {
                    $0.isEmpty || $0 == "-" ? nil : $0
                }
            )
        }
    }

    static func fetchGateway(db: any SQLDatabase, since: Int64, until: Int64) throws -> [GatewayRow] {
        try db.rows(
            """
            SELECT id, time_ms, request_id, caller, backend_method, backend_path, backend_status, file_id, line
            FROM gateway_requests WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms, id
            """,
            [since * 1000, until * 1000]
        ).map { row in
            GatewayRow(
                id: row[0],
                milliseconds: row[1],
                requestID: row.optional(String.self, at: 2),
                caller: row[3],
                method: row[4],
                path: row[5],
                status: row[6],
                fileID: row[7],
                line: row[8]
            )
        }
    }

    /// The coarse comparison from `hourly` when no per-request backend rows exist.
    static func hourly(
        db: any SQLDatabase,
        since: Int64,
        until: Int64,
        options: CorrelationOptions
    ) throws
        -> CorrelationReport
    {
        let start = GatewayRecord.floorDivide(since, 3600) * 3600
        let end = GatewayRecord.floorDivide(until + 3599, 3600) * 3600
        struct Key: Hashable, Comparable {
            var hour: String
            var status: Int64
            static func < (lhs: Key, rhs: Key) -> Bool { (lhs.hour, lhs.status) < (rhs.hour, rhs.status) }
        }
        var backend: [Key: Int] = [:]
        try db.forEachRow(
            """
            SELECT hour, status, sum(requests) FROM hourly
            WHERE verdict = 'gateway' AND hour >= ? AND hour < ? GROUP BY hour, status
            """,
            [UTCTime.format(start), UTCTime.format(end)]
        ) { row in
            backend[Key(hour: row[0], status: row[1]), default: 0] += row[2] as Int
        }
        var gateway: [Key: Int] = [:]
        // The hour is cut from the minute's text (`2026-11-20T13:05:00Z` → `2026-11-20T13:00:00Z`),
        // which both engines do alike (substr counts characters; the text is ASCII).
        try db.forEachRow(
            """
            SELECT substr(minute, 1, 13) || ':00:00Z', backend_status, sum(requests) FROM gateway_minutes
            WHERE backend_status >= 0 AND minute >= ? AND minute < ? GROUP BY 1, 2
            """,
            [UTCTime.format(start), UTCTime.format(end)]
        ) { row in
            gateway[Key(hour: row[0], status: row[1]), default: 0] += row[2] as Int
        }
        var report = CorrelationReport(
            method: "statistical",
            granularity: "hour",
            backendFromGateway: 0,
            matched: 0,
            unmatchedBackend: 0,
            unmatchedGateway: 0,
            coverage: 0,
            skewSeconds: 0,
            windowSeconds: Double(options.windowMilliseconds) / 1000,
            since: UTCTime.format(start),
            until: UTCTime.format(end),
            unmatched: [],
            unmatchedGatewayRequests: [],
            buckets: [],
            notes: []
        )
        for key in Set(backend.keys).union(gateway.keys).sorted() {
            let b = backend[key] ?? 0
            let g = gateway[key] ?? 0
            report.backendFromGateway += b
            report.matched += min(b, g)
            report.unmatchedBackend += max(0, b - g)
            report.unmatchedGateway += max(0, g - b)
            if b != g {
                report.buckets.append(
                    CorrelationReport.Bucket(
                        time: key.hour,
                        method: "",
                        path: "",
                        status: key.status,
                        backend: b,
                        gateway: g,
                        matched: min(b, g),
                        backendOnly: max(0, b - g),
                        gatewayOnly: max(0, g - b)
                    )
                )
            }
        }
        report.coverage = report.backendFromGateway > 0 ? Double(report.matched) / Double(report.backendFromGateway) : 0
        report.notes = [
            "statistical and coarse: compared per hour × status from the hourly aggregates, because the store has "
                + "no per-request backend rows (backend_gateway_requests); no request can be listed and no skew measured",
            "compared whole hours from \(report.since) to \(report.until), where both sources have data",
        ]
        return report
    }
}
