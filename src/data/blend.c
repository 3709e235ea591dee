// blend.c: the one loader core behind every kind of training data. It blends
// sources by weight, shuffles each source's rows per epoch, checks
// vocabularies, and keeps a cursor (one versioned, checksummed codec) exact
// enough that a resumed run draws the very rows an uninterrupted one would
// have. A source (token shards in loader.c, chat JSONL in chat_data.c) only
// plans an epoch and fills a row, through lt_data_source_ops; so the next
// kind of data is a few dozen lines, not a third copy of this file.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"
#include "lathe/data.h"

typedef struct {
    lt_data_source src;
    int n_fingerprint; // words of its fingerprint: the named counts and the checksum
    double weight;     // normalised
    double cumulative; // sum of the weights up to and including this source
    uint64_t epoch;    // the epoch its rows come from now
    uint64_t pos;      // next index into perm
    uint64_t n_rows;   // this epoch's rows
    uint32_t *perm;    // (n_rows) this epoch's row order
    uint64_t perm_cap;
} blend_source;

struct lt_loader {
    int n_sources;
    blend_source *src;
    int64_t B, T;
    uint64_t seed;
    lt_rng rng; // picks the source of each row
    uint64_t rows_drawn;
    int32_t *row_source; // (B) of the last batch
    char magic[8];       // the cursor's kind
    const char *label;   // the loader in messages
};

static const char *source_name(const blend_source *s) { return s->src.ops->name(s->src.ctx); }

static void shuffle(uint32_t *v, uint64_t n, lt_rng *r) {
    for (uint64_t k = 0; k < n; k++) v[k] = (uint32_t)k;
    for (uint64_t k = n; k > 1; k--) { // Fisher-Yates
        uint32_t j = lt_rng_below(r, (uint32_t)k), tmp = v[k - 1];
        v[k - 1] = v[j];
        v[j] = tmp;
    }
}

// Epoch `epoch` of source i: the source plans it and the rows are shuffled,
// both from a stream seeded by (seed, i, epoch) alone, so a restored cursor
// rebuilds the epoch without storing it.
static lt_status start_epoch(lt_loader *l, int i, uint64_t epoch) {
    blend_source *s = &l->src[i];
    uint64_t key[3] = {l->seed, (uint64_t)i, epoch}, n_rows = 0;
    lt_rng r;
    lt_rng_seed(&r, lt_mix64(lt_fnv1a64(LT_FNV_OFFSET, key, sizeof key)));
    LT_TRY(s->src.ops->plan_epoch(s->src.ctx, l->T, &r, &n_rows));
    if (n_rows < 1 || n_rows > UINT32_MAX)
        return lt_error(LT_ERR_RANGE,
                        "%s: an epoch of %llu %ss, outside the loader's range "
                        "[1, 2^32] (split the data)",
                        source_name(s), (unsigned long long)n_rows, s->src.ops->row_noun);
    if (n_rows > s->perm_cap) {
        lt_free(s->perm);
        s->perm = NULL;
        s->perm_cap = 0;
        LT_TRY(lt_alloc((void **)&s->perm, n_rows * sizeof *s->perm, source_name(s)));
        s->perm_cap = n_rows;
    }
    shuffle(s->perm, n_rows, &r);
    s->n_rows = n_rows;
    s->epoch = epoch;
    s->pos = 0;
    return NULL;
}

static lt_status check_fingerprint_names(const blend_source *s, int *n_words) {
    int n = 0;
    while (s->src.ops->fingerprint_names && s->src.ops->fingerprint_names[n]) n++;
    if (n + 1 > LT_DATA_MAX_FINGERPRINT)
        return lt_error(LT_ERR_ARG, "%s: a fingerprint of %d words, more than the cursor's %d",
                        source_name(s), n + 1, LT_DATA_MAX_FINGERPRINT);
    *n_words = n + 1;
    return NULL;
}

static lt_status set_weights(lt_loader *l, const double *weights) {
    double total = 0, cumulative = 0;
    for (int i = 0; i < l->n_sources; i++) {
        double w = weights ? weights[i] : 1.0;
        if (!(w > 0) || !isfinite(w))
            return lt_error(LT_ERR_ARG, "%s: weight %g must be a finite number above 0",
                            source_name(&l->src[i]), w);
        total += w;
    }
    for (int i = 0; i < l->n_sources; i++) {
        blend_source *s = &l->src[i];
        s->weight = (weights ? weights[i] : 1.0) / total;
        cumulative += s->weight;
        s->cumulative = i == l->n_sources - 1 ? 1.0 : cumulative;
    }
    return NULL;
}

static void free_sources(const lt_data_source *sources, int n) {
    for (int i = 0; i < n; i++)
        if (sources[i].ops && sources[i].ops->free) sources[i].ops->free(sources[i].ctx);
}

