import Foundation
import GRDB

/// A value (endpoint, method, user agent, rule, status) and its request count.
public struct ValueCount: Sendable, Equatable, Codable {
    /// The value, as logged.
    public var value: String
    /// Requests.
    public var requests: Int

    /// Creates a count.
    ///
    /// - Parameters:
    ///   - value: The value.
    ///   - requests: Requests.
    public init(value: String, requests: Int) {
        self.value = value
        self.requests = requests
    }
}

/// Everything about one client address: the `ip` command's result.
public struct AddressReport: Sendable, Equatable, Codable {
    /// Requests of one verdict and outcome.
    public struct VerdictCount: Sendable, Equatable, Codable {
        /// The verdict.
        public var verdict: String
        /// `blocked` or `served` for direct requests, empty otherwise.
        public var outcome: String
        /// Requests.
        public var requests: Int
        /// Bytes sent.
        public var bytes: Int
    }

    /// Requests of one verdict and `status.substatus`.
    public struct StatusCount: Sendable, Equatable, Codable {
        /// The verdict.
        public var verdict: String
        /// `status.substatus`, such as `403.503`.
        public var status: String
        /// Requests.
        public var requests: Int
    }

    /// Requests on one day.
    public struct DayCount: Sendable, Equatable, Codable {
        /// The day (`YYYY-MM-DD`) in the display zone.
        public var day: String
        /// Requests.
        public var requests: Int
        /// Direct requests.
        public var direct: Int
    }

    /// The address, canonical.
    public var address: String
    /// The configured name of the address (`names:`), if any; omitted from JSON when absent.
    public var name: String?
    /// Who the address belongs to (issue 24), if any source knows; omitted from JSON when absent.
    public var owner: Owner?
    /// What the owner means for the migration; omitted from JSON when absent.
    public var findings: [String]?
    /// The address as the gateway's own logs saw it, when gateway logs were ingested and name it.
    public var gateway: GatewayAddressStats?
    /// Requests in the window.
    public var requests: Int
    /// Bytes sent.
    public var bytes: Int
    /// The first request, in the display zone.
    public var firstSeen: String?
    /// The last request, in the display zone.
    public var lastSeen: String?
    /// Requests per verdict and outcome, busiest first.
    public var verdicts: [VerdictCount]
    /// The policy rules that decided this address's direct requests (from evidence), busiest first.
    public var rules: [ValueCount]
    /// Requests per verdict and status.
    public var statuses: [StatusCount]
    /// Endpoints (`cs-uri-stem`), busiest first; `(other)` last.
    public var endpoints: [ValueCount]
    /// Methods, busiest first.
    public var methods: [ValueCount]
    /// User agents as logged (IIS writes spaces as `+`), busiest first.
    public var userAgents: [ValueCount]
    /// Where endpoints, methods and user agents come from: `inventory`, or `evidence` when the
    /// store has no inventory (direct requests only).
    public var source: String
    /// Requests per day, every day from the first to the last.
    public var daily: [DayCount]

    enum CodingKeys: String, CodingKey {
        case address, name, owner, findings, gateway, requests, bytes
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case verdicts, rules, statuses, endpoints, methods
        case userAgents = "user_agents"
        case source, daily
    }

