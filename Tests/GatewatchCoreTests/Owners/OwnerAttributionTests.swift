import Foundation
import Testing

@testable import GatewatchCore

@Suite struct OwnerAttributionTests {
    static let fixture = TestSupport.fixture("policy/ServiceTags_Public_owners_20261116.json")

    @Test(
        "the most specific tag wins: a smaller prefix over a larger one, a regional tag over its global parent",
        arguments: [
            ("20.50.99.7", "ApiManagement.WestEurope"),  // same /24 in ApiManagement and its regional tag
            ("13.69.64.10", "ApiManagement.WestEurope"),  // the regional /26 inside the global /24
            ("13.69.64.100", "ApiManagement"),  // the global /24 outside the /26, over AzureCloud.westeurope
            ("13.69.5.5", "AzureCloud.westeurope"),  // same /17 in AzureCloud and AzureCloud.westeurope
            ("13.70.0.1", "AzureCloud"),  // only the global /11
            ("13.69.100.31", "LogicApps.NorthEurope"),
            ("13.69.100.32", "AzureCloud.westeurope"),  // just past the /27
            ("13.73.248.23", "AzureFrontDoor.Backend"),
            ("13.73.248.24", "AzureCloud"),
            ("2603:1020:206::5", "ApiManagement.WestEurope"),
            ("2603:1020:2ff:1::9", "LogicApps.NorthEurope"),
            ("2603:1020:2ff:2::9", "AzureCloud.westeurope"),
            ("2603:1000::1", "AzureCloud"),
            ("2603:1030:21:d::9", "AzureFrontDoor.Backend"),
        ]
    )
    func mostSpecificTag(address: String, tag: String) throws {
        let attribution = OwnerAttribution(names: [:], serviceTags: try ServiceTags(path: Self.fixture))
        let owner = try #require(attribution.owner(of: address))
        #expect(owner.name == tag)
        #expect(owner.source == .serviceTag)
        #expect(owner.detail?.contains("ServiceTags_Public_owners_20261116.json") == true)
    }

    @Test("names: beat tags, tags beat special ranges, special ranges are labelled, the rest is unknown")
    func precedence() throws {
        let attribution = OwnerAttribution(
            names: ["20.50.99.0/28": "our second gateway", "20.50.99.7": "apim-dr", "10.20.0.0/16": "office"],
            serviceTags: try ServiceTags(path: Self.fixture)
        )
        #expect(attribution.owner(of: "20.50.99.7") == Owner(name: "apim-dr", source: .names, detail: "20.50.99.7"))
        #expect(attribution.owner(of: "20.50.99.8")?.name == "our second gateway")
        #expect(attribution.owner(of: "20.50.99.200")?.name == "ApiManagement.WestEurope")
        #expect(attribution.owner(of: "10.20.1.1")?.name == "office")
        let special = [
            ("10.1.2.3", "private (RFC 1918)"), ("172.31.0.1", "private (RFC 1918)"),
            ("192.168.1.1", "private (RFC 1918)"), ("100.64.1.1", "carrier-grade NAT (RFC 6598)"),
            ("169.254.129.3", "link-local (App Service platform)"), ("127.0.0.1", "loopback"), ("::1", "loopback"),
            ("192.0.2.1", "documentation (RFC 5737)"), ("2001:db8::1", "documentation (RFC 3849)"),
            ("fd12:3456::1", "unique local (IPv6 ULA)"), ("fe80::1", "link-local (App Service platform)"),
        ]
        for (address, label) in special {
            #expect(attribution.owner(of: address)?.name == label, "\(address)")
            #expect(attribution.owner(of: address)?.source == .special, "\(address)")
        }
        #expect(attribution.owner(of: "8.8.8.8") == nil)
        #expect(attribution.owner(of: "172.32.0.1") == nil)
        #expect(attribution.owner(of: "2a00::1") == nil)
        #expect(attribution.owner(of: "not an address") == nil)
        // An IPv4 address never matches an IPv6 block, even ::/0.
        let wide = OwnerAttribution(names: ["::/0": "all IPv6"], serviceTags: nil)
        #expect(wide.owner(of: "8.8.8.8") == nil)
        #expect(wide.owner(of: "2a00::1")?.name == "all IPv6")
    }

