// tok_internal.h: the tokenizer's internal data structures, shared by the
// files of src/tokenizer/ (and by tests that check a fast path against its
// reference). Not a public API.
//
// A tokenizer is a shared, immutable core (vocabulary, merges, added tokens,
// the compiled pre-tokenizer regex) plus per-handle mutable state (the
// pre-token cache, PCRE2 match data, BPE scratch space), so several threads can
// encode with the same tables through lt_tokenizer_dup.
#ifndef LATHE_TOK_INTERNAL_H
#define LATHE_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>

#include "lathe/tokenizer.h"

// Llama 3's pre-tokenizer regex (also cl100k_base's), the default for training.
#define LT_TOK_LLAMA3_PATTERN                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
// Qwen2's: Llama 3's with every digit a pre-token of its own (\p{N}, not
// \p{N}{1,3}), so digit-by-digit arithmetic sees the digits as tokens. llama.cpp
// knows it as the pre-tokenizer "qwen2" (without ignore_merges).
#define LT_TOK_QWEN2_PATTERN                                              \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| " \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
// GPT-2's, which the ByteLevel pre-tokenizer applies when use_regex is true.
#define LT_TOK_GPT2_PATTERN \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

// ---------------------------------------------------------------- hashing

uint64_t lt_tok_hash(const void *data, size_t n);

// A byte string -> id map whose keys live in a caller-owned arena (offsets, so
// the arena may move). Open addressing, power-of-two capacity.
typedef struct {
    uint32_t off, len;
    int32_t id; // -1: empty slot
    uint32_t tag;
} lt_strmap_slot;
typedef struct {
    lt_strmap_slot *slots;
    size_t mask, count;
} lt_strmap;
lt_status lt_strmap_init(lt_strmap *m, size_t expected);
void lt_strmap_free(lt_strmap *m);
// Returns the id stored for key, or -1.
int32_t lt_strmap_get(const lt_strmap *m, const char *arena, const void *key, size_t len);
// The same with the key's lt_tok_hash already computed.
int32_t lt_strmap_get_hashed(const lt_strmap *m, const char *arena, const void *key, size_t len,
                             uint64_t hash);
// Inserts key (which must already be at arena[off..off+len)) -> id. Fails with
// LT_ERR_FORMAT if the key is present (the caller adds context).
lt_status lt_strmap_put(lt_strmap *m, const char *arena, uint32_t off, uint32_t len, int32_t id);

// A (left id, right id) -> (rank, merged id) map for BPE merges.
typedef struct {
    uint64_t *keys; // UINT64_MAX: empty
    int32_t *rank;
    int32_t *merged;
    size_t mask, count;
} lt_pairmap;
lt_status lt_pairmap_init(lt_pairmap *m, size_t expected);
void lt_pairmap_free(lt_pairmap *m);
// Returns the slot index or -1 when absent.
static inline int64_t lt_pairmap_find(const lt_pairmap *m, int32_t left, int32_t right) {
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & m->mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key) return (int64_t)i;
        if (k == UINT64_MAX) return -1;
        i = (i + 1) & m->mask;
    }
}
// Inserts; LT_ERR_FORMAT if the pair is present.
lt_status lt_pairmap_put(lt_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t merged);

// ---------------------------------------------------------------- byte-level alphabet

// GPT-2's byte <-> character mapping: every byte gets a printable code point.
uint32_t lt_bytelevel_char(uint8_t byte);
// The byte of a code point, or -1 when the code point is not in the alphabet.
int lt_bytelevel_byte(uint32_t cp);
// Raw bytes -> byte-level spelling (UTF-8), appended to out.
lt_status lt_bytelevel_encode(lt_bytes *out, const void *raw, size_t n);
// Byte-level spelling -> raw bytes in dst (room for n bytes); returns the byte
// count, or -1 when a character is outside the alphabet or the text is not UTF-8.
ptrdiff_t lt_bytelevel_decode(uint8_t *dst, const char *text, size_t n);

// ---------------------------------------------------------------- UTF-8

// Length of the valid UTF-8 sequence starting at s (1..4), or 0 if s does not
// start one (no overlongs, surrogates or code points past U+10FFFF).
int lt_utf8_seq_len(const uint8_t *s, size_t n, uint32_t *cp);
// Length of the longest valid UTF-8 prefix of s.
size_t lt_utf8_valid_prefix(const uint8_t *s, size_t n);
// Unicode White_Space (Rust's char::is_whitespace).
bool lt_unicode_is_space(uint32_t cp);

