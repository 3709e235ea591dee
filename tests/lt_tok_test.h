// lt_tok_test.h: helpers the tokenizer-side tests share (one copy, not one per
// file): comparing and printing id lists, the byte-level spelling of raw
// bytes, and expected ids + loss mask built by hand for chat rendering.
#ifndef LT_TOK_TEST_H
#define LT_TOK_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include "lathe/tokenizer.h"
#include "tokenizer/tok_internal.h"

static inline bool ids_equal(const lt_ids *got, const int32_t *want, size_t n) {
    if (got->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (got->data[i] != want[i]) return false;
    return true;
}

// Prints up to 40 ids after the label (on stderr, beside a failure).
static inline void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

// The byte-level spelling (GPT-2 alphabet) of raw bytes, malloc'd; NULL on failure.
static inline char *spell(const void *raw, size_t n) {
    lt_bytes b = {0};
    lt_status st = lt_bytelevel_encode(&b, raw, n);
    if (st) lt_status_free(st);
    return b.data;
}

// Expected ids and mask, built by hand: text pieces are their bytes.
typedef struct {
    int32_t ids[512];
    uint8_t mask[512];
    size_t n;
} expect_t;

static inline void put_id(expect_t *e, int32_t id, int mask) {
    e->ids[e->n] = id;
    e->mask[e->n++] = (uint8_t)mask;
}

static inline void put_text(expect_t *e, const char *text, int mask) {
    for (const char *p = text; *p; p++) put_id(e, (uint8_t)*p, mask);
}

#endif
