// forward.c: the training forward and backward passes of a heterogeneous
// Llama/DeciLM model, one straight sequence of kernel calls per block, and the
// activation memory they keep. Each op is timed under its lt_op (profile.h)
// when a->profile is on; the helpers below time themselves, so the passes
// read one op per line.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lathe/model.h"

// ---------------------------------------------------------------- activation memory

// Hands out 64-byte aligned slices of one buffer; with base == NULL it only counts.
typedef struct {
    char *base;
    size_t used;
} bump;

static void *take(bump *b, size_t count, size_t elem) {
    size_t bytes = (count * elem + 63) / 64 * 64;
    void *p = b->base ? b->base + b->used : NULL;
    b->used += bytes;
    return p;
}

// One kept activation of n elements: f32 in f32 mode; in bf16/f16 mode a
// 16-bit copy, with the float view pointing at the shared scratch `shared`.
static float *keep(bump *b, bool lowp, uint16_t **copy16, float *shared, size_t n) {
    if (!lowp) return take(b, n, 4);
    *copy16 = take(b, n, 2);
    return shared;
}

// Shared f32 scratch of the 16-bit modes: one block's activations at a time.
typedef struct {
    float *norm, *q, *k, *v, *probs, *attn_out, *gate, *up, *hidden;
} shared_views;

static void plan(const lt_config *c, lt_acts *a, bump *b) {
    size_t N = (size_t)a->N, C = (size_t)c->hidden, HD = (size_t)(c->n_heads * c->head_dim);
    size_t P = (size_t)(a->B * c->n_heads) * (size_t)(a->T * a->T), max_kv = 0, max_ffn = 0;
    bool lowp = a->dtype != LT_F32;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const lt_block_config *bc = &c->blocks[l];
        if (bc->attn == LT_ATTN_GQA && (size_t)(bc->n_kv_heads * c->head_dim) > max_kv)
            max_kv = (size_t)(bc->n_kv_heads * c->head_dim);
        if (bc->ffn == LT_FFN_SWIGLU && (size_t)bc->ffn_dim > max_ffn)
            max_ffn = (size_t)bc->ffn_dim;
    }
    a->x0 = take(b, N * C, 4); // first: the start of the one buffer
    shared_views sh = {0};
    if (lowp) {
        sh.norm = take(b, N * C, 4);
        sh.q = take(b, N * HD, 4);
        sh.k = take(b, N * (max_kv ? max_kv : 1), 4);
        sh.v = take(b, N * (max_kv ? max_kv : 1), 4);
        sh.probs = take(b, P, 4);
        sh.attn_out = take(b, N * HD, 4);
        sh.gate = take(b, N * (max_ffn ? max_ffn : 1), 4);
        sh.up = take(b, N * (max_ffn ? max_ffn : 1), 4);
        sh.hidden = take(b, N * (max_ffn ? max_ffn : 1), 4);
    }
    for (int64_t l = 0; l < c->n_layers; l++) {
        const lt_block_config *bc = &c->blocks[l];
        lt_block_acts *ba = &a->blocks[l];
        memset(ba, 0, sizeof *ba);
        size_t KVD = (size_t)(bc->n_kv_heads * c->head_dim), F = (size_t)bc->ffn_dim;
        if (bc->attn != LT_ATTN_NOOP) {
            ba->attn_norm_out = keep(b, lowp, &ba->attn_norm_out16, sh.norm, N * C);
            ba->attn_rstd = take(b, N, 4);
            ba->mid = take(b, N * C, 4);
        }
        if (bc->attn == LT_ATTN_GQA) {
            ba->q = keep(b, lowp, &ba->q16, sh.q, N * HD);
            ba->k = keep(b, lowp, &ba->k16, sh.k, N * KVD);
            ba->v = keep(b, lowp, &ba->v16, sh.v, N * KVD);
            ba->probs = keep(b, lowp, &ba->probs16, sh.probs, P);
            ba->attn_out = keep(b, lowp, &ba->attn_out16, sh.attn_out, N * HD);
        }
        if (bc->ffn != LT_FFN_NOOP) {
            ba->ffn_norm_out = keep(b, lowp, &ba->ffn_norm_out16, sh.norm, N * C);
            ba->ffn_rstd = take(b, N, 4);
            ba->out = take(b, N * C, 4);
        }
        if (bc->ffn == LT_FFN_SWIGLU) {
            ba->gate = keep(b, lowp, &ba->gate16, sh.gate, N * F);
            ba->up = keep(b, lowp, &ba->up16, sh.up, N * F);
            ba->ffn_hidden = keep(b, lowp, &ba->ffn_hidden16, sh.hidden, N * F);
        }
    }
    a->final_norm_out = take(b, N * C, 4);
    if (lowp) a->final_norm_out16 = take(b, N * C, 2);
    a->final_rstd = take(b, N, 4);
    a->logits = take(b, N * (size_t)c->vocab, 4);
    a->positions = take(b, N, 4);
    size_t proj = HD > max_ffn ? HD : max_ffn;
    if (C > proj) proj = C;
    a->dres = take(b, N * C, 4);
    a->dnorm = take(b, N * C, 4);
    a->dproj = take(b, N * proj, 4);
    a->dq = take(b, N * HD, 4);
    a->dk = take(b, N * (max_kv ? max_kv : 1), 4);
    a->dv = take(b, N * (max_kv ? max_kv : 1), 4);
    a->dgate = take(b, N * (max_ffn ? max_ffn : 1), 4);
    a->dup = take(b, N * (max_ffn ? max_ffn : 1), 4);
    a->scratch = take(b, N * C, 4);
}

