// test_optim.c: AdamW (hand-computed steps, torch.optim.AdamW fixture, a
// float64 reference on an arena larger than one chunk, decay mask, state round
// trip and corrupt states), learning-rate schedules (hand-computed values,
// parsing and rejection of bad specs), gradient norm / clipping / finite
// checks, and the dynamic loss scaler's transitions and state.
#include <math.h>
#include <omp.h>

#include "base/json.h"
#include "lathe/optim.h"
#include "lt_test.h"

static lt_param tensor(const char *name, int ndim, int64_t rows, int64_t cols, size_t offset) {
    lt_param p = {.ndim = ndim,
                  .shape = {rows, ndim == 2 ? cols : 0},
                  .numel = ndim == 2 ? rows * cols : rows,
                  .offset = offset};
    snprintf(p.name, sizeof p.name, "%s", name);
    return p;
}

// ---------------------------------------------------------------- AdamW by hand

// A constant gradient g makes the bias-corrected moments exact: after t steps
// m = (1 - b1^t) g and v = (1 - b2^t) g^2, so m_hat = g, v_hat = g^2 and every
// step is p <- p (1 - lr wd) - lr * g / (|g| + eps). With lr 0.1, wd 0.1,
// eps 1e-8, p0 = 1:
//   2-D tensor "w", g = 0.5 (decayed, factor 0.99):
//     step 1: 1 * 0.99 - 0.1 * 0.5 / 0.50000001 = 0.99 - 0.099999998 = 0.890000002
//     step 2: 0.890000002 * 0.99 - 0.099999998 = 0.781100004
//     step 3: 0.781100004 * 0.99 - 0.099999998 = 0.673289006
//   1-D tensor "n", g = -0.25 (not decayed):
//     step k: 1 + k * 0.1 * 0.25 / 0.25000001 = 1.1, 1.2, 1.3 (each minus k * 4e-9)
//   moments after step 1: m = 0.1 g (0.05, -0.025), v = 0.001 g^2 (2.5e-4, 6.25e-5).
// Floats 7 and 8 belong to no tensor and must not move. Tolerance: in f32 each
// step rounds the decay product and the sum, half an ulp (<= 6e-8) each, over
// three steps; the moments carry the f32 rounding of 1 - beta (rtol 1e-6).
static void test_adamw_hand(void) {
    lt_param t[2] = {tensor("n", 1, 3, 0, 4), tensor("w", 2, 2, 2, 0)}; // unsorted on purpose
    lt_adamw_config cfg = lt_adamw_config_default();
    cfg.weight_decay = 0.1;
    lt_adamw *opt;
    LT_CHECK_OK(lt_adamw_init(&opt, &cfg, 9, t, 2));
    if (!opt) return;
    float p[9], g[9];
    for (int i = 0; i < 9; i++) p[i] = 1.0f, g[i] = i < 4 ? 0.5f : -0.25f;
    const double want_w[3] = {0.890000002, 0.781100004, 0.673289006};
    for (int step = 1; step <= 3; step++) {
        lt_adamw_step(opt, p, g, 0.1);
        for (int i = 0; i < 4; i++) LT_CHECK_CLOSE(p[i], want_w[step - 1], 3e-7, 0);
        for (int i = 4; i < 7; i++) LT_CHECK_CLOSE(p[i], 1.0 + 0.1 * step, 3e-7, 0);
        if (step == 1) {
            LT_CHECK_CLOSE(lt_adamw_m(opt)[0], 0.05, 0, 1e-6);
            LT_CHECK_CLOSE(lt_adamw_m(opt)[5], -0.025, 0, 1e-6);
            LT_CHECK_CLOSE(lt_adamw_v(opt)[0], 2.5e-4, 0, 1e-6);
            LT_CHECK_CLOSE(lt_adamw_v(opt)[5], 6.25e-5, 0, 1e-6);
        }
    }
    LT_CHECK(p[7] == 1.0f && p[8] == 1.0f);
    LT_CHECK(lt_adamw_m(opt)[7] == 0.0f && lt_adamw_v(opt)[8] == 0.0f);
    LT_CHECK_INT(lt_adamw_step_count(opt), 3);
    lt_adamw_free(opt);
}

// ---------------------------------------------------------------- AdamW vs torch

static bool read_floats(const cJSON *obj, const char *key, float *out, int64_t n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return false;
    int64_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) out[i++] = (float)x->valuedouble;
    return true;
}

static double num(const cJSON *obj, const char *key) {
    return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

// Both sides compute the same f32 formula; they may round differently (fused
// multiply-adds, the order of m * step / denom), by a few ulps of the
// parameter (rtol 5e-7 ~ 4 ulps) or of an update of size <= lr (atol 2e-8).
// A moment is a sum of terms that can cancel, so its rounding error is
// relative to its largest term: one ulp (1.2e-7 relative) of max |g| over the
// steps for m, of max g^2 for v.
static void check_case(const cJSON *c, const lt_param *tensors, int n_tensors, int64_t n) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
    lt_adamw_config cfg = {.beta1 = num(c, "beta1"),
                           .beta2 = num(c, "beta2"),
                           .eps = num(c, "eps"),
                           .weight_decay = num(c, "weight_decay")};
    lt_adamw *opt;
    LT_CHECK_OK(lt_adamw_init(&opt, &cfg, n, tensors, n_tensors));
    float p[64], g[64], want[64], g_max[64] = {0};
    LT_CHECK(read_floats(c, "initial", p, n));
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(c, "steps"), *s;
    int k = 0, bad = 0;
    cJSON_ArrayForEach(s, steps) {
        k++;
        LT_CHECK(read_floats(s, "grad", g, n) && read_floats(s, "params", want, n));
        lt_adamw_step(opt, p, g, num(s, "lr"));
        for (int64_t i = 0; i < n; i++) g_max[i] = fmaxf(g_max[i], fabsf(g[i]));
        for (int64_t i = 0; i < n && bad < 5; i++)
            if (!(fabs(p[i] - want[i]) <= 2e-8 + 5e-7 * fabs(want[i]))) {
                LT_CHECK_MSG(0, "%s step %d param %lld: %.9g, torch %.9g", name, k, (long long)i,
                             p[i], want[i]);
                bad++;
            }
    }
    LT_CHECK_INT(lt_adamw_step_count(opt), (int64_t)num(c, "step_count"));
    LT_CHECK(read_floats(c, "final_m", want, n));
    for (int64_t i = 0; i < n; i++)
        LT_CHECK_CLOSE(lt_adamw_m(opt)[i], want[i], 1.2e-7 * g_max[i], 0);
    LT_CHECK(read_floats(c, "final_v", want, n));
    for (int64_t i = 0; i < n; i++)
        LT_CHECK_CLOSE(lt_adamw_v(opt)[i], want[i], 1.2e-7 * g_max[i] * g_max[i], 0);
    lt_adamw_free(opt);
}

