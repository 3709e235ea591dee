// test_kernels.c: the row-wise and element-wise kernels (RMSNorm, RoPE,
// SwiGLU, cross-entropy, embedding) and the linear layer: hand-computed values,
// fast path against the scalar reference on awkward sizes (including sizes
// large enough to take the threaded path), and every backward against finite
// differences (see lt_kernel_test.h for the exact criterion). Attention has its
// own file, test_kernels_attention.c.
//
// Tolerances: fast vs reference 1e-5 relative plus 1e-6 of the array's largest
// value (f32 rounding in a different order; the reference works in double);
// finite differences 1e-3 relative with the step stated at each call.
#include "lathe/gemm.h"
#include "lathe/kernels.h"
#include "kernels/kernels_internal.h"
#include "lt_kernel_test.h"

#define FAST_RTOL 1e-5
#define FAST_ATOL 1e-6
#define FD_TOL 1e-3
#define FD_ENTRIES 16

// ---------------------------------------------------------------- RMSNorm

static void test_rmsnorm_known(void) {
    // x = (3, 4): mean(x^2) = 12.5, eps = 0, w = (1, 2) -> y = (3, 8) / sqrt(12.5)
    float x[2] = {3, 4}, w[2] = {1, 2}, y[2], rstd[1];
    lt_rmsnorm_forward(y, rstd, x, w, 1, 2, 0.0f);
    LT_CHECK_CLOSE(rstd[0], 1.0 / sqrt(12.5), 0, 1e-7);
    LT_CHECK_CLOSE(y[0], 3.0 / sqrt(12.5), 0, 1e-7);
    LT_CHECK_CLOSE(y[1], 8.0 / sqrt(12.5), 0, 1e-7);
    // eps matters for a zero row: rstd = 1 / sqrt(eps)
    float z[3] = {0, 0, 0}, w3[3] = {1, 1, 1}, y3[3];
    lt_rmsnorm_forward(y3, rstd, z, w3, 1, 3, 1e-4f);
    LT_CHECK_CLOSE(rstd[0], 100.0, 0, 1e-6);
    LT_CHECK(y3[0] == 0.0f && y3[2] == 0.0f);
}

static void test_rmsnorm_fast_vs_ref(void) {
    static const int64_t sizes[][2] = {{1, 1}, {7, 131}, {3, 16}, {67, 517}};
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int64_t N = sizes[t][0], C = sizes[t][1];
        float *x = kt_normal(&rng, N * C, 2.0f), *w = kt_normal(&rng, C, 0.3f);
        for (int64_t c = 0; c < C; c++) w[c] += 1.0f;
        float *dy = kt_normal(&rng, N * C, 1.0f);
        float *y = kt_alloc(N * C), *y_ref = kt_alloc(N * C);
        float *rstd = kt_alloc(N), *rstd_ref = kt_alloc(N);
        lt_rmsnorm_forward(y, rstd, x, w, N, C, 1e-5f);
        lt_rmsnorm_forward_ref(y_ref, rstd_ref, x, w, N, C, 1e-5f);
        KT_CHECK_ARRAY(y, y_ref, N * C, FAST_RTOL, FAST_ATOL);
        KT_CHECK_ARRAY(rstd, rstd_ref, N, FAST_RTOL, FAST_ATOL);
        // backward accumulates: both start from the same nonzero values
        float *dx = kt_normal(&rng, N * C, 1.0f), *dw = kt_normal(&rng, C, 1.0f);
        float *dx_ref = kt_copy(dx, N * C), *dw_ref = kt_copy(dw, C);
        lt_rmsnorm_backward(dx, dw, dy, x, w, rstd_ref, N, C);
        lt_rmsnorm_backward_ref(dx_ref, dw_ref, dy, x, w, rstd_ref, N, C);
        KT_CHECK_ARRAY(dx, dx_ref, N * C, FAST_RTOL, FAST_ATOL);
        KT_CHECK_ARRAY(dw, dw_ref, C, FAST_RTOL, FAST_ATOL);
        lt_free(x), lt_free(w), lt_free(dy), lt_free(y), lt_free(y_ref), lt_free(rstd);
        lt_free(rstd_ref), lt_free(dx), lt_free(dw), lt_free(dx_ref), lt_free(dw_ref);
    }
}

typedef struct {
    float *x, *w, *y, *rstd, *R;
    int64_t N, C;
} rms_ctx;

static double rms_loss(void *p) {
    rms_ctx *c = p;
    lt_rmsnorm_forward(c->y, c->rstd, c->x, c->w, c->N, c->C, 1e-5f);
    return kt_dot(c->R, c->y, c->N * c->C);
}

