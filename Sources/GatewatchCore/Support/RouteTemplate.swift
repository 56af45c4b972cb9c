/// The route-template rule shared by the backend's latency routes and the gateway side, so that
/// both sides name a route the same way for correlation.
enum RouteTemplate {
    /// Where the first identifier segment at or after `start` begins (`start` is the beginning
    /// of a segment), or -1: one pass over the bytes, the test of ``isIdentifier(_:)`` folded in.
    @inline(__always)
    static func firstIdentifier(_ base: UnsafeRawPointer, count: Int, from start: Int) -> Int {
        var index = start
        var segment = start
        var digits = 0
        var hex = 0
        var candidate = true
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == 0x2F {
                if candidate, digits > 0, hex == 0 || index &- segment >= 8 { return segment }
                segment = index &+ 1
                digits = 0
                hex = 0
                candidate = true
            } else if candidate {
                if byte &- 0x30 < 10 {
                    digits &+= 1
                } else if (byte | 0x20) &- 0x61 < 6 || byte == 0x2D {
                    hex &+= 1
                } else {
                    candidate = false
                }
            }
            index &+= 1
        }
        if candidate, digits > 0, hex == 0 || count &- segment >= 8 { return segment }
        return -1
    }

    /// Whether a path segment is an identifier that becomes `{id}`: all digits, or a GUID or hex
    /// string of 8 or more characters with at least one digit.
    @inline(__always)
    static func isIdentifier(_ segment: some Sequence<UInt8>) -> Bool {
        var digits = 0
        var hex = 0
        var length = 0
        for byte in segment {
            length += 1
            if byte >= 0x30, byte <= 0x39 {
                digits += 1
            } else if (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46) || byte == UInt8(ascii: "-") {
                hex += 1
            } else {
                return false
            }
        }
        return digits > 0 && (hex == 0 || length >= 8)
    }
}
