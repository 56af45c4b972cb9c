import Foundation
import GRDB
import Testing

@testable import GatewatchCore

@Suite struct AlertEvaluatorTests {
    /// A store with, in the 5 minutes up to 10:05:00 (the newest data): served direct hits from
    /// .7 (2, one with an ESC in its user agent), .8 (on /admin), .9 (Pingdom), 10.1.2.3; a blocked
    /// hit from 203.0.113.5; platform traffic the lock-down denies from 168.63.129.16; and .7 seen
    /// earlier at 08:00 (so it is not new).
    static func store(policyFile: Bool = false) throws -> (Store, String) {
        let directory = try TestSupport.scratchDirectory()
        let db = directory + "/g.db"
        var early = AlertLog.header
        early += AlertLog.line(second: 8 * 3600, client: "198.51.100.7")
        try AlertLog.write(early, to: directory + "/u_ex1.log")
        var text = AlertLog.header
        text += AlertLog.line(second: 36_000 + 10, client: "198.51.100.7")
        text += AlertLog.line(second: 36_000 + 20, client: "198.51.100.7", userAgent: "evil\u{1B}[31m")
        text += AlertLog.line(second: 36_000 + 60, client: "198.51.100.8", path: "/Admin/users")
        text += AlertLog.line(second: 36_000 + 120, client: "198.51.100.9", userAgent: "Pingdom.com_bot")
        text += AlertLog.line(second: 36_000 + 150, client: "10.1.2.3")
        text += AlertLog.line(second: 36_000 + 160, client: "203.0.113.5", status: "403 503")
        text += AlertLog.line(second: 36_000 + 170, client: "168.63.129.16", path: "/", userAgent: "HealthCheck/1.0")
        for second in stride(from: 36_000, through: 36_300, by: 30) {
            text += AlertLog.line(second: second, client: "20.50.10.4")
        }
        try AlertLog.write(text, to: directory + "/u_ex2.log")
        if policyFile {
            // The implied lock-down allows platform traffic; an explicit allowlist does not.
            try AlertLog.write("20.50.10.0/28\n", to: directory + "/allow.txt")
            let policy = try Policy.load(
                policyFiles: [directory + "/allow.txt"],
                serviceTags: nil,
                gateways: AlertLog.gateways
            )
            _ = try TestSupport.ingest([directory + "/u_ex1.log", directory + "/u_ex2.log"], db: db) {
                $0.gateways = AlertLog.gateways
                $0.policy = policy
            }
        } else {
            try AlertLog.ingest([directory + "/u_ex1.log", directory + "/u_ex2.log"], db: db)
        }
        return (try Store(path: db), directory)
    }

    static func rules(_ rules: AlertRule...) -> AlertRuleSet {
        var set = AlertRuleSet()
        set.rules = rules
        return set
    }

    static let now: Int64 = 2_000_000_000

