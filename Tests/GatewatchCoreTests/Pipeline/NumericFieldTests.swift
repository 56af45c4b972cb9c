import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Numeric fields of corrupt lines: values too long for any real request are capped, so that they
/// neither wrap into plausible numbers nor overflow a key's sums.
@Suite struct NumericFieldTests {
    @Test("a 25-digit time-taken or sc-bytes counts as the ceiling, and sums stay exact")
    func oversizedValuesAreCapped() throws {
        let directory = try TestSupport.scratchDirectory()
        let path = directory + "/u_ex261120.log"
        let huge = String(repeating: "9", count: 25)
        let lines = [
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-substatus sc-bytes time-taken",
            "2026-11-20 00:00:01 1.2.3.4 GET / 200 0 \(huge) \(huge)",
            "2026-11-20 00:00:02 1.2.3.4 GET / 200 0 \(huge) \(huge)",
            "2026-11-20 00:00:03 1.2.3.4 GET / 200 0 100 7",
            "2026-11-20 00:00:04 1.2.3.5 GET / 99999999999 0 - -",
        ]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        let db = directory + "/t.db"
        let report = try TestSupport.ingest([path], db: db)
        #expect(report.files.first?.requests == 4)
        let ceiling = 1 << 40
        let rows = try Store(path: db, readOnly: true).read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT address, status, requests, bytes, time_taken_sum, time_taken_max FROM hourly ORDER BY address"
            )
        }
        #expect(rows.count == 2)
        #expect(rows[0]["requests"] as Int == 3)
        #expect(rows[0]["bytes"] as Int == 2 * ceiling + 100)
        #expect(rows[0]["time_taken_sum"] as Int == 2 * ceiling + 7)
        #expect(rows[0]["time_taken_max"] as Int == ceiling)
        // A status past Int32 is clamped, not wrapped into another number; `-` counts as 0.
        #expect(rows[1]["status"] as Int == Int(Int32.max))
        #expect(rows[1]["bytes"] as Int == 0)
    }
}
