// test_infer.c: the inference engine against the training forward pass (an
// independent code path: full-sequence attention, separate projections, no
// cache) for every block variant — prefill, chunked prefill, token-by-token
// decode, batched decode — and the storage dtypes against the f32 model
// whose weights were rounded the same way.
#include <math.h>
#include <string.h>

#include "lathe/infer.h"
#include "lathe/model.h"
#include "lathe/quant.h"
#include "lt_test.h"

// A preset with weights large enough (std 0.2) that attention is far from
// uniform and logits spread over several units.
static lt_model *make_model(const char *preset, uint64_t seed) {
    lt_config cfg;
    if (lt_config_preset(&cfg, preset)) return NULL;
    cfg.initializer_range = 0.2;
    lt_model *m = NULL;
    lt_status s = lt_model_init(&m, &cfg);
    lt_config_free(&cfg);
    if (s) return NULL;
    lt_model_init_random(m, seed);
    return m;
}

static void make_ids(int32_t *ids, int64_t n, int64_t V, uint64_t seed) {
    lt_rng r;
    lt_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)lt_rng_below(&r, (uint32_t)V);
}

// The training forward's logits (T, V) for one sequence.
static float *reference_logits(const lt_model *m, const int32_t *ids, int64_t T) {
    lt_acts *a = NULL;
    if (lt_acts_init(&a, m, 1, T)) return NULL;
    lt_batch b = {.B = 1, .T = T, .ids = ids};
    float *out = NULL;
    if (!lt_model_forward(m, a, &b) &&
        !lt_alloc((void **)&out, (size_t)(T * m->cfg.vocab) * sizeof(float), "logits"))
        memcpy(out, a->logits, (size_t)(T * m->cfg.vocab) * sizeof(float));
    lt_acts_free(a);
    return out;
}

static float max_abs(const float *x, int64_t n) {
    float mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    return mx;
}

static float max_diff(const float *a, const float *b, int64_t n) {
    float mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fabsf(a[i] - b[i]) > mx ? fabsf(a[i] - b[i]) : mx;
    return mx;
}

enum { T_LONG = 150 }; // past two attention row blocks of 64, so the GEMM path runs too

// Prefill at once, prefill in chunks of 7, and decode one token at a time all
// give the training forward's logits, for `preset` (f32 weights, f32 cache).
static void check_against_training(const char *preset) {
    lt_model *m = make_model(preset, 5);
    LT_CHECK(m != NULL);
    if (!m) return;
    int64_t V = m->cfg.vocab, T = T_LONG;
    int32_t ids[T_LONG];
    make_ids(ids, T, V, 17);
    float *ref = reference_logits(m, ids, T);
    float *got = NULL;
    LT_CHECK(ref != NULL);
    LT_CHECK_OK(lt_alloc((void **)&got, (size_t)(T * V) * sizeof(float), "logits"));
    float tol = 2e-5f * max_abs(ref, T * V);

    lt_engine *e = NULL;
    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){0}));
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids, T, got, true));
    LT_CHECK_MSG(max_diff(got, ref, T * V) <= tol, "%s prefill: max diff %g > %g", preset,
                 max_diff(got, ref, T * V), tol);
    LT_CHECK_INT(lt_engine_seq_len(e, 0), T);
    lt_engine_close(e);

    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){.max_step_tokens = 7}));
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids, T, got, true));
    LT_CHECK_MSG(max_diff(got, ref, T * V) <= tol, "%s chunked prefill: max diff %g > %g", preset,
                 max_diff(got, ref, T * V), tol);
    lt_engine_close(e);

    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){0}));
    float worst = 0;
    for (int64_t t = 0; t < T; t++) {
        int seq = 0;
        LT_CHECK_OK(lt_engine_decode(e, &seq, &ids[t], 1, got + t * V));
    }
    worst = max_diff(got, ref, T * V);
    LT_CHECK_MSG(worst <= tol, "%s decode: max diff %g > %g", preset, worst, tol);
    lt_engine_close(e);
    lt_free(got);
    lt_free(ref);
    lt_model_free(m);
}

static void test_tiny_matches_training(void) { check_against_training("tiny"); }
// Every DeciLM block variant: GQA with 2, 1 and 4 kv heads, linear and no-op
// attention, SwiGLU, linear and no-op FFN.
static void test_tiny_hetero_matches_training(void) { check_against_training("tiny-hetero"); }

