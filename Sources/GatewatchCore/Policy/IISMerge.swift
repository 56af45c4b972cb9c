import Foundation

/// The effective `ipSecurity` for one URL scope, after inheritance, `<clear/>`, `<remove>`,
/// duplicate and lock checks (spec §1.6, §1.7).
struct IISEffectiveSection: Sendable {
    /// The normalised URL path this applies to (`/`, `/api`), lower-cased.
    var scope: String
    var allowUnlisted = true
    var denyAction: IISDenyAction = .forbidden
    var enableProxyMode = false
    var enableReverseDns = false
    var entries: [IISEntry] = []
    /// The configuration error (500.19) every request in this scope gets, if any.
    var configError: (rule: String, win32: Int)?
    /// Whether any level defined an `ipSecurity` section at all.
    var isConfigured = false
    /// Where each key in `entries` was added (for duplicate detection in O(1)).
    var keyLocations: [IISEntryKey: SourceLocation] = [:]
    /// The last `<ipSecurity>` element applied (for lint locations).
    var declarationLocation: SourceLocation?
}

/// Merges IIS documents, given parent first, into effective sections per URL scope.
struct IISMerger {
    let documents: [IISDocument]
    let profile: IISProfile
    /// The site name that `applicationHost.config` `<location path="Site/...">` must start with;
    /// `nil` accepts any site.
    let siteName: String?
    var findings: [LintFinding] = []

    /// A block placed at a URL level, with the file level it was declared in.
    struct PlacedBlock {
        var level: String
        /// The URL level of the file that declared it (`nil` for applicationHost.config).
        var fileLevel: String?
        var fileIndex: Int
        var block: IISBlock
        var isLocationTag: Bool
    }

    var placed: [PlacedBlock] = []

    init(documents: [IISDocument], profile: IISProfile, siteName: String?) {
        self.documents = documents
        self.profile = profile
        self.siteName = siteName
        placeBlocks()
    }

