import Foundation
import Testing

@testable import GatewatchCore

@Suite struct WhatIfTests {
    let store: Store

    init() throws {
        store = try Store(path: MigrationFixtures.sampleDatabase, readOnly: true)
    }

    static let office = ["10.20.4.17", "10.20.4.23", "10.20.4.112", "10.20.8.5", "10.20.8.41", "10.20.12.9"]

    @Test("the deployed web.config changes nothing once it is enforced (exit 0)")
    func sameConfigAfterEnforcement() throws {
        let proposed = try MigrationFixtures.policy(TestSupport.sample("web.config"))
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-22"), until: nil)
        let result = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        #expect(result.newlyBlocked.isEmpty)
        #expect(result.unenforced.isEmpty)
        #expect(result.newlyAllowed.isEmpty)
        #expect(result.platformBroken.isEmpty)
        #expect(result.gatewaysDenied.isEmpty)
        #expect(result.outcome == .ok)
        #expect(result.outcome.exitCode == 0)
        #expect(result.first == "2026-11-22T00:00:05Z" || result.first.hasPrefix("2026-11-22T00:"))
        #expect(result.last == "2026-11-24T23:59:59Z")
    }

    @Test("dropping the office range newly blocks exactly the six office addresses (exit 4)")
    func dropOffice() throws {
        let path = try MigrationFixtures.webConfig(removing: ["10.20.0.0"])
        let proposed = try MigrationFixtures.policy(path)
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-22"), until: nil)
        let result = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        #expect(Set(result.newlyBlocked.map(\.address)) == Set(Self.office))
        #expect(result.newlyBlocked.allSatisfy { $0.current == "allowed" && $0.proposed == "deny" })
        #expect(result.newlyBlocked.allSatisfy { $0.rule == "iis-static: allowUnlisted" && $0.status == "403.503" })
        // Office requests on days 3–5 (expected.json: 18 + 150 + 150).
        #expect(result.newlyBlocked.reduce(0) { $0 + $1.requests } == 318)
        // Endpoints and user agents come from the inventory.
        #expect(result.newlyBlocked.allSatisfy { !$0.endpoints.isEmpty && !$0.userAgents.isEmpty })
        #expect(result.newlyBlocked.contains { $0.userAgents.contains { $0.value.hasPrefix("PostmanRuntime") } })
        #expect(result.unenforced.isEmpty)
        #expect(result.platformBroken.isEmpty)
        #expect(result.outcome == .blocksTraffic)
        #expect(result.outcome.exitCode == 4)
        // Sorted busiest first.
        #expect(result.newlyBlocked.map(\.requests) == result.newlyBlocked.map(\.requests).sorted(by: >))
    }

    @Test("a tighter config before enforcement names the unmigrated clients and the load-balancer probe (exit 5)")
    func tighterBeforeEnforcement() throws {
        let path = try MigrationFixtures.webConfig(removing: ["168.63.129.16"])
        let proposed = try MigrationFixtures.policy(path)
        let range = TimeRange(since: nil, until: try MigrationFixtures.time("2026-11-22"))
        // By default, direct requests served before enforcement began (2026-11-22) are history
        // (issue 21): days 1–2 break nothing that is served today…
        let byDefault = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        #expect(byDefault.unenforced.isEmpty)
        #expect(byDefault.history == WhatIfTotal(addresses: 41, requests: 945 + 529))
        #expect(byDefault.enforcement.map(\.since) == ["2026-11-22T00:02:11Z"])
        // …and judged with them, every direct caller was served, so enforcing cuts them off.
        var query = WhatIfQuery(proposed: proposed, range: range)
        query.includeHistory = true
        let result = try query.run(store: store)
        #expect(result.newlyBlocked.isEmpty)
        let unenforced = Set(result.unenforced.map(\.address))
        #expect(unenforced.count == 41)
        for planted in [
            "198.51.100.23", "203.0.113.200", "2001:db8:4f0:1c2::a1", "2001:db8:9c1:7e00:5d2b:19ff:fe4a:3c10",
        ] {
            #expect(unenforced.contains(planted), "missing \(planted)")
        }
        #expect(result.unenforced.reduce(0) { $0 + $1.requests } == 945 + 529)
        let partner = try #require(result.unenforced.first { $0.address == "198.51.100.23" })
        #expect(partner.requests == 236 + 112)
        #expect(partner.userAgents.first?.value.hasPrefix("Fabrikam.OrderSync/2.4.1") == true)

        let probe = try #require(result.platformBroken.first)
        #expect(result.platformBroken.count == 1)
        #expect(probe.address == "168.63.129.16")
        #expect(probe.kinds == ["load-balancer probe"])
        #expect(probe.requests == 288)  // every 10 minutes for two days
        #expect(probe.blocked == 0)
        #expect(probe.isNewlyBroken)
        #expect(probe.status == "403.503")
        #expect(result.outcome == .breaksPlatform)
        #expect(result.outcome.exitCode == 5)
    }

