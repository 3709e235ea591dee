// gemm.c: lt_gemm dispatch — OpenBLAS cblas_sgemm for f32, oneDNN's matmul
// primitive for bf16, the scalar reference for f16, for forced-reference runs
// and as the fallback when a backend cannot take a call.
//
// Speed on the development machine (2 cores, AVX-512 with BF16, no AMX;
// lt_gemm_peak_gflops, n = 2048, 2 threads): f32 321 GFLOP/s, bf16 170 GFLOP/s
// with oneDNN's brg:avx512_core_bf16 kernel. bf16 is the slower one there:
// a vdpbf16ps loop alone reaches ~87 GFLOP/s per core against ~178 for FMA.
// The f32 figure needs OPENBLAS_CORETYPE=SkylakeX (see lt_gemm_f32_kernel);
// with OpenBLAS's own pick, Prescott, it is 67 GFLOP/s.
//
// Threading. Both libraries run on the one OpenMP runtime. Called inside an
// OpenMP parallel region, each runs the call single-threaded in the calling
// thread by itself: OpenBLAS 0.3.21 (num_cpu_avail in common_thread.h returns 1
// when omp_in_parallel()) and oneDNN 2.6 (its parallel() runs the body inline
// when omp_in_parallel()), so lt_gemm adds no guard of its own.
//
// oneDNN design (measured on this machine, 512x512x64 bf16, one thread: the
// product runs ~420 us; building a primitive descriptor costs 5-30 us even when
// oneDNN's own primitive cache then hands back the compiled primitive, and the
// first build of a shape JIT-compiles for 0.2-10 ms):
//   * one engine for the process, created lazily under pthread_once;
//   * primitives cached in a small mutex-guarded table keyed by every
//     parameter baked into them (sizes, strides, transposes, alpha, beta and
//     the thread count the call runs with); least recently used entries that
//     no call is executing are evicted;
//   * transposes and leading dimensions are memory-descriptor strides, alpha
//     is an output scale and beta a sum post-op (absent for beta == 0, so C
//     is not read);
//   * a primitive with the library-owned scratchpad must not run in two
//     threads at once (oneDNN's scratchpad docs), and a stream is an
//     execution context that the API does not promise to be thread-safe, so
//     primitives use the user scratchpad mode and every thread owns its
//     stream and scratchpad buffer (freed when the thread exits);
//   * every oneDNN status is checked; a failure sends the call to the
//     reference and counts it in the fallback statistics (oneDNN reports
//     errors while creating descriptors, memory objects and primitives or
//     validating the arguments, all before C is written).
#include "lathe/gemm.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic uint64_t stat_calls[LT_DTYPE_COUNT];
static _Atomic uint64_t stat_flops[LT_DTYPE_COUNT];
static _Atomic uint64_t stat_fallbacks[LT_DTYPE_COUNT];
static _Atomic uint64_t stat_primitives_built;
static _Atomic bool force_reference;

void lt_gemm_stats_get(lt_gemm_stats *out) {
    for (int i = 0; i < LT_DTYPE_COUNT; i++) {
        out->calls[i] = atomic_load(&stat_calls[i]);
        out->flops[i] = atomic_load(&stat_flops[i]);
        out->fallbacks[i] = atomic_load(&stat_fallbacks[i]);
    }
    out->primitives_built = atomic_load(&stat_primitives_built);
}

void lt_gemm_stats_reset(void) {
    for (int i = 0; i < LT_DTYPE_COUNT; i++) {
        atomic_store(&stat_calls[i], 0);
        atomic_store(&stat_flops[i], 0);
        atomic_store(&stat_fallbacks[i], 0);
    }
    atomic_store(&stat_primitives_built, 0);
}

void lt_gemm_force_reference(bool on) { atomic_store(&force_reference, on); }

// ---------------------------------------------------------------- reference

static bool is_matrix_dtype(lt_dtype dtype) {
    return dtype == LT_F32 || dtype == LT_BF16 || dtype == LT_F16;
}

