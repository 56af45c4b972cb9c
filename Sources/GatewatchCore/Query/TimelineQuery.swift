import Foundation
import GRDB

/// The width of a timeline bucket.
public enum TimelineBucket: String, Sendable, CaseIterable, Codable {
    /// One hour (UTC hours, labelled in the display zone).
    case hour
    /// One day in the display zone.
    case day
}

/// Request counts in one timeline bucket.
public struct TimelinePoint: Sendable, Equatable, Codable {
    /// The bucket's start: a time in the display zone for hours, `YYYY-MM-DD` for days.
    public var bucket: String
    /// Requests of the selected verdicts.
    public var requests: Int
    /// Gateway requests (zero unless selected).
    public var gateway: Int
    /// Allowed requests (zero unless selected).
    public var allowed: Int
    /// Platform requests (zero unless selected).
    public var platform: Int
    /// Direct requests (zero unless selected).
    public var direct: Int
    /// Direct requests the backend refused.
    public var blocked: Int
    /// Direct requests the backend answered.
    public var served: Int
    /// Requests ingested with nothing to judge them against (no policy, no gateway).
    public var unjudged = 0
}

/// The timeline: counts per bucket, with empty buckets between the first and last filled in.
public struct TimelineResult: Sendable, Equatable {
    /// The buckets, oldest first; with a limit, the newest buckets.
    public var points: [TimelinePoint]
    /// How many buckets there were before the limit.
    public var total: Int
}

/// Requests per hour or day, by verdict.
///
/// Empty buckets between the first and the last are listed, so the memory a timeline needs
/// follows the span of the data, not the rows: only the newest `limit` buckets are built, and
/// without a limit a span of more than ``maximumBuckets`` is refused
/// (``QueryError/tooManyBuckets(count:bucket:first:last:)``).
public struct TimelineQuery: Sendable {
    /// The most buckets listed without a limit: 100,000 (11 years of hours, 273 years of days).
    public static let maximumBuckets = 100_000

    /// The common filter; its limit keeps the newest buckets.
    public var filter: QueryFilter
    /// The bucket width.
    public var bucket: TimelineBucket
    /// The verdicts counted.
    public var verdict: VerdictSelection

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - filter: The common filter.
    ///   - bucket: Hour or day.
    ///   - verdict: The verdicts counted.
    public init(filter: QueryFilter, bucket: TimelineBucket = .hour, verdict: VerdictSelection = .all) {
        self.filter = filter
        self.bucket = bucket
        self.verdict = verdict
    }

    /// Runs the query.
    ///
    /// - Parameter store: The store.
    /// - Returns: The timeline.
    /// - Throws: ``QueryError/tooManyBuckets(count:bucket:first:last:)``, database errors.
    public func run(store: Store) throws -> TimelineResult {
        let display = filter.display
        let rows: [(Int64, String, String, Int)] = try store.query { db in
            let conditions = try filter.hourlyConditions(db, verdict: verdict.verdict)
            return try db.rows(
                """
                SELECT hour, verdict, outcome, SUM(requests) FROM hourly \(conditions.whereClause)
                GROUP BY hour, verdict, outcome
                """,
                conditions.values
            ).compactMap { row in
                let hour: String = row[0]
                guard let seconds = TimeDisplay.parse(hour) else { return nil }
                return (seconds, row[1], row[2], row[3])
            }
        }
        // Bucket keys: the hour's Unix seconds, or the local day number.
        var counts: [Int64: TimelinePoint] = [:]
        for (seconds, verdictText, outcome, requests) in rows {
            let key: Int64
            switch bucket {
            case .hour: key = seconds
            case .day: key = TimeDisplay.dayNumber(display.day(of: seconds)) ?? 0
            }
            var point = counts[key] ?? Self.empty("")
            point.requests += requests
            switch Verdict(rawValue: verdictText) {
            case .gateway: point.gateway += requests
            case .allowed: point.allowed += requests
            case .platform: point.platform += requests
            case .direct: point.direct += requests
            case .unjudged: point.unjudged += requests
            case nil: break
            }
            if outcome == Outcome.blocked.rawValue { point.blocked += requests }
            if outcome == Outcome.served.rawValue { point.served += requests }
            counts[key] = point
        }
        guard let first = counts.keys.min(), let last = counts.keys.max() else {
            return TimelineResult(points: [], total: 0)
        }
        let step: Int64 = bucket == .hour ? 3600 : 1
        let label = { (key: Int64) in bucket == .hour ? display.format(seconds: key) : TimeDisplay.dayKey(key) }
        let total = (last - first) / step + 1
        // Build only the buckets shown: the newest `limit`, or all when they are few enough.
        var shown = total
        if filter.limit > 0 {
            shown = min(total, Int64(filter.limit))
        } else if total > Int64(Self.maximumBuckets) {
            throw QueryError.tooManyBuckets(
                count: total,
                bucket: bucket.rawValue,
                first: label(first),
                last: label(last)
            )
        }
        var points: [TimelinePoint] = []
        points.reserveCapacity(Int(shown))
        for key in stride(from: last - (shown - 1) * step, through: last, by: Int(step)) {
            var point = counts[key] ?? Self.empty("")
            point.bucket = label(key)
            points.append(point)
        }
        return TimelineResult(points: points, total: Int(total))
    }

    private static func empty(_ bucket: String) -> TimelinePoint {
        TimelinePoint(
            bucket: bucket,
            requests: 0,
            gateway: 0,
            allowed: 0,
            platform: 0,
            direct: 0,
            blocked: 0,
            served: 0
        )
    }
}

extension TimelineResult {
    /// The result in an output format; `table` draws a bar per bucket.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        let largest = points.map(\.requests).max() ?? 0
        let footer = QueryRendering.truncationNote(shown: points.count, total: total, noun: "buckets (newest shown)")
        // The unjudged column appears only when there are unjudged requests (JSON always has the key).
        let unjudged = points.contains { $0.unjudged > 0 }
        return try QueryRendering.list(points, format: format, footer: footer) {
            var columns = ["bucket", "requests", "gateway", "allowed", "platform", "direct", "blocked", "served"]
            if unjudged { columns.append("unjudged") }
            if format == .table { columns.append("") }
            return TextTable(
                columns: columns,
                rows: points.map {
                    var row = [
                        $0.bucket, String($0.requests), String($0.gateway), String($0.allowed), String($0.platform),
                        String($0.direct), String($0.blocked), String($0.served),
                    ]
                    if unjudged { row.append(String($0.unjudged)) }
                    if format == .table { row.append(TextCharts.bar($0.requests, largest: largest, width: 30)) }
                    return row
                },
                numericColumns: unjudged ? [1, 2, 3, 4, 5, 6, 7, 8] : [1, 2, 3, 4, 5, 6, 7]
            )
        }
    }
}
