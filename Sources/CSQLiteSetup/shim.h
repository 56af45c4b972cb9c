#ifndef GATEWATCH_CSQLITESETUP_SHIM_H
#define GATEWATCH_CSQLITESETUP_SHIM_H
// sqlite3_config is variadic, which Swift cannot call.
#include <sqlite3.h>

/// Turns off SQLite's memory statistics, which take a process-wide mutex around every
/// allocation SQLite makes. Only possible before SQLite is first used (or after
/// sqlite3_shutdown); returns SQLITE_MISUSE otherwise, which is harmless.
static inline int gw_sqlite_disable_memory_statistics(void) {
    // URI file names too (read-only stores open as file:…?immutable=1), whatever the build's
    // SQLITE_USE_URI default.
    sqlite3_config(SQLITE_CONFIG_URI, 1);
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
