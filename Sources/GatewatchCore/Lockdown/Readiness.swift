import Foundation
import GRDB

/// A client that keeps the backend from being ready for lock-down.
public struct ReadinessBlocker: Sendable, Equatable, Codable {
    /// The client address, as stored.
    public var address: String
    /// Its counted direct requests in the quiet window.
    public var requests: Int
    /// Its last counted direct request in the quiet window.
    public var lastSeen: String
    /// Who the address belongs to (issue 24); omitted from JSON when unknown.
    public var owner: Owner?

    enum CodingKeys: String, CodingKey {
        case address, requests, owner
        case lastSeen = "last_seen"
    }
}

/// The answer of `gatewatch readiness`.
///
/// Its JSON form is a contract that never changes shape:
/// `{"ready": bool, "quiet_days": N, "last_direct": "…"|null, "blocking": [{"address", "requests", "last_seen"}]}`.
/// The window and the coverage are for people and are not part of the JSON.
public struct ReadinessResult: Sendable, Equatable, Encodable {
    /// Whether the quiet window holds no counted direct traffic and the data covers it.
    public var ready: Bool
    /// The required quiet period in days.
    public var quietDays: Int
    /// The newest counted direct request up to the end of the window, in any day; `nil` when
    /// there never was one.
    public var lastDirect: String?
    /// The clients that still call directly in the window, busiest first.
    public var blocking: [ReadinessBlocker]
    /// The first hour of the quiet window (inclusive).
    public var windowStart: String
    /// The end of the quiet window (exclusive): the end of the newest hour of data.
    public var windowEnd: String
    /// The first request in the store (up to the window end).
    public var dataStart: String
    /// Whether blocked direct requests counted too (`--include-blocked`).
    public var includesBlocked: Bool
    /// The starts of the window's 24-hour periods that hold no request at all (a day whose logs
    /// were never ingested): the store cannot prove those days quiet.
    public var daysWithoutData: [String] = []
    /// Requests in the window that were never judged (ingested with no policy and no gateway):
    /// nothing says they were not direct, so the window cannot be called quiet.
    public var unjudged = 0

    /// Lint-style notes about the blockers' owners and gateway drift (issue 24).
    public var findings: [LintFinding] = []

    /// Whether the stored data reaches back to the start of the window.
    public var coversWindow: Bool { dataStart < UTCTime.format((TimeDisplay.parse(windowStart) ?? 0) + 3600) }

    /// The process exit code: 0 when ready, ``ReadinessResult/notReadyExitCode`` otherwise.
    public var exitCode: Int32 { ready ? 0 : Self.notReadyExitCode }

    /// The exit code of a backend that is not ready.
    public static let notReadyExitCode: Int32 = 3

    enum CodingKeys: String, CodingKey {
        case ready
        case quietDays = "quiet_days"
        case lastDirect = "last_direct"
        case blocking, findings
    }

    /// Encodes the contract's four keys (`last_direct` is `null` when absent), and `findings`
    /// (owner notes, issue 24) only when there are some.
    ///
    /// - Parameter encoder: The encoder.
    /// - Throws: Encoding errors.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ready, forKey: .ready)
        try container.encode(quietDays, forKey: .quietDays)
        try container.encode(lastDirect, forKey: .lastDirect)
        try container.encode(blocking, forKey: .blocking)
        if !findings.isEmpty { try container.encode(findings, forKey: .findings) }
    }
}

/// Decides whether a backend is ready to be locked down: no non-platform direct traffic was
/// served in the last N days of data.
///
/// **The last N days of data** count back from the newest data in the store, not from the wall
/// clock, so a database copied elsewhere or checked a week later gives the same answer: the
/// window ends at the end of the hour that holds the newest stored request (of any verdict) and
/// starts N × 24 hours earlier, on an hour boundary. With ``until`` the newest data before that
/// time is used instead, which answers "was it ready then?"; like every window, it applies to
/// whole hours (an `until` inside an hour keeps that hour). When the stored data starts after
/// the window's first hour, or a 24-hour period of the window holds no request at all (a day
/// whose logs were not ingested), the store cannot prove N quiet days and the result is not ready.
/// Nor can it while the window holds `unjudged` requests (ingested with no policy and no
/// gateway): nothing says they did not bypass the gateway.
///
/// **Counted traffic** is verdict `direct` (platform traffic never counts) with outcome `served`:
/// a client that is already refused by an enforced allowlist cannot break anything more. With
/// ``includesBlocked`` blocked attempts count too, for teams that want every client migrated
/// before they call the change done. Addresses inside ``ignored`` blocks (known scanners, a
/// monitoring probe) never count.
public struct ReadinessQuery: Sendable {
    /// The required quiet period in days (1 or more).
    public var quietDays: Int
    /// Address blocks whose traffic never counts.
    public var ignored: [CIDR]
    /// Judge the data before this time (Unix seconds), or everything.
    public var until: Int64?
    /// Whether blocked direct requests count as well as served ones.
    public var includesBlocked: Bool

