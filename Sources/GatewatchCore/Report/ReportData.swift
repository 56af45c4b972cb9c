import Foundation
import GRDB

/// What goes into an HTML report.
public struct ReportOptions: Sendable {
    /// The time window; everything by default.
    public var range: TimeRange
    /// The backend's policy, for findings and for whether platform traffic is allowed; `nil`
    /// leaves the findings section as a placeholder.
    public var policy: Policy?
    /// The page title.
    public var title: String
    /// When the report was made, shown in the footer; `nil` leaves it out (reproducible output).
    public var generatedAt: String?
    /// Rows per table (clients, endpoints, user agents, platform addresses).
    public var rowsPerTable: Int
    /// Days without a request after which a direct client is `quiet`.
    public var quietDays: Int
    /// Who the direct clients are (issue 24): `names:`, service tags, special ranges.
    public var owners: OwnerAttribution = .none

    /// Creates options.
    ///
    /// - Parameters:
    ///   - range: The time window.
    ///   - policy: The backend's policy, or `nil`.
    ///   - title: The page title.
    ///   - generatedAt: The generation time to show, or `nil`.
    ///   - rowsPerTable: Rows per table.
    ///   - quietDays: Days after which a direct client is quiet.
    public init(
        range: TimeRange = .all,
        policy: Policy? = nil,
        title: String = "Gatewatch report",
        generatedAt: String? = nil,
        rowsPerTable: Int = 25,
        quietDays: Int = 7
    ) {
        self.range = range
        self.policy = policy
        self.title = title
        self.generatedAt = generatedAt
        self.rowsPerTable = rowsPerTable
        self.quietDays = quietDays
    }
}

/// Requests of one time bucket, by verdict and outcome.
struct ReportBucket: Equatable {
    var start: Int64
    var gateway = 0
    var allowed = 0
    var platform = 0
    var blocked = 0
    var served = 0
    var unjudged = 0
}

/// One row of a "top values hit directly" table.
struct ReportTopValue: Equatable {
    var value: String
    var requests: Int
    var served: Int
    var blocked: Int
    var clients: Int
}

/// One platform address.
struct ReportPlatformRow: Equatable {
    var address: String
    var kinds: [String]
    var requests: Int
    var blocked: Int
    var lastSeen: String
    var userAgents: [ValueCount]
    /// The policy's decision for the address, when a policy was given.
    var decision: PolicyDecision?
}

/// Where a direct client stands, as the report shows it.
enum ReportClientState: Int, Comparable {
    /// Served within the quiet period before the newest data: the backend is still open to it.
    case served
    /// Still calling within the quiet period, but every recent request was blocked.
    case blocked
    /// No request within the quiet period: it stopped calling directly.
    case quiet

    static func < (lhs: ReportClientState, rhs: ReportClientState) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One direct client in the report's inventory.
struct ReportClient: Equatable {
    var address: String
    var state: ReportClientState
    var requests: Int
    var served: Int
    var blocked: Int
    var firstSeen: String
    var lastSeen: String
    var lastServed: String?
    var endpoints: [ValueCount]
    var userAgents: [ValueCount]
    var owner: Owner?
    var findings: [String] = []
}

/// The gateway-side section: absent tables, no data, a failure, or a reconciliation.
enum ReportCorrelation: Equatable {
    case noTables
    case noData(String)
    case failed(String)
    case report(CorrelationReport)
}

/// Everything the HTML report shows, read from the store in one pass per section.
struct ReportData {
    var options: ReportOptions
    var databasePath: String
    var summary: Summary
    var bucketSeconds: Int64
    var buckets: [ReportBucket]
    var lastServedDirect: String?
    var clients: [ReportClient]
    var clientTotal: Int
    /// Gateway addresses that changed (issue 24).
    var drifts: [GatewayDrift] = []
    var endpoints: [ReportTopValue]
    var userAgents: [ReportTopValue]
    var platform: [ReportPlatformRow]
    var findings: [LintFinding]?
    var correlation: ReportCorrelation
    /// The policy the stored verdicts are under (issue 21), when the store records one.
    var policy: PolicyRecord? = nil