static inline double load(lt_dtype dtype, const void *p, int64_t i) {
    if (dtype == LT_BF16) return lt_bf16_to_f32(((const uint16_t *)p)[i]);
    if (dtype == LT_F16) return lt_f16_to_f32(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

// C (M, N) = NaN: the visible result of asking for a product of non-matrix dtypes.
static void fill_nan(int64_t M, int64_t N, float *C, int64_t ldc) {
    if (ldc < N) return;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) C[m * ldc + n] = NAN;
}

void lt_gemm_ref(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                 float *C, int64_t ldc) {
    if (!is_matrix_dtype(dtype)) {
        fill_nan(M, N, C, ldc);
        return;
    }
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

// ---------------------------------------------------------------- OpenBLAS f32

static bool gemm_openblas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                          float *C, int64_t ldc) {
    // The CBLAS interface takes int sizes.
    if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
        ldc > INT_MAX)
        return false;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                (int)ldb, beta, C, (int)ldc);
    return true;
}

const char *lt_gemm_f32_kernel(void) { return openblas_get_corename(); }

void lt_gemm_fix_openblas_kernel(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || strcmp(lt_gemm_f32_kernel(), "Prescott") != 0) return;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("avx512cd"))
        return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    execv("/proc/self/exe", argv); // returns only on failure
}

// ---------------------------------------------------------------- f16 via f32

// This CPU family has no f16 matrix arithmetic worth using, so f16 operands
// are widened exactly to f32 (every f16 value is an f32 value) and multiplied
// by OpenBLAS: the result is what an f16-storage, f32-compute GEMM gives.
// The widened copies live in per-thread buffers that grow as needed and are
// freed when the thread exits.
typedef struct {
    float *data;
    size_t cap;
} f16_scratch;
static pthread_key_t f16_key;
static pthread_once_t f16_once = PTHREAD_ONCE_INIT;

static void f16_scratch_free(void *p) {
    f16_scratch *s = p;
    if (s) free(s->data);
    free(s);
}
static void f16_key_init(void) { pthread_key_create(&f16_key, f16_scratch_free); }

// A (rows, cols) f16 matrix with row stride ld, widened to a dense f32 copy in
// the thread's scratch at `offset` floats.
static float *f16_widen(f16_scratch *s, size_t offset, const uint16_t *src, int64_t rows,
                        int64_t cols, int64_t ld) {
    float *dst = s->data + offset;
    for (int64_t r = 0; r < rows; r++)
        lt_f16_to_f32_array(dst + r * cols, src + r * ld, (size_t)cols);
    return dst;
}

static bool gemm_f16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const uint16_t *A, int64_t lda, const uint16_t *B, int64_t ldb, float beta,
                     float *C, int64_t ldc) {
    pthread_once(&f16_once, f16_key_init);
    f16_scratch *s = pthread_getspecific(f16_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(f16_key, s) != 0) {
            free(s);
            return false;
        }
    }
    size_t need = (size_t)(M * K) + (size_t)(K * N);
    if (need > s->cap) {
        float *grown = realloc(s->data, need * sizeof(float));
        if (!grown) return false;
        s->data = grown;
        s->cap = need;
    }
    int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K;
    int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N;
    float *a32 = f16_widen(s, 0, A, a_rows, a_cols, lda);
    float *b32 = f16_widen(s, (size_t)(M * K), B, b_rows, b_cols, ldb);
    return gemm_openblas(trans_a, trans_b, M, N, K, alpha, a32, a_cols, b32, b_cols, beta, C, ldc);
}

// ---------------------------------------------------------------- oneDNN bf16

static dnnl_engine_t dnnl_cpu_engine;
static pthread_key_t thread_ctx_key;
static bool dnnl_ready; // written once under pthread_once, read after it
static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;

// What one thread needs to execute primitives: its own stream and scratchpad.
typedef struct {
    dnnl_stream_t stream;
    void *scratch; // (scratch_bytes)
    size_t scratch_bytes;
} thread_ctx;

static void thread_ctx_free(void *p) {
    thread_ctx *ctx = p;
    if (ctx->stream) dnnl_stream_destroy(ctx->stream);
    lt_free(ctx->scratch);
    lt_free(ctx);
}

static void dnnl_init(void) {
    if (pthread_key_create(&thread_ctx_key, thread_ctx_free) != 0) return;
    if (dnnl_engine_create(&dnnl_cpu_engine, dnnl_cpu, 0) != dnnl_success) return;
    dnnl_ready = true;
}

