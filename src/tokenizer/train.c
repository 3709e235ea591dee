// train.c: byte-level BPE training. Documents are cut into pre-tokens by the
// same regex encoding uses; unique pre-tokens ("words") are counted; then the
// most frequent adjacent pair of symbols is merged, again and again, until the
// vocabulary is full. Pair counts are kept incrementally: a merge visits only
// the words that contain its pair (an index from pair to words), adjusts the
// counts of the pairs around each occurrence, and a max-heap with lazy
// re-insertion finds the next pair — no recount of all pairs per merge.
#include <string.h>

#include "tokenizer/tok_internal.h"

const char *const lt_tokenizer_default_specials[] = {
    "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>",      "<think>", "</think>",
};
const int lt_tokenizer_n_default_specials =
    (int)(sizeof lt_tokenizer_default_specials / sizeof *lt_tokenizer_default_specials);

struct lt_bpe_trainer {
    lt_bpe_train_opts opts;
    char **specials; // (n_specials) owned copies
    int n_specials;
    lt_pretok pretok;
    lt_pretok_state state;
    // Unique pre-tokens: bytes in `arena`, found through `map`.
    char *arena;
    size_t arena_n, arena_cap;
    lt_strmap map;
    uint32_t *word_off, *word_len; // (n_words)
    int64_t *word_count;           // (n_words)
    size_t n_words, words_cap;
};

// ---------------------------------------------------------------- growable arrays

static lt_status grow(void **p, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return NULL;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return lt_error(LT_ERR_NOMEM, "BPE training: cannot grow %s to %zu entries", what, c);
    *p = q;
    *cap = c;
    return NULL;
}

// ---------------------------------------------------------------- counting words

lt_status lt_bpe_trainer_init(lt_bpe_trainer **out, const lt_bpe_train_opts *opts) {
    *out = NULL;
    lt_bpe_trainer *tr;
    LT_TRY(lt_calloc((void **)&tr, 1, sizeof *tr, "BPE trainer"));
    tr->opts = *opts;
    if (tr->opts.min_frequency <= 0) tr->opts.min_frequency = 2;
    const char *const *base = opts->specials ? opts->specials : lt_tokenizer_default_specials;
    int n_base = opts->specials ? opts->n_specials : lt_tokenizer_n_default_specials;
    int total = n_base + opts->n_extra_specials;
    lt_status st = lt_calloc((void **)&tr->specials, (size_t)total + 1, sizeof(char *), "specials");
    for (int i = 0; i < total && !st; i++) {
        const char *s = i < n_base ? base[i] : opts->extra_specials[i - n_base];
        if (!s || !*s) st = lt_error(LT_ERR_ARG, "special token %d is empty", i);
        for (int k = 0; k < i && !st; k++)
            if (strcmp(tr->specials[k], s) == 0)
                st = lt_error(LT_ERR_ARG, "special token '%s' is listed twice", s);
        if (!st && !(tr->specials[i] = lt_strdup(s)))
            st = lt_error_nomem("a special token", strlen(s) + 1);
        tr->n_specials = i + 1;
    }
    if (!st && opts->vocab_size < 256 + total + 1)
        st = lt_error(LT_ERR_ARG,
                      "vocabulary size %ld is too small: 256 bytes + %d special tokens + at least "
                      "one merge need %d",
                      (long)opts->vocab_size, total, 256 + total + 1);
    if (!st && opts->vocab_size > LT_TOK_MAX_ID)
        st = lt_error(LT_ERR_ARG, "vocabulary size %ld is above %d", (long)opts->vocab_size,
                      LT_TOK_MAX_ID);
    tr->opts.specials = NULL;
    tr->opts.extra_specials = NULL;
    tr->opts.pattern = NULL;
    if (!st && opts->pattern && opts->split_digits)
        st = lt_error(LT_ERR_ARG, "split_digits chooses the pre-tokenizer regex (Qwen2's), so it "
                                  "cannot be combined with a pattern of its own; give one of them");
    const char *pattern = opts->split_digits ? LT_TOK_QWEN2_PATTERN
                          : opts->pattern    ? opts->pattern
                                             : LT_TOK_LLAMA3_PATTERN;
    if (!st) st = lt_pretok_init(&tr->pretok, LT_PRETOK_SPLIT, pattern);
    if (!st) st = lt_pretok_state_init(&tr->state, &tr->pretok);
    if (!st) st = lt_strmap_init(&tr->map, 1 << 16);
    if (st) {
        lt_bpe_trainer_free(tr);
        return st;
    }
    *out = tr;
    return NULL;
}

