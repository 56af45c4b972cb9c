/// An address plus an arbitrary bit mask, matched by AND-ing both sides (IIS `subnetMask`, D4).
///
/// Contiguous masks are CIDR blocks and compile into a ``FirstMatchTable``; non-contiguous masks
/// (`255.0.255.0`) are kept as a mask and tested bit by bit.
struct MaskedAddress: Sendable, Hashable {
    /// The address with host bits cleared.
    var network: UInt128
    /// The mask in the 128-bit space; for IPv4 the upper 96 bits are all ones (the mapped prefix).
    var mask: UInt128
    /// Whether this is an IPv4 entry.
    var isIPv4: Bool
    /// The prefix length when the mask is contiguous, in the entry's own family.
    var prefixLength: Int?
    /// Whether the written address had bits outside the mask.
    var hadHostBits: Bool

    init(address: IPAddress, familyMask: UInt128) {
        isIPv4 = address.isIPv4
        let fullMask: UInt128 = isIPv4 ? (UInt128.max << 32) | familyMask : familyMask
        mask = fullMask
        network = address.value & fullMask
        hadHostBits = network != address.value
        let familyBits = isIPv4 ? UInt128(UInt32.max) & familyMask : familyMask
        let width = isIPv4 ? 32 : 128
        let ones = familyBits.nonzeroBitCount
        // Contiguous: the ones are the top `ones` bits of the family width.
        let expected: UInt128 =
            ones == 0
            ? 0 : (isIPv4 ? (UInt128(UInt32.max) << (32 - ones)) & UInt128(UInt32.max) : UInt128.max << (128 - ones))
        prefixLength = familyBits == expected ? ones : nil
        _ = width
    }

    init(_ block: CIDR) {
        let bits = block.network.isIPv4 ? block.prefixLength + 96 : block.prefixLength
        let mask: UInt128 = bits == 0 ? 0 : UInt128.max << (128 - bits)
        self.init(address: block.network, familyMask: block.network.isIPv4 ? mask & UInt128(UInt32.max) : mask)
        hadHostBits = block.hadHostBits
    }

    /// Whether `address` matches: same family and equal under the mask.
    func matches(_ address: IPAddress) -> Bool {
        address.isIPv4 == isIPv4 && (address.value & mask) == network
    }

    /// The block, when the mask is contiguous.
    var cidr: CIDR? {
        guard let prefixLength else { return nil }
        return CIDR(address: IPAddress(value: network), prefixLength: prefixLength)
    }

    /// Canonical text: `address/prefix`, or `address/mask` for a non-contiguous mask.
    var text: String {
        if let prefixLength { return "\(IPAddress(value: network))/\(prefixLength)" }
        let familyMask = isIPv4 ? IPAddress(ipv4: UInt32(truncatingIfNeeded: mask)) : IPAddress(value: mask)
        return "\(IPAddress(value: network))/\(familyMask)"
    }
}

/// Outcome of parsing an IIS `subnetMask` against an address.
enum MaskParse {
    case mask(UInt128)
    case invalid(String)
}

extension MaskedAddress {
    /// Parses an IIS `subnetMask` for an address of the given family (D4): a dotted IPv4 mask,
    /// an IPv6 literal mask, or a prefix length (`24` or `/24`).
    ///
    /// - Returns: The family-width mask (low 32 bits for IPv4), or why it is invalid.
    static func parseMask(_ text: String?, isIPv4: Bool) -> MaskParse {
        let width = isIPv4 ? 32 : 128
        guard let text else { return .mask(isIPv4 ? UInt128(UInt32.max) : UInt128.max) }
        var trimmed = Substring(text.trimmingWhitespace)
        if trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard trimmed.utf8.count <= 3, let length = Int(trimmed), length <= width else {
                return .invalid("prefix length '\(text)' is outside 0–\(width)")
            }
            if length == 0 { return .mask(0) }
            return .mask(
                isIPv4 ? (UInt128(UInt32.max) << (32 - length)) & UInt128(UInt32.max) : UInt128.max << (128 - length)
            )
        }
        guard let address = IPAddress(trimmed) else {
            return .invalid("'\(text)' is neither a mask nor a prefix length")
        }
        if address.isIPv4 != isIPv4 {
            return .invalid(
                "the mask '\(text)' is \(address.isIPv4 ? "IPv4" : "IPv6") but the address is \(isIPv4 ? "IPv4" : "IPv6")"
            )
        }
        return .mask(isIPv4 ? UInt128(UInt32.max) & address.value : address.value)
    }
}
