import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads `web.config` / `applicationHost.config` text into ``IISDocument`` values.
///
/// Only the parts the allowlist needs are interpreted: `<ipSecurity>`, `<dynamicIpSecurity>`,
/// `<location>` and the section registrations. Everything else is skipped. Unknown attributes on
/// the interpreted elements, values outside their types, unknown elements inside
/// `<system.webServer><security>` and near-misses of the elements read (`<ipSecurty>`,
/// `<IPSecurity>`, `<system.webserver>`, `<Location>`) are configuration errors with
/// file:line:column: IIS answers 500.19 for them (its names are case-sensitive), so ignoring one
/// would evaluate a different allowlist than the server runs. They are collected in
/// ``IISDocument/configErrors``; the caller decides whether to refuse the file.
enum IISParser {
    static let ipSecurityAttributes = [
        "allowUnlisted", "denyAction", "enableProxyMode", "enableReverseDns",
    ]
    static let addAttributes = ["ipAddress", "subnetMask", "domainName", "allowed"]
    static let removeAttributes = ["ipAddress", "subnetMask", "domainName"]
    static let dynamicAttributes = ["denyAction", "enableProxyMode", "enableLoggingOnlyMode"]
    static let locationAttributes = ["path", "overrideMode", "allowOverride", "inheritInChildApplications"]
    static let sectionAttributes = [
        "name", "type", "overrideModeDefault", "allowDefinition", "allowLocation", "requirePermission",
        "restartOnExternalChanges", "allowExeDefinition",
    ]
    /// The children of `<system.webServer><security>` in IIS's schema (`IIS_schema.xml`); IIS
    /// answers 500.19 for any other.
    static let securitySections = [
        "access", "applicationDependencies", "authentication", "authorization", "dynamicIpSecurity", "ipSecurity",
        "isapiCgiRestriction", "requestFiltering",
    ]
    /// How deep elements may nest: real configuration files stay below 20 levels; a bound keeps a
    /// hostile file from costing minutes (200,000 nested elements took 89 s before it).
    static let maximumDepth = 256
    static let lockAttributes: Set<String> = [
        "lockattributes", "lockallattributesexcept", "lockelements", "lockallelementsexcept", "lockitem",
        "configsource",
    ]

    static func parse(text: String, path: String) throws(PolicyError) -> IISDocument {
        let handler = Handler(path: path, text: text)
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = handler
        let succeeded = parser.parse()
        if let error = handler.error { throw error }
        handler.document.configErrors = handler.problems
        if let failure = handler.xmlError {
            throw .malformedXML(failure.location, reason: failure.reason)
        }
        if !succeeded || parser.parserError != nil {
            let code = parser.parserError.map { ($0 as NSError).code } ?? 0
            throw .malformedXML(
                SourceLocation(file: path, line: parser.lineNumber, column: parser.columnNumber),
                reason: code == 0 ? "the parser stopped" : "XML parser error \(code)"
            )
        }
        guard handler.sawRoot else {
            throw .malformedXML(SourceLocation(file: path, line: 1, column: 1), reason: "no root element")
        }
        return handler.document
    }

