import Foundation
import Synchronization
import Testing

@testable import GatewatchCore

#if canImport(Glibc)
import Glibc
#endif

/// Owner attribution end to end (issue 24): service tags on SampleLogs, reverse DNS against a
/// DNS responder on 127.0.0.1, and gateway drift on a generated day.
@Suite struct OwnerCLITests {
    static let sampleTags = CLI.repositoryRoot.appendingPathComponent(
        "Tests/Fixtures/policy/ServiceTags_SampleLogs_20261123.json"
    ).path
    static let ownerTags = CLI.repositoryRoot.appendingPathComponent(
        "Tests/Fixtures/policy/ServiceTags_Public_owners_20261116.json"
    ).path

    /// SampleLogs ingested into a fresh store (backend and gateway logs, with its gatewatch.yaml).
    static func sampleStore(_ directory: String) throws -> (db: String, config: String) {
        let sample = CLI.repositoryRoot.appendingPathComponent("SampleLogs").path
        let db = directory + "/sample.db"
        let ingest = try CLI.run([
            "ingest", "--quiet", "--db", db, "--config", sample + "/gatewatch.yaml", sample + "/backend",
            sample + "/gateway",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        return (db, sample + "/gatewatch.yaml")
    }

    /// W3C lines for one day: `(seconds of day, client, status)`.
    static func log(_ requests: [(Int, String, String)], path: String = "/api/v1/orders") -> String {
        var text = CLI.header
        for (second, client, status) in requests {
            let time = String(format: "%02d:%02d:%02d", second / 3600, second / 60 % 60, second % 60)
            text += "2026-11-20 \(time) 10.0.1.4 GET \(path) - 443 - \(client) okhttp/4.12.0 - \(status) 0 12\r\n"
        }
        return text
    }

    @Test(
        "clients on SampleLogs carries owners in JSON and the table, groups them --by owner, and the report shows them"
    )
    func sampleLogsOwners() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (db, config) = try Self.sampleStore(directory)
        let json = try CLI.run([
            "clients", "--db", db, "--config", config, "--service-tags", Self.sampleTags, "--format", "json",
        ])
        #expect(json.status == 0, "\(json.stderr)")
        let clients = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(clients.count == 41)
        func owner(_ address: String) -> [String: String]? {
            clients.first { $0["address"] as? String == address }?["owner"] as? [String: String]
        }
        // The regional LogicApps /25 inside AzureCloud.westeurope's /24.
        #expect(owner("192.0.2.6")?["name"] == "LogicApps.WestEurope")
        #expect(owner("192.0.2.6")?["source"] == "service-tag")
        #expect(owner("192.0.2.6")?["detail"]?.contains("ServiceTags_SampleLogs_20261123.json") == true)
        #expect(owner("192.0.2.150")?["name"] == "AzureCloud.westeurope")
        #expect(owner("2001:db8:4f0:1c2::a1")?["name"] == "AzureFrontDoor.Backend")
        #expect(
            owner("198.51.100.23") == ["name": "Fabrikam partner batch", "source": "names", "detail": "198.51.100.23"]
        )
        #expect(owner("198.51.100.201")?["source"] == "private")
        // Findings follow from the owner.
        let findings = clients.first { $0["address"] as? String == "203.0.113.105" }?["findings"] as? [String]
        #expect(findings?.first?.hasPrefix("another API Management instance (ApiManagement.WestEurope)") == true)
        let frontDoor = clients.first { $0["address"] as? String == "2001:db8:4f0:1c2::a1" }?["findings"] as? [String]
        #expect(frontDoor?.first?.contains("around API Management") == true)
        // Without a service-tags file the JSON is what it was, plus owners from names: and ranges.
        let plain = try CLI.run(["clients", "--db", db, "--config", config, "--format", "json"])
        #expect(!plain.stdout.contains("service-tag"))
        #expect(!plain.stdout.contains("findings"))

        let table = try CLI.run(["clients", "--db", db, "--config", config, "--service-tags", Self.sampleTags])
        #expect(table.stdout.contains("LogicApps.WestEurope [service-tag]"))
        #expect(table.stdout.contains("service tags '\(Self.sampleTags)' changeNumber 86"))

        let grouped = try CLI.run([
            "clients", "--db", db, "--config", config, "--service-tags", Self.sampleTags, "--by", "owner", "--format",
            "json",
        ])
        #expect(grouped.status == 0, "\(grouped.stderr)")
        let groups = try #require(try JSONSerialization.jsonObject(with: Data(grouped.stdout.utf8)) as? [[String: Any]])
        let logicApps = try #require(groups.first { $0["owner"] as? String == "LogicApps.WestEurope" })
        #expect(logicApps["addresses"] as? Int == 12)
        #expect(groups.reduce(0) { $0 + ($1["addresses"] as? Int ?? 0) } == 41)

        // The report shows owners and says which file they came from.
        let html = directory + "/report.html"
        let report = try CLI.run([
            "report", "--db", db, "--config", config, "--service-tags", Self.sampleTags, "--out", html,
        ])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("LogicApps.WestEurope <small>service-tag</small>"))
        #expect(page.contains("ServiceTags_SampleLogs_20261123.json"))
        // readiness blockers and whatif carry owners and lint-style notes.
        let readiness = try CLI.run([
            "readiness", "--db", db, "--quiet-days", "5", "--service-tags", Self.sampleTags, "--format", "json",
        ])
        let ready = try #require(try JSONSerialization.jsonObject(with: Data(readiness.stdout.utf8)) as? [String: Any])
        let blockers = try #require(ready["blocking"] as? [[String: Any]])
        #expect(blockers.contains { ($0["owner"] as? [String: String])?["name"] == "LogicApps.WestEurope" })
        let notes = try #require(ready["findings"] as? [[String: Any]])
        #expect(notes.contains { $0["code"] as? String == "OWNER_API_MANAGEMENT" })
        // The Front Door caller was served before enforcement began: history unless asked for (issue 21).
        let whatif = try CLI.run([
            "whatif", "--db", db, "--config", config, "--service-tags", Self.sampleTags, "--gateway", "20.50.10.4",
            "--format", "json", "--include-history",
        ])
        let proposed = try #require(try JSONSerialization.jsonObject(with: Data(whatif.stdout.utf8)) as? [String: Any])
        let lint = try #require(proposed["findings"] as? [[String: Any]])
        #expect(lint.contains { $0["code"] as? String == "OWNER_FRONT_DOOR" })
        // The table shows the owner beside each address too.
        let whatifTable = try CLI.run([
            "whatif", "--db", db, "--config", config, "--service-tags", Self.sampleTags, "--gateway", "20.50.10.4",
            "--limit", "0", "--include-history",
        ])
        let header = try #require(whatifTable.stdout.split(separator: "\n").first { $0.hasPrefix("ADDRESS") })
        #expect(header.hasSuffix("OWNER"), "\(whatifTable.stdout)")
        #expect(whatifTable.stdout.contains("LogicApps.WestEurope"))
        #expect(
            groups.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) }
                == clients.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) }
        )
    }

    @Test("gateway_drift fires once when the gateway's address changes at noon, naming both, and not on SampleLogs")
    func gatewayDrift() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var requests: [(Int, String, String)] = []
        for minute in 0..<1440 {
            // The gateway until noon; then its new address, which the allowlist refuses.
            requests.append(
                (minute * 60, minute < 720 ? "20.50.10.4" : "20.50.99.7", minute < 720 ? "200 0" : "403 503")
            )
            if minute % 30 == 0 { requests.append((minute * 60 + 7, "198.51.100.9", "200 0")) }
        }
        try Self.log(requests).write(toFile: directory + "/u_ex261120.log", atomically: true, encoding: .utf8)
        let db = directory + "/drift.db"
        let ingest = try CLI.run([
            "ingest", "--quiet", "--db", db, "--gateway", "20.50.10.4", directory + "/u_ex261120.log",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let check = try CLI.run(["alert", "check", "--db", db, "--service-tags", Self.ownerTags], in: directory)
        let drift = check.stdout.split(separator: "\n").filter { $0.contains("gateway_drift") }
        #expect(drift.count == 1, "\(check.stdout)\(check.stderr)")
        #expect(drift.first?.contains("20.50.10.4") == true)
        #expect(drift.first?.contains("20.50.99.7") == true)
        #expect(drift.first?.contains("ApiManagement.WestEurope") == true)
        let again = try CLI.run(["alert", "check", "--db", db, "--service-tags", Self.ownerTags], in: directory)
        #expect(!again.stdout.contains("gateway_drift"), "fired twice: \(again.stdout)")
        // Without the tag, and without gateway logs to match, nothing says the new caller is the gateway.
        let untagged = try CLI.run(["alert", "check", "--dry-run", "--db", db], in: directory)
        #expect(!untagged.stdout.contains("gateway_drift"))

        let clients = try CLI.run(["clients", "--db", db, "--service-tags", Self.ownerTags], in: directory)
        #expect(clients.stdout.contains("gateway drift: gateway traffic from 20.50.10.4 stopped"))
        let readiness = try CLI.run([
            "readiness", "--db", db, "--quiet-days", "1", "--include-blocked", "--service-tags", Self.ownerTags,
        ])
        #expect(readiness.stdout.contains("warning: GATEWAY_DRIFT: gateway drift: gateway traffic from 20.50.10.4"))

        let (sampleDB, config) = try Self.sampleStore(directory)
        let sample = try CLI.run(
            [
                "alert", "check", "--dry-run", "--db", sampleDB, "--service-tags", Self.sampleTags,
            ],
            in: directory
        )
        #expect(!sample.stdout.contains("gateway_drift"), "\(sample.stdout)")
        let sampleClients = try CLI.run([
            "clients", "--db", sampleDB, "--config", config, "--service-tags", Self.sampleTags,
        ])
        #expect(!sampleClients.stdout.contains("gateway drift"))
    }

    /// APIM gateway log lines (JSON): `(seconds of day, backend status)` for GET /api/v1/orders.
    static func gatewayLog(_ requests: [(Int, Int)]) -> String {
        requests.enumerated().map { index, request in
            let (second, status) = request
            let time = String(format: "%02d:%02d:%02d", second / 3600, second / 60 % 60, second % 60)
            return """
                {"time":"2026-11-20T\(time).0000000Z","category":"GatewayLogs",\
                "operationName":"Microsoft.ApiManagement/GatewayLogs","durationMs":20,\
                "callerIpAddress":"198.51.100.\(index % 200)","correlationId":"c\(index)",\
                "properties":{"method":"GET","url":"https://contoso-apim.azure-api.net/v1/orders",\
                "responseCode":\(status),"apiId":"orders-api","operationId":"get-orders","backendMethod":"GET",\
                "backendUrl":"https://orders-api.azurewebsites.net/api/v1/orders",\
                "backendResponseCode":\(status),"backendTime":10}}
                """
        }.joined(separator: "\n") + "\n"
    }

    @Test("gateway_drift by the gateway's logs needs the caller's requests there (path, minute, status), not a client")
    func gatewayDriftByGatewayLogs() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func drift(backend: [(Int, String, String)], gateway: [(Int, Int)], name: String) throws -> String {
            try Self.log(backend).write(toFile: "\(directory)/u_ex\(name).log", atomically: true, encoding: .utf8)
            try Self.gatewayLog(gateway).write(toFile: "\(directory)/\(name).json", atomically: true, encoding: .utf8)
            let db = "\(directory)/\(name).db"
            let ingest = try CLI.run([
                "ingest", "--quiet", "--db", db, "--gateway", "20.50.10.4", "--gateway", "20.50.10.5",
                "\(directory)/u_ex\(name).log", "\(directory)/\(name).json",
            ])
            #expect(ingest.status == 0, "\(ingest.stderr)")
            let check = try CLI.run(["alert", "check", "--dry-run", "--db", db], in: directory)
            let clients = try CLI.run(["clients", "--db", db], in: directory)
            return check.stdout + clients.stdout
        }
        // Scale-in at noon: 20.50.10.4 stops, 20.50.10.5 carries on; an ordinary client first seen at
        // 12:07 is refused on the same path the gateway calls every minute (the backend answers it 200).
        var backend: [(Int, String, String)] = []
        var gateway: [(Int, Int)] = []
        for minute in 0..<1440 {
            backend.append((minute * 60, minute < 720 ? "20.50.10.4" : "20.50.10.5", "200 0"))
            gateway.append((minute * 60, 200))
            if minute >= 727, minute % 30 == 7 { backend.append((minute * 60 + 1, "198.51.100.9", "403 503")) }
        }
        let scaledIn = try drift(backend: backend, gateway: gateway, name: "261120")
        #expect(!scaledIn.contains("gateway_drift"), "\(scaledIn)")
        #expect(!scaledIn.contains("gateway drift"), "\(scaledIn)")
        // The gateway's new address: the gateway's own logs show the backend refusing it, same path and minute.
        backend = []
        gateway = []
        for minute in 0..<1440 {
            backend.append(
                (minute * 60, minute < 720 ? "20.50.10.4" : "20.50.99.7", minute < 720 ? "200 0" : "403 503")
            )
            gateway.append((minute * 60, minute < 720 ? 200 : 403))
        }
        let drifted = try drift(backend: backend, gateway: gateway, name: "261121")
        #expect(drifted.contains("gateway_drift"), "\(drifted)")
        #expect(drifted.contains("gateway traffic from 20.50.10.4 stopped"), "\(drifted)")
        #expect(drifted.contains("20.50.99.7 (its requests match the gateway's own logs"), "\(drifted)")
    }

    @Test("--rdns-timeout-ms and --rdns-ttl-hours past their bounds are refused, not overflowed")
    func reverseDNSBounds() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.log([(60, "45.33.1.1", "403 503")]).write(
            toFile: directory + "/u_ex261120.log",
            atomically: true,
            encoding: .utf8
        )
        let db = directory + "/bounds.db"
        let ingest = try CLI.run([
            "ingest", "--quiet", "--db", db, "--gateway", "20.50.10.4", directory + "/u_ex261120.log",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        for (option, value) in [("--rdns-timeout-ms", "9999999999999999"), ("--rdns-ttl-hours", "9999999999999999")] {
            let run = try CLI.run([
                "clients", "--db", db, "--resolve-names", "--resolver", "127.0.0.1:9", "--rdns-timeout-ms", "50",
                option, value,
            ])
            #expect(run.status == 2, "\(option): \(run.status) \(run.stderr.prefix(300))")
            #expect(run.stderr.contains("\(option) must be"), "\(run.stderr.prefix(300))")
        }
    }

    @Test("--resolve-names asks the configured resolver, caches answers with their time, and escapes PTR text")
    func reverseDNS() throws {
        let directory = try CLI.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hostile: [UInt8] = Array("<script>\u{1B}[2J\"".utf8)
        let server = try TinyDNSServer(
            answers: [
                "1.1.33.45.in-addr.arpa": [Array("api-client".utf8), Array("example".utf8), Array("net".utf8)],
                "2.1.33.45.in-addr.arpa": [hostile, Array("evil".utf8)],
                // 45.33.1.3 gets NXDOMAIN; 45.33.1.4 no answer at all (timeout).
            ],
            silent: ["4.1.33.45.in-addr.arpa"]
        )
        defer { server.stop() }
        var requests: [(Int, String, String)] = []
        for index in 0..<40 { requests.append((index * 60, "45.33.1.\(1 + index % 4)", "403 503")) }
        requests.append((3000, "10.1.2.3", "200 0"))
        try Self.log(requests).write(toFile: directory + "/u_ex261120.log", atomically: true, encoding: .utf8)
        let db = directory + "/rdns.db"
        let ingest = try CLI.run([
            "ingest", "--quiet", "--db", db, "--gateway", "20.50.10.4", directory + "/u_ex261120.log",
        ])
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let resolve = ["--resolve-names", "--resolver", "127.0.0.1:\(server.port)", "--rdns-timeout-ms", "300"]
        let started = Date()
        let json = try CLI.run(["clients", "--db", db, "--format", "json"] + resolve, in: directory)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        let clients = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        func owner(_ address: String) -> [String: String]? {
            clients.first { $0["address"] as? String == address }?["owner"] as? [String: String]
        }
        #expect(owner("45.33.1.1")?["name"] == "api-client.example.net")
        #expect(owner("45.33.1.1")?["source"] == "rdns")
        #expect(owner("45.33.1.2")?["name"] == "\\060script\\062\\027\\0912J\\034.evil")
        #expect(owner("45.33.1.3") == nil)
        #expect(owner("45.33.1.4") == nil)
        #expect(owner("10.1.2.3")?["name"] == "private (RFC 1918)")  // never asked: a special range
        #expect(server.queried.withLock { $0["3.2.1.10.in-addr.arpa"] } == nil)
        for format in ["table", "csv", "json", "ndjson"] {
            let output = try CLI.run(["clients", "--db", db, "--format", format] + resolve, in: directory)
            #expect(!output.stdout.contains("<script"), "\(format)")
            #expect(!output.stdout.contains("\u{1B}"), "\(format)")
        }
        // Cached: names and "none" are not asked again within the TTL; the timed-out one is.
        let asked = server.queried.withLock { $0 }
        #expect(asked["1.1.33.45.in-addr.arpa"] == 1)
        #expect(asked["3.1.33.45.in-addr.arpa"] == 1)
        #expect((asked["4.1.33.45.in-addr.arpa"] ?? 0) >= 2)
        let cached = try CLI.run([
            "sql", "--db", db, "SELECT address, name, resolved_at FROM rdns_cache ORDER BY address",
        ])
        #expect(cached.stdout.contains("45.33.1.1"), "\(cached.stdout)\(cached.stderr)")
        // TTL 0: everything is asked again.
        _ = try CLI.run(["clients", "--db", db, "--rdns-ttl-hours", "0"] + resolve, in: directory)
        #expect(server.queried.withLock { $0["1.1.33.45.in-addr.arpa"] } == 2)
        // A bad resolver is a usage error, not silence.
        let bad = try CLI.run(
            ["clients", "--db", db, "--resolve-names", "--resolver", "dns.example:53"],
            in: directory
        )
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("cannot use resolver"))
    }
}

