// test_objective_kd.c: the distillation objectives against expectations of
// their own — a float64 reference of the KD loss written here with plain
// loops (its own top-k rule by counting ranks) differentiated by finite
// differences; hand-computed values at two temperatures; KD with weight 1 on
// cross-entropy against lt_objective_xent; a teacher identical to the
// student; the hidden-state cosine term's gradient through a tiny model
// against finite differences of its loss; and every bad argument.
#include "lathe/objective.h"
#include "lt_test.h"

// Logits-only activations: the KD objective reads N, the vocabulary and logits.
typedef struct {
    lt_model model;
    lt_acts acts;
} fake_student;

static void fake_init(fake_student *f, float *logits, int64_t N, int64_t V) {
    memset(f, 0, sizeof *f);
    f->model.cfg.vocab = V;
    f->acts.N = N;
    f->acts.model = &f->model;
    f->acts.logits = logits;
}

// Teacher's top-k by rank: j is kept when fewer than k logits rank above it
// (larger, or equal with a lower index). k = 0 keeps everything.
static bool ref_kept(const float *u, int64_t V, int64_t k, int64_t j) {
    if (k == 0) return true;
    int64_t above = 0;
    for (int64_t i = 0; i < V; i++) above += u[i] > u[j] || (u[i] == u[j] && i < j);
    return above < k;
}

// Mean over counted rows of (1-w) tau^2 KL(p_S || q) + w CE, in double.
static double ref_kd_loss(const double *z, const float *u, const int32_t *targets, int64_t N,
                          int64_t V, double tau, int64_t k, double w) {
    double total = 0;
    int64_t counted = 0;
    for (int64_t n = 0; n < N; n++) {
        if (targets && targets[n] < 0) continue;
        const double *zn = z + n * V;
        const float *un = u + n * V;
        double mz = -INFINITY, mu = -INFINITY, sz = 0, su = 0, s1 = 0;
        for (int64_t j = 0; j < V; j++) mz = fmax(mz, zn[j] / tau), mu = fmax(mu, un[j] / tau);
        for (int64_t j = 0; j < V; j++) {
            sz += exp(zn[j] / tau - mz);
            if (ref_kept(un, V, k, j)) su += exp(un[j] / tau - mu);
            s1 += exp(zn[j] - mz * tau);
        }
        double kl = 0;
        for (int64_t j = 0; j < V; j++) {
            if (!ref_kept(un, V, k, j)) continue;
            double log_p = un[j] / tau - mu - log(su), log_q = zn[j] / tau - mz - log(sz);
            kl += exp(log_p) * (log_p - log_q);
        }
        double ce = targets ? log(s1) + mz * tau - zn[targets[n]] : 0;
        total += (1 - w) * tau * tau * kl + w * ce;
        counted++;
    }
    return total / (double)counted;
}

static void random_fill(float *x, int64_t n, double scale, uint64_t seed) {
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * lt_rng_normal(&rng));
}

enum { FD_N = 5, FD_V = 11 };

// The analytic dlogits against central differences of the float64 reference
// (step 1e-4: truncation ~1e-8, rounding ~1e-12, far below f32's 1e-7), and
// the reported loss against the reference's value.
static void check_kd_fd(float tau, int64_t k, double w) {
    int64_t N = FD_N, V = FD_V;
    float z[FD_N * FD_V], u[FD_N * FD_V], dz[FD_N * FD_V];
    int32_t targets[FD_N] = {3, -100, 0, 10, 7};
    random_fill(z, N * V, 1.5, 1);
    random_fill(u, N * V, 2.0, 2);
    // Row 2's teacher: 5th and 6th largest tie (0.5 at ids 4 and 9); top-6
    // keeps id 4 only.
    static const float row2[FD_V] = {3.0f,  1.0f, 2.5f, -1.0f, 0.5f, 2.0f,
                                     -2.0f, 0.1f, 1.2f, 0.5f,  -0.3f};
    memcpy(u + 2 * V, row2, sizeof row2);
    double zd[FD_N * FD_V];
    for (int64_t i = 0; i < N * V; i++) zd[i] = z[i];
    fake_student f;
    memcpy(dz, z, sizeof z);
    fake_init(&f, dz, N, V);
    lt_loss loss;
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, tau, k, w, 0, 1.0f, &loss));
    double ref = ref_kd_loss(zd, u, targets, N, V, tau, k, w);
    LT_CHECK_CLOSE(loss.loss, ref, 1e-6, 1e-5);
    LT_CHECK_INT(loss.n_counted, 4);
    double worst = 0;
    for (int64_t i = 0; i < N * V; i++) {
        const double h = 1e-4;
        double saved = zd[i];
        zd[i] = saved + h;
        double up = ref_kd_loss(zd, u, targets, N, V, tau, k, w);
        zd[i] = saved - h;
        double down = ref_kd_loss(zd, u, targets, N, V, tau, k, w);
        zd[i] = saved;
        double numeric = (up - down) / (2 * h);
        worst = fmax(worst, fabs(numeric - dz[i]));
        LT_CHECK_MSG(fabs(numeric - dz[i]) <= 2e-6 + 1e-4 * fabs(numeric),
                     "tau %g k %lld w %g: dlogits[%lld] = %.9g, finite difference %.9g",
                     (double)tau, (long long)k, w, (long long)i, (double)dz[i], numeric);
    }
    fprintf(stderr, "  tau %g k %lld w %g: worst gradient error %.3g\n", (double)tau, (long long)k,
            w, worst);
}