    /// What a libxml2 error number means, in words.
    ///
    /// `XMLParser` passes libxml2's `xmlParserErrors` numbers through as its error codes (the
    /// numbering of Apple's `NSXMLParserError`; swift-corelibs-foundation's `XMLParser.ErrorCode`
    /// cases are off by one from it on Linux, so the numbers are matched here, not the cases).
    ///
    /// - Parameters:
    ///   - code: The error number.
    ///   - openElement: The innermost element open when the error happened, if any.
    ///   - closingTag: The name of the closing tag at the error, when the error is a mismatch.
    ///   - afterRoot: Whether the root element had already ended.
    /// - Returns: A sentence fragment that says what is wrong.
    static func describe(code: Int, openElement: String?, closingTag: String?, afterRoot: Bool) -> String {
        let literals = "write a literal '<' as &lt; and '&' as &amp;"
        switch code {
        case 3, 4:  // XML_ERR_DOCUMENT_START, XML_ERR_DOCUMENT_EMPTY
            return "the file does not start with an element"
        case 5:  // XML_ERR_DOCUMENT_END
            if let openElement {
                return "the file ends before <\(openElement)> is closed (premature end: is the file cut short?)"
            }
            if afterRoot {
                return "there is content after the end of the root element; an XML file has exactly one root element"
            }
            return "the file ends too early (premature end)"
        case 6, 7, 8:  // XML_ERR_INVALID_HEX_CHARREF, _DEC_CHARREF, _CHARREF
            return "a character reference (&#...;) is malformed or names a character XML does not allow"
        case 9:  // XML_ERR_INVALID_CHAR
            return "a character XML does not allow (a control character such as NUL, raw or written as &#...;)"
        case 10...21:  // references at the end of the file, in the prolog or epilogue, or in the DTD
            return "an entity or character reference stands where XML allows none (outside the root element, "
                + "or cut off at the end of the file)"
        case 22, 24:  // XML_ERR_ENTITYREF_NO_NAME, XML_ERR_PEREF_NO_NAME
            return "'&' is not followed by an entity name; \(literals)"
        case 23, 25:  // XML_ERR_ENTITYREF_SEMICOL_MISSING, XML_ERR_PEREF_SEMICOL_MISSING
            return "an entity reference is not ended with ';' (a bare '&'?); \(literals)"
        case 26, 27:  // XML_ERR_UNDECLARED_ENTITY, XML_WAR_UNDECLARED_ENTITY
            return "an entity reference names an entity XML does not define (only &amp; &lt; &gt; &quot; &apos; "
                + "exist); \(literals)"
        case 28, 29, 30:  // XML_ERR_UNPARSED_ENTITY, _ENTITY_IS_EXTERNAL, _ENTITY_IS_PARAMETER
            return "an entity reference names an entity that cannot be used here"
        case 31, 32, 79, 81:  // unknown, unsupported, or invalid encoding
            return "the encoding is unknown or does not match the bytes; save the file as UTF-8"
        case 38:  // XML_ERR_LT_IN_ATTRIBUTE
            return "'<' inside an attribute value: is the closing quote of the attribute before it missing? "
                + "(\(literals))"
        case 39:  // XML_ERR_ATTRIBUTE_NOT_STARTED
            return "an attribute value is not in quotes; write name=\"value\""
        case 40:  // XML_ERR_ATTRIBUTE_NOT_FINISHED
            return "an attribute value is not closed with its quote"
        case 41:  // XML_ERR_ATTRIBUTE_WITHOUT_VALUE
            return "an attribute has no value; write name=\"value\""
        case 42:  // XML_ERR_ATTRIBUTE_REDEFINED
            return "an element has the same attribute twice"
        case 45:  // XML_ERR_COMMENT_NOT_FINISHED
            return "a comment is not closed with '-->'"
        case 47, 57:  // XML_ERR_PI_NOT_FINISHED, XML_ERR_XMLDECL_NOT_FINISHED
            return "a processing instruction or the <?xml ...?> declaration is not closed with '?>'"
        case 62, 63:  // XML_ERR_MISPLACED_CDATA_END, XML_ERR_CDATA_NOT_FINISHED
            return "a CDATA section is not closed, or ']]>' appears outside one"
        case 64:  // XML_ERR_RESERVED_XML_NAME
            return "the <?xml ...?> declaration is not at the very start of the file"
        case 65:  // XML_ERR_SPACE_REQUIRED
            return "white space is missing between attributes"
        case 68:  // XML_ERR_NAME_REQUIRED
            return "a name is expected here: is the tag before it missing its closing '>', or an element name "
                + "misspelt? (\(literals))"
        case 73:  // XML_ERR_GT_REQUIRED
            return "a tag is not closed with '>'"
        case 74:  // XML_ERR_LTSLASH_REQUIRED
            return "an element is not closed with its end tag"
        case 75:  // XML_ERR_EQUAL_REQUIRED
            return "an attribute name is not followed by '='"
        case 76:  // XML_ERR_TAG_NAME_MISMATCH
            let closing = closingTag.map { "the end tag </\($0)>" } ?? "an end tag"
            if let openElement {
                return "\(closing) does not match the open element <\(openElement)> (tag mismatch: is <\(openElement)> "
                    + "missing its '/>' or its own end tag?)"
            }
            return "\(closing) has no matching start tag"
        case 77:  // XML_ERR_TAG_NOT_FINISHED
            return "an element is not closed" + (openElement.map { " (<\($0)>)" } ?? "")
        case 80:  // XML_ERR_HYPHEN_IN_COMMENT
            return "a comment contains '--', which XML does not allow inside comments"
        default:
            return "XML parser error \(code)"
        }
    }

    /// Reads a `denyAction` value (names case-insensitive, or `0/401/403/404`, D2).
    static func denyAction(_ text: String, at location: SourceLocation) throws(PolicyError) -> IISDenyAction {
        guard let action = IISDenyAction(text: text) else {
            throw .invalidValue(
                location,
                attribute: "denyAction",
                value: text,
                expected: "'AbortRequest', 'Unauthorized', 'Forbidden' or 'NotFound'"
            )
        }
        return action
    }

    /// Whether `name` is a near-miss of `target`: the same in another case, or at most two
    /// letters apart (`ipSecurty`, `IPSecurity`, `system.webserver`, `locaton`).
    static func isNearMiss(_ name: String, of target: String) -> Bool {
        if name == target { return false }
        let lhs = Array(name.lowercased().utf8)
        let rhs = Array(target.lowercased().utf8)
        if lhs == rhs { return true }
        guard abs(lhs.count - rhs.count) <= 2, rhs.count >= 6 else { return false }
        var previous = Array(0...rhs.count)
        for (row, left) in lhs.enumerated() {
            var current = [row + 1] + Array(repeating: 0, count: rhs.count)
            for (column, right) in rhs.enumerated() {
                current[column + 1] = min(
                    previous[column + 1] + 1,
                    current[column] + 1,
                    previous[column] + (left == right ? 0 : 1)
                )
            }
            previous = current
        }
        return previous[rhs.count] <= 2
    }

    /// Parses an IIS boolean, case-insensitively (D2).
    static func bool(_ text: String, attribute: String, at location: SourceLocation) throws(PolicyError) -> Bool {
        switch text.trimmingWhitespace.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .invalidValue(location, attribute: attribute, value: text, expected: "'true' or 'false'")
        }
    }

    /// The value of a locking attribute such as `lockItem`, matched in any case, as `check` accepts it.
    static func lockValue(_ name: String, in attributes: [String: String]) -> String? {
        let lowered = name.lowercased()
        return attributes.first { $0.key.lowercased() == lowered }?.value
    }

    /// Splits a comma-separated `lockAttributes` / `lockElements` value into trimmed names.
    static func lockNames(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0.trimmingWhitespace) }.filter { !$0.isEmpty }
    }

    static func uint(_ text: String, attribute: String, at location: SourceLocation) throws(PolicyError) -> UInt32 {
        guard let value = UInt32(text.trimmingWhitespace), value >= 1 else {
            throw .invalidValue(
                location,
                attribute: attribute,
                value: text,
                expected: "a whole number from 1 to 4294967295"
            )
        }
        return value
    }
}
