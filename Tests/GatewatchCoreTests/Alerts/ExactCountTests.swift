import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Counts that must not depend on how many `evidence` rows are kept.
///
/// Issue 23: evidence becomes a bounded sample, aggregates stay exact. Each test ingests an address with more direct requests
/// than the sample's cap (100), then deletes its evidence rows past the first 100, as sampling
/// would, and checks the count is still every request.
@Suite struct ExactCountTests {
    static let heavy = "198.51.100.50"

    /// 150 served direct requests from ``heavy`` in 10:00:00–10:02:29, one from another address;
    /// evidence then cut to its first 100 rows of ``heavy``.
    static func sampledStore() throws -> Store {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/g.db"
        var text = AlertLog.header
        for second in 0..<150 { text += AlertLog.line(second: 36_000 + second, client: heavy) }
        text += AlertLog.line(second: 36_100, client: "198.51.100.51")
        try AlertLog.write(text, to: directory + "/u_ex1.log")
        // Every row (the default would sample them at ingest), then cut as sampling would.
        try TestSupport.ingest([directory + "/u_ex1.log"], db: db) {
            $0.gateways = AlertLog.gateways
            $0.evidence = .all
        }
        let store = try Store(path: db)
        let count = "SELECT COUNT(*) FROM evidence WHERE address = ?"
        #expect(try store.query { try $0.value(Int.self, count, [heavy]) } == 150)
        try store.write { db in
            try db.execute(
                """
                DELETE FROM evidence_rows WHERE address = ? AND id NOT IN (
                    SELECT id FROM evidence WHERE address = ? ORDER BY id LIMIT 100)
                """,
                [heavy, heavy]
            )
        }
        #expect(try store.query { try $0.value(Int.self, count, [heavy]) } == 100)
        return store
    }

    @Test("served_direct counts every direct request: a threshold above the kept evidence rows still fires")
    func servedDirectThreshold() throws {
        let store = try Self.sampledStore()
        var rule = AlertRule(name: "burst", kind: .servedDirect)
        rule.threshold = 120
        var set = AlertRuleSet()
        set.rules = [rule]
        let alerts = try AlertEvaluator(store: store, rules: set).evaluate(now: AlertEvaluatorTests.now)
        try #require(alerts.count == 1)
        #expect(alerts[0].count == 150)
        #expect(alerts[0].addresses == [Self.heavy])
        #expect(alerts[0].keys.first?.first == "2026-11-20T10:00:00Z")
        #expect(alerts[0].keys.first?.last == "2026-11-20T10:02:00Z")
    }

    @Test("new_address counts every direct request of the new address")
    func newAddressCount() throws {
        let store = try Self.sampledStore()
        var set = AlertRuleSet()
        set.rules = [AlertRule(name: "new", kind: .newAddress)]
        let alerts = try AlertEvaluator(store: store, rules: set).evaluate(now: AlertEvaluatorTests.now)
        try #require(alerts.count == 1)
        #expect(alerts[0].keys.first { $0.key == Self.heavy }?.count == 150)
    }

    @Test("ip: the direct requests per deciding rule are every request, from the aggregates")
    func addressRules() throws {
        let store = try Self.sampledStore()
        let report = try AddressReport.compute(address: Self.heavy, filter: QueryFilter(), store: store)
        #expect(report.rules.reduce(0) { $0 + $1.requests } == 150)
        #expect(report.rules.count == 1)
        // The endpoints (inventory) count every request too.
        #expect(report.endpoints.reduce(0) { $0 + $1.requests } == 150)
    }

    @Test("report: the top endpoints and user agents of direct requests count every request, served and blocked")
    func reportTopValues() throws {
        let store = try Self.sampledStore()
        let data = try ReportData.load(store: store, options: ReportOptions(rowsPerTable: 0, quietDays: 1))
        let orders = try #require(data.endpoints.first { $0.value == "/api/orders" })
        #expect(orders.requests == 151 && orders.served == 151 && orders.blocked == 0 && orders.clients == 2)
        #expect(data.userAgents.map(\.requests) == [151])
    }
}