// Three slots decoded in one batch give what each gives decoded alone.
static void test_batched_decode_is_per_sequence(void) {
    lt_model *m = make_model("tiny-hetero", 9);
    LT_CHECK(m != NULL);
    if (!m) return;
    int64_t V = m->cfg.vocab;
    enum { S = 3, STEPS = 12 };
    int64_t plen[S] = {5, 23, 70};
    int32_t prompts[S][70], next[S][STEPS];
    for (int s = 0; s < S; s++) {
        make_ids(prompts[s], plen[s], V, 100 + (uint64_t)s);
        make_ids(next[s], STEPS, V, 200 + (uint64_t)s);
    }
    float *solo = NULL, *batch = NULL;
    LT_CHECK_OK(lt_alloc((void **)&solo, (size_t)(S * STEPS * V) * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&batch, (size_t)(S * STEPS * V) * sizeof(float), "logits"));
    lt_engine *e = NULL;
    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){.max_seqs = S}));
    for (int s = 0; s < S; s++) {
        LT_CHECK_OK(lt_engine_prefill(e, s, prompts[s], plen[s], NULL, false));
        for (int k = 0; k < STEPS; k++)
            LT_CHECK_OK(lt_engine_decode(e, &s, &next[s][k], 1, solo + (s * STEPS + k) * V));
    }
    for (int s = 0; s < S; s++) LT_CHECK_OK(lt_engine_seq_truncate(e, s, 0));
    for (int s = 0; s < S; s++)
        LT_CHECK_OK(lt_engine_prefill(e, s, prompts[s], plen[s], NULL, false));
    float step_logits[S * 512];
    for (int k = 0; k < STEPS; k++) {
        int seqs[S] = {2, 0, 1}; // not in slot order
        int32_t tok[S];
        for (int i = 0; i < S; i++) tok[i] = next[seqs[i]][k];
        LT_CHECK_OK(lt_engine_decode(e, seqs, tok, S, step_logits));
        for (int i = 0; i < S; i++)
            memcpy(batch + (seqs[i] * STEPS + k) * V, step_logits + i * V,
                   (size_t)V * sizeof(float));
    }
    float tol = 1e-5f * max_abs(solo, S * STEPS * V);
    LT_CHECK_MSG(max_diff(solo, batch, S * STEPS * V) <= tol, "batched vs solo: %g > %g",
                 max_diff(solo, batch, S * STEPS * V), tol);
    for (int s = 0; s < S; s++) LT_CHECK_INT(lt_engine_seq_len(e, s), plen[s] + STEPS);
    lt_engine_close(e);
    lt_free(solo);
    lt_free(batch);
    lt_model_free(m);
}

