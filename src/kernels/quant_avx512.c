// quant_avx512.c: the AVX-512 kernels behind lt_qmatmul's small-N (decode)
// path, q8_0 quantization and the bandwidth loop. The whole file is compiled
// for AVX-512 F/BW/VL/VNNI + F16C + FMA by the pragma below, whatever the
// global flags; quant.c calls in only after checking the CPU at run time.
//
// Decode is bound by the weight stream, so each kernel reads a block of
// LT_QUANT_ROW_BLOCK weight rows once per group of up to XB activation rows
// (the block stays in L1/L2 between groups) and keeps one zmm accumulator per
// (row, activation) pair. Every output is the same sequence of operations
// whatever the blocking — column chunks in order, a masked tail, then one
// _mm512_reduce_add_ps — so results do not depend on the thread split.
// While the first activation group runs over a row block, the next block's
// lines are prefetched one block ahead: the rows of a block are short
// streams (1-4 KiB) that the hardware prefetcher picks up too late; measured
// on 2816 x 1024 from DRAM, 2 threads, this lifts bf16/f16 from 21-24 to
// 28-30 GB/s and q8_0 from 17 to 26 GB/s (f32 unchanged at 32).
//
// Weight widening: bf16 is the top half of an f32, so one 512-bit load of 32
// bf16 gives the even elements by a 16-bit left shift of each 32-bit lane and
// the odd ones by masking off the low half; x is prepared once per call with
// each 32-column chunk permuted to (16 even, 16 odd) to match. f16 widens with
// vcvtph2ps. Both give the stored values exactly, multiplied by f32 x.
//
// q8_0: x is quantized per call exactly as lt_q8_0_quantize does; each pair
// of 32-element blocks fills one zmm of int8. vpdpbusd multiplies unsigned by
// signed bytes, so the weights are offset by +128 (u = q + 128, in [1, 255],
// one xor per weight pair) and the offset is removed by starting the
// accumulator at -128 * (sum of the 4 x bytes of each lane), computed once
// per call with x's preparation. The sign trick (|x| and sign(x) moved onto
// w) would cost one more op for every (row, activation) pair, an offset on x
// two ops per weight pair. The int32 lane sums (4 products each, exact)
// become floats and are scaled by d_w * d_x (exact in f32: two 11-bit
// significands).
#include <immintrin.h>
#include <string.h>

#include "quant_internal.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma,avx2")

#define RB LT_QUANT_ROW_BLOCK // weight rows per step
#define XB 4                  // activation rows per step
#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")
#define PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

enum { PAIR_BYTES = 2 * (int)sizeof(lt_block_q8_0) };

// One pair of q8_0 blocks of x, prepared: the 64 quantized values, the
// offset correction -128 * (sum of each int32 lane's 4 values) and the two
// scales, each repeated over the 8 int32 lanes its block fills.
typedef struct {
    int8_t q[64];
    int32_t neg_offset[16];
    float scale[16];
} x_pair;

static int64_t pad32(int64_t cols) { return (cols + 31) / 32 * 32; }

size_t lt_quant_avx512_xprep_bytes(lt_dtype dtype, int64_t N, int64_t cols) {
    if (dtype == LT_BF16) return (size_t)(N * pad32(cols)) * sizeof(float);
    if (dtype == LT_Q8_0) return (size_t)(N * ((cols / 32 + 1) / 2)) * sizeof(x_pair);
    return 0;
}

// ---------------------------------------------------------------- q8_0 blocks

// amax of a block, ignoring NaN (as the scalar `a > amax ? a : amax` does).
INLINE float block_amax(__m512 v0, __m512 v1) {
    __m512 m = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps());
    m = _mm512_max_ps(_mm512_abs_ps(v1), m);
    return _mm512_reduce_max_ps(m);
}

