import Foundation
import GRDB
import Testing

@testable import GatewatchCore

/// `correlate` on generated backend + gateway logs whose truth is known.
@Suite struct GatewayCorrelationTests {
    /// A generated pair of logs.
    struct Pair {
        var backendLog = ""
        var gatewayLog = ""
        /// Backend rows from gateway addresses: (seconds, method, path, status, line, request id).
        var backendRows: [(Int64, String, String, Int, Int, String)] = []
        var plantedBackendLines: [Int] = []
        var plantedGatewayIDs: [String] = []
        var trueRequests = 0
    }

    static let start: Int64 = 1_795_428_000  // 2026-11-23T10:00:00Z

    static func w3cTime(_ seconds: Int64) -> String {
        let text = UTCTime.format(seconds)  // 2026-11-23T10:00:00Z
        return String(text.prefix(10)) + " " + String(text.dropFirst(11).prefix(8))
    }

    static func isoMilliseconds(_ milliseconds: Int64) -> String {
        let text = UTCTime.format(milliseconds / 1000)
        return String(text.dropLast()) + "." + String(format: "%03d", Int(milliseconds % 1000)) + "0000Z"
    }

    static func gatewayLine(
        time: Int64,
        id: String,
        caller: String,
        method: String,
        path: String,
        backend: Bool
    ) -> String {
        var properties: [String: Any] = [
            "method": method, "url": "https://contoso-apim.azure-api.net/orders/v1" + path,
            "responseCode": backend ? 200 : 429, "apiId": "orders-api", "operationId": "op",
        ]
        if backend {
            properties["backendMethod"] = method
            properties["backendUrl"] = "https://orders-api.azurewebsites.net" + path + "?x=1"
            properties["backendResponseCode"] = 200
        }
        let record: [String: Any] = [
            "time": isoMilliseconds(time), "category": "GatewayLogs", "callerIpAddress": caller,
            "correlationId": id,
            "resourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/CONTOSO-APIM",
            "properties": properties,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// 400 true requests, 5 backend hits from a gateway address that the gateway never made,
    /// 3 gateway calls the backend never logged, direct traffic and gateway-only 429s.
    static func generate(skewMilliseconds: Int64, seed: UInt64 = 7) -> Pair {
        var random = SplitMix64(state: seed)
        var pair = Pair()
        var backendEntries: [(Int64, String, String, String, String)] = []  // seconds, client, method, path, id
        var gatewayLines: [(Int64, String)] = []
        func uuid(_ n: Int) -> String { String(format: "5e1f%04x-0000-4000-8000-%012x", n % 65_536, n) }
        // Anchors: the same period on both sides.
        backendEntries.append((start - 60, "203.0.113.9", "GET", "/", "-"))
        backendEntries.append((start + 660, "203.0.113.9", "GET", "/", "-"))
        gatewayLines.append(
            (
                start * 1000 - 60_000,
                gatewayLine(
                    time: start * 1000 - 60_000,
                    id: uuid(900_001),
                    caller: "198.51.100.7",
                    method: "POST",
                    path: "/orders",
                    backend: false
                )
            )
        )
        gatewayLines.append(
            (
                start * 1000 + 660_000,
                gatewayLine(
                    time: start * 1000 + 660_000,
                    id: uuid(900_002),
                    caller: "198.51.100.7",
                    method: "POST",
                    path: "/orders",
                    backend: false
                )
            )
        )
        for index in 0..<400 {
            let time = (start + 10) * 1000 + Int64.random(in: 0..<580_000, using: &random)
            let roll = Int.random(in: 0..<10, using: &random)
            let method = roll < 2 ? "POST" : "GET"
            let path =
                roll < 2
                ? "/api/v1/orders"
                : roll < 5 ? "/api/v1/orders" : "/api/v1/orders/\(Int.random(in: 1..<5000, using: &random))"
            let id = uuid(index)
            let latency = Int64.random(in: 0..<300, using: &random)
            let logged = GatewayRecord.floorDivide(time + latency + skewMilliseconds, 1000)
            let gateway = index % 2 == 0 ? "20.50.10.4" : "20.50.10.5"
            backendEntries.append((logged, gateway, method, path, id))
            gatewayLines.append(
                (
                    time,
                    gatewayLine(
                        time: time,
                        id: id,
                        caller: "192.0.2.\(index % 200)",
                        method: method,
                        path: path,
                        backend: true
                    )
                )
            )
            if index % 40 == 0 {
                let direct = GatewayRecord.floorDivide(time, 1000)
                backendEntries.append((direct, "203.0.113.\(index % 50)", "GET", "/api/v1/orders", "-"))
            }
        }
        pair.trueRequests = 400
        for planted in 0..<5 {
            let seconds = start + 60 + Int64(planted) * 100
            backendEntries.append(
                (seconds, "20.50.10.4", "GET", "/api/v1/invoices/\(90_001 + planted)", uuid(800_000 + planted))
            )
        }
        for planted in 0..<3 {
            let time = (start + 90 + Int64(planted) * 150) * 1000 + 250
            let id = uuid(700_000 + planted)
            pair.plantedGatewayIDs.append(id)
            gatewayLines.append(
                (
                    time,
                    gatewayLine(
                        time: time,
                        id: id,
                        caller: "192.0.2.77",
                        method: "DELETE",
                        path: "/api/v1/orders/\(80_001 + planted)",
                        backend: true
                    )
                )
            )
        }
        backendEntries.sort { $0.0 < $1.0 }
        pair.backendLog =
            "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n"
            + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
            + "cs(Referer) sc-status sc-substatus sc-win32-status time-taken x-correlation-id\r\n"
        var line = 3
        for (seconds, client, method, path, id) in backendEntries {
            line += 1
            pair.backendLog +=
                "\(w3cTime(seconds)) 10.0.1.4 \(method) \(path) - 443 - \(client) okhttp/4.12.0 - 200 0 0 12 \(id)\r\n"
            if client.hasPrefix("20.50.10.") {
                pair.backendRows.append((seconds, method, path, 200, line, id))
                if path.hasPrefix("/api/v1/invoices/") { pair.plantedBackendLines.append(line) }
            }
        }
        pair.gatewayLog = gatewayLines.sorted { $0.0 < $1.0 }.map(\.1).joined()
        return pair
    }

    /// Ingests the pair; fills `backend_gateway_requests` as the W3C path is specified to.
    static func load(_ pair: Pair, withRequestID: Bool, fillBackendRows: Bool = true) throws -> (Store, String) {
        let directory = try TestSupport.scratchDirectory()
        try TestSupport.write(Data(pair.backendLog.utf8), to: directory + "/u_ex261123.log")
        try TestSupport.write(Data(pair.gatewayLog.utf8), to: directory + "/PT1H.json")
        let db = directory + "/t.db"
        let report = try TestSupport.ingest([directory + "/u_ex261123.log", directory + "/PT1H.json"], db: db) {
            $0.gateways = [CIDR("20.50.10.4"), CIDR("20.50.10.5")].compactMap { $0 }
        }
        #expect(report.filesNew == 2)
        let queue = try DatabaseQueue(path: db)
        try queue.write { db in
            try db.execute(sql: "DELETE FROM backend_gateway_requests")
            guard fillBackendRows else { return }
            let fileID = try Int64.fetchOne(db, sql: "SELECT id FROM files WHERE format = 'w3c'") ?? 0
            for (seconds, method, path, status, line, id) in pair.backendRows {
                try db.execute(
                    sql: """
                        INSERT INTO backend_gateway_requests (time, file_id, line, site, address, method, path, status,
                            substatus, request_id, request_id_field)
                        VALUES (?, ?, ?, '', '20.50.10.4', ?, ?, ?, 0, ?, ?)
                        """,
                    arguments: [
                        UTCTime.format(seconds), fileID, line, method, path, status,
                        withRequestID ? id : nil, withRequestID ? "x-correlation-id" : nil,
                    ]
                )
            }
        }
        return (try Store(path: db, readOnly: true), directory)
    }

    @Test(
        "every planted unmatched request is found and nothing else, with and without a request id, under skew",
        arguments: [(true, Int64(0)), (true, 1000), (true, -1000), (false, 0), (false, 1000), (false, -1000)]
    )
    func plantedTruth(withRequestID: Bool, skew: Int64) throws {
        let pair = Self.generate(skewMilliseconds: skew)
        let (store, _) = try Self.load(pair, withRequestID: withRequestID)
        var options = CorrelationOptions()
        if withRequestID { options.requestIDField = "X-Correlation-ID" }
        let report = try Correlation.run(store: store, options: options)
        #expect(report.method == (withRequestID ? "request-id" : "statistical"))
        #expect(report.granularity == "request")
        #expect(report.backendFromGateway == pair.trueRequests + 5)
        #expect(report.matched == pair.trueRequests)
        #expect(report.unmatchedBackend == 5)
        #expect(report.unmatchedGateway == 3)
        #expect(report.unmatched.map(\.line) == pair.plantedBackendLines.map(Int64.init))
        #expect(
            report.unmatched.allSatisfy {
                $0.file.hasSuffix("u_ex261123.log") && $0.path.hasPrefix("/api/v1/invoices/")
            }
        )
        #expect(report.unmatchedGatewayRequests.map(\.requestID) == pair.plantedGatewayIDs)
        #expect(abs(report.coverage - Double(pair.trueRequests) / Double(pair.trueRequests + 5)) < 1e-9)
        #expect(abs(report.skewSeconds - Double(skew) / 1000) < 0.5)
        #expect(report.notes.contains { $0.contains(withRequestID ? "exact" : "statistical") })
        #expect(report.buckets.reduce(0) { $0 + $1.backendOnly } == 5)
    }

    @Test("without per-request backend rows, the hourly fallback is coarse and says so")
    func hourlyFallback() throws {
        let pair = Self.generate(skewMilliseconds: 0)
        let (store, _) = try Self.load(pair, withRequestID: false, fillBackendRows: false)
        let report = try Correlation.run(store: store, options: CorrelationOptions())
        #expect(report.granularity == "hour")
        #expect(report.method == "statistical")
        #expect(report.backendFromGateway == 405)
        // 5 backend-only and 3 gateway-only in the same hour and status: only the difference shows.
        #expect(report.unmatchedBackend == 2)
        #expect(report.unmatchedGateway == 0)
        #expect(report.unmatched.isEmpty)
        #expect(report.notes.first?.contains("coarse") == true)
        let error = #expect(throws: CorrelationError.self) {
            var options = CorrelationOptions()
            options.requestIDField = "x-correlation-id"
            _ = try Correlation.run(store: store, options: options)
        }
        #expect(error?.description.contains("no stored backend request carries a 'x-correlation-id' field") == true)
    }

