// test_kernels_attention.c: grouped-query attention with causal and segment
// masks — a case worked out by hand, the fast path against the double
// reference over many shapes (T = 1, odd T, GQA ratios 1, 2, 4, causal and
// bidirectional, with and without segments that change mid-sequence), the
// backward against finite differences, the segment and GQA properties, the
// bf16 GEMM mode (accuracy bound from bf16 rounding, and no f32 GEMM call),
// and the argument checks.
//
// Tolerances: fast vs reference 1e-5 relative plus 1e-6 of the array's largest
// value (f32 GEMM and vectorised exp against double loops); finite differences
// 1e-3 relative (criterion in lt_kernel_test.h).
#include "lathe/gemm.h"
#include "lathe/kernels.h"
#include "lt_kernel_test.h"

#define FAST_RTOL 1e-5
#define FAST_ATOL 1e-6
#define FD_TOL 1e-3
#define FD_ENTRIES 16

typedef struct {
    lt_attention_shape s;
    float *q, *k, *v, *out, *probs, *R;
    int32_t *seg;
} attn_case;

static int64_t q_size(const lt_attention_shape *s) {
    return s->B * s->T * s->n_heads * s->head_dim;
}
static int64_t kv_size(const lt_attention_shape *s) {
    return s->B * s->T * s->n_kv_heads * s->head_dim;
}
static int64_t probs_size(const lt_attention_shape *s) { return s->B * s->n_heads * s->T * s->T; }

// Random q, k, v and R; segments (when asked) change at a different place in
// every sequence, including right after the first token.
static attn_case attn_setup(lt_rng *rng, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t D,
                            bool causal, bool segments) {
    attn_case c = {.s = {.B = B,
                         .T = T,
                         .n_heads = H,
                         .n_kv_heads = KVH,
                         .head_dim = D,
                         .causal = causal,
                         .dtype = LT_F32}};
    c.q = kt_normal(rng, q_size(&c.s), 1.0f), c.k = kt_normal(rng, kv_size(&c.s), 1.0f);
    c.v = kt_normal(rng, kv_size(&c.s), 1.0f), c.R = kt_normal(rng, q_size(&c.s), 1.0f);
    c.out = kt_alloc(q_size(&c.s)), c.probs = kt_alloc(probs_size(&c.s));
    if (segments) {
        c.seg = (int32_t *)kt_alloc(B * T);
        for (int64_t b = 0; b < B; b++) {
            int64_t cut1 = 1 + (b * 3) % (T > 1 ? T - 1 : 1), cut2 = T - 2;
            for (int64_t t = 0; t < T; t++) c.seg[b * T + t] = t < cut1 ? 0 : (t < cut2 ? 1 : 2);
        }
        c.s.segments = c.seg;
    }
    return c;
}

static void attn_free(attn_case *c) {
    lt_free(c->q), lt_free(c->k), lt_free(c->v), lt_free(c->out), lt_free(c->probs);
    lt_free(c->R), lt_free(c->seg);
}

// ---------------------------------------------------------------- hand-checked

