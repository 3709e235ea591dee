// quant.c: weights in their storage dtype (f32, bf16, f16, q8_0) for
// inference — conversion, widening, GGUF's Q8_0 quantization — and
// lt_qmatmul, the product every linear layer of the inference engine runs.
//
// Two paths, picked by the number of activation rows N:
//   * small N (decode, N <= LT_QMATMUL_SMALL_N): each weight row is read once
//     for all N rows; weight rows are split across threads in chunks of
//     contiguous rows (never the reduction), so y does not depend on the
//     thread count.
//     AVX-512 kernels (quant_avx512.c) when the CPU has them, the portable C
//     loops below otherwise (or when forced, for tests);
//   * large N (prefill): f32 weights go to lt_gemm as they are; other dtypes
//     are widened tile by tile (a few MiB of rows at a time) into
//     per-thread scratch and each thread multiplies its tiles with sgemm.
//     q8_0 x is not quantized on this path (see quant.h).
// Why two: at small N the weight stream is the whole cost, and sgemm on a
// handful of rows is far from both its peak and the memory bound; at large N
// the widening costs 1/(2N) of the flops and sgemm's blocking wins. Where
// they cross was measured (bench/qmatmul_bench, 2 threads, weights in cache,
// shapes 2816x1024, 512x1536, 16384x512): at N = 64 the small-N kernels run
// 200-280 GFLOP/s against 180-240 for widen + sgemm, at N = 96 they tie
// (f16 already loses), from N = 128 sgemm wins (up to 280-330 at N = 512);
// at N = 17 the sgemm path manages only about 85.
//
// Scratch (prepared activations on the calling thread, widened tiles on each
// worker) lives in per-thread buffers that grow as needed and are freed when
// the thread exits, so steady-state calls allocate nothing.
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels_internal.h"
#include "lathe/gemm.h"
#include "quant_internal.h"

_Static_assert(sizeof(lt_block_q8_0) == 34, "lt_block_q8_0 must match GGUF's 34-byte block");

// ---------------------------------------------------------------- dispatch

static _Atomic bool force_portable;
static bool cpu_has_avx512;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_check(void) {
    __builtin_cpu_init();
    cpu_has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
                     __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma");
}

void lt_qmatmul_force_portable(bool on) { atomic_store(&force_portable, on); }

bool lt_quant_avx512_active(void) {
    pthread_once(&cpu_once, cpu_check);
    return cpu_has_avx512 && !atomic_load(&force_portable);
}

// ---------------------------------------------------------------- scratch

