// train_data.c: the trainer's data sources (lt_train_data). Both kinds draw
// their batches and keep their cursor through one blending loader (data.h);
// token shards (pretraining) add an in-order validation walk, chat JSONL
// (SFT) a held-out file packed once and walked row by row. The trainer sees
// only the table.
#include <stdlib.h>
#include <string.h>

#include "lathe/data.h"
#include "lathe/train.h"

void lt_train_data_free(lt_train_data *d) {
    if (d->free) d->free(d->ctx);
    memset(d, 0, sizeof *d);
}

// Parses "PATH[:WEIGHT]" specs into paths[] and weights[] (both (n), lt_free
// each path and both arrays).
static lt_status parse_specs(const char *const *specs, int n, char ***paths, double **weights) {
    LT_TRY(lt_calloc((void **)paths, (size_t)n, sizeof **paths, "data paths"));
    LT_TRY(lt_calloc((void **)weights, (size_t)n, sizeof **weights, "data weights"));
    for (int i = 0; i < n; i++) LT_TRY(lt_data_spec_parse(specs[i], &(*paths)[i], &(*weights)[i]));
    return NULL;
}

static void free_specs(char **paths, double *weights, int n) {
    for (int i = 0; paths && i < n; i++) lt_free(paths[i]);
    lt_free(paths);
    lt_free(weights);
}

// ---------------------------------------------------------------- the loader, for both kinds

// Training batches and the cursor come from one blending loader whatever the
// data; each kind adds its validation walk. The loader is the first member
// of both contexts below, so a context points to it (C11 6.7.2.1) and these
// take either.
static lt_loader *ctx_loader(void *ctx) { return *(lt_loader **)ctx; }

static lt_status loader_next(void *ctx, int32_t *ids, int32_t *targets, int32_t *segments,
                             int32_t *positions) {
    return lt_loader_next(ctx_loader(ctx), ids, targets, segments, positions);
}

static size_t loader_state_size(void *ctx) { return lt_loader_state_size(ctx_loader(ctx)); }

static lt_status loader_state_save(void *ctx, void *buf, size_t cap, size_t *len) {
    return lt_loader_state_save(ctx_loader(ctx), buf, cap, len);
}

static lt_status loader_state_load(void *ctx, const void *buf, size_t len) {
    return lt_loader_state_load(ctx_loader(ctx), buf, len);
}

// The table over ctx, with the kind's own vocabulary check and free.
static lt_train_data loader_table(void *ctx, lt_status (*check_vocab)(void *, int64_t),
                                  void (*free_ctx)(void *)) {
    return (lt_train_data){.ctx = ctx,
                           .next = loader_next,
                           .check_vocab = check_vocab,
                           .state_size = loader_state_size,
                           .state_save = loader_state_save,
                           .state_load = loader_state_load,
                           .free = free_ctx};
}

// ---------------------------------------------------------------- token shards

typedef struct {
    lt_loader *loader; // first: see ctx_loader
    lt_shard *val;     // NULL without validation data
    lt_val_iter it;
    int64_t B, T;
} shard_source;

static lt_status shard_check_vocab(void *ctx, int64_t vocab) {
    shard_source *s = ctx;
    LT_TRY(lt_loader_check_vocab(s->loader, vocab));
    return s->val ? lt_shard_check_vocab(s->val, vocab) : NULL;
}

static lt_status shard_val_begin(void *ctx) {
    shard_source *s = ctx;
    return lt_val_iter_init(&s->it, s->val, s->B, s->T);
}

static lt_status shard_val_next(void *ctx, int32_t *ids, int32_t *targets, int32_t *segments,
                                int32_t *positions, int64_t *n_rows) {
    return lt_val_iter_next(&((shard_source *)ctx)->it, ids, targets, segments, positions, n_rows);
}

static void shard_free(void *ctx) {
    shard_source *s = ctx;
    if (!s) return;
    lt_loader_close(s->loader);
    lt_shard_close(s->val);
    lt_free(s);
}

