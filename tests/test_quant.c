// test_quant.c: storage-dtype weights and lt_qmatmul (quant.h).
//   * q8_0 quantization on blocks whose results are known by hand (exact
//     scales, round-half-away ties, one large value, a negative amax, zeros),
//     the f16 scale bits from numpy (float16(100/127) = 0x3a4d, float16(50/127)
//     = 0x364d), and the AVX-512 quantizer bit-identical to the portable one;
//   * lt_qweight_bytes / convert / rows_f32, with every bad input;
//   * lt_qmatmul_ref on products computed by hand;
//   * lt_qmatmul, AVX-512 and portable, small-N and large-N paths, against the
//     references over dtypes, N and odd shapes, with the error bounds below;
//     q8_0 against the f32 product of the unquantized values within the bound
//     the quantization implies; the same bits on 1 and 2 threads (small N);
//     calls from inside a parallel region; unaligned q8_0 weights;
//   * lt_mem_read_bandwidth returns a positive figure.
//
// Error bounds (u = 2^-24, unit roundoff of f32):
//   f32/bf16/f16 (and q8_0 on the large-N path, against lt_qmatmul_ref_f32):
//   every product x_c * w_c of stored values is exact in the reference (f64)
//   and at most once rounded in the kernels (FMA: not at all); each output is
//   a sum of cols terms in some order (chains of FMAs, then a tree), so
//   |fast - ref| <= (cols + 8) u S, S = sum_c |x_c w_c|, as in test_gemm.c.
//   q8_0 small N, against lt_qmatmul_ref: the integer block sums are exact on
//   both sides; the kernels convert lane sums exactly (|sum| < 2^24), multiply
//   by d_w d_x (exact in f32: two 11-bit significands) and add with one
//   rounding per block (portable: two), then a tree of at most 16 lanes:
//   |fast - ref| <= (2 blocks + 8) u T, T = sum_b d_w d_x sum_i |qw_i qx_i|.
//   q8_0 against the unquantized product: with d = fl(amax/127), id = fl(1/d),
//   t = fl(w id), q = round(t) and the stored scale d' = f16(d) = d (1 + e),
//   |e| <= 2^-11 (normal f16 range), |q - t| <= 1/2 and d' t = w (1+e)(1+a)(1+b)
//   with |a|, |b| <= u, so |d' q - w| <= d'/2 + |w| (2^-11 + 3u) =: E(w), and
//   likewise for x; x'w' - xw = x (w' - w) + (x' - x) w' gives
//   |y_q - y| <= sum_c (|x_c| E(w_c) + |w'_c| E(x_c)) + the arithmetic bound.
#include <omp.h>

#include "kernels/quant_internal.h"
#include "lathe/quant.h"
#include "lt_test.h"

static const double unit_roundoff = 1.0 / (1 << 24);

static const lt_dtype weight_dtypes[] = {LT_F32, LT_BF16, LT_F16, LT_Q8_0};
enum { N_WEIGHT_DTYPES = 4 };

static void fill_uniform(float *x, int64_t n, lt_rng *rng) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)(2 * lt_rng_uniform(rng) - 1);
}

static uint16_t block_d16(const lt_block_q8_0 *b) {
    uint16_t d;
    memcpy(&d, (const uint8_t *)b, 2); // the struct is packed by its layout, not aligned
    return d;
}

// Runs the checks of one test body on both paths: AVX-512 (when the CPU
// has it) and portable.
static void both_paths(void (*body)(void)) {
    lt_qmatmul_force_portable(false);
    body();
    if (lt_quant_avx512_active()) {
        lt_qmatmul_force_portable(true);
        body();
        lt_qmatmul_force_portable(false);
    }
}

// ---------------------------------------------------------------- q8_0 blocks

// Values q_i / 8 with max |q_i| = 127: d = 15.875 / 127 = 1/8 exactly, id = 8,
// so quantization returns the q_i and dequantization the values.
static void q8_exact_body(void) {
    float x[32];
    int8_t expect[32];
    for (int i = 0; i < 32; i++) expect[i] = (int8_t)((i * 37) % 255 - 127);
    expect[3] = 127;
    expect[4] = -127;
    for (int i = 0; i < 32; i++) x[i] = expect[i] / 8.0f;
    lt_block_q8_0 b;
    lt_q8_0_quantize(&b, x, 32);
    LT_CHECK_INT(block_d16(&b), 0x3000); // f16 of 0.125: exponent 12, mantissa 0
    for (int i = 0; i < 32; i++) LT_CHECK_INT(b.qs[i], expect[i]);
    float back[32];
    lt_q8_0_dequantize(back, &b, 32);
    for (int i = 0; i < 32; i++) LT_CHECK(back[i] == x[i]);
}
static void test_q8_0_exact_block(void) { both_paths(q8_exact_body); }

