import Foundation
import Testing

@testable import GatewatchCore

/// The SampleLogs ingested once with `SampleLogs/gatewatch.yaml` (web.config + two gateways),
/// shared read-only by the migration and report tests.
enum MigrationFixtures {
    static let gateways = ["20.50.10.4/32", "20.50.10.5/32"].compactMap { CIDR($0) }

    /// The whole sample (5 days), ingested on first use; tests only read it.
    static let sampleDatabase: String = {
        // A fixture that cannot be built stops the run with this message.
        do {
            return try ingestSample(files: nil, label: "migration-sample")
        } catch {
            preconditionFailure("cannot ingest SampleLogs: \(error)")
        }
    }()

    /// Ingests the sample, or some of its daily files (`["u_ex261123.log.gz"]`), into a new database.
    static func ingestSample(files: [String]?, label: String = #function) throws -> String {
        let directory = try TestSupport.scratchDirectory(label)
        let db = directory + "/gatewatch.db"
        let configuration = try GatewatchConfiguration.load(path: TestSupport.sample("gatewatch.yaml"))
        let policy = try configuration.loadPolicy()
        let inputs = files.map { $0.map { TestSupport.sample("backend/\($0)") } } ?? [TestSupport.sample("backend")]
        let report = try TestSupport.ingest(InputDiscovery.expand(inputs).paths, db: db) { options in
            options.policy = policy
            options.gateways = configuration.gateways
        }
        guard report.requests > 0 else { throw MigrationFixtureError.empty(inputs) }
        return db
    }

    /// The sample web.config with some `<add …/>` lines removed (matched by a fragment of the line).
    static func webConfig(removing fragments: [String], label: String = #function) throws -> String {
        let text = try String(contentsOfFile: TestSupport.sample("web.config"), encoding: .utf8)
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !fragments.contains { line.contains("<add") && line.contains($0) }
        }
        let path = try TestSupport.scratchDirectory(label) + "/web.config"
        try kept.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A policy from a web.config path with the sample's gateways (or others).
    static func policy(_ path: String, gateways: [CIDR] = MigrationFixtures.gateways) throws -> Policy {
        try Policy.load(policyFiles: [path], serviceTags: nil, gateways: gateways)
    }

    static func time(_ text: String) throws -> Int64 {
        try #require(TimeDisplay.parse(text))
    }
}

enum MigrationFixtureError: Error {
    case empty([String])
}