static void test_kd_gradient_full(void) {
    check_kd_fd(1.0f, 0, 0.0);
    check_kd_fd(2.0f, 0, 0.0);
    check_kd_fd(0.5f, 0, 0.25);
}

static void test_kd_gradient_top_k(void) {
    check_kd_fd(2.0f, 4, 0.0);
    check_kd_fd(1.5f, 1, 0.4);
    check_kd_fd(1.0f, 6, 0.0); // row 2's tie at the boundary
    check_kd_fd(1.0f, 7, 0.1); // row 2's tie inside
}

// One row at tau = 2 worked by hand: student logits 0 give q = 1/3 each;
// teacher logits (2 ln 2, 0, 0) give softmax((ln 2, 0, 0)) = (1/2, 1/4, 1/4).
// KL = 1/2 ln(3/2) + 1/2 ln(3/4) = 1/2 ln(9/8); loss = tau^2 KL = 2 ln(9/8);
// dlogits = tau (q - p) = (-1/3, 1/6, 1/6). Row 1 is masked; row 2's teacher
// equals the student: KL 0. The mean over the 2 counted rows halves row 0.
// At tau = 1 the same teacher gives p = (2/3, 1/6, 1/6), KL = ln(2) / 3, and
// dlogits (q - p) = (-1/3, 1/6, 1/6) again.
static void test_kd_temperature_by_hand(void) {
    float ln2 = (float)log(2.0);
    float u[9] = {2 * ln2, 0, 0, 5, -1, 0, 1, 2, 3};
    float z[9] = {0, 0, 0, 9, 9, 9, 1, 2, 3};
    int32_t targets[3] = {0, -1, 2};
    fake_student f;
    fake_init(&f, z, 3, 3);
    // Forward only: mean KL (1/2 ln(9/8) + 0) / 2 and mean CE (ln 3 + ln(1 + e^-1 + e^-2)) / 2,
    // logits untouched.
    lt_loss kl, ce;
    LT_CHECK_OK(lt_objective_kd_eval(&f.acts, u, targets, 2.0f, 0, &kl, &ce));
    LT_CHECK_CLOSE(kl.loss, 0.25 * log(9.0 / 8.0), 1e-7, 1e-6);
    LT_CHECK_CLOSE(ce.loss, (log(3.0) + log(1 + exp(-1.0) + exp(-2.0))) / 2, 1e-7, 1e-6);
    LT_CHECK_INT(kl.n_counted, 2);
    LT_CHECK(z[0] == 0 && z[4] == 9 && z[8] == 3);
    lt_loss loss;
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 2.0f, 0, 0.0, 0, 1.0f, &loss));
    LT_CHECK_CLOSE(loss.loss, log(9.0 / 8.0), 1e-7, 1e-6); // (2 ln(9/8) + 0) / 2
    LT_CHECK_CLOSE(loss.loss_sum, 2 * log(9.0 / 8.0), 1e-7, 1e-6);
    const double expect[9] = {-1.0 / 6, 1.0 / 12, 1.0 / 12, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++) LT_CHECK_CLOSE(z[i], expect[i], 1e-7, 1e-6);

    float z1[9] = {0, 0, 0, 9, 9, 9, 1, 2, 3};
    fake_init(&f, z1, 3, 3);
    LT_CHECK_OK(
        lt_objective_kd(&f.acts, u, targets, 1.0f, 0, 0.0, 1.0, 1.0f, &loss)); // normaliser 1: sums
    LT_CHECK_CLOSE(loss.loss, log(2.0) / 3 / 2, 1e-7, 1e-6);
    for (int i = 0; i < 3; i++) LT_CHECK_CLOSE(z1[i], 2 * expect[i], 1e-7, 1e-6);

    // Half cross-entropy at tau = 2: row 0 adds 1/2 ln 3 (uniform student,
    // target 0), row 2 adds 1/2 ln(1 + e^-1 + e^-2) (target = the largest).
    float z2[9] = {0, 0, 0, 9, 9, 9, 1, 2, 3};
    fake_init(&f, z2, 3, 3);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 2.0f, 0, 0.5, 0, 1.0f, &loss));
    double ce2 = log(1 + exp(-1.0) + exp(-2.0));
    LT_CHECK_CLOSE(loss.loss, (0.5 * 2 * log(9.0 / 8.0) + 0.5 * log(3.0) + 0.5 * ce2) / 2, 1e-7,
                   1e-6);
    // row 0: (0.5 * 2 * (q - p) + 0.5 * (1/3 - onehot(0))) / 2
    LT_CHECK_CLOSE(z2[0], (0.5 * 2 * (1.0 / 3 - 0.5) + 0.5 * (1.0 / 3 - 1)) / 2, 1e-7, 1e-6);
    LT_CHECK_CLOSE(z2[1], (0.5 * 2 * (1.0 / 3 - 0.25) + 0.5 / 3) / 2, 1e-7, 1e-6);
}

