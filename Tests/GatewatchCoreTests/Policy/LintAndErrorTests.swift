import Foundation
import GatewatchCore
import Testing

@Suite struct LintAndErrorTests {
    @Test(
        "lint reports each problem of the sample web.config at its line",
        arguments: [
            ("EMPTY_IP_ENTRY", LintSeverity.error, 9),
            ("CIDR_IN_IPADDRESS", .error, 10),
            ("SHADOWED_ENTRY", .warning, 11),
            ("HOST_BITS_SET", .warning, 12),
            ("INVALID_MASK", .error, 13),
            ("NONCONTIGUOUS_MASK", .warning, 14),
            ("DOMAIN_ENTRY_SKIPPED", .warning, 15),
            ("PLATFORM_PROBE_BLOCKED", .warning, 6),
        ]
    )
    func webConfigFindings(code: String, severity: LintSeverity, line: Int) throws {
        let policy = try Policy.load(policyFiles: [policyFixture("site/web.config")], serviceTags: nil, gateways: [])
        let findings = policy.lint().filter { $0.code == code }
        #expect(findings.contains { $0.severity == severity && $0.location.line == line }, "\(findings)")
    }

    @Test("loopback IPv4 is allowed by the sample, IPv6 loopback is not: a platform probe blocked (D24)")
    func loopbackFinding() throws {
        let policy = try Policy.load(policyFiles: [policyFixture("site/web.config")], serviceTags: nil, gateways: [])
        let messages = policy.lint().filter { $0.code == "PLATFORM_PROBE_BLOCKED" }.map(\.message)
        #expect(messages.contains { $0.hasPrefix("loopback ::1 is denied") })
        #expect(!messages.contains { $0.hasPrefix("loopback 127.0.0.1") })
    }

    @Test("on App Service, denying link-local 169.254.0.0/16 is linted LINK_LOCAL_DENIED (D24)")
    func linkLocalFinding() throws {
        let text =
            #"<ipSecurity allowUnlisted="false"><add ipAddress="20.50.10.4" allowed="true"/><add ipAddress="127.0.0.1" allowed="true"/><add ipAddress="::1" allowed="true"/></ipSecurity>"#
        let appService = PolicyLoadOptions(profile: IISProfile(version: 10, isAppService: true))
        let withoutLinkLocal = try Policy.compile(documents: [site(text)], options: appService)
        #expect(withoutLinkLocal.lint().contains { $0.code == "LINK_LOCAL_DENIED" && $0.severity == .warning })
        // Not on plain IIS, and not when it is allowed.
        #expect(!(try Policy.compile(documents: [site(text)])).lint().contains { $0.code == "LINK_LOCAL_DENIED" })
        let allowed = text.replacingOccurrences(
            of: "</ipSecurity>",
            with: #"<add ipAddress="169.254.0.0" subnetMask="255.255.0.0" allowed="true"/></ipSecurity>"#
        )
        let withLinkLocal = try Policy.compile(documents: [site(allowed)], options: appService)
        #expect(!withLinkLocal.lint().contains { $0.code == "LINK_LOCAL_DENIED" })
    }