void lt_bpe_trainer_free(lt_bpe_trainer *tr) {
    if (!tr) return;
    for (int i = 0; i < tr->n_specials; i++) lt_free(tr->specials[i]);
    lt_free(tr->specials);
    lt_pretok_state_free(&tr->state);
    lt_pretok_free(&tr->pretok);
    lt_strmap_free(&tr->map);
    free(tr->arena);
    free(tr->word_off);
    free(tr->word_len);
    free(tr->word_count);
    lt_free(tr);
}

static lt_status count_piece(void *user, const uint8_t *piece, size_t len) {
    lt_bpe_trainer *tr = user;
    int32_t w = lt_strmap_get(&tr->map, tr->arena, piece, len);
    if (w >= 0) {
        tr->word_count[w]++;
        return NULL;
    }
    if (tr->n_words >= (size_t)INT32_MAX || tr->arena_n + len >= UINT32_MAX)
        return lt_error(LT_ERR_RANGE, "BPE training: more than 4 GiB of distinct pre-tokens");
    LT_TRY(grow((void **)&tr->arena, &tr->arena_cap, tr->arena_n + len, 1, "words"));
    size_t cap = tr->words_cap;
    LT_TRY(grow((void **)&tr->word_off, &cap, tr->n_words + 1, sizeof *tr->word_off, "words"));
    cap = tr->words_cap;
    LT_TRY(grow((void **)&tr->word_len, &cap, tr->n_words + 1, sizeof *tr->word_len, "words"));
    cap = tr->words_cap;
    LT_TRY(grow((void **)&tr->word_count, &cap, tr->n_words + 1, sizeof *tr->word_count, "words"));
    tr->words_cap = cap;
    memcpy(tr->arena + tr->arena_n, piece, len);
    LT_TRY(lt_strmap_put(&tr->map, tr->arena, (uint32_t)tr->arena_n, (uint32_t)len,
                         (int32_t)tr->n_words));
    tr->word_off[tr->n_words] = (uint32_t)tr->arena_n;
    tr->word_len[tr->n_words] = (uint32_t)len;
    tr->word_count[tr->n_words] = 1;
    tr->n_words++;
    tr->arena_n += len;
    return NULL;
}

lt_status lt_bpe_trainer_feed(lt_bpe_trainer *tr, const void *text, size_t len) {
    return lt_pretok_split(&tr->pretok, &tr->state, text, len, count_piece, tr);
}

// ---------------------------------------------------------------- learning merges

typedef struct {
    int32_t *data;
    int32_t n, cap;
} int_vec;

static lt_status vec_push(int_vec *v, int32_t x) {
    if (v->n == v->cap) {
        int32_t cap = v->cap ? v->cap * 2 : 4;
        int32_t *d = realloc(v->data, (size_t)cap * sizeof *d);
        if (!d) return lt_error_nomem("a BPE training id list", (size_t)cap * sizeof *d);
        v->data = d;
        v->cap = cap;
    }
    v->data[v->n++] = x;
    return NULL;
}

typedef struct {
    int64_t count;
    int32_t pair;
} heap_entry;

// The state of one training run.
typedef struct {
    // Symbols of each word (ids), in one array; words only shrink.
    int32_t *syms;
    uint32_t *sym_off, *sym_n; // (n_words)
    int64_t *word_count;
    uint32_t *word_stamp; // (n_words) last merge that visited the word
    size_t n_words;
    // Token bytes by id, and bytes -> id.
    lt_tok_core *tokens;
    int32_t n_tokens;
    // Pairs: (a, b) -> index.
    lt_pairmap index;
    int32_t *pair_a, *pair_b;
    int64_t *pair_count;
    uint32_t *pair_stamp; // last merge that queued the pair
    int_vec *where;       // words that contain (or once contained) the pair
    size_t n_pairs, pairs_cap;
    heap_entry *heap;
    size_t heap_n, heap_cap;
    int32_t *touched; // pairs whose count rose in this merge
    size_t touched_n, touched_cap;
} run_state;

// Heap order: higher count first, then the smaller (a, b).
static bool heap_before(const run_state *r, heap_entry x, heap_entry y) {
    if (x.count != y.count) return x.count > y.count;
    if (r->pair_a[x.pair] != r->pair_a[y.pair]) return r->pair_a[x.pair] < r->pair_a[y.pair];
    return r->pair_b[x.pair] < r->pair_b[y.pair];
}