// k = V is the full vocabulary, bit for bit; k = V - 1 drops one logit so
// far below the rest that its teacher probability is below 1e-80: equal to
// rounding.
static void test_kd_top_k_equals_full(void) {
    int64_t N = 6, V = 40;
    float z[240], u[240], g_full[240], g_k[240], g_k1[240];
    int32_t targets[6] = {1, 2, -1, 4, 5, 39};
    random_fill(z, N * V, 2.0, 7);
    random_fill(u, N * V, 2.0, 8);
    for (int64_t n = 0; n < N; n++) u[n * V + (n * 7) % V] = -400.0f;
    fake_student f;
    lt_loss full, k_eq_v, k_less;
    memcpy(g_full, z, sizeof z), fake_init(&f, g_full, N, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 1.7f, 0, 0.2, 0, 1.0f, &full));
    memcpy(g_k, z, sizeof z), fake_init(&f, g_k, N, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 1.7f, V, 0.2, 0, 1.0f, &k_eq_v));
    memcpy(g_k1, z, sizeof z), fake_init(&f, g_k1, N, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 1.7f, V - 1, 0.2, 0, 1.0f, &k_less));
    LT_CHECK(full.loss == k_eq_v.loss);
    LT_CHECK(memcmp(g_full, g_k, sizeof g_full) == 0);
    LT_CHECK_CLOSE(k_less.loss, full.loss, 1e-7, 1e-6);
    for (int64_t i = 0; i < N * V; i++) LT_CHECK_CLOSE(g_k1[i], g_full[i], 1e-7, 1e-6);
}

// ce_weight 1 is plain cross-entropy: loss and dlogits as lt_objective_xent,
// including the normaliser and dloss_scale.
static void test_kd_ce_weight_one_is_xent(void) {
    int64_t N = 7, V = 33;
    float z[231], a[231], b[231], u[231];
    int32_t targets[7] = {0, 32, -100, 5, 17, -1, 8};
    random_fill(z, N * V, 3.0, 9);
    random_fill(u, N * V, 3.0, 10);
    fake_student f;
    lt_loss kd, xent;
    memcpy(a, z, sizeof z), fake_init(&f, a, N, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 3.0f, 4, 1.0, 12.0, 0.5f, &kd));
    memcpy(b, z, sizeof z), fake_init(&f, b, N, V);
    LT_CHECK_OK(lt_objective_xent(&f.acts, targets, 12.0, 0.5f, &xent));
    LT_CHECK_CLOSE(kd.loss, xent.loss, 1e-6, 1e-6);
    LT_CHECK_INT(kd.n_counted, xent.n_counted);
    for (int64_t i = 0; i < N * V; i++) LT_CHECK_CLOSE(a[i], b[i], 1e-8, 1e-5);
}

// A masked row adds nothing to the loss and gets a zero gradient, whatever
// its logits: the loss equals the loss of the counted rows alone.
static void test_kd_masked_rows(void) {
    int64_t V = 20;
    float z[60], u[60], alone_z[40], alone_u[40];
    int32_t targets[3] = {4, -100, 7}, alone_targets[2] = {4, 7};
    random_fill(z, 3 * V, 2.0, 11);
    random_fill(u, 3 * V, 2.0, 12);
    for (int64_t j = 0; j < V; j++)
        z[V + j] = 1e4f * (float)j, u[V + j] = -1e4f * (float)j; // huge in the masked row
    memcpy(alone_z, z, (size_t)V * sizeof *z),
        memcpy(alone_z + V, z + 2 * V, (size_t)V * sizeof *z);
    memcpy(alone_u, u, (size_t)V * sizeof *u),
        memcpy(alone_u + V, u + 2 * V, (size_t)V * sizeof *u);
    fake_student f;
    lt_loss with_mask, alone;
    fake_init(&f, z, 3, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 2.0f, 6, 0.3, 0, 1.0f, &with_mask));
    fake_init(&f, alone_z, 2, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, alone_u, alone_targets, 2.0f, 6, 0.3, 0, 1.0f, &alone));
    LT_CHECK(isfinite(with_mask.loss));
    LT_CHECK_CLOSE(with_mask.loss, alone.loss, 1e-7, 1e-6);
    LT_CHECK_INT(with_mask.n_counted, 2);
    for (int64_t j = 0; j < V; j++) {
        LT_CHECK(z[V + j] == 0.0f);
        LT_CHECK_CLOSE(z[j], alone_z[j], 1e-8, 1e-6);
        LT_CHECK_CLOSE(z[2 * V + j], alone_z[V + j], 1e-8, 1e-6);
    }
    // Without targets every row counts and the cross-entropy weight must be 0.
    random_fill(z, 3 * V, 2.0, 13);
    fake_init(&f, z, 3, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, NULL, 2.0f, 0, 0.0, 0, 1.0f, &with_mask));
    LT_CHECK_INT(with_mask.n_counted, 3);
}

