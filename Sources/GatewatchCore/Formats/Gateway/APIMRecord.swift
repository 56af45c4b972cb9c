import Foundation

/// Maps APIM `GatewayLogs` fields to a ``GatewayRecord``, from JSON objects and CSV rows alike.
///
/// Names are matched case-insensitively, so the camelCase of resource-log JSON
/// (`callerIpAddress`, `properties.backendUrl`) and the PascalCase of the Log Analytics table
/// (`CallerIpAddress`, `BackendUrl`) both work; `properties` members win over top-level ones.
/// Numbers may arrive as strings (`"durationMs": "78"`).
enum APIMRecord {
    /// Field lookup by lower-cased name.
    typealias Fields = [String: Any]

    /// Reads a decoded JSON object.
    ///
    /// - Parameter object: The object.
    /// - Returns: The record, skipped, or malformed with the reason.
    static func map(json object: [String: Any]) -> GatewayParse {
        var fields: Fields = [:]
        for (key, value) in object { fields[key.lowercased()] = value }
        if let properties = fields["properties"] as? [String: Any] {
            for (key, value) in properties { fields[key.lowercased()] = value }
        }
        return map(fields: fields)
    }

    /// Reads fields keyed by lower-cased name (JSON members or CSV columns).
    ///
    /// - Parameter fields: The fields.
    /// - Returns: The record, skipped, or malformed with the reason.
    static func map(fields: Fields) -> GatewayParse {
        if let category = string(fields["category"]), !category.isEmpty,
            category.lowercased() != "gatewaylogs"
        {
            return .skipped("category '\(bounded(category))' is not GatewayLogs")
        }
        // The self-hosted gateway's JSON stdout names each event's kind (spec §3.3): heartbeats,
        // configuration syncs and the like are not requests.
        if let kind = string(fields["eventtype"]), !kind.isEmpty, kind.lowercased() != "gatewaylogs" {
            return .skipped("self-hosted gateway event '\(bounded(kind))' is not a request")
        }
        guard let timeText = string(fields["time"]) ?? string(fields["timegenerated"]) ?? string(fields["timestamp"])
        else {
            return .malformed("no 'time' field")
        }
        guard let time = GatewayTime.parse(timeText) else {
            return .malformed("'time' is '\(bounded(timeText))', not an ISO 8601 time (a redacted example?)")
        }
        guard let method = string(fields["method"]), !method.isEmpty else {
            return .malformed("no 'method' field")
        }
        var record = GatewayRecord(
            timeMilliseconds: time,
            caller: GatewayText.caller(string(fields["calleripaddress"]) ?? ""),
            method: GatewayText.method(method),
            responseCode: integer(fields["responsecode"]) ?? 0
        )
        if let resource = string(fields["resourceid"]) ?? string(fields["_resourceid"]),
            let name = resource.split(separator: "/").last
        {
            record.gateway = bounded(String(name).lowercased())
        }
        if let id = string(fields["correlationid"]), !id.isEmpty { record.requestID = bounded(id.lowercased()) }
        record.apiID = bounded(string(fields["apiid"]) ?? "")
        record.operationID = bounded(string(fields["operationid"]) ?? "")
        if let backendURL = string(fields["backendurl"]), !backendURL.isEmpty {
            record.backendPath = GatewayText.path(ofURL: backendURL)
            let backendMethod = string(fields["backendmethod"]) ?? ""
            record.backendMethod = GatewayText.method(backendMethod.isEmpty ? method : backendMethod)
            record.backendStatus = integer(fields["backendresponsecode"])
        }
        record.responseBytes = integer(fields["responsesize"]) ?? 0
        record.durationMilliseconds = integer(fields["durationms"]) ?? integer(fields["totaltime"]) ?? 0
        record.backendMilliseconds = integer(fields["backendtime"]) ?? 0
        return .record(record)
    }

    /// Text of at most 200 characters, for stored values and messages.
    static func bounded(_ text: String) -> String {
        text.unicodeScalars.count <= 200 ? text : String(String.UnicodeScalarView(text.unicodeScalars.prefix(200)))
    }

    /// A string, or a number's text.
    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// An integer from a number or a numeric string; `nil` for anything else (never traps).
    static func integer(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber:
            let double = number.doubleValue
            guard double.isFinite, abs(double) < 9.0e18 else { return nil }
            return number.int64Value
        case let text as String:
            let trimmed = GatewayText.trim(text)
            if let exact = Int64(trimmed) { return exact }
            guard let double = Double(trimmed), double.isFinite, abs(double) < 9.0e18 else { return nil }
            return Int64(double)
        default:
            return nil
        }
    }
}
