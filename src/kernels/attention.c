// attention.c: grouped-query scaled dot-product attention with a causal and a
// segment mask (packed sequences never see each other), forward and backward,
// plus the plain-loop double-precision reference.
//
// Fast path: one task per (batch, kv head). The task runs every query head of
// its group, so the dk/dv rows of that kv head are written by one thread only
// (no races, no reductions). Per head the products are lt_gemm calls reading
// q/k/v in place through their row strides (H*D, KVH*D): no transposed copies.
// In bf16 mode every operand (head slices, P, dS) is first rounded into the
// calling thread's bf16 scratch, so that no f32 GEMM runs at all.
//
// Causal attention skips the masked upper triangle: query rows go in blocks of
// BLOCK_ROWS, and block [i0, i1) only multiplies against keys [0, i1). At
// T = 512 that computes 56% of the full square, for a few more, smaller GEMMs.
#include <omp.h>

#include "kernels_internal.h"
#include "lathe/gemm.h"
#include "lathe/kernels.h"

static lt_status attention_check(const lt_attention_shape *s) {
    if (s->B < 1 || s->T < 1 || s->n_heads < 1 || s->n_kv_heads < 1 || s->head_dim < 1)
        return lt_error(LT_ERR_ARG,
                        "attention: B, T, n_heads, n_kv_heads, head_dim must be >= 1 (got %lld, "
                        "%lld, %lld, %lld, %lld)",
                        (long long)s->B, (long long)s->T, (long long)s->n_heads,
                        (long long)s->n_kv_heads, (long long)s->head_dim);
    if (s->n_heads % s->n_kv_heads != 0)
        return lt_error(LT_ERR_ARG,
                        "attention: n_heads (%lld) is not a multiple of n_kv_heads (%lld)",
                        (long long)s->n_heads, (long long)s->n_kv_heads);
    if (s->dtype != LT_F32 && s->dtype != LT_BF16)
        return lt_error(LT_ERR_UNSUPPORTED, "attention: dtype %s is not supported (f32 or bf16)",
                        lt_dtype_name(s->dtype));
    return NULL;
}

// Columns j < jend of row i can be allowed (causal: i + 1, else T).
static inline int64_t row_end(const lt_attention_shape *s, int64_t i) {
    return s->causal ? i + 1 : s->T;
}

// Softmax in place over one row of scaled scores (T): entries j >= jend or in
// another segment than token i become exactly 0. Token i itself is always
// allowed, so the max is finite and the sum is >= 1.
static void softmax_row(float *row, int64_t T, int64_t jend, const int32_t *seg, int64_t i) {
    if (seg) {
        int32_t own = seg[i];
        for (int64_t j = 0; j < jend; j++)
            if (seg[j] != own) row[j] = -INFINITY;
    }
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < jend; j++) mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < jend; j++) {
        float e = lt_kernel_expf(row[j] - mx);
        row[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < jend; j++) row[j] *= inv;
    for (int64_t j = jend; j < T; j++) row[j] = 0.0f;
}

// Head `head` of sequence b in a (B, T, n_heads_here, D) tensor: a (T, D)
// slice with row stride n_heads_here * D.
static inline const float *head_rows(const float *base, const lt_attention_shape *s, int64_t b,
                                     int64_t head, int64_t n_heads_here) {
    return base + (b * s->T * n_heads_here + head) * s->head_dim;
}

enum { BLOCK_ROWS = 64 };

// Query rows per block: the whole sequence when not causal or short.
static inline int64_t block_rows(const lt_attention_shape *s) {
    return s->causal && s->T >= 2 * BLOCK_ROWS ? BLOCK_ROWS : s->T;
}

// Picks the GEMM operand for a strided f32 slice: itself in f32 mode, or its
// bf16 copy (contiguous, row stride D) in bf16 mode.
typedef struct {
    const void *p;
    int64_t ld;
} operand;

static operand as_operand(const float *src, int64_t ld, uint16_t *scratch,
                          const lt_attention_shape *s, int64_t rows, int64_t cols) {
    if (s->dtype != LT_BF16) return (operand){src, ld};
    lt_kernel_rows_to_bf16(scratch, src, rows, cols, ld);
    return (operand){scratch, cols};
}

