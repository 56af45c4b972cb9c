import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// A store filled row by row, to test the query logic on exact inputs.
struct QueryFixture {
    let path: String
    let writer: Store

    init(label: String = #function) throws {
        path = try TestSupport.scratchDirectory(label) + "/q.db"
        writer = try Store(path: path)
        try writer.writeSQLite { db in
            try db.execute(
                sql: """
                    INSERT INTO files (id, fingerprint, head_hash, head_length, path, format, compressed, bytes, lines,
                        requests, skipped, malformed, ends_with_newline, first_time, last_time, status, ingested_at,
                        updated_at)
                    VALUES (1, 'f', 'h', 0, '/logs/u_ex.log', 'w3c', 0, 0, 0, 0, 0, 0, 1, NULL, NULL, 'done', '', '')
                    """
            )
        }
    }

    var store: Store { get throws { try Store(path: path, readOnly: true) } }

    /// One hourly row; `first`/`last` default to the hour's start and end.
    func hourly(
        _ hour: String,
        _ address: String,
        _ verdict: Verdict,
        _ outcome: Outcome = .none,
        status: Int = 200,
        substatus: Int = 0,
        requests: Int,
        bytes: Int = 0,
        site: String = "",
        first: String? = nil,
        last: String? = nil
    ) throws {
        // A key per judged group, as ingest names them (the facts stand in for the verdict).
        let key = JudgementKey(
            address: address,
            invalid: false,
            status: Int32(status),
            substatus: Int32(substatus),
            facts: JudgementFacts(fdid: verdict.rawValue, healthProbe: outcome.rawValue)
        ).id
        try writer.writeSQLite { db in
            try db.execute(
                sql: """
                    INSERT INTO hourly_facts (hour, site, address, status, substatus, requests, bytes,
                        time_taken_sum, time_taken_max, first_seen, last_seen, key_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)
                    """,
                arguments: [
                    hour, site, address, status, substatus, requests, bytes,
                    first ?? hour, last ?? hour.replacingOccurrences(of: ":00:00Z", with: ":59:59Z"), key,
                ]
            )
            // `hourly` reads the row's verdict from its key's judgement, with the rule the evidence
            // rows name for direct requests.
            try db.execute(
                sql: """
                    INSERT INTO judgements (key_id, address, invalid, status, substatus, platform, fdid, health_probe,
                        kept, verdict, outcome, rule)
                    VALUES (?, ?, 0, ?, ?, 0, ?, ?, 0, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING
                    """,
                arguments: [
                    key, address, status, substatus, verdict.rawValue, outcome.rawValue, verdict.rawValue,
                    outcome.rawValue, verdict == .direct ? "iis-static: allowUnlisted" : "",
                ]
            )
        }
    }

    func evidence(
        _ time: String,
        _ address: String,
        _ outcome: Outcome,
        stem: String = "/",
        userAgent: String? = "curl/8.4.0",
        line: Int = 1,
        site: String = ""
    ) throws {
        let status = outcome == .blocked ? 403 : 200
        let substatus = outcome == .blocked ? 503 : 0
        // The row's verdict, outcome and rule are its key's judgement (`evidence` is a view).
        let key = JudgementKey(
            address: address,
            invalid: false,
            status: Int32(status),
            substatus: Int32(substatus),
            facts: JudgementFacts(fdid: Verdict.direct.rawValue, healthProbe: outcome.rawValue)
        ).id
        try writer.writeSQLite { db in
            try db.execute(
                sql: """
                    INSERT INTO judgements (key_id, address, invalid, status, substatus, platform, fdid, health_probe,
                        kept, verdict, outcome, rule)
                    VALUES (?, ?, 0, ?, ?, 0, 'direct', ?, 0, 'direct', ?, 'iis-static: allowUnlisted')
                    ON CONFLICT (key_id) DO NOTHING
                    """,
                arguments: [key, address, status, substatus, outcome.rawValue, outcome.rawValue]
            )
            let agent: Int64? = userAgent.map { text in
                var text = text
                return text.withUTF8 { AgentID.of(UnsafeRawBufferPointer($0)) }
            }
            if let agent, let userAgent {
                try db.execute(
                    sql: "INSERT INTO user_agents (id, value) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    arguments: [agent, userAgent]
                )
            }
            try db.execute(
                sql: """
                    INSERT INTO evidence_rows (time, file_id, line, site, address, forwarded_for, method, uri_stem,
                        uri_query, status, substatus, host, key_id, agent_id)
                    VALUES (?, 1, ?, ?, ?, NULL, 'GET', ?, NULL, ?, ?, NULL, ?, ?)
                    """,
                arguments: [time, line, site, address, stem, status, substatus, key, agent]
            )
        }
    }