/// The reverse DNS cache on PostgreSQL (the `rdns-cache-v1` migration of both engines).
@Suite(.enabled(if: TestPostgres.available)) struct OwnerPostgresTests {
    @Test("rdns_cache stores answers on PostgreSQL and serves them within the TTL")
    func cacheOnPostgres() throws {
        let server = try TinyDNSServer(answers: ["1.1.33.45.in-addr.arpa": [Array("pg".utf8), Array("example".utf8)]])
        defer { server.stop() }
        let store = try Store(path: try TestPostgres.makeDatabase())
        let resolver = try ReverseDNSResolver(resolver: "127.0.0.1:\(server.port)", timeoutMilliseconds: 300)
        let cache = ReverseDNSCache(resolver: resolver, ttlSeconds: 3600)
        let address = try #require(IPAddress("45.33.1.1"))
        let first = try cache.owners(for: ["45.33.1.1", "45.33.1.9"], store: store, now: 1_800_000_000)
        #expect(first[address]?.name == "pg.example")
        #expect(first[address]?.detail == "PTR, resolved 2027-01-15T08:00:00Z")
        let again = try cache.owners(for: ["45.33.1.1", "45.33.1.9"], store: store, now: 1_800_000_600)
        #expect(again == first)
        #expect(server.queried.withLock { $0 } == ["1.1.33.45.in-addr.arpa": 1, "9.1.33.45.in-addr.arpa": 1])
        _ = try cache.owners(for: ["45.33.1.1"], store: store, now: 1_800_003_601)
        #expect(server.queried.withLock { $0["1.1.33.45.in-addr.arpa"] } == 2)
    }
}

