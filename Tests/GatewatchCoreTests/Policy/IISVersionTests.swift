import GatewatchCore
import Testing

/// Settings that exist only from IIS 8.0 are ignored under the IIS 7 profile (spec §1.1).
@Suite struct IISVersionTests {
    static let proxyDeny = site(
        #"<ipSecurity enableProxyMode="true"><add ipAddress="203.0.113.9"/></ipSecurity>"#
    )

    static func decide(version: Int, forwardedFor: String) throws -> (Policy, PolicyDecision) {
        let policy = try Policy.compile(
            documents: [Self.proxyDeny],
            options: PolicyLoadOptions(profile: IISProfile(version: version))
        )
        let request = PolicyRequest(address: try #require(IPAddress("10.0.0.4")), forwardedFor: forwardedFor)
        return (policy, policy.evaluate(request))
    }

    @Test("IIS 7 has no proxy mode: X-Forwarded-For is not checked, and lint says so")
    func proxyModeIgnoredOnIIS7() throws {
        let (policy, decision) = try Self.decide(version: 7, forwardedFor: "203.0.113.9")
        #expect(decision.verdict == .allow)
        #expect(decision.rule == "allowUnlisted")
        #expect(!policy.needsRequestHeaders)
        let findings = policy.lint().filter { $0.code == "PROXY_MODE_IGNORED" }
        #expect(findings.count == 1)
        #expect(findings.first?.location.line == 5 && findings.first?.severity == .warning)
        // Not an address in X-Forwarded-For: no 400.10 either.
        #expect(try Self.decide(version: 7, forwardedFor: "unknown").1.verdict == .allow)
    }

    @Test("IIS 8 and 10 check X-Forwarded-For in proxy mode (vector 33)", arguments: [8, 10])
    func proxyModeFromIIS8(version: Int) throws {
        let (policy, decision) = try Self.decide(version: version, forwardedFor: "203.0.113.9")
        #expect(decision.verdict == .deny)
        #expect(decision.rule.contains("via X-Forwarded-For 203.0.113.9"))
        #expect(decision.status == 403 && decision.substatus == 503)
        #expect(!policy.lint().contains { $0.code == "PROXY_MODE_IGNORED" })
    }
}