// No-op parts alias their input: the residual passes through unchanged.
static void link_aliases(const lt_config *c, lt_acts *a) {
    const float *x = a->x0;
    for (int64_t l = 0; l < c->n_layers; l++) {
        lt_block_acts *ba = &a->blocks[l];
        if (!ba->mid) ba->mid = (float *)x;
        if (!ba->out) ba->out = ba->mid;
        x = ba->out;
    }
}

size_t lt_acts_bytes(const lt_config *cfg, lt_dtype dtype, int64_t B, int64_t T) {
    lt_block_acts blocks[cfg->n_layers > 0 ? cfg->n_layers : 1];
    lt_acts a = {.B = B, .T = T, .N = B * T, .dtype = dtype, .blocks = blocks};
    bump b = {0};
    plan(cfg, &a, &b);
    return b.used + (size_t)cfg->n_layers * sizeof(lt_block_acts);
}

lt_status lt_acts_init(lt_acts **out, const lt_model *m, int64_t B, int64_t T) {
    *out = NULL;
    const lt_config *c = &m->cfg;
    if (B < 1 || T < 1)
        return lt_error(LT_ERR_ARG, "batch %lld x %lld: both must be positive", (long long)B,
                        (long long)T);
    if (T > c->max_positions)
        return lt_error(LT_ERR_RANGE, "sequence length %lld exceeds max_position_embeddings %lld",
                        (long long)T, (long long)c->max_positions);
    lt_acts *a;
    LT_TRY(lt_calloc((void **)&a, 1, sizeof *a, "activations"));
    a->B = B, a->T = T, a->N = B * T, a->model = m, a->dtype = m->dtype;
    lt_status s =
        lt_calloc((void **)&a->blocks, (size_t)c->n_layers, sizeof *a->blocks, "block activations");
    bump b = {0};
    if (!s) {
        plan(c, a, &b);
        s = lt_alloc((void **)&b.base, b.used, "activations");
    }
    if (s) {
        lt_acts_free(a);
        return lt_error_prefix(s, "batch %lld x %lld", (long long)B, (long long)T);
    }
    a->bytes = b.used;
    b.used = 0;
    plan(c, a, &b); // now with real addresses; x0 is the start of the buffer
    link_aliases(c, a);
    *out = a;
    return NULL;
}

void lt_acts_free(lt_acts *a) {
    if (!a) return;
    lt_free(a->x0); // the one buffer every activation lives in
    lt_free(a->blocks);
    lt_free(a);
}

// ---------------------------------------------------------------- forward

static void residual_add(float *out, const float *x, const float *y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) out[i] = x[i] + y[i];
}