// T = 2, D = 1, one head: q = (1, 2), k = (1, -1), v = (3, 5), scale 1/sqrt(1).
// Causal: token 0 sees only itself, out0 = v0 = 3. Token 1 scores q1 k = (2, -2),
// p = (1 / (1 + e^-4), 1 / (1 + e^4)), out1 = 3 p0 + 5 p1.
// Bidirectional: token 0 scores (1, -1), p = (1 / (1 + e^-2), 1 / (1 + e^2)).
static void test_attention_hand_case(void) {
    float q[2] = {1, 2}, k[2] = {1, -1}, v[2] = {3, 5}, out[2], probs[4];
    lt_attention_shape s = {.B = 1,
                            .T = 2,
                            .n_heads = 1,
                            .n_kv_heads = 1,
                            .head_dim = 1,
                            .causal = true,
                            .dtype = LT_F32};
    double p0 = 1.0 / (1.0 + exp(-4.0)), p1 = 1.0 / (1.0 + exp(4.0));
    LT_CHECK_OK(lt_attention_forward(out, probs, q, k, v, &s));
    LT_CHECK_CLOSE(out[0], 3.0, 0, 1e-7);
    LT_CHECK(probs[0] == 1.0f && probs[1] == 0.0f);
    LT_CHECK_CLOSE(probs[2], p0, 0, 1e-6);
    LT_CHECK_CLOSE(probs[3], p1, 0, 1e-6);
    LT_CHECK_CLOSE(out[1], 3.0 * p0 + 5.0 * p1, 0, 1e-6);
    s.causal = false;
    LT_CHECK_OK(lt_attention_forward(out, probs, q, k, v, &s));
    double b0 = 1.0 / (1.0 + exp(-2.0)), b1 = 1.0 / (1.0 + exp(2.0));
    LT_CHECK_CLOSE(out[0], 3.0 * b0 + 5.0 * b1, 0, 1e-6);
    LT_CHECK_CLOSE(out[1], 3.0 * p0 + 5.0 * p1, 0, 1e-6);
    // Different segments: each token sees only itself, even bidirectionally.
    int32_t seg[2] = {7, 8};
    s.segments = seg;
    LT_CHECK_OK(lt_attention_forward(out, probs, q, k, v, &s));
    LT_CHECK(out[0] == 3.0f && out[1] == 5.0f);
    LT_CHECK(probs[0] == 1.0f && probs[1] == 0.0f && probs[2] == 0.0f && probs[3] == 1.0f);
}

// ---------------------------------------------------------------- fast vs reference

static void check_vs_ref(lt_rng *rng, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t D,
                         bool causal, bool segments) {
    attn_case c = attn_setup(rng, B, T, H, KVH, D, causal, segments);
    int64_t nq = q_size(&c.s), nkv = kv_size(&c.s), np = probs_size(&c.s);
    float *out_ref = kt_alloc(nq), *probs_ref = kt_alloc(np);
    LT_CHECK_OK(lt_attention_forward(c.out, c.probs, c.q, c.k, c.v, &c.s));
    lt_attention_forward_ref(out_ref, probs_ref, c.q, c.k, c.v, &c.s);
    KT_CHECK_ARRAY(c.out, out_ref, nq, FAST_RTOL, FAST_ATOL);
    KT_CHECK_ARRAY(c.probs, probs_ref, np, FAST_RTOL, FAST_ATOL);
    bool masked_zero = true;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0; j < T; j++) {
                    bool allowed =
                        (!causal || j <= i) && (!segments || c.seg[b * T + i] == c.seg[b * T + j]);
                    if (!allowed) masked_zero &= c.probs[((b * H + h) * T + i) * T + j] == 0.0f;
                }
    LT_CHECK_MSG(masked_zero, "masked probabilities must be exactly 0");
    // backward accumulates into nonzero gradients
    float *dq = kt_normal(rng, nq, 1.0f), *dk = kt_normal(rng, nkv, 1.0f);
    float *dv = kt_normal(rng, nkv, 1.0f);
    float *dq_ref = kt_copy(dq, nq), *dk_ref = kt_copy(dk, nkv), *dv_ref = kt_copy(dv, nkv);
    LT_CHECK_OK(lt_attention_backward(dq, dk, dv, c.R, probs_ref, c.q, c.k, c.v, &c.s));
    lt_attention_backward_ref(dq_ref, dk_ref, dv_ref, c.R, probs_ref, c.q, c.k, c.v, &c.s);
    KT_CHECK_ARRAY(dq, dq_ref, nq, FAST_RTOL, FAST_ATOL);
    KT_CHECK_ARRAY(dk, dk_ref, nkv, FAST_RTOL, FAST_ATOL);
    KT_CHECK_ARRAY(dv, dv_ref, nkv, FAST_RTOL, FAST_ATOL);
    lt_free(out_ref), lt_free(probs_ref), lt_free(dq), lt_free(dk), lt_free(dv), lt_free(dq_ref);
    lt_free(dk_ref), lt_free(dv_ref);
    attn_free(&c);
}

