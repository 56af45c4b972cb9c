import Foundation

/// Options for ``Policy/load(policyFiles:serviceTags:gateways:options:)``.
public struct PolicyLoadOptions: Sendable {
    /// The IIS profile (version, App Service); decides logged statuses and section locking.
    public var profile: IISProfile
    /// The IIS site name `applicationHost.config` `<location path>` values start with; `nil`
    /// takes every site's locations as this site's.
    public var siteName: String?
    /// Reverse DNS names for `domainName` entries (D6).
    public var reverseDNS: [IPAddress: String]
    /// Whether a non-address X-Forwarded-For element gives `400.10` in proxy mode (D8.4).
    public var rejectsInvalidForwardedFor: Bool
    /// Whether unknown configuration is taken as IIS would take it instead of refused.
    ///
    /// Unknown configuration is an unknown IIS element or attribute where Gatewatch reads, an
    /// impossible value, or an unknown App Service key. Taken, an IIS file becomes a 500.19 for every request it governs, an unknown App Service
    /// key is ignored, and each becomes an error-severity finding in ``Policy/loadFindings``.
    /// `false` (the default) throws the first one.
    public var acceptsConfigurationErrors = false

    /// Creates options.
    ///
    /// - Parameters:
    ///   - profile: The IIS profile; IIS 10 by default.
    ///   - siteName: The IIS site name, or `nil`.
    ///   - reverseDNS: Reverse DNS names.
    ///   - rejectsInvalidForwardedFor: Whether bad X-Forwarded-For elements give `400.10`.
    public init(
        profile: IISProfile = .iis10,
        siteName: String? = nil,
        reverseDNS: [IPAddress: String] = [:],
        rejectsInvalidForwardedFor: Bool = true
    ) {
        self.profile = profile
        self.siteName = siteName
        self.reverseDNS = reverseDNS
        self.rejectsInvalidForwardedFor = rejectsInvalidForwardedFor
    }
}

/// One policy input given as text (for tests and for callers that already hold the bytes).
public struct PolicyDocument: Sendable {
    /// The path shown in rule references and errors.
    public var path: String
    /// The file contents.
    public var text: String

    /// Creates a document.
    ///
    /// - Parameters:
    ///   - path: The path to show.
    ///   - text: The contents.
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

extension Policy {
    /// Loads and compiles a policy from files.
    ///
    /// Each file is recognised by content: XML is IIS (`web.config`, `applicationHost.config`;
    /// give them parent first), JSON is App Service access restrictions (`az webapp config
    /// access-restriction show` output or ARM `siteConfig`), anything else a plain list (one
    /// address or CIDR per line, `#` comments; listed addresses allowed, all others denied as IIS
    /// would by default). With no files, `gateways` imply ``lockDown(gateways:)``; with neither,
    /// the result is ``allowAll``.
    ///
    /// ```swift
    /// let policy = try Policy.load(
    ///     policyFiles: ["applicationHost.config", "site/web.config"],
    ///     serviceTags: nil, gateways: [], iisVersion: 10)
    /// ```
    ///
    /// - Parameters:
    ///   - policyFiles: The policy files, parent first.
    ///   - serviceTags: A `ServiceTags_*.json` file, needed for App Service `ServiceTag` rules.
    ///   - gateways: The gateway blocks.
    ///   - iisVersion: The IIS major version whose logging to follow (10 by default; 7 gives `403.6`).
    /// - Returns: The compiled policy; problems that do not stop loading are in ``loadFindings``.
    /// - Throws: ``PolicyError`` for unreadable files, malformed XML/JSON, unknown attributes and
    ///   impossible values, with file:line:column.
    public static func load(
        policyFiles: [String],
        serviceTags: String?,
        gateways: [CIDR],
        iisVersion: Int = 10
    ) throws(PolicyError) -> Policy {
        try load(
            policyFiles: policyFiles,
            serviceTags: serviceTags,
            gateways: gateways,
            options: PolicyLoadOptions(profile: IISProfile(version: iisVersion))
        )
    }

