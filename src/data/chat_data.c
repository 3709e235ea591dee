// chat_data.c: chat datasets in memory (rendered ids + loss masks), first-fit
// packing of examples into rows of T tokens with per-example segments, and the
// SFT loader that blends datasets by weight over seeded epochs.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"
#include "lathe/chat_data.h"

struct lt_chat_dataset {
    char *name;
    lt_tokenizer *tok;
    const lt_chat_template *tpl;
    int64_t max_tokens;
    lt_ids ids;         // all examples' ids, concatenated
    lt_bytes mask;      // their loss masks
    size_t *start;      // (cap + 1) example i is [start[i], start[i + 1])
    uint64_t *line;     // (cap) the input line of each example
    size_t n, cap;
    size_t longest;     // the longest example's length
    uint64_t n_loss;    // tokens with mask 1
    uint64_t checksum;  // FNV-1a 64 over every example's ids and mask, in order
    int32_t max_id;     // the largest token id (-1 when empty)
};

lt_status lt_chat_dataset_new(lt_chat_dataset **out, const lt_chat_read_opts *opts,
                              const char *name) {
    *out = NULL;
    if (!opts || !opts->tokenizer)
        return lt_error(LT_ERR_ARG, "%s: a chat dataset needs a tokenizer", name ? name : "chat");
    const lt_chat_template *tpl = opts->tpl ? opts->tpl : lt_chat_template_get("llama3");
    lt_chat_dataset *d;
    LT_TRY(lt_calloc((void **)&d, 1, sizeof *d, "chat dataset"));
    d->name = lt_strdup(name ? name : "chat");
    d->tok = opts->tokenizer;
    d->tpl = tpl;
    d->max_tokens = opts->max_tokens;
    d->checksum = LT_FNV_OFFSET;
    d->max_id = -1;
    lt_status st = d->name ? NULL : lt_error(LT_ERR_NOMEM, "chat dataset name");
    if (!st) st = lt_calloc((void **)&d->start, 1, sizeof *d->start, "chat dataset");
    if (st) {
        lt_chat_dataset_free(d);
        return st;
    }
    *out = d;
    return NULL;
}

void lt_chat_dataset_free(lt_chat_dataset *d) {
    if (!d) return;
    lt_free(d->name);
    lt_ids_free(&d->ids);
    lt_bytes_free(&d->mask);
    lt_free(d->start);
    lt_free(d->line);
    lt_free(d);
}

static lt_status grow_index(lt_chat_dataset *d) {
    if (d->n < d->cap) return NULL;
    size_t cap = d->cap ? 2 * d->cap : 64;
    size_t *start;
    uint64_t *line;
    LT_TRY(lt_alloc((void **)&start, (cap + 1) * sizeof *start, "chat dataset index"));
    lt_status st = lt_alloc((void **)&line, cap * sizeof *line, "chat dataset index");
    if (st) {
        lt_free(start);
        return st;
    }
    memcpy(start, d->start, (d->n + 1) * sizeof *start);
    if (d->n) memcpy(line, d->line, d->n * sizeof *line);
    lt_free(d->start);
    lt_free(d->line);
    d->start = start;
    d->line = line;
    d->cap = cap;
    return NULL;
}

