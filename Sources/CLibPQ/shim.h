#ifndef CLEARLEDGER_CLIBPQ_SHIM_H
#define CLEARLEDGER_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