// The operand starting `row` rows further down.
static inline const void *rows_from(operand o, const lt_attention_shape *s, int64_t row) {
    if (s->dtype == LT_BF16) return (const uint16_t *)o.p + row * o.ld;
    return (const float *)o.p + row * o.ld;
}

// The buffers of one forward or backward call.
typedef struct {
    float *out, *probs, *dq, *dk, *dv;
    const float *q, *k, *v, *dout, *probs_in;
} attention_args;

typedef void (*group_fn)(const attention_args *a, const lt_attention_shape *s, int64_t b, int64_t g,
                         float *f32_scratch, uint16_t *bf16_scratch);

// Runs fn over the (B * KVH) groups with per-thread scratch allocated once:
// `f32_per_thread` floats always, `lowp_per_thread` bf16 values in bf16 mode.
static lt_status run_groups(group_fn fn, const attention_args *a, const lt_attention_shape *s,
                            int64_t f32_per_thread, int64_t lowp_per_thread, const char *what) {
    int64_t n_tasks = s->B * s->n_kv_heads;
    int64_t work = s->B * s->n_heads * s->T * s->T * s->head_dim;
    bool threaded = n_tasks > 1 && work >= LT_KERNEL_PAR_MIN;
    int64_t n_threads = threaded ? omp_get_max_threads() : 1;
    if (s->dtype != LT_BF16) lowp_per_thread = 0;
    size_t bytes = (size_t)(f32_per_thread * 4 + lowp_per_thread * 2) * (size_t)n_threads;
    void *scratch = NULL;
    if (bytes > 0) LT_TRY(lt_alloc(&scratch, bytes, what));
    float *f32_base = scratch; // (n_threads, f32_per_thread), then the bf16 part
    uint16_t *lowp_base = lowp_per_thread ? (uint16_t *)(f32_base + f32_per_thread * n_threads)
                                          : NULL; // (n_threads, lowp_per_thread)
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t task = 0; task < n_tasks; task++) {
        int64_t t = omp_get_thread_num();
        fn(a, s, task / s->n_kv_heads, task % s->n_kv_heads,
           f32_per_thread ? f32_base + t * f32_per_thread : NULL,
           lowp_per_thread ? lowp_base + t * lowp_per_thread : NULL);
    }
    lt_free(scratch);
    return NULL;
}

// Forward of the query heads of kv head g in sequence b.
// bf16 scratch (when dtype is bf16): k, v, q (T, D) each, then P (T, T).
static void forward_task(const attention_args *a, const lt_attention_shape *s, int64_t b, int64_t g,
                         float *f32_scratch, uint16_t *scratch) {
    (void)f32_scratch;
    int64_t T = s->T, D = s->head_dim, H = s->n_heads, KVH = s->n_kv_heads;
    int64_t group = H / KVH;
    float scale = (float)(1.0 / sqrt((double)D));
    const int32_t *seg = s->segments ? s->segments + b * T : NULL;
    uint16_t *k16 = NULL, *v16 = NULL, *q16 = NULL, *p16 = NULL; // bf16 mode only
    if (scratch) k16 = scratch, v16 = k16 + T * D, q16 = v16 + T * D, p16 = q16 + T * D;
    operand kop = as_operand(head_rows(a->k, s, b, g, KVH), KVH * D, k16, s, T, D);
    operand vop = as_operand(head_rows(a->v, s, b, g, KVH), KVH * D, v16, s, T, D);
    for (int64_t h = g * group; h < (g + 1) * group; h++) {
        float *P = a->probs + (b * H + h) * T * T; // (T, T)
        operand qop = as_operand(head_rows(a->q, s, b, h, H), H * D, q16, s, T, D);
        int64_t R = block_rows(s);
        // S = scale * Q K^T  (T, T), by row blocks: keys [0, i1) for rows [i0, i1)
        for (int64_t i0 = 0; i0 < T; i0 += R) {
            int64_t rows = T - i0 < R ? T - i0 : R, keys = R == T ? T : i0 + rows;
            lt_gemm(s->dtype, false, true, rows, keys, D, scale, rows_from(qop, s, i0), qop.ld,
                    kop.p, kop.ld, 0.0f, P + i0 * T, T);
        }
        for (int64_t i = 0; i < T; i++) softmax_row(P + i * T, T, row_end(s, i), seg, i);
        operand pop = as_operand(P, T, p16, s, T, T);
        // out = P V  (T, D), written straight into its strided place in out
        float *o = a->out + (b * T * H + h) * D;
        for (int64_t i0 = 0; i0 < T; i0 += R) {
            int64_t rows = T - i0 < R ? T - i0 : R, keys = R == T ? T : i0 + rows;
            lt_gemm(s->dtype, false, false, rows, D, keys, 1.0f, rows_from(pop, s, i0), pop.ld,
                    vop.p, vop.ld, 0.0f, o + i0 * H * D, H * D);
        }
    }
}