enum { SCRATCH_X, SCRATCH_TILE, SCRATCH_SLOTS };
typedef struct {
    void *buf[SCRATCH_SLOTS];
    size_t cap[SCRATCH_SLOTS];
} scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_free(void *p) {
    scratch *s = p;
    if (!s) return;
    for (int i = 0; i < SCRATCH_SLOTS; i++) lt_free(s->buf[i]);
    free(s);
}
static void scratch_key_init(void) {
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

// This thread's buffer `slot` of at least `bytes` (contents not kept), or NULL.
static void *scratch_get(int slot, size_t bytes) {
    pthread_once(&scratch_once, scratch_key_init);
    if (!scratch_key_ok) return NULL;
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (bytes > s->cap[slot]) {
        lt_free(s->buf[slot]);
        s->buf[slot] = NULL;
        s->cap[slot] = 0;
        lt_status st = lt_alloc(&s->buf[slot], bytes, "qmatmul scratch");
        if (st) {
            lt_status_free(st);
            return NULL;
        }
        s->cap[slot] = bytes;
    }
    return s->buf[slot];
}

// ---------------------------------------------------------------- q8_0

// Byte address of block b of q8_0 data (no alignment assumed: weights may sit
// anywhere in a mapped file).
static inline const uint8_t *q8_block(const void *data, int64_t b) {
    return (const uint8_t *)data + (size_t)b * sizeof(lt_block_q8_0);
}
static inline float q8_scale(const uint8_t *block) {
    uint16_t d;
    memcpy(&d, block, 2);
    return lt_f16_to_f32(d);
}

// GGUF's reference rule (quantize_row_q8_0_ref), which every Q8_0 file is
// written with. llama.cpp's own AVX quantizer of activations differs in two
// details (id = 127 / amax, ties rounded to even), so its decode can differ
// from lathe's by one quantum on rare values of x.
static void q8_0_quantize_portable(lt_block_q8_0 *dst, const float *src, int64_t n) {
    uint8_t *out = (uint8_t *)dst;
    for (int64_t b = 0; b < n / LT_Q8_0_BLOCK; b++) {
        const float *x = src + b * LT_Q8_0_BLOCK;
        float amax = 0.0f;
        for (int i = 0; i < LT_Q8_0_BLOCK; i++) {
            float a = fabsf(x[i]);
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t d16 = lt_f32_to_f16(d);
        int8_t qs[LT_Q8_0_BLOCK];
        for (int i = 0; i < LT_Q8_0_BLOCK; i++) qs[i] = lt_q8_0_round(x[i] * id);
        memcpy(out + b * sizeof(lt_block_q8_0), &d16, 2);
        memcpy(out + b * sizeof(lt_block_q8_0) + 2, qs, LT_Q8_0_BLOCK);
    }
}

static void q8_0_dequantize_portable(float *dst, const lt_block_q8_0 *src, int64_t n) {
    for (int64_t b = 0; b < n / LT_Q8_0_BLOCK; b++) {
        const uint8_t *block = q8_block(src, b);
        float d = q8_scale(block);
        const int8_t *qs = (const int8_t *)(block + 2);
        for (int i = 0; i < LT_Q8_0_BLOCK; i++) dst[b * LT_Q8_0_BLOCK + i] = d * (float)qs[i];
    }
}

void lt_q8_0_quantize(lt_block_q8_0 *dst, const float *src, int64_t n) {
    if (lt_quant_avx512_active())
        lt_q8_0_quantize_avx512(dst, src, n);
    else
        q8_0_quantize_portable(dst, src, n);
}

void lt_q8_0_dequantize(float *dst, const lt_block_q8_0 *src, int64_t n) {
    if (lt_quant_avx512_active())
        lt_q8_0_dequantize_avx512(dst, src, n);
    else
        q8_0_dequantize_portable(dst, src, n);
}

// ---------------------------------------------------------------- weights

static bool is_weight_dtype(lt_dtype t) {
    return t == LT_F32 || t == LT_BF16 || t == LT_F16 || t == LT_Q8_0;
}

size_t lt_qweight_bytes(lt_dtype dtype, int64_t rows, int64_t cols) {
    if (!is_weight_dtype(dtype) || rows < 0 || cols < 0) return 0;
    size_t n, bytes;
    if (!lt_mul_size((size_t)rows, (size_t)cols, &n)) return 0;
    if (dtype == LT_Q8_0) {
        if (cols % LT_Q8_0_BLOCK != 0) return 0;
        return lt_mul_size(n / LT_Q8_0_BLOCK, sizeof(lt_block_q8_0), &bytes) ? bytes : 0;
    }
    return lt_mul_size(n, lt_dtype_size(dtype), &bytes) ? bytes : 0;
}

// The shape checks shared by convert and qmatmul; `what` names the caller.
static lt_status check_weight(const char *what, lt_dtype dtype, int64_t rows, int64_t cols) {
    if (!is_weight_dtype(dtype))
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: dtype %s cannot hold weights (f32, bf16, f16 or q8_0)", what,
                        lt_dtype_name(dtype));
    if (rows < 1 || cols < 1)
        return lt_error(LT_ERR_ARG, "%s: bad weight shape (%lld, %lld)", what, (long long)rows,
                        (long long)cols);
    if (dtype == LT_Q8_0 && cols % LT_Q8_0_BLOCK != 0)
        return lt_error(LT_ERR_ARG,
                        "%s: q8_0 weight of shape (%lld, %lld): cols must be a multiple of %d",
                        what, (long long)rows, (long long)cols, LT_Q8_0_BLOCK);
    if (lt_qweight_bytes(dtype, rows, cols) == 0)
        return lt_error(LT_ERR_RANGE, "%s: %s weight of shape (%lld, %lld) is too large", what,
                        lt_dtype_name(dtype), (long long)rows, (long long)cols);
    return NULL;
}

lt_status lt_qweight_convert(void *dst, lt_dtype dtype, const float *src, int64_t rows,
                             int64_t cols) {
    LT_TRY(check_weight("qweight convert", dtype, rows, cols));
    if (!dst || !src) return lt_error(LT_ERR_ARG, "qweight convert: NULL buffer");
    size_t n = (size_t)rows * (size_t)cols;
    switch (dtype) {
    case LT_F32: memcpy(dst, src, n * sizeof(float)); break;
    case LT_BF16: lt_f32_to_bf16_array(dst, src, n); break;
    case LT_F16: lt_f32_to_f16_array(dst, src, n); break;
    default: lt_q8_0_quantize(dst, src, (int64_t)n); break;
    }
    return NULL;
}

void lt_qweight_rows_f32(float *dst, const lt_qweight *w, int64_t row0, int64_t n) {
    size_t first = (size_t)row0 * (size_t)w->cols, count = (size_t)n * (size_t)w->cols;
    switch (w->dtype) {
    case LT_F32: memcpy(dst, (const float *)w->data + first, count * sizeof(float)); break;
    case LT_BF16: lt_bf16_to_f32_array(dst, (const uint16_t *)w->data + first, count); break;
    case LT_F16: lt_f16_to_f32_array(dst, (const uint16_t *)w->data + first, count); break;
    case LT_Q8_0:
        lt_q8_0_dequantize(dst,
                           (const lt_block_q8_0 *)q8_block(w->data, (int64_t)first / LT_Q8_0_BLOCK),
                           (int64_t)count);
        break;
    default: break;
    }
}

// ---------------------------------------------------------------- portable kernels

// Element i of a bf16/f16/f32 weight, widened (any alignment).
static inline float weight_at(lt_dtype dtype, const uint8_t *data, int64_t i) {
    if (dtype == LT_F32) {
        float v;
        memcpy(&v, data + 4 * i, 4);
        return v;
    }
    uint16_t h;
    memcpy(&h, data + 2 * i, 2);
    if (dtype == LT_BF16) return lt_bf16_to_f32(h);
    return lt_f16_to_f32(h);
}

// dot(W row r, x) in f32: 8 interleaved partial sums, added pairwise at the end.
static inline __attribute__((always_inline)) float
dot_portable(lt_dtype dtype, const uint8_t *w, int64_t r, const float *x, int64_t cols) {
    float lane[8] = {0};
    int64_t base = r * cols;
    for (int64_t c = 0; c < cols; c++) lane[c % 8] += weight_at(dtype, w, base + c) * x[c];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// As llama.cpp's scalar q8_0 dot: exact int32 block sums, scaled by d_w * d_x.
static float dot_q8_0_portable(const uint8_t *wrow, const uint8_t *xrow, int64_t blocks) {
    float acc = 0.0f;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *wb = q8_block(wrow, b), *xb = q8_block(xrow, b);
        const int8_t *wq = (const int8_t *)(wb + 2), *xq = (const int8_t *)(xb + 2);
        int32_t sum = 0;
        for (int i = 0; i < LT_Q8_0_BLOCK; i++) sum += (int32_t)wq[i] * (int32_t)xq[i];
        acc += (float)sum * (q8_scale(wb) * q8_scale(xb));
    }
    return acc;
}

// y[n * rows + r] for r in [r0, r1); xprep is x, or x quantized for q8_0.
static void rows_portable(float *y, const void *xprep, const lt_qweight *w, int64_t N, int64_t r0,
                          int64_t r1) {
    int64_t rows = w->rows, cols = w->cols, blocks = cols / LT_Q8_0_BLOCK;
    const uint8_t *data = w->data;
    const float *x = xprep;
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t n = 0; n < N; n++) {
            float *out = y + n * rows + r;
            switch (w->dtype) {
            case LT_F32: *out = dot_portable(LT_F32, data, r, x + n * cols, cols); break;
            case LT_BF16: *out = dot_portable(LT_BF16, data, r, x + n * cols, cols); break;
            case LT_F16: *out = dot_portable(LT_F16, data, r, x + n * cols, cols); break;
            default:
                *out = dot_q8_0_portable(q8_block(data, r * blocks), q8_block(xprep, n * blocks),
                                         blocks);
                break;
            }
        }
    }
}

