import Foundation

/// A self-contained HTML report of the store, for sharing with people who will not run a CLI.
///
/// The page is one file: inline CSS, inline SVG charts, no script, no font or image fetched, and
/// a Content-Security-Policy that forbids loading anything, so it renders the same offline, in a
/// mail attachment or on a wiki. Every value read from logs (addresses, paths, user agents,
/// rules, file names) is escaped with ``SafeText/html(_:)``.
///
/// Sections: coverage (the share of backend requests that came through the gateway), the
/// migration curve (direct requests over time, blocked and served), traffic by verdict over time,
/// the direct-client inventory with states, the endpoints and user agents hit directly, platform
/// traffic, policy findings, and the reconciliation with gateway logs when `gateway_*` tables
/// exist (a placeholder otherwise).
///
/// ```swift
/// let html = try HTMLReport(options: ReportOptions(policy: policy)).render(store: store)
/// try html.write(toFile: "report.html", atomically: true, encoding: .utf8)
/// ```
public struct HTMLReport: Sendable {
    /// What to include.
    public var options: ReportOptions

    /// Creates a report.
    ///
    /// - Parameter options: What to include.
    public init(options: ReportOptions = ReportOptions()) {
        self.options = options
    }

    /// Reads the store and renders the page.
    ///
    /// - Parameter store: The store.
    /// - Returns: The HTML document.
    /// - Throws: Database errors.
    public func render(store: Store) throws -> String {
        Self.page(try ReportData.load(store: store, options: options))
    }

    // MARK: - Formatting

