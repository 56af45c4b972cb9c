extension Policy {
    /// Finds entries and settings that do not do what they seem to (spec D4, D6, D7, D10, D12,
    /// D22–D24).
    ///
    /// Codes: `EMPTY_IP_ENTRY`, `INVALID_MASK`, `INVALID_IP_ADDRESS`, `CIDR_IN_IPADDRESS`,
    /// `HOST_BITS_SET`, `NONCONTIGUOUS_MASK`, `SHADOWED_ENTRY`, `DUPLICATE_KEY`, `SECTION_LOCKED`,
    /// `REMOVE_NO_MATCH`, `ALLOW_UNLISTED_WITHOUT_DENIES`, `LINK_LOCAL_DENIED`,
    /// `PLATFORM_PROBE_BLOCKED`, `SHARED_RANGE_ALLOW`, `UNKNOWN_SERVICE_TAG`, `DOMAIN_ENTRY_SKIPPED`,
    /// `DOMAIN_ENTRY_NEEDS_RDNS`, `ABORT_UNLOGGED`, `LEGACY_XFFPROXY`, `VNET_RULE`,
    /// `DYNAMIC_LOGGING_ONLY`, `INVALID_SERVICE_TAG_PREFIX`, `PROXY_MODE_IGNORED`,
    /// `DUPLICATE_SECTION`, `IPADDRESS_LIST_TOO_LONG`, `ELEMENT_LOCKED`, `ITEM_LOCKED`,
    /// `ATTRIBUTE_LOCKED`, `LOCK_NOT_EVALUATED`, `LOCATION_OVERRIDE_CONFLICT`.
    ///
    /// - Returns: The findings, errors first, then by file and line.
    public func lint() -> [LintFinding] {
        var findings = loadFindings
        func add(_ severity: LintSeverity, _ code: String, _ location: SourceLocation, _ message: String) {
            let finding = LintFinding(severity: severity, code: code, location: location, message: message)
            if !findings.contains(finding) { findings.append(finding) }
        }
        let sharedPrefixes = serviceTags?.sharedPrefixes ?? []
        for section in iisScopes where section.isConfigured {
            lintIIS(section, sharedPrefixes: sharedPrefixes, add: add)
        }
        if let appService {
            lintAppService(appService.main, list: "ipSecurityRestrictions", add: add)
            if !appService.scmUsesMain {
                lintAppService(appService.scm, list: "scmIpSecurityRestrictions", add: add)
            }
        }
        if let dynamic, dynamic.enableLoggingOnlyMode {
            add(
                .info,
                "DYNAMIC_LOGGING_ONLY",
                SourceLocation(file: files.first ?? "policy"),
                "dynamicIpSecurity is in logging-only mode: over-limit requests are served and logged as 200.501/200.502; "
                    + "set enableLoggingOnlyMode=\"false\" to enforce the limits"
            )
        }
        return findings.sorted {
            ($1.severity, $0.location.file, $0.location.line, $0.code) < (
                $0.severity, $1.location.file, $1.location.line, $1.code
            )
        }
    }

    private func lintIIS(
        _ section: CompiledIISSection,
        sharedPrefixes: [(tag: String, block: CIDR)],
        add: (LintSeverity, String, SourceLocation, String) -> Void
    ) {
        let winners = section.table.winningPriorities
        var denies = 0
        for (index, entry) in section.entries.enumerated() {
            let summary = entry.summary
            switch entry.match {
            case .invalid(let code, let reason):
                let advice: String
                switch code {
                case "EMPTY_IP_ENTRY":
                    advice = "the entry never matches anyone; fill in ipAddress (and subnetMask) or delete it"
                case "CIDR_IN_IPADDRESS":
                    advice =
                        "the entry never matches; write ipAddress=\"10.0.0.0\" subnetMask=\"255.0.0.0\" (or \"8\") instead"
                case "INVALID_MASK":
                    advice =
                        "the entry never matches; use a dotted mask (255.255.255.0), an IPv6 mask, or a prefix length"
                default:
                    advice = "the entry never matches; fix the address"
                }
                add(.error, code, entry.location, "\(reason); \(advice)")
            case .domain(let name):
                if !entry.allowed { denies += 1 }
                if section.enableReverseDns {
                    add(
                        .warning,
                        "DOMAIN_ENTRY_NEEDS_RDNS",
                        entry.location,
                        "domain entry '\(name)' needs reverse DNS, which the logs do not carry; requests it could match "
                            + "are reported as indeterminate; replace it with address entries"
                    )
                } else {
                    add(
                        .warning,
                        "DOMAIN_ENTRY_SKIPPED",
                        entry.location,
                        "domain entry '\(name)' is ignored because enableReverseDns is false; delete it or use address entries"
                    )
                }
            case .address(let masked):
                if !entry.allowed { denies += 1 }
                if masked.hadHostBits {
                    add(
                        .warning,
                        "HOST_BITS_SET",
                        entry.location,
                        "'\(entry.ipAddress ?? "")' has bits outside the mask; IIS masks both sides, so the entry covers "
                            + "\(masked.text); write that network address to make it explicit"
                    )
                }
                if masked.prefixLength == nil {
                    add(
                        .warning,
                        "NONCONTIGUOUS_MASK",
                        entry.location,
                        "mask '\(entry.subnetMask ?? "")' is not contiguous; it is applied bit by bit (\(masked.text)); "
                            + "use a prefix mask unless that is really intended"
                    )
                } else if !winners.contains(Int32(index)) {
                    add(
                        .warning,
                        "SHADOWED_ENTRY",
                        entry.location,
                        "'\(summary)' can never decide anything: earlier entries match every address it covers "
                            + "(first match wins); delete it or move it above the entries that cover it"
                    )
                }
                if entry.allowed, let block = masked.cidr {
                    lintShared(block, entry.location, sharedPrefixes, add: add)
                }
            }
        }
        let location = section.declarationLocation ?? SourceLocation(file: files.first ?? "policy")
        // A scope IIS cannot read (500.19) restricts everyone; its own finding says why.
        if section.allowUnlisted, denies == 0, section.configError == nil {
            add(
                .warning,
                "ALLOW_UNLISTED_WITHOUT_DENIES",
                location,
                "allowUnlisted is true and no entry denies anything, so this list restricts nobody; "
                    + "set allowUnlisted=\"false\" and allow the gateway"
            )
        }
        if section.denyAction == .abortRequest, profile.hasDenyAction {
            add(
                .info,
                "ABORT_UNLOGGED",
                location,
                "denyAction=\"AbortRequest\" resets the connection and IIS writes no log line, so blocked requests are "
                    + "invisible to log analysis; use Forbidden or NotFound to see them"
            )
        }
        guard section.configError == nil else { return }
        // D24: platform traffic the section denies (deny or abort), by the address it comes from.
        func deniedRule(_ text: String) -> String? {
            guard let address = IPAddress(text) else { return nil }
            let decision = section.decide(address, profile: profile, reverseDNS: reverseDNS)
            return decision.verdict == .deny || decision.verdict == .abort ? decision.rule : nil
        }
        for text in ["127.0.0.1", "::1"] {
            // Always On, slot warm-up and Application Initialization come from loopback.
            guard let rule = deniedRule(text) else { continue }
            add(
                .warning,
                "PLATFORM_PROBE_BLOCKED",
                location,
                "loopback \(text) is denied (\(rule)), which breaks Always On, slot warm-up and Application "
                    + "Initialization in scope '\(section.scope)'; add <add ipAddress=\"\(text)\" allowed=\"true\" />"
            )
        }
        if profile.isAppService, let rule = deniedRule("169.254.130.1") {
            add(
                .warning,
                "LINK_LOCAL_DENIED",
                location,
                "link-local 169.254.0.0/16 is denied (\(rule)): on App Service the health check and local-cache "
                    + "readiness come from 169.254.x.x (and on Linux every request reaches the container from there); "
                    + "allow 169.254.0.0/16 in scope '\(section.scope)'"
            )
        }
        if let rule = deniedRule("168.63.129.16") {
            add(
                .warning,
                "PLATFORM_PROBE_BLOCKED",
                location,
                "the Azure load-balancer health probe 168.63.129.16 is denied (\(rule)); on IIS behind an Azure "
                    + "load balancer the backend drops out of rotation; allow 168.63.129.16"
            )
        }
    }

    private func lintShared(
        _ block: CIDR,
        _ location: SourceLocation,
        _ sharedPrefixes: [(tag: String, block: CIDR)],
        add: (LintSeverity, String, SourceLocation, String) -> Void
    ) {
        // A range (not one host) that contains a whole prefix of a shared tag admits other tenants.
        let isRange = block.network.isIPv4 ? block.prefixLength <= 29 : block.prefixLength <= 64
        guard isRange else { return }
        for prefix in sharedPrefixes where block.contains(prefix.block.network) && block.contains(prefix.block.last) {
            add(
                .warning,
                "SHARED_RANGE_ALLOW",
                location,
                "\(block) allows all of \(prefix.block) from service tag '\(prefix.tag)', which other Azure tenants share; "
                    + "allow your gateway's own addresses, or authenticate the gateway (client certificate or managed identity)"
            )
            return
        }
    }

    private func lintAppService(
        _ list: CompiledAppService.List,
        list name: String,
        add: (LintSeverity, String, SourceLocation, String) -> Void
    ) {
        let winners = list.table.winningPriorities
        var denies = 0
        for (index, rule) in list.rules.enumerated() {
            if !rule.allows { denies += 1 }
            switch rule.source {
            case .serviceTags(let names, _, let unresolved):
                for tag in unresolved {
                    let hint =
                        serviceTags == nil
                        ? "pass the ServiceTags_Public_*.json file with --service-tags"
                        : "check the spelling against the service tags file (names are exact, regions are not synthesised)"
                    add(
                        .error,
                        "UNKNOWN_SERVICE_TAG",
                        rule.location,
                        "service tag '\(tag)' in rule '\(rule.name)' is unknown, so the whole rule is unresolvable and "
                            + "never matches, whatever its other tags; \(hint)"
                    )
                }
                if rule.allows, unresolved.isEmpty {
                    for tag in names where ServiceTags.isShared(tag) {
                        add(
                            .warning,
                            "SHARED_RANGE_ALLOW",
                            rule.location,
                            "rule '\(rule.name)' allows service tag '\(tag)', which admits other Azure tenants (e.g. any APIM "
                                + "Consumption instance); allow your gateway's own addresses or authenticate it"
                        )
                    }
                }
            case .forwardedFor:
                add(
                    .warning,
                    "LEGACY_XFFPROXY",
                    rule.location,
                    "rule '\(rule.name)' uses the undocumented XffProxy tag; its matching is a guess (D19); replace it with an x-forwarded-for header filter"
                )
            case .virtualNetwork:
                add(
                    .info,
                    "VNET_RULE",
                    rule.location,
                    "rule '\(rule.name)' matches only service-endpoint traffic, which logs cannot show; private sources are reported as indeterminate"
                )
            case .addresses, .any:
                break
            }
            var hasBlocks = true
            if case .serviceTags(_, let blocks, _) = rule.source, blocks.isEmpty { hasBlocks = false }
            if hasBlocks, rule.headers.isEmpty, list.slowRules.firstIndex(of: Int32(index)) == nil,
                !winners.contains(Int32(index))
            {
                add(
                    .warning,
                    "SHADOWED_ENTRY",
                    rule.location,
                    "rule '\(rule.name)' (priority \(rule.priority)) can never decide anything: rules with lower priority "
                        + "numbers match every address it covers; delete it or give it a lower priority number"
                )
            }
        }
        if list.unmatchedAllows, denies == 0, !list.rules.isEmpty {
            add(
                .warning,
                "ALLOW_UNLISTED_WITHOUT_DENIES",
                list.rules.first?.location ?? SourceLocation(file: files.first ?? "policy"),
                "\(name) allows unmatched requests and no rule denies, so it restricts nobody; set the default action to Deny"
            )
        }
    }
}
