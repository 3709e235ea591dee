// loader.c: the training-data loader — (B, T) batches of ids and next-token
// targets drawn from shards blended by weight, with a cursor small enough to
// store in every checkpoint and exact enough that a resumed run sees the very
// batches an uninterrupted one would have; plus the --data PATH:WEIGHT parser
// and the in-order iterator over a validation shard.
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "lathe/data.h"

// ---------------------------------------------------------------- PATH:WEIGHT

lt_status lt_data_spec_parse(const char *spec, char **path, double *weight) {
    *path = NULL;
    *weight = 1.0;
    if (!spec || !*spec) return lt_error(LT_ERR_ARG, "--data needs PATH or PATH:WEIGHT");
    const char *colon = strrchr(spec, ':');
    size_t path_len = strlen(spec);
    if (colon) {
        const char *w = colon + 1;
        char *end;
        errno = 0;
        double v = strtod(w, &end);
        bool numeric = *w && end != w && *end == 0 && errno != ERANGE;
        if (!*w)
            return lt_error(LT_ERR_ARG, "--data '%s': the weight after ':' is empty "
                            "(PATH:WEIGHT with WEIGHT > 0)", spec);
        if (!numeric && !lt_path_exists(spec))
            return lt_error(LT_ERR_ARG, "--data '%s': weight '%s' is not a number "
                            "(PATH:WEIGHT with WEIGHT > 0)", spec, w);
        if (numeric) {
            if (!isfinite(v) || v <= 0)
                return lt_error(LT_ERR_ARG, "--data '%s': weight %s must be a finite number "
                                "above 0", spec, w);
            if (colon == spec)
                return lt_error(LT_ERR_ARG, "--data '%s': the path before ':' is empty", spec);
            *weight = v;
            path_len = (size_t)(colon - spec);
        }
    }
    char *p;
    LT_TRY(lt_alloc((void **)&p, path_len + 1, "--data path"));
    memcpy(p, spec, path_len);
    p[path_len] = 0;
    *path = p;
    return NULL;
}

// ---------------------------------------------------------------- loader

typedef struct {
    lt_shard *shard;
    double weight;     // normalised
    double cumulative; // sum of the weights up to and including this source
    uint64_t epoch;    // epochs completed
    uint64_t pos;      // next index into perm
    uint64_t offset;   // this epoch's first chunk starts here, in [0, T)
    uint64_t n_chunks; // this epoch's chunks
    uint32_t *perm;    // (n_chunks) this epoch's chunk order
} source;

struct lt_loader {
    int n_sources;
    source *src;
    int64_t B, T;
    uint64_t seed;
    lt_rng rng;          // picks the source of each row
    uint64_t rows_drawn;
    int32_t *row_source; // (B) of the last batch
};

// The chunking of one epoch of source i: an offset in [0, min(T, n - T)) and a
// permutation, both from a stream seeded by (seed, i, epoch) alone, so a
// restored cursor rebuilds them without storing them.
static uint64_t epoch_chunking(uint64_t seed, int i, uint64_t epoch, uint64_t n_tokens,
                               uint64_t T, lt_rng *r, uint64_t *n_chunks) {
    uint64_t key[3] = {seed, (uint64_t)i, epoch};
    lt_rng_seed(r, lt_mix64(lt_fnv1a64(LT_FNV_OFFSET, key, sizeof key)));
    uint64_t max_offset = n_tokens - 1 - T; // n_tokens >= T + 1 was checked at open
    if (max_offset > T - 1) max_offset = T - 1;
    uint64_t offset = lt_rng_below(r, (uint32_t)(max_offset + 1));
    *n_chunks = (n_tokens - 1 - offset) / T;
    return offset;
}