// round-half-away(v * id) clamped to [-127, 127] as int32 lanes, the
// lt_q8_0_round rule: round the magnitude by truncation plus one when the
// dropped fraction is >= 0.5 (exact: |v * id| < 2^23), put the sign back.
INLINE __m512i quantize16(__m512 v, __m512 id) {
    __m512 t = _mm512_mul_ps(v, id);
    __m512 a = _mm512_abs_ps(t);
    __m512 r = _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(a, r), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    r = _mm512_mask_add_ps(r, up, r, _mm512_set1_ps(1.0f));
    __m512i sign = _mm512_and_si512(_mm512_castps_si512(t), _mm512_set1_epi32(INT32_MIN));
    r = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign));
    r = _mm512_max_ps(r, _mm512_set1_ps(-127.0f)); // NaN -> -127, as in lt_q8_0_round
    r = _mm512_min_ps(r, _mm512_set1_ps(127.0f));
    return _mm512_cvtps_epi32(r);
}

// Quantizes 32 floats: qs[32] and the f16 scale, the f32 scale returned.
INLINE float quantize_block(int8_t *qs, uint16_t *d16, const float *src) {
    __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16);
    float d = block_amax(v0, v1) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d16 = lt_f32_to_f16(d);
    __m512 vid = _mm512_set1_ps(id);
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(quantize16(v0, vid)));
    _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(quantize16(v1, vid)));
    return d;
}

void lt_q8_0_quantize_avx512(lt_block_q8_0 *dst, const float *src, int64_t n) {
    uint8_t *out = (uint8_t *)dst;
    for (int64_t b = 0; b < n / 32; b++) {
        uint16_t d16;
        int8_t qs[32];
        quantize_block(qs, &d16, src + b * 32);
        memcpy(out + b * sizeof(lt_block_q8_0), &d16, 2);
        memcpy(out + b * sizeof(lt_block_q8_0) + 2, qs, 32);
    }
}

// 32 values of a q8_0 block (at byte address p) widened exactly: d * q.
INLINE void dequantize_block(float *dst, const uint8_t *p) {
    uint16_t d16;
    memcpy(&d16, p, 2);
    __m512 d = _mm512_set1_ps(lt_f16_to_f32(d16));
    __m512i q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2)));
    __m512i q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18)));
    _mm512_storeu_ps(dst, _mm512_mul_ps(_mm512_cvtepi32_ps(q0), d));
    _mm512_storeu_ps(dst + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(q1), d));
}

void lt_q8_0_dequantize_avx512(float *dst, const lt_block_q8_0 *src, int64_t n) {
    const uint8_t *p = (const uint8_t *)src;
    for (int64_t b = 0; b < n / 32; b++)
        dequantize_block(dst + b * 32, p + b * sizeof(lt_block_q8_0));
}

// ---------------------------------------------------------------- x preparation

// bf16: each 32-column chunk of x as (x[0], x[2], ..., x[30], x[1], x[3], ..., x[31]),
// zero past cols. dst (N, pad32(cols))
static void xprep_bf16(float *dst, const float *x, int64_t N, int64_t cols) {
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    int64_t ld = pad32(cols);
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * cols;
        float *out = dst + n * ld;
        for (int64_t c = 0; c < cols; c += 32) {
            int64_t left = cols - c;
            __mmask16 m0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            __mmask16 m1 = left >= 32   ? 0xffff
                           : left <= 16 ? 0
                                        : (__mmask16)((1u << (left - 16)) - 1);
            __m512 v0 = _mm512_maskz_loadu_ps(m0, xr + c),
                   v1 = _mm512_maskz_loadu_ps(m1, xr + c + 16);
            _mm512_storeu_ps(out + c, _mm512_permutex2var_ps(v0, even, v1));
            _mm512_storeu_ps(out + c + 16, _mm512_permutex2var_ps(v0, odd, v1));
        }
    }
}

