import Foundation
import Testing

@testable import GatewatchCore

@Suite struct AlertRulesTests {
    @Test("a full rules file loads with defaults applied, ignore lists and every sink kind")
    func fullFile() throws {
        let text = """
            anchor: now
            defaults:
              cooldown: 10m
              ignore: { cidrs: [10.0.0.0/8], user_agents: [Pingdom] }
            rules:
              - name: served
                kind: served_direct
                threshold: 5
                window: 2m
                group_by: cidr
                prefix_length: 16
              - name: admin
                kind: path_prefix
                prefixes: [/admin, /internal]
                digest: false
                max_messages: 3
                ignore: { paths: [/admin/health] }
              - kind: stalled
                after: 45m
                measure: data
              - name: junk
                kind: malformed_ratio
                threshold: 2.5%
                min_lines: 10
            sinks:
              - stdout
              - { type: file, path: alerts.ndjson }
              - { type: webhook, url: "https://example.invalid/hook", payload: teams, timeout: 2s, retries: 1, backoff: 100ms, headers: { Authorization: Bearer x } }
              - { type: exec, command: [/usr/bin/logger, -t, gatewatch], timeout: 3s }
            """
        let set = try AlertRuleSet.parse(text, path: "/etc/gatewatch/alerts.yaml")
        #expect(set.anchor == .now)
        #expect(set.rules.map(\.name) == ["served", "admin", "stalled", "junk"])
        let served = set.rules[0]
        #expect(served.kind == .servedDirect && served.threshold == 5 && served.windowSeconds == 120)
        #expect(served.groupBy == .cidr && served.prefixLength == 16 && served.cooldownSeconds == 600)
        #expect(served.ignore.cidrs == [CIDR("10.0.0.0/8")!] && served.ignore.userAgents == ["Pingdom"])
        let admin = set.rules[1]
        #expect(admin.prefixes == ["/admin", "/internal"] && !admin.digest && admin.maxMessages == 3)
        #expect(admin.ignore.paths == ["/admin/health"] && admin.ignore.userAgents == ["Pingdom"])
        #expect(set.rules[2].afterSeconds == 2700 && set.rules[2].measure == .data)
        #expect(abs(set.rules[3].threshold - 0.025) < 1e-9 && set.rules[3].minimumLines == 10)
        #expect(set.sinks.count == 4)
        #expect(set.sinks[1] == .file(path: "/etc/gatewatch/alerts.ndjson"))
        guard case .webhook(let hook) = set.sinks[2] else {
            Issue.record("not a webhook")
            return
        }
        #expect(hook.payload == .teams && hook.timeoutSeconds == 2 && hook.retries == 1 && hook.backoffSeconds == 0.1)
        #expect(hook.headers == ["Authorization": "Bearer x"])
        #expect(set.sinks[2].label == "webhook:https://example.invalid/…")
        var exec = ExecSettings(command: ["/usr/bin/logger", "-t", "gatewatch"])
        exec.timeoutSeconds = 3
        #expect(set.sinks[3] == .exec(exec))
    }

    @Test("without a rules key the documented defaults apply, with the file's defaults")
    func defaultsWhenNoRules() throws {
        let set = try AlertRuleSet.parse("defaults: { cooldown: 1h }\nsinks: [stdout]\n", path: "a.yaml")
        #expect(set.rules.map(\.name) == AlertRuleSet.defaults.rules.map(\.name))
        #expect(set.rules.allSatisfy { $0.cooldownSeconds == 3600 })
        #expect(try AlertRuleSet.parse("rules: []\n", path: "a.yaml").rules.isEmpty)
        let served = AlertRuleSet.defaults.rules[0]
        #expect(
            served.kind == .servedDirect && served.threshold == 1 && served.windowSeconds == 300
                && served.groupBy == .address
        )
    }

    @Test(
        "bad rules files explain themselves with a location and the next step",
        arguments: [
            ("rules:\n  - kind: served_direct\n    treshold: 3\n", "a.yaml:3:5: unknown key 'treshold'; use one of"),
            (
                "rules:\n  - kind: served_direct\n    window: soon\n",
                "'soon' is not a valid value for 'window'; use a duration such as"
            ),
            ("rules:\n  - kind: nope\n", "is not a valid value for 'kind'; use one of 'served_direct'"),
            ("rules:\n  - name: x\n", "a rule has no 'kind'; add it"),
            ("rules:\n  - kind: path_prefix\n", "path_prefix rule 'path-prefix' has no 'prefixes'; add it"),
            ("rules:\n  - kind: stalled\n  - kind: stalled\n", "a rule named 'stalled' already exists"),
            (
                "rules:\n  - kind: served_direct\n    ignore: { cidrs: [nope] }\n",
                "'nope' is not a valid value for 'ignore.cidrs'"
            ),
            ("sinks:\n  - { type: webhook, url: ftp://x }\n", "use an http:// or https:// URL"),
            ("sinks:\n  - { type: pager }\n", "use 'stdout', 'file', 'webhook' or 'exec'"),
            ("rules: [\n", "malformed YAML"),
            ("rules:\n  - kind: malformed_ratio\n    threshold: 2\n", "use a fraction from 0 to 1"),
        ]
    )
    func errors(text: String, fragment: String) throws {
        let error = #expect(throws: AlertRulesError.self) { try AlertRuleSet.parse(text, path: "a.yaml") }
        #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "")")
    }

    @Test("a missing rules file names the flag to fix")
    func missingFile() {
        let error = #expect(throws: AlertRulesError.self) { try AlertRuleSet.load(path: "/nonexistent/rules.yaml") }
        #expect(error?.description.hasPrefix("cannot read alert rules '/nonexistent/rules.yaml'") == true)
        #expect(error?.description.hasSuffix("check the path given with --rules") == true)
    }

    @Test("durations", arguments: [("30s", 30.0), ("5m", 300), ("2h", 7200), ("1d", 86_400), ("500ms", 0.5), ("7", 7)])
    func durations(text: String, seconds: Double) {
        #expect(AlertDuration.seconds(text) == seconds)
    }

    @Test("ISO times round-trip through the parser")
    func times() {
        for seconds: Int64 in [0, 1_795_000_000, 951_782_400, 4_102_444_799] {
            #expect(AlertTime.parse(UTCTime.format(seconds)) == seconds)
        }
        #expect(AlertTime.parse("garbage") == nil)
    }
}
