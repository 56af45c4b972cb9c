import Foundation
import Testing

/// Issue 20, delivery: an alert a sink did not take is reported, kept and sent again.
///
/// Webhooks never follow redirects; exec sinks time out whatever the alert's size. Real
/// processes, real sockets on 127.0.0.1, real SQLite.
@Suite("alert delivery that fails is reported and retried")
struct DeliveryCLITests {
    /// A store on which the default rules fire two alerts (served-direct, new-direct-address).
    static func store(in directory: String) throws -> String {
        let db = directory + "/a.db"
        let log = CLI.repositoryRoot.appendingPathComponent("Tests/Fixtures/corpora/log2timeline__plaso__iis10.log")
        let ingest = try CLI.run(["ingest", "--quiet", "--db", db, "--gateway", "10.0.0.0/8", log.path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return db
    }

    /// Runs `gatewatch` through `/bin/sh` so that its standard output can be closed or redirected.
    static func shell(_ script: String, in directory: String) throws -> CLI.Result {
        try CLI.runProgram("/bin/sh", ["-c", script, "sh", CLI.binary], in: directory)
    }

    @Test(
        "a stdout sink that is closed or full fails the run (exit 1), and the next run sends the alerts",
        arguments: [">&-", ">/dev/full"]
    )
    func standardOutputRetried(redirection: String) throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Self.store(in: directory)
        let broken = try Self.shell("\"$1\" alert check --db a.db \(redirection)", in: directory)
        #expect(broken.status == 1, "\(broken.stderr)")
        #expect(broken.stderr.contains("cannot write the alert to standard output"), "\(broken.stderr)")
        #expect(!broken.stderr.contains("Fatal error"))
        let again = try CLI.run(["alert", "check", "--db", db])
        #expect(again.status == 4, "\(again.stderr)")
        #expect(again.stdout.split(separator: "\n").count == 2)
        #expect(again.stderr.contains("note: sending again alert 'served-direct'"), "\(again.stderr)")
        let quiet = try CLI.run(["alert", "check", "--db", db])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stdout.isEmpty)
    }

