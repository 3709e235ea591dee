// kernels_internal.h: helpers shared by the kernel files, not part of the
// public API: a threaded f32 -> bf16 conversion for GEMM operands. (The
// vectorisable expf and the threading threshold, which the sampler, the
// engine and the distillation objective use too, are public in kernels.h.)
#ifndef LATHE_KERNELS_INTERNAL_H
#define LATHE_KERNELS_INTERNAL_H

#include "lathe/base.h"
#include "lathe/kernels.h"

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