    func inventory(_ day: String, _ address: String, _ kind: String, _ value: String, _ requests: Int) throws {
        try writer.writeSQLite { db in
            try db.execute(
                sql: "INSERT INTO inventory (day, address, kind, value, requests) VALUES (?, ?, ?, ?, ?)",
                arguments: [day, address, kind, value, requests]
            )
        }
    }

    func latency(_ endpoint: String, _ bucket: Int, _ requests: Int, verdict: Verdict = .gateway) throws {
        try writer.writeSQLite { db in
            try db.execute(
                sql:
                    "INSERT INTO latency (day, site, endpoint, verdict, bucket, requests) VALUES ('2026-11-20', '', ?, ?, ?, ?)",
                arguments: [endpoint, verdict.rawValue, bucket, requests]
            )
        }
    }
}

@Suite struct TopQueryTests {
    @Test("ranks by requests or bytes, ties by address bytes, limit and total")
    func ranking() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "203.0.113.9", .direct, .served, requests: 5, bytes: 100)
        try fixture.hourly(
            "2026-11-20T11:00:00Z",
            "203.0.113.9",
            .direct,
            .blocked,
            status: 403,
            substatus: 503,
            requests: 2
        )
        try fixture.hourly("2026-11-20T10:00:00Z", "203.0.113.10", .direct, .served, requests: 7, bytes: 10)
        try fixture.hourly("2026-11-20T10:00:00Z", "2001:db8::1", .direct, .blocked, requests: 7, bytes: 900)
        try fixture.hourly("2026-11-20T10:00:00Z", "20.50.10.4", .gateway, requests: 1000, bytes: 5)
        let store = try fixture.store
        let top = try TopQuery(filter: QueryFilter()).run(store: store)
        // 7, 7, 7: "2001:db8::1" < "203.0.113.10" < "203.0.113.9" by bytes of the text.
        #expect(top.entries.map(\.address) == ["2001:db8::1", "203.0.113.10", "203.0.113.9"])
        let nine = try #require(top.entries.last)
        #expect([nine.requests, nine.blocked, nine.served, nine.bytes] as [Int] == [7, 2, 5, 100])
        #expect(nine.firstSeen == "2026-11-20T10:00:00Z")
        #expect(nine.lastSeen == "2026-11-20T11:59:59Z")

        let byBytes = try TopQuery(filter: QueryFilter(limit: 2), measure: .bytes).run(store: store)
        #expect(byBytes.entries.map(\.address) == ["2001:db8::1", "203.0.113.9"])
        #expect(byBytes.total == 3)

        let all = try TopQuery(filter: QueryFilter(limit: 1), verdict: .all).run(store: store)
        #expect(all.entries.map(\.address) == ["20.50.10.4"])
        let gateway = try TopQuery(filter: QueryFilter(), verdict: .gateway).run(store: store)
        #expect(gateway.entries.map(\.requests) == [1000])
    }

    @Test("--cidr, --site and the time window filter rows")
    func filters() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "203.0.113.9", .direct, .served, requests: 5, site: "A")
        try fixture.hourly("2026-11-21T10:00:00Z", "203.0.113.9", .direct, .served, requests: 1, site: "B")
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 3, site: "A")
        try fixture.hourly("2026-11-20T10:00:00Z", "-", .direct, .served, requests: 4, site: "A")
        try fixture.hourly("2026-11-20T10:00:00Z", "2001:db8::7", .direct, .served, requests: 2, site: "A")
        let store = try fixture.store
        func addresses(_ filter: QueryFilter) throws -> [String] {
            try TopQuery(filter: filter).run(store: store).entries.map { "\($0.address)=\($0.requests)" }
        }
        #expect(try addresses(QueryFilter(cidrs: [try #require(CIDR("203.0.113.0/24"))])) == ["203.0.113.9=6"])
        #expect(try addresses(QueryFilter(cidrs: [try #require(CIDR("2001:db8::/32"))])) == ["2001:db8::7=2"])
        // IPv4-mapped blocks match IPv4 addresses; non-IP addresses never match a block.
        #expect(try addresses(QueryFilter(cidrs: [try #require(CIDR("0.0.0.0/0"))])).count == 2)
        #expect(try addresses(QueryFilter(site: "B")) == ["203.0.113.9=1"])
        let day21 = try TimeRange.parse(since: "2026-11-21", until: nil, last: nil, now: 0)
        #expect(try addresses(QueryFilter(range: day21)) == ["203.0.113.9=1"])
        // --since inside an hour includes that hour (bounds round down to the hour, as in summary).
        let midHour = try TimeRange.parse(since: "2026-11-21T10:30:00Z", until: nil, last: nil, now: 0)
        #expect(try addresses(QueryFilter(range: midHour)) == ["203.0.113.9=1"])
        let until = try TimeRange.parse(since: nil, until: "2026-11-20", last: nil, now: 0)
        #expect(
            try addresses(QueryFilter(range: until)) == ["203.0.113.9=5", "-=4", "198.51.100.1=3", "2001:db8::7=2"]
        )
    }

    @Test("times are shown in --tz, with the offset of the instant")
    func timeZones() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-07-01T22:00:00Z", "203.0.113.9", .direct, .served, requests: 1)
        try fixture.hourly("2026-12-01T22:00:00Z", "203.0.113.9", .direct, .served, requests: 1)
        let paris = try #require(TimeZone(identifier: "Europe/Paris"))
        let top = try TopQuery(filter: QueryFilter(timeZone: paris)).run(store: try fixture.store)
        #expect(top.entries.first?.firstSeen == "2026-07-02T00:00:00+02:00")
        #expect(top.entries.first?.lastSeen == "2026-12-01T23:59:59+01:00")
        let kolkata = TimeDisplay(timeZone: try #require(TimeZone(identifier: "Asia/Kolkata")))
        #expect(kolkata.format("2026-11-20T20:00:00Z") == "2026-11-21T01:30:00+05:30")
        let newYork = TimeDisplay(timeZone: try #require(TimeZone(identifier: "America/New_York")))
        #expect(newYork.format("2026-11-20T03:00:00Z") == "2026-11-19T22:00:00-05:00")
        #expect(newYork.day(of: try #require(TimeDisplay.parse("2026-11-20T03:00:00Z"))) == "2026-11-19")
        #expect(TimeDisplay.parse("1970-01-02") == 86_400)
        #expect(TimeDisplay.parse("2024-02-29T12:00:00Z") == 1_709_208_000)
    }

    @Test("an empty store gives empty results, not errors")
    func emptyStore() throws {
        let store = try QueryFixture().store
        #expect(try TopQuery(filter: QueryFilter()).run(store: store).entries.isEmpty)
        #expect(try ClientsQuery(filter: QueryFilter()).run(store: store).clients.isEmpty)
        #expect(try TimelineQuery(filter: QueryFilter()).run(store: store).points.isEmpty)
        #expect(
            try StatusesQuery(filter: QueryFilter()).run(store: store)
                == StatusesReport(statuses: [], endpoints: [], endpointsTotal: 0)
        )
        #expect(try EventsQuery(filter: QueryFilter()).run(store: store).events.isEmpty)
        let report = try AddressReport.compute(address: "203.0.113.9", filter: QueryFilter(), store: store)
        #expect(report.requests == 0)
        #expect(report.firstSeen == nil)
        #expect(try report.render(.table).contains("no requests"))
        #expect(try report.render(.json).contains("\"first_seen\":null"))
    }
}

