// test_gemm.c: lt_gemm's backends (OpenBLAS f32, oneDNN bf16, f16 widened to f32)
// against hand-computed products and against the scalar reference, over every
// transpose combination, odd sizes, padded leading dimensions, alpha and beta;
// calls from inside an OpenMP parallel loop; the statistics, the forced
// reference, the fallback for arguments outside the BLAS rule, and the peak
// measurement.
//
// Tolerance of fast vs reference: both compute sum_k a_k b_k. The products are
// exact or rounded once (bf16 x bf16 fits an f32 exactly), the fast path adds
// K of them in f32 (at most K roundings, each <= u = 2^-24 relative to the
// running magnitude <= S = sum_k |a_k b_k|), then alpha, beta * c0 and the
// final add cost a few more roundings on each side, the reference's f64 sum
// being exact enough to ignore. So |fast - ref| <= (K + 8) u (|alpha| S + |beta c0|).
#include "lathe/gemm.h"

#include <omp.h>
#include <pthread.h>

#include "lt_test.h"

static const double unit_roundoff = 1.0 / (1 << 24);

static void fill_uniform(float *x, int64_t n, lt_rng *rng) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(2 * lt_rng_uniform(rng) - 1);
}

// An operand stored (rows, cols) with row stride ld, as dtype; the padding
// columns hold NaN so that reading them would poison the result.
typedef struct {
    void *data;
    float *values; // (rows, ld) the same values widened to f32, for the error bound
} operand;

static operand make_operand(lt_dtype dtype, int64_t rows, int64_t cols, int64_t ld, lt_rng *rng) {
    operand op;
    int64_t n = rows * ld > 0 ? rows * ld : 1;
    LT_CHECK_OK(lt_alloc(&op.data, (size_t)n * lt_dtype_size(dtype), "operand"));
    LT_CHECK_OK(lt_alloc((void **)&op.values, (size_t)n * sizeof(float), "operand values"));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < ld; c++) {
            float x = c < cols ? (float)(2 * lt_rng_uniform(rng) - 1) : NAN;
            int64_t i = r * ld + c;
            if (dtype == LT_F32) {
                ((float *)op.data)[i] = x;
                op.values[i] = x;
            } else {
                uint16_t h = dtype == LT_BF16 ? lt_f32_to_bf16(x) : lt_f32_to_f16(x);
                ((uint16_t *)op.data)[i] = h;
                op.values[i] = dtype == LT_BF16 ? lt_bf16_to_f32(h) : lt_f16_to_f32(h);
            }
        }
    }
    return op;
}

static void free_operand(operand *op) {
    lt_free(op->data);
    lt_free(op->values);
}

// One fast-vs-reference comparison; returns the number of mismatching elements.
static int compare_case(lt_dtype dtype, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                        int64_t pad, float alpha, float beta, lt_rng *rng) {
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    operand a = make_operand(dtype, ta ? K : M, ta ? M : K, lda, rng);
    operand b = make_operand(dtype, tb ? N : K, tb ? K : N, ldb, rng);
    float *c0, *c_fast, *c_ref; // (M, ldc)
    size_t c_bytes = (size_t)(M * ldc) * sizeof(float);
    LT_CHECK_OK(lt_alloc((void **)&c0, c_bytes, "c0"));
    LT_CHECK_OK(lt_alloc((void **)&c_fast, c_bytes, "c_fast"));
    LT_CHECK_OK(lt_alloc((void **)&c_ref, c_bytes, "c_ref"));
    const float sentinel = 12345.0f;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < ldc; n++)
            c0[m * ldc + n] = n >= N      ? sentinel
                              : beta == 0 ? NAN
                                          : (float)(2 * lt_rng_uniform(rng) - 1);
    memcpy(c_fast, c0, c_bytes);
    memcpy(c_ref, c0, c_bytes);
    lt_gemm(dtype, ta, tb, M, N, K, alpha, a.data, lda, b.data, ldb, beta, c_fast, ldc);
    lt_gemm_ref(dtype, ta, tb, M, N, K, alpha, a.data, lda, b.data, ldb, beta, c_ref, ldc);

    int bad = 0;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t n = 0; n < ldc; n++) {
            float got = c_fast[m * ldc + n], want = c_ref[m * ldc + n];
            if (n >= N) {
                bad += got != sentinel;
                continue;
            }
            double abs_sum = 0;
            for (int64_t k = 0; k < K; k++) {
                double x = a.values[ta ? k * lda + m : m * lda + k];
                double y = b.values[tb ? n * ldb + k : k * ldb + n];
                abs_sum += fabs(x * y);
            }
            double c_term = beta == 0 ? 0 : fabs((double)beta * c0[m * ldc + n]);
            double tol = (K + 8) * unit_roundoff * (fabs(alpha) * abs_sum + c_term);
            if (!(isfinite(got) && fabs((double)got - want) <= tol)) {
                if (bad < 3)
                    fprintf(stderr,
                            "  %s ta=%d tb=%d %lldx%lldx%lld pad %lld a=%g b=%g (%lld,%lld): "
                            "%.9g vs ref %.9g (tol %.3g)\n",
                            lt_dtype_name(dtype), ta, tb, (long long)M, (long long)N, (long long)K,
                            (long long)pad, alpha, beta, (long long)m, (long long)n, got, want,
                            tol);
                bad++;
            }
        }
    }
    free_operand(&a);
    free_operand(&b);
    lt_free(c0);
    lt_free(c_fast);
    lt_free(c_ref);
    return bad;
}