// With id = 8, x = k/16 for odd k lands exactly on a half: away from zero.
static void q8_ties_body(void) {
    float x[32] = {0};
    x[0] = 15.875f;   // amax: d = 1/8
    x[1] = 0.0625f;   // 0.5 -> 1
    x[2] = -0.0625f;  // -0.5 -> -1
    x[3] = 0.1875f;   // 1.5 -> 2
    x[4] = 0.3125f;   // 2.5 -> 3 (ties-to-even would give 2)
    x[5] = -0.3125f;  // -2.5 -> -3
    x[6] = 0.4375f;   // 3.5 -> 4
    x[7] = 15.8125f;  // 126.5 -> 127
    x[8] = -15.8125f; // -126.5 -> -127
    x[9] = 0.06f;     // 0.48 -> 0
    const int8_t expect[10] = {127, 1, -1, 2, 3, -3, 4, 127, -127, 0};
    lt_block_q8_0 b;
    lt_q8_0_quantize(&b, x, 32);
    for (int i = 0; i < 10; i++) LT_CHECK_INT(b.qs[i], expect[i]);
    for (int i = 10; i < 32; i++) LT_CHECK_INT(b.qs[i], 0);
}
static void test_q8_0_round_half_away(void) { both_paths(q8_ties_body); }

// q = round(x * id) with id = fl(1 / fl(amax / 127)), not round(x / d): with
// amax = 1, numpy's float32 gives x * id = 4.4999995 and 87.49999 for the two
// values below, where x / d would be exactly 4.5 and 87.5 (rounding to 5, 88).
static float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static void q8_inverse_body(void) {
    float x[32] = {0};
    x[0] = 1.0f;
    x[1] = f32_from_bits(0x3d112244); // 0.035433069
    x[2] = f32_from_bits(0x3f3060c1); // 0.68897635
    x[3] = -x[1];
    lt_block_q8_0 b;
    lt_q8_0_quantize(&b, x, 32);
    LT_CHECK_INT(b.qs[0], 127);
    LT_CHECK_INT(b.qs[1], 4);
    LT_CHECK_INT(b.qs[2], 87);
    LT_CHECK_INT(b.qs[3], -4);
}
static void test_q8_0_multiplies_by_inverse(void) { both_paths(q8_inverse_body); }

// One large value sets the scale: d = 100/127, q = round(x * 127/100).
static void q8_large_body(void) {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = 0.0f;
    x[5] = 100.0f; // 127
    x[0] = 1.0f;   // 1.27 -> 1
    x[1] = 0.5f;   // 0.635 -> 1
    x[2] = 0.39f;  // 0.4953 -> 0
    x[3] = -0.4f;  // -0.508 -> -1
    x[4] = -3.0f;  // -3.81 -> -4
    x[31] = 7.3f;  // 9.271 -> 9
    lt_block_q8_0 b;
    lt_q8_0_quantize(&b, x, 32);
    LT_CHECK_INT(block_d16(&b), 0x3a4d);
    const int idx[7] = {5, 0, 1, 2, 3, 4, 31};
    const int expect[7] = {127, 1, 1, 0, -1, -4, 9};
    for (int k = 0; k < 7; k++) LT_CHECK_INT(b.qs[idx[k]], expect[k]);
    float back[32];
    lt_q8_0_dequantize(back, &b, 32);
    float d = lt_f16_to_f32(0x3a4d);
    LT_CHECK(back[5] == 127 * d);
    LT_CHECK(back[4] == -4 * d);
    LT_CHECK(back[2] == 0.0f);
}
static void test_q8_0_single_large_value(void) { both_paths(q8_large_body); }

// The largest magnitude is negative: the scale is still positive, q = -127 there.
static void q8_negative_body(void) {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = 0.0f;
    x[0] = -50.0f; // -127
    x[1] = 10.0f;  // 25.4 -> 25
    x[2] = -20.0f; // -50.8 -> -51
    x[3] = 0.1f;   // 0.254 -> 0
    x[4] = 0.3f;   // 0.762 -> 1
    x[5] = 49.9f;  // 126.75 -> 127
    x[6] = 3.3f;   // 8.382 -> 8
    lt_block_q8_0 b;
    lt_q8_0_quantize(&b, x, 32);
    LT_CHECK_INT(block_d16(&b), 0x364d);
    const int expect[7] = {-127, 25, -51, 0, 1, 127, 8};
    for (int k = 0; k < 7; k++) LT_CHECK_INT(b.qs[k], expect[k]);
}
static void test_q8_0_negative_amax(void) { both_paths(q8_negative_body); }

// All-zero blocks (+0 and -0) give d = 0 and q = 0, whatever the block beside them.
static void q8_zeros_body(void) {
    float x[96];
    for (int i = 0; i < 32; i++) x[i] = 0.0f;
    for (int i = 32; i < 64; i++) x[i] = (float)(i - 48); // -16..15: d = 16/127
    for (int i = 64; i < 96; i++) x[i] = -0.0f;
    lt_block_q8_0 b[3];
    lt_q8_0_quantize(b, x, 96);
    LT_CHECK_INT(block_d16(&b[0]), 0);
    LT_CHECK_INT(block_d16(&b[2]), 0);
    LT_CHECK_INT(b[1].qs[0], -127);
    for (int i = 0; i < 32; i++) {
        LT_CHECK_INT(b[0].qs[i], 0);
        LT_CHECK_INT(b[2].qs[i], 0);
    }
    float back[96];
    lt_q8_0_dequantize(back, b, 96);
    for (int i = 0; i < 32; i++) LT_CHECK(back[i] == 0.0f && back[64 + i] == 0.0f);
}
static void test_q8_0_zeros(void) { both_paths(q8_zeros_body); }

