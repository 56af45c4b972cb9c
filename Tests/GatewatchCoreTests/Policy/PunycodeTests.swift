import Foundation
import Testing

@testable import GatewatchCore

@Suite struct PunycodeTests {
    @Test("RFC 3492 sample strings and IDNA labels")
    func vectors() {
        func encode(_ text: String) -> String { Punycode.encode(text.unicodeScalars.map { Int($0.value) }) }
        #expect(encode("bücher") == "bcher-kva")
        #expect(encode("münchen") == "mnchen-3ya")
        // RFC 3492 §7.1 (A) Arabic (Egyptian) and (L) Japanese with Latin.
        #expect(
            encode(
                "\u{644}\u{64A}\u{647}\u{645}\u{627}\u{628}\u{62A}\u{643}\u{644}\u{645}\u{648}\u{634}\u{639}\u{631}\u{628}\u{64A}\u{61F}"
            ) == "egbpdaj6bu4bxfgehfvwxn"
        )
        #expect(encode("3\u{5E74}B\u{7D44}\u{91D1}\u{516B}\u{5148}\u{751F}") == "3B-ww4c5e180e575a65lsy2b")
        #expect(Punycode.asciiHost("WWW.Bücher.Example") == "www.xn--bcher-kva.example")
        #expect(Punycode.asciiHost("*.bücher.example") == "*.xn--bcher-kva.example")
        #expect(Punycode.asciiHost("api.contoso.com") == "api.contoso.com")
    }

    @Test("an x-forwarded-host filter matches a host in Unicode or Punycode either way (§2.3.6)")
    func hostFilter() throws {
        for (rule, host) in [
            ("bücher.example", "xn--bcher-kva.example"), ("xn--bcher-kva.example", "bücher.example"),
            ("*.bücher.example", "shop.XN--BCHER-KVA.example"),
        ] {
            let json = """
                {"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "Any", "name": "host", "priority": 100,
                  "headers": {"x-forwarded-host": ["\(rule)"]}}]}
                """
            let policy = try Policy.compile(documents: [PolicyDocument(path: "rules.json", text: json)])
            let allowed = policy.evaluate(
                PolicyRequest(address: try #require(IPAddress("192.0.2.1")), headers: ["x-forwarded-host": host])
            )
            #expect(allowed.verdict == .allow, "\(rule) vs \(host): \(allowed.rule)")
            let other = policy.evaluate(
                PolicyRequest(
                    address: try #require(IPAddress("192.0.2.1")),
                    headers: ["x-forwarded-host": "other.example"]
                )
            )
            #expect(other.verdict == .deny)
        }
    }
}

@Suite struct ServiceTagsAgeTests {
    @Test("a service tags file more than 14 days from the logs is named in a warning (D22.4)")
    func ageWarning() throws {
        let directory = try TestSupport.scratchDirectory()
        let tags = directory + "/ServiceTags_Public_20250101.json"
        let sample = try Data(
            contentsOf: URL(fileURLWithPath: TestSupport.fixture("policy/ServiceTags_Public_sample.json"))
        )
        try TestSupport.write(sample, to: tags)
        let policy = try Policy.load(
            policyFiles: [TestSupport.fixture("policy/restrictions.json")],
            serviceTags: tags,
            gateways: []
        )
        let old = try #require(
            policy.serviceTagsAgeWarning(first: "2026-11-20T00:00:00Z", last: "2026-11-24T23:59:59Z")
        )
        #expect(old.contains("2025-01-01, changeNumber 84"), "\(old)")
        #expect(old.contains("days older than the logs"))
        #expect(policy.serviceTagsAgeWarning(first: "2025-01-10T00:00:00Z", last: "2025-01-12T00:00:00Z") == nil)
        #expect(policy.serviceTagsAgeWarning(first: "2024-12-01T00:00:00Z", last: "2024-12-02T00:00:00Z") != nil)
        // A file name without a date says nothing.
        let undated = try Policy.load(
            policyFiles: [TestSupport.fixture("policy/restrictions.json")],
            serviceTags: TestSupport.fixture("policy/ServiceTags_Public_sample.json"),
            gateways: []
        )
        #expect(undated.serviceTagsAgeWarning(first: "2026-11-20T00:00:00Z", last: "2026-11-24T00:00:00Z") == nil)
    }
}

@Suite struct ImpliedLockDownTests {
    @Test("the implied lock-down lets the gateway, loopback and the load-balancer probe in, as ingest does")
    func probeAllowed() throws {
        let policy = Policy.lockDown(gateways: [try #require(CIDR("20.50.10.4"))])
        for allowed in ["20.50.10.4", "127.0.0.1", "::1", "168.63.129.16"] {
            #expect(policy.evaluate(address: try #require(IPAddress(allowed))).verdict == .allow, "\(allowed)")
        }
        #expect(policy.evaluate(address: try #require(IPAddress("8.8.8.8"))).verdict == .deny)
        #expect(!policy.lint().contains { $0.code == "PLATFORM_PROBE_BLOCKED" })
    }
}
