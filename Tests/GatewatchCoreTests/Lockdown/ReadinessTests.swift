import Foundation
import Testing

@testable import GatewatchCore

@Suite struct ReadinessTests {
    let store: Store

    init() throws {
        store = try Store(path: MigrationFixtures.sampleDatabase, readOnly: true)
    }

    static let everyDirectRange = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"].compactMap {
        CIDR($0)
    }

    @Test("quiet-days 2 on the sample: ready, because everything direct has been blocked since day 3")
    func servedDefinition() throws {
        let result = try ReadinessQuery(quietDays: 2).run(store: store)
        #expect(result.ready)
        #expect(result.exitCode == 0)
        #expect(result.blocking.isEmpty)
        #expect(result.windowStart == "2026-11-23T00:00:00Z")
        #expect(result.windowEnd == "2026-11-25T00:00:00Z")
        // The last served direct request is on day 2.
        #expect(result.lastDirect?.hasPrefix("2026-11-21T") == true)
    }

    @Test("quiet-days 2 counting blocked attempts: not ready, the reporting server still calls every day")
    func includeBlocked() throws {
        let result = try ReadinessQuery(quietDays: 2, includesBlocked: true).run(store: store)
        #expect(!result.ready)
        #expect(result.exitCode == 3)
        let reporting = try #require(result.blocking.first { $0.address == "203.0.113.200" })
        #expect(reporting.requests == 144)
        #expect(reporting.lastSeen.hasPrefix("2026-11-24T23:"))
        #expect(result.blocking.reduce(0) { $0 + $1.requests } == 226 + 172)
        #expect(result.lastDirect?.hasPrefix("2026-11-24T23:") == true)
        #expect(result.blocking.map(\.requests) == result.blocking.map(\.requests).sorted(by: >))
    }

    @Test("ignoring every planted range makes the blocked-counting check pass, with last_direct null")
    func ignored() throws {
        let result = try ReadinessQuery(quietDays: 2, ignored: Self.everyDirectRange, includesBlocked: true).run(
            store: store
        )
        #expect(result.ready)
        #expect(result.lastDirect == nil)
        let json = try result.render(.json)
        #expect(json == "{\"blocking\":[],\"last_direct\":null,\"quiet_days\":2,\"ready\":true}\n")
    }

    @Test("quiet-days 4 reaches back into day 2, when direct traffic was still served")
    func longerWindow() throws {
        let result = try ReadinessQuery(quietDays: 4).run(store: store)
        #expect(!result.ready)
        #expect(result.blocking.reduce(0) { $0 + $1.requests } == 529)
        #expect(result.blocking.count == 33)
    }

    @Test("as of the end of day 2 the backend was not ready; as of the end of day 5 it is")
    func asOf() throws {
        let before = try ReadinessQuery(quietDays: 2, until: try MigrationFixtures.time("2026-11-22")).run(store: store)
        #expect(!before.ready)
        #expect(before.windowEnd == "2026-11-22T00:00:00Z")
        #expect(before.blocking.reduce(0) { $0 + $1.requests } == 945 + 529)
        #expect(before.blocking.first?.address == "198.51.100.23")
        // Windows apply to whole hours: an until inside an hour keeps that hour.
        let midHour = try ReadinessQuery(quietDays: 2, until: try MigrationFixtures.time("2026-11-21T23:30:00Z")).run(
            store: store
        )
        #expect(midHour.windowEnd == "2026-11-22T00:00:00Z")
        #expect(midHour.blocking == before.blocking)
        let after = try ReadinessQuery(quietDays: 2, until: try MigrationFixtures.time("2026-11-25")).run(store: store)
        #expect(after.ready)
    }

    @Test("the store must reach back to the window start")
    func coverage() throws {
        let db = try MigrationFixtures.ingestSample(files: ["u_ex261123.log.gz", "u_ex261124.log.gz"])
        let later = try Store(path: db, readOnly: true)
        let two = try ReadinessQuery(quietDays: 2).run(store: later)
        #expect(two.ready)
        #expect(two.coversWindow)
        let three = try ReadinessQuery(quietDays: 3).run(store: later)
        #expect(!three.ready)
        #expect(three.blocking.isEmpty)
        #expect(!three.coversWindow)
        #expect(try three.render(.table).contains("ingest older logs or lower --quiet-days"))
    }

    @Test("a day of the window without any data makes the store unable to prove the quiet period")
    func missingDay() throws {
        let db = try MigrationFixtures.ingestSample(files: [
            "u_ex261120.log.gz", "u_ex261121.log.gz", "u_ex261124.log.gz",
        ])
        let gap = try Store(path: db, readOnly: true)
        let three = try ReadinessQuery(quietDays: 3).run(store: gap)
        #expect(!three.ready)
        #expect(three.blocking.isEmpty)
        #expect(three.coversWindow)
        #expect(three.daysWithoutData == ["2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"])
        #expect(try three.render(.table).contains("hold no request at all"))
        #expect(three.exitCode == ReadinessResult.notReadyExitCode)
        // The day that is there is enough for a one-day window.
        #expect(try ReadinessQuery(quietDays: 1).run(store: gap).ready)
    }

    @Test("the JSON contract has exactly four keys")
    func contract() throws {
        let result = try ReadinessQuery(quietDays: 2, includesBlocked: true).run(store: store)
        let json = try result.render(.json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["ready", "quiet_days", "last_direct", "blocking"])
        #expect(object["ready"] as? Bool == false)
        #expect(object["quiet_days"] as? Int == 2)
        let blocking = try #require(object["blocking"] as? [[String: Any]])
        #expect(blocking.allSatisfy { Set($0.keys) == ["address", "requests", "last_seen"] })
        #expect(try result.render(.csv).hasPrefix("address,requests,last_seen\r\n"))
        #expect(
            try result.render(.table).hasPrefix(
                "NOT READY: \(result.blocking.count) client(s) sent direct traffic (served or blocked)"
            )
        )
    }

    @Test("bad input explains itself", arguments: [0, -3, 36_501, 99_999_999_999])
    func badQuietDays(days: Int) throws {
        let error = #expect(throws: LockdownError.self) { try ReadinessQuery(quietDays: days).run(store: store) }
        #expect(error?.description.contains("--quiet-days must be from 1 to 36500, not \(days)") == true)
    }

    @Test("an empty store is an error, not a pass")
    func emptyStore() throws {
        let db = try TestSupport.scratchDirectory() + "/empty.db"
        _ = try Store(path: db)
        let error = #expect(throws: LockdownError.self) {
            try ReadinessQuery(quietDays: 1).run(store: try Store(path: db, readOnly: true))
        }
        #expect(error?.description.contains("run 'gatewatch ingest' first") == true)
    }
}