// The AVX-512 quantizer and dequantizer agree bit for bit with the portable
// ones over many magnitudes (including f16-subnormal scales) and on blocks of
// exact halves.
static void test_q8_0_simd_matches_portable(void) {
    if (!lt_quant_avx512_active()) {
        fprintf(stderr, "     (no AVX-512 on this CPU: nothing to compare)\n");
        return;
    }
    enum { N = 32 * 400 };
    float *x = malloc(N * sizeof *x), *back_simd = malloc(N * sizeof *x),
          *back_port = malloc(N * sizeof *x);
    lt_block_q8_0 *simd = malloc(N / 32 * sizeof *simd), *port = malloc(N / 32 * sizeof *port);
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    for (int b = 0; b < N / 32; b++) {
        double scale = ldexp(1.0, (int)lt_rng_below(&rng, 60) - 40);
        for (int i = 0; i < 32; i++) {
            float v = (float)((2 * lt_rng_uniform(&rng) - 1) * scale);
            // exact halves: d = 1/8 (amax 15.875), values (2k + 1) / 16
            if (b % 7 == 3)
                v = i == 0 ? 15.875f : (float)((int)lt_rng_below(&rng, 253) - 126) / 8.0f + 0.0625f;
            x[b * 32 + i] = v;
        }
    }
    lt_q8_0_quantize(simd, x, N);
    lt_q8_0_dequantize(back_simd, simd, N);
    lt_qmatmul_force_portable(true);
    lt_q8_0_quantize(port, x, N);
    lt_q8_0_dequantize(back_port, port, N);
    lt_qmatmul_force_portable(false);
    LT_CHECK(memcmp(simd, port, N / 32 * sizeof *simd) == 0);
    LT_CHECK(memcmp(back_simd, back_port, N * sizeof *x) == 0);
    free(x);
    free(back_simd);
    free(back_port);
    free(simd);
    free(port);
}

// ---------------------------------------------------------------- weights

static void test_qweight_bytes(void) {
    LT_CHECK_INT(lt_qweight_bytes(LT_F32, 3, 5), 60);
    LT_CHECK_INT(lt_qweight_bytes(LT_BF16, 3, 5), 30);
    LT_CHECK_INT(lt_qweight_bytes(LT_F16, 3, 5), 30);
    LT_CHECK_INT(lt_qweight_bytes(LT_Q8_0, 3, 64), 3 * 2 * 34);
    LT_CHECK_INT(lt_qweight_bytes(LT_Q8_0, 3, 40), 0); // not whole blocks
    LT_CHECK_INT(lt_qweight_bytes(LT_I32, 3, 5), 0);   // ids, not weights
    LT_CHECK_INT(lt_qweight_bytes(LT_DTYPE_COUNT, 3, 5), 0);
    LT_CHECK_INT(lt_qweight_bytes((lt_dtype)-1, 3, 5), 0);
    LT_CHECK_INT(lt_qweight_bytes(LT_F32, -1, 5), 0);
    LT_CHECK_INT(lt_qweight_bytes(LT_F32, (int64_t)1 << 40, (int64_t)1 << 40), 0); // overflow
    LT_CHECK_INT(lt_qweight_bytes(LT_F32, 0, 5), 0); // empty, not an error
}

// convert then widen: f32 exact, bf16/f16 the conversion rule of base.h,
// q8_0 the dequantized quantization; any row range.
static void convert_rows_body(void) {
    enum { ROWS = 5, COLS = 64 };
    float src[ROWS * COLS], got[ROWS * COLS], expect[ROWS * COLS];
    lt_rng rng;
    lt_rng_seed(&rng, 3);
    fill_uniform(src, ROWS * COLS, &rng);
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        lt_dtype dt = weight_dtypes[k];
        size_t bytes = lt_qweight_bytes(dt, ROWS, COLS);
        void *buf = malloc(bytes);
        LT_CHECK_OK(lt_qweight_convert(buf, dt, src, ROWS, COLS));
        lt_block_q8_0 blocks[ROWS * COLS / 32];
        if (dt == LT_Q8_0) {
            lt_q8_0_quantize(blocks, src, ROWS * COLS);
            LT_CHECK(memcmp(blocks, buf, bytes) == 0);
            lt_q8_0_dequantize(expect, blocks, ROWS * COLS);
        }
        for (int i = 0; i < ROWS * COLS; i++) {
            if (dt == LT_F32) expect[i] = src[i];
            if (dt == LT_BF16) expect[i] = lt_bf16_to_f32(lt_f32_to_bf16(src[i]));
            if (dt == LT_F16) expect[i] = lt_f16_to_f32(lt_f32_to_f16(src[i]));
        }
        lt_qweight w = {dt, buf, ROWS, COLS};
        lt_qweight_rows_f32(got, &w, 0, ROWS);
        LT_CHECK_MSG(memcmp(got, expect, sizeof got) == 0, "%s: all rows", lt_dtype_name(dt));
        lt_qweight_rows_f32(got, &w, 2, 2);
        LT_CHECK_MSG(memcmp(got, expect + 2 * COLS, 2 * COLS * sizeof(float)) == 0, "%s: rows 2..3",
                     lt_dtype_name(dt));
        free(buf);
    }
}
static void test_qweight_convert_rows(void) { both_paths(convert_rows_body); }

