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
// A and B are both `dtype`; C is always f32 (accumulation in f32). beta == 0
// means C is not read (may hold garbage or NaN). Backends by dtype:
//   f32   OpenBLAS cblas_sgemm;
//   bf16  oneDNN matmul (bf16 operands, f32 accumulation and output);
//   f16   operands widened exactly to f32 (per-thread scratch), then OpenBLAS:
//         f16 storage with f32 arithmetic (this CPU has no fast f16 GEMM);
//   other dtypes are not matrix operands: C (M, N) is filled with NaN.
// Leading dimensions must follow the BLAS rule (lda >= columns of A as stored,
// at least 1; likewise ldb, ldc). Calls that break it (lda = 0 to repeat one
// row, say) or that a backend rejects run the reference instead and are
// counted in lt_gemm_stats.fallbacks; lt_gemm never fails, exits or prints.
// Safe to call from several threads at once and from inside an OpenMP
// parallel region (then the call runs single-threaded in the calling thread).
void lt_gemm(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
             float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
             float *C, int64_t ldc);

// The scalar reference (f64 accumulation; bf16 and f16 operands widened
// exactly; other dtypes fill C with NaN, as lt_gemm does).
void lt_gemm_ref(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                 float *C, int64_t ldc);

// Call counters, per operand dtype, for tests and benchmarks (e.g. "in bf16
// mode no f32 GEMM ran"). Counting is atomic; reset between measurements.
typedef struct {
    uint64_t calls[LT_DTYPE_COUNT];
    uint64_t flops[LT_DTYPE_COUNT];     // 2*M*N*K per call
    uint64_t fallbacks[LT_DTYPE_COUNT]; // calls that ran the reference instead of their
                                        // backend (arguments outside the BLAS rule, a
                                        // backend error) or, for non-matrix dtypes, no GEMM
    uint64_t primitives_built;          // oneDNN matmul primitives created (cache misses)
} lt_gemm_stats;
void lt_gemm_stats_get(lt_gemm_stats *out);
void lt_gemm_stats_reset(void);

// Force the scalar reference for every call (tests of whole models on it).
void lt_gemm_force_reference(bool on);

// The OpenBLAS kernel family picked when the library loaded ("SkylakeX",
// "Haswell", ...). OpenBLAS 0.3.21 does not know CPUs newer than Sapphire
// Rapids and falls back to "Prescott" (SSE3, about 5x slower on AVX-512
// machines); there, start the process with OPENBLAS_CORETYPE=SkylakeX.
const char *lt_gemm_f32_kernel(void);
// For a program's main, first thing: OpenBLAS 0.3.21 (Debian 12) does not
// recognise recent AVX-512 CPUs and falls back to its SSE3 "Prescott"
// kernels, 5x slower. It picks kernels when it loads, before main, so the only
// cure is the environment: on a CPU with the AVX-512 subsets the SkylakeX
// kernels need, this sets OPENBLAS_CORETYPE and re-executes the program with
// argv (returning only when that fails, to carry on with the slow kernels).
// A user's own OPENBLAS_CORETYPE is always respected.
void lt_gemm_fix_openblas_kernel(char **argv);

// Measured GEMM peak, for MFU figures: times square n x n x n products of
// `dtype` through lt_gemm (A, B (n, n) dtype, C (n, n) f32, beta 0) with the
// current thread count. One warm-up call, then 3 trials, each repeating the
// call until min_seconds have passed; returns the best trial in GFLOP/s
// (2*n^3 flops per call; for f16 the widening is part of the call), or 0 for
// other dtypes, n < 1 or when the buffers cannot be allocated. The calls count in lt_gemm_stats.
// Expect 3 * min_seconds plus one call (and a JIT compile for bf16).
double lt_gemm_peak_gflops(lt_dtype dtype, int64_t n, double min_seconds);

#endif
