import Foundation
import GRDB
import Testing

@testable import GatewatchCore

@Suite struct PruneTests {
    @Test("prune removes old rows, keeps the ledger, and the pruned file is still known")
    func prune() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let paths = InputDiscovery.expand([TestSupport.sample("backend")]).paths
        _ = try TestSupport.ingest(paths, db: db) { $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 } }
        let store = try Store(path: db)
        let cutoff = try TimeRange.parse(since: "2026-11-22", until: nil, last: nil, now: 0).since ?? 0
        let report = try Pruner.prune(store: store, before: cutoff)
        #expect((report.rows["hourly"] ?? 0) > 0)
        #expect((report.rows["evidence"] ?? 0) > 0)
        let remaining = try store.read { db in
            try String.fetchOne(db, sql: "SELECT MIN(hour) FROM hourly")
        }
        #expect(remaining == "2026-11-22T00:00:00Z")
        let evidenceBefore = try store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evidence WHERE time < '2026-11-22'")
        }
        #expect(evidenceBefore == 0)
        let again = try TestSupport.ingest(paths, db: db) { $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 } }
        #expect(again.filesKnown == 5)
    }
}

/// `prune --keep-evidence --keep-hourly`: old days rolled into daily rows, totals unchanged.
@Suite struct RetentionTests {
    /// Totals the queries read, per address and per day: they must not change with a roll-up.
    static func totals(_ store: Store) throws -> [String] {
        try store.query { db in
            var lines: [String] = []
            try db.forEachRow(
                """
                SELECT address, verdict, outcome, status, substatus, SUM(requests), SUM(bytes), SUM(time_taken_sum),
                    MAX(time_taken_max), MIN(first_seen), MAX(last_seen)
                FROM hourly GROUP BY address, verdict, outcome, status, substatus
                ORDER BY address, verdict, outcome, status, substatus
                """,
                []
            ) { row in
                lines.append((0..<row.count).map { "\(row.databaseValue(at: $0))" }.joined(separator: " "))
            }
            try db.forEachRow(
                "SELECT substr(hour, 1, 10), verdict, SUM(requests) FROM hourly GROUP BY 1, 2 ORDER BY 1, 2",
                []
            ) { row in
                lines.append((0..<row.count).map { "\(row.databaseValue(at: $0))" }.joined(separator: " "))
            }
            return lines
        }
    }

    /// Rolls the sample's days before 2026-11-23 up in `store` and checks what must hold.
    static func checkRollUp(_ store: Store) throws {
        let before = try totals(store)
        #expect(before.count > 100)
        let hourly = try TimeRange.parse(since: "2026-11-23T05:00", until: nil, last: nil, now: 0).since ?? 0
        let evidence = try TimeRange.parse(since: "2026-11-22", until: nil, last: nil, now: 0).since ?? 0
        let report = try Pruner.applyRetention(store: store, evidenceBefore: evidence, hourlyBefore: hourly)
        // The hourly cut-off is taken back to midnight.
        #expect(report.hourlyRolledUpBefore == "2026-11-23T00:00:00Z")
        #expect((report.hourlyRowsRolledUp ?? 0) > (report.dailyRows ?? 0))
        #expect((report.rows["evidence"] ?? 0) > 0)
        #expect(try totals(store) == before)
        func strings(_ sql: String) throws -> [String] { try store.query { try $0.values(String.self, sql, []) } }
        func count(_ sql: String) throws -> Int { try store.query { try $0.value(Int.self, sql, []) } ?? -1 }
        #expect(try strings("SELECT DISTINCT substr(hour, 11) FROM hourly WHERE hour < '2026-11-23'") == ["T00:00:00Z"])
        #expect(try count("SELECT COUNT(DISTINCT hour) FROM hourly WHERE hour >= '2026-11-23'") > 24)
        #expect(try count("SELECT COUNT(*) FROM evidence WHERE time < '2026-11-22'") == 0)
        let rows = try count("SELECT COUNT(*) FROM hourly")
        let again = try Pruner.applyRetention(store: store, evidenceBefore: nil, hourlyBefore: hourly)
        #expect(again.hourlyRowsRolledUp == again.dailyRows)
        #expect(try count("SELECT COUNT(*) FROM hourly") == rows)
        #expect(try totals(store) == before)
        // Queries read the rolled-up days like any others.
        #expect(try Summary.compute(store: store, range: TimeRange(since: nil, until: nil)).requests == 24_122)
    }

    @Test("old hours become one row per day with the same totals; old evidence goes; twice is once")
    func rollUp() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let paths = InputDiscovery.expand([TestSupport.sample("backend")]).paths
        _ = try TestSupport.ingest(paths, db: db) { $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 } }
        try Self.checkRollUp(try Store(path: db))
        // The ledger still knows the files.
        let rerun = try TestSupport.ingest(paths, db: db) { $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 } }
        #expect(rerun.filesKnown == 5)
    }

    @Test("the same roll-up on a PostgreSQL store", .enabled(if: PortablePostgres.available))
    func rollUpOnPostgres() throws {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/t.db"
        let paths = InputDiscovery.expand([TestSupport.sample("backend")]).paths
        _ = try TestSupport.ingest(paths, db: db) { $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 } }
        let url = try PortablePostgres.makeDatabase("retention")
        _ = try StoreCopy.copy(from: Store(path: db, readOnly: true), to: Store(path: url))
        try Self.checkRollUp(try Store(path: url))
    }
}