    @Test("alert check --dry-run exits 4 when alerts fire, records nothing, and 0 when nothing does")
    func dryRunExitCode() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Self.store(in: directory)
        for _ in 0..<2 {
            let dry = try CLI.run(["alert", "check", "--db", db, "--dry-run"])
            #expect(dry.status == 4, "\(dry.stderr)")
            #expect(dry.stdout.split(separator: "\n").count == 2)
        }
        #expect(try CLI.run(["alert", "check", "--db", db]).status == 4)
        let after = try CLI.run(["alert", "check", "--db", db, "--dry-run"])
        #expect(after.status == 0, "\(after.stderr)")
    }

    /// A receiver that answers every POST with `code` and a `Location` on a second port, which
    /// logs what reaches it (method, path, Authorization) to `log`.
    static let redirectServer = """
        import http.server, sys, threading
        log, code = sys.argv[1], int(sys.argv[2])
        class Sink(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0); self.rfile.read(n)
                with open(log, 'a') as f: f.write('%s %s %s\\n' % (self.command, self.path, self.headers.get('Authorization')))
                self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
            do_GET = do_POST
            def log_message(self, *a): pass
        sink = http.server.HTTPServer(('127.0.0.1', 0), Sink)
        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0); self.rfile.read(n)
                self.send_response(code)
                self.send_header('Location', 'http://127.0.0.1:%d/stolen' % sink.server_port)
                self.send_header('Content-Length', '0'); self.end_headers()
            def log_message(self, *a): pass
        front = http.server.HTTPServer(('127.0.0.1', 0), Redirect)
        for s in (sink, front): threading.Thread(target=s.serve_forever, daemon=True).start()
        print(front.server_port, flush=True)
        sys.stdin.read()
        """

    @Test(
        "a webhook redirected to another origin is a failed delivery: the token never reaches it",
        arguments: [301, 302, 303, 307, 308]
    )
    func webhookRedirect(code: Int) throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/redirect.py"
        let log = directory + "/stolen.log"
        try Self.redirectServer.write(toFile: script, atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", script, log, String(code)]
        let output = Pipe()
        let input = Pipe()
        server.standardOutput = output
        server.standardInput = input
        try server.run()
        defer {
            try? input.fileHandleForWriting.close()
            server.waitUntilExit()
        }
        var portText = Data()
        while !portText.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            portText += chunk
        }
        let port = try #require(
            Int(String(decoding: portText, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        )
        let rules = directory + "/rules.yaml"
        try """
        sinks:
          - { type: webhook, url: "http://127.0.0.1:\(port)/hook", headers: { Authorization: "Bearer s3cret-token" } }

        """.write(toFile: rules, atomically: true, encoding: .utf8)
        let result = try CLI.run(["alert", "test", "--rules", rules])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP status \(code)"), "\(result.stderr)")
        #expect(result.stderr.contains("redirects are not followed"), "\(result.stderr)")
        #expect(!result.stderr.contains("ok: "))
        let stolen = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(stolen.isEmpty, "the redirect target received: \(stolen)")
    }

    @Test("an exec sink that never reads an alert over 64 KiB is ended at its timeout; the alert is retried")
    func execTimeoutLargeAlert() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Six requests with 20 KB paths and 4 KB user agents: the alerts' samples pass 100 KB.
        var log = """
            #Software: Microsoft Internet Information Services 10.0
            #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken

            """
        for index in 0..<6 {
            log += "2026-11-20 10:00:0\(index) 10.0.0.5 GET /\(String(repeating: "a", count: 20_000))\(index) - 443 - "
            log += "203.0.113.\(index + 1) Agent/\(String(repeating: "b", count: 4000)) - 200 0 0 12\n"
        }
        try log.write(toFile: directory + "/big.log", atomically: true, encoding: .utf8)
        let db = directory + "/big.db"
        #expect(
            try CLI.run(["ingest", "--quiet", "--db", db, "--gateway", "10.0.0.0/8", directory + "/big.log"]).status
                == 0
        )
        let rules = directory + "/rules.yaml"
        // A program that never reads its standard input: the write of the alert fills the pipe.
        try "sinks:\n  - { type: exec, command: [/bin/sleep, \"30\"], timeout: 1s }\n".write(
            toFile: rules,
            atomically: true,
            encoding: .utf8
        )
        // Bounded by timeout(1): a run that hangs on the pipe is killed with status 124.
        let started = ContinuousClock.now
        let result = try CLI.runProgram(
            "/usr/bin/timeout",
            ["20", CLI.binary, "alert", "check", "--db", db, "--rules", rules]
        )
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("did not finish in time"), "\(result.stderr)")
        let sizes = try CLI.run(["sql", "--db", db, "--format", "csv", "SELECT MIN(length(payload)) FROM alerts"])
        #expect((Int(sizes.stdout.split(separator: "\r\n").last ?? "") ?? 0) > 65_536, "\(sizes.stdout)")
        let pending = try CLI.run(["sql", "--db", db, "--format", "csv", "SELECT pending FROM alerts ORDER BY id"])
        #expect(pending.stdout == "pending\r\nexec:/bin/sleep\r\nexec:/bin/sleep\r\n")
    }

    @Test("an exec sink's bare program name is looked up on PATH, never in the current directory")
    func execBareName() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try Self.store(in: directory)
        // A planted ./sh that would record it ran.
        try "#!/bin/sh\ntouch planted-ran\n".write(toFile: directory + "/sh", atomically: true, encoding: .utf8)
        chmod(directory + "/sh", 0o755)
        try "sinks:\n  - { type: exec, command: [sh, -c, \"cat >> got.ndjson\"] }\n".write(
            toFile: directory + "/rules.yaml",
            atomically: true,
            encoding: .utf8
        )
        let result = try CLI.run(["alert", "check", "--db", db, "--rules", "rules.yaml"], in: directory)
        #expect(result.status == 4, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/planted-ran"))
        let got = try String(contentsOfFile: directory + "/got.ndjson", encoding: .utf8)
        #expect(got.split(separator: "\n").count == 2)
    }

    @Test("prune and alert check refuse an empty or missing file instead of making it a store")
    func emptyStoreRefused() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let empty = directory + "/empty.db"
        FileManager.default.createFile(atPath: empty, contents: Data())
        for arguments in [["prune", "--keep-evidence", "30d"], ["alert", "check"]] {
            for db in [empty, directory + "/missing.db"] {
                let result = try CLI.run(arguments + ["--db", db])
                #expect(result.status == 1, "\(arguments) \(db): \(result.stderr)")
                #expect(result.stderr.contains("no database at '\(db)'"), "\(result.stderr)")
            }
        }
        let size = try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int
        #expect(size == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/missing.db"))
    }

    @Test("a store in a folder that cannot be written is queried read-only, as another user")
    func readOnlyStore() throws {
        let directory = try CLI.scratch()
        defer {
            chmod(directory + "/ro", 0o755)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let db = try Self.store(in: directory)
        try FileManager.default.createDirectory(atPath: directory + "/ro", withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: db, toPath: directory + "/ro/a.db")
        chmod(directory + "/ro/a.db", 0o444)
        chmod(directory + "/ro", 0o555)
        chmod(directory, 0o755)
        // Root ignores permissions: run as nobody when root.
        let prefix = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        let command =
            prefix + [
                CLI.binary, "sql", "--db", directory + "/ro/a.db", "--format", "csv", "SELECT COUNT(*) AS n FROM files",
            ]
        let result = try CLI.runProgram(command[0], Array(command.dropFirst()), in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "n\r\n1\r\n")
        #expect(!FileManager.default.fileExists(atPath: directory + "/ro/a.db-shm"))
    }
}