// q8_0: x quantized block by block (the lt_q8_0_quantize rule) into pairs.
// dst (N, pairs); a missing second block of the last pair is zero.
static void xprep_q8_0(x_pair *dst, const float *x, int64_t N, int64_t cols) {
    int64_t blocks = cols / 32, pairs = (blocks + 1) / 2;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t b = 0; b < blocks; b++) {
            x_pair *p = dst + n * pairs + b / 2;
            int half = (int)(b % 2);
            uint16_t d16;
            quantize_block(p->q + 32 * half, &d16, x + n * cols + b * 32);
            __m256i q = _mm256_loadu_si256((const __m256i *)(p->q + 32 * half));
            __m256i offset =
                _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), q);
            _mm256_storeu_si256((__m256i *)(p->neg_offset + 8 * half),
                                _mm256_sub_epi32(_mm256_setzero_si256(), offset));
            _mm256_storeu_ps(p->scale + 8 * half, _mm256_set1_ps(lt_f16_to_f32(d16)));
        }
        if (blocks % 2) {
            x_pair *p = dst + n * pairs + pairs - 1;
            memset(p->q + 32, 0, 32);
            memset(p->neg_offset + 8, 0, 8 * sizeof(int32_t));
            memset(p->scale + 8, 0, 8 * sizeof(float));
        }
    }
}

void lt_quant_avx512_xprep(void *dst, lt_dtype dtype, const float *x, int64_t N, int64_t cols) {
    if (dtype == LT_BF16) xprep_bf16(dst, x, N, cols);
    if (dtype == LT_Q8_0) xprep_q8_0(dst, x, N, cols);
}

// ---------------------------------------------------------------- tiles

// Each tile function computes y[j * ldy + i] = dot(W row i, x row j) for
// i < rb, j < xb; with constant rb, xb after inlining, the accumulators live
// in registers. ldx is the stride of prepared x in its own units.

INLINE void store_tile(float *y, int64_t ldy, __m512 acc[RB][XB], int rb, int xb) {
    UNROLL for (int i = 0; i < rb; i++) UNROLL for (int j = 0; j < xb; j++) y[j * ldy + i] =
        _mm512_reduce_add_ps(acc[i][j]);
}

INLINE void tile_f32(float *y, int64_t ldy, const float *x, int64_t ldx, const float *w,
                     int64_t cols, int rb, int xb, bool prefetch) {
    __m512 acc[RB][XB];
    UNROLL for (int i = 0; i < rb; i++) UNROLL for (int j = 0; j < xb; j++) acc[i][j] =
        _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
        if (prefetch) UNROLL for (int i = 0; i < rb; i++) PREFETCH(w + (rb + i) * cols + c);
        __m512 wv[RB];
        UNROLL for (int i = 0; i < rb; i++) wv[i] = _mm512_loadu_ps(w + i * cols + c);
        UNROLL for (int j = 0; j < xb; j++) {
            __m512 xv = _mm512_loadu_ps(x + j * ldx + c);
            UNROLL for (int i = 0; i < rb; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (c < cols) {
        __mmask16 m = (__mmask16)((1u << (cols - c)) - 1);
        __m512 wv[RB];
        UNROLL for (int i = 0; i < rb; i++) wv[i] = _mm512_maskz_loadu_ps(m, w + i * cols + c);
        UNROLL for (int j = 0; j < xb; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + j * ldx + c);
            UNROLL for (int i = 0; i < rb; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    store_tile(y, ldy, acc, rb, xb);
}

INLINE void tile_f16(float *y, int64_t ldy, const float *x, int64_t ldx, const uint16_t *w,
                     int64_t cols, int rb, int xb, bool prefetch) {
    __m512 acc[RB][XB];
    UNROLL for (int i = 0; i < rb; i++) UNROLL for (int j = 0; j < xb; j++) acc[i][j] =
        _mm512_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16) {
        if (prefetch && c % 32 == 0)
            UNROLL for (int i = 0; i < rb; i++) PREFETCH(w + (rb + i) * cols + c);
        __m512 wv[RB];
        UNROLL for (int i = 0; i < rb; i++) wv[i] =
            _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i * cols + c)));
        UNROLL for (int j = 0; j < xb; j++) {
            __m512 xv = _mm512_loadu_ps(x + j * ldx + c);
            UNROLL for (int i = 0; i < rb; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    if (c < cols) {
        __mmask16 m = (__mmask16)((1u << (cols - c)) - 1);
        __m512 wv[RB];
        UNROLL for (int i = 0; i < rb; i++) wv[i] =
            _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i * cols + c));
        UNROLL for (int j = 0; j < xb; j++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + j * ldx + c);
            UNROLL for (int i = 0; i < rb; i++) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
        }
    }
    store_tile(y, ldy, acc, rb, xb);
}