    /// Encodes with `first_seen`/`last_seen` written as `null` when absent.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address, forKey: .address)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(owner, forKey: .owner)
        try container.encodeIfPresent(findings, forKey: .findings)
        try container.encodeIfPresent(gateway, forKey: .gateway)
        try container.encode(requests, forKey: .requests)
        try container.encode(bytes, forKey: .bytes)
        try container.encode(firstSeen, forKey: .firstSeen)
        try container.encode(lastSeen, forKey: .lastSeen)
        try container.encode(verdicts, forKey: .verdicts)
        try container.encode(rules, forKey: .rules)
        try container.encode(statuses, forKey: .statuses)
        try container.encode(endpoints, forKey: .endpoints)
        try container.encode(methods, forKey: .methods)
        try container.encode(userAgents, forKey: .userAgents)
        try container.encode(source, forKey: .source)
        try container.encode(daily, forKey: .daily)
    }

    /// The stored form of an address typed by the user: canonical when it is an IP address
    /// (`::FFFF:10.0.0.1` → `10.0.0.1`, `2001:DB8::0:1` → `2001:db8::1`), else the text itself.
    ///
    /// - Parameter text: The address as typed.
    /// - Returns: The address as stored.
    public static func canonical(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return IPAddress(trimmed)?.description ?? trimmed
    }

    /// Computes the report.
    ///
    /// The filter's block filter does not apply (the address is given); its limit caps the endpoint, method and user-agent lists.
    ///
    /// - Parameters:
    ///   - address: The address, in any text form.
    ///   - filter: The common filter.
    ///   - store: The store.
    /// - Returns: The report; all counts are zero when the address is unknown.
    /// - Throws: Database errors.
    public static func compute(address: String, filter: QueryFilter, store: Store) throws -> AddressReport {
        let address = canonical(address)
        var scoped = filter
        scoped.cidrs = []
        let display = filter.display
        return try store.query { db in
            var conditions = try scoped.hourlyConditions(db)
            conditions.add("address = ?", address)
            let arguments = conditions.values
            var verdicts: [VerdictCount] = []
            var firstSeen: String?
            var lastSeen: String?
            try db.forEachRow(
                """
                SELECT verdict, outcome, SUM(requests), SUM(bytes), MIN(first_seen), MAX(last_seen)
                FROM hourly \(conditions.whereClause) GROUP BY verdict, outcome
                """,
                arguments
            ) { row in
                verdicts.append(VerdictCount(verdict: row[0], outcome: row[1], requests: row[2], bytes: row[3]))
                let first: String = row[4]
                let last: String = row[5]
                if firstSeen.map({ first < $0 }) ?? true { firstSeen = first }
                if lastSeen.map({ last > $0 }) ?? true { lastSeen = last }
            }
            verdicts.sort {
                $0.requests != $1.requests
                    ? $0.requests > $1.requests : ($0.verdict, $0.outcome) < ($1.verdict, $1.outcome)
            }
            var statuses: [StatusCount] = []
            try db.forEachRow(
                """
                SELECT verdict, status, substatus, SUM(requests) AS n FROM hourly \(conditions.whereClause)
                GROUP BY verdict, status, substatus ORDER BY n DESC, verdict, status, substatus
                """,
                arguments
            ) { row in
                statuses.append(StatusCount(verdict: row[0], status: statusText(row[1], row[2]), requests: row[3]))
            }
            var perDay: [String: (Int, Int)] = [:]
            try db.forEachRow(
                """
                SELECT hour, SUM(requests), SUM(CASE WHEN verdict = 'direct' THEN requests ELSE 0 END)
                FROM hourly \(conditions.whereClause) GROUP BY hour
                """,
                arguments
            ) { row in
                let hour: String = row[0]
                guard let seconds = TimeDisplay.parse(hour) else { return }
                let day = display.day(of: seconds)
                let counts: (Int, Int) = (row[1], row[2])
                perDay[day, default: (0, 0)].0 += counts.0
                perDay[day, default: (0, 0)].1 += counts.1
            }
            var daily: [DayCount] = []
            if let first = perDay.keys.min().flatMap(TimeDisplay.dayNumber),
                let last = perDay.keys.max().flatMap(TimeDisplay.dayNumber),
                last - first >= Int64(TimelineQuery.maximumBuckets)
            {
                // A span of centuries (a line dated 0001-01-01): the days with requests only, not
                // hundreds of thousands of empty ones.
                daily = perDay.sorted { $0.key < $1.key }.map {
                    DayCount(day: $0.key, requests: $0.value.0, direct: $0.value.1)
                }
            } else if let first = perDay.keys.min().flatMap(TimeDisplay.dayNumber),
                let last = perDay.keys.max().flatMap(TimeDisplay.dayNumber), first <= last
            {
                for number in first...last {
                    let key = TimeDisplay.dayKey(number)
                    let counts = perDay[key] ?? (0, 0)
                    daily.append(DayCount(day: key, requests: counts.0, direct: counts.1))
                }
            }
            // Direct requests per deciding rule, from the aggregates (every request, whether or not
            // its evidence row was kept): the rule is the key's judgement.
            var direct = conditions
            direct.add("verdict = 'direct'")
            var rules: [ValueCount] = []
            try db.forEachRow(
                """
                SELECT j.rule, SUM(h.n) AS n FROM (
                    SELECT key_id, SUM(requests) AS n FROM hourly \(direct.whereClause) GROUP BY key_id
                ) h JOIN judgements j ON j.key_id = h.key_id
                GROUP BY j.rule ORDER BY n DESC, j.rule
                """,
                direct.values
            ) { row in
                rules.append(ValueCount(value: row[0], requests: row[1]))
            }
            let lookup = try InventoryLookup(db, filter: scoped, perAddress: filter.limit)
            let values = try lookup.values(for: [address])
            return AddressReport(
                address: address,
                requests: verdicts.reduce(0) { $0 + $1.requests },
                bytes: verdicts.reduce(0) { $0 + $1.bytes },
                firstSeen: firstSeen.map(display.format),
                lastSeen: lastSeen.map(display.format),
                verdicts: verdicts,
                rules: rules,
                statuses: statuses,
                endpoints: values.endpoints[address] ?? [],
                methods: values.methods[address] ?? [],
                userAgents: values.userAgents[address] ?? [],
                source: lookup.source.rawValue,
                daily: daily
            )
        }
    }

    /// The report in an output format.
    ///
    /// `table` is a set of small tables with a sparkline of the
    /// daily trend; `csv` is one long table `section,key,detail,requests`.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json, .ndjson:
            return try JSONOutput.encode(self) + "\n"
        case .csv:
            var rows: [[String]] = [
                ["address", address, "", String(requests)],
                ["bytes", "", "", String(bytes)],
                ["first_seen", firstSeen ?? "", "", ""],
                ["last_seen", lastSeen ?? "", "", ""],
            ]
            rows += verdicts.map { ["verdict", $0.verdict, $0.outcome, String($0.requests)] }
            rows += rules.map { ["rule", $0.value, "", String($0.requests)] }
            rows += statuses.map { ["status", $0.status, $0.verdict, String($0.requests)] }
            rows += endpoints.map { ["endpoint", $0.value, source, String($0.requests)] }
            rows += methods.map { ["method", $0.value, source, String($0.requests)] }
            rows += userAgents.map { ["user_agent", $0.value, source, String($0.requests)] }
            rows += daily.map { ["day", $0.day, "direct=\($0.direct)", String($0.requests)] }
            return TextTable(columns: ["section", "key", "detail", "requests"], rows: rows).renderCSV()
        case .table:
            return renderText()
        }
    }

    private func renderText() -> String {
        guard requests > 0 else {
            return "no requests from \(SafeText.terminal(address)) in the selected window\n"
        }
        var output = SafeText.terminal(address) + (name.map { " (" + SafeText.terminal($0) + ")" } ?? "") + "\n"
        if let owner {
            output += "  owner " + SafeText.terminal(owner.label + (owner.detail.map { ", " + $0 } ?? "")) + "\n"
        }
        for finding in findings ?? [] { output += "  finding: " + SafeText.terminal(finding) + "\n" }
        output += "  requests \(requests), bytes \(bytes)\n"
        output += "  first seen \(firstSeen ?? "-"), last seen \(lastSeen ?? "-")\n\n"
        output += TextTable(
            columns: ["verdict", "outcome", "requests", "bytes"],
            rows: verdicts.map { [$0.verdict, $0.outcome, String($0.requests), String($0.bytes)] },
            numericColumns: [2, 3]
        ).renderText()
        if !rules.isEmpty {
            output +=
                "\n"
                + TextTable(
                    columns: ["deciding rule", "requests"],
                    rows: rules.map { [$0.value, String($0.requests)] },
                    numericColumns: [1]
                ).renderText()
        }
        output +=
            "\n"
            + TextTable(
                columns: ["verdict", "status", "requests"],
                rows: statuses.map { [$0.verdict, $0.status, String($0.requests)] },
                numericColumns: [2]
            ).renderText()
        for (title, list) in [("endpoint", endpoints), ("method", methods), ("user agent", userAgents)]
        where !list.isEmpty {
            output +=
                "\n"
                + TextTable(
                    columns: [title, "requests"],
                    rows: list.map { [$0.value, String($0.requests)] },
                    numericColumns: [1]
                ).renderText()
        }
        if source == InventoryLookup.Source.evidence.rawValue {
            output += "(endpoints, methods and user agents from evidence: direct requests only)\n"
        }
        if let first = daily.first, let last = daily.last {
            output += "\ndaily \(first.day) … \(last.day)  max \(daily.map(\.requests).max() ?? 0)/day\n"
            output += "  " + TextCharts.sparkline(daily.map(\.requests)) + "\n"
        }
        return output
    }
}

