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
