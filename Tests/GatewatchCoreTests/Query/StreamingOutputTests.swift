import Foundation
import Testing

@testable import GatewatchCore

/// The streamed writers of issue 23 give, byte for byte, what the collected results render.
///
/// On SQLite here, on PostgreSQL in ``StreamingPostgresTests``. That the collected results are
/// those of before the streaming is `PortableSQLTests`' recorded outputs.
@Suite struct StreamingOutputTests {
    let store: Store

    init() throws {
        store = try Store(path: PortableSQLTests.sampleDatabase, readOnly: true)
    }

    init(store: Store) {
        self.store = store
    }

    static let formats: [OutputFormat] = [.json, .ndjson, .csv, .table]

    @Test("whatif: the streamed output equals run + render in every format, before and after enforcement")
    func whatIf() throws {
        try checkWhatIf()
    }

    func checkWhatIf() throws {
        let paths = [
            TestSupport.sample("web.config"),
            try MigrationFixtures.webConfig(removing: ["10.20.0.0", "168.63.129.16"]),
            try MigrationFixtures.webConfig(removing: ["10.20.0.0"]),
        ]
        let ranges = [
            TimeRange.all, TimeRange(since: try MigrationFixtures.time("2026-11-23"), until: nil),
            TimeRange(since: nil, until: try MigrationFixtures.time("2026-11-22")),
        ]
        var nonEmptyLists = 0
        for path in paths {
            for range in ranges {
                let query = WhatIfQuery(proposed: try MigrationFixtures.policy(path), range: range)
                let result = try query.run(store: store)
                nonEmptyLists +=
                    [result.newlyBlocked, result.unenforced, result.newlyAllowed].filter { !$0.isEmpty }.count
                for format in Self.formats {
                    for limit in [0, 2, 20] {
                        let sink = OutputSink.string()
                        let outcome = try query.write(store: store, format: format, limit: limit, to: sink)
                        #expect(sink.text == (try result.render(format, limit: limit)), "\(path) \(range) \(format)")
                        #expect(outcome == result.outcome)
                    }
                }
            }
        }
        // The comparison covered lists with entries, not only empty ones.
        #expect(nonEmptyLists >= 5)
    }

    @Test("whatif: owner attribution in the stream equals attributed(_:store:)")
    func whatIfOwners() throws {
        try checkWhatIfOwners()
    }

    func checkWhatIfOwners() throws {
        let owners = try OwnerAttribution.load(serviceTags: nil, names: ["10.20.4.17": "office laptop"])
        let path = try MigrationFixtures.webConfig(removing: ["10.20.0.0"])
        let query = WhatIfQuery(proposed: try MigrationFixtures.policy(path))
        let result = try query.run(store: store).attributed(owners, store: store)
        #expect(result.newlyBlocked.contains { $0.owner != nil })
        for format in Self.formats {
            let sink = OutputSink.string()
            _ = try query.write(store: store, format: format, owners: owners, to: sink)
            #expect(sink.text == (try result.render(format)))
        }
    }

    @Test("clients: the streamed output equals run + named + attributed + render, with limits and states")
    func clients() throws {
        try checkClients()
    }

    func checkClients() throws {
        let names = AddressNames(["10.20.4.17": "office laptop"])
        let owners = try OwnerAttribution.load(serviceTags: nil, names: ["10.20.4.23": "office desk"])
        var listed = 0
        for query in [
            ClientsQuery(filter: QueryFilter()), ClientsQuery(filter: QueryFilter(limit: 3)),
            ClientsQuery(filter: QueryFilter(), quietDays: 2, state: .quiet),
            ClientsQuery(filter: QueryFilter(timeZone: PortableSQLTests.paris), valuesPerClient: 0),
        ] {
            let result = try query.run(store: store).named(names).attributed(owners, store: store)
            listed += result.clients.count
            for format in [OutputFormat.json, .ndjson, .csv] {
                let sink = OutputSink.string()
                try query.write(store: store, format: format, names: names, owners: owners, to: sink)
                #expect(sink.text == (try result.render(format)), "\(format)")
            }
        }
        #expect(listed > 10)
    }

    @Test("top: the streamed JSON equals run + named + attributed + render; ranked and cut in SQL")
    func top() throws {
        try checkTop()
    }