    /// The longest quiet period: 100 years (36,500 days), so that the window's day list stays small.
    public static let maximumQuietDays = 36_500

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - quietDays: The required quiet period in days.
    ///   - ignored: Address blocks that never count.
    ///   - until: Judge only data before this time (Unix seconds).
    ///   - includesBlocked: Whether blocked direct requests count.
    public init(quietDays: Int, ignored: [CIDR] = [], until: Int64? = nil, includesBlocked: Bool = false) {
        self.quietDays = quietDays
        self.ignored = ignored
        self.until = until
        self.includesBlocked = includesBlocked
    }

    /// Runs the check.
    ///
    /// - Parameter store: The store.
    /// - Returns: The verdict with the blocking clients.
    /// - Throws: ``LockdownError/invalidQuietDays(_:)``, ``LockdownError/noData(path:window:)``
    ///   when there is no request to judge, database errors otherwise.
    public func run(store: Store) throws -> ReadinessResult {
        guard (1...Self.maximumQuietDays).contains(quietDays) else { throw LockdownError.invalidQuietDays(quietDays) }
        // Windows apply to whole hours: an `until` inside an hour keeps that hour.
        let untilHour = until.map { $0 + (3600 - (($0 % 3600) + 3600) % 3600) % 3600 }
        let untilText = untilHour.map(UTCTime.format)
        let ignoredSet = CIDRSet(ignored)
        return try store.query { db in
            var bounds = SQLConditions()
            if let untilText { bounds.add("hour < ?", untilText) }
            guard
                let row = try db.row(
                    "SELECT MIN(first_seen), MAX(hour), MAX(last_seen) FROM hourly \(bounds.whereClause)",
                    bounds.values
                ),
                let dataStart = row.optional(String.self, at: 0),
                let newestHourText = row.optional(String.self, at: 1),
                let newestHour = TimeDisplay.parse(newestHourText)
            else {
                throw LockdownError.noData(
                    path: store.path,
                    window: untilText.map { "before \($0)" }
                )
            }
            var windowEnd = newestHour + 3600
            if let untilHour, untilHour < windowEnd { windowEnd = untilHour }
            let windowStart = windowEnd - Int64(quietDays) * 86_400
            let startText = UTCTime.format(windowStart)
            let endText = UTCTime.format(windowEnd)

            let outcomes = includesBlocked ? "('served', 'blocked')" : "('served')"
            var blocking: [ReadinessBlocker] = []
            var lastDirect: String?
            try db.forEachRow(
                """
                SELECT address, SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END),
                    MAX(CASE WHEN hour >= ? THEN last_seen END), MAX(last_seen)
                FROM hourly
                WHERE verdict = 'direct' AND outcome IN \(outcomes) AND hour < ?
                GROUP BY address
                """,
                [startText, startText, endText]
            ) { row in
                let address: String = row[0]
                if !ignoredSet.isEmpty, let parsed = IPAddress(address), ignoredSet.contains(parsed) { return }
                let last: String = row[3]
                if lastDirect.map({ last > $0 }) ?? true { lastDirect = last }
                let requests: Int = row[1]
                if requests > 0, let lastInWindow = row.optional(String.self, at: 2) {
                    blocking.append(ReadinessBlocker(address: address, requests: requests, lastSeen: lastInWindow))
                }
            }
            blocking.sort { $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.address, $1.address) }
            var result = ReadinessResult(
                ready: false,
                quietDays: quietDays,
                lastDirect: lastDirect,
                blocking: blocking,
                windowStart: startText,
                windowEnd: endText,
                dataStart: dataStart,
                includesBlocked: includesBlocked
            )
            // Every 24-hour period of the window must hold data, or its quiet proves nothing.
            var covered = Set<Int64>()
            for hour in try db.values(
                String.self,
                "SELECT DISTINCT hour FROM hourly WHERE hour >= ? AND hour < ?",
                [startText, endText]
            ) {
                if let time = TimeDisplay.parse(hour) { covered.insert((time - windowStart) / 86_400) }
            }
            result.daysWithoutData = (0..<Int64(quietDays)).filter { !covered.contains($0) }
                .map { UTCTime.format(windowStart + $0 * 86_400) }
            result.unjudged =
                try db.value(
                    Int.self,
                    "SELECT SUM(requests) FROM hourly WHERE verdict = 'unjudged' AND hour >= ? AND hour < ?",
                    [startText, endText]
                ) ?? 0
            result.ready =
                blocking.isEmpty && result.coversWindow && result.daysWithoutData.isEmpty && result.unjudged == 0
            return result
        }
    }
}