    /// Loads and compiles a policy from files, with every option.
    ///
    /// - Parameters:
    ///   - policyFiles: The policy files, parent first.
    ///   - serviceTags: A `ServiceTags_*.json` file.
    ///   - gateways: The gateway blocks.
    ///   - options: Profile, site name, reverse DNS, X-Forwarded-For handling.
    /// - Returns: The compiled policy.
    /// - Throws: ``PolicyError`` as ``load(policyFiles:serviceTags:gateways:iisVersion:)`` does.
    public static func load(
        policyFiles: [String],
        serviceTags: String?,
        gateways: [CIDR],
        options: PolicyLoadOptions
    ) throws(PolicyError) -> Policy {
        var documents: [PolicyDocument] = []
        for path in policyFiles {
            let data = try PolicyFile.read(path)
            documents.append(PolicyDocument(path: path, text: try PolicyFile.text(data, path: path)))
        }
        let tags = try serviceTags.map { path throws(PolicyError) in try ServiceTags(path: path) }
        return try compile(documents: documents, serviceTags: tags, gateways: gateways, options: options)
    }

    /// Compiles a policy from documents already in memory.
    ///
    /// - Parameters:
    ///   - documents: The policy documents, parent first.
    ///   - serviceTags: The parsed service tags, if any.
    ///   - gateways: The gateway blocks.
    ///   - options: Profile, site name, reverse DNS, X-Forwarded-For handling.
    /// - Returns: The compiled policy.
    /// - Throws: ``PolicyError`` for malformed input.
    public static func compile(
        documents: [PolicyDocument],
        serviceTags: ServiceTags? = nil,
        gateways: [CIDR] = [],
        options: PolicyLoadOptions = PolicyLoadOptions()
    ) throws(PolicyError) -> Policy {
        var policy = try compileDocuments(
            documents: documents,
            serviceTags: serviceTags,
            gateways: gateways,
            options: options
        )
        policy.fingerprint = fingerprint(
            documents: documents,
            serviceTags: serviceTags,
            gateways: gateways,
            options: options
        )
        return policy
    }

    /// The fingerprint of everything a compiled policy is made of: the documents' text (not their
    /// paths: a moved file is the same policy), the service tags, the gateways and the options.
    static func fingerprint(
        documents: [PolicyDocument],
        serviceTags: ServiceTags?,
        gateways: [CIDR],
        options: PolicyLoadOptions
    ) -> String {
        var parts = ["policy-v1", "profile \(options.profile)", "site \(options.siteName ?? "")"]
        parts.append("xff-invalid \(options.rejectsInvalidForwardedFor)")
        parts += options.reverseDNS.map { "dns \($0.key) \($0.value)" }.sorted()
        parts += gateways.map { "gateway \($0)" }.sorted()
        for document in documents { parts.append("document \(document.text.utf8.count)\n\(document.text)") }
        if let serviceTags {
            parts.append("tags \(serviceTags.changeNumber.map(String.init) ?? "")")
            parts += serviceTags.prefixes.map { "tag \($0.key) \($0.value.map(\.description).sorted())" }.sorted()
        }
        return ContentHasher.fingerprint(of: Array(parts.joined(separator: "\n").utf8))
    }

