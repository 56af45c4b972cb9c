import Foundation
import GRDB
import Testing

@testable import GatewatchCore

#if canImport(Glibc)
import Glibc
#endif

/// A running `gatewatch watch` (or any long-running command), its output collected as it comes.
///
/// `@unchecked Sendable`: `output` and `errors` are only touched with `lock` held.
final class RunningCLI: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = Data()
    private var errors = Data()

    init(_ arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GATEWATCH_DB"] = nil
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for (pipe, isError) in [(out, false), (err, true)] {
            let thread = Thread { [self] in
                while true {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { return }
                    lock.lock()
                    if isError { errors.append(chunk) } else { output.append(chunk) }
                    lock.unlock()
                }
            }
            thread.start()
        }
    }

    var stdout: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: output, as: UTF8.self)
    }

    var stderr: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: errors, as: UTF8.self)
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    func stop() -> Int32 {
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Waits until `condition` holds (checking every 50 ms), at most `seconds`.
@discardableResult
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// Requests recorded in the ledger (0 while the database does not exist yet).
func ledgerRequests(_ db: String) -> Int {
    guard FileManager.default.fileExists(atPath: db), let queue = try? DatabaseQueue(path: db) else { return 0 }
    return (try? queue.read { db in try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(requests), 0) FROM files") ?? 0 })
        ?? 0
}

/// A one-file HTTP server on 127.0.0.1 answering every request with `status`, recording bodies.
///
/// `@unchecked Sendable`: `bodies` is only touched with `lock` held.
final class LocalHook: @unchecked Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let status: Int
    private let lock = NSLock()
    private var bodies: [String] = []

    init(status: Int = 200) throws {
        self.status = status
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        descriptor = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in serve() }.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var received: [String] {
        lock.lock()
        defer { lock.unlock() }
        return bodies
    }

    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func serve() {
        while true {
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var buffer = Data()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(client, &chunk, chunk.count)
                if count <= 0 { break }
                buffer.append(contentsOf: chunk[0..<count])
                guard let end = buffer.range(of: Data("\r\n\r\n".utf8)) else { continue }
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                if buffer.count >= end.upperBound + length {
                    lock.lock()
                    bodies.append(String(decoding: buffer[end.upperBound...], as: UTF8.self))
                    lock.unlock()
                    break
                }
            }
            let response = "HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = response.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }
}

@Suite struct WatchCLITests {
    static let gateway = ["--gateway", "20.50.10.0/28"]

    /// The lines of `CLI.log` without its header.
    static func body(_ range: Range<Int>) -> String {
        String(CLI.log(range).dropFirst(CLI.header.count))
    }

    static func write(_ text: String, _ path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func append(_ text: String, _ path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test(
        "a real watch process follows appends, a partial line, rotation and gzip across a SIGTERM restart; the store equals one batch ingest"
    )
    func followAndRestart() throws {
        let directory = try CLI.scratch()
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let db = directory + "/watch.db"
        let live = logs + "/u_ex261120.log"
        let metrics = directory + "/gatewatch.prom"
        let partial = Self.body(500..<501)
        try Self.write(CLI.log(0..<500) + partial.prefix(40), live)
        let arguments =
            ["watch", "--db", db, "--interval", "200ms", "--no-alerts", "--metrics-file", metrics] + Self.gateway + [
                logs
            ]
        var watch = try RunningCLI(arguments)
        #expect(eventually { ledgerRequests(db) == 500 }, "\(watch.stderr)")

        // The writer finishes the line and goes on.
        try Self.append(String(partial.dropFirst(40)) + Self.body(501..<800), live)
        #expect(eventually { ledgerRequests(db) == 800 }, "\(watch.stderr)")

        // Rotation: rename and start a new file.
        try FileManager.default.moveItem(atPath: live, toPath: logs + "/u_ex261120.log.1")
        try Self.write(CLI.log(2000..<2300, day: 21), live)
        #expect(eventually { ledgerRequests(db) == 1100 }, "\(watch.stderr)")
        #expect(
            eventually {
                (try? String(contentsOfFile: metrics, encoding: .utf8))?.contains("gatewatch_lines_total") == true
            }
        )

        #expect(watch.stop() == 0, "\(watch.stderr)")
        #expect(watch.stderr.contains("stopped"))

        // While it is down: the rotated file is gzipped (the .log removed) and the live one grows.
        let rotated = try Data(contentsOf: URL(fileURLWithPath: logs + "/u_ex261120.log.1"))
        try CLI.gzip(rotated).write(to: URL(fileURLWithPath: logs + "/u_ex261120.log.1.gz"))
        try FileManager.default.removeItem(atPath: logs + "/u_ex261120.log.1")
        try Self.append(Self.body(2300..<2400), live)

        watch = try RunningCLI(arguments)
        #expect(eventually { ledgerRequests(db) == 1200 }, "\(watch.stderr)")
        // Replace while running too: a .log next to its .log.gz, then the .log goes.
        try Self.append(Self.body(2400..<2410), live)
        #expect(eventually { ledgerRequests(db) == 1210 }, "\(watch.stderr)")
        let liveData = try Data(contentsOf: URL(fileURLWithPath: live))
        try CLI.gzip(liveData).write(to: URL(fileURLWithPath: live + ".gz"))
        try FileManager.default.removeItem(atPath: live)
        usleep(600_000)
        #expect(watch.stop() == 0, "\(watch.stderr)")
        #expect(ledgerRequests(db) == 1210)

        let batch = directory + "/batch.db"
        let ingest = try CLI.run(
            ["ingest", "--db", batch] + Self.gateway + [logs + "/u_ex261120.log.1.gz", live + ".gz"]
        )
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(try CLI.dump(db) == CLI.dump(batch))
    }

    @Test("watch and an ad-hoc ingest on the same database cooperate; queries run while they write")
    func watchAndIngest() throws {
        let directory = try CLI.scratch()
        let logs = directory + "/logs"
        let other = directory + "/other"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Self.write(CLI.log(0..<4000, day: 20), logs + "/u_ex261120.log")
        try Self.write(CLI.log(0..<4000, day: 21), other + "/u_ex261121.log")
        try Self.write(CLI.log(0..<4000, day: 22), other + "/u_ex261122.log")
        let db = directory + "/shared.db"
        let watch = try RunningCLI(["watch", "--db", db, "--interval", "100ms", "--no-alerts"] + Self.gateway + [logs])
        // The ad-hoc ingest names one file the watch also follows once it is copied there.
        let ingest = try CLI.run(["ingest", "--db", db] + Self.gateway + [other])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        try FileManager.default.copyItem(atPath: other + "/u_ex261121.log", toPath: logs + "/u_ex261121.log")
        let summary = try CLI.run(["summary", "--db", db, "--format", "json"])
        #expect(summary.status == 0, "\(summary.stderr)")
        #expect(eventually { ledgerRequests(db) == 12_000 }, "\(watch.stderr)")
        usleep(400_000)
        #expect(watch.stop() == 0, "\(watch.stderr)")
        #expect(ledgerRequests(db) == 12_000)
        let batch = directory + "/batch.db"
        #expect(try CLI.run(["ingest", "--db", batch] + Self.gateway + [logs + "/u_ex261120.log", other]).status == 0)
        #expect(try CLI.dump(db) == CLI.dump(batch))
    }

    @Test(
        "watch killed inside a commit (SIGKILL) and started again ends with the store of one batch ingest",
        arguments: ["commit-start:2", "commit-written:2"]
    )
    func killInsideCommit(fault: String) throws {
        let directory = try CLI.scratch()
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try Self.write(CLI.log(0..<3000, day: 20), logs + "/u_ex261120.log")
        try CLI.gzip(Data(CLI.log(0..<3000, day: 21).utf8)).write(to: URL(fileURLWithPath: logs + "/u_ex261121.log.gz"))
        try Self.write(CLI.log(0..<3000, day: 22), logs + "/u_ex261122.log")
        let db = directory + "/watch.db"
        let arguments = ["watch", "--db", db, "--interval", "200ms", "--no-alerts"] + Self.gateway + [logs]
        let killed = try RunningCLI(arguments, environment: ["GATEWATCH_FAULT": fault])
        #expect(eventually { !killed.process.isRunning }, "the fault point was not reached")
        killed.process.waitUntilExit()
        #expect(killed.process.terminationReason == .uncaughtSignal)
        #expect(killed.process.terminationStatus == SIGKILL)

        let watch = try RunningCLI(arguments)
        #expect(eventually { ledgerRequests(db) == 9000 }, "\(watch.stderr)")
        try Self.append(Self.body(3000..<3100), logs + "/u_ex261122.log")
        #expect(eventually { ledgerRequests(db) == 9100 }, "\(watch.stderr)")
        #expect(watch.stop() == 0, "\(watch.stderr)")

        let batch = directory + "/batch.db"
        #expect(try CLI.run(["ingest", "--db", batch] + Self.gateway + [logs]).status == 0)
        #expect(try CLI.dump(db) == CLI.dump(batch))
    }

    @Test(
        "a served direct hit reaches the alert sinks within two intervals; a dead webhook is reported and never stops ingestion"
    )
    func alertLatency() throws {
        let directory = try CLI.scratch()
        let db = directory + "/watch.db"
        let live = directory + "/u_ex261120.log"
        try Self.write(
            CLI.header + "2026-11-20 10:00:00 10.0.1.4 GET /a - 443 - 20.50.10.4 okhttp - 200 0 0 5\r\n",
            live
        )
        let hook = try LocalHook()
        defer { hook.stop() }
        let interval = 1.0
        let rules = directory + "/rules.yaml"
        try Self.write("rules:\n  - { name: served-direct, kind: served_direct }\n", rules)
        let watch = try RunningCLI(
            [
                "watch", "--db", db, "--interval", "1s", "--rules", rules, "--stdout", "--webhook", hook.url,
                "--webhook", "http://127.0.0.1:9/dead", "--webhook-retries", "1",
            ] + Self.gateway + [directory]
        )
        #expect(eventually { ledgerRequests(db) == 1 }, "\(watch.stderr)")
        let started = Date()
        try Self.append("2026-11-20 10:00:05 10.0.1.4 GET /orders - 443 - 198.51.100.7 curl/8.0 - 200 0 0 5\r\n", live)
        #expect(eventually(5) { watch.stdout.contains("\"rule\":\"served-direct\"") }, "\(watch.stderr)")
        let latency = Date().timeIntervalSince(started)
        #expect(latency <= 2 * interval, "latency \(latency) s")
        #expect(eventually { hook.received.count == 1 })
        #expect(hook.received.first?.contains("\"addresses\":[\"198.51.100.7\"]") == true)
        #expect(
            eventually {
                watch.stderr.contains(
                    "webhook:http://127.0.0.1:9/…: webhook http://127.0.0.1:9/… failed after 2 attempts"
                )
            },
            "\(watch.stderr)"
        )
        // Ingestion goes on after the failed delivery.
        try Self.append("2026-11-20 10:00:09 10.0.1.4 GET /a - 443 - 20.50.10.4 okhttp - 200 0 0 5\r\n", live)
        #expect(eventually { ledgerRequests(db) == 3 }, "\(watch.stderr)")
        #expect(watch.stop() == 0)
        let line = try #require(watch.stdout.split(separator: "\n").first)
        let alert = try JSONDecoder().decode(GatewatchCore.Alert.self, from: Data(line.utf8))
        #expect(alert.samples.first?.uri == "/orders")
        #expect(alert.samples.first?.line == 6)
    }

    @Test("alert check: 4 when alerts fired, 0 once they were sent, 1 without a database, 2 for a bad rules file")
    func alertCheckExitCodes() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        try Self.write(CLI.log(0..<300), directory + "/u.log")
        #expect(try CLI.run(["ingest", "--db", db, "-q"] + Self.gateway + [directory + "/u.log"]).status == 0)
        let fired = try CLI.run(["alert", "check", "--db", db])
        #expect(fired.status == 4, "\(fired.stderr)")
        let lines = fired.stdout.split(separator: "\n")
        #expect(lines.contains { $0.contains("\"rule\":\"served-direct\"") })
        #expect(lines.contains { $0.contains("\"rule\":\"new-direct-address\"") })
        let quiet = try CLI.run(["alert", "check", "--db", db])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty, "\(quiet.stdout)")
        #expect(try CLI.run(["alert", "check", "--db", db, "--dry-run", "--rules", Self.rules(directory)]).status == 4)
        let missing = try CLI.run(["alert", "check", "--db", directory + "/none.db"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no database at"))
        try Self.write("rules:\n  - kind: served_direct\n    windw: 5m\n", directory + "/bad.yaml")
        let bad = try CLI.run(["alert", "check", "--db", db, "--rules", directory + "/bad.yaml"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.yaml:3:5: unknown key 'windw'"))
        let sinkFails = try CLI.run([
            "alert", "check", "--db", db, "--dry-run", "--rules", Self.rules(directory), "--exec", "/bin/false",
        ])
        #expect(sinkFails.status == 1)
        #expect(sinkFails.stderr.contains("alert command '/bin/false' exited with status 1"))
    }

    static func rules(_ directory: String) throws -> String {
        let path = directory + "/rules.yaml"
        try write("rules:\n  - { name: any, kind: served_direct, group_by: none }\nsinks: [stdout]\n", path)
        return path
    }

    @Test("alert test sends a test alert through every sink and says which failed")
    func alertTest() throws {
        let directory = try CLI.scratch()
        let hook = try LocalHook()
        defer { hook.stop() }
        let ok = try CLI.run([
            "alert", "test", "--webhook", hook.url, "--payload", "slack", "--alert-file", directory + "/a.ndjson",
        ])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(hook.received.first?.hasPrefix("{\"text\":\"[info] gatewatch test:") == true)
        #expect(try String(contentsOfFile: directory + "/a.ndjson", encoding: .utf8).contains("\"type\":\"test\""))
        #expect(ok.stderr.contains("ok: webhook:http://127.0.0.1:\(hook.port)/…"))
        let broken = try LocalHook(status: 500)
        defer { broken.stop() }
        let failed = try CLI.run(["alert", "test", "--webhook", broken.url, "--webhook-retries", "0"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("failed after 1 attempt: HTTP status 500"))
    }
}