    /// Normalises a URL path: lower-case, leading `/`, no trailing `/`.
    static func normalise(_ path: String) -> String {
        let parts = path.lowercased().split(whereSeparator: { $0 == "/" || $0 == "\\" }).filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `ancestor` is `path` or a segment-wise prefix of it.
    ///
    /// The server level `""` is above everything.
    static func isAncestor(_ ancestor: String, of path: String) -> Bool {
        if ancestor.isEmpty { return true }
        if path.isEmpty { return false }
        if ancestor == "/" || ancestor == path { return true }
        return path.hasPrefix(ancestor + "/")
    }

    static func depth(_ level: String) -> Int {
        level.isEmpty ? -1 : level.split(separator: "/").count
    }

    private mutating func placeBlocks() {
        let webConfigs = documents.enumerated().filter { !$0.element.isApplicationHost }
        let rootDirectory = webConfigs.first.map { ($0.element.path as NSString).deletingLastPathComponent } ?? ""
        for (index, document) in documents.enumerated() {
            var fileLevel: String?
            if !document.isApplicationHost {
                let directory = (document.path as NSString).deletingLastPathComponent
                let root = rootDirectory.isEmpty ? "" : rootDirectory + "/"
                if directory == rootDirectory {
                    fileLevel = "/"
                } else if root.isEmpty || directory.hasPrefix(root) {
                    fileLevel = Self.normalise(String(directory.dropFirst(root.count)))
                } else {
                    fileLevel = "/"
                }
            }
            for block in document.blocks {
                guard let level = self.level(of: block, fileLevel: fileLevel) else { continue }
                placed.append(
                    PlacedBlock(
                        level: level,
                        fileLevel: fileLevel,
                        fileIndex: index,
                        block: block,
                        isLocationTag: block.locationPath != nil
                    )
                )
            }
        }
    }

    /// The URL level a block applies to, or `nil` when it targets another site.
    private func level(of block: IISBlock, fileLevel: String?) -> String? {
        guard let locationPath = block.locationPath else { return fileLevel ?? "" }
        let trimmed = locationPath.trimmingWhitespace
        guard let fileLevel else {
            // applicationHost.config: "" or "." is the server level; "Site/app" is /app of Site.
            if trimmed.isEmpty || trimmed == "." { return "" }
            let parts = trimmed.split(separator: "/", maxSplits: 1)
            if let siteName, let first = parts.first, first.lowercased() != siteName.lowercased() { return nil }
            return parts.count > 1 ? Self.normalise(String(parts[1])) : "/"
        }
        if trimmed.isEmpty || trimmed == "." { return fileLevel }
        return fileLevel == "/" ? Self.normalise(String(trimmed)) : Self.normalise(fileLevel + "/" + trimmed)
    }

    /// Every URL scope that has its own configuration, root first.
    var scopes: [String] {
        var set: Set<String> = ["/"]
        for block in placed
        where !block.level.isEmpty && (!block.block.ipSecurity.isEmpty || !block.block.dynamic.isEmpty) {
            set.insert(block.level)
        }
        return set.sorted { (Self.depth($0), $0) < (Self.depth($1), $1) }
    }

    /// The blocks that apply to `scope`, in evaluation order (D11).
    func orderedBlocks(for scope: String) -> [PlacedBlock] {
        let levels = Set(placed.map(\.level)).filter { Self.isAncestor($0, of: scope) }
            .sorted { Self.depth($0) < Self.depth($1) }
        var result: [PlacedBlock] = []
        for level in levels {
            let here = placed.enumerated().filter { $0.element.level == level }
            // (a) applicationHost.config, (b) <location> in ancestor web.configs, outermost first, (c) the local file.
            let host = here.filter { $0.element.fileLevel == nil }
            let ancestors = here.filter { $0.element.fileLevel != nil && $0.element.fileLevel != level }
                .sorted {
                    (Self.depth($0.element.fileLevel ?? ""), $0.offset) < (
                        Self.depth($1.element.fileLevel ?? ""), $1.offset
                    )
                }
            let local = here.filter { $0.element.fileLevel == level }
            result += (host + ancestors + local).map(\.element)
        }
        return result
    }

    /// The lock state for a section declared in `block` (D12).
    func isLocked(_ block: PlacedBlock) -> Bool {
        guard block.fileLevel != nil, !profile.isAppService else { return false }
        // The nearest <location> with an explicit mode above the declaring file whose path covers the level.
        var best: (depth: Int, file: Int, mode: IISOverrideMode)?
        for other in placed where other.block.overrideMode != .inherit && other.isLocationTag {
            let isAbove: Bool
            if let otherFile = other.fileLevel, let file = block.fileLevel {
                isAbove = otherFile != file && Self.isAncestor(otherFile, of: file)
            } else {
                isAbove = other.fileLevel == nil
            }
            guard isAbove, Self.isAncestor(other.level, of: block.level) else { continue }
            let candidate = (Self.depth(other.level), other.fileIndex, other.block.overrideMode)
            if let current = best, (current.depth, current.file) > (candidate.0, candidate.1) { continue }
            best = candidate
        }
        if let best { return best.mode == .deny }
        let registration = documents.first(where: { $0.isApplicationHost })
        guard let registration else { return false }
        return registration.ipSecurityOverrideModeDefault == .deny
    }

    /// The rule reference of an entry: `file:line #n`.
    static func ruleName(_ entry: IISEntry, index: Int) -> String {
        if let label = entry.label { return "\(label) #\(index + 1)" }
        return "\(entry.location.file):\(entry.location.line) #\(index + 1)"
    }

    /// Computes the effective section of one scope; records findings.
    mutating func effective(scope: String) -> IISEffectiveSection {
        var section = IISEffectiveSection(scope: scope)
        for placedBlock in orderedBlocks(for: scope) {
            for declaration in placedBlock.block.ipSecurity {
                section.isConfigured = true
                if isLocked(placedBlock) {
                    if section.configError == nil {
                        section.configError = ("SECTION_LOCKED \(declaration.location)", 33)
                    }
                    record(
                        .error,
                        "SECTION_LOCKED",
                        declaration.location,
                        "<ipSecurity> is locked at a parent level (overrideModeDefault=\"Deny\"), so IIS answers every "
                            + "request at and below this path with 500.19; unlock it in applicationHost.config with "
                            + "<location path=\"…\" overrideMode=\"Allow\"> or move the section there"
                    )
                    continue
                }
                if let first = declaration.duplicateOf {
                    if section.configError == nil {
                        section.configError = ("DUPLICATE_SECTION \(declaration.location)", 183)
                    }
                    record(
                        .error,
                        "DUPLICATE_SECTION",
                        declaration.location,
                        "a second <ipSecurity> for the same path (the first is at \(first)); IIS reports \"There is a "
                            + "duplicate 'system.webServer/security/ipSecurity' section defined\" and answers every "
                            + "request at and below this level with 500.19; merge the two into one element"
                    )
                    continue
                }
                apply(declaration, to: &section)
            }
        }
        return section
    }

    private mutating func apply(_ declaration: IISSectionDeclaration, to section: inout IISEffectiveSection) {
        section.declarationLocation = declaration.location
        if let value = declaration.allowUnlisted { section.allowUnlisted = value }
        if let value = declaration.denyAction { section.denyAction = value }
        if let value = declaration.enableProxyMode {
            if profile.hasDenyAction {
                section.enableProxyMode = value
            } else if value {
                // Proxy mode came with IIS 8.0 (spec §1.1); IIS 7.x checks c-ip only.
                record(
                    .warning,
                    "PROXY_MODE_IGNORED",
                    declaration.location,
                    "enableProxyMode=\"true\" has no effect on IIS 7.x (proxy mode came with IIS 8.0), so "
                        + "X-Forwarded-For addresses are not checked; remove it, or pass --iis-version 8 or later "
                        + "if the server is newer"
                )
            }
        }
        if let value = declaration.enableReverseDns { section.enableReverseDns = value }
        for operation in declaration.operations {
            switch operation {
            case .add(let entry):
                if let existing = section.keyLocations[entry.key] {
                    if section.configError == nil {
                        section.configError = ("DUPLICATE_KEY \(entry.location)", 183)
                    }
                    record(
                        .error,
                        "DUPLICATE_KEY",
                        entry.location,
                        "an entry with the combined key \(entry.key.text) already exists at \(existing) "
                            + "('allowed' is not part of the key), so IIS answers 500.19 at and below this level; "
                            + "delete one, or <remove> the inherited entry first"
                    )
                    continue
                }
                section.entries.append(entry)
                section.keyLocations[entry.key] = entry.location
            case .remove(let key, let location):
                if section.keyLocations[key] != nil, let index = section.entries.firstIndex(where: { $0.key == key }) {
                    section.entries.remove(at: index)
                    section.keyLocations[key] = nil
                } else {
                    record(
                        .warning,
                        "REMOVE_NO_MATCH",
                        location,
                        "<remove> matches no inherited entry with the key \(key.text), so it does nothing; "
                            + "check the address and subnetMask (omitted subnetMask means 255.255.255.255)"
                    )
                }
            case .clear:
                section.entries.removeAll()
                section.keyLocations.removeAll()
            }
        }
    }

    /// The effective dynamic settings (server and site levels only).
    func dynamicSettings() -> (IISDynamicSettings, SourceLocation?) {
        var settings = IISDynamicSettings()
        var location: SourceLocation?
        for block in orderedBlocks(for: "/") {
            for declaration in block.block.dynamic {
                settings.apply(declaration)
                location = declaration.location
            }
        }
        return (settings, location)
    }

    mutating func record(_ severity: LintSeverity, _ code: String, _ location: SourceLocation, _ message: String) {
        let finding = LintFinding(severity: severity, code: code, location: location, message: message)
        if !findings.contains(finding) { findings.append(finding) }
    }
}
