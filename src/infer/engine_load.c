// engine_load.c: building an engine — weights taken by Hugging Face name from
// a source (a model in memory, a model directory, or a GGUF file), stacked
// and converted to the storage dtype; the KV caches and the step's scratch.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "infer/infer_internal.h"
#include "lathe/gguf.h"
#include "base/json.h"

enum { ROW_BLOCK = 64, CONVERT_ROWS = 256 };

// A source tensor: a (rows, cols) matrix (a vector is one row).
typedef struct {
    lt_dtype dtype;
    const void *data;
    int64_t rows, cols;
} src_tensor;

// Where the weights come from: find(name) fills *t or returns false.
typedef struct {
    void *ctx;
    bool (*find)(void *ctx, const char *name, src_tensor *t);
    const char *where; // for messages
} weight_source;

static lt_status own(lt_engine *e, void *p) {
    if (e->n_owned == e->cap_owned) {
        int cap = e->cap_owned ? 2 * e->cap_owned : 64;
        void **grown = realloc(e->owned, (size_t)cap * sizeof *grown);
        if (!grown) {
            lt_free(p);
            return lt_error_nomem("the engine's buffer list", (size_t)cap * sizeof *grown);
        }
        e->owned = grown;
        e->cap_owned = cap;
    }
    e->owned[e->n_owned++] = p;
    return NULL;
}

// A weight buffer. Large ones are mapped directly, 2 MiB aligned, and marked
// for transparent huge pages: decode streams every weight once per token, and
// with 4 KiB pages a model of hundreds of MB misses the TLB all the way.
enum { HUGE_PAGE = 2u << 20 };