    func checkTop() throws {
        let names = AddressNames(["10.20.4.17": "office laptop"])
        let owners = try OwnerAttribution.load(serviceTags: nil, names: ["10.20.4.23": "office desk"])
        for query in [
            TopQuery(filter: QueryFilter()), TopQuery(filter: QueryFilter(limit: 3), verdict: .all, measure: .bytes),
            TopQuery(filter: QueryFilter(limit: 2), verdict: .allowed),
        ] {
            let result = try query.run(store: store).named(names).attributed(owners)
            #expect(!result.entries.isEmpty)
            for format in [OutputFormat.json, .ndjson] {
                let sink = OutputSink.string()
                let counts = try query.write(store: store, format: format, names: names, owners: owners, to: sink)
                #expect(sink.text == (try result.render(format)))
                #expect(counts.total == result.total)
            }
        }
        // The limit cuts the same ranking: the first entries of the whole list, and the total counts all.
        let all = try TopQuery(filter: QueryFilter(), verdict: .all).run(store: store)
        let three = try TopQuery(filter: QueryFilter(limit: 3), verdict: .all).run(store: store)
        #expect(three.entries == Array(all.entries.prefix(3)))
        #expect(three.total == all.total && all.total > 3)
    }

    @Test("events: the streamed output equals run + render, with and without a limit, in every zone")
    func events() throws {
        try checkEvents()
    }

    func checkEvents() throws {
        for filter in [
            QueryFilter(), QueryFilter(limit: 7), QueryFilter(limit: 100_000),
            QueryFilter(limit: 5, timeZone: PortableSQLTests.paris),
        ] {
            let query = EventsQuery(filter: filter)
            let result = try query.run(store: store)
            #expect(!result.events.isEmpty)
            for format in Self.formats {
                let sink = OutputSink.string()
                try query.write(store: store, format: format, to: sink)
                #expect(sink.text == (try result.render(format)))
            }
        }
        // The limit keeps the newest rows, oldest first, and says so.
        let all = try EventsQuery(filter: QueryFilter()).run(store: store)
        let page = try EventsQuery(filter: QueryFilter(limit: 7)).run(store: store)
        #expect(page.truncated && !all.truncated)
        #expect(page.events == Array(all.events.suffix(7)))
    }

    @Test("sql: the streamed output equals run + render, repeated column names and limits included")
    func sql() throws {
        try checkSQL()
    }

    func checkSQL() throws {
        for (statement, limit) in [
            ("SELECT * FROM hourly ORDER BY hour, address", 0), ("SELECT * FROM hourly ORDER BY hour, address", 3),
            ("SELECT address, address, 1.5, NULL, x'00ff' FROM hourly LIMIT 4", 0),
            ("SELECT * FROM hourly WHERE 1 = 0", 0),
        ] {
            let result = try SQLQuery.run(statement, store: store, limit: limit)
            for format in Self.formats {
                let sink = OutputSink.string()
                try SQLQuery.write(statement, store: store, limit: limit, format: format, to: sink)
                #expect(sink.text == (try result.render(format)), "\(statement) \(format)")
            }
        }
    }
}

/// The same comparisons on the sample copied into PostgreSQL, whose connection reads rows one at a
/// time (single-row mode) and one statement at a time: the streamed passes read the store and
/// their scratch file side by side.
@Suite("streamed output on PostgreSQL", .enabled(if: PortablePostgres.available))
struct StreamingPostgresTests {
    func checks() throws -> StreamingOutputTests {
        StreamingOutputTests(store: try Store(path: try PortablePostgres.sampleURL.get(), readOnly: true))
    }

    @Test("whatif streams what run + render give, on PostgreSQL")
    func whatIf() throws { try checks().checkWhatIf() }

    @Test("whatif owners in the stream, on PostgreSQL")
    func whatIfOwners() throws { try checks().checkWhatIfOwners() }

    @Test("clients streams what run + render give, on PostgreSQL")
    func clients() throws { try checks().checkClients() }

    @Test("top streams what run + render give, on PostgreSQL")
    func top() throws { try checks().checkTop() }

    @Test("events streams what run + render give, on PostgreSQL")
    func events() throws { try checks().checkEvents() }

    @Test("sql streams what run + render give, on PostgreSQL")
    func sql() throws { try checks().checkSQL() }
}
