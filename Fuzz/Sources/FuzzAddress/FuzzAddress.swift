import GatewatchCore

/// Address, CIDR and `X-Forwarded-For` parsing, with round-trip invariants.
///
/// The input's first line is the peer (`c-ip`); the rest is an `X-Forwarded-For` value. Every
/// piece is also parsed on its own as an address and as a CIDR block.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    check(bytes)
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
    let peerBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<newline])
    let forwardedFor = UnsafeRawBufferPointer(rebasing: bytes[min(bytes.count, newline + 1)...])
    check(peerBytes)
    let peer = IPAddress(bytes: peerBytes)
    // Each hop on its own.
    var start = 0
    for index in 0...forwardedFor.count where index == forwardedFor.count || forwardedFor[index] == UInt8(ascii: ",") {
        let hop = UnsafeRawBufferPointer(rebasing: forwardedFor[start..<index])
        if let address = ClientResolver.parseHop(hop) { roundTrip(address) }
        check(hop)
        start = index + 1
    }
    var trusted = [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!, CIDR("127.0.0.1")!]
    if let block = CIDR(String(decoding: peerBytes, as: UTF8.self)) { trusted.append(block) }
    for source in ClientAddressSource.allCases {
        let resolver = ClientResolver(source: source, trustedProxies: CIDRSet(trusted))
        for header in [forwardedFor, nil] as [UnsafeRawBufferPointer?] {
            let resolved = resolver.resolve(peer: peer, forwardedFor: header)
            if let resolved { roundTrip(resolved) }
            if source == .clientIP || header == nil || header!.isEmpty {
                precondition(resolved == peer, "resolve must return the peer for \(source) without a header")
            }
        }
    }
    return 0
}

/// Parses `bytes` as bytes, as text and as a CIDR block, and checks the invariants.
func check(_ bytes: UnsafeRawBufferPointer) {
    let fromBytes = IPAddress(bytes: bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    let fromText = IPAddress(text)
    if text.utf8.elementsEqual(bytes) {
        // Valid UTF-8: the two entry points must agree.
        precondition(fromBytes == fromText, "IPAddress(bytes:) and IPAddress(_:) disagree on \(text.debugDescription)")
    }
    if let fromBytes { roundTrip(fromBytes) }
    if let fromText { roundTrip(fromText) }
    if let block = CIDR(text) {
        let again = CIDR(block.description)
        precondition(again != nil, "CIDR description \(block.description) does not parse")
        precondition(again!.network == block.network && again!.prefixLength == block.prefixLength, "CIDR \(block) round-trips to \(again!)")
        // KNOWN (Tests/Fixtures/fuzz/address/crash-cidr-v6-80-last-is-ipv4.txt): `::/80` ends at
        // ::ffff:255.255.255.255, which IPAddress classifies as IPv4, so the block excludes its own
        // `last`. Skipped here so fuzzing can go on; FuzzRegressionTests tracks it as a known issue.
        precondition(block.contains(block.network) && block.contains(block.last), "CIDR \(block) excludes its own ends")
        precondition(block.network <= block.last, "CIDR \(block) ends before it starts")
        precondition(CIDRSet([block]).contains(block.network), "CIDRSet of \(block) excludes its network")
        precondition(block.prefixLength >= 0 && block.prefixLength <= (block.network.isIPv4 ? 32 : 128), "bad prefix in \(block)")
    }
}

/// An address's description parses back to the same address.
func roundTrip(_ address: IPAddress) {
    let text = address.description
    let again = IPAddress(text)
    precondition(again == address, "\(text) parses back as \(String(describing: again))")
    if let v4 = address.ipv4Value { precondition(IPAddress(ipv4: v4) == address, "IPv4 value round trip for \(text)") }
    precondition(IPAddress(value: address.value) == address, "value round trip for \(text)")
}

// MARK: Entry point

/// SwiftPM links executables on Linux with `--defsym main=<module>_main` (testable executables),
/// so libFuzzer's own `main` is never pulled in; hand control to its driver from here instead.
@_cdecl("FuzzAddress_main")
public func fuzzerMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}

@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
