// test_model.c: the whole model against independent expectations —
// golden logits, hidden states, loss and every parameter gradient from the
// float64 PyTorch reference (tests/reference/hf_reference.py) on `tiny` and
// `tiny-hetero`; finite differences of the loss for every parameter tensor;
// bf16 mode running only bf16 GEMMs; checkpoint round trips and bad inputs.
#include "lathe/gemm.h"
#include "base/json.h"
#include "lathe/model.h"
#include "lathe/objective.h"
#include "lathe/safetensors.h"
#include "lt_test.h"

typedef struct {
    int64_t B, T;
    int32_t *ids, *targets, *positions, *segments;
    double loss;
} golden_inputs;

static int32_t *int_matrix(const cJSON *doc, const char *key, int64_t B, int64_t T) {
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (!cJSON_IsArray(rows)) return NULL;
    int32_t *out = malloc((size_t)(B * T) * sizeof *out);
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++)
            out[b * T + t] =
                (int32_t)cJSON_GetArrayItem(cJSON_GetArrayItem(rows, (int)b), (int)t)->valuedouble;
    return out;
}

static void read_inputs(const char *path, golden_inputs *g) {
    cJSON *doc;
    LT_CHECK_OK(lt_json_read_file(&doc, path, 1 << 20));
    g->B = (int64_t)cJSON_GetObjectItem(doc, "B")->valuedouble;
    g->T = (int64_t)cJSON_GetObjectItem(doc, "T")->valuedouble;
    g->loss = cJSON_GetObjectItem(doc, "loss")->valuedouble;
    g->ids = int_matrix(doc, "input_ids", g->B, g->T);
    g->targets = int_matrix(doc, "targets", g->B, g->T);
    g->positions = int_matrix(doc, "positions", g->B, g->T);
    g->segments = int_matrix(doc, "segments", g->B, g->T); // NULL when null
    cJSON_Delete(doc);
}

static void free_inputs(golden_inputs *g) {
    free(g->ids), free(g->targets), free(g->positions), free(g->segments);
}

static float max_abs(const float *x, int64_t n) {
    float m = 0;
    for (int64_t i = 0; i < n; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;
    return m;
}

// Largest |a - b| / max|b| over a tensor: the error relative to the tensor's scale.
static double scaled_error(const float *a, const float *b, int64_t n) {
    double worst = 0, scale = max_abs(b, n);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / scale;
        worst = e > worst ? e : worst;
    }
    return worst;
}

static float *read_golden(const lt_safetensors *st, const char *name, int64_t n) {
    const lt_st_tensor *t = lt_safetensors_find(st, name);
    if (!t) return NULL;
    float *out = malloc((size_t)n * sizeof *out);
    LT_CHECK_OK(lt_safetensors_read_f32(st, name, out, t->ndim, t->shape));
    return out;
}

