// grad.c: whole-arena gradient operations the trainer runs between backward
// and the optimizer step — global norm and clipping (as torch's
// clip_grad_norm_), the finite check, and scaling for loss-scale unscaling.
//
// The norm is a reduction, so its summation order must not depend on the
// thread count (a resumed run must repeat an uninterrupted one bit for bit):
// the arena is cut into at most NORM_PARTS parts whose size depends only on n,
// each part is summed by one thread, and the partial sums are added in order.
#include "lathe/optim.h"

#include <math.h>
#include <string.h>

#include "train/optim_internal.h"

#define NORM_PARTS 256
#define NORM_MIN_PART ((int64_t)4096)

// Floats per part of an n-float reduction: a multiple of 16, at least NORM_MIN_PART.
static int64_t norm_part_size(int64_t n) {
    int64_t size = (n + NORM_PARTS - 1) / NORM_PARTS;
    size = (size + 15) / 16 * 16;
    return size < NORM_MIN_PART ? NORM_MIN_PART : size;
}

double lt_grad_norm(const float *g, int64_t n) {
    if (n <= 0) return 0.0;
    double partial[NORM_PARTS];
    int64_t part = norm_part_size(n), n_parts = (n + part - 1) / part;
#pragma omp parallel for schedule(static) if (n >= LT_OPTIM_PAR_MIN)
    for (int64_t k = 0; k < n_parts; k++) {
        int64_t begin = k * part, end = begin + part < n ? begin + part : n;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int64_t i = begin; i < end; i++) sum += (double)g[i] * (double)g[i];
        partial[k] = sum;
    }
    double total = 0.0;
    for (int64_t k = 0; k < n_parts; k++) total += partial[k];
    return sqrt(total);
}

void lt_grad_clip_norm(float *g, int64_t n, double max_norm, double *norm_out) {
    double norm = lt_grad_norm(g, n);
    if (norm_out) *norm_out = norm;
    if (!isfinite(norm) || !(max_norm > 0.0)) return;
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) lt_grad_scale(g, n, (float)coef);
}

// |x| as bits: >= 0x7f800000 exactly when x is inf or NaN.
static inline uint32_t abs_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7fffffffu;
}

bool lt_grad_all_finite(const float *g, int64_t n) {
    uint32_t max_bits = 0;
#pragma omp parallel for simd schedule(static) reduction(max : max_bits) if (n >= LT_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = abs_bits(g[i]);
        max_bits = b > max_bits ? b : max_bits;
    }
    return max_bits < 0x7f800000u;
}

void lt_grad_scale(float *g, int64_t n, float factor) {
#pragma omp parallel for simd schedule(static) if (n >= LT_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) g[i] *= factor;
}

bool lt_grad_unscale_check(float *g, int64_t n, float inv_scale) {
    uint32_t max_bits = 0;
#pragma omp parallel for simd schedule(static) reduction(max : max_bits) if (n >= LT_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = abs_bits(g[i]);
        max_bits = b > max_bits ? b : max_bits;
        g[i] *= inv_scale;
    }
    return max_bits < 0x7f800000u;
}