@Suite struct ClientsQueryTests {
    @Test("states and 1/7/30-day counts relative to the newest data")
    func states() throws {
        let fixture = try QueryFixture()
        // Newest data: 2026-11-30T12:34:56Z (a gateway row); reference = end of that hour, 13:00.
        try fixture.hourly("2026-11-30T12:00:00Z", "20.50.10.4", .gateway, requests: 9, last: "2026-11-30T12:34:56Z")
        // Active: served, hits in every window.
        try fixture.hourly(
            "2026-11-30T12:00:00Z",
            "198.51.100.1",
            .direct,
            .served,
            requests: 1,
            last: "2026-11-30T12:10:00Z"
        )
        try fixture.hourly("2026-11-29T13:00:00Z", "198.51.100.1", .direct, .served, requests: 2)  // exactly 1d back
        try fixture.hourly("2026-11-29T12:00:00Z", "198.51.100.1", .direct, .served, requests: 4)  // just outside 1d
        try fixture.hourly("2026-11-05T10:00:00Z", "198.51.100.1", .direct, .served, requests: 8)  // inside 30d
        try fixture.hourly("2026-10-01T10:00:00Z", "198.51.100.1", .direct, .served, requests: 16)  // outside 30d
        // Quiet: served, last hit 10 days before the newest data.
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.2", .direct, .served, requests: 3)
        // Blocked-only: never served, even though recent.
        try fixture.hourly(
            "2026-11-30T11:00:00Z",
            "198.51.100.3",
            .direct,
            .blocked,
            status: 403,
            substatus: 503,
            requests: 40
        )
        try fixture.inventory("2026-11-30", "198.51.100.1", "endpoint", "/b", 1)
        try fixture.inventory("2026-11-29", "198.51.100.1", "endpoint", "/a", 2)
        try fixture.inventory("2026-11-30", "198.51.100.1", "endpoint", "(other)", 50)
        try fixture.inventory("2026-11-30", "198.51.100.1", "endpoint", "/c", 3)
        try fixture.inventory("2026-11-30", "198.51.100.1", "endpoint", "/d", 1)
        try fixture.inventory("2026-11-30", "198.51.100.1", "user_agent", "okhttp/4.12.0", 3)
        let result = try ClientsQuery(filter: QueryFilter()).run(store: try fixture.store)
        #expect(result.newest == "2026-11-30T12:34:56Z")
        #expect(result.clients.map(\.address) == ["198.51.100.3", "198.51.100.1", "198.51.100.2"])
        let states = Dictionary(uniqueKeysWithValues: result.clients.map { ($0.address, $0.state) })
        #expect(states == ["198.51.100.1": .active, "198.51.100.2": .quiet, "198.51.100.3": .blockedOnly])
        let active = try #require(result.clients.first { $0.address == "198.51.100.1" })
        #expect([active.requests, active.last1d, active.last7d, active.last30d] as [Int] == [31, 3, 7, 15])
        #expect(active.firstSeen == "2026-10-01T10:00:00Z")
        // Busiest first, ties by value, "(other)" after the named values, three per client.
        #expect(active.endpoints.map(\.value) == ["/c", "/a", "/b"])
        #expect(active.userAgents == [ValueCount(value: "okhttp/4.12.0", requests: 3)])

        let quietOnly = try ClientsQuery(filter: QueryFilter(), state: .quiet).run(store: try fixture.store)
        #expect(quietOnly.clients.map(\.address) == ["198.51.100.2"])
        let longQuiet = try ClientsQuery(filter: QueryFilter(), quietDays: 11).run(store: try fixture.store)
        #expect(longQuiet.clients.first { $0.address == "198.51.100.2" }?.state == .active)
        let json = try result.render(.json)
        #expect(json.contains("\"state\":\"blocked-only\""))
        #expect(json.contains("\"last_7d\":7"))
    }