static lt_status heap_push(run_state *r, int32_t pair) {
    LT_TRY(grow((void **)&r->heap, &r->heap_cap, r->heap_n + 1, sizeof *r->heap, "queue"));
    heap_entry e = {r->pair_count[pair], pair};
    size_t i = r->heap_n++;
    while (i > 0 && heap_before(r, e, r->heap[(i - 1) / 2])) {
        r->heap[i] = r->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->heap[i] = e;
    return NULL;
}

static heap_entry heap_pop(run_state *r) {
    heap_entry top = r->heap[0], last = r->heap[--r->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->heap_n) break;
        if (c + 1 < r->heap_n && heap_before(r, r->heap[c + 1], r->heap[c])) c++;
        if (!heap_before(r, r->heap[c], last)) break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (r->heap_n > 0) r->heap[i] = last;
    return top;
}

static lt_status pair_index(run_state *r, int32_t a, int32_t b, int32_t *out) {
    int64_t slot = lt_pairmap_find(&r->index, a, b);
    if (slot >= 0) {
        *out = r->index.rank[slot];
        return NULL;
    }
    size_t p = r->n_pairs, cap = r->pairs_cap;
    LT_TRY(grow((void **)&r->pair_a, &cap, p + 1, sizeof *r->pair_a, "pairs"));
    cap = r->pairs_cap;
    LT_TRY(grow((void **)&r->pair_b, &cap, p + 1, sizeof *r->pair_b, "pairs"));
    cap = r->pairs_cap;
    LT_TRY(grow((void **)&r->pair_count, &cap, p + 1, sizeof *r->pair_count, "pairs"));
    cap = r->pairs_cap;
    LT_TRY(grow((void **)&r->pair_stamp, &cap, p + 1, sizeof *r->pair_stamp, "pairs"));
    cap = r->pairs_cap;
    LT_TRY(grow((void **)&r->where, &cap, p + 1, sizeof *r->where, "pairs"));
    r->pairs_cap = cap;
    r->pair_a[p] = a;
    r->pair_b[p] = b;
    r->pair_count[p] = 0;
    r->pair_stamp[p] = 0;
    r->where[p] = (int_vec){0};
    LT_TRY(lt_pairmap_put(&r->index, a, b, (int32_t)p, 0));
    r->n_pairs++;
    *out = (int32_t)p;
    return NULL;
}

// Adds delta occurrences of (a, b) in word w (delta > 0 also indexes w).
static lt_status pair_add(run_state *r, int32_t a, int32_t b, int64_t delta, int32_t w,
                          uint32_t stamp) {
    int32_t p;
    LT_TRY(pair_index(r, a, b, &p));
    r->pair_count[p] += delta;
    if (delta > 0) {
        int_vec *v = &r->where[p];
        if (v->n == 0 || v->data[v->n - 1] != w) LT_TRY(vec_push(v, w));
        if (r->pair_stamp[p] != stamp) {
            r->pair_stamp[p] = stamp;
            LT_TRY(grow((void **)&r->touched, &r->touched_cap, r->touched_n + 1, sizeof *r->touched,
                        "pairs"));
            r->touched[r->touched_n++] = p;
        }
    }
    return NULL;
}

// Replaces every (a, b) in word w by `merged`, left to right, updating the
// counts of the neighbouring pairs.
static lt_status merge_word(run_state *r, int32_t w, int32_t a, int32_t b, int32_t merged,
                            uint32_t stamp) {
    int32_t *s = r->syms + r->sym_off[w];
    uint32_t n = r->sym_n[w];
    int64_t c = r->word_count[w];
    uint32_t k = 0; // symbols written
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (k > 0) {
                LT_TRY(pair_add(r, s[k - 1], a, -c, w, stamp));
                LT_TRY(pair_add(r, s[k - 1], merged, c, w, stamp));
            }
            LT_TRY(pair_add(r, a, b, -c, w, stamp));
            if (i + 2 < n) {
                LT_TRY(pair_add(r, b, s[i + 2], -c, w, stamp));
                LT_TRY(pair_add(r, merged, s[i + 2], c, w, stamp));
            }
            s[k++] = merged;
            i++;
        } else {
            s[k++] = s[i];
        }
    }
    r->sym_n[w] = k;
    return NULL;
}

static void run_free(run_state *r) {
    free(r->syms);
    free(r->sym_off);
    free(r->sym_n);
    free(r->word_stamp);
    lt_pairmap_free(&r->index);
    for (size_t p = 0; p < r->n_pairs; p++) free(r->where[p].data);
    free(r->pair_a);
    free(r->pair_b);
    free(r->pair_count);
    free(r->pair_stamp);
    free(r->where);
    free(r->heap);
    free(r->touched);
    lt_tok_core_release(r->tokens);
}