// ---------------------------------------------------------------- pre-tokenizer

typedef enum {
    LT_PRETOK_SPLIT = 0, // Sequence[Split(regex, Isolated), ByteLevel(use_regex=false)]
    LT_PRETOK_BYTELEVEL, // ByteLevel(use_regex=true): GPT-2's regex
} lt_pretok_kind;

typedef struct {
    lt_pretok_kind kind;
    char *pattern;    // as written in tokenizer.json
    pcre2_code *code; // compiled from the rewritten pattern
    bool jit;         // JIT compilation succeeded
    bool fast;        // Llama 3's or Qwen2's pattern: ASCII text takes the hand-written scanner
    int max_digits;   // the scanner's longest run of digits: 3 (Llama 3) or 1 (Qwen2)
} lt_pretok;

// Rewrites `\s`, `\S`, `\p{L}` and `\p{N}` so that PCRE2 matches the same
// characters as Oniguruma (the Rust library's engine, Unicode 16). Returns a
// new string (lt_free) or an LT_ERR_UNSUPPORTED / LT_ERR_FORMAT status.
lt_status lt_pretok_rewrite(const char *pattern, char **out);
lt_status lt_pretok_init(lt_pretok *p, lt_pretok_kind kind, const char *pattern);
void lt_pretok_free(lt_pretok *p);

// The Llama 3 pattern's match at text[pos] when it can be decided from ASCII
// bytes alone: returns its end, or 0 when a byte that matters is not ASCII (the
// caller then asks PCRE2). Exact to the regex; tests compare it with PCRE2.
// max_digits 3 is Llama 3's \p{N}{1,3}; 1 is Qwen2's \p{N}, otherwise the same.
size_t lt_pretok_llama3_ascii(const uint8_t *text, size_t len, size_t pos, int max_digits);

// Per-handle regex state.
typedef struct {
    pcre2_match_data *match;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
} lt_pretok_state;
lt_status lt_pretok_state_init(lt_pretok_state *s, const lt_pretok *p);
void lt_pretok_state_free(lt_pretok_state *s);

// Called for each pre-token [start, start + len) of the text; a non-NULL status stops the walk.
typedef lt_status (*lt_pretok_fn)(void *user, const uint8_t *piece, size_t len);
// Cuts valid UTF-8 text into pre-tokens (matches and the gaps between them).
lt_status lt_pretok_split_valid(const lt_pretok *p, lt_pretok_state *s, const uint8_t *text,
                                size_t len, lt_pretok_fn fn, void *user);
// Cuts any bytes into pre-tokens: valid UTF-8 runs through the regex, and each
// byte outside a valid UTF-8 sequence as a pre-token of its own.
lt_status lt_pretok_split(const lt_pretok *p, lt_pretok_state *s, const uint8_t *text, size_t len,
                          lt_pretok_fn fn, void *user);

// ---------------------------------------------------------------- the core

typedef struct {
    uint32_t off, len; // bytes in core->arena
} lt_span;
#define LT_SPAN_NONE UINT32_MAX // len of an id the model vocabulary lacks

typedef struct {
    int32_t id;
    lt_span content;
    bool special, lstrip, rstrip, normalized;
} lt_added_token;

typedef struct lt_tok_core {
    int refcount;
    // Token bytes. Model tokens are stored raw (their byte-level spelling
    // decoded); a model token whose spelling is not byte-level is kept as its
    // UTF-8 text and marked verbatim (it can be decoded, never produced by BPE).
    char *arena;
    size_t arena_n, arena_cap;
    int32_t n_ids; // 1 + largest id, model and added
    int32_t ids_cap;
    lt_span *model;     // (ids_cap) model vocabulary bytes; len LT_SPAN_NONE = absent
    bool *verbatim;     // (ids_cap)
    int32_t *added_of;  // (ids_cap) index into added[], or -1
    int32_t n_model;    // model vocabulary entries
    int32_t n_verbatim; // of which verbatim
    lt_strmap vocab;    // raw bytes -> id, model tokens that are not verbatim
    int32_t byte_id[256];

    int32_t (*merges)[3]; // (n_merges, 3): left, right, merged, in rank order
    int32_t n_merges, merges_cap;
    lt_pairmap pairs;
    bool ignore_merges;

    lt_added_token *added; // in file order
    int32_t n_added, added_cap;
    // Set by lt_tok_core_finish, for matching added tokens in text:
    int32_t *sorted_added;    // (n_added) indices into added[]: normalized=false first, by bytes
    int32_t n_normalized;     // added tokens with normalized=true
    uint8_t added_first[256]; // bit 0: a normalized=false token starts with this byte; bit 1: =true

    lt_pretok pretok;
    cJSON *post_processor; // kept from the loaded file for saving; may be NULL
    int32_t bos, eos, pad;
} lt_tok_core;

