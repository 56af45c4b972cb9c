import Foundation
import GRDB

/// Building the alert a rule fires: its title, text and sample requests.
extension AlertEvaluator {
    func makeAlert(
        _ db: any SQLDatabase,
        rule: AlertRule,
        window: AlertWindow,
        keys: [Candidate],
        now: Int64
    ) throws
        -> Alert
    {
        let total = keys.reduce(0) { $0 + $1.count }
        var addresses: [String] = []
        var seen = Set<String>()
        for key in keys {
            for address in key.addresses where seen.insert(address).inserted { addresses.append(address) }
        }
        let samples = try self.samples(db, rule: rule, window: window, addresses: Array(addresses.prefix(50)))
        let span = AlertDuration.format(window.seconds)
        let addressCount = addresses.count
        let plural = addressCount == 1 ? "address" : "addresses"
        let top = keys.prefix(3).map { "\($0.key) (\($0.count))" }.joined(separator: ", ")
        let summary: String
        switch rule.kind {
        case .servedDirect:
            summary =
                "\(total) served direct request\(total == 1 ? "" : "s") from \(addressCount) \(plural) in \(span) "
                + "(threshold \(Self.number(rule.threshold)) per \(rule.groupBy == .none ? "window" : rule.groupBy.rawValue)): \(top)"
        case .pathPrefix:
            summary =
                "\(total) served direct request\(total == 1 ? "" : "s") to \(rule.prefixes.joined(separator: ", ")) from \(addressCount) \(plural) in \(span): \(top)"
        case .newAddress:
            summary = "\(keys.count) new direct \(keys.count == 1 ? "address" : "addresses") in \(span): \(top)"
        case .platformDenied:
            summary =
                "the allowlist denies \(total) platform requests (Always On, health checks, probes) from \(addressCount) \(plural) in \(span): \(top); allow them or the site will be taken out of rotation"
        case .stalled:
            let what = rule.measure == .ingest ? "no ingest activity" : "no new log data"
            summary =
                "\(what) for \(AlertDuration.format(Int64(total))) (since \(keys.first?.first ?? "?"); threshold \(AlertDuration.format(rule.afterSeconds)))"
        case .gatewayDrift:
            summary = keys.map(\.note).joined(separator: "; ")
        case .malformedRatio:
            let lines =
                try db.value(
                    Int.self,
                    "SELECT COALESCE(SUM(lines), 0) FROM files WHERE updated_at > ? AND status != 'ingesting'",
                    [window.start]
                ) ?? 0
            let ratio = lines > 0 ? Double(total) / Double(lines) * 100 : 0
            summary =
                "\(String(format: "%.1f", ratio))% of \(lines) lines ingested in \(span) are malformed (threshold \(String(format: "%.1f", rule.threshold * 100))%)"
        }
        return Alert(
            type: "alert",
            rule: rule.name,
            kind: rule.kind.rawValue,
            severity: rule.severity,
            summary: SafeText.terminal(summary),
            firedAt: UTCTime.format(now),
            window: window,
            count: total,
            threshold: rule.kind == .stalled ? Double(rule.afterSeconds) : rule.threshold,
            keyCount: keys.count,
            keys: keys.prefix(20).map {
                AlertKeyCount(key: SafeText.terminal($0.key), count: $0.count, first: $0.first, last: $0.last)
            },
            addresses: addresses.prefix(50).map(SafeText.terminal),
            samples: samples
        )
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private func samples(
        _ db: any SQLDatabase,
        rule: AlertRule,
        window: AlertWindow,
        addresses: [String]
    ) throws
        -> [AlertSample]
    {
        switch rule.kind {
        case .servedDirect, .pathPrefix, .newAddress:
            guard !addresses.isEmpty else { return [] }
            let (filter, filterArguments) = evidenceFilter(rule, db: db)
            var arguments: [any DatabaseValueConvertible] = [window.start, window.end]
            arguments += filterArguments
            arguments += addresses
            let marks = addresses.map { _ in "?" }.joined(separator: ", ")
            let rows = try db.rows(
                """
                SELECT e.time, e.address, e.method, e.uri_stem, e.status, e.substatus, e.user_agent, e.line, f.path
                FROM evidence e JOIN files f ON f.id = e.file_id
                WHERE \(filter) AND e.address IN (\(marks))
                ORDER BY e.id DESC LIMIT 5
                """,
                arguments
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.time = row.optional(String.self, named: "time")
                sample.address = row.optional(String.self, named: "address").map(SafeText.terminal)
                sample.method = row.optional(String.self, named: "method").map(SafeText.terminal)
                sample.uri = row.optional(String.self, named: "uri_stem").map(SafeText.terminal)
                sample.status = "\(row["status"] as Int).\(row["substatus"] as Int)"
                sample.userAgent = row.optional(String.self, named: "user_agent").map(SafeText.terminal)
                sample.file = row.optional(String.self, named: "path").map(SafeText.terminal)
                sample.line = row.optional(Int.self, named: "line")
                return sample
            }
        case .platformDenied:
            guard !addresses.isEmpty else { return [] }
            let marks = addresses.map { _ in "?" }.joined(separator: ", ")
            var arguments: [any DatabaseValueConvertible] = [window.start, window.end]
            arguments += addresses
            // Ties broken by the rest of the key, in key order, so both engines pick the same rows.
            let rows = try db.rows(
                """
                SELECT hour, address, status, substatus, requests FROM hourly
                WHERE verdict = 'platform' AND outcome != '' AND last_seen > ? AND first_seen <= ?
                    AND address IN (\(marks))
                ORDER BY requests DESC, hour DESC, site, address, outcome, status, substatus LIMIT 5
                """,
                arguments
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.time = row.optional(String.self, named: "hour")
                sample.address = row.optional(String.self, named: "address").map(SafeText.terminal)
                sample.status = "\(row["status"] as Int).\(row["substatus"] as Int)"
                sample.requests = row.optional(Int.self, named: "requests")
                return sample
            }
        case .malformedRatio:
            let rows = try db.rows(
                """
                SELECT f.path, m.line, m.reason, m.sample FROM malformed_lines m JOIN files f ON f.id = m.file_id
                WHERE f.updated_at > ? ORDER BY f.updated_at DESC, m.line, f.path, m.file_id LIMIT 5
                """,
                [window.start]
            )
            return rows.map { row in
                var sample = AlertSample()
                sample.file = row.optional(String.self, named: "path").map(SafeText.terminal)
                sample.line = row.optional(Int.self, named: "line")
                sample.reason = row.optional(String.self, named: "reason").map(SafeText.terminal)
                sample.text = row.optional(String.self, named: "sample").map {
                    SafeText.terminal(String($0.prefix(120)))
                }
                return sample
            }
        case .stalled, .gatewayDrift:
            return []
        }
    }
}
