/// The meaning of one W3C column that Gatewatch reads.
public enum W3CField: Int, CaseIterable, Sendable {
    case date, time, clientIP, method, uriStem, uriQuery, status, substatus, win32Status
    case bytesSent, bytesReceived, timeTaken, userAgent, host, siteName, forwardedFor, referer, username
    case serverIP, serverPort
    /// The gateway's request id, logged by the backend as a custom field (see ``W3CLayout``).
    case requestID
    /// `cs-uri`, the whole request target: read as the stem and query when the layout has no
    /// `cs-uri-stem` (Oracle Web Cache and other W3C producers log it instead).
    case uri
    /// Headers App Service access restrictions filter on, when logged as IIS custom fields:
    /// `X-Azure-FDID` (Front Door's id), `X-FD-HealthProbe` and `X-Forwarded-Host`.
    case azureFDID, frontDoorHealthProbe, forwardedHost
    /// `c-port`, the client's TCP port (IIS FTP and SMTP logs, some HTTP layouts).
    case clientPort

    /// Custom-field names taken as the gateway's request id when `--request-id-field` is not given.
    static let defaultRequestIDNames = [
        "x-correlation-id", "x-request-id", "x-apim-request-id", "request-id", "correlation-id", "x-ms-request-id",
    ]

    /// Maps a `#Fields` name (case-insensitive) to a field, `nil` for columns Gatewatch ignores.
    static func from(name: String) -> W3CField? {
        switch name.lowercased() {
        case "date", "date-local": .date
        case "time", "time-local": .time
        case "c-ip": .clientIP
        case "cs-method": .method
        case "cs-uri-stem": .uriStem
        case "cs-uri-query": .uriQuery
        case "cs-uri": .uri
        case "cs(x-azure-fdid)", "x-azure-fdid": .azureFDID
        case "cs(x-fd-healthprobe)", "x-fd-healthprobe": .frontDoorHealthProbe
        case "cs(x-forwarded-host)", "x-forwarded-host": .forwardedHost
        case "sc-status": .status
        case "sc-substatus": .substatus
        case "sc-win32-status": .win32Status
        case "sc-bytes", "bytes": .bytesSent
        case "cs-bytes": .bytesReceived
        case "time-taken", "timetakenms": .timeTaken
        case "cs(user-agent)": .userAgent
        case "cs-host", "cs(host)": .host
        case "s-sitename": .siteName
        case "x-forwarded-for", "cs(x-forwarded-for)", "x_forwarded_for", "cs(x_forwarded_for)": .forwardedFor
        case "cs(referer)", "cs(referrer)": .referer
        case "cs-username": .username
        case "s-ip": .serverIP
        case "s-port": .serverPort
        case "c-port": .clientPort
        default: nil
        }
    }
}

/// A column layout: the field names of a `#Fields` directive and where each known field sits.
public struct W3CLayout: Sendable, Equatable {
    /// The column names, in order.
    public let names: [String]
    /// For each ``W3CField`` (by raw value), its column index or -1.
    let positions: [Int]
    /// Whether `date-local`/`time-local` supplied the timestamp (local time, not UTC).
    public let usesLocalTime: Bool

    /// The IIS 7+ default layout, used for headerless files when no `--fields` is given.
    public static let iisDefault = W3CLayout(
        names:
            "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
            .split(separator: " ").map(String.init)
    )

    /// The Azure App Service RawLogs layout.
    public static let appService = W3CLayout(
        names:
            "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken"
            .split(separator: " ").map(String.init)
    )

    /// Creates a layout from column names.
    ///
    /// - Parameters:
    ///   - names: The `#Fields` names in order.
    ///   - requestIDField: The column holding the gateway's request id (case-insensitive); by
    ///     default the first of `x-correlation-id`, `x-request-id`, `x-apim-request-id`,
    ///     `request-id`, `correlation-id`, `x-ms-request-id`.
    public init(names: [String], requestIDField: String? = nil) {
        self.names = names
        var positions = [Int](repeating: -1, count: W3CField.allCases.count)
        // The first column of a field wins, except that `date`/`time` (UTC) win over
        // `date-local`/`time-local` wherever they stand.
        var fromLocal = [Bool](repeating: false, count: W3CField.allCases.count)
        for (index, name) in names.enumerated() {
            guard let field = W3CField.from(name: name) else { continue }
            let isLocal = name.lowercased().hasSuffix("-local")
            if positions[field.rawValue] >= 0, !fromLocal[field.rawValue] || isLocal { continue }
            positions[field.rawValue] = index
            fromLocal[field.rawValue] = isLocal
        }
        let local = fromLocal[W3CField.date.rawValue] || fromLocal[W3CField.time.rawValue]
        let lowered = names.map { $0.lowercased() }
        let candidates = requestIDField.map { [$0.lowercased()] } ?? W3CField.defaultRequestIDNames
        for candidate in candidates {
            if let index = lowered.firstIndex(of: candidate) {
                positions[W3CField.requestID.rawValue] = index
                break
            }
        }
        self.positions = positions
        usesLocalTime = local
    }

    /// The same columns with another request-id column choice.
    func withRequestIDField(_ name: String?) -> W3CLayout { W3CLayout(names: names, requestIDField: name) }

    /// The name of the request-id column, if the layout has one.
    public var requestIDFieldName: String? {
        let position = positions[W3CField.requestID.rawValue]
        return position >= 0 ? names[position] : nil
    }

    /// Parses a `--fields` value: a preset (`iis`, `iis-xff`, `appservice`, `appservice-xff`) or
    /// a list of names separated by spaces or commas.
    ///
    /// - Parameter specification: The preset name or the list.
    /// - Returns: The layout, or `nil` when the list is empty.
    public static func named(_ specification: String) -> W3CLayout? {
        switch specification.lowercased() {
        case "iis": return .iisDefault
        case "iis-xff": return W3CLayout(names: iisDefault.names + ["X-Forwarded-For"])
        case "appservice", "app-service": return .appService
        case "appservice-xff": return W3CLayout(names: appService.names + ["X-Forwarded-For"])
        default:
            let names = specification.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
            return names.isEmpty ? nil : W3CLayout(names: names)
        }
    }

    /// The number of columns.
    public var fieldCount: Int { names.count }

    /// The column index of `field`, or -1.
    @inline(__always)
    func position(_ field: W3CField) -> Int { positions[field.rawValue] }
}
