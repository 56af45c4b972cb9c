import Foundation
import Testing

@testable import GatewatchCore

/// Replays every input in `Tests/Fixtures/fuzz/<target>/` through the code path of the matching
/// libFuzzer target in `Fuzz/Sources/` (same input conventions; see
/// `Tests/Fixtures/fuzz/README.md`).
///
/// A crash here is a crash the fuzzers found (or a nasty seed); the invariants the fuzz targets
/// check with `precondition` are `#expect`s here.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [String] {
        let folder = TestSupport.fixture("fuzz/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        let data = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
        return [UInt8](data)
    }

    @Test func everyTargetHasInputs() {
        for target in ["w3c", "address", "policy", "gateway"] {
            #expect(!Self.inputs(target).isEmpty, "no regression inputs for \(target)")
        }
    }

    // MARK: W3C (Fuzz/Sources/FuzzW3C)

    @Test(arguments: inputs("w3c")) func w3c(path: String) throws {
        let input = try Self.bytes(path)
        guard let control = input.first else { return }
        let parser = W3CParser(requestIDField: control & 0x40 != 0 ? "x-trace" : nil)
        var splitter = LineSplitter(maximumLineLength: control & 0x80 != 0 ? 64 : 1 << 16)
        let chunkSize = Int(control & 0x3F) + 1
        var records = 0
        func handle(_ event: LineSplitter.Event, _ offset: Int64) {
            guard case .line(let line) = event else { return }
            switch parser.parse(line) {
            case .record:
                records += 1
                for field in W3CField.allCases {
                    if let value = parser.field(field) { _ = value.reduce(0) { $0 &+ Int($1) } }
                }
            case .malformed(let reason):
                #expect(!reason.description.isEmpty)
            case .directive, .blank, .skipped:
                break
            }
        }
        let body = Array(input.dropFirst())
        body.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunkSize)
                splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), handle)
                start = end
            }
        }
        splitter.finish(handle)
        #expect(splitter.offset == Int64(body.count), "LineSplitter lost bytes in \(path)")
    }

    // MARK: Addresses (Fuzz/Sources/FuzzAddress)

    @Test(arguments: inputs("address")) func address(path: String) throws {
        let input = try Self.bytes(path)
        try input.withUnsafeBytes { bytes in
            try Self.checkAddress(bytes)
            let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
            let peerBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<newline])
            let forwardedFor = UnsafeRawBufferPointer(rebasing: bytes[min(bytes.count, newline + 1)...])
            try Self.checkAddress(peerBytes)
            let peer = IPAddress(bytes: peerBytes)
            var start = 0
            for index in 0...forwardedFor.count
            where index == forwardedFor.count || forwardedFor[index] == UInt8(ascii: ",") {
                let hop = UnsafeRawBufferPointer(rebasing: forwardedFor[start..<index])
                if let address = ClientResolver.parseHop(hop) { Self.roundTrip(address) }
                try Self.checkAddress(hop)
                start = index + 1
            }
            var trusted = [CIDR("10.0.0.0/8")!, CIDR("fd00::/8")!, CIDR("127.0.0.1")!]
            if let block = CIDR(String(decoding: peerBytes, as: UTF8.self)) { trusted.append(block) }
            for source in ClientAddressSource.allCases {
                let resolver = ClientResolver(source: source, trustedProxies: CIDRSet(trusted))
                for header in [forwardedFor, nil] as [UnsafeRawBufferPointer?] {
                    let resolved = resolver.resolve(peer: peer, forwardedFor: header)
                    if let resolved { Self.roundTrip(resolved) }
                    if source == .clientIP || header == nil || header!.isEmpty { #expect(resolved == peer) }
                }
            }
        }
    }

    static func checkAddress(_ bytes: UnsafeRawBufferPointer) throws {
        let fromBytes = IPAddress(bytes: bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let fromText = IPAddress(text)
        if text.utf8.elementsEqual(bytes) {
            #expect(fromBytes == fromText, "IPAddress(bytes:) and IPAddress(_:) disagree on \(text.debugDescription)")
        }
        if let fromBytes { roundTrip(fromBytes) }
        if let fromText { roundTrip(fromText) }
        if let block = CIDR(text) {
            let again = try #require(CIDR(block.description), "CIDR description \(block.description) does not parse")
            #expect(again.network == block.network && again.prefixLength == block.prefixLength)
            #expect(block.contains(block.network))
            // Found by FuzzAddress (fixture crash-cidr-v6-80-last-is-ipv4.txt): `::/80` used to end at
            // ::ffff:255.255.255.255, an IPv4 address, so the block excluded its own end and was
            // dropped from the rule tables. An IPv6 block now ends below the IPv4-mapped range.
            #expect(block.network.isIPv4 == block.last.isIPv4)
            #expect(block.contains(block.last))
            #expect(block.network <= block.last)
            #expect(CIDRSet([block]).contains(block.network))
        }
    }

    static func roundTrip(_ address: IPAddress) {
        #expect(IPAddress(address.description) == address, "\(address) does not parse back to itself")
        if let v4 = address.ipv4Value { #expect(IPAddress(ipv4: v4) == address) }
        #expect(IPAddress(value: address.value) == address)
    }

    // MARK: Policy (Fuzz/Sources/FuzzPolicy)

    @Test(arguments: inputs("policy")) func policy(path: String) throws {
        let input = try Self.bytes(path)
        let parts = input.split(separator: 0x1E, maxSplits: 3, omittingEmptySubsequences: false)
        let documents = parts.enumerated().map { index, part in
            PolicyDocument(
                path: index == 0 ? "fuzz" : "fuzz/\(index)/web.config",
                text: String(decoding: part, as: UTF8.self)
            )
        }
        // Throwing or succeeding are both fine; crashing is not.
        do {
            _ = try Policy.compile(documents: documents)
        } catch {
            #expect(!String(describing: error).isEmpty)
        }
    }

    // MARK: Gateway (Fuzz/Sources/FuzzGateway)

    static let gatewayPrefixes = [
        "",
        "TimeGenerated [UTC],OperationName,CorrelationId,Region,IsRequestSuccess,TotalTime,CallerIpAddress,Method,Url,"
            + "ResponseCode,ResponseSize,BackendMethod,BackendUrl,BackendResponseCode,BackendTime,ApiId,OperationId,"
            + "ApimSubscriptionId,LastErrorReason,RequestHeaders,_ResourceId\n",
        #"{"time":"2026-11-23T10:15:22.1234567Z","operationName":"Microsoft.ApiManagement/GatewayLogs","category":"GatewayLogs","callerIpAddress":"192.0.2.1","properties":{"method":"GET","url":"https://x/a","responseCode":200,"apiId":"a"}}"#
            + "\n",
        #"192.0.2.10 - - [23/Nov/2026:11:15:22 +0100] "GET /a HTTP/1.1" 200 1830 "-" "ua""# + "\n",
    ]

    @Test(arguments: inputs("gateway")) func gateway(path: String) throws {
        let raw = try Self.bytes(path)
        guard let control = raw.first else { return }
        var input = Array(Self.gatewayPrefixes[Int(control & 3)].utf8)
        input.append(contentsOf: raw.dropFirst())
        guard let consumer = GatewayFormats.consumer(forHead: Array(input.prefix(64 * 1024)), path: "fuzz") else {
            return
        }
        var splitter = LineSplitter(maximumLineLength: 1 << 16)
        var lineNumber = 0
        func handle(_ event: LineSplitter.Event, _ offset: Int64) {
            lineNumber += 1
            guard case .line(let line) = event else { return }
            _ = consumer.consume(line, lineNumber: lineNumber)
        }
        let chunkSize = Int(control >> 2) * 7 + 1
        input.withUnsafeBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunkSize)
                splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), handle)
                start = end
            }
        }
        splitter.finish(handle)
        #expect(consumer.pendingRowCount >= 0)
    }
}

@Suite struct MappedRangeBlockTests {
    @Test(
        "an IPv6 block reaching into the IPv4-mapped range still decides IPv6 addresses",
        arguments: ["::/80", "::8000:0:0/81", "::fffe:0:0/95"]
    )
    func mappedEnd(text: String) throws {
        let block = try #require(CIDR(text))
        #expect(block.contains(block.network))
        #expect(block.contains(block.last))
        #expect(!block.contains(try #require(IPAddress("10.1.2.3"))))
        let policy = try Policy.compile(documents: [PolicyDocument(path: "list.txt", text: "\(text)\n")])
        #expect(policy.evaluate(address: block.network).verdict == .allow)
        #expect(policy.evaluate(address: try #require(IPAddress("2001:db8::1"))).verdict == .deny)
    }
}
