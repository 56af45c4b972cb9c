import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard input copied, as it comes (compressed or not), to a temporary file, so that it can be
/// read again like any file (a pass that restarts, the ledger's check of a grown file's prefix).
enum StandardInputSpool {
    /// Copies standard input to a new temporary file.
    ///
    /// - Returns: The file's path.
    /// - Throws: ``InputError`` when standard input cannot be read or the copy written.
    static func spool() throws -> String {
        let directory = FileManager.default.temporaryDirectory.path
        var template = Array((directory + "/gatewatch-stdin-XXXXXX").utf8CString)
        let output = template.withUnsafeMutableBufferPointer { name in name.baseAddress.map { mkstemp($0) } ?? -1 }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard output >= 0 else { throw InputError.cannotOpen(path: path, errno: errno) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw InputError.readFailed(path: "-", errno: errno) }
            if count == 0 { return path }
            var written = 0
            while written < count {
                let step = buffer.withUnsafeBytes { bytes in
                    write(output, UnsafeRawBufferPointer(rebasing: bytes[written..<count]).baseAddress, count - written)
                }
                if step < 0, errno == EINTR { continue }
                guard step > 0 else {
                    let failure = errno
                    try? FileManager.default.removeItem(atPath: path)
                    throw InputError.writeFailed(path: path, errno: failure)
                }
                written += step
            }
        }
    }
}