static void start_epoch(const lt_loader *l, int i, source *s, uint64_t epoch) {
    lt_rng r;
    s->offset = epoch_chunking(l->seed, i, epoch, lt_shard_get_info(s->shard)->n_tokens,
                               (uint64_t)l->T, &r, &s->n_chunks);
    for (uint64_t k = 0; k < s->n_chunks; k++) s->perm[k] = (uint32_t)k;
    for (uint64_t k = s->n_chunks; k > 1; k--) { // Fisher-Yates
        uint32_t j = lt_rng_below(&r, (uint32_t)k);
        uint32_t tmp = s->perm[k - 1];
        s->perm[k - 1] = s->perm[j];
        s->perm[j] = tmp;
    }
    s->epoch = epoch;
    s->pos = 0;
}

static lt_status open_sources(lt_loader *l, const lt_loader_opts *o) {
    double total = 0;
    for (int i = 0; i < o->n_sources; i++) {
        double w = o->weights ? o->weights[i] : 1.0;
        if (!(w > 0) || !isfinite(w))
            return lt_error(LT_ERR_ARG, "%s: weight %g must be a finite number above 0",
                            o->paths[i], w);
        total += w;
    }
    double cumulative = 0;
    for (int i = 0; i < o->n_sources; i++) {
        source *s = &l->src[i];
        LT_TRY(lt_shard_open(&s->shard, o->paths[i]));
        uint64_t n = lt_shard_get_info(s->shard)->n_tokens;
        if (n < (uint64_t)o->T + 1)
            return lt_error(LT_ERR_RANGE, "%s: %llu tokens, fewer than one window of T + 1 = "
                            "%lld (use more data or a shorter sequence)", o->paths[i],
                            (unsigned long long)n, (long long)o->T + 1);
        uint64_t max_chunks = (n - 1) / (uint64_t)o->T;
        if (max_chunks > UINT32_MAX)
            return lt_error(LT_ERR_RANGE, "%s: %llu windows of %lld tokens, more than the "
                            "loader's limit of 2^32 (split the shard)", o->paths[i],
                            (unsigned long long)max_chunks, (long long)o->T);
        LT_TRY(lt_alloc((void **)&s->perm, max_chunks * sizeof *s->perm, o->paths[i]));
        s->weight = (o->weights ? o->weights[i] : 1.0) / total;
        cumulative += s->weight;
        s->cumulative = i == o->n_sources - 1 ? 1.0 : cumulative;
        start_epoch(l, i, s, 0);
    }
    return NULL;
}

lt_status lt_loader_open(lt_loader **out, const lt_loader_opts *o) {
    *out = NULL;
    if (o->n_sources < 1)
        return lt_error(LT_ERR_ARG, "the loader needs at least one shard (--data)");
    if (o->B < 1 || o->T < 1 || o->B > INT32_MAX || o->T > INT32_MAX)
        return lt_error(LT_ERR_ARG, "loader batch %lld x %lld: both must be positive",
                        (long long)o->B, (long long)o->T);
    lt_loader *l;
    LT_TRY(lt_calloc((void **)&l, 1, sizeof *l, "loader"));
    l->n_sources = o->n_sources;
    l->B = o->B;
    l->T = o->T;
    l->seed = o->seed;
    lt_rng_seed(&l->rng, o->seed);
    lt_status s = lt_calloc((void **)&l->src, (size_t)o->n_sources, sizeof *l->src, "loader");
    if (!s) s = lt_calloc((void **)&l->row_source, (size_t)o->B, sizeof *l->row_source, "loader");
    if (!s) s = open_sources(l, o);
    if (s) {
        lt_loader_free(l);
        return s;
    }
    *out = l;
    return NULL;
}

void lt_loader_free(lt_loader *l) {
    if (!l) return;
    for (int i = 0; l->src && i < l->n_sources; i++) {
        lt_shard_close(l->src[i].shard);
        lt_free(l->src[i].perm);
    }
    lt_free(l->src);
    lt_free(l->row_source);
    lt_free(l);
}

