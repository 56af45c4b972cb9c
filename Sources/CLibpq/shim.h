#ifndef GATEWATCH_CLIBPQ_SHIM_H
#define GATEWATCH_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
