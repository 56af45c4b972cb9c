import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Paths and scratch space for tests; found through #filePath, no bundle needed.
enum TestSupport {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    static func sample(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent("SampleLogs").appendingPathComponent(relative).path
    }

    /// A fresh directory under the system temporary directory.
    static func scratchDirectory(_ label: String = #function) throws -> String {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let path = NSTemporaryDirectory() + "gatewatch-tests-\(safe)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a program and returns its standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil) throws -> (Int32, Data, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        let input = Pipe()
        if stdin != nil { process.standardInput = input }
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        }
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, outData, errData)
    }

    /// The ids of running processes whose command line contains `fragment` (read from /proc, so
    /// that tests need nothing beyond the toolchain: procps' pgrep is not on a minimal machine).
    static func processes(commandLineContaining fragment: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> Int32? in
            guard let id = Int32(name), id != getpid(),
                let raw = FileManager.default.contents(atPath: "/proc/\(name)/cmdline")
            else { return nil }
            // Arguments are NUL-separated; joined with spaces as a shell would show them.
            let commandLine = String(decoding: raw.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return commandLine.contains(fragment) ? id : nil
        }
    }

    /// gzip-compresses bytes with the system gzip (a real gzip writer, not ours).
    static func gzip(_ data: Data) throws -> Data {
        let (status, output, _) = try run("/bin/gzip", ["-c", "-n"], stdin: data)
        precondition(status == 0, "gzip failed")
        return output
    }

    static func write(_ data: Data, to path: String) throws {
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Ingests paths into a fresh or given store.
    static func ingest(
        _ paths: [String],
        db: String,
        configure: (inout IngestOptions) -> Void = { _ in }
    ) throws -> IngestReport {
        var options = IngestOptions()
        configure(&options)
        let store = try Store(path: db)
        return try Ingestor(store: store, options: options).ingest(paths)
    }

    /// A canonical dump of the store's data tables, to compare two stores.
    static func dump(_ db: String) throws -> String {
        let store = try Store(path: db, readOnly: true)
        return try store.read { db in
            var text = ""
            for row in try Row.fetchAll(
                db,
                sql: "SELECT * FROM hourly ORDER BY hour, site, address, verdict, outcome, status, substatus"
            ) {
                text += row.description + "\n"
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT time, line, address, method, uri_stem, status, substatus, verdict, outcome, rule
                    FROM evidence ORDER BY time, line, address, uri_stem
                    """
            ) {
                text += row.description + "\n"
            }
            for row in try Row.fetchAll(
                db,
                sql: "SELECT fingerprint, bytes, lines, requests, malformed, status FROM files ORDER BY fingerprint"
            ) {
                text += row.description + "\n"
            }
            return text
        }
    }
}