static void test_rmsnorm_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 12);
    int64_t N = 5, C = 37;
    rms_ctx c = {.N = N, .C = C};
    c.x = kt_normal(&rng, N * C, 1.0f), c.w = kt_normal(&rng, C, 1.0f);
    c.R = kt_normal(&rng, N * C, 1.0f), c.y = kt_alloc(N * C), c.rstd = kt_alloc(N);
    float *dx = kt_alloc(N * C), *dw = kt_alloc(C);
    rms_loss(&c);
    lt_rmsnorm_backward(dx, dw, c.R, c.x, c.w, c.rstd, N, C);
    kt_gradcheck("rmsnorm dx", c.x, N * C, dx, rms_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    kt_gradcheck("rmsnorm dw", c.w, C, dw, rms_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    lt_free(c.x), lt_free(c.w), lt_free(c.R), lt_free(c.y), lt_free(c.rstd), lt_free(dx);
    lt_free(dw);
}

// ---------------------------------------------------------------- RoPE

// Llama 3.1's rope_scaling with theta 500000, head_dim 128. Expected values
// from an independent double-precision evaluation of the formula in
// transformers' _compute_llama3_parameters, run with /usr/bin/python3:
//   import math
//   theta, D, factor, low, high, orig = 500000.0, 128, 8.0, 1.0, 4.0, 8192
//   for i in [0, 10, 28, 29, 31, 34, 35, 63]:
//       f = 1.0 / theta ** (2 * i / D); w = 2 * math.pi / f
//       if w > orig / low: g = f / factor
//       elif w < orig / high: g = f
//       else:
//           s = (orig / w - low) / (high - low); g = (1 - s) * f / factor + s * f
//       print(i, repr(g))
// i <= 28 is high frequency (unchanged), 29..34 the interpolated band
// (smooth 0.80, 0.42, 0.07 at 29, 31, 34), i >= 35 divided by 8.
static void test_rope_llama3_inv_freq(void) {
    lt_rope_params p = {.theta = 500000.0,
                        .llama3 = true,
                        .factor = 8.0,
                        .low_freq_factor = 1.0,
                        .high_freq_factor = 4.0,
                        .original_max_position_embeddings = 8192};
    double inv[64];
    lt_rope_inv_freq(inv, 128, &p);
    static const struct {
        int i;
        double want;
    } cases[] = {{0, 1.0},
                 {10, 0.12868737343265052},
                 {28, 0.0032114459947525913},
                 {29, 0.002166570763503359},
                 {31, 0.0008567514129196321},
                 {34, 0.00017850781276799638},
                 {35, 9.556212353964683e-05},
                 {63, 3.068925988914511e-07}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        LT_CHECK_CLOSE(inv[cases[c].i], cases[c].want, 0, 1e-13);
    // Without scaling: theta^(-2i/D); i = 32 of D = 128 is theta^-0.5.
    p.llama3 = false;
    lt_rope_inv_freq(inv, 128, &p);
    LT_CHECK_CLOSE(inv[32], 1.0 / sqrt(500000.0), 0, 1e-14);
    LT_CHECK_CLOSE(inv[35], 9.556212353964683e-05 * 8.0, 0, 1e-13);
}

static void test_rope_tables(void) {
    lt_rope_params p = {.theta = 10000.0};
    double inv[8];
    float cos_t[50 * 8], sin_t[50 * 8];
    lt_rope_inv_freq(inv, 16, &p);
    lt_rope_tables(cos_t, sin_t, inv, 16, 50);
    LT_CHECK(cos_t[0] == 1.0f && sin_t[0] == 0.0f);
    // position 49, i = 0: angle 49 rad; i = 4: 49 * 10000^-0.5 = 0.49 rad
    LT_CHECK_CLOSE(cos_t[49 * 8 + 0], cos(49.0), 1e-7, 0);
    LT_CHECK_CLOSE(sin_t[49 * 8 + 0], sin(49.0), 1e-7, 0);
    LT_CHECK_CLOSE(cos_t[49 * 8 + 4], cos(0.49), 1e-7, 0);
    LT_CHECK_CLOSE(sin_t[49 * 8 + 4], sin(0.49), 1e-7, 0);
}

typedef struct {
    float *cos_t, *sin_t, *x, *work, *R;
    int32_t *pos;
    int64_t N, H, D;
} rope_ctx;

static rope_ctx rope_setup(lt_rng *rng, int64_t N, int64_t H, int64_t D, int64_t max_pos) {
    rope_ctx c = {.N = N, .H = H, .D = D};
    lt_rope_params p = {.theta = 500000.0,
                        .llama3 = true,
                        .factor = 8.0,
                        .low_freq_factor = 1.0,
                        .high_freq_factor = 4.0,
                        .original_max_position_embeddings = 64};
    double *inv = (double *)kt_alloc(D); // D floats hold D/2 doubles
    lt_rope_inv_freq(inv, D, &p);
    c.cos_t = kt_alloc(max_pos * D / 2), c.sin_t = kt_alloc(max_pos * D / 2);
    lt_rope_tables(c.cos_t, c.sin_t, inv, D, max_pos);
    lt_free(inv);
    c.pos = (int32_t *)kt_alloc(N);
    for (int64_t n = 0; n < N; n++) c.pos[n] = (int32_t)lt_rng_below(rng, (uint32_t)max_pos);
    c.x = kt_normal(rng, N * H * D, 1.0f), c.work = kt_alloc(N * H * D);
    c.R = kt_normal(rng, N * H * D, 1.0f);
    return c;
}

static void rope_free(rope_ctx *c) {
    lt_free(c->cos_t), lt_free(c->sin_t), lt_free(c->pos), lt_free(c->x), lt_free(c->work);
    lt_free(c->R);
}

// Against the HF formula written out in double: q * cos + rotate_half(q) * sin
// with rotate_half(q) = (-q[D/2:], q[:D/2]) and cos, sin repeated twice.
static void test_rope_forward_vs_formula(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 21);
    static const int64_t shapes[][3] = {{5, 3, 16}, {1, 1, 2}, {97, 4, 64}}; // N, H, D
    for (size_t t = 0; t < 3; t++) {
        int64_t N = shapes[t][0], H = shapes[t][1], D = shapes[t][2], half = D / 2;
        rope_ctx c = rope_setup(&rng, N, H, D, 300);
        float *want = kt_alloc(N * H * D);
        for (int64_t n = 0; n < N; n++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++) {
                    const float *v = c.x + (n * H + h) * D;
                    int64_t i = d % half;
                    double cs = c.cos_t[c.pos[n] * half + i], sn = c.sin_t[c.pos[n] * half + i];
                    double rot = d < half ? -(double)v[d + half] : (double)v[d - half];
                    want[(n * H + h) * D + d] = (float)(v[d] * cs + rot * sn);
                }
        memcpy(c.work, c.x, (size_t)(N * H * D) * 4);
        lt_rope_forward(c.work, c.cos_t, c.sin_t, c.pos, N, H, D);
        KT_CHECK_ARRAY(c.work, want, N * H * D, FAST_RTOL, FAST_ATOL);
        lt_free(want);
        rope_free(&c);
    }
}

// Forward then backward gives back the input; every head vector keeps its norm.
static void test_rope_inverse_and_norm(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 22);
    int64_t N = 33, H = 3, D = 32;
    rope_ctx c = rope_setup(&rng, N, H, D, 2048);
    memcpy(c.work, c.x, (size_t)(N * H * D) * 4);
    lt_rope_forward(c.work, c.cos_t, c.sin_t, c.pos, N, H, D);
    double worst = 0.0;
    for (int64_t v = 0; v < N * H; v++) {
        double a = 0.0, b = 0.0;
        for (int64_t d = 0; d < D; d++) {
            a += (double)c.x[v * D + d] * c.x[v * D + d];
            b += (double)c.work[v * D + d] * c.work[v * D + d];
        }
        worst = fmax(worst, fabs(sqrt(b) - sqrt(a)) / sqrt(a));
    }
    LT_CHECK_MSG(worst <= 1e-6, "rope changes a head vector's norm by %g (relative)", worst);
    lt_rope_backward(c.work, c.cos_t, c.sin_t, c.pos, N, H, D);
    KT_CHECK_ARRAY(c.work, c.x, N * H * D, 1e-6, 1e-6);
    rope_free(&c);
}