// Attention's two products run in bf16 in bf16 mode; in f16 mode in f32 on
// the f16-stored q, k, v (this CPU has no fast f16 GEMM).
static lt_attention_shape attn_shape(const lt_model *m, const lt_acts *a,
                                     const lt_block_config *bc) {
    return (lt_attention_shape){.B = a->B,
                                .T = a->T,
                                .n_heads = m->cfg.n_heads,
                                .n_kv_heads = bc->n_kv_heads,
                                .head_dim = m->cfg.head_dim,
                                .causal = true,
                                .segments = a->segments,
                                .dtype = m->dtype == LT_BF16 ? LT_BF16 : LT_F32};
}

// Mixed precision: keeps x (n) as its 16-bit copy x16 and continues with the
// rounded values, so forward and backward see the same numbers. f32 mode
// (x16 NULL): nothing to do (still timed, so the breakdown lists the op).
static void keep16(lt_acts *a, uint16_t *x16, float *x, int64_t n) {
    double t0 = lt_profile_begin(&a->profile);
    if (x16) {
        lt_lowp_store(a->dtype, x16, x, n);
        lt_lowp_load(a->dtype, x, x16, n);
    }
    lt_profile_end(&a->profile, LT_OP_CONVERT, t0);
}

// Keeps only the 16-bit copy of x (attention probabilities: backward reloads them).
static void store16(lt_acts *a, uint16_t *x16, const float *x, int64_t n) {
    if (x16) LT_TIMED(&a->profile, LT_OP_CONVERT, lt_lowp_store(a->dtype, x16, x, n));
}

// Backward: refills the f32 view of a kept activation from its 16-bit copy.
static void reload16(lt_acts *a, float *x, const uint16_t *x16, int64_t n) {
    double t0 = lt_profile_begin(&a->profile);
    if (x16) lt_lowp_load(a->dtype, x, x16, n);
    lt_profile_end(&a->profile, LT_OP_CONVERT, t0);
}

// RMSNorm of x (N, C) into y (N, C) with rstd (N), kept in 16 bits when y16 is set.
static void norm_fwd(lt_acts *a, float *y, uint16_t *y16, float *rstd, const float *x,
                     const float *w) {
    const lt_config *c = &a->model->cfg;
    LT_TIMED(&a->profile, LT_OP_NORM,
             lt_rmsnorm_forward(y, rstd, x, w, a->N, c->hidden, (float)c->rms_eps));
    keep16(a, y16, y, a->N * c->hidden);
}

// RoPE on q or k (N, n_heads * D) at this batch's positions, and its backward.
static void rope_fwd(lt_acts *a, float *x, int64_t n_heads) {
    const lt_model *m = a->model;
    LT_TIMED(
        &a->profile, LT_OP_ROPE,
        lt_rope_forward(x, m->rope_cos, m->rope_sin, a->positions, a->N, n_heads, m->cfg.head_dim));
}
static void rope_bwd(lt_acts *a, float *dx, int64_t n_heads) {
    const lt_model *m = a->model;
    LT_TIMED(&a->profile, LT_OP_ROPE,
             lt_rope_backward(dx, m->rope_cos, m->rope_sin, a->positions, a->N, n_heads,
                              m->cfg.head_dim));
}

// A linear layer y (N, out) = x (N, in) W^T on a kept activation, timed as op:
// the 16-bit copy x16, when set, feeds the GEMM directly.
static lt_status linear_fwd(lt_acts *a, lt_op op, float *y, const float *x, const uint16_t *x16,
                            const lt_linear_weight *w, int64_t in, int64_t out) {
    LT_TIMED(&a->profile, op,
             LT_TRY(x16 ? lt_linear_forward16(y, x16, w, a->N, in, out)
                        : lt_linear_forward(y, x, w, a->N, in, out)));
    return NULL;
}

