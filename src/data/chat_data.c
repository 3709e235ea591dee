// chat_data.c: chat datasets in memory (rendered ids + loss masks), first-fit
// packing of examples into rows of T tokens with per-example segments, and a
// chat dataset as a source of the blending loader (blend.c) for SFT.
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
    lt_ids ids;     // all examples' ids, concatenated
    lt_bytes mask;  // their loss masks
    size_t *start;  // (cap + 1) example i is [start[i], start[i + 1])
    uint64_t *line; // (cap) the input line of each example
    size_t n, cap;
    size_t longest;    // the longest example's length
    uint64_t n_loss;   // tokens with mask 1
    uint64_t checksum; // FNV-1a 64 over every example's ids and mask, in order
    int32_t max_id;    // the largest token id (-1 when empty)
};

lt_status lt_chat_dataset_init(lt_chat_dataset **out, const lt_chat_read_opts *opts,
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
    if (!st)
        *out = d;
    else
        lt_chat_dataset_free(d);
    return st;
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
    if (!st && learned == 0) st = lt_error(LT_ERR_FORMAT, "%s: no assistant token to learn", where);
    if (!st && d->max_tokens > 0 && ids.n > (size_t)d->max_tokens)
        st = lt_error(LT_ERR_RANGE,
                      "%s: example has %zu tokens, more than the context of %lld "
                      "(shorten it, use a longer context, or skip bad lines)",
                      where, ids.n, (long long)d->max_tokens);
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
static lt_status load_line(lt_chat_dataset *d, const char *path, uint64_t line_no, const char *text,
                           size_t n) {
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
                bool too_long =
                    lt_status_code(st) == LT_ERR_RANGE; // the only range error of a line
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
    lt_status st = lt_chat_dataset_init(&d, opts, path);
    if (!st) st = load_text(d, path, text, size, opts, stats, first_skip);
    if (!st && d->n == 0)
        st = lt_error(LT_ERR_FORMAT, "%s: no usable conversation (%llu lines, %llu skipped)", path,
                      (unsigned long long)stats->n_lines, (unsigned long long)stats->n_skipped);
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
        if (i >= d->n) return lt_error(LT_ERR_RANGE, "%s: example %zu of %zu", d->name, i, d->n);
        size_t len = d->start[i + 1] - d->start[i];
        if ((int64_t)len > T)
            return lt_error(LT_ERR_RANGE,
                            "%s:%llu: example has %zu tokens, more than the "
                            "context of %lld",
                            d->name, (unsigned long long)d->line[i], len, (long long)T);
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

// ---------------------------------------------------------------- chat source

// A chat dataset as a source of the blending loader (blend.c): an epoch is
// its examples in a fresh order, packed first-fit into rows.
typedef struct {
    const lt_chat_dataset *data; // borrowed
    int32_t pad_id;
    lt_chat_packing packing; // this epoch's rows
    uint32_t *order;         // (n examples) this epoch's example order
} chat_source;

static const char *chat_name(const void *ctx) { return ((const chat_source *)ctx)->data->name; }

static void chat_fingerprint(const void *ctx, uint64_t *words) {
    const lt_chat_dataset *d = ((const chat_source *)ctx)->data;
    words[0] = d->n;
    words[1] = d->ids.n;
    words[2] = d->checksum;
}

static lt_status chat_plan_epoch(void *ctx, int64_t T, lt_rng *rng, uint64_t *n_rows) {
    chat_source *s = ctx;
    size_t n = s->data->n;
    for (size_t k = 0; k < n; k++) s->order[k] = (uint32_t)k;
    for (size_t k = n; k > 1; k--) { // Fisher-Yates
        uint32_t j = lt_rng_below(rng, (uint32_t)k), tmp = s->order[k - 1];
        s->order[k - 1] = s->order[j];
        s->order[j] = tmp;
    }
    lt_chat_packing_free(&s->packing);
    LT_TRY(lt_chat_pack(s->data, s->order, n, T, &s->packing));
    *n_rows = s->packing.n_rows;
    return NULL;
}

static lt_status chat_fill_row(void *ctx, int64_t T, uint64_t row, int32_t *ids, int32_t *targets,
                               int32_t *segments, int32_t *positions) {
    (void)T; // the packing was made for this T
    chat_source *s = ctx;
    lt_chat_fill_row(s->data, &s->packing, (size_t)row, s->pad_id, ids, targets, segments,
                     positions);
    return NULL;
}

static lt_status chat_check_vocab(const void *ctx, int64_t model_vocab) {
    const chat_source *s = ctx;
    if (s->pad_id >= model_vocab)
        return lt_error(LT_ERR_RANGE,
                        "chat loader: pad id %d does not fit a model vocabulary of "
                        "%lld",
                        (int)s->pad_id, (long long)model_vocab);
    if (s->data->max_id >= model_vocab)
        return lt_error(LT_ERR_RANGE,
                        "%s: token id %d does not fit a model vocabulary of %lld "
                        "(the tokenizer and the model do not match)",
                        s->data->name, (int)s->data->max_id, (long long)model_vocab);
    return NULL;
}

static void chat_free(void *ctx) {
    chat_source *s = ctx;
    if (!s) return;
    lt_chat_packing_free(&s->packing);
    lt_free(s->order);
    lt_free(s);
}

static const lt_data_source_ops chat_ops = {.source_noun = "dataset",
                                            .row_noun = "row",
                                            .fingerprint_names =
                                                (const char *const[]){"examples", "tokens", NULL},
                                            .name = chat_name,
                                            .fingerprint = chat_fingerprint,
                                            .plan_epoch = chat_plan_epoch,
                                            .fill_row = chat_fill_row,
                                            .check_vocab = chat_check_vocab,
                                            .free = chat_free};

lt_status lt_data_source_chat(lt_data_source *out, const lt_chat_dataset *d, int32_t pad_id) {
    *out = (lt_data_source){0};
    if (d->n == 0) return lt_error(LT_ERR_ARG, "%s: no examples", d->name);
    if (d->n > UINT32_MAX)
        return lt_error(LT_ERR_RANGE, "%s: %zu examples, more than 2^32", d->name, d->n);
    chat_source *s;
    LT_TRY(lt_calloc((void **)&s, 1, sizeof *s, "chat source"));
    s->data = d;
    s->pad_id = pad_id;
    lt_status st = lt_alloc((void **)&s->order, d->n * sizeof *s->order, d->name);
    if (!st)
        *out = (lt_data_source){.ops = &chat_ops, .ctx = s};
    else
        lt_free(s);
    return st;
}

static lt_status make_chat_source(lt_data_source *src, int i, const void *arg) {
    const lt_chat_loader_opts *o = arg;
    if (!o->datasets[i]) return lt_error(LT_ERR_ARG, "chat loader: source %d has no dataset", i);
    return lt_data_source_chat(src, o->datasets[i], o->pad_id);
}

lt_status lt_chat_loader_open(lt_loader **out, const lt_chat_loader_opts *o) {
    *out = NULL;
    if (o->n_sources < 1)
        return lt_error(LT_ERR_ARG, "the chat loader needs at least one dataset (--data)");
    if (o->pad_id < 0)
        return lt_error(LT_ERR_ARG, "chat loader: pad id %d must be a token id", (int)o->pad_id);
    lt_loader_source_opts so = {.weights = o->weights, .n_sources = o->n_sources, .seed = o->seed};
    so.B = o->B;
    so.T = o->T;
    so.magic = "LTCHATCR";
    so.label = "chat loader";
    return lt_loader_open_made(out, so, make_chat_source, o);
}
