import GRDBSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Test-only crash points inside SQLite's commit, armed by `GATEWATCH_FAULT`.
///
/// The values:
///
/// - `commit-start:N` kills the process (SIGKILL) when the N-th write transaction after opening
///   starts to commit, before anything of it is durable;
/// - `commit-written:N` kills it right after the N-th commit reached the write-ahead log, before
///   Gatewatch learns that it succeeded.
///
/// The crash-safety tests use them to prove that a kill at either point, followed by a rerun,
/// leaves exactly the store of one clean run. Unset, nothing is installed.
enum FaultInjection {
    // Written once before the hooks are installed, then read by SQLite's callbacks on the one
    // writer thread that commits; a test process has one store.
    nonisolated(unsafe) static var commitsLeft: Int = 0
    nonisolated(unsafe) static var walCommitsLeft: Int = 0
    // Parallel ingest workers each install the hooks on their own connection; the count is
    // process-wide (commits are ordered by SQLite's write lock) and armed once.
    nonisolated(unsafe) static var armed = false
    /// Whether `commit-written` put its hook in SQLite's WAL hook, the slot the automatic
    /// checkpoint uses too: then ingest leaves `wal_autocheckpoint` alone (setting it would
    /// replace the hook).
    nonisolated(unsafe) static var ownsWALHook = false

    static func install(on connection: OpaquePointer?, environment: [String: String]) {
        guard let spec = environment["GATEWATCH_FAULT"] else { return }
        let parts = spec.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]), count > 0 else { return }
        switch parts[0] {
        case "commit-start":
            if !armed { commitsLeft = count }
            armed = true
            sqlite3_commit_hook(
                connection,
                { _ in
                    FaultInjection.commitsLeft -= 1
                    if FaultInjection.commitsLeft == 0 { kill(getpid(), SIGKILL) }
                    return 0
                },
                nil
            )
        case "commit-written":
            if !armed { walCommitsLeft = count }
            armed = true
            ownsWALHook = true
            sqlite3_wal_hook(
                connection,
                { _, _, _, _ in
                    FaultInjection.walCommitsLeft -= 1
                    if FaultInjection.walCommitsLeft == 0 { kill(getpid(), SIGKILL) }
                    return SQLITE_OK
                },
                nil
            )
        default:
            return
        }
    }
}