static double rope_loss(void *p) {
    rope_ctx *c = p;
    memcpy(c->work, c->x, (size_t)(c->N * c->H * c->D) * 4);
    lt_rope_forward(c->work, c->cos_t, c->sin_t, c->pos, c->N, c->H, c->D);
    return kt_dot(c->R, c->work, c->N * c->H * c->D);
}

static void test_rope_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 23);
    rope_ctx c = rope_setup(&rng, 6, 2, 8, 100);
    int64_t n = 6 * 2 * 8;
    float *dx = kt_copy(c.R, n);
    lt_rope_backward(dx, c.cos_t, c.sin_t, c.pos, 6, 2, 8);
    kt_gradcheck("rope dx", c.x, n, dx, rope_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    lt_free(dx);
    rope_free(&c);
}

// ---------------------------------------------------------------- SwiGLU

static void test_swiglu_known(void) {
    // silu(0) = 0; silu(1) = 1 / (1 + e^-1); silu(-1) = -1 / (1 + e); large |g|: g or 0
    float g[5] = {0, 1, -1, 100, -100}, u[5] = {2, 3, 3, 0.5f, 7}, h[5];
    lt_swiglu_forward(h, g, u, 5);
    LT_CHECK(h[0] == 0.0f);
    LT_CHECK_CLOSE(h[1], 3.0 / (1.0 + exp(-1.0)), 0, 2e-7);
    LT_CHECK_CLOSE(h[2], -3.0 / (1.0 + exp(1.0)), 0, 2e-7);
    LT_CHECK_CLOSE(h[3], 50.0, 0, 1e-7);
    LT_CHECK_CLOSE(h[4], 0.0, 1e-30, 0);
}