// Tolerances: the reference is float64 rounded to f32; lathe computes in f32,
// so over these short sums (K <= 512) errors stay near 1e-6 of each tensor's
// scale. 2e-5 (logits, hidden) and 1e-4 (gradients, which pass through every
// layer twice) leave margin for summation order without hiding a bug: the
// reference's deliberate-bug table shows the smallest real mistake (RMSNorm
// without eps) moves logits by 2.3e-3 / 2.6 = 9e-4 of their scale.
static void check_golden(const char *name, lt_dtype dtype) {
    char dir[512], inputs[512], golden[512];
    snprintf(dir, sizeof dir, "tests/fixtures/golden/%s/checkpoint", name);
    snprintf(inputs, sizeof inputs, "tests/fixtures/golden/%s/inputs.json", name);
    snprintf(golden, sizeof golden, "tests/fixtures/golden/%s/golden.safetensors", name);
    golden_inputs g;
    read_inputs(lt_test_path(inputs), &g);
    lt_model *m;
    LT_CHECK_OK(lt_model_load(&m, lt_test_path(dir)));
    LT_CHECK_OK(lt_model_set_dtype(m, dtype));
    lt_safetensors *st;
    LT_CHECK_OK(lt_safetensors_open(&st, lt_test_path(golden)));
    lt_acts *a;
    LT_CHECK_OK(lt_acts_init(&a, m, g.B, g.T));
    lt_batch batch = {.B = g.B,
                      .T = g.T,
                      .ids = g.ids,
                      .targets = g.targets,
                      .positions = g.positions,
                      .segments = g.segments};
    LT_CHECK_OK(lt_model_forward(m, a, &batch));
    // bf16 rounds every GEMM operand and kept activation to 8 bits of
    // significand: relative errors near 2^-8. f16 keeps 11 bits: the bf16
    // bounds scaled by 2^-3.
    double tol_act = 2e-5, tol_grad = 1e-4;
    if (dtype == LT_BF16) tol_act = 3e-2, tol_grad = 1e-1;
    if (dtype == LT_F16) tol_act = 3e-2 / 8, tol_grad = 1e-1 / 8;
    int64_t N = g.B * g.T, C = m->cfg.hidden, V = m->cfg.vocab;
    float *logits = read_golden(st, "logits", N * V);
    double worst_logit = scaled_error(a->logits, logits, N * V);
    LT_CHECK_MSG(worst_logit <= tol_act, "%s %s: logits differ by %.3g of their scale", name,
                 lt_dtype_name(dtype), worst_logit);
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        char key[32];
        snprintf(key, sizeof key, "hidden.%lld", (long long)l);
        float *hidden = read_golden(st, key, N * C);
        double e = scaled_error(a->blocks[l].out, hidden, N * C);
        LT_CHECK_MSG(e <= tol_act, "%s: %s differs by %.3g of its scale", name, key, e);
        free(hidden);
    }
    lt_loss loss;
    LT_CHECK_OK(lt_objective_xent(a, g.targets, 0, 1.0f, &loss));
    LT_CHECK_CLOSE(loss.loss, g.loss, 0,
                   dtype == LT_BF16  ? 1e-2
                   : dtype == LT_F16 ? 1e-2 / 8
                                     : 1e-6);
    float *grads = calloc((size_t)m->n_params, sizeof *grads);
    LT_CHECK_OK(lt_model_backward(m, a, grads, NULL));
    double worst_grad = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        char key[128];
        snprintf(key, sizeof key, "grad.%s", p->name);
        float *ref = read_golden(st, key, p->numel);
        LT_CHECK_MSG(ref != NULL, "%s: golden file lacks %s", name, key);
        if (!ref) continue;
        double e = scaled_error(grads + p->offset, ref, p->numel);
        worst_grad = e > worst_grad ? e : worst_grad;
        LT_CHECK_MSG(e <= tol_grad, "%s %s: gradient of %s differs by %.3g of its scale", name,
                     lt_dtype_name(dtype), p->name, e);
        free(ref);
    }
    fprintf(stderr, "  %s %s: logits %.2g, gradients %.2g of scale; loss %.9f vs %.9f\n", name,
            lt_dtype_name(dtype), worst_logit, worst_grad, loss.loss, g.loss);
    free(grads);
    free(logits);
    lt_acts_free(a);
    lt_safetensors_close(st);
    lt_model_free(m);
    free_inputs(&g);
}

static void test_golden_tiny(void) { check_golden("tiny", LT_F32); }
static void test_golden_tiny_hetero(void) { check_golden("tiny-hetero", LT_F32); }
static void test_golden_bf16(void) {
    check_golden("tiny", LT_BF16);
    check_golden("tiny-hetero", LT_BF16);
}
static void test_golden_f16(void) {
    check_golden("tiny", LT_F16);
    check_golden("tiny-hetero", LT_F16);
}

// ---------------------------------------------------------------- finite differences

typedef struct {
    lt_model *m;
    lt_acts *a;
    lt_batch batch;
} fd_setup;

// The loss through the float64 reference path (src/model/reference.c).
static double eval_loss(fd_setup *f) {
    double loss = NAN;
    lt_status s = lt_model_loss_f64(f->m, &f->batch, &loss);
    if (s) {
        fprintf(stderr, "%s\n", lt_status_message(s));
        lt_status_free(s);
    }
    return loss;
}

// Fourth-order central difference of the loss along direction d of tensor p:
// (-L(2h) + 8L(h) - 8L(-h) + L(-2h)) / 12h.
static double directional_fd(fd_setup *f, const lt_param *p, const float *d, double h) {
    float *w = f->m->params + p->offset;
    float *saved = malloc((size_t)p->numel * sizeof *saved);
    memcpy(saved, w, (size_t)p->numel * sizeof *saved);
    static const double steps[4] = {2, 1, -1, -2}, coef[4] = {-1, 8, -8, 1};
    double acc = 0;
    for (int k = 0; k < 4; k++) {
        for (int64_t i = 0; i < p->numel; i++) w[i] = saved[i] + (float)(steps[k] * h) * d[i];
        acc += coef[k] * eval_loss(f);
    }
    memcpy(w, saved, (size_t)p->numel * sizeof *saved);
    free(saved);
    return acc / (12 * h);
}