static void test_qweight_convert_errors(void) {
    float src[64] = {0};
    uint8_t dst[512];
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_Q8_0, src, 1, 40), LT_ERR_ARG, "(1, 40)");
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_Q8_0, src, 1, 40), LT_ERR_ARG, "multiple of 32");
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_I32, src, 1, 8), LT_ERR_UNSUPPORTED, "i32");
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_F32, src, 0, 8), LT_ERR_ARG, "shape (0, 8)");
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_F32, src, 2, -1), LT_ERR_ARG, "shape (2, -1)");
    LT_CHECK_ERR(lt_qweight_convert(NULL, LT_F32, src, 1, 8), LT_ERR_ARG, "NULL");
    LT_CHECK_ERR(lt_qweight_convert(dst, LT_F32, src, (int64_t)1 << 40, (int64_t)1 << 40),
                 LT_ERR_RANGE, "too large");
}

// ---------------------------------------------------------------- references by hand

static void test_qmatmul_ref_by_hand(void) {
    // W (2, 3) = [[1, 2, 3], [-1, 0, 0.5]], x (2, 3) = [[1, 1, 1], [2, -1, 4]]:
    // y = [[6, -0.5], [12, 0]]; every value is exact in bf16 and f16.
    const float W[6] = {1, 2, 3, -1, 0, 0.5f}, x[6] = {1, 1, 1, 2, -1, 4};
    const float expect[4] = {6, -0.5f, 12, 0};
    for (int k = 0; k < 3; k++) {
        uint8_t buf[24];
        LT_CHECK_OK(lt_qweight_convert(buf, weight_dtypes[k], W, 2, 3));
        lt_qweight w = {weight_dtypes[k], buf, 2, 3};
        float y[4];
        lt_qmatmul_ref(y, x, &w, 2);
        for (int i = 0; i < 4; i++) LT_CHECK(y[i] == expect[i]);
        lt_qmatmul_ref_f32(y, x, &w, 2);
        for (int i = 0; i < 4; i++) LT_CHECK(y[i] == expect[i]);
    }
    // q8_0 with exactly representable blocks: W row = q_i / 8 (max |q| 127 so
    // d_w = 1/8), x = p_i / 4 (max |p| 127 so d_x = 1/4); y = sum q_i p_i / 32.
    float wq[64], xq[64];
    int64_t dot = 0;
    for (int i = 0; i < 64; i++) {
        int q = i == 0 ? 127 : (i * 29) % 201 - 100, p = i == 1 ? -127 : (i * 13) % 151 - 75;
        if (i == 32) q = -127;
        if (i == 33) p = 127;
        wq[i] = q / 8.0f;
        xq[i] = p / 4.0f;
        dot += (int64_t)q * p;
    }
    lt_block_q8_0 wb[2];
    lt_q8_0_quantize(wb, wq, 64);
    lt_qweight w = {LT_Q8_0, wb, 1, 64};
    float y;
    lt_qmatmul_ref(&y, xq, &w, 1);
    LT_CHECK(y == (float)((double)dot / 32.0));
    lt_qmatmul_ref_f32(&y, xq, &w, 1);
    LT_CHECK(y == (float)((double)dot / 32.0));
    LT_CHECK_OK(lt_qmatmul(&y, xq, &w, 1)); // all exact: the fast path agrees to the bit
    LT_CHECK(y == (float)((double)dot / 32.0));
}

// ---------------------------------------------------------------- lt_qmatmul vs reference

// The weights of a case: stored bytes and the stored values widened.
typedef struct {
    lt_qweight w;
    void *data;
    float *values; // (rows, cols) widened stored values
} weight_case;

static weight_case make_weight(lt_dtype dt, const float *src, int64_t rows, int64_t cols) {
    weight_case c;
    size_t bytes = lt_qweight_bytes(dt, rows, cols);
    c.data = malloc(bytes);
    c.values = malloc((size_t)(rows * cols) * sizeof(float));
    LT_CHECK_OK(lt_qweight_convert(c.data, dt, src, rows, cols));
    c.w = (lt_qweight){dt, c.data, rows, cols};
    lt_qweight_rows_f32(c.values, &c.w, 0, rows);
    return c;
}

static void free_weight(weight_case *c) {
    free(c->data);
    free(c->values);
}