// Counts an activation gradient's magnitudes into the study of lt_grad_stats.
static void record_grad_stats(lt_grad_stats *gs, const float *dy, int64_t n) {
    lt_grad_stats local = {0};
#pragma omp parallel
    {
        lt_grad_stats mine = {0};
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float v = fabsf(dy[i]);
            if (v == 0.0f) continue;
            mine.nonzero++;
            if (v <= 0x1p-25f)
                mine.f16_zero++;
            else if (v < 0x1p-14f)
                mine.f16_subnormal++;
            int e = ilogbf(v) - LT_GRAD_HIST_MIN;
            mine.log2_hist[e < 0 ? 0 : e >= LT_GRAD_HIST_BINS ? LT_GRAD_HIST_BINS - 1 : e]++;
        }
#pragma omp critical
        {
            local.nonzero += mine.nonzero, local.f16_zero += mine.f16_zero,
                local.f16_subnormal += mine.f16_subnormal;
            for (int b = 0; b < LT_GRAD_HIST_BINS; b++) local.log2_hist[b] += mine.log2_hist[b];
        }
    }
    gs->total += (uint64_t)n;
    gs->nonzero += local.nonzero, gs->f16_zero += local.f16_zero,
        gs->f16_subnormal += local.f16_subnormal;
    for (int b = 0; b < LT_GRAD_HIST_BINS; b++) gs->log2_hist[b] += local.log2_hist[b];
}

// Its backward: dx (N, in) +=, dw (out, in) += from dy (N, out).
static lt_status linear_bwd(lt_acts *a, lt_op op, float *dx, float *dw, const float *dy,
                            const float *x, const uint16_t *x16, const lt_linear_weight *w,
                            int64_t in, int64_t out) {
    int64_t N = a->N;
    double t0 = lt_profile_begin(&a->profile);
    if (a->collect_grad_stats) record_grad_stats(&a->grad_stats, dy, N * out);
    LT_TRY(x16 ? lt_linear_backward16(dx, dw, dy, x16, w, N, in, out)
               : lt_linear_backward(dx, dw, dy, x, w, N, in, out));
    lt_profile_end(&a->profile, op, t0);
    return NULL;
}

static lt_status attention_part_forward(const lt_model *m, const lt_block_weights *w,
                                        lt_block_acts *ba, lt_acts *a, const float *x) {
    const lt_config *c = &m->cfg;
    const lt_block_config *bc = w->cfg;
    int64_t N = a->N, C = c->hidden, HD = c->n_heads * c->head_dim;
    int64_t KVD = bc->n_kv_heads * c->head_dim;
    const float *xn = ba->attn_norm_out; // (N, C) what every projection reads
    const uint16_t *xn16 = ba->attn_norm_out16;
    norm_fwd(a, ba->attn_norm_out, ba->attn_norm_out16, ba->attn_rstd, x, w->attn_norm);
    if (bc->attn == LT_ATTN_LINEAR) {
        LT_TRY(linear_fwd(a, LT_OP_LINEAR_BLOCK, a->scratch, xn, xn16, &w->linear_attn, C, C));
    } else {
        LT_TRY(linear_fwd(a, LT_OP_QKV, ba->q, xn, xn16, &w->q, C, HD));
        LT_TRY(linear_fwd(a, LT_OP_QKV, ba->k, xn, xn16, &w->k, C, KVD));
        LT_TRY(linear_fwd(a, LT_OP_QKV, ba->v, xn, xn16, &w->v, C, KVD));
        rope_fwd(a, ba->q, c->n_heads);
        rope_fwd(a, ba->k, bc->n_kv_heads);
        keep16(a, ba->q16, ba->q, N * HD);
        keep16(a, ba->k16, ba->k, N * KVD);
        keep16(a, ba->v16, ba->v, N * KVD);
        lt_attention_shape shape = attn_shape(m, a, bc);
        LT_TIMED(
            &a->profile, LT_OP_ATTN,
            LT_TRY(lt_attention_forward(ba->attn_out, ba->probs, ba->q, ba->k, ba->v, &shape)));
        store16(a, ba->probs16, ba->probs, a->B * c->n_heads * a->T * a->T);
        keep16(a, ba->attn_out16, ba->attn_out, N * HD);
        LT_TRY(linear_fwd(a, LT_OP_OPROJ, a->scratch, ba->attn_out, ba->attn_out16, &w->o, HD, C));
    }
    LT_TIMED(&a->profile, LT_OP_RESIDUAL, residual_add(ba->mid, x, a->scratch, N * C));
    return NULL;
}