    @Test("without inventory rows, endpoints and user agents come from evidence")
    func evidenceFallback() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 3)
        try fixture.evidence("2026-11-20T10:00:01Z", "198.51.100.1", .served, stem: "/x")
        try fixture.evidence("2026-11-20T10:00:02Z", "198.51.100.1", .served, stem: "/x", userAgent: "axios/1.6.8")
        try fixture.evidence("2026-11-20T10:00:03Z", "198.51.100.1", .served, stem: "/y", userAgent: nil)
        let result = try ClientsQuery(filter: QueryFilter()).run(store: try fixture.store)
        let client = try #require(result.clients.first)
        #expect(client.endpoints == [ValueCount(value: "/x", requests: 2), ValueCount(value: "/y", requests: 1)])
        #expect(client.userAgents.map(\.value) == ["-", "axios/1.6.8", "curl/8.4.0"])
        let report = try AddressReport.compute(address: "198.51.100.1", filter: QueryFilter(), store: try fixture.store)
        #expect(report.source == "evidence")
        #expect(report.methods == [ValueCount(value: "GET", requests: 3)])
    }
}

@Suite struct AddressReportTests {
    @Test("the report on one address: verdicts, rules, statuses, inventory, daily trend")
    func report() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 3, bytes: 30)
        try fixture.hourly(
            "2026-11-20T11:00:00Z",
            "198.51.100.1",
            .direct,
            .blocked,
            status: 403,
            substatus: 503,
            requests: 2
        )
        try fixture.hourly("2026-11-22T23:00:00Z", "198.51.100.1", .platform, requests: 1)
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.2", .direct, .served, requests: 50)
        try fixture.evidence("2026-11-20T10:00:01Z", "198.51.100.1", .served)
        try fixture.inventory("2026-11-20", "198.51.100.1", "endpoint", "/a", 3)
        try fixture.inventory("2026-11-20", "198.51.100.1", "endpoint", "(other)", 9)
        try fixture.inventory("2026-11-20", "198.51.100.1", "user_agent", "evil\u{1B}[2J", 5)
        // Any text form of the address finds it.
        let report = try AddressReport.compute(
            address: "::ffff:198.51.100.1",
            filter: QueryFilter(),
            store: try fixture.store
        )
        #expect(report.address == "198.51.100.1")
        #expect(report.requests == 6)
        #expect(report.bytes == 30)
        #expect(
            report.verdicts.map { "\($0.verdict)/\($0.outcome)=\($0.requests)" } == [
                "direct/served=3", "direct/blocked=2", "platform/=1",
            ]
        )
        // Every direct request (hourly and its judgements), not the one evidence row kept.
        #expect(report.rules == [ValueCount(value: "iis-static: allowUnlisted", requests: 5)])
        #expect(
            report.statuses.map { "\($0.verdict) \($0.status) \($0.requests)" } == [
                "direct 200.0 3", "direct 403.503 2", "platform 200.0 1",
            ]
        )
        #expect(report.endpoints.map(\.value) == ["/a", "(other)"])
        #expect(report.source == "inventory")
        #expect(
            report.daily.map { "\($0.day) \($0.requests) \($0.direct)" } == [
                "2026-11-20 5 5", "2026-11-21 0 0", "2026-11-22 1 0",
            ]
        )
        #expect(report.firstSeen == "2026-11-20T10:00:00Z")
        #expect(report.lastSeen == "2026-11-22T23:59:59Z")
        // In Tokyo (UTC+9), 2026-11-22T23:00Z is on the 23rd.
        let tokyo = QueryFilter(timeZone: try #require(TimeZone(identifier: "Asia/Tokyo")))
        let local = try AddressReport.compute(address: "198.51.100.1", filter: tokyo, store: try fixture.store)
        #expect(local.daily.map(\.day) == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"])
        let table = try report.render(.table)
        #expect(table.contains("iis-static: allowUnlisted"))
        #expect(table.contains("█ ▂"))
        #expect(!table.contains("\u{1B}"))
        #expect(table.contains("evil\\x1b[2J"))
        let csv = try report.render(.csv)
        #expect(csv.hasPrefix("section,key,detail,requests\r\n"))
        #expect(csv.contains("day,2026-11-21,direct=0,0\r\n"))
    }

    @Test(
        "canonical address forms",
        arguments: [
            ("::FFFF:10.0.0.1", "10.0.0.1"), ("2001:DB8:0:0::1", "2001:db8::1"), (" 10.0.0.1 ", "10.0.0.1"), ("-", "-"),
        ]
    )
    func canonical(input: String, expected: String) {
        #expect(AddressReport.canonical(input) == expected)
    }
}

