// quant_internal.h: what quant.c (public API, threading, portable kernels) and
// quant_avx512.c (the AVX-512 kernels, compiled for that target whatever the
// global flags) share, and the switch that tests use to force the portable
// path. Not part of the public API.
//
// The small-N kernels compute y (N, rows) for a range of weight rows from x
// "prepared" once per call into the layout each kernel reads fastest (see
// lt_quant_avx512_xprep). Each output y[n, r] is one dot product whose
// arithmetic does not depend on which rows or activations are blocked
// together, so the result does not depend on the thread count.
#ifndef LATHE_QUANT_INTERNAL_H
#define LATHE_QUANT_INTERNAL_H

#include "lathe/quant.h"

// Forces the portable C kernels (no runtime AVX-512 dispatch) for quantize,
// dequantize, the small-N matmul and the bandwidth loop; for tests.
void lt_qmatmul_force_portable(bool on);
// True when the AVX-512 kernels run: the CPU has AVX-512 F/BW/VL/VNNI, F16C
// and FMA, and the portable path is not forced.
bool lt_quant_avx512_active(void);

// Rows of W per step of the portable and AVX-512 kernels, and the row
// granularity of the thread split.
enum { LT_QUANT_ROW_BLOCK = 4 };

// ---- AVX-512 kernels (quant_avx512.c); call only when lt_quant_avx512_active().

// Bytes of the prepared activations for N rows of cols values (x itself for
// f32 and f16, so 0; see quant_avx512.c for the bf16 and q8_0 layouts).
size_t lt_quant_avx512_xprep_bytes(lt_dtype dtype, int64_t N, int64_t cols);
void lt_quant_avx512_xprep(void *dst, lt_dtype dtype, const float *x, int64_t N, int64_t cols);
// y[n * w->rows + r] for rows r in [r0, r1) and all n < N; xprep is the
// prepared activations (or x itself for f32 and f16).
void lt_quant_avx512_rows(float *y, const void *xprep, const lt_qweight *w, int64_t N, int64_t r0,
                          int64_t r1);
// lt_q8_0_quantize / dequantize, bit-identical to the portable versions.
void lt_q8_0_quantize_avx512(lt_block_q8_0 *dst, const float *src, int64_t n);
void lt_q8_0_dequantize_avx512(float *dst, const lt_block_q8_0 *src, int64_t n);
// Sum of 64-byte loads over [p, p + bytes) (bytes % 512 == 0): 8 accumulators,
// the 4 quarters read side by side.
uint64_t lt_quant_avx512_read(const void *p, size_t bytes);

// The scalar rule shared by both q8_0 quantizers: q = round-half-away(v),
// clamped to [-127, 127] (NaN becomes -127), without undefined conversions.
static inline int8_t lt_q8_0_round(float v) {
    float r = __builtin_roundf(v);
    r = r > -127.0f ? r : -127.0f;
    r = r < 127.0f ? r : 127.0f;
    return (int8_t)r;
}

#endif
