// tokenizer.c: building a tokenizer's tables, the encode path (added tokens
// first, then pre-tokens through BPE) and decoding.
#define _GNU_SOURCE // qsort_r
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

// ---------------------------------------------------------------- buffers

lt_status lt_ids_reserve(lt_ids *v, size_t extra) {
    if (v->n + extra <= v->cap) return NULL;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < v->n + extra) cap *= 2;
    int32_t *p = realloc(v->data, cap * sizeof *p);
    if (!p) return lt_error(LT_ERR_NOMEM, "token ids: cannot grow to %zu entries", cap);
    v->data = p;
    v->cap = cap;
    return NULL;
}

lt_status lt_ids_push(lt_ids *v, int32_t id) {
    if (v->n == v->cap) LT_TRY(lt_ids_reserve(v, 1));
    v->data[v->n++] = id;
    return NULL;
}

void lt_ids_free(lt_ids *v) {
    free(v->data);
    memset(v, 0, sizeof *v);
}

lt_status lt_bytes_append(lt_bytes *b, const void *data, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return lt_error(LT_ERR_NOMEM, "byte buffer: cannot grow to %zu bytes", cap);
        b->data = p;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->n, data, n);
    b->n += n;
    b->data[b->n] = 0;
    return NULL;
}

void lt_bytes_free(lt_bytes *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

// ---------------------------------------------------------------- core

lt_status lt_tok_core_new(lt_tok_core **out) {
    lt_tok_core *c;
    *out = NULL;
    LT_TRY(lt_calloc((void **)&c, 1, sizeof *c, "tokenizer"));
    c->refcount = 1;
    c->bos = c->eos = c->pad = -1;
    for (int b = 0; b < 256; b++) c->byte_id[b] = -1;
    lt_status st = lt_strmap_init(&c->vocab, 1024);
    if (!st) st = lt_pairmap_init(&c->pairs, 1024);
    if (st) {
        lt_tok_core_release(c);
        return st;
    }
    *out = c;
    return NULL;
}

void lt_tok_core_release(lt_tok_core *c) {
    if (!c || __atomic_sub_fetch(&c->refcount, 1, __ATOMIC_ACQ_REL) > 0) return;
    free(c->arena);
    free(c->model);
    free(c->verbatim);
    free(c->added_of);
    free(c->merges);
    free(c->added);
    free(c->sorted_added);
    lt_strmap_free(&c->vocab);
    lt_pairmap_free(&c->pairs);
    lt_pretok_free(&c->pretok);
    cJSON_Delete(c->post_processor);
    lt_free(c);
}

lt_status lt_tok_core_store(lt_tok_core *c, const void *bytes, size_t n, lt_span *out) {
    if (n >= LT_SPAN_NONE || c->arena_n + n >= UINT32_MAX)
        return lt_error(LT_ERR_RANGE, "tokenizer: token bytes exceed 4 GiB");
    if (c->arena_n + n > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 1 << 16;
        while (cap < c->arena_n + n) cap *= 2;
        char *p = realloc(c->arena, cap);
        if (!p) return lt_error(LT_ERR_NOMEM, "tokenizer: cannot grow token storage");
        c->arena = p;
        c->arena_cap = cap;
    }
    if (n) memcpy(c->arena + c->arena_n, bytes, n);
    *out = (lt_span){(uint32_t)c->arena_n, (uint32_t)n};
    c->arena_n += n;
    return NULL;
}

// Makes room for `id` in the per-id arrays.
static lt_status ensure_id(lt_tok_core *c, int32_t id) {
    if (id < 0 || id >= LT_TOK_MAX_ID)
        return lt_error(LT_ERR_RANGE, "id %ld is outside [0, %d)", (long)id, LT_TOK_MAX_ID);
    if (id >= c->ids_cap) {
        int32_t cap = c->ids_cap ? c->ids_cap : 1024;
        while (cap <= id) cap *= 2;
        lt_span *model = realloc(c->model, (size_t)cap * sizeof *model);
        if (model) c->model = model;
        bool *verbatim = realloc(c->verbatim, (size_t)cap * sizeof *verbatim);
        if (verbatim) c->verbatim = verbatim;
        int32_t *added_of = realloc(c->added_of, (size_t)cap * sizeof *added_of);
        if (added_of) c->added_of = added_of;
        if (!model || !verbatim || !added_of)
            return lt_error(LT_ERR_NOMEM, "tokenizer: cannot grow to %ld ids", (long)cap);
        for (int32_t i = c->ids_cap; i < cap; i++) {
            c->model[i] = (lt_span){0, LT_SPAN_NONE};
            c->verbatim[i] = false;
            c->added_of[i] = -1;
        }
        c->ids_cap = cap;
    }
    if (id >= c->n_ids) c->n_ids = id + 1;
    return NULL;
}

lt_status lt_tok_core_add_model(lt_tok_core *c, int32_t id, const void *bytes, size_t n,
                                bool verbatim) {
    LT_TRY(ensure_id(c, id));
    if (c->model[id].len != LT_SPAN_NONE)
        return lt_error(LT_ERR_FORMAT, "id %ld is used by two tokens", (long)id);
    if (n == 0) return lt_error(LT_ERR_FORMAT, "token %ld is empty", (long)id);
    lt_span span;
    LT_TRY(lt_tok_core_store(c, bytes, n, &span));
    if (!verbatim) {
        lt_status st = lt_strmap_put(&c->vocab, c->arena, span.off, span.len, id);
        if (st) {
            lt_status_free(st);
            return lt_error(LT_ERR_FORMAT, "token %ld repeats the bytes of token %ld", (long)id,
                            (long)lt_strmap_get(&c->vocab, c->arena, bytes, n));
        }
    }
    c->model[id] = span;
    c->verbatim[id] = verbatim;
    c->n_model++;
    c->n_verbatim += verbatim;
    return NULL;
}

static bool is_model_token(const lt_tok_core *c, int32_t id) {
    return id >= 0 && id < c->n_ids && c->model[id].len != LT_SPAN_NONE && !c->verbatim[id];
}

lt_status lt_tok_core_add_merge(lt_tok_core *c, int32_t left, int32_t right) {
    if (!is_model_token(c, left) || !is_model_token(c, right))
        return lt_error(LT_ERR_FORMAT, "merge of ids %ld and %ld: not both byte-level tokens",
                        (long)left, (long)right);
    lt_span a = c->model[left], b = c->model[right];
    char small[256], *joined = small;
    size_t n = (size_t)a.len + b.len;
    if (n > sizeof small) LT_TRY(lt_alloc((void **)&joined, n, "merge"));
    memcpy(joined, c->arena + a.off, a.len);
    memcpy(joined + a.len, c->arena + b.off, b.len);
    int32_t merged = lt_strmap_get(&c->vocab, c->arena, joined, n);
    if (joined != small) lt_free(joined);
    if (merged < 0)
        return lt_error(LT_ERR_FORMAT,
                        "merge of ids %ld and %ld gives a token the vocabulary lacks", (long)left,
                        (long)right);
    if (c->n_merges == c->merges_cap) {
        int32_t cap = c->merges_cap ? c->merges_cap * 2 : 1024;
        int32_t(*m)[3] = realloc(c->merges, (size_t)cap * sizeof *m);
        if (!m) return lt_error(LT_ERR_NOMEM, "tokenizer: cannot grow merges to %ld", (long)cap);
        c->merges = m;
        c->merges_cap = cap;
    }
    lt_status st = lt_pairmap_put(&c->pairs, left, right, c->n_merges, merged);
    if (st) {
        lt_status_free(st);
        return lt_error(LT_ERR_FORMAT, "merge of ids %ld and %ld appears twice", (long)left,
                        (long)right);
    }
    c->merges[c->n_merges][0] = left;
    c->merges[c->n_merges][1] = right;
    c->merges[c->n_merges][2] = merged;
    c->n_merges++;
    return NULL;
}

lt_status lt_tok_core_add_added(lt_tok_core *c, int32_t id, const void *content, size_t n,
                                bool special, bool lstrip, bool rstrip, bool normalized) {
    if (n == 0) return lt_error(LT_ERR_FORMAT, "added token %ld has empty content", (long)id);
    if (memchr(content, 0, n))
        return lt_error(LT_ERR_FORMAT, "added token %ld contains a NUL byte", (long)id);
    LT_TRY(ensure_id(c, id));
    if (c->added_of[id] >= 0)
        return lt_error(LT_ERR_FORMAT, "id %ld is used by two added tokens", (long)id);
    for (int32_t i = 0; i < c->n_added; i++) {
        lt_span s = c->added[i].content;
        if (s.len == n && memcmp(c->arena + s.off, content, n) == 0)
            return lt_error(LT_ERR_FORMAT, "added tokens %ld and %ld have the same content",
                            (long)c->added[i].id, (long)id);
    }
    if (c->n_added == c->added_cap) {
        int32_t cap = c->added_cap ? c->added_cap * 2 : 64;
        lt_added_token *a = realloc(c->added, (size_t)cap * sizeof *a);
        int32_t *sorted = realloc(c->sorted_added, (size_t)cap * sizeof *sorted);
        if (a) c->added = a;
        if (sorted) c->sorted_added = sorted;
        if (!a || !sorted) return lt_error(LT_ERR_NOMEM, "tokenizer: cannot grow added tokens");
        c->added_cap = cap;
    }
    lt_span span;
    LT_TRY(lt_tok_core_store(c, content, n, &span));
    c->added[c->n_added] = (lt_added_token){id, span, special, lstrip, rstrip, normalized};
    c->added_of[id] = c->n_added++;
    return NULL;
}

// Orders added tokens for prefix search: normalized=false first, then by bytes
// (a prefix before its extensions).
static int added_cmp(const void *pa, const void *pb, void *core) {
    const lt_tok_core *sort_core = core;
    const lt_added_token *a = &sort_core->added[*(const int32_t *)pa];
    const lt_added_token *b = &sort_core->added[*(const int32_t *)pb];
    if (a->normalized != b->normalized) return a->normalized ? 1 : -1;
    uint32_t n = a->content.len < b->content.len ? a->content.len : b->content.len;
    int d = memcmp(sort_core->arena + a->content.off, sort_core->arena + b->content.off, n);
    if (d) return d;
    return a->content.len < b->content.len ? -1 : a->content.len > b->content.len;
}

lt_status lt_tok_core_finish(lt_tok_core *c, const char *source) {
    for (int b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        c->byte_id[b] = lt_strmap_get(&c->vocab, c->arena, &byte, 1);
        if (c->byte_id[b] < 0) {
            lt_bytes spelled = {0};
            LT_TRY(lt_bytelevel_encode(&spelled, &byte, 1));
            lt_status st = lt_error(LT_ERR_FORMAT,
                                    "%s: the vocabulary has no token for byte 0x%02x ('%s'); a "
                                    "byte-level BPE needs all 256",
                                    source, b, spelled.data);
            lt_bytes_free(&spelled);
            return st;
        }
    }
    memset(c->added_first, 0, sizeof c->added_first);
    c->n_normalized = 0;
    for (int32_t i = 0; i < c->n_added; i++) {
        const lt_added_token *a = &c->added[i];
        c->added_first[(uint8_t)c->arena[a->content.off]] |= a->normalized ? 2 : 1;
        c->sorted_added[i] = i;
        c->n_normalized += a->normalized;
    }
    if (c->n_added > 0)
        qsort_r(c->sorted_added, (size_t)c->n_added, sizeof *c->sorted_added, added_cmp, c);
    return NULL;
}

// ---------------------------------------------------------------- handles

lt_status lt_tokenizer_from_core(lt_tokenizer **out, lt_tok_core *core) {
    lt_tokenizer *tok;
    *out = NULL;
    LT_TRY(lt_calloc((void **)&tok, 1, sizeof *tok, "tokenizer"));
    lt_status st = lt_bpe_cache_init(&tok->cache);
    if (!st) st = lt_pretok_state_init(&tok->pretok, &core->pretok);
    if (!st) st = lt_calloc((void **)&tok->hot, LT_HOT_SLOTS, sizeof *tok->hot, "hot cache");
    if (st) {
        lt_bpe_cache_free(&tok->cache);
        lt_pretok_state_free(&tok->pretok);
        lt_free(tok);
        return st;
    }
    tok->core = core;
    *out = tok;
    return NULL;
}

lt_status lt_tokenizer_dup(lt_tokenizer **out, const lt_tokenizer *tok) {
    __atomic_add_fetch(&tok->core->refcount, 1, __ATOMIC_ACQ_REL);
    lt_status st = lt_tokenizer_from_core(out, tok->core);
    if (st) lt_tok_core_release(tok->core);
    return st;
}

void lt_tokenizer_free(lt_tokenizer *tok) {
    if (!tok) return;
    lt_bpe_cache_free(&tok->cache);
    lt_pretok_state_free(&tok->pretok);
    lt_free(tok->hot);
    lt_free(tok->sym);
    lt_free(tok->pair);
    lt_tok_core_release(tok->core);
    lt_free(tok);
}

// ---------------------------------------------------------------- encode

typedef struct {
    lt_tokenizer *tok;
    lt_ids *out;
} piece_ctx;

static lt_status on_piece(void *user, const uint8_t *piece, size_t len) {
    piece_ctx *ctx = user;
    size_t before = ctx->out->n;
    LT_TRY(lt_bpe_encode_piece(ctx->tok, piece, len, ctx->out));
    if (ctx->tok->hook)
        return ctx->tok->hook(ctx->tok->hook_user, piece, len, ctx->out->data + before,
                              ctx->out->n - before);
    return NULL;
}

static lt_status encode_plain(lt_tokenizer *tok, const uint8_t *text, size_t len, lt_ids *out) {
    piece_ctx ctx = {tok, out};
    return lt_pretok_split(&tok->core->pretok, &tok->pretok, text, len, on_piece, &ctx);
}

// The longest added token (of the given normalized kind) that starts text, or
// -1. sorted_added is a sorted list, so tokens sharing the first k bytes form
// a range that narrows byte by byte, as in a trie.
static int32_t added_match(const lt_tok_core *c, const uint8_t *text, size_t n, bool normalized) {
    const int32_t *sorted = c->sorted_added;
    size_t lo = normalized ? (size_t)(c->n_added - c->n_normalized) : 0;
    size_t hi = normalized ? (size_t)c->n_added : (size_t)(c->n_added - c->n_normalized);
    int32_t best = -1;
    for (size_t k = 0; k < n && lo < hi; k++) {
        while (lo < hi && c->added[sorted[lo]].content.len == k) lo++;
        uint8_t want = text[k];
        size_t a = lo, b = hi;
        while (a < b) { // first entry whose byte k >= want
            size_t mid = (a + b) / 2;
            if ((uint8_t)c->arena[c->added[sorted[mid]].content.off + k] < want)
                a = mid + 1;
            else
                b = mid;
        }
        lo = a;
        b = hi;
        while (a < b) { // first entry whose byte k > want
            size_t mid = (a + b) / 2;
            if ((uint8_t)c->arena[c->added[sorted[mid]].content.off + k] <= want)
                a = mid + 1;
            else
                b = mid;
        }
        hi = a;
        if (lo < hi && c->added[sorted[lo]].content.len == k + 1) best = sorted[lo];
    }
    return best;
}

// Byte length of the whitespace character that ends at text[end], or 0.
static size_t space_before(const uint8_t *text, size_t start, size_t end) {
    for (size_t len = 1; len <= 4 && len <= end - start; len++) {
        uint32_t cp;
        if (lt_utf8_seq_len(text + end - len, len, &cp) == (int)len)
            return lt_unicode_is_space(cp) ? len : 0;
    }
    return 0;
}

static size_t space_after(const uint8_t *text, size_t pos, size_t end) {
    uint32_t cp;
    int len = lt_utf8_seq_len(text + pos, end - pos, &cp);
    return len > 0 && lt_unicode_is_space(cp) ? (size_t)len : 0;
}

// Encodes text[start, end): added tokens of the first pass (normalized=false)
// are cut out first, the gaps are searched for the second pass's tokens, and
// what remains is plain text — the Rust library's order.
static lt_status encode_added(lt_tokenizer *tok, const uint8_t *text, size_t start, size_t end,
                              int pass, lt_ids *out) {
    const lt_tok_core *c = tok->core;
    uint8_t mask = pass == 0 ? 1 : 2;
    size_t seg = start, pos = start;
    while (pos < end) {
        if (!(c->added_first[text[pos]] & mask)) {
            pos++;
            continue;
        }
        int32_t k = added_match(c, text + pos, end - pos, pass == 1);
        if (k < 0) {
            pos++;
            continue;
        }
        const lt_added_token *a = &c->added[k];
        size_t s = pos, e = pos + a->content.len, w;
        if (a->lstrip)
            while (s > seg && (w = space_before(text, seg, s)) > 0) s -= w;
        if (a->rstrip)
            while (e < end && (w = space_after(text, e, end)) > 0) e += w;
        if (s > seg)
            LT_TRY(pass == 0 && c->n_normalized > 0 ? encode_added(tok, text, seg, s, 1, out)
                                                    : encode_plain(tok, text + seg, s - seg, out));
        LT_TRY(lt_ids_push(out, a->id));
        seg = pos = e;
    }
    if (end > seg)
        return pass == 0 && c->n_normalized > 0 ? encode_added(tok, text, seg, end, 1, out)
                                                : encode_plain(tok, text + seg, end - seg, out);
    return NULL;
}

lt_status lt_tokenizer_encode(lt_tokenizer *tok, const void *text, size_t len, unsigned flags,
                              lt_ids *out) {
    const lt_tok_core *c = tok->core;
    if ((flags & LT_ENCODE_BOS) && c->bos < 0)
        return lt_error(LT_ERR_ARG, "this tokenizer has no BOS token (set bos_token in "
                                    "tokenizer_config.json)");
    if ((flags & LT_ENCODE_EOS) && c->eos < 0)
        return lt_error(LT_ERR_ARG, "this tokenizer has no EOS token (set eos_token in "
                                    "tokenizer_config.json)");
    if (flags & LT_ENCODE_BOS) LT_TRY(lt_ids_push(out, c->bos));
    if (len > 0) {
        const uint8_t *bytes = text;
        if ((flags & LT_ENCODE_NO_SPECIAL) || c->n_added == 0)
            LT_TRY(encode_plain(tok, bytes, len, out));
        else
            LT_TRY(encode_added(tok, bytes, 0, len, c->n_normalized == c->n_added ? 1 : 0, out));
    }
    if (flags & LT_ENCODE_EOS) LT_TRY(lt_ids_push(out, c->eos));
    return NULL;
}

// ---------------------------------------------------------------- decode and lookups

const char *lt_tokenizer_token(const lt_tokenizer *tok, int32_t id, size_t *len) {
    const lt_tok_core *c = tok->core;
    if (id < 0 || id >= c->n_ids) return NULL;
    lt_span s;
    if (c->added_of[id] >= 0)
        s = c->added[c->added_of[id]].content;
    else if (c->model[id].len != LT_SPAN_NONE)
        s = c->model[id];
    else
        return NULL;
    if (len) *len = s.len;
    return c->arena + s.off;
}

lt_status lt_tokenizer_decode(const lt_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags,
                              lt_bytes *out) {
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *bytes = lt_tokenizer_token(tok, ids[i], &len);
        if (!bytes)
            return lt_error(LT_ERR_RANGE, "token %zu: id %ld is not in the vocabulary (%ld ids)", i,
                            (long)ids[i], (long)tok->core->n_ids);
        if ((flags & LT_DECODE_SKIP_SPECIAL) && lt_tokenizer_is_special(tok, ids[i])) continue;
        LT_TRY(lt_bytes_append(out, bytes, len));
    }
    return NULL;
}