static void test_swiglu_fast_vs_ref(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 31);
    static const int64_t sizes[] = {1, 17, 1001, 40000};
    for (size_t t = 0; t < 4; t++) {
        int64_t n = sizes[t];
        float *g = kt_normal(&rng, n, 4.0f), *u = kt_normal(&rng, n, 1.0f);
        float *dh = kt_normal(&rng, n, 1.0f);
        if (n > 4) g[0] = 30.0f, g[1] = -30.0f, g[2] = 90.0f, g[3] = -90.0f;
        float *h = kt_alloc(n), *h_ref = kt_alloc(n);
        lt_swiglu_forward(h, g, u, n);
        lt_swiglu_forward_ref(h_ref, g, u, n);
        KT_CHECK_ARRAY(h, h_ref, n, FAST_RTOL, FAST_ATOL);
        float *dg = kt_normal(&rng, n, 1.0f), *du = kt_normal(&rng, n, 1.0f);
        float *dg_ref = kt_copy(dg, n), *du_ref = kt_copy(du, n);
        lt_swiglu_backward(dg, du, dh, g, u, n);
        lt_swiglu_backward_ref(dg_ref, du_ref, dh, g, u, n);
        KT_CHECK_ARRAY(dg, dg_ref, n, FAST_RTOL, FAST_ATOL);
        KT_CHECK_ARRAY(du, du_ref, n, FAST_RTOL, FAST_ATOL);
        lt_free(g), lt_free(u), lt_free(dh), lt_free(h), lt_free(h_ref), lt_free(dg);
        lt_free(du), lt_free(dg_ref), lt_free(du_ref);
    }
}

typedef struct {
    float *g, *u, *h, *R;
    int64_t n;
} swiglu_ctx;

static double swiglu_loss(void *p) {
    swiglu_ctx *c = p;
    lt_swiglu_forward(c->h, c->g, c->u, c->n);
    return kt_dot(c->R, c->h, c->n);
}

static void test_swiglu_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 32);
    int64_t n = 77;
    swiglu_ctx c = {.n = n};
    c.g = kt_normal(&rng, n, 2.0f), c.u = kt_normal(&rng, n, 1.0f), c.R = kt_normal(&rng, n, 1.0f);
    c.h = kt_alloc(n);
    float *dg = kt_alloc(n), *du = kt_alloc(n);
    lt_swiglu_backward(dg, du, c.R, c.g, c.u, n);
    kt_gradcheck("swiglu dgate", c.g, n, dg, swiglu_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    kt_gradcheck("swiglu dup", c.u, n, du, swiglu_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    lt_free(c.g), lt_free(c.u), lt_free(c.R), lt_free(c.h), lt_free(dg), lt_free(du);
}

// ---------------------------------------------------------------- cross-entropy

static void test_xent_known(void) {
    // Uniform logits: every row loses log(V) and its gradient is 1/V - onehot.
    int64_t N = 3, V = 1000;
    float *logits = kt_alloc(N * V), *losses = kt_alloc(N);
    for (int64_t i = 0; i < N * V; i++) logits[i] = 3.7f;
    int32_t targets[3] = {0, 999, 512};
    LT_CHECK_INT(lt_xent_forward(losses, logits, targets, N, V), 3);
    for (int n = 0; n < 3; n++) LT_CHECK_CLOSE(losses[n], log(1000.0), 0, 1e-6);
    lt_xent_forward_backward(logits, losses, targets, N, V, 0.5f);
    LT_CHECK_CLOSE(losses[1], log(1000.0), 0, 1e-6);
    LT_CHECK_CLOSE(logits[0], (1.0 / 1000 - 1.0) * 0.5, 0, 1e-6);
    LT_CHECK_CLOSE(logits[1], 0.5 / 1000, 0, 1e-6);
    LT_CHECK_CLOSE(logits[V + 999], (1.0 / 1000 - 1.0) * 0.5, 0, 1e-6);
    // Two classes, logits (0, ln 3): p(1) = 3/4, so the loss of target 1 is ln(4/3).
    float two[2] = {0.0f, (float)log(3.0)}, loss;
    int32_t t1 = 1;
    LT_CHECK_INT(lt_xent_forward(&loss, two, &t1, 1, 2), 1);
    LT_CHECK_CLOSE(loss, log(4.0 / 3.0), 0, 1e-6);
    lt_free(logits), lt_free(losses);
}

static void test_xent_ignored(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 41);
    int64_t N = 5, V = 33;
    float *logits = kt_normal(&rng, N * V, 3.0f), *losses = kt_alloc(N);
    int32_t targets[5] = {-100, 4, -1, 32, -100};
    for (int n = 0; n < 5; n++) losses[n] = 123.0f;
    LT_CHECK_INT(lt_xent_forward(losses, logits, targets, N, V), 2);
    LT_CHECK(losses[0] == 0.0f && losses[2] == 0.0f && losses[4] == 0.0f);
    LT_CHECK(losses[1] > 0.0f && losses[3] > 0.0f);
    lt_xent_forward_backward(logits, losses, targets, N, V, 1.0f);
    bool ignored_zero = true;
    for (int64_t j = 0; j < V; j++)
        ignored_zero &= logits[j] == 0.0f && logits[2 * V + j] == 0.0f && logits[4 * V + j] == 0.0f;
    LT_CHECK_MSG(ignored_zero, "ignored rows must get a zero gradient");
    // A counted row's gradient sums to 0 (softmax sums to 1, minus the one-hot).
    double sum = 0.0;
    for (int64_t j = 0; j < V; j++) sum += logits[V + j];
    LT_CHECK_CLOSE(sum, 0.0, 1e-6, 0);
    lt_free(logits), lt_free(losses);
}