lt_status lt_chat_dataset_add(lt_chat_dataset *d, const lt_chat_message *messages, size_t n,
                              uint64_t line, const char *where) {
    lt_ids ids = {0};
    lt_bytes mask = {0};
    lt_status st = lt_chat_render(d->tok, d->tpl, messages, n, 0, &ids, &mask);
    if (st) st = lt_error_prefix(st, "%s", where);
    uint64_t learned = 0;
    for (size_t i = 1; !st && i < ids.n; i++) learned += mask.data[i] != 0;
    if (!st && learned == 0)
        st = lt_error(LT_ERR_FORMAT, "%s: no assistant token to learn", where);
    if (!st && d->max_tokens > 0 && ids.n > (size_t)d->max_tokens)
        st = lt_error(LT_ERR_RANGE, "%s: example has %zu tokens, more than the context of %lld "
                      "(shorten it, use a longer context, or skip bad lines)", where, ids.n,
                      (long long)d->max_tokens);
    if (!st) st = grow_index(d);
    if (!st) st = lt_ids_reserve(&d->ids, ids.n);
    if (!st) st = lt_bytes_append(&d->mask, mask.data, mask.n);
    if (!st) {
        memcpy(d->ids.data + d->ids.n, ids.data, ids.n * sizeof *ids.data);
        d->ids.n += ids.n;
        d->line[d->n] = line;
        d->start[++d->n] = d->ids.n;
        if (ids.n > d->longest) d->longest = ids.n;
        d->n_loss += (uint64_t)learned + (mask.data[0] != 0);
        d->checksum = lt_fnv1a64(d->checksum, ids.data, ids.n * sizeof *ids.data);
        for (size_t i = 0; i < ids.n; i++)
            if (ids.data[i] > d->max_id) d->max_id = ids.data[i];
        d->checksum = lt_fnv1a64(d->checksum, mask.data, mask.n);
    } else {
        d->mask.n = d->ids.n; // a failed append leaves the dataset as it was
    }
    lt_ids_free(&ids);
    lt_bytes_free(&mask);
    return st;
}

static bool blank_line(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

// One line: parse, render, append; errors name "path:line".
static lt_status load_line(lt_chat_dataset *d, const char *path, uint64_t line_no,
                           const char *text, size_t n) {
    char where[4200];
    snprintf(where, sizeof where, "%s:%llu", path, (unsigned long long)line_no);
    lt_chat_conv conv;
    LT_TRY(lt_chat_parse_line(&conv, text, n, d->tpl, where));
    lt_status st = lt_chat_dataset_add(d, conv.messages, conv.n, line_no, where);
    lt_chat_conv_free(&conv);
    return st;
}

static lt_status load_text(lt_chat_dataset *d, const char *path, const char *text, size_t n,
                           const lt_chat_read_opts *opts, lt_chat_read_stats *stats,
                           char **first_skip) {
    uint64_t line_no = 0;
    bool first_is_long = false; // *first_skip holds a too-long example's message
    for (size_t pos = 0; pos < n;) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - text) : n;
        line_no++;
        if (!blank_line(text + pos, end - pos)) {
            lt_status st = load_line(d, path, line_no, text + pos, end - pos);
            if (st && !opts->skip_bad) return st;
            if (st) {
                bool too_long = lt_status_code(st) == LT_ERR_RANGE; // the only range error of a line
                if (first_skip && (!*first_skip || (first_is_long && !too_long))) {
                    lt_free(*first_skip);
                    *first_skip = lt_strdup(lt_status_message(st));
                    first_is_long = too_long;
                }
                stats->n_too_long += too_long;
                stats->n_skipped++;
                lt_status_free(st);
            }
        }
        pos = end + 1;
    }
    stats->n_lines = line_no;
    return NULL;
}

lt_status lt_chat_dataset_load(lt_chat_dataset **out, const char *path,
                               const lt_chat_read_opts *opts, lt_chat_read_stats *stats,
                               char **first_skip) {
    *out = NULL;
    lt_chat_read_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (first_skip) *first_skip = NULL;
    char *text;
    size_t size;
    LT_TRY(lt_file_read_all(path, &text, &size, (size_t)1 << 34));
    lt_chat_dataset *d;
    lt_status st = lt_chat_dataset_new(&d, opts, path);
    if (!st) st = load_text(d, path, text, size, opts, stats, first_skip);
    if (!st && d->n == 0)
        st = lt_error(LT_ERR_FORMAT, "%s: no usable conversation (%llu lines, %llu skipped)",
                      path, (unsigned long long)stats->n_lines,
                      (unsigned long long)stats->n_skipped);
    lt_free(text);
    if (st) {
        if (first_skip) {
            lt_free(*first_skip);
            *first_skip = NULL;
        }
        lt_chat_dataset_free(d);
        return st;
    }
    stats->n_examples = d->n;
    stats->n_tokens = d->ids.n;
    stats->n_loss_tokens = d->n_loss;
    *out = d;
    return NULL;
}

