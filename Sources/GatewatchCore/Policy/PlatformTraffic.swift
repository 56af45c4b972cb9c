/// Recognises Azure platform requests by user agent (spec §5, D24).
public enum PlatformTraffic {
    /// User agents matched exactly.
    public static let exactUserAgents = ["AlwaysOn", "SiteWarmup"]
    /// User-agent prefixes.
    public static let userAgentPrefixes = ["ReadyForRequest/1.0", "IIS Application Initialization", "HealthCheck/"]

    /// Whether a user agent is one of the platform's own (Always On, health check, warm-up).
    ///
    /// O(n) in the user-agent length; no allocation.
    ///
    /// - Parameter userAgent: The decoded user agent (`+` already turned into spaces).
    /// - Returns: `true` for platform traffic.
    public static func isPlatform(userAgent: String) -> Bool {
        for exact in exactUserAgents where userAgent == exact { return true }
        for prefix in userAgentPrefixes where userAgent.hasPrefix(prefix) { return true }
        return false
    }

    /// Whether the request skips App Service access restrictions (D21): platform-internal
    /// probes do, web.config `ipSecurity` still applies to them.
    ///
    /// - Parameter userAgent: The decoded user agent.
    /// - Returns: `true` for platform-internal probes.
    public static func bypassesFrontEnd(userAgent: String) -> Bool {
        isPlatform(userAgent: userAgent)
    }
}

/// Splits `X-Forwarded-For` values (D8): comma-separated, trimmed, ports stripped
/// (`a.b.c.d:port`, `[v6]:port`), zone ids stripped by ``IPAddress``.
public enum ForwardedFor {
    /// Calls `body` for every element, in order, with the parsed address (`nil` when the element
    /// is not an address, such as `unknown`).
    ///
    /// Stops when `body` returns `false`.
    ///
    /// An absent value, an empty value and `-` (the W3C placeholder) have no elements.
    /// O(n) in the header length; no allocation for native strings.
    ///
    /// - Parameters:
    ///   - value: The raw header value.
    ///   - body: Receives each element's address; returns whether to continue.
    public static func forEach(in value: String, _ body: (IPAddress?) -> Bool) {
        var copy = value
        copy.withUTF8 { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            if raw.count == 1, raw[0] == UInt8(ascii: "-") { return }
            var start = 0
            while start <= raw.count {
                var end = start
                while end < raw.count, raw[end] != UInt8(ascii: ",") { end += 1 }
                var low = start
                var high = end
                while low < high, raw[low] == UInt8(ascii: " ") || raw[low] == UInt8(ascii: "\t") { low += 1 }
                while high > low, raw[high - 1] == UInt8(ascii: " ") || raw[high - 1] == UInt8(ascii: "\t") {
                    high -= 1
                }
                if high > low || end < raw.count || start > 0 {
                    let element = UnsafeRawBufferPointer(rebasing: raw[low..<high])
                    if !body(parse(element)) { return }
                }
                start = end + 1
            }
        }
    }

    /// The addresses of every element; `nil` entries for elements that are not addresses.
    ///
    /// - Parameter value: The raw header value.
    /// - Returns: One entry per element.
    public static func elements(_ value: String) -> [IPAddress?] {
        var result: [IPAddress?] = []
        forEach(in: value) { address in
            result.append(address)
            return true
        }
        return result
    }

    /// Parses one element, stripping a port.
    static func parse(_ element: UnsafeRawBufferPointer) -> IPAddress? {
        IPAddress(endpoint: element)
    }
}