static int pick_source(lt_loader *l) {
    if (l->n_sources == 1) return 0;
    double u = lt_rng_uniform(&l->rng);
    for (int i = 0; i < l->n_sources - 1; i++)
        if (u < l->src[i].cumulative) return i;
    return l->n_sources - 1;
}

lt_status lt_loader_next(lt_loader *l, int32_t *ids, int32_t *targets, int32_t *segments,
                         int32_t *positions) {
    int64_t T = l->T;
    for (int64_t b = 0; b < l->B; b++) {
        int i = pick_source(l);
        source *s = &l->src[i];
        if (s->pos == s->n_chunks) start_epoch(l, i, s, s->epoch + 1);
        uint64_t start = s->offset + (uint64_t)s->perm[s->pos++] * (uint64_t)T;
        lt_shard_window(s->shard, start, T, ids + b * T, targets + b * T,
                        segments ? segments + b * T : NULL, positions ? positions + b * T : NULL);
        l->row_source[b] = i;
        l->rows_drawn++;
    }
    return NULL;
}

const int32_t *lt_loader_row_sources(const lt_loader *l) { return l->row_source; }
int lt_loader_n_sources(const lt_loader *l) { return l->n_sources; }
const lt_shard *lt_loader_shard(const lt_loader *l, int i) { return l->src[i].shard; }
double lt_loader_weight(const lt_loader *l, int i) { return l->src[i].weight; }
uint64_t lt_loader_epoch(const lt_loader *l, int i) { return l->src[i].epoch; }
uint64_t lt_loader_rows_drawn(const lt_loader *l) { return l->rows_drawn; }

lt_status lt_loader_check_vocab(const lt_loader *l, int64_t model_vocab) {
    for (int i = 0; i < l->n_sources; i++)
        LT_TRY(lt_shard_check_vocab(l->src[i].shard, model_vocab));
    return NULL;
}

// ---------------------------------------------------------------- cursor state

// Layout (little-endian, docs/DATA.md): a 72-byte head, 40 bytes per source,
// then the FNV-1a 64 of everything before it.
static const char state_magic[8] = {'L', 'T', 'C', 'U', 'R', 'S', 'O', 'R'};
#define STATE_VERSION 1
#define STATE_HEAD 72
#define STATE_PER_SOURCE 40

static size_t state_size(uint64_t n_sources) {
    return STATE_HEAD + STATE_PER_SOURCE * (size_t)n_sources + 8;
}

size_t lt_loader_state_size(const lt_loader *l) { return state_size((uint64_t)l->n_sources); }

lt_status lt_loader_state_save(const lt_loader *l, void *buf, size_t cap, size_t *len) {
    size_t need = lt_loader_state_size(l);
    *len = need;
    if (cap < need)
        return lt_error(LT_ERR_RANGE, "loader state needs %zu bytes, the buffer has %zu", need,
                        cap);
    uint8_t *p = buf;
    memset(p, 0, need);
    memcpy(p, state_magic, 8);
    lt_store_u32(p + 8, STATE_VERSION);
    lt_store_u32(p + 12, (uint32_t)l->n_sources);
    lt_store_u64(p + 16, (uint64_t)l->T);
    lt_store_u64(p + 24, l->seed);
    for (int k = 0; k < 4; k++) lt_store_u64(p + 32 + 8 * k, l->rng.s[k]);
    lt_store_u64(p + 64, l->rows_drawn);
    for (int i = 0; i < l->n_sources; i++) {
        const source *s = &l->src[i];
        const lt_shard_info *in = lt_shard_get_info(s->shard);
        uint8_t *r = p + STATE_HEAD + STATE_PER_SOURCE * (size_t)i;
        uint64_t weight_bits;
        memcpy(&weight_bits, &s->weight, 8);
        lt_store_u64(r, in->n_tokens);
        lt_store_u64(r + 8, in->checksum);
        lt_store_u64(r + 16, weight_bits);
        lt_store_u64(r + 24, s->epoch);
        lt_store_u64(r + 32, s->pos);
    }
    lt_store_u64(p + need - 8, lt_fnv1a64(LT_FNV_OFFSET, p, need - 8));
    return NULL;
}