    /// A held-out set of overlapping tags, generated (nested, identical and disjoint blocks,
    /// IPv4 and IPv6), checked on random addresses against a linear scan of every block.
    @Test(
        "the compiled index agrees with a linear scan on generated overlaps and random addresses",
        arguments: [1, 2, 3]
    )
    func agreesWithLinearScan(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        var entries: [OwnerIndex.Entry] = []
        var roots: [CIDR] = []
        for index in 0..<400 {
            let ipv4 = random.next() % 3 != 0
            let block: CIDR
            if let parent = roots.randomElement(using: &random), random.next() % 2 == 0,
                parent.network.isIPv4 == ipv4, parent.prefixLength < (ipv4 ? 32 : 128)
            {
                // Nested inside (or identical to) an earlier block.
                let maximum = ipv4 ? 32 : 128
                let length =
                    parent.prefixLength + Int(random.next() % UInt64(min(8, maximum - parent.prefixLength) + 1))
                let offset = random.next()
                let address =
                    ipv4
                    ? IPAddress(
                        ipv4: parent.network.ipv4Value! | (UInt32(truncatingIfNeeded: offset) >> parent.prefixLength)
                    )
                    : IPAddress(
                        value: parent.network.value | (UInt128(offset) << 64 | UInt128(random.next()))
                            >> parent.prefixLength
                    )
                block = CIDR(address: address, prefixLength: length)
            } else {
                let address =
                    ipv4
                    ? IPAddress(ipv4: UInt32(truncatingIfNeeded: random.next()) & 0x0FFF_FFFF)
                    : IPAddress(value: UInt128(0x2603) << 112 | UInt128(random.next() & 0xFFFF) << 96)
                block = CIDR(
                    address: address,
                    prefixLength: ipv4 ? 8 + Int(random.next() % 12) : 20 + Int(random.next() % 20)
                )
            }
            roots.append(block)
            let owner = Owner(name: "tag\(index)", source: .serviceTag)
            entries.append(OwnerIndex.Entry(block: block, owner: owner, rank: Int(random.next() % 4)))
        }
        let index = OwnerIndex(entries)
        func scan(_ address: IPAddress) -> String? { OwnerIndex.linearScan(entries, address) }
        for probe in 0..<20_000 {
            let address: IPAddress
            if probe % 2 == 0, let block = entries.randomElement(using: &random)?.block {
                let spread = random.next()
                address =
                    block.network.isIPv4
                    ? IPAddress(ipv4: block.network.ipv4Value! &+ UInt32(truncatingIfNeeded: spread % 4096) &- 2048)
                    : IPAddress(value: block.network.value &+ UInt128(spread % 1 << 20) &- UInt128(1 << 19))
            } else {
                address =
                    probe % 3 == 0
                    ? IPAddress(
                        value: UInt128(0x2603) << 112 | UInt128(random.next() & 0xFFFF) << 96 | UInt128(random.next())
                    )
                    : IPAddress(ipv4: UInt32(truncatingIfNeeded: random.next()) & 0x0FFF_FFFF)
            }
            #expect(index.owner(of: address)?.name == scan(address), "\(address)")
        }
    }

    @Test("the service-tags file's age is judged from its file name's date against the newest data")
    func serviceTagsAge() throws {
        let tags = try ServiceTags(path: Self.fixture)
        let attribution = OwnerAttribution(names: [:], serviceTags: tags)
        #expect(attribution.serviceTagsAgeWarning(newest: "2026-12-16T10:00:00Z") == nil)  // 30 days
        let warning = try #require(attribution.serviceTagsAgeWarning(newest: "2026-12-17T10:00:00Z"))
        #expect(warning.contains("2026-11-16"))
        #expect(warning.contains("31 days older"))
        #expect(warning.contains("changeNumber 85"))
        #expect(warning.contains("file name"))
        let undated = OwnerAttribution(
            names: [:],
            serviceTags: try ServiceTags(path: TestSupport.fixture("policy/ServiceTags_Public_sample.json"))
        )
        #expect(undated.serviceTagsAgeWarning(newest: "2026-11-20T00:00:00Z")?.contains("age is unknown") == true)
        #expect(OwnerAttribution.none.serviceTagsAgeWarning(newest: "2026-11-20T00:00:00Z") == nil)
    }