int32_t lt_tokenizer_n_vocab(const lt_tokenizer *tok) { return tok->core->n_ids; }
int32_t lt_tokenizer_n_merges(const lt_tokenizer *tok) { return tok->core->n_merges; }
int32_t lt_tokenizer_bos(const lt_tokenizer *tok) { return tok->core->bos; }
int32_t lt_tokenizer_eos(const lt_tokenizer *tok) { return tok->core->eos; }
int32_t lt_tokenizer_pad(const lt_tokenizer *tok) { return tok->core->pad; }

bool lt_tokenizer_is_special(const lt_tokenizer *tok, int32_t id) {
    const lt_tok_core *c = tok->core;
    return id >= 0 && id < c->n_ids && c->added_of[id] >= 0 && c->added[c->added_of[id]].special;
}

int32_t lt_tokenizer_find(const lt_tokenizer *tok, const char *bytes, size_t len) {
    const lt_tok_core *c = tok->core;
    for (int32_t i = 0; i < c->n_added; i++)
        if (c->added[i].content.len == len &&
            memcmp(c->arena + c->added[i].content.off, bytes, len) == 0)
            return c->added[i].id;
    int32_t id = lt_strmap_get(&c->vocab, c->arena, bytes, len);
    if (id >= 0) return id;
    for (int32_t i = 0; c->n_verbatim > 0 && i < c->n_ids; i++)
        if (c->verbatim[i] && c->model[i].len == len &&
            memcmp(c->arena + c->model[i].off, bytes, len) == 0)
            return i;
    return -1;
}

