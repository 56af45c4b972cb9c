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
    /// Marks the rows whose address, day and outcome have fewer rows than requests (a store that
    /// sampled evidence; nothing is looked up in one that never did).
    static func markSamples(_ events: inout [EventRow], _ db: any SQLDatabase) throws {
        guard !events.isEmpty,
            (try? db.value(
                Int64.self,
                "SELECT 1 FROM files WHERE evidence IS NOT NULL AND evidence <> 'all' LIMIT 1"
            )) != nil
        else { return }
        struct Group: Hashable {
            var address: String
            var day: String
            var outcome: String
        }
        var samples: [Group: EventSample?] = [:]
        for index in events.indices {
            let row = events[index]
            let group = Group(address: row.address, day: String(row.time.prefix(10)), outcome: row.outcome)
            if samples[group] == nil {
                let range: [any DatabaseValueConvertible] = [group.address, group.outcome, group.day, group.day + "U"]
                let requests =
                    try db.value(
                        Int64.self,
                        """
                        SELECT COALESCE(SUM(requests), 0) FROM hourly
                        WHERE address = ? AND verdict = 'direct' AND outcome = ? AND hour >= ? AND hour < ?
                        """,
                        range
                    ) ?? 0
                let rows =
                    try db.value(
                        Int64.self,
                        "SELECT COUNT(*) FROM evidence WHERE address = ? AND outcome = ? AND time >= ? AND time < ?",
                        range
                    ) ?? 0
                samples[group] = requests > rows ? EventSample(day: group.day, requests: requests, rows: rows) : nil
            }
            events[index].sample = samples[group] ?? nil
        }
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