// tests/fixtures/optim/adamw.json comes from tests/reference/adamw_reference.py
// (torch.optim.AdamW, PyTorch 1.13): a decayed 2-D tensor, an undecayed 1-D
// one and another 2-D one, a learning rate changing between steps, a zero
// gradient entry, and a case with eps comparable to sqrt(v_hat).
static void test_adamw_torch(void) {
    cJSON *doc = NULL;
    LT_CHECK_OK(lt_json_read_file(&doc, lt_test_path("tests/fixtures/optim/adamw.json"), 1 << 20));
    if (!doc) return;
    int64_t n = (int64_t)num(doc, "n_params");
    LT_CHECK(n <= 64);
    lt_param tensors[8];
    int n_tensors = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "tensors")) {
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        int ndim = cJSON_GetArraySize(shape);
        int64_t rows = (int64_t)cJSON_GetArrayItem(shape, 0)->valuedouble;
        int64_t cols = ndim == 2 ? (int64_t)cJSON_GetArrayItem(shape, 1)->valuedouble : 0;
        tensors[n_tensors] = tensor(cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")), ndim,
                                    rows, cols, (size_t)num(t, "offset"));
        LT_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(t, "decay")) == (ndim >= 2));
        n_tensors++;
    }
    LT_CHECK_INT(n_tensors, 3);
    int n_cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases")) {
        check_case(c, tensors, n_tensors, n);
        n_cases++;
    }
    LT_CHECK_INT(n_cases, 3);
    cJSON_Delete(doc);
}

// ---------------------------------------------------------------- AdamW, large arena

// The documented formula in float64, one element at a time: the reference for
// an arena with tensors longer than the optimizer's chunks and a gap.
// decay[i]: 1 decayed, 0 not decayed, -1 in no tensor (skipped).
static void adamw_ref(double *p, double *m, double *v, const float *g, const int8_t *decay,
                      int64_t n, const lt_adamw_config *c, double lr, int t) {
    for (int64_t i = 0; i < n; i++) {
        if (decay[i] < 0) continue;
        double wd = decay[i] ? c->weight_decay : 0.0;
        p[i] *= 1.0 - lr * wd;
        m[i] = c->beta1 * m[i] + (1 - c->beta1) * g[i];
        v[i] = c->beta2 * v[i] + (1 - c->beta2) * (double)g[i] * g[i];
        double m_hat = m[i] / (1 - pow(c->beta1, t)), v_hat = v[i] / (1 - pow(c->beta2, t));
        p[i] -= lr * m_hat / (sqrt(v_hat) + c->eps);
    }
}

static void test_adamw_large_arena(void) {
    // w (100, 400) at 0, n (333) at 40000, gap [40333, 40400), e (1000, 70) at 40400
    enum { N = 40400 + 70000 };
    lt_param t[3] = {tensor("w", 2, 100, 400, 0), tensor("n", 1, 333, 0, 40000),
                     tensor("e", 2, 1000, 70, 40400)};
    lt_adamw_config cfg = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
    float *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g);
    double *rp = malloc(N * sizeof *rp), *rm = calloc(N, sizeof *rm), *rv = calloc(N, sizeof *rv);
    int8_t *decay = malloc(N * sizeof *decay);
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    for (int64_t i = 0; i < N; i++) {
        p[i] = lt_rng_normal(&rng);
        rp[i] = p[i];
        decay[i] = i < 40000 ? 1 : i < 40333 ? 0 : i < 40400 ? -1 : 1;
    }
    lt_adamw *opt;
    LT_CHECK_OK(lt_adamw_init(&opt, &cfg, N, t, 3));
    lt_threads_set(2); // both threads must produce the element-wise result
    for (int step = 1; step <= 3; step++) {
        for (int64_t i = 0; i < N; i++) g[i] = 0.1f * lt_rng_normal(&rng);
        lt_adamw_step(opt, p, g, 1e-2);
        adamw_ref(rp, rm, rv, g, decay, N, &cfg, 1e-2, step);
    }
    lt_threads_set(1);
    // f32 against float64: a few ulps of the parameter or of an update of size lr
    int64_t bad = 0, moved_gap = 0;
    for (int64_t i = 0; i < N; i++) {
        if (decay[i] < 0)
            moved_gap += p[i] != (float)rp[i] || lt_adamw_m(opt)[i] != 0.0f;
        else
            bad += !(fabs(p[i] - rp[i]) <= 2e-8 + 5e-7 * fabs(rp[i]));
    }
    LT_CHECK_INT(bad, 0);
    LT_CHECK_INT(moved_gap, 0);
    lt_adamw_free(opt);
    free(p), free(g), free(rp), free(rm), free(rv), free(decay);
}