static void test_xent_fast_vs_ref(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 42);
    static const int64_t shapes[][2] = {{1, 1}, {9, 1001}, {3, 17}, {40, 1030}};
    for (size_t t = 0; t < 4; t++) {
        int64_t N = shapes[t][0], V = shapes[t][1];
        float *logits = kt_normal(&rng, N * V, 5.0f);
        // one row far from zero: the max subtraction must keep it finite
        if (N > 1)
            for (int64_t j = 0; j < V; j++) logits[V + j] += 1000.0f;
        int32_t *targets = (int32_t *)kt_alloc(N);
        for (int64_t n = 0; n < N; n++)
            targets[n] = n % 4 == 2 ? -100 : (int32_t)lt_rng_below(&rng, (uint32_t)V);
        float *losses = kt_alloc(N), *losses_ref = kt_alloc(N);
        int64_t c1 = lt_xent_forward(losses, logits, targets, N, V);
        int64_t c2 = lt_xent_forward_ref(losses_ref, logits, targets, N, V);
        LT_CHECK_INT(c1, c2);
        KT_CHECK_ARRAY(losses, losses_ref, N, FAST_RTOL, FAST_ATOL);
        float *d = kt_copy(logits, N * V), *d_ref = kt_copy(logits, N * V);
        lt_xent_forward_backward(d, losses, targets, N, V, 0.25f);
        lt_xent_forward_backward_ref(d_ref, losses_ref, targets, N, V, 0.25f);
        KT_CHECK_ARRAY(losses, losses_ref, N, FAST_RTOL, FAST_ATOL);
        KT_CHECK_ARRAY(d, d_ref, N * V, FAST_RTOL, FAST_ATOL);
        lt_free(logits), lt_free(targets), lt_free(losses), lt_free(losses_ref), lt_free(d);
        lt_free(d_ref);
    }
}

typedef struct {
    float *logits, *losses;
    int32_t *targets;
    int64_t N, V;
} xent_ctx;

static double xent_loss(void *p) {
    xent_ctx *c = p;
    lt_xent_forward(c->losses, c->logits, c->targets, c->N, c->V);
    double sum = 0.0;
    for (int64_t n = 0; n < c->N; n++) sum += c->losses[n];
    return sum;
}

static void test_xent_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 43);
    int64_t N = 4, V = 29;
    int32_t targets[4] = {3, -100, 28, 0};
    xent_ctx c = {.N = N, .V = V, .targets = targets};
    c.logits = kt_normal(&rng, N * V, 2.0f), c.losses = kt_alloc(N);
    float *grad = kt_copy(c.logits, N * V);
    lt_xent_forward_backward(grad, c.losses, targets, N, V, 1.0f);
    kt_gradcheck("xent dlogits", c.logits, N * V, grad, xent_loss, &c, &rng, FD_ENTRIES, 1e-2,
                 FD_TOL);
    lt_free(c.logits), lt_free(c.losses), lt_free(grad);
}

