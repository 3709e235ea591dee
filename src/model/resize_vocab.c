// resize_vocab.c: growing a model's vocabulary rows for an augmented
// tokenizer (lathe model resize-vocab) — model surgery, so it lives in
// src/model/. From the tokenizer it reads only the augmentation map, a plain
// public struct of tokenizer.h (ids and their pieces).
#include <string.h>

#include "lathe/resize_vocab.h"

// Rows of a (V, C) matrix: dst rows [0, V0) copied from src, each mapped id
// set to the mean of its pieces' rows, other new rows to the mean of all rows.
static void fill_rows(float *dst, const float *src, int64_t v0, int64_t v1, int64_t c,
                      const lt_augment_map *map) {
    memcpy(dst, src, (size_t)(v0 * c) * sizeof *dst);
    if (v1 > v0) {
        float *mean = dst + v0 * c; // the first new row holds the overall mean
        for (int64_t j = 0; j < c; j++) {
            double s = 0;
            for (int64_t r = 0; r < v0; r++) s += src[r * c + j];
            mean[j] = (float)(s / (double)v0);
        }
        for (int64_t r = v0 + 1; r < v1; r++) memcpy(dst + r * c, mean, (size_t)c * sizeof *dst);
    }
    for (int32_t i = 0; i < map->n; i++) {
        const lt_augment_token *t = &map->tokens[i];
        float *row = dst + (int64_t)t->id * c;
        for (int64_t j = 0; j < c; j++) {
            double s = 0;
            for (size_t k = 0; k < t->pieces.n; k++) s += src[(int64_t)t->pieces.data[k] * c + j];
            row[j] = (float)(s / (double)t->pieces.n);
        }
    }
}

static lt_status check_map(const lt_augment_map *map, int64_t v0, int64_t *v1) {
    if (map->base_vocab > v0)
        return lt_error(LT_ERR_ARG,
                        "resize-vocab: the tokenizer's base has %ld ids but the model only %lld "
                        "rows (wrong model or tokenizer?)",
                        (long)map->base_vocab, (long long)v0);
    *v1 = v0;
    for (int32_t i = 0; i < map->n; i++) {
        const lt_augment_token *t = &map->tokens[i];
        if (t->id < 0 || t->id >= LT_TOK_MAX_ID || t->pieces.n == 0)
            return lt_error(LT_ERR_ARG, "resize-vocab: new token %d has a bad id or no pieces", i);
        for (size_t k = 0; k < t->pieces.n; k++)
            if (t->pieces.data[k] < 0 || t->pieces.data[k] >= v0)
                return lt_error(LT_ERR_ARG,
                                "resize-vocab: new token %ld: piece %ld is not a row of the "
                                "model (vocab %lld)",
                                (long)t->id, (long)t->pieces.data[k], (long long)v0);
        if (t->id + 1 > *v1) *v1 = t->id + 1;
    }
    return NULL;
}

lt_status lt_model_resize_vocab(lt_model **out, const lt_model *m, const lt_augment_map *map) {
    *out = NULL;
    int64_t v0 = m->cfg.vocab, v1, c = m->cfg.hidden;
    LT_TRY(check_map(map, v0, &v1));
    lt_config cfg;
    LT_TRY(lt_config_copy(&cfg, &m->cfg));
    cfg.vocab = v1;
    lt_model *n = NULL;
    lt_status st = lt_model_init(&n, &cfg);
    lt_config_free(&cfg);
    if (st) return st;
    for (int i = 0; i < n->n_tensors; i++) {
        const lt_param *to = &n->tensors[i];
        const lt_param *from = lt_model_find(m, to->name);
        float *dst = n->params + to->offset;
        if (!from) {
            st = lt_error(LT_ERR_INTERNAL, "resize-vocab: tensor '%s' is missing", to->name);
            break;
        }
        const float *src = m->params + from->offset;
        if (strcmp(to->name, "model.embed_tokens.weight") == 0 ||
            strcmp(to->name, "lm_head.weight") == 0)
            fill_rows(dst, src, v0, v1, c, map);
        else
            memcpy(dst, src, (size_t)to->numel * sizeof *dst);
    }
    if (!st && m->dtype != LT_F32) st = lt_model_set_dtype(n, m->dtype);
    if (st) {
        lt_model_free(n);
        return st;
    }
    *out = n;
    return NULL;
}
