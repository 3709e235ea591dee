// engine.c: the inference forward pass — weights in their storage dtype, a KV
// cache per GQA layer, and one step that runs the new tokens of several
// sequences together (prefill chunks and decode tokens alike).
//
// Weights are copied at load into one arena in the layout the step wants:
// q, k and v of a layer as one (H*D + 2*KVH*D, C) matrix, gate and up as one
// (2F, C) matrix, so each takes one pass over the weights per step. Rows are
// independent in every storage dtype (a q8_0 row is whole blocks), so
// stacking matrices is stacking their bytes.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "infer/infer_internal.h"
#include "lathe/kernels.h"
#include "lathe/gemm.h"

enum { ROW_BLOCK = 64 }; // query rows per attention task (prefill)

// ---------------------------------------------------------------- accessors

const lt_config *lt_engine_config(const lt_engine *e) { return &e->cfg; }
lt_tokenizer *lt_engine_tokenizer(const lt_engine *e) { return e->tok; }
lt_status lt_engine_need_tokenizer(const lt_engine *e) {
    if (e->tok) return NULL;
    return lt_error(LT_ERR_ARG,
                    "the model has no tokenizer (tokenizer.json): a model directory needs "
                    "config.json, model.safetensors and tokenizer.json; copy tokenizer.json and "
                    "tokenizer_config.json from the tokenizer you trained with, or pass "
                    "--tokenizer DIR to lathe train");
}
void lt_engine_set_tokenizer(lt_engine *e, lt_tokenizer *tok) {
    if (e->tok != tok) lt_tokenizer_free(e->tok);
    e->tok = tok;
}
const char *lt_engine_chat_template(const lt_engine *e) { return e->chat_template; }
int lt_engine_max_seqs(const lt_engine *e) { return e->max_seqs; }
int64_t lt_engine_max_context(const lt_engine *e) { return e->max_ctx; }
int64_t lt_engine_max_step_tokens(const lt_engine *e) { return e->max_step; }
lt_dtype lt_engine_weight_dtype(const lt_engine *e) { return e->wdtype; }
size_t lt_engine_weight_bytes(const lt_engine *e) { return e->weight_bytes; }
size_t lt_engine_cache_bytes(const lt_engine *e) { return e->cache_bytes; }
size_t lt_engine_scratch_bytes(const lt_engine *e) { return e->scratch_bytes; }

void lt_engine_set_profile(lt_engine *e, bool on) { lt_profile_enable(&e->profile, on); }
const double *lt_engine_op_seconds(const lt_engine *e) { return e->profile.seconds; }

int64_t lt_engine_seq_len(const lt_engine *e, int seq) {
    return seq >= 0 && seq < e->max_seqs ? e->seq_len[seq] : -1;
}

lt_status lt_engine_seq_truncate(lt_engine *e, int seq, int64_t len) {
    if (seq < 0 || seq >= e->max_seqs)
        return lt_error(LT_ERR_RANGE, "sequence slot %d is outside [0, %d)", seq, e->max_seqs);
    if (len < 0 || len > e->seq_len[seq])
        return lt_error(LT_ERR_RANGE, "cannot truncate slot %d holding %lld positions to %lld", seq,
                        (long long)e->seq_len[seq], (long long)len);
    e->seq_len[seq] = len;
    return NULL;
}

static double qweight_bytes(const lt_qweight *w) {
    return w->data ? (double)lt_qweight_bytes(w->dtype, w->rows, w->cols) : 0.0;
}

double lt_engine_decode_bytes(const lt_engine *e, int64_t ctx) {
    const lt_config *c = &e->cfg;
    double bytes = qweight_bytes(&e->head) + qweight_bytes(&e->embed) / (double)c->vocab;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const eng_block *b = &e->blocks[l];
        bytes += qweight_bytes(&b->qkv) + qweight_bytes(&b->o) + qweight_bytes(&b->linear_attn) +
                 qweight_bytes(&b->gate_up) + qweight_bytes(&b->down) +
                 qweight_bytes(&b->linear_mlp);
        if (b->cfg.attn == LT_ATTN_GQA)
            bytes += 2.0 * (double)(ctx * b->cfg.n_kv_heads * c->head_dim) * sizeof(float);
    }
    return bytes;
}

// ---------------------------------------------------------------- step pieces