// ---------------------------------------------------------------- embedding

static void test_embedding(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 51);
    // N * C above the threading threshold and C spanning two column blocks plus a tail.
    int64_t V = 17, N = 300, C = 300;
    float *wte = kt_normal(&rng, V * C, 1.0f), *out = kt_alloc(N * C);
    int32_t *ids = (int32_t *)kt_alloc(N);
    for (int64_t n = 0; n < N; n++) ids[n] = (int32_t)lt_rng_below(&rng, (uint32_t)V);
    ids[0] = ids[1] = ids[2] = 16; // repeats, adjacent
    lt_embedding_forward(out, wte, ids, N, C);
    bool rows_ok = true;
    for (int64_t n = 0; n < N; n++) rows_ok &= kt_same(out + n * C, wte + ids[n] * C, C);
    LT_CHECK_MSG(rows_ok, "embedding forward must copy row ids[n] exactly");
    float *dout = kt_normal(&rng, N * C, 1.0f), *dwte = kt_normal(&rng, V * C, 1.0f);
    float *want = kt_alloc(V * C);
    for (int64_t v = 0; v < V; v++)
        for (int64_t c = 0; c < C; c++) {
            double acc = dwte[v * C + c];
            for (int64_t n = 0; n < N; n++)
                if (ids[n] == v) acc += dout[n * C + c];
            want[v * C + c] = (float)acc;
        }
    lt_embedding_backward(dwte, dout, ids, N, C);
    KT_CHECK_ARRAY(dwte, want, V * C, FAST_RTOL, FAST_ATOL);
    lt_free(wte), lt_free(out), lt_free(ids), lt_free(dout), lt_free(dwte), lt_free(want);
}

typedef struct {
    float *wte, *out, *R;
    int32_t *ids;
    int64_t N, C;
} embed_ctx;

static double embed_loss(void *p) {
    embed_ctx *c = p;
    lt_embedding_forward(c->out, c->wte, c->ids, c->N, c->C);
    return kt_dot(c->R, c->out, c->N * c->C);
}

static void test_embedding_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 52);
    int64_t V = 7, N = 9, C = 5;
    int32_t ids[9] = {1, 1, 6, 0, 1, 3, 3, 6, 2}; // row 4 and 5 unused: zero gradient
    embed_ctx c = {.N = N, .C = C, .ids = ids};
    c.wte = kt_normal(&rng, V * C, 1.0f), c.R = kt_normal(&rng, N * C, 1.0f);
    c.out = kt_alloc(N * C);
    float *dwte = kt_alloc(V * C);
    lt_embedding_backward(dwte, c.R, ids, N, C);
    kt_gradcheck("embedding dwte", c.wte, V * C, dwte, embed_loss, &c, &rng, FD_ENTRIES, 1e-2,
                 FD_TOL);
    LT_CHECK(dwte[4 * C] == 0.0f && dwte[5 * C + 4] == 0.0f);
    lt_free(c.wte), lt_free(c.R), lt_free(c.out), lt_free(dwte);
}

// ---------------------------------------------------------------- linear

