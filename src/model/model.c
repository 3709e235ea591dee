// model.c: the parameter arena — one f32 buffer holding every tensor under its
// Hugging Face name — plus block views, initialisation and the bf16 copy.
#include "lathe/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// Adds one tensor to the table (or, when m->tensors is NULL, only counts it).
static void add_tensor(lt_model *m, int64_t *offset, bool is_matmul, int64_t rows, int64_t cols,
                       const char *fmt, int64_t layer) {
    if (m->tensors) {
        lt_param *p = &m->tensors[m->n_tensors];
        snprintf(p->name, sizeof p->name, fmt, (long long)layer);
        p->ndim = cols > 0 ? 2 : 1;
        p->shape[0] = rows;
        p->shape[1] = cols > 0 ? cols : 0;
        p->numel = rows * (cols > 0 ? cols : 1);
        p->offset = (size_t)*offset;
        p->is_matmul = is_matmul;
    }
    m->n_tensors++;
    *offset += rows * (cols > 0 ? cols : 1);
}

// Lays out every tensor in HF order: embedding, blocks, final norm, head.
static void layout(lt_model *m) {
    const lt_config *c = &m->cfg;
    int64_t C = c->hidden, q_dim = c->n_heads * c->head_dim, off = 0;
    m->n_tensors = 0;
    add_tensor(m, &off, c->tie_embeddings, c->vocab, C, "model.embed_tokens.weight", 0);
    for (int64_t l = 0; l < c->n_layers; l++) {
        const lt_block_config *b = &c->blocks[l];
        int64_t kv_dim = b->n_kv_heads * c->head_dim;
        if (b->attn != LT_ATTN_NOOP)
            add_tensor(m, &off, false, C, 0, "model.layers.%lld.input_layernorm.weight", l);
        if (b->attn == LT_ATTN_GQA) {
            add_tensor(m, &off, true, q_dim, C, "model.layers.%lld.self_attn.q_proj.weight", l);
            add_tensor(m, &off, true, kv_dim, C, "model.layers.%lld.self_attn.k_proj.weight", l);
            add_tensor(m, &off, true, kv_dim, C, "model.layers.%lld.self_attn.v_proj.weight", l);
            add_tensor(m, &off, true, C, q_dim, "model.layers.%lld.self_attn.o_proj.weight", l);
        } else if (b->attn == LT_ATTN_LINEAR) {
            add_tensor(m, &off, true, C, C, "model.layers.%lld.self_attn.linear_attn.weight", l);
        }
        if (b->ffn != LT_FFN_NOOP)
            add_tensor(m, &off, false, C, 0, "model.layers.%lld.post_attention_layernorm.weight",
                       l);
        if (b->ffn == LT_FFN_SWIGLU) {
            add_tensor(m, &off, true, b->ffn_dim, C, "model.layers.%lld.mlp.gate_proj.weight", l);
            add_tensor(m, &off, true, b->ffn_dim, C, "model.layers.%lld.mlp.up_proj.weight", l);
            add_tensor(m, &off, true, C, b->ffn_dim, "model.layers.%lld.mlp.down_proj.weight", l);
        } else if (b->ffn == LT_FFN_LINEAR) {
            add_tensor(m, &off, true, C, C, "model.layers.%lld.mlp.linear_mlp.weight", l);
        }
    }
    add_tensor(m, &off, false, C, 0, "model.norm.weight", 0);
    if (!c->tie_embeddings) add_tensor(m, &off, true, c->vocab, C, "lm_head.weight", 0);
    m->n_params = off;
}

const lt_param *lt_model_find(const lt_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

// Pointer into an arena for tensor `fmt` of layer l, or NULL if absent.
static float *arena_ptr(const lt_model *m, float *arena, const char *fmt, int64_t l) {
    char name[96];
    snprintf(name, sizeof name, fmt, (long long)l);
    const lt_param *p = lt_model_find(m, name);
    return p ? arena + p->offset : NULL;
}

static lt_linear_weight linear_view(const lt_model *m, const char *fmt, int64_t l) {
    lt_linear_weight w = {.dtype = m->dtype, .w = arena_ptr(m, m->params, fmt, l)};
    if (w.w && m->params_lowp) w.w_lowp = m->params_lowp + (w.w - m->params);
    return w;
}

static void build_views(lt_model *m) {
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        lt_block_weights *w = &m->blocks[l];
        w->cfg = &m->cfg.blocks[l];
        w->attn_norm = arena_ptr(m, m->params, "model.layers.%lld.input_layernorm.weight", l);
        w->q = linear_view(m, "model.layers.%lld.self_attn.q_proj.weight", l);
        w->k = linear_view(m, "model.layers.%lld.self_attn.k_proj.weight", l);
        w->v = linear_view(m, "model.layers.%lld.self_attn.v_proj.weight", l);
        w->o = linear_view(m, "model.layers.%lld.self_attn.o_proj.weight", l);
        w->linear_attn = linear_view(m, "model.layers.%lld.self_attn.linear_attn.weight", l);
        w->ffn_norm =
            arena_ptr(m, m->params, "model.layers.%lld.post_attention_layernorm.weight", l);
        w->gate = linear_view(m, "model.layers.%lld.mlp.gate_proj.weight", l);
        w->up = linear_view(m, "model.layers.%lld.mlp.up_proj.weight", l);
        w->down = linear_view(m, "model.layers.%lld.mlp.down_proj.weight", l);
        w->linear_mlp = linear_view(m, "model.layers.%lld.mlp.linear_mlp.weight", l);
    }
    m->embed = arena_ptr(m, m->params, "model.embed_tokens.weight", 0);
    m->final_norm = arena_ptr(m, m->params, "model.norm.weight", 0);
    m->lm_head =
        linear_view(m, m->cfg.tie_embeddings ? "model.embed_tokens.weight" : "lm_head.weight", 0);
}