// The calling thread's context, created on its first bf16 call; NULL on failure.
static thread_ctx *thread_ctx_get(void) {
    thread_ctx *ctx = pthread_getspecific(thread_ctx_key);
    if (ctx) return ctx;
    lt_status st = lt_calloc((void **)&ctx, 1, sizeof *ctx, "gemm thread context");
    if (st) {
        lt_status_free(st);
        return NULL;
    }
    if (dnnl_stream_create(&ctx->stream, dnnl_cpu_engine, dnnl_stream_default_flags) !=
            dnnl_success ||
        pthread_setspecific(thread_ctx_key, ctx) != 0) {
        thread_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

static bool scratch_reserve(thread_ctx *ctx, size_t bytes) {
    if (bytes <= ctx->scratch_bytes) return true;
    lt_free(ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
    lt_status st = lt_alloc(&ctx->scratch, bytes, "oneDNN scratchpad");
    if (st) {
        lt_status_free(st);
        return false;
    }
    ctx->scratch_bytes = bytes;
    return true;
}

// Every parameter a matmul primitive is specialised on. All fields are 4 or 8
// bytes wide, so the struct has no padding and compares with memcmp.
typedef struct {
    int64_t M, N, K, lda, ldb, ldc;
    uint32_t alpha_bits, beta_bits;
    int32_t trans_a, trans_b;
    int32_t threads; // threads the call runs with (1 inside a parallel region)
    int32_t unused;
} matmul_key;

typedef struct {
    matmul_key key;
    dnnl_primitive_t prim; // NULL: the slot is empty
    size_t scratch_bytes;
    int users; // calls executing it now; never evicted while > 0
    uint64_t last_use;
} matmul_entry;

#define MATMUL_CACHE_SIZE 64
static matmul_entry matmul_cache[MATMUL_CACHE_SIZE];
static uint64_t matmul_clock;
static pthread_mutex_t matmul_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

// Builds the primitive for key into e (not yet in the table); false on any oneDNN error.
static bool matmul_build(matmul_entry *e, const matmul_key *k) {
    memset(e, 0, sizeof *e);
    e->key = *k;
    dnnl_memory_desc_t a_md, b_md, c_md;
    // op(A) (M, K): element (m, k) sits at m*lda + k, or at k*lda + m when transposed.
    dnnl_dims_t a_dims = {k->M, k->K},
                a_strides = {k->trans_a ? 1 : k->lda, k->trans_a ? k->lda : 1};
    dnnl_dims_t b_dims = {k->K, k->N},
                b_strides = {k->trans_b ? 1 : k->ldb, k->trans_b ? k->ldb : 1};
    dnnl_dims_t c_dims = {k->M, k->N}, c_strides = {k->ldc, 1};
    if (dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_strides) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_bf16, b_strides) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides) != dnnl_success)
        return false;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &a_md, &b_md, NULL, &c_md) != dnnl_success) return false;

    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    float alpha, beta;
    memcpy(&alpha, &k->alpha_bits, sizeof alpha);
    memcpy(&beta, &k->beta_bits, sizeof beta);
    bool ok =
        dnnl_primitive_attr_create(&attr) == dnnl_success &&
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && alpha != 1.0f)
        ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) == dnnl_success;
    if (ok && beta != 0.0f)
        ok = dnnl_post_ops_create(&post_ops) == dnnl_success &&
             dnnl_post_ops_append_sum(post_ops, beta) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, post_ops) == dnnl_success;
    if (ok)
        ok = dnnl_primitive_desc_create(&pd, &desc, attr, dnnl_cpu_engine, NULL) == dnnl_success;
    if (ok) {
        const dnnl_memory_desc_t *s_md =
            dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        e->scratch_bytes = s_md ? dnnl_memory_desc_get_size(s_md) : 0;
        ok = dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) return false;
    atomic_fetch_add(&stat_primitives_built, 1);
    return true;
}

// Call with matmul_lock held.
static matmul_entry *matmul_find(const matmul_key *key) {
    for (int i = 0; i < MATMUL_CACHE_SIZE; i++) {
        matmul_entry *e = &matmul_cache[i];
        if (e->prim && memcmp(&e->key, key, sizeof *key) == 0) return e;
    }
    return NULL;
}