// y (N, C) = RMSNorm(x) * w; the per-row rstd goes to the engine's scratch.
static void rmsnorm_rows(lt_engine *e, float *y, const float *x, const float *w, int64_t N) {
    lt_rmsnorm_forward(y, e->rstd, x, w, N, e->cfg.hidden, (float)e->cfg.rms_eps);
}

static void add_rows(float *x, const float *d, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) x[i] += d[i];
}

// h (T, F) = silu(gu[:, :F]) * gu[:, F:], gu (T, 2F)
static void swiglu_rows(float *h, const float *gu, int64_t T, int64_t F) {
#pragma omp parallel for schedule(static) if (T * F >= 65536)
    for (int64_t t = 0; t < T; t++) {
        const float *g = gu + t * 2 * F, *u = g + F;
        float *hr = h + t * F;
#pragma omp simd
        for (int64_t j = 0; j < F; j++) hr[j] = g[j] / (1.0f + lt_kernel_expf(-g[j])) * u[j];
    }
}

// Rotate-half RoPE on the heads of one token's vector v (n_heads, D).
static void rope_token(float *v, const float *cos_row, const float *sin_row, int64_t n_heads,
                       int64_t D) {
    int64_t half = D / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *a = v + h * D, *b = a + half;
#pragma omp simd
        for (int64_t i = 0; i < half; i++) {
            float x0 = a[i], x1 = b[i];
            a[i] = x0 * cos_row[i] - x1 * sin_row[i];
            b[i] = x1 * cos_row[i] + x0 * sin_row[i];
        }
    }
}

// Splits the fused qkv rows: RoPE on q (kept in e->q) and k, then k and v go
// into the cache of their slot at their positions.
static void qkv_to_cache(lt_engine *e, const eng_block *b, const float *qkv, int64_t T) {
    const lt_config *c = &e->cfg;
    int64_t D = c->head_dim, H = c->n_heads, KVH = b->cfg.n_kv_heads;
    int64_t HD = H * D, KVD = KVH * D, W = HD + 2 * KVD;
    float *kc = e->k_cache[b->cache], *vc = e->v_cache[b->cache];
#pragma omp parallel for schedule(static) if (T >= 16)
    for (int64_t t = 0; t < T; t++) {
        const float *row = qkv + t * W;
        int64_t pos = e->tok_pos[t], seq = e->tok_seq[t];
        const float *cs = e->rope_cos + pos * (D / 2), *sn = e->rope_sin + pos * (D / 2);
        float *q = e->q + t * HD;
        memcpy(q, row, (size_t)HD * sizeof(float));
        rope_token(q, cs, sn, H, D);
        float k[KVD];
        memcpy(k, row + HD, (size_t)KVD * sizeof(float));
        rope_token(k, cs, sn, KVH, D);
        for (int64_t g = 0; g < KVH; g++) {
            size_t at =
                (((size_t)seq * (size_t)KVH + (size_t)g) * (size_t)e->max_ctx + (size_t)pos) *
                (size_t)D;
            memcpy(kc + at, k + g * D, (size_t)D * sizeof(float));
            memcpy(vc + at, row + HD + KVD + g * D, (size_t)D * sizeof(float));
        }
    }
}

