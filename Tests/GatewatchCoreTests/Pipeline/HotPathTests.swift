import Foundation
import Testing

@testable import GatewatchCore

/// The byte-level pieces of the ingest hot path, each checked against the plain implementation it
/// replaces: the counters' hash map against `Dictionary`, address and time texts against their
/// `String` forms, the word-at-a-time tokenizer against a byte-by-byte split.
@Suite struct HotPathTests {
    @Test func flatMapAgreesWithDictionary() {
        var random = SplitMix64(state: 7)
        var map = FlatMap<AggregateKey, AggregateValue>()
        var model: [AggregateKey: AggregateValue] = [:]
        for round in 0..<3 {
            // Few hours, addresses and statuses: many repeats, and keys that differ in one field.
            for _ in 0..<60_000 {
                let key = AggregateKey(
                    hour: Int64(random.next() % 4) * 3600,
                    site: Int32(random.next() % 3),
                    address: IPAddress(high: 0, low: 0xFFFF_0000_0000 | random.next() % 5000),
                    invalidAddress: 0,
                    verdictCode: UInt8(random.next() % 4),
                    outcomeCode: UInt8(random.next() % 3),
                    status: [200, 404, 403][Int(random.next() % 3)],
                    substatus: Int32(random.next() % 2)
                )
                let bytes = Int64(random.next() % 1000)
                let index = map.insertIndex(key, default: AggregateValue())
                map[valueAt: index].merge(bytes: bytes, timeTaken: 5, time: Int64(round))
                model[key, default: AggregateValue()].merge(bytes: bytes, timeTaken: 5, time: Int64(round))
            }
            #expect(map.count == model.count)
            var seen = 0
            for (key, value) in map {
                seen += 1
                #expect(model[key]?.requests == value.requests)
                #expect(model[key]?.bytes == value.bytes)
                #expect(map.index(of: key) != nil)
            }
            #expect(seen == model.count)
            let absent = AggregateKey(
                hour: 99 * 3600,
                site: 0,
                address: IPAddress(high: 0, low: 1),
                invalidAddress: 0,
                verdictCode: 0,
                outcomeCode: 0,
                status: 200,
                substatus: 0
            )
            #expect(map[absent] == nil)
            map.removeAll()
            model.removeAll()
            #expect(map.isEmpty)
            var iterator = map.makeIterator()
            #expect(iterator.next() == nil)
        }
    }

