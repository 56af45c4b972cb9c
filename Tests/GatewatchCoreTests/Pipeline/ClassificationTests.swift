import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Verdicts at ingest: gateway, platform (and whether the allowlist would block it), allowed,
/// direct blocked or served — through the real allowlist engine.
@Suite struct ClassificationTests {
    static let webConfig = """
        <configuration>
          <system.webServer>
            <security>
              <ipSecurity allowUnlisted="false" denyAction="NotFound">
                <add ipAddress="20.50.10.0" subnetMask="255.255.255.240" allowed="true" />
                <add ipAddress="10.20.0.0" subnetMask="255.255.0.0" allowed="true" />
              </ipSecurity>
            </security>
          </system.webServer>
        </configuration>
        """

    static let log = """
        #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
        2026-11-20 10:00:00 10.0.1.4 GET /api/a - 443 - 20.50.10.4 okhttp - 200 0 0 5
        2026-11-20 10:00:01 10.0.1.4 GET /api/a - 443 - 10.20.3.4 curl - 200 0 0 5
        2026-11-20 10:00:02 10.0.1.4 GET /api/a - 443 - 198.51.100.7 curl - 200 0 0 5
        2026-11-20 10:00:03 10.0.1.4 GET /api/a - 443 - 198.51.100.7 curl - 404 503 0 5
        2026-11-20 10:00:04 10.0.1.4 GET /api/a - 443 - 198.51.100.8 curl - 403 503 0 5
        2026-11-20 10:00:05 10.0.1.4 GET / - 443 - ::1 AlwaysOn - 404 503 0 1
        2026-11-20 10:00:06 10.0.1.4 GET /health - 443 - 169.254.130.1 HealthCheck/1.0 - 200 0 0 1

        """

    @Test("denyAction NotFound logs 404.503: only that counts as blocked; platform denials are flagged")
    func verdicts() throws {
        let directory = try TestSupport.scratchDirectory()
        try Data(Self.log.utf8).write(to: URL(fileURLWithPath: directory + "/u_ex.log"))
        let policy = try Policy.compile(
            documents: [PolicyDocument(path: "web.config", text: Self.webConfig)],
            gateways: [CIDR("20.50.10.4")].compactMap { $0 }
        )
        let report = try TestSupport.ingest([directory + "/u_ex.log"], db: directory + "/t.db") {
            $0.policy = policy
            $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 }
        }
        #expect(report.byVerdict == ["gateway": 1, "allowed": 1, "direct": 3, "platform": 2, "unjudged": 0])
        #expect(report.blocked == 1)  // 404.503 is this policy's denial
        #expect(report.served == 2)  // 200, and a 403.503 that this policy would not log
        #expect(report.platformDenied == 2)
        let store = try Store(path: directory + "/t.db", readOnly: true)
        let rules = try store.read { db in
            try String.fetchAll(db, sql: "SELECT rule FROM evidence ORDER BY time")
        }
        #expect(rules.count == 3)
        #expect(rules.allSatisfy { $0.contains("allowUnlisted") })
    }

    @Test("platform rules are editable; bad rules files explain themselves")
    func editableRules() throws {
        let directory = try TestSupport.scratchDirectory()
        try Data("user_agents: [curl]\naddresses: [198.51.100.8]\n".utf8).write(
            to: URL(fileURLWithPath: directory + "/p.yaml")
        )
        let rules = try PlatformRules.load(path: directory + "/p.yaml")
        #expect(rules.exactUserAgents == ["curl"])
        #expect(rules.userAgentPrefixes == PlatformRules().userAgentPrefixes)
        try Data(Self.log.utf8).write(to: URL(fileURLWithPath: directory + "/u_ex.log"))
        let report = try TestSupport.ingest([directory + "/u_ex.log"], db: directory + "/t.db") {
            $0.platformRules = rules
            $0.gateways = [CIDR("20.50.10.4")].compactMap { $0 }
        }
        // curl (4 lines) and 198.51.100.8 are platform now; AlwaysOn no longer is (::1 is allowed by the
        // implied lock-down policy, which admits loopback), HealthCheck/ still is.
        #expect(report.byVerdict["platform"] == 5)
        #expect(report.byVerdict["allowed"] == 1)
        #expect(report.byVerdict["direct"] == 0)

        try Data("user_agent: [x]\n".utf8).write(to: URL(fileURLWithPath: directory + "/bad.yaml"))
        let error = #expect(throws: PlatformRulesError.self) { try PlatformRules.load(path: directory + "/bad.yaml") }
        #expect(error?.description.contains("unknown key 'user_agent'") == true)
    }
}
