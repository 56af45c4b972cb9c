/// Per-address daily inventories (endpoints, methods, user agents) and per-endpoint latency
/// histograms, held in memory between flushes.
///
/// Cardinality is bounded: per address, day and kind, the first ``valuesPerAddress`` distinct
/// values of an input are kept and the rest are counted under `(other)` (so the store holds at
/// most that many per input file; IIS and App Service write one file per day and server); per site and day, the first ``endpointsPerDay`` endpoints get their own latency
/// histogram and the rest share `(other)`; endpoints are reduced to their templates for latency. Inventories are kept for non-gateway traffic: the
/// gateway's own endpoints are the gateway side's business.
struct Inventories {
    enum Kind: UInt8, CaseIterable {
        case endpoint, method, userAgent

        var name: String {
            switch self {
            case .endpoint: "endpoint"
            case .method: "method"
            case .userAgent: "user_agent"
            }
        }
    }

    struct Key: Hashable {
        var day: Int32
        var address: IPAddress
        var invalidAddress: Int32
        var kind: UInt8
        var value: Int32  // -1: (other)
    }

    struct SlotKey: Hashable {
        var day: Int32
        var address: IPAddress
        var invalidAddress: Int32
        var kind: UInt8
    }

    struct DaySlot: Hashable, FlatKey {
        var day: Int32
        var address: IPAddress
        var invalidAddress: Int32

        var flatHash: UInt64 {
            var folded = mix64(UInt64(UInt32(bitPattern: day)))
            folded = mix64(folded ^ address.high)
            return mix64(folded ^ address.low ^ UInt64(UInt32(bitPattern: invalidAddress)) << 7)
        }

