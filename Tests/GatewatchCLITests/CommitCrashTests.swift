import Foundation
import Testing

/// SIGKILL inside SQLite's commit (armed with `GATEWATCH_FAULT`, see FaultInjection.swift): at the
/// start of a commit, and right after the commit reached the write-ahead log.
///
/// A rerun must end with exactly the store of one clean run.
@Suite struct CommitCrashTests {
    static func logs(in directory: String) throws -> String {
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try CLI.gzip(Data(CLI.log(0..<8_000, day: 20).utf8)).write(
            to: URL(fileURLWithPath: logs + "/u_ex261120.log.gz")
        )
        try Data(CLI.log(0..<8_000, day: 21).utf8).write(to: URL(fileURLWithPath: logs + "/u_ex261121.log"))
        try CLI.gzip(Data(CLI.log(0..<8_000, day: 22).utf8)).write(
            to: URL(fileURLWithPath: logs + "/u_ex261122.log.gz")
        )
        return logs
    }

    @Test(
        "a kill inside the n-th commit, then a rerun, equals one clean run",
        arguments: ["commit-start:1", "commit-start:2", "commit-start:3", "commit-written:1", "commit-written:3"]
    )
    func killInsideCommit(fault: String) throws {
        let directory = try CLI.scratch()
        let logs = try Self.logs(in: directory)
        let arguments = ["--gateway", "20.50.10.4", "--gateway", "20.50.10.5", logs]
        let clean = directory + "/clean.db"
        #expect(try CLI.run(["ingest", "--db", clean] + arguments).status == 0)

        let crashed = directory + "/crashed.db"
        let killed = try CLI.run(["ingest", "--db", crashed] + arguments, environment: ["GATEWATCH_FAULT": fault])
        #expect(killed.status == 9, "the fault point was not reached: \(killed.stdout)")
        let rerun = try CLI.run(["ingest", "--db", crashed] + arguments)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try CLI.dump(crashed) == CLI.dump(clean))
    }

    @Test("a kill inside the commit of a grown file's new lines, then a rerun, equals one clean run")
    func killWhileGrowing() throws {
        let directory = try CLI.scratch()
        let path = directory + "/u_ex.log"
        let full = CLI.log(0..<9_000)
        // The first half, cut after a line feed (on bytes: "\r\n" is one Character in Swift).
        let bytes = Array(full.utf8)
        let cut = (bytes[0..<(bytes.count / 2)].lastIndex(of: 0x0A) ?? 0) + 1
        let firstPart = Data(bytes[0..<cut])
        let clean = directory + "/clean.db"
        try Data(full.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try CLI.run(["ingest", "--db", clean, path]).status == 0)

        let crashed = directory + "/crashed.db"
        try firstPart.write(to: URL(fileURLWithPath: path))
        #expect(try CLI.run(["ingest", "--db", crashed, path]).status == 0)
        try Data(full.utf8).write(to: URL(fileURLWithPath: path))
        for fault in ["commit-start:1", "commit-written:1"] {
            let killed = try CLI.run(["ingest", "--db", crashed, path], environment: ["GATEWATCH_FAULT": fault])
            #expect(killed.status == 9)
        }
        #expect(try CLI.run(["ingest", "--db", crashed, path]).status == 0)
        #expect(try CLI.dump(crashed) == CLI.dump(clean))
    }
}
