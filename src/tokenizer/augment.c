// augment.c: ChipNeMo-style vocabulary augmentation. A BPE trained on domain
// text proposes tokens; those the base vocabulary lacks, frequent in the
// domain text and rare in general text, are appended after the base ids with
// the domain merge that builds each, so the base model's ids keep their
// meaning and domain text needs fewer tokens. The general text given is
// analysed under the base tokenizer (which pairs of ids end up adjacent inside
// a pre-token, which pre-tokens occur) so that no new merge can fire on it:
// its encoding stays exactly the base encoding.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "tokenizer/tok_internal.h"

void lt_augment_map_free(lt_augment_map *m) {
    for (int32_t i = 0; m->tokens && i < m->n; i++) lt_ids_free(&m->tokens[i].pieces);
    lt_free(m->tokens);
    memset(m, 0, sizeof *m);
}

// ---------------------------------------------------------------- what general text contains

typedef struct {
    bool ignore_merges;
    lt_pairmap pairs; // adjacent ids inside a pre-token (rank and merged unused)
    lt_strmap words;  // distinct pre-tokens (with ignore_merges: equal to one of them = used)
    char *arena;
    size_t arena_n, arena_cap;
} general_seen;

static lt_status see_piece(void *user, const uint8_t *piece, size_t len, const int32_t *ids,
                           size_t n) {
    general_seen *g = user;
    for (size_t i = 0; i + 1 < n; i++)
        if (lt_pairmap_find(&g->pairs, ids[i], ids[i + 1]) < 0)
            LT_TRY(lt_pairmap_put(&g->pairs, ids[i], ids[i + 1], 0, 0));
    if (!g->ignore_merges || lt_strmap_get(&g->words, g->arena, piece, len) >= 0) return NULL;
    if (g->arena_n + len > g->arena_cap) {
        size_t cap = g->arena_cap ? g->arena_cap : 1 << 16;
        while (cap < g->arena_n + len) cap *= 2;
        char *a = realloc(g->arena, cap);
        if (!a) return lt_error_nomem("the general text's pre-tokens", cap);
        g->arena = a;
        g->arena_cap = cap;
    }
    memcpy(g->arena + g->arena_n, piece, len);
    LT_TRY(lt_strmap_put(&g->words, g->arena, (uint32_t)g->arena_n, (uint32_t)len, 0));
    g->arena_n += len;
    return NULL;
}

static lt_status analyse_general(lt_tokenizer *base, const lt_text_span *docs, int n,
                                 general_seen *g) {
    g->ignore_merges = base->core->ignore_merges;
    LT_TRY(lt_pairmap_init(&g->pairs, 1 << 16));
    LT_TRY(lt_strmap_init(&g->words, 1 << 14));
    base->hook = see_piece;
    base->hook_user = g;
    lt_ids ids = {0};
    lt_status st = NULL;
    for (int i = 0; i < n && !st; i++) {
        ids.n = 0;
        st = lt_tokenizer_encode(base, docs[i].data, docs[i].len, 0, &ids);
    }
    base->hook = NULL;
    base->hook_user = NULL;
    lt_ids_free(&ids);
    return st;
}

static void general_free(general_seen *g) {
    lt_pairmap_free(&g->pairs);
    lt_strmap_free(&g->words);
    free(g->arena);
}

// ---------------------------------------------------------------- counting

static lt_status count_tokens(lt_tokenizer *tok, const lt_text_span *docs, int n, int64_t *counts,
                              int64_t *total) {
    lt_ids ids = {0};
    *total = 0;
    for (int i = 0; i < n; i++) {
        ids.n = 0;
        lt_status st =
            lt_tokenizer_encode(tok, docs[i].data, docs[i].len, LT_ENCODE_NO_SPECIAL, &ids);
        if (st) {
            lt_ids_free(&ids);
            return st;
        }
        for (size_t k = 0; k < ids.n; k++) counts[ids.data[k]]++;
        *total += (int64_t)ids.n;
    }
    lt_ids_free(&ids);
    return NULL;
}

// ---------------------------------------------------------------- choosing tokens

typedef struct {
    int32_t token, left, right; // domain ids
    int32_t rank;               // of the domain merge that builds it
    int64_t domain_count, general_count;
    bool taken, rejected;
} candidate;