    @Test("denying loopback breaks Always On and warm-up; kinds come from the user agents")
    func loopbackDenied() throws {
        let path = try MigrationFixtures.webConfig(removing: ["127.0.0.1", "::1"])
        let result = try WhatIfQuery(proposed: try MigrationFixtures.policy(path)).run(store: store)
        let byAddress = Dictionary(uniqueKeysWithValues: result.platformBroken.map { ($0.address, $0) })
        let v6 = try #require(byAddress["::1"])
        #expect(v6.kinds == ["Always On"])
        let v4 = try #require(byAddress["127.0.0.1"])
        #expect(Set(v4.kinds) == ["Always On", "warm-up"])
        #expect(v4.requests + v6.requests == 1440 + 5)
        #expect(result.findings.contains { $0.code == "PLATFORM_PROBE_BLOCKED" })
        #expect(result.outcome == .breaksPlatform)
    }

    @Test("a new gateway address the web.config does not list is reported, the old one stays allowed")
    func gatewayChange() throws {
        let gateways = ["20.50.10.4/32", "20.50.10.9/32"].compactMap { CIDR($0) }
        let proposed = try MigrationFixtures.policy(TestSupport.sample("web.config"), gateways: gateways)
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-22"), until: nil)
        let result = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        #expect(result.gatewaysDenied.map(\.gateway) == ["20.50.10.9"])
        #expect(result.gatewaysDenied.first?.status == "403.503")
        // 20.50.10.5 is no longer a declared gateway, but web.config still lets it in.
        #expect(result.newlyBlocked.isEmpty)
        #expect(result.outcome == .blocksTraffic)
    }

    @Test("the implied lock-down of one gateway blocks the other gateway and the office, not platform traffic")
    func impliedLockDown() throws {
        let proposed = try Policy.load(policyFiles: [], serviceTags: nil, gateways: [try #require(CIDR("20.50.10.4"))])
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-24"), until: nil)
        let result = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        let gateway = try #require(result.newlyBlocked.first { $0.address == "20.50.10.5" })
        #expect(gateway.current == "gateway")
        #expect(gateway.endpoints.isEmpty)
        #expect(
            Set(result.newlyBlocked.filter { $0.current == "allowed" }.map(\.address)).isSubset(of: Set(Self.office))
        )
        #expect(result.platformBroken.isEmpty)
        #expect(result.notes.contains { $0.contains("gateway traffic keeps no endpoint") })
    }

    @Test("a permissive policy newly allows the blocked direct callers")
    func newlyAllowed() throws {
        let path = try TestSupport.scratchDirectory() + "/allow.txt"
        try "0.0.0.0/0\n::/0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let proposed = try MigrationFixtures.policy(path)
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-24"), until: nil)
        let result = try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        #expect(result.newlyAllowed.count == 10)
        #expect(result.newlyAllowed.reduce(0) { $0 + $1.requests } == 172)
        #expect(result.newlyAllowed.allSatisfy { $0.blocked == $0.requests && $0.current == "direct" })
        #expect(result.outcome == .ok)
    }

    @Test("an empty window is an error that says what to do")
    func emptyWindow() throws {
        let range = TimeRange(since: try MigrationFixtures.time("2030-01-01"), until: nil)
        let proposed = try MigrationFixtures.policy(TestSupport.sample("web.config"))
        let error = #expect(throws: LockdownError.self) {
            try WhatIfQuery(proposed: proposed, range: range).run(store: store)
        }
        #expect(error?.description.contains("no backend requests in") == true)
        #expect(error?.description.contains("widen --since/--until") == true)
    }