// One attention task: query heads of kv group g, for query rows [r0, r1) of
// item it (positions p0 + r), against the slot's cache.
static void attend_task(lt_engine *e, const eng_block *b, const eng_item *it, int64_t g, int64_t r0,
                        int64_t r1, float *scores) {
    const lt_config *c = &e->cfg;
    int64_t D = c->head_dim, H = c->n_heads, KVH = b->cfg.n_kv_heads, grp = H / KVH;
    size_t base = (((size_t)it->seq * (size_t)KVH + (size_t)g) * (size_t)e->max_ctx) * (size_t)D;
    const float *K = e->k_cache[b->cache] + base, *V = e->v_cache[b->cache] + base; // (ctx, D)
    int64_t L = it->p0 + r1; // keys the last row of the block can see
    float scale = 1.0f / sqrtf((float)D);
    for (int64_t hh = 0; hh < grp; hh++) {
        int64_t h = g * grp + hh;
        int64_t rows = r1 - r0;
        const float *Q = e->q + (it->t0 + r0) * H * D + h * D; // rows with stride H*D
        float *O = e->att + (it->t0 + r0) * H * D + h * D;
        if (rows >= 8) {
            // S (rows, L) = Q K^T; O (rows, D) = P V
            lt_gemm(LT_F32, false, true, rows, L, D, scale, Q, H * D, K, D, 0.0f, scores, L);
        } else {
            for (int64_t r = 0; r < rows; r++) {
                const float *qr = Q + r * H * D;
                int64_t lim = it->p0 + r0 + r + 1;
                for (int64_t j = 0; j < lim; j++) {
                    const float *kr = K + j * D;
                    float s = 0.0f;
#pragma omp simd reduction(+ : s)
                    for (int64_t d = 0; d < D; d++) s += qr[d] * kr[d];
                    scores[r * L + j] = s * scale;
                }
            }
        }
        for (int64_t r = 0; r < rows; r++) {
            float *sr = scores + r * L;
            int64_t lim = it->p0 + r0 + r + 1; // causal: keys 0 .. own position
            float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (int64_t j = 0; j < lim; j++) mx = sr[j] > mx ? sr[j] : mx;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int64_t j = 0; j < lim; j++) {
                sr[j] = lt_kernel_expf(sr[j] - mx);
                sum += sr[j];
            }
            float inv = 1.0f / sum;
#pragma omp simd
            for (int64_t j = 0; j < lim; j++) sr[j] *= inv;
            for (int64_t j = lim; j < L; j++) sr[j] = 0.0f;
        }
        if (rows >= 8) {
            lt_gemm(LT_F32, false, false, rows, D, L, 1.0f, scores, L, V, D, 0.0f, O, H * D);
        } else {
            for (int64_t r = 0; r < rows; r++) {
                float *orow = O + r * H * D;
                const float *sr = scores + r * L;
                int64_t lim = it->p0 + r0 + r + 1;
                float acc[D];
                for (int64_t d = 0; d < D; d++) acc[d] = 0.0f;
                for (int64_t j = 0; j < lim; j++) {
                    const float *vr = V + j * D;
                    float p = sr[j];
#pragma omp simd
                    for (int64_t d = 0; d < D; d++) acc[d] += p * vr[d];
                }
                memcpy(orow, acc, (size_t)D * sizeof(float));
            }
        }
    }
}

static void attention(lt_engine *e, const eng_block *b, int n_items) {
    int64_t KVH = b->cfg.n_kv_heads;
    int n_tasks = 0;
    for (int i = 0; i < n_items; i++) {
        const eng_item *it = &e->items[i];
        for (int64_t g = 0; g < KVH; g++)
            for (int64_t r0 = 0; r0 < it->n; r0 += ROW_BLOCK) {
                eng_task *t = &e->tasks[n_tasks++];
                t->item = i;
                t->g = g;
                t->r0 = r0;
                t->r1 = r0 + ROW_BLOCK < it->n ? r0 + ROW_BLOCK : it->n;
            }
    }
    int threads = lt_threads_get();
    if (threads > e->n_score_bufs) threads = e->n_score_bufs;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (n_tasks > 1)
    for (int k = 0; k < n_tasks; k++) {
        const eng_task *t = &e->tasks[k];
        attend_task(e, b, &e->items[t->item], t->g, t->r0, t->r1,
                    e->scores + (size_t)omp_get_thread_num() * ROW_BLOCK * (size_t)e->max_ctx);
    }
}