// One step mixing a prompt with all its logits, a decode token and a prompt
// wanting its last logits, each into its own buffer (the LM head gathers
// rows from several items): the logits equal those of each item run alone.
static void test_mixed_step_equals_solo(void) {
    lt_model *m = make_model("tiny-hetero", 13);
    LT_CHECK(m != NULL);
    if (!m) return;
    int64_t V = m->cfg.vocab;
    int32_t a[5], b0[9], b1[1], c[7];
    make_ids(a, 5, V, 1);
    make_ids(b0, 9, V, 2);
    make_ids(b1, 1, V, 3);
    make_ids(c, 7, V, 4);
    float *la = NULL, *lb = NULL, *lc = NULL, *ra = NULL, *rb = NULL, *rc = NULL;
    LT_CHECK_OK(lt_alloc((void **)&la, (size_t)(5 * V) * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&ra, (size_t)(5 * V) * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&lb, (size_t)V * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&rb, (size_t)V * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&lc, (size_t)V * sizeof(float), "logits"));
    LT_CHECK_OK(lt_alloc((void **)&rc, (size_t)V * sizeof(float), "logits"));
    lt_engine *e = NULL;
    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){.max_seqs = 3}));
    // alone
    LT_CHECK_OK(lt_engine_prefill(e, 0, a, 5, ra, true));
    LT_CHECK_OK(lt_engine_prefill(e, 1, b0, 9, NULL, false));
    int one = 1;
    LT_CHECK_OK(lt_engine_decode(e, &one, b1, 1, rb));
    LT_CHECK_OK(lt_engine_prefill(e, 2, c, 7, rc, false));
    // together (slot 1 back to its 9-token prompt)
    LT_CHECK_OK(lt_engine_seq_truncate(e, 0, 0));
    LT_CHECK_OK(lt_engine_seq_truncate(e, 1, 9));
    LT_CHECK_OK(lt_engine_seq_truncate(e, 2, 0));
    lt_engine_item items[3] = {{.seq = 2, .ids = c, .n = 7, .logits = lc},
                               {.seq = 0, .ids = a, .n = 5, .logits = la, .all_logits = true},
                               {.seq = 1, .ids = b1, .n = 1, .logits = lb}};
    LT_CHECK_OK(lt_engine_step(e, items, 3));
    float tol = 1e-5f * max_abs(ra, 5 * V);
    LT_CHECK_MSG(max_diff(la, ra, 5 * V) <= tol, "all logits: %g", max_diff(la, ra, 5 * V));
    LT_CHECK_MSG(max_diff(lb, rb, V) <= tol, "decode: %g", max_diff(lb, rb, V));
    LT_CHECK_MSG(max_diff(lc, rc, V) <= tol, "last logits: %g", max_diff(lc, rc, V));
    lt_engine_close(e);
    lt_free(la);
    lt_free(lb);
    lt_free(lc);
    lt_free(ra);
    lt_free(rb);
    lt_free(rc);
    lt_model_free(m);
}

// Rounds every matmul weight and the embedding of m the way storing them in
// dtype does, so the f32 training forward computes what the engine should.
static void round_weights(lt_model *m, lt_dtype dtype) {
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        if (p->ndim != 2) continue; // norms stay f32
        float *w = m->params + p->offset;
        size_t bytes = lt_qweight_bytes(dtype, p->shape[0], p->shape[1]);
        void *buf = NULL;
        if (lt_alloc(&buf, bytes, "rounded weights")) return;
        if (!lt_qweight_convert(buf, dtype, w, p->shape[0], p->shape[1])) {
            lt_qweight q = {dtype, buf, p->shape[0], p->shape[1]};
            lt_qweight_rows_f32(w, &q, 0, p->shape[0]);
        }
        lt_free(buf);
    }
}

// bf16 / f16 / q8_0 weights: the engine equals the f32 forward of the rounded
// weights. bf16 and f16 weights widen exactly, so the only difference is the
// order of sums; q8_0 prefill (more rows than LT_QMATMUL_SMALL_N) multiplies the dequantized weights
// with f32 activations alike, while q8_0 decode (one row) also rounds each
// activation block to 8 bits as llama.cpp does: its error bound per element
// is half a step, amax/254 of the block, which moves logits by about 1%.
static void check_storage(lt_dtype dtype) {
    lt_model *m = make_model("tiny", 21);
    LT_CHECK(m != NULL);
    if (!m) return;
    round_weights(m, dtype);
    // more rows than LT_QMATMUL_SMALL_N: the prefill takes the widening path
    int64_t V = m->cfg.vocab, T = LT_QMATMUL_SMALL_N + 40;
    int32_t ids[LT_QMATMUL_SMALL_N + 40];
    make_ids(ids, T, V, 33);
    float *ref = reference_logits(m, ids, T), *got = NULL;
    LT_CHECK(ref != NULL);
    LT_CHECK_OK(lt_alloc((void **)&got, (size_t)(T * V) * sizeof(float), "logits"));
    lt_engine *e = NULL;
    LT_CHECK_OK(
        lt_engine_from_model(&e, m, &(lt_engine_opts){.weights = dtype, .weights_set = true}));
    LT_CHECK_INT(lt_engine_weight_dtype(e), dtype);
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids, T, got, true));
    float scale = max_abs(ref, T * V), d = max_diff(got, ref, T * V);
    LT_CHECK_MSG(d <= 2e-5f * scale, "%s prefill: max diff %g (scale %g)", lt_dtype_name(dtype), d,
                 scale);
    LT_CHECK_OK(lt_engine_seq_truncate(e, 0, 0));
    for (int64_t t = 0; t < T; t++) {
        int seq = 0;
        LT_CHECK_OK(lt_engine_decode(e, &seq, &ids[t], 1, got + t * V));
    }
    d = max_diff(got, ref, T * V);
    float tol = dtype == LT_Q8_0 ? 0.03f * scale : 2e-5f * scale;
    LT_CHECK_MSG(d <= tol, "%s decode: max diff %g > %g", lt_dtype_name(dtype), d, tol);
    lt_engine_close(e);
    lt_free(got);
    lt_free(ref);
    lt_model_free(m);
}

