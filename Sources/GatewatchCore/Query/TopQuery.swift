import Foundation
import GRDB

/// What `top` ranks addresses by.
public enum TopMeasure: String, Sendable, CaseIterable, Codable {
    /// Request count.
    case requests
    /// Bytes sent (`sc-bytes`).
    case bytes
}

/// One address in the `top` ranking.
///
/// JSON contract: `{"address": "…", "requests": N, "blocked": N, "served": N, "bytes": N,
/// "first_seen": "…", "last_seen": "…"}`.
public struct TopEntry: Sendable, Equatable, Codable {
    /// The client address, canonical.
    public var address: String
    /// Requests.
    public var requests: Int
    /// Direct requests the backend refused.
    public var blocked: Int
    /// Direct requests the backend answered.
    public var served: Int
    /// Bytes sent.
    public var bytes: Int
    /// The first request, in the display zone.
    public var firstSeen: String
    /// The last request, in the display zone.
    public var lastSeen: String
    /// The configured name of the address (`names:`), if any; omitted from JSON when absent.
    public var name: String?
    /// Who the address belongs to (issue 24), if any source knows; omitted from JSON when absent.
    public var owner: Owner?

    enum CodingKeys: String, CodingKey {
        case address, requests, blocked, served, bytes, name, owner
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

/// The `top` ranking: the busiest addresses.
public struct TopResult: Sendable, Equatable {
    /// The ranked addresses, at most the filter's limit.
    public var entries: [TopEntry]
    /// How many addresses matched before the limit.
    public var total: Int
    /// Requests in the window that were never judged (ingested with no policy and no gateway)
    /// and so are not ranked under the selected verdict; 0 when the selection includes them.
    public var unjudged = 0

    /// A note saying that unjudged requests are not ranked, or `nil` when there are none.
    public var unjudgedNote: String? {
        guard unjudged > 0 else { return nil }
        return "\(unjudged) requests in this window were not judged (ingested with no policy and no gateway), so "
            + "they are not ranked here; ingest those logs again with --policy or --gateway and --reingest"
    }
}

/// The busiest client addresses of one verdict (or all), by requests or bytes.
public struct TopQuery: Sendable {
    /// The common filter.
    public var filter: QueryFilter
    /// The verdict to rank.
    public var verdict: VerdictSelection
    /// The measure to rank by.
    public var measure: TopMeasure

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - filter: The common filter.
    ///   - verdict: The verdict to rank (`direct` by default).
    ///   - measure: Requests or bytes.
    public init(filter: QueryFilter, verdict: VerdictSelection = .direct, measure: TopMeasure = .requests) {
        self.filter = filter
        self.verdict = verdict
        self.measure = measure
    }

    /// Runs the query.
    ///
    /// Sorted by the measure, descending; ties by address ascending (byte order).
    ///
    /// - Parameter store: The store.
    /// - Returns: The ranking.
    /// - Throws: Database errors.
    public func run(store: Store) throws -> TopResult {
        var entries: [TopEntry] = []
        let (total, unjudged) = try forEach(store: store) { entries.append($0) }
        return TopResult(entries: entries, total: total, unjudged: unjudged)
    }

    /// Calls `body` with each ranked entry.
    ///
    /// Ranked and cut in SQL (issue 23): one row in memory at a time. `address` sorts in byte order on both engines (BINARY; COLLATE "C" on
    /// PostgreSQL).
    ///
    /// - Returns: How many addresses matched before the limit, and the unjudged requests.
    func forEach(store: Store, _ body: (TopEntry) throws -> Void) throws -> (total: Int, unjudged: Int) {
        let display = filter.display
        let total = try store.query { db in
            let conditions = try filter.hourlyConditions(db, verdict: verdict.verdict)
            var arguments = conditions.values
            var limitClause = ""
            if filter.limit > 0 {
                limitClause = "LIMIT ?"
                arguments.append(filter.limit)
            }
            var count = 0
            try db.forEachRow(
                """
                SELECT address, SUM(requests) AS total_requests,
                    SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END),
                    SUM(CASE WHEN outcome = 'served' THEN requests ELSE 0 END), SUM(bytes) AS total_bytes,
                    MIN(first_seen), MAX(last_seen)
                FROM hourly \(conditions.whereClause) GROUP BY address
                ORDER BY \(measure == .bytes ? "total_bytes" : "total_requests") DESC, address \(limitClause)
                """,
                arguments
            ) { row in
                count += 1
                try body(
                    TopEntry(
                        address: row[0],
                        requests: row[1],
                        blocked: row[2],
                        served: row[3],
                        bytes: row[4],
                        firstSeen: display.format(row[5]),
                        lastSeen: display.format(row[6])
                    )
                )
            }
            guard filter.limit > 0, count == filter.limit else { return count }
            return try db.value(
                Int.self,
                "SELECT COUNT(*) FROM (SELECT address FROM hourly \(conditions.whereClause) GROUP BY address) AS ranked",
                conditions.values
            ) ?? 0
        }
        var unjudged = 0
        if verdict != .unjudged, verdict != .all {
            unjudged = try store.query { db in
                let conditions = try filter.hourlyConditions(db, verdict: .unjudged)
                return try db.value(
                    Int.self,
                    "SELECT SUM(requests) FROM hourly \(conditions.whereClause)",
                    conditions.values
                )
                    ?? 0
            }
        }
        return (total, unjudged)
    }
}

extension TopResult {
    /// The result in an output format; log-derived text is escaped by the table and CSV writers.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        let notes = [
            QueryRendering.truncationNote(shown: entries.count, total: total, noun: "addresses"), unjudgedNote,
        ]
        .compactMap { $0 }
        return try QueryRendering.list(
            entries,
            format: format,
            footer: notes.isEmpty ? nil : notes.joined(separator: "\n")
        ) {
            let owned = entries.contains { $0.owner != nil }
            return TextTable(
                columns: ["address", "requests", "blocked", "served", "bytes", "first_seen", "last_seen"]
                    + (owned ? ["owner"] : []),
                rows: entries.map { entry -> [String] in
                    let label = entry.name.map { entry.address + " (" + $0 + ")" } ?? entry.address
                    return [
                        label, String(entry.requests), String(entry.blocked), String(entry.served), String(entry.bytes),
                        entry.firstSeen, entry.lastSeen,
                    ] + (owned ? [entry.owner?.label ?? ""] : [])
                },
                numericColumns: [1, 2, 3, 4]
            )
        }
    }
}