// y, dx, dw of every dtype against lt_gemm_ref on the operands lt_linear must
// use: the f32 buffers, or their bf16 / f16 roundings (W's given as w_lowp).
static void check_linear(lt_dtype dtype, int64_t N, int64_t in, int64_t out, lt_rng *rng) {
    float *x = kt_normal(rng, N * in, 1.0f), *w = kt_normal(rng, out * in, 0.5f);
    float *dy = kt_normal(rng, N * out, 1.0f);
    uint16_t *w16 = (uint16_t *)kt_alloc(out * in), *x16 = (uint16_t *)kt_alloc(N * in);
    uint16_t *dy16 = (uint16_t *)kt_alloc(N * out);
    void (*round16)(uint16_t *, const float *, size_t) =
        dtype == LT_F16 ? lt_f32_to_f16_array_ref : lt_f32_to_bf16_array_ref;
    round16(w16, w, (size_t)(out * in));
    round16(x16, x, (size_t)(N * in));
    round16(dy16, dy, (size_t)(N * out));
    bool lowp = dtype == LT_BF16 || dtype == LT_F16;
    const void *xa = lowp ? (const void *)x16 : x, *wa = lowp ? (const void *)w16 : w;
    const void *dya = lowp ? (const void *)dy16 : dy;
    lt_linear_weight lw = {.dtype = dtype, .w = w, .w_lowp = lowp ? w16 : NULL};

    float *y = kt_alloc(N * out), *y_ref = kt_alloc(N * out);
    lt_gemm_stats st;
    lt_gemm_stats_reset();
    LT_CHECK_OK(lt_linear_forward(y, x, &lw, N, in, out));
    lt_gemm_ref(dtype, false, true, N, out, in, 1.0f, xa, in, wa, in, 0.0f, y_ref, out);
    KT_CHECK_ARRAY(y, y_ref, N * out, FAST_RTOL, FAST_ATOL);

    float *dx = kt_normal(rng, N * in, 1.0f), *dw = kt_normal(rng, out * in, 1.0f);
    float *dx_ref = kt_copy(dx, N * in), *dw_ref = kt_copy(dw, out * in);
    LT_CHECK_OK(lt_linear_backward(dx, dw, dy, x, &lw, N, in, out));
    lt_gemm_ref(dtype, false, false, N, in, out, 1.0f, dya, out, wa, in, 1.0f, dx_ref, in);
    lt_gemm_ref(dtype, true, false, out, in, N, 1.0f, dya, out, xa, in, 1.0f, dw_ref, in);
    KT_CHECK_ARRAY(dx, dx_ref, N * in, FAST_RTOL, FAST_ATOL);
    KT_CHECK_ARRAY(dw, dw_ref, out * in, FAST_RTOL, FAST_ATOL);
    lt_gemm_stats_get(&st);
    LT_CHECK_INT(st.calls[dtype], 3);
    LT_CHECK_INT(st.calls[LT_F32] + st.calls[LT_BF16] + st.calls[LT_F16], 3); // no other dtype ran
    if (lowp) { // the 16-bit entry points on the pre-rounded input give the same results
        float *y16 = kt_alloc(N * out), *dx16 = kt_alloc(N * in), *dw16 = kt_alloc(out * in);
        LT_CHECK_OK(lt_linear_forward16(y16, x16, &lw, N, in, out));
        KT_CHECK_ARRAY(y16, y, N * out, 0, 0);
        memset(dx16, 0, (size_t)(N * in) * sizeof(float));
        memset(dw16, 0, (size_t)(out * in) * sizeof(float));
        LT_CHECK_OK(lt_linear_backward16(dx16, dw16, dy, x16, &lw, N, in, out));
        lt_gemm_ref(dtype, false, false, N, in, out, 1.0f, dya, out, wa, in, 0.0f, dx_ref, in);
        lt_gemm_ref(dtype, true, false, out, in, N, 1.0f, dya, out, xa, in, 0.0f, dw_ref, in);
        KT_CHECK_ARRAY(dx16, dx_ref, N * in, FAST_RTOL, FAST_ATOL);
        KT_CHECK_ARRAY(dw16, dw_ref, out * in, FAST_RTOL, FAST_ATOL);
        lt_free(y16), lt_free(dx16), lt_free(dw16);
    }

    // NULL skips a gradient; the other one is still computed
    float *dx2 = kt_alloc(N * in), *dw2 = kt_alloc(out * in);
    LT_CHECK_OK(lt_linear_backward(dx2, NULL, dy, x, &lw, N, in, out));
    LT_CHECK_OK(lt_linear_backward(NULL, dw2, dy, x, &lw, N, in, out));
    lt_gemm_ref(dtype, false, false, N, in, out, 1.0f, dya, out, wa, in, 0.0f, dx_ref, in);
    lt_gemm_ref(dtype, true, false, out, in, N, 1.0f, dya, out, xa, in, 0.0f, dw_ref, in);
    KT_CHECK_ARRAY(dx2, dx_ref, N * in, FAST_RTOL, FAST_ATOL);
    KT_CHECK_ARRAY(dw2, dw_ref, out * in, FAST_RTOL, FAST_ATOL);
    lt_free(dw2);
    lt_free(x), lt_free(w), lt_free(dy), lt_free(w16), lt_free(x16), lt_free(dy16), lt_free(y);
    lt_free(y_ref), lt_free(dx), lt_free(dw), lt_free(dx_ref), lt_free(dw_ref), lt_free(dx2);
}

static void test_linear_vs_gemm_ref(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 61);
    check_linear(LT_F32, 7, 19, 5, &rng);
    check_linear(LT_F32, 1, 1, 1, &rng);
    check_linear(LT_F32, 33, 130, 70, &rng);
    check_linear(LT_BF16, 7, 19, 5, &rng);
    check_linear(LT_BF16, 33, 130, 70, &rng);
    check_linear(LT_F16, 7, 19, 5, &rng);
    check_linear(LT_F16, 33, 130, 70, &rng);
}

typedef struct {
    float *x, *w, *y, *R;
    int64_t N, in, out;
} linear_ctx;

