import Foundation
import Testing

@testable import GatewatchCore

/// `top` and `statuses` on two real logs, against counts taken by reading the files.
///
/// How the expected numbers were counted: for each data line (not starting with `#`), the values
/// were split on single spaces and named by the `#Fields` directive in force (a short Python
/// loop, independent of Gatewatch), then counted per `c-ip`, per `sc-status.sc-substatus` and per
/// `cs-uri-stem`; cross-checked with `grep -v '^#' FILE | awk '{print $9}' | sort | uniq -c`
/// where the field list allows it. Percentiles: time-taken values of one stem sorted, the value at
/// rank ceil(n × p) taken, and mapped to the smallest bucket bound ≥ it (0–6, 8, 10, 12, 15, 20,
/// 25, 30, 40, 50, 60, 80, 100, 120, 150, …).
@Suite struct CorporaQueryTests {
    static func ingest(_ file: String, gateways: [String], label: String = #function) throws -> Store {
        let db = try TestSupport.scratchDirectory(label) + "/c.db"
        _ = try TestSupport.ingest([TestSupport.fixture("corpora/" + file)], db: db) { options in
            options.gateways = gateways.compactMap { CIDR($0) }
        }
        return try Store(path: db, readOnly: true)
    }

    @Test("mrsalmon1976 LogFile.log: 338 requests, 288 from 192.168.1.10, 24 other addresses")
    func mrsalmon() throws {
        // 342 lines: 4 directives, 338 requests, one #Fields (IIS 8.5 default list), all 2018-08-12.
        // c-ip counts: 192.168.1.10 288; 197.234.242.133 14; 197.234.242.7 7; 172.69.114.19 5;
        // 172.68.186.61, 172.68.186.7, 197.234.242.151 2 each; 17 addresses with 1 each (50 non-gateway).
        // Every line is 200 0.
        let store = try Self.ingest("mrsalmon1976__IISLogReader__LogFile.log", gateways: ["192.168.1.10"])
        let top = try TopQuery(filter: QueryFilter(limit: 8), verdict: .direct).run(store: store)
        #expect(top.total == 24)
        #expect(
            top.entries.map { "\($0.address) \($0.requests)" } == [
                "197.234.242.133 14", "197.234.242.7 7", "172.69.114.19 5",
                // Ties sort by address text: "172.68.186.61" < "172.68.186.7" < "197.234.242.151".
                "172.68.186.61 2", "172.68.186.7 2", "197.234.242.151 2",
                "141.101.105.183 1", "162.158.106.51 1",
            ]
        )
        #expect(top.entries.allSatisfy { $0.blocked == 0 && $0.served == $0.requests })
        let busiest = try #require(top.entries.first)
        #expect(busiest.firstSeen == "2018-08-12T08:20:50Z")
        #expect(busiest.lastSeen == "2018-08-12T17:14:22Z")
        let all = try TopQuery(filter: QueryFilter(), verdict: .all).run(store: store)
        #expect(all.entries.first?.address == "192.168.1.10")
        #expect(all.entries.first?.requests == 288)
        #expect(all.entries.reduce(0) { $0 + $1.requests } == 338)
        #expect(all.total == 25)

        let statuses = try StatusesQuery(filter: QueryFilter()).run(store: store)
        #expect(
            statuses.statuses == [
                StatusRow(status: "200.0", total: 338, gateway: 288, allowed: 0, platform: 0, direct: 50)
            ]
        )
        // 14 distinct stems. "/": 292 requests; sorted time-taken: 36 × 0, 14 ×4, 15 …, ending
        // 93 93 93 93 140 234 281 375 15171. Ranks 146 → 15 ms, 278 → 46 ms (bucket 50), 290 → 281 ms
        // (bucket 300). /bundles/css/site: 9 requests 46 62 62 78 78 109 156 781 1031 → ranks
        // 5 → 78 (80), 9 → 1031 (1200), 9 → 1031 (1200).
        #expect(statuses.endpointsTotal == 14)
        let root = try #require(statuses.endpoints.first { $0.endpoint == "/" })
        #expect([root.requests, root.p50Ms, root.p95Ms, root.p99Ms] as [Int] == [292, 15, 50, 300])
        let css = try #require(statuses.endpoints.first { $0.endpoint == "/bundles/css/site" })
        #expect([css.requests, css.p50Ms, css.p95Ms, css.p99Ms] as [Int] == [9, 80, 1200, 1200])
    }

    @Test("theodorejb u_ex230505.log: 78 requests over two #Fields layouts")
    func theodorejb() throws {
        // 94 lines: 16 directives (4 header blocks, one with cs-host inserted before sc-status, so
        // a naive awk '$12' reads the host there), 78 requests. c-ip: 127.0.0.1 77, ::1 1.
        // Status by #Fields-aware count: 200.0 43 (127.0.0.1 42, ::1 1), 304.0 25, 302.0 8,
        // 400.0 1, 405.0 1.
        let store = try Self.ingest("theodorejb__iis-log-parser__u_ex230505.log", gateways: ["127.0.0.1"])
        let all = try TopQuery(filter: QueryFilter(), verdict: .all).run(store: store)
        #expect(all.entries.map { "\($0.address) \($0.requests)" } == ["127.0.0.1 77", "::1 1"])
        #expect(all.entries.first?.firstSeen == "2023-05-05T14:23:29Z")
        #expect(all.entries.first?.lastSeen == "2023-05-05T18:03:58Z")
        #expect(all.entries.last?.firstSeen == "2023-05-05T15:25:28Z")
        // The implied lock-down policy allows loopback, so ::1 is `allowed`, not `direct`.
        let allowed = try TopQuery(filter: QueryFilter(), verdict: .allowed).run(store: store)
        #expect(allowed.entries.map { "\($0.address) \($0.requests)" } == ["::1 1"])
        #expect(try TopQuery(filter: QueryFilter(), verdict: .direct).run(store: store).entries.isEmpty)

        let statuses = try StatusesQuery(filter: QueryFilter()).run(store: store)
        #expect(
            statuses.statuses.map { "\($0.status) \($0.total) \($0.gateway) \($0.allowed) \($0.direct)" } == [
                "200.0 43 42 1 0", "302.0 8 8 0 0", "304.0 25 25 0 0", "400.0 1 1 0 0", "405.0 1 1 0 0",
            ]
        )
        // /dashboard-home time-taken 9 72 91 105 115 → buckets 10 80 100 120 120: p50 (rank 3) 100,
        // p95 and p99 (rank 5) 120. /dashboard-login 26 32 32 39 → all in bucket 40.
        let home = try #require(statuses.endpoints.first { $0.endpoint == "/dashboard-home" })
        #expect([home.requests, home.p50Ms, home.p95Ms, home.p99Ms] as [Int] == [5, 100, 120, 120])
        let login = try #require(statuses.endpoints.first { $0.endpoint == "/dashboard-login" })
        #expect([login.requests, login.p50Ms, login.p95Ms, login.p99Ms] as [Int] == [4, 40, 40, 40])
        // The only allowed request, from ::1: /css/min/bootstrap-custom.min.css, 200 0, 6 ms.
        let onlyAllowed = try StatusesQuery(filter: QueryFilter(), verdict: .allowed).run(store: store)
        #expect(onlyAllowed.statuses.map(\.status) == ["200.0"])
        #expect(
            onlyAllowed.endpoints.map { "\($0.endpoint) \($0.requests) \($0.p50Ms)" } == [
                "/css/min/bootstrap-custom.min.css 1 6"
            ]
        )
    }
}
