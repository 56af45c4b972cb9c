import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads `web.config` / `applicationHost.config` text into ``IISDocument`` values.
///
/// Only the parts the allowlist needs are interpreted: `<ipSecurity>`, `<dynamicIpSecurity>`,
/// `<location>` and the section registrations. Everything else is skipped. Unknown attributes on
/// the interpreted elements, and values outside their types, are errors with file:line:column.
enum IISParser {
    static let ipSecurityAttributes = [
        "allowUnlisted", "denyAction", "enableProxyMode", "enableReverseDns",
    ]
    static let addAttributes = ["ipAddress", "subnetMask", "domainName", "allowed"]
    static let removeAttributes = ["ipAddress", "subnetMask", "domainName"]
    static let dynamicAttributes = ["denyAction", "enableProxyMode", "enableLoggingOnlyMode"]
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
        if !succeeded || parser.parserError != nil {
            let reason = parser.parserError.map { Self.describe($0) } ?? "the parser stopped"
            throw .malformedXML(
                SourceLocation(file: path, line: parser.lineNumber, column: parser.columnNumber),
                reason: reason
            )
        }
        guard handler.sawRoot else {
            throw .malformedXML(SourceLocation(file: path, line: 1, column: 1), reason: "no root element")
        }
        return handler.document
    }

    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        let code = nsError.code
        if let message = nsError.userInfo[NSLocalizedDescriptionKey] as? String, !message.isEmpty {
            return message
        }
        return "XML parser error \(code)"
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

    /// Parses an IIS boolean, case-insensitively (D2).
    static func bool(_ text: String, attribute: String, at location: SourceLocation) throws(PolicyError) -> Bool {
        switch text.trimmingWhitespace.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .invalidValue(location, attribute: attribute, value: text, expected: "'true' or 'false'")
        }
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

    /// The XMLParser delegate; collects the document and the first error.
    final class Handler: NSObject, XMLParserDelegate {
        let path: String
        let lineStarts: [Int]
        let bytes: [UInt8]
        var document: IISDocument
        var error: PolicyError?
        var stack: [String] = []
        var sawRoot = false
        /// The index of the block being filled (0 = top level).
        var currentBlock = 0
        var locationDepth: Int?
        var sectionGroupPath: [String] = []
        var inIPSecurity = false
        var inDynamic = false

        init(path: String, text: String) {
            self.path = path
            bytes = Array(text.utf8)
            var starts = [0]
            for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(index + 1) }
            lineStarts = starts
            let name = (path as NSString).lastPathComponent.lowercased()
            document = IISDocument(path: path, isApplicationHost: name == "applicationhost.config")
            document.blocks = [IISBlock(locationPath: nil, location: SourceLocation(file: path, line: 1, column: 1))]
        }

        /// The position of the `<` that opened the element the parser just reported (it reports the
        /// end of the start tag).
        func startLocation(_ parser: XMLParser) -> SourceLocation {
            let line = parser.lineNumber
            let column = parser.columnNumber
            guard line >= 1, line <= lineStarts.count else {
                return SourceLocation(file: path, line: line, column: column)
            }
            var offset = min(bytes.count, lineStarts[line - 1] + max(0, column - 1))
            while offset > 0 {
                offset -= 1
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "<") { break }
            }
            var startLine = 1
            var low = 0
            var high = lineStarts.count - 1
            while low <= high {
                let middle = (low + high) / 2
                if lineStarts[middle] <= offset {
                    startLine = middle + 1
                    low = middle + 1
                } else {
                    high = middle - 1
                }
            }
            return SourceLocation(file: path, line: startLine, column: offset - lineStarts[startLine - 1] + 1)
        }

        func fail(_ parser: XMLParser, _ failure: PolicyError) {
            if error == nil { error = failure }
            parser.abortParsing()
        }

        /// Checks attributes against the known list; attributes with a namespace prefix (`xdt:`,
        /// `xmlns`) and the locking attributes are accepted.
        func check(
            _ attributes: [String: String],
            known: [String],
            element: String,
            at location: SourceLocation
        ) throws(PolicyError) {
            for name in attributes.keys.sorted() {
                if name.contains(":") || name == "xmlns" || IISParser.lockAttributes.contains(name.lowercased()) {
                    continue
                }
                if !known.contains(name) {
                    throw .unknownAttribute(location, element: element, attribute: name, known: known)
                }
            }
        }

        func parser(
            _ parser: XMLParser,
            didStartElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            do {
                try start(parser, elementName, attributes)
            } catch {
                fail(parser, error)
            }
        }

        private func start(_ parser: XMLParser, _ name: String, _ attributes: [String: String]) throws(PolicyError) {
            defer { stack.append(name) }
            let parent = stack.last
            if stack.isEmpty {
                sawRoot = true
                return
            }
            if name == "system.applicationHost" { document.isApplicationHost = true }
            if name == "sectionGroup" { sectionGroupPath.append(attributes["name"] ?? "") }
            if name == "section", sectionGroupPath.suffix(2) == ["system.webServer", "security"],
                attributes["name"] == "ipSecurity"
            {
                let location = startLocation(parser)
                document.registrationLocation = location
                switch attributes["overrideModeDefault"]?.lowercased() {
                case nil, "allow": document.ipSecurityOverrideModeDefault = .allow
                case "deny": document.ipSecurityOverrideModeDefault = .deny
                case let other?:
                    throw .invalidValue(
                        location,
                        attribute: "overrideModeDefault",
                        value: other,
                        expected: "'Allow' or 'Deny'"
                    )
                }
            }
            if name == "location", locationDepth == nil {
                let location = startLocation(parser)
                var block = IISBlock(locationPath: attributes["path"] ?? "", location: location)
                if let mode = attributes["overrideMode"] {
                    switch mode.lowercased() {
                    case "allow": block.overrideMode = .allow
                    case "deny": block.overrideMode = .deny
                    case "inherit": block.overrideMode = .inherit
                    default:
                        throw .invalidValue(
                            location,
                            attribute: "overrideMode",
                            value: mode,
                            expected: "'Allow', 'Deny' or 'Inherit'"
                        )
                    }
                } else if let legacy = attributes["allowOverride"] {
                    block.overrideMode =
                        try IISParser.bool(legacy, attribute: "allowOverride", at: location) ? .allow : .deny
                }
                document.blocks.append(block)
                currentBlock = document.blocks.count - 1
                locationDepth = stack.count
                return
            }
            let underSecurity = stack.suffix(2) == ["system.webServer", "security"]
            if name == "ipSecurity", underSecurity {
                let location = startLocation(parser)
                try check(attributes, known: IISParser.ipSecurityAttributes, element: name, at: location)
                var section = IISSectionDeclaration(location: location)
                section.duplicateOf = document.blocks[currentBlock].ipSecurity.first?.location
                if let value = attributes["allowUnlisted"] {
                    section.allowUnlisted = try IISParser.bool(value, attribute: "allowUnlisted", at: location)
                }
                if let value = attributes["enableProxyMode"] {
                    section.enableProxyMode = try IISParser.bool(value, attribute: "enableProxyMode", at: location)
                }
                if let value = attributes["enableReverseDns"] {
                    section.enableReverseDns = try IISParser.bool(value, attribute: "enableReverseDns", at: location)
                }
                if let value = attributes["denyAction"] {
                    section.denyAction = try IISParser.denyAction(value, at: location)
                }
                document.blocks[currentBlock].ipSecurity.append(section)
                inIPSecurity = true
                return
            }
            if name == "dynamicIpSecurity", underSecurity {
                let location = startLocation(parser)
                try check(attributes, known: IISParser.dynamicAttributes, element: name, at: location)
                var section = IISDynamicDeclaration(location: location)
                if let value = attributes["denyAction"] {
                    section.denyAction = try IISParser.denyAction(value, at: location)
                }
                if let value = attributes["enableProxyMode"] {
                    section.enableProxyMode = try IISParser.bool(value, attribute: "enableProxyMode", at: location)
                }
                if let value = attributes["enableLoggingOnlyMode"] {
                    section.enableLoggingOnlyMode = try IISParser.bool(
                        value,
                        attribute: "enableLoggingOnlyMode",
                        at: location
                    )
                }
                document.blocks[currentBlock].dynamic.append(section)
                inDynamic = true
                return
            }
            if inIPSecurity, parent == "ipSecurity" {
                let location = startLocation(parser)
                try collectionElement(name, attributes, at: location)
                return
            }
            if inDynamic, parent == "dynamicIpSecurity" {
                let location = startLocation(parser)
                try dynamicElement(name, attributes, at: location)
            }
        }

        private func collectionElement(
            _ name: String,
            _ attributes: [String: String],
            at location: SourceLocation
        ) throws(PolicyError) {
            guard var section = document.blocks[currentBlock].ipSecurity.popLast() else { return }
            defer { document.blocks[currentBlock].ipSecurity.append(section) }
            switch name {
            case "add":
                try check(attributes, known: IISParser.addAttributes, element: name, at: location)
                var allowed = false
                if let value = attributes["allowed"] {
                    allowed = try IISParser.bool(value, attribute: "allowed", at: location)
                }
                let entry = IISEntry(
                    ipAddress: attributes["ipAddress"],
                    subnetMask: attributes["subnetMask"],
                    domainName: attributes["domainName"],
                    allowed: allowed,
                    location: location
                )
                section.operations.append(.add(entry))
            case "remove":
                try check(attributes, known: IISParser.removeAttributes, element: name, at: location)
                let (_, key) = IISEntry.interpret(
                    ipAddress: attributes["ipAddress"],
                    subnetMask: attributes["subnetMask"],
                    domainName: attributes["domainName"]
                )
                section.operations.append(.remove(key, location))
            case "clear":
                try check(attributes, known: [], element: name, at: location)
                section.operations.append(.clear(location))
            default:
                throw .unknownAttribute(
                    location,
                    element: "ipSecurity",
                    attribute: "<\(name)>",
                    known: ["<add>", "<remove>", "<clear>"]
                )
            }
        }

        private func dynamicElement(
            _ name: String,
            _ attributes: [String: String],
            at location: SourceLocation
        ) throws(PolicyError) {
            guard var section = document.blocks[currentBlock].dynamic.popLast() else { return }
            defer { document.blocks[currentBlock].dynamic.append(section) }
            switch name {
            case "denyByConcurrentRequests":
                try check(attributes, known: ["enabled", "maxConcurrentRequests"], element: name, at: location)
                if let value = attributes["enabled"] {
                    section.concurrentEnabled = try IISParser.bool(value, attribute: "enabled", at: location)
                }
                if let value = attributes["maxConcurrentRequests"] {
                    section.maxConcurrentRequests = try IISParser.uint(
                        value,
                        attribute: "maxConcurrentRequests",
                        at: location
                    )
                }
            case "denyByRequestRate":
                try check(
                    attributes,
                    known: ["enabled", "maxRequests", "requestIntervalInMilliseconds"],
                    element: name,
                    at: location
                )
                if let value = attributes["enabled"] {
                    section.rateEnabled = try IISParser.bool(value, attribute: "enabled", at: location)
                }
                if let value = attributes["maxRequests"] {
                    section.maxRequests = try IISParser.uint(value, attribute: "maxRequests", at: location)
                }
                if let value = attributes["requestIntervalInMilliseconds"] {
                    section.requestIntervalMilliseconds = try IISParser.uint(
                        value,
                        attribute: "requestIntervalInMilliseconds",
                        at: location
                    )
                }
            default:
                throw .unknownAttribute(
                    location,
                    element: "dynamicIpSecurity",
                    attribute: "<\(name)>",
                    known: ["<denyByConcurrentRequests>", "<denyByRequestRate>"]
                )
            }
        }

        func parser(
            _ parser: XMLParser,
            didEndElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?
        ) {
            stack.removeLast()
            if elementName == "sectionGroup", !sectionGroupPath.isEmpty { sectionGroupPath.removeLast() }
            if elementName == "ipSecurity" { inIPSecurity = false }
            if elementName == "dynamicIpSecurity" { inDynamic = false }
            if elementName == "location", locationDepth == stack.count {
                locationDepth = nil
                currentBlock = 0
            }
        }
    }
}