// x is the even/odd-permuted copy (ldx = pad32(cols)); a partial last chunk
// loads zero weights past cols, against zero x.
INLINE void tile_bf16(float *y, int64_t ldy, const float *x, int64_t ldx, const uint16_t *w,
                      int64_t cols, int rb, int xb, bool prefetch) {
    const __m512i high = _mm512_set1_epi32((int32_t)0xffff0000u);
    __m512 acc[RB][XB];
    UNROLL for (int i = 0; i < rb; i++) UNROLL for (int j = 0; j < xb; j++) acc[i][j] =
        _mm512_setzero_ps();
    for (int64_t c = 0; c < cols; c += 32) {
        __mmask32 m = cols - c >= 32 ? 0xffffffffu : (__mmask32)((1u << (cols - c)) - 1);
        if (prefetch) UNROLL for (int i = 0; i < rb; i++) PREFETCH(w + (rb + i) * cols + c);
        __m512 we[RB], wo[RB];
        UNROLL for (int i = 0; i < rb; i++) {
            __m512i v = _mm512_maskz_loadu_epi16(m, w + i * cols + c);
            we[i] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            wo[i] = _mm512_castsi512_ps(_mm512_and_si512(v, high));
        }
        UNROLL for (int j = 0; j < xb; j++) {
            __m512 xe = _mm512_loadu_ps(x + j * ldx + c),
                   xo = _mm512_loadu_ps(x + j * ldx + c + 16);
            UNROLL for (int i = 0; i < rb; i++) {
                acc[i][j] = _mm512_fmadd_ps(we[i], xe, acc[i][j]);
                acc[i][j] = _mm512_fmadd_ps(wo[i], xo, acc[i][j]);
            }
        }
    }
    store_tile(y, ldy, acc, rb, xb);
}

// Loads pair p of a q8_0 row (byte address row): the weights + 128 as
// unsigned bytes and the two scales. With two == false (the last pair of an
// odd block count) the second block is zero weights (+ 128), against zero x
// and a zero scale.
INLINE void load_pair(__m512i *uw, __m512 *scale, const uint8_t *row, int64_t p, bool two) {
    const uint8_t *b0 = row + p * PAIR_BYTES, *b1 = b0 + sizeof(lt_block_q8_0);
    uint16_t d0, d1 = 0;
    memcpy(&d0, b0, 2);
    __m256i hi = _mm256_setzero_si256();
    if (two) {
        memcpy(&d1, b1, 2);
        hi = _mm256_loadu_si256((const __m256i *)(b1 + 2));
    }
    __m256i lo = _mm256_loadu_si256((const __m256i *)(b0 + 2));
    __m512i qw = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    *uw = _mm512_xor_si512(qw, _mm512_set1_epi8((char)0x80));
    __m128 ds = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | (uint32_t)d1 << 16)));
    const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    *scale = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(ds));
}

