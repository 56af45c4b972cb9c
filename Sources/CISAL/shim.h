#ifndef GATEWATCH_CISAL_SHIM_H
#define GATEWATCH_CISAL_SHIM_H
// Intel ISA-L's inflate (Debian: libisal-dev), several times faster than zlib's on x86-64 and
// arm64; zlib stays the fallback (see ByteSource.Inflater).
#include <isa-l/igzip_lib.h>
#endif
