// test_model_resize.c: lt_model_resize_vocab (lathe model resize-vocab).
// Each new embedding / LM-head row must equal the mean of its pieces' rows,
// computed here in double from the old model; old rows and every other tensor
// are unchanged; tied and untied heads; bad maps are refused; the grown model
// saves and loads.
#include "lathe/resize_vocab.h"
#include "lt_test.h"

static lt_model *make_model(const char *preset, uint64_t seed) {
    lt_config cfg;
    lt_model *m = NULL;
    LT_CHECK_OK(lt_config_preset(&cfg, preset));
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    if (m) lt_model_init_random(m, seed);
    return m;
}

static lt_augment_map make_map(int32_t base, const int32_t *ids, const int32_t pieces[][4],
                               const int *n_pieces, int n) {
    lt_augment_map map = {.base_vocab = base, .n = n};
    map.tokens = calloc((size_t)n, sizeof *map.tokens);
    for (int i = 0; i < n; i++) {
        map.tokens[i].id = ids[i];
        for (int k = 0; k < n_pieces[i]; k++)
            LT_CHECK_OK(lt_ids_push(&map.tokens[i].pieces, pieces[i][k]));
    }
    return map;
}

// rows (V, C): checks row `id` of `got` against the mean of `pieces` rows of `old`.
static void check_mean_row(const float *got, const float *old, int64_t c, int32_t id,
                           const int32_t *pieces, int n) {
    for (int64_t j = 0; j < c; j++) {
        double s = 0;
        for (int k = 0; k < n; k++) s += old[(int64_t)pieces[k] * c + j];
        LT_CHECK_CLOSE(got[(int64_t)id * c + j], s / n, 1e-7, 1e-6);
    }
}

static void check_resize(const char *preset) {
    lt_model *m = make_model(preset, 3), *n = NULL;
    if (!m) return;
    int64_t v0 = m->cfg.vocab, c = m->cfg.hidden;
    const int32_t ids[] = {(int32_t)v0, (int32_t)v0 + 1, (int32_t)v0 + 3};
    const int32_t pieces[][4] = {{3, 7}, {10, 11, 12}, {0, 0, 5, (int32_t)v0 - 1}};
    const int n_pieces[] = {2, 3, 4};
    lt_augment_map map = make_map((int32_t)v0, ids, pieces, n_pieces, 3);
    LT_CHECK_OK(lt_model_resize_vocab(&n, m, &map));
    if (n) {
        LT_CHECK_INT(n->cfg.vocab, v0 + 4);
        LT_CHECK_INT(n->cfg.tie_embeddings, m->cfg.tie_embeddings);
        // Old rows, and every tensor other than embedding / head, unchanged.
        LT_CHECK(memcmp(n->embed, m->embed, (size_t)(v0 * c) * sizeof(float)) == 0);
        for (int i = 0; i < m->n_tensors; i++) {
            const lt_param *a = &m->tensors[i], *b = lt_model_find(n, a->name);
            LT_CHECK(b != NULL);
            if (!b || strstr(a->name, "embed_tokens") || strstr(a->name, "lm_head")) continue;
            LT_CHECK(a->numel == b->numel && memcmp(m->params + a->offset, n->params + b->offset,
                                                    (size_t)a->numel * 4) == 0);
        }
        for (int i = 0; i < 3; i++)
            check_mean_row(n->embed, m->embed, c, ids[i], pieces[i], n_pieces[i]);
        if (!m->cfg.tie_embeddings) {
            const float *old_head = m->lm_head.w, *new_head = n->lm_head.w;
            LT_CHECK(memcmp(new_head, old_head, (size_t)(v0 * c) * sizeof(float)) == 0);
            for (int i = 0; i < 3; i++)
                check_mean_row(new_head, old_head, c, ids[i], pieces[i], n_pieces[i]);
            LT_CHECK(n->lm_head.w != n->embed);
        } else {
            LT_CHECK(n->lm_head.w == n->embed);
        }
        // The unlisted new row v0+2: the mean of all old rows.
        double s = 0;
        for (int64_t r = 0; r < v0; r++) s += m->embed[r * c];
        LT_CHECK_CLOSE(n->embed[(v0 + 2) * c], s / (double)v0, 1e-7, 1e-5);
        // Saved and loaded, it is the same model.
        const char *dir = lt_test_tmpdir();
        lt_model *back = NULL;
        LT_CHECK_OK(lt_model_save(n, dir, LT_F32));
        LT_CHECK_OK(lt_model_load(&back, dir));
        if (back) {
            LT_CHECK_INT(back->cfg.vocab, v0 + 4);
            LT_CHECK(memcmp(back->params, n->params, (size_t)n->n_params * 4) == 0);
        }
        lt_model_free(back);
    }
    for (int i = 0; i < map.n; i++) lt_ids_free(&map.tokens[i].pieces);
    free(map.tokens);
    lt_model_free(n);
    lt_model_free(m);
}

static void test_tied(void) { check_resize("tiny"); }
static void test_untied(void) { check_resize("tiny-hetero"); }

static void test_bad_maps(void) {
    lt_model *m = make_model("tiny", 1), *n = NULL;
    if (!m) return;
    int64_t v0 = m->cfg.vocab;
    const int32_t ids[] = {(int32_t)v0};
    const int32_t far[][4] = {{1, (int32_t)v0}};
    const int one[] = {2};
    lt_augment_map map = make_map((int32_t)v0, ids, far, one, 1);
    LT_CHECK_ERR(lt_model_resize_vocab(&n, m, &map), LT_ERR_ARG, "is not a row of the model");
    map.tokens[0].pieces.data[1] = 2;
    map.base_vocab = (int32_t)v0 + 10;
    LT_CHECK_ERR(lt_model_resize_vocab(&n, m, &map), LT_ERR_ARG, "the model only");
    map.base_vocab = (int32_t)v0;
    map.tokens[0].pieces.n = 0;
    LT_CHECK_ERR(lt_model_resize_vocab(&n, m, &map), LT_ERR_ARG, "no pieces");
    LT_CHECK(n == NULL);
    map.tokens[0].pieces.n = 2;
    lt_ids_free(&map.tokens[0].pieces);
    free(map.tokens);
    lt_model_free(m);
}

int main(void) {
    LT_RUN(test_tied);
    LT_RUN(test_untied);
    LT_RUN(test_bad_maps);
    return lt_test_finish();
}
