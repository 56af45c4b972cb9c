import GRDB

/// One caller of the gateway in the `top --side gateway` ranking.
///
/// JSON: `{"address": "…", "requests": N, "backend_calls": N, "errors": N, "apis": N,
/// "first_seen": "…", "last_seen": "…"}`.
public struct GatewayCaller: Sendable, Equatable, Codable {
    /// The caller's address (canonical, or the raw text the gateway logged).
    public var address: String
    /// Requests to the gateway.
    public var requests: Int
    /// Requests the gateway forwarded to the backend.
    public var backendCalls: Int
    /// Requests answered with a status of 400 or more.
    public var errors: Int
    /// Distinct APIs called.
    public var apis: Int
    /// The first request (UTC).
    public var firstSeen: String
    /// The last request (UTC).
    public var lastSeen: String

    enum CodingKeys: String, CodingKey {
        case address, requests, errors, apis
        case backendCalls = "backend_calls"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

/// One address's traffic as the gateway saw it (for `ip`, next to the backend side).
public struct GatewayAddressStats: Sendable, Equatable, Codable {
    /// Requests per API id.
    public struct API: Sendable, Equatable, Codable {
        /// The API id (empty for nginx).
        public var apiID: String
        /// Requests.
        public var requests: Int
        /// Requests forwarded to the backend.
        public var backendCalls: Int

        enum CodingKeys: String, CodingKey {
            case requests
            case apiID = "api_id"
            case backendCalls = "backend_calls"
        }
    }

    /// The address.
    public var address: String
    /// Requests to the gateway.
    public var requests: Int
    /// Requests forwarded to the backend.
    public var backendCalls: Int
    /// Requests per response code.
    public var byResponseCode: [String: Int]
    /// Requests per API, busiest first.
    public var apis: [API]
    /// The first request (UTC), if any.
    public var firstSeen: String?
    /// The last request (UTC), if any.
    public var lastSeen: String?

    enum CodingKeys: String, CodingKey {
        case address, requests, apis
        case backendCalls = "backend_calls"
        case byResponseCode = "by_response_code"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

/// Queries over the gateway-side tables.
public enum GatewayQueries {
    static func conditions(_ range: TimeRange, column: String) -> (String, [any DatabaseValueConvertible]) {
        var clauses = ["1 = 1"]
        var arguments: [any DatabaseValueConvertible] = []
        if let since = range.since {
            // Hour rows: an hour that starts before `since` still holds requests after it.
            clauses.append("\(column) >= ?")
            arguments.append(UTCTime.format(since - since % 3600))
        }
        if let until = range.until {
            clauses.append("\(column) < ?")
            arguments.append(UTCTime.format(until))
        }
        return (clauses.joined(separator: " AND "), arguments)
    }

    /// The gateway's busiest callers.
    ///
    /// Hourly granularity: `since` is rounded down to the hour. Sorted by requests descending,
    /// then address.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - range: The time range.
    ///   - limit: The most callers returned.
    /// - Returns: The ranking.
    /// - Throws: Database errors.
    public static func topCallers(store: Store, range: TimeRange, limit: Int = 20) throws -> [GatewayCaller] {
        let (whereClause, arguments) = conditions(range, column: "hour")
        return try store.query { db in
            // Ordered by position: `requests` is also a column of the table.
            try db.rows(
                """
                SELECT address, sum(requests) AS requests, sum(backend_calls),
                    sum(CASE WHEN response_code >= 400 THEN requests ELSE 0 END),
                    count(DISTINCT api_id), min(first_seen), max(last_seen)
                FROM gateway_callers WHERE \(whereClause)
                GROUP BY address ORDER BY 2 DESC, 1 LIMIT ?
                """,
                arguments + [max(0, limit)]
            ).map { row in
                GatewayCaller(
                    address: row[0],
                    requests: row[1],
                    backendCalls: row[2],
                    errors: row[3],
                    apis: row[4],
                    firstSeen: row[5],
                    lastSeen: row[6]
                )
            }
        }
    }

    /// One address's gateway-side statistics.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - address: The address (any text form; compared canonically).
    ///   - range: The time range (hourly granularity).
    /// - Returns: The statistics; zero counts when the gateway never saw the address.
    /// - Throws: Database errors.
    public static func addressStats(store: Store, address: String, range: TimeRange) throws -> GatewayAddressStats {
        let canonical = GatewayText.caller(address)
        let (whereClause, arguments) = conditions(range, column: "hour")
        return try store.query { db in
            var stats = GatewayAddressStats(
                address: canonical,
                requests: 0,
                backendCalls: 0,
                byResponseCode: [:],
                apis: [],
                firstSeen: nil,
                lastSeen: nil
            )
            let rows = try db.rows(
                """
                SELECT api_id, response_code, sum(requests), sum(backend_calls), min(first_seen), max(last_seen)
                FROM gateway_callers WHERE address = ? AND \(whereClause)
                GROUP BY api_id, response_code
                """,
                [canonical] + arguments
            )
            var apis: [String: (Int, Int)] = [:]
            for row in rows {
                let api: String = row[0]
                let code: Int64 = row[1]
                let requests: Int = row[2]
                let backend: Int = row[3]
                stats.requests += requests
                stats.backendCalls += backend
                stats.byResponseCode[String(code), default: 0] += requests
                let current = apis[api] ?? (0, 0)
                apis[api] = (current.0 + requests, current.1 + backend)
                let first: String = row[4]
                let last: String = row[5]
                stats.firstSeen = min(stats.firstSeen ?? first, first)
                stats.lastSeen = max(stats.lastSeen ?? last, last)
            }
            stats.apis = apis.map {
                GatewayAddressStats.API(apiID: $0.key, requests: $0.value.0, backendCalls: $0.value.1)
            }
            .sorted { ($0.requests, $1.apiID) > ($1.requests, $0.apiID) }
            return stats
        }
    }
}
