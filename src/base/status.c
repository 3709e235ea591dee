// status.c: lt_status error objects — a code plus a formatted message that
// callers can prefix with context ("model.safetensors: tensor 'x': ...").
#include "lathe/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lt_error {
    lt_code code;
    bool is_static; // the out-of-memory fallback is never freed
    char *message;
};

// Returned when allocating an error itself fails, so a status is never lost.
static struct lt_error oom_error = {LT_ERR_NOMEM, true,
                                    (char *)"out of memory while reporting an error"};

static char *vformat(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

lt_status lt_error(lt_code code, const char *fmt, ...) {
    struct lt_error *e = malloc(sizeof *e);
    if (!e) return &oom_error;
    va_list ap;
    va_start(ap, fmt);
    e->message = vformat(fmt, ap);
    va_end(ap);
    if (!e->message) {
        free(e);
        return &oom_error;
    }
    e->code = code;
    e->is_static = false;
    return e;
}

lt_status lt_error_prefix(lt_status st, const char *fmt, ...) {
    if (!st || st->is_static) return st;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = vformat(fmt, ap);
    va_end(ap);
    if (!prefix) return st;
    size_t a = strlen(prefix), b = strlen(st->message);
    char *joined = malloc(a + 2 + b + 1);
    if (joined) {
        memcpy(joined, prefix, a);
        memcpy(joined + a, ": ", 2);
        memcpy(joined + a + 2, st->message, b + 1);
        free(st->message);
        st->message = joined;
    }
    free(prefix);
    return st;
}

const char *lt_status_message(lt_status st) { return st ? st->message : "ok"; }
lt_code lt_status_code(lt_status st) { return st ? st->code : LT_OK; }

void lt_status_free(lt_status st) {
    if (!st || st->is_static) return;
    free(st->message);
    free(st);
}

const char *lt_code_name(lt_code code) {
    switch (code) {
    case LT_OK: return "ok";
    case LT_ERR_ARG: return "bad argument";
    case LT_ERR_IO: return "i/o error";
    case LT_ERR_FORMAT: return "malformed file";
    case LT_ERR_NOMEM: return "out of memory";
    case LT_ERR_UNSUPPORTED: return "unsupported";
    case LT_ERR_RANGE: return "out of range";
    case LT_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}
