import GatewatchCore
import Testing

/// The canonical text of addresses (RFC 5952 for IPv6), as the store keys and every output show it.
@Suite struct IPAddressTextTests {
    @Test(arguments: [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // one zero group is not compressed (§4.2.2)
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longest run (§4.2.3)
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // the first of equal runs (§4.2.3)
        ("2001:DB8::ABCD", "2001:db8::abcd"),  // lower case (§4.3)
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("0:0:1::", "0:0:1::"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("fe80::0a0b:00c0", "fe80::a0b:c0"),
        ("2804:2004:e2d0:f788::20b", "2804:2004:e2d0:f788::20b"),
        ("::ffff:10.2.3.4", "10.2.3.4"),  // IPv4-mapped: the IPv4 address
        ("10.0.0.255", "10.0.0.255"),
    ])
    func canonicalText(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == expected)
        // The text parses back to the same address.
        #expect(IPAddress(expected) == address)
    }

    /// Random IPv6 addresses with zero groups in random places print as the straightforward
    /// RFC 5952 algorithm prints them, and parse back.
    @Test func randomAddressesMatchTheReference() throws {
        var random = SplitMix64(state: 5952)
        for _ in 0..<20_000 {
            var groups = (0..<8).map { _ in UInt16(truncatingIfNeeded: random.next()) }
            for position in 0..<8 where random.next() % 2 == 0 { groups[position] = 0 }
            let full = groups.map { String($0, radix: 16) }.joined(separator: ":")
            let address = try #require(IPAddress(full))
            if address.isIPv4 { continue }
            #expect(address.description == Self.reference(groups), "\(full)")
            #expect(IPAddress(address.description) == address)
        }
    }

    /// RFC 5952 §4, written for clarity.
    static func reference(_ groups: [UInt16]) -> String {
        var best = (start: -1, length: 0)
        var position = 0
        while position < 8 {
            guard groups[position] == 0 else {
                position += 1
                continue
            }
            var end = position
            while end < 8, groups[end] == 0 { end += 1 }
            if end - position >= 2, end - position > best.length { best = (position, end - position) }
            position = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.start >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}

/// Client addresses with a port (spec D5): `a.b.c.d:port`, `[v6]:port` and `[v6]` are the address.
@Suite struct EndpointAddressTests {
    @Test(
        "port forms read as the address; a bare IPv6 address is never split",
        arguments: [
            ("192.0.2.9:8080", "192.0.2.9"),
            ("192.0.2.9:0", "192.0.2.9"),
            ("192.0.2.9:65535", "192.0.2.9"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[fe80::1%eth0]:80", "fe80::1"),
            ("[::ffff:10.2.3.4]:443", "10.2.3.4"),
            ("::1:1234", "::1:1234"),
            ("2001:db8::1", "2001:db8::1"),
            ("192.0.2.9", "192.0.2.9"),
        ]
    )
    func portForms(input: String, expected: String) throws {
        let address = try #require(IPAddress(endpoint: input))
        #expect(address.description == expected)
    }

    @Test(
        "broken port forms are not addresses",
        arguments: [
            "192.0.2.9:", "192.0.2.9:65536", "192.0.2.9:123456", "192.0.2.9:80:80", "192.0.2.9:http",
            "[2001:db8::1]:", "[2001:db8::1]x", "[2001:db8::1]:4x", "[2001:db8::1", ":80", "host.example:80",
            "::ffff:10.2.3.4:80",
        ]
    )
    func brokenForms(input: String) {
        #expect(IPAddress(endpoint: input) == nil)
        #expect(IPAddress(input) == nil)
    }

    @Test("gatewatch check strips the port before evaluating")
    func checkStripsPort() throws {
        let policy = try Policy.compile(documents: [
            site(#"<ipSecurity allowUnlisted="false"><add ipAddress="192.0.2.9" allowed="true"/></ipSecurity>"#)
        ])
        let results = policy.check(
            ["192.0.2.9:8080", "[::ffff:192.0.2.9]:443", "192.0.2.9", "198.51.100.7:80"],
            template: PolicyRequest(address: IPAddress(ipv4: 0))
        )
        #expect(results.map(\.decision.verdict) == [.allow, .allow, .allow, .deny])
        #expect(results[0].decision.rule.contains("#1"))
        #expect(results[0].input == "192.0.2.9:8080")
    }
}
