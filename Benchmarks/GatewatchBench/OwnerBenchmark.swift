import Foundation
import GatewatchCore

/// `gatewatch-bench owners`: owner attribution (issue 24) of 1,000,000 distinct client addresses
/// (as stored text: 75% IPv4, 25% IPv6) against a service-tags file shaped like the public one
/// (2,000 tags, 50,000 prefixes, regional tags repeating their global parent's prefixes).
enum OwnerBenchmark {
    static func run(addresses count: Int = 1_000_000) throws {
        var generator = PolicyBenchmark.Generator(state: 24)
        var values: [[String: Any]] = []
        var globalPrefixes: [String] = []
        for tag in 0..<2_000 {
            var prefixes: [String] = []
            for _ in 0..<25 {
                let ipv4 = generator.next() % 4 != 0
                let address = PolicyBenchmark.randomAddress(&generator, ipv4: ipv4)
                let length = ipv4 ? 16 + Int(generator.next() % 14) : 32 + Int(generator.next() % 33)
                prefixes.append(CIDR(address: address, prefixLength: length).description)
            }
            let regional = tag % 2 == 1
            if regional { prefixes += globalPrefixes.suffix(10) } else { globalPrefixes = prefixes }
            let name = "Service\(tag / 2)" + (regional ? ".Region\(tag % 40)" : "")
            values.append([
                "name": name, "id": name,
                "properties": ["region": regional ? "region\(tag % 40)" : "", "addressPrefixes": prefixes],
            ])
        }
        let data = try JSONSerialization.data(withJSONObject: ["changeNumber": 1, "cloud": "Public", "values": values])
        let tags = try ServiceTags(data: data, path: "ServiceTags_Bench_20261201.json")
        var texts: [String] = []
        texts.reserveCapacity(count)
        var seen = Set<IPAddress>()
        while texts.count < count {
            let address = PolicyBenchmark.randomAddress(&generator, ipv4: generator.next() % 4 != 0)
            if seen.insert(address).inserted { texts.append(address.description) }
        }
        seen = []
        let residentBefore = residentKilobytes()
        let buildStart = ContinuousClock.now
        let attribution = OwnerAttribution(names: ["10.0.0.0/8": "corp"], serviceTags: tags)
        let buildTime = ContinuousClock.now - buildStart
        var counts: [OwnerSource: Int] = [:]
        let start = ContinuousClock.now
        for text in texts {
            if let owner = attribution.owner(of: text) { counts[owner.source, default: 0] += 1 }
        }
        let elapsed = ContinuousClock.now - start
        let residentAfter = residentKilobytes()
        print("owners: \(tags.tags.count) tags compiled in \(buildTime)")
        print(
            "owners: \(count) distinct addresses attributed in \(elapsed) "
                + "(\(counts[.serviceTag] ?? 0) service-tag, \(counts[.special] ?? 0) special, \(counts[.names] ?? 0) names)"
        )
        print("owners: peak resident set \(residentAfter / 1024) MiB (\(residentBefore / 1024) MiB before compiling)")
    }

    /// `VmHWM` of /proc/self/status, in KiB.
    static func residentKilobytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}
