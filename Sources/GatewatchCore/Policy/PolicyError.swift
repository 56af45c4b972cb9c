import Foundation

/// A place in a policy file: path, 1-based line and column (0 when unknown).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file path as the user gave it.
    public var file: String
    /// The 1-based line, or 0 when unknown.
    public var line: Int
    /// The 1-based column, or 0 when unknown.
    public var column: Int

    /// Creates a location.
    ///
    /// - Parameters:
    ///   - file: The file path.
    ///   - line: The 1-based line.
    ///   - column: The 1-based column.
    public init(file: String, line: Int = 0, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, or shorter when line or column are unknown.
    public var description: String {
        if line == 0 { return file }
        if column == 0 { return "\(file):\(line)" }
        return "\(file):\(line):\(column)"
    }
}

/// Why a policy, service-tags file or address list could not be loaded.
public enum PolicyError: Error, Hashable, CustomStringConvertible, LocalizedError {
    /// The file cannot be read.
    case cannotRead(path: String, reason: String)
    /// The XML is not well-formed.
    case malformedXML(SourceLocation, reason: String)
    /// The JSON is not valid.
    case malformedJSON(SourceLocation, reason: String)
    /// An element carries an attribute (or a JSON object a key) the schema does not define.
    case unknownAttribute(SourceLocation, element: String, attribute: String, known: [String])
    /// A JSON object (App Service access restrictions) has a key Gatewatch does not know.
    case unknownKey(SourceLocation, object: String, key: String, known: [String])
    /// An element holds a child element the schema does not define (`<deny>` in `<ipSecurity>`).
    case unknownElement(SourceLocation, parent: String, element: String, known: [String])
    /// An attribute has a value outside its type (`allowUnlisted="maybe"`).
    case invalidValue(SourceLocation, attribute: String, value: String, expected: String)
    /// A line of a plain address list is not an address or CIDR block.
    case invalidListEntry(SourceLocation, text: String)
    /// The file is none of the supported policy formats.
    case unrecognisedFormat(path: String)
    /// The service-tags file has no `values` array.
    case notServiceTags(path: String)
    /// The policy file is empty or holds only white space.
    case emptyPolicy(path: String)
    /// Elements nest deeper than any real configuration (a bound against hostile input).
    case tooDeep(SourceLocation, limit: Int)

    /// The location of the problem, when there is one.
    public var location: SourceLocation? {
        switch self {
        case .malformedXML(let location, _), .malformedJSON(let location, _),
            .unknownAttribute(let location, _, _, _), .unknownElement(let location, _, _, _),
            .unknownKey(let location, _, _, _),
            .invalidValue(let location, _, _, _),
            .invalidListEntry(let location, _), .tooDeep(let location, _):
            location
        case .cannotRead(let path, _), .unrecognisedFormat(let path), .notServiceTags(let path),
            .emptyPolicy(let path):
            SourceLocation(file: path)
        }
    }

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .cannotRead(let path, let reason):
            "cannot read '\(path)': \(reason); check the path and permissions"
        case .malformedXML(let location, let reason):
            "\(location): malformed XML: \(reason); fix the markup (is every element closed and every attribute quoted?)"
        case .malformedJSON(let location, let reason):
            "\(location): malformed JSON: \(reason); re-export it with 'az webapp config access-restriction show'"
        case .unknownAttribute(let location, let element, let attribute, let known):
            "\(location): unknown attribute '\(attribute)' on <\(element)>; IIS would fail with 500.19; "
                + "use one of: \(known.joined(separator: ", "))"
        case .unknownKey(let location, let object, let key, let known):
            "\(location): unknown key '\(Self.clip(key))' in \(object); Gatewatch does not know what it means, so it "
                + "will not guess; use one of: \(known.joined(separator: ", ")) (or pass --accept-config-errors to ignore it)"
        case .unknownElement(let location, let parent, let element, let known):
            "\(location): unknown element <\(element)> \(parent.isEmpty ? "as the root" : "inside <\(parent)>"); "
                + "IIS would fail with 500.19; "
                + (known.isEmpty
                    ? "<\(parent)> has no child elements"
                    : "use one of: \(known.map { "<\($0)>" }.joined(separator: ", "))")
        case .invalidValue(let location, let attribute, let value, let expected):
            "\(location): '\(Self.clip(value))' is not a valid value for '\(attribute)'; use \(expected)"
        case .invalidListEntry(let location, let text):
            "\(location): '\(Self.clip(text))' is not an IP address or CIDR block; write one address or "
                + "block per line, '#' starts a comment"
        case .unrecognisedFormat(let path):
            "'\(path)' is neither an IIS config (XML), App Service access restrictions (JSON) nor an address "
                + "list; pass a web.config, applicationHost.config, 'az webapp config access-restriction show' "
                + "output or a list of CIDRs"
        case .emptyPolicy(let path):
            "'\(path)' holds no entries: it is empty or only white space; an empty list would deny everyone, "
                + "so it is refused; put the web.config, access restrictions or addresses in it, or leave it out"
        case .tooDeep(let location, let limit):
            "\(location): elements nest more than \(limit) deep; no IIS configuration does, so the file is refused "
                + "(is it generated or damaged?); flatten it"
        case .notServiceTags(let path):
            "'\(path)' is not a service tags file (no 'values' array); download ServiceTags_Public_*.json "
                + "from the Microsoft download center"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }

    /// The ``lintCode`` values.
    public static let acceptableCodes: Set<String> = [
        "UNKNOWN_ELEMENT", "UNKNOWN_ATTRIBUTE", "INVALID_VALUE", "UNKNOWN_KEY",
    ]

    /// The `lint` code of an error that IIS answers with 500.19 and that loading can accept as a
    /// configuration error (``PolicyLoadOptions/acceptsConfigurationErrors``); `nil` for errors
    /// that stop loading.
    public var lintCode: String? {
        switch self {
        case .unknownElement: "UNKNOWN_ELEMENT"
        case .unknownKey: "UNKNOWN_KEY"
        case .unknownAttribute: "UNKNOWN_ATTRIBUTE"
        case .invalidValue: "INVALID_VALUE"
        default: nil
        }
    }

    static func clip(_ text: String) -> String {
        text.utf8.count <= 80 ? text : String(decoding: text.utf8.prefix(80), as: UTF8.self) + "…"
    }
}
