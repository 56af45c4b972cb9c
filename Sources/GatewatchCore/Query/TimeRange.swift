import Foundation

/// Why a time option could not be read.
public enum TimeRangeError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The text is not a supported time.
    case badTime(String)
    /// The text is not a supported duration.
    case badDuration(String)
    /// `--since` is not before `--until`: the window is empty.
    case emptyRange(since: String, until: String)
    /// A time option (`--since`, `--until`, `--before`) holds no time; `option` names it.
    case badTimeOption(option: String, text: String)
    /// A duration option (`--last`, `--older-than`) holds no duration; `option` names it.
    case badDurationOption(option: String, text: String)

    /// The time forms every time option accepts.
    static let timeForms =
        "a date (2026-11-20), a UTC time (2026-11-20T13:00, 2026-11-20T13:00:00Z), a time with an offset "
        + "(2026-11-20T13:00+01:00) or a duration back from now (90s, 15m, 12h, 7d, 2w; at most 100 years)"

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .badTime(let text):
            "cannot read time '\(text)'; use 2026-11-20, 2026-11-20T13:00, 2026-11-20T13:00:00Z, 2026-11-20T13:00+01:00 or a duration such as 7d"
        case .badDuration(let text):
            "cannot read duration '\(text)'; use a number and a unit, at most 100 years: 90s, 15m, 12h, 7d, 2w"
        case .emptyRange(let since, let until):
            "the window from --since \(since) to --until \(until) is empty; --since must come before --until"
                + " (a date alone as --until means the end of that day)"
        case .badTimeOption(let option, let text):
            "cannot read \(option) '\(text)'; use \(Self.timeForms)"
        case .badDurationOption(let option, let text):
            "cannot read \(option) '\(text)'; use a number and a unit, at most 100 years: 90s, 15m, 12h, 7d, 2w"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// A half-open time window `[since, until)` in Unix seconds, either end optional.
public struct TimeRange: Sendable, Equatable {
    /// The first second included.
    public var since: Int64?
    /// The first second excluded.
    public var until: Int64?

    /// Everything.
    public static let all = TimeRange(since: nil, until: nil)

    /// Creates a window.
    ///
    /// - Parameters:
    ///   - since: The first second included.
    ///   - until: The first second excluded.
    public init(since: Int64?, until: Int64?) {
        self.since = since
        self.until = until
    }

    /// Builds a window from command-line options.
    ///
    /// `--last D` means the D before `now` (or before `--until` when given); a date without a
    /// time in `--until` means the end of that day. A window counted back from now (`--last`, or
    /// a duration as `--since`) ends now unless `--until` is given: rows dated in the future are
    /// not "the last 7 days".
    ///
    /// - Parameters:
    ///   - since: The `--since` text.
    ///   - until: The `--until` text.
    ///   - last: The `--last` duration text.
    ///   - now: The current time in Unix seconds.
    /// - Returns: The window.
    /// - Throws: ``TimeRangeError``.
    public static func parse(since: String?, until: String?, last: String?, now: Int64) throws -> TimeRange {
        var range = TimeRange.all
        if let until {
            range.until = try timeOption("--until", until, now: now, endOfDay: true)
        }
        if let since {
            range.since = try timeOption("--since", since, now: now, endOfDay: false)
            if isDuration(since), range.until == nil { range.until = now }
        }
        if let last {
            let seconds = try durationOption("--last", last)
            range.since = (range.until ?? now) - seconds
            if range.until == nil { range.until = now }
        }
        if let start = range.since, let end = range.until, start >= end {
            throw TimeRangeError.emptyRange(since: UTCTime.format(start), until: UTCTime.format(end))
        }
        return range
    }

    /// Parses a time option, naming `name` in its error: `--since 'yesterday'`, not just `'yesterday'`.
    ///
    /// - Parameters:
    ///   - name: The option, such as `--since`.
    ///   - text: Its value: a date, a time, or a duration back from `now`.
    ///   - now: The current time in Unix seconds.
    ///   - endOfDay: Whether a date alone means the end of that day (`--until`).
    /// - Returns: Unix seconds.
    /// - Throws: ``TimeRangeError/badTimeOption(option:text:)``.
    public static func timeOption(_ name: String, _ text: String, now: Int64, endOfDay: Bool) throws -> Int64 {
        do {
            return try parseTime(text, now: now, endOfDay: endOfDay)
        } catch {
            throw TimeRangeError.badTimeOption(option: name, text: text)
        }
    }