// T of the q8_0 bound for output (n, r): sum_b d_w d_x sum_i |qw_i qx_i|.
static double q8_magnitude(const lt_block_q8_0 *wrow, const lt_block_q8_0 *xrow, int64_t blocks) {
    double t = 0;
    for (int64_t b = 0; b < blocks; b++) {
        double s = 0;
        for (int i = 0; i < 32; i++) s += fabs((double)wrow[b].qs[i] * xrow[b].qs[i]);
        t += s * lt_f16_to_f32(block_d16(&wrow[b])) * lt_f16_to_f32(block_d16(&xrow[b]));
    }
    return t;
}

// The bound of the file comment on |lt_qmatmul - reference| for output
// (n, r): the q8_0 small-N one when x is quantized (xq: x quantized), the
// f32-sum one otherwise.
static double path_bound(const weight_case *wc, const float *x, const lt_block_q8_0 *xq, int64_t n,
                         int64_t r, bool quantized_x) {
    int64_t cols = wc->w.cols, blocks = cols / 32;
    if (quantized_x)
        return (2.0 * blocks + 8) * unit_roundoff *
               q8_magnitude((const lt_block_q8_0 *)wc->data + r * blocks, xq + n * blocks, blocks);
    double s = 0;
    for (int64_t c = 0; c < cols; c++)
        s += fabs((double)x[n * cols + c] * wc->values[r * cols + c]);
    return (double)(cols + 8) * unit_roundoff * s;
}

// lt_qmatmul against the reference of its path, within the bounds of the
// file comment; returns the number of elements outside them.
static int check_case(lt_dtype dt, int64_t rows, int64_t cols, int64_t N, lt_rng *rng) {
    float *src = malloc((size_t)(rows * cols) * sizeof(float));
    float *x = malloc((size_t)(N * cols) * sizeof(float));
    float *y = malloc((size_t)(N * rows) * sizeof(float)),
          *ref = malloc((size_t)(N * rows) * sizeof(float));
    fill_uniform(src, rows * cols, rng);
    fill_uniform(x, N * cols, rng);
    weight_case wc = make_weight(dt, src, rows, cols);
    for (int64_t i = 0; i < N * rows; i++) y[i] = NAN;
    LT_CHECK_OK(lt_qmatmul(y, x, &wc.w, N));
    bool quantized_x = dt == LT_Q8_0 && N <= LT_QMATMUL_SMALL_N;
    if (quantized_x)
        lt_qmatmul_ref(ref, x, &wc.w, N);
    else
        lt_qmatmul_ref_f32(ref, x, &wc.w, N);
    lt_block_q8_0 *xq = NULL;
    int64_t blocks = cols / 32;
    if (quantized_x) {
        xq = malloc((size_t)(N * blocks) * sizeof *xq);
        lt_q8_0_quantize(xq, x, N * cols);
    }
    int bad = 0;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t r = 0; r < rows; r++) {
            double bound = path_bound(&wc, x, xq, n, r, quantized_x);
            double err = fabs((double)y[n * rows + r] - ref[n * rows + r]);
            if (!(err <= bound)) {
                if (bad++ < 3)
                    LT_FAIL_(
                        "%s rows %lld cols %lld N %lld: y[%lld, %lld] = %.9g, ref %.9g, bound %.3g",
                        lt_dtype_name(dt), (long long)rows, (long long)cols, (long long)N,
                        (long long)n, (long long)r, y[n * rows + r], ref[n * rows + r], bound);
            }
        }
    }
    lt_test_checks_++;
    free(xq);
    free_weight(&wc);
    free(src);
    free(x);
    free(y);
    free(ref);
    return bad;
}

static void vs_ref_body(void) {
    // both sides of LT_QMATMUL_SMALL_N (64)
    const int64_t Ns[] = {1, 2, 3, 5, 8, 9, 17, 64, 65, 300};
    // (rows, cols): rows around the row block of 4, cols with and without a
    // 16/32-column tail, odd block counts for q8_0 (1, 3, 33).
    const int64_t shapes[][2] = {{1, 32}, {7, 64},  {13, 96}, {37, 1056},
                                 {6, 17}, {9, 100}, {5, 47}};
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int64_t rows = shapes[s][0], cols = shapes[s][1];
            if (weight_dtypes[k] == LT_Q8_0 && cols % 32) continue;
            for (size_t i = 0; i < sizeof Ns / sizeof Ns[0]; i++) {
                if (Ns[i] * rows * cols > 4000000) continue; // keep the reference quick
                check_case(weight_dtypes[k], rows, cols, Ns[i], &rng);
            }
        }
    }
}
static void test_qmatmul_vs_reference(void) { both_paths(vs_ref_body); }

// Larger shapes on 2 threads: the row split and the large-N tiles.
static void vs_ref_threads_body(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 12);
    int saved = lt_threads_get();
    lt_threads_set(2);
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        check_case(weight_dtypes[k], 203, 256, 1, &rng);
        check_case(weight_dtypes[k], 203, 256, 7, &rng);
        check_case(weight_dtypes[k], 600, 64, 100, &rng);
    }
    lt_threads_set(saved);
}
static void test_qmatmul_vs_reference_2_threads(void) { both_paths(vs_ref_threads_body); }

