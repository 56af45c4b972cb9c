import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the metrics file could not be written.
public enum MetricsError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The temporary file could not be written or renamed into place.
    case cannotWrite(path: String, errno: Int32)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotWrite(let path, let code):
            "cannot write metrics file '\(path)': \(String(cString: strerror(code))); check that its directory exists and is writable"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// The store's totals, as Prometheus metrics.
public struct StoreTotals: Sendable, Equatable {
    /// Requests per (verdict, outcome); outcome is `""` except for direct and platform-denied rows.
    public var requests: [String: [String: Int]] = [:]
    /// Lines read (all files in the ledger).
    public var lines = 0
    /// Malformed lines.
    public var malformed = 0
    /// Ledger rows per status (`complete`, `error`).
    public var files: [String: Int] = [:]
    /// The newest request time, Unix seconds.
    public var newestData: Int64?
    /// The last ledger change, Unix seconds.
    public var lastIngest: Int64?
    /// Alerts recorded, per rule.
    public var alerts: [String: Int] = [:]
    /// Alerts recorded with at least one failed sink, per rule.
    public var alertDeliveryFailures: [String: Int] = [:]

    /// Reads the totals (one pass over `hourly`; the other tables are small).
    ///
    /// - Parameter store: The store.
    /// - Returns: The totals.
    /// - Throws: Database errors.
    public static func read(from store: Store) throws -> StoreTotals {
        var totals = StoreTotals()
        try store.query { db in
            try db.forEachRow("SELECT verdict, outcome, SUM(requests) AS n FROM hourly GROUP BY verdict, outcome", []) {
                row in
                totals.requests[row["verdict"], default: [:]][row["outcome"]] = row["n"] as Int
            }
            try totals.readLedger(db)
        }
        return totals
    }

    /// Refreshes the ledger, freshness and alert counts (cheap: no pass over `hourly`).
    mutating func readLedger(_ db: any SQLDatabase) throws {
        files = [:]
        lines = 0
        malformed = 0
        try db.forEachRow(
            """
            SELECT status, COUNT(*) AS n, SUM(lines) AS lines, SUM(malformed) AS malformed
            FROM files WHERE status != 'ingesting' GROUP BY status
            """,
            []
        ) { row in
            files[row["status"]] = row["n"] as Int
            lines += (row.optional(Int.self, named: "lines") ?? 0)
            malformed += (row.optional(Int.self, named: "malformed") ?? 0)
        }
        newestData = AlertTime.parse(try db.value(String.self, "SELECT MAX(last_time) FROM files"))
        lastIngest = AlertTime.parse(try db.value(String.self, "SELECT MAX(updated_at) FROM files"))
        alerts = [:]
        alertDeliveryFailures = [:]
        if try PortableSQL.hasTable(db, "alerts") {
            try db.forEachRow(
                """
                SELECT rule, COUNT(*) AS n, SUM(CASE WHEN sinks_failed > 0 THEN 1 ELSE 0 END) AS failed
                FROM alerts GROUP BY rule
                """,
                []
            ) { row in
                alerts[row["rule"]] = row["n"] as Int
                alertDeliveryFailures[row["rule"]] = row["failed"] as Int
            }
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    ///
    /// - Parameters:
    ///   - now: Unix seconds, for the lag.
    ///   - extra: Further samples (name, labels, value) from the caller, e.g. the follow loop's
    ///     counters; each name gets a `# TYPE` line of `gauge` unless it ends in `_total`.
    /// - Returns: The metrics file's text.
    public func prometheusText(now: Int64, extra: [(String, [String: String], Double)] = []) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [String: String], _ value: Double) {
            let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            text += name + (rendered.isEmpty ? "" : "{" + rendered.joined(separator: ",") + "}") + " \(number)\n"
        }
        family(
            "gatewatch_requests_total",
            "counter",
            "Requests ingested, by verdict and outcome (blocked/served for direct and platform-denied)."
        )
        for verdict in Verdict.allCases {
            let outcomes = requests[verdict.rawValue] ?? [:]
            let names = verdict == .direct ? ["blocked", "served"] : Array(Set(outcomes.keys).union([""])).sorted()
            for outcome in names {
                sample(
                    "gatewatch_requests_total",
                    ["verdict": verdict.rawValue, "outcome": outcome],
                    Double(outcomes[outcome] ?? 0)
                )
            }
        }
        family("gatewatch_lines_total", "counter", "Lines read from all ingested files.")
        sample("gatewatch_lines_total", [:], Double(lines))
        family("gatewatch_malformed_lines_total", "counter", "Lines that are not valid records.")
        sample("gatewatch_malformed_lines_total", [:], Double(malformed))
        family("gatewatch_files", "gauge", "Inputs in the ledger, by status.")
        for status in Array(Set(files.keys).union(["complete", "error"])).sorted() {
            sample("gatewatch_files", ["status": status], Double(files[status] ?? 0))
        }
        family(
            "gatewatch_lag_seconds",
            "gauge",
            "Seconds from the newest request in the store to now (-1 when the store is empty)."
        )
        sample("gatewatch_lag_seconds", [:], newestData.map { Double(now - $0) } ?? -1)
        family("gatewatch_newest_data_timestamp_seconds", "gauge", "Unix time of the newest request in the store.")
        sample("gatewatch_newest_data_timestamp_seconds", [:], Double(newestData ?? 0))
        family("gatewatch_last_ingest_timestamp_seconds", "gauge", "Unix time the ledger last changed.")
        sample("gatewatch_last_ingest_timestamp_seconds", [:], Double(lastIngest ?? 0))
        family("gatewatch_alerts_total", "counter", "Alerts raised, by rule.")
        for (rule, count) in alerts.sorted(by: { $0.key < $1.key }) {
            sample("gatewatch_alerts_total", ["rule": rule], Double(count))
        }
        family(
            "gatewatch_alert_delivery_failures_total",
            "counter",
            "Alerts that at least one sink failed to deliver, by rule."
        )
        for (rule, count) in alertDeliveryFailures.sorted(by: { $0.key < $1.key }) {
            sample("gatewatch_alert_delivery_failures_total", ["rule": rule], Double(count))
        }
        var typed = Set<String>()
        for (name, labels, value) in extra {
            if typed.insert(name).inserted {
                text += "# TYPE \(name) \(name.hasSuffix("_total") ? "counter" : "gauge")\n"
            }
            sample(name, labels, value)
        }
        return text
    }

    /// Escapes a label value (backslash, double quote, newline).
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Writes a file atomically: a temporary file in the same directory, fsync, then rename, so a
/// reader (node_exporter's textfile collector) never sees a half-written file.
public enum AtomicFile {
    /// Replaces `path` with `text`.
    ///
    /// - Parameters:
    ///   - text: The new contents.
    ///   - path: The file.
    /// - Throws: ``MetricsError``.
    public static func write(_ text: String, to path: String) throws(MetricsError) {
        // node_exporter ignores files not ending in .prom, so the temporary name cannot be read half-done.
        let temporary = path + ".\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: path, errno: errno) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw .cannotWrite(path: path, errno: code)
            }
            written += result
        }
        fsync(descriptor)
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .cannotWrite(path: path, errno: code)
        }
    }
}
