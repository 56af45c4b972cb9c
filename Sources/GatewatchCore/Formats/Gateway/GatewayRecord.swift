/// One gateway request, as the gateway logged it.
///
/// Built from an APIM `GatewayLogs` record (JSON or the `ApiManagementGatewayLogs` CSV export)
/// or an nginx `combined` line. Only what the gateway-side store and `correlate` use is kept.
struct GatewayRecord: Sendable, Equatable {
    /// When the gateway logged the request, Unix milliseconds, UTC.
    var timeMilliseconds: Int64
    /// The gateway (APIM service name from `resourceId`), or empty.
    var gateway: String = ""
    /// The gateway's request id (`correlationId`), when logged.
    var requestID: String?
    /// The caller's address: canonical text when it is an IP address, else the raw text.
    var caller: String
    /// The client's method.
    var method: String
    /// The API id (APIM `apiId`), or empty.
    var apiID: String = ""
    /// The operation id (APIM `operationId`), or empty.
    var operationID: String = ""
    /// The method of the backend call, when the gateway called the backend.
    var backendMethod: String?
    /// The URL path of the backend call (query stripped), when the gateway called the backend.
    var backendPath: String?
    /// The backend's status, when the gateway called the backend and got an answer.
    var backendStatus: Int64?
    /// The status sent to the client.
    var responseCode: Int64
    /// Bytes sent to the client.
    var responseBytes: Int64 = 0
    /// Milliseconds from request to response (`durationMs`, `TotalTime`).
    var durationMilliseconds: Int64 = 0
    /// Milliseconds spent waiting for the backend (`backendTime`).
    var backendMilliseconds: Int64 = 0

    /// Unix seconds.
    var timeSeconds: Int64 { Self.floorDivide(timeMilliseconds, 1000) }

    /// Whether the gateway called the backend.
    var calledBackend: Bool { backendPath != nil }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }
}

/// What a gateway parser made of one record.
enum GatewayParse: Sendable, Equatable {
    /// A request.
    case record(GatewayRecord)
    /// A record of another kind (another log category), with the reason.
    case skipped(String)
    /// Not a valid record, with the reason.
    case malformed(String)
}

/// Normalisation of addresses, paths and methods shared by the gateway parsers.
enum GatewayText {
    /// The longest raw caller text kept when it is not an IP address.
    static let maximumRawLength = 64

    /// Canonical address text, or the raw text (bounded) when it is not an IP address; an
    /// IPv4 `address:port` loses its port.
    static func caller(_ text: String) -> String {
        let trimmed = trim(text)
        if let address = IPAddress(trimmed) { return address.description }
        let parts = trimmed.split(separator: ":")
        if parts.count == 2, let address = IPAddress(parts[0]), address.isIPv4, UInt16(parts[1]) != nil {
            return address.description
        }
        return String(trimmed.unicodeScalars.prefix(maximumRawLength))
    }

    /// The path of a URL (absolute or relative), query and fragment stripped; `/` when empty.
    static func path(ofURL url: String) -> String {
        var rest = Substring(trim(url))
        if let scheme = rest.firstRange(of: "://") {
            rest = rest[scheme.upperBound...]
            if let slash = rest.firstIndex(of: "/") {
                rest = rest[slash...]
            } else {
                rest = "/"
            }
        }
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
        return rest.isEmpty ? "/" : String(rest.prefix(2048))
    }

    /// The path's template: segments that are numbers, GUIDs or long hex strings become `{id}`,
    /// with the same rule as the backend's latency routes.
    static func template(_ path: String) -> String {
        var output = ""
        output.reserveCapacity(path.utf8.count)
        for (index, segment) in path.split(separator: "/", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { output += "/" }
            let isIdentifier = RouteTemplate.isIdentifier(segment.utf8)
            output += isIdentifier ? "{id}" : String(segment)
        }
        return output
    }

    /// The text without leading and trailing spaces, tabs, CR and LF.
    static func trim(_ text: some StringProtocol) -> String {
        let bytes = Array(text.utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[start...end], as: UTF8.self)
    }

    /// A method token: upper-cased ASCII letters, bounded.
    static func method(_ text: String) -> String {
        String(trim(text).uppercased().prefix(32))
    }
}
