import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// A `c-ip` written with a port is the address (spec D5), not an invalid address.
@Suite struct ClientPortTests {
    @Test("c-ip values with ports are stored as their addresses")
    func portsAreStripped() throws {
        let directory = try TestSupport.scratchDirectory()
        let path = directory + "/u_ex261120.log"
        let lines = [
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-substatus sc-bytes time-taken",
            "2026-11-20 00:00:01 203.0.113.7:50123 GET / 200 0 100 1",
            "2026-11-20 00:00:02 203.0.113.7 GET / 200 0 100 1",
            "2026-11-20 00:00:03 [2001:db8::7]:443 GET / 200 0 100 1",
            "2026-11-20 00:00:04 [2001:db8::7] GET / 200 0 100 1",
            "2026-11-20 00:00:05 ::1:1234 GET / 200 0 100 1",
            "2026-11-20 00:00:06 203.0.113.7:99999 GET / 200 0 100 1",
        ]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let db = directory + "/t.db"
        let report = try TestSupport.ingest([path], db: db)
        #expect(report.files.first?.requests == 6)
        let rows = try Store(path: db, readOnly: true).read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT address, SUM(requests) AS requests FROM hourly GROUP BY address ORDER BY address"
            )
        }
        let counts = Dictionary(uniqueKeysWithValues: rows.map { ($0["address"] as String, $0["requests"] as Int) })
        #expect(counts["203.0.113.7"] == 2, "\(counts)")
        #expect(counts["2001:db8::7"] == 2, "\(counts)")
        #expect(counts["::1:1234"] == 1, "\(counts)")
        // An impossible port leaves the value invalid.
        #expect(counts.keys.contains { $0.contains("99999") }, "\(counts)")
    }
}
