/// A block of addresses given as an address and a prefix length.
///
/// The prefix length counts bits of the 128-bit space for IPv6 and of the 32-bit space for IPv4
/// (`10.0.0.0/8`); IPv4 blocks are stored as IPv4-mapped ranges so they never match IPv6
/// addresses other than IPv4-mapped ones.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public var network: IPAddress
    /// The prefix length in the address's own family (0–32 for IPv4, 0–128 for IPv6).
    public var prefixLength: Int
    /// Whether the text this block came from had host bits set (`10.1.2.3/8`).
    public var hadHostBits: Bool

    /// Creates a block, clearing host bits.
    ///
    /// - Parameters:
    ///   - address: Any address inside the block.
    ///   - prefixLength: The prefix length in the address's family.
    public init(address: IPAddress, prefixLength: Int) {
        let bits = address.isIPv4 ? prefixLength + 96 : prefixLength
        let (maskHigh, maskLow) = Self.mask(bits: bits)
        network = IPAddress(high: address.high & maskHigh, low: address.low & maskLow)
        self.prefixLength = prefixLength
        hadHostBits = network != address
    }

    /// Parses `address` or `address/prefix` text; a bare address is a single-address block.
    ///
    /// - Parameter text: The CIDR text, e.g. `20.50.10.0/28` or `2603:1020:200::/48`.
    public init?(_ text: some StringProtocol) {
        let trimmed = text.trimmingWhitespace
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPAddress(first) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 0, value <= maximum, !parts[1].hasPrefix("+") else { return nil }
            length = value
        }
        self.init(address: address, prefixLength: length)
    }

    /// The 128-bit mask for a prefix of `bits` bits.
    static func mask(bits: Int) -> (UInt64, UInt64) {
        let clamped = max(0, min(128, bits))
        let high: UInt64 = clamped >= 64 ? ~0 : (clamped == 0 ? 0 : ~0 << (64 - UInt64(clamped)))
        let low: UInt64 = clamped <= 64 ? 0 : (clamped == 128 ? ~0 : ~0 << (128 - UInt64(clamped)))
        return (high, low)
    }

    /// The last address of the block.
    ///
    /// An IPv6 block that reaches into the IPv4-mapped range (`::/80`, `::8000:0:0/81`, …) ends
    /// just below it: mapped addresses are IPv4 and never match IPv6 blocks (found by fuzzing:
    /// such a block used to be dropped from the rule tables).
    public var last: IPAddress {
        let bits = network.isIPv4 ? prefixLength + 96 : prefixLength
        let (maskHigh, maskLow) = Self.mask(bits: bits)
        let end = IPAddress(high: network.high | ~maskHigh, low: network.low | ~maskLow)
        if !network.isIPv4, end.isIPv4 { return IPAddress(high: 0, low: 0x0000_FFFE_FFFF_FFFF) }
        return end
    }

    /// Whether `address` lies inside the block.
    ///
    /// - Parameter address: The address to test.
    /// - Returns: `true` when the address is in the block.
    public func contains(_ address: IPAddress) -> Bool {
        address.isIPv4 == network.isIPv4 && address >= network && address <= last
    }

    /// `address/prefix` with the canonical address text.
    public var description: String { "\(network)/\(prefixLength)" }
}

/// A set of CIDR blocks with a lookup cost that does not grow with the number of blocks.
///
/// Blocks are merged into sorted, disjoint ranges per address family; `contains(_:)` is a
/// binary search. An IPv6 block never contains an IPv4 address (spec D5), even `::/0`.
public struct CIDRSet: Sendable, Equatable {
    /// Sorted, disjoint, non-adjacent inclusive ranges of IPv4 addresses (in mapped form).
    var v4Ranges: [ClosedRange<IPAddress>]
    /// Sorted, disjoint, non-adjacent inclusive ranges of IPv6 addresses.
    var v6Ranges: [ClosedRange<IPAddress>]

    /// The merged ranges: IPv4 ranges first, then IPv6 ranges, each family sorted.
    public var ranges: [ClosedRange<IPAddress>] { v4Ranges + v6Ranges }

    /// Creates a set from blocks.
    ///
    /// - Parameter blocks: The blocks, in any order, overlapping or not.
    public init(_ blocks: [CIDR] = []) {
        v4Ranges = Self.merge(blocks.filter { $0.network.isIPv4 })
        v6Ranges = Self.merge(blocks.filter { !$0.network.isIPv4 })
    }

    private static func merge(_ blocks: [CIDR]) -> [ClosedRange<IPAddress>] {
        let sorted = blocks.map { $0.network...$0.last }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<IPAddress>] = []
        for range in sorted {
            if let previous = merged.last, range.lowerBound <= previous.upperBound.successor ?? previous.upperBound {
                if range.upperBound > previous.upperBound {
                    merged[merged.count - 1] = previous.lowerBound...range.upperBound
                }
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Whether the set holds no address.
    public var isEmpty: Bool { v4Ranges.isEmpty && v6Ranges.isEmpty }

    /// Whether `address` is in one of the blocks.
    ///
    /// O(log n); no allocation.
    ///
    /// - Parameter address: The address to test.
    /// - Returns: `true` when some block contains the address.
    public func contains(_ address: IPAddress) -> Bool {
        address.isIPv4 ? Self.search(v4Ranges, address) : Self.search(v6Ranges, address)
    }

    private static func search(_ ranges: [ClosedRange<IPAddress>], _ address: IPAddress) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < address {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].lowerBound <= address
    }
}

extension IPAddress {
    /// The next address, or `nil` after the last address of the space.
    var successor: IPAddress? {
        if low == .max {
            return high == .max ? nil : IPAddress(high: high + 1, low: 0)
        }
        return IPAddress(high: high, low: low + 1)
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces, tabs and line breaks.
    var trimmingWhitespace: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        let string = Substring(self)
        guard let first = string.firstIndex(where: { !isSpace($0) }),
            let last = string.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return string[first...last]
    }
}