void lt_model_block_grads(const lt_model *m, float *g_arena, int64_t l, lt_block_grads *g) {
    g->attn_norm = arena_ptr(m, g_arena, "model.layers.%lld.input_layernorm.weight", l);
    g->q = arena_ptr(m, g_arena, "model.layers.%lld.self_attn.q_proj.weight", l);
    g->k = arena_ptr(m, g_arena, "model.layers.%lld.self_attn.k_proj.weight", l);
    g->v = arena_ptr(m, g_arena, "model.layers.%lld.self_attn.v_proj.weight", l);
    g->o = arena_ptr(m, g_arena, "model.layers.%lld.self_attn.o_proj.weight", l);
    g->linear_attn = arena_ptr(m, g_arena, "model.layers.%lld.self_attn.linear_attn.weight", l);
    g->ffn_norm = arena_ptr(m, g_arena, "model.layers.%lld.post_attention_layernorm.weight", l);
    g->gate = arena_ptr(m, g_arena, "model.layers.%lld.mlp.gate_proj.weight", l);
    g->up = arena_ptr(m, g_arena, "model.layers.%lld.mlp.up_proj.weight", l);
    g->down = arena_ptr(m, g_arena, "model.layers.%lld.mlp.down_proj.weight", l);
    g->linear_mlp = arena_ptr(m, g_arena, "model.layers.%lld.mlp.linear_mlp.weight", l);
}

static lt_status init_rope(lt_model *m) {
    const lt_config *c = &m->cfg;
    int64_t half = c->head_dim / 2;
    size_t n = (size_t)(c->max_positions * half);
    double *inv_freq;
    LT_TRY(lt_alloc((void **)&inv_freq, (size_t)half * sizeof *inv_freq, "rope frequencies"));
    lt_status s = lt_alloc((void **)&m->rope_cos, n * sizeof(float), "rope cos table");
    if (!s) s = lt_alloc((void **)&m->rope_sin, n * sizeof(float), "rope sin table");
    if (!s) {
        lt_rope_inv_freq(inv_freq, c->head_dim, &c->rope);
        lt_rope_tables(m->rope_cos, m->rope_sin, inv_freq, c->head_dim, c->max_positions);
    }
    lt_free(inv_freq);
    return s;
}

lt_status lt_model_init(lt_model **out, const lt_config *cfg) {
    *out = NULL;
    lt_model *m;
    LT_TRY(lt_calloc((void **)&m, 1, sizeof *m, "model"));
    m->dtype = LT_F32;
    lt_status s = lt_config_copy(&m->cfg, cfg);
    if (s) {
        lt_free(m);
        return s;
    }
    layout(m); // count tensors first
    s = lt_calloc((void **)&m->tensors, (size_t)m->n_tensors, sizeof *m->tensors, "tensor table");
    if (!s) {
        layout(m);
        s = lt_calloc((void **)&m->params, (size_t)m->n_params, sizeof(float), "model parameters");
    }
    if (!s)
        s = lt_calloc((void **)&m->blocks, (size_t)cfg->n_layers, sizeof *m->blocks, "block views");
    if (!s) s = init_rope(m);
    if (s) {
        lt_model_free(m);
        return lt_error_prefix(s, "model with %.1fM parameters",
                               (double)lt_config_param_count(cfg) / 1e6);
    }
    build_views(m);
    *out = m;
    return NULL;
}

void lt_model_free(lt_model *m) {
    if (!m) return;
    lt_config_free(&m->cfg);
    lt_free(m->params);
    lt_free(m->params_lowp);
    lt_free(m->tensors);
    lt_free(m->blocks);
    lt_free(m->rope_cos);
    lt_free(m->rope_sin);
    lt_free(m);
}

void lt_model_init_random(lt_model *m, uint64_t seed) {
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    float std = (float)m->cfg.initializer_range;
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        float *w = m->params + p->offset;
        if (p->ndim == 1) {
            for (int64_t j = 0; j < p->numel; j++) w[j] = 1.0f; // RMSNorm weights
        } else {
            for (int64_t j = 0; j < p->numel; j++) w[j] = std * lt_rng_normal(&rng);
        }
    }
    lt_model_sync_lowp(m);
}

lt_status lt_model_set_dtype(lt_model *m, lt_dtype dtype) {
    if (dtype != LT_F32 && dtype != LT_BF16 && dtype != LT_F16)
        return lt_error(LT_ERR_ARG, "compute dtype %s is not supported (use f32, bf16 or f16)",
                        lt_dtype_name(dtype));
    if (dtype != LT_F32 && !m->params_lowp)
        LT_TRY(lt_alloc((void **)&m->params_lowp, (size_t)m->n_params * sizeof(uint16_t),
                        "16-bit weight copy"));
    if (dtype == LT_F32) {
        lt_free(m->params_lowp);
        m->params_lowp = NULL;
    }
    m->dtype = dtype;
    build_views(m);
    lt_model_sync_lowp(m);
    return NULL;
}

void lt_model_sync_lowp(lt_model *m) {
    if (!m->params_lowp) return;
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        if (p->is_matmul)
            lt_lowp_store(m->dtype, m->params_lowp + p->offset, m->params + p->offset, p->numel);
    }
}