lt_status lt_train_data_shards(lt_train_data *out, const char *const *data, int n_data,
                               const char *val, int64_t B, int64_t T, uint64_t seed) {
    memset(out, 0, sizeof *out);
    shard_source *src;
    LT_TRY(lt_calloc((void **)&src, 1, sizeof *src, "shard source"));
    *out = loader_table(src, shard_check_vocab, shard_free);
    src->B = B, src->T = T;
    char **paths = NULL;
    double *weights = NULL;
    lt_status s = parse_specs(data, n_data, &paths, &weights);
    if (!s) {
        lt_loader_opts lo = {.paths = (const char *const *)paths,
                             .weights = weights,
                             .n_sources = n_data,
                             .B = B,
                             .T = T,
                             .seed = seed};
        s = lt_loader_open(&src->loader, &lo);
    }
    free_specs(paths, weights, n_data);
    if (!s && val) s = lt_shard_open(&src->val, val);
    if (!s && src->val) {
        out->val_begin = shard_val_begin, out->val_next = shard_val_next;
        // bits per byte: the shard's bytes per token scale nats per token to bits per byte.
        const lt_shard_info *info = lt_shard_get_info(src->val);
        out->val_bytes_per_token =
            info->n_tokens > 1 ? (double)info->n_text_bytes / (double)(info->n_tokens - 1) : 0;
    }
    if (s) lt_train_data_free(out);
    return s;
}

// ---------------------------------------------------------------- chat JSONL

typedef struct {
    lt_loader *loader;       // first: see ctx_loader
    lt_chat_dataset **train; // (n_train)
    int n_train;
    lt_chat_dataset *val; // NULL without validation data
    lt_chat_packing val_rows;
    size_t val_next_row;
    int64_t B, T;
    int32_t pad_id;
} chat_source;

static lt_status chat_check_vocab(void *ctx, int64_t vocab) {
    chat_source *c = ctx;
    LT_TRY(lt_loader_check_vocab(c->loader, vocab));
    if (c->val && lt_chat_dataset_max_id(c->val) >= vocab)
        return lt_error(LT_ERR_ARG, "%s: token id %d is outside the model's vocabulary of %lld",
                        lt_chat_dataset_name(c->val), lt_chat_dataset_max_id(c->val),
                        (long long)vocab);
    return NULL;
}

static lt_status chat_val_begin(void *ctx) {
    ((chat_source *)ctx)->val_next_row = 0;
    return NULL;
}

// The next B packed rows of the held-out file; rows past its end are padding
// whose targets are all ignored.
static lt_status chat_val_next(void *ctx, int32_t *ids, int32_t *targets, int32_t *segments,
                               int32_t *positions, int64_t *n_rows) {
    chat_source *c = ctx;
    *n_rows = 0;
    for (int64_t b = 0; b < c->B; b++) {
        int64_t off = b * c->T;
        if (c->val_next_row < c->val_rows.n_rows) {
            lt_chat_fill_row(c->val, &c->val_rows, c->val_next_row++, c->pad_id, ids + off,
                             targets + off, segments ? segments + off : NULL,
                             positions ? positions + off : NULL);
            (*n_rows)++;
            continue;
        }
        for (int64_t t = 0; t < c->T; t++) {
            ids[off + t] = c->pad_id, targets[off + t] = LT_CHAT_IGNORE;
            if (segments) segments[off + t] = 0;
            if (positions) positions[off + t] = (int32_t)t;
        }
    }
    return NULL;
}

static void chat_free(void *ctx) {
    chat_source *c = ctx;
    if (!c) return;
    lt_loader_close(c->loader);
    for (int i = 0; c->train && i < c->n_train; i++) lt_chat_dataset_free(c->train[i]);
    lt_free(c->train);
    lt_chat_packing_free(&c->val_rows);
    lt_chat_dataset_free(c->val);
    lt_free(c);
}