// ---------------------------------------------------------------- lt_qmatmul

static lt_status check_qmatmul(const float *y, const float *x, const lt_qweight *w, int64_t N) {
    if (!w) return lt_error(LT_ERR_ARG, "qmatmul: NULL weight");
    LT_TRY(check_weight("qmatmul", w->dtype, w->rows, w->cols));
    if (N < 0) return lt_error(LT_ERR_ARG, "qmatmul: negative row count N=%lld", (long long)N);
    if (N > 0 && (!y || !x || !w->data))
        return lt_error(LT_ERR_ARG, "qmatmul: NULL %s",
                        !y   ? "output y"
                        : !x ? "input x"
                             : "weight data");
    size_t xn, yn;
    if (!lt_mul_size((size_t)N, (size_t)w->cols, &xn) ||
        !lt_mul_size((size_t)N, (size_t)w->rows, &yn) || xn > SIZE_MAX / sizeof(float) ||
        yn > SIZE_MAX / sizeof(float))
        return lt_error(LT_ERR_RANGE, "qmatmul: N=%lld rows of (%lld, %lld) overflow", (long long)N,
                        (long long)w->rows, (long long)w->cols);
    return NULL;
}

// Threads for a call: one inside a parallel region (the caller owns the
// threads) or when the whole product is too small to be worth a team.
static int team_size(double work, int64_t units) {
    if (omp_in_parallel() || work < (double)LT_KERNEL_PAR_MIN) return 1;
    int nt = lt_threads_get();
    return units < nt ? (int)units : nt;
}