static lt_status check_state_head(const lt_loader *l, const uint8_t *p, size_t len) {
    if (len < 8 || memcmp(p, state_magic, 8) != 0)
        return lt_error(LT_ERR_FORMAT, "loader state: bad magic (not a lathe data cursor)");
    if (len < state_size(0))
        return lt_error(LT_ERR_FORMAT, "loader state: truncated (%zu bytes)", len);
    uint32_t version = lt_load_u32(p + 8);
    if (version != STATE_VERSION)
        return lt_error(LT_ERR_UNSUPPORTED, "loader state: version %u, this lathe reads %d",
                        version, STATE_VERSION);
    uint32_t n = lt_load_u32(p + 12);
    if (len != state_size(n))
        return lt_error(LT_ERR_FORMAT, "loader state: %zu bytes, %zu expected for %u sources "
                        "(truncated?)", len, state_size(n), n);
    uint64_t sum = lt_fnv1a64(LT_FNV_OFFSET, p, len - 8);
    if (sum != lt_load_u64(p + len - 8))
        return lt_error(LT_ERR_FORMAT, "loader state: checksum mismatch (corrupt)");
    if ((int)n != l->n_sources)
        return lt_error(LT_ERR_ARG, "loader state was saved for %u data sources, this loader has "
                        "%d (give the same --data as the run that saved it)", n, l->n_sources);
    uint64_t T = lt_load_u64(p + 16);
    if (T != (uint64_t)l->T)
        return lt_error(LT_ERR_ARG, "loader state was saved for sequences of %llu tokens, this "
                        "loader uses %lld", (unsigned long long)T, (long long)l->T);
    return NULL;
}

static lt_status check_state_source(const lt_loader *l, const uint8_t *p, int i) {
    const source *s = &l->src[i];
    const lt_shard_info *in = lt_shard_get_info(s->shard);
    const char *path = lt_shard_path(s->shard);
    const uint8_t *r = p + STATE_HEAD + STATE_PER_SOURCE * (size_t)i;
    uint64_t n_tokens = lt_load_u64(r), checksum = lt_load_u64(r + 8);
    if (n_tokens != in->n_tokens || checksum != in->checksum)
        return lt_error(LT_ERR_ARG, "loader state: source %d (%s) was a shard of %llu tokens with "
                        "checksum %016llx, this one has %llu tokens and checksum %016llx (not "
                        "the same data)", i, path, (unsigned long long)n_tokens,
                        (unsigned long long)checksum, (unsigned long long)in->n_tokens,
                        (unsigned long long)in->checksum);
    double weight;
    memcpy(&weight, r + 16, 8);
    if (weight != s->weight)
        return lt_error(LT_ERR_ARG, "loader state: source %d (%s) had weight %.6g of the blend, "
                        "now %.6g (give the same --data weights as the run that saved it)", i,
                        path, weight, s->weight);
    uint64_t epoch = lt_load_u64(r + 24), pos = lt_load_u64(r + 32), n_chunks;
    lt_rng scratch;
    epoch_chunking(lt_load_u64(p + 24), i, epoch, in->n_tokens, (uint64_t)l->T, &scratch,
                   &n_chunks);
    if (pos > n_chunks)
        return lt_error(LT_ERR_FORMAT, "loader state: source %d (%s) is at chunk %llu of an "
                        "epoch of %llu (corrupt)", i, path, (unsigned long long)pos,
                        (unsigned long long)n_chunks);
    return NULL;
}

