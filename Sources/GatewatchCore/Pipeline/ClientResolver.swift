extension ClientAddressSource {
    /// Whether a client can choose the address this source picks.
    public var isSpoofable: Bool { self == .forwardedForLeftmost }
}

/// Resolves the client address of a request from `c-ip` and `X-Forwarded-For`.
///
/// `X-Forwarded-For` values are comma-separated hops (IIS logs the space after a comma as `+`),
/// each an address, `ip:port`, `[v6]` or `[v6]:port`; `unknown` and other garbage hops are
/// skipped. No allocation.
public struct ClientResolver: Sendable {
    /// The chosen source.
    public let source: ClientAddressSource
    /// Proxies whose hops are skipped by ``ClientAddressSource/xffRightmostUntrusted``.
    public let trustedProxies: CIDRSet

    /// Creates a resolver.
    ///
    /// - Parameters:
    ///   - source: Which address is the client.
    ///   - trustedProxies: Trusted proxy blocks.
    public init(source: ClientAddressSource = .clientIP, trustedProxies: CIDRSet = CIDRSet()) {
        self.source = source
        self.trustedProxies = trustedProxies
    }

    /// Parses one hop: strips spaces, `+`, brackets and a port.
    ///
    /// - Parameter hop: The bytes of one `X-Forwarded-For` entry.
    /// - Returns: The address, or `nil`.
    public static func parseHop(_ hop: UnsafeRawBufferPointer) -> IPAddress? {
        var start = 0
        var end = hop.count
        func isPadding(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "\"")
        }
        while start < end, isPadding(hop[start]) { start += 1 }
        while end > start, isPadding(hop[end - 1]) { end -= 1 }
        guard start < end else { return nil }
        if hop[start] == UInt8(ascii: "[") {
            // [v6] or [v6]:port
            var close = start + 1
            while close < end, hop[close] != UInt8(ascii: "]") { close += 1 }
            guard close < end else { return nil }
            return IPAddress(bytes: UnsafeRawBufferPointer(rebasing: hop[(start + 1)..<close]))
        }
        var colons = 0
        var lastColon = -1
        for index in start..<end where hop[index] == UInt8(ascii: ":") {
            colons += 1
            lastColon = index
        }
        if colons == 1 {
            // a.b.c.d:port
            return IPAddress(bytes: UnsafeRawBufferPointer(rebasing: hop[start..<lastColon]))
        }
        return IPAddress(bytes: UnsafeRawBufferPointer(rebasing: hop[start..<end]))
    }

    /// The client address of a request.
    ///
    /// - Parameters:
    ///   - peer: The `c-ip` address, if valid.
    ///   - forwardedFor: The raw `X-Forwarded-For` value, if logged.
    /// - Returns: The client address (falls back to `peer` when the header gives none).
    public func resolve(peer: IPAddress?, forwardedFor: UnsafeRawBufferPointer?) -> IPAddress? {
        var fellBack = false
        return resolve(peer: peer, forwardedFor: forwardedFor, fellBack: &fellBack)
    }

    /// The client address of a request, saying whether a logged `X-Forwarded-For` that holds no
    /// address made it fall back to `peer`.
    ///
    /// - Parameters:
    ///   - peer: The `c-ip` address, if valid.
    ///   - forwardedFor: The raw `X-Forwarded-For` value, if logged.
    ///   - fellBack: Set to `true` when the header was logged but no hop in it is an address.
    /// - Returns: The client address.
    func resolve(peer: IPAddress?, forwardedFor: UnsafeRawBufferPointer?, fellBack: inout Bool) -> IPAddress? {
        guard source != .clientIP, let forwardedFor, forwardedFor.count > 0 else { return peer }
        switch source {
        case .clientIP:
            return peer
        case .forwardedForLeftmost:
            var start = 0
            for index in 0...forwardedFor.count
            where index == forwardedFor.count || forwardedFor[index] == UInt8(ascii: ",") {
                if let address = Self.parseHop(UnsafeRawBufferPointer(rebasing: forwardedFor[start..<index])) {
                    return address
                }
                start = index + 1
            }
            fellBack = true
            return peer
        case .forwardedForRightmostUntrusted:
            if let peer, !trustedProxies.contains(peer) { return peer }
            var end = forwardedFor.count
            var leftmost: IPAddress?
            var index = forwardedFor.count
            while index >= 0 {
                if index == 0 || forwardedFor[index - 1] == UInt8(ascii: ",") {
                    if let address = Self.parseHop(UnsafeRawBufferPointer(rebasing: forwardedFor[index..<end])) {
                        if !trustedProxies.contains(address) { return address }
                        leftmost = address
                    }
                    end = index - 1
                }
                index -= 1
            }
            if leftmost == nil { fellBack = true }
            return leftmost ?? peer
        }
    }
}