// AVX-512 against portable directly: both are within their bound of the same
// reference, so within twice it of each other.
static void test_qmatmul_avx512_vs_portable(void) {
    if (!lt_quant_avx512_active()) {
        fprintf(stderr, "     (no AVX-512 on this CPU: nothing to compare)\n");
        return;
    }
    enum { ROWS = 29, COLS = 352, N = 6 };
    lt_rng rng;
    lt_rng_seed(&rng, 13);
    float *src = malloc(ROWS * COLS * sizeof(float)), x[N * COLS], y_simd[N * ROWS],
          y_port[N * ROWS];
    lt_block_q8_0 xq[N * COLS / 32];
    fill_uniform(src, ROWS * COLS, &rng);
    fill_uniform(x, N * COLS, &rng);
    lt_q8_0_quantize(xq, x, N * COLS);
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        weight_case wc = make_weight(weight_dtypes[k], src, ROWS, COLS);
        LT_CHECK_OK(lt_qmatmul(y_simd, x, &wc.w, N));
        lt_qmatmul_force_portable(true);
        LT_CHECK_OK(lt_qmatmul(y_port, x, &wc.w, N));
        lt_qmatmul_force_portable(false);
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < ROWS; r++) {
                double bound = 2 * path_bound(&wc, x, xq, n, r, weight_dtypes[k] == LT_Q8_0);
                LT_CHECK_CLOSE(y_simd[n * ROWS + r], y_port[n * ROWS + r], bound, 0);
            }
        }
        free_weight(&wc);
    }
    free(src);
}

// ---------------------------------------------------------------- q8_0 against f32

// E(v) of the file comment, for a value v of a block with stored scale d16.
static double quant_error(double v, uint16_t d16) {
    return lt_f16_to_f32(d16) / 2 + fabs(v) * (1.0 / 2048 + 3 * unit_roundoff);
}

static void q8_vs_f32_body(void) {
    enum { ROWS = 19, COLS = 320 };
    const int64_t Ns[] = {1, 4, 17, 64, 65, 100};
    lt_rng rng;
    lt_rng_seed(&rng, 17);
    float *src = malloc(ROWS * COLS * sizeof(float));
    fill_uniform(src, ROWS * COLS, &rng);
    weight_case wc = make_weight(LT_Q8_0, src, ROWS, COLS);
    const lt_block_q8_0 *wb = wc.data;
    for (int b = 0; b < ROWS * COLS / 32; b++) LT_CHECK(block_d16(&wb[b]) >= 0x0400); // normal f16
    for (size_t i = 0; i < sizeof Ns / sizeof Ns[0]; i++) {
        int64_t N = Ns[i];
        bool quantized_x = N <= LT_QMATMUL_SMALL_N;
        float *x = malloc((size_t)(N * COLS) * sizeof(float)),
              *y = malloc((size_t)(N * ROWS) * sizeof(float));
        lt_block_q8_0 *xq = malloc((size_t)(N * COLS / 32) * sizeof *xq);
        fill_uniform(x, N * COLS, &rng);
        lt_q8_0_quantize(xq, x, N * COLS);
        for (int64_t b = 0; b < N * COLS / 32; b++) LT_CHECK(block_d16(&xq[b]) >= 0x0400);
        LT_CHECK_OK(lt_qmatmul(y, x, &wc.w, N));
        double max_ratio = 0, max_err = 0;
        for (int64_t n = 0; n < N; n++) {
            for (int r = 0; r < ROWS; r++) {
                double exact = 0, bound = 0, mag = 0;
                for (int c = 0; c < COLS; c++) {
                    double xv = x[n * COLS + c], wv = src[r * COLS + c],
                           wq = wc.values[r * COLS + c];
                    const lt_block_q8_0 *xb = &xq[(n * COLS + c) / 32];
                    double xqv =
                        quantized_x ? (double)lt_f16_to_f32(block_d16(xb)) * xb->qs[c % 32] : xv;
                    exact += xv * wv;
                    bound += fabs(xv) * quant_error(wv, block_d16(&wb[(r * COLS + c) / 32]));
                    if (quantized_x) bound += fabs(wq) * quant_error(xv, block_d16(xb));
                    mag += fabs(xqv * wq);
                }
                bound += (quantized_x ? 2.0 * COLS / 32 + 8 : COLS + 8) * unit_roundoff * mag;
                double err = fabs(y[n * ROWS + r] - exact);
                LT_CHECK_MSG(err <= bound, "N %lld y[%lld, %d] = %.9g, exact %.9g, bound %.3g",
                             (long long)N, (long long)n, r, y[n * ROWS + r], exact, bound);
                max_ratio = fmax(max_ratio, err / bound);
                max_err = fmax(max_err, err);
            }
        }
        // The quantization did happen (errors are not all zero) and the bound
        // is not vacuous (it is of the order of the errors seen).
        LT_CHECK(max_err > 0);
        LT_CHECK_MSG(max_ratio > 0.02, "N %lld: largest error only %.4f of the bound", (long long)N,
                     max_ratio);
        fprintf(stderr, "     N %lld: largest error %.3g, %.3f of its bound\n", (long long)N,
                max_err, max_ratio);
        free(x);
        free(y);
        free(xq);
    }
    free_weight(&wc);
    free(src);
}
static void test_qmatmul_q8_0_vs_unquantized(void) { both_paths(q8_vs_f32_body); }

