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
        /// The judgement key (``JudgementKey/id``): the verdict and outcome are the key's.
        var keyID: Int64

        var flatHash: UInt64 {
            var folded = mix64(UInt64(bitPattern: minute) ^ UInt64(UInt32(bitPattern: invalidAddress)) << 40)
            folded = mix64(folded ^ address.high)
            folded = mix64(folded ^ address.low)
            return mix64(folded ^ UInt64(bitPattern: keyID))
        }

        func hash(into hasher: inout Hasher) { hasher.combine(flatHash) }
    }

    private(set) var counts = FlatMap<Key, Int64>()

    var count: Int { counts.count }

    /// Counts one direct request at `time` (Unix seconds).
    @inline(__always)
    mutating func add(time: Int64, address: IPAddress, invalidAddress: Int32, keyID: Int64) {
        let minute = time - ((time % 60) + 60) % 60
        let key = Key(minute: minute, address: address, invalidAddress: invalidAddress, keyID: keyID)
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