static void test_adamw_model_mask(void) {
    // The tiny preset's table: norms (1-D) must not decay, matrices must.
    lt_param t[4] = {tensor("model.embed_tokens.weight", 2, 8, 4, 0),
                     tensor("model.layers.0.input_layernorm.weight", 1, 4, 0, 32),
                     tensor("model.layers.0.self_attn.q_proj.weight", 2, 4, 4, 36),
                     tensor("model.norm.weight", 1, 4, 0, 52)};
    lt_adamw_config cfg = lt_adamw_config_default();
    cfg.weight_decay = 0.5;
    lt_adamw *opt;
    LT_CHECK_OK(lt_adamw_init(&opt, &cfg, 56, t, 4));
    float p[56], g[56] = {0};
    for (int i = 0; i < 56; i++) p[i] = 2.0f;
    // g = 0: m = v = 0, the Adam part is 0 / (0 + eps) = 0, only decay moves p
    lt_adamw_step(opt, p, g, 0.1);
    for (int i = 0; i < 56; i++) {
        bool is_norm = (i >= 32 && i < 36) || i >= 52;
        LT_CHECK_MSG(p[i] == (is_norm ? 2.0f : 2.0f * 0.95f), "p[%d] = %g", i, p[i]);
    }
    lt_adamw_free(opt);
    // No table: everything decays.
    LT_CHECK_OK(lt_adamw_init(&opt, &cfg, 56, NULL, 0));
    for (int i = 0; i < 56; i++) p[i] = 2.0f;
    lt_adamw_step(opt, p, g, 0.1);
    for (int i = 0; i < 56; i++) LT_CHECK(p[i] == 2.0f * 0.95f);
    lt_adamw_free(opt);
}

static void test_adamw_init_errors(void) {
    lt_adamw_config cfg = lt_adamw_config_default();
    lt_adamw *opt = (lt_adamw *)1;
    lt_param out_of_arena[1] = {tensor("w", 2, 4, 4, 8)};
    LT_CHECK_ERR(lt_adamw_init(&opt, &cfg, 20, out_of_arena, 1), LT_ERR_ARG,
                 "tensor 'w' (offset 8, 16 values) lies outside the arena of 20 values");
    LT_CHECK(opt == NULL);
    lt_param overlap[2] = {tensor("b", 1, 4, 0, 10), tensor("a", 2, 3, 4, 0)};
    LT_CHECK_ERR(lt_adamw_init(&opt, &cfg, 20, overlap, 2), LT_ERR_ARG,
                 "tensors 'a' and 'b' overlap");
    lt_adamw_config bad = cfg;
    bad.beta1 = 1.0;
    LT_CHECK_ERR(lt_adamw_init(&opt, &bad, 20, NULL, 0), LT_ERR_ARG,
                 "--beta1: 1 is outside [0, 1)");
    bad = cfg;
    bad.beta2 = -0.1;
    LT_CHECK_ERR(lt_adamw_init(&opt, &bad, 20, NULL, 0), LT_ERR_ARG, "--beta2");
    bad = cfg;
    bad.weight_decay = -1;
    LT_CHECK_ERR(lt_adamw_init(&opt, &bad, 20, NULL, 0), LT_ERR_ARG, "--weight-decay: -1 must be");
    bad = cfg;
    bad.eps = NAN;
    LT_CHECK_ERR(lt_adamw_init(&opt, &bad, 20, NULL, 0), LT_ERR_ARG, "--eps");
}

static void test_adamw_config_set(void) {
    lt_adamw_config c = lt_adamw_config_default();
    LT_CHECK(c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 && c.weight_decay == 0.01);
    LT_CHECK_OK(lt_adamw_config_set(&c, "--beta2", "0.95"));
    LT_CHECK_OK(lt_adamw_config_set(&c, "weight-decay", "0.1"));
    LT_CHECK_OK(lt_adamw_config_set(&c, "--eps", "1e-6"));
    LT_CHECK_OK(lt_adamw_config_set(&c, "--beta1", "0"));
    LT_CHECK(c.beta1 == 0.0 && c.beta2 == 0.95 && c.eps == 1e-6 && c.weight_decay == 0.1);
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--beta1", "0.9x"), LT_ERR_ARG,
                 "--beta1: '0.9x' is not a number");
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--beta2", "1"), LT_ERR_ARG,
                 "--beta2: 1 is outside [0, 1)");
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--eps", ""), LT_ERR_ARG, "--eps needs a value");
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--eps", NULL), LT_ERR_ARG, "--eps needs a value");
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--weight-decay", "inf"), LT_ERR_ARG, "not a number");
    LT_CHECK_ERR(lt_adamw_config_set(&c, "--momentum", "0.9"), LT_ERR_ARG,
                 "unknown optimizer flag '--momentum'");
    LT_CHECK(c.beta1 == 0.0 && c.beta2 == 0.95); // failed sets change nothing
}

// ---------------------------------------------------------------- AdamW state

static void fill(float *x, int64_t n, lt_rng *rng, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = scale * lt_rng_normal(rng);
}