    @Test(
        "served direct hits per address: one digest with counts, addresses, escaped samples; never twice for the same hits"
    )
    func servedDirectDigest() throws {
        let (store, directory) = try Self.store()
        let evaluator = AlertEvaluator(store: store, rules: Self.rules(AlertRule(name: "served", kind: .servedDirect)))
        let alerts = try evaluator.evaluate(now: Self.now)
        try #require(alerts.count == 1)
        let alert = alerts[0]
        #expect(alert.rule == "served" && alert.kind == "served_direct" && alert.severity == "critical")
        #expect(alert.window == AlertWindow(end: AlertLog.time(36_300), seconds: 300))
        #expect(alert.count == 5 && alert.keyCount == 4)
        #expect(
            alert.keys.first
                == AlertKeyCount(
                    key: "198.51.100.7",
                    count: 2,
                    first: "2026-11-20T10:00:00Z",
                    last: "2026-11-20T10:00:00Z"
                )
        )
        #expect(Set(alert.addresses) == ["198.51.100.7", "198.51.100.8", "198.51.100.9", "10.1.2.3"])
        #expect(!alert.addresses.contains("203.0.113.5"), "blocked hits are not served")
        #expect(alert.samples.count == 5)
        let evil = try #require(alert.samples.first { $0.userAgent?.hasPrefix("evil") == true })
        #expect(evil.userAgent == "evil\\x1b[31m")
        #expect(
            evil.file == directory + "/u_ex2.log" && evil.line == 5 && evil.status == "200.0" && evil.method == "GET"
        )
        let json = try alert.json()
        #expect(!json.contains("\u{1B}"))
        #expect(json.contains("\"summary\":\"5 served direct requests from 4 addresses in 5m"))

        #expect(try evaluator.evaluate(now: Self.now + 10).isEmpty, "the same hits again")
        #expect(try evaluator.evaluate(now: Self.now + 100_000).isEmpty, "after the cooldown, still nothing new")
        let recorded = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alerts") }
        #expect(recorded == 1)
    }

    @Test("a new hit fires again only after the key's cooldown, and only for that key")
    func cooldown() throws {
        let (store, directory) = try Self.store()
        let evaluator = AlertEvaluator(store: store, rules: Self.rules(AlertRule(name: "served", kind: .servedDirect)))
        _ = try evaluator.evaluate(now: Self.now)
        var more = AlertLog.header
        more += AlertLog.line(second: 36_000 + 320, client: "198.51.100.7")
        try AlertLog.write(more, to: directory + "/u_ex3.log")
        try AlertLog.ingest([directory + "/u_ex3.log"], db: store.path)
        #expect(try evaluator.evaluate(now: Self.now + 60).isEmpty, "inside the 15-minute cooldown")
        let later = try evaluator.evaluate(now: Self.now + 901)
        #expect(later.map(\.keys.count) == [1])
        #expect(later.first?.keys.first?.key == "198.51.100.7")
        // The window now ends at 10:05:20, so the two earlier hits (10:00:10, 10:00:20) left it.
        #expect(later.first?.keys.first?.count == 1)
    }

    @Test("ignore lists drop addresses by CIDR, user agents by substring and paths by prefix")
    func ignoreLists() throws {
        let (store, _) = try Self.store()
        var rule = AlertRule(name: "served", kind: .servedDirect)
        rule.ignore.cidrs = [CIDR("10.0.0.0/8")!]
        rule.ignore.userAgents = ["Pingdom"]
        rule.ignore.paths = ["/admin"]
        let alerts = try AlertEvaluator(store: store, rules: Self.rules(rule)).evaluate(now: Self.now, dryRun: true)
        #expect(alerts.first?.addresses == ["198.51.100.7"])
        #expect(alerts.first?.count == 2)
    }

    @Test("grouping: overall with a threshold, and per CIDR block")
    func grouping() throws {
        let (store, _) = try Self.store()
        var overall = AlertRule(name: "overall", kind: .servedDirect)
        overall.groupBy = .none
        overall.threshold = 5
        var tooHigh = overall
        tooHigh.name = "too-high"
        tooHigh.threshold = 6
        var blocks = AlertRule(name: "blocks", kind: .servedDirect)
        blocks.groupBy = .cidr
        let alerts = try AlertEvaluator(store: store, rules: Self.rules(overall, tooHigh, blocks)).evaluate(
            now: Self.now,
            dryRun: true
        )
        #expect(alerts.map(\.rule) == ["overall", "blocks"])
        #expect(
            alerts[0].keys == [
                AlertKeyCount(key: "*", count: 5, first: "2026-11-20T10:00:00Z", last: "2026-11-20T10:02:00Z")
            ]
        )
        #expect(alerts[1].keys.map(\.key) == ["198.51.100.0/24", "10.1.2.0/24"])
        #expect(alerts[1].keys.map(\.count) == [4, 1])
    }

    @Test("without digest each key is its own message up to max_messages; the rest are folded into one")
    func noDigest() throws {
        let (store, _) = try Self.store()
        var rule = AlertRule(name: "served", kind: .servedDirect)
        rule.digest = false
        rule.maxMessages = 2
        let deliveries = try AlertEvaluator(store: store, rules: Self.rules(rule)).fire(now: Self.now)
        let alerts = deliveries.map(\.alert)
        #expect(alerts.map(\.keyCount) == [1, 3])
        #expect(alerts[0].keys.first?.key == "198.51.100.7")
        let states = try store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert_state WHERE rule = 'served'")
        }
        #expect(states == 4)
        // A failed delivery is recorded on its own alert's row, not on the rule's newest one.
        let evaluator = AlertEvaluator(store: store, rules: Self.rules(rule))
        func failure(_ sink: String) -> DeliveryResult {
            DeliveryResult(sink: sink, error: .standardOutput(errno: EPIPE), attempts: 1)
        }
        try evaluator.recordDelivery(deliveries[0], results: [failure("stdout")])
        try evaluator.recordDelivery(deliveries[1], results: [failure("stdout"), failure("file:/x")])
        let failed = try store.read { db in
            try Int.fetchAll(db, sql: "SELECT sinks_failed FROM alerts WHERE rule = 'served' ORDER BY id")
        }
        #expect(failed == [1, 2])
        // Both stay owed to the sinks that failed, and are handed out again.
        #expect(try evaluator.pendingDeliveries().map(\.sinks) == [["stdout"], ["stdout", "file:/x"]])
        try evaluator.recordDelivery(deliveries[0], results: [DeliveryResult(sink: "stdout", error: nil, attempts: 1)])
        #expect(try evaluator.pendingDeliveries().map(\.id) == [deliveries[1].id])
    }

    @Test("path prefixes match case-insensitively; new addresses exclude those seen before the window")
    func pathAndNewAddress() throws {
        let (store, _) = try Self.store()
        var admin = AlertRule(name: "admin", kind: .pathPrefix)
        admin.prefixes = ["/admin"]
        let fresh = AlertRule(name: "fresh", kind: .newAddress)
        let evaluator = AlertEvaluator(store: store, rules: Self.rules(admin, fresh))
        let alerts = try evaluator.evaluate(now: Self.now)
        #expect(alerts.map(\.rule) == ["admin", "fresh"])
        #expect(alerts[0].addresses == ["198.51.100.8"])
        #expect(alerts[0].samples.first?.uri == "/Admin/users")
        #expect(Set(alerts[1].addresses) == ["198.51.100.8", "198.51.100.9", "10.1.2.3"])
        #expect(try evaluator.evaluate(now: Self.now + 1_000_000).isEmpty, "a new address fires once, ever")
    }

    @Test("platform traffic the allowlist denies")
    func platformDenied() throws {
        let (store, _) = try Self.store(policyFile: true)
        let alerts = try AlertEvaluator(
            store: store,
            rules: Self.rules(AlertRule(name: "platform", kind: .platformDenied))
        )
        .evaluate(now: Self.now)
        #expect(alerts.first?.addresses == ["168.63.129.16"])
        #expect(alerts.first?.samples.first?.requests == 1)
        #expect(alerts.first?.summary.contains("the allowlist denies 1 platform requests") == true)
    }

    @Test("stalled ingestion fires after its threshold and repeats only after the cooldown")
    func stalled() throws {
        let (store, _) = try Self.store()
        var rule = AlertRule(name: "stalled", kind: .stalled)
        rule.afterSeconds = 600
        let evaluator = AlertEvaluator(store: store, rules: Self.rules(rule))
        let wall = Int64(Date().timeIntervalSince1970)
        #expect(try evaluator.evaluate(now: wall).isEmpty)
        let alerts = try evaluator.evaluate(now: wall + 700)
        #expect(alerts.count == 1)
        #expect(alerts.first?.summary.hasPrefix("no ingest activity for") == true)
        #expect(try evaluator.evaluate(now: wall + 800).isEmpty)
        #expect(try evaluator.evaluate(now: wall + 700 + 3600).count == 1)
        var data = rule
        data.name = "data"
        data.measure = .data
        let byData = try AlertEvaluator(store: store, rules: Self.rules(data)).evaluate(
            now: AlertLog.time(36_300) + 600,
            dryRun: true
        )
        #expect(byData.first?.summary.hasPrefix("no new log data for 10m") == true)
    }

    @Test("malformed-line ratio over the threshold, with escaped samples")
    func malformed() throws {
        let directory = try TestSupport.scratchDirectory()
        var text = AlertLog.header
        for second in 0..<8 { text += AlertLog.line(second: second, client: "20.50.10.4") }
        text += "garbage \u{1B}]0;owned\u{07}\n"
        text += "2026-11-20 bad\n"
        try AlertLog.write(text, to: directory + "/u.log")
        let report = try AlertLog.ingest([directory + "/u.log"], db: directory + "/g.db")
        #expect(report.malformed == 2)
        var rule = AlertRule(name: "junk", kind: .malformedRatio)
        rule.minimumLines = 5
        rule.threshold = 0.1
        let store = try Store(path: directory + "/g.db")
        let alerts = try AlertEvaluator(store: store, rules: Self.rules(rule)).evaluate(
            now: Int64(Date().timeIntervalSince1970)
        )
        #expect(alerts.count == 1)
        #expect(alerts.first?.count == 2)
        #expect(alerts.first?.samples.count == 2)
        #expect(alerts.first?.samples.allSatisfy { !($0.text ?? "").contains("\u{1B}") } == true)
        var strict = rule
        strict.threshold = 0.5
        #expect(
            try AlertEvaluator(store: store, rules: Self.rules(strict)).evaluate(
                now: Int64(Date().timeIntervalSince1970),
                dryRun: true
            ).isEmpty
        )
    }

    @Test("a dry run records nothing; anchor now uses the wall clock")
    func dryRunAndAnchor() throws {
        let (store, _) = try Self.store()
        var set = Self.rules(AlertRule(name: "served", kind: .servedDirect))
        let evaluator = AlertEvaluator(store: store, rules: set)
        #expect(try evaluator.evaluate(now: Self.now, dryRun: true).count == 1)
        #expect(try evaluator.evaluate(now: Self.now, dryRun: true).count == 1)
        set.anchor = .now
        #expect(
            try AlertEvaluator(store: store, rules: set).evaluate(now: Self.now).isEmpty,
            "nothing in the 5 minutes before now"
        )
        #expect(try AlertEvaluator(store: store, rules: set).evaluate(now: AlertLog.time(36_200)).first?.count == 5)
    }
}