// One pair of blocks of the tile: acc[i][j] += the pair's part of dot(W row i, x row j).
INLINE void q8_0_pair(__m512 acc[RB][XB], const x_pair *x, int64_t ldx, const uint8_t *w,
                      size_t row_bytes, int64_t p, int rb, int xb, bool prefetch, bool two) {
    if (prefetch) {
        // The next block into L1, and the one 4 blocks ahead into L2: q8_0 has
        // the most work per byte, so fewer of its own loads are in flight
        // (measured, DRAM, 2 threads: +0.5 to +2 GB/s on 25).
        UNROLL for (int i = 0; i < rb; i++) {
            PREFETCH(w + (rb + i) * row_bytes + p * PAIR_BYTES);
            _mm_prefetch((const char *)(w + (4 * rb + i) * row_bytes + p * PAIR_BYTES),
                         _MM_HINT_T1);
        }
    }
    __m512i uw[RB];
    __m512 ws[RB];
    UNROLL for (int i = 0; i < rb; i++) load_pair(&uw[i], &ws[i], w + i * row_bytes, p, two);
    UNROLL for (int j = 0; j < xb; j++) {
        const x_pair *xp = x + j * ldx + p;
        __m512i xq = _mm512_loadu_si512(xp->q);
        __m512 xs = _mm512_loadu_ps(xp->scale);
        UNROLL for (int i = 0; i < rb; i++) {
            // a fresh load of the correction per row: vpdpbusd overwrites it
            __m512i dot = _mm512_dpbusd_epi32(_mm512_loadu_epi32(xp->neg_offset), uw[i], xq);
            acc[i][j] =
                _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws[i], xs), acc[i][j]);
        }
    }
}

// x is the prepared pairs (ldx pairs per activation row); w the first row's bytes.
INLINE void tile_q8_0(float *y, int64_t ldy, const x_pair *x, int64_t ldx, const uint8_t *w,
                      int64_t cols, int rb, int xb, bool prefetch) {
    int64_t blocks = cols / 32;
    size_t row_bytes = (size_t)blocks * sizeof(lt_block_q8_0);
    __m512 acc[RB][XB];
    UNROLL for (int i = 0; i < rb; i++) UNROLL for (int j = 0; j < xb; j++) acc[i][j] =
        _mm512_setzero_ps();
    for (int64_t p = 0; p < blocks / 2; p++)
        q8_0_pair(acc, x, ldx, w, row_bytes, p, rb, xb, prefetch, true);
    if (blocks % 2) q8_0_pair(acc, x, ldx, w, row_bytes, blocks / 2, rb, xb, prefetch, false);
    store_tile(y, ldy, acc, rb, xb);
}

// ---------------------------------------------------------------- row loops

// Calls TILE for every (row block, activation block) of rows [r0, r1): full
// blocks of RB rows, then single rows; XB activations at a time, then the rest.
#define TILE_LOOP(TILE, XPTR, XLD, WPTR)                                                   \
    for (int64_t r = r0; r < r1;) {                                                        \
        int rb = r1 - r >= RB ? RB : 1;                                                    \
        for (int64_t n = 0; n < N; n += XB) {                                              \
            float *yt = y + n * ldy + r;                                                   \
            int xb = N - n >= XB ? XB : (int)(N - n);                                      \
            if (rb == RB) {                                                                \
                switch (xb) {                                                              \
                case 4: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, RB, 4, n == 0); break;  \
                case 3: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, RB, 3, n == 0); break;  \
                case 2: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, RB, 2, n == 0); break;  \
                default: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, RB, 1, n == 0); break; \
                }                                                                          \
            } else {                                                                       \
                switch (xb) {                                                              \
                case 4: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, 1, 4, n == 0); break;   \
                case 3: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, 1, 3, n == 0); break;   \
                case 2: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, 1, 2, n == 0); break;   \
                default: TILE(yt, ldy, XPTR(n), XLD, WPTR(r), cols, 1, 1, n == 0); break;  \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        r += rb;                                                                           \
    }