static double linear_loss(void *p) {
    linear_ctx *c = p;
    lt_linear_weight lw = {.dtype = LT_F32, .w = c->w};
    lt_status st = lt_linear_forward(c->y, c->x, &lw, c->N, c->in, c->out);
    lt_status_free(st);
    return kt_dot(c->R, c->y, c->N * c->out);
}

static void test_linear_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 62);
    linear_ctx c = {.N = 6, .in = 11, .out = 7};
    c.x = kt_normal(&rng, 6 * 11, 1.0f), c.w = kt_normal(&rng, 7 * 11, 1.0f);
    c.R = kt_normal(&rng, 6 * 7, 1.0f), c.y = kt_alloc(6 * 7);
    float *dx = kt_alloc(6 * 11), *dw = kt_alloc(7 * 11);
    lt_linear_weight lw = {.dtype = LT_F32, .w = c.w};
    LT_CHECK_OK(lt_linear_backward(dx, dw, c.R, c.x, &lw, 6, 11, 7));
    kt_gradcheck("linear dx", c.x, 6 * 11, dx, linear_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    kt_gradcheck("linear dw", c.w, 7 * 11, dw, linear_loss, &c, &rng, FD_ENTRIES, 1e-2, FD_TOL);
    lt_free(c.x), lt_free(c.w), lt_free(c.R), lt_free(c.y), lt_free(dx), lt_free(dw);
}

static void test_linear_bf16_without_copy(void) {
    float x[2] = {1, 2}, w[2] = {3, 4}, y[1];
    lt_linear_weight lw = {.dtype = LT_BF16, .w = w, .w_lowp = NULL};
    LT_CHECK_ERR(lt_linear_forward(y, x, &lw, 1, 2, 1), LT_ERR_ARG, "w_lowp");
    LT_CHECK_ERR(lt_linear_backward(x, w, y, x, &lw, 1, 2, 1), LT_ERR_ARG, "w_lowp");
}

static void test_linear_bad_dtype(void) {
    float x[2] = {1, 2}, w[2] = {3, 4}, y[1];
    lt_linear_weight lw = {.dtype = LT_Q8_0, .w = w};
    LT_CHECK_ERR(lt_linear_forward(y, x, &lw, 1, 2, 1), LT_ERR_UNSUPPORTED, "q8_0");
}

static void test_linear_bad_shape(void) {
    float x[2] = {1, 2}, w[2] = {3, 4}, y[1];
    lt_linear_weight lw = {.dtype = LT_F32, .w = w};
    LT_CHECK_ERR(lt_linear_forward(y, x, &lw, 1, 0, 1), LT_ERR_ARG, "in=0");
    LT_CHECK_ERR(lt_linear_forward(y, x, &lw, -1, 2, 1), LT_ERR_ARG, "N=-1");
}

// The vectorisable exp: special values (a blown-up training run feeds it NaN
// and infinities; the sanitizer build checks no undefined shift happens).
static void test_expf_special_values(void) {
    LT_CHECK(isnan(lt_kernel_expf(NAN)));
    LT_CHECK(lt_kernel_expf(-INFINITY) == 0.0f);
    LT_CHECK(lt_kernel_expf(-1000.0f) == 0.0f);
    LT_CHECK(lt_kernel_expf(0.0f) == 1.0f);
    LT_CHECK_CLOSE(lt_kernel_expf(-1.0f), 0.36787944117144233, 0, 2e-7);
}

int main(void) {
    LT_RUN(test_rmsnorm_known);
    LT_RUN(test_rmsnorm_fast_vs_ref);
    LT_RUN(test_rmsnorm_gradcheck);
    LT_RUN(test_rope_llama3_inv_freq);
    LT_RUN(test_rope_tables);
    LT_RUN(test_rope_forward_vs_formula);
    LT_RUN(test_rope_inverse_and_norm);
    LT_RUN(test_rope_gradcheck);
    LT_RUN(test_swiglu_known);
    LT_RUN(test_swiglu_fast_vs_ref);
    LT_RUN(test_swiglu_gradcheck);
    LT_RUN(test_xent_known);
    LT_RUN(test_xent_ignored);
    LT_RUN(test_xent_fast_vs_ref);
    LT_RUN(test_xent_gradcheck);
    LT_RUN(test_embedding);
    LT_RUN(test_embedding_gradcheck);
    LT_RUN(test_linear_vs_gemm_ref);
    LT_RUN(test_linear_gradcheck);
    LT_RUN(test_linear_bf16_without_copy);
    LT_RUN(test_linear_bad_dtype);
    LT_RUN(test_linear_bad_shape);
    LT_RUN(test_expf_special_values);
    return lt_test_finish();
}