static void test_attention_fast_vs_ref(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 71);
    static const int64_t shapes[][5] = {
        // B, T, H, KVH, D
        {1, 1, 1, 1, 1},   {2, 1, 4, 2, 8},    {2, 13, 4, 4, 8},  {2, 13, 4, 2, 12},
        {3, 7, 4, 1, 5},   {1, 17, 2, 2, 16},  {2, 40, 8, 2, 16}, // large enough to thread
        {1, 130, 2, 1, 8}, {2, 200, 2, 2, 16}, // causal row blocks of 64, the last one partial
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++)
        for (int mode = 0; mode < 4; mode++)
            check_vs_ref(&rng, shapes[t][0], shapes[t][1], shapes[t][2], shapes[t][3], shapes[t][4],
                         mode & 1, mode & 2);
}

// ---------------------------------------------------------------- finite differences

static double attn_loss(void *p) {
    attn_case *c = p;
    lt_status st = lt_attention_forward(c->out, c->probs, c->q, c->k, c->v, &c->s);
    lt_status_free(st);
    return kt_dot(c->R, c->out, q_size(&c->s));
}

static void gradcheck_case(lt_rng *rng, int64_t B, int64_t T, int64_t H, int64_t KVH, int64_t D,
                           bool causal, bool segments) {
    attn_case c = attn_setup(rng, B, T, H, KVH, D, causal, segments);
    int64_t nq = q_size(&c.s), nkv = kv_size(&c.s);
    float *dq = kt_alloc(nq), *dk = kt_alloc(nkv), *dv = kt_alloc(nkv);
    attn_loss(&c);
    LT_CHECK_OK(lt_attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, &c.s));
    kt_gradcheck("attention dq", c.q, nq, dq, attn_loss, &c, rng, FD_ENTRIES, 1e-2, FD_TOL);
    kt_gradcheck("attention dk", c.k, nkv, dk, attn_loss, &c, rng, FD_ENTRIES, 1e-2, FD_TOL);
    kt_gradcheck("attention dv", c.v, nkv, dv, attn_loss, &c, rng, FD_ENTRIES, 1e-2, FD_TOL);
    lt_free(dq), lt_free(dk), lt_free(dv);
    attn_free(&c);
}

static void test_attention_gradcheck(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 72);
    gradcheck_case(&rng, 2, 7, 4, 2, 8, true, true);
    gradcheck_case(&rng, 1, 9, 4, 1, 6, false, true);
    gradcheck_case(&rng, 2, 5, 2, 2, 4, true, false);
    gradcheck_case(&rng, 1, 6, 4, 4, 3, false, false);
}

// ---------------------------------------------------------------- properties

// Changing every q, k, v of segment 0 leaves the outputs (and gradients) of the
// other segments bit for bit unchanged, causal or not.
static void test_attention_segments_isolate(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 73);
    for (int causal = 0; causal < 2; causal++) {
        int64_t T = 11, H = 4, KVH = 2, D = 8;
        attn_case c = attn_setup(&rng, 1, T, H, KVH, D, causal, false);
        int32_t seg[11] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2};
        c.s.segments = seg;
        int64_t nq = q_size(&c.s), nkv = kv_size(&c.s);
        float *out1 = kt_alloc(nq), *dq1 = kt_alloc(nq), *dk1 = kt_alloc(nkv);
        float *dv1 = kt_alloc(nkv), *dq2 = kt_alloc(nq), *dk2 = kt_alloc(nkv);
        float *dv2 = kt_alloc(nkv);
        LT_CHECK_OK(lt_attention_forward(out1, c.probs, c.q, c.k, c.v, &c.s));
        LT_CHECK_OK(lt_attention_backward(dq1, dk1, dv1, c.R, c.probs, c.q, c.k, c.v, &c.s));
        for (int64_t t = 0; t < 4; t++) {
            for (int64_t i = 0; i < H * D; i++) c.q[t * H * D + i] += 3.0f * lt_rng_normal(&rng);
            for (int64_t i = 0; i < KVH * D; i++) {
                c.k[t * KVH * D + i] += 3.0f * lt_rng_normal(&rng);
                c.v[t * KVH * D + i] -= 5.0f;
            }
        }
        LT_CHECK_OK(lt_attention_forward(c.out, c.probs, c.q, c.k, c.v, &c.s));
        LT_CHECK_OK(lt_attention_backward(dq2, dk2, dv2, c.R, c.probs, c.q, c.k, c.v, &c.s));
        LT_CHECK_MSG(kt_same(out1 + 4 * H * D, c.out + 4 * H * D, (T - 4) * H * D),
                     "segments 1 and 2 output changed when segment 0 changed (causal %d)", causal);
        LT_CHECK(kt_same(dq1 + 4 * H * D, dq2 + 4 * H * D, (T - 4) * H * D));
        LT_CHECK(kt_same(dk1 + 4 * KVH * D, dk2 + 4 * KVH * D, (T - 4) * KVH * D));
        LT_CHECK(kt_same(dv1 + 4 * KVH * D, dv2 + 4 * KVH * D, (T - 4) * KVH * D));
        LT_CHECK_MSG(!kt_same(out1, c.out, 4 * H * D), "segment 0's own output must change");
        lt_free(out1), lt_free(dq1), lt_free(dk1), lt_free(dv1), lt_free(dq2), lt_free(dk2);
        lt_free(dv2);
        c.s.segments = NULL;
        attn_free(&c);
    }
}

