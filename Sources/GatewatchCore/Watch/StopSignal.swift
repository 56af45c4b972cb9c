#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Set by the SIGINT/SIGTERM handler, read by the follow loop.
///
/// `nonisolated(unsafe)`: the only writer is the signal handler, which stores a whole
/// `sig_atomic_t` (the one kind of write C guarantees to be safe in a handler); readers only
/// compare it with zero, so a torn or stale read is impossible or merely delays the stop by one
/// check (at most 100 ms).
nonisolated(unsafe) private var stopSignalReceived: sig_atomic_t = 0

/// SIGINT/SIGTERM handling for long-running commands: the first signal asks the loop to stop
/// after its current commit; a second one ends the process at once (exit status 130).
public enum StopSignal {
    /// Installs the handlers for SIGINT and SIGTERM.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in
            if stopSignalReceived != 0 {
                // The user insists: leave now. SQLite's journal keeps the store consistent.
                _exit(130)
            }
            stopSignalReceived = 1
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have started us with the signals blocked (the mask is inherited across
        // exec); unblock them or the loop could never be stopped politely.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &set, nil)
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { stopSignalReceived != 0 }

    /// Forgets a request (tests).
    public static func reset() {
        stopSignalReceived = 0
    }
}