// Runs 3 steps, saves, and continues 2 steps both in the original and in a
// restored optimizer: params and moments must agree bit for bit.
static void test_adamw_state_roundtrip(void) {
    enum { N = 20000 };
    lt_param t[2] = {tensor("w", 2, 100, 150, 0), tensor("n", 1, 5000, 0, 15000)};
    lt_adamw_config cfg = lt_adamw_config_default();
    lt_adamw *a, *b;
    LT_CHECK_OK(lt_adamw_init(&a, &cfg, N, t, 2));
    LT_CHECK_OK(lt_adamw_init(&b, &cfg, N, t, 2));
    float *pa = malloc(N * 4), *pb = malloc(N * 4), *g = malloc(N * 4);
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    fill(pa, N, &rng, 1.0f);
    for (int s = 0; s < 3; s++) {
        fill(g, N, &rng, 0.01f);
        lt_adamw_step(a, pa, g, 1e-3);
    }
    size_t size = lt_adamw_state_size(a);
    LT_CHECK_INT(size, 32 + 8 * N);
    LT_CHECK_INT(lt_adamw_state_bytes_for(N), 8 * N);
    uint8_t *buf = malloc(size + 1);
    LT_CHECK_ERR(lt_adamw_state_encode(a, buf, size - 1), LT_ERR_ARG, "needs");
    LT_CHECK_OK(lt_adamw_state_encode(a, buf + 1, size)); // deliberately misaligned
    LT_CHECK(memcmp(buf + 1, "LTADAMW", 8) == 0);
    LT_CHECK_OK(lt_adamw_state_read(b, buf + 1, size, "state"));
    LT_CHECK_INT(lt_adamw_step_count(b), 3);
    memcpy(pb, pa, N * 4);
    for (int s = 0; s < 2; s++) {
        fill(g, N, &rng, 0.01f);
        lt_adamw_step(a, pa, g, 1e-3);
        lt_adamw_step(b, pb, g, 1e-3);
    }
    LT_CHECK(memcmp(pa, pb, N * 4) == 0);
    LT_CHECK(memcmp(lt_adamw_m(a), lt_adamw_m(b), N * 4) == 0);
    LT_CHECK(memcmp(lt_adamw_v(a), lt_adamw_v(b), N * 4) == 0);
    LT_CHECK_INT(lt_adamw_step_count(b), 5);

    // Through a crash-safe file, read back whole.
    const char *dir = lt_test_tmpdir();
    char *path = lt_path_join(dir, "adamw.state");
    lt_file f;
    LT_CHECK_OK(lt_file_create(&f, path));
    LT_CHECK_OK(lt_adamw_state_write(a, &f));
    LT_CHECK_OK(lt_file_commit(&f));
    char *data = NULL;
    size_t n = 0;
    LT_CHECK_OK(lt_file_read_all(path, &data, &n, (size_t)1 << 30));
    LT_CHECK_INT(n, lt_adamw_state_size(a));
    LT_CHECK_OK(lt_adamw_state_encode(a, buf, size));
    LT_CHECK(data && memcmp(data, buf, size) == 0);
    lt_adamw *c;
    LT_CHECK_OK(lt_adamw_init(&c, &cfg, N, t, 2));
    LT_CHECK_OK(lt_adamw_state_read(c, data, n, path));
    LT_CHECK(memcmp(lt_adamw_v(a), lt_adamw_v(c), N * 4) == 0);
    LT_CHECK_INT(lt_adamw_step_count(c), 5);
    remove(path);
    remove(dir);
    lt_free(data);
    lt_free(path);
    lt_adamw_free(a), lt_adamw_free(b), lt_adamw_free(c);
    free(pa), free(pb), free(g), free(buf);
}

// Each corruption of a valid state gets its own error, and leaves the target unchanged.
static void test_adamw_state_corrupt(void) {
    lt_adamw_config cfg = lt_adamw_config_default();
    lt_adamw *a, *b, *other;
    LT_CHECK_OK(lt_adamw_init(&a, &cfg, 10, NULL, 0));
    LT_CHECK_OK(lt_adamw_init(&b, &cfg, 10, NULL, 0));
    LT_CHECK_OK(lt_adamw_init(&other, &cfg, 11, NULL, 0));
    float p[10] = {0}, g[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    lt_adamw_step(a, p, g, 0.1);
    size_t size = lt_adamw_state_size(a);
    uint8_t good[32 + 80], bad[32 + 80];
    LT_CHECK_OK(lt_adamw_state_encode(a, good, size));
    float nan = NAN, neg = -1.0f;
    int64_t neg_step = -1;
    uint32_t version2 = 2;

    memcpy(bad, good, size);
    bad[0] = 'X';
    LT_CHECK_ERR(lt_adamw_state_read(b, bad, size, "s.bin"), LT_ERR_FORMAT,
                 "s.bin: not an AdamW state");
    LT_CHECK_ERR(lt_adamw_state_read(b, good, 16, "s.bin"), LT_ERR_FORMAT, "only 16 bytes");
    LT_CHECK_ERR(lt_adamw_state_read(b, good, size - 4, "s.bin"), LT_ERR_FORMAT,
                 "has 108 bytes, expected 112 (truncated?)");
    LT_CHECK_ERR(lt_adamw_state_read(other, good, size, "s.bin"), LT_ERR_ARG,
                 "state is for 10 parameters, the model has 11");
    memcpy(bad, good, size);
    memcpy(bad + 8, &version2, 4);
    LT_CHECK_ERR(lt_adamw_state_read(b, bad, size, "s.bin"), LT_ERR_FORMAT, "version 2");
    memcpy(bad, good, size);
    memcpy(bad + 24, &neg_step, 8);
    LT_CHECK_ERR(lt_adamw_state_read(b, bad, size, "s.bin"), LT_ERR_FORMAT,
                 "step count -1 is negative");
    memcpy(bad, good, size);
    memcpy(bad + 32 + 4 * 3, &nan, 4);
    LT_CHECK_ERR(lt_adamw_state_read(b, bad, size, "s.bin"), LT_ERR_FORMAT,
                 "first moment [3] is not finite");
    memcpy(bad, good, size);
    memcpy(bad + 32 + 40 + 4 * 9, &neg, 4);
    LT_CHECK_ERR(lt_adamw_state_read(b, bad, size, "s.bin"), LT_ERR_FORMAT,
                 "second moment [9] is negative");
    LT_CHECK_INT(lt_adamw_step_count(b), 0); // untouched by the failed reads
    LT_CHECK(lt_adamw_m(b)[3] == 0.0f && lt_adamw_v(b)[9] == 0.0f);
    lt_adamw_free(a), lt_adamw_free(b), lt_adamw_free(other);
}

// ---------------------------------------------------------------- schedules

static bool same_schedule(const lt_schedule *a, const lt_schedule *b) {
    return a->kind == b->kind && a->lr == b->lr && a->min_lr == b->min_lr &&
           a->warmup == b->warmup && a->decay_frac == b->decay_frac;
}

static lt_schedule sched(lt_schedule_kind kind, double lr, double min_lr, int64_t warmup,
                         double decay_frac) {
    return (lt_schedule){kind, lr, min_lr, warmup, decay_frac};
}

// T = 110 steps, warmup W = 10, lr 1e-3, min_lr 1e-4 (span 9e-4):
//   warmup: lr(t) = 1e-3 * t / 10: t=0 -> 0, t=1 -> 1e-4, t=5 -> 5e-4, t=10 -> 1e-3
//   cosine: p = (t - 10) / 100; lr = 1e-4 + 9e-4 * (1 + cos(pi p)) / 2
//     t=11 (p 0.01): 1e-4 + 4.5e-4 * (1 + cos(0.01 pi)) = 1e-4 + 4.5e-4 * 1.999506560365732
//                    = 9.997779521645794e-4
//     t=60 (p 0.5): 1e-4 + 4.5e-4 = 5.5e-4;  t=85 (p 0.75): 1e-4 + 4.5e-4 (1 - 0.7071067811865476)
//                    = 2.318019484660536e-4;  t=110: 1e-4;  t=200 (beyond): 1e-4
//   linear: lr = 1e-3 - 9e-4 p: t=60 -> 5.5e-4, t=85 -> 3.25e-4, t=110 -> 1e-4
//   constant: 1e-3 from t=10 on, also at t=110
static void test_schedule_values(void) {
    lt_schedule c = sched(LT_SCHEDULE_COSINE, 1e-3, 1e-4, 10, 0.2);
    LT_CHECK_OK(lt_schedule_check(&c, 110));
    LT_CHECK(lt_schedule_lr(&c, 0, 110) == 0.0);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 1, 110), 1e-4, 1e-18, 1e-15);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 5, 110), 5e-4, 1e-18, 1e-15);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 10, 110), 1e-3, 1e-18, 1e-15);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 11, 110), 9.997779521645794e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 60, 110), 5.5e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 85, 110), 2.318019484660536e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 110, 110), 1e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&c, 200, 110), 1e-4, 1e-18, 1e-12);
    lt_schedule l = sched(LT_SCHEDULE_LINEAR, 1e-3, 1e-4, 10, 0.2);
    LT_CHECK_CLOSE(lt_schedule_lr(&l, 5, 110), 5e-4, 1e-18, 1e-15);
    LT_CHECK_CLOSE(lt_schedule_lr(&l, 60, 110), 5.5e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&l, 85, 110), 3.25e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&l, 110, 110), 1e-4, 1e-18, 1e-12);
    lt_schedule k = sched(LT_SCHEDULE_CONSTANT, 1e-3, 1e-4, 10, 0.2);
    LT_CHECK_CLOSE(lt_schedule_lr(&k, 5, 110), 5e-4, 1e-18, 1e-15);
    LT_CHECK(lt_schedule_lr(&k, 10, 110) == 1e-3 && lt_schedule_lr(&k, 110, 110) == 1e-3);
    // No warmup: the first step already decays (cosine p = 1/4 at t=1 of T=4:
    // 0.5 * (1 + cos(pi/4)) = 0.8535533905932737), t=0 is the peak.
    lt_schedule nw = sched(LT_SCHEDULE_COSINE, 1.0, 0.0, 0, 0.2);
    LT_CHECK_OK(lt_schedule_check(&nw, 4));
    LT_CHECK(lt_schedule_lr(&nw, 0, 4) == 1.0);
    LT_CHECK_CLOSE(lt_schedule_lr(&nw, 1, 4), 0.8535533905932737, 0, 1e-14);
    LT_CHECK_CLOSE(lt_schedule_lr(&nw, 4, 4), 0.0, 1e-15, 0);
    // Warmup over the whole run: lr reached at the last step.
    lt_schedule all = sched(LT_SCHEDULE_COSINE, 2.0, 0.0, 8, 0.2);
    LT_CHECK_OK(lt_schedule_check(&all, 8));
    LT_CHECK(lt_schedule_lr(&all, 4, 8) == 1.0 && lt_schedule_lr(&all, 8, 8) == 2.0);
}