// GQA with KVH kv heads equals full multi-head attention on k, v repeated per
// query head (head h gets kv head h / (H / KVH)); the kv gradients of the GQA
// run are the sums of the repeated heads' gradients.
static void test_attention_gqa_equivalence(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 74);
    for (int64_t KVH = 1; KVH <= 4; KVH *= 2) {
        int64_t B = 2, T = 9, H = 4, D = 8, group = H / KVH;
        attn_case c = attn_setup(&rng, B, T, H, KVH, D, true, true);
        lt_attention_shape full = c.s;
        full.n_kv_heads = H;
        int64_t nq = q_size(&c.s), nkv = kv_size(&c.s);
        float *kf = kt_alloc(nq), *vf = kt_alloc(nq), *outf = kt_alloc(nq);
        for (int64_t bt = 0; bt < B * T; bt++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++) {
                    kf[(bt * H + h) * D + d] = c.k[(bt * KVH + h / group) * D + d];
                    vf[(bt * H + h) * D + d] = c.v[(bt * KVH + h / group) * D + d];
                }
        LT_CHECK_OK(lt_attention_forward(c.out, c.probs, c.q, c.k, c.v, &c.s));
        float *probsf = kt_alloc(probs_size(&c.s));
        LT_CHECK_OK(lt_attention_forward(outf, probsf, c.q, kf, vf, &full));
        KT_CHECK_ARRAY(c.out, outf, nq, 1e-6, 1e-7);
        float *dq = kt_alloc(nq), *dk = kt_alloc(nkv), *dv = kt_alloc(nkv);
        float *dqf = kt_alloc(nq), *dkf = kt_alloc(nq), *dvf = kt_alloc(nq);
        float *dk_sum = kt_alloc(nkv), *dv_sum = kt_alloc(nkv);
        LT_CHECK_OK(lt_attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, &c.s));
        LT_CHECK_OK(lt_attention_backward(dqf, dkf, dvf, c.R, probsf, c.q, kf, vf, &full));
        for (int64_t bt = 0; bt < B * T; bt++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t d = 0; d < D; d++) {
                    dk_sum[(bt * KVH + h / group) * D + d] += dkf[(bt * H + h) * D + d];
                    dv_sum[(bt * KVH + h / group) * D + d] += dvf[(bt * H + h) * D + d];
                }
        KT_CHECK_ARRAY(dq, dqf, nq, 1e-6, 1e-7);
        KT_CHECK_ARRAY(dk, dk_sum, nkv, 1e-6, 1e-7);
        KT_CHECK_ARRAY(dv, dv_sum, nkv, 1e-6, 1e-7);
        lt_free(kf), lt_free(vf), lt_free(outf), lt_free(probsf), lt_free(dq), lt_free(dk);
        lt_free(dv), lt_free(dqf), lt_free(dkf), lt_free(dvf), lt_free(dk_sum), lt_free(dv_sum);
        attn_free(&c);
    }
}

