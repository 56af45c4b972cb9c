import GatewatchCore

/// APIM JSON / CSV and nginx consumers: sniffed with `GatewayFormats.consumer(forHead:path:)`,
/// then fed line by line through `LineSplitter` as ingest does (`flush` needs a database and is
/// not called).
///
/// The first byte's low two bits may prepend a line that makes the sniffer pick a format, so every
/// consumer sees mutated bodies: 0 none, 1 an `ApiManagementGatewayLogs` CSV header, 2 an APIM
/// JSON record, 3 an nginx `combined` line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var input = Array(prefixes[Int(data[0] & 3)].utf8)
    input.append(contentsOf: UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let consumer = GatewayFormats.consumer(forHead: Array(input.prefix(headLength)), path: "fuzz") else { return 0 }
    var splitter = LineSplitter(maximumLineLength: 1 << 16)
    var lineNumber = 0
    var outcomes = 0
    func handle(_ event: LineSplitter.Event, _ offset: Int64) {
        lineNumber += 1
        guard case .line(let line) = event else { return }
        outcomes &+= count(consumer.consume(line, lineNumber: lineNumber))
    }
    input.withUnsafeBytes { bytes in
        // Chunks of a size picked by the input, so lines straddle chunk boundaries.
        let chunkSize = Int(data[0] >> 2) * 7 + 1
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunkSize)
            splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), handle)
            start = end
        }
    }
    splitter.finish(handle)
    sink &+= outcomes &+ consumer.pendingRowCount &+ consumer.formatName.utf8.count
    return 0
}

/// How many bytes of the input the sniffer sees (the ingest head block).
let headLength = 64 * 1024

let prefixes = [
    "",
    "TimeGenerated [UTC],OperationName,CorrelationId,Region,IsRequestSuccess,TotalTime,CallerIpAddress,Method,Url,"
        + "ResponseCode,ResponseSize,BackendMethod,BackendUrl,BackendResponseCode,BackendTime,ApiId,OperationId,"
        + "ApimSubscriptionId,LastErrorReason,RequestHeaders,_ResourceId\n",
    #"{"time":"2026-11-23T10:15:22.1234567Z","operationName":"Microsoft.ApiManagement/GatewayLogs","category":"GatewayLogs","callerIpAddress":"192.0.2.1","properties":{"method":"GET","url":"https://x/a","responseCode":200,"apiId":"a"}}"#
        + "\n",
    #"192.0.2.10 - - [23/Nov/2026:11:15:22 +0100] "GET /a HTTP/1.1" 200 1830 "-" "ua""# + "\n",
]

/// Counts the outcomes in a result, reading every reason string.
func count(_ line: ConsumedLine) -> Int {
    switch line {
    case .ignored, .pending: 1
    case .record(let time): Int(truncatingIfNeeded: time) & 1
    case .skipped(let reason), .malformed(let reason): reason.utf8.count
    case .several(let lines): lines.reduce(0) { $0 &+ count($1) }
    }
}

/// Keeps the results from being optimised away.
nonisolated(unsafe) var sink = 0

// MARK: Entry point

/// SwiftPM links executables on Linux with `--defsym main=<module>_main` (testable executables),
/// so libFuzzer's own `main` is never pulled in; hand control to its driver from here instead.
@_cdecl("FuzzGateway_main")
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
