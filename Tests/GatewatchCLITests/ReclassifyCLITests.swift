import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// Issue 21: the store keeps facts, judgements are derived from the declared policy; `reclassify`
/// re-judges history, `whatif` is the same computation into a scratch judgement.
@Suite struct ReclassifyCLITests {
    static let root = CLI.repositoryRoot.path
    static let config = root + "/SampleLogs/gatewatch.yaml"
    static let noOffice = root + "/SampleLogs/web.no-office.config"
    static let backend = root + "/SampleLogs/backend"
    static let queries = [
        ["summary", "--format", "json"], ["top", "--limit", "0", "--format", "json"], ["clients", "--format", "json"],
    ]

    static func outputs(_ db: String) throws -> [String] {
        try queries.map { query in
            let result = try CLI.run(query + ["--db", db])
            #expect(result.status == 0, "\(query): \(result.stderr)")
            return result.stdout
        }
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func moves(_ list: Any?) -> [String] {
        ((list as? [[String: Any]]) ?? []).map {
            "\($0["from_verdict"] ?? "")/\($0["from_outcome"] ?? "")→\($0["to_verdict"] ?? "")/\($0["to_outcome"] ?? ""):"
                + "\($0["requests"] ?? 0):\($0["addresses"] ?? 0)"
        }
    }

    @Test(
        "SampleLogs: no policy, then reclassify --config equals a fresh ingest; whatif predicts the next reclassify's moves exactly"
    )
    func sampleLogs() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/store.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, Self.backend]).status == 0)
        let first = try CLI.run(["reclassify", "--json", "--db", db, "--config", Self.config])
        #expect(first.status == 0, "\(first.stderr)")
        let fresh = directory + "/fresh.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", fresh, "--config", Self.config, Self.backend]).status == 0)
        #expect(try Self.outputs(db) == Self.outputs(fresh))

        // The deployed policy, proposed unchanged: nothing breaks, and it says so (exit 0).
        let unchanged = try CLI.run(["whatif", "--db", db, "--config", Self.config])
        #expect(unchanged.status == 0, "\(unchanged.stdout)")
        #expect(unchanged.stdout.contains("Policy: unchanged"), "\(unchanged.stdout)")
        #expect(unchanged.stdout.contains("Enforcement began: 2026-11-22T00:02:11Z;"), "\(unchanged.stdout)")
        #expect(unchanged.stdout.contains("history (1474 request(s) from 41 address(es))"), "\(unchanged.stdout)")

        // Asked before the reclassify, whatif predicts exactly what moves.
        let proposal = ["--config", Self.config, "--policy", Self.noOffice]
        let whatIf = try CLI.run(["whatif", "--format", "json", "--db", db] + proposal)
        #expect(whatIf.status == 4, "\(whatIf.stderr)")
        let predicted = Self.moves(try Self.json(whatIf.stdout)["moves"])
        #expect(predicted == ["allowed/→direct/served:486:6"])
        let second = try CLI.run(["reclassify", "--json", "--db", db] + proposal)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Self.moves(try Self.json(second.stdout)["moves"]) == predicted)
        let freshNoOffice = directory + "/fresh-no-office.db"
        let ingested = try CLI.run(["ingest", "--quiet", "--db", freshNoOffice] + proposal + [Self.backend])
        #expect(ingested.status == 0, "\(ingested.stderr)")
        #expect(try Self.outputs(db) == Self.outputs(freshNoOffice))
        // Judged again under the same policy: nothing changes.
        let again = try CLI.run(["reclassify", "--json", "--db", db] + proposal)
        #expect(try Self.json(again.stdout)["changed_keys"] as? Int == 0)
        #expect(try CLI.keysWithWrongRequests(db) == 0)
    }

    @Test("ingest under another policy refuses (exit 2), naming both; --reclassify re-judges, then ingests")
    func ingestRefusesAnotherPolicy() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/store.db"
        let day1 = Self.backend + "/u_ex261120.log.gz"
        let day2 = Self.backend + "/u_ex261121.log.gz"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, "--config", Self.config, day1]).status == 0)
        let refused = try CLI.run(["ingest", "--db", db, "--config", Self.config, "--policy", Self.noOffice, day2])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("SampleLogs/web.config"), "\(refused.stderr)")
        #expect(refused.stderr.contains("web.no-office.config"), "\(refused.stderr)")
        #expect(refused.stderr.contains("reclassify"))
        let both = try CLI.run([
            "ingest", "--quiet", "--reclassify", "--db", db, "--config", Self.config, "--policy", Self.noOffice, day2,
        ])
        #expect(both.status == 0, "\(both.stderr)")
        let fresh = directory + "/fresh.db"
        let ingested = try CLI.run([
            "ingest", "--quiet", "--db", fresh, "--config", Self.config, "--policy", Self.noOffice, day1, day2,
        ])
        #expect(ingested.status == 0)
        #expect(try Self.outputs(db) == Self.outputs(fresh))
        let summary = try CLI.run(["summary", "--db", db])
        #expect(summary.stdout.contains("Verdicts are under the policy"), "\(summary.stdout)")
        #expect(summary.stdout.contains("web.no-office.config"))
    }

    @Test("config show names the store's policy (table and JSON) and says when the configuration's differs")
    func configShowNamesThePolicy() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/store.db"
        let show = ["config", "show", "--db", db, "--config", Self.config]

        let none = try CLI.run(show)
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout.contains("# verdicts under: - (no store yet)"), "\(none.stdout)")
        #expect(!FileManager.default.fileExists(atPath: db))

        #expect(try CLI.run(["ingest", "--quiet", "--db", db, Self.backend]).status == 0)
        let differs = try CLI.run(show)
        #expect(differs.status == 0, "\(differs.stderr)")
        #expect(differs.stdout.hasPrefix("# effective configuration"), "the YAML comes first: \(differs.stdout)")
        #expect(differs.stdout.contains("# verdicts under: none (unjudged)"), "\(differs.stdout)")
        #expect(differs.stdout.contains("#   declared at: 20"), "\(differs.stdout)")
        let line = differs.stdout.split(separator: "\n").first { $0.hasPrefix("# this configuration: ") }
        #expect(line?.contains("web.config") == true, "\(differs.stdout)")
        #expect(differs.stdout.contains("run 'gatewatch reclassify'"), "\(differs.stdout)")
        let differsJSON = try Self.json(try CLI.run(show + ["--json"]).stdout)
        let policy = try #require(differsJSON["policy"] as? [String: Any])
        #expect(policy["reclassify_needed"] as? Bool == true)
        let stored = try #require(policy["store_policy"] as? [String: Any])
        let declared = try #require(policy["config_policy"] as? [String: Any])
        #expect((stored["source"] as? String)?.hasPrefix("none (unjudged)") == true, "\(stored)")
        #expect(stored["declared_at"] is String)
        #expect(stored["fingerprint"] as? String != declared["fingerprint"] as? String)
        #expect((differsJSON["yaml"] as? String)?.contains("iis_version: 10") == true)

        #expect(try CLI.run(["reclassify", "--db", db, "--config", Self.config]).status == 0)
        let same = try CLI.run(show)
        #expect(same.stdout.contains("# the store's verdicts are under this configuration's policy"), "\(same.stdout)")
        #expect(!same.stdout.contains("reclassify'"), "\(same.stdout)")
        let sameJSON = try Self.json(try CLI.run(show + ["--json"]).stdout)
        let now = try #require(sameJSON["policy"] as? [String: Any])
        #expect(now["reclassify_needed"] as? Bool == false)
        #expect(
            (now["store_policy"] as? [String: Any])?["fingerprint"] as? String
                == (now["config_policy"] as? [String: Any])?["fingerprint"] as? String
        )
    }

    @Test("a policy that reads X-Forwarded-For, on a store that kept none, needs a re-ingest (exit 2)")
    func proxyModeNeedsReingest() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/store.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, "--config", Self.config, Self.backend]).status == 0)
        let proxy = directory + "/web.config"
        let text = try String(contentsOfFile: Self.root + "/SampleLogs/web.config", encoding: .utf8)
            .replacingOccurrences(of: "enableProxyMode=\"false\"", with: "enableProxyMode=\"true\"")
        try text.write(toFile: proxy, atomically: true, encoding: .utf8)
        #expect(text.contains("enableProxyMode=\"true\""))
        let before = try CLI.dump(db)
        let refused = try CLI.run(["reclassify", "--db", db, "--config", Self.config, "--policy", proxy])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("needs a re-ingest"), "\(refused.stderr)")
        #expect(refused.stderr.contains("X-Forwarded-For"), "\(refused.stderr)")
        #expect(try CLI.dump(db) == before)
        // whatif judges such requests as requests without the header, and says so.
        let whatIf = try CLI.run(["whatif", "--db", db, "--config", Self.config, "--policy", proxy])
        #expect(whatIf.stdout.contains("judged as requests without"), "\(whatIf.stdout)")
    }

    @Test("--anchor data counts --last back from the newest data, not from now")
    func anchorData() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = directory + "/store.db"
        #expect(try CLI.run(["ingest", "--quiet", "--db", db, "--config", Self.config, Self.backend]).status == 0)
        let anchored = try Self.json(
            try CLI.run(["summary", "--format", "json", "--last", "1d", "--anchor", "data", "--db", db]).stdout
        )
        let lastDay = try Self.json(
            try CLI.run(["summary", "--format", "json", "--since", "2026-11-25T00:00:00Z", "--db", db]).stdout
        )
        let window = try Self.json(
            try CLI.run([
                "summary", "--format", "json", "--since", "2026-11-24T00:00:00Z", "--until", "2026-11-25T00:00:00Z",
                "--db", db,
            ]).stdout
        )
        #expect(lastDay["requests"] as? Int == 0)
        #expect((anchored["requests"] as? Int ?? 0) > 0)
        // The newest request is at 23:59:59 on 2026-11-24: the last day of data is that day.
        #expect(anchored["requests"] as? Int == window["requests"] as? Int)
        for command in [["top"], ["clients"], ["whatif", "--config", Self.config]] {
            let result = try CLI.run(command + ["--last", "1d", "--anchor", "data", "--db", db])
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
    }

    @Test("a store made by main 95d9796 migrates keeping every count, and reclassifies")
    func migrationFromMain() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixtures = Self.root + "/Tests/Fixtures/store/"
        let db = directory + "/old.db"
        try FileManager.default.copyItem(atPath: fixtures + "main-95d9796.db", toPath: db)
        func fixture(_ name: String) throws -> String {
            try String(contentsOfFile: fixtures + "main-95d9796.\(name).json", encoding: .utf8)
        }
        let outputs = try Self.outputs(db)
        var summary = try Self.json(outputs[0])
        let policy = try #require(summary.removeValue(forKey: "policy") as? [String: String])
        #expect(policy["source"]?.contains("web.config") == true, "\(policy)")
        #expect(NSDictionary(dictionary: summary) == NSDictionary(dictionary: try Self.json(try fixture("summary"))))
        #expect(outputs[1] == (try fixture("top")))
        #expect(outputs[2] == (try fixture("clients")))
        #expect(try CLI.keysWithWrongRequests(db) == 0)
        // The ledger named one policy: the same config ingests on, under it.
        let day3 = Self.backend + "/u_ex261123.log.gz"
        let more = try CLI.run(["ingest", "--quiet", "--db", db, "--config", Self.config, day3])
        #expect(more.status == 0, "\(more.stderr)")
        // Legacy keys re-judge: back and forth leaves every count as it was.
        let away = try CLI.run(["reclassify", "--db", db, "--config", Self.config, "--policy", Self.noOffice])
        #expect(away.status == 0, "\(away.stderr)")
        let back = try CLI.run(["reclassify", "--json", "--db", db, "--config", Self.config])
        #expect(back.status == 0, "\(back.stderr)")
        let fresh = directory + "/fresh.db"
        let day2 = Self.backend + "/u_ex261122.log.gz"
        #expect(try CLI.run(["ingest", "--quiet", "--db", fresh, "--config", Self.config, day2, day3]).status == 0)
        let (migrated, made) = (try Self.outputs(db), try Self.outputs(fresh))
        #expect(try CLI.keysWithWrongRequests(db) == 0)
        #expect(migrated[1...] == made[1...])
        // The same policy (fingerprint); its source is the path it was first declared by.
        var (left, right) = (try Self.json(migrated[0]), try Self.json(made[0]))
        let fingerprints = [left, right].map { ($0["policy"] as? [String: String])?["fingerprint"] }
        #expect(fingerprints[0] != nil && fingerprints[0] == fingerprints[1])
        left["policy"] = nil
        right["policy"] = nil
        #expect(NSDictionary(dictionary: left) == NSDictionary(dictionary: right))
    }
}
