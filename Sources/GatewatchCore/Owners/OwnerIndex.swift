/// A compiled prefix table: disjoint address ranges, each with the most specific owner of the
/// blocks that cover it, searched by binary search (issue 24).
///
/// Blocks are nested or disjoint, so a sweep over them sorted by start (larger block first)
/// splits every block around the blocks inside it. Lookups cost `O(log n)` in the number of
/// ranges and never allocate; IPv4 blocks live in the IPv4-mapped range of the same table.
public struct OwnerIndex: Sendable {
    /// The first address of each range, ascending.
    private var starts: [UInt128] = []
    /// The last address of each range.
    private var ends: [UInt128] = []
    /// The owner of each range, an index into `owners`.
    private var slots: [Int32] = []
    /// The distinct owners.
    private var owners: [Owner] = []

    /// One block with its owner and how it ranks against an identical block.
    public struct Entry: Sendable {
        /// The block.
        public var block: CIDR
        /// The owner.
        public var owner: Owner
        /// Among identical blocks the higher rank wins (a regional tag over its global parent).
        public var rank: Int

        /// Creates an entry.
        ///
        /// - Parameters:
        ///   - block: The block.
        ///   - owner: Its owner.
        ///   - rank: The tie-break among identical blocks; higher wins.
        public init(block: CIDR, owner: Owner, rank: Int = 0) {
            self.block = block
            self.owner = owner
            self.rank = rank
        }
    }

    /// An index that knows no block.
    public init() {}

    /// Compiles the blocks; the smallest block holding an address wins, and among identical
    /// blocks the highest rank (then the smaller owner name, so the result is deterministic).
    ///
    /// - Parameter entries: The blocks and their owners.
    public init(_ entries: [Entry]) {
        // IPv4-mapped addresses are IPv4 and never match an IPv6 block, so an IPv6 block that
        // spans the mapped range (`::/0` … `::/80`) is split around it.
        let mapped = (start: UInt128(0xFFFF) << 32, end: UInt128(0xFFFF) << 32 | 0xFFFF_FFFF)
        var sorted: [(start: UInt128, end: UInt128, entry: Entry)] = []
        for entry in entries {
            let start = entry.block.network.value
            let hostBits = entry.block.network.isIPv4 ? 32 - entry.block.prefixLength : 128 - entry.block.prefixLength
            let end = hostBits >= 128 ? UInt128.max : start | ((UInt128(1) << hostBits) - 1)
            if !entry.block.network.isIPv4, start <= mapped.start, end >= mapped.end {
                if start < mapped.start { sorted.append((start, mapped.start - 1, entry)) }
                if end > mapped.end { sorted.append((mapped.end + 1, end, entry)) }
            } else {
                sorted.append((start, end, entry))
            }
        }
        sorted.sort { left, right in
            if left.start != right.start { return left.start < right.start }
            if left.end != right.end { return left.end > right.end }
            if left.entry.rank != right.entry.rank { return left.entry.rank < right.entry.rank }
            return left.entry.owner.name > right.entry.owner.name
        }
        var ownerSlots: [Owner: Int32] = [:]
        func slot(_ owner: Owner) -> Int32 {
            if let found = ownerSlots[owner] { return found }
            let next = Int32(owners.count)
            owners.append(owner)
            ownerSlots[owner] = next
            return next
        }
        var stack: [(end: UInt128, slot: Int32)] = []
        var cursor: UInt128 = 0
        var exhausted = false  // the cursor passed the last address
        func emit(upTo end: UInt128, slot: Int32) {
            guard !exhausted, cursor <= end else { return }
            if let last = slots.last, last == slot, let previous = ends.last, previous &+ 1 == cursor {
                ends[ends.count - 1] = end
            } else {
                starts.append(cursor)
                ends.append(end)
                slots.append(slot)
            }
            if end == .max { exhausted = true } else { cursor = end + 1 }
        }
        for item in sorted {
            while let top = stack.last, top.end < item.start {
                emit(upTo: top.end, slot: top.slot)
                stack.removeLast()
            }
            // An identical block sorted later ranks higher: it replaces the one on the stack.
            let itemSlot = slot(item.entry.owner)
            if let top = stack.last, cursor < item.start { emit(upTo: item.start - 1, slot: top.slot) }
            if !exhausted { cursor = item.start }
            stack.append((item.end, itemSlot))
        }
        while let top = stack.popLast() { emit(upTo: top.end, slot: top.slot) }
    }

    /// The number of disjoint ranges.
    public var rangeCount: Int { starts.count }

    /// The owner of the smallest block holding an address.
    ///
    /// - Parameter address: The address.
    /// - Returns: The owner, or `nil` when no block holds it.
    public func owner(of address: IPAddress) -> Owner? {
        let value = address.value
        var low = 0
        var high = starts.count
        while low < high {
            let middle = (low + high) >> 1
            if starts[middle] <= value { low = middle + 1 } else { high = middle }
        }
        guard low > 0, ends[low - 1] >= value else { return nil }
        return owners[Int(slots[low - 1])]
    }
}
