import Foundation

/// A declared policy, as the registry (`policies`) records it.
public struct PolicyRecord: Sendable, Equatable, Codable {
    /// The fingerprint of the policy text, gateways and platform rules.
    public var fingerprint: String
    /// The policy for people: its files, or `none (unjudged)`, and the gateways.
    public var source: String
    /// When it was first declared (UTC).
    public var declaredAt: String
    /// The declared gateways.
    public var gateways: String
    /// The platform rules (`built-in`, or the rules).
    public var platformRules: String
    /// The profile options (IIS version, App Service).
    public var options: String

    enum CodingKeys: String, CodingKey {
        case fingerprint, source
        case declaredAt = "declared_at"
        case gateways
        case platformRules = "platform_rules"
        case options
    }

    /// `source (fingerprint abcdef012345)`, for one line of text.
    public var label: String { "\(source) (fingerprint \(fingerprint.prefix(12)))" }
}

/// Why an ingest was refused.
public struct PolicyMismatch: Error, CustomStringConvertible, Sendable {
    /// The store's current policy.
    public var current: PolicyRecord
    /// The run's policy.
    public var proposed: String
    /// The run's fingerprint.
    public var proposedFingerprint: String

    public var description: String {
        "the store's verdicts are under the policy \(current.label), declared \(current.declaredAt); this run "
            + "declares \(proposed) (fingerprint \(proposedFingerprint.prefix(12))): run 'gatewatch reclassify' with "
            + "this run's --policy/--gateway/--config to re-judge the history under it first, or ingest with "
            + "--reclassify to do both"
    }
}

/// The policy registry: every declared policy, and the one the stored verdicts are under
/// (`meta.current_policy`).
public enum PolicyRegistry {
    /// The policy the stored verdicts are under, if any was declared.
    public static func current(_ db: any SQLDatabase) throws -> PolicyRecord? {
        guard let fingerprint = try StoreMeta.value(db, "current_policy") else { return nil }
        return try record(db, fingerprint: fingerprint)
    }

    /// The current policy of a store.
    ///
    /// - Parameter store: The store.
    /// - Returns: The record, or `nil` for a store that holds no judged history yet.
    /// - Throws: Database errors.
    public static func current(store: Store) throws -> PolicyRecord? {
        try store.query { db in try current(db) }
    }

    /// The policy the latency histograms were split by verdict under, when a `reclassify` has
    /// changed verdicts since (their rows keep the verdict of their ingest), else `nil`.
    ///
    /// - Parameter store: The store.
    /// - Returns: The policy of the histograms' verdicts before the first such reclassify.
    /// - Throws: Database errors.
    public static func latencySplit(store: Store) throws -> PolicyRecord? {
        try store.query { db in
            guard let fingerprint = try StoreMeta.value(db, "latency_policy") else { return nil }
            return try record(db, fingerprint: fingerprint)
                ?? PolicyRecord(
                    fingerprint: fingerprint,
                    source: "an earlier policy",
                    declaredAt: "",
                    gateways: "",
                    platformRules: "",
                    options: ""
                )
        }
    }

    static func record(_ db: any SQLDatabase, fingerprint: String) throws -> PolicyRecord? {
        guard
            let row = try db.row(
                """
                SELECT fingerprint, source, declared_at, gateways, platform_rules, options FROM policies
                WHERE fingerprint = ?
                """,
                [fingerprint]
            )
        else { return nil }
        return PolicyRecord(
            fingerprint: row[0],
            source: row[1],
            declaredAt: row[2],
            gateways: row[3],
            platformRules: row[4],
            options: row[5]
        )
    }

    /// Records a declaration (once per fingerprint) and makes it the current policy; the first
    /// declaration also records the platform rules and `<location>` scopes the keys' facts are read
    /// with.
    static func declare(_ db: any SQLDatabase, _ declaration: PolicyDeclaration) throws {
        let now = UTCTime.format(Int64(Date().timeIntervalSince1970))
        let profile = declaration.policy.profile
        try db.execute(
            """
            INSERT INTO policies (fingerprint, source, declared_at, gateways, platform_rules, options)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING
            """,
            [
                declaration.fingerprint, declaration.source, now,
                declaration.gateways.joined(separator: ", "), declaration.platformText,
                "iis \(profile.version)\(profile.isAppService ? "; app-service" : "")",
            ]
        )
        try StoreMeta.set(db, "current_policy", declaration.fingerprint)
        if try StoreMeta.value(db, "facts_platform_rules") == nil {
            try StoreMeta.set(db, "facts_platform_rules", declaration.platformFingerprint)
            try StoreMeta.set(db, "facts_platform_text", declaration.platformText)
        }
        if !declaration.scopes.isEmpty, try StoreMeta.value(db, "facts_scopes") == nil {
            try StoreMeta.set(db, "facts_scopes", declaration.scopes.joined(separator: " "))
        }
    }

    /// Checks an ingest's declaration against the store's current policy, and records it when the
    /// store has none yet.
    ///
    /// - Parameters:
    ///   - declaration: The run's policy.
    ///   - store: The store.
    /// - Throws: ``PolicyMismatch`` when the store's verdicts are under another policy.
    public static func admit(_ declaration: PolicyDeclaration, into store: Store) throws {
        try store.write { db in
            if let current = try current(db) {
                guard current.fingerprint != declaration.fingerprint else { return }
                throw PolicyMismatch(
                    current: current,
                    proposed: declaration.source,
                    proposedFingerprint: declaration.fingerprint
                )
            }
            try declare(db, declaration)
        }
    }
}