const char *lt_chat_dataset_name(const lt_chat_dataset *d) { return d->name; }
size_t lt_chat_dataset_n_examples(const lt_chat_dataset *d) { return d->n; }
uint64_t lt_chat_dataset_n_tokens(const lt_chat_dataset *d) { return d->ids.n; }
uint64_t lt_chat_dataset_checksum(const lt_chat_dataset *d) { return d->checksum; }
int32_t lt_chat_dataset_max_id(const lt_chat_dataset *d) { return d->max_id; }

const int32_t *lt_chat_dataset_example(const lt_chat_dataset *d, size_t i, size_t *len,
                                       const uint8_t **mask, uint64_t *line) {
    *len = d->start[i + 1] - d->start[i];
    if (mask) *mask = (const uint8_t *)d->mask.data + d->start[i];
    if (line) *line = d->line[i];
    return d->ids.data + d->start[i];
}

// ---------------------------------------------------------------- packing

void lt_chat_packing_free(lt_chat_packing *p) {
    lt_free(p->row_start);
    lt_free(p->example);
    memset(p, 0, sizeof *p);
}

// First-fit over rows through a max tree of free room: the leftmost row with
// room for `need` is found in O(log rows). Rows not yet opened have room T,
// so the leftmost of them is the next new row.
typedef struct {
    int64_t *room; // (2 * size) leaves at [size, 2 size)
    size_t size;
} fit_tree;

static size_t fit_take(fit_tree *t, int64_t need) {
    size_t k = 1;
    while (k < t->size) k = t->room[2 * k] >= need ? 2 * k : 2 * k + 1;
    t->room[k] -= need;
    for (size_t p = k / 2; p >= 1; p /= 2) {
        int64_t a = t->room[2 * p], b = t->room[2 * p + 1];
        t->room[p] = a > b ? a : b;
    }
    return k - t->size;
}

lt_status lt_chat_pack(const lt_chat_dataset *d, const uint32_t *order, size_t n, int64_t T,
                       lt_chat_packing *out) {
    memset(out, 0, sizeof *out);
    out->T = T;
    if (n == 0) return lt_error(LT_ERR_ARG, "%s: nothing to pack", d->name);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        if (i >= d->n)
            return lt_error(LT_ERR_RANGE, "%s: example %zu of %zu", d->name, i, d->n);
        size_t len = d->start[i + 1] - d->start[i];
        if ((int64_t)len > T)
            return lt_error(LT_ERR_RANGE, "%s:%llu: example has %zu tokens, more than the "
                            "context of %lld", d->name, (unsigned long long)d->line[i], len,
                            (long long)T);
    }
    fit_tree t = {.size = 1};
    while (t.size < n) t.size *= 2;
    size_t *row_of = NULL, *count = NULL;
    lt_status st = lt_alloc((void **)&t.room, 2 * t.size * sizeof *t.room, "packing");
    if (!st) st = lt_alloc((void **)&row_of, n * sizeof *row_of, "packing");
    if (!st) st = lt_calloc((void **)&out->row_start, n + 1, sizeof *out->row_start, "packing");
    if (!st) st = lt_alloc((void **)&out->example, n * sizeof *out->example, "packing");
    if (st) goto done;
    for (size_t k = 0; k < 2 * t.size; k++) t.room[k] = T;
    size_t n_rows = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        row_of[k] = fit_take(&t, (int64_t)(d->start[i + 1] - d->start[i]));
        if (row_of[k] + 1 > n_rows) n_rows = row_of[k] + 1;
    }
    // Group by row, keeping the order examples were placed in.
    for (size_t k = 0; k < n; k++) out->row_start[row_of[k] + 1]++;
    for (size_t r = 0; r < n_rows; r++) out->row_start[r + 1] += out->row_start[r];
    st = lt_calloc((void **)&count, n_rows, sizeof *count, "packing");
    if (st) goto done;
    for (size_t k = 0; k < n; k++) {
        size_t r = row_of[k];
        out->example[out->row_start[r] + count[r]++] = order[k];
    }
    out->n_rows = n_rows;
done:
    lt_free(t.room);
    lt_free(row_of);
    lt_free(count);
    if (st) lt_chat_packing_free(out);
    return st;
}