static void rows_f32(float *y, const float *x, const lt_qweight *w, int64_t N, int64_t r0,
                     int64_t r1) {
    int64_t cols = w->cols, ldy = w->rows;
    const float *W = w->data;
#define X_(n) (x + (n)*cols)
#define W_(r) (W + (r)*cols)
    TILE_LOOP(tile_f32, X_, cols, W_)
#undef X_
#undef W_
}

static void rows_f16(float *y, const float *x, const lt_qweight *w, int64_t N, int64_t r0,
                     int64_t r1) {
    int64_t cols = w->cols, ldy = w->rows;
    const uint16_t *W = w->data;
#define X_(n) (x + (n)*cols)
#define W_(r) (W + (r)*cols)
    TILE_LOOP(tile_f16, X_, cols, W_)
#undef X_
#undef W_
}

static void rows_bf16(float *y, const float *xperm, const lt_qweight *w, int64_t N, int64_t r0,
                      int64_t r1) {
    int64_t cols = w->cols, ldy = w->rows, ldx = pad32(cols);
    const uint16_t *W = w->data;
#define X_(n) (xperm + (n)*ldx)
#define W_(r) (W + (r)*cols)
    TILE_LOOP(tile_bf16, X_, ldx, W_)
#undef X_
#undef W_
}

static void rows_q8_0(float *y, const x_pair *xq, const lt_qweight *w, int64_t N, int64_t r0,
                      int64_t r1) {
    int64_t cols = w->cols, ldy = w->rows, pairs = (cols / 32 + 1) / 2;
    const uint8_t *W = w->data;
    size_t row_bytes = (size_t)(cols / 32) * sizeof(lt_block_q8_0);
#define X_(n) (xq + (n)*pairs)
#define W_(r) (W + (size_t)(r)*row_bytes)
    TILE_LOOP(tile_q8_0, X_, pairs, W_)
#undef X_
#undef W_
}

void lt_quant_avx512_rows(float *y, const void *xprep, const lt_qweight *w, int64_t N, int64_t r0,
                          int64_t r1) {
    switch (w->dtype) {
    case LT_F32: rows_f32(y, xprep, w, N, r0, r1); break;
    case LT_BF16: rows_bf16(y, xprep, w, N, r0, r1); break;
    case LT_F16: rows_f16(y, xprep, w, N, r0, r1); break;
    case LT_Q8_0: rows_q8_0(y, xprep, w, N, r0, r1); break;
    default: break;
    }
}

// ---------------------------------------------------------------- bandwidth

// The slice is read as 4 interleaved streams (its quarters), 2 lines of each
// per step: one stream per thread leaves DRAM bandwidth unused here (1 GiB,
// 2 threads: 31 GB/s against 33 with 4 streams).
uint64_t lt_quant_avx512_read(const void *p, size_t bytes) {
    const uint8_t *b0 = p, *b1 = b0 + bytes / 4, *b2 = b1 + bytes / 4, *b3 = b2 + bytes / 4;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t off = 0; off < bytes / 4; off += 128) {
        a0 = _mm512_add_epi64(a0, _mm512_loadu_si512(b0 + off));
        a1 = _mm512_add_epi64(a1, _mm512_loadu_si512(b0 + off + 64));
        a2 = _mm512_add_epi64(a2, _mm512_loadu_si512(b1 + off));
        a3 = _mm512_add_epi64(a3, _mm512_loadu_si512(b1 + off + 64));
        a4 = _mm512_add_epi64(a4, _mm512_loadu_si512(b2 + off));
        a5 = _mm512_add_epi64(a5, _mm512_loadu_si512(b2 + off + 64));
        a6 = _mm512_add_epi64(a6, _mm512_loadu_si512(b3 + off));
        a7 = _mm512_add_epi64(a7, _mm512_loadu_si512(b3 + off + 64));
    }
    __m512i s =
        _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                         _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
    return (uint64_t)_mm512_reduce_add_epi64(s);
}
