import GatewatchCore

/// Feeds the input through `LineSplitter` and `W3CParser` and reads every field of every record.
///
/// The first byte picks the chunk size (so lines straddle chunk boundaries the way they do when
/// reading a file) and whether a custom request-id column is configured.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let chunkSize = Int(control & 0x3F) + 1
    let parser = W3CParser(requestIDField: control & 0x40 != 0 ? "x-trace" : nil)
    var splitter = LineSplitter(maximumLineLength: control & 0x80 != 0 ? 64 : 1 << 16)
    var checksum = 0
    func handle(_ event: LineSplitter.Event, _ offset: Int64) {
        guard case .line(let line) = event else { return }
        switch parser.parse(line) {
        case .record:
            for field in W3CField.allCases {
                if let value = parser.field(field) {
                    // Touch every byte so ASan sees any out-of-range view.
                    for byte in value { checksum &+= Int(byte) }
                }
                _ = parser.hasColumn(field)
            }
            _ = parser.timestamp
        case .malformed(let reason):
            checksum &+= reason.description.utf8.count
        case .directive, .blank:
            break
        }
    }
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunkSize)
        splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), handle)
        start = end
    }
    splitter.finish(handle)
    precondition(splitter.offset == Int64(bytes.count), "LineSplitter lost bytes: \(splitter.offset) of \(bytes.count)")
    _ = parser.currentLayout
    sink = checksum
    return 0
}

/// Keeps the field reads from being optimised away.
nonisolated(unsafe) var sink = 0

// MARK: Entry point

/// SwiftPM links executables on Linux with `--defsym main=<module>_main` (testable executables),
/// so libFuzzer's own `main` is never pulled in; hand control to its driver from here instead.
@_cdecl("FuzzW3C_main")
public func fuzzerMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}

@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
