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
