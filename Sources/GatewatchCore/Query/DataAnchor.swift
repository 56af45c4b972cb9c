/// The newest data in a store: what `--anchor data` counts `--last` back from.
public enum DataAnchor {
    /// The time of the newest backend request, before `bound` when given.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - bound: Unix seconds; only data before it counts.
    /// - Returns: Unix seconds, or `nil` when the store holds no request (before `bound`).
    /// - Throws: Database errors.
    public static func newest(store: Store, before bound: Int64?) throws -> Int64? {
        try store.query { db in
            let text: String?
            if let bound {
                text = try db.value(
                    String.self,
                    "SELECT MAX(last_seen) FROM hourly_facts WHERE hour < ? AND last_seen < ?",
                    [UTCTime.format(bound), UTCTime.format(bound)]
                )
            } else {
                text = try db.value(String.self, "SELECT MAX(last_seen) FROM hourly_facts")
            }
            return text.flatMap(TimeDisplay.parse)
        }
    }
}
