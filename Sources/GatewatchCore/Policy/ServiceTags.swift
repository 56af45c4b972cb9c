import Foundation

/// An Azure service tags file (`ServiceTags_Public_YYYYMMDD.json`), indexed by tag name (spec §3, D22).
public struct ServiceTags: Sendable {
    /// The file's top-level `changeNumber`.
    public var changeNumber: Int?
    /// The cloud (`Public`, ...).
    public var cloud: String?
    /// The path it was read from.
    public var path: String
    /// Prefixes per lower-cased tag name.
    var prefixes: [String: [CIDR]]
    /// Prefix texts that were not CIDR blocks, with their tag.
    public var invalidPrefixes: [(tag: String, prefix: String)]
    /// Lint findings for the file: one `INVALID_SERVICE_TAG_PREFIX` per skipped prefix (D22.3).
    var findings: [LintFinding] = []
    /// Every tag as the file spells it, with its `properties.region` (empty for global tags), in
    /// file order: the input of owner attribution (issue 24).
    public internal(set) var tags: [(name: String, region: String, blocks: [CIDR])] = []

    /// Reads a service tags file.
    ///
    /// - Parameter path: The JSON file.
    /// - Throws: ``PolicyError`` when the file is unreadable, not JSON, or not a service tags file.
    public init(path: String) throws(PolicyError) {
        let data = try PolicyFile.read(path)
        try self.init(data: data, path: path)
    }

    /// Parses a service tags document.
    ///
    /// - Parameters:
    ///   - data: The JSON bytes.
    ///   - path: The path to name in errors.
    /// - Throws: ``PolicyError`` when the bytes are not JSON or not a service tags file.
    public init(data: Data, path: String) throws(PolicyError) {
        let object = try PolicyFile.json(data, path: path)
        guard let root = object as? [String: Any], let values = root["values"] as? [[String: Any]] else {
            throw .notServiceTags(path: path)
        }
        self.path = path
        changeNumber = root["changeNumber"] as? Int
        cloud = root["cloud"] as? String
        var prefixes: [String: [CIDR]] = [:]
        var invalid: [(String, String)] = []
        var findings: [LintFinding] = []
        var text: String?  // decoded only to locate a bad prefix
        var occurrences: [String: Int] = [:]
        var tagList: [(name: String, region: String, blocks: [CIDR])] = []
        for value in values {
            guard let name = (value["name"] as? String) ?? (value["id"] as? String) else { continue }
            let properties = value["properties"] as? [String: Any] ?? [:]
            var blocks: [CIDR] = []
            for item in properties["addressPrefixes"] as? [Any] ?? [] {
                if let prefix = item as? String, let block = CIDR(prefix) {
                    blocks.append(block)
                    continue
                }
                // D22.3: an item that is not a CIDR block is skipped, with a lint.
                let prefix = (item as? String) ?? "\(item)"
                invalid.append((name, prefix))
                let needle = item is String ? "\"\(prefix)\"" : prefix
                let fileText = text ?? String(decoding: data, as: UTF8.self)
                text = fileText
                let occurrence = occurrences[needle, default: 0]
                occurrences[needle] = occurrence + 1
                findings.append(
                    LintFinding(
                        severity: .warning,
                        code: "INVALID_SERVICE_TAG_PREFIX",
                        location: PolicyFile.location(of: needle, occurrence: occurrence, in: fileText, path: path),
                        message:
                            "'\(PolicyError.clip(prefix))' in the addressPrefixes of service tag '\(name)' is not a "
                            + "CIDR block, so it is skipped and the tag matches without it; re-download the file"
                    )
                )
            }
            prefixes[name.lowercased(), default: []] += blocks
            tagList.append((name, properties["region"] as? String ?? "", blocks))
        }
        self.prefixes = prefixes
        invalidPrefixes = invalid
        self.findings = findings
        tags = tagList
    }

    /// The prefixes of a tag, by exact case-insensitive name; `nil` for an unknown tag (no synthesis).
    ///
    /// - Parameter name: The tag name, e.g. `AzureFrontDoor.Backend`.
    /// - Returns: The tag's blocks, or `nil`.
    public func prefixes(of name: String) -> [CIDR]? {
        prefixes[name.trimmingWhitespace.lowercased()]
    }

    /// Whether a tag admits other Azure tenants (`AzureCloud*`, `ApiManagement*`, `AppService*`; D23).
    ///
    /// - Parameter name: The tag name.
    /// - Returns: `true` for shared ranges.
    public static func isShared(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasPrefix("azurecloud") || lower.hasPrefix("apimanagement") || lower.hasPrefix("appservice")
    }

    /// The tag names, lower-cased.
    public var names: [String] { prefixes.keys.sorted() }
}

/// File reading and JSON helpers shared by the loaders.
enum PolicyFile {
    static func read(_ path: String) throws(PolicyError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "no such file or not readable"
            throw .cannotRead(path: path, reason: reason)
        }
    }

    static func text(_ data: Data, path: String) throws(PolicyError) -> String {
        guard let text = String(data: data, encoding: .utf8) else {
            throw .malformedXML(SourceLocation(file: path, line: 1, column: 1), reason: "the file is not UTF-8 text")
        }
        // Strip a byte-order mark.
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }

    /// Parses JSON; on failure, reports the line and column of the character the parser stopped at.
    static func json(_ data: Data, path: String) throws(PolicyError) -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let message = ((error as NSError).userInfo["NSDebugDescription"] as? String) ?? "\(error)"
            var offset = 0
            if let range = message.range(of: "character ") {
                offset = Int(message[range.upperBound...].prefix(while: { $0.isNumber })) ?? 0
            }
            throw .malformedJSON(location(ofByte: offset, in: data, path: path), reason: message)
        }
    }

    /// The line and column of a byte offset.
    static func location(ofByte offset: Int, in data: Data, path: String) -> SourceLocation {
        var line = 1
        var column = 1
        for (index, byte) in data.enumerated() {
            if index >= offset { break }
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return SourceLocation(file: path, line: line, column: column)
    }

    /// The location of the `occurrence`-th appearance of `needle` in the text (best effort for JSON keys).
    static func location(of needle: String, occurrence: Int = 0, in text: String, path: String) -> SourceLocation {
        var searchStart = text.startIndex
        var found: Range<String.Index>?
        for _ in 0...occurrence {
            guard let range = text.range(of: needle, range: searchStart..<text.endIndex) else { break }
            found = range
            searchStart = range.upperBound
        }
        guard let found else { return SourceLocation(file: path) }
        let offset = text.utf8.distance(from: text.startIndex, to: found.lowerBound)
        return location(ofByte: offset, in: Data(text.utf8), path: path)
    }
}