void lt_chat_fill_row(const lt_chat_dataset *d, const lt_chat_packing *p, size_t row,
                      int32_t pad_id, int32_t *ids, int32_t *targets, int32_t *segments,
                      int32_t *positions) {
    int64_t t = 0;
    int32_t seg = 0;
    for (size_t k = p->row_start[row]; k < p->row_start[row + 1]; k++, seg++) {
        size_t i = p->example[k], len = d->start[i + 1] - d->start[i];
        const int32_t *x = d->ids.data + d->start[i];
        const uint8_t *m = (const uint8_t *)d->mask.data + d->start[i];
        for (size_t j = 0; j < len; j++, t++) {
            ids[t] = x[j];
            targets[t] = j + 1 < len && m[j + 1] ? x[j + 1] : LT_CHAT_IGNORE;
            if (segments) segments[t] = seg;
            if (positions) positions[t] = (int32_t)j;
        }
    }
    for (int64_t from = t; t < p->T; t++) {
        ids[t] = pad_id;
        targets[t] = LT_CHAT_IGNORE;
        if (segments) segments[t] = seg;
        if (positions) positions[t] = (int32_t)(t - from);
    }
}

// ---------------------------------------------------------------- loader

typedef struct {
    const lt_chat_dataset *data;
    double weight, cumulative; // normalised; sum up to and including this source
    uint64_t epoch;
    size_t pos;                // next index into row_order
    lt_chat_packing packing;   // this epoch's rows
    uint32_t *row_order;       // (packing.n_rows) this epoch's row order
    uint32_t *order;           // (n examples) scratch: this epoch's example order
} chat_source;

struct lt_chat_loader {
    int n_sources;
    chat_source *src;
    int64_t B, T;
    uint64_t seed;
    int32_t pad_id;
    lt_rng rng;
    uint64_t rows_drawn;
    int32_t *row_source; // (B)
};

static void shuffle(uint32_t *v, size_t n, lt_rng *r) {
    for (size_t k = 0; k < n; k++) v[k] = (uint32_t)k;
    for (size_t k = n; k > 1; k--) { // Fisher-Yates
        uint32_t j = lt_rng_below(r, (uint32_t)k), tmp = v[k - 1];
        v[k - 1] = v[j];
        v[j] = tmp;
    }
}

// Epoch `epoch` of source i: examples shuffled, packed first-fit, rows
// shuffled, all from a stream seeded by (seed, i, epoch) alone.
static lt_status start_epoch(lt_chat_loader *l, int i, uint64_t epoch) {
    chat_source *s = &l->src[i];
    uint64_t key[3] = {l->seed, (uint64_t)i, epoch};
    lt_rng r;
    lt_rng_seed(&r, lt_mix64(lt_fnv1a64(LT_FNV_OFFSET, key, sizeof key)));
    size_t n = lt_chat_dataset_n_examples(s->data);
    shuffle(s->order, n, &r);
    lt_chat_packing_free(&s->packing);
    lt_free(s->row_order);
    s->row_order = NULL;
    LT_TRY(lt_chat_pack(s->data, s->order, n, l->T, &s->packing));
    LT_TRY(lt_alloc((void **)&s->row_order, s->packing.n_rows * sizeof *s->row_order,
                    "chat loader"));
    shuffle(s->row_order, s->packing.n_rows, &r);
    s->epoch = epoch;
    s->pos = 0;
    return NULL;
}

static lt_status open_sources(lt_chat_loader *l, const lt_chat_loader_opts *o) {
    double total = 0, cumulative = 0;
    for (int i = 0; i < o->n_sources; i++) {
        double w = o->weights ? o->weights[i] : 1.0;
        const lt_chat_dataset *d = o->datasets[i];
        if (!d) return lt_error(LT_ERR_ARG, "chat loader: source %d has no dataset", i);
        if (!(w > 0) || !isfinite(w))
            return lt_error(LT_ERR_ARG, "%s: weight %g must be a finite number above 0", d->name,
                            w);
        if (d->n == 0) return lt_error(LT_ERR_ARG, "%s: no examples", d->name);
        if (d->n > UINT32_MAX)
            return lt_error(LT_ERR_RANGE, "%s: %zu examples, more than 2^32", d->name, d->n);
        total += w;
    }
    for (int i = 0; i < o->n_sources; i++) {
        chat_source *s = &l->src[i];
        s->data = o->datasets[i];
        s->weight = (o->weights ? o->weights[i] : 1.0) / total;
        cumulative += s->weight;
        s->cumulative = i == o->n_sources - 1 ? 1.0 : cumulative;
        LT_TRY(lt_alloc((void **)&s->order, s->data->n * sizeof *s->order, "chat loader"));
        LT_TRY(start_epoch(l, i, 0));
    }
    return NULL;
}

