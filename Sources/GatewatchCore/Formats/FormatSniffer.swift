/// Recognises input formats from their first bytes.
public enum FormatSniffer {
    /// Why the head of an input is not a W3C extended log, or `nil` when it looks like one.
    ///
    /// A W3C log starts with a `#` directive, or (headerless) with a record whose first value is
    /// a date (`2026-11-20`), a time (`13:04:05`) or a quoted value. An empty input is accepted.
    ///
    /// - Parameter head: The first bytes of the decompressed input.
    /// - Returns: A short reason, or `nil`.
    public static func rejectW3C(_ head: [UInt8]) -> String? {
        if isUTF16(head) {
            return "it is UTF-16 text; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)"
        }
        var index = 0
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF { index = 3 }
        while index < head.count, [0x20, 0x09, 0x0D, 0x0A].contains(head[index]) { index += 1 }
        guard index < head.count else { return nil }
        let first = head[index]
        if first == UInt8(ascii: "#") || first == UInt8(ascii: "\"") { return nil }
        var digits = 0
        while index + digits < head.count, head[index + digits] >= 0x30, head[index + digits] <= 0x39 { digits += 1 }
        if index + digits < head.count {
            let separator = head[index + digits]
            if digits == 4, separator == UInt8(ascii: "-") { return nil }
            if digits == 2, separator == UInt8(ascii: ":") { return nil }
        }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            return "it looks like JSON"
        }
        if head[index...].prefix(512).contains(0) { return "it contains NUL bytes" }
        let line = head[index...].prefix { $0 != 0x0A }.prefix(60)
        return "its first line starts '\(String(decoding: line, as: UTF8.self))'"
    }

    /// Whether the head is UTF-16 text: a UTF-16 byte-order mark, or ASCII text with a NUL after
    /// (little-endian) or before (big-endian) every character of its first 64 bytes.
    static func isUTF16(_ head: [UInt8]) -> Bool {
        if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            return true
        }
        let pairs = min(head.count, 64) / 2
        guard pairs >= 4 else { return false }
        let little = (0..<pairs).allSatisfy { head[2 * $0] != 0 && head[2 * $0 + 1] == 0 }
        let big = (0..<pairs).allSatisfy { head[2 * $0] == 0 && head[2 * $0 + 1] != 0 }
        return little || big
    }
}