static lt_status init_loader(lt_loader *l, const lt_loader_source_opts *o) {
    LT_TRY(lt_calloc((void **)&l->row_source, (size_t)o->B, sizeof *l->row_source, "loader"));
    for (int i = 0; i < o->n_sources; i++)
        LT_TRY(check_fingerprint_names(&l->src[i], &l->src[i].n_fingerprint));
    LT_TRY(set_weights(l, o->weights));
    for (int i = 0; i < o->n_sources; i++) LT_TRY(start_epoch(l, i, 0));
    return NULL;
}

lt_status lt_loader_open_sources(lt_loader **out, const lt_loader_source_opts *o) {
    *out = NULL;
    const char *magic = o->magic ? o->magic : "LTCURSOR", *label = o->label ? o->label : "loader";
    lt_status st = NULL;
    if (o->n_sources < 1)
        st = lt_error(LT_ERR_ARG, "the %s needs at least one data source", label);
    else if (o->B < 1 || o->T < 1 || o->B > INT32_MAX || o->T > INT32_MAX)
        st = lt_error(LT_ERR_ARG, "%s batch %lld x %lld: both must be positive", label,
                      (long long)o->B, (long long)o->T);
    else if (strlen(magic) != 8)
        st = lt_error(LT_ERR_ARG, "%s: cursor magic '%s' must be 8 characters", label, magic);
    lt_loader *l = NULL;
    if (!st) st = lt_calloc((void **)&l, 1, sizeof *l, "loader");
    if (!st) st = lt_calloc((void **)&l->src, (size_t)o->n_sources, sizeof *l->src, "loader");
    if (st) {
        lt_free(l);
        free_sources(o->sources, o->n_sources > 0 ? o->n_sources : 0);
        return st;
    }
    l->n_sources = o->n_sources; // from here on lt_loader_close frees the sources
    for (int i = 0; i < o->n_sources; i++) l->src[i].src = o->sources[i];
    l->B = o->B;
    l->T = o->T;
    l->seed = o->seed;
    memcpy(l->magic, magic, 8);
    l->label = label;
    lt_rng_seed(&l->rng, o->seed);
    st = init_loader(l, o);
    if (!st)
        *out = l;
    else
        lt_loader_close(l);
    return st;
}

void lt_loader_close(lt_loader *l) {
    if (!l) return;
    for (int i = 0; l->src && i < l->n_sources; i++) {
        free_sources(&l->src[i].src, 1);
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
        blend_source *s = &l->src[i];
        if (s->pos == s->n_rows) LT_TRY(start_epoch(l, i, s->epoch + 1));
        LT_TRY(s->src.ops->fill_row(s->src.ctx, T, s->perm[s->pos++], ids + b * T, targets + b * T,
                                    segments ? segments + b * T : NULL,
                                    positions ? positions + b * T : NULL));
        l->row_source[b] = i;
        l->rows_drawn++;
    }
    return NULL;
}

const int32_t *lt_loader_row_sources(const lt_loader *l) { return l->row_source; }
int lt_loader_n_sources(const lt_loader *l) { return l->n_sources; }
const lt_data_source *lt_loader_source(const lt_loader *l, int i) { return &l->src[i].src; }
double lt_loader_weight(const lt_loader *l, int i) { return l->src[i].weight; }
uint64_t lt_loader_epoch(const lt_loader *l, int i) { return l->src[i].epoch; }
uint64_t lt_loader_epoch_rows(const lt_loader *l, int i) { return l->src[i].n_rows; }
uint64_t lt_loader_rows_drawn(const lt_loader *l) { return l->rows_drawn; }

lt_status lt_loader_check_vocab(const lt_loader *l, int64_t model_vocab) {
    for (int i = 0; i < l->n_sources; i++)
        LT_TRY(l->src[i].src.ops->check_vocab(l->src[i].src.ctx, model_vocab));
    return NULL;
}

// ---------------------------------------------------------------- cursor state

// Layout (little-endian, docs/DATA.md): a 72-byte head; per source its
// fingerprint words, weight, epoch and position (8 bytes each); then the
// FNV-1a 64 of everything before it. Version 1 is the layout both loaders
// wrote before they shared this core, so their checkpoints still resume.
#define STATE_VERSION 1
#define STATE_HEAD 72

static size_t record_size(const blend_source *s) { return 8 * (size_t)s->n_fingerprint + 24; }

size_t lt_loader_state_size(const lt_loader *l) {
    size_t n = STATE_HEAD + 8;
    for (int i = 0; i < l->n_sources; i++) n += record_size(&l->src[i]);
    return n;
}