// For every parameter tensor: 16 random entries and one random direction.
// The analytic gradient comes from the fast f32 path; the numeric one from
// fourth-order central differences of the float64 reference loss with a step
// of 5% of the tensor's RMS for an entry and 0.5% along a direction
// (truncation error ~h^4, rounding ~1e-15 / h:
// both far below the f32 gradient's own ~1e-6 error). Tolerance: 1e-3
// relative, against the larger of the derivative and 1e-3 of the tensor's
// largest gradient (a single entry with a near-zero gradient is judged on the
// tensor's scale, since f32 cannot resolve it more finely).
static void check_fd(const char *preset) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, preset));
    cfg.initializer_range = 0.08; // large enough that every gradient is well above the noise
    fd_setup f = {0};
    LT_CHECK_OK(lt_model_init(&f.m, &cfg));
    lt_config_free(&cfg);
    lt_model_init_random(f.m, 11);
    lt_rng rng;
    lt_rng_seed(&rng, 5);
    for (int64_t i = 0; i < f.m->n_params; i++) // norm weights away from exactly 1
        if (f.m->params[i] == 1.0f) f.m->params[i] = 1.0f + 0.1f * lt_rng_normal(&rng);
    int64_t B = 2, T = 12, N = B * T;
    int32_t ids[24], targets[24], segments[24];
    for (int64_t i = 0; i < N; i++) {
        ids[i] = (int32_t)lt_rng_below(&rng, (uint32_t)f.m->cfg.vocab);
        targets[i] = (i % 5 == 3) ? -100 : (int32_t)lt_rng_below(&rng, (uint32_t)f.m->cfg.vocab);
        segments[i] = i >= T + 5; // second row packs two documents
    }
    f.batch = (lt_batch){.B = B, .T = T, .ids = ids, .targets = targets, .segments = segments};
    LT_CHECK_OK(lt_acts_init(&f.a, f.m, B, T));
    float *grads = calloc((size_t)f.m->n_params, sizeof *grads);
    LT_CHECK_OK(lt_model_forward(f.m, f.a, &f.batch));
    lt_loss loss;
    LT_CHECK_OK(lt_objective_xent(f.a, targets, 0, 1.0f, &loss));
    LT_CHECK_OK(lt_model_backward(f.m, f.a, grads, NULL));
    double worst = 0;
    for (int t = 0; t < f.m->n_tensors; t++) {
        const lt_param *p = &f.m->tensors[t];
        const float *g = grads + p->offset;
        float *d = calloc((size_t)p->numel, sizeof *d);
        double g_scale = max_abs(g, p->numel), w_rms = 0;
        for (int64_t i = 0; i < p->numel; i++)
            w_rms += (double)f.m->params[p->offset + i] * f.m->params[p->offset + i];
        w_rms = sqrt(w_rms / (double)p->numel);
        for (int k = 0; k <= 16; k++) {
            memset(d, 0, (size_t)p->numel * sizeof *d);
            double analytic = 0;
            if (k < 16) { // one entry
                int64_t i = lt_rng_below(&rng, (uint32_t)p->numel);
                d[i] = 1.0f;
                analytic = g[i];
            } else { // a random direction, N(0, 1) per entry: each entry moves by
                     // about one step, so f32 rounding of w + h*d stays ~1e-6 of it
                for (int64_t i = 0; i < p->numel; i++)
                    d[i] = lt_rng_normal(&rng), analytic += (double)d[i] * g[i];
                g_scale *=
                    sqrt((double)p->numel); // the direction's derivative scales with sqrt(numel)
            }
            // Directions move every entry at once: a smaller step keeps the
            // whole-tensor change (and so the truncation error) small.
            double numeric = directional_fd(&f, p, d, (k < 16 ? 0.05 : 0.005) * w_rms);
            double denom = fmax(fabs(analytic), 1e-3 * g_scale);
            double rel = fabs(numeric - analytic) / denom;
            worst = rel > worst ? rel : worst;
            LT_CHECK_MSG(rel <= 1e-3,
                         "%s %s: %s derivative %.9g, finite difference %.9g (rel %.3g)", preset,
                         p->name, k < 16 ? "entry" : "direction", analytic, numeric, rel);
        }
        free(d);
    }
    fprintf(stderr, "  %s: worst finite-difference error %.3g over %d tensors\n", preset, worst,
            f.m->n_tensors);
    free(grads);
    lt_acts_free(f.a);
    lt_model_free(f.m);
}

