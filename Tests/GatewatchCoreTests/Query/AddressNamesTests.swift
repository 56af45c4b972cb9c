import Testing

@testable import GatewatchCore

@Suite struct AddressNamesTests {
    @Test("the most specific block names an address; unnamed addresses stay bare")
    func names() {
        let names = AddressNames(["10.20.0.0/16": "office", "10.20.8.41": "dev box", "2001:db8::/32": "lab"])
        #expect(names.name(for: "10.20.8.41") == "dev box")
        #expect(names.name(for: "10.20.4.17") == "office")
        #expect(names.name(for: "2001:db8::7") == "lab")
        #expect(names.name(for: "198.51.100.1") == nil)
        #expect(names.name(for: "-") == nil)
    }

    @Test("top and clients carry names in JSON only when configured")
    func labelled() throws {
        let directory = try TestSupport.scratchDirectory()
        let paths = InputDiscovery.expand([TestSupport.sample("backend")]).paths
        let configuration = try GatewatchConfiguration.load(path: TestSupport.sample("gatewatch.yaml"))
        _ = try TestSupport.ingest(paths, db: directory + "/t.db") {
            $0.gateways = configuration.gateways
            $0.policy = try? configuration.loadPolicy()
        }
        let store = try Store(path: directory + "/t.db", readOnly: true)
        let filter = QueryFilter(range: .all)
        let top = try TopQuery(filter: filter, verdict: .direct, measure: .requests).run(store: store)
        #expect(!(try top.render(.json)).contains("\"name\""))
        let named = top.named(AddressNames(configuration.addressNames))
        let json = try named.render(.json)
        #expect(json.contains("\"name\":\"internal reporting, Power BI\""))
        #expect(try named.render(.table).contains("203.0.113.200 (internal reporting, Power BI)"))
    }
}

@Suite struct TimeOffsetTests {
    @Test(
        "--since and --until accept ISO 8601 offsets",
        arguments: [
            ("2026-11-20T13:00+01:00", "2026-11-20T12:00:00Z"),
            ("2026-11-20T13:00:00-05:00", "2026-11-20T18:00:00Z"),
            ("2026-11-20T13:00+0530", "2026-11-20T07:30:00Z"),
            ("2026-11-20T13:00:00Z", "2026-11-20T13:00:00Z"),
            ("2026-11-20 13:00", "2026-11-20T13:00:00Z"),
        ]
    )
    func offsets(text: String, expected: String) throws {
        let range = try TimeRange.parse(since: text, until: nil, last: nil, now: 0)
        #expect(range.since.map(UTCTime.format) == expected)
    }
}
