/// The W3C parser's date and time readers: `#Date` and `date` values to days since 1970-01-01,
/// `time` values to seconds since midnight. Pure functions of their bytes; the parser caches
/// `parseDate` by the value's bytes (`parseDays`).
extension W3CParser {
    @inline(__always)
    fileprivate static func digit(_ byte: UInt8) -> Int64? {
        let value = Int64(byte) - 48
        return value >= 0 && value <= 9 ? value : nil
    }

    static func parseDate(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var parts: (Int64, Int64, Int64) = (0, 0, 0)
        var part = 0
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "-") {
                guard digits > 0, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            guard let value = digit(byte), digits < 4 else { return nil }
            switch part {
            case 0: parts.0 = parts.0 * 10 + value
            case 1: parts.1 = parts.1 * 10 + value
            default: parts.2 = parts.2 * 10 + value
            }
            digits += 1
        }
        guard part == 2, digits > 0 else { return nil }
        return CivilDate.days(year: parts.0, month: parts.1, day: parts.2)
    }

    /// `28/Jun/2017` as some W3C producers write `#Date`.
    static func parseDayMonthYear(_ text: String) -> Int64? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, let day = Int64(parts[0]), let year = Int64(parts[2]) else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let month = months.firstIndex(of: parts[1].lowercased()) else { return nil }
        return CivilDate.days(year: year, month: Int64(month + 1), day: day)
    }

    /// `HH:MM[:SS[.fff]]` to seconds since midnight (fractions dropped).
    static func parseTime(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var parts: (Int64, Int64, Int64) = (0, 0, 0)
        var part = 0
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ":") {
                guard digits == 2, part < 2 else { return nil }
                part += 1
                digits = 0
                continue
            }
            if byte == UInt8(ascii: ".") {
                guard part == 2, digits == 2 else { return nil }
                break
            }
            guard let value = digit(byte), digits < 2 else { return nil }
            switch part {
            case 0: parts.0 = parts.0 * 10 + value
            case 1: parts.1 = parts.1 * 10 + value
            default: parts.2 = parts.2 * 10 + value
            }
            digits += 1
        }
        guard part >= 1, digits == 2, parts.0 <= 23, parts.1 <= 59, parts.2 <= 60 else { return nil }
        return parts.0 * 3600 + parts.1 * 60 + parts.2
    }
}
