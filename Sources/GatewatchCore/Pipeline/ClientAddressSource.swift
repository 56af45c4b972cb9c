/// Which address of a request is the client (`client_ip`).
public enum ClientAddressSource: String, Sendable, Hashable, Codable, CaseIterable {
    /// The TCP peer, W3C `c-ip` (the default).
    case clientIP = "c-ip"
    /// The leftmost `X-Forwarded-For` address (client-controlled unless a proxy overwrites it).
    case forwardedForLeftmost = "xff-leftmost"
    /// The rightmost `X-Forwarded-For` address that is not a trusted proxy.
    case forwardedForRightmostUntrusted = "xff-rightmost-untrusted"
}
