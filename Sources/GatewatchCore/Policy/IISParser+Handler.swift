import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

extension IISParser {
    /// The XMLParser delegate; collects the document and the first error.
    final class Handler: NSObject, XMLParserDelegate {
        let path: String
        let lineStarts: [Int]
        let bytes: [UInt8]
        var document: IISDocument
        var error: PolicyError?
        /// Configuration errors IIS answers 500.19 for; parsing goes on past them.
        var problems: [PolicyError] = []
        /// The depth of the outermost element being skipped because it is a configuration error.
        var skipDepth: Int?
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

        /// The first well-formedness error, as the parser reported it (later ones are mostly its
        /// consequences).
        var xmlError: (location: SourceLocation, reason: String)?

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            guard error == nil, xmlError == nil else { return }
            let code = (parseError as NSError).code
            let line = parser.lineNumber
            let column = parser.columnNumber
            let reason = IISParser.describe(
                code: code,
                openElement: stack.last,
                closingTag: code == 76 ? closingTag(line: line, column: column) : nil,
                afterRoot: sawRoot && stack.isEmpty
            )
            xmlError = (SourceLocation(file: path, line: line, column: column), reason)
        }

        /// The name of the end tag that ends just before a position (for tag mismatches).
        func closingTag(line: Int, column: Int) -> String? {
            guard line >= 1, line <= lineStarts.count else { return nil }
            let end = min(bytes.count, lineStarts[line - 1] + max(0, column - 1))
            var index = end - 1
            while index > 0, end - index < 256 {
                if bytes[index - 1] == UInt8(ascii: "<"), bytes[index] == UInt8(ascii: "/") {
                    let name = bytes[(index + 1)..<end].prefix {
                        $0 != UInt8(ascii: ">") && $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D
                    }
                    return name.isEmpty ? nil : String(decoding: name, as: UTF8.self)
                }
                index -= 1
            }
            return nil
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
            // configSource moves the section's content to another file that Gatewatch does not read:
            // skipped, <ipSecurity configSource="…"/> read as allowUnlisted="true" with no entries.
            if let source = attributes["configSource"] {
                throw .invalidValue(
                    location,
                    attribute: "configSource",
                    value: source,
                    expected: "no configSource: Gatewatch does not read the file it names; write the section inline"
                )
            }
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
            if stack.count >= IISParser.maximumDepth {
                fail(parser, .tooDeep(startLocation(parser), limit: IISParser.maximumDepth))
                return
            }
            if skipDepth != nil {
                stack.append(elementName)
                return
            }
            do {
                try start(parser, elementName, attributes)
            } catch {
                switch error {
                case .unknownElement, .unknownAttribute, .invalidValue:
                    // IIS refuses the file (500.19); note it and read on, so lint can list them all.
                    problems.append(error)
                    // `start` pushed the element; skip its content until it ends.
                    skipDepth = stack.count - 1
                default:
                    fail(parser, error)
                }
            }
        }

        /// Refuses element names IIS would not recognise where Gatewatch reads: anything but the
        /// schema's sections in `<security>`, and near-misses of the elements on the way there.
        private func checkName(_ name: String, _ parser: XMLParser) throws(PolicyError) {
            let parent = stack.last ?? ""
            func refuse(_ known: [String]) throws(PolicyError) {
                throw .unknownElement(startLocation(parser), parent: parent, element: name, known: known)
            }
            if parent == "security", stack.dropLast().last == "system.webServer" {
                if !IISParser.securitySections.contains(name) { try refuse(IISParser.securitySections) }
            } else if parent == "system.webServer" {
                let read = ["security", "ipSecurity", "dynamicIpSecurity"]
                if name != "security", read.contains(where: { name == $0 || IISParser.isNearMiss(name, of: $0) }) {
                    try refuse(["security"])
                }
            } else if stack.count == 1 || parent == "location" {
                for target in ["system.webServer", "location"] where IISParser.isNearMiss(name, of: target) {
                    try refuse([target])
                }
            }
        }

        private func start(_ parser: XMLParser, _ name: String, _ attributes: [String: String]) throws(PolicyError) {
            defer { stack.append(name) }
            let parent = stack.last
            if stack.isEmpty {
                sawRoot = true
                // IIS reads only <configuration> files; under another root nothing would be read.
                guard name == "configuration" else {
                    throw .unknownElement(
                        startLocation(parser),
                        parent: "",
                        element: name,
                        known: ["configuration"]
                    )
                }
                return
            }
            try checkName(name, parser)
            if name == "system.applicationHost" { document.isApplicationHost = true }
            if name == "sectionGroup" { sectionGroupPath.append(attributes["name"] ?? "") }
            if name == "section", sectionGroupPath.suffix(2) == ["system.webServer", "security"],
                attributes["name"] == "ipSecurity"
            {
                let location = startLocation(parser)
                try check(attributes, known: IISParser.sectionAttributes, element: name, at: location)
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
                try check(attributes, known: IISParser.locationAttributes, element: name, at: location)
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
                if attributes["overrideMode"] != nil, attributes["allowOverride"] != nil {
                    document.overrideConflicts.append(location)
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
                if let value = IISParser.lockValue("lockAttributes", in: attributes) {
                    section.lockedAttributes = IISParser.lockNames(value)
                }
                if let value = IISParser.lockValue("lockElements", in: attributes) {
                    section.lockedElements = IISParser.lockNames(value)
                }
                for name in ["lockAllAttributesExcept", "lockAllElementsExcept", "lockItem"]
                where IISParser.lockValue(name, in: attributes) != nil {
                    section.unevaluatedLocks.append(name)
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
            // <add>, <remove>, <clear> and the dynamic elements have no children: IIS answers 500.19.
            if inIPSecurity || inDynamic, let parent,
                ["ipSecurity", "dynamicIpSecurity"].contains(stack.dropLast().last ?? "")
            {
                throw .unknownElement(startLocation(parser), parent: parent, element: name, known: [])
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
                var entry = IISEntry(
                    ipAddress: attributes["ipAddress"],
                    subnetMask: attributes["subnetMask"],
                    domainName: attributes["domainName"],
                    allowed: allowed,
                    location: location
                )
                if let value = IISParser.lockValue("lockItem", in: attributes) {
                    entry.isLockedItem = try IISParser.bool(value, attribute: "lockItem", at: location)
                }
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
                throw .unknownElement(location, parent: "ipSecurity", element: name, known: ["add", "remove", "clear"])
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
                throw .unknownElement(
                    location,
                    parent: "dynamicIpSecurity",
                    element: name,
                    known: ["denyByConcurrentRequests", "denyByRequestRate"]
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
            if let depth = skipDepth {
                if stack.count == depth { skipDepth = nil }
                return
            }
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
