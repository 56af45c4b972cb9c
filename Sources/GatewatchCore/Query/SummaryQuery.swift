import GRDB

/// The headline numbers of the store: the `summary` command's result.
///
/// Its JSON form is a contract that later versions extend but never break:
///
/// ```json
/// {"files": 3, "requests": 120000, "malformed": 2, "first": "2026-01-02T03:04:05Z", "last": "…",
///  "by_verdict": {"gateway": 0, "allowed": 0, "platform": 0, "direct": 0, "unjudged": 0},
///  "direct": {"blocked": 0, "served": 0, "clients": 0}}
/// ```
public struct Summary: Sendable, Equatable, Codable {
    /// Direct-traffic totals.
    public struct Direct: Sendable, Equatable, Codable {
        /// Direct requests the backend refused.
        public var blocked: Int
        /// Direct requests the backend answered.
        public var served: Int
        /// Distinct direct client addresses.
        public var clients: Int
    }

    /// Files in the ledger (within the window: files with requests in it).
    public var files: Int
    /// Requests.
    public var requests: Int
    /// Malformed lines in those files.
    public var malformed: Int
    /// The earliest request.
    public var first: String?
    /// The latest request.
    public var last: String?
    /// Requests per verdict; every verdict is present.
    public var byVerdict: [String: Int]
    /// Direct-traffic totals.
    public var direct: Direct

    enum CodingKeys: String, CodingKey {
        case files, requests, malformed, first, last
        case byVerdict = "by_verdict"
        case direct
    }

    /// Encodes with `first`/`last` written as `null` when absent (the contract keeps every key).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(files, forKey: .files)
        try container.encode(requests, forKey: .requests)
        try container.encode(malformed, forKey: .malformed)
        try container.encode(first, forKey: .first)
        try container.encode(last, forKey: .last)
        try container.encode(byVerdict, forKey: .byVerdict)
        try container.encode(direct, forKey: .direct)
    }

    /// Computes the summary.
    ///
    /// The window applies to the hourly aggregates: an hour is included when it starts inside
    /// `[since, until)`, so bounds are effectively rounded down to the hour.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - range: The time window.
    ///   - source: Only what this ingesting host stored, or `nil` for every source.
    /// - Returns: The summary.
    /// - Throws: Database errors.
    public static func compute(store: Store, range: TimeRange, source: String? = nil) throws -> Summary {
        try store.query { db in
            var conditions = SQLConditions()
            if let since = range.since {
                conditions.add("hour >= ?", UTCTime.format(since - ((since % 3600) + 3600) % 3600))
            }
            if let until = range.until {
                conditions.add("hour < ?", UTCTime.format(until))
            }
            if let source { conditions.add("source = ?", source) }
            var byVerdict = Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0.rawValue, 0) })
            var requests = 0
            var blocked = 0
            var served = 0
            try db.forEachRow(
                "SELECT verdict, outcome, SUM(requests) AS n FROM hourly \(conditions.whereClause) GROUP BY verdict, outcome",
                conditions.values
            ) { row in
                let verdict: String = row["verdict"]
                let outcome: String = row["outcome"]
                let count: Int = row["n"]
                byVerdict[verdict, default: 0] += count
                requests += count
                guard verdict == Verdict.direct.rawValue else { return }
                if outcome == Outcome.blocked.rawValue { blocked += count }
                if outcome == Outcome.served.rawValue { served += count }
            }
            let bounds = try db.row(
                "SELECT MIN(first_seen) AS first, MAX(last_seen) AS last FROM hourly_facts \(conditions.whereClause)",
                conditions.values
            )
            var direct = conditions
            direct.add("verdict = 'direct'")
            let clients =
                try db.value(
                    Int.self,
                    "SELECT COUNT(DISTINCT address) FROM hourly \(direct.whereClause)",
                    direct.values
                )
                ?? 0
            var files = SQLConditions()
            files.add("status != 'ingesting'")
            if let since = range.since { files.add("last_time >= ?", UTCTime.format(since)) }
            if let until = range.until { files.add("first_time < ?", UTCTime.format(until)) }
            if let source { files.add("source = ?", source) }
            let fileRow = try db.row(
                "SELECT COUNT(*) AS n, COALESCE(SUM(malformed), 0) AS m FROM files \(files.whereClause)",
                files.values
            )
            return Summary(
                files: fileRow?.optional(Int.self, named: "n") ?? 0,
                requests: requests,
                malformed: fileRow?.optional(Int.self, named: "m") ?? 0,
                first: bounds?.optional(String.self, named: "first"),
                last: bounds?.optional(String.self, named: "last"),
                byVerdict: byVerdict,
                direct: Direct(blocked: blocked, served: served, clients: clients)
            )
        }
    }
}