// ---------------------------------------------------------------- a model directory's tokenizer

lt_status lt_tokenizer_dir_check(const char *dir, int64_t vocab) {
    char *json = lt_path_join(dir, "tokenizer.json");
    if (!json)
        return lt_error_nomem("the path of tokenizer.json", strlen(dir) + sizeof "/tokenizer.json");
    bool found = lt_path_exists(json);
    lt_free(json);
    if (!found)
        return lt_error(
            LT_ERR_ARG,
            "%s has no tokenizer.json: give the directory `lathe tokenizer train` wrote "
            "(tokenizer.json, tokenizer_config.json)",
            dir);
    lt_tokenizer *tok;
    LT_TRY(lt_tokenizer_load(&tok, dir));
    int64_t n = lt_tokenizer_n_vocab(tok);
    lt_tokenizer_free(tok);
    if (n > vocab)
        return lt_error(LT_ERR_ARG,
                        "the tokenizer %s has %lld tokens but the model's vocabulary has %lld: "
                        "give the tokenizer the data was tokenized with",
                        dir, (long long)n, (long long)vocab);
    return NULL;
}

lt_status lt_tokenizer_dir_copy(const char *from, const char *to) {
    static const char *const names[] = {"tokenizer.json", "tokenizer_config.json"};
    lt_status s = NULL;
    for (size_t i = 0; !s && i < sizeof names / sizeof names[0]; i++) {
        char *src = lt_path_join(from, names[i]), *dst = lt_path_join(to, names[i]), *text = NULL;
        size_t len = 0;
        if (!src || !dst)
            s = lt_error_nomem("the paths of the tokenizer files",
                               strlen(from) + strlen(to) + 2 * (strlen(names[i]) + 2));
        else if (lt_path_exists(src)) {
            s = lt_file_read_all(src, &text, &len, (size_t)1 << 30);
            if (!s) s = lt_file_write_all(dst, text, len);
        }
        lt_free(text);
        lt_free(src);
        lt_free(dst);
    }
    return s;
}
