import GatewatchCore

/// web.config / applicationHost.config XML, App Service access-restriction JSON and plain lists:
/// compiling must throw a `PolicyError` or succeed, never crash.
///
/// An ASCII record separator (0x1E) splits the input into several documents (parent first), so
/// IIS section merging and the "several App Service files" path are reached too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let parts = bytes.split(separator: 0x1E, maxSplits: 3, omittingEmptySubsequences: false)
    let documents = parts.enumerated().map { index, part in
        PolicyDocument(path: index == 0 ? "fuzz" : "fuzz/\(index)/web.config", text: String(decoding: part, as: UTF8.self))
    }
    do {
        let policy = try Policy.compile(documents: documents)
        sink &+= policy.loadFindings.count
    } catch {
        sink &+= String(describing: error).utf8.count
    }
    return 0
}

/// Keeps the results from being optimised away.
nonisolated(unsafe) var sink = 0

// MARK: Entry point

/// SwiftPM links executables on Linux with `--defsym main=<module>_main` (testable executables),
/// so libFuzzer's own `main` is never pulled in; hand control to its driver from here instead.
@_cdecl("FuzzPolicy_main")
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
