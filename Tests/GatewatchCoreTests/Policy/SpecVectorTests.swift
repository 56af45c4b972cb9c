import Foundation
import GRDB
import GatewatchCore
import Testing

/// One row of spec §8: documents, a request, and what the server does.
struct SpecVector: Sendable, CustomTestStringConvertible {
    var id: Int
    var documents: [PolicyDocument]
    var profile = IISProfile.iis10
    var address: String
    var forwardedFor: String?
    var host: String?
    var path: String?
    var userAgent: String?
    var headers: [String: String] = [:]
    var reverseDNS: [String: String] = [:]
    var verdict: PolicyVerdict
    /// A fragment of the rule reference (`#1`, `allowUnlisted`, a file name).
    var rule: String
    var layer: PolicyLayer
    var status: Int?
    var substatus: Int?

    var testDescription: String { "vector \(id) (\(address))" }
}

/// Wraps `<ipSecurity>` in a web.config.
func webConfig(_ ipSecurity: String) -> String {
    """
    <?xml version="1.0" encoding="utf-8"?>
    <configuration>
      <system.webServer>
        <security>
          \(ipSecurity)
        </security>
      </system.webServer>
    </configuration>
    """
}

func site(_ ipSecurity: String) -> PolicyDocument {
    PolicyDocument(path: "site/web.config", text: webConfig(ipSecurity))
}

func arm(_ json: String) -> PolicyDocument {
    PolicyDocument(path: "restrictions.json", text: json)
}

let applicationHostRegistration = """
    <configSections>
      <sectionGroup name="system.webServer">
        <sectionGroup name="security">
          <section name="ipSecurity" overrideModeDefault="Deny" />
          <section name="dynamicIpSecurity" overrideModeDefault="Deny" />
        </sectionGroup>
      </sectionGroup>
    </configSections>
    """