// The top-k selection on a row worked by hand: the 6 largest of row2 are
// 3.0 (id 0), 2.5 (2), 2.0 (5), 1.2 (8), 1.0 (1) and the first 0.5 (id 4,
// not 9); ids come out in increasing order. k = V keeps every id.
static void test_top_k_select_by_hand(void) {
    static const float row[11] = {3.0f,  1.0f, 2.5f, -1.0f, 0.5f, 2.0f,
                                  -2.0f, 0.1f, 1.2f, 0.5f,  -0.3f};
    int32_t ids[11];
    float values[11];
    LT_CHECK_OK(lt_objective_kd_top_k_select(row, 1, 11, 6, ids, values));
    static const int32_t expect[6] = {0, 1, 2, 4, 5, 8};
    for (int i = 0; i < 6; i++) {
        LT_CHECK_INT(ids[i], expect[i]);
        LT_CHECK(values[i] == row[expect[i]]);
    }
    LT_CHECK_OK(lt_objective_kd_top_k_select(row, 1, 11, 11, ids, values));
    for (int i = 0; i < 11; i++) LT_CHECK_INT(ids[i], i);
    LT_CHECK_OK(lt_objective_kd_top_k_select(row, 1, 11, 1, ids, values));
    LT_CHECK_INT(ids[0], 0);
}

// The teacher kept as (N, k) ids and values gives lt_objective_kd's top-k
// loss (checked against the float64 reference) and gradient.
static void test_kd_sparse_equals_dense(void) {
    int64_t N = FD_N, V = FD_V;
    float z[FD_N * FD_V], u[FD_N * FD_V], dense[FD_N * FD_V], sparse[FD_N * FD_V],
        values[FD_N * FD_V];
    int32_t ids[FD_N * FD_V], targets[FD_N] = {3, -100, 0, 10, 7};
    random_fill(z, N * V, 1.5, 1);
    random_fill(u, N * V, 2.0, 2);
    static const float row2[FD_V] = {3.0f,  1.0f, 2.5f, -1.0f, 0.5f, 2.0f,
                                     -2.0f, 0.1f, 1.2f, 0.5f,  -0.3f};
    memcpy(u + 2 * V, row2, sizeof row2);
    double zd[FD_N * FD_V];
    for (int64_t i = 0; i < N * V; i++) zd[i] = z[i];
    static const int64_t ks[4] = {1, 4, 6, FD_V};
    for (int c = 0; c < 4; c++) {
        int64_t k = ks[c];
        fake_student f;
        lt_loss a, b;
        memcpy(dense, z, sizeof z), fake_init(&f, dense, N, V);
        LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 1.5f, k, 0.3, 0, 1.0f, &a));
        LT_CHECK_OK(lt_objective_kd_top_k_select(u, N, V, k, ids, values));
        memcpy(sparse, z, sizeof z), fake_init(&f, sparse, N, V);
        LT_CHECK_OK(
            lt_objective_kd_sparse(&f.acts, ids, values, k, targets, 1.5f, 0.3, 0, 1.0f, &b));
        LT_CHECK_CLOSE(b.loss, ref_kd_loss(zd, u, targets, N, V, 1.5, k, 0.3), 1e-6, 1e-5);
        LT_CHECK_CLOSE(b.loss, a.loss, 1e-7, 1e-6);
        for (int64_t i = 0; i < N * V; i++) LT_CHECK_CLOSE(sparse[i], dense[i], 1e-7, 1e-5);
    }
}

