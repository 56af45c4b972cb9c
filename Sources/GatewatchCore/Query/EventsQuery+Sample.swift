import GRDB

/// What a sampled row stands for: its address, UTC day and outcome kept `rows` rows of `requests`
/// requests (the exact count, from `hourly`).
public struct EventSample: Sendable, Equatable, Codable, Hashable {
    /// The UTC day, `YYYY-MM-DD`.
    public var day: String
    /// Requests of the address, day and outcome (`hourly`, exact).
    public var requests: Int64
    /// Evidence rows the store keeps for them.
    public var rows: Int64
}

extension EventsQuery {
    /// The columns that mark a row of a sample.
    ///
    /// They are the exact requests of its address, UTC day and outcome (`hourly`) and the evidence
    /// rows the store keeps for them, aggregated once per group and joined (a subquery per row cost
    /// ~280 µs a row). Empty (nothing looked up) in a store that never sampled evidence. Computed in
    /// the row's own statement, so that rows still stream (a second statement cannot run while
    /// PostgreSQL streams the first).
    static func sampleColumns(_ db: any SQLDatabase) throws -> (columns: String, joins: String) {
        guard
            (try? db.value(
                Int64.self,
                "SELECT 1 FROM files WHERE evidence IS NOT NULL AND evidence <> 'all' LIMIT 1"
            )) != nil
        else { return ("", "") }
        return (
            ", hr.n AS day_requests, er.n AS day_rows",
            """
            LEFT JOIN (SELECT address, outcome, SUBSTR(hour, 1, 10) AS day, CAST(SUM(requests) AS BIGINT) AS n
                FROM hourly WHERE verdict = 'direct' GROUP BY address, outcome, SUBSTR(hour, 1, 10)) hr
                ON hr.address = e.address AND hr.outcome = e.outcome AND hr.day = SUBSTR(e.time, 1, 10)
            LEFT JOIN (SELECT address, outcome, SUBSTR(time, 1, 10) AS day, COUNT(*) AS n
                FROM evidence GROUP BY address, outcome, SUBSTR(time, 1, 10)) er
                ON er.address = e.address AND er.outcome = e.outcome AND er.day = SUBSTR(e.time, 1, 10)
            """
        )
    }

    /// The row's sample, when ``sampleColumns(_:)`` added its columns and it stands for more
    /// requests than the store keeps.
    static func sample(_ row: SQLRow, time: String) -> EventSample? {
        guard row.count > 18 else { return nil }
        let requests: Int64 = row[17] ?? 0
        let rows: Int64 = row[18] ?? 0
        return requests > rows ? EventSample(day: String(time.prefix(10)), requests: requests, rows: rows) : nil
    }
}

extension EventsResult {
    /// The notes under a table with sampled rows: per address, day and outcome, how many requests
    /// its rows stand for.
    var sampleNotes: [String] {
        var seen: Set<String> = []
        var notes: [String] = []
        for event in events {
            guard let sample = event.sample else { continue }
            let key = "\(event.address) \(sample.day) \(event.outcome)"
            guard seen.insert(key).inserted else { continue }
            notes.append(
                "sampled: \(event.address) on \(sample.day) (\(event.outcome)): the store keeps \(sample.rows) rows of"
                    + " \(sample.requests) requests"
            )
        }
        guard !notes.isEmpty else { return [] }
        let shown = notes.prefix(10)
        return Array(shown) + (notes.count > shown.count ? ["sampled: \(notes.count - shown.count) more"] : [])
            + [
                "(the first N and the latest request per address, day and outcome; counts are exact; --evidence all keeps every row)"
            ]
    }
}
