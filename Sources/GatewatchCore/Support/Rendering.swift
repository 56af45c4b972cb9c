import CMalloc
import Foundation

/// Output formats of query commands.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people.
    case table
    /// One JSON document.
    case json
    /// One JSON object per line.
    case ndjson
    /// RFC 4180 CSV with a header row.
    case csv
}

/// Standard output as the commands write it (Swift's `print`, buffered by the C library).
public enum StandardOutput {
    /// Flushes what was printed; `nil` when it all got there, else the reason it did not (a full
    /// disk, a closed descriptor), so that the command can fail instead of exiting 0.
    ///
    /// - Returns: The error text, or `nil`.
    public static func flush() -> String? {
        switch gw_flush_stdout() {
        case 0: nil
        case -1: String(cString: strerror(errno))
        default: "the output is full or closed"
        }
    }
}

/// Escaping of log-derived text before it reaches a terminal, a CSV file or HTML.
///
/// Log text is hostile: a user agent can carry ANSI escape sequences that rewrite the operator's
/// terminal, or a CSV formula that runs in a spreadsheet.
public enum SafeText {
    /// Text safe for a terminal: control characters (C0, DEL, C1, including ESC) become `\xNN` or
    /// `\u{NNNN}`; a backslash is doubled so the escaping is unambiguous.
    ///
    /// Invalid UTF-8 has already become U+FFFD when the bytes were decoded.
    ///
    /// - Parameter text: The text.
    /// - Returns: The escaped text.
    public static func terminal(_ text: String) -> String {
        var needsWork = false
        for scalar in text.unicodeScalars
        where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) || scalar == "\\"
            || scalar.value == 0x2028 || scalar.value == 0x2029 || (scalar.value >= 0x202A && scalar.value <= 0x202E)
            || (scalar.value >= 0x2066 && scalar.value <= 0x2069)
        {
            needsWork = true
            break
        }
        guard needsWork else { return text }
        var output = ""
        output.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C:
                output += "\\\\"
            case 0..<0x20, 0x7F..<0xA0:
                output += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            case 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
                // Line separators and bidirectional overrides can disguise text.
                output += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// A message safe for a terminal, its line breaks kept: each line as ``terminal(_:)`` escapes
    /// it.
    ///
    /// For error messages and help, which quote paths, arguments and configuration values.
    ///
    /// - Parameter text: The message.
    /// - Returns: The escaped message.
    public static func terminalLines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { terminal(String($0)) }
            .joined(separator: "\n")
    }

    /// A CSV field: control characters other than tab, CR and LF (ESC and the rest of C0, DEL,
    /// C1) written as `\xNN`, as ``terminal(_:)`` does, since CSV files are read in terminals too
    /// (`cat`, `column`); quoted when needed, `"` doubled; and a leading `=`, `+`, `-`, `@`, tab
    /// or CR prefixed with `'` so spreadsheets do not run it as a formula (OWASP CSV injection).
    ///
    /// Backslashes are kept as they are: a CSV cell is data, not a display.
    ///
    /// - Parameter text: The field.
    /// - Returns: The CSV-ready field.
    public static func csv(_ text: String) -> String {
        var value = text
        if value.unicodeScalars.contains(where: isCSVControl) {
            var escaped = ""
            for scalar in value.unicodeScalars {
                if isCSVControl(scalar) {
                    escaped += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
            value = escaped
        }
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) {
            // Plain numbers such as -1 are left alone.
            if Double(value) == nil { value = "'" + value }
        }
        let needsQuotes = value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private static func isCSVControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: false
        case 0..<0x20, 0x7F..<0xA0: true
        default: false
        }
    }

    /// Text safe inside HTML element content and attribute values: markup characters as entities,
    /// and control, zero-width and bidirectional-override characters shown as `\xNN` or
    /// `\u{NNNN}` (log text is hostile: such characters disguise what a page says).
    ///
    /// - Parameter text: The text.
    /// - Returns: The escaped text.
    public static func html(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x26: output += "&amp;"
            case 0x3C: output += "&lt;"
            case 0x3E: output += "&gt;"
            case 0x22: output += "&quot;"
            case 0x27: output += "&#39;"
            case 0x09, 0x0A, 0x0D: output.unicodeScalars.append(scalar)
            case 0..<0x20, 0x7F..<0xA0:
                // Control characters are shown, as in terminal output, not passed to the page.
                output += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            case 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF:
                // Zero-width characters, line separators and bidirectional overrides disguise text.
                output += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}

/// A simple table renderer for the `table` and `csv` formats.
public struct TextTable: Sendable {
    /// Column titles.
    public var columns: [String]
    /// Rows of cells (already formatted, not yet escaped).
    public var rows: [[String]]
    /// Columns to right-align (numbers).
    public var numericColumns: Set<Int>

    /// Creates a table.
    ///
    /// - Parameters:
    ///   - columns: Column titles.
    ///   - rows: Rows of cells.
    ///   - numericColumns: Indices of right-aligned columns.
    public init(columns: [String], rows: [[String]], numericColumns: Set<Int> = []) {
        self.columns = columns
        self.rows = rows
        self.numericColumns = numericColumns
    }

    /// Aligned text, every cell escaped for the terminal.
    public func renderText() -> String {
        let escapedRows = rows.map { $0.map(SafeText.terminal) }
        var widths = columns.map(\.count)
        for row in escapedRows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let isLast = index == cells.count - 1
                if numericColumns.contains(index) {
                    parts.append(padding + cell)
                } else {
                    parts.append(isLast ? cell : cell + padding)
                }
            }
            return parts.joined(separator: "  ")
        }
        var output = [line(columns)]
        output += escapedRows.map(line)
        return output.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV with a header row, every cell protected against formula injection.
    public func renderCSV() -> String {
        var output = columns.map(SafeText.csv).joined(separator: ",") + "\r\n"
        for row in rows {
            output += row.map(SafeText.csv).joined(separator: ",") + "\r\n"
        }
        return output
    }
}

/// JSON encoding with stable key order, as the output contracts need.
public enum JSONOutput {
    /// Encodes a value as sorted-key JSON.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - pretty: Whether to indent.
    /// - Returns: The JSON text.
    /// - Throws: Encoding errors.
    public static func encode(_ value: some Encodable, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
