// data_internal.h: helpers shared by the files of src/data/ — the FNV-1a 64
// checksum of shards and loader states, and little-endian field access.
#ifndef LATHE_DATA_INTERNAL_H
#define LATHE_DATA_INTERNAL_H

#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lathe's data files are little-endian and read in place: build on a little-endian host"
#endif

#define LT_FNV_OFFSET 0xcbf29ce484222325ull
#define LT_FNV_PRIME 0x100000001b3ull

// FNV-1a 64 continued over n more bytes (start from LT_FNV_OFFSET).
static inline uint64_t lt_fnv1a64(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= LT_FNV_PRIME;
    }
    return h;
}

// splitmix64's finaliser: spreads every input bit over the whole word.
static inline uint64_t lt_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct lt_shard;
// segments/positions (len) of tokens [start, start + len) as lt_shard_window
// describes them; either may be NULL.
void lt_shard_segments(const struct lt_shard *s, uint64_t start, int64_t len, int32_t *segments,
                       int32_t *positions);

static inline uint64_t lt_load_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint32_t lt_load_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline void lt_store_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void lt_store_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

#endif