// Loads one file, adding its reading to *stats and keeping the first skip message.
static lt_status load_chat(lt_chat_dataset **out, const char *path, const lt_chat_read_opts *ro,
                           lt_chat_read_stats *stats, char **first_skip) {
    lt_chat_read_stats st = {0};
    char *skip = NULL;
    LT_TRY(lt_chat_dataset_load(out, path, ro, &st, &skip));
    stats->n_lines += st.n_lines, stats->n_examples += st.n_examples,
        stats->n_skipped += st.n_skipped;
    stats->n_too_long += st.n_too_long;
    stats->n_tokens += st.n_tokens, stats->n_loss_tokens += st.n_loss_tokens;
    if (skip && first_skip && !*first_skip)
        *first_skip = skip;
    else
        lt_free(skip);
    return NULL;
}

// The held-out file packed once, in file order.
static lt_status pack_val(chat_source *c) {
    size_t n = lt_chat_dataset_n_examples(c->val);
    uint32_t *order;
    LT_TRY(lt_alloc((void **)&order, (n ? n : 1) * sizeof *order, "validation order"));
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    lt_status s = lt_chat_pack(c->val, order, n, c->T, &c->val_rows);
    lt_free(order);
    return s;
}

static lt_status open_chat(chat_source *c, const lt_train_chat_opts *o, lt_chat_read_stats *stats,
                           char **first_skip) {
    lt_chat_read_opts ro = {.tokenizer = o->tokenizer, .max_tokens = o->T, .skip_bad = o->skip_bad};
    char **paths = NULL;
    double *weights = NULL;
    lt_status s = parse_specs(o->data, o->n_data, &paths, &weights);
    if (!s) s = lt_calloc((void **)&c->train, (size_t)o->n_data, sizeof *c->train, "chat datasets");
    for (int i = 0; !s && i < o->n_data; i++) {
        s = load_chat(&c->train[i], paths[i], &ro, stats, first_skip);
        if (!s) c->n_train++;
    }
    if (!s) {
        lt_chat_loader_opts lo = {.datasets = c->train,
                                  .weights = weights,
                                  .n_sources = o->n_data,
                                  .B = o->B,
                                  .T = o->T,
                                  .seed = o->seed,
                                  .pad_id = c->pad_id};
        s = lt_chat_loader_open(&c->loader, &lo);
    }
    free_specs(paths, weights, o->n_data);
    if (!s && o->val) s = load_chat(&c->val, o->val, &ro, stats, first_skip);
    if (!s && c->val) s = pack_val(c);
    return s;
}

lt_status lt_train_data_chat(lt_train_data *out, const lt_train_chat_opts *o,
                             lt_chat_read_stats *stats, char **first_skip) {
    memset(out, 0, sizeof *out);
    lt_chat_read_stats ignored;
    if (!stats) stats = &ignored;
    memset(stats, 0, sizeof *stats);
    if (first_skip) *first_skip = NULL;
    if (!o->tokenizer) return lt_error(LT_ERR_ARG, "chat data needs a tokenizer");
    if (o->n_data < 1) return lt_error(LT_ERR_ARG, "give at least one --data CHAT.jsonl[:WEIGHT]");
    chat_source *c;
    LT_TRY(lt_calloc((void **)&c, 1, sizeof *c, "chat source"));
    *out = loader_table(c, chat_check_vocab, chat_free);
    c->B = o->B, c->T = o->T;
    // Padding is never learned; the end-of-text token keeps it inside the vocabulary.
    int32_t pad = lt_tokenizer_pad(o->tokenizer);
    c->pad_id = pad >= 0                              ? pad
                : lt_tokenizer_eos(o->tokenizer) >= 0 ? lt_tokenizer_eos(o->tokenizer)
                                                      : 0;
    lt_status s = open_chat(c, o, stats, first_skip);
    if (!s && c->val) out->val_begin = chat_val_begin, out->val_next = chat_val_next;
    if (s) {
        lt_train_data_free(out);
        if (first_skip) lt_free(*first_skip), *first_skip = NULL;
    }
    return s;
}
