import Foundation
import GRDB
import Testing

/// Faults from outside: concurrent writers, resource limits, hostile inputs.
///
/// Real processes.
@Suite struct HardeningTests {
    @Test("inputs that cannot be read are reported and the rest of the run proceeds")
    func unreadableInputs() throws {
        let directory = try CLI.scratch()
        let good = directory + "/u_ex261120.log"
        try Data(CLI.log(0..<100).utf8).write(to: URL(fileURLWithPath: good))
        let fifoDirectory = directory + "/not-a-file.log"
        try FileManager.default.createDirectory(atPath: fifoDirectory + "/empty", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/dangling.log",
            withDestinationPath: directory + "/gone.log"
        )
        let fifo = directory + "/pipe.log"
        #expect(mkfifo(fifo, 0o600) == 0)
        let result = try CLI.run([
            "ingest", "--db", directory + "/g.db", directory + "/missing.log", good, directory + "/dangling.log",
            fifoDirectory + "/empty", fifo,
        ])
        #expect(result.status == 1)
        #expect(result.stdout.contains("requests 100"))
        #expect(result.stderr.contains("missing.log"))
        #expect(result.stderr.contains("dangling.log"))
        #expect(result.stderr.contains("pipe.log"))
        #expect(result.stderr.contains("not a regular file"))
    }

    @Test("two ingest processes on the same database with overlapping inputs count each file once")
    func concurrentWriters() throws {
        let directory = try CLI.scratch()
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        for day in 20..<24 {
            try CLI.gzip(Data(CLI.log(0..<20_000, day: day).utf8))
                .write(to: URL(fileURLWithPath: logs + "/u_ex2611\(day).log.gz"))
        }
        let db = directory + "/shared.db"
        let clean = directory + "/clean.db"
        try CLI.run(["ingest", "--db", clean, "--gateway", "20.50.10.4", logs])

        func start(_ arguments: [String]) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        let all = try start(["ingest", "--db", db, "--gateway", "20.50.10.4", logs])
        let some = try start([
            "ingest", "--db", db, "--gateway", "20.50.10.4", logs + "/u_ex261122.log.gz", logs + "/u_ex261120.log.gz",
        ])
        // A reader while both write: WAL lets it see a consistent state.
        let reader = try CLI.run(["summary", "--db", db, "--format", "json"])
        all.waitUntilExit()
        some.waitUntilExit()
        #expect(all.terminationStatus == 0)
        #expect(some.terminationStatus == 0)
        #expect(reader.status == 0 || reader.stderr.contains("no database"))
        #expect(try CLI.dump(db) == CLI.dump(clean))
    }

    @Test("a file-size limit mid-ingest is a clear error; after it the store is consistent and a rerun completes it")
    func fileSizeLimit() throws {
        let directory = try CLI.scratch()
        let log = directory + "/big.log.gz"
        try CLI.gzip(Data(CLI.log(0..<80_000).utf8)).write(to: URL(fileURLWithPath: log))
        let db = directory + "/small.db"
        // 2,000 blocks of 512 bytes: far less than the evidence of 80,000 lines needs.
        let limited = try CLI.run(
            ["-c", "ulimit -f 2000; exec \"$0\" ingest --db \"$1\" \"$2\"", CLI.binary, db, log],
            shell: true
        )
        #expect(limited.status != 0)
        #expect(
            limited.stderr.contains("writing to") || limited.stderr.contains("disk") || limited.stderr.contains("large")
        )
        #expect(!limited.stderr.contains("Fatal error"))
        let summary = try CLI.run(["summary", "--db", db, "--format", "json"])
        #expect(summary.stdout.contains("\"requests\":0"))
        let rerun = try CLI.run(["ingest", "--db", db, log])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let after = try CLI.run(["summary", "--db", db, "--format", "json"])
        #expect(after.stdout.contains("\"requests\":80000"))
    }

    @Test("a 10 MB line, a file of NUL bytes and a gzip bomb are handled with bounded memory and a clear message")
    func hostileFiles() throws {
        let directory = try CLI.scratch()
        var long = Data(CLI.log(0..<10).utf8)
        long.append(Data(repeating: UInt8(ascii: "A"), count: 10 << 20))
        long.append(Data("\n".utf8))
        long.append(Data(CLI.log(10..<20).utf8.dropFirst(CLI.header.utf8.count)))
        try long.write(to: URL(fileURLWithPath: directory + "/long.log"))
        let longRun = try CLI.run(["ingest", "--db", directory + "/a.db", "--json", directory + "/long.log"])
        #expect(longRun.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(longRun.stdout.utf8)) as? [String: Any])
        #expect(object["requests"] as? Int == 20)
        #expect(object["malformed"] as? Int == 1)
        #expect(longRun.stdout.contains("exceeds the line-length limit"))

        try Data(repeating: 0, count: 1 << 20).write(to: URL(fileURLWithPath: directory + "/zeros.log"))
        let zeros = try CLI.run(["ingest", "--db", directory + "/b.db", directory + "/zeros.log"])
        #expect(zeros.status == 1)
        #expect(zeros.stderr.contains("NUL bytes"))

        // 1 GiB of zeros after a valid header compresses to ~1 MB: refused before it is all inflated.
        let bomb = directory + "/bomb.log.gz"
        let made = try CLI.run(
            ["-c", "(printf '%s' \"$1\"; head -c 1073741824 /dev/zero) | gzip -9 -c > \"$2\"", "sh", CLI.header, bomb],
            shell: true
        )
        #expect(made.status == 0)
        let started = Date()
        let bombRun = try CLI.run(["ingest", "--db", directory + "/c.db", bomb])
        #expect(bombRun.status == 1)
        #expect(bombRun.stderr.contains("gzip bomb"))
        #expect(Date().timeIntervalSince(started) < 60)
    }
}

extension CLI {
    /// Runs a shell command line (`sh -c`), with `arguments[1...]` as its positional parameters.
    @discardableResult
    static func run(_ arguments: [String], shell: Bool) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }
}