static void test_fd_tiny(void) { check_fd("tiny"); }
static void test_fd_tiny_hetero(void) { check_fd("tiny-hetero"); }

// bf16 mode: every linear forward and both backward GEMMs (and attention's
// products) run as bf16 GEMMs; not a single f32 GEMM. f16 mode: every linear
// GEMM has f16 operands (attention's products run in f32 on f16-kept q, k, v).
static void check_lowp_gemms(lt_dtype dtype) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny-hetero"));
    lt_model *m;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    lt_model_init_random(m, 3);
    LT_CHECK_OK(lt_model_set_dtype(m, dtype));
    int32_t ids[16], targets[16];
    for (int i = 0; i < 16; i++) ids[i] = i * 7, targets[i] = i * 3;
    lt_acts *a;
    LT_CHECK_OK(lt_acts_init(&a, m, 2, 8));
    float *grads = calloc((size_t)m->n_params, sizeof *grads);
    lt_batch batch = {.B = 2, .T = 8, .ids = ids, .targets = targets};
    lt_gemm_stats_reset();
    LT_CHECK_OK(lt_model_forward(m, a, &batch));
    lt_loss loss;
    LT_CHECK_OK(lt_objective_xent(a, targets, 0, 1.0f, &loss));
    LT_CHECK_OK(lt_model_backward(m, a, grads, NULL));
    lt_gemm_stats st;
    lt_gemm_stats_get(&st);
    int linears = 0; // every linear weight, the LM head included (the embedding lookup is none)
    for (int i = 0; i < m->n_tensors; i++) linears += m->tensors[i].is_matmul;
    if (dtype == LT_BF16) {
        LT_CHECK_INT(st.calls[LT_F32], 0);
        LT_CHECK_INT(st.calls[LT_F16], 0);
        LT_CHECK(st.calls[LT_BF16] >= (uint64_t)(3 * linears));
    } else {
        LT_CHECK_INT(st.calls[LT_BF16], 0);
        LT_CHECK_INT(st.calls[LT_F16], 3 * linears);
    }
    free(grads);
    lt_acts_free(a);
    lt_model_free(m);
}

static void test_lowp_gemms(void) {
    check_lowp_gemms(LT_BF16);
    check_lowp_gemms(LT_F16);
}

// Mixed precision keeps activations in 16 bits. Counted by hand for bench-m
// at 4 x 512 (N = 2048): per layer the kept tensors are 2 norm outputs (N, 512),
// q and attn_out (N, 512), k and v (N, 256), probs (4*8, 512, 512) and gate, up,
// hidden (N, 1536): 23,068,672 values, 92,274,688 bytes in f32 and half in 16 bits.
// Over 8 layers that saves 369,098,752 bytes, less the one f32 scratch set the
// 16-bit modes add (the same tensors once, with one norm buffer serving both
// norms: 22,020,096 values, 88,080,384 bytes) and the final norm's 16-bit
// copy (N * 512 * 2 = 2,097,152 bytes).
static void test_lowp_activation_memory(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "bench-m"));
    size_t f32 = lt_acts_bytes(&cfg, LT_F32, 4, 512), bf16 = lt_acts_bytes(&cfg, LT_BF16, 4, 512);
    LT_CHECK_INT((long long)f32 - (long long)bf16, 369098752LL - 88080384LL - 2097152LL);
    LT_CHECK_INT(lt_acts_bytes(&cfg, LT_F16, 4, 512), bf16);
    lt_config_free(&cfg);
}