// WSD, T = 100, W = 10, decay_frac 0.2 -> D = 20 decay steps, S = 80:
//   t=10: 1e-3 (warmup end), t=11..80: 1e-3 (stable; 80 is the last stable step),
//   t=81: 1e-3 - 9e-4 * 1/20 = 9.55e-4, t=90: 1e-3 - 9e-4 * 10/20 = 5.5e-4, t=100: 1e-4.
// decay_frac 0.25 of T = 10 -> D = round(2.5) = 3 (llround: halves away from 0), S = 7;
// T = 3, 0.1 -> round(0.3) = 0 -> at least one decay step: S = 2, lr(3) = min_lr.
static void test_schedule_wsd(void) {
    lt_schedule w = sched(LT_SCHEDULE_WSD, 1e-3, 1e-4, 10, 0.2);
    LT_CHECK_OK(lt_schedule_check(&w, 100));
    LT_CHECK_CLOSE(lt_schedule_lr(&w, 5, 100), 5e-4, 1e-18, 1e-15);
    LT_CHECK(lt_schedule_lr(&w, 10, 100) == 1e-3);
    LT_CHECK(lt_schedule_lr(&w, 11, 100) == 1e-3);
    LT_CHECK(lt_schedule_lr(&w, 80, 100) == 1e-3);
    LT_CHECK_CLOSE(lt_schedule_lr(&w, 81, 100), 9.55e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&w, 90, 100), 5.5e-4, 1e-18, 1e-12);
    LT_CHECK_CLOSE(lt_schedule_lr(&w, 100, 100), 1e-4, 1e-18, 1e-12);
    lt_schedule q = sched(LT_SCHEDULE_WSD, 1.0, 0.0, 0, 0.25);
    LT_CHECK_OK(lt_schedule_check(&q, 10));
    LT_CHECK(lt_schedule_lr(&q, 7, 10) == 1.0);
    LT_CHECK_CLOSE(lt_schedule_lr(&q, 8, 10), 2.0 / 3.0, 0, 1e-15);
    LT_CHECK_CLOSE(lt_schedule_lr(&q, 10, 10), 0.0, 1e-15, 0);
    lt_schedule tiny = sched(LT_SCHEDULE_WSD, 1.0, 0.5, 0, 0.1);
    LT_CHECK_OK(lt_schedule_check(&tiny, 3));
    LT_CHECK(lt_schedule_lr(&tiny, 2, 3) == 1.0);
    LT_CHECK(lt_schedule_lr(&tiny, 3, 3) == 0.5);
    // Warmup and decay meeting exactly (10 + 20 of 30) is allowed; one more warmup step is not.
    lt_schedule meet = sched(LT_SCHEDULE_WSD, 1.0, 0.0, 10, 2.0 / 3.0);
    LT_CHECK_OK(lt_schedule_check(&meet, 30));
    LT_CHECK(lt_schedule_lr(&meet, 10, 30) == 1.0);
    LT_CHECK_CLOSE(lt_schedule_lr(&meet, 11, 30), 0.95, 0, 1e-15);
    meet.warmup = 11;
    LT_CHECK_ERR(lt_schedule_check(&meet, 30), LT_ERR_ARG,
                 "--warmup 11 plus the wsd decay of 20 steps");
}