lt_status lt_chat_loader_open(lt_chat_loader **out, const lt_chat_loader_opts *o) {
    *out = NULL;
    if (o->n_sources < 1)
        return lt_error(LT_ERR_ARG, "the chat loader needs at least one dataset (--data)");
    if (o->B < 1 || o->T < 1 || o->B > INT32_MAX || o->T > INT32_MAX)
        return lt_error(LT_ERR_ARG, "chat loader batch %lld x %lld: both must be positive",
                        (long long)o->B, (long long)o->T);
    if (o->pad_id < 0)
        return lt_error(LT_ERR_ARG, "chat loader: pad id %d must be a token id", (int)o->pad_id);
    lt_chat_loader *l;
    LT_TRY(lt_calloc((void **)&l, 1, sizeof *l, "chat loader"));
    l->n_sources = o->n_sources;
    l->B = o->B;
    l->T = o->T;
    l->seed = o->seed;
    l->pad_id = o->pad_id;
    lt_rng_seed(&l->rng, o->seed);
    lt_status st = lt_calloc((void **)&l->src, (size_t)o->n_sources, sizeof *l->src, "chat loader");
    if (!st) st = lt_calloc((void **)&l->row_source, (size_t)o->B, sizeof *l->row_source,
                            "chat loader");
    if (!st) st = open_sources(l, o);
    if (st) {
        lt_chat_loader_free(l);
        return st;
    }
    *out = l;
    return NULL;
}

void lt_chat_loader_free(lt_chat_loader *l) {
    if (!l) return;
    for (int i = 0; l->src && i < l->n_sources; i++) {
        lt_chat_packing_free(&l->src[i].packing);
        lt_free(l->src[i].row_order);
        lt_free(l->src[i].order);
    }
    lt_free(l->src);
    lt_free(l->row_source);
    lt_free(l);
}

static int pick_source(lt_chat_loader *l) {
    if (l->n_sources == 1) return 0;
    double u = lt_rng_uniform(&l->rng);
    for (int i = 0; i < l->n_sources - 1; i++)
        if (u < l->src[i].cumulative) return i;
    return l->n_sources - 1;
}

lt_status lt_chat_loader_next(lt_chat_loader *l, int32_t *ids, int32_t *targets,
                              int32_t *segments, int32_t *positions) {
    int64_t T = l->T;
    for (int64_t b = 0; b < l->B; b++) {
        int i = pick_source(l);
        chat_source *s = &l->src[i];
        if (s->pos == s->packing.n_rows) LT_TRY(start_epoch(l, i, s->epoch + 1));
        lt_chat_fill_row(s->data, &s->packing, s->row_order[s->pos++], l->pad_id, ids + b * T,
                         targets + b * T, segments ? segments + b * T : NULL,
                         positions ? positions + b * T : NULL);
        l->row_source[b] = i;
        l->rows_drawn++;
    }
    return NULL;
}

const int32_t *lt_chat_loader_row_sources(const lt_chat_loader *l) { return l->row_source; }
int lt_chat_loader_n_sources(const lt_chat_loader *l) { return l->n_sources; }
double lt_chat_loader_weight(const lt_chat_loader *l, int i) { return l->src[i].weight; }
uint64_t lt_chat_loader_epoch(const lt_chat_loader *l, int i) { return l->src[i].epoch; }
size_t lt_chat_loader_epoch_rows(const lt_chat_loader *l, int i) {
    return l->src[i].packing.n_rows;
}
uint64_t lt_chat_loader_rows_drawn(const lt_chat_loader *l) { return l->rows_drawn; }

