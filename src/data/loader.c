// loader.c: token shards as a source of the blending loader (blend.c) — an
// epoch is a shard cut into chunks of T + 1 tokens from a per-epoch offset —
// plus the --data PATH:WEIGHT parser and the in-order iterator over a
// validation shard.
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
            return lt_error(LT_ERR_ARG,
                            "--data '%s': the weight after ':' is empty "
                            "(PATH:WEIGHT with WEIGHT > 0)",
                            spec);
        if (!numeric && !lt_path_exists(spec))
            return lt_error(LT_ERR_ARG,
                            "--data '%s': weight '%s' is not a number "
                            "(PATH:WEIGHT with WEIGHT > 0)",
                            spec, w);
        if (numeric) {
            if (!isfinite(v) || v <= 0)
                return lt_error(LT_ERR_ARG,
                                "--data '%s': weight %s must be a finite number "
                                "above 0",
                                spec, w);
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

// ---------------------------------------------------------------- shard source

// A shard as a source of the blending loader (blend.c): an epoch is the
// shard cut into chunks of T + 1 tokens from an offset drawn per epoch.
typedef struct {
    lt_shard *shard;
    uint64_t offset; // this epoch's first chunk starts here, in [0, T)
} shard_source;

static const char *shard_name(const void *ctx) {
    return lt_shard_path(((const shard_source *)ctx)->shard);
}

static void shard_fingerprint(const void *ctx, uint64_t *words) {
    const lt_shard_info *in = lt_shard_get_info(((const shard_source *)ctx)->shard);
    words[0] = in->n_tokens;
    words[1] = in->checksum;
}

// An offset in [0, min(T, n - T)) from rng, and the chunks after it.
static lt_status shard_plan_epoch(void *ctx, int64_t T, lt_rng *rng, uint64_t *n_rows) {
    shard_source *s = ctx;
    uint64_t n = lt_shard_get_info(s->shard)->n_tokens, t = (uint64_t)T;
    if (n < t + 1)
        return lt_error(LT_ERR_RANGE,
                        "%s: %llu tokens, fewer than one window of T + 1 = %lld "
                        "(use more data or a shorter sequence)",
                        lt_shard_path(s->shard), (unsigned long long)n, (long long)T + 1);
    if ((n - 1) / t > UINT32_MAX)
        return lt_error(LT_ERR_RANGE,
                        "%s: %llu windows of %lld tokens, more than the loader's "
                        "limit of 2^32 (split the shard)",
                        lt_shard_path(s->shard), (unsigned long long)((n - 1) / t), (long long)T);
    uint64_t max_offset = n - 1 - t;
    if (max_offset > t - 1) max_offset = t - 1;
    s->offset = lt_rng_below(rng, (uint32_t)(max_offset + 1));
    *n_rows = (n - 1 - s->offset) / t;
    return NULL;
}

static lt_status shard_fill_row(void *ctx, int64_t T, uint64_t row, int32_t *ids, int32_t *targets,
                                int32_t *segments, int32_t *positions) {
    shard_source *s = ctx;
    lt_shard_window(s->shard, s->offset + row * (uint64_t)T, T, ids, targets, segments, positions);
    return NULL;
}

static lt_status shard_check_vocab(const void *ctx, int64_t model_vocab) {
    return lt_shard_check_vocab(((const shard_source *)ctx)->shard, model_vocab);
}

static void shard_free(void *ctx) {
    shard_source *s = ctx;
    if (!s) return;
    lt_shard_close(s->shard);
    lt_free(s);
}

static const lt_data_source_ops shard_ops = {.source_noun = "data source",
                                             .row_noun = "chunk",
                                             .fingerprint_names =
                                                 (const char *const[]){"tokens", NULL},
                                             .name = shard_name,
                                             .fingerprint = shard_fingerprint,
                                             .plan_epoch = shard_plan_epoch,
                                             .fill_row = shard_fill_row,
                                             .check_vocab = shard_check_vocab,
                                             .free = shard_free};

lt_status lt_data_source_shard(lt_data_source *out, const char *path) {
    *out = (lt_data_source){0};
    shard_source *s;
    LT_TRY(lt_calloc((void **)&s, 1, sizeof *s, "shard source"));
    lt_status st = lt_shard_open(&s->shard, path);
    if (!st)
        *out = (lt_data_source){.ops = &shard_ops, .ctx = s};
    else
        lt_free(s);
    return st;
}

static lt_status make_shard_source(lt_data_source *src, int i, const void *arg) {
    return lt_data_source_shard(src, ((const lt_loader_opts *)arg)->paths[i]);
}

lt_status lt_loader_open(lt_loader **out, const lt_loader_opts *o) {
    *out = NULL;
    if (o->n_sources < 1)
        return lt_error(LT_ERR_ARG, "the loader needs at least one shard (--data)");
    lt_loader_source_opts so = {.weights = o->weights, .n_sources = o->n_sources, .seed = o->seed};
    so.B = o->B;
    so.T = o->T;
    so.magic = "LTCURSOR";
    return lt_loader_open_made(out, so, make_shard_source, o);
}

const lt_shard *lt_loader_shard(const lt_loader *l, int i) {
    const lt_data_source *s = lt_loader_source(l, i);
    return s->ops == &shard_ops ? ((const shard_source *)s->ctx)->shard : NULL;
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