    /// Reads the report's data.
    static func load(store: Store, options: ReportOptions) throws -> ReportData {
        let range = options.range
        let summary = try Summary.compute(store: store, range: range)
        let filter = QueryFilter(range: range, limit: options.rowsPerTable)
        var data = try store.query { db in
            let conditions = try filter.hourlyConditions(db)
            let first = summary.first.flatMap(TimeDisplay.parse) ?? 0
            let last = summary.last.flatMap(TimeDisplay.parse) ?? first
            let bucketSeconds = Self.bucketSeconds(span: last - first)
            let buckets =
                summary.first == nil
                ? [] : try Self.buckets(db, conditions: conditions, first: first, last: last, size: bucketSeconds)
            var directConditions = conditions
            directConditions.add("verdict = 'direct'")
            directConditions.add("outcome = 'served'")
            let lastServed = try db.value(
                String.self,
                "SELECT MAX(last_seen) FROM hourly \(directConditions.whereClause)",
                directConditions.values
            )
            return ReportData(
                options: options,
                databasePath: store.path,
                summary: summary,
                bucketSeconds: bucketSeconds,
                buckets: buckets,
                lastServedDirect: lastServed,
                clients: [],
                clientTotal: 0,
                endpoints: try Self.topValues(db, kind: "endpoint", column: "uri_stem", filter: filter),
                userAgents: try Self.topValues(db, kind: "user_agent", column: "user_agent", filter: filter),
                platform: try Self.platform(db, filter: filter, conditions: conditions, policy: options.policy),
                findings: options.policy?.lint(),
                correlation: .noTables
            )
        }
        try store.query { db in
            let conditions = try filter.hourlyConditions(db)
            (data.clients, data.clientTotal) = try Self.clients(
                db,
                filter: filter,
                conditions: conditions,
                newest: summary.last,
                quietDays: options.quietDays,
                limit: options.rowsPerTable
            )
        }
        try store.query { db in
            data.drifts = try GatewayDrift.detect(db, attribution: options.owners)
            for index in data.clients.indices {
                let owner = options.owners.owner(of: data.clients[index].address)
                data.clients[index].owner = owner
                let drifted = data.drifts.filter { $0.new == data.clients[index].address }.map(\.message)
                data.clients[index].findings =
                    drifted.isEmpty
                    ? try owner?.finding(for: data.clients[index].address, db: db).map { [$0] } ?? [] : drifted
            }
        }
        data.correlation = try Self.correlation(store: store, range: range)
        data.policy = try PolicyRegistry.current(store: store)
        return data
    }

    /// Direct clients: the ones still served first, then the blocked ones still calling, then
    /// the quiet ones; busiest first within each state.
    private static func clients(
        _ db: any SQLDatabase,
        filter: QueryFilter,
        conditions: SQLConditions,
        newest: String?,
        quietDays: Int,
        limit: Int
    ) throws -> ([ReportClient], Int) {
        guard let newest, let newestSeconds = TimeDisplay.parse(newest) else { return ([], 0) }
        let quietSince = UTCTime.format(newestSeconds - Int64(quietDays) * 86_400)
        var directConditions = conditions
        directConditions.add("verdict = 'direct'")
        let rows = try db.rows(
            """
            SELECT address, SUM(requests), SUM(CASE WHEN outcome = 'served' THEN requests ELSE 0 END),
                SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END), MIN(first_seen), MAX(last_seen),
                MAX(CASE WHEN outcome = 'served' THEN last_seen END)
            FROM hourly \(directConditions.whereClause) GROUP BY address
            """,
            directConditions.values
        )
        var clients = rows.map { row in
            let lastSeen: String = row[5]
            let lastServed = row.optional(String.self, at: 6)
            let state: ReportClientState =
                lastSeen < quietSince ? .quiet : (lastServed.map { $0 >= quietSince } ?? false) ? .served : .blocked
            return ReportClient(
                address: row[0],
                state: state,
                requests: row[1],
                served: row[2],
                blocked: row[3],
                firstSeen: row[4],
                lastSeen: lastSeen,
                lastServed: lastServed,
                endpoints: [],
                userAgents: []
            )
        }
        clients.sort {
            if $0.state != $1.state { return $0.state < $1.state }
            return $0.requests != $1.requests ? $0.requests > $1.requests : byteOrder($0.address, $1.address)
        }
        let total = clients.count
        if limit > 0, clients.count > limit { clients.removeSubrange(limit...) }
        let values = try InventoryLookup(db, filter: filter, perAddress: 2).values(for: clients.map(\.address))
        for index in clients.indices {
            clients[index].endpoints = values.endpoints[clients[index].address] ?? []
            clients[index].userAgents = values.userAgents[clients[index].address] ?? []
        }
        return (clients, total)
    }

