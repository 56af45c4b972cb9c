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
        var events: [EventRow] = []
        let truncated = try forEach(store: store) { events.append($0) }
        return EventsResult(events: events, truncated: truncated)
    }

    /// Runs the query and writes the rows to `sink` as they are read (`json`, `ndjson`, `csv`);
    /// `table` is rendered whole, as ``EventsResult/render(_:)`` does.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - format: The output format.
    ///   - sink: Where the text goes.
    /// - Throws: Database errors.
    public func write(store: Store, format: OutputFormat, to sink: OutputSink) throws {
        guard format != .table else {
            sink.write(try run(store: store).render(format))
            return
        }
        var writer = ListWriter<EventRow>(format: format, sink: sink, columns: EventsResult.columns)
        _ = try forEach(store: store) { writer.add($0, cells: EventsResult.cells) }
        writer.finish()
    }

    /// Calls `body` with each row, oldest first (the newest `limit` rows when there is a limit);
    /// ordered and limited in SQL, so that no more than one row is held at a time.
    ///
    /// - Returns: Whether the limit left older rows out.
    private func forEach(store: Store, _ body: (EventRow) throws -> Void) throws -> Bool {
        let display = filter.display
        return try store.query { db in
            var conditions = try filter.evidenceConditions(db, alias: "e")
            if let address { conditions.add("e.address = ?", AddressReport.canonical(address)) }
            if let outcome, outcome != .none { conditions.add("e.outcome = ?", outcome.rawValue) }
            var arguments = conditions.values
            let sample = try Self.sampleColumns(db)
            let select = """
                SELECT e.id AS id, e.time AS time, f.path, e.line, e.site, e.address, e.forwarded_for, e.method,
                    e.uri_stem, e.uri_query, e.status, e.substatus, e.user_agent, e.host, e.verdict, e.outcome, e.rule
                    \(sample.columns)
                FROM evidence e LEFT JOIN files f ON f.id = e.file_id \(sample.joins) \(conditions.whereClause)
                """
            let sql: String
            var truncated = false
            if filter.limit > 0 {
                // Is there a row past the newest `limit`? Then the page leaves older rows out.
                truncated =
                    try db.value(
                        Int.self,
                        """
                        SELECT 1 FROM evidence e \(conditions.whereClause)
                        ORDER BY e.time DESC, e.id DESC LIMIT 1 OFFSET ?
                        """,
                        arguments + [filter.limit]
                    ) != nil
                sql = "SELECT * FROM (\(select) ORDER BY e.time DESC, e.id DESC LIMIT ?) AS page ORDER BY time, id"
                arguments.append(filter.limit)
            } else {
                sql = select + " ORDER BY e.time, e.id"
            }
            try db.forEachRow(sql, arguments) { row in
                let time: String = row[1]
                try body(
                    EventRow(
                        id: row[0],
                        time: display.isUTC ? time : display.format(time),
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
                        rule: row[16],
                        sample: Self.sample(row, time: time)
                    )
                )
            }
            return truncated
        }
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
            TextTable(columns: Self.columns, rows: events.map(Self.cells), numericColumns: [12])
        }
    }

    /// The table and CSV columns.
    static let columns = [
        "time", "address", "outcome", "status", "method", "uri_stem", "uri_query", "user_agent", "host",
        "forwarded_for", "rule", "file", "line",
    ]

    /// The table and CSV cells of a row.
    static func cells(_ row: EventRow) -> [String] {
        [
            row.time, row.address, row.outcome, statusText(row.status, row.substatus), row.method ?? "",
            row.uriStem ?? "", row.uriQuery ?? "", row.userAgent ?? "", row.host ?? "", row.forwardedFor ?? "",
            row.rule, row.file ?? "", String(row.line),
        ]
    }
}
