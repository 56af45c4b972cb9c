#ifndef GATEWATCH_CISAL_SHIM_H
#define GATEWATCH_CISAL_SHIM_H
// Intel ISA-L's inflate, several times faster than zlib's on x86-64 and arm64, is optional: the
// library (libisal.so.2, Debian: libisal2) is loaded at run time by Input/ISAL.swift, and zlib is
// the fallback. Nothing here is linked; this module only declares ISA-L's types.
//
// igzip_lib.h is ISA-L 2.30's public header, copied unchanged (BSD-3-Clause, Intel Corporation;
// the licence is at its top) for `struct inflate_state`, which callers allocate: its layout is
// part of the libisal.so.2 ABI, and ISAL.swift checks it at load time by inflating a known member.
#include "igzip_lib.h"
#endif