/// Top endpoints, methods and user agents per address, from the `inventory` table, or from
/// `evidence` (direct requests only) when the store has no inventory rows.
///
/// Inventory days are UTC days; the window is rounded out to whole days, and inventories have
/// no site, so the site filter does not apply to them.
struct InventoryLookup {
    enum Source: String {
        case inventory
        case evidence
    }

    struct Values {
        var endpoints: [String: [ValueCount]] = [:]
        var methods: [String: [ValueCount]] = [:]
        var userAgents: [String: [ValueCount]] = [:]
    }

    let db: any SQLDatabase
    let filter: QueryFilter
    let perAddress: Int
    let source: Source

    /// The value the inventory writer uses for values past its quota.
    static let other = "(other)"

    init(_ db: any SQLDatabase, filter: QueryFilter, perAddress: Int) throws {
        self.db = db
        self.filter = filter
        self.perAddress = perAddress
        source = try PortableSQL.hasRows(db, table: "inventory") ? .inventory : .evidence
    }

    /// A statement of every address's endpoints and user agents in the window.
    ///
    /// Rows of `(address, 1, kind, value, requests)`, followed by `nulls` NULL columns: from the
    /// inventory, or in a store without one, the evidence, as ``values(for:kinds:)`` reads them.
    /// For a `UNION ALL` with a statement of per-address rows, sorted by address, so that a query reads
    /// one address at a time (issue 23).
    static func valuesStatement(
        _ db: any SQLDatabase,
        filter: QueryFilter,
        nulls: Int
    ) throws -> (String, [any DatabaseValueConvertible]) {
        let padding = String(repeating: ", NULL", count: nulls)
        if try PortableSQL.hasRows(db, table: "inventory") {
            var conditions = filter.dayConditions()
            let (clause, argument) = try db.inTextList("kind", ["endpoint", "user_agent"])
            conditions.add(clause, argument)
            return (
                """
                SELECT address, 1, kind, value, SUM(requests)\(padding)
                FROM inventory \(conditions.whereClause) GROUP BY address, kind, value
                """,
                conditions.values
            )
        }
        let conditions = try filter.evidenceConditions(db, blocks: false)
        let statements = [("endpoint", "uri_stem"), ("user_agent", "user_agent")].map { kind, column in
            """
            SELECT address, 1, '\(kind)', \(column), COUNT(*)\(padding)
            FROM evidence \(conditions.whereClause) GROUP BY address, \(column)
            """
        }
        return (statements.joined(separator: " UNION ALL "), conditions.values + conditions.values)
    }

