import ArgumentParser
import Foundation
import Testing

@testable import GatewatchCore
@testable import gatewatch

/// Headless Chromium (Debian package `chromium`), when installed.
enum Browser {
    static let path: String? = {
        var candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        if let configured = ProcessInfo.processInfo.environment["GATEWATCH_CHROMIUM"] {
            candidates.insert(configured, at: 0)
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let missing =
        "chromium is not installed: the HTML report was NOT checked in a real browser; apt-get install -y chromium"

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String

        /// Console messages (errors, CSP violations, uncaught exceptions) logged by the page.
        var consoleLines: [String] {
            stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
        }
    }

    /// Runs headless Chromium on a file with its own profile directory; kills it after 120 s.
    static func run(_ arguments: [String], profile: String) throws -> Run {
        guard let path else { throw BrowserError.missing }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments =
            [
                "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--user-data-dir=\(profile)",
                "--enable-logging=stderr", "--v=0",
            ] + arguments
        // Files, not pipes: Chromium can fill one pipe while we wait on the other.
        let outPath = profile + ".stdout"
        let errPath = profile + ".stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let error = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? output.close()
            try? error.close()
        }
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date.now.addingTimeInterval(120)
        while process.isRunning, Date.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("chromium did not finish within 120 s: \(arguments)")
        }
        process.waitUntilExit()
        let out = try Data(contentsOf: URL(fileURLWithPath: outPath))
        let err = try Data(contentsOf: URL(fileURLWithPath: errPath))
        return Run(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }

    enum BrowserError: Error {
        case missing
    }
}

/// The HTML report in a real browser: the page loads, logs nothing to the console (no script error,
/// no Content-Security-Policy violation from something fetched), and renders to a real screenshot.
@Suite(.enabled(if: Browser.path != nil, Comment(rawValue: Browser.missing)))
struct ReportBrowserTests {
    /// The SampleLogs ingested by the real binary, then the report written by the `report` command.
    static func sampleReport(_ directory: String) throws -> String {
        let db = directory + "/gatewatch.db"
        let yaml = CLI.repositoryRoot.appendingPathComponent("SampleLogs/gatewatch.yaml").path
        let backend = CLI.repositoryRoot.appendingPathComponent("SampleLogs/backend").path
        let ingest = try CLI.run(["ingest", "--quiet", "--db", db, "--config", yaml, backend])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        // A hostile user agent and path next to the sample, to see them escaped in the browser.
        let hostile = directory + "/u_ex261124_hostile.log"
        let log =
            CLI.header
            + "2026-11-24 12:00:00 10.0.1.4 GET /\"><img+src=x+onerror=alert(1)> - 443 - 192.0.2.99 "
            + "<script>document.title='pwned';console.error('pwned')</script> - 200 0 0 3\r\n"
        try Data(log.utf8).write(to: URL(fileURLWithPath: hostile))
        let more = try CLI.run(["ingest", "--quiet", "--db", db, "--config", yaml, hostile])
        #expect(more.status == 0, "\(more.stderr)")
        let html = directory + "/report.html"
        let command = try Gatewatch.Report.parse(["--db", db, "--config", yaml, "--out", html])
        try command.run()
        return html
    }

    @Test("the sample report renders in headless Chromium with no console message, hostile text stays text")
    func sampleInChromium() throws {
        let directory = try CLI.scratch()
        let html = try Self.sampleReport(directory)
        let url = URL(fileURLWithPath: html).absoluteString

        // Control: the same browser flags do report console output and CSP violations.
        let control = directory + "/control.html"
        try Data(
            """
            <!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>
            <body><p>control</p><img src="https://example.invalid/x.png"></body></html>
            """.utf8
        ).write(to: URL(fileURLWithPath: control))
        let controlRun = try Browser.run(
            ["--dump-dom", URL(fileURLWithPath: control).absoluteString],
            profile: directory + "/profile-control"
        )
        #expect(
            !controlRun.consoleLines.isEmpty,
            "Chromium did not log the control page's CSP violation; the console check would prove nothing"
        )

        let screenshot = directory + "/report.png"
        let shot = try Browser.run(
            ["--screenshot=\(screenshot)", "--window-size=1280,2000", "--hide-scrollbars", url],
            profile: directory + "/profile-shot"
        )
        #expect(shot.status == 0, "\(shot.stderr)")
        #expect(shot.consoleLines.isEmpty, "console output: \(shot.consoleLines)")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // IHDR: width and height, big-endian, at bytes 16–23.
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1280 && height == 2000)
        // A blank or error page compresses to a few kilobytes; charts, tables and text do not.
        #expect(png.count > 60_000, "screenshot is only \(png.count) bytes")

        let dom = try Browser.run(["--dump-dom", url], profile: directory + "/profile-dom")
        #expect(dom.status == 0)
        #expect(dom.consoleLines.isEmpty, "console output: \(dom.consoleLines)")
        for id in ["coverage", "migration", "clients", "endpoints", "platform", "findings", "correlation"] {
            #expect(dom.stdout.contains("<section id=\"\(id)\">"), "section \(id) missing from the rendered DOM")
        }
        #expect(dom.stdout.contains("<svg"))
        // The hostile user agent is text in the DOM, never an element; the title was not changed.
        #expect(dom.stdout.contains("&lt;script&gt;document.title="))
        #expect(!dom.stdout.contains("<script"))
        #expect(!dom.stdout.contains("<img"))
        #expect(dom.stdout.contains("<title>Gatewatch report</title>"))
    }
}