static lt_status block_step(lt_engine *e, const eng_block *b, int64_t T, int n_items) {
    const lt_config *c = &e->cfg;
    lt_profile *prof = &e->profile;
    int64_t C = c->hidden;
    if (b->cfg.attn != LT_ATTN_NOOP) {
        LT_TIMED(prof, LT_OP_NORM, rmsnorm_rows(e, e->xn, e->x, b->attn_norm, T));
        if (b->cfg.attn == LT_ATTN_LINEAR) {
            LT_TIMED(prof, LT_OP_LINEAR_BLOCK,
                     LT_TRY(lt_qmatmul(e->tmp, e->xn, &b->linear_attn, T)));
        } else {
            LT_TIMED(prof, LT_OP_QKV, LT_TRY(lt_qmatmul(e->big, e->xn, &b->qkv, T)));
            LT_TIMED(prof, LT_OP_ROPE, qkv_to_cache(e, b, e->big, T));
            LT_TIMED(prof, LT_OP_ATTN, attention(e, b, n_items));
            LT_TIMED(prof, LT_OP_OPROJ, LT_TRY(lt_qmatmul(e->tmp, e->att, &b->o, T)));
        }
        add_rows(e->x, e->tmp, T * C);
    }
    if (b->cfg.ffn != LT_FFN_NOOP) {
        LT_TIMED(prof, LT_OP_NORM, rmsnorm_rows(e, e->xn, e->x, b->ffn_norm, T));
        if (b->cfg.ffn == LT_FFN_LINEAR) {
            LT_TIMED(prof, LT_OP_LINEAR_BLOCK,
                     LT_TRY(lt_qmatmul(e->tmp, e->xn, &b->linear_mlp, T)));
        } else {
            int64_t F = b->cfg.ffn_dim;
            LT_TIMED(prof, LT_OP_FFN_IN, LT_TRY(lt_qmatmul(e->big, e->xn, &b->gate_up, T)));
            LT_TIMED(prof, LT_OP_SWIGLU, swiglu_rows(e->hid, e->big, T, F));
            LT_TIMED(prof, LT_OP_FFN_OUT, LT_TRY(lt_qmatmul(e->tmp, e->hid, &b->down, T)));
        }
        add_rows(e->x, e->tmp, T * C);
    }
    return NULL;
}

// Final norm and LM head for the rows that want logits, over all items at
// once: one pass over the head's weights per chunk of rows, not per item
// (decode of 16 sequences would otherwise read the head 16 times). Rows whose
// destinations follow each other (decode into one (n, V) buffer, all logits
// of a prompt) are written in place; others go through a scratch block.
static lt_status head_step(lt_engine *e, const lt_engine_item *items, int n_items) {
    const lt_config *c = &e->cfg;
    lt_profile *prof = &e->profile;
    int64_t C = c->hidden, V = c->vocab, K = 0, t0 = 0;
    for (int i = 0; i < n_items; i++) {
        const lt_engine_item *it = &items[i];
        if (it->logits)
            for (int64_t r = it->all_logits ? 0 : it->n - 1; r < it->n; r++, K++) {
                e->head_src[K] = t0 + r;
                e->head_dst[K] = it->logits + (it->all_logits ? r * V : 0);
            }
        t0 += it->n;
    }
    for (int64_t k = 0; k < K;) {
        int64_t m = 1;
        while (k + m < K && m < e->max_step && e->head_dst[k + m] == e->head_dst[k] + m * V) m++;
        bool direct = m > 1 || e->head_rows == 1;
        if (!direct) m = K - k < e->head_rows ? K - k : e->head_rows;
        for (int64_t j = 0; j < m; j++)
            memcpy(e->xn + j * C, e->x + e->head_src[k + j] * C, (size_t)C * sizeof(float));
        LT_TIMED(prof, LT_OP_NORM, rmsnorm_rows(e, e->xn, e->xn, e->final_norm, m));
        if (direct) {
            LT_TIMED(prof, LT_OP_HEAD, LT_TRY(lt_qmatmul(e->head_dst[k], e->xn, &e->head, m)));
        } else {
            LT_TIMED(prof, LT_OP_HEAD, LT_TRY(lt_qmatmul(e->head_out, e->xn, &e->head, m)));
            for (int64_t j = 0; j < m; j++)
                memcpy(e->head_dst[k + j], e->head_out + j * V, (size_t)V * sizeof(float));
        }
        k += m;
    }
    return NULL;
}