lt_status lt_attention_forward(float *out, float *probs, const float *q, const float *k,
                               const float *v, const lt_attention_shape *s) {
    LT_TRY(attention_check(s));
    attention_args a = {.out = out, .probs = probs, .q = q, .k = k, .v = v};
    int64_t T = s->T, D = s->head_dim;
    return run_groups(forward_task, &a, s, 0, 3 * T * D + T * T, "attention forward scratch");
}

// dS = P * (dP - rowsum(P * dP)) in place over dP (T, T); masked entries of P
// are 0, so theirs are too.
static void softmax_backward_rows(float *dP, const float *P, const lt_attention_shape *s) {
    int64_t T = s->T;
    for (int64_t i = 0; i < T; i++) {
        const float *p = P + i * T;
        float *d = dP + i * T;
        int64_t jend = row_end(s, i);
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j < jend; j++) dot += p[j] * d[j];
#pragma omp simd
        for (int64_t j = 0; j < jend; j++) d[j] = p[j] * (d[j] - dot);
        for (int64_t j = jend; j < T; j++) d[j] = 0.0f;
    }
}

// Backward of the query heads of kv head g in sequence b.
// f32 scratch: dP (T, T). bf16 scratch: k, v, q, dO (T, D) each, P, dS (T, T).
static void backward_task(const attention_args *a, const lt_attention_shape *s, int64_t b,
                          int64_t g, float *dP, uint16_t *scratch) {
    int64_t T = s->T, D = s->head_dim, H = s->n_heads, KVH = s->n_kv_heads;
    int64_t group = H / KVH;
    float scale = (float)(1.0 / sqrt((double)D));
    lt_dtype dt = s->dtype;
    uint16_t *k16 = NULL, *v16 = NULL, *q16 = NULL, *do16 = NULL, *p16 = NULL, *ds16 = NULL;
    if (scratch) { // bf16 mode only
        k16 = scratch, v16 = k16 + T * D, q16 = v16 + T * D, do16 = q16 + T * D;
        p16 = do16 + T * D, ds16 = p16 + T * T;
    }
    operand kop = as_operand(head_rows(a->k, s, b, g, KVH), KVH * D, k16, s, T, D);
    operand vop = as_operand(head_rows(a->v, s, b, g, KVH), KVH * D, v16, s, T, D);
    float *dk = a->dk + (b * T * KVH + g) * D; // (T, D), row stride KVH*D
    float *dv = a->dv + (b * T * KVH + g) * D; // (T, D), row stride KVH*D
    for (int64_t h = g * group; h < (g + 1) * group; h++) {
        const float *P = a->probs_in + (b * H + h) * T * T; // (T, T)
        float *dq = a->dq + (b * T * H + h) * D;            // (T, D), row stride H*D
        operand doop = as_operand(head_rows(a->dout, s, b, h, H), H * D, do16, s, T, D);
        operand pop = as_operand(P, T, p16, s, T, T);
        int64_t R = block_rows(s);
        // Row block [i0, i1) touches keys [0, i1) only; entries of dP beyond are
        // never read (softmax_backward_rows stops at each row's end).
        for (int64_t i0 = 0; i0 < T; i0 += R) {
            int64_t rows = T - i0 < R ? T - i0 : R, keys = R == T ? T : i0 + rows;
            // dP = dO V^T  (rows, keys)
            lt_gemm(dt, false, true, rows, keys, D, 1.0f, rows_from(doop, s, i0), doop.ld, vop.p,
                    vop.ld, 0.0f, dP + i0 * T, T);
            // dV[0:keys] += P[i0:i1, 0:keys]^T dO[i0:i1]  (keys, D)
            lt_gemm(dt, true, false, keys, D, rows, 1.0f, rows_from(pop, s, i0), pop.ld,
                    rows_from(doop, s, i0), doop.ld, 1.0f, dv, KVH * D);
        }
        softmax_backward_rows(dP, P, s);
        operand dsop = as_operand(dP, T, ds16, s, T, T);
        operand qop = as_operand(head_rows(a->q, s, b, h, H), H * D, q16, s, T, D);
        for (int64_t i0 = 0; i0 < T; i0 += R) {
            int64_t rows = T - i0 < R ? T - i0 : R, keys = R == T ? T : i0 + rows;
            // dQ[i0:i1] += scale * dS[i0:i1, 0:keys] K[0:keys]  (rows, D)
            lt_gemm(dt, false, false, rows, D, keys, scale, rows_from(dsop, s, i0), dsop.ld, kop.p,
                    kop.ld, 1.0f, dq + i0 * H * D, H * D);
            // dK[0:keys] += scale * dS[i0:i1, 0:keys]^T Q[i0:i1]  (keys, D)
            lt_gemm(dt, true, false, keys, D, rows, scale, rows_from(dsop, s, i0), dsop.ld,
                    rows_from(qop, s, i0), qop.ld, 1.0f, dk, KVH * D);
        }
    }
}