// Rows are independent: 64 rows of 1024 (enough for the threaded loop, run
// here on 2 threads) equal each row computed alone, bit for bit.
static void test_kd_batch_equals_rows(void) {
    int64_t N = 64, V = 1024;
    float *z = malloc((size_t)(N * V) * sizeof *z), *u = malloc((size_t)(N * V) * sizeof *u);
    float *batched = malloc((size_t)(N * V) * sizeof *z),
          *alone = malloc((size_t)(N * V) * sizeof *z);
    int32_t targets[64];
    for (int64_t n = 0; n < N; n++) targets[n] = n % 9 == 4 ? -1 : (int32_t)((n * 37) % V);
    random_fill(z, N * V, 2.0, 41);
    random_fill(u, N * V, 2.0, 42);
    int threads = lt_threads_get();
    lt_threads_set(2);
    fake_student f;
    lt_loss all, one;
    double sum = 0;
    memcpy(batched, z, (size_t)(N * V) * sizeof *z), fake_init(&f, batched, N, V);
    LT_CHECK_OK(lt_objective_kd(&f.acts, u, targets, 1.3f, 50, 0.2, 10.0, 1.0f, &all));
    lt_threads_set(threads);
    memcpy(alone, z, (size_t)(N * V) * sizeof *z);
    for (int64_t n = 0; n < N; n++) {
        fake_init(&f, alone + n * V, 1, V);
        LT_CHECK_OK(
            lt_objective_kd(&f.acts, u + n * V, targets + n, 1.3f, 50, 0.2, 10.0, 1.0f, &one));
        sum += one.loss_sum;
    }
    LT_CHECK_CLOSE(all.loss_sum, sum, 1e-12, 1e-12);
    LT_CHECK(memcmp(batched, alone, (size_t)(N * V) * sizeof *z) == 0);
    free(z), free(u), free(batched), free(alone);
}

// ---------------------------------------------------------------- through a model

static lt_model *tiny_model(const char *preset, uint64_t seed) {
    lt_config cfg;
    lt_model *m = NULL;
    LT_CHECK_OK(lt_config_preset(&cfg, preset));
    cfg.initializer_range = 0.08;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    lt_model_init_random(m, seed);
    return m;
}

static void tiny_batch(lt_batch *b, int32_t *ids, int32_t *targets, int64_t B, int64_t T,
                       int64_t V) {
    lt_rng rng;
    lt_rng_seed(&rng, 21);
    for (int64_t i = 0; i < B * T; i++) {
        ids[i] = (int32_t)lt_rng_below(&rng, (uint32_t)V);
        targets[i] = i % 4 == 1 ? -100 : (int32_t)lt_rng_below(&rng, (uint32_t)V);
    }
    *b = (lt_batch){.B = B, .T = T, .ids = ids, .targets = targets};
}

// A teacher with the student's own weights: KD and the hidden-state term are
// zero to rounding, and so are their gradients. The teacher runs one row at a
// time through lt_objective_teacher_forward, the student two at once.
static void test_identical_teacher(void) {
    lt_model *student = tiny_model("tiny-hetero", 3), *teacher = tiny_model("tiny-hetero", 3);
    int64_t B = 2, T = 8, N = B * T, V = student->cfg.vocab, C = student->cfg.hidden,
            L = student->cfg.n_layers;
    int32_t ids[16], targets[16];
    lt_batch batch;
    tiny_batch(&batch, ids, targets, B, T, V);
    lt_acts *a = NULL, *scratch = NULL;
    LT_CHECK_OK(lt_acts_init(&a, student, B, T));
    LT_CHECK_OK(lt_acts_init(&scratch, teacher, 1, T));
    float *t_logits = calloc((size_t)(N * V), sizeof(float));
    float *t_hidden[7] = {0}, *dhidden[7] = {0};
    for (int64_t l = 0; l <= L; l++) t_hidden[l] = calloc((size_t)(N * C), sizeof(float));
    LT_CHECK_OK(lt_objective_teacher_forward(teacher, scratch, &batch, t_logits, t_hidden));
    int32_t *top_ids = calloc((size_t)(N * 8), sizeof(int32_t)),
            *sel_ids = calloc((size_t)(N * 8), sizeof(int32_t));
    float *top_values = calloc((size_t)(N * 8), sizeof(float)),
          *sel_values = calloc((size_t)(N * 8), sizeof(float));
    LT_CHECK_OK(
        lt_objective_teacher_forward_top_k(teacher, scratch, &batch, 8, top_ids, top_values, NULL));
    LT_CHECK_OK(lt_objective_kd_top_k_select(t_logits, N, V, 8, sel_ids, sel_values));
    LT_CHECK(memcmp(top_ids, sel_ids, (size_t)(N * 8) * sizeof(int32_t)) == 0);
    LT_CHECK(memcmp(top_values, sel_values, (size_t)(N * 8) * sizeof(float)) == 0);
    free(top_ids), free(sel_ids), free(top_values), free(sel_values);
    LT_CHECK_OK(lt_model_forward(student, a, &batch));
    lt_loss hid;
    LT_CHECK_OK(lt_objective_hidden_cos(a, (const float *const *)t_hidden, L, C, targets, NULL, 0,
                                        1.0, 0, 1.0f, dhidden, &hid));
    LT_CHECK(fabs(hid.loss) < 1e-6);
    for (int64_t l = 1; l <= L; l++) {
        LT_CHECK(dhidden[l] != NULL);
        double mx = 0;
        for (int64_t i = 0; dhidden[l] && i < N * C; i++) mx = fmax(mx, fabs(dhidden[l][i]));
        LT_CHECK_MSG(mx < 1e-7, "layer %lld: largest gradient %g", (long long)l, mx);
    }
    LT_CHECK(dhidden[0] == NULL); // not listed: untouched
    lt_loss kd;
    LT_CHECK_OK(lt_objective_kd(a, t_logits, targets, 2.0f, 0, 0.0, 0, 1.0f, &kd));
    LT_CHECK(fabs(kd.loss) < 1e-6);
    double mx = 0;
    for (int64_t i = 0; i < N * V; i++) mx = fmax(mx, fabs(a->logits[i]));
    LT_CHECK_MSG(mx < 1e-7, "largest dlogit %g", mx);
    for (int64_t l = 0; l <= L; l++) free(t_hidden[l]), lt_free(dhidden[l]);
    free(t_logits);
    lt_acts_free(scratch);
    lt_acts_free(a);
    lt_model_free(teacher);
    lt_model_free(student);
}