    private static func compileDocuments(
        documents: [PolicyDocument],
        serviceTags: ServiceTags?,
        gateways: [CIDR],
        options: PolicyLoadOptions
    ) throws(PolicyError) -> Policy {
        if documents.isEmpty {
            var policy = gateways.isEmpty ? allowAll : lockDown(gateways: gateways, profile: options.profile)
            policy.profile = options.profile
            return policy
        }
        var iisDocuments: [IISDocument] = []
        var appService: AppServiceRestrictions?
        var findings: [LintFinding] = serviceTags?.findings ?? []
        for document in documents {
            let first = document.text.unicodeScalars.first {
                !$0.properties.isWhitespace && $0 != "\u{FEFF}"  // a byte-order mark is not content
            }
            switch first {
            case nil:
                throw .emptyPolicy(path: document.path)
            case "<":
                let parsed = try IISParser.parse(text: document.text, path: document.path)
                if !options.acceptsConfigurationErrors, let first = parsed.configErrors.first { throw first }
                iisDocuments.append(parsed)
            case "{", "[":
                let object = try PolicyFile.json(Data(document.text.utf8), path: document.path)
                guard let config = AppServiceRestrictions.siteConfig(in: object) else {
                    throw .unrecognisedFormat(path: document.path)
                }
                if appService != nil {
                    findings.append(
                        LintFinding(
                            severity: .warning,
                            code: "MULTIPLE_APPSERVICE_FILES",
                            location: SourceLocation(file: document.path),
                            message: "only the first App Service access-restriction file is used; pass one per site"
                        )
                    )
                    continue
                }
                let restrictions = try AppServiceRestrictions(
                    config: config,
                    text: document.text,
                    path: document.path,
                    serviceTags: serviceTags
                )
                if !options.acceptsConfigurationErrors, let first = restrictions.configErrors.first { throw first }
                for problem in restrictions.configErrors {
                    guard let location = problem.location else { continue }
                    let message = String(problem.description.dropFirst("\(location): ".count))
                    findings.append(
                        LintFinding(
                            severity: .error,
                            code: problem.lintCode ?? "UNKNOWN_KEY",
                            location: location,
                            message: message
                        )
                    )
                }
                appService = restrictions
            default:
                iisDocuments.append(try PlainList.parse(text: document.text, path: document.path))
            }
        }
        var policy = Policy(
            source: documents.map(\.path).joined(separator: ", "),
            profile: options.profile,
            gateways: CIDRSet(gateways)
        )
        policy.files = documents.map(\.path)
        policy.reverseDNS = options.reverseDNS
        policy.rejectsInvalidForwardedFor = options.rejectsInvalidForwardedFor
        if let appService {
            policy.appService = CompiledAppService(appService)
            findings += appService.findings
        }
        if !iisDocuments.isEmpty {
            var merger = IISMerger(documents: iisDocuments, profile: options.profile, siteName: options.siteName)
            var sections: [CompiledIISSection] = []
            for scope in merger.scopes {
                sections.append(CompiledIISSection(merger.effective(scope: scope)))
            }
            // Deepest scope first, root last.
            policy.iisScopes = sections.reversed()
            let (dynamic, dynamicLocation) = merger.dynamicSettings()
            if dynamicLocation != nil { policy.dynamic = dynamic }
            findings += merger.findings
        }
        policy.staticDenialCodes = policy.computeStaticDenialCodes()
        policy.loadFindings = findings
        policy.serviceTags = serviceTags.map {
            ServiceTagsSummary(path: $0.path, changeNumber: $0.changeNumber, sharedPrefixes: $0.sharedPrefixes)
        }
        return policy
    }
}

/// What a policy remembers of its service-tags file (for lint and reports).
struct ServiceTagsSummary: Sendable {
    var path: String
    var changeNumber: Int?
    /// The day the file was published (days since 1970), from the `_YYYYMMDD` of Microsoft's
    /// file names (`ServiceTags_Public_20250101.json`), when the name has one.
    var publishedDay: Int64? {
        let name = (path as NSString).lastPathComponent
        guard let match = name.range(of: #"_(\d{8})\.json$"#, options: .regularExpression) else { return nil }
        let digits = name[match].dropFirst().prefix(8).compactMap(\.wholeNumberValue).map(Int64.init)
        guard digits.count == 8 else { return nil }
        let year = digits[0..<4].reduce(0) { $0 * 10 + $1 }
        let month = digits[4] * 10 + digits[5]
        let day = digits[6] * 10 + digits[7]
        return CivilDate.days(year: year, month: month, day: day)
    }
    /// Prefixes of tags that admit other tenants (`AzureCloud*`, `ApiManagement*`, `AppService*`).
    var sharedPrefixes: [(tag: String, block: CIDR)]
}

extension ServiceTags {
    var sharedPrefixes: [(tag: String, block: CIDR)] {
        prefixes.filter { Self.isShared($0.key) }.flatMap { tag, blocks in blocks.map { (tag, $0) } }
    }
}

/// Plain address lists: one address or CIDR per line, `#` comments.
enum PlainList {
    static func parse(text: String, path: String) throws(PolicyError) -> IISDocument {
        var section = IISSectionDeclaration(location: SourceLocation(file: path, line: 1, column: 1))
        section.allowUnlisted = false
        var seen: Set<CIDR> = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var content = Substring(line)
            if let hash = content.firstIndex(of: "#") { content = content[..<hash] }
            let trimmed = content.trimmingWhitespace
            if trimmed.isEmpty { continue }
            let column = line.distance(from: line.startIndex, to: trimmed.startIndex) + 1
            let location = SourceLocation(file: path, line: number + 1, column: column)
            guard let block = CIDR(trimmed) else { throw .invalidListEntry(location, text: String(trimmed)) }
            guard seen.insert(block).inserted else { continue }
            var entry = IISEntry(
                ipAddress: block.network.description,
                subnetMask: "\(block.prefixLength)",
                domainName: nil,
                allowed: true,
                location: location
            )
            if block.hadHostBits, case .address(var masked) = entry.match {
                masked.hadHostBits = true
                entry.match = .address(masked)
            }
            section.operations.append(.add(entry))
        }
        var document = IISDocument(path: path, isApplicationHost: false)
        document.blocks = [IISBlock(locationPath: nil, location: section.location, ipSecurity: [section])]
        return document
    }
}