static void test_schedule_parse(void) {
    lt_schedule d = lt_schedule_default();
    LT_CHECK(d.kind == LT_SCHEDULE_COSINE && d.lr == 3e-4 && d.min_lr == 0.0 && d.warmup == 0 &&
             d.decay_frac == 0.2);
    lt_schedule s = d;
    LT_CHECK_OK(lt_schedule_parse(&s, "wsd:lr=3e-4,min-lr=3e-5,warmup=100,decay-frac=0.1"));
    LT_CHECK(s.kind == LT_SCHEDULE_WSD && s.lr == 3e-4 && s.min_lr == 3e-5 && s.warmup == 100 &&
             s.decay_frac == 0.1);
    LT_CHECK_OK(lt_schedule_parse(&s, "linear"));
    LT_CHECK(s.kind == LT_SCHEDULE_LINEAR && s.lr == 3e-4 && s.warmup == 0);
    // Flag by flag, as the CLI passes them.
    s = d;
    LT_CHECK_OK(lt_schedule_set(&s, "--schedule", "constant"));
    LT_CHECK_OK(lt_schedule_set(&s, "--lr", "1e-2"));
    LT_CHECK_OK(lt_schedule_set(&s, "--min-lr", "0"));
    LT_CHECK_OK(lt_schedule_set(&s, "warmup", "7"));
    LT_CHECK(s.kind == LT_SCHEDULE_CONSTANT && s.lr == 1e-2 && s.min_lr == 0.0 && s.warmup == 7);
    // Format and parse give the same schedule back, bit for bit.
    lt_schedule w = sched(LT_SCHEDULE_WSD, 0.1 + 0.2, 1.0 / 3.0 * 1e-4, 12, 0.15);
    char buf[256];
    LT_CHECK(lt_schedule_format(&w, buf, sizeof buf) < (int)sizeof buf);
    lt_schedule back;
    LT_CHECK_OK(lt_schedule_parse(&back, buf));
    LT_CHECK(same_schedule(&back, &w));
    LT_CHECK_STR(lt_schedule_kind_name(LT_SCHEDULE_WSD), "wsd");
}

static void test_schedule_bad(void) {
    lt_schedule s = lt_schedule_default();
    LT_CHECK_ERR(lt_schedule_set(&s, "--schedule", "cosin"), LT_ERR_ARG,
                 "--schedule: unknown schedule 'cosin' (expected cosine, linear, constant or wsd)");
    LT_CHECK_ERR(lt_schedule_set(&s, "--schedule", ""), LT_ERR_ARG, "--schedule needs a value");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "abc"), LT_ERR_ARG, "--lr: 'abc' is not a number");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "3e-4x"), LT_ERR_ARG, "--lr: '3e-4x' is not a number");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "0"), LT_ERR_ARG,
                 "--lr: 0 must be a finite number > 0");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "-1e-3"), LT_ERR_ARG, "--lr: -0.001 must be");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "nan"), LT_ERR_ARG, "--lr: 'nan' is not a number");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", "1e999"), LT_ERR_ARG, "is not a number");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr", NULL), LT_ERR_ARG, "--lr needs a value");
    LT_CHECK_ERR(lt_schedule_set(&s, "--min-lr", "-1"), LT_ERR_ARG, "--min-lr: -1 must be");
    LT_CHECK_ERR(lt_schedule_set(&s, "--warmup", "1.5"), LT_ERR_ARG,
                 "--warmup: '1.5' is not an integer");
    LT_CHECK_ERR(lt_schedule_set(&s, "--warmup", "-3"), LT_ERR_ARG,
                 "--warmup: -3 steps is negative");
    LT_CHECK_ERR(lt_schedule_set(&s, "--decay-frac", "0"), LT_ERR_ARG,
                 "--decay-frac: 0 is outside (0, 1]");
    LT_CHECK_ERR(lt_schedule_set(&s, "--decay-frac", "1.5"), LT_ERR_ARG, "outside (0, 1]");
    LT_CHECK_ERR(lt_schedule_set(&s, "--lr-max", "1"), LT_ERR_ARG,
                 "unknown schedule setting 'lr-max'");
    // The failed sets above left the defaults in place.
    lt_schedule d = lt_schedule_default();
    LT_CHECK(same_schedule(&s, &d));

    LT_CHECK_ERR(lt_schedule_parse(&s, ""), LT_ERR_ARG, "schedule spec is empty");
    LT_CHECK_ERR(lt_schedule_parse(&s, "step:lr=1"), LT_ERR_ARG,
                 "schedule spec 'step:lr=1': --schedule: unknown schedule 'step'");
    LT_CHECK_ERR(lt_schedule_parse(&s, "cosine:lr"), LT_ERR_ARG,
                 "schedule spec 'cosine:lr': 'lr' is not KEY=VALUE");
    LT_CHECK_ERR(lt_schedule_parse(&s, "cosine:lr=1,,warmup=2"), LT_ERR_ARG, "'' is not KEY=VALUE");
    LT_CHECK_ERR(lt_schedule_parse(&s, "cosine:lr=fast"), LT_ERR_ARG,
                 "schedule spec 'cosine:lr=fast': --lr: 'fast' is not a number");
    LT_CHECK_ERR(lt_schedule_parse(&s, "cosine:beta=1"), LT_ERR_ARG,
                 "unknown schedule setting 'beta'");
    LT_CHECK(same_schedule(&s, &d));

    // Checks that need the run length or two fields.
    lt_schedule c = sched(LT_SCHEDULE_COSINE, 1e-3, 2e-3, 0, 0.2);
    LT_CHECK_ERR(lt_schedule_check(&c, 10), LT_ERR_ARG, "--min-lr 0.002 is above --lr 0.001");
    c = sched(LT_SCHEDULE_COSINE, 1e-3, 0, 11, 0.2);
    LT_CHECK_ERR(lt_schedule_check(&c, 10), LT_ERR_ARG,
                 "--warmup 11 is longer than the run (--steps 10)");
    LT_CHECK_ERR(lt_schedule_check(&c, 0), LT_ERR_ARG, "--steps: 0, a run needs at least 1 step");
    c = sched(LT_SCHEDULE_WSD, 1e-3, 0, 0, 0.0);
    LT_CHECK_ERR(lt_schedule_check(&c, 10), LT_ERR_ARG, "--decay-frac: 0 is outside (0, 1]");
    c = sched(LT_SCHEDULE_COSINE, 1e-3, 0, 0, 0.0); // decay_frac unused outside wsd
    LT_CHECK_OK(lt_schedule_check(&c, 10));
    c = sched((lt_schedule_kind)9, 1e-3, 0, 0, 0.2);
    LT_CHECK_ERR(lt_schedule_check(&c, 10), LT_ERR_ARG, "unknown schedule kind 9");
}

