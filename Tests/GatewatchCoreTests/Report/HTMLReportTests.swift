import Foundation
import Testing

@testable import GatewatchCore

@Suite struct HTMLReportTests {
    /// A tiny log whose direct request carries markup in the user agent and the path.
    static let hostileLog = """
        #Software: Microsoft Internet Information Services 10.0\r
        #Version: 1.0\r
        #Date: 2026-11-20 10:00:00\r
        #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r
        2026-11-20 10:00:00 10.0.1.4 GET /api/orders - 443 - 20.50.10.4 Mozilla/5.0 - 200 0 0 12\r
        2026-11-20 10:00:01 10.0.1.4 GET /"><img+src=x+onerror=alert(1)> - 443 - 203.0.113.9 <script>alert("pwned")</script> - 200 0 0 3\r
        2026-11-20 11:00:02 10.0.1.4 GET /a&b - 443 - 203.0.113.9 <script>alert("pwned")</script> - 403 503 0 1\r
        2026-11-20 11:05:00 10.0.1.4 GET / - 80 - ::1 AlwaysOn - 200 0 0 1\r
        2026-11-20 11:06:00 10.0.1.4 GET /x - 80 - 203.0.113.10 evil\u{1B}[31mred\u{07}\u{202E}txt.exe\u{200B} - 200 0 0 1\r

        """

    static func hostileStore() throws -> Store {
        let directory = try TestSupport.scratchDirectory()
        let log = directory + "/u_ex261120.log"
        try hostileLog.write(toFile: log, atomically: true, encoding: .utf8)
        let db = directory + "/gatewatch.db"
        _ = try TestSupport.ingest([log], db: db) { options in
            options.gateways = [CIDR("20.50.10.4")].compactMap { $0 }
        }
        return try Store(path: db, readOnly: true)
    }

    @Test("log-derived markup is escaped: a <script> user agent cannot run in the report")
    func hostileUserAgent() throws {
        let html = try HTMLReport(options: ReportOptions(rowsPerTable: 10)).render(store: try Self.hostileStore())
        #expect(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("/&quot;&gt;&lt;img+src=x+onerror=alert(1)&gt;"))
        #expect(html.contains("/a&amp;b"))
        #expect(!html.contains("onerror=alert(1)>"))
        // Control, zero-width and bidirectional characters are shown, not passed to the page.
        for hidden in ["\u{1B}", "\u{07}", "\u{202E}", "\u{200B}"] { #expect(!html.contains(hidden)) }
        #expect(html.contains("evil\\x1b[31mred\\x07\\u{202e}txt.exe\\u{200b}"))
    }

    @Test("the sample report has every section, inline SVG charts and nothing fetched from elsewhere")
    func structure() throws {
        let store = try Store(path: MigrationFixtures.sampleDatabase, readOnly: true)
        let policy = try MigrationFixtures.policy(TestSupport.sample("web.config"))
        let options = ReportOptions(policy: policy, title: "Orders API <backend>", generatedAt: "2026-11-25T08:00:00Z")
        let html = try HTMLReport(options: options).render(store: store)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>\n"))
        for id in [
            "coverage", "migration", "verdicts", "clients", "endpoints", "user-agents", "platform", "findings",
            "correlation",
        ] {
            #expect(html.contains("<section id=\"\(id)\">"), "missing section \(id)")
        }
        #expect(html.contains("<title>Orders API &lt;backend&gt;</title>"))
        // 17,818 of 24,122 requests came through the gateway.
        #expect(html.contains("<strong>73.9 %</strong> of backend requests came through the gateway (17,818 of 24,122"))
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count == 3)
        // Self-contained: no script, no external reference, a CSP that forbids fetching anything.
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
        #expect(!html.contains("href="))
        #expect(!html.contains("@import"))
        #expect(!html.contains("url("))
        #expect(html.contains("default-src 'none'"))
        // The migration: served direct traffic, the planted clients, the platform probe.
        #expect(html.contains("1,474 direct request(s) were <b>served</b>"))
        #expect(html.contains("<code class=\"addr\">198.51.100.23</code>"))
        #expect(html.contains("<code class=\"addr\">203.0.113.200</code>"))
        // With a 7-day quiet period every direct client of the 5-day sample is recent; the
        // reporting server was served on days 1–2, so it is listed as served.
        #expect(html.contains("<span class=\"badge bad\">served</span>"))
        #expect(html.contains("load-balancer probe"))
        #expect(html.contains("No finding: the allowlist does what it says."))
        #expect(html.contains("on 2026-11-25T08:00:00Z"))
        // The gateway tables exist but hold nothing: a placeholder, not an error.
        #expect(
            html.contains("ingest the gateway&#39;s logs first") || html.contains("No gateway logs in this database")
        )
    }

    @Test("client states with a one-day quiet period: the partner went quiet, the reporting server is refused")
    func clientStates() throws {
        let store = try Store(path: MigrationFixtures.sampleDatabase, readOnly: true)
        let data = try ReportData.load(store: store, options: ReportOptions(rowsPerTable: 0, quietDays: 1))
        let byAddress = Dictionary(uniqueKeysWithValues: data.clients.map { ($0.address, $0) })
        #expect(data.clientTotal == 41)
        #expect(byAddress["198.51.100.23"]?.state == .quiet)
        #expect(byAddress["203.0.113.200"]?.state == .blocked)
        #expect(byAddress["203.0.113.200"]?.lastServed?.hasPrefix("2026-11-21T") == true)
        #expect(!data.clients.contains { $0.state == .served })
        #expect(data.clients.map(\.state) == data.clients.map(\.state).sorted())
    }

    @Test("a report without a policy shows the findings placeholder; an empty window renders")
    func placeholders() throws {
        let store = try Store(path: MigrationFixtures.sampleDatabase, readOnly: true)
        let range = TimeRange(since: try MigrationFixtures.time("2030-01-01"), until: nil)
        let html = try HTMLReport(options: ReportOptions(range: range)).render(store: store)
        #expect(html.contains("No policy was given."))
        #expect(html.contains("No backend request in this period."))
        #expect(html.contains("No direct client in this period."))
        #expect(html.contains(">no data</text>"))
    }

    static let bucketCases: [(span: Int64, expected: Int64)] = [
        (3600 * 5, 3600),
        (86_400 * 5 - 1, 3600),
        (86_400 * 6, 3 * 3600),
        (86_400 * 90, 86_400),
        (86_400 * 400, 604_800),
    ]

    @Test("chart buckets stay at 120 bars or fewer", arguments: bucketCases)
    func bucketChoice(span: Int64, expected: Int64) {
        #expect(ReportData.bucketSeconds(span: span) == expected)
    }

    @Test("numbers and steps for people")
    func formatting() {
        #expect(HTMLReport.grouped(24_122) == "24,122")
        #expect(HTMLReport.grouped(999) == "999")
        #expect(HTMLReport.grouped(-1_000_000) == "-1,000,000")
        #expect(HTMLReport.percent(1, of: 0) == "–")
        #expect(HTMLReport.percent(17_818, of: 24_122) == "73.9 %")
        #expect(SVGChart.niceStep(945) == 500 || SVGChart.niceStep(945) == 250)
        #expect(SVGChart.niceStep(3) == 1)
    }
}
