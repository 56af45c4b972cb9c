#ifndef GATEWATCH_CMALLOC_SHIM_H
#define GATEWATCH_CMALLOC_SHIM_H
// glibc's mallopt is not exported by Swift's Glibc module.
#include <stdio.h>
#include <stdlib.h>  // defines __GLIBC__ on glibc
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/// Serves allocations of `bytes` and more with their own mappings, returned to the system when
/// freed (glibc otherwise raises this threshold as large blocks are freed, and then keeps them
/// in its heaps). Returns 0 where there is no such setting.
static inline int gw_set_mmap_threshold(int bytes) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

/// Writes `count` bytes to standard output through its C library buffer (as `print` does), so
/// that ``gw_flush_stdout`` sees a failed write. Returns the bytes written.
static inline size_t gw_write_stdout(const void *bytes, size_t count) {
    return fwrite(bytes, 1, count, stdout);
}

/// Flushes standard output; returns 0 when everything written to it so far got there, -1 when
/// this flush failed (`errno` says why), -2 when an earlier write had failed (`errno` no longer
/// says why).
static inline int gw_flush_stdout(void) {
    int earlier = ferror(stdout);
    if (fflush(stdout) != 0 && !earlier) return -1;
    return (earlier || ferror(stdout)) ? -2 : 0;
}
#endif