    /// The chart bucket for a span of data: the smallest of 1 h, 3 h, 6 h, 12 h, 1 d, 7 d that
    /// keeps the chart at 120 bars or fewer.
    static func bucketSeconds(span: Int64) -> Int64 {
        for hours: Int64 in [1, 3, 6, 12, 24, 168] where (span / (hours * 3600)) + 1 <= 120 {
            return hours * 3600
        }
        return 168 * 3600 * ((span / (168 * 3600 * 120)) + 1)
    }

    private static func buckets(
        _ db: any SQLDatabase,
        conditions: SQLConditions,
        first: Int64,
        last: Int64,
        size: Int64
    ) throws -> [ReportBucket] {
        guard last >= first, size > 0 else { return [] }
        let origin = first - ((first % size) + size) % size
        let count = Int((last - origin) / size) + 1
        guard count > 0, count <= 10_000 else { return [] }
        var buckets = (0..<count).map { ReportBucket(start: origin + Int64($0) * size) }
        try db.forEachRow(
            "SELECT hour, verdict, outcome, SUM(requests) FROM hourly \(conditions.whereClause) GROUP BY hour, verdict, outcome",
            conditions.values
        ) { row in
            guard let hour = TimeDisplay.parse(row[0] as String) else { return }
            let index = Int((hour - origin) / size)
            guard index >= 0, index < buckets.count else { return }
            let requests: Int = row[3]
            switch Verdict(rawValue: row[1] as String) {
            case .gateway: buckets[index].gateway += requests
            case .allowed: buckets[index].allowed += requests
            case .unjudged: buckets[index].unjudged += requests
            case .platform: buckets[index].platform += requests
            case .direct, nil:
                if (row[2] as String) == Outcome.blocked.rawValue {
                    buckets[index].blocked += requests
                } else {
                    buckets[index].served += requests
                }
            }
        }
        return buckets
    }

    /// The busiest values of direct requests (endpoints or user agents), at most the filter's limit.
    ///
    /// From `inventory`'s direct counts (every direct request, whether or not its evidence row is
    /// kept; whole UTC days, every site and source, up to 20 values per address and day, the rest
    /// as `(other)`); from `evidence` when the window has inventory rows from before those counts
    /// (their stores keep every direct request as evidence) or a site or source filter is set.
    private static func topValues(
        _ db: any SQLDatabase,
        kind: String,
        column: String,
        filter: QueryFilter
    ) throws -> [ReportTopValue] {
        var conditions = filter.dayConditions()
        conditions.add("kind = ?", kind)
        let unknown = try db.value(
            Int.self,
            "SELECT COUNT(*) FROM (SELECT 1 FROM inventory \(conditions.whereClause) AND direct IS NULL LIMIT 1) AS old",
            conditions.values
        )
        guard unknown == 0, filter.site == nil, filter.source == nil else {
            return try topEvidence(db, column: column, filter: filter)
        }
        conditions.add("direct > 0")
        if let addresses = try filter.matchingAddresses(db) {
            let (clause, argument) = try db.inTextList("address", addresses)
            conditions.add(clause, argument)
        }
        return try ranked(db, "value, SUM(direct), SUM(served), SUM(blocked)", from: "inventory", conditions, filter)
    }

