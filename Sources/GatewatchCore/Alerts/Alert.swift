/// The time span an alert covers.
public struct AlertWindow: Sendable, Codable, Equatable {
    /// The start (exclusive), ISO 8601 UTC.
    public var start: String
    /// The end (inclusive), ISO 8601 UTC.
    public var end: String
    /// The length in seconds.
    public var seconds: Int64

    /// Creates a window ending at `end`.
    ///
    /// - Parameters:
    ///   - end: Unix seconds.
    ///   - seconds: The length.
    public init(end: Int64, seconds: Int64) {
        self.start = UTCTime.format(end - seconds)
        self.end = UTCTime.format(end)
        self.seconds = seconds
    }
}

/// One key (address, CIDR block, or `*`) and its count in an alert.
public struct AlertKeyCount: Sendable, Codable, Equatable {
    /// The address, block, or `*` for all addresses.
    public var key: String
    /// Requests (or lines) counted for the key.
    public var count: Int
    /// The first request time in the window.
    public var first: String?
    /// The last request time in the window.
    public var last: String?
}

/// An example of what fired: a request (with file and line), an hourly row, or a malformed line.
///
/// Text that came from logs is escaped with ``SafeText/terminal(_:)`` (no control characters,
/// no bidirectional overrides) before it is put here.
public struct AlertSample: Sendable, Codable, Equatable {
    /// The request time, or the hour of an hourly row.
    public var time: String?
    /// The client address.
    public var address: String?
    /// The HTTP method.
    public var method: String?
    /// The URI stem (path).
    public var uri: String?
    /// `status.substatus`.
    public var status: String?
    /// The user agent, as logged.
    public var userAgent: String?
    /// The file the line is in.
    public var file: String?
    /// The 1-based line number.
    public var line: Int?
    /// Requests an hourly row stands for.
    public var requests: Int?
    /// Why a line is malformed.
    public var reason: String?
    /// The start of a malformed line.
    public var text: String?

    enum CodingKeys: String, CodingKey {
        case time, address, method, uri, status
        case userAgent = "user_agent"
        case file, line, requests, reason, text
    }

    /// An empty sample; set the fields that apply.
    public init() {}
}

/// One alert: what every sink receives, as JSON.
///
/// ```json
/// {"type":"alert","rule":"served-direct","kind":"served_direct","severity":"critical",
///  "summary":"3 served direct requests from 1 address in 5m (threshold 1)",
///  "fired_at":"2026-11-20T13:05:02Z","window":{"start":"…","end":"…","seconds":300},
///  "count":3,"threshold":1,"key_count":1,"keys":[{"key":"198.51.100.7","count":3,…}],
///  "addresses":["198.51.100.7"],"samples":[{"time":"…","address":"198.51.100.7","uri":"/api/orders",…}]}
/// ```
public struct Alert: Sendable, Codable, Equatable {
    /// `alert`, or `test` for ``Alert/test(now:)``.
    public var type: String
    /// The rule's name.
    public var rule: String
    /// The rule's kind (``AlertKind`` raw value).
    public var kind: String
    /// `critical`, `warning` or `info`.
    public var severity: String
    /// One line for people.
    public var summary: String
    /// When the alert was raised (wall clock).
    public var firedAt: String
    /// The time span evaluated.
    public var window: AlertWindow
    /// Requests (or lines, or seconds stalled) counted over all keys.
    public var count: Int
    /// The rule's threshold.
    public var threshold: Double?
    /// How many keys fired (``keys`` lists at most 20).
    public var keyCount: Int
    /// The keys that fired, largest count first (at most 20).
    public var keys: [AlertKeyCount]
    /// The client addresses involved (at most 50).
    public var addresses: [String]
    /// A few examples, newest first (at most 5).
    public var samples: [AlertSample]

    enum CodingKeys: String, CodingKey {
        case type, rule, kind, severity, summary
        case firedAt = "fired_at"
        case window, count, threshold
        case keyCount = "key_count"
        case keys, addresses, samples
    }

    /// A test alert that says so, for `gatewatch alert test`.
    ///
    /// - Parameter now: Unix seconds.
    /// - Returns: An alert of type `test` with rule `test`.
    public static func test(now: Int64) -> Alert {
        Alert(
            type: "test",
            rule: "test",
            kind: "test",
            severity: "info",
            summary: "gatewatch test alert: this sink works (sent by 'gatewatch alert test')",
            firedAt: UTCTime.format(now),
            window: AlertWindow(end: now, seconds: 0),
            count: 0,
            threshold: nil,
            keyCount: 0,
            keys: [],
            addresses: [],
            samples: []
        )
    }

    /// The alert as one line of JSON (sorted keys), for NDJSON sinks, webhooks and exec.
    ///
    /// - Returns: The JSON text without a trailing newline.
    /// - Throws: Encoding errors (not expected: every field is encodable).
    public func json() throws -> String {
        try JSONOutput.encode(self)
    }

    /// A few lines of plain text for chat sinks: the summary, the top keys and the samples.
    public var text: String {
        var lines = ["[\(severity)] gatewatch \(rule): \(summary)"]
        lines.append("window \(window.start) … \(window.end)")
        for key in keys.prefix(10) {
            lines.append("• \(key.key): \(key.count)" + (key.last.map { " (last \($0))" } ?? ""))
        }
        if keyCount > 10 { lines.append("• … and \(keyCount - 10) more") }
        for sample in samples.prefix(3) {
            var parts: [String] = []
            if let time = sample.time { parts.append(time) }
            if let address = sample.address { parts.append(address) }
            if let method = sample.method { parts.append(method) }
            if let uri = sample.uri { parts.append(uri) }
            if let status = sample.status { parts.append(status) }
            if let userAgent = sample.userAgent { parts.append("\"\(userAgent)\"") }
            if let file = sample.file, let line = sample.line { parts.append("(\(file):\(line))") }
            if let reason = sample.reason { parts.append(reason) }
            if let text = sample.text { parts.append("'\(text)'") }
            lines.append("  " + parts.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
