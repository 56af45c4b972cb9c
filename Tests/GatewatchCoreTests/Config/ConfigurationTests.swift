import GatewatchCore
import Testing

@Suite struct ConfigurationTests {
    @Test("gatewatch.yaml resolves paths against its directory and loads the policy")
    func loadsFixture() throws {
        let path = policyFixture("gatewatch.yaml")
        let configuration = try GatewatchConfiguration.load(path: path)
        #expect(configuration.policyFiles == [policyFixture("site/web.config")])
        #expect(configuration.serviceTags == policyFixture("ServiceTags_Public_sample.json"))
        #expect(configuration.gateways.map(\.description) == ["20.50.10.0/28"])
        #expect(configuration.clientAddress == .forwardedForRightmostUntrusted)
        #expect(configuration.trustedProxies.map(\.description) == ["10.0.0.0/8"])
        #expect(configuration.addressNames["20.50.10.4"] == "apim-prod")
        let policy = try configuration.loadPolicy()
        #expect(policy.evaluate(address: try #require(IPAddress("20.50.10.4"))).verdict == .allow)
        #expect(policy.isGateway(try #require(IPAddress("20.50.10.4"))))
    }

    @Test("discover finds gatewatch.yaml in a directory, and nothing elsewhere")
    func discover() throws {
        let directory = String(policyFixture("gatewatch.yaml").dropLast("/gatewatch.yaml".count))
        #expect(try GatewatchConfiguration.discover(in: directory)?.gateways.count == 1)
        #expect(try GatewatchConfiguration.discover(in: directory + "/site") == nil)
    }

    @Test("flags override the file; repeatable flags replace lists")
    func precedence() throws {
        let file = try GatewatchConfiguration.parse(
            "policy: a.config\ngateways: [1.2.3.4]\niis_version: 8\n",
            path: "/etc/gw/gatewatch.yaml"
        )
        #expect(file.policyFiles == ["/etc/gw/a.config"])
        let effective = file.overriding(policyFiles: ["b.config"], gateways: [], iisVersion: 7)
        #expect(effective.policyFiles == ["b.config"])
        #expect(effective.gateways.map(\.description) == ["1.2.3.4/32"])
        #expect(effective.profile.version == 7)
        #expect(GatewatchConfiguration().profile == .iis10)
        #expect(effective.yaml.contains("iis_version: 7"))
    }

    @Test(
        "bad configuration names the line and column",
        arguments: [
            ("gateway: [1.2.3.4]\n", "cfg.yaml:1:1: unknown key 'gateway'"),
            ("policy: x\ngateways: [1.2.3.999]\n", "cfg.yaml:2:12: '1.2.3.999' is not a valid value for 'gateways'"),
            ("client_ip: xff\n", "cfg.yaml:1:12: 'xff' is not a valid value for 'client_ip'"),
            ("iis_version: 9\n", "cfg.yaml:1:14: '9' is not a valid value for 'iis_version'"),
            ("policy: [a\n", "cfg.yaml:2:1: malformed YAML"),
        ]
    )
    func errors(text: String, fragment: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try GatewatchConfiguration.parse(text, path: "cfg.yaml")
        }
        #expect(error?.description.hasPrefix(fragment) == true, "\(String(describing: error))")
    }
}
