// lt_kernel_test.h: helpers shared by tests/test_kernels*.c — random buffers,
// array comparisons that report the worst element, and the finite-difference
// check every backward kernel goes through.
//
// Finite differences: the loss is L = sum(R * y) for a fixed random R,
// accumulated in double from the kernel's f32 outputs. A step is applied to
// the f32 input and the step actually taken, (x+h) - (x-h) after rounding to
// f32, is what the analytic gradient is multiplied by, so rounding of the
// perturbed inputs does not count as error. Checked:
//   * single entries: |dL/dx_i (numeric) - g_i| <= tol * max(|g_i|, rms(g));
//   * one random direction u ~ N(0, I) per tensor:
//     |L(x + h u) - L(x - h u) - sum_i g_i ((x+hu)_i - (x-hu)_i)|
//         <= tol * max(|that sum|, 2 h ||g||_2)
//     (2 h ||g||_2 is the typical size of the change, so near-zero directional
//     derivatives are judged on that scale).
#ifndef LT_KERNEL_TEST_H
#define LT_KERNEL_TEST_H

#include "lt_test.h"

static inline float *kt_alloc(int64_t n) {
    void *p = NULL;
    lt_status st = lt_calloc(&p, (size_t)(n > 0 ? n : 1), sizeof(float), "test buffer");
    if (st) {
        fprintf(stderr, "%s\n", lt_status_message(st));
        exit(2);
    }
    return p;
}

static inline float *kt_normal(lt_rng *rng, int64_t n, float scale) {
    float *p = kt_alloc(n);
    for (int64_t i = 0; i < n; i++) p[i] = scale * lt_rng_normal(rng);
    return p;
}

static inline float *kt_copy(const float *src, int64_t n) {
    float *p = kt_alloc(n);
    memcpy(p, src, (size_t)n * sizeof(float));
    return p;
}

// Rounds every value to the nearest bf16 (so bf16 GEMM operands are exact).
static inline void kt_round_bf16(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = lt_bf16_to_f32(lt_f32_to_bf16(x[i]));
}

static inline double kt_max_abs(const float *x, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

static inline double kt_dot(const float *a, const float *b, int64_t n) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += (double)a[i] * (double)b[i];
    return acc;
}

// One check over a whole array: every |got - want| <= rtol * |want| + atol_rel * max|want|.
#define KT_CHECK_ARRAY(got, want, n, rtol, atol_rel) \
    kt_check_array_((got), (want), (n), (rtol), (atol_rel), #got, __FILE__, __LINE__)

static inline void kt_check_array_(const float *got, const float *want, int64_t n, double rtol,
                                   double atol_rel, const char *what, const char *file, int line) {
    double atol = atol_rel * kt_max_abs(want, n);
    int64_t worst = -1;
    double worst_excess = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double excess = err - (rtol * fabs(want[i]) + atol);
        if (!(excess <= 0.0) && (worst < 0 || !(excess <= worst_excess))) {
            worst = i;
            worst_excess = excess;
        }
    }
    lt_test_checks_++;
    if (worst >= 0) {
        lt_test_failures_++;
        fprintf(stderr,
                "FAIL %s (%s:%d): %s[%lld] = %.9g, expected %.9g (rtol %g, atol %g = %g * max)\n",
                lt_test_current_, file, line, what, (long long)worst, got[worst], want[worst], rtol,
                atol, atol_rel);
    }
}

// Bitwise equality of two arrays.
static inline bool kt_same(const float *a, const float *b, int64_t n) {
    return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

typedef double (*kt_loss_fn)(void *ctx);

// Checks grad (n) = dL/dx for the tensor x (n) that loss(ctx) reads; x is
// restored afterwards. step: h = step * max(|x_i|, 1) for entries and
// h = step * max(rms(x), 1) for the direction.
static inline void kt_gradcheck(const char *name, float *x, int64_t n, const float *grad,
                                kt_loss_fn loss, void *ctx, lt_rng *rng, int entries, double step,
                                double tol) {
    double g_sumsq = 0.0, x_sumsq = 0.0;
    for (int64_t i = 0; i < n; i++) {
        g_sumsq += (double)grad[i] * grad[i];
        x_sumsq += (double)x[i] * x[i];
    }
    double g_rms = sqrt(g_sumsq / (double)n), g_norm = sqrt(g_sumsq);
    bool all = n <= entries;
    int count = all ? (int)n : entries;
    for (int e = 0; e < count; e++) {
        int64_t i = all ? e : (int64_t)lt_rng_below(rng, (uint32_t)n);
        float x0 = x[i];
        double h = step * (fabs(x0) > 1.0 ? fabs(x0) : 1.0);
        float xp = (float)(x0 + h), xm = (float)(x0 - h);
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = x0;
        double numeric = (lp - lm) / ((double)xp - (double)xm);
        double scale = fabs(grad[i]) > g_rms ? fabs(grad[i]) : g_rms;
        LT_CHECK_MSG(fabs(numeric - grad[i]) <= tol * scale,
                     "%s[%lld]: finite difference %.9g, backward %.9g (tol %g * %.3g)", name,
                     (long long)i, numeric, grad[i], tol, scale);
    }
    float *x0 = kt_copy(x, n), *xp = kt_alloc(n), *xm = kt_alloc(n);
    double h = step * (sqrt(x_sumsq / (double)n) > 1.0 ? sqrt(x_sumsq / (double)n) : 1.0);
    double predicted = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double u = lt_rng_normal(rng);
        xp[i] = (float)(x0[i] + h * u);
        xm[i] = (float)(x0[i] - h * u);
        predicted += (double)grad[i] * ((double)xp[i] - (double)xm[i]);
    }
    memcpy(x, xp, (size_t)n * sizeof(float));
    double lp = loss(ctx);
    memcpy(x, xm, (size_t)n * sizeof(float));
    double lm = loss(ctx);
    memcpy(x, x0, (size_t)n * sizeof(float));
    double scale = fabs(predicted) > 2.0 * h * g_norm ? fabs(predicted) : 2.0 * h * g_norm;
    LT_CHECK_MSG(fabs((lp - lm) - predicted) <= tol * scale,
                 "%s: along a random direction the loss changed by %.9g, backward predicts %.9g "
                 "(tol %g * %.3g)",
                 name, lp - lm, predicted, tol, scale);
    lt_free(x0);
    lt_free(xp);
    lt_free(xm);
}

#endif