let staticVectors: [SpecVector] = [
    SpecVector(
        id: 1,
        documents: [site("")],
        address: "203.0.113.5",
        verdict: .allow,
        rule: "allowUnlisted",
        layer: .iisStatic
    ),
    SpecVector(
        id: 2,
        documents: [
            site(#"<ipSecurity allowUnlisted="false"><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#)
        ],
        address: "127.0.0.1",
        verdict: .allow,
        rule: "#1",
        layer: .iisStatic
    ),
    SpecVector(
        id: 3,
        documents: [
            site(#"<ipSecurity allowUnlisted="false"><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#)
        ],
        address: "::1",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 4,
        documents: [
            site(#"<ipSecurity allowUnlisted="false"><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#)
        ],
        address: "198.51.100.7",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 5,
        documents: [site(#"<ipSecurity><add ipAddress="192.168.100.1"/></ipSecurity>"#)],
        address: "192.168.100.1",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 6,
        documents: [site(#"<ipSecurity><add ipAddress="169.254.0.0" subnetMask="255.255.0.0"/></ipSecurity>"#)],
        address: "169.254.129.1",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 8,
        documents: [site(#"<ipSecurity denyAction="NotFound"><add ipAddress="10.0.0.5"/></ipSecurity>"#)],
        address: "10.0.0.5",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 404,
        substatus: 503
    ),
    SpecVector(
        id: 9,
        documents: [site(#"<ipSecurity denyAction="Unauthorized"><add ipAddress="10.0.0.5"/></ipSecurity>"#)],
        address: "10.0.0.5",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 401,
        substatus: 503
    ),
    SpecVector(
        id: 10,
        documents: [site(#"<ipSecurity denyAction="AbortRequest"><add ipAddress="10.0.0.5"/></ipSecurity>"#)],
        address: "10.0.0.5",
        verdict: .abort,
        rule: "#1",
        layer: .iisStatic
    ),
    SpecVector(
        id: 11,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="true"><add ipAddress="10.0.0.0" subnetMask="255.0.0.0"/><add ipAddress="10.1.1.1" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "10.1.1.1",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 13,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: """
                    <configuration><location path="Default Web Site"><system.webServer><security>
                    <ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.0" subnetMask="8" allowed="true"/></ipSecurity>
                    </security></system.webServer></location></configuration>
                    """
            ),
            PolicyDocument(path: "site/web.config", text: webConfig("")),
            PolicyDocument(
                path: "site/dir/web.config",
                text: webConfig(#"<ipSecurity><add ipAddress="10.9.9.9"/></ipSecurity>"#)
            ),
        ],
        address: "10.9.9.9",
        path: "/dir/page.aspx",
        verdict: .allow,
        rule: "applicationHost.config:2 #1",
        layer: .iisStatic
    ),
    SpecVector(
        id: 14,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: """
                    <configuration><location path="Default Web Site"><system.webServer><security>
                    <ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.0" subnetMask="8" allowed="true"/></ipSecurity>
                    </security></system.webServer></location></configuration>
                    """
            ),
            PolicyDocument(path: "site/web.config", text: webConfig("")),
            PolicyDocument(
                path: "site/dir/web.config",
                text: webConfig(#"<ipSecurity><clear/><add ipAddress="10.9.9.9"/></ipSecurity>"#)
            ),
        ],
        address: "10.9.9.9",
        path: "/DIR/x",
        verdict: .deny,
        rule: "site/dir/web.config:5 #1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 16,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: """
                    <configuration><system.webServer><security>
                    <ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.0" subnetMask="255.0.0.0" allowed="true"/></ipSecurity>
                    </security></system.webServer></configuration>
                    """
            ),
            PolicyDocument(
                path: "app/web.config",
                text: webConfig(#"<ipSecurity><remove ipAddress="10.0.0.0" subnetMask="255.0.0.0"/></ipSecurity>"#)
            ),
        ],
        address: "10.1.1.1",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 18,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="::1" allowed="true"/><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#
            ),
            PolicyDocument(
                path: "site/child/web.config",
                text: webConfig(#"<ipSecurity><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#)
            ),
        ],
        address: "198.51.100.7",
        path: "/child/",
        verdict: .configError,
        rule: "DUPLICATE_KEY",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 19,
        documents: [
            site(#"<ipSecurity><add ipAddress="127.0.0.1" allowed="true"/></ipSecurity>"#),
            PolicyDocument(
                path: "site/child/web.config",
                text: webConfig(#"<ipSecurity><add ipAddress="127.0.0.1" allowed="false"/></ipSecurity>"#)
            ),
        ],
        address: "127.0.0.1",
        path: "/child",
        verdict: .configError,
        rule: "DUPLICATE_KEY",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 21,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: "<configuration>\(applicationHostRegistration)</configuration>"
            ),
            site(#"<ipSecurity><add ipAddress="10.0.0.5"/></ipSecurity>"#),
        ],
        address: "10.0.0.9",
        verdict: .configError,
        rule: "SECTION_LOCKED",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 22,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: """
                    <configuration>\(applicationHostRegistration)
                    <location path="Default Web Site" overrideMode="Allow"><system.webServer><security><ipSecurity/></security></system.webServer></location>
                    </configuration>
                    """
            ),
            site(#"<ipSecurity><add ipAddress="10.0.0.5"/></ipSecurity>"#),
        ],
        address: "10.0.0.5",
        verdict: .deny,
        rule: "site/web.config",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 23,
        documents: [
            site(#"<ipSecurity><add ipAddress="2001:db8::" subnetMask="ffff:ffff:ffff:ffff::"/></ipSecurity>"#)
        ],
        address: "2001:db8::1",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 25,
        documents: [site(#"<ipSecurity><add ipAddress="10.0.0.0" subnetMask="255.0.0.0"/></ipSecurity>"#)],
        address: "::ffff:10.2.3.4",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 27,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="10.1.2.0" subnetMask="24" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "10.1.2.77",
        verdict: .allow,
        rule: "#1",
        layer: .iisStatic
    ),
    SpecVector(
        id: 28,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="10.1.2.0" subnetMask="255.255.255.300" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "10.1.2.77",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 30,
        documents: [site(#"<ipSecurity><add ipAddress="10.1.2.3" subnetMask="255.255.255.0"/></ipSecurity>"#)],
        address: "10.1.2.200",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 31,
        documents: [site(#"<ipSecurity allowUnlisted="false"><add ipAddress="" allowed="true"/></ipSecurity>"#)],
        address: "198.51.100.7",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 32,
        documents: [
            site(#"<ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.0/8" allowed="true"/></ipSecurity>"#)
        ],
        address: "10.1.1.1",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 33,
        documents: [site(#"<ipSecurity enableProxyMode="true"><add ipAddress="203.0.113.9"/></ipSecurity>"#)],
        address: "10.0.0.4",
        forwardedFor: "203.0.113.9",
        verdict: .deny,
        rule: "via X-Forwarded-For 203.0.113.9",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 34,
        documents: [site(#"<ipSecurity enableProxyMode="false"><add ipAddress="203.0.113.9"/></ipSecurity>"#)],
        address: "10.0.0.4",
        forwardedFor: "203.0.113.9",
        verdict: .allow,
        rule: "allowUnlisted",
        layer: .iisStatic
    ),
    SpecVector(
        id: 36,
        documents: [
            site(
                #"<ipSecurity enableProxyMode="true" allowUnlisted="false"><add ipAddress="198.51.100.0" subnetMask="24" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "10.0.0.4",
        forwardedFor: "198.51.100.7",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 39,
        documents: [site(#"<ipSecurity enableProxyMode="true"><add ipAddress="192.0.2.1"/></ipSecurity>"#)],
        address: "10.0.0.4",
        forwardedFor: "unknown, 198.51.100.7",
        verdict: .deny,
        rule: "xff-invalid",
        layer: .iisStatic,
        status: 400,
        substatus: 10
    ),
    SpecVector(
        id: 40,
        documents: [site(#"<ipSecurity enableReverseDns="false"><add domainName="*.example.com"/></ipSecurity>"#)],
        address: "198.51.100.7",
        reverseDNS: ["198.51.100.7": "host.example.com"],
        verdict: .allow,
        rule: "allowUnlisted",
        layer: .iisStatic
    ),
    SpecVector(
        id: 41,
        documents: [site(#"<ipSecurity enableReverseDns="true"><add domainName="*.example.com"/></ipSecurity>"#)],
        address: "198.51.100.7",
        reverseDNS: ["198.51.100.7": "host.example.com"],
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 504
    ),
    SpecVector(
        id: 42,
        documents: [site(#"<ipSecurity enableReverseDns="true"><add domainName="*.example.com"/></ipSecurity>"#)],
        address: "198.51.100.7",
        verdict: .indeterminate,
        rule: "#1",
        layer: .iisStatic
    ),
    SpecVector(
        id: 43,
        documents: [site(#"<ipSecurity><add ipAddress="10.0.0.5"/></ipSecurity>"#)],
        profile: IISProfile(version: 7),
        address: "10.0.0.5",
        verdict: .deny,
        rule: "#1",
        layer: .iisStatic,
        status: 403,
        substatus: 6
    ),
    SpecVector(
        id: 68,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="198.51.100.0" subnetMask="24" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "::1",
        userAgent: "AlwaysOn",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    SpecVector(
        id: 70,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="10.0.0.0" subnetMask="8" allowed="true"/></ipSecurity>"#
            )
        ],
        address: "168.63.129.16",
        verdict: .deny,
        rule: "allowUnlisted",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
]

let armExample = """
    {
      "ipSecurityRestrictions": [
        { "action": "Allow", "ipAddress": "122.133.144.0/24", "name": "IP example rule", "priority": 100, "tag": "Default" },
        { "action": "Deny", "description": "Deny all access", "ipAddress": "Any", "name": "Deny all", "priority": 2147483647 }
      ],
      "ipSecurityRestrictionsDefaultAction": null,
      "scmIpSecurityRestrictions": [
        { "action": "Allow", "description": "Allow all access", "ipAddress": "Any", "name": "Allow all", "priority": 2147483647 }
      ],
      "scmIpSecurityRestrictionsDefaultAction": null,
      "scmIpSecurityRestrictionsUseMain": false
    }
    """

let frontDoorRules = """
    { "ipSecurityRestrictions": [
        { "action": "Allow", "ipAddress": "AzureFrontDoor.Backend", "name": "AFD", "priority": 200, "tag": "ServiceTag",
          "headers": { "x-azure-fdid": ["G1"] } } ] }
    """

let armVectors: [SpecVector] = [
    SpecVector(
        id: 49,
        documents: [arm(#"{"ipSecurityRestrictions": []}"#)],
        address: "8.8.8.8",
        verdict: .allow,
        rule: "implicit-allow-all",
        layer: .appserviceFrontend
    ),
    SpecVector(
        id: 50,
        documents: [arm(armExample)],
        address: "8.8.8.8",
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 51,
        documents: [arm(armExample)],
        address: "122.133.144.77",
        verdict: .allow,
        rule: "'IP example rule'",
        layer: .appserviceFrontend
    ),
    SpecVector(
        id: 52,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Deny", "ipAddress": "1.2.3.4/32", "priority": 100, "name": "block"}], "ipSecurityRestrictionsDefaultAction": "Allow"}"#
            )
        ],
        address: "1.2.3.4",
        verdict: .deny,
        rule: "'block' (priority 100)",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 52,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Deny", "ipAddress": "1.2.3.4/32", "priority": 100, "name": "block"}], "ipSecurityRestrictionsDefaultAction": "Allow"}"#
            )
        ],
        address: "5.6.7.8",
        verdict: .allow,
        rule: "unmatched-rule(Allow)",
        layer: .appserviceFrontend
    ),
    SpecVector(
        id: 55,
        documents: [arm(frontDoorRules)],
        address: "13.107.246.10",
        headers: ["x-azure-fdid": "G2"],
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 56,
        documents: [arm(frontDoorRules)],
        address: "13.107.246.10",
        headers: ["x-azure-fdid": "G1"],
        verdict: .allow,
        rule: "'AFD'",
        layer: .appserviceFrontend
    ),
    SpecVector(
        id: 61,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "203.0.113.0/24", "priority": 100, "name": "v4"}]}"#
            )
        ],
        address: "2001:db8::5",
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 63,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "1.1.1.1/32", "priority": 100, "name": "one"}], "scmIpSecurityRestrictions": [], "scmIpSecurityRestrictionsUseMain": true}"#
            )
        ],
        address: "9.9.9.9",
        host: "app.scm.azurewebsites.net",
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 65,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "vnetSubnetResourceId": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/a", "priority": 100, "name": "vnet"}]}"#
            )
        ],
        address: "8.8.8.8",
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 66,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "Foo.Bar", "tag": "ServiceTag", "priority": 100, "name": "foo"}]}"#
            )
        ],
        address: "8.8.8.8",
        verdict: .deny,
        rule: "implicit-deny-all",
        layer: .appserviceFrontend,
        status: 403
    ),
    SpecVector(
        id: 67,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "198.51.100.0/24", "priority": 100, "name": "office"}]}"#
            )
        ],
        address: "::1",
        userAgent: "AlwaysOn",
        verdict: .allow,
        rule: "platform-bypass",
        layer: .appserviceFrontend
    ),
    SpecVector(
        id: 69,
        documents: [
            arm(
                #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "198.51.100.7", "priority": 100, "name": "partner"}]}"#
            ),
            site(#"<ipSecurity><add ipAddress="198.51.100.7"/></ipSecurity>"#),
        ],
        address: "198.51.100.7",
        verdict: .deny,
        rule: "site/web.config",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
]

let hostVectors: [(host: String, verdict: PolicyVerdict, rule: String)] = [
    ("FOO.contoso.com:443", .allow, "'hosts'"),
    ("contoso.com", .deny, "implicit-deny-all"),
    ("a.b.contoso.com", .deny, "implicit-deny-all"),
]

@Suite struct SpecVectorTests {
    static let serviceTags = """
        { "changeNumber": 84, "cloud": "Public", "values": [
          { "name": "AzureFrontDoor.Backend", "id": "AzureFrontDoor.Backend",
            "properties": { "changeNumber": 3, "region": "", "addressPrefixes": ["13.107.246.0/24", "2620:1ec:bdf::/48"] } } ] }
        """

    func evaluate(_ vector: SpecVector) throws -> PolicyDecision {
        let tags = try ServiceTags(data: Data(Self.serviceTags.utf8), path: "tags.json")
        var reverse: [IPAddress: String] = [:]
        for (address, name) in vector.reverseDNS { reverse[try #require(IPAddress(address))] = name }
        let policy = try Policy.compile(
            documents: vector.documents,
            serviceTags: tags,
            options: PolicyLoadOptions(profile: vector.profile, reverseDNS: reverse)
        )
        let request = PolicyRequest(
            address: try #require(IPAddress(vector.address)),
            forwardedFor: vector.forwardedFor,
            host: vector.host,
            path: vector.path,
            userAgent: vector.userAgent,
            headers: vector.headers
        )
        return policy.evaluate(request)
    }

    @Test("spec §8 vectors: IIS ipSecurity", arguments: staticVectors)
    func iisVector(_ vector: SpecVector) throws {
        let decision = try evaluate(vector)
        #expect(decision.verdict == vector.verdict)
        #expect(decision.rule.contains(vector.rule), "rule \(decision.rule)")
        #expect(decision.layer == vector.layer)
        #expect(decision.status == vector.status)
        #expect(decision.substatus == vector.substatus)
    }

    @Test("spec §8 vectors: App Service access restrictions", arguments: armVectors)
    func armVector(_ vector: SpecVector) throws {
        let decision = try evaluate(vector)
        #expect(decision.verdict == vector.verdict)
        #expect(decision.rule.contains(vector.rule), "rule \(decision.rule)")
        #expect(decision.layer == vector.layer)
        #expect(decision.status == vector.status)
        #expect(decision.substatus == vector.substatus)
    }

    @Test("vector 58: x-forwarded-host wildcard matches exactly one label", arguments: hostVectors)
    func forwardedHost(host: String, verdict: PolicyVerdict, rule: String) throws {
        let document = arm(
            #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "0.0.0.0/0", "priority": 100, "name": "hosts", "headers": {"x-forwarded-host": ["*.contoso.com"]}}]}"#
        )
        let policy = try Policy.compile(documents: [document])
        let decision = policy.evaluate(PolicyRequest(address: try #require(IPAddress("8.8.8.8")), host: host))
        #expect(decision.verdict == verdict)
        #expect(decision.rule.contains(rule))
    }

    @Test("unlisted URL paths use the parent scope; vector 13 outside the child directory")
    func parentScope() throws {
        let vector = staticVectors.first { $0.id == 18 }
        let documents = try #require(vector?.documents)
        let policy = try Policy.compile(documents: documents)
        let root = policy.evaluate(PolicyRequest(address: try #require(IPAddress("::1")), path: "/other"))
        #expect(root.verdict == .allow)
        let sibling = policy.evaluate(PolicyRequest(address: try #require(IPAddress("::1")), path: "/childish"))
        #expect(sibling.verdict == .allow)
        #expect(policy.needsRequestHeaders)
    }
}

/// Spec vectors 55 and 56 through `ingest`: the Front Door id logged as an IIS custom field.
@Suite struct LoggedHeaderVectorTests {
    @Test("a logged X-Azure-FDID reaches the App Service header filter (vectors 55 and 56)")
    func frontDoorIDColumn() throws {
        let directory = try TestSupport.scratchDirectory()
        let log = directory + "/u_ex240301.log"
        let lines = [
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-substatus cs(X-Azure-FDID)",
            "2024-03-01 10:00:00 13.107.246.10 GET /a 200 0 G1",
            "2024-03-01 10:00:01 13.107.246.10 GET /b 200 0 G2",
            "2024-03-01 10:00:02 13.107.246.10 GET /c 200 0 -",
        ]
        try TestSupport.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: log)
        let tags = try ServiceTags(data: Data(SpecVectorTests.serviceTags.utf8), path: "tags.json")
        let policy = try Policy.compile(documents: [arm(frontDoorRules)], serviceTags: tags)
        let db = directory + "/t.db"
        _ = try TestSupport.ingest([log], db: db) { $0.policy = policy }
        let store = try Store(path: db, readOnly: true)
        let rows = try store.read { db in
            // Rows keep the logged FDID as a fact (issue 21): summed per verdict.
            try Row.fetchAll(
                db,
                sql: "SELECT verdict, SUM(requests) AS requests FROM hourly GROUP BY verdict ORDER BY verdict"
            )
            .map { "\($0["verdict"] as String):\($0["requests"] as Int)" }
        }
        #expect(rows == ["allowed:1", "direct:2"])
        let denied = try store.read { db in
            try String.fetchAll(db, sql: "SELECT uri_stem FROM evidence ORDER BY line")
        }
        #expect(denied == ["/b", "/c"])
    }
}