@Suite struct TimelineQueryTests {
    @Test("hour buckets fill gaps; day buckets follow --tz; --limit keeps the newest")
    func buckets() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T22:00:00Z", "20.50.10.4", .gateway, requests: 10)
        try fixture.hourly("2026-11-20T22:00:00Z", "198.51.100.1", .direct, .blocked, requests: 2)
        try fixture.hourly("2026-11-21T01:00:00Z", "198.51.100.1", .direct, .served, requests: 3)
        let store = try fixture.store
        let hours = try TimelineQuery(filter: QueryFilter()).run(store: store)
        #expect(
            hours.points.map(\.bucket) == [
                "2026-11-20T22:00:00Z", "2026-11-20T23:00:00Z", "2026-11-21T00:00:00Z", "2026-11-21T01:00:00Z",
            ]
        )
        #expect(hours.points.map(\.requests) == [12, 0, 0, 3])
        let first = try #require(hours.points.first)
        #expect([first.gateway, first.direct, first.blocked, first.served] as [Int] == [10, 2, 2, 0])
        let direct = try TimelineQuery(filter: QueryFilter(), verdict: .direct).run(store: store)
        #expect(direct.points.map(\.requests) == [2, 0, 0, 3])
        let utcDays = try TimelineQuery(filter: QueryFilter(), bucket: .day).run(store: store)
        #expect(utcDays.points.map { "\($0.bucket)=\($0.requests)" } == ["2026-11-20=12", "2026-11-21=3"])
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let localDays = try TimelineQuery(filter: QueryFilter(timeZone: berlin), bucket: .day).run(store: store)
        #expect(localDays.points.map { "\($0.bucket)=\($0.requests)" } == ["2026-11-20=12", "2026-11-21=3"])
        let tokyo = try #require(TimeZone(identifier: "Asia/Tokyo"))
        let tokyoDays = try TimelineQuery(filter: QueryFilter(timeZone: tokyo), bucket: .day).run(store: store)
        #expect(tokyoDays.points.map { "\($0.bucket)=\($0.requests)" } == ["2026-11-21=15"])
        let newest = try TimelineQuery(filter: QueryFilter(limit: 2)).run(store: store)
        #expect(newest.points.map(\.requests) == [0, 3])
        #expect(newest.total == 4)
        let table = try hours.render(.table)
        #expect(table.contains("██████████████████████████████"))
        #expect(try newest.render(.table).contains("(2 of 4 buckets"))
    }
}