typedef struct {
    lt_model *m;
    lt_acts *a;
    lt_batch batch;
    const float *const *teacher_hidden;
    const int64_t *layers;
    int64_t n_list;
} cos_setup;

static double cos_loss(cos_setup *s) {
    lt_loss loss = {0};
    LT_CHECK_OK(lt_model_forward(s->m, s->a, &s->batch));
    LT_CHECK_OK(lt_objective_hidden_cos(s->a, s->teacher_hidden, s->m->cfg.n_layers,
                                        s->m->cfg.hidden, s->batch.targets, s->layers, s->n_list,
                                        0.7, 0, 1.0f, NULL, &loss));
    return loss.loss;
}

// The cosine term's gradient reaches the parameters through
// lt_model_backward's dhidden: for every tensor, a random direction's
// derivative against a fourth-order central difference of the f32 forward's
// loss. The step moves each entry by 1% of the tensor's RMS; the loss
// (about 1) is computed to ~1e-6, so the difference is good to ~1e-6 / step
// — tolerance 1e-2 relative to the direction's derivative (~0.1 or more).
static void test_hidden_cos_gradient(void) {
    cos_setup s = {0};
    s.m = tiny_model("tiny-hetero", 5);
    lt_model *teacher = tiny_model("tiny-hetero", 6);
    int64_t B = 2, T = 8, N = B * T, C = s.m->cfg.hidden, L = s.m->cfg.n_layers, V = s.m->cfg.vocab;
    int32_t ids[16], targets[16];
    tiny_batch(&s.batch, ids, targets, B, T, V);
    lt_acts *scratch = NULL;
    LT_CHECK_OK(lt_acts_init(&s.a, s.m, B, T));
    LT_CHECK_OK(lt_acts_init(&scratch, teacher, B, T));
    float *t_logits = calloc((size_t)(N * V), sizeof(float));
    float *t_hidden[7] = {0}, *dhidden[7] = {0};
    for (int64_t l = 0; l <= L; l++) t_hidden[l] = calloc((size_t)(N * C), sizeof(float));
    LT_CHECK_OK(lt_objective_teacher_forward(teacher, scratch, &s.batch, t_logits, t_hidden));
    static const int64_t layers[4] = {0, 2, 3, 6};
    s.teacher_hidden = (const float *const *)t_hidden, s.layers = layers, s.n_list = 4;

    lt_loss loss;
    LT_CHECK_OK(lt_model_forward(s.m, s.a, &s.batch));
    LT_CHECK_OK(lt_objective_hidden_cos(s.a, s.teacher_hidden, L, C, targets, layers, 4, 0.7, 0,
                                        1.0f, dhidden, &loss));
    LT_CHECK(loss.loss > 0.1);
    memset(s.a->logits, 0, (size_t)(N * V) * sizeof(float)); // no logits objective
    float *grads = calloc((size_t)s.m->n_params, sizeof *grads);
    LT_CHECK_OK(lt_model_backward(s.m, s.a, grads, (const float *const *)dhidden));
    lt_rng rng;
    lt_rng_seed(&rng, 31);
    double worst = 0;
    int checked = 0;
    for (int t = 0; t < s.m->n_tensors; t++) {
        const lt_param *p = &s.m->tensors[t];
        float *w = s.m->params + p->offset, *saved = malloc((size_t)p->numel * sizeof *saved);
        float *d = malloc((size_t)p->numel * sizeof *d);
        memcpy(saved, w, (size_t)p->numel * sizeof *saved);
        double analytic = 0, rms = 0;
        for (int64_t i = 0; i < p->numel; i++) {
            d[i] = lt_rng_normal(&rng);
            analytic += (double)d[i] * grads[p->offset + i];
            rms += (double)saved[i] * saved[i];
        }
        double h = 0.01 * sqrt(rms / (double)p->numel);
        static const double steps[4] = {2, 1, -1, -2}, coef[4] = {-1, 8, -8, 1};
        double acc = 0;
        for (int k = 0; k < 4; k++) {
            for (int64_t i = 0; i < p->numel; i++) w[i] = saved[i] + (float)(steps[k] * h) * d[i];
            acc += coef[k] * cos_loss(&s);
        }
        memcpy(w, saved, (size_t)p->numel * sizeof *saved);
        double numeric = acc / (12 * h);
        if (strstr(p->name, "lm_head") ||
            strstr(p->name, "model.norm")) { // after the last hidden state
            LT_CHECK_MSG(analytic == 0 && fabs(numeric) < 1e-6, "%s: %g %g", p->name, analytic,
                         numeric);
        } else {
            double rel = fabs(numeric - analytic) / fmax(fabs(analytic), 1e-2);
            worst = fmax(worst, rel);
            checked++;
            LT_CHECK_MSG(rel <= 1e-2, "%s: derivative %.9g, finite difference %.9g (rel %.3g)",
                         p->name, analytic, numeric, rel);
        }
        free(saved);
        free(d);
    }
    fprintf(stderr, "  worst cosine-term gradient error %.3g over %d tensors\n", worst, checked);
    for (int64_t l = 0; l <= L; l++) free(t_hidden[l]), lt_free(dhidden[l]);
    free(grads);
    free(t_logits);
    lt_acts_free(scratch);
    lt_acts_free(s.a);
    lt_model_free(teacher);
    lt_model_free(s.m);
}