lt_status lt_chat_loader_check_vocab(const lt_chat_loader *l, int64_t model_vocab) {
    if (l->pad_id >= model_vocab)
        return lt_error(LT_ERR_RANGE, "chat loader: pad id %d does not fit a model vocabulary of "
                        "%lld", (int)l->pad_id, (long long)model_vocab);
    for (int i = 0; i < l->n_sources; i++) {
        const lt_chat_dataset *d = l->src[i].data;
        if (d->max_id >= model_vocab)
            return lt_error(LT_ERR_RANGE, "%s: token id %d does not fit a model vocabulary of "
                            "%lld (the tokenizer and the model do not match)", d->name,
                            (int)d->max_id, (long long)model_vocab);
    }
    return NULL;
}

// ---------------------------------------------------------------- cursor state

// Layout (little-endian, docs/DATA.md): a 72-byte head, 48 bytes per source,
// then the FNV-1a 64 of everything before it. An epoch's packing is rebuilt
// from (seed, source, epoch), so only the epoch and the position are kept.
static const char chat_state_magic[8] = {'L', 'T', 'C', 'H', 'A', 'T', 'C', 'R'};
#define CHAT_STATE_VERSION 1
#define CHAT_STATE_HEAD 72
#define CHAT_STATE_PER_SOURCE 48

static size_t chat_state_size(uint64_t n_sources) {
    return CHAT_STATE_HEAD + CHAT_STATE_PER_SOURCE * (size_t)n_sources + 8;
}

size_t lt_chat_loader_state_size(const lt_chat_loader *l) {
    return chat_state_size((uint64_t)l->n_sources);
}

lt_status lt_chat_loader_state_save(const lt_chat_loader *l, void *buf, size_t cap, size_t *len) {
    size_t need = lt_chat_loader_state_size(l);
    *len = need;
    if (cap < need)
        return lt_error(LT_ERR_RANGE, "chat loader state needs %zu bytes, the buffer has %zu",
                        need, cap);
    uint8_t *p = buf;
    memset(p, 0, need);
    memcpy(p, chat_state_magic, 8);
    lt_store_u32(p + 8, CHAT_STATE_VERSION);
    lt_store_u32(p + 12, (uint32_t)l->n_sources);
    lt_store_u64(p + 16, (uint64_t)l->T);
    lt_store_u64(p + 24, l->seed);
    for (int k = 0; k < 4; k++) lt_store_u64(p + 32 + 8 * k, l->rng.s[k]);
    lt_store_u64(p + 64, l->rows_drawn);
    for (int i = 0; i < l->n_sources; i++) {
        const chat_source *s = &l->src[i];
        uint8_t *r = p + CHAT_STATE_HEAD + CHAT_STATE_PER_SOURCE * (size_t)i;
        uint64_t weight_bits;
        memcpy(&weight_bits, &s->weight, 8);
        lt_store_u64(r, s->data->n);
        lt_store_u64(r + 8, s->data->ids.n);
        lt_store_u64(r + 16, s->data->checksum);
        lt_store_u64(r + 24, weight_bits);
        lt_store_u64(r + 32, s->epoch);
        lt_store_u64(r + 40, s->pos);
    }
    lt_store_u64(p + need - 8, lt_fnv1a64(LT_FNV_OFFSET, p, need - 8));
    return NULL;
}

