import Foundation
import Testing

@testable import GatewatchCore

/// Issue 20, configuration: no silent wrong answers, checked through the binary.
///
/// Unknown configuration is an error with its line, never ignored; `db:` URLs are URLs;
/// suspicious gateways are refused; nesting is bounded.
@Suite struct UnknownConfigurationCLITests {
    static func write(_ text: String, _ name: String, in directory: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    static func webConfig(_ security: String) -> String {
        """
        <configuration>
          <system.web><compilation debug="true" /></system.web>
          <system.webServer>
            <rewrite><rules><clear /></rules></rewrite>
            <security>
              <requestFiltering removeServerHeader="true" />
              \(security)
            </security>
          </system.webServer>
        </configuration>
        """
    }

    static let log = """
        #Software: Microsoft Internet Information Services 10.0
        #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
        2026-12-01 10:00:00 10.0.0.1 GET / - 443 - 198.51.100.7 Mozilla/5.0 - 200 0 0 5
        2026-12-01 10:00:01 10.0.0.1 GET / - 443 - 203.0.113.9 Mozilla/5.0 - 200 0 0 5

        """

    @Test(
        "a misspelt or mis-cased element or attribute where Gatewatch reads is 500.19, a lint error and a refusal",
        arguments: [
            (#"<ipSecurty allowUnlisted="false"><add ipAddress="198.51.100.7" allowed="true"/></ipSecurty>"#, 7),
            (#"<IPSecurity allowUnlisted="false"><add ipAddress="198.51.100.7" allowed="true"/></IPSecurity>"#, 7),
            (
                """
                <ipSecurity allowUnlisted="false">
                        <add ipAdress="198.51.100.7" allowed="true"/></ipSecurity>
                """,
                8
            ),
            (
                """
                <ipSecurity allowUnlisted="false">
                        <Add ipAddress="198.51.100.7" allowed="true"/></ipSecurity>
                """,
                8
            ),
            (#"<ipSecurity AllowUnlisted="false"/>"#, 7),
            (#"<ipSecurity allowUnlisted="false" denyAction="Refuse"/>"#, 7),
            (#"<dynamicIPSecurity denyAction="NotFound"/>"#, 7),
            // The section's content in another file, which Gatewatch does not read.
            (#"<ipSecurity configSource="ipSecurity.config"/>"#, 7),
            // A child of an entry: IIS does not read past it (500.19), so neither may Gatewatch.
            (
                """
                <ipSecurity allowUnlisted="false"><add ipAddress="198.51.100.7" allowed="true">
                        <allowed>false</allowed></add></ipSecurity>
                """,
                8
            ),
            (
                """
                <dynamicIpSecurity><denyByRequestRate enabled="true">
                        <maxRequests value="1"/></denyByRequestRate></dynamicIpSecurity>
                """,
                8
            ),
        ]
    )
    func unknownIISConfiguration(security: String, line: Int) throws {
        let directory = try CLI.scratch()
        try Self.write(Self.webConfig(security), "web.config", in: directory)
        try Self.write(Self.log, "u_ex261201.log", in: directory)
        let place = "web.config:\(line):"

        let check = try CLI.run(["check", "--policy", "web.config", "--format", "json", "198.51.100.7"], in: directory)
        #expect(check.status == 0, "\(check.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first?["verdict"] as? String == "config-error", "\(check.stdout)")
        #expect(rows.first?["status"] as? Int == 500)
        #expect(check.stderr.contains(place), "\(check.stderr)")

        let lint = try CLI.run(["lint", "--policy", "web.config", "--format", "json"], in: directory)
        #expect(lint.status == 1, "\(lint.stdout) \(lint.stderr)")
        let findings = try #require(
            try JSONSerialization.jsonObject(with: Data(lint.stdout.utf8)) as? [[String: Any]],
            "\(lint.stdout)"
        )
        let codes = ["UNKNOWN_ELEMENT", "UNKNOWN_ATTRIBUTE", "INVALID_VALUE"]
        #expect(
            findings.contains {
                codes.contains($0["code"] as? String ?? "") && $0["severity"] as? String == "error"
                    && $0["file"] as? String == "web.config" && $0["line"] as? Int == line
            },
            "\(lint.stdout)"
        )

        let refused = try CLI.run(
            ["ingest", "--db", "refused.db", "--policy", "web.config", "u_ex261201.log"],
            in: directory
        )
        #expect(refused.status == 2, "\(refused.stdout) \(refused.stderr)")
        #expect(
            refused.stderr.contains(place) && refused.stderr.contains("--accept-config-errors"),
            "\(refused.stderr)"
        )
        #expect(!FileManager.default.fileExists(atPath: directory + "/refused.db"))

        let validate = try CLI.run(["config", "validate", "--policy", "web.config"], in: directory)
        #expect(validate.status == 2 && validate.stderr.contains(place), "\(validate.stderr)")

        let accepted = try CLI.run(
            [
                "ingest", "--db", "accepted.db", "--policy", "web.config", "--accept-config-errors", "--json",
                "u_ex261201.log",
            ],
            in: directory
        )
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stderr.contains(place), "\(accepted.stderr)")
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(accepted.stdout.utf8)) as? [String: Any]
        )
        // Both requests get IIS's 500.19 (config-error), so neither counts as allowed by the list.
        let verdicts = try #require(summary["by_verdict"] as? [String: Int], "\(accepted.stdout)")
        #expect(verdicts["allowed"] == 0 && verdicts["direct"] == 2, "\(verdicts)")
    }

    @Test("sections Gatewatch does not read stay unchecked; a near-miss on the way to <ipSecurity> does not")
    func whatIsChecked() throws {
        let directory = try CLI.scratch()
        let fine = Self.webConfig(#"<ipSecurity allowUnlisted="false"/>"#)
            .replacingOccurrences(
                of: "<system.web>",
                with: "<appSettings><add key=\"a\" value=\"b\"/></appSettings><system.web>"
            )
        try Self.write(fine, "web.config", in: directory)
        let ok = try CLI.run(["lint", "--policy", "web.config", "--format", "json"], in: directory)
        #expect(!ok.stdout.contains("UNKNOWN_"), "\(ok.stdout)")
        #expect(ok.status != 2, "\(ok.stderr)")
        let misspelt = [
            fine.replacingOccurrences(of: "system.webServer>", with: "system.webserver>"),
            fine.replacingOccurrences(of: "security>", with: "securty>"),
            fine.replacingOccurrences(of: "<security>", with: "").replacingOccurrences(of: "</security>", with: ""),
            fine.replacingOccurrences(of: "configuration>", with: "Configuration>"),
        ]
        for (index, text) in misspelt.enumerated() {
            try Self.write(text, "web\(index).config", in: directory)
            let check = try CLI.run(["check", "--policy", "web\(index).config", "8.8.8.8"], in: directory)
            #expect(check.stdout.contains("config-error"), "\(index): \(check.stdout)")
            #expect(check.stderr.contains("web\(index).config:"), "\(index): \(check.stderr)")
        }
    }

    @Test("an unknown App Service key is an error naming the key and its line; known az keys are fine")
    func unknownAppServiceKey() throws {
        let directory = try CLI.scratch()
        let rules = """
            {
              "ipSecurityRestrictions": [
                { "action": "Allow", "ipAddress": "198.51.100.0/24", "name": "office", "priority": 100,
                  "tag": "Default", "description": null, "headers": null, "vnetSubnetResourceId": null,
                  "vnetTrafficTag": null, "subnetTrafficTag": null, "subnetMask": null },
                { "action": "Deny", "ipAddress": "Any", "name": "Deny all", "priority": 2147483647,
                  "description": "Deny all access" }
              ],
              "ipSecurityRestrictionsDefaultAction": null,
              "scmIpSecurityRestrictions": [],
              "scmIpSecurityRestrictionsDefaultAction": null,
              "scmIpSecurityRestrictionsUseMain": false
            }
            """
        try Self.write(rules, "good.json", in: directory)
        let good = try CLI.run(["check", "--policy", "good.json", "203.0.113.9"], in: directory)
        #expect(good.status == 0 && good.stdout.contains("deny") && good.stderr.isEmpty, "\(good.stderr)")

        let cases = [
            (rules.replacingOccurrences(of: #""tag": "Default","#, with: #""tag": "Default", "acton": "Deny","#), 4),
            (
                rules.replacingOccurrences(
                    of: "ipSecurityRestrictionsDefaultAction",
                    with: "ipSecurityRestrictionDefaultAction"
                ), 9
            ),
            (
                rules.replacingOccurrences(
                    of: "scmIpSecurityRestrictionsUseMain",
                    with: "ScmIpSecurityRestrictionsUseMain"
                ), 12
            ),
        ]
        for (index, (text, line)) in cases.enumerated() {
            try Self.write(text, "bad\(index).json", in: directory)
            let lint = try CLI.run(["lint", "--policy", "bad\(index).json"], in: directory)
            #expect(lint.status == 1, "\(index): \(lint.stdout) \(lint.stderr)")
            #expect(
                lint.stdout.contains("UNKNOWN_KEY") && lint.stdout.contains("bad\(index).json:\(line):"),
                "\(lint.stdout)"
            )
            let check = try CLI.run(["config", "validate", "--policy", "bad\(index).json"], in: directory)
            #expect(check.status == 2 && check.stderr.contains("bad\(index).json:\(line):"), "\(check.stderr)")
            // check gives no verdict over a key it does not know (App Service has no 500.19 to show)...
            let verdict = try CLI.run(["check", "--policy", "bad\(index).json", "203.0.113.9"], in: directory)
            #expect(verdict.status == 2 && verdict.stdout.isEmpty, "\(index): \(verdict.stdout)")
            #expect(verdict.stderr.contains("bad\(index).json:\(line):"), "\(verdict.stderr)")
            // ...unless told to ignore it, and then says so.
            let accepted = try CLI.run(
                ["check", "--accept-config-errors", "--policy", "bad\(index).json", "203.0.113.9"],
                in: directory
            )
            #expect(accepted.status == 0 && accepted.stderr.contains("warning:"), "\(accepted.stderr)")
        }
    }

    @Test("gateways with host bits or /0 are refused unless forced, from flags and from gatewatch.yaml, and linted")
    func suspiciousGateways() throws {
        let directory = try CLI.scratch()
        try Self.write("10.0.0.0/8\n", "allow.txt", in: directory)
        for gateway in ["20.50.10.4/0", "20.50.10.4/28", "2603:1020::1/48"] {
            let refused = try CLI.run(
                ["check", "--policy", "allow.txt", "--gateway", gateway, "10.1.1.1"],
                in: directory
            )
            #expect(refused.status != 0 && refused.stderr.contains("--force-gateway"), "\(gateway): \(refused.stderr)")
        }
        let forced = try CLI.run(
            ["lint", "--policy", "allow.txt", "--gateway", "20.50.10.4/0", "--force-gateway", "--format", "json"],
            in: directory
        )
        #expect(
            forced.stdout.contains("GATEWAY_MATCHES_ALL") && forced.status == 1,
            "\(forced.stdout) \(forced.stderr)"
        )
        let single = try CLI.run(
            ["check", "--policy", "allow.txt", "--gateway", "20.50.10.4", "10.1.1.1"],
            in: directory
        )
        #expect(single.status == 0, "\(single.stderr)")

        try Self.write(
            "policy: allow.txt\ngateways:\n  - 20.50.10.0/28\n  - 20.50.10.4/0\n",
            "gatewatch.yaml",
            in: directory
        )
        let fromFile = try CLI.run(["config", "show"], in: directory)
        #expect(fromFile.status == 2 && fromFile.stderr.contains("gatewatch.yaml:4:"), "\(fromFile.stderr)")
        let lint = try CLI.run(["lint", "--force-gateway"], in: directory)
        #expect(
            lint.stdout.contains("GATEWAY_MATCHES_ALL") && lint.stdout.contains("gatewatch.yaml:4"),
            "\(lint.stdout)"
        )
    }

    @Test("db: holds a URL as a URL (password never printed), ~ is unset, ~/ is the home directory")
    func databaseSetting() throws {
        let directory = try CLI.scratch()
        try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
        try Self.write(
            "db: postgres://gw:S3cretPW@127.0.0.1:1/gatewatch?sslmode=disable\n",
            "etc/gatewatch.yaml",
            in: directory
        )
        let show = try CLI.run(["config", "show", "--config", "etc/gatewatch.yaml"], in: directory)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("db: 'postgres://gw@127.0.0.1:1/gatewatch?sslmode=disable'"), "\(show.stdout)")
        #expect(!show.stdout.contains("S3cretPW") && !show.stdout.contains("etc/postgres"))

        try Self.write(Self.log, "u_ex261201.log", in: directory)
        let ingest = try CLI.run(["ingest", "--config", "etc/gatewatch.yaml", "u_ex261201.log"], in: directory)
        #expect(ingest.status != 0, "\(ingest.stdout)")
        #expect(!(ingest.stdout + ingest.stderr).contains("S3cretPW"), "\(ingest.stderr)")
        if Libpq.available != nil {
            #expect(ingest.stderr.contains("postgres://gw@127.0.0.1:1/gatewatch"), "\(ingest.stderr)")
        } else {
            // No libpq (a fresh machine): refused before any connection, still a URL, not a file.
            #expect(ingest.stderr.contains("fleet mode needs libpq: apt-get install libpq5"), "\(ingest.stderr)")
        }
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: directory)
        #expect(!leftovers.contains { $0.contains("postgres") }, "\(leftovers)")