lt_status lt_loader_state_save(const lt_loader *l, void *buf, size_t cap, size_t *len) {
    size_t need = lt_loader_state_size(l);
    *len = need;
    if (cap < need)
        return lt_error(LT_ERR_RANGE, "%s state needs %zu bytes, the buffer has %zu", l->label,
                        need, cap);
    uint8_t *p = buf;
    memset(p, 0, need);
    memcpy(p, l->magic, 8);
    lt_store_u32(p + 8, STATE_VERSION);
    lt_store_u32(p + 12, (uint32_t)l->n_sources);
    lt_store_u64(p + 16, (uint64_t)l->T);
    lt_store_u64(p + 24, l->seed);
    for (int k = 0; k < 4; k++) lt_store_u64(p + 32 + 8 * k, l->rng.s[k]);
    lt_store_u64(p + 64, l->rows_drawn);
    uint8_t *r = p + STATE_HEAD;
    for (int i = 0; i < l->n_sources; i++) {
        const blend_source *s = &l->src[i];
        uint64_t words[LT_DATA_MAX_FINGERPRINT], weight_bits;
        s->src.ops->fingerprint(s->src.ctx, words);
        for (int k = 0; k < s->n_fingerprint; k++, r += 8) lt_store_u64(r, words[k]);
        memcpy(&weight_bits, &s->weight, 8);
        lt_store_u64(r, weight_bits);
        lt_store_u64(r + 8, s->epoch);
        lt_store_u64(r + 16, s->pos);
        r += 24;
    }
    lt_store_u64(p + need - 8, lt_fnv1a64(LT_FNV_OFFSET, p, need - 8));
    return NULL;
}

static lt_status check_state_head(const lt_loader *l, const uint8_t *p, size_t len) {
    if (len < 8 || memcmp(p, l->magic, 8) != 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s state: bad magic (not a lathe data cursor for "
                        "this kind of data, '%.8s')",
                        l->label, l->magic);
    if (len < STATE_HEAD + 8)
        return lt_error(LT_ERR_FORMAT, "%s state: truncated (%zu bytes)", l->label, len);
    uint32_t version = lt_load_u32(p + 8), n = lt_load_u32(p + 12);
    if (version != STATE_VERSION)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s state: version %u, this lathe reads version %d "
                        "(resume with the lathe that saved it, or start afresh without "
                        "--resume)",
                        l->label, version, STATE_VERSION);
    if ((int)n == l->n_sources && len != lt_loader_state_size(l))
        return lt_error(LT_ERR_FORMAT,
                        "%s state: %zu bytes, %zu expected for %u sources "
                        "(truncated?)",
                        l->label, len, lt_loader_state_size(l), n);
    if (lt_fnv1a64(LT_FNV_OFFSET, p, len - 8) != lt_load_u64(p + len - 8))
        return lt_error(LT_ERR_FORMAT, "%s state: checksum mismatch (corrupt)", l->label);
    if ((int)n != l->n_sources)
        return lt_error(LT_ERR_ARG,
                        "%s state was saved for %u %ss, this loader has %d (give "
                        "the same --data as the run that saved it)",
                        l->label, n, l->src[0].src.ops->source_noun, l->n_sources);
    uint64_t T = lt_load_u64(p + 16);
    if (T != (uint64_t)l->T)
        return lt_error(LT_ERR_ARG,
                        "%s state was saved for sequences of %llu tokens, this "
                        "loader uses %lld",
                        l->label, (unsigned long long)T, (long long)l->T);
    return NULL;
}

// "7 examples of 1200 tokens with checksum 0123456789abcdef", from the names.
static void describe_fingerprint(const blend_source *s, const uint64_t *words, char *buf,
                                 size_t cap) {
    size_t n = 0;
    for (int k = 0; k + 1 < s->n_fingerprint && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu %s", k ? " of " : "",
                              (unsigned long long)words[k], s->src.ops->fingerprint_names[k]);
    if (n < cap)
        snprintf(buf + n, cap - n, " with checksum %016llx",
                 (unsigned long long)words[s->n_fingerprint - 1]);
}

// Source i's record: the same data (fingerprint) and the same weight.
static lt_status check_state_source(const lt_loader *l, const uint8_t *r, int i) {
    const blend_source *s = &l->src[i];
    uint64_t now[LT_DATA_MAX_FINGERPRINT], saved[LT_DATA_MAX_FINGERPRINT];
    s->src.ops->fingerprint(s->src.ctx, now);
    for (int k = 0; k < s->n_fingerprint; k++) saved[k] = lt_load_u64(r + 8 * k);
    if (memcmp(now, saved, 8 * (size_t)s->n_fingerprint) != 0) {
        char was[160], is[160];
        describe_fingerprint(s, saved, was, sizeof was);
        describe_fingerprint(s, now, is, sizeof is);
        return lt_error(LT_ERR_ARG,
                        "%s state: %s %d (%s) was %s, this one is %s (not the "
                        "same data)",
                        l->label, s->src.ops->source_noun, i, source_name(s), was, is);
    }
    double weight;
    memcpy(&weight, r + 8 * s->n_fingerprint, 8);
    if (weight != s->weight)
        return lt_error(LT_ERR_ARG,
                        "%s state: %s %d (%s) had weight %.6g of the blend, now "
                        "%.6g (give the same --data weights as the run that saved it)",
                        l->label, s->src.ops->source_noun, i, source_name(s), weight, s->weight);
    return NULL;
}

