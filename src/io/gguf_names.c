// gguf_names.c: the one table of which tensors a lathe config has in GGUF and
// under which Hugging Face name, shared by the exporter and the loader so the
// two cannot drift apart; and the q/k row permutation and RoPE factors both
// directions need.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "io/gguf_internal.h"
#include "lathe/quant.h"

const char *lt_gguf_arch_name(const lt_config *cfg) {
    return lt_config_is_uniform(cfg) ? "llama" : "deci";
}

typedef struct {
    lt_gguf_slot *slots;
    int n, cap;
} slot_list;

static lt_status add(slot_list *l, bool matrix, int64_t rows, int64_t cols, int64_t permute,
                     const char *gguf, const char *hf, int64_t layer) {
    if (l->n == l->cap) return lt_error(LT_ERR_INTERNAL, "GGUF tensor table overflow");
    lt_gguf_slot *s = &l->slots[l->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->gguf, sizeof s->gguf, gguf, (long long)layer);
    snprintf(s->hf, sizeof s->hf, hf, (long long)layer);
    s->matrix = matrix;
    s->ndim = cols > 0 ? 2 : 1;
    s->shape[0] = rows;
    s->shape[1] = cols > 0 ? cols : 0;
    s->permute_heads = permute;
    return NULL;
}

static lt_status layer_slots(slot_list *l, const lt_config *c, int64_t i) {
    const lt_block_config *b = &c->blocks[i];
    int64_t C = c->hidden, q_dim = c->n_heads * c->head_dim, kv_dim = b->n_kv_heads * c->head_dim;
    if (b->attn != LT_ATTN_NOOP)
        LT_TRY(add(l, false, C, 0, 0, "blk.%lld.attn_norm.weight",
                   "model.layers.%lld.input_layernorm.weight", i));
    if (b->attn == LT_ATTN_GQA) {
        LT_TRY(add(l, true, q_dim, C, c->n_heads, "blk.%lld.attn_q.weight",
                   "model.layers.%lld.self_attn.q_proj.weight", i));
        LT_TRY(add(l, true, kv_dim, C, b->n_kv_heads, "blk.%lld.attn_k.weight",
                   "model.layers.%lld.self_attn.k_proj.weight", i));
        LT_TRY(add(l, true, kv_dim, C, 0, "blk.%lld.attn_v.weight",
                   "model.layers.%lld.self_attn.v_proj.weight", i));
        LT_TRY(add(l, true, C, q_dim, 0, "blk.%lld.attn_output.weight",
                   "model.layers.%lld.self_attn.o_proj.weight", i));
    } else if (b->attn == LT_ATTN_LINEAR) { // llama.cpp's deci: head_count > 0, head_count_kv 0
        LT_TRY(add(l, true, C, C, 0, "blk.%lld.attn_output.weight",
                   "model.layers.%lld.self_attn.linear_attn.weight", i));
    }
    if (b->ffn != LT_FFN_NOOP)
        LT_TRY(add(l, false, C, 0, 0, "blk.%lld.ffn_norm.weight",
                   "model.layers.%lld.post_attention_layernorm.weight", i));
    if (b->ffn == LT_FFN_SWIGLU) {
        LT_TRY(add(l, true, b->ffn_dim, C, 0, "blk.%lld.ffn_gate.weight",
                   "model.layers.%lld.mlp.gate_proj.weight", i));
        LT_TRY(add(l, true, b->ffn_dim, C, 0, "blk.%lld.ffn_up.weight",
                   "model.layers.%lld.mlp.up_proj.weight", i));
        LT_TRY(add(l, true, C, b->ffn_dim, 0, "blk.%lld.ffn_down.weight",
                   "model.layers.%lld.mlp.down_proj.weight", i));
    } // a linear FFN has no GGUF form: the exporter refuses it before asking for tensors
    return NULL;
}

lt_status lt_gguf_slots(const lt_config *c, lt_gguf_slot **out, int *n) {
    *out = NULL;
    *n = 0;
    slot_list l = {0};
    l.cap = (int)(4 + 9 * c->n_layers);
    LT_TRY(lt_calloc((void **)&l.slots, (size_t)l.cap, sizeof *l.slots, "GGUF tensor table"));
    lt_status st =
        add(&l, true, c->vocab, c->hidden, 0, "token_embd.weight", "model.embed_tokens.weight", 0);
    if (!st && c->rope.llama3) {
        st = add(&l, false, c->head_dim / 2, 0, 0, "rope_freqs.weight", "", 0);
        if (!st) l.slots[l.n - 1].hf[0] = 0;
    }
    for (int64_t i = 0; i < c->n_layers && !st; i++) st = layer_slots(&l, c, i);
    if (!st) st = add(&l, false, c->hidden, 0, 0, "output_norm.weight", "model.norm.weight", 0);
    if (!st && !c->tie_embeddings)
        st = add(&l, true, c->vocab, c->hidden, 0, "output.weight", "lm_head.weight", 0);
    if (st) {
        lt_free(l.slots);
        return st;
    }
    *out = l.slots;
    *n = l.n;
    return NULL;
}

void lt_gguf_permute_rows(void *dst, const void *src, int64_t n_heads, int64_t head_dim,
                          size_t row_bytes, bool to_gguf) {
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) {
                int64_t pairs = h * head_dim + 2 * i + j, halves = h * head_dim + j * half + i;
                int64_t d = to_gguf ? pairs : halves, s = to_gguf ? halves : pairs;
                memcpy((char *)dst + (size_t)d * row_bytes,
                       (const char *)src + (size_t)s * row_bytes, row_bytes);
            }
}

lt_status lt_gguf_rope_factors(float *out, const lt_config *cfg) {
    int64_t half = cfg->head_dim / 2;
    double *plain, *scaled;
    LT_TRY(lt_alloc((void **)&plain, 2 * (size_t)half * sizeof *plain, "RoPE factors"));
    scaled = plain + half;
    lt_rope_params p = cfg->rope;
    p.llama3 = false;
    lt_rope_inv_freq(plain, cfg->head_dim, &p);
    lt_rope_inv_freq(scaled, cfg->head_dim, &cfg->rope);
    for (int64_t i = 0; i < half; i++) out[i] = (float)(plain[i] / scaled[i]);
    lt_free(plain);
    return NULL;
}

void lt_gguf_widen(float *dst, const void *src, lt_dtype dtype, int64_t n) {
    switch (dtype) {
    case LT_F32: memcpy(dst, src, (size_t)n * sizeof *dst); break;
    case LT_BF16: lt_bf16_to_f32_array(dst, src, (size_t)n); break;
    case LT_F16: lt_f16_to_f32_array(dst, src, (size_t)n); break;
    case LT_Q8_0: lt_q8_0_dequantize(dst, src, n); break;
    default: break;
    }
}