// Every transpose combination x odd sizes x tight/padded strides x alpha/beta,
// for every fast backend (f16 widens to f32, so it meets the f32 bound); none
// of these may take the fallback.
static void test_fast_matches_reference(void) {
    static const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}};
    static const float scales[][2] = {{1, 0}, {-0.75f, 0}, {1, 1}, {1.5f, 0.5f}};
    const lt_dtype dtypes[] = {LT_F32, LT_BF16, LT_F16};
    lt_rng rng;
    lt_rng_seed(&rng, 42);
    lt_gemm_stats_reset();
    int cases = 0;
    for (int d = 0; d < 3; d++)
        for (int t = 0; t < 4; t++)
            for (int s = 0; s < 3; s++)
                for (int pad = 0; pad <= 3; pad += 3)
                    for (int ab = 0; ab < 4; ab++) {
                        int bad =
                            compare_case(dtypes[d], t & 1, t >> 1, sizes[s][0], sizes[s][1],
                                         sizes[s][2], pad, scales[ab][0], scales[ab][1], &rng);
                        LT_CHECK_MSG(bad == 0, "%d elements out of tolerance (see above)", bad);
                        cases++;
                    }
    lt_gemm_stats stats;
    lt_gemm_stats_get(&stats);
    LT_CHECK_INT(stats.calls[LT_F32], cases / 3);
    LT_CHECK_INT(stats.calls[LT_BF16], cases / 3);
    LT_CHECK_INT(stats.calls[LT_F16], cases / 3);
    LT_CHECK_INT(stats.fallbacks[LT_F32], 0);
    LT_CHECK_INT(stats.fallbacks[LT_BF16], 0);
    LT_CHECK_INT(stats.fallbacks[LT_F16], 0);
}

// (2, 3) @ (3, 2) with small integers, exact in every dtype:
// [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]].
static void store(lt_dtype dtype, void *p, int64_t i, float x) {
    if (dtype == LT_F32)
        ((float *)p)[i] = x;
    else
        ((uint16_t *)p)[i] = dtype == LT_BF16 ? lt_f32_to_bf16(x) : lt_f32_to_f16(x);
}

