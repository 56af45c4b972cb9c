import Foundation
import GRDB

extension ClientsQuery {
    /// Calls `body` with each direct caller in the window, in address order, with its endpoints
    /// and user agents, before names and owners.
    ///
    /// - Returns: The newest data in the window (UTC), or `nil` when the window is empty.
    @discardableResult
    func scan(_ db: any SQLDatabase, _ body: (ClientEntry) throws -> Void) throws -> String? {
        let all = try filter.hourlyConditions(db)
        guard
            let newestText = try db.value(
                String.self,
                "SELECT MAX(last_seen) FROM hourly_facts \(all.whereClause)",
                all.values
            ),
            let newest = TimeDisplay.parse(newestText)
        else { return nil }
        let display = filter.display
        let reference = (newest - ((newest % 3600) + 3600) % 3600) + 3600
        let quietSince = UTCTime.format(newest - Int64(quietDays) * 86_400)
        let direct = try filter.hourlyConditions(db, verdict: .direct)
        let recent: [any DatabaseValueConvertible] = [
            UTCTime.format(reference - 86_400), UTCTime.format(reference - 7 * 86_400),
            UTCTime.format(reference - 30 * 86_400),
        ]
        let (valuesSQL, valueConditions) = try InventoryLookup.valuesStatement(db, filter: filter, nulls: 5)
        var client: ClientEntry?
        var counts: [String: [String: Int]] = [:]  // kind → value → requests
        func finish() throws {
            defer { counts.removeAll(keepingCapacity: true) }
            guard var entry = client else { return }
            client = nil
            if let wanted = state, wanted != entry.state { return }
            entry.endpoints = InventoryLookup.ranked(counts["endpoint"] ?? [:], perAddress: valuesPerClient)
            entry.userAgents = InventoryLookup.ranked(counts["user_agent"] ?? [:], perAddress: valuesPerClient)
            entry.firstSeen = display.format(entry.firstSeen)
            entry.lastSeen = display.format(entry.lastSeen)
            try body(entry)
        }
        var address: String?
        // Hourly rows: (address, 0, first, last, requests, blocked, served, 1d, 7d, 30d); then the
        // address's values: (address, 1, kind, value, requests, NULL × 5).
        try db.forEachRow(
            """
            SELECT address, 0, MIN(first_seen), MAX(last_seen), SUM(requests),
                SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END),
                SUM(CASE WHEN outcome = 'served' THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END),
                SUM(CASE WHEN hour >= ? THEN requests ELSE 0 END)
            FROM hourly \(direct.whereClause) GROUP BY address
            UNION ALL \(valuesSQL)
            ORDER BY 1, 2
            """,
            recent + direct.values + valueConditions
        ) { row in
            let rowAddress: String = row[0]
            if rowAddress != address {
                try finish()
                address = rowAddress
            }
            let isHourly: Int = row[1]
            guard isHourly == 0 else {
                let kind: String = row[2]
                counts[kind, default: [:]][row.optional(String.self, at: 3) ?? "-", default: 0] += row[4] as Int
                return
            }
            let served: Int = row[6]
            let lastSeen: String = row[3]
            client = ClientEntry(
                address: rowAddress,
                state: served == 0 ? .blockedOnly : (lastSeen < quietSince ? .quiet : .active),
                firstSeen: row[2],
                lastSeen: lastSeen,
                requests: row[4],
                blocked: row[5],
                served: served,
                last1d: row[7],
                last7d: row[8],
                last30d: row[9],
                endpoints: [],
                userAgents: []
            )
        }
        try finish()
        return newestText
    }
}