// ---------------------------------------------------------------- bf16 mode

// With q, k, v, dout already bf16-representable, bf16 mode differs from f32
// mode only by rounding P (forward) and P, dS (backward) to bf16, a relative
// error of at most 2^-9 each. So, elementwise (s = 1/sqrt(D)):
//   |out - out_f32| <= 2^-9 sum_j P_ij |v_j|
//   |dv - dv_f32|   <= 2^-9 sum_(h,i) P_ij |dout_i|
//   |dq - dq_f32|   <= 2^-9 s sum_j |dS_ij| |k_j|
//   |dk - dk_f32|   <= 2^-9 s sum_(h,i) |dS_ij| |q_i|
// with dS taken from the f32 run. The bounds get a factor 1.01 and 1e-5
// absolute for f32 accumulation-order differences.
static void check_bf16(int64_t T) {
    lt_rng rng;
    lt_rng_seed(&rng, 75);
    int64_t B = 2, H = 4, KVH = 2, D = 8, group = H / KVH; // big enough to thread
    // causal rows go in blocks of 64 once T >= 128 (attention.c), each block a GEMM
    int64_t n_blocks = T >= 128 ? (T + 63) / 64 : 1;
    attn_case c = attn_setup(&rng, B, T, H, KVH, D, true, true);
    int64_t nq = q_size(&c.s), nkv = kv_size(&c.s), np = probs_size(&c.s);
    kt_round_bf16(c.q, nq), kt_round_bf16(c.k, nkv), kt_round_bf16(c.v, nkv);
    kt_round_bf16(c.R, nq);
    float *out16 = kt_alloc(nq), *probs16 = kt_alloc(np);
    float *dq = kt_alloc(nq), *dk = kt_alloc(nkv), *dv = kt_alloc(nkv);
    float *dq16 = kt_alloc(nq), *dk16 = kt_alloc(nkv), *dv16 = kt_alloc(nkv);
    LT_CHECK_OK(lt_attention_forward(c.out, c.probs, c.q, c.k, c.v, &c.s));
    LT_CHECK_OK(lt_attention_backward(dq, dk, dv, c.R, c.probs, c.q, c.k, c.v, &c.s));

    lt_attention_shape s16 = c.s;
    s16.dtype = LT_BF16;
    lt_gemm_stats st;
    lt_gemm_stats_reset();
    LT_CHECK_OK(lt_attention_forward(out16, probs16, c.q, c.k, c.v, &s16));
    LT_CHECK_OK(lt_attention_backward(dq16, dk16, dv16, c.R, probs16, c.q, c.k, c.v, &s16));
    lt_gemm_stats_get(&st);
    LT_CHECK_INT(st.calls[LT_F32], 0);
    LT_CHECK_INT(st.calls[LT_BF16],
                 B * H * 6 * n_blocks); // 2 products forward, 4 backward, per head and block

    // the scores are exact in both modes, so the saved probabilities agree to f32 rounding
    KT_CHECK_ARRAY(probs16, c.probs, np, FAST_RTOL, FAST_ATOL);
    double u = ldexp(1.0, -8), scale = 1.0 / sqrt((double)D);
    int64_t bad_out = 0, bad_dq = 0, bad_dk = 0, bad_dv = 0;
    double *bk = (double *)kt_alloc(2 * nkv), *bv = (double *)kt_alloc(2 * nkv);
    for (int64_t i = 0; i < nkv; i++) bk[i] = bv[i] = 0.0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            int64_t g = h / group;
            const float *P = c.probs + (b * H + h) * T * T;
            for (int64_t i = 0; i < T; i++) {
                const float *qi = c.q + ((b * T + i) * H + h) * D;
                const float *doi = c.R + ((b * T + i) * H + h) * D;
                double dp[T], dot = 0.0;
                for (int64_t j = 0; j < T; j++) {
                    const float *vj = c.v + ((b * T + j) * KVH + g) * D;
                    dp[j] = kt_dot(doi, vj, D);
                    dot += P[i * T + j] * dp[j];
                }
                for (int64_t d = 0; d < D; d++) {
                    double bo = 0.0, bq = 0.0;
                    for (int64_t j = 0; j < T; j++) {
                        int64_t kv = ((b * T + j) * KVH + g) * D + d;
                        double ds = fabs(P[i * T + j] * (dp[j] - dot));
                        bo += P[i * T + j] * fabs(c.v[kv]);
                        bq += ds * fabs(c.k[kv]);
                        bk[kv] += ds * fabs(qi[d]);
                        bv[kv] += P[i * T + j] * fabs(doi[d]);
                    }
                    int64_t qd = ((b * T + i) * H + h) * D + d;
                    bad_out += !(fabs(out16[qd] - c.out[qd]) <= 1.01 * u * bo + 1e-5);
                    bad_dq += !(fabs(dq16[qd] - dq[qd]) <= 1.01 * u * scale * bq + 1e-5);
                }
            }
        }
    for (int64_t i = 0; i < nkv; i++) {
        bad_dk += !(fabs(dk16[i] - dk[i]) <= 1.01 * u * scale * bk[i] + 1e-5);
        bad_dv += !(fabs(dv16[i] - dv[i]) <= 1.01 * u * bv[i] + 1e-5);
    }
    LT_CHECK_INT(bad_out, 0);
    LT_CHECK_INT(bad_dq, 0);
    LT_CHECK_INT(bad_dk, 0);
    LT_CHECK_INT(bad_dv, 0);
    // and bf16 mode is not trivially equal to f32 mode (the rounding happened)
    LT_CHECK(!kt_same(out16, c.out, nq));
    lt_free(out16), lt_free(probs16), lt_free(dq), lt_free(dk), lt_free(dv), lt_free(dq16);
    lt_free(dk16), lt_free(dv16), lt_free(bk), lt_free(bv);
    attn_free(&c);
}

