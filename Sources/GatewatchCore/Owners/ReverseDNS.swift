import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why reverse DNS could not be set up.
public enum ReverseDNSError: Error, Equatable, CustomStringConvertible {
    /// The resolver text is not `IPv4[:port]`.
    case badResolver(String)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .badResolver(let text):
            "cannot use resolver '\(SafeText.terminal(text))'; give an IPv4 address and optional port, "
                + "e.g. --resolver 127.0.0.1:5353 (or GATEWATCH_RESOLVER)"
        }
    }
}

/// Reverse DNS (PTR) over UDP against one resolver (issue 24).
///
/// Concurrency is bounded and every query has a timeout. The query is built and the answer parsed here (with name compression), so
/// the resolver can be any `address:port`, such as a test server on 127.0.0.1.
///
/// PTR records are hostile text: every byte of a label outside `A–Z a–z 0–9 - _` comes back in
/// DNS presentation form, `\DDD`, so no name carries markup, quotes or control characters.
public struct ReverseDNSResolver: Sendable {
    /// The resolver's IPv4 address, network order as `sin_addr` wants it.
    var host: UInt32
    /// The resolver's UDP port.
    public var port: UInt16
    /// The time to wait for each answer.
    public var timeoutMilliseconds: Int
    /// Queries in flight at most.
    public var concurrency: Int