@Suite struct StatusesQueryTests {
    @Test(
        "percentiles are bucket upper bounds",
        arguments: [
            ([(bound: 10, requests: 50), (bound: 20, requests: 50)], [10, 20, 20]),
            ([(bound: 10, requests: 51), (bound: 20, requests: 49)], [10, 20, 20]),
            ([(bound: -1, requests: 1), (bound: 5, requests: 99)], [5, 5, 5]),
            ([(bound: -1, requests: 2), (bound: 5, requests: 98)], [5, 5, -1]),
            ([(bound: 0, requests: 1)], [0, 0, 0]),
        ]
    )
    func percentiles(buckets: [(bound: Int, requests: Int)], expected: [Int]) {
        let values = [0.5, 0.95, 0.99].map { StatusesQuery.percentile(buckets, $0) }
        #expect(values == expected.map { Optional($0) })
    }

    @Test("no data, no percentile")
    func noData() {
        #expect(StatusesQuery.percentile([], 0.5) == nil)
    }

    @Test("status × verdict matrix in numeric order, endpoints busiest first")
    func matrix() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "20.50.10.4", .gateway, status: 200, requests: 10)
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, status: 200, requests: 2)
        try fixture.hourly(
            "2026-11-20T10:00:00Z",
            "198.51.100.1",
            .direct,
            .blocked,
            status: 403,
            substatus: 503,
            requests: 3
        )
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, status: 1000, requests: 1)
        try fixture.hourly("2026-11-20T10:00:00Z", "127.0.0.1", .allowed, status: 403, substatus: 6, requests: 4)
        try fixture.latency("/a", 10, 8)
        try fixture.latency("/a", -1, 2)
        try fixture.latency("/b", 3, 20, verdict: .direct)
        let store = try fixture.store
        let report = try StatusesQuery(filter: QueryFilter()).run(store: store)
        #expect(
            report.statuses.map { "\($0.status) \($0.total) \($0.gateway) \($0.allowed) \($0.direct)" } == [
                "200.0 12 10 0 2", "403.6 4 0 4 0", "403.503 3 0 0 3", "1000.0 1 0 0 1",
            ]
        )
        #expect(
            report.endpoints.map { "\($0.endpoint) \($0.requests) \($0.p50Ms) \($0.p95Ms) \($0.p99Ms)" } == [
                "/b 20 3 3 3", "/a 10 10 -1 -1",
            ]
        )
        let direct = try StatusesQuery(filter: QueryFilter(limit: 5), verdict: .direct).run(store: store)
        #expect(direct.statuses.map(\.status) == ["200.0", "403.503", "1000.0"])
        #expect(direct.endpoints.map(\.endpoint) == ["/b"])
        let blocks = QueryFilter(cidrs: [try #require(CIDR("198.51.100.0/24"))])
        let filtered = try StatusesQuery(filter: blocks).run(store: store)
        #expect(filtered.statuses.map(\.total) == [2, 3, 1])
        #expect(filtered.endpoints.isEmpty)
        #expect(try filtered.render(.table, hasBlockFilter: true).contains("--cidr leaves it out"))
        let table = try report.render(.table)
        #expect(table.contains("overflow"))
        let ndjson = try report.render(.ndjson).split(separator: "\n")
        #expect(ndjson.count == 6)
        #expect(ndjson.first?.contains("\"section\":\"status\"") == true)
        #expect(ndjson.last?.contains("\"p99_ms\":-1") == true)
        #expect(try report.render(.csv).contains("endpoint,/a,10,,,,,10,-1,-1\r\n"))
    }
}

