import Foundation

extension Correlation {
    /// Pairs backend rows with gateway rows: by request id, then per method × path in time order.
    struct Matcher {
        let backend: [BackendRow]
        let gateway: [GatewayRow]
        let since: Int64
        let until: Int64
        let options: CorrelationOptions
        /// The `--request-id-field`, when given: only rows in ``requestIDRows`` join exactly.
        var requestIDField: String?
        var requestIDRows: Set<Int64> = []
        private(set) var unmatchedBackendRows: [BackendRow] = []
        private(set) var unmatchedGatewayRows: [GatewayRow] = []

        init(backend: [BackendRow], gateway: [GatewayRow], since: Int64, until: Int64, options: CorrelationOptions) {
            self.backend = backend
            self.gateway = gateway
            self.since = since
            self.until = until
            self.options = options
        }

        struct Key: Hashable {
            var method: String
            var path: String
        }

        struct BucketKey: Hashable, Comparable {
            var minute: Int64
            var method: String
            var path: String

            static func < (lhs: BucketKey, rhs: BucketKey) -> Bool {
                (lhs.minute, lhs.method, lhs.path) < (rhs.minute, rhs.method, rhs.path)
            }
        }

        struct BucketCounts {
            var backend = 0
            var gateway = 0
            var matched = 0
            var backendOnly = 0
            var gatewayOnly = 0
        }

        /// Method and path as compared: upper-case method; lower-case path without a trailing `/`.
        static func key(method: String, path: String) -> Key {
            var normalised = path.lowercased()
            while normalised.count > 1, normalised.hasSuffix("/") { normalised.removeLast() }
            return Key(method: method.uppercased(), path: normalised)
        }

        static func median(_ values: [Int64]) -> Int64 {
            guard !values.isEmpty else { return 0 }
            let sorted = values.sorted()
            let middle = sorted.count / 2
            return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        }

        func backendInRange(_ row: BackendRow) -> Bool { row.seconds >= since && row.seconds < until }
        func gatewayInRange(_ row: GatewayRow) -> Bool {
            row.milliseconds >= since * 1000 && row.milliseconds < until * 1000
        }

        mutating func run() -> CorrelationReport {
            var gatewayUsed = [Bool](repeating: false, count: gateway.count)
            var backendMatched = [Bool](repeating: false, count: backend.count)
            var offsets: [Int64] = []
            // 1. Exact join on the request id.
            var byID: [String: [Int]] = [:]
            for (index, row) in gateway.enumerated() {
                if let id = row.requestID { byID[id, default: []].append(index) }
            }
            var eligible = [Bool](repeating: false, count: backend.count)
            var exactRows = 0
            for (index, row) in backend.enumerated() {
                guard let id = row.requestID else { continue }
                if requestIDField != nil, !requestIDRows.contains(row.id) { continue }
                eligible[index] = true
                if backendInRange(row) { exactRows += 1 }
                if let candidates = byID[id], let found = candidates.first(where: { !gatewayUsed[$0] }) {
                    gatewayUsed[found] = true
                    backendMatched[index] = true
                    offsets.append(row.seconds * 1000 + 500 - gateway[found].milliseconds)
                }
            }
            // 2. The rest, statistically, per method × path.
            var backendGroups: [Key: [Int]] = [:]
            for (index, row) in backend.enumerated() where !eligible[index] {
                backendGroups[Self.key(method: row.method, path: row.path), default: []].append(index)
            }
            var gatewayGroups: [Key: [Int]] = [:]
            for (index, row) in gateway.enumerated() where !gatewayUsed[index] {
                gatewayGroups[Self.key(method: row.method, path: row.path), default: []].append(index)
            }
            let skew: Int64
            if !offsets.isEmpty {
                skew = Self.median(offsets)
            } else {
                skew = Self.median(nearestOffsets(backendGroups: backendGroups, gatewayGroups: gatewayGroups))
            }
            let window = options.windowMilliseconds
            var statisticalRows = 0
            for (key, backendIndices) in backendGroups {
                let gatewayIndices = gatewayGroups[key] ?? []
                var next = 0
                for index in backendIndices {
                    if backendInRange(backend[index]) { statisticalRows += 1 }
                    let start = backend[index].seconds * 1000 - skew - window
                    let end = backend[index].seconds * 1000 + 1000 - skew + window
                    while next < gatewayIndices.count, gateway[gatewayIndices[next]].milliseconds < start { next += 1 }
                    if next < gatewayIndices.count, gateway[gatewayIndices[next]].milliseconds <= end {
                        gatewayUsed[gatewayIndices[next]] = true
                        backendMatched[index] = true
                        next += 1
                    }
                }
            }
            // 3. Counts, lists and buckets over the compared period.
            var report = CorrelationReport(
                method: exactRows > 0 ? "request-id" : "statistical",
                granularity: "request",
                backendFromGateway: 0,
                matched: 0,
                unmatchedBackend: 0,
                unmatchedGateway: 0,
                coverage: 0,
                skewSeconds: Double(skew) / 1000,
                windowSeconds: Double(window) / 1000,
                since: UTCTime.format(since),
                until: UTCTime.format(until),
                unmatched: [],
                unmatchedGatewayRequests: [],
                buckets: [],
                notes: []
            )
            var buckets: [BucketKey: BucketCounts] = [:]
            for (index, row) in backend.enumerated() where backendInRange(row) {
                let bucket = BucketKey(
                    minute: GatewayRecord.floorDivide(row.seconds, 60) * 60,
                    method: row.method.uppercased(),
                    path: GatewayText.template(row.path)
                )
                report.backendFromGateway += 1
                buckets[bucket, default: BucketCounts()].backend += 1
                if backendMatched[index] {
                    report.matched += 1
                    buckets[bucket, default: BucketCounts()].matched += 1
                } else {
                    report.unmatchedBackend += 1
                    buckets[bucket, default: BucketCounts()].backendOnly += 1
                    unmatchedBackendRows.append(row)
                }
            }
            for (index, row) in gateway.enumerated() where gatewayInRange(row) {
                let bucket = BucketKey(
                    minute: GatewayRecord.floorDivide(row.milliseconds, 60_000) * 60,
                    method: row.method.uppercased(),
                    path: GatewayText.template(row.path)
                )
                buckets[bucket, default: BucketCounts()].gateway += 1
                if !gatewayUsed[index] {
                    report.unmatchedGateway += 1
                    buckets[bucket, default: BucketCounts()].gatewayOnly += 1
                    unmatchedGatewayRows.append(row)
                }
            }
            for key in buckets.keys.sorted() {
                guard let counts = buckets[key], counts.backendOnly + counts.gatewayOnly > 0 else { continue }
                guard report.buckets.count < options.listLimit else { break }
                report.buckets.append(
                    CorrelationReport.Bucket(
                        time: UTCTime.format(key.minute),
                        method: key.method,
                        path: key.path,
                        status: -1,
                        backend: counts.backend,
                        gateway: counts.gateway,
                        matched: counts.matched,
                        backendOnly: counts.backendOnly,
                        gatewayOnly: counts.gatewayOnly
                    )
                )
            }
            report.coverage =
                report.backendFromGateway > 0 ? Double(report.matched) / Double(report.backendFromGateway) : 0
            report.notes = notes(report: report, exactRows: exactRows, statisticalRows: statisticalRows)
            return report
        }