// Save and load: f32 is exact; bf16 storage equals rounding each weight.
static void test_checkpoint_round_trip(void) {
    const char *dir = lt_test_tmpdir();
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny-hetero"));
    lt_model *m, *back;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    lt_model_init_random(m, 9);
    char *f32_dir = lt_path_join(dir, "f32"), *bf16_dir = lt_path_join(dir, "bf16");
    LT_CHECK_OK(lt_model_save(m, f32_dir, LT_F32));
    LT_CHECK_OK(lt_model_load(&back, f32_dir));
    LT_CHECK_INT(back->n_params, m->n_params);
    LT_CHECK(memcmp(back->params, m->params, (size_t)m->n_params * sizeof(float)) == 0);
    LT_CHECK_INT(back->cfg.arch, LT_ARCH_DECILM);
    lt_model_free(back);
    LT_CHECK_OK(lt_model_save(m, bf16_dir, LT_BF16));
    LT_CHECK_OK(lt_model_load(&back, bf16_dir));
    int64_t mismatches = 0;
    for (int64_t i = 0; i < m->n_params; i++)
        mismatches += back->params[i] != lt_bf16_to_f32(lt_f32_to_bf16(m->params[i]));
    LT_CHECK_INT(mismatches, 0);
    lt_model_free(back);
    LT_CHECK_ERR(lt_model_save(m, f32_dir, LT_Q8_0), LT_ERR_ARG, "q8_0 lives in GGUF");
    free(f32_dir);
    free(bf16_dir);
    lt_model_free(m);
}

// The numpy-written sharded BF16 checkpoint loads through the index.
static void test_load_sharded(void) {
    lt_model *m;
    LT_CHECK_OK(lt_model_load(&m, lt_test_path("tests/fixtures/sharded-bf16")));
    lt_safetensors *st;
    LT_CHECK_OK(lt_safetensors_open_dir(&st, lt_test_path("tests/fixtures/sharded-bf16")));
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        float *expect = malloc((size_t)p->numel * sizeof *expect);
        LT_CHECK_OK(lt_safetensors_read_f32(st, p->name, expect, p->ndim, p->shape));
        LT_CHECK_MSG(memcmp(expect, m->params + p->offset, (size_t)p->numel * 4) == 0, "%s differs",
                     p->name);
        free(expect);
    }
    lt_safetensors_close(st);
    lt_model_free(m);
}

// Writes a checkpoint of `preset` whose tensor list is edited: `drop` removed,
// or `extra` added, or `reshape` given the wrong shape.
static const char *edited_checkpoint(const char *drop, const char *extra, const char *reshape) {
    static char path[512];
    const char *dir = lt_test_tmpdir();
    lt_config cfg;
    lt_model *m;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    char *config_path = lt_path_join(dir, "config.json"),
         *weights_path = lt_path_join(dir, "model.safetensors");
    LT_CHECK_OK(lt_config_save(&cfg, config_path));
    lt_config_free(&cfg);
    lt_st_entry entries[64];
    size_t n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        if (drop && strcmp(p->name, drop) == 0) continue;
        entries[n] = (lt_st_entry){
            .name = p->name, .dtype = LT_F32, .ndim = p->ndim, .data = m->params + p->offset};
        entries[n].shape[0] = p->shape[0], entries[n].shape[1] = p->shape[1];
        if (reshape && strcmp(p->name, reshape) == 0)
            entries[n].shape[0] /= 2, entries[n].shape[1] *= 2;
        n++;
    }
    if (extra)
        entries[n++] = (lt_st_entry){
            .name = extra, .dtype = LT_F32, .ndim = 1, .shape = {64}, .data = m->params};
    LT_CHECK_OK(lt_safetensors_write(weights_path, entries, n, NULL));
    free(config_path);
    free(weights_path);
    lt_model_free(m);
    snprintf(path, sizeof path, "%s", dir);
    return path;
}

static void test_load_errors(void) {
    lt_model *m;
    LT_CHECK_ERR(lt_model_load(&m, edited_checkpoint("model.norm.weight", NULL, NULL)),
                 LT_ERR_FORMAT, "tensor 'model.norm.weight' is missing");
    LT_CHECK_ERR(
        lt_model_load(&m, edited_checkpoint(NULL, "model.layers.9.mlp.gate_proj.weight", NULL)),
        LT_ERR_FORMAT, "'model.layers.9.mlp.gate_proj.weight' is not part of the model");
    LT_CHECK_ERR(
        lt_model_load(&m, edited_checkpoint(NULL, NULL, "model.layers.1.self_attn.k_proj.weight")),
        LT_ERR_FORMAT, "model.layers.1.self_attn.k_proj.weight");
    LT_CHECK_ERR(lt_model_load(&m, "/nonexistent/model"), LT_ERR_IO, "not a model directory");
    const char *empty = lt_test_tmpdir();
    LT_CHECK_ERR(lt_model_load(&m, empty), LT_ERR_IO, "config.json");
}

