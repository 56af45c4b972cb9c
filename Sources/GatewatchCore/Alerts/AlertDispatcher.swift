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
    ///
    /// The program runs in a process group of its own: at the timeout the whole group gets
    /// SIGTERM, then SIGKILL a second later, so that a program that started children (a shell
    /// running curl, a background `sleep`) cannot hold the poll, and therefore ingestion, up.
    static func run(_ settings: ExecSettings, input: String) -> SinkError? {
        guard let program = settings.command.first else {
            return .execFailed(program: "", reason: "no program given")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return .execFailed(program: program, reason: String(cString: strerror(errno))) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, 0)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = settings.command.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        close(readEnd)
        guard spawned == 0 else {
            close(writeEnd)
            return .execFailed(program: program, reason: String(cString: strerror(spawned)))
        }
        // A program that exits without reading is not an error of ours; EPIPE is ignored (SIGPIPE
        // is ignored process-wide for the sinks).
        let bytes = Array(input.utf8)
        var written = 0
        while written < bytes.count {
            let step = bytes.withUnsafeBytes {
                write(writeEnd, $0.baseAddress?.advanced(by: written), bytes.count - written)
            }
            if step < 0, errno == EINTR { continue }
            guard step > 0 else { break }
            written += step
        }
        close(writeEnd)
        let deadline = ContinuousClock.now + .milliseconds(Int64(settings.timeoutSeconds * 1000))
        var status: Int32 = 0
        var timedOut = false
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid || (done < 0 && errno != EINTR) { break }
            if ContinuousClock.now >= deadline {
                timedOut = true
                kill(-pid, SIGTERM)
                let grace = ContinuousClock.now + .seconds(1)
                while waitpid(pid, &status, WNOHANG) == 0, ContinuousClock.now < grace { usleep(10_000) }
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
        let exited = (status & 0x7F) == 0
        let code = exited ? (status >> 8) & 0xFF : status & 0x7F
        guard !timedOut, exited, code == 0 else {
            return .execStatus(program: program, status: code, timedOut: timedOut)
        }
        return nil
    }
}