static void test_attention_bf16(void) {
    check_bf16(24);
    check_bf16(130);
}

// ---------------------------------------------------------------- errors

static void test_attention_bad_shapes(void) {
    float x[64] = {0}, probs[64];
    lt_attention_shape s = {
        .B = 1, .T = 2, .n_heads = 3, .n_kv_heads = 2, .head_dim = 2, .dtype = LT_F32};
    LT_CHECK_ERR(lt_attention_forward(x, probs, x, x, x, &s), LT_ERR_ARG,
                 "n_heads (3) is not a multiple of n_kv_heads (2)");
    LT_CHECK_ERR(lt_attention_backward(x, x, x, x, probs, x, x, x, &s), LT_ERR_ARG, "multiple");
    s.n_heads = 2, s.T = 0;
    LT_CHECK_ERR(lt_attention_forward(x, probs, x, x, x, &s), LT_ERR_ARG, ">= 1");
    s.T = 2, s.head_dim = 0;
    LT_CHECK_ERR(lt_attention_forward(x, probs, x, x, x, &s), LT_ERR_ARG, ">= 1");
}

static void test_attention_bad_dtype(void) {
    float x[16] = {0}, probs[16];
    lt_attention_shape s = {
        .B = 1, .T = 2, .n_heads = 1, .n_kv_heads = 1, .head_dim = 2, .dtype = LT_F16};
    LT_CHECK_ERR(lt_attention_forward(x, probs, x, x, x, &s), LT_ERR_UNSUPPORTED, "f16");
    s.dtype = LT_Q8_0;
    LT_CHECK_ERR(lt_attention_backward(x, x, x, x, probs, x, x, x, &s), LT_ERR_UNSUPPORTED, "q8_0");
}

int main(void) {
    LT_RUN(test_attention_hand_case);
    LT_RUN(test_attention_fast_vs_ref);
    LT_RUN(test_attention_gradcheck);
    LT_RUN(test_attention_segments_isolate);
    LT_RUN(test_attention_gqa_equivalence);
    LT_RUN(test_attention_bf16);
    LT_RUN(test_attention_bad_shapes);
    LT_RUN(test_attention_bad_dtype);
    return lt_test_finish();
}