// ---------------------------------------------------------------- bad arguments

static void test_bad_kd_arguments(void) {
    float z[6] = {0}, u[6] = {0};
    int32_t targets[2] = {0, 1}, outside[2] = {0, 3};
    fake_student f;
    fake_init(&f, z, 2, 3);
    lt_loss l;
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, 0.0f, 0, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "temperature 0 must be");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, -1.0f, 0, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "temperature -1 must be");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, NAN, 0, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "temperature");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, INFINITY, 0, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "temperature");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, 1.0f, -1, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "top-k -1 must be >= 0");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, 1.0f, 0, -0.1, 0, 1.0f, &l), LT_ERR_ARG,
                 "weight -0.1 must be in [0, 1]");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, 1.0f, 0, 1.5, 0, 1.0f, &l), LT_ERR_ARG,
                 "weight 1.5 must be in [0, 1]");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, targets, 1.0f, 0, NAN, 0, 1.0f, &l), LT_ERR_ARG,
                 "cross-entropy weight");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, NULL, 1.0f, 0, 0.5, 0, 1.0f, &l), LT_ERR_ARG,
                 "needs targets");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, NULL, targets, 1.0f, 0, 0.0, 0, 1.0f, &l), LT_ERR_ARG,
                 "no teacher logits");
    LT_CHECK_ERR(lt_objective_kd(&f.acts, u, outside, 1.0f, 0, 0.0, 0, 1.0f, &l), LT_ERR_RANGE,
                 "target id 3 at position 1");
    lt_loss kl, ce;
    LT_CHECK_ERR(lt_objective_kd_eval(&f.acts, u, targets, 0.0f, 0, &kl, &ce), LT_ERR_ARG,
                 "temperature");
    int32_t ids[6] = {0, 1, 2, 0, 1, 2}, bad_ids[6] = {0, 1, 2, 0, 3, 2};
    LT_CHECK_ERR(lt_objective_kd_sparse(&f.acts, ids, u, 0, targets, 1.0f, 0.0, 0, 1.0f, &l),
                 LT_ERR_ARG, "0 teacher logits per position");
    LT_CHECK_ERR(lt_objective_kd_sparse(&f.acts, ids, u, 4, targets, 1.0f, 0.0, 0, 1.0f, &l),
                 LT_ERR_ARG, "4 teacher logits per position; expected 1 to the vocabulary size 3");
    LT_CHECK_ERR(lt_objective_kd_sparse(&f.acts, bad_ids, u, 3, targets, 1.0f, 0.0, 0, 1.0f, &l),
                 LT_ERR_RANGE, "teacher top-k id 3 at position 1");
    LT_CHECK_ERR(lt_objective_kd_sparse(&f.acts, NULL, u, 3, targets, 1.0f, 0.0, 0, 1.0f, &l),
                 LT_ERR_ARG, "no teacher top-k ids");
    LT_CHECK_ERR(lt_objective_kd_sparse(&f.acts, ids, u, 3, targets, -2.0f, 0.0, 0, 1.0f, &l),
                 LT_ERR_ARG, "temperature -2");
    float values[6];
    LT_CHECK_ERR(lt_objective_kd_top_k_select(u, 2, 3, 0, ids, values), LT_ERR_ARG,
                 "k = 0; expected 1 to the vocabulary size 3");
    LT_CHECK_ERR(lt_objective_kd_top_k_select(u, 2, 3, 4, ids, values), LT_ERR_ARG, "k = 4");
}

