// gemm.c: lt_gemm dispatch — OpenBLAS for f32, scalar reference otherwise.
// (Interim version: the oneDNN bf16 path replaces the reference for bf16.)
#include "lathe/gemm.h"

#include <cblas.h>
#include <stdatomic.h>

static _Atomic uint64_t stat_calls[LT_DTYPE_COUNT];
static _Atomic uint64_t stat_flops[LT_DTYPE_COUNT];
static _Atomic bool force_reference;

void lt_gemm_stats_get(lt_gemm_stats *out) {
    for (int i = 0; i < LT_DTYPE_COUNT; i++) {
        out->calls[i] = atomic_load(&stat_calls[i]);
        out->flops[i] = atomic_load(&stat_flops[i]);
    }
}

void lt_gemm_stats_reset(void) {
    for (int i = 0; i < LT_DTYPE_COUNT; i++) {
        atomic_store(&stat_calls[i], 0);
        atomic_store(&stat_flops[i], 0);
    }
}

void lt_gemm_force_reference(bool on) { atomic_store(&force_reference, on); }

static inline double load(lt_dtype dtype, const void *p, int64_t i) {
    if (dtype == LT_BF16) return lt_bf16_to_f32(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

void lt_gemm_ref(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                 float *C, int64_t ldc) {
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++) {
                double a = load(dtype, A, trans_a ? k * lda + m : m * lda + k);
                double b = load(dtype, B, trans_b ? n * ldb + k : k * ldb + n);
                acc += a * b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
            C[m * ldc + n] = (float)(alpha * acc) + prev;
        }
    }
}

void lt_gemm(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
             float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
             float *C, int64_t ldc) {
    atomic_fetch_add(&stat_calls[dtype], 1);
    atomic_fetch_add(&stat_flops[dtype], (uint64_t)(2 * M * N * K));
    if (atomic_load(&force_reference) || dtype != LT_F32) {
        lt_gemm_ref(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                (int)ldb, beta, C, (int)ldc);
}
