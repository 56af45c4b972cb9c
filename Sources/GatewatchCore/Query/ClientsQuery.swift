import Foundation
import GRDB

/// Where a direct caller stands in a migration.
public enum ClientState: String, Sendable, CaseIterable, Codable {
    /// Still calling, and at least one request was served.
    case active
    /// No request for the quiet period before the newest data.
    case quiet
    /// Never served: every direct request was blocked.
    case blockedOnly = "blocked-only"
}

/// One direct caller in the migration inventory.
public struct ClientEntry: Sendable, Equatable, Codable {
    /// The client address, canonical.
    public var address: String
    /// The state: `blocked-only` wins over `quiet`, which wins over `active`.
    public var state: ClientState
    /// The first direct request, in the display zone.
    public var firstSeen: String
    /// The last direct request, in the display zone.
    public var lastSeen: String
    /// Direct requests in the window.
    public var requests: Int
    /// Of which blocked.
    public var blocked: Int
    /// Of which served.
    public var served: Int
    /// Direct requests in the last day of the data.
    public var last1d: Int
    /// Direct requests in the last 7 days of the data.
    public var last7d: Int
    /// Direct requests in the last 30 days of the data.
    public var last30d: Int
    /// The busiest endpoints.
    public var endpoints: [ValueCount]
    /// The busiest user agents.
    public var userAgents: [ValueCount]

    /// The configured name of the address (`names:`), if any; omitted from JSON when absent.
    public var name: String?
    /// Who the address belongs to (issue 24), if any source knows; omitted from JSON when absent.
    public var owner: Owner?
    /// What the owner means for the migration, and gateway drift; omitted from JSON when absent.
    public var findings: [String]?

    enum CodingKeys: String, CodingKey {
        case address, state, name, owner, findings
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case requests, blocked, served
        case last1d = "last_1d"
        case last7d = "last_7d"
        case last30d = "last_30d"
        case endpoints
        case userAgents = "user_agents"
    }
}

/// The migration inventory.
public struct ClientsResult: Sendable, Equatable {
    /// The callers, busiest first, at most the filter's limit.
    public var clients: [ClientEntry]
    /// How many callers matched before the limit.
    public var total: Int
    /// The newest data in the window (UTC), which the 1/7/30-day and quiet windows count back
    /// from; `nil` when the window is empty.
    public var newest: String?
    /// Notes for the table footer: where owners came from, the service-tags file's age, drift.
    public var notes: [String] = []
}

/// Every direct caller with first/last seen, recent activity, endpoints, user agents and state.
public struct ClientsQuery: Sendable {
    /// The common filter.
    public var filter: QueryFilter
    /// Days without a request after which a caller is `quiet`.
    public var quietDays: Int
    /// Only callers in this state, or all.
    public var state: ClientState?
    /// Endpoints and user agents listed per caller.
    public var valuesPerClient: Int

    /// Creates the query.
    ///
    /// - Parameters:
    ///   - filter: The common filter.
    ///   - quietDays: Days without a request after which a caller is `quiet`.
    ///   - state: Only callers in this state, or `nil` for all.
    ///   - valuesPerClient: Endpoints and user agents listed per caller.
    public init(filter: QueryFilter, quietDays: Int = 7, state: ClientState? = nil, valuesPerClient: Int = 3) {
        self.filter = filter
        self.quietDays = quietDays
        self.state = state
        self.valuesPerClient = valuesPerClient
    }

    /// Runs the query.
    ///
    /// The 1/7/30-day counts and the quiet period count back from the end of the
    /// newest hour of data in the window (any verdict), not from the wall clock.
    ///
    /// - Parameter store: The store.
    /// - Returns: The inventory, busiest callers first (ties by address).
    /// - Throws: Database errors.
    public func run(store: Store) throws -> ClientsResult {
        // Streamed (issue 23): every caller goes to a scratch file, sorted there; only the page
        // the limit asks for is read back.
        let scratch = try ScratchRows()
        let (newest, total) = try scratch.fill { insert in
            var total = 0
            let newest = try store.query { db in
                try scan(db) { client in
                    var text = ""
                    JSONObjectWriter.object(client, into: &text)
                    try insert(0, client.requests, client.address, "", text)
                    total += 1
                }
            }
            return (newest, total)
        }
        var clients: [ClientEntry] = []
        let decoder = JSONDecoder()
        try scratch.forEach(list: 0, limit: filter.limit) {
            clients.append(try decoder.decode(ClientEntry.self, from: Data($0.utf8)))
        }
        return ClientsResult(clients: clients, total: total, newest: newest)
    }
}

extension ClientsResult {
    /// The result in an output format; in `table` and `csv`, endpoints and user agents are joined
    /// with ` | `.
    ///
    /// - Parameter format: The format.
    /// - Returns: The text, ending in a newline.
    /// - Throws: Encoding errors.
    public func render(_ format: OutputFormat) throws -> String {
        var footer = QueryRendering.truncationNote(shown: clients.count, total: total, noun: "direct callers")
        if format == .table, let newest {
            footer = (footer.map { $0 + "\n" } ?? "") + "(last_1d/7d/30d count back from the newest data, \(newest))"
        }
        if format == .table, !notes.isEmpty {
            footer = ([footer].compactMap { $0 } + notes.map(SafeText.terminal)).joined(separator: "\n")
        }
        return try QueryRendering.list(clients, format: format, footer: footer) {
            TextTable(columns: Self.columns, rows: clients.map(Self.cells), numericColumns: [2, 3, 4, 5, 6, 7])
        }
    }

    /// The table and CSV columns.
    static let columns = [
        "address", "state", "requests", "blocked", "served", "last_1d", "last_7d", "last_30d", "first_seen",
        "last_seen", "endpoints", "user_agents", "owner", "findings",
    ]

    /// The table and CSV cells of a caller; endpoints and user agents joined with ` | `.
    static func cells(_ client: ClientEntry) -> [String] {
        func joined(_ list: [ValueCount]) -> String { list.map(\.value).joined(separator: " | ") }
        let label = client.name.map { client.address + " (" + $0 + ")" } ?? client.address
        return [
            label, client.state.rawValue, String(client.requests), String(client.blocked), String(client.served),
            String(client.last1d), String(client.last7d), String(client.last30d), client.firstSeen, client.lastSeen,
            joined(client.endpoints), joined(client.userAgents), client.owner?.label ?? "",
            (client.findings ?? []).joined(separator: " | "),
        ]
    }
}
