import GRDB

/// Parses nginx `combined` lines (and `main`, which appends `"$http_x_forwarded_for"`).
///
/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent"`; `$time_local` is local time with its offset and is
/// converted to UTC. Quoted values may hold `\"` and `\xXX` escapes. O(n) in the line.
enum NginxParser {
    enum Result: Equatable {
        case record(GatewayRecord)
        case malformed(String)

        var isNginx: Bool {
            if case .record = self { return true }
            return false
        }
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        mutating func token() -> UnsafeRawBufferPointer? {
            let start = index
            while index < bytes.count, bytes[index] != 0x20 { index += 1 }
            guard index > start else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            while index < bytes.count, bytes[index] == 0x20 { index += 1 }
            return slice
        }

        /// A `"…"` value; escapes are kept as written.
        mutating func quoted() -> UnsafeRawBufferPointer? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                index += 1
            }
            guard index < bytes.count else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            index += 1
            while index < bytes.count, bytes[index] == 0x20 { index += 1 }
            return slice
        }

        mutating func bracketed() -> UnsafeRawBufferPointer? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
            index += 1
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "]") { index += 1 }
            guard index < bytes.count else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            index += 1
            while index < bytes.count, bytes[index] == 0x20 { index += 1 }
            return slice
        }
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        if bytes.count == 1, bytes[0] == UInt8(ascii: "-") { return 0 }
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// Parses one line.
    ///
    /// - Parameter line: The line without its terminator.
    /// - Returns: The record, or why the line is not a `combined` line.
    static func parse(_ line: UnsafeRawBufferPointer) -> Result {
        var cursor = Cursor(bytes: line)
        guard let addressBytes = cursor.token() else { return .malformed("empty line") }
        guard cursor.token() != nil, cursor.token() != nil else {
            return .malformed("missing '- $remote_user' after the address")
        }
        guard let timeBytes = cursor.bracketed() else { return .malformed("no [time_local]") }
        guard let time = GatewayTime.parseNginx(timeBytes) else {
            return .malformed("'\(String(decoding: timeBytes.prefix(40), as: UTF8.self))' is not a [time_local] time")
        }
        guard let request = cursor.quoted() else { return .malformed("no quoted request") }
        guard let statusBytes = cursor.token(), let status = integer(statusBytes), status < 1000 else {
            return .malformed("no status")
        }
        guard let sizeBytes = cursor.token(), let size = integer(sizeBytes) else { return .malformed("no body size") }
        guard cursor.quoted() != nil, cursor.quoted() != nil else {
            return .malformed("no quoted referer and user agent")
        }
        if cursor.index < line.count {
            guard cursor.quoted() != nil, cursor.index >= line.count else {
                return .malformed("unexpected text after the user agent")
            }
        }
        let address = String(decoding: addressBytes, as: UTF8.self)
        var method = "-"
        var path: String?
        let parts = request.split(separator: 0x20, omittingEmptySubsequences: true)
        if parts.count == 3 || parts.count == 2 {
            method = GatewayText.method(String(decoding: parts[0], as: UTF8.self))
            path = GatewayText.path(ofURL: String(decoding: parts[1], as: UTF8.self))
        }
        var record = GatewayRecord(
            timeMilliseconds: time,
            caller: GatewayText.caller(address),
            method: method,
            responseCode: status
        )
        record.responseBytes = size
        if let path {
            // A reverse proxy forwards every request it could read; its status is the backend's.
            record.backendPath = path
            record.backendMethod = method
            record.backendStatus = status
        }
        return .record(record)
    }
}

/// Reads nginx `combined` / `main` access logs.
final class NginxConsumer: RecordConsumer {
    let formatName = "nginx"
    private let sink = GatewaySink()

    func limitDates(to window: DateWindow) { sink.dateWindow = window }

    var pendingRowCount: Int { sink.pendingRowCount }

    func consume(_ line: UnsafeRawBufferPointer, lineNumber: Int) -> ConsumedLine {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .ignored }
        switch NginxParser.parse(line) {
        case .record(let record):
            return GatewayOutcome.accept(.record(record), line: lineNumber, sink: sink)
        case .malformed(let reason):
            return .malformed(reason: "not an nginx combined line: \(reason)")
        }
    }

    func flush(db: any SQLDatabase, fileID: Int64, final: Bool) throws -> ConsumedLine? {
        try sink.flush(db: db, fileID: fileID, final: final)
        return nil
    }
}