// Byte ids in the byte-level alphabet's order: id k is the byte whose
// character is the k-th smallest ('!' = 0, ..., 'ÿ', 'Ā' = 188, ...).
static void byte_ids(int32_t id_of_byte[256]) {
    int32_t order[256];
    for (int b = 0; b < 256; b++) order[b] = b;
    for (int i = 1; i < 256; i++) // insertion sort by character
        for (int j = i; j > 0 && lt_bytelevel_char((uint8_t)order[j - 1]) >
                                     lt_bytelevel_char((uint8_t)order[j]);
             j--) {
            int32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int k = 0; k < 256; k++) id_of_byte[order[k]] = k;
}

static lt_status run_init(run_state *r, const lt_bpe_trainer *tr) {
    memset(r, 0, sizeof *r);
    r->n_words = tr->n_words;
    r->word_count = tr->word_count;
    LT_TRY(lt_tok_core_new(&r->tokens));
    int32_t id_of_byte[256];
    byte_ids(id_of_byte);
    for (int k = 0; k < 256; k++)
        for (int b = 0; b < 256; b++)
            if (id_of_byte[b] == k) {
                uint8_t byte = (uint8_t)b;
                LT_TRY(lt_tok_core_add_model(r->tokens, k, &byte, 1, false));
            }
    r->n_tokens = 256;
    size_t n = r->n_words ? r->n_words : 1;
    r->sym_off = malloc(n * sizeof *r->sym_off);
    r->sym_n = malloc(n * sizeof *r->sym_n);
    r->word_stamp = calloc(n, sizeof *r->word_stamp);
    r->syms = malloc((tr->arena_n ? tr->arena_n : 1) * sizeof *r->syms);
    if (!r->sym_off || !r->sym_n || !r->word_stamp || !r->syms)
        return lt_error_nomem("the BPE training words",
                              n * (sizeof *r->sym_off + sizeof *r->sym_n + sizeof *r->word_stamp) +
                                  (tr->arena_n ? tr->arena_n : 1) * sizeof *r->syms);
    LT_TRY(lt_pairmap_init(&r->index, 1 << 16));
    for (size_t w = 0; w < r->n_words; w++) {
        r->sym_off[w] = tr->word_off[w];
        r->sym_n[w] = tr->word_len[w];
        const uint8_t *bytes = (const uint8_t *)tr->arena + tr->word_off[w];
        int32_t *s = r->syms + r->sym_off[w];
        for (uint32_t i = 0; i < tr->word_len[w]; i++) s[i] = id_of_byte[bytes[i]];
        for (uint32_t i = 0; i + 1 < tr->word_len[w]; i++)
            LT_TRY(pair_add(r, s[i], s[i + 1], r->word_count[w], (int32_t)w, 0));
    }
    for (size_t p = 0; p < r->n_pairs; p++) LT_TRY(heap_push(r, (int32_t)p));
    r->touched_n = 0;
    return NULL;
}

// The id of the token a + b: an existing token with those bytes, or a new one.
static lt_status merged_token(run_state *r, int32_t a, int32_t b, int32_t *out) {
    lt_tok_core *t = r->tokens;
    lt_span sa = t->model[a], sb = t->model[b];
    size_t n = (size_t)sa.len + sb.len;
    char small[256], *joined = small;
    if (n > sizeof small) LT_TRY(lt_alloc((void **)&joined, n, "merge"));
    memcpy(joined, t->arena + sa.off, sa.len);
    memcpy(joined + sa.len, t->arena + sb.off, sb.len);
    *out = lt_strmap_get(&t->vocab, t->arena, joined, n);
    lt_status st = NULL;
    if (*out < 0) {
        *out = r->n_tokens;
        st = lt_tok_core_add_model(t, r->n_tokens++, joined, n, false);
    }
    if (joined != small) lt_free(joined);
    return st;
}

