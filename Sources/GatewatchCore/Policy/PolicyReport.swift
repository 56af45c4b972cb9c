/// One address explained by `gatewatch check`.
public struct AddressCheck: Sendable, Hashable {
    /// The address as the user typed it.
    public var input: String
    /// The decision (verdict `indeterminate`, rule `not-an-address` when the input is not an address).
    public var decision: PolicyDecision
    /// Whether the address is a declared gateway address.
    public var isGateway: Bool

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - input: The address text.
    ///   - decision: The decision.
    ///   - isGateway: Whether it is a gateway address.
    public init(input: String, decision: PolicyDecision, isGateway: Bool) {
        self.input = input
        self.decision = decision
        self.isGateway = isGateway
    }
}

extension Policy {
    /// Explains each address (`gatewatch check`): a port is stripped, non-addresses are
    /// `indeterminate` (D5).
    ///
    /// - Parameters:
    ///   - addresses: The address texts.
    ///   - template: The other request attributes (X-Forwarded-For, host, path, user agent).
    /// - Returns: One result per address, in order.
    public func check(_ addresses: [String], template: PolicyRequest) -> [AddressCheck] {
        addresses.map { text in
            guard let address = IPAddress(endpoint: text) else {
                return AddressCheck(
                    input: text,
                    decision: PolicyDecision(verdict: .indeterminate, rule: "not-an-address", layer: .none),
                    isGateway: false
                )
            }
            var request = template
            request.address = address
            return AddressCheck(input: text, decision: evaluate(request), isGateway: isGateway(address))
        }
    }
}

/// Renders `check` and `lint` results as tables and JSON.
public enum PolicyReport {
    /// The JSON contract of `check`: an array with one object per address, keys in the order
    /// `address`, `verdict`, `rule`, `layer`, `status`, `substatus` (`null` where no line is logged).
    ///
    /// - Parameter checks: The results.
    /// - Returns: The JSON text, one object per line.
    public static func checkJSON(_ checks: [AddressCheck]) -> String {
        let objects = checks.map { check in
            let decision = check.decision
            return "  {\"address\": \(json(check.input)), \"verdict\": \(json(decision.verdict.rawValue)), "
                + "\"rule\": \(json(decision.rule)), \"layer\": \(json(decision.layer.rawValue)), "
                + "\"status\": \(decision.status.map(String.init) ?? "null"), "
                + "\"substatus\": \(decision.substatus.map(String.init) ?? "null")}"
        }
        return objects.isEmpty ? "[]" : "[\n" + objects.joined(separator: ",\n") + "\n]"
    }

    /// A table of `check` results.
    ///
    /// - Parameter checks: The results.
    /// - Returns: The table text, escaped for a terminal.
    public static func checkTable(_ checks: [AddressCheck]) -> String {
        let rows = checks.map { check -> [String] in
            let decision = check.decision
            var status = "-"
            if let code = decision.status {
                status = decision.substatus.map { "\(code).\($0)" } ?? "\(code)"
                if decision.layer == .appserviceFrontend { status += " (front end, no W3C line)" }
            } else if decision.verdict == .abort {
                status = "reset (no W3C line)"
            }
            let address = check.isGateway ? "\(check.input) (gateway)" : check.input
            return [address, decision.verdict.rawValue, decision.layer.rawValue, status, decision.rule]
        }
        return table(header: ["ADDRESS", "VERDICT", "LAYER", "STATUS", "RULE"], rows: rows)
    }

    /// The JSON form of `lint` findings.
    ///
    /// - Parameter findings: The findings.
    /// - Returns: A JSON array of objects with `severity`, `code`, `file`, `line`, `column`, `message`.
    public static func lintJSON(_ findings: [LintFinding]) -> String {
        let objects = findings.map { finding in
            "  {\"severity\": \(json(finding.severity.rawValue)), \"code\": \(json(finding.code)), "
                + "\"file\": \(json(finding.location.file)), \"line\": \(finding.location.line), "
                + "\"column\": \(finding.location.column), \"message\": \(json(finding.message))}"
        }
        return objects.isEmpty ? "[]" : "[\n" + objects.joined(separator: ",\n") + "\n]"
    }

    /// A table of `lint` findings with a summary line.
    ///
    /// - Parameter findings: The findings.
    /// - Returns: The text, escaped for a terminal.
    public static func lintTable(_ findings: [LintFinding]) -> String {
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.filter { $0.severity == .warning }.count
        var lines = findings.map { finding in
            "\(finding.severity.rawValue.padded(7)) \(finding.code.padded(29)) \(sanitise(finding.location.description))\n"
                + "        \(sanitise(finding.message))"
        }
        lines.append("\(errors) error(s), \(warnings) warning(s), \(findings.count - errors - warnings) note(s)")
        return lines.joined(separator: "\n")
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows.map { $0.map(sanitise) }
        var widths = header.map(\.count)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return all.map { row in
            row.enumerated().map { index, cell in index == row.count - 1 ? cell : cell.padded(widths[index]) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Replaces control characters so file content cannot drive the terminal.
    static func sanitise(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { $0.value < 0x20 || ($0.value >= 0x7F && $0.value < 0xA0) ? "?" : $0 }
            )
        )
    }

    /// A JSON string literal.
    static func json(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
