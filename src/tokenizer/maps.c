// maps.c: the hash maps behind the tokenizer — token bytes -> id (the
// vocabulary) and (left, right) -> (rank, merged) (the BPE merges) — plus the
// byte hash they share. Open addressing with linear probing, load <= 1/2.
#include <string.h>

#include "tokenizer/tok_internal.h"

uint64_t lt_tok_hash(const void *data, size_t n) {
    const uint8_t *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 32;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
}

static size_t capacity_for(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    return cap;
}

// ---------------------------------------------------------------- strmap

lt_status lt_strmap_init(lt_strmap *m, size_t expected) {
    size_t cap = capacity_for(expected);
    memset(m, 0, sizeof *m);
    LT_TRY(lt_alloc((void **)&m->slots, cap * sizeof *m->slots, "tokenizer vocabulary map"));
    for (size_t i = 0; i < cap; i++) m->slots[i].id = -1;
    m->mask = cap - 1;
    return NULL;
}

void lt_strmap_free(lt_strmap *m) {
    lt_free(m->slots);
    memset(m, 0, sizeof *m);
}

int32_t lt_strmap_get(const lt_strmap *m, const char *arena, const void *key, size_t len) {
    return lt_strmap_get_hashed(m, arena, key, len, lt_tok_hash(key, len));
}

int32_t lt_strmap_get_hashed(const lt_strmap *m, const char *arena, const void *key, size_t len,
                             uint64_t h) {
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        const lt_strmap_slot *s = &m->slots[i];
        if (s->id < 0) return -1;
        if (s->tag == tag && s->len == len && memcmp(arena + s->off, key, len) == 0) return s->id;
    }
}

static void strmap_insert_slot(lt_strmap *m, uint64_t h, lt_strmap_slot slot) {
    size_t i = (size_t)h & m->mask;
    while (m->slots[i].id >= 0) i = (i + 1) & m->mask;
    m->slots[i] = slot;
    m->count++;
}

static lt_status strmap_grow(lt_strmap *m, const char *arena) {
    lt_strmap bigger;
    LT_TRY(lt_strmap_init(&bigger, (m->mask + 1)));
    for (size_t i = 0; i <= m->mask; i++) {
        lt_strmap_slot s = m->slots[i];
        if (s.id < 0) continue;
        strmap_insert_slot(&bigger, lt_tok_hash(arena + s.off, s.len), s);
    }
    lt_strmap_free(m);
    *m = bigger;
    return NULL;
}

lt_status lt_strmap_put(lt_strmap *m, const char *arena, uint32_t off, uint32_t len, int32_t id) {
    if ((m->count + 1) * 2 > m->mask + 1) LT_TRY(strmap_grow(m, arena));
    uint64_t h = lt_tok_hash(arena + off, len);
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = (size_t)h & m->mask;
    for (; m->slots[i].id >= 0; i = (i + 1) & m->mask) {
        const lt_strmap_slot *s = &m->slots[i];
        if (s->tag == tag && s->len == len && memcmp(arena + s->off, arena + off, len) == 0)
            return lt_error(LT_ERR_FORMAT, "token appears twice");
    }
    m->slots[i] = (lt_strmap_slot){off, len, id, tag};
    m->count++;
    return NULL;
}

// ---------------------------------------------------------------- pairmap

lt_status lt_pairmap_init(lt_pairmap *m, size_t expected) {
    size_t cap = capacity_for(expected);
    memset(m, 0, sizeof *m);
    lt_status st = lt_alloc((void **)&m->keys, cap * sizeof *m->keys, "BPE merge map");
    if (!st) st = lt_alloc((void **)&m->rank, cap * sizeof *m->rank, "BPE merge map");
    if (!st) st = lt_alloc((void **)&m->merged, cap * sizeof *m->merged, "BPE merge map");
    if (st) {
        lt_pairmap_free(m);
        return st;
    }
    memset(m->keys, 0xff, cap * sizeof *m->keys);
    m->mask = cap - 1;
    return NULL;
}

void lt_pairmap_free(lt_pairmap *m) {
    lt_free(m->keys);
    lt_free(m->rank);
    lt_free(m->merged);
    memset(m, 0, sizeof *m);
}

static void pairmap_insert_slot(lt_pairmap *m, uint64_t key, int32_t rank, int32_t merged) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & m->mask;
    while (m->keys[i] != UINT64_MAX) i = (i + 1) & m->mask;
    m->keys[i] = key;
    m->rank[i] = rank;
    m->merged[i] = merged;
    m->count++;
}

lt_status lt_pairmap_put(lt_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t merged) {
    if (lt_pairmap_find(m, left, right) >= 0) return lt_error(LT_ERR_FORMAT, "merge appears twice");
    if ((m->count + 1) * 2 > m->mask + 1) {
        lt_pairmap bigger;
        LT_TRY(lt_pairmap_init(&bigger, m->mask + 1));
        for (size_t i = 0; i <= m->mask; i++)
            if (m->keys[i] != UINT64_MAX)
                pairmap_insert_slot(&bigger, m->keys[i], m->rank[i], m->merged[i]);
        lt_pairmap_free(m);
        *m = bigger;
    }
    pairmap_insert_slot(m, ((uint64_t)(uint32_t)left << 32) | (uint32_t)right, rank, merged);
    return NULL;
}