    /// Creates a resolver client.
    ///
    /// - Parameters:
    ///   - resolver: `IPv4` or `IPv4:port` (port 53 by default).
    ///   - timeoutMilliseconds: The wait for each answer.
    ///   - concurrency: Queries in flight at most.
    /// - Throws: ``ReverseDNSError/badResolver(_:)``.
    public init(resolver: String, timeoutMilliseconds: Int = 1000, concurrency: Int = 8) throws(ReverseDNSError) {
        let parts = resolver.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]), let value = address.ipv4Value else {
            throw .badResolver(resolver)
        }
        var port: UInt16 = 53
        if parts.count == 2 {
            guard let parsed = UInt16(parts[1]), parsed > 0 else { throw .badResolver(resolver) }
            port = parsed
        }
        host = value.bigEndian
        self.port = port
        self.timeoutMilliseconds = max(1, timeoutMilliseconds)
        self.concurrency = max(1, concurrency)
    }

    /// The first IPv4 `nameserver` of `/etc/resolv.conf`, the default resolver.
    public static func systemResolver() -> String? {
        guard let text = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, fields[0] == "nameserver", IPAddress(fields[1])?.isIPv4 == true {
                return String(fields[1])
            }
        }
        return nil
    }

    /// Resolves addresses, at most ``concurrency`` at a time.
    ///
    /// - Parameter addresses: The addresses.
    /// - Returns: Per address answered, its PTR name (escaped) or `nil` when the resolver has
    ///   none; addresses that timed out or failed are absent (so they are asked again next time).
    public func resolve(_ addresses: [IPAddress]) -> [IPAddress: String?] {
        let shared = SharedResults()
        let workers = min(concurrency, addresses.count)
        guard workers > 0 else { return [:] }
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard socket >= 0 else { return }
            defer { close(socket) }
            var server = sockaddr_in()
            server.sin_family = sa_family_t(AF_INET)
            server.sin_port = port.bigEndian
            server.sin_addr.s_addr = host
            let connected = withUnsafePointer(to: &server) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { return }
            while let index = shared.next(limit: addresses.count) {
                if let answer = query(addresses[index], socket: socket) { shared.store(addresses[index], answer) }
            }
        }
        return shared.results
    }

    /// One query on a connected socket: `nil` on timeout or error, `.some(nil)` for no name.
    private func query(_ address: IPAddress, socket: Int32) -> String?? {
        let id = UInt16.random(in: 0...UInt16.max)
        let packet = Self.query(for: address, id: id)
        guard packet.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == packet.count else { return nil }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return nil }
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, (deadline - now) / 1_000_000)))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            // A late answer to an earlier query (other id) is skipped; keep waiting for ours.
            if let answer = Self.parseAnswer(Array(buffer[0..<count]), id: id, question: packet) { return answer }
        }
    }

    /// The PTR query name: `4.3.2.1.in-addr.arpa` or the reversed nibbles under `ip6.arpa`.
    static func pointerName(_ address: IPAddress) -> String {
        if let value = address.ipv4Value {
            return (0..<4).map { String((value >> (UInt32($0) * 8)) & 0xFF) }.joined(separator: ".") + ".in-addr.arpa"
        }
        let value = address.value
        return (0..<32).map { String((value >> (UInt128($0) * 4)) & 0xF, radix: 16) }.joined(separator: ".")
            + ".ip6.arpa"
    }

    /// A standard query (recursion desired) for the PTR record of an address.
    static func query(for address: IPAddress, id: UInt16) -> [UInt8] {
        var packet: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in pointerName(address).split(separator: ".") {
            packet.append(UInt8(label.utf8.count))
            packet += label.utf8
        }
        packet += [0, 0, 12, 0, 1]  // root, QTYPE PTR, QCLASS IN
        return packet
    }

    /// Parses an answer to `question`: `nil` when it is not one (wrong id, not a response, another
    /// question, truncated), `.some(nil)` when the resolver has no PTR name, else the first name.
    static func parseAnswer(_ message: [UInt8], id: UInt16, question: [UInt8]) -> String?? {
        guard message.count >= 12, message.count >= question.count, message[0] == UInt8(id >> 8),
            message[1] == UInt8(id & 0xFF), message[2] & 0x80 != 0,
            message[4...5] == [0, 1], message[12..<question.count].elementsEqual(question[12...])
        else { return nil }
        let rcode = message[3] & 0x0F
        guard rcode == 0 else { return rcode == 3 ? .some(nil) : nil }  // NXDOMAIN: no name
        let answers = Int(message[6]) << 8 | Int(message[7])
        var offset = question.count
        // Only records for the question's name count, or for the target of its CNAME (RFC 2317).
        var owner = readName(message, at: 12)?.lowercased()
        for _ in 0..<answers {
            let start = offset
            guard skipName(message, at: &offset), offset + 10 <= message.count else { return nil }
            let type = Int(message[offset]) << 8 | Int(message[offset + 1])
            let length = Int(message[offset + 8]) << 8 | Int(message[offset + 9])
            offset += 10
            guard offset + length <= message.count else { return nil }
            if owner != nil, readName(message, at: start)?.lowercased() == owner {
                if type == 12, let name = readName(message, at: offset) { return .some(name) }
                if type == 5 { owner = readName(message, at: offset)?.lowercased() }
            }
            offset += length
        }
        // Truncated (TC, the names did not fit in UDP): not an answer, so it is not cached as none.
        return message[2] & 0x02 != 0 ? nil : .some(nil)
    }

    /// Moves past a (possibly compressed) name.
    private static func skipName(_ message: [UInt8], at offset: inout Int) -> Bool {
        while offset < message.count {
            let length = Int(message[offset])
            if length & 0xC0 == 0xC0 {
                offset += 2
                return offset <= message.count
            }
            offset += 1 + length
            if length == 0 { return true }
        }
        return false
    }

    /// Reads a name with compression pointers (at most 32 jumps, 255 bytes), in presentation form.
    static func readName(_ message: [UInt8], at start: Int) -> String? {
        var labels: [String] = []
        var offset = start
        var jumps = 0
        var total = 0
        while offset < message.count {
            let length = Int(message[offset])
            if length & 0xC0 == 0xC0 {
                guard offset + 1 < message.count, jumps < 32 else { return nil }
                offset = (length & 0x3F) << 8 | Int(message[offset + 1])
                jumps += 1
                continue
            }
            guard length & 0xC0 == 0 else { return nil }
            if length == 0 { return labels.isEmpty ? "." : labels.joined(separator: ".") }
            total += length + 1
            guard total <= 255, offset + 1 + length <= message.count else { return nil }
            labels.append(presentation(message[(offset + 1)..<(offset + 1 + length)]))
            offset += 1 + length
        }
        return nil
    }

    /// A label with every byte outside `A–Z a–z 0–9 - _` written `\DDD`.
    static func presentation(_ label: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in label {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                text += "\\" + String(repeating: "0", count: byte < 10 ? 2 : (byte < 100 ? 1 : 0)) + String(byte)
            }
        }
        return text
    }
}

/// The work queue and results shared by the resolver's workers.
private final class SharedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var cursor = 0
    private(set) var results: [IPAddress: String?] = [:]

    func next(limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard cursor < limit else { return nil }
        cursor += 1
        return cursor - 1
    }

    func store(_ address: IPAddress, _ name: String?) {
        lock.lock()
        results[address] = .some(name)
        lock.unlock()
    }
}