extension ReadinessResult {
    /// The first ten days of a list, and how many more: a long window can miss thousands.
    static func firstDays(_ days: [String]) -> String {
        days.prefix(10).joined(separator: ", ") + (days.count > 10 ? " and \(days.count - 10) more" : "")
    }

    /// The result in an output format.
    ///
    /// `json` is the contract document; `ndjson` and `csv` list the blocking clients (`address`,
    /// `requests`, `last_seen`); `table` explains the verdict, the window and the clients, with
    /// log-derived values escaped for the terminal.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json:
            return try JSONOutput.encode(self) + "\n"
        case .ndjson:
            return try blocking.map { try JSONOutput.encode($0) + "\n" }.joined()
        case .csv:
            return TextTable(
                columns: ["address", "requests", "last_seen"],
                rows: blocking.map { [$0.address, String($0.requests), $0.lastSeen] }
            ).renderCSV()
        case .table:
            let counted = includesBlocked ? "direct traffic (served or blocked)" : "served direct traffic"
            var output: String
            if ready {
                output =
                    "READY: no \(counted) in the last \(quietDays) day(s) of data (\(windowStart) … \(windowEnd))\n"
            } else if blocking.isEmpty, unjudged > 0 {
                output =
                    "NOT READY: \(unjudged) request(s) in the \(quietDays)-day window (\(windowStart) … \(windowEnd)) "
                    + "were never judged: they were ingested with no policy and no gateway, so nothing says whether "
                    + "they came through the gateway; ingest those logs again with --policy or --gateway and --reingest\n"
            } else if blocking.isEmpty, !coversWindow {
                output =
                    "NOT READY: the data starts at \(dataStart), after the start of the \(quietDays)-day window "
                    + "(\(windowStart) … \(windowEnd)); ingest older logs"
                    // A window of one day cannot be shortened: do not suggest what cannot help.
                    + (quietDays > 1 ? " or lower --quiet-days" : "") + "\n"
            } else if blocking.isEmpty {
                output =
                    "NOT READY: \(daysWithoutData.count) day(s) of the \(quietDays)-day window (\(windowStart) … "
                    + "\(windowEnd)) hold no request at all (from \(Self.firstDays(daysWithoutData))): their "
                    + "logs are missing, so they prove nothing; ingest them\n"
            } else {
                output =
                    "NOT READY: \(blocking.count) client(s) sent \(counted) in the last \(quietDays) day(s) of data "
                    + "(\(windowStart) … \(windowEnd))\n"
            }
            output += "Last \(counted): \(lastDirect ?? "never")\n"
            if !blocking.isEmpty {
                output += "\n"
                let owned = blocking.contains { $0.owner != nil }
                output += TextTable(
                    columns: ["ADDRESS", "REQUESTS", "LAST SEEN"] + (owned ? ["OWNER"] : []),
                    rows: blocking.map {
                        [$0.address, String($0.requests), $0.lastSeen] + (owned ? [$0.owner?.label ?? ""] : [])
                    },
                    numericColumns: [1]
                ).renderText()
            }
            for finding in findings {
                output += "\(finding.severity.rawValue): \(finding.code): \(SafeText.terminal(finding.message))\n"
            }
            return output
        }
    }
}
