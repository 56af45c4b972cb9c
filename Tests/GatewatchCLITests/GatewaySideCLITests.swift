import Foundation
import Testing

/// Per-IP statistics for the gateway's own clients: `top --side gateway` and the gateway part of `ip`.
@Suite struct GatewaySideCLITests {
    @Test("top --side gateway ranks the gateway's callers; ip shows both sides")
    func gatewaySide() throws {
        let directory = try CLI.scratch()
        let db = directory + "/g.db"
        let sample = CLI.repositoryRoot.appendingPathComponent("SampleLogs").path
        let ingest = try CLI.run([
            "ingest", "--db", db, "--config", sample + "/gatewatch.yaml", sample + "/backend", sample + "/gateway",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let top = try CLI.run(["top", "--db", db, "--side", "gateway", "--format", "json", "--limit", "0"])
        #expect(top.status == 0)
        let callers = try #require(try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as? [[String: Any]])
        // SampleLogs/GATEWAY.md: 1,475 gateway records in the six hours.
        #expect(callers.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == 1475)
        let counts = callers.compactMap { $0["requests"] as? Int }
        #expect(counts == counts.sorted(by: >))
        let busiest = try #require(callers.first?["address"] as? String)
        let ip = try CLI.run(["ip", "--db", db, busiest, "--format", "json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(ip.stdout.utf8)) as? [String: Any])
        let gateway = try #require(report["gateway"] as? [String: Any])
        #expect(gateway["requests"] as? Int == callers.first?["requests"] as? Int)
        let table = try CLI.run(["ip", "--db", db, busiest])
        #expect(table.stdout.contains("gateway side:"))
    }
}