        func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }
    }

    struct LatencyKey: Hashable {
        var day: Int32
        var site: Int32
        var endpoint: Int32  // -1: (other)
        var verdictCode: UInt8
        var bucket: Int32
    }

    /// An inventory row's counts: every request, and of them the direct ones, served and blocked
    /// (the report's top values of direct requests, whether or not their evidence rows are kept).
    struct Count {
        var requests: Int64 = 0
        var direct: Int64 = 0
        var served: Int64 = 0
        var blocked: Int64 = 0

        @inline(__always)
        mutating func add(_ request: DirectOutcome) {
            requests += 1
            switch request {
            case .notDirect: break
            case .direct: direct += 1
            case .served:
                direct += 1
                served += 1
            case .blocked:
                direct += 1
                blocked += 1
            }
        }
    }

    /// Whether a request is direct, and its outcome.
    enum DirectOutcome {
        case notDirect, direct, served, blocked

        init(verdict: Verdict, outcome: Outcome) {
            guard verdict == .direct else {
                self = .notDirect
                return
            }
            switch outcome {
            case .served: self = .served
            case .blocked: self = .blocked
            default: self = .direct
            }
        }
    }

    static let valuesPerAddress = 20
    static let endpointsPerDay = 500
    static let otherValue = "(other)"
    static let dash: [UInt8] = [UInt8(ascii: "-")]
    static let identifierPlaceholder: [UInt8] = Array("{id}".utf8)

    var endpoints = ByteInterner(maximumLength: 512)
    var templates = ByteInterner(maximumLength: 512)
    private var templateBuffer: [UInt8] = []
    var methods = ByteInterner(maximumLength: 32, capacity: 16)
    var userAgents = ByteInterner(maximumLength: 512)
    private(set) var counts = FlatMap<Key, Count>()
    /// Distinct values seen per address and day, one byte per kind (≤ ``valuesPerAddress``):
    /// one entry per address and day rather than three, the largest structure that grows with
    /// distinct addresses.
    private var distinct = FlatMap<DaySlot, UInt32>()
    /// The values admitted so far in this input, per address, day and kind, as fingerprints: the
    /// index of the address and day in ``distinct``, the kind, and 32 bits of the value's hash (two
    /// values of one address, day and kind share a fingerprint about once in four billion pairs;
    /// the later one is then kept as if admitted).
    ///
    /// Eight bytes per admitted value.
    private var admitted = FingerprintSet()
    private(set) var latency = FlatMap<LatencyKey, Int64>()
    /// Direct requests per minute (`direct_minutes`), flushed with the inventories.
    var directMinutes = DirectMinutes()
    private var endpointsSeen: [Int64: IDSet] = [:]  // day << 32 | site -> endpoints
    /// The entry of ``endpointsSeen`` in use, held out of it.
    private var seenKey: Int64 = .min
    private var seen = IDSet()

    var count: Int { counts.count + latency.count + directMinutes.count }

    /// Upper bounds (ms) of the latency buckets: 0–6, 8, then 10, 12, 15, 20, 25, 30, 40, 50, 60,
    /// 80 in every decade up to 8,000,000 ms; -1 above.
    static let bucketBounds: [Int64] = {
        var bounds: [Int64] = [0, 1, 2, 3, 4, 5, 6, 8]
        var decade: Int64 = 10
        while decade <= 1_000_000 {
            for mantissa in [10, 12, 15, 20, 25, 30, 40, 50, 60, 80] as [Int64] {
                bounds.append(decade * mantissa / 10)
            }
            decade *= 10
        }
        return bounds
    }()

    /// ``bucket(_:)`` of every time below 1,024 ms (most requests): one load instead of a search.
    private static let smallBuckets: [Int32] = (0..<1024).map { searchBucket(Int64($0)) }

    /// The latency bucket of a time: the smallest bound at or above it, or -1 above the last.
    @inline(__always)
    static func bucket(_ milliseconds: Int64) -> Int32 {
        if milliseconds >= 0, milliseconds < 1024 {
            return smallBuckets.withUnsafeBufferPointer { $0[Int(milliseconds)] }
        }
        return searchBucket(milliseconds)
    }

    private static func searchBucket(_ milliseconds: Int64) -> Int32 {
        let bounds = bucketBounds
        if milliseconds > bounds[bounds.count - 1] { return -1 }
        var low = 0
        var high = bounds.count - 1
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < milliseconds { low = middle + 1 } else { high = middle }
        }
        return Int32(truncatingIfNeeded: bounds[low])
    }

    private mutating func count(_ slot: SlotKey, value: Int32, _ request: DirectOutcome) {
        var key = Key(
            day: slot.day,
            address: slot.address,
            invalidAddress: slot.invalidAddress,
            kind: slot.kind,
            value: value
        )
        // One lookup for a value seen before (the common case).
        if let index = counts.index(of: key) {
            counts[valueAt: index].add(request)
            return
        }
        let daySlot = DaySlot(day: slot.day, address: slot.address, invalidAddress: slot.invalidAddress)
        let shift = UInt32(slot.kind) * 8
        let distinctIndex = distinct.insertIndex(daySlot, default: 0)
        // Value ids start afresh after every flush: a value admitted before one is recognised by
        // its fingerprint, so that it is not counted as one more distinct value.
        let valueBits = valueHash(kind: slot.kind, value: value) & 0xFFFF_FFFF
        let fingerprint = UInt64(distinctIndex) << 34 | UInt64(slot.kind & 3) << 32 | valueBits
        if !admitted.contains(fingerprint) {
            let used = Int((distinct[valueAt: distinctIndex] >> shift) & 0xFF)
            if used >= Self.valuesPerAddress {
                key.value = -1
            } else {
                distinct[valueAt: distinctIndex] += 1 << shift
                admitted.insert(fingerprint)
            }
        }
        counts[valueAt: counts.insertIndex(key, default: Count())].add(request)
    }

    /// The interner's hash of a value id.
    private func valueHash(kind: UInt8, value: Int32) -> UInt64 {
        switch Kind(rawValue: kind) {
        case .endpoint: endpoints.hash(of: value)
        case .method: methods.hash(of: value)
        case .userAgent: userAgents.hash(of: value)
        case nil: 0
        }
    }

    /// Records one non-gateway request.
    mutating func addInventory(
        day: Int32,
        address: IPAddress,
        invalidAddress: Int32,
        endpoint: Int32?,
        method: UnsafeRawBufferPointer?,
        userAgent: UnsafeRawBufferPointer?,
        request: DirectOutcome
    ) {
        var slot = SlotKey(day: day, address: address, invalidAddress: invalidAddress, kind: Kind.endpoint.rawValue)
        if let endpoint { count(slot, value: endpoint, request) }
        if let method {
            slot.kind = Kind.method.rawValue
            count(slot, value: methods.id(method), request)
        }
        // A request without a user agent is counted under "-", as logged, so the counts add up.
        slot.kind = Kind.userAgent.rawValue
        if let userAgent {
            count(slot, value: userAgents.id(userAgent), request)
        } else {
            count(slot, value: Self.dash.withUnsafeBytes { userAgents.id($0) }, request)
        }
    }

    /// Records the time taken by one request.
    mutating func addLatency(day: Int32, site: Int32, endpoint: Int32?, verdictCode: UInt8, milliseconds: Int64) {
        var endpointID: Int32 = -1
        if let endpoint {
            let dayKey = Int64(day) << 32 | Int64(UInt32(bitPattern: site))
            if dayKey != seenKey {
                // The set of the current day and site is held out of the dictionary (moved, not
                // copied), so that most lines look up one set and no dictionary.
                if seenKey != .min { endpointsSeen[seenKey] = seen }
                seen = endpointsSeen.removeValue(forKey: dayKey) ?? IDSet()
                seenKey = dayKey
            }
            if seen.contains(endpoint) {
                endpointID = endpoint
            } else if seen.count < Self.endpointsPerDay {
                seen.insert(endpoint)
                endpointID = endpoint
            }
        }
        let key = LatencyKey(
            day: day,
            site: site,
            endpoint: endpointID,
            verdictCode: verdictCode,
            bucket: Self.bucket(milliseconds)
        )
        latency[valueAt: latency.insertIndex(key, default: 0)] += 1
    }

    /// The id of the endpoint's template: path segments that are numbers, GUIDs or long hex
    /// strings become `{id}` (`/api/v1/orders/42` → `/api/v1/orders/{id}`), so per-endpoint
    /// latency is per route, not per resource.
    mutating func templateID(_ stem: UnsafeRawBufferPointer) -> Int32 {
        // Most routes have no identifier segment (`/api/v1/orders`): they are their own template,
        // interned without a copy. Otherwise the part before the first identifier is copied
        // whole, and the rest segment by segment.
        guard let base = stem.baseAddress else { return templates.id(stem) }
        let count = stem.count
        let first = RouteTemplate.firstIdentifier(base, count: count, from: 0)
        if first < 0 { return templates.id(stem) }
        templateBuffer.removeAll(keepingCapacity: true)
        templateBuffer.append(contentsOf: UnsafeRawBufferPointer(start: base, count: first))
        templateBuffer.append(contentsOf: Self.identifierPlaceholder)
        var index = first
        while index < count, base.load(fromByteOffset: index, as: UInt8.self) != 0x2F { index &+= 1 }
        while index < count {
            // `index` is at a slash; copy up to the next identifier, which becomes `{id}`.
            let next = RouteTemplate.firstIdentifier(base, count: count, from: index &+ 1)
            let stop = next < 0 ? count : next
            templateBuffer.append(contentsOf: UnsafeRawBufferPointer(start: base + index, count: stop &- index))
            guard next >= 0 else { break }
            templateBuffer.append(contentsOf: Self.identifierPlaceholder)
            index = next
            while index < count, base.load(fromByteOffset: index, as: UInt8.self) != 0x2F { index &+= 1 }
        }
        return templateBuffer.withUnsafeBytes { templates.id($0) }
    }

    /// The bytes of a value id (≥ 0) for a kind, valid during `body`.
    func withValueBytes<R>(kind: UInt8, value: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch Kind(rawValue: kind) {
        case .endpoint: return endpoints.withBytes(value, body)
        case .method: return methods.withBytes(value, body)
        case .userAgent: return userAgents.withBytes(value, body)
        case nil: return body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// The text of a value id for a kind.
    func text(kind: UInt8, value: Int32) -> String {
        guard value >= 0 else { return Self.otherValue }
        switch Kind(rawValue: kind) {
        case .endpoint: return endpoints.text(value)
        case .method: return methods.text(value)
        case .userAgent: return userAgents.text(value)
        case nil: return ""
        }
    }

    /// Moves the counters and the names they refer to out into a value to be written on another
    /// thread, and empties them here as ``removeCounts()`` does (in `spare` maps, emptied ones
    /// handed back by the writer, when there are some); the cardinality state stays.
    mutating func detachCounts(
        reusing spare: (counts: FlatMap<Key, Count>, latency: FlatMap<LatencyKey, Int64>)? = nil
    ) -> Inventories {
        var batch = Inventories()
        batch.templates = templates
        swap(&batch.counts, &counts)
        swap(&batch.latency, &latency)
        batch.directMinutes = directMinutes.detach()
        swap(&batch.endpoints, &endpoints)
        swap(&batch.methods, &methods)
        swap(&batch.userAgents, &userAgents)
        counts = spare?.counts ?? FlatMap(capacity: batch.counts.count)
        latency = spare?.latency ?? FlatMap(capacity: batch.latency.count)
        return batch
    }

    /// Empties the counters after a flush; the cardinality state is kept.
    mutating func removeCounts() {
        counts.removeAll()
        latency.removeAll()
        directMinutes.removeAll()
        // Raw endpoints, methods and user agents are referenced only by the counts just written:
        // start them afresh so memory stays bounded on long inputs. Route templates stay (the
        // per-day endpoint quota refers to them).
        endpoints = ByteInterner(maximumLength: 512)
        methods = ByteInterner(maximumLength: 32, capacity: 16)
        userAgents = ByteInterner(maximumLength: 512)
    }
}

extension Inventories.Key: FlatKey {
    var flatHash: UInt64 {
        var folded = mix64(
            UInt64(UInt32(bitPattern: day)) ^ UInt64(kind) << 32 ^ UInt64(UInt32(bitPattern: value)) << 40
        )
        folded = mix64(folded ^ address.high)
        return mix64(folded ^ address.low ^ UInt64(UInt32(bitPattern: invalidAddress)) << 7)
    }

    func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }
}

