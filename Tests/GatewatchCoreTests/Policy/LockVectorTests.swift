import GatewatchCore
import Testing

/// A child `web.config` one level below `site/web.config` (the URL `/app`).
func app(_ ipSecurity: String) -> PolicyDocument {
    PolicyDocument(path: "site/app/web.config", text: webConfig(ipSecurity))
}

/// An `applicationHost.config` whose `<location path="Default Web Site" overrideMode="Allow">`
/// holds `ipSecurity`, so the site `web.config` may define the section (vector 22).
func unlockedHost(_ ipSecurity: String) -> PolicyDocument {
    PolicyDocument(
        path: "applicationHost.config",
        text: """
            <configuration>\(applicationHostRegistration)
            <location path="Default Web Site" overrideMode="Allow"><system.webServer><security>\(ipSecurity)</security></system.webServer></location>
            </configuration>
            """
    )
}

/// Spec §1.7 cases in the style of §8 (ids 701+ are not §8 rows).
///
/// They cover `lockElements`, `lockItem`, `lockAttributes`, and a `<location>` that sets both
/// `overrideMode` and `allowOverride`. A violation at a lower level is a 500.19 named after the
/// child's line (the `<ipSecurity>`, `<add>`, `<remove>` or `<clear/>` on line 5 of the child
/// file); the same edit without the lock applies.
let lockVectors: [SpecVector] = [
    SpecVector(
        id: 701,
        documents: [
            site(#"<ipSecurity lockElements="clear"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity><clear/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app/page",
        verdict: .configError,
        rule: "ELEMENT_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 702,
        documents: [
            site(#"<ipSecurity lockElements="remove"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity><remove ipAddress="10.0.0.8"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .configError,
        rule: "ELEMENT_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 703,
        documents: [
            site(#"<ipSecurity lockElements="add, clear"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity><add ipAddress="10.0.0.9"/></ipSecurity>"#),
        ],
        address: "10.0.0.7",
        path: "/app",
        verdict: .configError,
        rule: "ELEMENT_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    // lockElements="add" does not lock <remove>: the child's remove applies.
    SpecVector(
        id: 704,
        documents: [
            site(#"<ipSecurity lockElements="add"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity><remove ipAddress="10.0.0.8"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .allow,
        rule: "allowUnlisted",
        layer: .iisStatic
    ),
    SpecVector(
        id: 705,
        documents: [
            site(#"<ipSecurity><add ipAddress="10.0.0.8" lockItem="true"/></ipSecurity>"#),
            app(#"<ipSecurity><remove ipAddress="10.0.0.8"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .configError,
        rule: "ITEM_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 706,
        documents: [
            site(#"<ipSecurity><add ipAddress="10.0.0.8" lockItem="true"/></ipSecurity>"#),
            app(#"<ipSecurity><clear/><add ipAddress="10.0.0.1" allowed="true"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .configError,
        rule: "ITEM_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    // Removing an entry without lockItem next to a locked one is fine; the locked deny stays first.
    SpecVector(
        id: 707,
        documents: [
            site(
                #"<ipSecurity><add ipAddress="10.0.0.8" lockItem="TRUE"/><add ipAddress="10.0.0.9"/></ipSecurity>"#
            ),
            app(#"<ipSecurity><remove ipAddress="10.0.0.9"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .deny,
        rule: "site/web.config:5 #1",
        layer: .iisStatic,
        status: 403,
        substatus: 503
    ),
    // The lock binds lower levels only: the level that sets it may still clear.
    SpecVector(
        id: 708,
        documents: [
            site(
                #"<ipSecurity lockElements="clear"><add ipAddress="10.0.0.8" lockItem="true"/><clear/></ipSecurity>"#
            )
        ],
        address: "10.0.0.8",
        verdict: .allow,
        rule: "allowUnlisted",
        layer: .iisStatic
    ),
    // A lock set in applicationHost.config's <location> binds the site web.config at the same URL.
    SpecVector(
        id: 709,
        documents: [
            unlockedHost(#"<ipSecurity><add ipAddress="10.0.0.8" lockItem="true"/></ipSecurity>"#),
            site(#"<ipSecurity><remove ipAddress="10.0.0.8"/></ipSecurity>"#),
        ],
        address: "10.0.0.8",
        verdict: .configError,
        rule: "ITEM_LOCKED site/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 710,
        documents: [
            site(
                #"<ipSecurity allowUnlisted="false" lockAttributes="allowUnlisted"><add ipAddress="10.0.0.1" allowed="true"/></ipSecurity>"#
            ),
            app(#"<ipSecurity allowUnlisted="true"/>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .configError,
        rule: "ATTRIBUTE_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    SpecVector(
        id: 711,
        documents: [
            site(#"<ipSecurity lockAttributes="enableProxyMode, denyAction"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity denyAction="NotFound"/>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .configError,
        rule: "ATTRIBUTE_LOCKED site/app/web.config:5:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    // An attribute the parent does not lock may still be set.
    SpecVector(
        id: 712,
        documents: [
            site(#"<ipSecurity lockAttributes="allowUnlisted"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity denyAction="NotFound"/>"#),
        ],
        address: "10.0.0.8",
        path: "/app",
        verdict: .deny,
        rule: "site/web.config:5 #1",
        layer: .iisStatic,
        status: 404,
        substatus: 503
    ),
    // A <location> may not set both overrideMode and allowOverride: applicationHost.config is refused.
    SpecVector(
        id: 713,
        documents: [
            PolicyDocument(
                path: "applicationHost.config",
                text: """
                    <configuration>\(applicationHostRegistration)
                    <location path="Default Web Site" overrideMode="Allow" allowOverride="true"><system.webServer><security><ipSecurity/></security></system.webServer></location>
                    </configuration>
                    """
            ),
            site(#"<ipSecurity><add ipAddress="10.0.0.5"/></ipSecurity>"#),
        ],
        address: "10.0.0.9",
        verdict: .configError,
        rule: "LOCATION_OVERRIDE_CONFLICT applicationHost.config:9:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
    // ... and in a web.config it fails every request at and below that file, with or without <ipSecurity>.
    SpecVector(
        id: 714,
        documents: [
            site(#"<ipSecurity><add ipAddress="10.0.0.5"/></ipSecurity>"#),
            PolicyDocument(
                path: "site/app/web.config",
                text: """
                    <configuration>
                      <location path="admin" overrideMode="Deny" allowOverride="false"/>
                    </configuration>
                    """
            ),
        ],
        address: "10.0.0.9",
        path: "/app/default.aspx",
        verdict: .configError,
        rule: "LOCATION_OVERRIDE_CONFLICT site/app/web.config:2:",
        layer: .iisConfig,
        status: 500,
        substatus: 19
    ),
]

@Suite struct LockVectorTests {
    @Test(
        "spec §1.7 locks: lockElements, lockItem, lockAttributes, overrideMode with allowOverride",
        arguments: lockVectors
    )
    func lockVector(_ vector: SpecVector) throws {
        let decision = try SpecVectorTests().evaluate(vector)
        #expect(decision.verdict == vector.verdict)
        #expect(decision.rule.contains(vector.rule), "rule \(decision.rule)")
        #expect(decision.layer == vector.layer)
        #expect(decision.status == vector.status)
        #expect(decision.substatus == vector.substatus)
    }

    @Test("lint reports each lock violation at the child's line; the parent scope is untouched")
    func lintFindings() throws {
        let policy = try Policy.compile(documents: [
            site(
                #"<ipSecurity lockElements="clear" lockAttributes="allowUnlisted"><add ipAddress="10.0.0.8" lockItem="true"/></ipSecurity>"#
            ),
            PolicyDocument(
                path: "site/app/web.config",
                text: """
                    <configuration>
                      <system.webServer><security>
                        <ipSecurity allowUnlisted="false">
                          <remove ipAddress="10.0.0.8"/>
                          <clear/>
                        </ipSecurity>
                      </security></system.webServer>
                    </configuration>
                    """
            ),
        ])
        let errors = policy.lint().filter { $0.severity == .error }
        let found = errors.map { "\($0.code) \($0.location.file):\($0.location.line)" }
        #expect(
            found == [
                "ATTRIBUTE_LOCKED site/app/web.config:3", "ITEM_LOCKED site/app/web.config:4",
                "ELEMENT_LOCKED site/app/web.config:5",
            ],
            "\(found)"
        )
        #expect(errors.allSatisfy { $0.message.contains("500.19") && $0.message.contains("site/web.config:5") })
        let address = try #require(IPAddress("10.0.0.8"))
        let root = policy.evaluate(PolicyRequest(address: address, path: "/"))
        #expect(root.verdict == .deny && root.rule == "site/web.config:5 #1")
        let child = policy.evaluate(PolicyRequest(address: address, path: "/app/x"))
        #expect(child.verdict == .configError && child.rule.hasPrefix("ATTRIBUTE_LOCKED site/app/web.config:3:"))
    }

    @Test("lockAllAttributesExcept and lockAllElementsExcept are not evaluated, and lint says so")
    func unevaluatedLocks() throws {
        let policy = try Policy.compile(documents: [
            site(#"<ipSecurity lockAllElementsExcept="add"><add ipAddress="10.0.0.8"/></ipSecurity>"#),
            app(#"<ipSecurity><clear/></ipSecurity>"#),
        ])
        let finding = try #require(policy.lint().first { $0.code == "LOCK_NOT_EVALUATED" })
        #expect(finding.severity == .warning && finding.location.line == 5)
        let decision = policy.evaluate(PolicyRequest(address: try #require(IPAddress("10.0.0.8")), path: "/app"))
        #expect(decision.verdict == .allow)
    }

    @Test("a lockItem value other than true or false is an error naming the line")
    func invalidLockItem() {
        let error = #expect(throws: PolicyError.self) {
            try Policy.compile(documents: [
                site(#"<ipSecurity><add ipAddress="10.0.0.8" lockItem="yes"/></ipSecurity>"#)
            ])
        }
        #expect(error?.location?.line == 5)
        #expect(error?.description.contains("lockItem") == true)
    }
}