static void test_bad_batches(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    lt_acts *a;
    LT_CHECK_ERR(lt_acts_init(&a, m, 1, 4096), LT_ERR_RANGE,
                 "exceeds max_position_embeddings 2048");
    LT_CHECK_OK(lt_acts_init(&a, m, 1, 4));
    int32_t ids[4] = {1, 2, 512, 3}, pos[4] = {0, 1, 2, 5000}, targets[4] = {1, 1, 1, 600};
    lt_batch batch = {.B = 1, .T = 4, .ids = ids};
    LT_CHECK_ERR(lt_model_forward(m, a, &batch), LT_ERR_RANGE, "token id 512 at position 2");
    ids[2] = 7;
    batch.positions = pos;
    LT_CHECK_ERR(lt_model_forward(m, a, &batch), LT_ERR_RANGE, "position 5000");
    batch.positions = NULL;
    batch.T = 3;
    LT_CHECK_ERR(lt_model_forward(m, a, &batch), LT_ERR_ARG, "sized for 1 x 4");
    batch.T = 4;
    LT_CHECK_OK(lt_model_forward(m, a, &batch));
    lt_loss loss;
    LT_CHECK_ERR(lt_objective_xent(a, targets, 0, 1.0f, &loss), LT_ERR_RANGE, "target id 600");
    lt_acts_free(a);
    lt_model_free(m);
}

// Gradient accumulation with masked targets: two micro-batches whose rows
// count different numbers of targets, each normalised by the total count of
// both, sum to the gradient of one batch holding both rows (the mean over all
// counted targets) — not to the mean of two per-micro-batch means.
static void test_accumulation_with_masks(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny-hetero"));
    lt_model *m;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    lt_model_init_random(m, 21);
    enum { T = 10 };
    int32_t ids[2 * T], targets[2 * T];
    for (int i = 0; i < 2 * T; i++) ids[i] = (i * 37 + 5) % 512, targets[i] = (i * 91 + 3) % 512;
    for (int i = 0; i < T; i++)
        targets[i] = i < 3 ? targets[i] : -100; // row 0 counts 3 targets, row 1 all 10
    float *whole = calloc((size_t)m->n_params, sizeof(float)),
          *parts = calloc((size_t)m->n_params, sizeof(float));
    lt_acts *a2, *a1;
    LT_CHECK_OK(lt_acts_init(&a2, m, 2, T));
    LT_CHECK_OK(lt_acts_init(&a1, m, 1, T));
    lt_batch both = {.B = 2, .T = T, .ids = ids, .targets = targets};
    lt_loss loss, l0, l1;
    LT_CHECK_OK(lt_model_forward(m, a2, &both));
    LT_CHECK_OK(lt_objective_xent(a2, targets, 0, 1.0f, &loss));
    LT_CHECK_OK(lt_model_backward(m, a2, whole, NULL));
    LT_CHECK_INT(loss.n_counted, 13);
    for (int r = 0; r < 2; r++) {
        lt_batch one = {.B = 1, .T = T, .ids = ids + r * T, .targets = targets + r * T};
        LT_CHECK_OK(lt_model_forward(m, a1, &one));
        LT_CHECK_OK(lt_objective_xent(a1, targets + r * T, 13.0, 1.0f, r ? &l1 : &l0));
        LT_CHECK_OK(lt_model_backward(m, a1, parts, NULL));
    }
    LT_CHECK_CLOSE((l0.loss_sum + l1.loss_sum) / 13.0, loss.loss, 0, 1e-6);
    double worst = scaled_error(parts, whole, m->n_params);
    LT_CHECK_MSG(worst <= 1e-5, "accumulated gradients differ by %.3g of their scale", worst);
    free(whole), free(parts);
    lt_acts_free(a1), lt_acts_free(a2);
    lt_model_free(m);
}

int main(void) {
    LT_RUN(test_golden_tiny);
    LT_RUN(test_golden_tiny_hetero);
    LT_RUN(test_golden_bf16);
    LT_RUN(test_golden_f16);
    LT_RUN(test_fd_tiny);
    LT_RUN(test_fd_tiny_hetero);
    LT_RUN(test_lowp_gemms);
    LT_RUN(test_lowp_activation_memory);
    LT_RUN(test_accumulation_with_masks);
    LT_RUN(test_checkpoint_round_trip);
    LT_RUN(test_load_sharded);
    LT_RUN(test_load_errors);
    LT_RUN(test_bad_batches);
    return lt_test_finish();
}