static lt_status ffn_part_forward(const lt_model *m, const lt_block_weights *w, lt_block_acts *ba,
                                  lt_acts *a) {
    const lt_block_config *bc = w->cfg;
    int64_t N = a->N, C = m->cfg.hidden, F = bc->ffn_dim;
    const float *xn = ba->ffn_norm_out; // (N, C)
    const uint16_t *xn16 = ba->ffn_norm_out16;
    norm_fwd(a, ba->ffn_norm_out, ba->ffn_norm_out16, ba->ffn_rstd, ba->mid, w->ffn_norm);
    if (bc->ffn == LT_FFN_LINEAR) {
        LT_TRY(linear_fwd(a, LT_OP_LINEAR_BLOCK, a->scratch, xn, xn16, &w->linear_mlp, C, C));
    } else {
        LT_TRY(linear_fwd(a, LT_OP_FFN_IN, ba->gate, xn, xn16, &w->gate, C, F));
        LT_TRY(linear_fwd(a, LT_OP_FFN_IN, ba->up, xn, xn16, &w->up, C, F));
        keep16(a, ba->gate16, ba->gate, N * F);
        keep16(a, ba->up16, ba->up, N * F);
        LT_TIMED(&a->profile, LT_OP_SWIGLU,
                 lt_swiglu_forward(ba->ffn_hidden, ba->gate, ba->up, N * F));
        keep16(a, ba->ffn_hidden16, ba->ffn_hidden, N * F);
        LT_TRY(linear_fwd(a, LT_OP_FFN_OUT, a->scratch, ba->ffn_hidden, ba->ffn_hidden16, &w->down,
                          F, C));
    }
    LT_TIMED(&a->profile, LT_OP_RESIDUAL, residual_add(ba->out, ba->mid, a->scratch, N * C));
    return NULL;
}

lt_status lt_block_forward(const lt_model *m, const lt_block_weights *w, lt_block_acts *ba,
                           lt_acts *a, const float *x) {
    if (w->cfg->attn != LT_ATTN_NOOP)
        LT_TRY(attention_part_forward(m, w, ba, a, x));
    else
        ba->mid = (float *)x;
    if (w->cfg->ffn != LT_FFN_NOOP)
        LT_TRY(ffn_part_forward(m, w, ba, a));
    else
        ba->out = ba->mid;
    return NULL;
}

static lt_status check_batch(const lt_model *m, const lt_acts *a, const lt_batch *batch) {
    const lt_config *c = &m->cfg;
    if (batch->B != a->B || batch->T != a->T)
        return lt_error(LT_ERR_ARG,
                        "batch is %lld x %lld but the activations were sized for %lld x %lld",
                        (long long)batch->B, (long long)batch->T, (long long)a->B, (long long)a->T);
    for (int64_t i = 0; i < a->N; i++) {
        if (batch->ids[i] < 0 || batch->ids[i] >= c->vocab)
            return lt_error(LT_ERR_RANGE,
                            "token id %d at position %lld is outside the vocabulary [0, %lld)",
                            batch->ids[i], (long long)i, (long long)c->vocab);
        if (batch->positions &&
            (batch->positions[i] < 0 || batch->positions[i] >= c->max_positions))
            return lt_error(LT_ERR_RANGE, "position %d at index %lld is outside [0, %lld)",
                            batch->positions[i], (long long)i, (long long)c->max_positions);
    }
    return NULL;
}