// An empty slot, else the least recently used idle one; NULL when all are busy.
// Call with matmul_lock held.
static matmul_entry *matmul_victim(void) {
    matmul_entry *victim = NULL;
    for (int i = 0; i < MATMUL_CACHE_SIZE; i++) {
        matmul_entry *e = &matmul_cache[i];
        if (!e->prim) return e;
        if (e->users == 0 && (!victim || e->last_use < victim->last_use)) victim = e;
    }
    return victim;
}

// The primitive for key, marked in use: from the table, or built and put into
// it. When every slot is busy the primitive lives in *spare and the caller owns
// it. NULL when it cannot be built.
static matmul_entry *matmul_acquire(const matmul_key *key, matmul_entry *spare) {
    pthread_mutex_lock(&matmul_lock);
    matmul_entry *e = matmul_find(key);
    if (e) {
        e->users++;
        e->last_use = ++matmul_clock;
    }
    pthread_mutex_unlock(&matmul_lock);
    if (e) return e;

    // Built outside the lock: a first build JIT-compiles for milliseconds.
    if (!matmul_build(spare, key)) return NULL;
    pthread_mutex_lock(&matmul_lock);
    e = matmul_find(key); // another thread may have built it meanwhile
    bool spare_unused = e != NULL;
    if (!e) {
        e = matmul_victim();
        if (e) {
            if (e->prim) dnnl_primitive_destroy(e->prim);
            *e = *spare;
        }
    }
    if (e) {
        e->users++;
        e->last_use = ++matmul_clock;
    }
    pthread_mutex_unlock(&matmul_lock);
    if (spare_unused) dnnl_primitive_destroy(spare->prim);
    return e ? e : spare;
}

static void matmul_release(matmul_entry *e, matmul_entry *spare) {
    if (e == spare) {
        dnnl_primitive_destroy(spare->prim);
        return;
    }
    pthread_mutex_lock(&matmul_lock);
    e->users--;
    pthread_mutex_unlock(&matmul_lock);
}

// Runs prim on (A, B, C) with this thread's stream and scratchpad.
static bool matmul_execute(thread_ctx *ctx, const matmul_entry *e, const void *A, const void *B,
                           float *C) {
    const_dnnl_primitive_desc_t pd;
    if (dnnl_primitive_get_primitive_desc(e->prim, &pd) != dnnl_success) return false;
    if (!scratch_reserve(ctx, e->scratch_bytes)) return false;
    struct {
        int arg;
        dnnl_query_t what;
        void *data;
    } operands[4] = {
        {DNNL_ARG_SRC, dnnl_query_src_md, (void *)A},
        {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, (void *)B},
        {DNNL_ARG_DST, dnnl_query_dst_md, C},
        {DNNL_ARG_SCRATCHPAD, dnnl_query_scratchpad_md, ctx->scratch},
    };
    int n_args = e->scratch_bytes > 0 ? 4 : 3;
    dnnl_exec_arg_t args[4];
    bool ok = true;
    int made = 0;
    for (; ok && made < n_args; made++) {
        const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, operands[made].what, 0);
        args[made].arg = operands[made].arg;
        args[made].memory = NULL;
        ok = md && dnnl_memory_create(&args[made].memory, md, dnnl_cpu_engine,
                                      operands[made].data) == dnnl_success;
    }
    if (ok)
        ok = dnnl_primitive_execute(e->prim, ctx->stream, n_args, args) == dnnl_success &&
             dnnl_stream_wait(ctx->stream) == dnnl_success;
    for (int i = 0; i < made; i++)
        if (args[i].memory) dnnl_memory_destroy(args[i].memory);
    return ok;
}

static bool gemm_onednn(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
                        float *C, int64_t ldc) {
    pthread_once(&dnnl_once, dnnl_init);
    if (!dnnl_ready) return false;
    thread_ctx *ctx = thread_ctx_get();
    if (!ctx) return false;
    matmul_key key;
    memset(&key, 0, sizeof key);
    key.M = M, key.N = N, key.K = K, key.lda = lda, key.ldb = ldb, key.ldc = ldc;
    key.alpha_bits = float_bits(alpha), key.beta_bits = float_bits(beta);
    key.trans_a = trans_a, key.trans_b = trans_b;
    key.threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    matmul_entry spare;
    matmul_entry *e = matmul_acquire(&key, &spare);
    if (!e) return false;
    bool ok = matmul_execute(ctx, e, A, B, C);
    matmul_release(e, &spare);
    return ok;
}