    @Test("PTR answers: compression pointers are followed, loops refused, hostile bytes escaped")
    func pointerParsing() throws {
        let address = try #require(IPAddress("192.0.2.7"))
        #expect(ReverseDNSResolver.pointerName(address) == "7.2.0.192.in-addr.arpa")
        #expect(
            ReverseDNSResolver.pointerName(try #require(IPAddress("2001:db8::1")))
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        )
        let question = ReverseDNSResolver.query(for: address, id: 0x1234)
        var answer = question
        answer[2] = 0x81
        answer[3] = 0x80
        answer[7] = 1
        // Answer: name = pointer to the question; PTR rdata "<b>\n" + pointer to "in-addr.arpa".
        let label: [UInt8] = Array("<b>\u{1B}[31m".utf8)
        let suffixOffset = 12 + 2 + 2 + 2 + 4  // "7" "2" "0" "192" labels
        let rdata: [UInt8] = [UInt8(label.count)] + label + [0xC0, UInt8(suffixOffset)]
        answer += [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, UInt8(rdata.count)] + rdata
        let name = try #require(ReverseDNSResolver.parseAnswer(answer, id: 0x1234, question: question))
        #expect(name == "\\060b\\062\\027\\09131m.in-addr.arpa")
        #expect(ReverseDNSResolver.parseAnswer(answer, id: 0x9999, question: question) == nil)
        // A pointer to itself is refused (no name) rather than followed forever.
        var loop = question
        loop[2] = 0x81
        loop[3] = 0x80
        loop[7] = 1
        loop += [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xC0, UInt8(question.count + 12)]
        #expect(ReverseDNSResolver.parseAnswer(loop, id: 0x1234, question: question) == .some(nil))
        var nxdomain = question
        nxdomain[2] = 0x81
        nxdomain[3] = 0x83
        #expect(ReverseDNSResolver.parseAnswer(nxdomain, id: 0x1234, question: question) == .some(nil))
    }

    @Test("PTR answers: a record for another name is not ours, a CNAME chain (RFC 2317) is followed, TC is no answer")
    func pointerOwners() throws {
        let address = try #require(IPAddress("192.0.2.7"))
        let question = ReverseDNSResolver.query(for: address, id: 0x4242)
        func wire(_ name: String) -> [UInt8] {
            name.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
        }
        func response(_ records: [(owner: [UInt8], type: UInt8, rdata: [UInt8])], flags: UInt8 = 0x81) -> [UInt8] {
            var message = question
            message[2] = flags
            message[3] = 0x80
            message[7] = UInt8(records.count)
            for record in records {
                message +=
                    record.owner + [0, record.type, 0, 1, 0, 0, 0, 60, 0, UInt8(record.rdata.count)] + record.rdata
            }
            return message
        }
        // A PTR for 8.2.0.192 in the answer to 7.2.0.192 names another address.
        let other = response([(wire("8.2.0.192.in-addr.arpa"), 12, wire("evil.example"))])
        #expect(ReverseDNSResolver.parseAnswer(other, id: 0x4242, question: question) == .some(nil))
        // RFC 2317: 7.2.0.192.in-addr.arpa CNAME 7.0-26.2.0.192.in-addr.arpa, which has the PTR.
        let target = wire("7.0-26.2.0.192.in-addr.arpa")
        let chain = response([([0xC0, 12], 5, target), (target, 12, wire("Host.Example"))])
        #expect(ReverseDNSResolver.parseAnswer(chain, id: 0x4242, question: question) == .some("Host.Example"))
        let ours = response([([0xC0, 12], 12, wire("host.example"))])
        #expect(ReverseDNSResolver.parseAnswer(ours, id: 0x4242, question: question) == .some("host.example"))
        // Truncated (TC) without the record: too long for UDP (many PTR names), not "no name" to cache.
        let truncated = response([], flags: 0x83)
        #expect(ReverseDNSResolver.parseAnswer(truncated, id: 0x4242, question: question) == nil)
    }
}
