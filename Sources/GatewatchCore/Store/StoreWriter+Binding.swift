import Foundation
import GRDB
import GRDBSQLite

/// The sort key of a flushed row: two numbers, then the first 16 bytes of the address text
/// (big-endian, so integer order is byte order), then its index in the map.
struct FlushOrder: Comparable {
    var major: Int64
    var minor: Int32
    var text: (UInt64, UInt64)
    var index: Int32

    /// The first 16 bytes of `text`, zero-padded, as two big-endian integers.
    static func prefix(_ text: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for position in 0..<16 {
            let byte = position < text.count ? UInt64(text[position]) : 0
            if position < 8 { high = high << 8 | byte } else { low = low << 8 | byte }
        }
        return (high, low)
    }

    static func < (lhs: FlushOrder, rhs: FlushOrder) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
        if lhs.text.0 != rhs.text.0 { return lhs.text.0 < rhs.text.0 }
        if lhs.text.1 != rhs.text.1 { return lhs.text.1 < rhs.text.1 }
        return lhs.index < rhs.index
    }

    static func == (lhs: FlushOrder, rhs: FlushOrder) -> Bool {
        lhs.major == rhs.major && lhs.minor == rhs.minor && lhs.text == rhs.text && lhs.index == rhs.index
    }
}

/// The texts every flushed row shares (verdict, outcome and kind names, `(other)`, the source),
/// in memory that lives as long as the writer, bound without a copy.
final class BoundConstants {
    typealias Span = (pointer: UnsafePointer<CChar>, count: Int32)
    private let storage: UnsafeMutableRawPointer
    let verdicts: [Span]
    let outcomes: [Span]
    let kinds: [Span]
    let other: Span
    let source: Span

    init(source name: String) {
        let texts: [String] =
            Verdict.allCases.map(\.rawValue) + Outcome.allCases.map(\.rawValue)
            + Inventories.Kind.allCases.map(\.name) + [Inventories.otherValue, name]
        let total = texts.reduce(1) { $0 + $1.utf8.count }
        storage = .allocate(byteCount: total, alignment: 1)
        var offset = 0
        var spans: [Span] = []
        for text in texts {
            let start = offset
            for byte in text.utf8 {
                storage.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
                offset += 1
            }
            let pointer = UnsafePointer((storage + start).assumingMemoryBound(to: CChar.self))
            spans.append((pointer, Int32(offset - start)))
        }
        var rest = spans[...]
        verdicts = Array(rest.prefix(Verdict.allCases.count))
        rest = rest.dropFirst(Verdict.allCases.count)
        outcomes = Array(rest.prefix(Outcome.allCases.count))
        rest = rest.dropFirst(Outcome.allCases.count)
        kinds = Array(rest.prefix(Inventories.Kind.allCases.count))
        rest = rest.dropFirst(Inventories.Kind.allCases.count)
        other = rest[rest.startIndex]
        source = rest[rest.startIndex + 1]
    }

    deinit { storage.deallocate() }

    @inline(__always)
    func bind(_ statement: SQLiteStatement, _ index: Int32, _ span: Span) {
        sqlite3_bind_text(statement, index, span.pointer, span.count, nil)
    }
}

/// One row's own texts (times, site, address, value), written into a buffer that is reused for
/// every row and bound without a copy: valid until the statement's next reset.
final class RowScratch {
    /// The text of one statement's rows: per row, an hour and times (20 bytes each), a site name
    /// (≤ 256), an address (≤ 64), an inventory value (≤ 512): far below 2 KiB a row.
    private static let capacity = 2048 * StoreWriter.rowsPerStatement
    private let base = UnsafeMutableRawPointer.allocate(byteCount: RowScratch.capacity, alignment: 8)
    private let addressBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
    private var used = 0

    deinit {
        base.deallocate()
        addressBuffer.deallocate()
    }

    func reset() { used = 0 }

    /// Appends `bytes` (cut to what is left) and binds them.
    @inline(__always)
    func bind(_ statement: SQLiteStatement, _ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        let count = min(bytes.count, Self.capacity - used)
        let start = base + used
        if count > 0, let source = bytes.baseAddress { start.copyMemory(from: source, byteCount: count) }
        used += count
        sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    func bindTime(_ statement: SQLiteStatement, _ index: Int32, _ seconds: Int64) {
        let start = base + used
        let free = UnsafeMutableRawBufferPointer(start: start, count: Self.capacity - used)
        let count = UTCTime.write(seconds, into: free)
        used += count
        sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }

    /// The date part of a day number (days since 1970-01-01).
    func bindDay(_ statement: SQLiteStatement, _ index: Int32, _ day: Int32) {
        let start = base + used
        let free = UnsafeMutableRawBufferPointer(start: start, count: Self.capacity - used)
        // The first ten bytes, as the latency rows' day text (`String.prefix(10)` of the time).
        _ = UTCTime.write(Int64(day) * 86_400, into: free)
        used += 10
        sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), 10, nil)
    }

    func bindName(_ statement: SQLiteStatement, _ index: Int32, _ name: String) {
        var copy = name
        copy.withUTF8 { bind(statement, index, UnsafeRawBufferPointer($0)) }
    }

    /// The stored text of an address key, in a buffer valid during `body`.
    func withAddressText<R>(
        _ address: IPAddress,
        invalid: Int32,
        _ aggregator: Aggregator,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        if invalid != 0 {
            var text = aggregator.addressText(address, invalid: invalid)
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        let count = address.writeText(into: addressBuffer)
        return body(UnsafeRawBufferPointer(rebasing: addressBuffer[0..<count]))
    }

    func bindAddress(
        _ statement: SQLiteStatement,
        _ index: Int32,
        _ address: IPAddress,
        invalid: Int32,
        _ aggregator: Aggregator
    ) {
        withAddressText(address, invalid: invalid, aggregator) { bind(statement, index, $0) }
    }
}