lt_status lt_loader_state_load(lt_loader *l, const void *buf, size_t len) {
    const uint8_t *p = buf;
    LT_TRY(check_state_head(l, p, len));
    for (int i = 0; i < l->n_sources; i++) LT_TRY(check_state_source(l, p, i));
    l->seed = lt_load_u64(p + 24);
    for (int k = 0; k < 4; k++) l->rng.s[k] = lt_load_u64(p + 32 + 8 * k);
    l->rows_drawn = lt_load_u64(p + 64);
    for (int i = 0; i < l->n_sources; i++) {
        const uint8_t *r = p + STATE_HEAD + STATE_PER_SOURCE * (size_t)i;
        start_epoch(l, i, &l->src[i], lt_load_u64(r + 24));
        l->src[i].pos = lt_load_u64(r + 32);
    }
    return NULL;
}

// ---------------------------------------------------------------- validation iterator

lt_status lt_val_iter_init(lt_val_iter *it, const lt_shard *shard, int64_t B, int64_t T) {
    memset(it, 0, sizeof *it);
    if (B < 1 || T < 1 || B > INT32_MAX || T > INT32_MAX)
        return lt_error(LT_ERR_ARG, "%s: validation batch %lld x %lld: both must be positive",
                        lt_shard_path(shard), (long long)B, (long long)T);
    it->shard = shard;
    it->B = B;
    it->T = T;
    uint64_t n = lt_shard_get_info(shard)->n_tokens;
    it->n_windows = n < 2 ? 0 : (n - 1 + (uint64_t)T - 1) / (uint64_t)T;
    return NULL;
}

// A row of padding from column t on: ids a valid token, targets ignored.
static void pad_row(const lt_shard *s, int64_t from, int64_t T, int32_t *ids, int32_t *targets,
                    int32_t *segments, int32_t *positions) {
    int32_t eos = lt_shard_get_info(s)->eos;
    int32_t seg = from > 0 && segments ? segments[from - 1] + 1 : 0;
    for (int64_t t = from; t < T; t++) {
        ids[t] = eos >= 0 ? eos : 0;
        targets[t] = -1;
        if (segments) segments[t] = seg;
        if (positions) positions[t] = (int32_t)(t - from);
    }
}

lt_status lt_val_iter_next(lt_val_iter *it, int32_t *ids, int32_t *targets, int32_t *segments,
                           int32_t *positions, int64_t *n_rows) {
    const lt_shard *s = it->shard;
    uint64_t n = lt_shard_get_info(s)->n_tokens;
    int64_t T = it->T, rows = 0;
    for (int64_t b = 0; b < it->B; b++) {
        int32_t *seg = segments ? segments + b * T : NULL,
                *pos = positions ? positions + b * T : NULL;
        if (it->next_window == it->n_windows) {
            pad_row(s, 0, T, ids + b * T, targets + b * T, seg, pos);
            continue;
        }
        uint64_t start = it->next_window++ * (uint64_t)T;
        int64_t len = (int64_t)(n - 1 - start < (uint64_t)T ? n - 1 - start : (uint64_t)T);
        if (len == T) {
            lt_shard_window(s, start, T, ids + b * T, targets + b * T, seg, pos);
        } else { // the short last window: the full-length helper would read past the end
            int32_t *row_ids = ids + b * T, *row_targets = targets + b * T;
            LT_TRY(lt_shard_read(s, start, (uint64_t)len, row_ids));
            LT_TRY(lt_shard_read(s, start + 1, (uint64_t)len, row_targets));
            if (seg || pos) lt_shard_segments(s, start, len, seg, pos);
            pad_row(s, len, T, row_ids, row_targets, seg, pos);
        }
        rows++;
    }
    *n_rows = rows;
    return NULL;
}

void lt_val_iter_rewind(lt_val_iter *it) { it->next_window = 0; }

uint64_t lt_val_iter_n_targets(const lt_val_iter *it) {
    uint64_t n = lt_shard_get_info(it->shard)->n_tokens;
    return n < 2 ? 0 : n - 1;
}
