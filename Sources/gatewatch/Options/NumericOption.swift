import ArgumentParser
import GatewatchCore

/// Range checks for numeric options: a value outside its range is refused, naming the option and
/// what it accepts, never clamped and never left to overflow or to loop for ever.
///
/// Numeric options are declared with `parsing: .unconditional`, so that `--limit -1` reaches
/// these checks instead of being taken for a short flag ("Missing value").
enum NumericOption {
    /// The longest span in days a day-count option accepts: 100 years.
    static let maximumDays = ReadinessQuery.maximumQuietDays

    /// Refuses `value` outside `range`.
    ///
    /// - Parameters:
    ///   - value: The value given.
    ///   - range: The accepted values.
    ///   - option: The option's name, such as `--quiet-days`.
    /// - Throws: `ValidationError` naming the option and the range.
    static func check(_ value: Int, in range: ClosedRange<Int>, option: String) throws {
        guard !range.contains(value) else { return }
        throw ValidationError("\(option) must be from \(range.lowerBound) to \(range.upperBound), not \(value)")
    }

    /// Refuses a negative row limit.
    ///
    /// - Parameters:
    ///   - value: The value given, if any.
    ///   - option: The option's name.
    ///   - zeroMeans: What 0 asks for.
    /// - Throws: `ValidationError` naming the option.
    static func checkLimit(_ value: Int?, option: String = "--limit", zeroMeans: String = "no limit") throws {
        guard let value, value < 0 else { return }
        throw ValidationError("\(option) must be 0 (\(zeroMeans)) or a positive number, not \(value)")
    }

    /// Refuses a duration option outside `range` seconds.
    ///
    /// - Parameters:
    ///   - text: The value given.
    ///   - range: The accepted seconds.
    ///   - option: The option's name.
    ///   - example: A valid value to suggest.
    /// - Returns: The seconds.
    /// - Throws: `ValidationError` naming the option, the range and an example.
    @discardableResult
    static func checkDuration(
        _ text: String,
        in range: ClosedRange<Double>,
        option: String,
        example: String
    ) throws -> Double {
        guard let seconds = AlertDuration.seconds(text), range.contains(seconds) else {
            throw ValidationError(
                "\(option) '\(text)' is not a duration from \(describe(range.lowerBound)) to "
                    + "\(describe(range.upperBound)); pass e.g. \(example)"
            )
        }
        return seconds
    }

    /// `50ms`, `5s`, `1h`, `1d`.
    private static func describe(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded()))ms" : AlertDuration.format(Int64(seconds))
    }
}