// ---------------------------------------------------------------- threads

// Small N: rows are split, not the reduction: 1 and 2 threads give the same
// bits, with row counts that do not divide by the row block or the team.
static void threads_body(void) {
    enum { ROWS = 203, COLS = 1056 };
    lt_rng rng;
    lt_rng_seed(&rng, 19);
    float *src = malloc(ROWS * COLS * sizeof(float)),
          *x = malloc(LT_QMATMUL_SMALL_N * COLS * sizeof(float));
    float *y1 = malloc(LT_QMATMUL_SMALL_N * ROWS * sizeof(float)),
          *y2 = malloc(LT_QMATMUL_SMALL_N * ROWS * sizeof(float));
    fill_uniform(src, ROWS * COLS, &rng);
    fill_uniform(x, LT_QMATMUL_SMALL_N * COLS, &rng);
    int saved = lt_threads_get();
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        weight_case wc = make_weight(weight_dtypes[k], src, ROWS, COLS);
        const int64_t ns[] = {1, 2, 3, 4, 5, 6, 16, 33, LT_QMATMUL_SMALL_N};
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
            int64_t N = ns[i];
            lt_threads_set(1);
            LT_CHECK_OK(lt_qmatmul(y1, x, &wc.w, N));
            lt_threads_set(2);
            LT_CHECK_OK(lt_qmatmul(y2, x, &wc.w, N));
            LT_CHECK_MSG(memcmp(y1, y2, (size_t)(N * ROWS) * sizeof(float)) == 0, "%s N %lld",
                         lt_dtype_name(weight_dtypes[k]), (long long)N);
        }
        free_weight(&wc);
    }
    lt_threads_set(saved);
    free(src);
    free(x);
    free(y1);
    free(y2);
}
static void test_qmatmul_threads_same_bits(void) { both_paths(threads_body); }

// Called from both threads of a parallel region, each on its own output:
// every call runs on its calling thread and matches the serial result
// (bit for bit at small N; within the bound at large N, whose tiles depend
// on the team).
static void test_qmatmul_inside_parallel_region(void) {
    enum { ROWS = 70, COLS = 128, N = 100 };
    lt_rng rng;
    lt_rng_seed(&rng, 23);
    float src[ROWS * COLS], x[N * COLS], serial[N * ROWS], par[2][N * ROWS];
    fill_uniform(src, ROWS * COLS, &rng);
    fill_uniform(x, N * COLS, &rng);
    int saved = lt_threads_get();
    lt_threads_set(2);
    for (int k = 0; k < N_WEIGHT_DTYPES; k++) {
        weight_case wc = make_weight(weight_dtypes[k], src, ROWS, COLS);
        const int64_t ns[2] = {3, N};
        for (int i = 0; i < 2; i++) {
            LT_CHECK_OK(lt_qmatmul(serial, x, &wc.w, ns[i]));
            int fails = 0;
#pragma omp parallel num_threads(2) reduction(+ : fails)
            {
                lt_status st = lt_qmatmul(par[omp_get_thread_num()], x, &wc.w, ns[i]);
                if (st) {
                    fails++;
                    lt_status_free(st);
                }
            }
            LT_CHECK_INT(fails, 0);
            for (int t = 0; t < 2; t++) {
                if (ns[i] <= LT_QMATMUL_SMALL_N) {
                    LT_CHECK(memcmp(serial, par[t], (size_t)(ns[i] * ROWS) * sizeof(float)) == 0);
                    continue;
                }
                for (int64_t j = 0; j < ns[i] * ROWS; j++) {
                    int64_t n = j / ROWS, r = j % ROWS;
                    double s = 0;
                    for (int c = 0; c < COLS; c++)
                        s += fabs((double)x[n * COLS + c] * wc.values[r * COLS + c]);
                    LT_CHECK_CLOSE(par[t][j], serial[j], 2 * (COLS + 8) * unit_roundoff * s, 0);
                }
            }
        }
        free_weight(&wc);
    }
    lt_threads_set(saved);
}

