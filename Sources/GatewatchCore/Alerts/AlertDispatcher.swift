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
    /// Standard output is closed or full.
    case standardOutput(errno: Int32)
    /// A delivery left for a retry names a sink that is no longer configured.
    case noLongerConfigured(sink: String)

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
        case .standardOutput(let code):
            "cannot write the alert to standard output: \(String(cString: strerror(code))); it is kept and sent again next time"
        case .noLongerConfigured(let sink):
            "the alert waited to be sent again to \(sink), which is no longer configured; it is not retried"
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
    let standardOutput: (String) throws -> Void

    /// Creates a dispatcher.
    ///
    /// - Parameters:
    ///   - sinks: Where alerts go.
    ///   - standardOutput: Receives each NDJSON line (with its newline) for `stdout` sinks; the
    ///     default writes to file descriptor 1 and throws ``SinkError/standardOutput(errno:)``
    ///     when it is closed or full (FileHandle's `write` traps there, after nothing was sent).
    public init(sinks: [SinkConfiguration], standardOutput: ((String) throws -> Void)? = nil) {
        self.sinks = sinks
        if let standardOutput {
            self.standardOutput = standardOutput
        } else {
            self.standardOutput = { line in
                if let code = Self.writeAll(line, to: 1) { throw SinkError.standardOutput(errno: code) }
            }
        }
        // A sink whose reader went away (exec program exited early, closed socket) must not kill
        // the process with SIGPIPE: the write fails with EPIPE instead and is reported.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Sends one alert to every sink, or to the sinks named.
    ///
    /// - Parameters:
    ///   - alert: The alert.
    ///   - labels: Only the sinks with these labels (``SinkConfiguration/label``), for a retry; a
    ///     label no sink has gets ``SinkError/noLongerConfigured(sink:)``. `nil` sends to every sink.
    /// - Returns: One result per sink, in sink order (then the labels no sink has).
    public func send(_ alert: Alert, to labels: [String]? = nil) -> [DeliveryResult] {
        let json: String
        do {
            json = try alert.json()
        } catch {
            preconditionFailure("an Alert always encodes: \(error)")
        }
        let chosen = labels.map { wanted in sinks.filter { wanted.contains($0.label) } } ?? sinks
        let gone = (labels ?? []).filter { label in !sinks.contains { $0.label == label } }
        return chosen.map { sink in deliver(json, to: sink, alert: alert) }
            + gone.map { DeliveryResult(sink: $0, error: .noLongerConfigured(sink: $0), attempts: 0) }
    }

    private func deliver(_ json: String, to sink: SinkConfiguration, alert: Alert) -> DeliveryResult {
        switch sink {
        case .stdout:
            do {
                try standardOutput(json + "\n")
                return DeliveryResult(sink: sink.label, error: nil, attempts: 1)
            } catch {
                return DeliveryResult(
                    sink: sink.label,
                    error: error as? SinkError ?? .standardOutput(errno: EIO),
                    attempts: 1
                )
            }
        case .file(let path):
            return DeliveryResult(sink: sink.label, error: Self.append(json + "\n", to: path), attempts: 1)
        case .webhook(let settings):
            let (error, attempts) = WebhookClient.deliver(alert, json: json, settings: settings)
            return DeliveryResult(sink: sink.label, error: error, attempts: attempts)
        case .exec(let settings):
            return DeliveryResult(sink: sink.label, error: Self.run(settings, input: json + "\n"), attempts: 1)
        }
    }

    /// Writes all of `text` to a descriptor; returns the errno of a failed write, or `nil`.
    static func writeAll(_ text: String, to descriptor: Int32) -> Int32? {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += result
        }
        return nil
    }

    /// Appends with `O_APPEND`, so concurrent writers' lines never interleave (one `write` per line).
    static func append(_ line: String, to path: String) -> SinkError? {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return .fileWrite(path: path, errno: errno) }
        defer { close(descriptor) }
        return writeAll(line, to: descriptor).map { .fileWrite(path: path, errno: $0) }
    }

    /// Runs the exec sink's program with the alert on standard input.
    ///
    /// The program runs in a process group of its own: at the timeout the whole group gets
    /// SIGTERM, then SIGKILL a second later, so that a program that started children (a shell
    /// running curl, a background `sleep`) cannot hold the poll, and therefore ingestion, up.
    ///
    /// The timeout starts before the alert is written: the pipe is non-blocking, so a program
    /// that never reads an alert larger than the pipe's buffer (64 KiB) is ended on time too.
    /// A program name without a `/` is looked up on `PATH`, as a shell would (`posix_spawnp`),
    /// never in the current directory unless `PATH` names it.
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
        let spawned = posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
        close(readEnd)
        guard spawned == 0 else {
            close(writeEnd)
            return .execFailed(program: program, reason: String(cString: strerror(spawned)))
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(settings.timeoutSeconds * 1000))
        writeInput(Array(input.utf8), to: writeEnd, until: deadline)
        close(writeEnd)
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

    /// Writes the alert to the program's pipe without blocking past `deadline`.
    ///
    /// A program that exits without reading is not an error of ours (EPIPE; SIGPIPE is ignored
    /// process-wide for the sinks); one that neither reads nor exits is ended at the deadline.
    private static func writeInput(_ bytes: [UInt8], to descriptor: Int32, until deadline: ContinuousClock.Instant) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        var written = 0
        while written < bytes.count {
            let step = bytes.withUnsafeBytes {
                write(descriptor, $0.baseAddress?.advanced(by: written), bytes.count - written)
            }
            if step > 0 {
                written += step
                continue
            }
            guard step < 0, errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK else { return }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let milliseconds = Int32(
                min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 100)
            )
            _ = poll(&ready, 1, milliseconds)
        }
    }
}
