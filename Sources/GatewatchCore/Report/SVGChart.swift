import Foundation

/// Inline SVG charts for the HTML report: no script, no external resource.
struct SVGChart {
    /// One stacked series.
    struct Series {
        var name: String
        var cssClass: String
    }

    /// One bar: a label (shown under the axis when not `nil`), a tooltip title and one value
    /// per series, bottom first.
    struct Bar {
        var label: String?
        var title: String
        var values: [Int]
    }

    var series: [Series]
    var bars: [Bar]
    var width = 960
    var height = 260
    /// Accessible description of the chart.
    var summary: String

    private let left = 64.0
    private let right = 12.0
    private let top = 12.0
    private let bottom = 36.0

    /// A step of 1, 2 or 5 × 10ⁿ that splits `maximum` into about four intervals.
    static func niceStep(_ maximum: Int) -> Int {
        guard maximum > 4 else { return 1 }
        let raw = Double(maximum) / 4
        let magnitude = pow(10, floor(log10(raw)))
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * magnitude >= raw {
            let step = factor * magnitude
            return step.isFinite && step < Double(Int.max) ? max(1, Int(step)) : 1
        }
        return max(1, Int(10 * magnitude))
    }

    /// The chart as an `<svg>` element; every text node is HTML-escaped.
    func render() -> String {
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let maximum = max(1, bars.map { $0.values.reduce(0, +) }.max() ?? 1)
        let step = Self.niceStep(maximum)
        let axisMaximum = ((maximum + step - 1) / step) * step
        func y(_ value: Int) -> Double { top + plotHeight - plotHeight * Double(value) / Double(axisMaximum) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" "
        svg += "aria-label=\"\(SafeText.html(summary))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        var tick = 0
        while tick <= axisMaximum {
            let position = number(y(tick))
            svg += "<line class=\"grid\" x1=\"\(number(left))\" x2=\"\(number(Double(width) - right))\" "
            svg += "y1=\"\(position)\" y2=\"\(position)\"/>"
            svg += "<text class=\"axis\" x=\"\(number(left - 6))\" y=\"\(position)\" text-anchor=\"end\" "
            svg += "dominant-baseline=\"middle\">\(HTMLReport.grouped(tick))</text>\n"
            tick += step
        }
        guard !bars.isEmpty else {
            svg +=
                "<text class=\"axis\" x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">no data</text></svg>"
            return svg
        }
        let slot = plotWidth / Double(bars.count)
        let gap = slot >= 6 ? max(1, slot * 0.15) : 0
        let labelEvery = max(1, Int((Double(bars.filter { $0.label != nil }.count) / 12).rounded(.up)))
        var labelIndex = 0
        for (index, bar) in bars.enumerated() {
            let x = left + Double(index) * slot + gap / 2
            var base = 0
            for (seriesIndex, value) in bar.values.enumerated() where value > 0 && seriesIndex < series.count {
                let top = y(base + value)
                let heightValue = max(0.5, y(base) - top)
                svg += "<rect class=\"\(series[seriesIndex].cssClass)\" x=\"\(number(x))\" y=\"\(number(top))\" "
                svg += "width=\"\(number(max(0.5, slot - gap)))\" height=\"\(number(heightValue))\">"
                svg += "<title>\(SafeText.html(bar.title)): \(HTMLReport.grouped(value)) "
                svg += "\(SafeText.html(series[seriesIndex].name))</title></rect>"
                base += value
            }
            if let label = bar.label {
                if labelIndex % labelEvery == 0 {
                    svg += "<text class=\"axis\" x=\"\(number(x))\" y=\"\(number(Double(height) - bottom + 16))\">"
                    svg += "\(SafeText.html(label))</text>"
                }
                labelIndex += 1
            }
            svg += "\n"
        }
        svg += "<line class=\"baseline\" x1=\"\(number(left))\" x2=\"\(number(Double(width) - right))\" "
        svg += "y1=\"\(number(y(0)))\" y2=\"\(number(y(0)))\"/>\n</svg>"
        return svg
    }

    /// A legend for the series, as HTML.
    func legend() -> String {
        "<p class=\"legend\">"
            + series.map { "<span class=\"key \($0.cssClass)\"></span>\(SafeText.html($0.name))" }
            .joined(separator: " ") + "</p>"
    }
}
