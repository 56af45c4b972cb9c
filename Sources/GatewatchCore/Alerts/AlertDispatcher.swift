import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a sink could not deliver an alert.
public enum SinkError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The alert file could not be opened or written.
    case fileWrite(path: String, errno: Int32)
    /// The webhook failed after every attempt.
    case webhookFailed(target: String, attempts: Int, lastProblem: String)
    /// The exec sink's program could not be started.
    case execFailed(program: String, reason: String)
    /// The exec sink's program exited with a non-zero status or was killed.
    case execStatus(program: String, status: Int32, timedOut: Bool)

    /// The message shown to the user.
    public var description: String {
        switch self {
        case .fileWrite(let path, let code):
            "cannot append the alert to '\(path)': \(String(cString: strerror(code))); check the directory exists and is writable"
        case .webhookFailed(let target, let attempts, let problem):
            "webhook \(target) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(problem); check the URL and that the receiver is up (try 'gatewatch alert test')"
        case .execFailed(let program, let reason):
            "cannot run alert command '\(program)': \(reason); check the path and that it is executable"
        case .execStatus(let program, let status, let timedOut):
            timedOut
                ? "alert command '\(program)' did not finish in time and was terminated; make it faster or raise its timeout"
                : "alert command '\(program)' exited with status \(status); run it by hand with an alert on standard input to see why"
        }
    }

    /// The same as ``description``.
    public var errorDescription: String? { description }
}

/// What happened when one alert went to one sink.
public struct DeliveryResult: Sendable, Equatable {
    /// The sink's label (``SinkConfiguration/label``).
    public var sink: String
    /// `nil` when delivered.
    public var error: SinkError?
    /// Attempts made (webhooks retry).
    public var attempts: Int
}

/// Sends alerts to every configured sink.
///
/// A failing sink never stops the others: every result is returned, and the caller reports failures.
public final class AlertDispatcher {
    /// The sinks, in order.
    public let sinks: [SinkConfiguration]
    let standardOutput: (String) -> Void

    /// Creates a dispatcher.
    ///
    /// - Parameters:
    ///   - sinks: Where alerts go.
    ///   - standardOutput: Receives each NDJSON line (with its newline) for `stdout` sinks; the
    ///     default writes to standard output and flushes.
    public init(sinks: [SinkConfiguration], standardOutput: ((String) -> Void)? = nil) {
        self.sinks = sinks
        self.standardOutput =
            standardOutput ?? { line in
                FileHandle.standardOutput.write(Data(line.utf8))
            }
        // A sink whose reader went away (exec program exited early, closed socket) must not kill
        // the process with SIGPIPE: the write fails with EPIPE instead and is reported.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Sends one alert to every sink.
    ///
    /// - Parameter alert: The alert.
    /// - Returns: One result per sink, in sink order.
    public func send(_ alert: Alert) -> [DeliveryResult] {
        let json: String
        do {
            json = try alert.json()
        } catch {
            preconditionFailure("an Alert always encodes: \(error)")
        }
        return sinks.map { sink in
            switch sink {
            case .stdout:
                standardOutput(json + "\n")
                return DeliveryResult(sink: sink.label, error: nil, attempts: 1)
            case .file(let path):
                return DeliveryResult(sink: sink.label, error: Self.append(json + "\n", to: path), attempts: 1)
            case .webhook(let settings):
                let (error, attempts) = WebhookClient.deliver(alert, json: json, settings: settings)
                return DeliveryResult(sink: sink.label, error: error, attempts: attempts)
            case .exec(let settings):
                return DeliveryResult(sink: sink.label, error: Self.run(settings, input: json + "\n"), attempts: 1)
            }
        }
    }

    /// Appends with `O_APPEND`, so concurrent writers' lines never interleave (one `write` per line).
    static func append(_ line: String, to path: String) -> SinkError? {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return .fileWrite(path: path, errno: errno) }
        defer { close(descriptor) }
        let bytes = Array(line.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                return .fileWrite(path: path, errno: errno)
            }
            written += result
        }
        return nil
    }

    /// Runs the exec sink's program with the alert on standard input.
    static func run(_ settings: ExecSettings, input: String) -> SinkError? {
        guard let program = settings.command.first else {
            return .execFailed(program: "", reason: "no program given")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(settings.command.dropFirst())
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            return .execFailed(program: program, reason: (error as NSError).localizedFailureReason ?? "\(error)")
        }
        // A program that exits without reading is not an error of ours; EPIPE is ignored.
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + .milliseconds(Int64(settings.timeoutSeconds * 1000))
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                process.terminate()
                // A program that ignores SIGTERM gets SIGKILL after a second.
                let grace = ContinuousClock.now + .seconds(1)
                while process.isRunning, ContinuousClock.now < grace { usleep(10_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        guard !timedOut, process.terminationReason == .exit, process.terminationStatus == 0 else {
            return .execStatus(program: program, status: process.terminationStatus, timedOut: timedOut)
        }
        return nil
    }
}
