import GatewatchCore

/// `gatewatch-bench policy`: lookups per second through the compiled evaluator against a
/// 10,000-entry list of mixed IPv4/IPv6 CIDR blocks (first match wins, allowUnlisted=false).
enum PolicyBenchmark {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomAddress(_ generator: inout Generator, ipv4: Bool) -> IPAddress {
        if ipv4 { return IPAddress(ipv4: UInt32(truncatingIfNeeded: generator.next())) }
        return IPAddress(high: 0x2000_0000_0000_0000 | (generator.next() >> 4), low: generator.next())
    }

    static func run(entries: Int = 10_000, lookups: Int = 20_000_000) throws {
        var generator = Generator(state: 42)
        var lines: [String] = []
        var samples: [IPAddress] = []
        for index in 0..<entries {
            let ipv4 = index % 2 == 0
            let address = randomAddress(&generator, ipv4: ipv4)
            let length = ipv4 ? 8 + Int(generator.next() % 25) : 16 + Int(generator.next() % 113)
            let block = CIDR(address: address, prefixLength: length)
            lines.append(block.description)
            samples.append(address)
        }
        let text = lines.joined(separator: "\n")
        let buildStart = ContinuousClock.now
        let policy = try Policy.compile(documents: [PolicyDocument(path: "bench-list.txt", text: text)])
        let buildTime = ContinuousClock.now - buildStart
        // Half the probes hit listed blocks, half are random.
        var probes: [IPAddress] = []
        probes.reserveCapacity(1 << 20)
        for index in 0..<(1 << 20) {
            if index % 2 == 0 {
                probes.append(samples[Int(generator.next() % UInt64(samples.count))])
            } else {
                probes.append(randomAddress(&generator, ipv4: index % 4 == 1))
            }
        }
        var allowed = 0
        let mask = probes.count - 1
        let start = ContinuousClock.now
        for index in 0..<lookups {
            let decision = policy.evaluate(PolicyRequest(address: probes[index & mask]))
            if case .allow = decision.verdict { allowed &+= 1 }
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(lookups) / seconds : 0
        var allowedByAddress = 0
        let addressStart = ContinuousClock.now
        for index in 0..<lookups {
            if case .allow = policy.evaluate(address: probes[index & mask]).verdict { allowedByAddress &+= 1 }
        }
        let addressElapsed = ContinuousClock.now - addressStart
        let addressSeconds = Double(addressElapsed.components.seconds) + Double(addressElapsed.components.attoseconds) / 1e18
        var blocks: [FirstMatchTable.Entry] = []
        for (index, line) in lines.enumerated() {
            if let block = CIDR(line) { blocks.append(FirstMatchTable.Entry(block, priority: Int32(index))) }
        }
        let table = FirstMatchTable(blocks)
        var hits = 0
        let tableStart = ContinuousClock.now
        for index in 0..<lookups where table.lookup(probes[index & mask]) >= 0 { hits &+= 1 }
        let tableElapsed = ContinuousClock.now - tableStart
        let tableSeconds = Double(tableElapsed.components.seconds) + Double(tableElapsed.components.attoseconds) / 1e18
        print("policy: \(entries) mixed IPv4/IPv6 CIDR entries compiled in \(buildTime)")
        print("policy: \(lookups) evaluations in \(format2(seconds)) s = \(format2(rate / 1e6)) million lookups/s on one core via evaluate(PolicyRequest) (\(allowed) allowed)")
        print("policy: evaluate(address:): \(format2(Double(lookups) / addressSeconds / 1e6)) million lookups/s on one core (\(allowedByAddress) allowed)")
        print("policy: raw FirstMatchTable: \(format2(Double(lookups) / tableSeconds / 1e6)) million lookups/s (\(table.segmentCount) segments, \(hits) hits)")
    }

    static func format2(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        let scaled = (value * 100).rounded() / 100
        return "\(scaled)"
    }
}