    /// The per-day, per-site endpoint quota of the latency histograms, with days and sites
    /// interleaved (the set in use is swapped in and out of its dictionary).
    @Test func latencyEndpointQuotaPerDayAndSite() {
        var inventories = Inventories()
        var model: [Int64: Set<Int32>] = [:]
        var expected: [Inventories.LatencyKey: Int64] = [:]
        var random = SplitMix64(state: 3)
        for _ in 0..<20_000 {
            let day = Int32(20_000 + random.next() % 2)
            let site = Int32(random.next() % 3)
            let endpoint = Int32(random.next() % 700)
            inventories.addLatency(day: day, site: site, endpoint: endpoint, verdictCode: 0, milliseconds: 5)
            let dayKey = Int64(day) << 32 | Int64(site)
            var named = model[dayKey, default: []]
            if !named.contains(endpoint), named.count < Inventories.endpointsPerDay { named.insert(endpoint) }
            model[dayKey] = named
            let key = Inventories.LatencyKey(
                day: day,
                site: site,
                endpoint: named.contains(endpoint) ? endpoint : -1,
                verdictCode: 0,
                bucket: Inventories.bucket(5)
            )
            expected[key, default: 0] += 1
        }
        #expect(inventories.latency.count == expected.count)
        for (key, count) in inventories.latency { #expect(expected[key] == count) }
        #expect(model.values.allSatisfy { $0.count == Inventories.endpointsPerDay })
    }

    /// Route templates against a plain split-map-join of the segments.
    @Test func routeTemplatesMatchSegmentMapping() {
        var stems = [
            "", "/", "//", "/api/v1/orders", "/api/v2/products/164620", "/a/123/b/456/", "123", "abc", "/v1",
            "/x/DEADBEEF12/y", "/guid/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items", "//double//slash/", "/trailing/",
            "/api/v1/orders/42/lines/7", "/beef/cafe", "/abc-123",
        ]
        var random = SplitMix64(state: 19)
        let alphabet = Array("/0123456789abcdefXYZ-_.".utf8)
        for _ in 0..<3_000 {
            let length = Int(random.next() % 40)
            stems.append(
                String(
                    decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] },
                    as: UTF8.self
                )
            )
        }
        var inventories = Inventories()
        for stem in stems {
            let expected = stem.split(separator: "/", omittingEmptySubsequences: false)
                .map { RouteTemplate.isIdentifier(Array($0.utf8)) ? "{id}" : String($0) }
                .joined(separator: "/")
            let id = Array(stem.utf8).withUnsafeBytes { inventories.templateID($0) }
            #expect(inventories.templates.text(id) == expected, "\(stem)")
        }
    }

    @Test func addressTextMatchesDescription() throws {
        var random = SplitMix64(state: 11)
        var texts = [
            "0.0.0.0", "255.255.255.255", "10.0.0.10", "1.2.3.4", "100.64.9.99", "::1", "2001:db8::8:800:200c:417a",
            "fe80::",
        ]
        for _ in 0..<20_000 {
            let value = UInt32(truncatingIfNeeded: random.next())
            texts.append("\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        for text in texts {
            let address = try #require(IPAddress(text))
            let count = address.writeText(into: buffer)
            #expect(
                String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self)
                    == address.description
            )
            if address.isIPv4 { #expect(address.description == text) }
        }
    }

    @Test func flushOrderIsTheTextOrderOfAddresses() throws {
        var random = SplitMix64(state: 13)
        var texts: [String] = []
        for _ in 0..<5_000 {
            let value = UInt32(truncatingIfNeeded: random.next() % 0x0300_0000)
            texts.append(IPAddress(high: 0, low: 0xFFFF_0000_0000 | UInt64(value)).description)
        }
        let byPrefix = texts.sorted { lhs, rhs in
            let left = Array(lhs.utf8).withUnsafeBytes { FlushOrder.prefix($0) }
            let right = Array(rhs.utf8).withUnsafeBytes { FlushOrder.prefix($0) }
            return left.0 != right.0 ? left.0 < right.0 : left.1 < right.1
        }
        #expect(byPrefix == texts.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    @Test func timeTextWithoutAllocation() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 8)
        defer { buffer.deallocate() }
        for (seconds, text) in [
            (0 as Int64, "1970-01-01T00:00:00Z"), (1_710_201_599, "2024-03-11T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
        ] {
            let count = UTCTime.write(seconds, into: buffer)
            #expect(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), as: UTF8.self) == text)
            #expect(UTCTime.format(seconds) == text)
        }
        let invalid = UTCTime.write(400_000_000_000, into: buffer)
        #expect(
            String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<invalid]), as: UTF8.self) == "invalid-time"
        )
        #expect(UTCTime.format(400_000_000_000) == "invalid-time")
    }

    /// Values of every length around the 8-byte steps, separated by spaces and tabs, with a NUL
    /// at every position of a long value.
    @Test func tokenizerMatchesByteSplit() throws {
        let names = ["c-ip", "cs-method", "cs-uri-stem", "cs(User-Agent)", "cs(Referer)", "cs-host"]
        let fields: [W3CField] = [.clientIP, .method, .uriStem, .userAgent, .referer, .host]
        let layout = "#Fields: date time " + names.joined(separator: " ")
        var random = SplitMix64(state: 17)
        for _ in 0..<2_000 {
            let parser = W3CParser()
            #expect(
                layout.utf8.withContiguousStorageIfAvailable { parser.parse(UnsafeRawBufferPointer($0)) } == .directive
            )
            var values: [String] = []
            var line = "2026-11-20 10:00:00"
            for _ in names {
                let length = Int(random.next() % 40) + 1
                let value = String((0..<length).map { _ in Character(UnicodeScalar(UInt8(0x21 + random.next() % 90))) })
                    .replacingOccurrences(of: "\"", with: "q").replacingOccurrences(of: "#", with: "h")
                values.append(value)
                line += random.next() % 3 == 0 ? "\t" : (random.next() % 2 == 0 ? "  " : " ")
                line += value
            }
            let kind = Array(line.utf8).withUnsafeBytes { bytes -> W3CParser.LineKind in
                let kind = parser.parse(bytes)
                for (index, name) in fields.enumerated() {
                    let field = parser.field(name)
                    #expect(
                        field.map { String(decoding: $0, as: UTF8.self) }
                            == (values[index] == "-" ? nil : values[index])
                    )
                }
                return kind
            }
            #expect(kind == .record)
        }
        let parser = W3CParser()
        _ = Array("#Fields: date time cs-method cs(User-Agent)".utf8).withUnsafeBytes { parser.parse($0) }
        let long = Array("2026-11-20 10:00:00 abcdefghijklmnopqrstuvwxyz0123456789 z".utf8)
        for position in 20..<56 {
            var bytes = long
            bytes[position] = 0
            #expect(bytes.withUnsafeBytes { parser.parse($0) } == .malformed(.binary))
        }
    }

    /// The split of plain lines (SSE2 on x86-64, and the eight-byte word one) against a byte loop:
    /// token offsets on every alignment and length, `nil` for a line with a quote, CR or NUL, or
    /// with more tokens than the room.
    @Test(arguments: [false, true]) func plainSplitMatchesByteLoop(words: Bool) {
        var random = SplitMix64(state: 29)
        let alphabet: [UInt8] = Array("abcdefgh  \t".utf8) + [0x22, 0x0D, 0x00]
        let starts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let ends = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer {
            starts.deallocate()
            ends.deallocate()
        }
        var plain = 0
        for round in 0..<20_000 {
            let length = Int(random.next() % 70)
            let special = round % 4 == 0
            let line: [UInt8] = (0..<length).map { _ in
                alphabet[Int(random.next() % UInt64(special ? alphabet.count : alphabet.count - 3))]
            }
            guard let begin = line.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            let capacity = round % 7 == 0 ? 3 : 64
            var expected: [(Int, Int)] = []
            var index = begin
            while index < line.count {
                if line[index] == 0x20 || line[index] == 0x09 {
                    index += 1
                    continue
                }
                let start = index
                while index < line.count, line[index] != 0x20, line[index] != 0x09 { index += 1 }
                expected.append((start, index))
            }
            let hasSpecial = line.contains { $0 == 0x22 || $0 == 0x0D || $0 == 0 }
            let found = line.withUnsafeBytes { bytes in
                W3CParser.splitPlain(
                    bytes.baseAddress!,
                    from: begin,
                    count: bytes.count,
                    starts: starts,
                    ends: ends,
                    capacity: capacity,
                    words: words
                )
            }
            if hasSpecial || expected.count > capacity {
                #expect(found == nil, "\(line)")
                continue
            }
            plain += 1
            #expect(found == expected.count, "\(line)")
            for (token, range) in expected.enumerated() where token < (found ?? 0) {
                #expect(Int(starts[token]) == range.0 && Int(ends[token]) == range.1, "\(line) token \(token)")
            }
        }
        #expect(plain > 10_000)
    }

    /// The arena interner against a dictionary: the same id for the same bytes, the bytes back,
    /// long values cut to the maximum, the empty value, and ids stable across table growth.
    @Test func byteInternerAgreesWithDictionary() {
        var interner = ByteInterner(maximumLength: 24, capacity: 4)
        var reference: [[UInt8]: Int32] = [:]
        var random = SplitMix64(state: 23)
        var values: [[UInt8]] = [[], Array("a".utf8), Array(String(repeating: "x", count: 40).utf8)]
        for _ in 0..<20_000 {
            let length = Int(random.next() % 32)
            values.append((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next() % 6) + 0x61 })
        }
        for value in values {
            let stored = Array(value.prefix(24))
            let id = value.withUnsafeBytes { interner.id($0) }
            if let known = reference[stored] {
                #expect(id == known)
            } else {
                #expect(Int(id) == reference.count)
                reference[stored] = id
            }
        }
        #expect(interner.count == reference.count)
        for (bytes, id) in reference {
            #expect(interner.bytes(id) == bytes)
            #expect(interner.withBytes(id) { Array($0) } == bytes)
            #expect(interner.hash(of: id) == bytes.withUnsafeBytes { ByteInterner.hash($0) })
        }
    }

    /// The table of latency buckets below 1,024 ms against the search over the bounds.
    @Test func latencyBucketTableMatchesBounds() {
        let bounds = Inventories.bucketBounds
        for milliseconds in Int64(-3)...5_000 {
            let expected = milliseconds > bounds[bounds.count - 1] ? -1 : Int32(bounds.first { $0 >= milliseconds }!)
            #expect(Inventories.bucket(milliseconds) == expected, "\(milliseconds)")
        }
        #expect(Inventories.bucket(8_000_000) == 8_000_000)
        #expect(Inventories.bucket(8_000_001) == -1)
    }
}