        try Self.write("db: mysql://gw:S3cretPW@db/gatewatch\n", "etc/gatewatch.yaml", in: directory)
        let other = try CLI.run(["config", "show", "--config", "etc/gatewatch.yaml"], in: directory)
        #expect(other.status == 2 && other.stderr.contains("etc/gatewatch.yaml:1:"), "\(other.stderr)")
        #expect(!other.stderr.contains("S3cretPW"), "\(other.stderr)")

        let flag = try CLI.run(["summary", "--db", "mysql://gw:S3cretPW@db/gatewatch"], in: directory)
        #expect(flag.status != 0 && flag.stderr.contains("mysql://gw@db/gatewatch"), "\(flag.stderr)")
        #expect(!flag.stderr.contains("S3cretPW") && !FileManager.default.fileExists(atPath: directory + "/mysql:"))

        for unset in ["db: ~\n", "db:\n", "db: null\n", "db: ''\n"] {
            try Self.write(unset, "etc/gatewatch.yaml", in: directory)
            let null = try CLI.run(["config", "show", "--config", "etc/gatewatch.yaml"], in: directory)
            #expect(null.stdout.contains("db: null"), "\(unset): \(null.stdout)")
        }

        try Self.write("db: ~/gw/store.db\n", "etc/gatewatch.yaml", in: directory)
        let home = try CLI.run(
            ["config", "show", "--config", "etc/gatewatch.yaml"],
            environment: ["HOME": directory + "/home"],
            in: directory
        )
        #expect(home.stdout.contains("db: '\(directory)/home/gw/store.db'"), "\(home.stdout)")
    }

    @Test("deeply nested XML is refused quickly, with its line")
    func deepNesting() throws {
        let directory = try CLI.scratch()
        let depth = 200_000
        var text = "<configuration>\n"
        text += String(repeating: "<a>", count: depth)
        text += String(repeating: "</a>", count: depth)
        text += "\n</configuration>\n"
        try Self.write(text, "web.config", in: directory)
        let started = Date()
        let result = try CLI.run(["lint", "--policy", "web.config"], in: directory)
        let seconds = Date().timeIntervalSince(started)
        #expect(result.status == 2 && result.stderr.contains("web.config:2:"), "\(result.stderr)")
        #expect(result.stderr.contains("nest more than 256"), "\(result.stderr)")
        #expect(seconds < 10, "took \(seconds) s")
    }
}
