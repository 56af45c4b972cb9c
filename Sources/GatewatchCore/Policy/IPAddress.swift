/// An IPv4 or IPv6 address as one 128-bit value.
///
/// IPv4 addresses are stored in their IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so an
/// IPv4-mapped IPv6 address written in a log compares equal to the plain IPv4 address, and
/// CIDR ranges of either family are ranges of the same 128-bit space. No other cross-family
/// matching happens: `::a.b.c.d` (IPv4-compatible, deprecated) stays an IPv6 address.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The upper 64 bits, network order.
    public var high: UInt64
    /// The lower 64 bits, network order.
    public var low: UInt64

    /// The IPv4-mapped prefix `::ffff:0:0/96` in the upper bits of `low`.
    static let mappedMarker: UInt64 = 0x0000_FFFF_0000_0000

    /// Creates an address from its two 64-bit halves.
    ///
    /// - Parameters:
    ///   - high: The upper 64 bits.
    ///   - low: The lower 64 bits.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an IPv4 address from its 32-bit value.
    ///
    /// - Parameter ipv4: The address, `a << 24 | b << 16 | c << 8 | d`.
    public init(ipv4: UInt32) {
        high = 0
        low = Self.mappedMarker | UInt64(ipv4)
    }

    /// Creates an address from its 128-bit value.
    ///
    /// - Parameter value: The address as one 128-bit number, network order.
    public init(value: UInt128) {
        high = UInt64(truncatingIfNeeded: value >> 64)
        low = UInt64(truncatingIfNeeded: value)
    }

    /// The address as one 128-bit number, network order.
    public var value: UInt128 { UInt128(high) << 64 | UInt128(low) }

    /// Whether this is an IPv4 address (or an IPv4-mapped IPv6 address, which is the same).
    public var isIPv4: Bool { high == 0 && (low & 0xFFFF_FFFF_0000_0000) == Self.mappedMarker }

    /// The 32-bit IPv4 value, or `nil` for an IPv6 address.
    public var ipv4Value: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    /// Whether the address is a loopback address (`127.0.0.0/8` or `::1`).
    public var isLoopback: Bool {
        if let v4 = ipv4Value { return v4 >> 24 == 127 }
        return high == 0 && low == 1
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    /// Parses an address from text.
    ///
    /// Accepts dotted-quad IPv4, every RFC 4291 IPv6 text form (including `::` compression and
    /// a trailing dotted quad), an IPv6 zone id (`fe80::1%eth0`, stripped), and brackets
    /// (`[::1]`). Rejects anything else, including leading zeros that would make an IPv4
    /// octet ambiguous (`010.1.1.1`).
    ///
    /// - Parameter text: The address text.
    public init?(_ text: some StringProtocol) {
        var utf8 = Array(text.utf8)
        guard
            let parsed = utf8.withUnsafeMutableBufferPointer({ buffer in
                IPAddress(bytes: UnsafeRawBufferPointer(buffer))
            })
        else { return nil }
        self = parsed
    }

    /// Parses an address from ASCII bytes, without allocating.
    ///
    /// O(n) in the length of `bytes`; no allocation.
    ///
    /// - Parameter bytes: The address text.
    public init?(bytes: UnsafeRawBufferPointer) {
        var count = bytes.count
        var start = 0
        if count >= 2, bytes[0] == UInt8(ascii: "["), bytes[count - 1] == UInt8(ascii: "]") {
            start = 1
            count -= 2
        }
        guard count > 0, count <= 64 else { return nil }
        // Strip a zone id.
        var end = start + count
        var index = start
        var sawColon = false
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: ":") { sawColon = true }
            if byte == UInt8(ascii: "%") {
                guard sawColon, index > start, index + 1 < end else { return nil }
                end = index
                break
            }
            index += 1
        }
        if !sawColon {
            guard let v4 = Self.parseIPv4(bytes, start, end) else { return nil }
            self.init(ipv4: v4)
            return
        }
        guard let value = Self.parseIPv6(bytes, start, end) else { return nil }
        self = value
    }

    /// Parses a client address that may carry a port: `a.b.c.d:port`, `[v6]:port` or `[v6]` (D5).
    ///
    /// The plain forms of ``init(_:)`` are tried first, so an address without a port costs one
    /// parse. A bare IPv6 address is never split: `::1:1234` is the address `::1:1234`.
    ///
    /// - Parameter text: The address text, such as a W3C `c-ip` value.
    public init?(endpoint text: some StringProtocol) {
        guard let parsed = Array(text.utf8).withUnsafeBytes({ IPAddress(endpoint: $0) }) else { return nil }
        self = parsed
    }

    /// Parses a client address that may carry a port, from ASCII bytes, without allocating.
    ///
    /// The port forms (`a.b.c.d:port` with exactly one colon, `[v6]:port`; the port 0–65535, at
    /// most five digits) are tried only when ``init(bytes:)`` fails, so the usual portless
    /// `c-ip` costs nothing extra. O(n) in the length of `bytes`; no allocation.
    ///
    /// - Parameter bytes: The address text.
    public init?(endpoint bytes: UnsafeRawBufferPointer) {
        if let plain = IPAddress(bytes: bytes) {
            self = plain
            return
        }
        let count = bytes.count
        guard count > 2, count <= 72 else { return nil }
        var hostStart = 0
        var hostEnd: Int
        if bytes[0] == UInt8(ascii: "[") {
            // [v6]:port
            hostStart = 1
            hostEnd = 1
            while hostEnd < count, bytes[hostEnd] != UInt8(ascii: "]") { hostEnd += 1 }
            guard hostEnd + 1 < count, bytes[hostEnd + 1] == UInt8(ascii: ":") else { return nil }
        } else {
            // a.b.c.d:port: exactly one colon (more would make it an IPv6 address).
            hostEnd = -1
            for index in 0..<count where bytes[index] == UInt8(ascii: ":") {
                guard hostEnd < 0 else { return nil }
                hostEnd = index
            }
            guard hostEnd > 0 else { return nil }
        }
        let portStart = hostEnd + (hostStart == 1 ? 2 : 1)
        guard portStart < count, count - portStart <= 5 else { return nil }
        var port = 0
        for index in portStart..<count {
            let digit = Int(bytes[index]) &- 48
            guard digit >= 0, digit <= 9 else { return nil }
            port = port * 10 + digit
        }
        guard port <= 65_535,
            let address = IPAddress(bytes: UnsafeRawBufferPointer(rebasing: bytes[hostStart..<hostEnd]))
        else { return nil }
        self = address
    }

    static func parseIPv4(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UInt32? {
        var result: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                result = result << 8 | octet
                octet = 0
                digits = 0
                dots += 1
                if dots > 3 { return nil }
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if digits == 1, octet == 0 { return nil }  // leading zero
                octet = octet * 10 + UInt32(byte &- UInt8(ascii: "0"))
                digits += 1
                if octet > 255 { return nil }
            } else {
                return nil
            }
            index += 1
        }
        guard dots == 3, digits > 0 else { return nil }
        return result << 8 | octet
    }

    static func hexValue(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    static func parseIPv6(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> IPAddress? {
        var groups: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        var groupCount = 0
        var compressAt = -1
        var index = start
        func set(_ position: Int, _ value: UInt16) {
            withUnsafeMutableBytes(of: &groups) { raw in
                raw.storeBytes(of: value, toByteOffset: position * 2, as: UInt16.self)
            }
        }
        if index + 1 < end, bytes[index] == UInt8(ascii: ":") {
            guard bytes[index + 1] == UInt8(ascii: ":") else { return nil }
            compressAt = 0
            index += 2
            if index == end { return IPAddress(high: 0, low: 0) }
        }
        while index < end {
            // Read one group, or a trailing dotted quad.
            let groupStart = index
            var value: UInt16 = 0
            var digits = 0
            while index < end, let hex = hexValue(bytes[index]) {
                value = value << 4 | hex
                digits += 1
                index += 1
                if digits > 4 { return nil }
            }
            if index < end, bytes[index] == UInt8(ascii: ".") {
                guard groupCount <= 6, let v4 = parseIPv4(bytes, groupStart, end) else { return nil }
                set(groupCount, UInt16(truncatingIfNeeded: v4 >> 16))
                set(groupCount + 1, UInt16(truncatingIfNeeded: v4))
                groupCount += 2
                index = end
                break
            }
            guard digits > 0, groupCount < 8 else { return nil }
            set(groupCount, value)
            groupCount += 1
            if index == end { break }
            guard bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < end, bytes[index] == UInt8(ascii: ":") {
                guard compressAt < 0 else { return nil }
                compressAt = groupCount
                index += 1
                if index == end { break }
            } else if index == end {
                return nil  // trailing single colon
            }
        }
        // Read the groups back out of the tuple without allocating.
        let tail = compressAt >= 0 ? groupCount - compressAt : 0
        if compressAt >= 0 {
            guard groupCount < 8 else { return nil }
        } else {
            guard groupCount == 8 else { return nil }
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        withUnsafeBytes(of: groups) { raw in
            for position in 0..<8 {
                var word: UInt16 = 0
                if compressAt < 0 || position < compressAt {
                    word = raw.load(fromByteOffset: position * 2, as: UInt16.self)
                } else if position >= 8 - tail {
                    word = raw.load(fromByteOffset: (compressAt + position - (8 - tail)) * 2, as: UInt16.self)
                }
                if position < 4 {
                    high = high << 16 | UInt64(word)
                } else {
                    low = low << 16 | UInt64(word)
                }
            }
        }
        return IPAddress(high: high, low: low)
    }

    /// Writes ``description``'s bytes into `buffer` (at least 39 bytes) without allocating.
    ///
    /// - Returns: The length written.
    func writeText(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let v4 = ipv4Value else { return writeIPv6Text(into: buffer) }
        var length = 0
        func put(_ octet: UInt32, dot: Bool) {
            if octet >= 100 {
                buffer[length] = UInt8(48 + octet / 100)
                length += 1
            }
            if octet >= 10 {
                buffer[length] = UInt8(48 + octet / 10 % 10)
                length += 1
            }
            buffer[length] = UInt8(48 + octet % 10)
            length += 1
            if dot {
                buffer[length] = UInt8(ascii: ".")
                length += 1
            }
        }
        put(v4 >> 24, dot: true)
        put((v4 >> 16) & 0xFF, dot: true)
        put((v4 >> 8) & 0xFF, dot: true)
        put(v4 & 0xFF, dot: false)
        return length
    }

    /// The group (16 bits) at `position` (0–7) of the address.
    @inline(__always)
    private func group(_ position: Int) -> UInt16 {
        let half = position < 4 ? high : low
        return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(position & 3)))
    }

    /// RFC 5952 text of an IPv6 address: lower-case hexadecimal groups without leading zeros, the
    /// longest run of two or more zero groups (the first one on ties) compressed to `::` (§4.2).
    private func writeIPv6Text(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for position in 0...8 {
            if position < 8, group(position) == 0 {
                if runStart < 0 { runStart = position }
            } else if runStart >= 0 {
                let length = position - runStart
                if length > bestLength, length >= 2 {
                    bestStart = runStart
                    bestLength = length
                }
                runStart = -1
            }
        }
        let digits: StaticString = "0123456789abcdef"
        var length = 0
        var position = 0
        while position < 8 {
            if position == bestStart {
                buffer[length] = UInt8(ascii: ":")
                buffer[length + 1] = UInt8(ascii: ":")
                length += 2
                position += bestLength
                continue
            }
            if length > 0, buffer[length - 1] != UInt8(ascii: ":") {
                buffer[length] = UInt8(ascii: ":")
                length += 1
            }
            let word = group(position)
            var shift = 12
            while shift > 0, (word >> UInt16(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                buffer[length] = digits.utf8Start[Int((word >> UInt16(shift)) & 0xF)]
                length += 1
                shift -= 4
            }
            position += 1
        }
        return length
    }

    /// The canonical text: dotted quad for IPv4, RFC 5952 compressed lower case for IPv6.
    public var description: String {
        String(unsafeUninitializedCapacity: 39) { buffer in
            writeText(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}