        /// Offsets (backend midpoint minus gateway time, ms) of each backend row to the nearest
        /// gateway row of its group within 30 s.
        func nearestOffsets(backendGroups: [Key: [Int]], gatewayGroups: [Key: [Int]]) -> [Int64] {
            var offsets: [Int64] = []
            for (key, backendIndices) in backendGroups {
                guard let gatewayIndices = gatewayGroups[key], !gatewayIndices.isEmpty else { continue }
                var next = 0
                for index in backendIndices {
                    let middle = backend[index].seconds * 1000 + 500
                    while next + 1 < gatewayIndices.count, gateway[gatewayIndices[next + 1]].milliseconds <= middle {
                        next += 1
                    }
                    var best: Int64?
                    for candidate in [next, next + 1] where candidate < gatewayIndices.count {
                        let offset = middle - gateway[gatewayIndices[candidate]].milliseconds
                        if abs(offset) <= 30_000, best.map({ abs(offset) < abs($0) }) ?? true { best = offset }
                    }
                    if let best { offsets.append(best) }
                }
            }
            return offsets
        }

        func notes(report: CorrelationReport, exactRows: Int, statisticalRows: Int) -> [String] {
            var notes = ["compared \(report.since) – \(report.until), the period both sources cover"]
            let window = String(format: "%.1f", report.windowSeconds)
            let skew = String(format: "%+.1f", report.skewSeconds)
            if exactRows > 0 {
                notes.append("\(exactRows) backend requests joined on the gateway's request id (exact)")
            }
            if statisticalRows > 0 {
                notes.append(
                    "statistical: \(statisticalRows) backend requests without a request id were paired with gateway "
                        + "calls per method × path within ±\(window) s after removing a skew of \(skew) s; the counts "
                        + "are reliable, but which of two same-path requests is the unmatched one is a best guess"
                )
            }
            if report.unmatchedBackend > 0 {
                notes.append(
                    "\(report.unmatchedBackend) backend requests came from a gateway address but not through this "
                        + "gateway: another tenant on a shared gateway address, a forged source, or missing gateway logs"
                )
            }
            if report.unmatchedGateway > 0 {
                notes.append(
                    "\(report.unmatchedGateway) gateway backend calls have no backend log line: lost backend logs, "
                        + "or calls to another backend"
                )
            }
            return notes
        }
    }
}
