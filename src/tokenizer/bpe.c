// bpe.c: the BPE merge loop and the pre-token cache. A pre-token's bytes
// become byte symbols; the lowest-ranked adjacent pair is merged, leftmost
// first on ties, until no pair has a merge. With `ignore_merges` (Llama 3) a
// pre-token that is itself in the vocabulary is emitted whole. Most pre-tokens
// repeat (words), so their ids are cached per handle.
#include <string.h>

#include "tokenizer/tok_internal.h"

enum {
    LINEAR_MAX = 64,          // words up to this many bytes use the rescanning loop
    CACHE_SLOTS = 1 << 17,    // power of two
    CACHE_MAX_KEY = 255,      // longer pre-tokens are not cached
    CACHE_KEYS_MAX = 8 << 20, // bytes of cached keys before the cache is cleared
    CACHE_IDS_MAX = 2 << 20,  // cached ids before the cache is cleared
};
#define NO_PAIR UINT64_MAX

// rank << 32 | merged id of the pair, or NO_PAIR. Comparing these compares
// ranks: a rank names one merge, so equal ranks mean equal merged ids.
static inline uint64_t pair_of(const lt_pairmap *pm, int32_t left, int32_t right) {
    int64_t slot = lt_pairmap_find(pm, left, right);
    if (slot < 0) return NO_PAIR;
    return ((uint64_t)(uint32_t)pm->rank[slot] << 32) | (uint32_t)pm->merged[slot];
}

size_t lt_bpe_merge_linear(const lt_tok_core *c, int32_t *sym, uint64_t *pair, size_t n) {
    if (n < 2) return n;
    const lt_pairmap *pm = &c->pairs;
    for (size_t i = 0; i + 1 < n; i++) pair[i] = pair_of(pm, sym[i], sym[i + 1]);
    for (;;) {
        size_t best = 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (pair[i] < pair[best]) best = i;
        if (pair[best] == NO_PAIR) return n;
        sym[best] = (int32_t)(uint32_t)pair[best];
        memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof *sym);
        memmove(pair + best + 1, pair + best + 2, (n - best - 2) * sizeof *pair);
        n--;
        if (n < 2) return n;
        if (best > 0) pair[best - 1] = pair_of(pm, sym[best - 1], sym[best]);
        if (best + 1 < n) pair[best] = pair_of(pm, sym[best], sym[best + 1]);
    }
}

// ---------------------------------------------------------------- heap variant

// A min-heap of rank << 32 | position: lowest rank first, then leftmost.
static void heap_push(uint64_t *heap, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent] <= v) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = v;
}

static uint64_t heap_pop(uint64_t *heap, size_t *n) {
    uint64_t top = heap[0], last = heap[--*n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) break;
        if (child + 1 < *n && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
    }
    if (*n > 0) heap[i] = last;
    return top;
}