static void test_bad_hidden_arguments(void) {
    lt_model *m = tiny_model("tiny", 1);
    int64_t B = 1, T = 4, N = 4, C = m->cfg.hidden, L = m->cfg.n_layers;
    int32_t ids[4], targets[4];
    lt_batch batch;
    tiny_batch(&batch, ids, targets, B, T, m->cfg.vocab);
    lt_acts *a = NULL;
    LT_CHECK_OK(lt_acts_init(&a, m, B, T));
    LT_CHECK_OK(lt_model_forward(m, a, &batch));
    float *h = calloc((size_t)(N * C), sizeof(float));
    const float *th[3] = {h, h, h}, *missing[3] = {h, NULL, h};
    float *dh[3] = {0};
    lt_loss l;
    int64_t out_of_range[1] = {3}, negative[1] = {-1}, twice[2] = {1, 1}, one[1] = {1};
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L + 1, C, NULL, NULL, 0, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "teacher has 3, student 2");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C * 2, NULL, NULL, 0, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "same hidden size: teacher has 128, student 64");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C, NULL, out_of_range, 1, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_RANGE, "layer 3 is outside [0, 2]");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C, NULL, negative, 1, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_RANGE, "layer -1 is outside");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C, NULL, twice, 2, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "layer 1 is listed twice");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C, NULL, one, 0, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "layer list is empty");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, th, L, C, NULL, NULL, 0, -1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "weight -1 must be");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, missing, L, C, NULL, NULL, 0, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "hidden state 1 is missing");
    LT_CHECK_ERR(lt_objective_hidden_cos(a, NULL, L, C, NULL, NULL, 0, 1.0, 0, 1.0f, dh, &l),
                 LT_ERR_ARG, "no teacher hidden states");
    LT_CHECK(dh[0] == NULL && dh[1] == NULL && dh[2] == NULL); // nothing allocated on errors
    // Zero hidden states (the teacher's h here) stay finite: the norms are clamped.
    LT_CHECK_OK(lt_objective_hidden_cos(a, th, L, C, NULL, NULL, 0, 1.0, 0, 1.0f, dh, &l));
    LT_CHECK(isfinite(l.loss) && fabs(l.loss - 2.0) < 1e-12); // cos 0 on both layers
    for (int i = 0; i < 3; i++) lt_free(dh[i]);

    lt_model *other = tiny_model("tiny", 2);
    float *logits = calloc((size_t)(N * m->cfg.vocab), sizeof(float));
    LT_CHECK_ERR(lt_objective_teacher_forward(other, a, &batch, logits, NULL), LT_ERR_ARG,
                 "belong to another model");
    LT_CHECK_ERR(lt_objective_teacher_forward(m, a, &batch, NULL, NULL), LT_ERR_ARG,
                 "no buffer for the teacher's logits");
    int32_t top_ids[4];
    float top_values[4];
    LT_CHECK_ERR(lt_objective_teacher_forward_top_k(m, a, &batch, 0, top_ids, top_values, NULL),
                 LT_ERR_ARG, "top-k 0; expected 1");
    LT_CHECK_ERR(lt_objective_teacher_forward_top_k(m, a, &batch, 1, NULL, top_values, NULL),
                 LT_ERR_ARG, "no buffers");
    lt_acts *three = NULL;
    int32_t ids2[8] = {0}, targets2[8] = {0};
    lt_batch two_rows;
    tiny_batch(&two_rows, ids2, targets2, 2, T, m->cfg.vocab);
    LT_CHECK_OK(lt_acts_init(&three, other, 3, T));
    LT_CHECK_ERR(lt_objective_teacher_forward(other, three, &two_rows, logits, NULL), LT_ERR_ARG,
                 "do not divide a batch of (2, 4)");
    lt_acts_free(three);
    free(logits);
    lt_model_free(other);
    free(h);
    lt_acts_free(a);
    lt_model_free(m);
}

int main(void) {
    LT_RUN(test_kd_gradient_full);
    LT_RUN(test_kd_gradient_top_k);
    LT_RUN(test_kd_temperature_by_hand);
    LT_RUN(test_kd_top_k_equals_full);
    LT_RUN(test_kd_ce_weight_one_is_xent);
    LT_RUN(test_kd_masked_rows);
    LT_RUN(test_top_k_select_by_hand);
    LT_RUN(test_kd_sparse_equals_dense);
    LT_RUN(test_kd_batch_equals_rows);
    LT_RUN(test_identical_teacher);
    LT_RUN(test_hidden_cos_gradient);
    LT_RUN(test_bad_kd_arguments);
    LT_RUN(test_bad_hidden_arguments);
    return lt_test_finish();
}
