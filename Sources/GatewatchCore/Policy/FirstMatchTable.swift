/// An ordered list of address ranges compiled into sorted, disjoint segments that each carry the
/// position of the first range (in list order) that covers them.
///
/// This is what makes "first match wins" cheap: instead of scanning the list for every request,
/// ``lookup(_:)`` is one binary search over the segment starts, whatever the list length.
/// The two address families are kept in separate tables, so an IPv6 range never matches an
/// IPv4 address (spec D5).
///
/// Building is O(n log n) in the number of ranges; the table holds at most 2n + 1 segments.
public struct FirstMatchTable: Sendable {
    /// One range of the ordered list.
    public struct Entry: Sendable, Hashable {
        /// The first address of the range.
        public var lower: IPAddress
        /// The last address of the range (inclusive).
        public var upper: IPAddress
        /// The position in the ordered list; lower positions win.
        public var priority: Int32

        /// Creates a range.
        ///
        /// - Parameters:
        ///   - lower: The first address; must have the same family as `upper`.
        ///   - upper: The last address.
        ///   - priority: The position in the ordered list.
        public init(lower: IPAddress, upper: IPAddress, priority: Int32) {
            self.lower = lower
            self.upper = upper
            self.priority = priority
        }

        /// Creates a range from a CIDR block.
        ///
        /// - Parameters:
        ///   - block: The block.
        ///   - priority: The position in the ordered list.
        public init(_ block: CIDR, priority: Int32) {
            self.init(lower: block.network, upper: block.last, priority: priority)
        }
    }

    @usableFromInline var v4: Segments<UInt32>
    @usableFromInline var v6: Segments<UInt128>

    /// Compiles ranges.
    ///
    /// - Parameter entries: The ranges, in any order; `priority` gives the list order.
    public init(_ entries: [Entry]) {
        var v4Ranges: [(UInt32, UInt32, Int32)] = []
        var v6Ranges: [(UInt128, UInt128, Int32)] = []
        for entry in entries {
            if let lower = entry.lower.ipv4Value, let upper = entry.upper.ipv4Value {
                v4Ranges.append((lower, upper, entry.priority))
            } else if !entry.lower.isIPv4, !entry.upper.isIPv4 {
                v6Ranges.append((entry.lower.value, entry.upper.value, entry.priority))
            }
        }
        v4 = Segments(v4Ranges)
        v6 = Segments(v6Ranges)
    }

    /// The priority of the first range containing `address`, or `-1` when none does.
    ///
    /// O(log n); no allocation.
    ///
    /// - Parameter address: The address.
    /// - Returns: The winning priority, or `-1`.
    @inlinable
    public func lookup(_ address: IPAddress) -> Int32 {
        if address.isIPv4 {
            return v4.lookup(UInt32(truncatingIfNeeded: address.low))
        }
        return v6.lookup(address.value)
    }

    /// The number of compiled segments (both families).
    public var segmentCount: Int { v4.starts.count + v6.starts.count }

    /// The set of priorities that win for at least one address.
    ///
    /// A range whose priority is missing here can never decide anything (it is shadowed).
    public var winningPriorities: Set<Int32> {
        Set(v4.values).union(v6.values).subtracting([-1])
    }
}

/// Sorted segment starts and the winning priority of each segment.
@usableFromInline
struct Segments<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// Segment starts, ascending; `starts[0] == 0`.
    @usableFromInline var starts: [Key]
    /// The winning priority per segment, `-1` for none.
    @usableFromInline var values: [Int32]
    /// For large tables, `buckets[b]` is the number of segment starts whose top 16 bits are
    /// below `b` (65,537 entries), so a lookup only searches inside one bucket.
    @usableFromInline var buckets: [UInt32]

    init(_ ranges: [(Key, Key, Int32)]) {
        let sorted = ranges.sorted { $0.0 < $1.0 }
        var boundaries: [Key] = [0]
        boundaries.reserveCapacity(sorted.count * 2 + 1)
        for range in sorted {
            boundaries.append(range.0)
            if range.1 != Key.max { boundaries.append(range.1 + 1) }
        }
        boundaries.sort()
        var starts: [Key] = []
        var values: [Int32] = []
        var heap = MinHeap()
        var next = 0
        var previous: Key?
        for boundary in boundaries {
            if boundary == previous { continue }
            previous = boundary
            while next < sorted.count, sorted[next].0 <= boundary {
                heap.push(priority: sorted[next].2, index: next)
                next += 1
            }
            while let top = heap.top, sorted[top.index].1 < boundary { heap.pop() }
            let value = heap.top?.priority ?? -1
            if values.last != value {
                starts.append(boundary)
                values.append(value)
            }
        }
        if starts.isEmpty {
            starts = [0]
            values = [-1]
        }
        self.starts = starts
        self.values = values
        var buckets: [UInt32] = []
        if starts.count > 64 {
            buckets = [UInt32](repeating: 0, count: 65_537)
            let shift = Key.bitWidth - 16
            var position = 0
            for bucket in 0...65_536 {
                while position < starts.count, Int(starts[position] >> shift) < bucket { position += 1 }
                buckets[bucket] = UInt32(position)
            }
        }
        self.buckets = buckets
    }

    @inlinable
    func lookup(_ key: Key) -> Int32 {
        starts.withUnsafeBufferPointer { starts in
            var base = 0
            var length = starts.count
            if !buckets.isEmpty {
                let bucket = Int(truncatingIfNeeded: key >> (Key.bitWidth - 16))
                buckets.withUnsafeBufferPointer { buckets in
                    base = max(Int(buckets[bucket]) - 1, 0)
                    length = Int(buckets[bucket + 1]) - base
                }
            }
            while length > 1 {
                let half = length / 2
                if starts[base + half] <= key { base += half }
                length -= half
            }
            return values.withUnsafeBufferPointer { $0[base] }
        }
    }
}

/// A binary min-heap of (priority, index) used while compiling segments.
private struct MinHeap {
    struct Item {
        var priority: Int32
        var index: Int
    }
    var items: [Item] = []

    var top: Item? { items.first }

    mutating func push(priority: Int32, index: Int) {
        items.append(Item(priority: priority, index: index))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].priority < items[parent].priority else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = parent * 2 + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].priority < items[smallest].priority { smallest = left }
            if right < items.count, items[right].priority < items[smallest].priority { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
