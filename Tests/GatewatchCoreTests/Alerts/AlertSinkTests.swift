import Foundation
import Testing

@testable import GatewatchCore

@Suite struct AlertSinkTests {
    static func sample() -> Alert {
        var alert = Alert.test(now: 1_795_000_000)
        alert.type = "alert"
        alert.rule = "served"
        alert.kind = "served_direct"
        alert.severity = "critical"
        alert.summary = "2 served direct requests from 1 address in 5m"
        alert.keys = [AlertKeyCount(key: "198.51.100.7", count: 2, first: nil, last: "2026-11-20T10:00:20Z")]
        alert.keyCount = 1
        alert.addresses = ["198.51.100.7"]
        var sample = AlertSample()
        sample.address = "198.51.100.7"
        sample.uri = "/a<b>&c"
        alert.samples = [sample]
        return alert
    }

    @Test("a webhook POSTs the alert JSON to a real HTTP server on 127.0.0.1")
    func webhookJSON() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        let alert = Self.sample()
        let results = AlertDispatcher(sinks: [.webhook(WebhookSettings(url: server.url))]).send(alert)
        #expect(results.map(\.error) == [nil])
        #expect(results.first?.attempts == 1)
        let body = try #require(server.received.first)
        let decoded = try JSONDecoder().decode(Alert.self, from: body)
        #expect(decoded == alert)
        #expect(
            results.first?.sink == "webhook:http://127.0.0.1:\(server.port)/…",
            "the token in the path is not shown"
        )
    }

    @Test("a failing webhook is retried with backoff and then succeeds")
    func webhookRetry() throws {
        let server = try TestHTTPServer(statuses: [500, 503, 200])
        defer { server.stop() }
        var settings = WebhookSettings(url: server.url)
        settings.backoffSeconds = 0.05
        let results = AlertDispatcher(sinks: [.webhook(settings)]).send(Self.sample())
        #expect(results.first?.error == nil)
        #expect(results.first?.attempts == 3)
        #expect(server.requestCount == 3)
    }

    @Test("a webhook that keeps failing is reported after every attempt; other sinks still deliver")
    func webhookFailure() throws {
        let server = try TestHTTPServer(statuses: [502])
        defer { server.stop() }
        let directory = try TestSupport.scratchDirectory()
        var settings = WebhookSettings(url: server.url)
        settings.retries = 1
        settings.backoffSeconds = 0.01
        let results = AlertDispatcher(sinks: [.webhook(settings), .file(path: directory + "/a.ndjson")]).send(
            Self.sample()
        )
        #expect(results[0].attempts == 2)
        #expect(results[0].error?.description.contains("failed after 2 attempts: HTTP status 502") == true)
        #expect(results[0].error?.description.hasSuffix("(try 'gatewatch alert test')") == true)
        #expect(results[1].error == nil)
        // 4xx other than 408/429 is not retried.
        let rejecting = try TestHTTPServer(statuses: [404])
        defer { rejecting.stop() }
        let rejected = AlertDispatcher(sinks: [.webhook(WebhookSettings(url: rejecting.url))]).send(Self.sample())
        #expect(rejected[0].attempts == 1)
    }

    @Test("a webhook that does not answer in time fails after its timeout")
    func webhookTimeout() throws {
        let server = try TestHTTPServer(statuses: [200], delaySeconds: 2)
        defer { server.stop() }
        var settings = WebhookSettings(url: server.url)
        settings.timeoutSeconds = 0.3
        settings.retries = 0
        let started = ContinuousClock.now
        let results = AlertDispatcher(sinks: [.webhook(settings)]).send(Self.sample())
        #expect(results[0].error != nil)
        #expect(ContinuousClock.now - started < .seconds(2))
        // Nothing listens here: connection refused.
        let closed = AlertDispatcher(sinks: [.webhook(WebhookSettings(url: "http://127.0.0.1:9/x"))]).send(
            Self.sample()
        )
        #expect(closed[0].error != nil)
    }

    @Test("Slack and Teams payloads carry the text, with Slack's control characters escaped")
    func chatPayloads() throws {
        let server = try TestHTTPServer()
        defer { server.stop() }
        var slack = WebhookSettings(url: server.url)
        slack.payload = .slack
        var teams = WebhookSettings(url: server.url)
        teams.payload = .teams
        _ = AlertDispatcher(sinks: [.webhook(slack), .webhook(teams)]).send(Self.sample())
        try #require(server.received.count == 2)
        let slackBody = try JSONSerialization.jsonObject(with: server.received[0]) as? [String: String]
        let text = try #require(slackBody?["text"])
        #expect(text.hasPrefix("[critical] gatewatch served: 2 served direct requests"))
        #expect(text.contains("/a&lt;b&gt;&amp;c"))
        let card = try JSONSerialization.jsonObject(with: server.received[1]) as? [String: String]
        #expect(card?["@type"] == "MessageCard")
        #expect(card?["title"] == "gatewatch served [critical]")
        #expect(card?["text"]?.contains("• 198.51.100.7: 2") == true)
    }

    @Test("file and exec sinks: NDJSON appended; the program gets the alert on standard input")
    func fileAndExec() throws {
        let directory = try TestSupport.scratchDirectory()
        let file = directory + "/alerts.ndjson"
        let captured = directory + "/exec.json"
        let dispatcher = AlertDispatcher(sinks: [
            .file(path: file),
            .exec(ExecSettings(command: ["/bin/sh", "-c", "cat > '\(captured)'"])),
        ])
        let alert = Self.sample()
        #expect(dispatcher.send(alert).allSatisfy { $0.error == nil })
        #expect(dispatcher.send(alert).allSatisfy { $0.error == nil })
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try JSONDecoder().decode(Alert.self, from: Data(lines[0].utf8)) == alert)
        #expect(try String(contentsOfFile: captured, encoding: .utf8) == (try alert.json()) + "\n")
    }

    @Test(
        "exec and file failures explain themselves",
        arguments: [
            (SinkConfiguration.exec(ExecSettings(command: ["/bin/sh", "-c", "exit 3"])), "exited with status 3"),
            (
                SinkConfiguration.exec(ExecSettings(command: ["/nonexistent/notify"])),
                "cannot run alert command '/nonexistent/notify'"
            ),
            (
                SinkConfiguration.file(path: "/nonexistent/dir/a.ndjson"),
                "cannot append the alert to '/nonexistent/dir/a.ndjson'"
            ),
        ]
    )
    func sinkErrors(sink: SinkConfiguration, fragment: String) {
        let result = AlertDispatcher(sinks: [sink]).send(Self.sample())
        #expect(
            result.first?.error?.description.contains(fragment) == true,
            "\(String(describing: result.first?.error))"
        )
    }

    @Test("an exec sink that hangs is terminated after its timeout")
    func execTimeout() {
        var settings = ExecSettings(command: ["/bin/sleep", "5"])
        settings.timeoutSeconds = 0.2
        let started = ContinuousClock.now
        let result = AlertDispatcher(sinks: [.exec(settings)]).send(Self.sample())
        #expect(result.first?.error?.description.contains("did not finish in time") == true)
        #expect(ContinuousClock.now - started < .seconds(3))
    }

    @Test("an exec sink whose program started children is ended with all of them at its timeout")
    func execTimeoutWithChildren() throws {
        // A sleep of a duration no other process uses, to find it again.
        let marker = "sleep 31.\(UInt32.random(in: 1_000_000...9_999_999))"
        // The shell leaves a background child holding its standard error, then waits on another.
        var settings = ExecSettings(command: ["/bin/sh", "-c", "cat >/dev/null; \(marker) & sleep 20"])
        settings.timeoutSeconds = 0.3
        let started = ContinuousClock.now
        let result = AlertDispatcher(sinks: [.exec(settings)]).send(Self.sample())
        #expect(result.first?.error?.description.contains("did not finish in time") == true)
        #expect(ContinuousClock.now - started < .seconds(5))
        usleep(100_000)
        #expect(
            TestSupport.processes(commandLineContaining: marker).isEmpty,
            "a child of the exec program outlived its timeout"
        )
    }

    @Test("a webhook's label hides its path, query and credentials")
    func webhookLabel() {
        let label = SinkConfiguration.webhook(WebhookSettings(url: "https://user:secret@hooks.example/T0/B1?token=x"))
            .label
        #expect(label == "webhook:https://hooks.example/…")
    }

    @Test("stdout sink writes one JSON line per alert")
    func stdoutSink() {
        final class Lines: @unchecked Sendable { var value: [String] = [] }
        let lines = Lines()
        let dispatcher = AlertDispatcher(sinks: [.stdout]) { lines.value.append($0) }
        _ = dispatcher.send(Self.sample())
        #expect(lines.value.count == 1)
        #expect(lines.value.first?.hasSuffix("}\n") == true)
        #expect(lines.value.first?.hasPrefix("{\"addresses\":[\"198.51.100.7\"]") == true)
    }
}