    /// An integer with thousands separators: `24,122`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var output = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { output.append(",") }
            output.append(character)
        }
        return value < 0 ? "-" + output : output
    }

    /// A percentage with one decimal, or `–` when the denominator is 0.
    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "–" }
        let value = 100 * Double(part) / Double(whole)
        guard value.isFinite else { return "–" }
        return String(format: "%.1f %%", value)
    }

    /// Escaped text, cut to `limit` characters with the whole value in a tooltip.
    static func cell(_ text: String, limit: Int = 90) -> String {
        guard text.count > limit else { return SafeText.html(text) }
        return "<span title=\"\(SafeText.html(text))\">\(SafeText.html(String(text.prefix(limit))))…</span>"
    }

    private static func h(_ text: String) -> String { SafeText.html(text) }

    /// An HTML table of cells that are already escaped (they may hold markup such as badges).
    ///
    /// `wide` columns (user agents) get a minimum width so they wrap instead of squeezing.
    private static func table(
        _ columns: [String],
        numeric: Set<Int> = [],
        wide: Set<Int> = [],
        rows: [[String]]
    ) -> String {
        func attributes(_ index: Int) -> String {
            var classes: [String] = []
            if numeric.contains(index) { classes.append("num") }
            if wide.contains(index) { classes.append("wide") }
            return classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
        }
        var html = "<div class=\"scroll\"><table><thead><tr>"
        for (index, column) in columns.enumerated() { html += "<th\(attributes(index))>\(h(column))</th>" }
        html += "</tr></thead><tbody>\n"
        for row in rows {
            html += "<tr>"
            for (index, value) in row.enumerated() { html += "<td\(attributes(index))>\(value)</td>" }
            html += "</tr>\n"
        }
        return html + "</tbody></table></div>"
    }

    // MARK: - Page

    static func page(_ data: ReportData) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="generator" content="gatewatch">
            <title>\(h(data.options.title))</title>
            <style>\(css)</style>
            </head>
            <body>
            <header>
            <h1>\(h(data.options.title))</h1>
            <p class="meta">\(h(periodText(data)))</p>
            </header>
            <main>

            """
        html += coverage(data)
        html += migrationCurve(data)
        html += verdictChart(data)
        html += clients(data)
        html += topValues(
            id: "endpoints",
            title: "Top endpoints hit directly",
            column: "Endpoint",
            values: data.endpoints,
            empty: "No direct request in the evidence for this period."
        )
        html += topValues(
            id: "user-agents",
            title: "User agents of direct requests",
            column: "User agent",
            values: data.userAgents,
            empty: "No direct request in the evidence for this period.",
            isUserAgent: true
        )
        html += platform(data)
        html += findings(data)
        html += correlation(data)
        html +=
            "</main>\n<footer><p>Made by gatewatch from <code>\(h(URL(fileURLWithPath: data.databasePath).lastPathComponent))</code>"
        if let generatedAt = data.options.generatedAt { html += " on \(h(generatedAt))" }
        if let policy = data.policy { html += ". Verdicts under the policy <code>\(h(policy.label))</code>" }
        html += ". Verdicts: <b>gateway</b> — from a declared gateway address; <b>allowed</b> — let in by the "
        html += "allowlist; <b>platform</b> — Always On, health checks, probes, warm-up; <b>direct</b> — denied by "
        html += "the allowlist, <b>blocked</b> when the log shows the denial, <b>served</b> when the backend answered."
        html += "</p></footer>\n</body>\n</html>\n"
        return html
    }

    private static func periodText(_ data: ReportData) -> String {
        guard let first = data.summary.first, let last = data.summary.last else {
            return "No backend request in this period."
        }
        return "Backend requests from \(first) to \(last) (UTC), \(grouped(data.summary.files)) log file(s)."
    }

    private static func coverage(_ data: ReportData) -> String {
        let summary = data.summary
        let total = summary.requests
        let gateway = summary.byVerdict[Verdict.gateway.rawValue] ?? 0
        let allowed = summary.byVerdict[Verdict.allowed.rawValue] ?? 0
        let platform = summary.byVerdict[Verdict.platform.rawValue] ?? 0
        let direct = summary.byVerdict[Verdict.direct.rawValue] ?? 0
        let unjudged = summary.byVerdict[Verdict.unjudged.rawValue] ?? 0
        var html = "<section id=\"coverage\">\n<h2>Coverage</h2>\n"
        html +=
            "<p class=\"headline\"><strong>\(percent(gateway, of: total))</strong> of backend requests came through "
        html += "the gateway (\(grouped(gateway)) of \(grouped(total)); \(percent(gateway, of: total - platform)) "
        html += "leaving platform traffic aside).</p>\n"
        if summary.direct.served > 0, let lastServed = data.lastServedDirect {
            // Served within the last day of data: the backend is still open right now.
            let newest = summary.last.flatMap(TimeDisplay.parse) ?? 0
            let recent = (TimeDisplay.parse(lastServed) ?? 0) >= newest - 86_400
            html +=
                "<p class=\"banner \(recent ? "bad" : "warn")\">\(grouped(summary.direct.served)) direct request(s) "
            html += "were <b>served</b>: the allowlist was not enforced for them. Last one: \(h(lastServed)).</p>\n"
        }
        if unjudged > 0 {
            html += "<p class=\"banner bad\">\(grouped(unjudged)) request(s) were not judged: they were ingested with "
            html += "no policy and no gateway address, so nothing says whether they bypassed the gateway. Ingest "
            html += "those logs again with --policy or --gateway and --reingest.</p>\n"
        } else if summary.direct.served == 0, direct > 0 {
            html += "<p class=\"banner good\">Every direct request in this period was blocked by the allowlist.</p>\n"
        } else if summary.direct.served == 0, total > 0 {
            html += "<p class=\"banner good\">No request bypassed the gateway in this period.</p>\n"
        }
        html += "<div class=\"cards\">\n"
        let cards: [(String, Int, String)] =
            [
                ("gateway", gateway, "through the gateway"),
                ("allowed", allowed, "allowed by the allowlist (office, partners, loopback)"),
                ("platform", platform, "platform: Always On, health checks, probes, warm-up"),
                ("served", summary.direct.served, "direct and served"),
                ("blocked", summary.direct.blocked, "direct and blocked"),
            ] + (unjudged > 0 ? [("unjudged", unjudged, "not judged: no policy or gateway at ingest")] : [])
        for (name, value, caption) in cards {
            html += "<div class=\"card \(name)\"><div class=\"value\">\(grouped(value))</div>"
            html += "<div class=\"caption\">\(h(caption)) · \(percent(value, of: total))</div></div>\n"
        }
        html += "</div>\n<p>\(grouped(summary.direct.clients)) distinct address(es) called the backend directly; "
        html += "\(grouped(summary.malformed)) malformed log line(s) were skipped.</p>\n</section>\n"
        return html
    }

    private static func bucketLabel(_ start: Int64, size: Int64) -> (label: String?, title: String) {
        let text = UTCTime.format(start)
        let day = String(text.prefix(10))
        if size >= 86_400 { return (String(day.dropFirst(5)), day) }
        let title = "\(day) \(text.dropFirst(11).prefix(5))"
        let isMidnight = text.dropFirst(11).hasPrefix("00:00")
        return (isMidnight ? String(day.dropFirst(5)) : nil, title)
    }

    private static func bucketName(_ size: Int64) -> String {
        switch size {
        case 3600: "hour"
        case 86_400: "day"
        case 604_800: "week"
        default: "\(size / 3600) hours"
        }
    }

    private static func migrationCurve(_ data: ReportData) -> String {
        let chart = SVGChart(
            series: [
                SVGChart.Series(name: "served", cssClass: "served"),
                SVGChart.Series(name: "blocked", cssClass: "blocked"),
            ],
            bars: data.buckets.map { bucket in
                let label = bucketLabel(bucket.start, size: data.bucketSeconds)
                return SVGChart.Bar(label: label.label, title: label.title, values: [bucket.served, bucket.blocked])
            },
            summary: "Direct requests per \(bucketName(data.bucketSeconds)), served and blocked"
        )
        var html = "<section id=\"migration\">\n<h2>Direct traffic over time</h2>\n"
        html += "<p>Requests that bypassed the gateway, per \(bucketName(data.bucketSeconds)) (UTC). A finished "
        html +=
            "migration shows the red (served) bars falling to zero; amber bars are attempts the allowlist refused.</p>\n"
        html += chart.render() + "\n" + chart.legend() + "\n</section>\n"
        return html
    }

    private static func verdictChart(_ data: ReportData) -> String {
        // The unjudged series is drawn only when there are unjudged requests.
        let unjudged = data.buckets.contains { $0.unjudged > 0 }
        let chart = SVGChart(
            series: [
                SVGChart.Series(name: "gateway", cssClass: "gateway"),
                SVGChart.Series(name: "allowed", cssClass: "allowed"),
                SVGChart.Series(name: "platform", cssClass: "platform"),
                SVGChart.Series(name: "direct served", cssClass: "served"),
                SVGChart.Series(name: "direct blocked", cssClass: "blocked"),
            ] + (unjudged ? [SVGChart.Series(name: "unjudged", cssClass: "unjudged")] : []),
            bars: data.buckets.map { bucket in
                let label = bucketLabel(bucket.start, size: data.bucketSeconds)
                return SVGChart.Bar(
                    label: label.label,
                    title: label.title,
                    values: [bucket.gateway, bucket.allowed, bucket.platform, bucket.served, bucket.blocked]
                        + (unjudged ? [bucket.unjudged] : [])
                )
            },
            summary: "All backend requests per \(bucketName(data.bucketSeconds)) by verdict"
        )
        var html = "<section id=\"verdicts\">\n<h2>All backend traffic by verdict</h2>\n"
        html += chart.render() + "\n" + chart.legend() + "\n</section>\n"
        return html
    }

    private static func badge(_ state: ReportClientState) -> String {
        let (css, text) =
            switch state {
            case .served: ("bad", "served")
            case .blocked: ("warn", "blocked")
            case .quiet: ("good", "quiet")
            }
        return "<span class=\"badge \(css)\">\(h(text))</span>"
    }

    /// A stored time as `11-20 13:04` (the year is in the page header), the full value in a tooltip.
    static func time(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "–" }
        let short =
            text.count >= 16 ? String(text.dropFirst(5).prefix(11)).replacingOccurrences(of: "T", with: " ") : text
        return "<span class=\"time\" title=\"\(h(text))\">\(h(short))</span>"
    }

    /// An address in code style; IPv4 never wraps, IPv6 may wrap anywhere.
    static func address(_ text: String) -> String {
        "<code class=\"\(text.contains(":") ? "addr6" : "addr")\">\(h(text))</code>"
    }

    /// A user agent for reading: IIS writes spaces as `+`, shown as spaces; the logged text is
    /// in the tooltip.
    static func userAgent(_ text: String, limit: Int = 90) -> String {
        let readable = text.replacingOccurrences(of: "+", with: " ")
        let shown = readable.count > limit ? String(readable.prefix(limit)) + "…" : readable
        return "<span class=\"ua\" title=\"\(h(text))\">\(h(shown))</span>"
    }

    /// The owner cell: the name, its source, and what it means.
    private static func owner(_ client: ReportClient) -> String {
        guard let owner = client.owner else { return "" }
        var html = "\(cell(owner.name, limit: 48)) <small>\(h(owner.source.rawValue))</small>"
        for finding in client.findings { html += "<br><small>\(cell(finding, limit: 200))</small>" }
        return html
    }

    private static func clients(_ data: ReportData) -> String {
        let quiet = data.options.quietDays
        var html = "<section id=\"clients\">\n<h2>Direct clients</h2>\n"
        html += "<p>Every address that called the backend directly. <b>served</b>: the backend answered it within the "
        html += "last \(quiet) day(s) of data, so locking down will cut it off; <b>blocked</b>: still calling, but the "
        html +=
            "allowlist refuses it (it is broken: tell its owner); <b>quiet</b>: no "
        html += "direct request in the last \(quiet) day(s).</p>\n"
        guard !data.clients.isEmpty else {
            return html + "<p class=\"empty\">No direct client in this period.</p>\n</section>\n"
        }
        let counts = Dictionary(grouping: data.clients, by: \.state).mapValues(\.count)
        if data.clientTotal == data.clients.count {
            html += "<p>\(counts[.served] ?? 0) served · \(counts[.blocked] ?? 0) blocked, still calling · "
            html += "\(counts[.quiet] ?? 0) quiet.</p>\n"
        }
        for drift in data.drifts { html += "<p class=\"finding\"><b>Gateway drift.</b> \(h(drift.message))</p>\n" }
        html += table(
            [
                "Address", "State", "Requests", "Served", "Blocked", "First seen", "Last seen", "Last served",
                "Endpoints", "User agents", "Owner",
            ],
            numeric: [2, 3, 4],
            wide: [9],
            rows: data.clients.map { client in
                [
                    address(client.address), badge(client.state), grouped(client.requests), grouped(client.served),
                    grouped(client.blocked), time(client.firstSeen), time(client.lastSeen), time(client.lastServed),
                    client.endpoints.map { "<code>\(cell($0.value, limit: 48))</code>" }.joined(separator: "<br>"),
                    client.userAgents.map { userAgent($0.value, limit: 70) }.joined(separator: "<br>"),
                    owner(client),
                ]
            }
        )
        if let note = data.options.owners.sourceNote { html += "<p class=\"more\">\(h(note))</p>\n" }
        if let warning = data.options.owners.serviceTagsAgeWarning(newest: data.summary.last) {
            html += "<p class=\"finding\">\(h(warning))</p>\n"
        }
        if data.clientTotal > data.clients.count {
            html += "<p class=\"more\">… and \(grouped(data.clientTotal - data.clients.count)) more: run "
            html += "<code>gatewatch clients --limit 0</code> for all of them.</p>\n"
        }
        return html + "\n</section>\n"
    }

    private static func topValues(
        id: String,
        title: String,
        column: String,
        values: [ReportTopValue],
        empty: String,
        isUserAgent: Bool = false
    ) -> String {
        var html = "<section id=\"\(id)\">\n<h2>\(h(title))</h2>\n"
        guard !values.isEmpty else { return html + "<p class=\"empty\">\(h(empty))</p>\n</section>\n" }
        html += table(
            [column, "Requests", "Served", "Blocked", "Clients"],
            numeric: [1, 2, 3, 4],
            rows: values.map { value in
                [
                    isUserAgent ? userAgent(value.value) : "<code>\(cell(value.value))</code>", grouped(value.requests),
                    grouped(value.served), grouped(value.blocked),
                    grouped(value.clients),
                ]
            }
        )
        return html + "\n</section>\n"
    }

    private static func platform(_ data: ReportData) -> String {
        var html = "<section id=\"platform\">\n<h2>Platform traffic</h2>\n"
        html +=
            "<p>Azure's own requests (Always On, health checks, warm-up, the 168.63.129.16 load-balancer probe) are "
        html += "never counted as bypasses, but an allowlist that refuses them keeps the site cold or takes it out of "
        html += "rotation.</p>\n"
        guard !data.platform.isEmpty else {
            return html + "<p class=\"empty\">No platform traffic in this period.</p>\n</section>\n"
        }
        var columns = ["Address", "Kind", "Requests", "Blocked", "Last seen", "User agents"]
        if data.options.policy != nil { columns.append("Policy") }
        html += table(
            columns,
            numeric: [2, 3],
            wide: [5],
            rows: data.platform.prefix(max(1, data.options.rowsPerTable)).map { row in
                var cells = [
                    address(row.address), h(row.kinds.joined(separator: ", ")), grouped(row.requests),
                    row.blocked > 0 ? "<span class=\"badge bad\">\(grouped(row.blocked))</span>" : "0",
                    time(row.lastSeen),
                    row.userAgents.map { userAgent($0.value, limit: 60) }.joined(separator: "<br>"),
                ]
                if let decision = row.decision {
                    let allowed = decision.verdict == .allow
                    cells.append(
                        "<span class=\"badge \(allowed ? "good" : "bad")\">\(h(decision.verdict.rawValue))</span> "
                            + "<small>\(h(decision.rule))</small>"
                    )
                } else if data.options.policy != nil {
                    cells.append("")
                }
                return cells
            }
        )
        return html + "\n</section>\n"
    }

    private static func findings(_ data: ReportData) -> String {
        var html = "<section id=\"findings\">\n<h2>Policy findings</h2>\n"
        guard let findings = data.findings, let policy = data.options.policy else {
            html +=
                "<p class=\"placeholder\">No policy was given. Run <code>gatewatch report --config gatewatch.yaml</code> "
            html += "or <code>--policy web.config</code> to include the allowlist's lint findings.</p>\n</section>\n"
            return html
        }
        html += "<p>Policy: <code>\(h(policy.source))</code>.</p>\n"
        guard !findings.isEmpty else {
            return html + "<p class=\"banner good\">No finding: the allowlist does what it says.</p>\n</section>\n"
        }
        html += table(
            ["Severity", "Code", "Where", "What to do"],
            rows: findings.map { finding in
                let css =
                    switch finding.severity {
                    case .error: "bad"
                    case .warning: "warn"
                    case .info: "info"
                    }
                return [
                    "<span class=\"badge \(css)\">\(h(finding.severity.rawValue))</span>",
                    "<code>\(h(finding.code))</code>",
                    "<code>\(h(finding.location.description))</code>", h(finding.message),
                ]
            }
        )
        return html + "\n</section>\n"
    }

    private static func correlation(_ data: ReportData) -> String {
        var html = "<section id=\"correlation\">\n<h2>Gateway correlation</h2>\n"
        switch data.correlation {
        case .noTables:
            html += "<p class=\"placeholder\">No gateway logs in this database. Ingest the gateway's logs (APIM "
            html +=
                "GatewayLogs) to check that every backend request from a gateway address matches a gateway call.</p>\n"
        case .noData(let message):
            html += "<p class=\"placeholder\">Gateway correlation is not available: \(h(message)).</p>\n"
        case .failed(let message):
            html += "<p class=\"banner warn\">The gateway tables could not be read: \(h(message))</p>\n"
        case .report(let report):
            html +=
                "<p class=\"headline\"><strong>\(percent(report.matched, of: report.backendFromGateway))</strong> of "
            html += "the backend's requests from gateway addresses match a gateway call (\(grouped(report.matched)) of "
            html += "\(grouped(report.backendFromGateway)), \(h(report.method)), \(h(report.granularity)) granularity, "
            html += "\(h(report.since)) to \(h(report.until))).</p>\n"
            html += table(
                ["Measure", "Value"],
                numeric: [1],
                rows: [
                    ["Backend requests from gateway addresses", grouped(report.backendFromGateway)],
                    ["Matched to a gateway call", grouped(report.matched)],
                    ["Backend requests with no gateway record", grouped(report.unmatchedBackend)],
                    ["Gateway calls with no backend line", grouped(report.unmatchedGateway)],
                    ["Clock skew (backend − gateway)", h(String(format: "%.1f s", report.skewSeconds))],
                ]
            )
            if !report.unmatched.isEmpty {
                html += "\n<h3>Backend requests no gateway record accounts for</h3>\n"
                html += table(
                    ["Time", "Address", "Method", "Path", "Status"],
                    numeric: [4],
                    rows: report.unmatched.prefix(max(1, data.options.rowsPerTable)).map { row in
                        [
                            time(row.time), address(row.address), h(row.method), "<code>\(cell(row.path))</code>",
                            String(row.status),
                        ]
                    }
                )
            }
            if !report.notes.isEmpty {
                html += "\n<ul class=\"notes\">" + report.notes.map { "<li>\(h($0))</li>" }.joined() + "</ul>\n"
            }
        }
        return html + "</section>\n"
    }

    static let css = """
        :root{--gateway:#2f6fb0;--allowed:#3a9a8a;--unjudged:#6b4fa0;--platform:#9aa3ad;--served:#c62f2f;--blocked:#e3a33b;\
        --ink:#1d2329;--muted:#5b6670;--line:#dde2e7}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;\
        color:var(--ink);background:#f6f8fa}
        header,main,footer{max-width:1180px;margin:0 auto;padding:0 24px}
        header{padding-top:24px}
        h1{margin:0 0 4px;font-size:26px}
        h2{margin:0 0 10px;font-size:19px}
        h3{font-size:16px;margin:18px 0 8px}
        section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:16px 0}
        .meta,.more,footer{color:var(--muted)}
        footer{font-size:13px;padding-bottom:32px}
        .headline{font-size:18px}
        .headline strong{font-size:30px;color:var(--gateway)}
        .banner{padding:8px 12px;border-radius:6px}
        .banner.bad{background:#fde8e8;color:#8a1c1c}
        .banner.warn{background:#fff4e0;color:#7a4b00}
        .banner.good{background:#e6f5ec;color:#1d6b3a}
        .cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
        .card{flex:1 1 160px;border:1px solid var(--line);border-left:6px solid var(--platform);border-radius:6px;padding:10px 12px}
        .card .value{font-size:24px;font-weight:600}
        .card .caption{font-size:13px;color:var(--muted)}
        .card.gateway{border-left-color:var(--gateway)}
        .card.allowed{border-left-color:var(--allowed)}
        .card.unjudged{border-left-color:var(--unjudged)}
        .card.served{border-left-color:var(--served)}
        .card.blocked{border-left-color:var(--blocked)}
        table{border-collapse:collapse;width:100%;font-size:13.5px}
        th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{background:#f0f3f6;font-weight:600}
        td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
        code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
        code.addr,.time,.badge{white-space:nowrap;word-break:normal}
        td code,.ua{word-break:normal;overflow-wrap:anywhere}
        td.wide{min-width:170px}
        .scroll{overflow-x:auto}
        .badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;white-space:nowrap}
        .badge.bad{background:#fde8e8;color:#8a1c1c}
        .badge.warn{background:#fff4e0;color:#7a4b00}
        .badge.good{background:#e6f5ec;color:#1d6b3a}
        .badge.info{background:#e8f0fa;color:#1f4d7a}
        .placeholder,.empty{color:var(--muted);font-style:italic}
        svg.chart{width:100%;height:auto;display:block}
        svg .grid{stroke:#edf0f3;stroke-width:1}
        svg .baseline{stroke:#9aa3ad;stroke-width:1}
        svg .axis{font-size:11px;fill:var(--muted)}
        svg .gateway{fill:var(--gateway)}
        svg .allowed{fill:var(--allowed)}
        svg .unjudged{fill:var(--unjudged)}
        svg .platform{fill:var(--platform)}
        svg .served{fill:var(--served)}
        svg .blocked{fill:var(--blocked)}
        .legend{font-size:13px;color:var(--muted)}
        .key{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
        .key.gateway{background:var(--gateway)}
        .key.allowed{background:var(--allowed)}
        .key.unjudged{background:var(--unjudged)}
        .key.platform{background:var(--platform)}
        .key.served{background:var(--served)}
        .key.blocked{background:var(--blocked)}
        """
}
