import GatewatchCore
import Testing

/// A seeded generator, so failures reproduce (shared by the property tests of this target).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A rule in the naive reference model: address AND mask == network AND mask, same family.
struct NaiveRule {
    var address: IPAddress
    var mask: UInt128  // family width: low 32 bits for IPv4
    var allowed: Bool

    func matches(_ candidate: IPAddress) -> Bool {
        guard candidate.isIPv4 == address.isIPv4 else { return false }
        if address.isIPv4 {
            let m = UInt32(truncatingIfNeeded: mask)
            return (UInt32(truncatingIfNeeded: candidate.low) & m) == (UInt32(truncatingIfNeeded: address.low) & m)
        }
        return (candidate.value & mask) == (address.value & mask)
    }
}

@Suite struct EvaluatorPropertyTests {
    /// A random address near a small pool of prefixes, so rules overlap and addresses hit them.
    static func randomAddress(_ rng: inout SplitMix64, ipv4: Bool) -> IPAddress {
        if ipv4 {
            let base: [UInt32] = [0x0A00_0000, 0xC0A8_0000, 0xCB00_7100, 0x7F00_0000]
            let pick = base[Int(rng.next() % UInt64(base.count))]
            let spread = UInt32(truncatingIfNeeded: rng.next()) & (rng.next() % 2 == 0 ? 0xFFFF : 0x00FF_FFFF)
            return IPAddress(ipv4: pick | spread)
        }
        let highs: [UInt64] = [0x2001_0DB8_0000_0000, 0x2603_1020_0200_0000, 0xFE80_0000_0000_0000]
        let high = highs[Int(rng.next() % UInt64(highs.count))] | (rng.next() & 0xFF)
        let low = rng.next() % 4 == 0 ? 1 : rng.next() & 0xFFFF
        return IPAddress(high: high, low: low)
    }

    static func randomRules(_ rng: inout SplitMix64) -> [NaiveRule] {
        let count = Int(rng.next() % 40) + 1
        var rules: [NaiveRule] = []
        for _ in 0..<count {
            let ipv4 = rng.next() % 3 != 0
            let address = randomAddress(&rng, ipv4: ipv4)
            let width = ipv4 ? 32 : 128
            var mask: UInt128
            if rng.next() % 10 == 0 {
                // Non-contiguous mask.
                mask =
                    ipv4
                    ? UInt128(UInt32(truncatingIfNeeded: rng.next()) | 0xFF00_0000)
                    : (UInt128(rng.next()) << 64 | UInt128(rng.next()))
            } else {
                let length = Int(rng.next() % UInt64(width + 1))
                let full: UInt128 = ipv4 ? UInt128(UInt32.max) : UInt128.max
                mask = length == 0 ? 0 : (full << (width - length)) & full
            }
            rules.append(NaiveRule(address: address, mask: mask, allowed: rng.next() % 2 == 0))
        }
        return rules
    }

    static func maskText(_ rule: NaiveRule) -> String {
        let mask = rule.mask
        if rule.address.isIPv4 {
            return IPAddress(ipv4: UInt32(truncatingIfNeeded: mask)).description
        }
        if mask.nonzeroBitCount == 128 - mask.trailingZeroBitCount || mask == 0 {
            return "\(mask.nonzeroBitCount)"  // prefix-length form
        }
        return IPAddress(value: mask).description
    }

    @Test("the compiled evaluator agrees with a naive first-match scan", arguments: 0..<8)
    func compiledMatchesNaive(batch: Int) throws {
        var rng = SplitMix64(state: UInt64(batch) &* 7919 &+ 1)
        var compared = 0
        for _ in 0..<250 {
            var rules = Self.randomRules(&rng)
            let allowUnlisted = rng.next() % 2 == 0
            // Drop rules whose combined key repeats (a duplicate is a 500.19 config error, tested elsewhere).
            var keys: Set<String> = []
            rules = rules.filter { keys.insert("\($0.address)|\(Self.maskText($0))").inserted }
            let entries = rules.map {
                "<add ipAddress=\"\($0.address)\" subnetMask=\"\(Self.maskText($0))\" allowed=\"\($0.allowed)\"/>"
            }
            let text = webConfig("<ipSecurity allowUnlisted=\"\(allowUnlisted)\">\(entries.joined())</ipSecurity>")
            let policy = try Policy.compile(documents: [PolicyDocument(path: "web.config", text: text)])
            for _ in 0..<60 {
                let address = Self.randomAddress(&rng, ipv4: rng.next() % 2 == 0)
                let decision = policy.evaluate(PolicyRequest(address: address))
                let expected = rules.firstIndex { $0.matches(address) }
                let allowed = expected.map { rules[$0].allowed } ?? allowUnlisted
                #expect(decision.verdict == (allowed ? .allow : .deny), "\(address) in \(text)")
                if let expected {
                    #expect(
                        decision.rule.hasSuffix("#\(expected + 1)"),
                        "\(address): \(decision.rule), expected #\(expected + 1)"
                    )
                } else {
                    #expect(decision.rule == "allowUnlisted")
                }
                compared += 1
            }
        }
        #expect(compared == 250 * 60)
    }

    @Test("FirstMatchTable agrees with a linear scan over large random lists", arguments: [1, 2, 3])
    func tableMatchesLinearScan(seed: Int) {
        var rng = SplitMix64(state: UInt64(seed))
        var blocks: [CIDR] = []
        for _ in 0..<2_000 {
            let ipv4 = rng.next() % 2 == 0
            let address = Self.randomAddress(&rng, ipv4: ipv4)
            let length = Int(rng.next() % UInt64(ipv4 ? 33 : 129))
            blocks.append(CIDR(address: address, prefixLength: length))
        }
        let table = FirstMatchTable(
            blocks.enumerated().map { FirstMatchTable.Entry($0.element, priority: Int32($0.offset)) }
        )
        for _ in 0..<5_000 {
            let address = Self.randomAddress(&rng, ipv4: rng.next() % 2 == 0)
            let expected = blocks.firstIndex { $0.contains(address) }.map { Int32($0) } ?? -1
            #expect(table.lookup(address) == expected)
        }
        // CIDRSet: membership equals "some block contains it".
        let set = CIDRSet(blocks)
        for _ in 0..<2_000 {
            let address = Self.randomAddress(&rng, ipv4: rng.next() % 2 == 0)
            #expect(set.contains(address) == blocks.contains { $0.contains(address) })
        }
    }

    @Test("an IPv6 block never contains an IPv4 address, and the reverse")
    func noCrossFamily() throws {
        let all6 = try #require(CIDR("::/0"))
        let all4 = try #require(CIDR("0.0.0.0/0"))
        #expect(!CIDRSet([all6]).contains(try #require(IPAddress("10.0.0.1"))))
        #expect(!CIDRSet([all4]).contains(try #require(IPAddress("2001:db8::1"))))
        #expect(CIDRSet([all4]).contains(try #require(IPAddress("::ffff:10.0.0.1"))))
        let table = FirstMatchTable([FirstMatchTable.Entry(all6, priority: 0)])
        #expect(table.lookup(try #require(IPAddress("127.0.0.1"))) == -1)
        #expect(table.lookup(try #require(IPAddress("::1"))) == 0)
    }
}
