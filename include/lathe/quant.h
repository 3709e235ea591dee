// quant.h: weights kept in their storage dtype for inference — f32, bf16,
// f16 or q8_0 (GGUF's Q8_0: blocks of 32 int8 with one f16 scale) — and the
// matrix product the inference engine runs on them, fast for one token
// (decode streams each weight once, bandwidth-bound) and for many (prefill
// widens weight tiles to f32 and runs sgemm). Also the memory read
// bandwidth measurement that decode speed is compared against.
#ifndef LATHE_QUANT_H
#define LATHE_QUANT_H

#include "lathe/base.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- q8_0

enum { LT_Q8_0_BLOCK = 32 };

// One Q8_0 block exactly as GGUF stores it: 34 bytes, no padding.
// value[i] = f16_to_f32(d) * qs[i].
typedef struct {
    uint16_t d; // f16 scale
    int8_t qs[LT_Q8_0_BLOCK];
} lt_block_q8_0;

// Quantizes n floats (n % 32 == 0) the way GGUF's Q8_0 does (llama.cpp's
// quantize_row_q8_0_ref): per block, amax = max |x|, d = amax / 127 and
// id = 1 / d in f32 (id = 0 when d == 0), q = round-half-away(x * id),
// d stored as f16. (x * id, not x / d: the two differ in the last bit of a
// few values, and llama.cpp multiplies.) Bit-identical on every path.
void lt_q8_0_quantize(lt_block_q8_0 *dst, const float *src, int64_t n);
void lt_q8_0_dequantize(float *dst, const lt_block_q8_0 *src, int64_t n);

// ---------------------------------------------------------------- weights

// A (rows, cols) row-major weight matrix in its storage dtype: W in y = x @ W^T
// (rows = out features, cols = in features). For q8_0, cols % 32 == 0 and
// each row is cols/32 consecutive blocks.
typedef struct {
    lt_dtype dtype; // LT_F32 | LT_BF16 | LT_F16 | LT_Q8_0
    const void *data;
    int64_t rows, cols;
} lt_qweight;

// Bytes of a (rows, cols) matrix in dtype (0 for dtypes that cannot hold weights
// or q8_0 with cols % 32 != 0).
size_t lt_qweight_bytes(lt_dtype dtype, int64_t rows, int64_t cols);

// Converts an f32 (rows, cols) matrix into dtype in dst (lt_qweight_bytes of it).
lt_status lt_qweight_convert(void *dst, lt_dtype dtype, const float *src, int64_t rows,
                             int64_t cols);
// Widens rows [row0, row0 + n) of w to f32: dst (n, cols).
void lt_qweight_rows_f32(float *dst, const lt_qweight *w, int64_t row0, int64_t n);

// y (N, rows) = x (N, cols) @ W^T, threaded over lt_threads_get() threads.
//   f32/bf16/f16: exact products of the stored values, f32 accumulation.
//   q8_0, small N: as llama.cpp does, each row of x is first quantized to
//   q8_0, then block dot products run in int32 (AVX-512 VNNI) and are scaled
//   by both block scales.
//   q8_0, large N: x is NOT quantized; the dequantized weights (exactly
//   d * q) multiply f32 x, which is at least as accurate.
// Small N (N <= LT_QMATMUL_SMALL_N, decode) streams W once for all N rows,
// rows split across threads, so y is the same for every thread count; large N
// (prefill) widens tiles of W to f32 and uses sgemm (f32 W goes to sgemm as
// is). Nothing is allocated per call after the first call on each thread
// (per-thread scratch that grows as needed). Inside an OpenMP parallel region
// the call runs on the calling thread alone. The switch point was measured
// (see quant.c).
enum { LT_QMATMUL_SMALL_N = 64 };
lt_status lt_qmatmul(float *y, const float *x, const lt_qweight *w, int64_t N);
// The scalar reference of the small-N arithmetic, for any N: the same
// products (q8_0 quantizes x the same way) with double accumulation.
void lt_qmatmul_ref(float *y, const float *x, const lt_qweight *w, int64_t N);
// The scalar reference of the large-N arithmetic: x times the widened
// (dequantized) weights, double accumulation. Equal to lt_qmatmul_ref except
// for q8_0.
void lt_qmatmul_ref_f32(float *y, const float *x, const lt_qweight *w, int64_t N);

// ---------------------------------------------------------------- bandwidth

// Measured memory read bandwidth in GB/s (1e9 bytes/s): an AVX-512 loop with
// several accumulators reads a buffer of `bytes` (use one far larger than
// the caches) on lt_threads_get() threads, best of several passes lasting
// at least min_seconds in total. 0 when the buffer cannot be allocated.
double lt_mem_read_bandwidth(size_t bytes, double min_seconds);

#ifdef __cplusplus
}
#endif
#endif
