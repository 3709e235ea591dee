// kernels_internal.h: helpers shared by the kernel files, not part of the
// public API: when a loop is worth threading, an expf that gcc can vectorise,
// and a threaded f32 -> bf16 conversion for GEMM operands.
//
// Why our own expf: glibc only declares its vector math (libmvec) to gcc under
// -ffast-math, which lathe does not use, so `expf` in a simd loop stays a
// scalar call per element. The softmax of attention and cross-entropy and the
// sigmoid of SwiGLU are exp-bound, so they use lt_kernel_expf instead.
#ifndef LATHE_KERNELS_INTERNAL_H
#define LATHE_KERNELS_INTERNAL_H

#include <math.h>
#include <string.h>

#include "lathe/base.h"

// Loops over fewer elements than this stay on one thread: starting a team
// costs more than it saves on a few tens of kilobytes.
#define LT_KERNEL_PAR_MIN ((int64_t)1 << 15)

// e^x for x <= 88, with a relative error below 1e-7 (about 1 ulp) on the
// normal range. Results below FLT_MIN (x < -87.33) flush to 0, and -inf gives
// 0; NaN stays NaN. Callers only pass x <= 0 (max-subtracted softmax, the
// negative-magnitude sigmoid), where no overflow can happen.
// Method: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts so n ln2 is
// exact), e^r by its Taylor series to r^7 (truncation < 2e-9 there), and 2^n
// built from its exponent bits.
static inline float lt_kernel_expf(float x) {
    // Clamped so that n below stays in [-126, 127]; a NaN takes the lower
    // bound here (every comparison with it is false) and is returned as is.
    float xc = x > -87.33f ? x : -87.33f;
    xc = xc < 88.0f ? xc : 88.0f;
    // n = round(x / ln2), by the add-and-subtract trick (exact for |n| < 2^22;
    // floorf or rintf would block vectorisation without -fno-trapping-math)
    const float round_magic = 12582912.0f; // 1.5 * 2^23
    float n = (xc * 1.44269504088896341f + round_magic) - round_magic;
    float r = xc - n * 0.693145751953125f; // ln2, high bits (exact product)
    r = r - n * 1.428606820309417232e-6f;  // ln2 - high bits
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x != x ? x : x < -87.33f ? 0.0f : p * scale;
}

// f32 -> bf16 of n contiguous values, split across threads when n is large.
static inline void lt_kernel_to_bf16(uint16_t *dst, const float *src, int64_t n) {
    const int64_t chunk = (int64_t)1 << 14;
    int64_t n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * chunk;
        int64_t len = n - lo < chunk ? n - lo : chunk;
        lt_f32_to_bf16_array(dst + lo, src + lo, (size_t)len);
    }
}

// f32 -> bf16 of a (rows, cols) block whose rows are `ld` floats apart, into
// a contiguous (rows, cols) buffer.
static inline void lt_kernel_rows_to_bf16(uint16_t *dst, const float *src, int64_t rows,
                                          int64_t cols, int64_t ld) {
    for (int64_t r = 0; r < rows; r++)
        lt_f32_to_bf16_array(dst + r * cols, src + r * ld, (size_t)cols);
}

#endif