    /// Rows of (value, requests, served, blocked, distinct addresses) by requests, then value (a
    /// total order: the value is unique per group), at most the filter's limit.
    private static func ranked(
        _ db: any SQLDatabase,
        _ columns: String,
        from table: String,
        _ conditions: SQLConditions,
        _ filter: QueryFilter
    ) throws -> [ReportTopValue] {
        var arguments = conditions.values
        // No `LIMIT -1` for "all": PostgreSQL refuses a negative limit.
        var limitClause = ""
        if filter.limit > 0 {
            limitClause = "LIMIT ?"
            arguments.append(filter.limit)
        }
        let rows = try db.rows(
            """
            SELECT \(columns), COUNT(DISTINCT address) FROM \(table) \(conditions.whereClause)
            GROUP BY 1 ORDER BY 2 DESC, 1 \(limitClause)
            """,
            arguments
        )
        return rows.map { row in
            ReportTopValue(value: row[0], requests: row[1], served: row[2], blocked: row[3], clients: row[4])
        }
    }

    /// The busiest values of an evidence column among direct requests, at most the filter's limit.
    private static func topEvidence(
        _ db: any SQLDatabase,
        column: String,
        filter: QueryFilter
    ) throws -> [ReportTopValue] {
        var conditions = try filter.evidenceConditions(db)
        conditions.add("verdict = 'direct'")
        return try ranked(
            db,
            """
            COALESCE(\(column), '-'), COUNT(*), SUM(CASE WHEN outcome = 'served' THEN 1 ELSE 0 END),
                SUM(CASE WHEN outcome = 'blocked' THEN 1 ELSE 0 END)
            """,
            from: "evidence",
            conditions,
            filter
        )
    }

    private static func platform(
        _ db: any SQLDatabase,
        filter: QueryFilter,
        conditions: SQLConditions,
        policy: Policy?
    ) throws -> [ReportPlatformRow] {
        var platformConditions = conditions
        platformConditions.add("verdict = 'platform'")
        let rows = try db.rows(
            """
            SELECT address, SUM(requests), SUM(CASE WHEN outcome = 'blocked' THEN requests ELSE 0 END), MAX(last_seen)
            FROM hourly \(platformConditions.whereClause)
            GROUP BY address ORDER BY 2 DESC, 1
            """,
            platformConditions.values
        )
        let addresses = rows.map { $0[0] as String }
        let values = try InventoryLookup(db, filter: filter, perAddress: 4).values(for: addresses)
        return rows.map { row in
            let address: String = row[0]
            let userAgents = values.userAgents[address] ?? []
            let decision = policy.flatMap { policy in IPAddress(address).map { policy.evaluate(address: $0) } }
            return ReportPlatformRow(
                address: address,
                kinds: WhatIfQuery.platformKinds(address: address, userAgents: userAgents),
                requests: row[1],
                blocked: row[2],
                lastSeen: row[3],
                userAgents: userAgents,
                decision: decision
            )
        }
    }

    /// Reconciles with gateway logs when the gateway tables exist; never fails the report.
    private static func correlation(store: Store, range: TimeRange) throws -> ReportCorrelation {
        guard try store.query({ db in try PortableSQL.hasTable(db, "gateway_minutes") }) else { return .noTables }
        var options = CorrelationOptions()
        options.range = range
        options.listLimit = 20
        do {
            return .report(try Correlation.run(store: store, options: options))
        } catch let error as CorrelationError {
            return .noData(error.description)
        } catch {
            return .failed("\(error)")
        }
    }
}
