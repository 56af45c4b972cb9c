import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Several inputs read at once give the store of reading them one after the other: the same
/// rows, the same ledger, the same per-file outcomes, whatever the inputs have in common.
@Suite("parallel ingest")
struct ParallelIngestTests {
    /// Real generated logs plus the awkward cases: the same content twice (plain and gzip, under
    /// other names), and a file together with a later, longer state of itself.
    static func inputs(in directory: String) throws -> (all: [String], part: String, full: String) {
        let generator = TestSupport.repositoryRoot.appendingPathComponent("Benchmarks/reference/genlog.py").path
        var logs: [String] = []
        for index in 0..<5 {
            let path = directory + "/u_ex\(index).log.gz"
            let (status, _, error) = try TestSupport.run(
                "/usr/bin/env",
                ["python3", generator, "--lines", "6000", "--seed", String(40 + index), "--out", path]
            )
            #expect(status == 0, "\(String(decoding: error, as: UTF8.self))")
            logs.append(path)
        }
        // The same content as u_ex1, decompressed and renamed.
        let (_, plain, _) = try TestSupport.run("/bin/gzip", ["-dc", logs[1]])
        let copy = directory + "/copy-of-1.log"
        try TestSupport.write(plain, to: copy)
        // A file and its grown later state: the first 2,000 lines, then all of it.
        let lines = plain.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let part = directory + "/growing-part.log"
        try TestSupport.write(Data(lines.prefix(2_000).joined(separator: [UInt8(ascii: "\n")]) + [0x0A]), to: part)
        let (_, other, _) = try TestSupport.run("/bin/gzip", ["-dc", logs[3]])
        let full = directory + "/growing-full.log"
        let grownPrefix = Data(lines.prefix(2_000).joined(separator: [UInt8(ascii: "\n")]) + [0x0A])
        // The grown state is the part followed by more requests (another log's records).
        let more = other.split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") }.prefix(3_000)
        try TestSupport.write(grownPrefix + Data(more.joined(separator: [UInt8(ascii: "\n")]) + [0x0A]), to: full)
        return (logs + [copy], part, full)
    }

    /// The ledger as a sequential run leaves it, order aside.
    static func ledger(_ db: String) throws -> [String] {
        try Store(path: db, readOnly: true).read { db in
            try Row.fetchAll(db, sql: "SELECT path, status, bytes, lines, requests, malformed FROM files ORDER BY path")
                .map(\.description)
        }
    }

    static func totals(_ db: String) throws -> [Int] {
        try Store(path: db, readOnly: true).read { db in
            try [
                "SELECT COUNT(*) FROM evidence", "SELECT COALESCE(SUM(requests), 0) FROM inventory",
                "SELECT COALESCE(SUM(requests), 0) FROM latency", "SELECT COUNT(*) FROM inventory",
            ].map { try Int.fetchOne(db, sql: $0) ?? -1 }
        }
    }

    static func run(_ inputs: [String], jobs: Int, in directory: String) throws -> (String, IngestReport) {
        let db = directory + "/jobs\(jobs)-\(UUID().uuidString.prefix(6)).db"
        let report = try TestSupport.ingest(inputs, db: db) { options in
            options.parallelism = jobs
            options.gateways = [CIDR("20.50.10.0/28")].compactMap { $0 }
        }
        return (db, report)
    }

    @Test(
        "the same store as one input after the other, whatever the order",
        arguments: [false, true]
    )
    func sameAsSequential(grownFirst: Bool) throws {
        let directory = try TestSupport.scratchDirectory("parallel-\(grownFirst)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (logs, part, full) = try Self.inputs(in: directory)
        // Interleaved so that related inputs are read by different workers at the same moment.
        let growing = grownFirst ? [full, part] : [part, full]
        let inputs = [growing[0], logs[1], logs[5], growing[1], logs[0], logs[2], logs[3], logs[4]]
        let (sequential, sequentialReport) = try Self.run(inputs, jobs: 1, in: directory)
        let statuses = sequentialReport.files.map(\.status)
        #expect(statuses.filter { $0 == .known }.count == 1)  // the renamed copy
        // The part is also a prefix of u_ex1, read next: u_ex1 grows it (and the full state, which
        // then parts from the ledger's content, is new content).
        if !grownFirst { #expect(statuses[1] == .grown) }
        for attempt in 0..<3 {
            let (parallel, report) = try Self.run(inputs, jobs: 2 + attempt % 2, in: directory)
            #expect(report.files.map(\.path) == inputs)
            #expect(report.files.map(\.status) == statuses, "attempt \(attempt)")
            #expect(report.files.map(\.requests) == sequentialReport.files.map(\.requests))
            #expect(report.byVerdict == sequentialReport.byVerdict)
            #expect(try TestSupport.dump(parallel) == TestSupport.dump(sequential), "attempt \(attempt)")
            #expect(try Self.ledger(parallel) == Self.ledger(sequential))
            #expect(try Self.totals(parallel) == Self.totals(sequential))
        }
    }

    @Test("a parallel run again adds nothing")
    func idempotent() throws {
        let directory = try TestSupport.scratchDirectory("parallel-again")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (logs, _, _) = try Self.inputs(in: directory)
        let (db, first) = try Self.run(logs, jobs: 3, in: directory)
        let before = try TestSupport.dump(db)
        let again = try TestSupport.ingest(logs, db: db) { $0.parallelism = 3 }
        #expect(again.files.allSatisfy { $0.status == .known })
        #expect(try TestSupport.dump(db) == before)
        #expect(first.files.filter { $0.status == .new }.count == 5)
    }

    @Test("heads that are one a prefix of the other overlap; others do not")
    func headOverlap() {
        #expect(InFlightHeads.overlaps(Array("#Software: IIS\n#Fields: a".utf8), Array("#Software: IIS\n".utf8)))
        #expect(!InFlightHeads.overlaps(Array("#Date: 1\n".utf8), Array("#Date: 2\n".utf8)))
    }
}
