import Foundation
import GRDB

/// Gateway records held in memory until the ingest driver flushes them into the store.
///
/// Aggregates per minute (`gateway_minutes`) and per hour × caller (`gateway_callers`); one row
/// per backend call (`gateway_requests`) for `correlate`. Rows are written inside the input's
/// transaction, so the driver's ledger guarantees hold: a rolled-back input leaves nothing.
final class GatewaySink {
    struct MinuteKey: Hashable {
        var minute: Int64
        var gateway: String
        var apiID: String
        var operationID: String
        var method: String
        var backendPath: String
        var backendStatus: Int64
        var responseCode: Int64
    }

    struct MinuteValue {
        var requests: Int64 = 0
        var responseBytes: Int64 = 0
        var durationSum: Int64 = 0
        var durationMax: Int64 = 0
        var backendSum: Int64 = 0
        var first = Int64.max
        var last = Int64.min
    }

    struct CallerKey: Hashable {
        var hour: Int64
        var address: String
        var apiID: String
        var responseCode: Int64
    }

    struct CallerValue {
        var requests: Int64 = 0
        var backendCalls: Int64 = 0
        var responseBytes: Int64 = 0
        var first = Int64.max
        var last = Int64.min
    }

    struct RequestRow {
        var record: GatewayRecord
        var line: Int
    }

    private(set) var minutes: [MinuteKey: MinuteValue] = [:]
    private(set) var callers: [CallerKey: CallerValue] = [:]
    private(set) var requests: [RequestRow] = []
    private var templates: [String: String] = [:]

    /// The request times accepted; records dated outside are malformed.
    var dateWindow = DateWindow.unbounded

    /// Rows held in memory.
    var pendingRowCount: Int { minutes.count + callers.count + requests.count }

    /// Adds one record read at `line`.
    func add(_ record: GatewayRecord, line: Int) {
        let seconds = record.timeSeconds
        let template: String
        if let path = record.backendPath {
            if let known = templates[path] {
                template = known
            } else {
                template = GatewayText.template(path)
                if templates.count < 100_000 { templates[path] = template }
            }
        } else {
            template = ""
        }
        let minuteKey = MinuteKey(
            minute: GatewayRecord.floorDivide(seconds, 60) * 60,
            gateway: record.gateway,
            apiID: record.apiID,
            operationID: record.operationID,
            method: record.method,
            backendPath: template,
            backendStatus: record.calledBackend ? (record.backendStatus ?? 0) : GatewaySchema.noBackendCall,
            responseCode: record.responseCode
        )
        var minute = minutes[minuteKey] ?? MinuteValue()
        minute.requests += 1
        minute.responseBytes &+= record.responseBytes
        minute.durationSum &+= record.durationMilliseconds
        minute.durationMax = max(minute.durationMax, record.durationMilliseconds)
        minute.backendSum &+= record.backendMilliseconds
        minute.first = min(minute.first, seconds)
        minute.last = max(minute.last, seconds)
        minutes[minuteKey] = minute

        let callerKey = CallerKey(
            hour: GatewayRecord.floorDivide(seconds, 3600) * 3600,
            address: record.caller,
            apiID: record.apiID,
            responseCode: record.responseCode
        )
        var caller = callers[callerKey] ?? CallerValue()
        caller.requests += 1
        if record.calledBackend { caller.backendCalls += 1 }
        caller.responseBytes &+= record.responseBytes
        caller.first = min(caller.first, seconds)
        caller.last = max(caller.last, seconds)
        callers[callerKey] = caller

        if record.calledBackend { requests.append(RequestRow(record: record, line: line)) }
    }