/// A tiny DNS responder on 127.0.0.1 (UDP) that answers PTR queries from a table, with the
/// answer's owner name compressed (a pointer to the question); unknown names get NXDOMAIN and
/// `silent` names no answer at all.
final class TinyDNSServer: Sendable {
    let port: UInt16
    /// Queries received per name.
    let queried = Mutex<[String: Int]>([:])
    private let socket: Int32
    private let stopped = Mutex(false)

    private let answers: [String: [[UInt8]]]
    private let silent: Set<String>

    init(answers: [String: [[UInt8]]], silent: Set<String> = []) throws {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, length) == 0 && getsockname(descriptor, raw, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw POSIXError(.EADDRINUSE) }
        socket = descriptor
        port = UInt16(bigEndian: address.sin_port)
        self.answers = answers
        self.silent = silent
        Thread.detachNewThread { [self] in serve() }
    }

    func stop() {
        stopped.withLock { $0 = true }
        Thread.sleep(forTimeInterval: 0.15)
        close(socket)
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while !stopped.withLock({ $0 }) {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    buffer.withUnsafeMutableBytes { recvfrom(socket, $0.baseAddress, 512, 0, address, &peerLength) }
                }
            }
            guard count > 12 else { continue }
            let query = Array(buffer[0..<count])
            var offset = 12
            var labels: [String] = []
            while offset < query.count, query[offset] != 0 {
                let length = Int(query[offset])
                labels.append(String(decoding: query[(offset + 1)..<(offset + 1 + length)], as: UTF8.self))
                offset += 1 + length
            }
            let name = labels.joined(separator: ".")
            queried.withLock { $0[name, default: 0] += 1 }
            if silent.contains(name) { continue }
            var reply = Array(query[0..<(offset + 5)])
            reply[2] = 0x81
            if let target = answers[name] {
                reply[3] = 0x80
                reply[7] = 1
                var rdata: [UInt8] = []
                for label in target { rdata += [UInt8(label.count)] + label }
                rdata.append(0)
                reply +=
                    [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
            } else {
                reply[3] = 0x83
            }
            _ = withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    reply.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, 0, address, peerLength) }
                }
            }
        }
    }
}