@Suite struct EventsQueryTests {
    @Test("evidence rows in time order; filters; --limit keeps the newest")
    func rows() throws {
        let fixture = try QueryFixture()
        try fixture.evidence("2026-11-20T10:00:03Z", "198.51.100.1", .served, line: 3)
        try fixture.evidence("2026-11-20T10:00:01Z", "198.51.100.1", .blocked, line: 1)
        try fixture.evidence("2026-11-20T10:00:02Z", "2001:db8::1", .served, line: 2, site: "S")
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 2)
        try fixture.hourly("2026-11-20T10:00:00Z", "2001:db8::1", .direct, .served, requests: 1)
        let store = try fixture.store
        let all = try EventsQuery(filter: QueryFilter()).run(store: store)
        #expect(all.events.map(\.line) == [1, 2, 3])
        #expect(all.events.first?.file == "/logs/u_ex.log")
        #expect(!all.truncated)
        let newest = try EventsQuery(filter: QueryFilter(limit: 2)).run(store: store)
        #expect(newest.events.map(\.line) == [2, 3])
        #expect(newest.truncated)
        #expect(
            try EventsQuery(filter: QueryFilter(), address: "2001:DB8::0001").run(store: store).events.map(\.line) == [
                2
            ]
        )
        #expect(try EventsQuery(filter: QueryFilter(), outcome: .blocked).run(store: store).events.map(\.line) == [1])
        #expect(try EventsQuery(filter: QueryFilter(site: "S")).run(store: store).events.map(\.line) == [2])
        let v4 = QueryFilter(cidrs: [try #require(CIDR("198.51.100.0/24"))])
        #expect(try EventsQuery(filter: v4).run(store: store).events.map(\.line) == [1, 3])
        let window = try TimeRange.parse(
            since: "2026-11-20T10:00:02Z",
            until: "2026-11-20T10:00:03Z",
            last: nil,
            now: 0
        )
        #expect(try EventsQuery(filter: QueryFilter(range: window)).run(store: store).events.map(\.line) == [2])
        let lines = try all.render(.ndjson).split(separator: "\n")
        #expect(lines.count == 3)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object.count == 17)
        #expect(object["forwarded_for"] is NSNull)
        #expect(object["status"] as? Int == 403)
        let paris = QueryFilter(timeZone: try #require(TimeZone(identifier: "Europe/Paris")))
        #expect(try EventsQuery(filter: paris).run(store: store).events.first?.time == "2026-11-20T11:00:01+01:00")
    }

    @Test("hostile log text is escaped in tables and CSV, intact in JSON")
    func hostileText() throws {
        let fixture = try QueryFixture()
        try fixture.evidence(
            "2026-11-20T10:00:01Z",
            "198.51.100.1",
            .served,
            stem: "=HYPERLINK(\"x\")",
            userAgent: "a\u{1B}]0;pwned\u{07}b"
        )
        let result = try EventsQuery(filter: QueryFilter()).run(store: try fixture.store)
        let table = try result.render(.table)
        #expect(!table.contains("\u{1B}"))
        #expect(!table.contains("\u{07}"))
        #expect(table.contains("a\\x1b]0;pwned\\x07b"))
        let csv = try result.render(.csv)
        #expect(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""))
        #expect(!csv.contains(",=HYPERLINK"))
        #expect(!csv.contains("\u{1B}"))
        #expect(!csv.contains("\u{07}"))
        #expect(csv.contains(",a\\x1b]0;pwned\\x07b,"))
        #expect(SafeText.csv("tab\there\\x") == "tab\there\\x")
        let json = try result.render(.json)
        #expect(json.contains("\\u001b]0;pwned\\u0007b"))
    }
}

@Suite struct SQLQueryTests {
    @Test("reads run and return columns and typed values")
    func reads() throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 2)
        let store = try fixture.store
        let result = try SQLQuery.run(
            "SELECT address, requests, 1.5 AS x, NULL AS n, x'00ff' AS b, requests AS requests FROM hourly",
            store: store
        )
        #expect(result.columns == ["address", "requests", "x", "n", "b", "requests"])
        #expect(
            result.rows == [
                [.text("198.51.100.1"), .integer(2), .real(1.5), .null, .blob(Data([0, 255])), .integer(2)]
            ]
        )
        #expect(
            try result.render(.json)
                == "[{\"address\":\"198.51.100.1\",\"b\":\"AP8=\",\"n\":null,\"requests\":2,\"requests_2\":2,\"x\":1.5}]\n"
        )
        #expect(try result.render(.csv).contains("198.51.100.1,2,1.5,,x'00ff',2\r\n"))
        let pragma = try SQLQuery.run("PRAGMA table_info(hourly)", store: store)
        #expect(pragma.rows.count == 15)  // with v2-source's source column and v4-facts' key_id
        let cte = try SQLQuery.run("WITH t(v) AS (VALUES (1), (2), (3)) SELECT v FROM t;", store: store, limit: 2)
        #expect(cte.rows.count == 2)
        #expect(cte.truncated)
    }

    @Test(
        "statements that write are refused and change nothing",
        arguments: [
            "DELETE FROM hourly",
            "UPDATE hourly SET requests = 0",
            "INSERT INTO meta (key, value) VALUES ('a', 'b')",
            "DROP TABLE hourly",
            "CREATE TABLE x (y)",
            "PRAGMA user_version = 7",
            "VACUUM",
            "REPLACE INTO meta (key, value) VALUES ('a', 'b')",
            "ATTACH DATABASE ':memory:' AS scratch",
            "  -- a comment\n /* and another */ detach database main",
        ]
    )
    func writesRefused(statement: String) throws {
        let fixture = try QueryFixture()
        try fixture.hourly("2026-11-20T10:00:00Z", "198.51.100.1", .direct, .served, requests: 2)
        let store = try fixture.store
        let error = #expect(throws: QueryError.self) { try SQLQuery.run(statement, store: store) }
        #expect(
            error?.description.contains("read-only") == true || error?.description.contains("readonly") == true,
            "\(String(describing: error))"
        )
        #expect(try SQLQuery.run("SELECT COUNT(*) FROM hourly", store: store).rows == [[.integer(1)]])
    }

    @Test(
        "several statements, empty text and bad SQL explain themselves",
        arguments: [
            ("SELECT 1; DELETE FROM hourly", "one statement"),
            ("   ", "no SQL statement"),
            ("SELECT * FROM nowhere", "no such table: nowhere"),
        ]
    )
    func badStatements(statement: String, fragment: String) throws {
        let store = try QueryFixture().store
        let error = #expect(throws: QueryError.self) { try SQLQuery.run(statement, store: store) }
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }
}