    /// One address's values of one kind: busiest first, `(other)` last, at most `perAddress`
    /// (0 = all).
    static func ranked(_ counts: [String: Int], perAddress: Int) -> [ValueCount] {
        var list = counts.map { ValueCount(value: $0.key, requests: $0.value) }
        list.sort { lhs, rhs in
            let lhsOther = lhs.value == Self.other
            let rhsOther = rhs.value == Self.other
            if lhsOther != rhsOther { return rhsOther }
            return lhs.requests != rhs.requests ? lhs.requests > rhs.requests : byteOrder(lhs.value, rhs.value)
        }
        if perAddress > 0, list.count > perAddress { list.removeSubrange(perAddress...) }
        return list
    }

    /// Values for the given addresses; per address, busiest first, `(other)` last, capped at
    /// `perAddress` (0 = all).
    func values(for addresses: [String], kinds: Set<String> = ["endpoint", "method", "user_agent"]) throws -> Values {
        var values = Values()
        guard !addresses.isEmpty else { return values }
        let wanted = Set(addresses)
        // One query per address uses the address index; past a few hundred, one scan is cheaper.
        let perAddressQueries = addresses.count <= 300
        var counts: [String: [String: [String: Int]]] = [:]  // kind → address → value → requests
        // Rows of (address, kind, value, requests), or of (address, value, requests) when `kind` is given.
        func collect(_ sql: String, _ conditions: SQLConditions, kind fixedKind: String? = nil) throws {
            let valueIndex = fixedKind == nil ? 2 : 1
            try db.forEachRow(sql, conditions.values) { row in
                let address: String = row[0]
                guard wanted.contains(address) else { return }
                let kind: String = fixedKind ?? row[1]
                let value = row.optional(String.self, at: valueIndex)
                counts[kind, default: [:]][address, default: [:]][value ?? "-", default: 0] +=
                    row[valueIndex + 1] as Int
            }
        }
        switch source {
        case .inventory:
            // Inventories have no site or source column: they count every site and source.
            let sql = """
                SELECT address, kind, value, SUM(requests) FROM inventory %WHERE% GROUP BY address, kind, value
                """
            for address in perAddressQueries ? addresses : [""] {
                var conditions = filter.dayConditions()
                if perAddressQueries { conditions.add("address = ?", address) }
                let (clause, argument) = try db.inTextList("kind", kinds.sorted())
                conditions.add(clause, argument)
                try collect(sql.replacingOccurrences(of: "%WHERE%", with: conditions.whereClause), conditions)
            }
        case .evidence:
            for address in perAddressQueries ? addresses : [""] {
                var conditions = try filter.evidenceConditions(db, blocks: false)
                if perAddressQueries { conditions.add("address = ?", address) }
                for (kind, column) in [("endpoint", "uri_stem"), ("method", "method"), ("user_agent", "user_agent")]
                where kinds.contains(kind) {
                    try collect(
                        "SELECT address, \(column), COUNT(*) FROM evidence \(conditions.whereClause) "
                            + "GROUP BY address, \(column)",
                        conditions,
                        kind: kind
                    )
                }
            }
        }
        func ranked(_ kind: String) -> [String: [ValueCount]] {
            (counts[kind] ?? [:]).mapValues { Self.ranked($0, perAddress: perAddress) }
        }
        values.endpoints = ranked("endpoint")
        values.methods = ranked("method")
        values.userAgents = ranked("user_agent")
        return values
    }
}
