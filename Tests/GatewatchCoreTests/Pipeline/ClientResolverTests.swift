import Testing

@testable import GatewatchCore

@Suite struct ClientResolverTests {
    func resolve(_ source: ClientAddressSource, peer: String, xff: String?, trusted: [String] = []) -> String? {
        let resolver = ClientResolver(source: source, trustedProxies: CIDRSet(trusted.compactMap(CIDR.init)))
        guard let xff else { return resolver.resolve(peer: IPAddress(peer), forwardedFor: nil)?.description }
        var bytes = Array(xff.utf8)
        return bytes.withUnsafeMutableBytes { raw in
            resolver.resolve(peer: IPAddress(peer), forwardedFor: UnsafeRawBufferPointer(raw))?.description
        }
    }

    @Test(
        "hops with ports, brackets, IIS '+' spaces and garbage",
        arguments: [
            ("192.168.198.23", "192.168.198.23"),
            ("203.0.113.9:51234", "203.0.113.9"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("2001:db8::7", "2001:db8::7"),
            ("unknown,+198.51.100.4", "198.51.100.4"),
            ("+203.0.113.1,+10.0.0.1", "203.0.113.1"),
            ("::ffff:198.51.100.4", "198.51.100.4"),
            ("garbage", "10.0.1.1"),
        ]
    )
    func leftmost(xff: String, expected: String) {
        #expect(resolve(.forwardedForLeftmost, peer: "10.0.1.1", xff: xff) == expected)
    }

    @Test("rightmost untrusted walks the chain from the TCP peer leftwards")
    func rightmost() {
        let trusted = ["169.254.0.0/16", "20.50.10.0/28"]
        // App Service Linux: the container sees the front end; XFF ends with the gateway.
        #expect(
            resolve(
                .forwardedForRightmostUntrusted,
                peer: "169.254.130.1",
                xff: "203.0.113.7,+20.50.10.4",
                trusted: ["169.254.0.0/16"]
            ) == "20.50.10.4"
        )
        #expect(
            resolve(
                .forwardedForRightmostUntrusted,
                peer: "169.254.130.1",
                xff: "203.0.113.7, 20.50.10.4",
                trusted: trusted
            ) == "203.0.113.7"
        )
        // A forged leftmost entry does not matter: the first untrusted hop from the right wins.
        #expect(
            resolve(
                .forwardedForRightmostUntrusted,
                peer: "169.254.130.1",
                xff: "20.50.10.4, 198.51.100.9",
                trusted: trusted
            ) == "198.51.100.9"
        )
        // An untrusted peer is the client, whatever the header says.
        #expect(
            resolve(.forwardedForRightmostUntrusted, peer: "198.51.100.9", xff: "20.50.10.4", trusted: trusted)
                == "198.51.100.9"
        )
        // All hops trusted: the leftmost.
        #expect(
            resolve(.forwardedForRightmostUntrusted, peer: "169.254.1.1", xff: "20.50.10.5", trusted: trusted)
                == "20.50.10.5"
        )
        // No header: the peer.
        #expect(
            resolve(.forwardedForRightmostUntrusted, peer: "169.254.1.1", xff: nil, trusted: trusted) == "169.254.1.1"
        )
        #expect(resolve(.clientIP, peer: "10.1.1.1", xff: "203.0.113.7") == "10.1.1.1")
    }
}