// ---------------------------------------------------------------- gradients

static void test_grad_clip(void) {
    // (3, 4, 0, 12): norm sqrt(9 + 16 + 144) = 13 exactly
    float g[4] = {3, 4, 0, 12};
    LT_CHECK(lt_grad_norm(g, 4) == 13.0);
    double norm = 0;
    // Under the max: nothing changes, bit for bit.
    lt_grad_clip_norm(g, 4, 20.0, &norm);
    LT_CHECK(norm == 13.0 && g[0] == 3 && g[1] == 4 && g[2] == 0 && g[3] == 12);
    // max_norm 6.5: factor 6.5 / (13 + 1e-6) = 0.49999996153846...; g[3] = 5.99999953846...
    lt_grad_clip_norm(g, 4, 6.5, &norm);
    LT_CHECK(norm == 13.0);
    // (f32: the factor and the product each round by <= 6e-8 relative)
    LT_CHECK_CLOSE(g[0], 1.4999998846153935, 0, 2e-7);
    LT_CHECK_CLOSE(g[3], 5.999999538461574, 0, 2e-7);
    LT_CHECK_CLOSE(lt_grad_norm(g, 4), 6.5, 0, 1e-6);
    // max_norm <= 0 disables clipping but still reports the norm.
    float h[2] = {30, 40};
    lt_grad_clip_norm(h, 2, 0.0, &norm);
    LT_CHECK(norm == 50.0 && h[0] == 30 && h[1] == 40);
    lt_grad_clip_norm(h, 2, 1.0, NULL);
    LT_CHECK_CLOSE(h[1], 0.8, 0, 1e-6);
    LT_CHECK(lt_grad_norm(h, 0) == 0.0);
    // A non-finite norm is reported and g is left alone.
    float bad[3] = {1, INFINITY, 2};
    lt_grad_clip_norm(bad, 3, 1.0, &norm);
    LT_CHECK(isinf(norm) && bad[0] == 1 && bad[2] == 2);
    bad[1] = NAN;
    LT_CHECK(isnan(lt_grad_norm(bad, 3)));
}

// 100,003 values of 0.5 (more parts than one, a short last part): the sum of
// squares 25000.75 is exact in double, so the norm is sqrt(25000.75) =
// 158.11625469... and every thread count must give the same bits. On random
// values the reference sums in long double (64-bit mantissa, error ~1e-19
// relative); lathe's double sums run over parts of 4096 values, so their
// error is below 4096 * 2^-53 = 4.5e-13 relative (half that for the norm).
static void test_grad_norm_large(void) {
    enum { N = 100003 };
    float *g = malloc(N * sizeof *g);
    for (int i = 0; i < N; i++) g[i] = 0.5f;
    LT_CHECK(lt_grad_norm(g, N) == sqrt(25000.75));
    lt_rng rng;
    lt_rng_seed(&rng, 3);
    fill(g, N, &rng, 1.0f);
    double one = lt_grad_norm(g, N);
    lt_threads_set(2);
    double two = lt_grad_norm(g, N);
    lt_threads_set(1);
    LT_CHECK(memcmp(&one, &two, sizeof one) == 0);
    long double ref = 0;
    for (int i = 0; i < N; i++) ref += (long double)g[i] * g[i];
    LT_CHECK_CLOSE(one, sqrtl(ref), 0, 2.5e-13);
    free(g);
}

static void test_grad_finite(void) {
    enum { N = 70001 };
    float *g = calloc(N, sizeof *g);
    LT_CHECK(lt_grad_all_finite(g, N));
    LT_CHECK(lt_grad_all_finite(g, 0));
    g[5] = 3.4028235e38f; // FLT_MAX is finite
    g[6] = -1e-45f;       // the smallest subnormal too
    LT_CHECK(lt_grad_all_finite(g, N));
    const float specials[3] = {NAN, INFINITY, -INFINITY};
    const int64_t where[3] = {0, 35000, N - 1};
    for (int s = 0; s < 3; s++)
        for (int w = 0; w < 3; w++) {
            g[where[w]] = specials[s];
            LT_CHECK_MSG(!lt_grad_all_finite(g, N), "special %d at %lld not found", s,
                         (long long)where[w]);
            g[where[w]] = 0.0f;
        }
    float neg_nan = -NAN;
    g[123] = neg_nan;
    LT_CHECK(!lt_grad_all_finite(g, N));
    LT_CHECK(lt_grad_all_finite(g, 123)); // the bad value just past the end is not looked at
    free(g);
}

