import Foundation
import Testing

@testable import GatewatchCore

#if canImport(Glibc)
import Glibc
#endif

/// W3C lines for alert tests: the gateway is 20.50.10.0/28; anything else is direct.
enum AlertLog {
    static let header =
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
        + "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"

    /// One request line at `2026-11-20 HH:MM:SS` given as seconds of the day.
    static func line(
        second: Int,
        client: String,
        path: String = "/api/orders",
        status: String = "200 0",
        userAgent: String = "okhttp/4.12.0"
    ) -> String {
        let h = second / 3600
        let m = second / 60 % 60
        let s = second % 60
        let time = String(format: "%02d:%02d:%02d", h, m, s)
        return "2026-11-20 \(time) 10.0.1.4 GET \(path) - 443 - \(client) \(userAgent) - \(status) 0 12\n"
    }

    /// Unix seconds of `2026-11-20` plus `second`.
    static func time(_ second: Int) -> Int64 {
        (AlertTime.parse("2026-11-20T00:00:00Z") ?? 0) + Int64(second)
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func append(_ text: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    static let gateways = [CIDR("20.50.10.0/28")].compactMap { $0 }

    /// Ingests with the test gateways.
    @discardableResult
    static func ingest(_ paths: [String], db: String) throws -> IngestReport {
        try TestSupport.ingest(paths, db: db) { $0.gateways = gateways }
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for webhook tests: answers each request with the next
/// status of `statuses` (the last one repeats) and records the bodies.
///
/// `@unchecked Sendable`: `bodies`, `paths` and `next` are only touched with `lock` held; the
/// descriptor is set once before the accept thread starts.
final class TestHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let statuses: [Int]
    private let delaySeconds: Double
    private let lock = NSLock()
    private var bodies: [Data] = []
    private var paths: [String] = []
    private var next = 0

    init(statuses: [Int] = [200], delaySeconds: Double = 0) throws {
        self.statuses = statuses
        self.delaySeconds = delaySeconds
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        descriptor = fd
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hook/secret-token" }

    var received: [Data] {
        lock.lock()
        defer { lock.unlock() }
        return bodies
    }

    var requestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return next
    }

    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    private func acceptLoop() {
        while true {
            let client = accept(descriptor, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(client)
        }
    }

    private func handle(_ client: Int32) {
        defer { close(client) }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let count = read(client, &chunk, chunk.count)
            if count <= 0 { break }
            buffer += chunk[0..<count]
            if headerEnd == nil, let range = Data(buffer).range(of: Data("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let head = String(decoding: buffer[0..<range.lowerBound], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength =
                        Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headerEnd, buffer.count >= headerEnd + contentLength { break }
        }
        lock.lock()
        let status = statuses[min(next, statuses.count - 1)]
        next += 1
        if let headerEnd { bodies.append(Data(buffer[headerEnd...])) }
        lock.unlock()
        if delaySeconds > 0 { usleep(useconds_t(delaySeconds * 1_000_000)) }
        let response = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        _ = response.withCString { write(client, $0, strlen($0)) }
    }
}
