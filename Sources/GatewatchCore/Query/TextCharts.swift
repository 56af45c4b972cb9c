/// Unicode sparklines and bars for terminal output.
public enum TextCharts {
    private static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    private static let eighths: [String] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]

    /// A sparkline: one block character per value, scaled to the largest value; zero is a space.
    ///
    /// - Parameter values: The values, in order.
    /// - Returns: The sparkline, `values.count` characters long.
    public static func sparkline(_ values: [Int]) -> String {
        let largest = values.max() ?? 0
        guard largest > 0 else { return String(repeating: " ", count: values.count) }
        return String(
            values.map { value -> Character in
                guard value > 0 else { return " " }
                let level = (value * levels.count + largest - 1) / largest - 1
                return levels[min(levels.count - 1, max(0, level))]
            }
        )
    }

    /// A horizontal bar proportional to `value / largest`, at most `width` cells, in eighths of a
    /// cell; a non-zero value always shows at least a sliver.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - largest: The value that fills the whole width.
    ///   - width: The width in cells.
    /// - Returns: The bar.
    public static func bar(_ value: Int, largest: Int, width: Int = 40) -> String {
        guard value > 0, largest > 0, width > 0 else { return "" }
        let total = max(1, Int((Double(value) / Double(largest) * Double(width * 8)).rounded()))
        return String(repeating: "█", count: total / 8) + eighths[total % 8]
    }
}