static void test_grad_scale_unscale(void) {
    float g[5] = {1, -2, 3.5f, 0, 65504};
    lt_grad_scale(g, 5, 4.0f);
    LT_CHECK(g[0] == 4 && g[1] == -8 && g[2] == 14 && g[3] == 0 && g[4] == 262016);
    // Unscaling by a power of two is exact.
    LT_CHECK(lt_grad_unscale_check(g, 5, 0.25f));
    LT_CHECK(g[0] == 1 && g[1] == -2 && g[2] == 3.5f && g[4] == 65504);
    float h[4] = {2, INFINITY, 4, NAN};
    LT_CHECK(!lt_grad_unscale_check(h, 4, 0.5f));
    LT_CHECK(h[0] == 1 && h[2] == 2); // every element unscaled even when one overflowed
}

// ---------------------------------------------------------------- loss scaler

static void test_scaler_growth(void) {
    lt_loss_scaler s;
    lt_scaler_init(&s);
    LT_CHECK(s.scale == 65536.0f && s.growth_tracker == 0 && s.growth_interval == 2000);
    LT_CHECK(s.growth_factor == 2.0f && s.backoff_factor == 0.5f);
    for (int i = 1; i <= 1999; i++) LT_CHECK(lt_scaler_update(&s, true) || i < 0);
    LT_CHECK(s.scale == 65536.0f);
    LT_CHECK_INT(s.growth_tracker, 1999);
    LT_CHECK(lt_scaler_update(&s, true)); // the 2000th consecutive finite step
    LT_CHECK(s.scale == 131072.0f);
    LT_CHECK_INT(s.growth_tracker, 0);
    for (int i = 0; i < 2000; i++) lt_scaler_update(&s, true);
    LT_CHECK(s.scale == 262144.0f);
    // Never grows to inf: 2^127 * 2 overflows, so the scale stays.
    s.scale = 0x1p127f;
    s.growth_tracker = 1999;
    LT_CHECK(lt_scaler_update(&s, true));
    LT_CHECK(s.scale == 0x1p127f && s.growth_tracker == 0);
}

static void test_scaler_backoff(void) {
    lt_loss_scaler s;
    lt_scaler_init(&s);
    for (int i = 0; i < 1500; i++) lt_scaler_update(&s, true);
    LT_CHECK_INT(s.growth_tracker, 1500);
    LT_CHECK(!lt_scaler_update(&s, false)); // skip the step
    LT_CHECK(s.scale == 32768.0f);
    LT_CHECK_INT(s.growth_tracker, 0);
    LT_CHECK(!lt_scaler_update(&s, false)); // consecutive overflows keep halving
    LT_CHECK(s.scale == 16384.0f);
    // The tracker restarted: 1999 finite steps are not enough, the 2000th is.
    for (int i = 0; i < 1999; i++) LT_CHECK(lt_scaler_update(&s, true) || i < 0);
    LT_CHECK(s.scale == 16384.0f);
    LT_CHECK(lt_scaler_update(&s, true));
    LT_CHECK(s.scale == 32768.0f);
}

static void test_scaler_state(void) {
    lt_loss_scaler s, r;
    lt_scaler_init(&s);
    for (int i = 0; i < 37; i++) lt_scaler_update(&s, true);
    lt_scaler_update(&s, false);
    for (int i = 0; i < 5; i++) lt_scaler_update(&s, true);
    uint8_t buf[LT_SCALER_STATE_SIZE], bad[LT_SCALER_STATE_SIZE];
    lt_scaler_state_encode(&s, buf);
    LT_CHECK(memcmp(buf, "LTSCALER", 8) == 0);
    lt_scaler_init(&r);
    LT_CHECK_OK(lt_scaler_state_decode(&r, buf, sizeof buf, "scaler"));
    LT_CHECK(memcmp(&r, &s, sizeof s) == 0);
    LT_CHECK(r.scale == 32768.0f && r.growth_tracker == 5);
    // The restored scaler continues exactly as the original.
    for (int i = 0; i < 1995; i++) lt_scaler_update(&s, true), lt_scaler_update(&r, true);
    LT_CHECK(r.scale == 65536.0f && memcmp(&r, &s, sizeof s) == 0);

    lt_scaler_init(&r);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, buf, sizeof buf - 1, "t.state"), LT_ERR_FORMAT,
                 "t.state: not a loss-scaler state (27 bytes");
    memcpy(bad, buf, sizeof buf);
    bad[3] = 'x';
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "not a loss-scaler state");
    const float zero = 0.0f, inf = INFINITY, one = 1.0f, half = 0.5f;
    const int32_t minus = -1, big = 2000, zero_i = 0;
    memcpy(bad, buf, sizeof buf), memcpy(bad + 8, &zero, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "loss scale 0 must be finite and > 0");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 8, &inf, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "loss scale inf");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 12, &minus, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "growth tracker -1 is outside [0, 2000)");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 12, &big, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "growth tracker 2000 is outside [0, 2000)");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 16, &zero_i, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "growth interval 0 must be >= 1");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 20, &one, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "growth factor 1 must be finite and > 1");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 24, &one, 4);
    LT_CHECK_ERR(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"), LT_ERR_FORMAT,
                 "backoff factor 1 must be in (0, 1)");
    memcpy(bad, buf, sizeof buf), memcpy(bad + 24, &half, 4);
    LT_CHECK_OK(lt_scaler_state_decode(&r, bad, sizeof bad, "t.state"));
}

int main(void) {
    LT_RUN(test_adamw_hand);
    LT_RUN(test_adamw_torch);
    LT_RUN(test_adamw_large_arena);
    LT_RUN(test_adamw_model_mask);
    LT_RUN(test_adamw_init_errors);
    LT_RUN(test_adamw_config_set);
    LT_RUN(test_adamw_state_roundtrip);
    LT_RUN(test_adamw_state_corrupt);
    LT_RUN(test_schedule_values);
    LT_RUN(test_schedule_wsd);
    LT_RUN(test_schedule_parse);
    LT_RUN(test_schedule_bad);
    LT_RUN(test_grad_clip);
    LT_RUN(test_grad_norm_large);
    LT_RUN(test_grad_finite);
    LT_RUN(test_grad_scale_unscale);
    LT_RUN(test_scaler_growth);
    LT_RUN(test_scaler_backoff);
    LT_RUN(test_scaler_state);
    return lt_test_finish();
}
