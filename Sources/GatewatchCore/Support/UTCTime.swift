/// Formats Unix seconds as ISO 8601 UTC text (`2026-11-20T13:04:05Z`) without Foundation.
public enum UTCTime {
    /// Formats seconds since the Unix epoch.
    ///
    /// - Parameter seconds: Seconds since 1970-01-01T00:00:00Z.
    /// - Returns: The ISO 8601 text.
    public static func format(_ seconds: Int64) -> String {
        String(unsafeUninitializedCapacity: 20) { write(seconds, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// Writes the text of ``format(_:)`` into `buffer` (at least 20 bytes) without allocating.
    ///
    /// - Returns: The length written: 20, or 12 for `invalid-time` (a year outside 0...9999).
    static func write(_ seconds: Int64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= 20, "UTCTime.write needs 20 bytes")
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        guard year >= 0, year <= 9999 else {
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<12]).copyBytes(from: "invalid-time".utf8)
            return 12
        }
        func put(_ value: Int64, at offset: Int, width: Int) {
            var remaining = value
            for position in stride(from: offset + width - 1, through: offset, by: -1) {
                buffer[position] = UInt8(48 + remaining % 10)
                remaining /= 10
            }
        }
        put(year, at: 0, width: 4)
        buffer[4] = UInt8(ascii: "-")
        put(month, at: 5, width: 2)
        buffer[7] = UInt8(ascii: "-")
        put(day, at: 8, width: 2)
        buffer[10] = UInt8(ascii: "T")
        put(secondOfDay / 3600, at: 11, width: 2)
        buffer[13] = UInt8(ascii: ":")
        put(secondOfDay / 60 % 60, at: 14, width: 2)
        buffer[16] = UInt8(ascii: ":")
        put(secondOfDay % 60, at: 17, width: 2)
        buffer[19] = UInt8(ascii: "Z")
        return 20
    }

    /// Year, month, day for days since 1970-01-01 (Howard Hinnant's algorithm).
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