static lt_status learn(run_state *r, const lt_bpe_trainer *tr, int32_t target) {
    const lt_progress *progress = &tr->opts.progress;
    double total = target - 256;
    uint32_t stamp = 0;
    while (r->n_tokens < target && r->heap_n > 0) {
        heap_entry top = heap_pop(r);
        int64_t count = r->pair_count[top.pair];
        if (top.count != count) { // stale: counts fell since it was queued
            if (count > 0) LT_TRY(heap_push(r, top.pair));
            continue;
        }
        if (count < tr->opts.min_frequency) break;
        int32_t a = r->pair_a[top.pair], b = r->pair_b[top.pair], merged;
        LT_TRY(merged_token(r, a, b, &merged));
        LT_TRY(lt_tok_core_add_merge(r->tokens, a, b));
        stamp++;
        r->touched_n = 0;
        // Iterate by index: merging may grow the list being walked.
        for (int32_t i = 0; i < r->where[top.pair].n; i++) {
            int32_t w = r->where[top.pair].data[i];
            if (r->word_stamp[w] == stamp) continue;
            r->word_stamp[w] = stamp;
            LT_TRY(merge_word(r, w, a, b, merged, stamp));
        }
        free(r->where[top.pair].data);
        r->where[top.pair] = (int_vec){0};
        for (size_t i = 0; i < r->touched_n; i++)
            if (r->pair_count[r->touched[i]] > 0) LT_TRY(heap_push(r, r->touched[i]));
        if (stamp % 256 == 0)
            lt_progress_report(progress, "train", r->n_tokens - 256, total, "merges");
    }
    lt_progress_report(progress, "train", total, total, "merges");
    return NULL;
}

// The tokenizer: the learned tokens and merges, then the special tokens.
static lt_status build(run_state *r, const lt_bpe_trainer *tr, lt_tokenizer **out) {
    lt_tok_core *c = r->tokens;
    r->tokens = NULL;
    lt_status st = NULL;
    for (int i = 0; i < tr->n_specials && !st; i++) {
        bool special =
            strcmp(tr->specials[i], "<think>") != 0 && strcmp(tr->specials[i], "</think>") != 0;
        st = lt_tok_core_add_added(c, r->n_tokens + i, tr->specials[i], strlen(tr->specials[i]),
                                   special, false, false, false);
    }
    c->ignore_merges = !tr->opts.split_digits; // as Qwen2's tokenizer.json and llama.cpp's qwen2
    if (!st) st = lt_pretok_init(&c->pretok, LT_PRETOK_SPLIT, tr->pretok.pattern);
    if (!st) st = lt_tok_core_finish(c, "trained tokenizer");
    if (!st) st = lt_tokenizer_from_core(out, c);
    if (st) {
        lt_tok_core_release(c);
        return st;
    }
    const char *names[3] = {"<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"};
    c->bos = lt_tokenizer_find(*out, names[0], strlen(names[0]));
    c->eos = lt_tokenizer_find(*out, names[1], strlen(names[1]));
    c->pad = lt_tokenizer_find(*out, names[2], strlen(names[2]));
    return NULL;
}

lt_status lt_bpe_trainer_finish(lt_bpe_trainer *tr, lt_tokenizer **out) {
    *out = NULL;
    run_state r;
    lt_status st = run_init(&r, tr);
    if (!st) st = learn(&r, tr, tr->opts.vocab_size - tr->n_specials);
    if (!st) st = build(&r, tr, out);
    run_free(&r);
    return st;
}

lt_status lt_tokenizer_train(lt_tokenizer **out, const char *const *files, int n_files,
                             const lt_bpe_train_opts *opts) {
    *out = NULL;
    if (n_files <= 0) return lt_error(LT_ERR_ARG, "BPE training needs at least one input file");
    lt_bpe_trainer *tr;
    LT_TRY(lt_bpe_trainer_init(&tr, opts));
    lt_status st = NULL;
    double total = 0, done = 0;
    for (int i = 0; i < n_files; i++) {
        lt_mmap m;
        lt_status missing = lt_mmap_open(&m, files[i]);
        if (missing) { // reported below, when it is read
            lt_status_free(missing);
            continue;
        }
        total += (double)m.size;
        lt_mmap_close(&m);
    }
    for (int i = 0; i < n_files && !st; i++) {
        lt_mmap m;
        st = lt_mmap_open(&m, files[i]);
        if (st) break;
        if (m.size == 0)
            st = lt_error(LT_ERR_FORMAT, "%s: the file is empty: a tokenizer learns from text",
                          files[i]);
        else
            st = lt_error_prefix(lt_bpe_trainer_feed(tr, m.data, m.size), "%s", files[i]);
        done += (double)m.size;
        lt_mmap_close(&m);
        lt_progress_report(&opts->progress, "count", done, total, "bytes");
    }
    if (!st) st = lt_bpe_trainer_finish(tr, out);
    lt_bpe_trainer_free(tr);
    return st;
}
