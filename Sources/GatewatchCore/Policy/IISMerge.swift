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
    /// The attributes named by `lockAttributes` so far, with the lock that named them first.
    var attributeLocks: [String: IISLock] = [:]
    /// The collection directives (`add`, `remove`, `clear`) named by `lockElements` so far.
    var elementLocks: [String: IISLock] = [:]
    /// The keys of entries added with `lockItem="true"`, with where they were added.
    var itemLocks: [IISEntryKey: IISLock] = [:]

    /// Records the first configuration error (500.19) of the scope; later ones do not replace it.
    mutating func fail(_ rule: String, win32: Int) {
        if configError == nil { configError = (rule, win32) }
    }
}

/// Where a `lockAttributes`, `lockElements` or `lockItem` lock was set (spec §1.7).
struct IISLock: Sendable {
    var location: SourceLocation
    var fileIndex: Int
    var level: String

    /// Whether the lock applies to a declaration in `block`.
    ///
    /// A lock binds the levels below the one that set it: a deeper URL level, or a file further
    /// down the hierarchy (a site `web.config` under an `applicationHost.config` `<location>`).
    /// It does not bind the block that set it.
    func binds(_ block: IISMerger.PlacedBlock) -> Bool {
        block.fileIndex != fileIndex || block.level != level
    }
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
        for block in placed where !block.level.isEmpty {
            let configures = !block.block.ipSecurity.isEmpty || !block.block.dynamic.isEmpty
            // A file IIS refuses fails every request it governs, with or without an <ipSecurity>.
            let document = documents[block.fileIndex]
            let isRefused =
                !block.isLocationTag && !(document.overrideConflicts.isEmpty && document.configErrors.isEmpty)
            if configures || isRefused { set.insert(block.level) }
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
            if !placedBlock.isLocationTag {
                for conflict in documents[placedBlock.fileIndex].overrideConflicts {
                    // The spec names no HRESULT for this; 13 (0x8007000d, invalid data) is a placeholder.
                    section.fail("LOCATION_OVERRIDE_CONFLICT \(conflict)", win32: 13)
                    record(
                        .error,
                        "LOCATION_OVERRIDE_CONFLICT",
                        conflict,
                        "<location> sets both overrideMode and allowOverride, which IIS does not allow on one location "
                            + "tag, so it cannot read this file and answers every request the file governs with 500.19; "
                            + "keep overrideMode and delete allowOverride"
                    )
                }
                for problem in documents[placedBlock.fileIndex].configErrors {
                    guard let code = problem.lintCode, let location = problem.location else { continue }
                    // 0x8007000d, "Unrecognized element" / "Unrecognized attribute": the HRESULT IIS gives.
                    section.fail("\(code) \(location)", win32: 13)
                    section.isConfigured = true
                    record(
                        .error,
                        code,
                        location,
                        String(problem.description.dropFirst("\(location): ".count))
                            + " (IIS cannot read this file, so every request it governs gets 500.19)"
                    )
                }
            }
            for declaration in placedBlock.block.ipSecurity {
                section.isConfigured = true
                if isLocked(placedBlock) {
                    section.fail("SECTION_LOCKED \(declaration.location)", win32: 33)
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
                    section.fail("DUPLICATE_SECTION \(declaration.location)", win32: 183)
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
                apply(declaration, in: placedBlock, to: &section)
            }
        }
        return section
    }