static void test_hand_computed_product(void) {
    const float a[2][3] = {{1, 2, 3}, {4, 5, 6}}, b[3][2] = {{7, 8}, {9, 10}, {11, 12}};
    const float want[2][2] = {{58, 64}, {139, 154}};
    const lt_dtype dtypes[] = {LT_F32, LT_BF16, LT_F16};
    for (int d = 0; d < 3; d++) {
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t >> 1;
            uint32_t a_store[6], b_store[6]; // room for 6 f32 or 6 16-bit values
            for (int m = 0; m < 2; m++)
                for (int k = 0; k < 3; k++) {
                    store(dtypes[d], a_store, ta ? k * 2 + m : m * 3 + k, a[m][k]);
                    store(dtypes[d], b_store, tb ? m * 3 + k : k * 2 + m, b[k][m]);
                }
            for (int path = 0; path < 2; path++) {
                // C = 2 * A @ B - C0 with C0 = [[1,2],[3,4]], then C = A @ B over NaN.
                float c[2][2] = {{1, 2}, {3, 4}};
                (path ? lt_gemm_ref : lt_gemm)(dtypes[d], ta, tb, 2, 2, 3, 2.0f, a_store,
                                               ta ? 2 : 3, b_store, tb ? 3 : 2, -1.0f, &c[0][0], 2);
                for (int m = 0; m < 2; m++)
                    for (int n = 0; n < 2; n++)
                        LT_CHECK_MSG(c[m][n] == 2 * want[m][n] - (float)(m * 2 + n + 1),
                                     "%s path %d ta=%d tb=%d C[%d][%d] = %g",
                                     lt_dtype_name(dtypes[d]), path, ta, tb, m, n, c[m][n]);
                for (int i = 0; i < 4; i++) (&c[0][0])[i] = NAN;
                (path ? lt_gemm_ref : lt_gemm)(dtypes[d], ta, tb, 2, 2, 3, 1.0f, a_store,
                                               ta ? 2 : 3, b_store, tb ? 3 : 2, 0.0f, &c[0][0], 2);
                for (int m = 0; m < 2; m++)
                    for (int n = 0; n < 2; n++)
                        LT_CHECK_MSG(c[m][n] == want[m][n], "%s path %d ta=%d tb=%d C[%d][%d] = %g",
                                     lt_dtype_name(dtypes[d]), path, ta, tb, m, n, c[m][n]);
            }
        }
    }
}

// Calls inside `omp parallel for` (2 threads, the same shapes, so both threads
// run one oneDNN primitive at once) equal serial single-threaded calls bit for
// bit, for both backends.
static void test_parallel_for_matches_serial(void) {
    enum { JOBS = 16, M = 48, N = 40, K = 96 };
    const int saved_threads = omp_get_max_threads();
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    float *a, *b, *c_serial, *c_parallel; // (JOBS, K, M), (JOBS, N, K), (JOBS, M, N) x 2
    uint16_t *a16, *b16;
    LT_CHECK_OK(lt_alloc((void **)&a, sizeof(float) * JOBS * K * M, "a"));
    LT_CHECK_OK(lt_alloc((void **)&b, sizeof(float) * JOBS * N * K, "b"));
    LT_CHECK_OK(lt_alloc((void **)&a16, sizeof(uint16_t) * JOBS * K * M, "a16"));
    LT_CHECK_OK(lt_alloc((void **)&b16, sizeof(uint16_t) * JOBS * N * K, "b16"));
    LT_CHECK_OK(lt_alloc((void **)&c_serial, sizeof(float) * JOBS * M * N, "c_serial"));
    LT_CHECK_OK(lt_alloc((void **)&c_parallel, sizeof(float) * JOBS * M * N, "c_parallel"));
    fill_uniform(a, JOBS * K * M, &rng);
    fill_uniform(b, JOBS * N * K, &rng);
    lt_f32_to_bf16_array(a16, a, JOBS * K * M);
    lt_f32_to_bf16_array(b16, b, JOBS * N * K);
    lt_gemm_stats_reset();
    for (int d = 0; d < 2; d++) {
        lt_dtype dtype = d ? LT_BF16 : LT_F32;
        size_t es = lt_dtype_size(dtype);
        const char *pa = d ? (const char *)a16 : (const char *)a;
        const char *pb = d ? (const char *)b16 : (const char *)b;
        for (int pass = 0; pass < 2; pass++) {
            float *c = pass ? c_parallel : c_serial;
            for (int i = 0; i < JOBS * M * N; i++) c[i] = NAN;
            omp_set_num_threads(pass ? 2 : 1);
#pragma omp parallel for schedule(static, 1) if (pass)
            for (int j = 0; j < JOBS; j++)
                lt_gemm(dtype, true, true, M, N, K, 0.5f, pa + es * j * K * M, M,
                        pb + es * j * N * K, K, 0.0f, c + j * M * N, N);
        }
        int differ = 0;
        for (int i = 0; i < JOBS * M * N; i++) differ += c_serial[i] != c_parallel[i];
        LT_CHECK_MSG(differ == 0, "%s: %d of %d elements differ between serial and parallel calls",
                     lt_dtype_name(dtype), differ, JOBS * M * N);
        // And the serial result is right (reference bound as in compare_case).
        float want[N];
        lt_gemm_ref(dtype, true, true, 1, N, K, 0.5f, pa + es * 3 * K * M, M, pb + es * 3 * N * K,
                    K, 0.0f, want, N);
        for (int n = 0; n < N; n++)
            LT_CHECK_CLOSE(c_parallel[3 * M * N + n], want[n], (K + 8) * unit_roundoff * 0.5 * K,
                           0);
    }
    omp_set_num_threads(saved_threads);
    lt_gemm_stats stats;
    lt_gemm_stats_get(&stats);
    LT_CHECK_INT(stats.calls[LT_F32], 2 * JOBS);
    LT_CHECK_INT(stats.calls[LT_BF16], 2 * JOBS);
    LT_CHECK_INT(stats.fallbacks[LT_F32], 0);
    LT_CHECK_INT(stats.fallbacks[LT_BF16], 0);
    lt_free(a);
    lt_free(b);
    lt_free(a16);
    lt_free(b16);
    lt_free(c_serial);
    lt_free(c_parallel);
}

