// gemm.h: the one matrix-multiply interface of lathe. Every linear layer, and
// attention's batched products, go through lt_gemm, which dispatches on the
// operand dtype: OpenBLAS cblas_sgemm for f32, oneDNN's matmul primitive for
// bf16 (Debian's OpenBLAS has no sbgemm), or the scalar reference. A CUDA
// backend would mirror this file.
#ifndef LATHE_GEMM_H
#define LATHE_GEMM_H

#include "lathe/base.h"

// C (M, N) = alpha * op(A) @ op(B) + beta * C, all row-major.
//   op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
//   op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b.
// A and B are both `dtype` (f32 or bf16); C is always f32 (accumulation in
// f32). beta == 0 means C is not read (may hold garbage or NaN).
// Safe to call from inside an OpenMP parallel region (then runs single-threaded).
void lt_gemm(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
             float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
             float *C, int64_t ldc);

// The scalar reference (f64 accumulation; bf16 operands widened exactly).
void lt_gemm_ref(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                 float *C, int64_t ldc);

// Call counters, per operand dtype, for tests and benchmarks (e.g. "in bf16
// mode no f32 GEMM ran"). Counting is atomic; reset between measurements.
typedef struct {
    uint64_t calls[LT_DTYPE_COUNT];
    uint64_t flops[LT_DTYPE_COUNT]; // 2*M*N*K per call
} lt_gemm_stats;
void lt_gemm_stats_get(lt_gemm_stats *out);
void lt_gemm_stats_reset(void);

// Force the scalar reference for every call (tests of whole models on it).
void lt_gemm_force_reference(bool on);

#endif
