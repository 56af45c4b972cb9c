import Foundation
import Testing

@testable import GatewatchCore

@Suite struct OwnerIndexEdgeTests {
    /// Whole-space, single-address and mapped-range blocks, probed at every block's first and last
    /// address and one either side, against a linear scan.
    @Test("edges: /0, /32, /128, ::/80 around the mapped range, first and last addresses")
    func edges() throws {
        let texts = [
            "0.0.0.0/0", "::/0", "::/80", "::fffe:0:0/95", "10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9",
            "10.255.255.255/32", "10.0.0.0/32", "255.255.255.255/32", "0.0.0.0/32",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
            "::/128", "::1/128", "8000::/1", "2603:1020::/32", "2603:1020::/48", "2603:1020:0:1::/64", "20.0.0.0/16",
            "20.0.1.0/24", "20.0.2.0/24", "20.0.1.128/25", "::fffe:ffff:ffff/128", "::1:0:0:0/128",
        ]
        var entries: [OwnerIndex.Entry] = []
        for (number, text) in texts.enumerated() {
            let block = try #require(CIDR(text))
            entries.append(
                OwnerIndex.Entry(block: block, owner: Owner(name: "t\(number)", source: .serviceTag), rank: number % 3)
            )
        }
        let index = OwnerIndex(entries)
        func scan(_ address: IPAddress) -> String? { OwnerIndex.linearScan(entries, address) }
        var probes: [IPAddress] = []
        for entry in entries {
            for value in [entry.block.network.value, entry.block.last.value] {
                probes.append(IPAddress(value: value))
                probes.append(IPAddress(value: value &+ 1))
                probes.append(IPAddress(value: value &- 1))
            }
        }
        probes += ["::ffff:10.1.2.3", "10.1.2.3", "::ffff:0.0.0.0", "::ffff:255.255.255.255", "::fffe:ffff:ffff"]
            .compactMap { IPAddress($0) }
        for probe in probes {
            #expect(index.owner(of: probe)?.name == scan(probe), "\(probe)")
        }
    }
}

extension OwnerIndex {
    /// The reference the compiled index is checked against: every entry tried in turn, the most
    /// specific block winning, then the higher rank, then the smaller name.
    static func linearScan(_ entries: [Entry], _ address: IPAddress) -> String? {
        entries.filter { $0.block.contains(address) }
            .max { left, right in
                if left.block.prefixLength != right.block.prefixLength {
                    return left.block.prefixLength < right.block.prefixLength
                }
                if left.rank != right.rank { return left.rank < right.rank }
                return left.owner.name > right.owner.name
            }?.owner.name
    }
}