// q8_0 weights at an odd address (as inside a mapped file) give the same bits.
static void unaligned_body(void) {
    enum { ROWS = 9, COLS = 96, N = 5 };
    lt_rng rng;
    lt_rng_seed(&rng, 29);
    float src[ROWS * COLS], x[N * COLS], y[N * ROWS], y_odd[N * ROWS];
    fill_uniform(src, ROWS * COLS, &rng);
    fill_uniform(x, N * COLS, &rng);
    weight_case wc = make_weight(LT_Q8_0, src, ROWS, COLS);
    size_t bytes = lt_qweight_bytes(LT_Q8_0, ROWS, COLS);
    uint8_t *odd = malloc(bytes + 1);
    memcpy(odd + 1, wc.data, bytes);
    lt_qweight w_odd = {LT_Q8_0, odd + 1, ROWS, COLS};
    LT_CHECK_OK(lt_qmatmul(y, x, &wc.w, N));
    LT_CHECK_OK(lt_qmatmul(y_odd, x, &w_odd, N));
    LT_CHECK(memcmp(y, y_odd, sizeof y) == 0);
    float rows_odd[2 * COLS];
    lt_qweight_rows_f32(rows_odd, &w_odd, 3, 2);
    LT_CHECK(memcmp(rows_odd, wc.values + 3 * COLS, sizeof rows_odd) == 0);
    free(odd);
    free_weight(&wc);
}
static void test_qmatmul_unaligned_q8_0(void) { both_paths(unaligned_body); }

// ---------------------------------------------------------------- errors

static void test_qmatmul_errors(void) {
    float x[64] = {0}, y[64];
    uint8_t buf[1024] = {0};
    lt_qweight q40 = {LT_Q8_0, buf, 8, 40};
    LT_CHECK_ERR(lt_qmatmul(y, x, &q40, 1), LT_ERR_ARG, "q8_0 weight of shape (8, 40)");
    LT_CHECK_ERR(lt_qmatmul(y, x, &q40, 1), LT_ERR_ARG, "multiple of 32");
    lt_qweight i32 = {LT_I32, buf, 2, 2};
    LT_CHECK_ERR(lt_qmatmul(y, x, &i32, 1), LT_ERR_UNSUPPORTED, "dtype i32");
    lt_qweight bad_dtype = {LT_DTYPE_COUNT, buf, 2, 2};
    LT_CHECK_ERR(lt_qmatmul(y, x, &bad_dtype, 1), LT_ERR_UNSUPPORTED, "cannot hold weights");
    lt_qweight empty = {LT_F32, buf, 0, 4};
    LT_CHECK_ERR(lt_qmatmul(y, x, &empty, 1), LT_ERR_ARG, "shape (0, 4)");
    lt_qweight ok = {LT_F32, buf, 2, 4};
    LT_CHECK_ERR(lt_qmatmul(y, x, &ok, -1), LT_ERR_ARG, "N=-1");
    LT_CHECK_ERR(lt_qmatmul(NULL, x, &ok, 1), LT_ERR_ARG, "output y");
    LT_CHECK_ERR(lt_qmatmul(y, NULL, &ok, 1), LT_ERR_ARG, "input x");
    lt_qweight no_data = {LT_F32, NULL, 2, 4};
    LT_CHECK_ERR(lt_qmatmul(y, x, &no_data, 1), LT_ERR_ARG, "weight data");
    LT_CHECK_ERR(lt_qmatmul(y, x, NULL, 1), LT_ERR_ARG, "NULL weight");
    lt_qweight huge = {LT_F32, buf, (int64_t)1 << 40, (int64_t)1 << 40};
    LT_CHECK_ERR(lt_qmatmul(y, x, &huge, 1), LT_ERR_RANGE, "too large");
    // N = 0 is a valid empty product: nothing is written.
    y[0] = 42.0f;
    LT_CHECK_OK(lt_qmatmul(y, x, &ok, 0));
    LT_CHECK(y[0] == 42.0f);
}

// ---------------------------------------------------------------- bandwidth

static void bandwidth_body(void) {
    double gbs = lt_mem_read_bandwidth((size_t)8 << 20, 0.01);
    LT_CHECK_MSG(gbs > 0.1 && isfinite(gbs), "read bandwidth %.3f GB/s", gbs);
    LT_CHECK(lt_mem_read_bandwidth(0, 0.01) == 0); // nothing to read
}
static void test_mem_read_bandwidth(void) { both_paths(bandwidth_body); }

int main(void) {
    LT_RUN(test_q8_0_exact_block);
    LT_RUN(test_q8_0_round_half_away);
    LT_RUN(test_q8_0_multiplies_by_inverse);
    LT_RUN(test_q8_0_single_large_value);
    LT_RUN(test_q8_0_negative_amax);
    LT_RUN(test_q8_0_zeros);
    LT_RUN(test_q8_0_simd_matches_portable);
    LT_RUN(test_qweight_bytes);
    LT_RUN(test_qweight_convert_rows);
    LT_RUN(test_qweight_convert_errors);
    LT_RUN(test_qmatmul_ref_by_hand);
    LT_RUN(test_qmatmul_vs_reference);
    LT_RUN(test_qmatmul_vs_reference_2_threads);
    LT_RUN(test_qmatmul_avx512_vs_portable);
    LT_RUN(test_qmatmul_q8_0_vs_unquantized);
    LT_RUN(test_qmatmul_threads_same_bits);
    LT_RUN(test_qmatmul_inside_parallel_region);
    LT_RUN(test_qmatmul_unaligned_q8_0);
    LT_RUN(test_qmatmul_errors);
    LT_RUN(test_mem_read_bandwidth);
    return lt_test_finish();
}
