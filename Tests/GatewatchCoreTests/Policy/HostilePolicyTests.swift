import GatewatchCore
import Testing

/// Policy files that look harmless but are not what IIS or App Service would accept.
@Suite struct HostilePolicyTests {
    @Test(
        "an empty or white-space-only policy file is an error naming the file",
        arguments: ["", "  \n\t\n", "\u{FEFF}\n"]
    )
    func emptyFile(text: String) {
        let error = #expect(throws: PolicyError.self) {
            try Policy.compile(documents: [PolicyDocument(path: "allow.txt", text: text)])
        }
        #expect(error == .emptyPolicy(path: "allow.txt"))
        #expect(error?.description.hasPrefix("'allow.txt' holds no entries") == true, "\(String(describing: error))")
    }

    @Test("two <ipSecurity> elements in one <security> are a 500.19 configuration error, not a merge")
    func duplicateSection() throws {
        let policy = try Policy.compile(documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.1" allowed="true"/></ipSecurity>"#
                    + "\n      "
                    + #"<ipSecurity><add ipAddress="10.0.0.2" allowed="true"/></ipSecurity>"#
            )
        ])
        let decision = policy.evaluate(PolicyRequest(address: try #require(IPAddress("10.0.0.1"))))
        #expect(decision.verdict == .configError)
        #expect(decision.layer == .iisConfig && decision.status == 500 && decision.substatus == 19)
        #expect(decision.rule.hasPrefix("DUPLICATE_SECTION site/web.config:6:"))
        let finding = try #require(policy.lint().first { $0.code == "DUPLICATE_SECTION" })
        #expect(finding.severity == .error && finding.location.line == 6)
        #expect(finding.message.contains("the first is at site/web.config:5:"))
        #expect(policy.isLoggedDenial(status: 500, substatus: 19, for: decision))
    }

    @Test("one <ipSecurity> per <location> is fine; a duplicate inside a <location> fails only below it")
    func duplicateInLocation() throws {
        let text = """
            <configuration>
              <system.webServer><security>
                <ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.1" allowed="true"/></ipSecurity>
              </security></system.webServer>
              <location path="api"><system.webServer><security>
                <ipSecurity><add ipAddress="10.0.0.2" allowed="true"/></ipSecurity>
                <ipSecurity><add ipAddress="10.0.0.3" allowed="true"/></ipSecurity>
              </security></system.webServer></location>
            </configuration>
            """
        let policy = try Policy.compile(documents: [PolicyDocument(path: "site/web.config", text: text)])
        let address = try #require(IPAddress("10.0.0.1"))
        #expect(policy.evaluate(PolicyRequest(address: address, path: "/")).verdict == .allow)
        #expect(policy.evaluate(PolicyRequest(address: address, path: "/api/x")).verdict == .configError)
        #expect(policy.lint().filter { $0.code == "DUPLICATE_SECTION" }.map(\.location.line) == [7])
    }

    @Test("an App Service ipAddress with more than 8 entries is linted, and still evaluated")
    func tooManyAddresses() throws {
        func policy(_ count: Int) throws -> Policy {
            let list = (1...count).map { "198.51.100.\($0)" }.joined(separator: ",")
            return try Policy.compile(documents: [
                arm(
                    #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": ""# + list
                        + #"", "name": "office", "priority": 100}]}"#
                )
            ])
        }
        let nine = try policy(9)
        let finding = try #require(nine.lint().first { $0.code == "IPADDRESS_LIST_TOO_LONG" })
        #expect(finding.severity == .warning && finding.message.contains("lists 9 entries"))
        #expect(nine.evaluate(address: try #require(IPAddress("198.51.100.9"))).verdict == .allow)
        #expect(try !policy(8).lint().contains { $0.code == "IPADDRESS_LIST_TOO_LONG" })
    }
}
