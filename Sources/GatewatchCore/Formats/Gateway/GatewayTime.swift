/// Timestamp readers for gateway logs, on bytes, without Foundation.
enum GatewayTime {
    /// Reads ISO 8601 / RFC 3339 (`2025-03-04T10:15:22.1234567Z`, `…+01:00`, a space instead of
    /// `T`, no zone meaning UTC) or the Log Analytics portal's CSV form
    /// (`3/4/2025, 10:15:22.123 AM`, UTC).
    ///
    /// - Parameter text: The timestamp.
    /// - Returns: Unix milliseconds, or `nil` when the text is not a valid time.
    static func parse(_ text: String) -> Int64? {
        Array(text.utf8).withUnsafeBytes { parseISO($0) ?? parsePortal($0) }
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while count < maxDigits, let byte = peek, byte >= 0x30, byte <= 0x39 {
                value = value * 10 + Int64(byte - 0x30)
                index += 1
                count += 1
            }
            return count >= minDigits ? value : nil
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// Milliseconds from a fraction after `.`; extra digits are read and dropped.
        mutating func fractionMilliseconds() -> Int64? {
            var value: Int64 = 0
            var count = 0
            while let byte = peek, byte >= 0x30, byte <= 0x39 {
                if count < 3 { value = value * 10 + Int64(byte - 0x30) }
                index += 1
                count += 1
                if count > 12 { return nil }
            }
            guard count > 0 else { return nil }
            var scale = count
            while scale < 3 {
                value *= 10
                scale += 1
            }
            return value
        }

        mutating func skipSpaces() {
            while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
        }
    }

