/// Direct requests per minute, address and judgement key (the `direct_minutes` table), held in
/// memory between flushes with the inventories.
///
/// Alert rules over direct requests (`served_direct`, `new_address`) count these, not the
/// `evidence` rows: evidence may be a bounded sample, this aggregate counts every direct request.
struct DirectMinutes {
    struct Key: Hashable, FlatKey {
        /// The minute's start, Unix seconds.
        var minute: Int64
        var address: IPAddress
        var invalidAddress: Int32
        /// The rest of the judgement key (``JudgementKey/id`` is taken when written): the facts,
        /// an index into the aggregator's ``Aggregator/facts``, status and sub-status.
        var facts: Int32
        var status: Int32
        var substatus: Int32

        var flatHash: UInt64 {
            var folded = mix64(UInt64(bitPattern: minute) ^ UInt64(UInt32(bitPattern: invalidAddress)) << 40)
            folded = mix64(folded ^ address.high)
            folded = mix64(folded ^ address.low ^ UInt64(UInt32(bitPattern: facts)) << 17)
            return mix64(folded ^ UInt64(UInt32(bitPattern: status)) ^ UInt64(UInt32(bitPattern: substatus)) << 32)
        }

        func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }

        /// The judgement key id, `address` being the stored text of the address.
        func keyID(_ aggregator: Aggregator, address text: UnsafeRawBufferPointer) -> Int64 {
            let key = AggregateKey(
                hour: 0,
                site: 0,
                address: address,
                invalidAddress: invalidAddress,
                verdictCode: 0,
                outcomeCode: 0,
                status: status,
                substatus: substatus,
                facts: facts
            )
            return aggregator.keyID(key, address: text)
        }
    }

    private(set) var counts = FlatMap<Key, Int64>()

    var count: Int { counts.count }

    /// Counts one direct request at `time` (Unix seconds) of the hourly key `key`.
    @inline(__always)
    mutating func add(time: Int64, _ key: AggregateKey) {
        let minute = time - ((time % 60) + 60) % 60
        let key = Key(
            minute: minute,
            address: key.address,
            invalidAddress: key.invalidAddress,
            facts: key.facts,
            status: key.status,
            substatus: key.substatus
        )
        counts[valueAt: counts.insertIndex(key, default: 0)] += 1
    }

    mutating func removeAll() { counts.removeAll() }

    /// Moves the counts out (to be written on another thread) and empties them here.
    mutating func detach() -> DirectMinutes {
        var batch = DirectMinutes()
        swap(&batch.counts, &counts)
        counts = FlatMap(capacity: batch.counts.count)
        return batch
    }
}
