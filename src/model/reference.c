// reference.c: the whole model's loss in float64 with plain loops — a
// reference path independent of the kernels, slow and simple, against which
// finite differences of the fast path's gradients are taken (float64 central
// differences are accurate to ~1e-9, where f32 ones drown in rounding noise).
#include <math.h>
#include <string.h>

#include "lathe/model.h"

typedef struct {
    const lt_model *m;
    const lt_batch *batch;
    int64_t N, C;
} ref_ctx;

// y (N, out) = x (N, in) @ W^T
static void ref_linear(double *y, const double *x, const float *w, int64_t N, int64_t in,
                       int64_t out) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < out; o++) {
            double acc = 0;
            for (int64_t i = 0; i < in; i++) acc += x[n * in + i] * (double)w[o * in + i];
            y[n * out + o] = acc;
        }
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int64_t N, int64_t C,
                        double eps) {
    for (int64_t n = 0; n < N; n++) {
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += x[n * C + c] * x[n * C + c];
        double r = 1.0 / sqrt(ss / (double)C + eps);
        for (int64_t c = 0; c < C; c++) y[n * C + c] = x[n * C + c] * r * (double)w[c];
    }
}

// In place on x (N, heads, D), rotate-half pairs, angles in double.
static void ref_rope(double *x, const double *inv_freq, const int32_t *pos, int64_t N,
                     int64_t heads, int64_t D) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < heads; h++) {
            double *v = x + (n * heads + h) * D;
            for (int64_t i = 0; i < D / 2; i++) {
                double angle = (double)pos[n] * inv_freq[i], c = cos(angle), s = sin(angle);
                double a = v[i], b = v[i + D / 2];
                v[i] = a * c - b * s;
                v[i + D / 2] = b * c + a * s;
            }
        }
}

static void ref_attention(double *out, const double *q, const double *k, const double *v,
                          const ref_ctx *r, int64_t KVH, double *row) {
    const lt_config *c = &r->m->cfg;
    int64_t B = r->batch->B, T = r->batch->T, H = c->n_heads, D = c->head_dim;
    const int32_t *seg = r->batch->segments;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            int64_t g = h / (H / KVH);
            for (int64_t i = 0; i < T; i++) {
                const double *qi = q + ((b * T + i) * H + h) * D;
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j <= i; j++) {
                    row[j] = -INFINITY;
                    if (seg && seg[b * T + j] != seg[b * T + i]) continue;
                    const double *kj = k + ((b * T + j) * KVH + g) * D;
                    double dot = 0;
                    for (int64_t d = 0; d < D; d++) dot += qi[d] * kj[d];
                    row[j] = dot / sqrt((double)D);
                    mx = row[j] > mx ? row[j] : mx;
                }
                for (int64_t j = 0; j <= i; j++) sum += (row[j] = exp(row[j] - mx));
                double *o = out + ((b * T + i) * H + h) * D;
                for (int64_t d = 0; d < D; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j <= i; j++)
                        acc += row[j] / sum * v[((b * T + j) * KVH + g) * D + d];
                    o[d] = acc;
                }
            }
        }
}

static lt_status ref_block(const ref_ctx *r, const lt_block_weights *w, double *x, double *buf[6],
                           const double *inv_freq, const int32_t *pos) {
    const lt_config *c = &r->m->cfg;
    int64_t N = r->N, C = r->C, HD = c->n_heads * c->head_dim;
    const lt_block_config *bc = w->cfg;
    double *norm = buf[0], *proj = buf[1];
    if (bc->attn != LT_ATTN_NOOP) {
        ref_rmsnorm(norm, x, w->attn_norm, N, C, c->rms_eps);
        if (bc->attn == LT_ATTN_LINEAR) {
            ref_linear(proj, norm, w->linear_attn.w, N, C, C);
        } else {
            int64_t KVD = bc->n_kv_heads * c->head_dim;
            double *q = buf[2], *k = buf[3], *v = buf[4], *att = buf[5];
            ref_linear(q, norm, w->q.w, N, C, HD);
            ref_linear(k, norm, w->k.w, N, C, KVD);
            ref_linear(v, norm, w->v.w, N, C, KVD);
            ref_rope(q, inv_freq, pos, N, c->n_heads, c->head_dim);
            ref_rope(k, inv_freq, pos, N, bc->n_kv_heads, c->head_dim);
            ref_attention(att, q, k, v, r, bc->n_kv_heads, buf[1]); // proj is free until the o_proj
            ref_linear(proj, att, w->o.w, N, HD, C);
        }
        for (int64_t i = 0; i < N * C; i++) x[i] += proj[i];
    }
    if (bc->ffn != LT_FFN_NOOP) {
        ref_rmsnorm(norm, x, w->ffn_norm, N, C, c->rms_eps);
        if (bc->ffn == LT_FFN_LINEAR) {
            ref_linear(proj, norm, w->linear_mlp.w, N, C, C);
        } else {
            int64_t F = bc->ffn_dim;
            double *gate = buf[2], *up = buf[3];
            ref_linear(gate, norm, w->gate.w, N, C, F);
            ref_linear(up, norm, w->up.w, N, C, F);
            for (int64_t i = 0; i < N * F; i++) gate[i] = gate[i] / (1.0 + exp(-gate[i])) * up[i];
            ref_linear(proj, gate, w->down.w, N, F, C);
        }
        for (int64_t i = 0; i < N * C; i++) x[i] += proj[i];
    }
    return NULL;
}