lt_status lt_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                const float *probs, const float *q, const float *k, const float *v,
                                const lt_attention_shape *s) {
    LT_TRY(attention_check(s));
    attention_args a = {
        .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout, .probs_in = probs};
    int64_t T = s->T, D = s->head_dim;
    return run_groups(backward_task, &a, s, T * T, 4 * T * D + 2 * T * T,
                      "attention backward scratch");
}

// ---------------------------------------------------------------- reference

static inline bool ref_allowed(const lt_attention_shape *s, int64_t b, int64_t i, int64_t j) {
    if (s->causal && j > i) return false;
    return !s->segments || s->segments[b * s->T + i] == s->segments[b * s->T + j];
}

// Dot product over D of row i of x (row stride ldx) and row j of y (row stride ldy), in double.
static double ref_dot(const float *x, int64_t ldx, int64_t i, const float *y, int64_t ldy,
                      int64_t j, int64_t D) {
    double acc = 0.0;
    for (int64_t d = 0; d < D; d++) acc += (double)x[i * ldx + d] * (double)y[j * ldy + d];
    return acc;
}

// Plain loops over b, h, i, j in double. One row of scores and one output row
// live on the stack (T and D doubles).
void lt_attention_forward_ref(float *out, float *probs, const float *q, const float *k,
                              const float *v, const lt_attention_shape *s) {
    int64_t T = s->T, D = s->head_dim, H = s->n_heads, KVH = s->n_kv_heads;
    double scale = 1.0 / sqrt((double)D);
    double p[T], acc[D];
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t h = 0; h < H; h++) {
            int64_t g = h / (H / KVH);
            const float *qh = head_rows(q, s, b, h, H), *kg = head_rows(k, s, b, g, KVH);
            const float *vg = head_rows(v, s, b, g, KVH);
            for (int64_t i = 0; i < T; i++) {
                double mx = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j < T; j++) {
                    p[j] = ref_allowed(s, b, i, j)
                               ? scale * ref_dot(qh, H * D, i, kg, KVH * D, j, D)
                               : -INFINITY;
                    if (p[j] > mx) mx = p[j];
                }
                for (int64_t j = 0; j < T; j++) {
                    p[j] = ref_allowed(s, b, i, j) ? exp(p[j] - mx) : 0.0;
                    sum += p[j];
                }
                for (int64_t d = 0; d < D; d++) acc[d] = 0.0;
                for (int64_t j = 0; j < T; j++) {
                    p[j] /= sum;
                    probs[((b * H + h) * T + i) * T + j] = (float)p[j];
                    for (int64_t d = 0; d < D; d++) acc[d] += p[j] * vg[j * KVH * D + d];
                }
                for (int64_t d = 0; d < D; d++)
                    out[(b * T * H + h) * D + i * H * D + d] = (float)acc[d];
            }
        }
    }
}