    @Test("a clean list has no findings; a restrict-nobody list is flagged")
    func cleanAndOpen() throws {
        let clean = try Policy.compile(documents: [
            site(
                #"<ipSecurity allowUnlisted="false"><add ipAddress="20.50.10.0" subnetMask="28" allowed="true"/><add ipAddress="127.0.0.1" allowed="true"/><add ipAddress="::1" allowed="true"/><add ipAddress="168.63.129.16" allowed="true"/></ipSecurity>"#
            )
        ])
        #expect(clean.lint().isEmpty)
        let open = try Policy.compile(documents: [
            site(#"<ipSecurity><add ipAddress="20.50.10.0" subnetMask="28" allowed="true"/></ipSecurity>"#)
        ])
        #expect(open.lint().map(\.code) == ["ALLOW_UNLISTED_WITHOUT_DENIES"])
    }

    @Test("nested web.config: remove without match, duplicate key and locked section")
    func hierarchyFindings() throws {
        let policy = try Policy.load(
            policyFiles: [
                policyFixture("applicationHost.config"), policyFixture("site/web.config"),
                policyFixture("site/api/web.config"),
            ],
            serviceTags: nil,
            gateways: []
        )
        // Locked: no web.config declaration is applied, so only the lock is reported.
        let codes = Set(policy.lint().map(\.code))
        #expect(codes.contains("SECTION_LOCKED"))
        #expect(!codes.contains("DUPLICATE_KEY"))
        let unlocked = try Policy.load(
            policyFiles: [policyFixture("site/web.config"), policyFixture("site/api/web.config")],
            serviceTags: nil,
            gateways: []
        )
        let unlockedFindings = unlocked.lint()
        #expect(
            unlockedFindings.contains {
                $0.code == "DUPLICATE_KEY" && $0.location.line == 6 && $0.location.file.hasSuffix("api/web.config")
            }
        )
        #expect(unlockedFindings.contains { $0.code == "REMOVE_NO_MATCH" && $0.location.line == 7 })
        #expect(
            unlocked.evaluate(PolicyRequest(address: try #require(IPAddress("20.50.10.4")), path: "/API")).verdict
                == .configError
        )
        #expect(
            unlocked.evaluate(PolicyRequest(address: try #require(IPAddress("20.50.10.4")), path: "/")).verdict
                == .allow
        )
        let decision = policy.evaluate(
            PolicyRequest(address: try #require(IPAddress("20.50.10.4")), path: "/api/orders")
        )
        #expect(decision.verdict == .configError)
        #expect(decision.status == 500 && decision.substatus == 19)
        #expect(policy.dynamic?.denyByRequestRate == true)
        #expect(policy.isLoggedDenial(status: 404, substatus: 502, for: decision))
        #expect(!policy.isLoggedDenial(status: 403, substatus: 502, for: decision))
    }

    @Test("App Service findings: unresolved and shared service tags, shadowed rules")
    func appServiceFindings() throws {
        let policy = try Policy.load(
            policyFiles: [policyFixture("restrictions.json")],
            serviceTags: policyFixture("ServiceTags_Public_sample.json"),
            gateways: []
        )
        let findings = policy.lint()
        #expect(
            findings.contains {
                $0.code == "UNKNOWN_SERVICE_TAG" && $0.severity == .error && $0.message.contains("'Foo.Bar'")
            }
        )
        #expect(findings.contains { $0.code == "SHARED_RANGE_ALLOW" && $0.message.contains("AzureCloud.westeurope") })
        #expect(findings.contains { $0.code == "SHADOWED_ENTRY" && $0.message.contains("'shadowed'") })
        let frontDoor = PolicyRequest(
            address: try #require(IPAddress("13.73.248.17")),
            headers: ["x-azure-fdid": "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"]
        )
        #expect(policy.evaluate(frontDoor).verdict == .allow)
        #expect(
            policy.evaluate(PolicyRequest(address: try #require(IPAddress("20.50.1.1")))).rule.contains(
                "APIM consumption"
            )
        )
        let kudu = PolicyRequest(address: try #require(IPAddress("8.8.8.8")), host: "app.scm.azurewebsites.net")
        #expect(policy.evaluate(kudu).rule == "implicit-allow-all")
        #expect(policy.needsRequestHeaders)
    }

    @Test(
        "bad configuration explains itself with file:line:column",
        arguments: [
            ("bad-attribute.config", "bad-attribute.config:5:9: unknown attribute 'alowed' on <add>"),
            ("malformed.config", "malformed.config:"),
            ("malformed.json", "malformed.json:3:"),
            ("does-not-exist.config", "cannot read"),
        ]
    )
    func badConfiguration(file: String, fragment: String) {
        let error = #expect(throws: PolicyError.self) {
            try Policy.load(policyFiles: [policyFixture(file)], serviceTags: nil, gateways: [])
        }
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
        #expect(error?.description.first?.isLowercase == true || error?.description.hasPrefix("/") == true)
    }

    @Test(
        "impossible values are errors, not guesses",
        arguments: [
            (#"<ipSecurity allowUnlisted="maybe"/>"#, "'maybe' is not a valid value for 'allowUnlisted'"),
            (#"<ipSecurity denyAction="Teapot"/>"#, "'Teapot' is not a valid value for 'denyAction'"),
            (
                #"<ipSecurity><add ipAddress="1.2.3.4" allowed="yes"/></ipSecurity>"#,
                "'yes' is not a valid value for 'allowed'"
            ),
            (
                #"<ipSecurity><deny ipAddress="1.2.3.4"/></ipSecurity>"#,
                "unknown element <deny> inside <ipSecurity>; IIS would fail with 500.19; use one of: <add>, <remove>",
            ),
        ]
    )
    func impossibleValues(xml: String, fragment: String) {
        let error = #expect(throws: PolicyError.self) { try Policy.compile(documents: [site(xml)]) }
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("site/web.config:5:") == true)
    }

    @Test(
        "denyAction accepts names case-insensitively and numbers (D2)",
        arguments: [
            ("notfound", 404), ("404", 404), ("UNAUTHORIZED", 401), ("403", 403),
        ]
    )
    func denyActionSpellings(text: String, status: Int) throws {
        let policy = try Policy.compile(documents: [
            site("<ipSecurity allowUnlisted=\"FALSE\" denyAction=\"\(text)\"/>")
        ])
        #expect(policy.evaluate(address: try #require(IPAddress("8.8.8.8"))).status == status)
    }

    @Test("plain lists allow the listed blocks and deny the rest")
    func plainList() throws {
        let policy = try Policy.load(policyFiles: [policyFixture("allowlist.txt")], serviceTags: nil, gateways: [])
        let allowed = policy.evaluate(address: try #require(IPAddress("2001:db8:10::7")))
        #expect(allowed.verdict == .allow)
        #expect(allowed.rule.hasSuffix("allowlist.txt:3 #2"))
        let denied = policy.evaluate(address: try #require(IPAddress("8.8.8.8")))
        #expect(denied.verdict == .deny && denied.status == 403 && denied.substatus == 503)
        let error = #expect(throws: PolicyError.self) {
            try Policy.compile(documents: [PolicyDocument(path: "list.txt", text: "10.0.0.0/8\n  10.0.0.300\n")])
        }
        #expect(error?.description.hasPrefix("list.txt:2:3: '10.0.0.300' is not an IP address") == true)
    }

    @Test("gateways alone imply lock-down; nothing at all allows everything")
    func impliedPolicies() throws {
        let gateway = try #require(CIDR("20.50.10.0/28"))
        let policy = try Policy.load(policyFiles: [], serviceTags: nil, gateways: [gateway])
        #expect(policy.evaluate(address: try #require(IPAddress("20.50.10.3"))).verdict == .allow)
        #expect(policy.evaluate(address: try #require(IPAddress("::1"))).verdict == .allow)
        #expect(policy.evaluate(address: try #require(IPAddress("20.50.10.16"))).verdict == .deny)
        #expect(policy.isGateway(try #require(IPAddress("20.50.10.3"))))
        #expect(!policy.needsRequestHeaders)
        let open = try Policy.load(policyFiles: [], serviceTags: nil, gateways: [])
        #expect(open.evaluate(address: try #require(IPAddress("8.8.8.8"))).verdict == .allow)
    }

    @Test(
        "X-Forwarded-For elements: ports, brackets, junk",
        arguments: [
            ("203.0.113.9:5123, [2001:db8::1]:443", ["203.0.113.9", "2001:db8::1"]),
            (" 10.0.0.1 ,unknown", ["10.0.0.1", "nil"]),
            ("-", []),
            ("", []),
        ]
    )
    func forwardedFor(value: String, expected: [String]) {
        #expect(ForwardedFor.elements(value).map { $0?.description ?? "nil" } == expected)
    }
}

@Suite struct DynamicVectorTests {
    static func settings(
        rate: Bool,
        concurrency: Bool = false,
        action: IISDenyAction = .forbidden,
        loggingOnly: Bool = false
    ) -> IISDynamicSettings {
        var settings = IISDynamicSettings()
        settings.denyByRequestRate = rate
        settings.maxRequests = 5
        settings.requestIntervalMilliseconds = 5000
        settings.denyByConcurrentRequests = concurrency
        settings.maxConcurrentRequests = 2
        settings.denyAction = action
        settings.enableLoggingOnlyMode = loggingOnly
        return settings
    }

    static let unlisted = PolicyDecision(verdict: .allow, rule: "allowUnlisted", layer: .iisStatic)

    @Test(
        "vectors 44, 45, 47: the sixth request within 5 s",
        arguments: [
            (IISDenyAction.forbidden, false, PolicyVerdict.deny, 403, 502),
            (.forbidden, true, .allow, 200, 502),
            (.notFound, false, .deny, 404, 502),
        ]
    )
    func rate(action: IISDenyAction, loggingOnly: Bool, verdict: PolicyVerdict, status: Int, substatus: Int) throws {
        var simulator = DynamicRestrictionSimulator(
            settings: Self.settings(rate: true, action: action, loggingOnly: loggingOnly)
        )
        let key = try #require(IPAddress("::1"))
        var decisions: [PolicyDecision] = []
        for index in 0..<6 {
            decisions.append(
                simulator.observe(
                    key: key,
                    startMilliseconds: Int64(index) * 500,
                    endMilliseconds: Int64(index) * 500 + 10,
                    staticDecision: Self.unlisted
                )
            )
        }
        #expect(decisions.prefix(5).allSatisfy { $0.layer == .iisStatic })
        let last = try #require(decisions.last)
        #expect(
            last.verdict == verdict && last.status == status && last.substatus == substatus && last.layer == .iisDynamic
        )
        // After the window has passed, requests are let through again.
        let later = simulator.observe(
            key: key,
            startMilliseconds: 20_000,
            endMilliseconds: 20_010,
            staticDecision: Self.unlisted
        )
        #expect(later.layer == .iisStatic)
    }

    @Test("vector 46: the third overlapping request is refused with 403.501")
    func concurrency() throws {
        var simulator = DynamicRestrictionSimulator(settings: Self.settings(rate: false, concurrency: true))
        let key = try #require(IPAddress("10.0.0.9"))
        _ = simulator.observe(key: key, startMilliseconds: 0, endMilliseconds: 1000, staticDecision: Self.unlisted)
        _ = simulator.observe(key: key, startMilliseconds: 100, endMilliseconds: 1000, staticDecision: Self.unlisted)
        let third = simulator.observe(
            key: key,
            startMilliseconds: 200,
            endMilliseconds: 300,
            staticDecision: Self.unlisted
        )
        #expect(third.status == 403 && third.substatus == 501)
        let afterwards = simulator.observe(
            key: key,
            startMilliseconds: 1500,
            endMilliseconds: 1600,
            staticDecision: Self.unlisted
        )
        #expect(afterwards.verdict == .allow)
    }

    @Test("vector 48: a static deny wins over the dynamic limit; explicit allows are exempt")
    func staticFirst() throws {
        var simulator = DynamicRestrictionSimulator(settings: Self.settings(rate: true))
        let key = try #require(IPAddress("10.0.0.5"))
        let staticDeny = PolicyDecision(
            verdict: .deny,
            rule: "web.config:6 #1",
            layer: .iisStatic,
            status: 403,
            substatus: 503
        )
        let explicitAllow = PolicyDecision(verdict: .allow, rule: "web.config:7 #2", layer: .iisStatic)
        for index in 0..<10 {
            let decision = simulator.observe(
                key: key,
                startMilliseconds: Int64(index),
                endMilliseconds: Int64(index) + 1,
                staticDecision: staticDeny
            )
            #expect(decision == staticDeny)
            let allowed = simulator.observe(
                key: key,
                startMilliseconds: Int64(index),
                endMilliseconds: Int64(index) + 1,
                staticDecision: explicitAllow
            )
            #expect(allowed == explicitAllow)
        }
    }
}