static lt_status alloc_weights(lt_engine *e, void **out, size_t bytes, const char *what) {
    if (bytes < 2 * (size_t)HUGE_PAGE) {
        LT_TRY(lt_alloc(out, bytes, what));
        return own(e, *out);
    }
    if (e->n_maps == e->cap_maps) {
        int cap = e->cap_maps ? 2 * e->cap_maps : 64;
        eng_map *grown = realloc(e->maps, (size_t)cap * sizeof *grown);
        if (!grown)
            return lt_error_nomem("the engine's weight map list", (size_t)cap * sizeof *grown);
        e->maps = grown;
        e->cap_maps = cap;
    }
    size_t len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE + HUGE_PAGE;
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return lt_error_nomem(what, len);
    uint8_t *p = (uint8_t *)(((uintptr_t)base + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    madvise(p, len - (size_t)(p - base), MADV_HUGEPAGE); // advice: without THP nothing changes
    e->maps[e->n_maps++] = (eng_map){base, len};
    *out = p;
    return NULL;
}

static lt_status get(const weight_source *src, const char *name, int64_t rows, int64_t cols,
                     src_tensor *t) {
    if (!src->find(src->ctx, name, t))
        return lt_error(LT_ERR_FORMAT, "%s: tensor '%s' is missing", src->where, name);
    if (t->rows != rows || t->cols != cols)
        return lt_error(LT_ERR_FORMAT,
                        "%s: tensor '%s' is (%lld, %lld), the config says (%lld, %lld)", src->where,
                        name, (long long)t->rows, (long long)t->cols, (long long)rows,
                        (long long)cols);
    return NULL;
}

// An f32 vector (a norm weight) of n values.
static lt_status load_vector(lt_engine *e, const weight_source *src, const char *name, int64_t n,
                             float **out) {
    src_tensor t;
    LT_TRY(get(src, name, 1, n, &t));
    float *v;
    LT_TRY(lt_alloc((void **)&v, (size_t)n * sizeof(float), name));
    LT_TRY(own(e, v));
    lt_qweight w = {t.dtype, t.data, 1, n};
    lt_qweight_rows_f32(v, &w, 0, 1);
    e->weight_bytes += (size_t)n * sizeof(float);
    *out = v;
    return NULL;
}

// Stacks the rows of n_parts matrices (same cols) into one matrix of dtype
// `want` (or, with want < 0, the parts' common dtype when they share one, else f32).
static lt_status load_matrix(lt_engine *e, const weight_source *src, const char *const *names,
                             const int64_t *rows, int n_parts, int64_t cols, int want,
                             lt_qweight *out) {
    src_tensor parts[4];
    int64_t total = 0;
    for (int i = 0; i < n_parts; i++) {
        LT_TRY(get(src, names[i], rows[i], cols, &parts[i]));
        total += rows[i];
    }
    lt_dtype dtype;
    if (want >= 0)
        dtype = (lt_dtype)want;
    else {
        dtype = parts[0].dtype;
        for (int i = 1; i < n_parts; i++)
            if (parts[i].dtype != dtype) dtype = LT_F32;
    }
    if (dtype == LT_Q8_0 && cols % LT_Q8_0_BLOCK != 0)
        return lt_error(LT_ERR_ARG, "%s: tensor '%s' has %lld columns: q8_0 needs a multiple of %d",
                        src->where, names[0], (long long)cols, LT_Q8_0_BLOCK);
    size_t bytes = lt_qweight_bytes(dtype, total, cols);
    if (!bytes)
        return lt_error(LT_ERR_ARG, "%s: tensor '%s' cannot be stored as %s", src->where, names[0],
                        lt_dtype_name(dtype));
    uint8_t *dst;
    LT_TRY(alloc_weights(e, (void **)&dst, bytes, names[0]));
    size_t row_bytes = bytes / (size_t)total, at = 0;
    float *tmp = NULL;
    for (int i = 0; i < n_parts; i++) {
        if (parts[i].dtype == dtype) {
            memcpy(dst + at, parts[i].data, (size_t)rows[i] * row_bytes);
        } else {
            if (!tmp)
                LT_TRY(lt_alloc((void **)&tmp, (size_t)CONVERT_ROWS * (size_t)cols * sizeof(float),
                                "conversion buffer"));
            lt_qweight w = {parts[i].dtype, parts[i].data, rows[i], cols};
            for (int64_t r = 0; r < rows[i]; r += CONVERT_ROWS) {
                int64_t m = rows[i] - r < CONVERT_ROWS ? rows[i] - r : CONVERT_ROWS;
                lt_qweight_rows_f32(tmp, &w, r, m);
                lt_status s =
                    lt_qweight_convert(dst + at + (size_t)r * row_bytes, dtype, tmp, m, cols);
                if (s) {
                    lt_free(tmp);
                    return s;
                }
            }
        }
        at += (size_t)rows[i] * row_bytes;
    }
    lt_free(tmp);
    *out = (lt_qweight){dtype, dst, total, cols};
    e->weight_bytes += bytes;
    return NULL;
}

static lt_status load_one(lt_engine *e, const weight_source *src, const char *name, int64_t rows,
                          int64_t cols, int want, lt_qweight *out) {
    return load_matrix(e, src, &name, &rows, 1, cols, want, out);
}

static lt_status load_weights(lt_engine *e, const weight_source *src, int want) {
    const lt_config *c = &e->cfg;
    int64_t C = c->hidden, D = c->head_dim, H = c->n_heads, V = c->vocab;
    char n[4][128];
    const char *names[4] = {n[0], n[1], n[2], n[3]};
    LT_TRY(lt_calloc((void **)&e->blocks, (size_t)c->n_layers, sizeof *e->blocks, "engine blocks"));
    for (int64_t l = 0; l < c->n_layers; l++) {
        eng_block *b = &e->blocks[l];
        b->cfg = c->blocks[l];
        b->cache = -1;
        const char *p = "model.layers";
        if (b->cfg.attn != LT_ATTN_NOOP) {
            snprintf(n[0], sizeof n[0], "%s.%lld.input_layernorm.weight", p, (long long)l);
            LT_TRY(load_vector(e, src, n[0], C, &b->attn_norm));
        }
        if (b->cfg.attn == LT_ATTN_GQA) {
            int64_t KVD = b->cfg.n_kv_heads * D, rows[3] = {H * D, KVD, KVD};
            snprintf(n[0], sizeof n[0], "%s.%lld.self_attn.q_proj.weight", p, (long long)l);
            snprintf(n[1], sizeof n[1], "%s.%lld.self_attn.k_proj.weight", p, (long long)l);
            snprintf(n[2], sizeof n[2], "%s.%lld.self_attn.v_proj.weight", p, (long long)l);
            LT_TRY(load_matrix(e, src, names, rows, 3, C, want, &b->qkv));
            snprintf(n[0], sizeof n[0], "%s.%lld.self_attn.o_proj.weight", p, (long long)l);
            LT_TRY(load_one(e, src, n[0], C, H * D, want, &b->o));
            b->cache = e->n_caches++;
        } else if (b->cfg.attn == LT_ATTN_LINEAR) {
            snprintf(n[0], sizeof n[0], "%s.%lld.self_attn.linear_attn.weight", p, (long long)l);
            LT_TRY(load_one(e, src, n[0], C, C, want, &b->linear_attn));
        }
        if (b->cfg.ffn != LT_FFN_NOOP) {
            snprintf(n[0], sizeof n[0], "%s.%lld.post_attention_layernorm.weight", p, (long long)l);
            LT_TRY(load_vector(e, src, n[0], C, &b->ffn_norm));
        }
        if (b->cfg.ffn == LT_FFN_SWIGLU) {
            int64_t F = b->cfg.ffn_dim, rows[2] = {F, F};
            snprintf(n[0], sizeof n[0], "%s.%lld.mlp.gate_proj.weight", p, (long long)l);
            snprintf(n[1], sizeof n[1], "%s.%lld.mlp.up_proj.weight", p, (long long)l);
            LT_TRY(load_matrix(e, src, names, rows, 2, C, want, &b->gate_up));
            snprintf(n[0], sizeof n[0], "%s.%lld.mlp.down_proj.weight", p, (long long)l);
            LT_TRY(load_one(e, src, n[0], C, F, want, &b->down));
        } else if (b->cfg.ffn == LT_FFN_LINEAR) {
            snprintf(n[0], sizeof n[0], "%s.%lld.mlp.linear_mlp.weight", p, (long long)l);
            LT_TRY(load_one(e, src, n[0], C, C, want, &b->linear_mlp));
        }
    }
    LT_TRY(load_vector(e, src, "model.norm.weight", C, &e->final_norm));
    LT_TRY(load_one(e, src, "model.embed_tokens.weight", V, C, want, &e->embed));
    if (c->tie_embeddings)
        e->head = e->embed;
    else
        LT_TRY(load_one(e, src, "lm_head.weight", V, C, want, &e->head));
    e->wdtype = e->head.dtype;
    for (int64_t l = 0; l < c->n_layers; l++)
        if (e->blocks[l].qkv.data) {
            e->wdtype = e->blocks[l].qkv.dtype;
            break;
        }
    return NULL;
}

// ---------------------------------------------------------------- caches and scratch

static lt_status make_state(lt_engine *e, const lt_engine_opts *o) {
    const lt_config *c = &e->cfg;
    int64_t C = c->hidden, D = c->head_dim, H = c->n_heads;
    e->max_seqs = o && o->max_seqs > 0 ? o->max_seqs : 1;
    e->max_ctx = o && o->max_context > 0 ? o->max_context : c->max_positions;
    if (o && o->context_at_most && e->max_ctx > c->max_positions) e->max_ctx = c->max_positions;
    if (e->max_ctx > c->max_positions)
        return lt_error(
            LT_ERR_ARG,
            "a context of %lld tokens is longer than the model's max_position_embeddings (%lld)",
            (long long)e->max_ctx, (long long)c->max_positions);
    e->max_step = o && o->max_step_tokens > 0 ? o->max_step_tokens : 512;
    if (e->max_step < e->max_seqs) e->max_step = e->max_seqs;
    e->head_rows = e->max_step < 64 ? e->max_step : 64;

    LT_TRY(lt_calloc((void **)&e->seq_len, (size_t)e->max_seqs, sizeof *e->seq_len,
                     "sequence lengths"));
    LT_TRY(lt_calloc((void **)&e->k_cache, (size_t)(e->n_caches + 1), sizeof *e->k_cache,
                     "KV caches"));
    LT_TRY(lt_calloc((void **)&e->v_cache, (size_t)(e->n_caches + 1), sizeof *e->v_cache,
                     "KV caches"));
    int64_t width = 1, max_ffn = 1, max_kvh = 1;
    for (int64_t l = 0; l < c->n_layers; l++) {
        const eng_block *b = &e->blocks[l];
        if (b->qkv.rows > width) width = b->qkv.rows;
        if (b->gate_up.rows > width) width = b->gate_up.rows;
        if (b->cfg.ffn == LT_FFN_SWIGLU && b->cfg.ffn_dim > max_ffn) max_ffn = b->cfg.ffn_dim;
        if (b->cache >= 0) {
            size_t n = (size_t)e->max_seqs * (size_t)(b->cfg.n_kv_heads * e->max_ctx * D);
            LT_TRY(lt_alloc((void **)&e->k_cache[b->cache], n * sizeof(float), "K cache"));
            LT_TRY(lt_alloc((void **)&e->v_cache[b->cache], n * sizeof(float), "V cache"));
            e->cache_bytes += 2 * n * sizeof(float);
            if (b->cfg.n_kv_heads > max_kvh) max_kvh = b->cfg.n_kv_heads;
        }
    }
    size_t T = (size_t)e->max_step;
    e->n_score_bufs =
        omp_get_max_threads() > lt_threads_get() ? omp_get_max_threads() : lt_threads_get();
    size_t n_tasks = (size_t)max_kvh * ((size_t)e->max_seqs + T / ROW_BLOCK + 1);
    struct {
        void **p;
        size_t n, size;
        const char *what;
    } bufs[] = {
        {(void **)&e->x, T * (size_t)C, sizeof(float), "step activations"},
        {(void **)&e->xn, T * (size_t)C, sizeof(float), "step activations"},
        {(void **)&e->tmp, T * (size_t)C, sizeof(float), "step activations"},
        {(void **)&e->rstd, T, sizeof(float), "step activations"},
        {(void **)&e->big, T * (size_t)width, sizeof(float), "step activations"},
        {(void **)&e->q, T * (size_t)(H * D), sizeof(float), "step activations"},
        {(void **)&e->att, T * (size_t)(H * D), sizeof(float), "step activations"},
        {(void **)&e->hid, T * (size_t)max_ffn, sizeof(float), "step activations"},
        {(void **)&e->scores, (size_t)e->n_score_bufs * ROW_BLOCK * (size_t)e->max_ctx,
         sizeof(float), "attention scores"},
        {(void **)&e->tok_seq, T, sizeof(int64_t), "step positions"},
        {(void **)&e->tok_pos, T, sizeof(int64_t), "step positions"},
        {(void **)&e->head_src, T, sizeof(int64_t), "head rows"},
        {(void **)&e->head_dst, T, sizeof(float *), "head rows"},
        {(void **)&e->head_out, (size_t)e->head_rows * (size_t)c->vocab, sizeof(float),
         "head logits"},
        {(void **)&e->items, (size_t)e->max_seqs, sizeof(eng_item), "step items"},
        {(void **)&e->tasks, n_tasks, sizeof(eng_task), "attention tasks"},
        {(void **)&e->decode_items, (size_t)e->max_seqs, sizeof(lt_engine_item), "step items"},
        {(void **)&e->rope_cos, (size_t)(e->max_ctx * (D / 2)), sizeof(float), "rope table"},
        {(void **)&e->rope_sin, (size_t)(e->max_ctx * (D / 2)), sizeof(float), "rope table"},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        LT_TRY(lt_calloc(bufs[i].p, bufs[i].n, bufs[i].size, bufs[i].what));
        e->scratch_bytes += bufs[i].n * bufs[i].size;
    }
    double *inv_freq;
    LT_TRY(lt_alloc((void **)&inv_freq, (size_t)(D / 2) * sizeof(double), "rope frequencies"));
    lt_rope_inv_freq(inv_freq, D, &c->rope);
    lt_rope_tables(e->rope_cos, e->rope_sin, inv_freq, D, e->max_ctx);
    lt_free(inv_freq);
    return NULL;
}

void lt_engine_close(lt_engine *e) {
    if (!e) return;
    for (int i = 0; i < e->n_owned; i++) lt_free(e->owned[i]);
    free(e->owned);
    for (int i = 0; i < e->n_maps; i++) munmap(e->maps[i].base, e->maps[i].len);
    free(e->maps);
    for (int i = 0; i < e->n_caches; i++) {
        if (e->k_cache) lt_free(e->k_cache[i]);
        if (e->v_cache) lt_free(e->v_cache[i]);
    }
    void *bufs[] = {e->k_cache,      e->v_cache,  e->blocks,   e->seq_len,      e->x,
                    e->xn,           e->tmp,      e->rstd,     e->big,          e->q,
                    e->att,          e->hid,      e->scores,   e->tok_seq,      e->tok_pos,
                    e->head_src,     e->head_dst, e->head_out, e->items,        e->tasks,
                    e->decode_items, e->rope_cos, e->rope_sin, e->chat_template};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) lt_free(bufs[i]);
    lt_tokenizer_free(e->tok);
    lt_config_free(&e->cfg);
    lt_free(e);
}

static lt_status engine_build(lt_engine **out, const lt_config *cfg, const weight_source *src,
                              const lt_engine_opts *o) {
    *out = NULL;
    lt_engine *e;
    LT_TRY(lt_calloc((void **)&e, 1, sizeof *e, "engine"));
    lt_status s = lt_config_copy(&e->cfg, cfg);
    if (s) {
        lt_free(e);
        return s;
    }
    int want = o && o->weights_set ? (int)o->weights : -1;
    if (want >= 0 && want != LT_F32 && want != LT_BF16 && want != LT_F16 && want != LT_Q8_0)
        s = lt_error(LT_ERR_ARG, "weights cannot be stored as %s (f32, bf16, f16 or q8_0)",
                     lt_dtype_name((lt_dtype)want));
    if (!s) s = load_weights(e, src, want);
    if (!s) s = make_state(e, o);
    if (s) {
        lt_engine_close(e);
        return s;
    }
    *out = e;
    return NULL;
}

// ---------------------------------------------------------------- sources

static bool model_find(void *ctx, const char *name, src_tensor *t) {
    const lt_model *m = ctx;
    const lt_param *p = lt_model_find(m, name);
    if (!p) return false;
    *t = (src_tensor){LT_F32, m->params + p->offset, p->ndim == 2 ? p->shape[0] : 1,
                      p->ndim == 2 ? p->shape[1] : p->shape[0]};
    return true;
}

lt_status lt_engine_from_model(lt_engine **out, const lt_model *m, const lt_engine_opts *opts) {
    weight_source src = {(void *)m, model_find, "model"};
    return engine_build(out, &m->cfg, &src, opts);
}

// The chat_template of a tokenizer_config.json, or NULL (no file, no field).
static lt_status read_chat_template(const char *dir, char **out) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (!lt_path_exists(path)) return NULL;
    cJSON *doc;
    LT_TRY(lt_json_read_file(&doc, path, (size_t)64 << 20));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "chat_template");
    if (cJSON_IsString(t)) *out = lt_strdup(t->valuestring);
    cJSON_Delete(doc);
    return NULL;
}