@Suite struct FirstKeywordTests {
    @Test(
        "the first keyword skips whitespace and comments",
        arguments: [
            ("select 1", "SELECT"), ("  -- x\n  /* y */ attach 'a' as b", "ATTACH"), ("/* unterminated", ""), ("", ""),
        ]
    )
    func keyword(sql: String, expected: String) {
        #expect(firstKeyword(sql) == expected)
    }
}

@Suite struct TextChartsTests {
    @Test("sparklines scale to the largest value; zero is blank")
    func sparkline() {
        #expect(TextCharts.sparkline([0, 1, 4, 8]) == " ▁▄█")
        #expect(TextCharts.sparkline([0, 0]) == "  ")
        #expect(TextCharts.sparkline([]) == "")
    }

    @Test("bars use eighths and never vanish for a non-zero value")
    func bar() {
        #expect(TextCharts.bar(10, largest: 10, width: 4) == "████")
        #expect(TextCharts.bar(5, largest: 10, width: 4) == "██")
        #expect(TextCharts.bar(1, largest: 1000, width: 4) == "▏")
        #expect(TextCharts.bar(0, largest: 10, width: 4) == "")
    }
}

@Suite struct FastJSONTests {
    static let hostile = "a\"b\\c/d\u{1B}[0m\u{00}\u{1F}\t\n\r\u{08}\u{0C}\u{7F}é\u{2028}😀"

    @Test("the hand-written JSON is byte-identical to JSONEncoder's")
    func identical() throws {
        let event = EventRow(
            id: 7,
            time: Self.hostile,
            file: nil,
            line: 3,
            site: "",
            address: "2001:db8::1",
            forwardedFor: Self.hostile,
            method: "GET",
            uriStem: "/x/y",
            uriQuery: nil,
            status: 403,
            substatus: 503,
            userAgent: Self.hostile,
            host: nil,
            verdict: "direct",
            outcome: "blocked",
            rule: "r"
        )
        let top = TopEntry(
            address: Self.hostile,
            requests: 1,
            blocked: 2,
            served: 3,
            bytes: 4,
            firstSeen: "f",
            lastSeen: "l"
        )
        let client = ClientEntry(
            address: "198.51.100.1",
            state: .blockedOnly,
            firstSeen: "f",
            lastSeen: "l",
            requests: 1,
            blocked: 1,
            served: 0,
            last1d: 1,
            last7d: 1,
            last30d: 1,
            endpoints: [ValueCount(value: Self.hostile, requests: 2), ValueCount(value: "/", requests: 1)],
            userAgents: []
        )
        #expect(JSONObjectWriter.array([event, event]) == (try JSONOutput.encode([event, event])))
        #expect(JSONObjectWriter.lines([event]) == (try JSONOutput.encode(event)) + "\n")
        #expect(JSONObjectWriter.array([top]) == (try JSONOutput.encode([top])))
        #expect(JSONObjectWriter.array([client]) == (try JSONOutput.encode([client])))
        #expect(JSONObjectWriter.array([TopEntry]()) == (try JSONOutput.encode([TopEntry]())))
    }
}