// Plain loops in double from the saved probs. dS_ij = P_ij (dP_ij - sum_l P_il dP_il)
// with dP_ij = dO_i . V_j; dQ_i = s sum_j dS_ij K_j; dK_j = s sum_(h in group, i) dS_ij Q_i;
// dV_j = sum_(h in group, i) P_ij dO_i. The row sums of every head of a group
// (group * T doubles) and one (D) accumulator per gradient live on the stack.
void lt_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                               const float *probs, const float *q, const float *k, const float *v,
                               const lt_attention_shape *s) {
    int64_t T = s->T, D = s->head_dim, H = s->n_heads, KVH = s->n_kv_heads;
    int64_t group = H / KVH;
    double scale = 1.0 / sqrt((double)D);
    double rowdot[group * T], acc_a[D], acc_b[D];
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t g = 0; g < KVH; g++) {
            const float *kg = head_rows(k, s, b, g, KVH), *vg = head_rows(v, s, b, g, KVH);
            for (int64_t hh = 0; hh < group; hh++) {
                int64_t h = g * group + hh;
                const float *P = probs + (b * H + h) * T * T;
                const float *doh = head_rows(dout, s, b, h, H);
                for (int64_t i = 0; i < T; i++) {
                    double dot = 0.0;
                    for (int64_t j = 0; j < T; j++)
                        dot += P[i * T + j] * ref_dot(doh, H * D, i, vg, KVH * D, j, D);
                    rowdot[hh * T + i] = dot;
                }
                for (int64_t i = 0; i < T; i++) {
                    for (int64_t d = 0; d < D; d++) acc_a[d] = 0.0;
                    for (int64_t j = 0; j < T; j++) {
                        double dp = ref_dot(doh, H * D, i, vg, KVH * D, j, D);
                        double ds = P[i * T + j] * (dp - rowdot[hh * T + i]);
                        for (int64_t d = 0; d < D; d++) acc_a[d] += ds * kg[j * KVH * D + d];
                    }
                    float *dqi = dq + (b * T * H + h) * D + i * H * D;
                    for (int64_t d = 0; d < D; d++) dqi[d] += (float)(scale * acc_a[d]);
                }
            }
            for (int64_t j = 0; j < T; j++) {
                for (int64_t d = 0; d < D; d++) acc_a[d] = acc_b[d] = 0.0;
                for (int64_t hh = 0; hh < group; hh++) {
                    int64_t h = g * group + hh;
                    const float *P = probs + (b * H + h) * T * T;
                    const float *doh = head_rows(dout, s, b, h, H), *qh = head_rows(q, s, b, h, H);
                    for (int64_t i = 0; i < T; i++) {
                        double pij = P[i * T + j];
                        double dp = ref_dot(doh, H * D, i, vg, KVH * D, j, D);
                        double ds = pij * (dp - rowdot[hh * T + i]);
                        for (int64_t d = 0; d < D; d++) {
                            acc_a[d] += ds * qh[i * H * D + d];
                            acc_b[d] += pij * doh[i * H * D + d];
                        }
                    }
                }
                float *dkj = dk + (b * T * KVH + g) * D + j * KVH * D;
                float *dvj = dv + (b * T * KVH + g) * D + j * KVH * D;
                for (int64_t d = 0; d < D; d++) {
                    dkj[d] += (float)(scale * acc_a[d]);
                    dvj[d] += (float)acc_b[d];
                }
            }
        }
    }
}
