// lt_tok_test.h: helpers the tokenizer-side tests share (one copy, not one per
// file): comparing and printing id lists, the byte-level spelling of raw
// bytes, tokenizer.json documents built by hand, and expected ids + loss mask
// built by hand for chat rendering. Include after lt_test.h.
#ifndef LT_TOK_TEST_H
#define LT_TOK_TEST_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

// The 256 byte tokens (id = byte value, GPT-2's byte-level spelling) into a
// tokenizer.json "vocab" object.
static inline void add_byte_vocab(cJSON *vocab) {
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        char *s = spell(&byte, 1);
        cJSON_AddNumberToObject(vocab, s, b);
        free(s);
    }
}

// A tokenizer from a hand-built tokenizer.json document (freed here); NULL,
// with a failed check, when it does not load.
static inline lt_tokenizer *tokenizer_from_doc(cJSON *doc, const char *name) {
    char *text = cJSON_PrintUnformatted(doc);
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(lt_tokenizer_from_json(&tok, text, strlen(text), name));
    cJSON_free(text);
    cJSON_Delete(doc);
    return tok;
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
