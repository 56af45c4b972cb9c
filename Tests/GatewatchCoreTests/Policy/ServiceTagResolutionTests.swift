import Foundation
import GatewatchCore
import Testing

/// Spec D22: service tag resolution in App Service rules.
@Suite struct ServiceTagResolutionTests {
    /// A tags file whose only entry is known by its `id` (no `name`).
    static func tags(extraPrefixes: String = "") -> String {
        """
        { "changeNumber": 7, "cloud": "Public", "values": [
          { "id": "OnlyId.Tag",
            "properties": { "addressPrefixes": ["192.0.2.0/24"\(extraPrefixes)] } } ] }
        """
    }

    static func policy(ipAddress: String, extraPrefixes: String = "") throws -> Policy {
        let tags = try ServiceTags(data: Data(Self.tags(extraPrefixes: extraPrefixes).utf8), path: "tags.json")
        let rules = """
            {"ipSecurityRestrictions": [
              {"action": "Allow", "ipAddress": "\(ipAddress)", "name": "tags", "priority": 100, "tag": "ServiceTag"}]}
            """
        return try Policy.compile(documents: [arm(rules)], serviceTags: tags)
    }

    @Test("a known tag found by id matches its prefixes")
    func knownTag() throws {
        let decision = try Self.policy(ipAddress: "OnlyId.Tag").evaluate(address: try #require(IPAddress("192.0.2.9")))
        #expect(decision.verdict == .allow)
        #expect(decision.rule.contains("'tags'"))
    }

    @Test(
        "one unknown tag makes the whole rule unresolvable: it never matches (D22.2)",
        arguments: ["OnlyId.Tag,AzureCloud", "AzureCloud, OnlyId.Tag", "Foo.Bar"]
    )
    func unknownTag(ipAddress: String) throws {
        let policy = try Self.policy(ipAddress: ipAddress)
        let decision = policy.evaluate(address: try #require(IPAddress("192.0.2.9")))
        #expect(decision.verdict == .deny)
        #expect(decision.rule == "implicit-deny-all")
        let unknown = policy.lint().filter { $0.code == "UNKNOWN_SERVICE_TAG" }
        #expect(unknown.count == 1)
        #expect(unknown.first?.severity == .error)
        #expect(unknown.first?.message.contains("never matches") == true)
        #expect(!policy.lint().contains { $0.code == "SHADOWED_ENTRY" })
    }

    @Test("invalid addressPrefixes items are skipped with a lint naming the tag and the item (D22.3)")
    func invalidPrefixes() throws {
        let policy = try Self.policy(ipAddress: "OnlyId.Tag", extraPrefixes: #", "192.0.2.300/32", 42"#)
        let findings = policy.lint().filter { $0.code == "INVALID_SERVICE_TAG_PREFIX" }
        #expect(findings.count == 2, "\(findings)")
        let bad = try #require(findings.first { $0.message.contains("'192.0.2.300/32'") })
        #expect(bad.message.contains("'OnlyId.Tag'"))
        #expect(bad.location.file == "tags.json" && bad.location.line == 3)
        #expect(findings.contains { $0.message.hasPrefix("'42'") })
        // The valid prefix still works.
        #expect(policy.evaluate(address: try #require(IPAddress("192.0.2.9"))).verdict == .allow)
    }

    @Test("the sample tags file's bad prefix is reported by lint")
    func sampleFile() throws {
        let policy = try Policy.load(
            policyFiles: [policyFixture("restrictions.json")],
            serviceTags: policyFixture("ServiceTags_Public_sample.json"),
            gateways: []
        )
        let finding = try #require(policy.lint().first { $0.code == "INVALID_SERVICE_TAG_PREFIX" })
        #expect(finding.message.contains("'not-a-prefix'") && finding.message.contains("'AzureCloud.westeurope'"))
        #expect(finding.location.file.hasSuffix("ServiceTags_Public_sample.json") && finding.location.line == 10)
    }
}