lt_status lt_model_forward(const lt_model *m, lt_acts *a, const lt_batch *batch) {
    const lt_config *c = &m->cfg;
    if (a->model != m) return lt_error(LT_ERR_ARG, "activations belong to another model");
    if (a->dtype != m->dtype)
        return lt_error(
            LT_ERR_ARG,
            "activations were sized for %s, the model now computes in %s: make them again",
            lt_dtype_name(a->dtype), lt_dtype_name(m->dtype));
    LT_TRY(check_batch(m, a, batch));
    int64_t N = a->N, C = c->hidden;
    for (int64_t i = 0; i < N; i++)
        a->positions[i] = batch->positions ? batch->positions[i] : (int32_t)(i % a->T);
    a->ids = batch->ids;
    a->segments = batch->segments;
    LT_TIMED(&a->profile, LT_OP_EMBED, lt_embedding_forward(a->x0, m->embed, batch->ids, N, C));
    const float *x = a->x0;
    for (int64_t l = 0; l < c->n_layers; l++) {
        LT_TRY(lt_block_forward(m, &m->blocks[l], &a->blocks[l], a, x));
        x = a->blocks[l].out;
    }
    norm_fwd(a, a->final_norm_out, a->final_norm_out16, a->final_rstd, x, m->final_norm);
    LT_TRY(linear_fwd(a, LT_OP_HEAD, a->logits, a->final_norm_out, a->final_norm_out16, &m->lm_head,
                      C, c->vocab));
    return NULL;
}

// ---------------------------------------------------------------- backward

static void zero(float *p, int64_t n) { memset(p, 0, (size_t)n * sizeof *p); }

static lt_status ffn_part_backward(const lt_model *m, const lt_block_weights *w,
                                   const lt_block_acts *ba, lt_acts *a, float *dres,
                                   const lt_block_grads *g) {
    int64_t N = a->N, C = m->cfg.hidden, F = w->cfg->ffn_dim;
    const float *xn = ba->ffn_norm_out; // (N, C) the forward's projection input
    const uint16_t *xn16 = ba->ffn_norm_out16;
    float *dxn = a->dnorm;
    zero(dxn, N * C);
    if (w->cfg->ffn == LT_FFN_LINEAR) {
        LT_TRY(linear_bwd(a, LT_OP_LINEAR_BLOCK, dxn, g->linear_mlp, dres, xn, xn16, &w->linear_mlp,
                          C, C));
    } else {
        zero(a->dproj, N * F);
        LT_TRY(linear_bwd(a, LT_OP_FFN_OUT, a->dproj, g->down, dres, ba->ffn_hidden,
                          ba->ffn_hidden16, &w->down, F, C));
        zero(a->dgate, N * F);
        zero(a->dup, N * F);
        reload16(a, ba->gate, ba->gate16, N * F);
        reload16(a, ba->up, ba->up16, N * F);
        LT_TIMED(&a->profile, LT_OP_SWIGLU,
                 lt_swiglu_backward(a->dgate, a->dup, a->dproj, ba->gate, ba->up, N * F));
        LT_TRY(linear_bwd(a, LT_OP_FFN_IN, dxn, g->gate, a->dgate, xn, xn16, &w->gate, C, F));
        LT_TRY(linear_bwd(a, LT_OP_FFN_IN, dxn, g->up, a->dup, xn, xn16, &w->up, C, F));
    }
    LT_TIMED(&a->profile, LT_OP_NORM,
             lt_rmsnorm_backward(dres, g->ffn_norm, dxn, ba->mid, w->ffn_norm, ba->ffn_rstd, N, C));
    return NULL;
}