    static func epochMilliseconds(
        year: Int64,
        month: Int64,
        day: Int64,
        hour: Int64,
        minute: Int64,
        second: Int64,
        milliseconds: Int64
    ) -> Int64? {
        guard hour <= 23, minute <= 59, second <= 60,
            let days = CivilDate.days(year: year, month: month, day: day)
        else { return nil }
        return ((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000 + milliseconds
    }

    static func parseISO(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var cursor = Cursor(bytes: bytes)
        cursor.skipSpaces()
        guard let year = cursor.number(minDigits: 4, maxDigits: 4), cursor.expect(UInt8(ascii: "-")),
            let month = cursor.number(minDigits: 1, maxDigits: 2), cursor.expect(UInt8(ascii: "-")),
            let day = cursor.number(minDigits: 1, maxDigits: 2)
        else { return nil }
        guard cursor.expect(UInt8(ascii: "T")) || cursor.expect(UInt8(ascii: "t")) || cursor.expect(0x20) else {
            return nil
        }
        guard let hour = cursor.number(minDigits: 2, maxDigits: 2), cursor.expect(UInt8(ascii: ":")),
            let minute = cursor.number(minDigits: 2, maxDigits: 2)
        else { return nil }
        var second: Int64 = 0
        var milliseconds: Int64 = 0
        if cursor.expect(UInt8(ascii: ":")) {
            guard let value = cursor.number(minDigits: 2, maxDigits: 2) else { return nil }
            second = value
            if cursor.expect(UInt8(ascii: ".")) || cursor.expect(UInt8(ascii: ",")) {
                guard let fraction = cursor.fractionMilliseconds() else { return nil }
                milliseconds = fraction
            }
        }
        var offsetSeconds: Int64 = 0
        if cursor.expect(UInt8(ascii: "Z")) || cursor.expect(UInt8(ascii: "z")) {
            // UTC
        } else if let sign = cursor.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            cursor.index += 1
            guard let hours = cursor.number(minDigits: 2, maxDigits: 2) else { return nil }
            _ = cursor.expect(UInt8(ascii: ":"))
            let minutes = cursor.number(minDigits: 2, maxDigits: 2) ?? 0
            guard hours <= 23, minutes <= 59 else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        cursor.skipSpaces()
        guard cursor.atEnd,
            let local = epochMilliseconds(
                year: year,
                month: month,
                day: day,
                hour: hour,
                minute: minute,
                second: second,
                milliseconds: milliseconds
            )
        else { return nil }
        return local - offsetSeconds * 1000
    }

    /// `M/D/YYYY, h:mm:ss[.fff] AM|PM` (or 24-hour without AM/PM), UTC.
    static func parsePortal(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var cursor = Cursor(bytes: bytes)
        cursor.skipSpaces()
        guard let month = cursor.number(minDigits: 1, maxDigits: 2), cursor.expect(UInt8(ascii: "/")),
            let day = cursor.number(minDigits: 1, maxDigits: 2), cursor.expect(UInt8(ascii: "/")),
            let year = cursor.number(minDigits: 4, maxDigits: 4)
        else { return nil }
        _ = cursor.expect(UInt8(ascii: ","))
        cursor.skipSpaces()
        guard var hour = cursor.number(minDigits: 1, maxDigits: 2), cursor.expect(UInt8(ascii: ":")),
            let minute = cursor.number(minDigits: 2, maxDigits: 2)
        else { return nil }
        var second: Int64 = 0
        var milliseconds: Int64 = 0
        if cursor.expect(UInt8(ascii: ":")) {
            guard let value = cursor.number(minDigits: 2, maxDigits: 2) else { return nil }
            second = value
            if cursor.expect(UInt8(ascii: ".")) {
                guard let fraction = cursor.fractionMilliseconds() else { return nil }
                milliseconds = fraction
            }
        }
        cursor.skipSpaces()
        if let letter = cursor.peek, letter | 0x20 == UInt8(ascii: "a") || letter | 0x20 == UInt8(ascii: "p") {
            cursor.index += 1
            guard let m = cursor.peek, m | 0x20 == UInt8(ascii: "m"), hour >= 1, hour <= 12 else { return nil }
            cursor.index += 1
            if letter | 0x20 == UInt8(ascii: "a") {
                if hour == 12 { hour = 0 }
            } else if hour != 12 {
                hour += 12
            }
        }
        cursor.skipSpaces()
        guard cursor.atEnd else { return nil }
        return epochMilliseconds(
            year: year,
            month: month,
            day: day,
            hour: hour,
            minute: minute,
            second: second,
            milliseconds: milliseconds
        )
    }

    /// nginx `$time_local`: `06/Aug/2018:09:57:51 +0800` (local time with its offset).
    ///
    /// - Parameter bytes: The text between the brackets.
    /// - Returns: Unix milliseconds, UTC.
    static func parseNginx(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var cursor = Cursor(bytes: bytes)
        guard let day = cursor.number(minDigits: 2, maxDigits: 2), cursor.expect(UInt8(ascii: "/")),
            cursor.index + 3 <= bytes.count
        else { return nil }
        let name = (bytes[cursor.index] | 0x20, bytes[cursor.index + 1] | 0x20, bytes[cursor.index + 2] | 0x20)
        cursor.index += 3
        let months: [(UInt8, UInt8, UInt8)] = [
            (0x6A, 0x61, 0x6E), (0x66, 0x65, 0x62), (0x6D, 0x61, 0x72), (0x61, 0x70, 0x72), (0x6D, 0x61, 0x79),
            (0x6A, 0x75, 0x6E), (0x6A, 0x75, 0x6C), (0x61, 0x75, 0x67), (0x73, 0x65, 0x70), (0x6F, 0x63, 0x74),
            (0x6E, 0x6F, 0x76), (0x64, 0x65, 0x63),
        ]
        guard let monthIndex = months.firstIndex(where: { $0 == name }) else { return nil }
        guard cursor.expect(UInt8(ascii: "/")), let year = cursor.number(minDigits: 4, maxDigits: 4),
            cursor.expect(UInt8(ascii: ":")), let hour = cursor.number(minDigits: 2, maxDigits: 2),
            cursor.expect(UInt8(ascii: ":")), let minute = cursor.number(minDigits: 2, maxDigits: 2),
            cursor.expect(UInt8(ascii: ":")), let second = cursor.number(minDigits: 2, maxDigits: 2)
        else { return nil }
        var milliseconds: Int64 = 0
        if cursor.expect(UInt8(ascii: ".")) {
            guard let fraction = cursor.fractionMilliseconds() else { return nil }
            milliseconds = fraction
        }
        cursor.skipSpaces()
        guard let sign = cursor.peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        cursor.index += 1
        guard let hours = cursor.number(minDigits: 2, maxDigits: 2),
            let minutes = cursor.number(minDigits: 2, maxDigits: 2),
            hours <= 23, minutes <= 59, cursor.atEnd,
            let local = epochMilliseconds(
                year: year,
                month: Int64(monthIndex + 1),
                day: day,
                hour: hour,
                minute: minute,
                second: second,
                milliseconds: milliseconds
            )
        else { return nil }
        let offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        return local - offset * 1000
    }
}