static lt_status check_chat_state(const lt_chat_loader *l, const uint8_t *p, size_t len) {
    if (len < 8 || memcmp(p, chat_state_magic, 8) != 0)
        return lt_error(LT_ERR_FORMAT, "chat loader state: bad magic (not a lathe chat cursor)");
    if (len < chat_state_size(0))
        return lt_error(LT_ERR_FORMAT, "chat loader state: truncated (%zu bytes)", len);
    uint32_t version = lt_load_u32(p + 8), n = lt_load_u32(p + 12);
    if (version != CHAT_STATE_VERSION)
        return lt_error(LT_ERR_UNSUPPORTED, "chat loader state: version %u, this lathe reads %d",
                        version, CHAT_STATE_VERSION);
    if (len != chat_state_size(n))
        return lt_error(LT_ERR_FORMAT, "chat loader state: %zu bytes, %zu expected for %u "
                        "sources (truncated?)", len, chat_state_size(n), n);
    if (lt_fnv1a64(LT_FNV_OFFSET, p, len - 8) != lt_load_u64(p + len - 8))
        return lt_error(LT_ERR_FORMAT, "chat loader state: checksum mismatch (corrupt)");
    if ((int)n != l->n_sources)
        return lt_error(LT_ERR_ARG, "chat loader state was saved for %u datasets, this loader "
                        "has %d (give the same --data as the run that saved it)", n,
                        l->n_sources);
    if (lt_load_u64(p + 16) != (uint64_t)l->T)
        return lt_error(LT_ERR_ARG, "chat loader state was saved for rows of %llu tokens, this "
                        "loader uses %lld", (unsigned long long)lt_load_u64(p + 16),
                        (long long)l->T);
    for (int i = 0; i < l->n_sources; i++) {
        const chat_source *s = &l->src[i];
        const uint8_t *r = p + CHAT_STATE_HEAD + CHAT_STATE_PER_SOURCE * (size_t)i;
        double weight;
        memcpy(&weight, r + 24, 8);
        if (lt_load_u64(r) != s->data->n || lt_load_u64(r + 8) != s->data->ids.n ||
            lt_load_u64(r + 16) != s->data->checksum)
            return lt_error(LT_ERR_ARG, "chat loader state: dataset %d (%s) was %llu examples "
                            "of %llu tokens with checksum %016llx, this one is %zu examples of "
                            "%zu tokens with checksum %016llx (not the same data)", i,
                            s->data->name, (unsigned long long)lt_load_u64(r),
                            (unsigned long long)lt_load_u64(r + 8),
                            (unsigned long long)lt_load_u64(r + 16), s->data->n,
                            s->data->ids.n, (unsigned long long)s->data->checksum);
        if (weight != s->weight)
            return lt_error(LT_ERR_ARG, "chat loader state: dataset %d (%s) had weight %.6g of "
                            "the blend, now %.6g (give the same --data weights as the run that "
                            "saved it)", i, s->data->name, weight, s->weight);
        if (lt_load_u64(r + 40) > s->data->n) // a position past any epoch's row count
            return lt_error(LT_ERR_FORMAT, "chat loader state: dataset %d (%s) is at row %llu "
                            "of an epoch of at most %zu rows (corrupt)", i, s->data->name,
                            (unsigned long long)lt_load_u64(r + 40), s->data->n);
    }
    return NULL;
}

lt_status lt_chat_loader_state_load(lt_chat_loader *l, const void *buf, size_t len) {
    const uint8_t *p = buf;
    LT_TRY(check_chat_state(l, p, len));
    uint64_t *old; // (2 n_sources) each source's epoch and position before
    LT_TRY(lt_alloc((void **)&old, 2 * (size_t)l->n_sources * sizeof *old, "chat loader"));
    for (int i = 0; i < l->n_sources; i++) {
        old[2 * i] = l->src[i].epoch;
        old[2 * i + 1] = l->src[i].pos;
    }
    uint64_t old_seed = l->seed;
    l->seed = lt_load_u64(p + 24);
    lt_status st = NULL;
    int i = 0;
    for (; !st && i < l->n_sources; i++) {
        const uint8_t *r = p + CHAT_STATE_HEAD + CHAT_STATE_PER_SOURCE * (size_t)i;
        uint64_t pos = lt_load_u64(r + 40);
        st = start_epoch(l, i, lt_load_u64(r + 32));
        if (!st && pos > l->src[i].packing.n_rows)
            st = lt_error(LT_ERR_FORMAT, "chat loader state: dataset %d (%s) is at row %llu of "
                          "an epoch of %zu rows (corrupt)", i, l->src[i].data->name,
                          (unsigned long long)pos, l->src[i].packing.n_rows);
        if (!st) l->src[i].pos = (size_t)pos;
    }
    if (st) { // on failure the loader is as it was
        l->seed = old_seed;
        for (int k = 0; k < i; k++) {
            lt_status back = start_epoch(l, k, old[2 * k]);
            if (back) {
                st = lt_error_prefix(st, "(and the loader could not be restored: %s)",
                                     lt_status_message(back));
                lt_status_free(back);
                break;
            }
            l->src[k].pos = (size_t)old[2 * k + 1];
        }
    } else {
        for (int k = 0; k < 4; k++) l->rng.s[k] = lt_load_u64(p + 32 + 8 * k);
        l->rows_drawn = lt_load_u64(p + 64);
    }
    lt_free(old);
    return st;
}
