import Foundation

/// Formats stored UTC times in a display zone and assigns them to local days.
struct TimeDisplay {
    let timeZone: TimeZone
    let isUTC: Bool

    init(timeZone: TimeZone) {
        self.timeZone = timeZone
        isUTC = timeZone.identifier == "UTC" || timeZone.identifier == "GMT"
    }

    /// Parses the stored form `YYYY-MM-DDTHH:MM:SSZ` (or a prefix of it) into Unix seconds.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int64? {
            guard start + length <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<start + length] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2) else { return nil }
        var seconds = daysFromCivil(year: year, month: month, day: day) * 86_400
        if bytes.count >= 19, let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) {
            seconds += hour * 3600 + minute * 60 + second
        }
        return seconds
    }

    /// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The zone's offset from UTC at an instant, in seconds.
    func offset(at seconds: Int64) -> Int64 {
        isUTC ? 0 : Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }

    /// A stored UTC time in the display zone; unchanged in UTC or when it cannot be read.
    func format(_ stored: String) -> String {
        guard !isUTC, let seconds = Self.parse(stored) else { return stored }
        return format(seconds: seconds)
    }

    /// Unix seconds as ISO 8601 in the display zone.
    func format(seconds: Int64) -> String {
        let offset = offset(at: seconds)
        guard offset != 0 || !isUTC else { return UTCTime.format(seconds) }
        let local = String(UTCTime.format(seconds + offset).dropLast())
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return local + sign + two(minutes / 60) + ":" + two(minutes % 60)
    }

    /// The local day (`YYYY-MM-DD`) of an instant.
    func day(of seconds: Int64) -> String {
        String(UTCTime.format(seconds + offset(at: seconds)).prefix(10))
    }

    /// Days since the epoch of a `YYYY-MM-DD` day key.
    static func dayNumber(_ day: String) -> Int64? { parse(day).map { $0 / 86_400 } }

    /// The `YYYY-MM-DD` key of a day number.
    static func dayKey(_ number: Int64) -> String { String(UTCTime.format(number * 86_400).prefix(10)) }
}
