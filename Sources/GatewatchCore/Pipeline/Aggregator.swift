/// The key of one hourly aggregate row.
struct AggregateKey: Hashable {
    var hour: Int64
    var site: Int32
    var address: IPAddress
    var invalidAddress: Int32  // 0 for a valid address, else 1 + index into the invalid texts
    var verdictCode: UInt8  // Verdict.code: a byte, so hashing never touches the raw strings
    var outcomeCode: UInt8
    var status: Int32
    var substatus: Int32
    /// The request's facts: an index into the aggregator's ``Aggregator/facts``.
    var facts: Int32 = 0
    /// The policy decision (``Classification/decision``): determined by the rest of the key, kept
    /// for the rule text of a new judgement.
    var decision: Int32 = -1
}

extension AggregateKey {
    init(
        hour: Int64,
        site: Int32,
        address: IPAddress,
        invalidAddress: Int32,
        verdict: Verdict,
        outcome: Outcome,
        status: Int32,
        substatus: Int32,
        facts: Int32,
        decision: Int32
    ) {
        self.init(
            hour: hour,
            site: site,
            address: address,
            invalidAddress: invalidAddress,
            verdictCode: verdict.code,
            outcomeCode: outcome.code,
            status: status,
            substatus: substatus,
            facts: facts,
            decision: decision
        )
    }

    var verdict: Verdict { Verdict.allCases[Int(verdictCode)] }
    var outcome: Outcome { Outcome.allCases[Int(outcomeCode)] }
}

/// A 64-bit mix (from MurmurHash3's finalizer) to fold key fields before one `Hasher.combine`.
@inline(__always)
func mix64(_ value: UInt64) -> UInt64 {
    var x = value
    x ^= x >> 33
    x = x &* 0xFF51_AFD7_ED55_8CCD
    x ^= x >> 33
    x = x &* 0xC4CE_B9FE_1A85_EC53
    x ^= x >> 33
    return x
}

extension AggregateKey: FlatKey {
    var flatHash: UInt64 {
        var folded = mix64(UInt64(bitPattern: hour) ^ UInt64(UInt32(bitPattern: site)) << 40)
        folded = mix64(folded ^ address.high)
        folded = mix64(folded ^ address.low)
        folded = mix64(
            folded ^ UInt64(UInt32(bitPattern: invalidAddress)) ^ UInt64(verdictCode) << 32 ^ UInt64(outcomeCode) << 40
        )
        folded = mix64(folded ^ UInt64(UInt32(bitPattern: facts)))
        return mix64(folded ^ UInt64(UInt32(bitPattern: status)) ^ UInt64(UInt32(bitPattern: substatus)) << 32)
    }

    // One combine instead of eight.
    func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }
}

/// The sums of one hourly aggregate row; every field merges by sum, max, min or max again.
struct AggregateValue {
    var requests: Int64 = 0
    var bytes: Int64 = 0
    var timeTakenSum: Int64 = 0
    var timeTakenMax: Int64 = 0
    var first: Int64 = .max
    var last: Int64 = .min
}

/// In-memory hourly aggregates, flushed to the store in batches.
///
/// Memory is bounded by the number of distinct keys between flushes (the ingest driver flushes
/// when ``count`` passes a threshold), not by the number of lines.
struct Aggregator {
    private(set) var table = FlatMap<AggregateKey, AggregateValue>()
    private var sites: [String] = [""]
    private var siteIndex: [[UInt8]: Int32] = [[]: 0]
    private var lastSite: [UInt8] = []
    private var lastSiteID: Int32 = 0
    private var invalidTexts: [String] = []
    private var invalidIndex: [String: Int32] = [:]
    /// The facts the keys name (``AggregateKey/facts``).
    var facts = FactTable()
    /// The rule texts of the pass's policy decisions (``AggregateKey/decision``), for the
    /// judgements of new keys; set before the table is handed to a writer.
    var rules: [String] = []

    var count: Int { table.count }

    /// The judgement key id of a key whose address text is `address`.
    @inline(__always)
    func keyID(_ key: AggregateKey, address: UnsafeRawBufferPointer) -> Int64 {
        JudgementKey.id(
            seed: facts.seeds[Int(key.facts)],
            address: address,
            invalid: key.invalidAddress != 0,
            status: key.status,
            substatus: key.substatus
        )
    }

    /// The rule text of a key's decision (empty when none was needed).
    func ruleText(_ key: AggregateKey) -> String { key.decision >= 0 ? rules[Int(key.decision)] : "" }

    /// The id of a site name, interned; the previous line's site is checked first.
    mutating func siteID(_ bytes: UnsafeRawBufferPointer?) -> Int32 {
        guard let bytes, bytes.count > 0 else { return 0 }
        if bytes.count == lastSite.count, lastSite.withUnsafeBytes({ $0.elementsEqual(bytes) }) {
            return lastSiteID
        }
        let key = Array(bytes.prefix(256))
        let id: Int32
        if let known = siteIndex[key] {
            id = known
        } else {
            id = Int32(sites.count)
            sites.append(String(decoding: key, as: UTF8.self))
            siteIndex[key] = id
        }
        lastSite = Array(bytes)
        lastSiteID = id
        return id
    }

    func siteName(_ id: Int32) -> String { sites[Int(id)] }

    /// Per site id, its rank in the byte order of the names.
    func siteRanks() -> [Int32] {
        var ranks = [Int32](repeating: 0, count: sites.count)
        let order = sites.indices.sorted { Array(sites[$0].utf8).lexicographicallyPrecedes(Array(sites[$1].utf8)) }
        for (rank, id) in order.enumerated() { ranks[id] = Int32(rank) }
        return ranks
    }

    /// The id of a client address that is not an IP address (kept as text, at most 64 bytes).
    mutating func invalidAddressID(_ bytes: UnsafeRawBufferPointer?) -> Int32 {
        let text = bytes.map { String(decoding: UnsafeRawBufferPointer(rebasing: $0.prefix(64)), as: UTF8.self) } ?? "-"
        if let known = invalidIndex[text] { return known }
        invalidTexts.append(text)
        let id = Int32(invalidTexts.count)
        invalidIndex[text] = id
        return id
    }

    /// The stored text of an address key.
    func addressText(_ address: IPAddress, invalid: Int32) -> String {
        invalid == 0 ? address.description : invalidTexts[Int(invalid) - 1]
    }

    @inline(__always)
    mutating func add(_ key: AggregateKey, bytes: Int64, timeTaken: Int64, time: Int64) {
        let index = table.insertIndex(key, default: AggregateValue())
        table[valueAt: index].merge(bytes: bytes, timeTaken: timeTaken, time: time)
    }

    mutating func removeAll() { table.removeAll() }

    /// Moves the rows held out into a copy (names included, for writing them) and empties this
    /// table: the copy is written on another thread while this one fills, in `spare` (an emptied
    /// table handed back by the writer) when there is one.
    mutating func detachTable(reusing spare: FlatMap<AggregateKey, AggregateValue>? = nil) -> Aggregator {
        let batch = self
        table = spare ?? FlatMap(capacity: batch.table.count)
        return batch
    }
}

extension AggregateValue {
    @inline(__always)
    mutating func merge(bytes: Int64, timeTaken: Int64, time: Int64) {
        requests += 1
        self.bytes &+= bytes
        timeTakenSum &+= timeTaken
        if timeTaken > timeTakenMax { timeTakenMax = timeTaken }
        if time < first { first = time }
        if time > last { last = time }
    }
}