extension Inventories.SlotKey {
    func hash(into hasher: inout Hasher) {
        var folded = mix64(UInt64(UInt32(bitPattern: day)) ^ UInt64(kind) << 32)
        folded = mix64(folded ^ address.high)
        folded = mix64(folded ^ address.low ^ UInt64(UInt32(bitPattern: invalidAddress)) << 7)
        hasher.combine(folded)
    }
}

extension Inventories.LatencyKey: FlatKey {
    func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }

    var flatHash: UInt64 {
        mix64(
            UInt64(UInt32(bitPattern: day)) ^ UInt64(UInt32(bitPattern: site)) << 32
                ^ mix64(
                    UInt64(UInt32(bitPattern: endpoint)) ^ UInt64(verdictCode) << 32 ^ UInt64(
                        UInt32(bitPattern: bucket)
                    ) << 40
                )
        )
    }
}

/// A set of 64-bit fingerprints (below 2^63), open addressing over one array.
struct FingerprintSet {
    private var slots: [UInt64] = []
    private var count = 0

    @inline(__always)
    private static func start(_ value: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: mix64(value)) & mask }

    func contains(_ value: UInt64) -> Bool {
        guard !slots.isEmpty else { return false }
        let mask = slots.count - 1
        let stored = value | 1 << 63
        var slot = Self.start(value, mask)
        while slots[slot] != 0 {
            if slots[slot] == stored { return true }
            slot = (slot + 1) & mask
        }
        return false
    }

    mutating func insert(_ value: UInt64) {
        // Up to three quarters full: linear probing stays short, and the set is the one structure
        // here that grows with every distinct value of the input.
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let mask = slots.count - 1
        let stored = value | 1 << 63
        var slot = Self.start(value, mask)
        while slots[slot] != 0 {
            if slots[slot] == stored { return }
            slot = (slot + 1) & mask
        }
        slots[slot] = stored
        count += 1
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: max(1024, old.count * 2))
        let mask = slots.count - 1
        for stored in old where stored != 0 {
            var slot = Self.start(stored & ~(1 << 63), mask)
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = stored
        }
    }
}

/// A set of small non-negative ids (interned route templates) as a bitset: a lookup is a shift
/// and a mask, where `Set<Int32>` hashes every id.
struct IDSet {
    private var words: [UInt64] = []
    private(set) var count = 0

    @inline(__always)
    func contains(_ id: Int32) -> Bool {
        let word = Int(id) >> 6
        return word < words.count && words[word] & (1 << UInt64(id & 63)) != 0
    }

    mutating func insert(_ id: Int32) {
        let word = Int(id) >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word + 1 - words.count)) }
        let bit: UInt64 = 1 << UInt64(id & 63)
        if words[word] & bit == 0 {
            words[word] |= bit
            count += 1
        }
    }
}