lt_status lt_bpe_merge_heap(const lt_tok_core *c, int32_t *sym, size_t *n_io) {
    size_t n = *n_io;
    if (n < 2) return NULL;
    const lt_pairmap *pm = &c->pairs;
    int32_t *next, *prev;
    uint64_t *heap;
    // Each merge pushes at most two pairs: 3n entries bound the heap.
    LT_TRY(lt_alloc((void **)&next, n * sizeof *next, "BPE word"));
    lt_status st = lt_alloc((void **)&prev, n * sizeof *prev, "BPE word");
    if (st) {
        lt_free(next);
        return st;
    }
    st = lt_alloc((void **)&heap, 3 * n * sizeof *heap, "BPE word");
    if (st) {
        lt_free(next);
        lt_free(prev);
        return st;
    }
    size_t heap_n = 0;
    for (size_t i = 0; i < n; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
        if (i + 1 < n) {
            uint64_t p = pair_of(pm, sym[i], sym[i + 1]);
            if (p != NO_PAIR) heap_push(heap, &heap_n, (p >> 32) << 32 | i);
        }
    }
    while (heap_n > 0) {
        uint64_t top = heap_pop(heap, &heap_n);
        int32_t pos = (int32_t)(uint32_t)top, rank = (int32_t)(top >> 32);
        // Entries go stale when a neighbour merged: skip those whose pair changed.
        if (sym[pos] < 0 || next[pos] < 0) continue;
        int32_t right = next[pos];
        uint64_t p = pair_of(pm, sym[pos], sym[right]);
        if (p == NO_PAIR || (int32_t)(p >> 32) != rank) continue;
        sym[pos] = (int32_t)(uint32_t)p;
        sym[right] = -1;
        next[pos] = next[right];
        if (next[pos] >= 0) prev[next[pos]] = pos;
        if (prev[pos] >= 0) {
            uint64_t q = pair_of(pm, sym[prev[pos]], sym[pos]);
            if (q != NO_PAIR) heap_push(heap, &heap_n, (q >> 32) << 32 | (uint32_t)prev[pos]);
        }
        if (next[pos] >= 0) {
            uint64_t q = pair_of(pm, sym[pos], sym[next[pos]]);
            if (q != NO_PAIR) heap_push(heap, &heap_n, (q >> 32) << 32 | (uint32_t)pos);
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sym[i] >= 0) sym[k++] = sym[i];
    *n_io = k;
    lt_free(next);
    lt_free(prev);
    lt_free(heap);
    return NULL;
}

// ---------------------------------------------------------------- cache

lt_status lt_bpe_cache_init(lt_bpe_cache *c) {
    memset(c, 0, sizeof *c);
    LT_TRY(lt_calloc((void **)&c->slots, CACHE_SLOTS, sizeof *c->slots, "pre-token cache"));
    c->mask = CACHE_SLOTS - 1;
    return NULL;
}

void lt_bpe_cache_free(lt_bpe_cache *c) {
    lt_free(c->slots);
    lt_free(c->keys);
    lt_free(c->ids);
    memset(c, 0, sizeof *c);
}

static void cache_clear(lt_bpe_cache *c) {
    memset(c->slots, 0, (c->mask + 1) * sizeof *c->slots);
    c->count = c->keys_n = c->ids_n = 0;
}

static const lt_cache_slot *cache_find(const lt_bpe_cache *c, uint64_t h, const uint8_t *key,
                                       size_t len) {
    for (size_t i = (size_t)h & c->mask;; i = (i + 1) & c->mask) {
        const lt_cache_slot *s = &c->slots[i];
        if (s->hash == 0) return NULL;
        if (s->hash == h && s->key_len == len && memcmp(c->keys + s->key_off, key, len) == 0)
            return s;
    }
}

static lt_status grow(void **buf, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return NULL;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    void *p;
    LT_TRY(lt_alloc(&p, cap2 * elem, what));
    if (*buf) memcpy(p, *buf, *cap * elem);
    lt_free(*buf);
    *buf = p;
    *cap = cap2;
    return NULL;
}

// Caching is an optimisation: when it cannot be done, it is skipped.
static lt_status cache_put(lt_bpe_cache *c, uint64_t h, const uint8_t *key, size_t len,
                           const int32_t *ids, size_t n) {
    if (len > CACHE_MAX_KEY || n > UINT16_MAX) return NULL;
    if ((c->count + 1) * 2 > c->mask + 1 || c->keys_n + len > CACHE_KEYS_MAX ||
        c->ids_n + n > CACHE_IDS_MAX)
        cache_clear(c);
    LT_TRY(grow((void **)&c->keys, &c->keys_cap, c->keys_n + len, 1, "pre-token cache"));
    LT_TRY(grow((void **)&c->ids, &c->ids_cap, c->ids_n + n, sizeof *c->ids, "pre-token cache"));
    size_t i = (size_t)h & c->mask;
    while (c->slots[i].hash != 0) i = (i + 1) & c->mask;
    memcpy(c->keys + c->keys_n, key, len);
    memcpy(c->ids + c->ids_n, ids, n * sizeof *ids);
    c->slots[i] =
        (lt_cache_slot){h, (uint32_t)c->keys_n, (uint32_t)c->ids_n, (uint16_t)len, (uint16_t)n};
    c->keys_n += len;
    c->ids_n += n;
    c->count++;
    return NULL;
}

// ---------------------------------------------------------------- one pre-token

// Everything but the hot cache: the whole pre-token in the vocabulary
// (ignore_merges), the pre-token cache, or the merge loop.
static lt_status encode_slow(lt_tokenizer *tok, const uint8_t *piece, size_t len, lt_ids *out) {
    const lt_tok_core *core = tok->core;
    uint64_t hash = lt_tok_hash(piece, len);
    if (core->ignore_merges) {
        int32_t id = lt_strmap_get_hashed(&core->vocab, core->arena, piece, len, hash);
        if (id >= 0) return lt_ids_push(out, id);
    }
    uint64_t h = hash | 1; // 0 marks an empty cache slot
    const lt_cache_slot *hit = cache_find(&tok->cache, h, piece, len);
    if (hit) {
        LT_TRY(lt_ids_reserve(out, hit->n_ids));
        memcpy(out->data + out->n, tok->cache.ids + hit->ids_off, hit->n_ids * sizeof(int32_t));
        out->n += hit->n_ids;
        return NULL;
    }
    if (len > tok->scratch_cap) {
        size_t cap = len < 256 ? 256 : len;
        lt_free(tok->sym);
        lt_free(tok->pair);
        tok->sym = NULL;
        tok->pair = NULL;
        tok->scratch_cap = 0;
        LT_TRY(lt_alloc((void **)&tok->sym, cap * sizeof *tok->sym, "BPE scratch"));
        LT_TRY(lt_alloc((void **)&tok->pair, cap * sizeof *tok->pair, "BPE scratch"));
        tok->scratch_cap = cap;
    }
    int32_t *sym = tok->sym;
    for (size_t i = 0; i < len; i++) sym[i] = core->byte_id[piece[i]];
    size_t n = len;
    if (len <= LINEAR_MAX)
        n = lt_bpe_merge_linear(core, sym, tok->pair, n);
    else
        LT_TRY(lt_bpe_merge_heap(core, sym, &n));
    LT_TRY(lt_ids_reserve(out, n));
    memcpy(out->data + out->n, sym, n * sizeof *sym);
    out->n += n;
    return cache_put(&tok->cache, h, piece, len, sym, n);
}

static inline uint64_t hot_hash(uint64_t k0, uint64_t k1, size_t len) {
    uint64_t h = (k0 ^ (len * 0x9E3779B97F4A7C15ull)) * 0xbf58476d1ce4e5b9ull;
    h ^= k1 * 0x94d049bb133111ebull;
    h ^= h >> 31;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

lt_status lt_bpe_encode_piece(lt_tokenizer *tok, const uint8_t *piece, size_t len, lt_ids *out) {
    if (len == 1) return lt_ids_push(out, tok->core->byte_id[piece[0]]);
    if (len > LT_HOT_KEY) return encode_slow(tok, piece, len, out);
    uint64_t key[2] = {0, 0};
    memcpy(key, piece, len);
    lt_hot_entry *e = &tok->hot[hot_hash(key[0], key[1], len) & (LT_HOT_SLOTS - 1)];
    if (e->len == len && e->key[0] == key[0] && e->key[1] == key[1]) {
        LT_TRY(lt_ids_reserve(out, LT_HOT_IDS));
        for (int i = 0; i < e->n_ids; i++) out->data[out->n++] = e->ids[i];
        return NULL;
    }
    size_t before = out->n;
    LT_TRY(encode_slow(tok, piece, len, out));
    size_t n = out->n - before;
    if (n <= LT_HOT_IDS) { // replaces whatever the slot held
        e->key[0] = key[0];
        e->key[1] = key[1];
        e->len = (uint8_t)len;
        e->n_ids = (uint8_t)n;
        memcpy(e->ids, out->data + before, n * sizeof *e->ids);
    }
    return NULL;
}