static void test_bf16_weights(void) { check_storage(LT_BF16); }
static void test_f16_weights(void) { check_storage(LT_F16); }
static void test_q8_0_weights(void) { check_storage(LT_Q8_0); }

// Truncating a slot and feeding the same tokens again gives the same logits.
static void test_truncate_reuses_prefix(void) {
    lt_model *m = make_model("tiny", 3);
    LT_CHECK(m != NULL);
    if (!m) return;
    int64_t V = m->cfg.vocab;
    int32_t ids[30];
    make_ids(ids, 30, V, 8);
    float a[512], b[512];
    lt_engine *e = NULL;
    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){0}));
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids, 30, a, false));
    LT_CHECK_OK(lt_engine_seq_truncate(e, 0, 12));
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids + 12, 18, b, false));
    LT_CHECK(max_diff(a, b, V) <= 1e-5f * max_abs(a, V));
    LT_CHECK_ERR(lt_engine_seq_truncate(e, 0, 31), LT_ERR_RANGE, "cannot truncate");
    lt_engine_close(e);
    lt_model_free(m);
}

// Bad calls fail with a message naming the problem and change nothing.
static void test_errors(void) {
    lt_model *m = make_model("tiny", 3);
    LT_CHECK(m != NULL);
    if (!m) return;
    int32_t ids[40] = {0};
    float logits[512];
    lt_engine *e = NULL;
    LT_CHECK_ERR(lt_engine_from_model(&e, m, &(lt_engine_opts){.max_context = 4096}), LT_ERR_ARG,
                 "max_position_embeddings");
    LT_CHECK_ERR(
        lt_engine_from_model(&e, m, &(lt_engine_opts){.weights = LT_I32, .weights_set = true}),
        LT_ERR_ARG, "cannot be stored");
    LT_CHECK_OK(lt_engine_from_model(&e, m, &(lt_engine_opts){.max_context = 32, .max_seqs = 2}));
    LT_CHECK_OK(lt_engine_prefill(e, 0, ids, 10, logits, false));
    LT_CHECK_ERR(lt_engine_prefill(e, 0, ids, 30, logits, false), LT_ERR_RANGE, "does not fit");
    LT_CHECK_INT(lt_engine_seq_len(e, 0), 10);
    LT_CHECK_ERR(lt_engine_prefill(e, 2, ids, 3, logits, false), LT_ERR_RANGE, "slot 2");
    ids[3] = 512;
    LT_CHECK_ERR(lt_engine_prefill(e, 1, ids, 5, logits, false), LT_ERR_RANGE, "token id 512");
    LT_CHECK_INT(lt_engine_seq_len(e, 1), 0);
    ids[3] = 0;
    int seqs[2] = {1, 1};
    LT_CHECK_ERR(lt_engine_decode(e, seqs, ids, 2, logits), LT_ERR_ARG, "twice");
    int32_t many[22] = {0};
    LT_CHECK_OK(lt_engine_prefill(e, 0, many, 22, logits, false)); // 32 positions: full
    int seq0 = 0;
    LT_CHECK_ERR(lt_engine_decode(e, &seq0, ids, 1, logits), LT_ERR_RANGE, "context full");
    lt_engine_close(e);
    lt_model_free(m);
}

int main(void) {
    LT_RUN(test_tiny_matches_training);
    LT_RUN(test_tiny_hetero_matches_training);
    LT_RUN(test_batched_decode_is_per_sequence);
    LT_RUN(test_mixed_step_equals_solo);
    LT_RUN(test_bf16_weights);
    LT_RUN(test_f16_weights);
    LT_RUN(test_q8_0_weights);
    LT_RUN(test_truncate_reuses_prefix);
    LT_RUN(test_errors);
    return lt_test_finish();
}