static lt_status check_items(const lt_engine *e, const lt_engine_item *items, int n_items,
                             int64_t *T) {
    const lt_config *c = &e->cfg;
    if (n_items < 1 || n_items > e->max_seqs)
        return lt_error(LT_ERR_ARG, "a step takes 1 to %d items, got %d", e->max_seqs, n_items);
    int64_t total = 0;
    for (int i = 0; i < n_items; i++) {
        const lt_engine_item *it = &items[i];
        if (it->seq < 0 || it->seq >= e->max_seqs)
            return lt_error(LT_ERR_RANGE, "sequence slot %d is outside [0, %d)", it->seq,
                            e->max_seqs);
        for (int j = 0; j < i; j++)
            if (items[j].seq == it->seq)
                return lt_error(LT_ERR_ARG, "sequence slot %d appears twice in one step", it->seq);
        if (it->n < 1) return lt_error(LT_ERR_ARG, "item %d of the step has no tokens", i);
        if (e->seq_len[it->seq] + it->n > e->max_ctx)
            return lt_error(
                LT_ERR_RANGE,
                "context full: slot %d holds %lld tokens and %lld more do not fit in the context of %lld tokens",
                it->seq, (long long)e->seq_len[it->seq], (long long)it->n, (long long)e->max_ctx);
        for (int64_t k = 0; k < it->n; k++)
            if (it->ids[k] < 0 || it->ids[k] >= c->vocab)
                return lt_error(LT_ERR_RANGE, "token id %d is outside the vocabulary [0, %lld)",
                                it->ids[k], (long long)c->vocab);
        total += it->n;
    }
    if (total > e->max_step)
        return lt_error(LT_ERR_ARG, "a step carries at most %lld tokens, got %lld",
                        (long long)e->max_step, (long long)total);
    *T = total;
    return NULL;
}

lt_status lt_engine_step(lt_engine *e, const lt_engine_item *items, int n_items) {
    const lt_config *c = &e->cfg;
    int64_t T = 0, C = c->hidden;
    LT_TRY(check_items(e, items, n_items, &T));
    int64_t t0 = 0;
    for (int i = 0; i < n_items; i++) {
        eng_item *it = &e->items[i];
        it->seq = items[i].seq;
        it->n = items[i].n;
        it->p0 = e->seq_len[it->seq];
        it->t0 = t0;
        for (int64_t k = 0; k < it->n; k++) {
            e->tok_seq[t0 + k] = it->seq;
            e->tok_pos[t0 + k] = it->p0 + k;
            float *row = e->x + (t0 + k) * C;
            int32_t id = items[i].ids[k];
            LT_TIMED(&e->profile, LT_OP_EMBED, lt_qweight_rows_f32(row, &e->embed, id, 1));
        }
        t0 += it->n;
    }
    for (int64_t l = 0; l < c->n_layers; l++) LT_TRY(block_step(e, &e->blocks[l], T, n_items));
    LT_TRY(head_step(e, items, n_items));
    for (int i = 0; i < n_items; i++) e->seq_len[items[i].seq] += items[i].n;
    return NULL;
}

lt_status lt_engine_prefill(lt_engine *e, int seq, const int32_t *ids, int64_t n, float *logits,
                            bool all_logits) {
    if (seq < 0 || seq >= e->max_seqs)
        return lt_error(LT_ERR_RANGE, "sequence slot %d is outside [0, %d)", seq, e->max_seqs);
    if (n < 1) return lt_error(LT_ERR_ARG, "empty prompt");
    if (e->seq_len[seq] + n > e->max_ctx)
        return lt_error(
            LT_ERR_RANGE,
            "the prompt of %lld tokens does not fit: the context holds %lld tokens and %lld are in use",
            (long long)n, (long long)e->max_ctx, (long long)e->seq_len[seq]);
    int64_t V = e->cfg.vocab, start = e->seq_len[seq];
    for (int64_t done = 0; done < n;) {
        int64_t m = n - done < e->max_step ? n - done : e->max_step;
        bool last = done + m == n;
        lt_engine_item it = {.seq = seq, .ids = ids + done, .n = m, .all_logits = all_logits};
        if (all_logits)
            it.logits = logits ? logits + done * V : NULL;
        else
            it.logits = last ? logits : NULL;
        lt_status s = lt_engine_step(e, &it, 1);
        if (s) {
            e->seq_len[seq] = start;
            return s;
        }
        done += m;
    }
    return NULL;
}

lt_status lt_engine_decode(lt_engine *e, const int *seqs, const int32_t *ids, int n,
                           float *logits) {
    if (n < 1 || n > e->max_seqs)
        return lt_error(LT_ERR_ARG, "decode takes 1 to %d sequences, got %d", e->max_seqs, n);
    lt_engine_item *items = e->decode_items;
    for (int i = 0; i < n; i++)
        items[i] = (lt_engine_item){.seq = seqs[i],
                                    .ids = ids + i,
                                    .n = 1,
                                    .logits = logits ? logits + (int64_t)i * e->cfg.vocab : NULL};
    return lt_engine_step(e, items, n);
}