static lt_status qmatmul_small(float *y, const float *x, const lt_qweight *w, int64_t N) {
    bool simd = lt_quant_avx512_active();
    const void *xprep = x;
    size_t xbytes = simd                  ? lt_quant_avx512_xprep_bytes(w->dtype, N, w->cols)
                    : w->dtype == LT_Q8_0 ? lt_qweight_bytes(LT_Q8_0, N, w->cols)
                                          : 0;
    if (xbytes) {
        void *buf = scratch_get(SCRATCH_X, xbytes);
        if (!buf)
            return lt_error(LT_ERR_NOMEM,
                            "qmatmul: cannot allocate %zu bytes of activation scratch", xbytes);
        if (simd)
            lt_quant_avx512_xprep(buf, w->dtype, x, N, w->cols);
        else
            q8_0_quantize_portable(buf, x, N * w->cols);
        xprep = buf;
    }
    int64_t units = (w->rows + LT_QUANT_ROW_BLOCK - 1) / LT_QUANT_ROW_BLOCK;
    int nt = team_size((double)N * (double)w->rows * (double)w->cols, units);
    // Chunks of whole row blocks, handed out dynamically: on this shared
    // 2-core machine a thread that loses its core for a while must not hold
    // half the matrix. Same bits either way: each output is computed whole.
    int64_t chunks = nt > 1 ? (int64_t)nt * 8 : 1;
    if (chunks > units) chunks = units;
#pragma omp parallel for schedule(dynamic) num_threads(nt) if (nt > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t r0 = units * c / chunks * LT_QUANT_ROW_BLOCK;
        int64_t r1 = units * (c + 1) / chunks * LT_QUANT_ROW_BLOCK;
        r1 = r1 < w->rows ? r1 : w->rows;
        if (r0 < r1) {
            if (simd)
                lt_quant_avx512_rows(y, xprep, w, N, r0, r1);
            else
                rows_portable(y, xprep, w, N, r0, r1);
        }
    }
    return NULL;
}

// Rows per widened tile: at most ~8 MiB of f32, a multiple of 16, and a
// count of tiles that splits evenly over nt threads. sgemm packs the
// activations again for every tile, so few large tiles beat L2-sized ones:
// bench-l q8_0 prefill went 619 -> 645 -> 688 tokens/s from 1 to 4 to 8 MiB
// tiles, and back to 660 at 16 MiB.
static int64_t tile_rows(int64_t rows, int64_t cols, int nt) {
    int64_t max_rows = ((int64_t)1 << 21) / cols / 16 * 16;
    if (max_rows < 16) max_rows = 16;
    int64_t tiles = (rows + max_rows - 1) / max_rows;
    tiles = (tiles + nt - 1) / nt * nt;
    int64_t t = (rows + tiles - 1) / tiles;
    return (t + 15) / 16 * 16;
}

