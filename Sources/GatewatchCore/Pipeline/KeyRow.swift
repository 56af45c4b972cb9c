/// One row of `judgements`: a key's facts and its judgement under the current policy.
struct KeyRow {
    var id: Int64
    var key: JudgementKey
    var judgement: Judgement
    /// Requests of the key's hourly rows that this row adds to the stored sum.
    var requests: Int64 = 0

    /// The columns, in the order of ``values``.
    static let columns = [
        "key_id", "address", "invalid", "status", "substatus", "platform", "bypass", "iis_version", "fdid",
        "health_probe", "forwarded_host", "host", "forwarded_for", "scope", "kept", "verdict", "outcome", "rule",
        "requests",
    ]

    /// A value of a column: an integer, a text or NULL.
    enum Value {
        case integer(Int64)
        case text(String)
        case null
    }

    var values: [Value] {
        let facts = key.facts
        func text(_ value: String?) -> Value { value.map { .text($0) } ?? .null }
        return [
            .integer(id), .text(key.address), key.invalid.map { .integer($0 ? 1 : 0) } ?? .null,
            .integer(Int64(key.status)), .integer(Int64(key.substatus)), .integer(facts.platform ? 1 : 0),
            .integer(facts.bypass ? 1 : 0), facts.iisVersion.map { .integer(Int64($0)) } ?? .null, text(facts.fdid),
            text(facts.healthProbe), text(facts.forwardedHost), text(facts.host), text(facts.forwardedFor),
            text(facts.scope), .integer(Int64(facts.kept.rawValue)), .text(judgement.verdict.rawValue),
            .text(judgement.outcome.rawValue), .text(judgement.rule), .integer(requests),
        ]
    }

    /// The row of an aggregated key, judged as ingest judged its requests.
    init(_ key: AggregateKey, id: Int64, in aggregator: Aggregator) {
        self.id = id
        self.key = JudgementKey(
            address: aggregator.addressText(key.address, invalid: key.invalidAddress),
            invalid: key.invalidAddress != 0,
            status: key.status,
            substatus: key.substatus,
            facts: aggregator.facts.facts[Int(key.facts)]
        )
        judgement = Judgement(verdict: key.verdict, outcome: key.outcome, rule: aggregator.ruleText(key))
    }

    init(id: Int64, key: JudgementKey, judgement: Judgement) {
        self.id = id
        self.key = key
        self.judgement = judgement
    }

    /// `INSERT INTO judgements (…) VALUES (?, …)`; a known key only adds its requests.
    static var insertSQL: String {
        "INSERT INTO judgements (\(columns.joined(separator: ", "))) VALUES ("
            + Array(repeating: "?", count: columns.count).joined(separator: ", ")
            + ") ON CONFLICT (key_id) DO UPDATE SET requests = requests + excluded.requests"
    }

    /// Adds requests to a known key (`requests`, then `key_id`).
    static let addRequestsSQL = "UPDATE judgements SET requests = requests + ? WHERE key_id = ?"
}
