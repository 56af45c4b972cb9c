/// A gateway whose outbound address changed (issue 24): traffic with the `gateway` verdict from
/// `old` stopped, and `new`, a blocked direct caller that is another API Management instance (or
/// whose requests match the gateway's own logs by path and time), started around then.
///
/// API Management's outbound address changes when a service is reactivated, migrated to stv2 or
/// moved to another subnet; the backend's allowlist then refuses the gateway itself.
public struct GatewayDrift: Sendable, Equatable, Codable {
    /// The gateway address whose traffic fell away.
    public var old: String
    /// The new blocked direct caller.
    public var new: String
    /// The last gateway request from `old` (UTC).
    public var oldLastSeen: String
    /// The first direct request from `new` (UTC).
    public var newFirstSeen: String
    /// Blocked direct requests from `new`.
    public var blocked: Int
    /// Why `new` is taken for the gateway: its service tag, or a path-and-time match.
    public var evidence: String

    enum CodingKeys: String, CodingKey {
        case old, new, blocked, evidence
        case oldLastSeen = "old_last_seen"
        case newFirstSeen = "new_first_seen"
    }

    /// One line for tables, notes and alerts.
    public var message: String {
        "gateway drift: gateway traffic from \(old) stopped at \(oldLastSeen) and \(new) (\(evidence)) has been "
            + "blocked \(blocked) time\(blocked == 1 ? "" : "s") since \(newFirstSeen): API Management's outbound "
            + "address probably changed (reactivation, stv2 migration, new subnet); add \(new) to the allowlist and "
            + "gateways:"
    }

    /// Finds drifts in the store.
    ///
    /// A gateway address has fallen away when its last gateway-verdict request is at least an
    /// hour before the newest data; a direct caller is its successor when it was blocked, first
    /// seen within an hour either side of that last request, and is attributed to an
    /// `ApiManagement.*` tag or its requests appear in the gateway logs (``matchesGatewayLogs``).
    ///
    /// - Parameters:
    ///   - db: The store's database.
    ///   - attribution: The owner attribution (service tags).
    /// - Returns: The drifts, oldest first.
    /// - Throws: Database errors.
    public static func detect(_ db: any SQLDatabase, attribution: OwnerAttribution) throws -> [GatewayDrift] {
        guard let newestText = try db.value(String.self, "SELECT MAX(last_seen) FROM hourly_facts"),
            let newest = TimeDisplay.parse(newestText)
        else { return [] }
        var gone: [(address: String, last: String, lastTime: Int64)] = []
        for row in try db.rows(
            "SELECT address, MAX(last_seen) FROM hourly WHERE verdict = 'gateway' GROUP BY address ORDER BY address"
        ) {
            let last: String = row[1]
            guard let time = TimeDisplay.parse(last), newest - time >= 3600 else { continue }
            gone.append((row[0], last, time))
        }
        guard !gone.isEmpty else { return [] }
        var drifts: [GatewayDrift] = []
        var claimed = Set<String>()
        let candidates = try db.rows(
            """
            SELECT address, MIN(first_seen), MAX(last_seen),
                SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END)
            FROM hourly WHERE verdict = 'direct' GROUP BY address ORDER BY MIN(first_seen), address
            """
        )
        for old in gone {
            for row in candidates {
                let address: String = row[0]
                let first: String = row[1]
                let blocked: Int = row[3]
                guard blocked > 0, !claimed.contains(address), let firstTime = TimeDisplay.parse(first),
                    abs(firstTime - old.lastTime) <= 3600
                else { continue }
                let evidence: String
                if let owner = attribution.owner(of: address), owner.tagFamily?.lowercased() == "apimanagement" {
                    evidence = "inside \(owner.name)"
                } else if try matchesGatewayLogs(db, address: address, from: first, to: row[2]) {
                    evidence = "its requests match the gateway's own logs by path and time"
                } else {
                    continue
                }
                claimed.insert(address)
                drifts.append(
                    GatewayDrift(
                        old: old.address,
                        new: address,
                        oldLastSeen: old.last,
                        newFirstSeen: first,
                        blocked: blocked,
                        evidence: evidence
                    )
                )
                break
            }
        }
        return drifts
    }

    /// Whether a direct caller's requests are the gateway's own: at least half of its sampled
    /// requests made while the gateway logs run (evidence) have a gateway request to the same backend
    /// path in the same minute with the backend status it logged (or none, when APIM answered).
    ///
    /// A share, not a count: it holds on a bounded evidence sample (the first requests of each
    /// address, day and outcome, and the latest) as on every row; the `blocked` count is hourly's.
    ///
    /// A path alone is not enough: on a busy API every client calls the paths the gateway calls, so
    /// an ordinary client first seen after a gateway instance was scaled in was taken for the gateway.
    static func matchesGatewayLogs(_ db: any SQLDatabase, address: String, from: String, to: String) throws -> Bool {
        guard
            let row = try db.row(
                """
                SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (
                    SELECT 1 FROM gateway_minutes g WHERE g.minute = substr(e.time, 1, 16) || ':00Z'
                        AND g.backend_path = e.uri_stem AND (g.backend_status = e.status OR g.backend_status < 0)
                ) THEN 1 ELSE 0 END), 0)
                FROM evidence e
                WHERE e.address = ? AND e.verdict = 'direct' AND e.time >= ? AND e.time <= ?
                    AND e.time >= (SELECT MIN(first_seen) FROM gateway_minutes)
                    AND e.time <= (SELECT MAX(last_seen) FROM gateway_minutes)
                """,
                [address, from, to]
            )
        else { return false }
        let total: Int = row[0]
        let matched: Int = row[1]
        return matched > 0 && matched * 2 >= total
    }
}

extension Owner {
    /// What the owner of a direct caller means for the migration (issue 24), or `nil`.
    ///
    /// - Parameter seenInGatewayLogs: Whether the caller's requests match the gateway's own logs by
    ///   path and time (tells your own second gateway from another tenant's).
    /// - Returns: The finding.
    public func finding(seenInGatewayLogs: Bool) -> String? {
        guard let family = tagFamily?.lowercased() else { return nil }
        let region = tagRegion.map { " in \($0)" } ?? ""
        switch family {
        case "apimanagement":
            return "another API Management instance (\(name))"
                + (seenInGatewayLogs
                    ? ": its requests match the gateway's own logs, so it is likelier your own second gateway missing "
                        + "from the allowlist and gateways:"
                    : ": it never appears in the gateway logs, so it is likelier another tenant's; do not allow the "
                        + "whole tag")
        case "azurefrontdoor":
            return "Azure Front Door (\(name)) reaching the backend around API Management: route it through the gateway"
        case "azurecloud":
            return "an Azure-hosted client (Logic Apps, Functions, a VM)\(region): look for it in that region's "
                + "subscriptions"
        default:
            return "an Azure \(tagFamily ?? name) client (\(name))\(region)"
        }
    }
}
