/// How serious a lint finding is.
public enum LintSeverity: String, Sendable, Hashable, Codable, Comparable {
    /// Worth knowing; changes nothing.
    case info
    /// Probably not what was meant.
    case warning
    /// The configuration does not do what it says (or fails outright); `lint` exits 1.
    case error

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        }
    }

    /// Orders by seriousness, `info` < `warning` < `error`.
    public static func < (lhs: LintSeverity, rhs: LintSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// One problem `lint` found in a policy.
public struct LintFinding: Sendable, Hashable, Codable {
    /// The severity.
    public var severity: LintSeverity
    /// A stable code such as `EMPTY_IP_ENTRY` or `SHADOWED_ENTRY`.
    public var code: String
    /// Where the problem is.
    public var location: SourceLocation
    /// A sentence that says what is wrong and what to do.
    public var message: String

    /// Creates a finding.
    ///
    /// - Parameters:
    ///   - severity: The severity.
    ///   - code: The stable code.
    ///   - location: Where the problem is.
    ///   - message: What is wrong and what to do.
    public init(severity: LintSeverity, code: String, location: SourceLocation, message: String) {
        self.severity = severity
        self.code = code
        self.location = location
        self.message = message
    }
}