static lt_status qmatmul_large(float *y, const float *x, const lt_qweight *w, int64_t N) {
    int64_t rows = w->rows, cols = w->cols;
    if (w->dtype == LT_F32) {
        lt_gemm(LT_F32, false, true, N, rows, cols, 1.0f, x, cols, w->data, cols, 0.0f, y, rows);
        return NULL;
    }
    int nt = team_size((double)N * (double)rows * (double)cols, rows);
    int64_t tile = tile_rows(rows, cols, nt), tiles = (rows + tile - 1) / tile;
    size_t tile_bytes = (size_t)(tile * cols) * sizeof(float);
    _Atomic bool failed = false;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < tiles; t++) {
        float *wt = scratch_get(SCRATCH_TILE, tile_bytes); // (tile, cols)
        if (!wt) {
            atomic_store(&failed, true);
            continue;
        }
        int64_t r0 = t * tile, m = rows - r0 < tile ? rows - r0 : tile;
        lt_qweight_rows_f32(wt, w, r0, m);
        lt_gemm(LT_F32, false, true, N, m, cols, 1.0f, x, cols, wt, cols, 0.0f, y + r0, rows);
    }
    if (atomic_load(&failed))
        return lt_error(LT_ERR_NOMEM,
                        "qmatmul: cannot allocate %zu bytes for a widened weight tile", tile_bytes);
    return NULL;
}

lt_status lt_qmatmul(float *y, const float *x, const lt_qweight *w, int64_t N) {
    LT_TRY(check_qmatmul(y, x, w, N));
    if (N == 0) return NULL;
    if (N <= LT_QMATMUL_SMALL_N) return qmatmul_small(y, x, w, N);
    return qmatmul_large(y, x, w, N);
}

// ---------------------------------------------------------------- references

void lt_qmatmul_ref_f32(float *y, const float *x, const lt_qweight *w, int64_t N) {
    int64_t rows = w->rows, cols = w->cols;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t r = 0; r < rows; r++) {
            double acc = 0;
            for (int64_t c = 0; c < cols; c++) {
                int64_t i = r * cols + c;
                double v;
                if (w->dtype == LT_Q8_0) {
                    const uint8_t *block = q8_block(w->data, i / LT_Q8_0_BLOCK);
                    v = (double)q8_scale(block) * ((const int8_t *)(block + 2))[i % LT_Q8_0_BLOCK];
                } else {
                    v = weight_at(w->dtype, w->data, i);
                }
                acc += (double)x[n * cols + c] * v;
            }
            y[n * rows + r] = (float)acc;
        }
    }
}

void lt_qmatmul_ref(float *y, const float *x, const lt_qweight *w, int64_t N) {
    if (w->dtype != LT_Q8_0) {
        lt_qmatmul_ref_f32(y, x, w, N);
        return;
    }
    int64_t rows = w->rows, cols = w->cols, blocks = cols / LT_Q8_0_BLOCK;
    lt_block_q8_0 *xq = malloc((size_t)blocks * sizeof *xq); // (blocks) one row of x
    for (int64_t n = 0; n < N; n++) {
        if (!xq) {
            for (int64_t r = 0; r < rows; r++) y[n * rows + r] = NAN;
            continue;
        }
        q8_0_quantize_portable(xq, x + n * cols, cols);
        for (int64_t r = 0; r < rows; r++) {
            double acc = 0;
            for (int64_t b = 0; b < blocks; b++) {
                const uint8_t *wb = q8_block(w->data, r * blocks + b), *xb = q8_block(xq, b);
                int64_t sum = 0;
                for (int i = 0; i < LT_Q8_0_BLOCK; i++)
                    sum += (int64_t)((const int8_t *)(wb + 2))[i] * ((const int8_t *)(xb + 2))[i];
                acc += (double)sum * (double)q8_scale(wb) * (double)q8_scale(xb);
            }
            y[n * rows + r] = (float)acc;
        }
    }
    free(xq);
}