// ---------------------------------------------------------------- dispatch

// The BLAS rule: sizes >= 0 and every leading dimension at least the stored
// matrix's column count (and at least 1).
static bool args_follow_blas_rule(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                  int64_t lda, int64_t ldb, int64_t ldc) {
    int64_t a_cols = trans_a ? M : K, b_cols = trans_b ? K : N;
    return M >= 0 && N >= 0 && K >= 0 && lda >= (a_cols > 1 ? a_cols : 1) &&
           ldb >= (b_cols > 1 ? b_cols : 1) && ldc >= (N > 1 ? N : 1);
}

void lt_gemm(lt_dtype dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
             float alpha, const void *A, int64_t lda, const void *B, int64_t ldb, float beta,
             float *C, int64_t ldc) {
    if ((unsigned)dtype >= LT_DTYPE_COUNT) { // not even a dtype: nothing to count it under
        fill_nan(M, N, C, ldc);
        return;
    }
    atomic_fetch_add(&stat_calls[dtype], 1);
    if (!is_matrix_dtype(dtype) ||
        !args_follow_blas_rule(trans_a, trans_b, M, N, K, lda, ldb, ldc)) {
        atomic_fetch_add(&stat_fallbacks[dtype], 1);
        lt_gemm_ref(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    atomic_fetch_add(&stat_flops[dtype], (uint64_t)(2 * M * N * K));
    if (M == 0 || N == 0) return;
    // K == 0 leaves C = beta * C: not worth a backend call.
    if (atomic_load(&force_reference) || K == 0) {
        lt_gemm_ref(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    bool done;
    if (dtype == LT_F32)
        done = gemm_openblas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (dtype == LT_F16)
        done = gemm_f16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        done = gemm_onednn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    if (!done) {
        atomic_fetch_add(&stat_fallbacks[dtype], 1);
        lt_gemm_ref(dtype, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}

// ---------------------------------------------------------------- peak

double lt_gemm_peak_gflops(lt_dtype dtype, int64_t n, double min_seconds) {
    if ((dtype != LT_F32 && dtype != LT_BF16 && dtype != LT_F16) || n < 1) return 0;
    size_t count, in_bytes, out_bytes;
    if (!lt_mul_size((size_t)n, (size_t)n, &count) ||
        !lt_mul_size(count, lt_dtype_size(dtype), &in_bytes) ||
        !lt_mul_size(count, sizeof(float), &out_bytes))
        return 0;
    void *A = NULL, *B = NULL, *C = NULL; // (n, n) dtype, (n, n) dtype, (n, n) f32
    lt_status st = lt_alloc(&A, in_bytes, "peak A");
    if (!st) st = lt_alloc(&B, in_bytes, "peak B");
    if (!st) st = lt_alloc(&C, out_bytes, "peak C");
    if (st) {
        lt_status_free(st);
        lt_free(A);
        lt_free(B);
        return 0;
    }
    lt_rng rng;
    lt_rng_seed(&rng, 1234);
    for (size_t i = 0; i < count; i++) {
        for (int which = 0; which < 2; which++) {
            float x = (float)(2 * lt_rng_uniform(&rng) - 1);
            void *dst = which ? B : A;
            if (dtype == LT_F32)
                ((float *)dst)[i] = x;
            else if (dtype == LT_BF16)
                ((uint16_t *)dst)[i] = lt_f32_to_bf16(x);
            else
                ((uint16_t *)dst)[i] = lt_f32_to_f16(x);
        }
    }
    lt_gemm(dtype, false, false, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n); // warm-up
    double flops_per_call = 2.0 * (double)n * (double)n * (double)n, best = 0;
    for (int trial = 0; trial < 3; trial++) {
        double start = lt_time_now(), elapsed;
        int64_t calls = 0;
        do {
            lt_gemm(dtype, false, false, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
            calls++;
            elapsed = lt_time_now() - start;
        } while (elapsed < min_seconds);
        double gflops = elapsed > 0 ? flops_per_call * (double)calls / elapsed * 1e-9 : 0;
        if (gflops > best) best = gflops;
    }
    lt_free(A);
    lt_free(B);
    lt_free(C);
    return best;
}