static lt_status attention_part_backward(const lt_model *m, const lt_block_weights *w,
                                         const lt_block_acts *ba, lt_acts *a, const float *x,
                                         float *dres, const lt_block_grads *g) {
    const lt_config *c = &m->cfg;
    const lt_block_config *bc = w->cfg;
    int64_t N = a->N, C = c->hidden, HD = c->n_heads * c->head_dim;
    int64_t KVD = bc->n_kv_heads * c->head_dim;
    const float *xn = ba->attn_norm_out; // (N, C) the forward's projection input
    const uint16_t *xn16 = ba->attn_norm_out16;
    float *dxn = a->dnorm;
    zero(dxn, N * C);
    if (bc->attn == LT_ATTN_LINEAR) {
        LT_TRY(linear_bwd(a, LT_OP_LINEAR_BLOCK, dxn, g->linear_attn, dres, xn, xn16,
                          &w->linear_attn, C, C));
    } else {
        zero(a->dproj, N * HD);
        LT_TRY(linear_bwd(a, LT_OP_OPROJ, a->dproj, g->o, dres, ba->attn_out, ba->attn_out16, &w->o,
                          HD, C));
        zero(a->dq, N * HD);
        zero(a->dk, N * KVD);
        zero(a->dv, N * KVD);
        reload16(a, ba->q, ba->q16, N * HD);
        reload16(a, ba->k, ba->k16, N * KVD);
        reload16(a, ba->v, ba->v16, N * KVD);
        reload16(a, ba->probs, ba->probs16, a->B * c->n_heads * a->T * a->T);
        lt_attention_shape shape = attn_shape(m, a, bc);
        LT_TIMED(&a->profile, LT_OP_ATTN,
                 LT_TRY(lt_attention_backward(a->dq, a->dk, a->dv, a->dproj, ba->probs, ba->q,
                                              ba->k, ba->v, &shape)));
        rope_bwd(a, a->dq, c->n_heads);
        rope_bwd(a, a->dk, bc->n_kv_heads);
        LT_TRY(linear_bwd(a, LT_OP_QKV, dxn, g->q, a->dq, xn, xn16, &w->q, C, HD));
        LT_TRY(linear_bwd(a, LT_OP_QKV, dxn, g->k, a->dk, xn, xn16, &w->k, C, KVD));
        LT_TRY(linear_bwd(a, LT_OP_QKV, dxn, g->v, a->dv, xn, xn16, &w->v, C, KVD));
    }
    LT_TIMED(&a->profile, LT_OP_NORM,
             lt_rmsnorm_backward(dres, g->attn_norm, dxn, x, w->attn_norm, ba->attn_rstd, N, C));
    return NULL;
}

lt_status lt_block_backward(const lt_model *m, const lt_block_weights *w, const lt_block_acts *ba,
                            lt_acts *a, const float *x, float *dx, const lt_block_grads *g) {
    // The residual path passes d(out) through unchanged; each part adds its branch.
    if (w->cfg->ffn != LT_FFN_NOOP) LT_TRY(ffn_part_backward(m, w, ba, a, dx, g));
    if (w->cfg->attn != LT_ATTN_NOOP) LT_TRY(attention_part_backward(m, w, ba, a, x, dx, g));
    return NULL;
}

static void add_into(float *dst, const float *src, int64_t n) {
    if (!src) return;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

lt_status lt_model_backward(const lt_model *m, lt_acts *a, float *grads,
                            const float *const *dhidden) {
    const lt_config *c = &m->cfg;
    int64_t N = a->N, C = c->hidden, L = c->n_layers;
    const float *x_last = L > 0 ? a->blocks[L - 1].out : a->x0;
    const lt_param *head =
        lt_model_find(m, c->tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    const lt_param *norm = lt_model_find(m, "model.norm.weight");
    const lt_param *embed = lt_model_find(m, "model.embed_tokens.weight");
    zero(a->dnorm, N * C);
    if (a->dtype != m->dtype)
        return lt_error(LT_ERR_ARG, "activations were sized for %s, the model now computes in %s",
                        lt_dtype_name(a->dtype), lt_dtype_name(m->dtype));
    LT_TRY(linear_bwd(a, LT_OP_HEAD, a->dnorm, grads + head->offset, a->logits, a->final_norm_out,
                      a->final_norm_out16, &m->lm_head, C, c->vocab));
    zero(a->dres, N * C);
    LT_TIMED(&a->profile, LT_OP_NORM,
             lt_rmsnorm_backward(a->dres, grads + norm->offset, a->dnorm, x_last, m->final_norm,
                                 a->final_rstd, N, C));
    if (dhidden) add_into(a->dres, dhidden[L], N * C);
    for (int64_t l = L - 1; l >= 0; l--) {
        lt_block_grads g;
        lt_model_block_grads(m, grads, l, &g);
        const float *x = l > 0 ? a->blocks[l - 1].out : a->x0;
        LT_TRY(lt_block_backward(m, &m->blocks[l], &a->blocks[l], a, x, a->dres, &g));
        if (dhidden) add_into(a->dres, dhidden[l], N * C);
    }
    LT_TIMED(&a->profile, LT_OP_EMBED,
             lt_embedding_backward(grads + embed->offset, a->dres, a->ids, N, C));
    return NULL;
}