static int by_count(const void *pa, const void *pb) {
    const candidate *a = pa, *b = pb;
    if (a->domain_count != b->domain_count) return a->domain_count > b->domain_count ? -1 : 1;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

static const char *bytes_of(const lt_tok_core *c, int32_t id, size_t *len) {
    *len = c->model[id].len;
    return c->arena + c->model[id].off;
}

// Domain tokens worth adding, most frequent first.
static lt_status find_candidates(const lt_tok_core *dom, lt_tokenizer *base, const int64_t *dcount,
                                 int64_t dtotal, const int64_t *gcount, int64_t gtotal,
                                 const general_seen *g, const lt_augment_opts *o, candidate **out,
                                 int32_t *n_out) {
    candidate *cands;
    bool *seen;
    LT_TRY(lt_calloc((void **)&cands, (size_t)dom->n_merges + 1, sizeof *cands, "augment"));
    lt_status st = lt_calloc((void **)&seen, (size_t)dom->n_ids, sizeof *seen, "augment");
    if (st) {
        lt_free(cands);
        return st;
    }
    int32_t n = 0;
    for (int32_t r = 0; r < dom->n_merges; r++) {
        int32_t t = dom->merges[r][2];
        if (seen[t]) continue; // built again by another pair: the first merge counts
        seen[t] = true;
        size_t len;
        const char *bytes = bytes_of(dom, t, &len);
        if (lt_tokenizer_find(base, bytes, len) >= 0) continue;
        if (dcount[t] < o->min_count) continue;
        double drate = (double)dcount[t] / (double)(dtotal ? dtotal : 1);
        double grate = (double)gcount[t] / (double)(gtotal ? gtotal : 1);
        if (grate > o->max_general_ratio * drate) continue;
        if (g->ignore_merges && lt_strmap_get(&g->words, g->arena, bytes, len) >= 0) continue;
        cands[n++] = (candidate){
            t, dom->merges[r][0], dom->merges[r][1], r, dcount[t], gcount[t], false, false};
    }
    lt_free(seen);
    qsort(cands, (size_t)n, sizeof *cands, by_count);
    *out = cands;
    *n_out = n;
    return NULL;
}

// The augmented id of a domain token: a base token with the same bytes, an
// accepted new token, or -1.
static int32_t resolve(const lt_tok_core *dom, const lt_tok_core *base, const int32_t *new_id,
                       int32_t x) {
    if (new_id[x] >= 0) return new_id[x];
    size_t len;
    const char *bytes = bytes_of(dom, x, &len);
    return lt_strmap_get(&base->vocab, base->arena, bytes, len);
}

// Greedy by count; a token whose parts are new waits for them (later passes).
static int32_t accept(candidate *cands, int32_t n, const lt_tok_core *dom, const lt_tok_core *base,
                      const general_seen *g, int32_t n_add, int32_t *new_id, int32_t (*merge)[2],
                      candidate **order) {
    int32_t accepted = 0;
    bool progress = true;
    while (progress && accepted < n_add) {
        progress = false;
        for (int32_t i = 0; i < n && accepted < n_add; i++) {
            candidate *c = &cands[i];
            if (c->taken || c->rejected) continue;
            int32_t l = resolve(dom, base, new_id, c->left),
                    r = resolve(dom, base, new_id, c->right);
            if (l < 0 || r < 0) continue;
            if (lt_pairmap_find(&g->pairs, l, r) >= 0) { // would fire on general text
                c->rejected = true;
                continue;
            }
            c->taken = true;
            new_id[c->token] = base->n_ids + accepted;
            merge[accepted][0] = l;
            merge[accepted][1] = r;
            order[accepted++] = c;
            progress = true;
        }
    }
    return accepted;
}

// ---------------------------------------------------------------- the augmented tokenizer

static lt_status clone_core(const lt_tok_core *b, lt_tok_core **out) {
    lt_tok_core *c;
    LT_TRY(lt_tok_core_new(&c));
    lt_status st = NULL;
    for (int32_t id = 0; id < b->n_ids && !st; id++)
        if (b->model[id].len != LT_SPAN_NONE)
            st = lt_tok_core_add_model(c, id, b->arena + b->model[id].off, b->model[id].len,
                                       b->verbatim[id]);
    for (int32_t r = 0; r < b->n_merges && !st; r++)
        st = lt_tok_core_add_merge(c, b->merges[r][0], b->merges[r][1]);
    for (int32_t i = 0; i < b->n_added && !st; i++) {
        const lt_added_token *a = &b->added[i];
        st = lt_tok_core_add_added(c, a->id, b->arena + a->content.off, a->content.len, a->special,
                                   a->lstrip, a->rstrip, a->normalized);
    }
    if (!st) st = lt_pretok_init(&c->pretok, b->pretok.kind, b->pretok.pattern);
    if (!st && b->post_processor && !(c->post_processor = cJSON_Duplicate(b->post_processor, true)))
        st = lt_error_nomem("a copy of the post-processor (JSON)", 0);
    c->ignore_merges = b->ignore_merges;
    c->bos = b->bos;
    c->eos = b->eos;
    c->pad = b->pad;
    if (st) {
        lt_tok_core_release(c);
        return st;
    }
    *out = c;
    return NULL;
}

static lt_status build(lt_tokenizer *base, const lt_tok_core *dom, candidate **order,
                       int32_t (*merge)[2], int32_t n, lt_tokenizer **out, lt_augment_map *map) {
    lt_tok_core *c;
    LT_TRY(clone_core(base->core, &c));
    lt_status st = NULL;
    int32_t first = base->core->n_ids;
    for (int32_t i = 0; i < n && !st; i++) {
        size_t len;
        const char *bytes = bytes_of(dom, order[i]->token, &len);
        st = lt_tok_core_add_model(c, first + i, bytes, len, false);
    }
    for (int32_t i = 0; i < n && !st; i++) st = lt_tok_core_add_merge(c, merge[i][0], merge[i][1]);
    if (!st) st = lt_tok_core_finish(c, "augmented tokenizer");
    if (!st) st = lt_tokenizer_from_core(out, c);
    if (st) {
        lt_tok_core_release(c);
        return st;
    }
    map->base_vocab = first;
    st = lt_calloc((void **)&map->tokens, (size_t)n + 1, sizeof *map->tokens, "augment map");
    for (int32_t i = 0; i < n && !st; i++) {
        lt_augment_token *t = &map->tokens[i];
        size_t len;
        const char *bytes = bytes_of(dom, order[i]->token, &len);
        t->id = first + i;
        t->domain_count = order[i]->domain_count;
        t->general_count = order[i]->general_count;
        st = lt_tokenizer_encode(base, bytes, len, LT_ENCODE_NO_SPECIAL, &t->pieces);
        map->n = i + 1;
    }
    return st;
}

static lt_status augment(lt_tokenizer **out, lt_augment_map *map, lt_tokenizer *base,
                         lt_tokenizer *dom, const lt_text_span *domain, int n_domain,
                         const lt_text_span *general, int n_general, const lt_augment_opts *o) {
    const lt_tok_core *dc = dom->core;
    int64_t *dcount = NULL, *gcount = NULL, dtotal = 0, gtotal = 0;
    int32_t *new_id = NULL, (*merge)[2] = NULL, n_cands = 0;
    candidate *cands = NULL, **order = NULL;
    general_seen g = {0};
    lt_status st = lt_calloc((void **)&dcount, (size_t)dc->n_ids, sizeof *dcount, "augment");
    if (!st) st = lt_calloc((void **)&gcount, (size_t)dc->n_ids, sizeof *gcount, "augment");
    if (!st) st = count_tokens(dom, domain, n_domain, dcount, &dtotal);
    if (!st) st = count_tokens(dom, general, n_general, gcount, &gtotal);
    lt_progress_report(&o->progress, "augment", 2, 4, "counted domain tokens");
    if (!st) st = analyse_general(base, general, n_general, &g);
    lt_progress_report(&o->progress, "augment", 3, 4, "analysed general text");
    if (!st)
        st = find_candidates(dc, base, dcount, dtotal, gcount, gtotal, &g, o, &cands, &n_cands);
    if (!st) st = lt_alloc((void **)&new_id, (size_t)dc->n_ids * sizeof *new_id, "augment");
    if (!st) st = lt_calloc((void **)&merge, (size_t)o->n_add + 1, sizeof *merge, "augment");
    if (!st) st = lt_calloc((void **)&order, (size_t)o->n_add + 1, sizeof *order, "augment");
    if (!st) {
        for (int32_t i = 0; i < dc->n_ids; i++) new_id[i] = -1;
        int32_t n = accept(cands, n_cands, dc, base->core, &g, o->n_add, new_id, merge, order);
        st = build(base, dc, order, merge, n, out, map);
    }
    lt_progress_report(&o->progress, "augment", 4, 4, "built");
    general_free(&g);
    lt_free(dcount);
    lt_free(gcount);
    lt_free(new_id);
    lt_free(merge);
    lt_free(order);
    lt_free(cands);
    return st;
}

lt_status lt_tokenizer_augment(lt_tokenizer **out, lt_augment_map *map, lt_tokenizer *base,
                               const lt_text_span *domain, int n_domain,
                               const lt_text_span *general, int n_general,
                               const lt_augment_opts *opts) {
    *out = NULL;
    memset(map, 0, sizeof *map);
    lt_augment_opts o = *opts;
    if (o.n_add <= 0)
        return lt_error(LT_ERR_ARG, "augment: the number of tokens to add must be > 0");
    if (n_domain <= 0) return lt_error(LT_ERR_ARG, "augment: no domain text");
    if (o.min_count <= 0) o.min_count = 2;
    if (o.max_general_ratio <= 0) o.max_general_ratio = 0.1;
    if (o.domain_vocab <= 0) o.domain_vocab = 264 + 4 * o.n_add > 2000 ? 264 + 4 * o.n_add : 2000;
    // The domain BPE: no special tokens, the base's pre-tokenizer.
    static const char *const no_specials[] = {NULL};
    lt_bpe_train_opts to = {.vocab_size = o.domain_vocab,
                            .pattern = base->core->pretok.pattern,
                            .specials = no_specials,
                            .n_specials = 0};
    if (base->core->pretok.kind != LT_PRETOK_SPLIT) to.pattern = LT_TOK_GPT2_PATTERN;
    lt_bpe_trainer *tr;
    LT_TRY(lt_bpe_trainer_init(&tr, &to));
    lt_status st = NULL;
    for (int i = 0; i < n_domain && !st; i++)
        st = lt_bpe_trainer_feed(tr, domain[i].data, domain[i].len);
    lt_tokenizer *dom = NULL;
    if (!st) st = lt_bpe_trainer_finish(tr, &dom);
    lt_bpe_trainer_free(tr);
    lt_progress_report(&o.progress, "augment", 1, 4, "trained the domain BPE");
    if (!st) st = augment(out, map, base, dom, domain, n_domain, general, n_general, &o);
    lt_tokenizer_free(dom);
    if (st) {
        lt_tokenizer_free(*out);
        *out = NULL;
        lt_augment_map_free(map);
    }
    return st;
}

lt_status lt_tokenizer_augment_files(lt_tokenizer **out, lt_augment_map *map, lt_tokenizer *base,
                                     const char *const *domain, int n_domain,
                                     const char *const *general, int n_general,
                                     const lt_augment_opts *opts) {
    int n = n_domain + n_general;
    lt_mmap *maps;
    lt_text_span *spans;
    *out = NULL;
    memset(map, 0, sizeof *map);
    LT_TRY(lt_calloc((void **)&maps, (size_t)n + 1, sizeof *maps, "augment"));
    lt_status st = lt_calloc((void **)&spans, (size_t)n + 1, sizeof *spans, "augment");
    int opened = 0;
    for (int i = 0; i < n && !st; i++, opened++) {
        st = lt_mmap_open(&maps[i], i < n_domain ? domain[i] : general[i - n_domain]);
        if (!st) spans[i] = (lt_text_span){maps[i].data, maps[i].size};
    }
    if (!st)
        st = lt_tokenizer_augment(out, map, base, spans, n_domain, spans + n_domain, n_general,
                                  opts);
    for (int i = 0; i < opened; i++) lt_mmap_close(&maps[i]);
    lt_free(maps);
    lt_free(spans);
    return st;
}

// ---------------------------------------------------------------- vocab_augment.json

lt_status lt_augment_map_save(const lt_augment_map *m, const lt_tokenizer *aug, const char *path) {
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return lt_error_prefix(lt_error_nomem("the augmentation map (JSON)", 0), "%s", path);
    cJSON_AddNumberToObject(doc, "base_vocab", m->base_vocab);
    cJSON *list = cJSON_AddArrayToObject(doc, "added");
    lt_status st = NULL;
    for (int32_t i = 0; i < m->n && !st; i++) {
        const lt_augment_token *t = &m->tokens[i];
        size_t len;
        const char *bytes = lt_tokenizer_token(aug, t->id, &len);
        if (!bytes) {
            st = lt_error(LT_ERR_ARG, "%s: id %ld is not in the augmented tokenizer", path,
                          (long)t->id);
            break;
        }
        lt_bytes spelled = {0};
        st = lt_bytelevel_encode(&spelled, bytes, len);
        cJSON *e = cJSON_CreateObject();
        cJSON *pieces = cJSON_CreateIntArray(t->pieces.data, (int)t->pieces.n);
        if (!st && (!e || !pieces))
            st = lt_error_prefix(lt_error_nomem("a new token's entry (JSON)", 0), "%s", path);
        if (!st) {
            cJSON_AddNumberToObject(e, "id", t->id);
            cJSON_AddStringToObject(e, "token", spelled.data);
            cJSON_AddItemToObject(e, "pieces", pieces);
            cJSON_AddNumberToObject(e, "domain_count", (double)t->domain_count);
            cJSON_AddNumberToObject(e, "general_count", (double)t->general_count);
            cJSON_AddItemToArray(list, e);
        } else {
            cJSON_Delete(e);
            cJSON_Delete(pieces);
        }
        lt_bytes_free(&spelled);
    }
    if (!st) st = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return st;
}

static lt_status load_entry(const cJSON *e, lt_augment_token *t, int32_t base_vocab,
                            const char *where) {
    int64_t id;
    LT_TRY(lt_json_get_int(e, "id", &id, where));
    if (id < base_vocab || id >= LT_TOK_MAX_ID)
        return lt_error(LT_ERR_FORMAT, "%s: id %lld is not a new id (base_vocab %ld)", where,
                        (long long)id, (long)base_vocab);
    t->id = (int32_t)id;
    LT_TRY(lt_json_get_int_opt(e, "domain_count", &t->domain_count, where));
    LT_TRY(lt_json_get_int_opt(e, "general_count", &t->general_count, where));
    const cJSON *pieces = cJSON_GetObjectItemCaseSensitive(e, "pieces");
    if (!cJSON_IsArray(pieces) || cJSON_GetArraySize(pieces) == 0)
        return lt_error(LT_ERR_FORMAT, "%s: field 'pieces' must be a non-empty array of ids",
                        where);
    for (const cJSON *p = pieces->child; p; p = p->next) {
        if (!cJSON_IsNumber(p) || p->valuedouble != floor(p->valuedouble) || p->valuedouble < 0 ||
            p->valuedouble >= base_vocab)
            return lt_error(LT_ERR_FORMAT, "%s: pieces must be base ids in [0, %ld)", where,
                            (long)base_vocab);
        LT_TRY(lt_ids_push(&t->pieces, (int32_t)p->valuedouble));
    }
    return NULL;
}

lt_status lt_augment_map_load(lt_augment_map *m, const char *path) {
    memset(m, 0, sizeof *m);
    cJSON *doc;
    LT_TRY(lt_json_read_file(&doc, path, (size_t)1 << 30));
    int64_t base_vocab = 0;
    lt_status st = cJSON_IsObject(doc) ? lt_json_get_int(doc, "base_vocab", &base_vocab, path)
                                       : lt_error(LT_ERR_FORMAT, "%s: must be a JSON object", path);
    if (!st && (base_vocab <= 0 || base_vocab >= LT_TOK_MAX_ID))
        st = lt_error(LT_ERR_FORMAT, "%s: base_vocab %lld is out of range", path,
                      (long long)base_vocab);
    const cJSON *list = st ? NULL : cJSON_GetObjectItemCaseSensitive(doc, "added");
    if (!st && !cJSON_IsArray(list))
        st = lt_error(LT_ERR_FORMAT, "%s: field 'added' must be an array", path);
    int n = st ? 0 : cJSON_GetArraySize(list);
    if (!st) st = lt_calloc((void **)&m->tokens, (size_t)n + 1, sizeof *m->tokens, path);
    m->base_vocab = (int32_t)base_vocab;
    int i = 0;
    for (const cJSON *e = st ? NULL : list->child; e && !st; e = e->next, i++) {
        char where[600];
        snprintf(where, sizeof where, "%s: added[%d]", path, i);
        m->n = i + 1;
        st = cJSON_IsObject(e) ? load_entry(e, &m->tokens[i], m->base_vocab, where)
                               : lt_error(LT_ERR_FORMAT, "%s must be an object", where);
        for (int k = 0; k < i && !st; k++)
            if (m->tokens[k].id == m->tokens[i].id)
                st = lt_error(LT_ERR_FORMAT, "%s: id %ld appears twice", where,
                              (long)m->tokens[i].id);
    }
    cJSON_Delete(doc);
    if (st) lt_augment_map_free(m);
    return st;
}
