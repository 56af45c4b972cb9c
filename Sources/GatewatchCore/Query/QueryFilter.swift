import Foundation
import GRDB

/// Why a query could not run.
public enum QueryError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The `sql` statement would write to the database.
    case notReadOnly(statement: String)
    /// The `sql` statement is not one the allowlist runs (see `ReadOnlySQL`).
    case refused(statement: String, reason: String)
    /// The `sql` statement is empty.
    case emptyStatement
    /// The `sql` text holds more than one statement.
    case multipleStatements
    /// The engine rejected the `sql` statement.
    case sqlFailed(message: String)
    /// A bucketed query would list more buckets than fit in memory: the data spans
    /// `first` … `last` (a line dated 0001-01-01 or 9999-12-31 does that).
    case tooManyBuckets(count: Int64, bucket: String, first: String, last: String)
    /// The text given as a client address is no IP address, and no request came from it.
    case notAnAddress(String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .refused(let statement, let reason):
            "refusing '\(statement.prefix(80))': \(reason); the database is read-only here and only statements "
                + "that read (SELECT, WITH, VALUES, EXPLAIN, read-only PRAGMA) are run"
        case .notReadOnly(let statement):
            "refusing '\(statement.prefix(80))': the database is opened read-only and only statements that read "
                + "(SELECT, WITH, read-only PRAGMA, EXPLAIN) are run"
        case .emptyStatement:
            "no SQL statement given; pass one such as \"SELECT * FROM hourly LIMIT 5\""
        case .multipleStatements:
            "give one statement at a time; the text holds more than one"
        case .sqlFailed(let message):
            "the statement failed: \(message); the schema is in docs/schema.md (tables hourly, evidence, files, inventory, latency)"
        case .tooManyBuckets(let count, let bucket, let first, let last):
            "the data runs from \(first) to \(last): \(count) \(bucket) buckets, more than the "
                + "\(TimelineQuery.maximumBuckets) listed at once; narrow the window with --since/--until or --last"
                + (bucket == TimelineBucket.hour.rawValue ? ", use --bucket day" : "")
                + ", or keep the newest with --limit"
        case .notAnAddress(let text):
            "'\(text.prefix(80))' is not an IP address, and no request in the selected window came from that text; "
                + "pass an IPv4 or IPv6 address such as 203.0.113.7"
                + (CIDR(text) != nil ? ", or list a block with 'gatewatch clients --cidr \(text)'" : "")
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// Which verdicts a query looks at: one, or all of them.
public enum VerdictSelection: String, Sendable, CaseIterable, Codable {
    /// Requests from the gateway.
    case gateway
    /// Requests the policy allows (office, partner, localhost).
    case allowed
    /// Platform traffic (Always On, health checks, probes).
    case platform
    /// Requests that bypassed the gateway.
    case direct
    /// Requests ingested with nothing to judge them against (no policy, no gateway).
    case unjudged
    /// Every verdict.
    case all

    /// The single verdict selected, or `nil` for ``all``.
    public var verdict: Verdict? { Verdict(rawValue: rawValue) }
}

/// The filter every query command shares: time window, address blocks, site, row limit, time zone.
///
/// Times in results are formatted in ``timeZone`` (`2026-11-20T13:00:00Z` in UTC,
/// `2026-11-20T14:00:00+01:00` elsewhere), and day buckets are days in that zone. Aggregates are
/// stored per UTC hour, so an hour is counted in the local day it starts in.
public struct QueryFilter: Sendable, Equatable {
    /// The time window; hourly aggregates are included when their hour starts inside it.
    public var range: TimeRange
    /// Only addresses inside one of these blocks; empty means every address.
    ///
    /// An address that is not an IP (a `-` in the log) never matches a block.
    public var cidrs: [CIDR]
    /// Only this site (`s-sitename`), or every site.
    public var site: String?
    /// The most rows to return; 0 means all.
    public var limit: Int
    /// The zone for displayed times and day buckets.
    public var timeZone: TimeZone
    /// Only rows ingested by this host (the `source` column), or every source.
    ///
    /// It applies to the tables that record their source (`hourly`, `evidence`, `files`); the
    /// inventory, latency and gateway tables hold every source's rows together.
    public var source: String?

    /// Creates a filter.
    ///
    /// - Parameters:
    ///   - range: The time window.
    ///   - cidrs: Address blocks; empty for all addresses.
    ///   - site: A site name, or `nil` for all sites.
    ///   - limit: The most rows to return; 0 means all.
    ///   - timeZone: The zone for display and day buckets.
    ///   - source: An ingesting host's name, or `nil` for all sources.
    public init(
        range: TimeRange = .all,
        cidrs: [CIDR] = [],
        site: String? = nil,
        limit: Int = 0,
        timeZone: TimeZone = QueryFilter.utc,
        source: String? = nil
    ) {
        self.range = range
        self.cidrs = cidrs
        self.site = site
        self.limit = limit
        self.timeZone = timeZone
        self.source = source
    }

    /// The UTC zone.
    public static let utc: TimeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current

    /// Whether `address` passes the ``cidrs`` filter.
    ///
    /// - Parameter address: Address text as stored.
    /// - Returns: `true` when there is no block filter or a block contains the address.
    public func matches(address: String) -> Bool {
        guard !cidrs.isEmpty else { return true }
        guard let parsed = IPAddress(address) else { return false }
        return CIDRSet(cidrs).contains(parsed)
    }

    /// The rows to keep out of `count` under ``limit``.
    func cap(_ count: Int) -> Int { limit > 0 ? min(limit, count) : count }

    var display: TimeDisplay { TimeDisplay(timeZone: timeZone) }

    /// The stored addresses that pass the block filter, or `nil` when there is no block filter.
    func matchingAddresses(_ db: any SQLDatabase) throws -> [String]? {
        guard !cidrs.isEmpty else { return nil }
        let set = CIDRSet(cidrs)
        var result: [String] = []
        // Covered by the hourly_address index: one pass over distinct addresses.
        try db.forEachRow("SELECT DISTINCT address FROM hourly_facts", []) { row in
            if let address = row.optional(String.self, at: 0), let parsed = IPAddress(address), set.contains(parsed) {
                result.append(address)
            }
        }
        return result
    }

    /// Conditions on the `hourly` table: hour window (rounded down to the hour, as `summary`
    /// does), site, source, blocks, and optionally a verdict.
    func hourlyConditions(_ db: any SQLDatabase, verdict: Verdict? = nil) throws -> SQLConditions {
        var conditions = SQLConditions()
        if let since = range.since {
            conditions.add("hour >= ?", UTCTime.format(since - ((since % 3600) + 3600) % 3600))
        }
        if let until = range.until {
            conditions.add("hour < ?", UTCTime.format(until))
        }
        try addCommon(db, to: &conditions)
        if let source { conditions.add("source = ?", source) }
        if let verdict { conditions.add("verdict = ?", verdict.rawValue) }
        return conditions
    }

    /// Conditions on the `evidence` table: exact time window, site, source and, when `blocks` is
    /// set, the address blocks; columns are prefixed with `alias.` when an alias is given.
    func evidenceConditions(_ db: any SQLDatabase, alias: String? = nil, blocks: Bool = true) throws -> SQLConditions {
        let prefix = alias.map { $0 + "." } ?? ""
        var conditions = SQLConditions()
        if let since = range.since { conditions.add("\(prefix)time >= ?", UTCTime.format(since)) }
        if let until = range.until { conditions.add("\(prefix)time < ?", UTCTime.format(until)) }
        if let site { conditions.add("\(prefix)site = ?", site) }
        if let source { conditions.add("\(prefix)source = ?", source) }
        if blocks, let addresses = try matchingAddresses(db) {
            let (clause, argument) = try db.inTextList(prefix + "address", addresses)
            conditions.add(clause, argument)
        }
        return conditions
    }

    /// Site and address-block conditions, for any table with `site` and `address` columns.
    func addCommon(_ db: any SQLDatabase, to conditions: inout SQLConditions, site hasSite: Bool = true) throws {
        if hasSite, let site { conditions.add("site = ?", site) }
        if let addresses = try matchingAddresses(db) {
            let (clause, argument) = try db.inTextList("address", addresses)
            conditions.add(clause, argument)
        }
    }

    /// Conditions on a table keyed by UTC `day` (`inventory`, `latency`): the window rounded out
    /// to whole UTC days.
    func dayConditions() -> SQLConditions {
        var conditions = SQLConditions()
        if let since = range.since {
            conditions.add("day >= ?", String(UTCTime.format(since).prefix(10)))
        }
        if let until = range.until {
            conditions.add("day <= ?", String(UTCTime.format(until - 1).prefix(10)))
        }
        return conditions
    }
}

/// A list of SQL conditions with their bound values, in placeholder order.
struct SQLConditions {
    var clauses: [String] = []
    /// The bound values: the argument array of a statement that uses ``whereClause``.
    var values: [any DatabaseValueConvertible] = []

    mutating func add(_ clause: String, _ arguments: any DatabaseValueConvertible...) {
        clauses.append(clause)
        values += arguments
    }

    /// `WHERE a AND b`, or an empty string.
    var whereClause: String { clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ") }
}

/// Orders text as Python and SQLite's BINARY collation do: by UTF-8 bytes.
func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
}

/// `status.substatus` text.
func statusText(_ status: Int, _ substatus: Int) -> String { "\(status).\(substatus)" }

/// Shared rendering helpers for query results.
enum QueryRendering {
    /// One JSON object per line, one encoder for all of them.
    static func ndjson<T: Encodable>(_ items: [T]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var output = ""
        for item in items {
            output += String(decoding: try encoder.encode(item), as: UTF8.self)
            output += "\n"
        }
        return output
    }

    /// A list result in any format; `table` builds a ``TextTable`` and adds `footer` when given.
    static func list<T: Encodable>(
        _ items: [T],
        format: OutputFormat,
        footer: String?,
        table: () -> TextTable
    ) throws -> String {
        switch format {
        case .json: return try JSONOutput.encode(items) + "\n"
        case .ndjson: return try ndjson(items)
        case .csv: return table().renderCSV()
        case .table:
            return table().renderText() + (footer.map { $0 + "\n" } ?? "")
        }
    }

    /// The note under a table cut by `--limit`.
    static func truncationNote(shown: Int, total: Int, noun: String) -> String? {
        guard shown < total else { return nil }
        return "(\(shown) of \(total) \(noun); --limit 0 shows all)"
    }
}
