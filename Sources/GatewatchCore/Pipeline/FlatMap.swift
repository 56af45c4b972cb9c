/// A key whose 64-bit hash is computed by the key itself (a few multiplies over its fields),
/// for ``FlatMap``.
protocol FlatKey: Equatable {
    /// A well-mixed hash: the low bits pick the slot, the high bits are compared first.
    var flatHash: UInt64 { get }
}

/// The per-line counters of the ingest: an insertion-ordered hash map with open addressing.
///
/// Swift's `Dictionary` runs every key through a seeded SipHash (`Hasher`), which costs more than
/// the rest of a lookup on these small integer keys; here the key mixes its own fields
/// (``FlatKey/flatHash``), a slot holds 32 bits of that hash beside the entry's index so that
/// most probes never touch the entry, and entries live densely in two arrays (iteration is in
/// insertion order). Only what the ingest needs: find, find-or-insert, update in place, iterate,
/// empty.
struct FlatMap<Key: FlatKey, Value>: Sequence {
    /// 0: empty; else the hash's high 32 bits and the entry index + 1 in the low 32 bits.
    private var slots: [UInt64]
    private var mask: Int
    private(set) var keys: [Key] = []
    private(set) var values: [Value] = []

    /// An empty map with room for about `capacity` entries before it grows.
    init(capacity: Int = 8) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// The index of `key`'s entry, if present.
    @inline(__always)
    func index(of key: Key) -> Int? {
        let hash = key.flatHash
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return nil }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let index = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if keys[index] == key { return index }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The index of `key`'s entry, inserting `value()` for it when absent.
    @inline(__always)
    mutating func insertIndex(_ key: Key, default value: @autoclosure () -> Value) -> Int {
        let hash = key.flatHash
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            if entry & 0xFFFF_FFFF_0000_0000 == tag {
                let index = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if keys[index] == key { return index }
            }
            slot = (slot + 1) & mask
        }
        let index = keys.count
        keys.append(key)
        values.append(value())
        slots[slot] = tag | UInt64(index + 1)
        if keys.count * 2 > slots.count { grow() }
        return index
    }

    /// The value of the entry at `index` (from ``index(of:)`` or ``insertIndex(_:default:)``).
    subscript(valueAt index: Int) -> Value {
        get { values[index] }
        _modify { yield &values[index] }
    }

    /// The value for `key`, if present.
    subscript(key: Key) -> Value? {
        index(of: key).map { values[$0] }
    }

    /// Empties the map, keeping its storage.
    mutating func removeAll() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        for index in slots.indices { slots[index] = 0 }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for (index, key) in keys.enumerated() {
            let hash = key.flatHash
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(index + 1)
        }
    }

    struct Iterator: IteratorProtocol {
        fileprivate let keys: [Key]
        fileprivate let values: [Value]
        fileprivate var index = 0

        mutating func next() -> (key: Key, value: Value)? {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[index])
        }
    }

    func makeIterator() -> Iterator { Iterator(keys: keys, values: values) }

    var underestimatedCount: Int { keys.count }
}
