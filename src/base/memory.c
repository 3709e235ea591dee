// memory.c: checked, aligned allocation and overflow-checked size arithmetic.
#include "lathe/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { LT_ALIGN = 64 }; // one cache line, and one AVX-512 register

lt_status lt_error_nomem(const char *what, size_t bytes) {
    if (bytes == 0) return lt_error(LT_ERR_NOMEM, "out of memory allocating %s", what);
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%zu", bytes), g = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) grouped[g++] = ',';
        grouped[g++] = digits[i];
    }
    grouped[g] = '\0';
    return lt_error(LT_ERR_NOMEM, "out of memory allocating %s (%s bytes)", what, grouped);
}

lt_status lt_alloc(void **out, size_t bytes, const char *what) {
    *out = NULL;
    if (bytes == 0) bytes = 1;
    size_t rounded = (bytes + LT_ALIGN - 1) / LT_ALIGN * LT_ALIGN;
    if (rounded < bytes) return lt_error(LT_ERR_NOMEM, "%s: size %zu overflows", what, bytes);
    void *p = aligned_alloc(LT_ALIGN, rounded);
    if (!p) return lt_error_nomem(what, bytes);
    *out = p;
    return NULL;
}

lt_status lt_calloc(void **out, size_t count, size_t size, const char *what) {
    size_t bytes;
    *out = NULL;
    if (!lt_mul_size(count, size, &bytes))
        return lt_error(LT_ERR_NOMEM, "%s: %zu x %zu bytes overflows", what, count, size);
    LT_TRY(lt_alloc(out, bytes, what));
    memset(*out, 0, bytes);
    return NULL;
}

void lt_free(void *p) { free(p); }

bool lt_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }

char *lt_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