// A pre-token cache: bytes -> ids, cleared when full.
typedef struct {
    uint64_t hash; // 0: empty
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids;
} lt_cache_slot;
typedef struct {
    lt_cache_slot *slots;
    size_t mask, count;
    char *keys;
    size_t keys_n, keys_cap;
    int32_t *ids;
    size_t ids_n, ids_cap;
} lt_bpe_cache;

// Sees every pre-token an encode produces, with its ids (for analyses such as
// vocabulary augmentation); added tokens are not pre-tokens and not reported.
typedef lt_status (*lt_piece_hook)(void *user, const uint8_t *piece, size_t len, const int32_t *ids,
                                   size_t n);

// The hot cache: short pre-tokens (up to 16 bytes) with up to 3 ids, stored
// inline and direct-mapped, small enough to stay in the CPU's L2 cache. Most
// words of running text hit it; the rest go through the vocabulary and the
// pre-token cache.
enum { LT_HOT_KEY = 16, LT_HOT_IDS = 3, LT_HOT_SLOTS = 1 << 14 };
typedef struct {
    uint64_t key[2]; // the pre-token's bytes, zero-padded
    uint8_t len;     // 0: empty
    uint8_t n_ids;
    int32_t ids[LT_HOT_IDS];
} lt_hot_entry;

struct lt_tokenizer {
    lt_tok_core *core;
    lt_hot_entry *hot;  // (LT_HOT_SLOTS)
    lt_piece_hook hook; // NULL normally
    void *hook_user;
    lt_bpe_cache cache;
    lt_pretok_state pretok;
    int32_t *sym;   // (scratch_cap) BPE symbols of the current pre-token
    uint64_t *pair; // (scratch_cap) rank << 32 | merged id of (sym[i], sym[i+1])
    size_t scratch_cap;
};

// Core construction (used by the loader, trainer and augmenter).
lt_status lt_tok_core_new(lt_tok_core **out);
void lt_tok_core_release(lt_tok_core *c);
// Appends bytes to the arena and returns their span.
lt_status lt_tok_core_store(lt_tok_core *c, const void *bytes, size_t n, lt_span *out);
// Adds a model token with raw bytes (verbatim: bytes are the token's text, not
// byte-level). Duplicate ids or bytes are LT_ERR_FORMAT.
lt_status lt_tok_core_add_model(lt_tok_core *c, int32_t id, const void *bytes, size_t n,
                                bool verbatim);
// Adds a merge of two ids with the next rank; fails if the pair is present or
// its result is unknown.
lt_status lt_tok_core_add_merge(lt_tok_core *c, int32_t left, int32_t right);
lt_status lt_tok_core_add_added(lt_tok_core *c, int32_t id, const void *content, size_t n,
                                bool special, bool lstrip, bool rstrip, bool normalized);
// Checks the finished core (all 256 byte symbols present), fills byte_id and
// indexes the added tokens. Call again after adding tokens.
lt_status lt_tok_core_finish(lt_tok_core *c, const char *source);
// Wraps a core in a handle (takes the core's reference on success).
lt_status lt_tokenizer_from_core(lt_tokenizer **out, lt_tok_core *core);

// ---------------------------------------------------------------- BPE

// Merges the symbols sym[0..n) in place and returns the new count. Both
// variants apply the lowest-ranked pair first, leftmost on ties (the Rust
// library's order): the linear one rescans a short word (`scratch`: n
// entries), the heap one scales to long pre-tokens (allocates its own scratch).
size_t lt_bpe_merge_linear(const lt_tok_core *c, int32_t *sym, uint64_t *scratch, size_t n);
lt_status lt_bpe_merge_heap(const lt_tok_core *c, int32_t *sym, size_t *n);
// Encodes one pre-token through the cache, appending to out.
lt_status lt_bpe_encode_piece(lt_tokenizer *tok, const uint8_t *piece, size_t len, lt_ids *out);
lt_status lt_bpe_cache_init(lt_bpe_cache *c);
void lt_bpe_cache_free(lt_bpe_cache *c);

#endif
