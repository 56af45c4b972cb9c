import Foundation
import Testing

/// `check` and `config validate` end to end, on the inputs the spec audit found mishandled.
@Suite struct PolicyCLITests {
    static func write(_ text: String, _ name: String, in directory: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    static func json(_ result: CLI.Result) throws -> [[String: Any]] {
        try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    @Test("a rule with one unknown service tag never matches (D22)")
    func unknownServiceTag() throws {
        let directory = try CLI.scratch()
        try Self.write(
            #"{"values": [{"id": "OnlyId.Tag", "properties": {"addressPrefixes": ["192.0.2.0/24"]}}]}"#,
            "tags.json",
            in: directory
        )
        try Self.write(
            #"{"ipSecurityRestrictions": [{"action": "Allow", "ipAddress": "OnlyId.Tag,AzureCloud", "name": "tags", "priority": 100, "tag": "ServiceTag"}]}"#,
            "rules.json",
            in: directory
        )
        let result = try CLI.run(
            ["check", "--policy", "rules.json", "--service-tags", "tags.json", "--format", "json", "192.0.2.9"],
            in: directory
        )
        #expect(result.status == 0, "\(result.stderr)")
        let row = try #require(try Self.json(result).first)
        #expect(row["verdict"] as? String == "deny")
        #expect(row["rule"] as? String == "implicit-deny-all")
    }

    @Test("IIS 7 has no proxy mode; IIS 10 denies via X-Forwarded-For; ports are stripped")
    func proxyModeAndPorts() throws {
        let directory = try CLI.scratch()
        try Self.write(
            webConfigText(#"<ipSecurity enableProxyMode="true"><add ipAddress="203.0.113.9"/></ipSecurity>"#),
            "web.config",
            in: directory
        )
        func verdicts(_ arguments: [String]) throws -> [String] {
            let result = try CLI.run(
                ["check", "--policy", "web.config", "--format", "json"] + arguments,
                in: directory
            )
            #expect(result.status == 0, "\(result.stderr)")
            return try Self.json(result).compactMap { $0["verdict"] as? String }
        }
        #expect(try verdicts(["--iis-version", "7", "--xff", "203.0.113.9", "10.0.0.4"]) == ["allow"])
        #expect(try verdicts(["--xff", "203.0.113.9", "10.0.0.4"]) == ["deny"])
        #expect(
            try verdicts(["203.0.113.9:5000", "[::ffff:203.0.113.9]:443", "10.0.0.4:80"]) == ["deny", "deny", "allow"]
        )
    }

    @Test("gatewatch.yaml gives reverse DNS names (D6) and switches invalid X-Forwarded-For to ignore (D8.4)")
    func reverseDNSAndInvalidForwardedFor() throws {
        let directory = try CLI.scratch()
        try Self.write(
            webConfigText(
                #"<ipSecurity enableReverseDns="true" enableProxyMode="true"><add domainName="*.example.com" allowed="false"/></ipSecurity>"#
            ),
            "web.config",
            in: directory
        )
        func rows(_ yaml: String, _ arguments: [String]) throws -> [[String: Any]] {
            try Self.write(yaml, "gatewatch.yaml", in: directory)
            let result = try CLI.run(["check", "--format", "json"] + arguments, in: directory)
            #expect(result.status == 0, "\(result.stderr)")
            return try Self.json(result)
        }
        let plain = "policy: [web.config]\n"
        let named = plain + "reverse_dns:\n  198.51.100.7: host.example.com\n"
        // Without a name the domain entry cannot be decided; with one, IIS denies with 403.504.
        #expect(try rows(plain, ["198.51.100.7"]).first?["verdict"] as? String == "indeterminate")
        let denied = try #require(try rows(named, ["198.51.100.7"]).first)
        #expect(denied["verdict"] as? String == "deny")
        #expect(denied["status"] as? Int == 403)
        #expect(denied["substatus"] as? Int == 504)
        // A non-address X-Forwarded-For element: 400.10 by default, ignored when switched.
        let rejected = try #require(try rows(named, ["--xff", "unknown", "10.0.0.4"]).first)
        #expect(rejected["substatus"] as? Int == 10)
        let ignored = try #require(try rows(named + "xff_invalid: ignore\n", ["--xff", "unknown", "10.0.0.4"]).first)
        #expect(ignored["verdict"] as? String == "allow")
        let show = try CLI.run(["config", "show"], in: directory)
        #expect(show.stdout.contains("xff_invalid: ignore"), "\(show.stdout)")
        #expect(show.stdout.contains("'198.51.100.7': 'host.example.com'"), "\(show.stdout)")
        try Self.write(plain + "xff_invalid: maybe\n", "gatewatch.yaml", in: directory)
        let bad = try CLI.run(["config", "validate"], in: directory)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("xff_invalid"), "\(bad.stderr)")
    }

    @Test("check and lint report a child's <remove> of a lockItem entry as 500.19 at the child's line (§1.7)")
    func lockedItemRemoved() throws {
        let directory = try CLI.scratch()
        try FileManager.default.createDirectory(atPath: directory + "/app", withIntermediateDirectories: true)
        try Self.write(
            webConfigText(
                #"<ipSecurity lockElements="clear"><add ipAddress="10.0.0.8" lockItem="true"/></ipSecurity>"#
            ),
            "web.config",
            in: directory
        )
        try Self.write(
            webConfigText(#"<ipSecurity><remove ipAddress="10.0.0.8"/></ipSecurity>"#),
            "app/web.config",
            in: directory
        )
        let policy = ["--policy", "web.config", "--policy", "app/web.config"]
        let check = try CLI.run(["check"] + policy + ["--url", "/app", "--format", "json", "10.0.0.8"], in: directory)
        #expect(check.status == 0, "\(check.stderr)")
        let row = try #require(try Self.json(check).first)
        #expect(row["verdict"] as? String == "config-error")
        #expect(row["layer"] as? String == "iis-config")
        #expect(row["status"] as? Int == 500 && row["substatus"] as? Int == 19)
        #expect((row["rule"] as? String)?.hasPrefix("ITEM_LOCKED app/web.config:4:") == true, "\(row)")
        // Above the child the locked deny still applies.
        let root = try CLI.run(["check"] + policy + ["--url", "/", "10.0.0.8"], in: directory)
        #expect(root.stdout.contains("403.503"), "\(root.stdout)")
        let lint = try CLI.run(["lint"] + policy, in: directory)
        #expect(lint.status == 1)
        #expect(lint.stdout.contains("ITEM_LOCKED") && lint.stdout.contains("app/web.config:4:"), "\(lint.stdout)")
    }

    @Test("an empty policy file is refused with exit 2 by check and config validate", arguments: ["", " \n\t\n"])
    func emptyPolicy(text: String) throws {
        let directory = try CLI.scratch()
        try Self.write(text, "allow.txt", in: directory)
        for arguments in [
            ["check", "--policy", "allow.txt", "10.0.0.1"], ["config", "validate", "--policy", "allow.txt"],
        ] {
            let result = try CLI.run(arguments, in: directory)
            #expect(result.status == 2, "\(arguments): \(result.stdout)")
            #expect(result.stderr.contains("'allow.txt' holds no entries"), "\(result.stderr)")
            #expect(!result.stdout.contains("is valid"))
        }
    }
}

/// A web.config holding one `<ipSecurity>` element.
private func webConfigText(_ ipSecurity: String) -> String {
    """
    <configuration>
      <system.webServer>
        <security>
          \(ipSecurity)
        </security>
      </system.webServer>
    </configuration>
    """
}