    /// Parses a duration option, naming `name` in its error.
    ///
    /// - Parameters:
    ///   - name: The option, such as `--last`.
    ///   - text: Its value.
    /// - Returns: Seconds.
    /// - Throws: ``TimeRangeError/badDurationOption(option:text:)``.
    public static func durationOption(_ name: String, _ text: String) throws -> Int64 {
        do {
            return try parseDuration(text)
        } catch {
            throw TimeRangeError.badDurationOption(option: name, text: text)
        }
    }

    /// Whether a time option's text is a duration back from now (`7d`) rather than a time.
    static func isDuration(_ text: String) -> Bool {
        guard let last = text.trimmingCharacters(in: .whitespaces).last else { return false }
        return last.isLetter && last != "Z" && last != "z"
    }

    /// The longest duration accepted: 100 years, so that counting back from any time stays in range.
    static let longestDuration: Int64 = 100 * 366 * 86_400

    /// Parses `90s`, `15m`, `12h`, `7d`, `2w`, at most 100 years.
    ///
    /// - Parameter text: The duration.
    /// - Returns: Seconds.
    /// - Throws: ``TimeRangeError/badDuration(_:)``.
    public static func parseDuration(_ text: String) throws -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = trimmed.last, let value = Int64(trimmed.dropLast()), value >= 0 else {
            throw TimeRangeError.badDuration(text)
        }
        let multiplier: Int64
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        case "w": multiplier = 604_800
        default: throw TimeRangeError.badDuration(text)
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, product <= longestDuration else { throw TimeRangeError.badDuration(text) }
        return product
    }

    /// Parses an absolute UTC time or a duration before `now`.
    static func parseTime(_ text: String, now: Int64, endOfDay: Bool) throws -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if isDuration(trimmed) { return now - (try parseDuration(trimmed)) }
        var body = trimmed
        var offsetSeconds: Int64 = 0
        if body.hasSuffix("Z") || body.hasSuffix("z") {
            body.removeLast()
        } else if let offset = Self.trailingOffset(body) {
            // ISO 8601 offset: 2026-11-20T13:00+01:00 is 12:00 UTC.
            body.removeLast(offset.length)
            offsetSeconds = offset.seconds
        }
        let parts = body.split(maxSplits: 1, whereSeparator: { $0 == "T" || $0 == "t" || $0 == " " })
        guard let datePart = parts.first else { throw TimeRangeError.badTime(text) }
        let dateBytes = Array(datePart.utf8)
        guard let days = dateBytes.withUnsafeBytes({ W3CParser.parseDate($0) }) else {
            throw TimeRangeError.badTime(text)
        }
        var seconds: Int64 = 0
        if parts.count == 2 {
            let timeBytes = Array(parts[1].utf8)
            guard let parsed = timeBytes.withUnsafeBytes({ W3CParser.parseTime($0) }) else {
                throw TimeRangeError.badTime(text)
            }
            seconds = parsed
        } else if endOfDay {
            seconds = 86_400
        }
        return days * 86_400 + seconds - offsetSeconds
    }

    /// A trailing `+HH:MM`, `-HH:MM`, `+HHMM` or `+HH` after a time: its length and its seconds.
    static func trailingOffset(_ text: String) -> (length: Int, seconds: Int64)? {
        guard let timeStart = text.firstIndex(where: { $0 == "T" || $0 == "t" || $0 == " " }) else { return nil }
        let time = text[text.index(after: timeStart)...]
        guard let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) else { return nil }
        let digits = time[time.index(after: sign)...].filter { $0 != ":" }
        guard [2, 4].contains(digits.count), digits.allSatisfy(\.isNumber),
            let hours = Int64(digits.prefix(2)),
            let minutes = Int64(digits.count == 4 ? String(digits.suffix(2)) : "0"),
            hours <= 14, minutes < 60
        else { return nil }
        let seconds = (hours * 3600 + minutes * 60) * (time[sign] == "-" ? -1 : 1)
        return (time.distance(from: sign, to: time.endIndex), seconds)
    }
}
