// optim_internal.h: pieces shared by the files of src/train/ behind optim.h —
// when an arena loop is worth threading, and strict parsing of flag values
// (the library cannot use the CLI's helpers).
#ifndef LATHE_OPTIM_INTERNAL_H
#define LATHE_OPTIM_INTERNAL_H

#include "lathe/base.h"

// Arena loops over fewer floats than this stay on one thread.
#define LT_OPTIM_PAR_MIN ((int64_t)1 << 15)

// The whole of `text` must be a finite number; LT_ERR_ARG naming `flag` otherwise.
lt_status lt_optim_parse_double(const char *flag, const char *text, double *out);
// The whole of `text` must be a decimal integer; LT_ERR_ARG naming `flag` otherwise.
lt_status lt_optim_parse_int(const char *flag, const char *text, int64_t *out);

#endif