static bool gguf_find(void *ctx, const char *name, src_tensor *t) {
    const lt_gguf_weight *w = lt_gguf_model_find(ctx, name);
    if (!w) return false;
    *t = (src_tensor){w->dtype, w->data, w->ndim == 2 ? w->shape[0] : 1,
                      w->ndim == 2 ? w->shape[1] : w->shape[0]};
    return true;
}

static lt_status open_gguf(lt_engine **out, const char *path, const lt_engine_opts *opts) {
    lt_gguf_model *g;
    LT_TRY(lt_gguf_model_open(&g, path));
    weight_source src = {g, gguf_find, path};
    lt_status s = engine_build(out, &g->cfg, &src, opts);
    if (!s) {
        (*out)->tok = g->tokenizer;
        g->tokenizer = NULL;
        if (g->chat_template && !((*out)->chat_template = lt_strdup(g->chat_template)))
            s = lt_error_prefix(lt_error_nomem("the chat template", strlen(g->chat_template) + 1),
                                "%s", path);
    }
    lt_gguf_model_close(g);
    if (s) {
        lt_engine_close(*out);
        *out = NULL;
    }
    return s;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

lt_status lt_engine_open(lt_engine **out, const char *path, const lt_engine_opts *opts) {
    *out = NULL;
    if (ends_with(path, ".gguf")) return open_gguf(out, path, opts);
    lt_model *m;
    LT_TRY(lt_model_load(&m, path));
    lt_engine *e;
    lt_status s = lt_engine_from_model(&e, m, opts);
    lt_model_free(m);
    if (s) return s;
    char tok_path[4096];
    snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", path);
    if (lt_path_exists(tok_path)) {
        s = lt_tokenizer_load(&e->tok, path);
        if (!s) s = read_chat_template(path, &e->chat_template);
    }
    if (s) {
        lt_engine_close(e);
        return s;
    }
    *out = e;
    return NULL;
}