    @Test("errors explain what to ingest")
    func errors() throws {
        let directory = try TestSupport.scratchDirectory()
        _ = try Store(path: directory + "/t.db")
        let store = try Store(path: directory + "/t.db", readOnly: true)
        let error = #expect(throws: CorrelationError.self) {
            try Correlation.run(store: store, options: CorrelationOptions())
        }
        #expect(error?.description.hasPrefix("the store holds no gateway records; ingest") == true)
        #expect(throws: CorrelationError.badWindow("soon")) { try CorrelationOptions.parseWindow("soon") }
        #expect(try CorrelationOptions.parseWindow("1500ms") == 1500)
        #expect(try CorrelationOptions.parseWindow("2s") == 2000)
        #expect(try CorrelationOptions.parseWindow("0.5") == 500)
    }

    @Test("JSON output keeps the contract keys")
    func jsonContract() throws {
        let pair = Self.generate(skewMilliseconds: 0)
        let (store, _) = try Self.load(pair, withRequestID: true)
        let report = try Correlation.run(store: store, options: CorrelationOptions())
        let json = try JSONOutput.encode(report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        for key in [
            "method", "backend_from_gateway", "matched", "unmatched_backend", "unmatched_gateway", "coverage",
            "skew_seconds", "unmatched",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let first = try #require((object["unmatched"] as? [[String: Any]])?.first)
        for key in ["time", "address", "method", "path", "status", "file", "line"] {
            #expect(first[key] != nil, "missing unmatched.\(key)")
        }
        #expect(report.renderText().contains("Backend requests from gateway addresses with no gateway record"))
    }

    @Test("gateway-side queries rank callers and describe one address")
    func queries() throws {
        let pair = Self.generate(skewMilliseconds: 0)
        let (store, _) = try Self.load(pair, withRequestID: false)
        let top = try GatewayQueries.topCallers(store: store, range: .all, limit: 3)
        #expect(top.count == 3)
        #expect(top[0].requests >= top[1].requests)
        let stats = try GatewayQueries.addressStats(store: store, address: "198.51.100.7", range: .all)
        #expect(stats.requests == 2)
        #expect(stats.backendCalls == 0)
        #expect(stats.byResponseCode == ["429": 2])
        let none = try GatewayQueries.addressStats(store: store, address: "10.9.9.9", range: .all)
        #expect(none.requests == 0)
    }
}