    /// Applies one declaration to the section: attributes, then the collection operations.
    ///
    /// A lower level that sets a locked attribute, uses a locked directive, or removes or clears
    /// over a locked entry makes the scope a 500.19 (spec §1.7); the offending part is skipped.
    private mutating func apply(
        _ declaration: IISSectionDeclaration,
        in block: PlacedBlock,
        to section: inout IISEffectiveSection
    ) {
        section.declarationLocation = declaration.location
        // The attributes this element sets and may set (a locked one is skipped).
        var written: Set<String> = []
        if declaration.allowUnlisted != nil { written.insert("allowUnlisted") }
        if declaration.denyAction != nil { written.insert("denyAction") }
        if declaration.enableProxyMode != nil { written.insert("enableProxyMode") }
        if declaration.enableReverseDns != nil { written.insert("enableReverseDns") }
        for name in IISParser.ipSecurityAttributes where written.contains(name) {
            guard let lock = section.attributeLocks[name], lock.binds(block) else { continue }
            written.remove(name)
            lockViolation(
                "ATTRIBUTE_LOCKED",
                declaration.location,
                "\(name) is locked by lockAttributes at \(lock.location)",
                "delete \(name) here, or take it out of lockAttributes there",
                in: &section
            )
        }
        if let value = declaration.allowUnlisted, written.contains("allowUnlisted") { section.allowUnlisted = value }
        if let value = declaration.denyAction, written.contains("denyAction") { section.denyAction = value }
        if let value = declaration.enableProxyMode, written.contains("enableProxyMode") {
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
        if let value = declaration.enableReverseDns, written.contains("enableReverseDns") {
            section.enableReverseDns = value
        }
        for operation in declaration.operations {
            apply(operation, in: block, to: &section)
        }
        let lock = IISLock(location: declaration.location, fileIndex: block.fileIndex, level: block.level)
        for name in declaration.lockedAttributes where section.attributeLocks[name] == nil {
            section.attributeLocks[name] = lock
        }
        for name in declaration.lockedElements where section.elementLocks[name] == nil {
            section.elementLocks[name] = lock
        }
        for name in declaration.unevaluatedLocks {
            record(
                .warning,
                "LOCK_NOT_EVALUATED",
                declaration.location,
                "\(name) on <ipSecurity> is not evaluated (the spec covers lockAttributes, lockElements and lockItem "
                    + "on <add>), so a lower level that breaks it is not predicted as 500.19; use lockAttributes or "
                    + "lockElements with explicit names if that is what IIS should enforce"
            )
        }
    }

    /// Applies one `<add>`, `<remove>` or `<clear/>` of a declaration in `block`.
    private mutating func apply(
        _ operation: IISCollectionOperation,
        in block: PlacedBlock,
        to section: inout IISEffectiveSection
    ) {
        let (directive, elementLocation): (String, SourceLocation)
        switch operation {
        case .add(let entry): (directive, elementLocation) = ("add", entry.location)
        case .remove(_, let location): (directive, elementLocation) = ("remove", location)
        case .clear(let location): (directive, elementLocation) = ("clear", location)
        }
        let element = directive == "clear" ? "<clear/>" : "<\(directive)>"
        if let lock = section.elementLocks[directive], lock.binds(block) {
            lockViolation(
                "ELEMENT_LOCKED",
                elementLocation,
                "\(element) is locked by lockElements at \(lock.location)",
                "delete it here, or take '\(directive)' out of lockElements there",
                in: &section
            )
            return
        }
        switch operation {
        case .add(let entry):
            if let existing = section.keyLocations[entry.key] {
                section.fail("DUPLICATE_KEY \(entry.location)", win32: 183)
                record(
                    .error,
                    "DUPLICATE_KEY",
                    entry.location,
                    "an entry with the combined key \(entry.key.text) already exists at \(existing) "
                        + "('allowed' is not part of the key), so IIS answers 500.19 at and below this level; "
                        + "delete one, or <remove> the inherited entry first"
                )
                return
            }
            section.entries.append(entry)
            section.keyLocations[entry.key] = entry.location
            if entry.isLockedItem {
                section.itemLocks[entry.key] = IISLock(
                    location: entry.location,
                    fileIndex: block.fileIndex,
                    level: block.level
                )
            }
        case .remove(let key, let location):
            if let lock = section.itemLocks[key], lock.binds(block) {
                lockViolation(
                    "ITEM_LOCKED",
                    location,
                    "<remove> targets the entry \(key.text) that \(lock.location) locks with lockItem=\"true\"",
                    "delete the <remove>, or drop lockItem there",
                    in: &section
                )
                return
            }
            if section.keyLocations[key] != nil, let index = section.entries.firstIndex(where: { $0.key == key }) {
                section.entries.remove(at: index)
                section.keyLocations[key] = nil
                section.itemLocks[key] = nil
            } else {
                record(
                    .warning,
                    "REMOVE_NO_MATCH",
                    location,
                    "<remove> matches no inherited entry with the key \(key.text), so it does nothing; "
                        + "check the address and subnetMask (omitted subnetMask means 255.255.255.255)"
                )
            }
        case .clear(let location):
            let itemLocks = section.itemLocks
            let locked = section.entries.first { itemLocks[$0.key]?.binds(block) == true }
            if let key = locked?.key, let lock = itemLocks[key] {
                lockViolation(
                    "ITEM_LOCKED",
                    location,
                    "<clear/> would remove the entry \(key.text) that \(lock.location) locks with lockItem=\"true\"",
                    "<remove> the unlocked entries one by one instead, or drop lockItem there",
                    in: &section
                )
                return
            }
            section.entries.removeAll()
            section.keyLocations.removeAll()
            section.itemLocks.removeAll()
        }
    }

    /// Records a lock violation: IIS answers every request at and below the level with 500.19,
    /// HRESULT `0x80070021` (D12).
    private mutating func lockViolation(
        _ code: String,
        _ location: SourceLocation,
        _ what: String,
        _ advice: String,
        in section: inout IISEffectiveSection
    ) {
        section.fail("\(code) \(location)", win32: 33)
        record(
            .error,
            code,
            location,
            "\(what), so IIS reports a lock violation and answers every request at and below this level with "
                + "500.19; \(advice)"
        )
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