// Plain threads that make bf16 calls and exit (their stream and scratchpad are
// freed then; ASan checks that), each getting the hand-computed product.
static void *bf16_worker(void *arg) {
    float *c = arg; // (2, 2)
    uint16_t a[6], b[6];
    const float av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {7, 8, 9, 10, 11, 12};
    lt_f32_to_bf16_array(a, av, 6);
    lt_f32_to_bf16_array(b, bv, 6);
    for (int rep = 0; rep < 50; rep++)
        lt_gemm(LT_BF16, false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    return NULL;
}

static void test_calls_from_exiting_threads(void) {
    enum { THREADS = 3 };
    pthread_t threads[THREADS];
    float c[THREADS][4];
    for (int t = 0; t < THREADS; t++)
        LT_CHECK_INT(pthread_create(&threads[t], NULL, bf16_worker, c[t]), 0);
    for (int t = 0; t < THREADS; t++) {
        LT_CHECK_INT(pthread_join(threads[t], NULL), 0);
        LT_CHECK(c[t][0] == 58 && c[t][1] == 64 && c[t][2] == 139 && c[t][3] == 154);
    }
}

static void test_stats_count_per_dtype_and_reset(void) {
    float a[12] = {0}, b[20] = {0}, c[30];
    uint16_t a16[42] = {0}, b16[42] = {0};
    lt_gemm_stats_reset();
    lt_gemm(LT_F32, false, false, 2, 3, 4, 1.0f, a, 4, b, 3, 0.0f, c, 3);
    lt_gemm(LT_F32, true, false, 2, 3, 4, 1.0f, a, 2, b, 3, 0.0f, c, 3);
    lt_gemm(LT_BF16, false, false, 5, 6, 7, 1.0f, a16, 7, b16, 6, 0.0f, c, 6);
    lt_gemm(LT_F16, false, false, 2, 2, 2, 1.0f, a16, 2, b16, 2, 0.0f, c, 2);
    lt_gemm_stats s;
    lt_gemm_stats_get(&s);
    LT_CHECK_INT(s.calls[LT_F32], 2);
    LT_CHECK_INT(s.flops[LT_F32], 2 * (2 * 2 * 3 * 4));
    LT_CHECK_INT(s.calls[LT_BF16], 1);
    LT_CHECK_INT(s.flops[LT_BF16], 2 * 5 * 6 * 7);
    LT_CHECK_INT(s.calls[LT_F16], 1);
    LT_CHECK_INT(s.flops[LT_F16], 2 * 2 * 2 * 2);
    LT_CHECK_INT(s.calls[LT_Q8_0], 0);
    for (int d = 0; d < LT_DTYPE_COUNT; d++) LT_CHECK_INT(s.fallbacks[d], 0);
    lt_gemm_stats_reset();
    lt_gemm_stats_get(&s);
    for (int d = 0; d < LT_DTYPE_COUNT; d++) {
        LT_CHECK_INT(s.calls[d], 0);
        LT_CHECK_INT(s.flops[d], 0);
        LT_CHECK_INT(s.fallbacks[d], 0);
    }
    LT_CHECK_INT(s.primitives_built, 0);
}

// One oneDNN primitive per distinct parameter set, reused on repeat calls.
static void test_primitives_are_cached(void) {
    enum { M = 19, N = 23, K = 29 }; // a shape no other test uses
    uint16_t a[M * K] = {0}, b[K * N] = {0};
    float c[M * N];
    lt_gemm_stats_reset();
    lt_gemm(LT_BF16, false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    lt_gemm(LT_BF16, false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    lt_gemm_stats s;
    lt_gemm_stats_get(&s);
    LT_CHECK_INT(s.primitives_built, 1);
    lt_gemm(LT_BF16, false, false, M, N, K, 2.0f, a, K, b, N, 0.0f, c, N); // alpha differs
    lt_gemm(LT_BF16, false, false, M, N, K, 1.0f, a, K, b, N, 1.0f, c, N); // beta differs
    lt_gemm(LT_BF16, false, false, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    lt_gemm_stats_get(&s);
    LT_CHECK_INT(s.primitives_built, 3);
    LT_CHECK_INT(s.fallbacks[LT_BF16], 0);
}

// With the reference forced, lt_gemm gives the reference's bits; without it,
// f32 accumulation of 257 terms differs from f64 somewhere (so the check means something).
static void test_force_reference(void) {
    enum { M = 9, N = 11, K = 257 };
    lt_rng rng;
    lt_rng_seed(&rng, 5);
    float af[M * K], bf[K * N], ref[M * N], forced[M * N], fast[M * N];
    uint16_t a[M * K], b[K * N];
    fill_uniform(af, M * K, &rng);
    fill_uniform(bf, K * N, &rng);
    lt_f32_to_bf16_array(a, af, M * K);
    lt_f32_to_bf16_array(b, bf, K * N);
    const lt_dtype dtypes[] = {LT_F32, LT_BF16};
    for (int d = 0; d < 2; d++) {
        const void *pa = d ? (const void *)a : (const void *)af;
        const void *pb = d ? (const void *)b : (const void *)bf;
        lt_gemm_ref(dtypes[d], false, false, M, N, K, 1.0f, pa, K, pb, N, 0.0f, ref, N);
        lt_gemm_force_reference(true);
        lt_gemm(dtypes[d], false, false, M, N, K, 1.0f, pa, K, pb, N, 0.0f, forced, N);
        lt_gemm_force_reference(false);
        lt_gemm(dtypes[d], false, false, M, N, K, 1.0f, pa, K, pb, N, 0.0f, fast, N);
        int same_forced = 0, same_fast = 0;
        for (int i = 0; i < M * N; i++) {
            same_forced += forced[i] == ref[i];
            same_fast += fast[i] == ref[i];
        }
        LT_CHECK_INT(same_forced, M * N);
        LT_CHECK_MSG(same_fast < M * N, "%s: the fast path matched the reference bit for bit",
                     lt_dtype_name(dtypes[d]));
    }
}

// lda = 0 (every row of op(A) is A's first row) breaks the BLAS rule: the
// reference computes it and the call counts as a fallback.
static void test_leading_dimension_below_rule_falls_back(void) {
    enum { M = 3, N = 4, K = 5 };
    const float row[K] = {1, -2, 3, 0.5f, 2};
    float b[K * N], c[M * N];
    uint16_t row16[K], b16[K * N];
    for (int i = 0; i < K * N; i++) b[i] = (float)(i % 7) - 3;
    lt_f32_to_bf16_array(row16, row, K);
    lt_f32_to_bf16_array(b16, b, K * N);
    const lt_dtype dtypes[] = {LT_F32, LT_BF16};
    for (int d = 0; d < 2; d++) {
        lt_gemm_stats_reset();
        for (int i = 0; i < M * N; i++) c[i] = NAN;
        lt_gemm(dtypes[d], false, false, M, N, K, 1.0f, d ? (const void *)row16 : row, 0,
                d ? (const void *)b16 : b, N, 0.0f, c, N);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                float want = 0; // small integers and halves: exact
                for (int k = 0; k < K; k++) want += row[k] * b[k * N + n];
                LT_CHECK_MSG(c[m * N + n] == want, "%s C[%d][%d] = %g, expected %g",
                             lt_dtype_name(dtypes[d]), m, n, c[m * N + n], want);
            }
        lt_gemm_stats s;
        lt_gemm_stats_get(&s);
        LT_CHECK_INT(s.fallbacks[dtypes[d]], 1);
        LT_CHECK_INT(s.calls[dtypes[d]], 1);
    }
}

// A product of non-matrix dtypes (i32 here) leaves C NaN, inside its columns only.
static void test_non_matrix_dtype_gives_nan(void) {
    int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 6};
    float c[2 * 3];
    for (int i = 0; i < 6; i++) c[i] = 7;
    lt_gemm_stats_reset();
    lt_gemm(LT_I32, false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 3);
    for (int m = 0; m < 2; m++) {
        LT_CHECK(isnan(c[m * 3 + 0]) && isnan(c[m * 3 + 1]));
        LT_CHECK(c[m * 3 + 2] == 7);
    }
    lt_gemm_stats s;
    lt_gemm_stats_get(&s);
    LT_CHECK_INT(s.calls[LT_I32], 1);
    LT_CHECK_INT(s.fallbacks[LT_I32], 1);
}

// K = 0 gives C = beta * C (and zeros over NaN for beta 0); M = 0 writes nothing.
static void test_empty_products(void) {
    const lt_dtype dtypes[] = {LT_F32, LT_BF16};
    float dummy[1] = {0};
    for (int d = 0; d < 2; d++) {
        float c[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
        lt_gemm(dtypes[d], false, false, 2, 3, 0, 1.0f, dummy, 1, dummy, 3, 0.0f, c, 3);
        for (int i = 0; i < 6; i++) LT_CHECK(c[i] == 0);
        for (int i = 0; i < 6; i++) c[i] = (float)i;
        lt_gemm(dtypes[d], false, false, 2, 3, 0, 1.0f, dummy, 1, dummy, 3, 0.5f, c, 3);
        for (int i = 0; i < 6; i++) LT_CHECK(c[i] == 0.5f * (float)i);
        lt_gemm(dtypes[d], false, false, 0, 3, 4, 1.0f, dummy, 4, dummy, 3, 0.0f, c, 3);
        for (int i = 0; i < 6; i++) LT_CHECK(c[i] == 0.5f * (float)i);
    }
}

static void test_peak_measurement(void) {
    LT_CHECK(lt_gemm_peak_gflops(LT_F32, 32, 0.001) > 0);
    LT_CHECK(lt_gemm_peak_gflops(LT_BF16, 32, 0.001) > 0);
    LT_CHECK(lt_gemm_peak_gflops(LT_I32, 32, 0.001) == 0);
    LT_CHECK(lt_gemm_peak_gflops(LT_F16, 32, 0.001) > 0); // widened to f32, then OpenBLAS
    LT_CHECK(lt_gemm_peak_gflops(LT_F32, 0, 0.001) == 0);
}

// The OpenBLAS kernel name is reported (bench programs print it beside the peak).
static void test_f32_kernel_is_named(void) {
    const char *name = lt_gemm_f32_kernel();
    LT_CHECK(name && name[0]);
}

int main(void) {
    LT_RUN(test_hand_computed_product);
    LT_RUN(test_fast_matches_reference);
    LT_RUN(test_parallel_for_matches_serial);
    LT_RUN(test_calls_from_exiting_threads);
    LT_RUN(test_stats_count_per_dtype_and_reset);
    LT_RUN(test_primitives_are_cached);
    LT_RUN(test_force_reference);
    LT_RUN(test_leading_dimension_below_rule_falls_back);
    LT_RUN(test_non_matrix_dtype_gives_nan);
    LT_RUN(test_empty_products);
    LT_RUN(test_peak_measurement);
    LT_RUN(test_f32_kernel_is_named);
    return lt_test_finish();
}