    /// Writes what is held and empties it; at the end of an input, prunes old request rows.
    ///
    /// - Parameters:
    ///   - db: The database, inside the input's transaction.
    ///   - fileID: The ledger id of the input.
    ///   - final: Whether the input has ended.
    /// - Throws: Database errors.
    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws {
        if !minutes.isEmpty {
            let sql = """
                INSERT INTO gateway_minutes (minute, gateway, api_id, operation_id, method, backend_path,
                    backend_status, response_code, requests, response_bytes, duration_ms_sum, duration_ms_max,
                    backend_time_ms_sum, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (minute, gateway, api_id, operation_id, method, backend_path, backend_status,
                    response_code) DO UPDATE SET
                    requests = gateway_minutes.requests + excluded.requests,
                    response_bytes = gateway_minutes.response_bytes + excluded.response_bytes,
                    duration_ms_sum = gateway_minutes.duration_ms_sum + excluded.duration_ms_sum,
                    duration_ms_max = \(db.greatest("gateway_minutes.duration_ms_max", "excluded.duration_ms_max")),
                    backend_time_ms_sum = gateway_minutes.backend_time_ms_sum + excluded.backend_time_ms_sum,
                    first_seen = \(db.least("gateway_minutes.first_seen", "excluded.first_seen")),
                    last_seen = \(db.greatest("gateway_minutes.last_seen", "excluded.last_seen"))
                """
            // In key order: concurrent ingesters into one PostgreSQL store then take row locks in
            // the same order and cannot deadlock on each other.
            let ordered = minutes.sorted { lhs, rhs in
                let (a, b) = (lhs.key, rhs.key)
                if a.minute != b.minute { return a.minute < b.minute }
                return (a.gateway, a.apiID, a.operationID, a.method, a.backendPath)
                    < (b.gateway, b.apiID, b.operationID, b.method, b.backendPath)
                    || (a.gateway, a.apiID, a.operationID, a.method, a.backendPath)
                        == (b.gateway, b.apiID, b.operationID, b.method, b.backendPath)
                        && (a.backendStatus, a.responseCode) < (b.backendStatus, b.responseCode)
            }
            for (key, value) in ordered {
                try db.execute(
                    sql,
                    [
                        UTCTime.format(key.minute), key.gateway, key.apiID, key.operationID, key.method,
                        key.backendPath,
                        key.backendStatus, key.responseCode, value.requests, value.responseBytes, value.durationSum,
                        value.durationMax, value.backendSum, UTCTime.format(value.first), UTCTime.format(value.last),
                    ]
                )
            }
            minutes.removeAll(keepingCapacity: true)
        }
        if !callers.isEmpty {
            let sql = """
                INSERT INTO gateway_callers (hour, address, api_id, response_code, requests, backend_calls,
                    response_bytes, first_seen, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (hour, address, api_id, response_code) DO UPDATE SET
                    requests = gateway_callers.requests + excluded.requests,
                    backend_calls = gateway_callers.backend_calls + excluded.backend_calls,
                    response_bytes = gateway_callers.response_bytes + excluded.response_bytes,
                    first_seen = \(db.least("gateway_callers.first_seen", "excluded.first_seen")),
                    last_seen = \(db.greatest("gateway_callers.last_seen", "excluded.last_seen"))
                """
            let ordered = callers.sorted { lhs, rhs in
                (lhs.key.hour, lhs.key.address, lhs.key.apiID, lhs.key.responseCode)
                    < (rhs.key.hour, rhs.key.address, rhs.key.apiID, rhs.key.responseCode)
            }
            for (key, value) in ordered {
                try db.execute(
                    sql,
                    [
                        UTCTime.format(key.hour), key.address, key.apiID, key.responseCode, value.requests,
                        value.backendCalls, value.responseBytes, UTCTime.format(value.first),
                        UTCTime.format(value.last),
                    ]
                )
            }
            callers.removeAll(keepingCapacity: true)
        }
        if !requests.isEmpty {
            let sql = """
                INSERT INTO gateway_requests (time, time_ms, file_id, line, gateway, request_id, caller, method,
                    backend_method, backend_path, backend_status, response_code)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            for row in requests {
                let record = row.record
                try db.execute(
                    sql,
                    [
                        UTCTime.format(record.timeSeconds), record.timeMilliseconds, fileID, row.line, record.gateway,
                        record.requestID, record.caller, record.method, record.backendMethod ?? record.method,
                        record.backendPath ?? "", record.backendStatus ?? 0, record.responseCode,
                    ]
                )
            }
            requests.removeAll(keepingCapacity: true)
        }
        if final {
            // Kept for the last 30 days of data, counted from the newest row, but never from a
            // time past tomorrow: one record dated in the future (a wrong clock, a hostile log)
            // would otherwise delete every real row.
            let retention = GatewaySchema.requestRetentionDays * 86_400_000
            let latestPlausible = (Int64(Date().timeIntervalSince1970) + 86_400) * 1000
            try db.execute(
                """
                DELETE FROM gateway_requests
                WHERE time_ms < (SELECT max(time_ms) FROM gateway_requests WHERE time_ms <= ?) - ?
                """,
                [latestPlausible, retention]
            )
        }
    }
}