static double ref_loss(const ref_ctx *r, const double *x, double *norm, double *logits_row) {
    const lt_config *c = &r->m->cfg;
    int64_t V = c->vocab, C = r->C;
    ref_rmsnorm(norm, x, r->m->final_norm, r->N, C, c->rms_eps);
    double sum = 0;
    int64_t counted = 0;
    for (int64_t n = 0; n < r->N; n++) {
        int32_t t = r->batch->targets[n];
        if (t < 0) continue;
        ref_linear(logits_row, norm + n * C, r->m->lm_head.w, 1, C, V);
        double mx = -INFINITY, se = 0;
        for (int64_t v = 0; v < V; v++) mx = logits_row[v] > mx ? logits_row[v] : mx;
        for (int64_t v = 0; v < V; v++) se += exp(logits_row[v] - mx);
        sum += mx + log(se) - logits_row[t];
        counted++;
    }
    return counted ? sum / (double)counted : 0.0;
}

lt_status lt_model_loss_f64(const lt_model *m, const lt_batch *batch, double *loss) {
    const lt_config *c = &m->cfg;
    if (!batch->targets) return lt_error(LT_ERR_ARG, "the reference loss needs targets");
    int64_t N = batch->B * batch->T, C = c->hidden, widest = C > c->vocab ? C : c->vocab;
    for (int64_t l = 0; l < c->n_layers; l++) {
        int64_t F = c->blocks[l].ffn_dim, HD = c->n_heads * c->head_dim;
        widest = F > widest ? F : widest;
        widest = HD > widest ? HD : widest;
    }
    ref_ctx r = {.m = m, .batch = batch, .N = N, .C = C};
    double *x = NULL, *buf[6] = {0}, *inv_freq = NULL;
    int32_t *pos = NULL;
    lt_status s = lt_alloc((void **)&x, (size_t)(N * C) * sizeof *x, "reference activations");
    for (int i = 0; i < 6 && !s; i++)
        s = lt_alloc((void **)&buf[i], (size_t)(N * widest + batch->T) * sizeof(double),
                     "reference activations");
    if (!s)
        s = lt_alloc((void **)&inv_freq, (size_t)c->head_dim * sizeof *inv_freq, "reference rope");
    if (!s) s = lt_alloc((void **)&pos, (size_t)N * sizeof *pos, "reference positions");
    if (!s) {
        lt_rope_inv_freq(inv_freq, c->head_dim, &c->rope);
        for (int64_t n = 0; n < N; n++)
            pos[n] = batch->positions ? batch->positions[n] : (int32_t)(n % batch->T);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < C; i++) x[n * C + i] = m->embed[(int64_t)batch->ids[n] * C + i];
        for (int64_t l = 0; l < c->n_layers && !s; l++)
            s = ref_block(&r, &m->blocks[l], x, buf, inv_freq, pos);
        if (!s) *loss = ref_loss(&r, x, buf[0], buf[1]);
    }
    lt_free(x);
    for (int i = 0; i < 6; i++) lt_free(buf[i]);
    lt_free(inv_freq);
    lt_free(pos);
    return s;
}
