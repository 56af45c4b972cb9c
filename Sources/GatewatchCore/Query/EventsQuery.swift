import Foundation
import GRDB

/// One evidence row: a `direct` request as logged.
public struct EventRow: Sendable, Equatable, Codable {
    /// The evidence row id.
    public var id: Int64
    /// The request time, in the display zone.
    public var time: String
    /// The log file it came from (the path at ingest).
    public var file: String?
    /// The line number in that file.
    public var line: Int
    /// The site (`s-sitename`), or empty.
    public var site: String
    /// The client address, canonical.
    public var address: String
    /// The `X-Forwarded-For` value as logged.
    public var forwardedFor: String?
    /// The method.
    public var method: String?
    /// `cs-uri-stem`.
    public var uriStem: String?
    /// `cs-uri-query`.
    public var uriQuery: String?
    /// `sc-status`.
    public var status: Int
    /// `sc-substatus`.
    public var substatus: Int
    /// The user agent as logged.
    public var userAgent: String?
    /// `cs-host`.
    public var host: String?
    /// The verdict (`direct`).
    public var verdict: String
    /// `blocked` or `served`.
    public var outcome: String
    /// The policy rule that denied it.
    public var rule: String
    /// When the row is one of a sample (``EvidenceMode/sample(cap:)``): how many requests of its
    /// address, UTC day and outcome the kept rows stand for; `nil` when every request has its row.
    public var sample: EventSample?

    enum CodingKeys: String, CodingKey {
        case id, time, file, line, site, address
        case forwardedFor = "forwarded_for"
        case method
        case uriStem = "uri_stem"
        case uriQuery = "uri_query"
        case status, substatus
        case userAgent = "user_agent"
        case host, verdict, outcome, rule, sample
    }

    /// Encodes every key, absent values as `null`, so each NDJSON line has the same shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(time, forKey: .time)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(site, forKey: .site)
        try container.encode(address, forKey: .address)
        try container.encode(forwardedFor, forKey: .forwardedFor)
        try container.encode(method, forKey: .method)
        try container.encode(uriStem, forKey: .uriStem)
        try container.encode(uriQuery, forKey: .uriQuery)
        try container.encode(status, forKey: .status)
        try container.encode(substatus, forKey: .substatus)
        try container.encode(userAgent, forKey: .userAgent)
        try container.encode(host, forKey: .host)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(rule, forKey: .rule)
        try container.encodeIfPresent(sample, forKey: .sample)
    }
}

/// The evidence rows found.
public struct EventsResult: Sendable, Equatable {
    /// The rows, oldest first; with a limit, the newest rows.
    public var events: [EventRow]
    /// Whether the limit left older rows out.
    public var truncated: Bool
}

/// The evidence of direct requests, with optional address and outcome filters.
public struct EventsQuery: Sendable {
    /// The common filter; the window applies to each request's exact time, and the limit keeps
    /// the newest rows.
    public var filter: QueryFilter
    /// Only this address (any text form).
    public var address: String?
    /// Only this outcome.
    public var outcome: Outcome?

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - filter: The common filter.
    ///   - address: Only this address.
    ///   - outcome: Only `blocked` or `served` rows.
    public init(filter: QueryFilter, address: String? = nil, outcome: Outcome? = nil) {
        self.filter = filter
        self.address = address
        self.outcome = outcome
    }

    /// Runs the query.
    ///
    /// - Parameter store: The store.
    /// - Returns: The rows, in time order.
    /// - Throws: Database errors.
    public func run(store: Store) throws -> EventsResult {
        let display = filter.display
        var (events, truncated): ([EventRow], Bool) = try store.query { db in
            var conditions = try filter.evidenceConditions(db, alias: "e")
            if let address { conditions.add("e.address = ?", AddressReport.canonical(address)) }
            if let outcome, outcome != .none { conditions.add("e.outcome = ?", outcome.rawValue) }
            var arguments = conditions.values
            var limitClause = ""
            if filter.limit > 0 {
                limitClause = "LIMIT ?"
                arguments.append(filter.limit + 1)
            }
            var events: [EventRow] = []
            try db.forEachRow(
                """
                SELECT e.id, e.time, f.path, e.line, e.site, e.address, e.forwarded_for, e.method, e.uri_stem,
                    e.uri_query, e.status, e.substatus, e.user_agent, e.host, e.verdict, e.outcome, e.rule
                FROM evidence e LEFT JOIN files f ON f.id = e.file_id
                \(conditions.whereClause) ORDER BY e.time DESC, e.id DESC \(limitClause)
                """,
                arguments
            ) { row in
                events.append(
                    EventRow(
                        id: row[0],
                        time: row[1],
                        file: row.optional(at: 2),
                        line: row[3],
                        site: row[4],
                        address: row[5],
                        forwardedFor: row.optional(at: 6),
                        method: row.optional(at: 7),
                        uriStem: row.optional(at: 8),
                        uriQuery: row.optional(at: 9),
                        status: row[10],
                        substatus: row[11],
                        userAgent: row.optional(at: 12),
                        host: row.optional(at: 13),
                        verdict: row[14],
                        outcome: row[15],
                        rule: row[16]
                    )
                )
            }
            let truncated = filter.limit > 0 && events.count > filter.limit
            if truncated { events.removeLast() }
            return (events, truncated)
        }
        events.reverse()
        try store.query { db in try Self.markSamples(&events, db) }
        if !display.isUTC {
            for index in events.indices { events[index].time = display.format(events[index].time) }
        }
        return EventsResult(events: events, truncated: truncated)
    }
}

extension EventsResult {
    /// The result in an output format.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline (empty for no rows in `json`-less formats).
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        let notes = (truncated ? ["(newest \(events.count) shown; --limit 0 shows all)"] : []) + sampleNotes
        let footer = notes.isEmpty ? nil : notes.joined(separator: "\n")
        return try QueryRendering.list(events, format: format, footer: footer) {
            TextTable(
                columns: [
                    "time", "address", "outcome", "status", "method", "uri_stem", "uri_query", "user_agent", "host",
                    "forwarded_for", "rule", "file", "line",
                ],
                rows: events.map {
                    [
                        $0.time, $0.address, $0.outcome, statusText($0.status, $0.substatus), $0.method ?? "",
                        $0.uriStem ?? "", $0.uriQuery ?? "", $0.userAgent ?? "", $0.host ?? "", $0.forwardedFor ?? "",
                        $0.rule, $0.file ?? "", String($0.line),
                    ]
                },
                numericColumns: [12]
            )
        }
    }
}