    @Test("renders JSON with totals and lint findings, CSV one row per address, a table with sections")
    func rendering() throws {
        let path = try MigrationFixtures.webConfig(removing: ["10.20.0.0", "168.63.129.16"])
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-23"), until: nil)
        let result = try WhatIfQuery(proposed: try MigrationFixtures.policy(path), range: range).run(store: store)
        let json = try result.render(.json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["outcome"] as? String == "breaks-platform")
        #expect(object["exit_code"] as? Int == 5)
        let totals = try #require(object["totals"] as? [String: Any])
        let newly = try #require(totals["newly_blocked"] as? [String: Int])
        #expect(newly["addresses"] == 6)
        #expect(newly["requests"] == 300)
        #expect((object["findings"] as? [[String: Any]]) != nil)
        #expect((object["notes"] as? [String])?.contains { $0.contains("*.scm.*") } == true)

        let csv = try result.render(.csv)
        let lines = csv.split(separator: "\r\n")
        #expect(lines.first?.hasPrefix("group,address,current,requests") == true)
        #expect(lines.filter { $0.hasPrefix("newly-blocked,") }.count == 6)
        #expect(lines.filter { $0.hasPrefix("platform-broken,168.63.129.16,") }.count == 1)

        let table = try result.render(.table)
        #expect(table.contains("Result: would break platform traffic (exit 5)"))
        #expect(table.contains("Newly blocked (the current policy lets them in): 6 address(es), 300 request(s)"))
        #expect(table.contains("load-balancer probe"))
        #expect(table.contains("Kudu"))

        let ndjson = try result.render(.ndjson)
        #expect(ndjson.split(separator: "\n").count == 7)
    }

    @Test("App Service restrictions: platform probes pass by user agent, the load-balancer address does not")
    func appServicePlatformBypass() throws {
        let path = try TestSupport.scratchDirectory() + "/restrictions.json"
        let json = """
            {"ipSecurityRestrictions": [
              {"action": "Allow", "ipAddress": "20.50.10.4/31", "name": "apim", "priority": 100},
              {"action": "Allow", "ipAddress": "10.20.0.0/16", "name": "office", "priority": 200}],
             "ipSecurityRestrictionsDefaultAction": "Deny"}
            """
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let range = TimeRange(since: try MigrationFixtures.time("2026-11-24"), until: nil)
        let result = try WhatIfQuery(proposed: try MigrationFixtures.policy(path), range: range).run(store: store)
        // Always On, health checks and warm-up skip App Service rules (D21); the probe address has no such agent.
        #expect(result.platformBroken.map(\.address) == ["168.63.129.16"])
        #expect(result.platformBroken.first?.rule.hasPrefix("appservice-frontend") == true)
        #expect(result.newlyBlocked.isEmpty)
        #expect(result.notes.contains { $0.contains("scmIpSecurityRestrictions") })
    }

    @Test("platform kinds from user agents as logged")
    func platformKinds() {
        func kinds(_ address: String, _ agents: [String]) -> [String] {
            WhatIfQuery.platformKinds(address: address, userAgents: agents.map { ValueCount(value: $0, requests: 1) })
        }
        #expect(kinds("168.63.129.16", ["Load+Balancer+Agent"]) == ["load-balancer probe"])
        #expect(
            kinds("169.254.130.1", ["HealthCheck/1.0", "ReadyForRequest/1.0+(LocalCache)"]) == [
                "health check", "container ready",
            ]
        )
        #expect(kinds("127.0.0.1", ["SiteWarmup"]) == ["warm-up"])
        #expect(kinds("10.0.0.1", []) == ["platform"])
    }
}