// Rebuilds source i's epoch and moves it to pos; fails when the epoch is shorter.
static lt_status seek_source(lt_loader *l, int i, uint64_t epoch, uint64_t pos) {
    blend_source *s = &l->src[i];
    LT_TRY(start_epoch(l, i, epoch));
    if (pos > s->n_rows)
        return lt_error(LT_ERR_FORMAT,
                        "%s state: %s %d (%s) is at %s %llu of an epoch of "
                        "%llu %ss (corrupt)",
                        l->label, s->src.ops->source_noun, i, source_name(s), s->src.ops->row_noun,
                        (unsigned long long)pos, (unsigned long long)s->n_rows,
                        s->src.ops->row_noun);
    s->pos = pos;
    return NULL;
}

// Moves sources [0, n) back to the epochs and positions in old (2 per source).
static lt_status seek_back(lt_loader *l, const uint64_t *old, int n, lt_status st) {
    for (int k = 0; k < n; k++) {
        lt_status back = seek_source(l, k, old[2 * k], old[2 * k + 1]);
        if (back) {
            st = lt_error_prefix(st, "(and the loader could not be restored: %s)",
                                 lt_status_message(back));
            lt_status_free(back);
            break;
        }
    }
    return st;
}

// Every source's epoch is rebuilt from the saved seed; the first that fails
// (a position past its epoch) moves the earlier ones back where they were.
static lt_status seek_all(lt_loader *l, const uint8_t *p) {
    uint64_t *old; // (2 n_sources) each source's epoch and position before
    LT_TRY(lt_alloc((void **)&old, 2 * (size_t)l->n_sources * sizeof *old, "loader"));
    for (int i = 0; i < l->n_sources; i++) {
        old[2 * i] = l->src[i].epoch;
        old[2 * i + 1] = l->src[i].pos;
    }
    uint64_t old_seed = l->seed;
    l->seed = lt_load_u64(p + 24);
    lt_status st = NULL;
    const uint8_t *r = p + STATE_HEAD;
    int i = 0;
    for (; !st && i < l->n_sources; i++) {
        const uint8_t *tail = r + 8 * (size_t)l->src[i].n_fingerprint; // weight, epoch, pos
        st = seek_source(l, i, lt_load_u64(tail + 8), lt_load_u64(tail + 16));
        r += record_size(&l->src[i]);
    }
    if (st) {
        l->seed = old_seed;
        st = seek_back(l, old, i, st);
    }
    lt_free(old);
    return st;
}

lt_status lt_loader_state_load(lt_loader *l, const void *buf, size_t len) {
    const uint8_t *p = buf;
    LT_TRY(check_state_head(l, p, len));
    const uint8_t *r = p + STATE_HEAD;
    for (int i = 0; i < l->n_sources; i++) {
        LT_TRY(check_state_source(l, r, i));
        r += record_size(&l->src[i]);
    }
    LT_TRY(seek_all(l, p));
    for (int k = 0; k < 4; k++) l->rng.s[k] = lt_load_u64(p + 32 + 8 * k);
    l->rows_drawn = lt_load_u64(p + 64);
    return NULL;
}

lt_status lt_loader_open_made(lt_loader **out, lt_loader_source_opts o,
                              lt_status (*make)(lt_data_source *src, int i, const void *arg),
                              const void *arg) {
    *out = NULL;
    const char *label = o.label ? o.label : "loader";
    if (o.n_sources < 1)
        return lt_error(LT_ERR_ARG, "the %s needs at least one data source", label);
    lt_data_source *sources;
    LT_TRY(lt_calloc((void **)&sources, (size_t)o.n_sources, sizeof *sources, label));
    lt_status st = NULL;
    int made = 0;
    for (; !st && made < o.n_sources; made++) st = make(&sources[made], made, arg);
    if (st) {
        for (int i = 0; i < made - 1; i++)
            if (sources[i].ops->free) sources[i].ops->free(sources[i].ctx);
    } else {
        o.sources = sources;
        st = lt_loader_open_sources(out, &o);
    }
    lt_free(sources);
    return st;
}
