// gguf_model.c: a `llama` or `deci` GGUF opened as a lathe model — the config
// from the metadata, the tokenizer from tokenizer.ggml.*, and the weights
// under their Hugging Face names with the q/k rows put back in Hugging Face
// order — for the inference engine, `lathe import gguf` and `lathe quantize`.
//
// The tokenizer is rebuilt from tokenizer.ggml.* by the tokenizer module
// (lt_tokenizer_from_gguf, src/tokenizer/gguf_vocab.c).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf_internal.h"
#include "lathe/tokenizer.h"

// ---------------------------------------------------------------- metadata helpers

// A float32 value as the shortest decimal that reads back as the same float32,
// so 1e-5 stored as float32 becomes 1e-05 again, not 9.99999974738e-06.
static double f32_decimal(double v) {
    float f = (float)v;
    char buf[64];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return v;
}

static lt_status get_float_opt(const lt_gguf *g, const char *key, double *out) {
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, key);
    if (!kv) return NULL;
    LT_TRY(lt_gguf_get_float(g, key, out));
    if (kv->type == LT_GGUF_FLOAT32) *out = f32_decimal(*out);
    return NULL;
}

static lt_status get_int_range(const lt_gguf *g, const char *key, int64_t min, int64_t max,
                               int64_t *out) {
    LT_TRY(lt_gguf_get_int(g, key, out));
    if (*out < min || *out > max)
        return lt_error(LT_ERR_FORMAT, "%s: %s = %lld is outside [%lld, %lld]", lt_gguf_source(g),
                        key, (long long)*out, (long long)min, (long long)max);
    return NULL;
}

// A per-layer value given as a scalar or as an array of one value per layer.
// A missing key gives `dflt` for every layer (or an error when required).
static lt_status layer_values(const lt_gguf *g, const char *key, int64_t n_layers, int64_t *out,
                              bool required, const int64_t *dflt) {
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, key);
    if (!kv) {
        if (required)
            return lt_error(LT_ERR_FORMAT, "%s: missing metadata '%s'", lt_gguf_source(g), key);
        for (int64_t i = 0; i < n_layers; i++) out[i] = dflt[i];
        return NULL;
    }
    if (kv->type == LT_GGUF_ARRAY && kv->n != (uint64_t)n_layers)
        return lt_error(LT_ERR_FORMAT, "%s: %s has %llu values for %lld layers", lt_gguf_source(g),
                        key, (unsigned long long)kv->n, (long long)n_layers);
    for (int64_t i = 0; i < n_layers; i++) {
        LT_TRY(lt_gguf_kv_int(g, kv, kv->type == LT_GGUF_ARRAY ? (uint64_t)i : 0, &out[i]));
        if (out[i] < 0 || out[i] > (1 << 24))
            return lt_error(LT_ERR_FORMAT, "%s: %s[%lld] = %lld is out of range", lt_gguf_source(g),
                            key, (long long)i, (long long)out[i]);
    }
    return NULL;
}

// ---------------------------------------------------------------- the config

typedef struct {
    int64_t *heads, *kv_heads, *ffn; // (n_layers)
} layer_table;

static lt_status read_layers(const lt_gguf *g, const char *arch, lt_config *c, layer_table *t) {
    char key[128];
    LT_TRY(lt_calloc((void **)&t->heads, 3 * (size_t)c->n_layers, sizeof *t->heads, "layers"));
    t->kv_heads = t->heads + c->n_layers;
    t->ffn = t->kv_heads + c->n_layers;
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    LT_TRY(layer_values(g, key, c->n_layers, t->heads, true, NULL));
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    LT_TRY(layer_values(g, key, c->n_layers, t->kv_heads, false, t->heads));
    snprintf(key, sizeof key, "%s.feed_forward_length", arch);
    return layer_values(g, key, c->n_layers, t->ffn, true, NULL);
}

static lt_status fill_blocks(const lt_gguf *g, lt_config *c, const layer_table *t) {
    const char *src = lt_gguf_source(g);
    c->n_heads = 0;
    for (int64_t i = 0; i < c->n_layers; i++) {
        if (t->heads[i] == 0) continue;
        if (c->n_heads && t->heads[i] != c->n_heads)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "%s: layer %lld has %lld attention heads, an "
                            "earlier one %lld (lathe needs one head count)",
                            src, (long long)i, (long long)t->heads[i], (long long)c->n_heads);
        c->n_heads = t->heads[i];
    }
    if (c->n_heads == 0)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: no layer has attention heads", src);
    LT_TRY(lt_calloc((void **)&c->blocks, (size_t)c->n_layers, sizeof *c->blocks, "blocks"));
    for (int64_t i = 0; i < c->n_layers; i++) {
        lt_block_config *b = &c->blocks[i];
        if (t->heads[i] == 0 && t->kv_heads[i] != 0)
            return lt_error(LT_ERR_FORMAT, "%s: layer %lld has kv heads but no attention heads",
                            src, (long long)i);
        if (t->heads[i] == 0) {
            b->attn = LT_ATTN_NOOP;
        } else if (t->kv_heads[i] == 0) {
            b->attn = LT_ATTN_LINEAR;
        } else {
            b->attn = LT_ATTN_GQA;
            b->n_kv_heads = t->kv_heads[i];
        }
        b->ffn = t->ffn[i] ? LT_FFN_SWIGLU : LT_FFN_NOOP;
        b->ffn_dim = t->ffn[i];
    }
    return NULL;
}

// Llama 3 rope_scaling: lathe's own keys when present, else the values of
// Llama 3.1/3.2 (low 1, high 4, original 8192, factor from the tensor),
// accepted only when they reproduce rope_freqs.weight.
static lt_status read_llama3(const lt_gguf *g, lt_config *c, const lt_gguf_tensor *t) {
    const char *src = lt_gguf_source(g);
    int64_t half = c->head_dim / 2;
    if (t->dtype != LT_F32 || t->n_dims != 1 || t->ne[0] != half)
        return lt_error(LT_ERR_FORMAT, "%s: rope_freqs.weight must be f32 of %lld values", src,
                        (long long)half);
    float *stored = NULL, *want = NULL;
    LT_TRY(lt_alloc((void **)&stored, 2 * (size_t)half * sizeof *stored, "rope_freqs"));
    want = stored + half;
    memcpy(stored, t->data, (size_t)half * sizeof *stored);
    c->rope.llama3 = true;
    c->rope.factor = stored[half - 1];
    c->rope.low_freq_factor = 1;
    c->rope.high_freq_factor = 4;
    c->rope.original_max_position_embeddings = 8192;
    bool lathe_keys = lt_gguf_find_kv(g, LT_GGUF_KEY_ROPE_FACTOR) != NULL;
    lt_status st = NULL;
    if (lathe_keys) {
        st = lt_gguf_get_float(g, LT_GGUF_KEY_ROPE_FACTOR, &c->rope.factor);
        if (!st) st = lt_gguf_get_float(g, LT_GGUF_KEY_ROPE_LOW, &c->rope.low_freq_factor);
        if (!st) st = lt_gguf_get_float(g, LT_GGUF_KEY_ROPE_HIGH, &c->rope.high_freq_factor);
        if (!st)
            st = lt_gguf_get_int(g, LT_GGUF_KEY_ROPE_ORIG,
                                 &c->rope.original_max_position_embeddings);
    }
    if (!st && !(c->rope.factor > 0 && c->rope.low_freq_factor > 0 &&
                 c->rope.high_freq_factor > c->rope.low_freq_factor &&
                 c->rope.original_max_position_embeddings > 0))
        st = lt_error(LT_ERR_FORMAT,
                      "%s: Llama 3 rope scaling needs factor > 0 and 0 < "
                      "low_freq_factor < high_freq_factor",
                      src);
    if (!st) st = lt_gguf_rope_factors(want, c);
    for (int64_t i = 0; i < half && !st; i++)
        if (!(fabsf(stored[i] - want[i]) <= 1e-5f * fabsf(want[i])))
            st = lt_error(LT_ERR_UNSUPPORTED,
                          "%s: rope_freqs.weight[%lld] = %g, but Llama 3 scaling with factor %g, "
                          "low_freq_factor %g, high_freq_factor %g and original context %lld gives "
                          "%g%s",
                          src, (long long)i, stored[i], c->rope.factor, c->rope.low_freq_factor,
                          c->rope.high_freq_factor,
                          (long long)c->rope.original_max_position_embeddings, want[i],
                          lathe_keys ? "" : " (and the file has no lathe.rope_scaling.* keys)");
    lt_free(stored);
    return st;
}

static lt_status read_config(const lt_gguf *g, lt_config *c) {
    const char *src = lt_gguf_source(g), *arch_s;
    size_t arch_n;
    char arch[16], key[128];
    LT_TRY(lt_gguf_get_str(g, "general.architecture", &arch_s, &arch_n));
    if (!((arch_n == 5 && memcmp(arch_s, "llama", 5) == 0) ||
          (arch_n == 4 && memcmp(arch_s, "deci", 4) == 0)))
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: architecture '%.*s' is not supported (lathe "
                        "reads llama and deci)",
                        src, (int)(arch_n < 64 ? arch_n : 64), arch_s);
    snprintf(arch, sizeof arch, "%.*s", (int)arch_n, arch_s);
    memset(c, 0, sizeof *c);
    snprintf(key, sizeof key, "%s.block_count", arch);
    LT_TRY(get_int_range(g, key, 1, 4096, &c->n_layers));
    snprintf(key, sizeof key, "%s.embedding_length", arch);
    LT_TRY(get_int_range(g, key, 1, 1 << 20, &c->hidden));
    snprintf(key, sizeof key, "%s.context_length", arch);
    LT_TRY(get_int_range(g, key, 1, 1 << 24, &c->max_positions));
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    LT_TRY(lt_gguf_get_float(g, key, &c->rms_eps));
    c->rms_eps = f32_decimal(c->rms_eps);
    c->rope.theta = 10000.0;
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    LT_TRY(get_float_opt(g, key, &c->rope.theta));
    c->initializer_range = 0.02;
    c->bos_id = -1;
    layer_table t = {0};
    lt_status st = read_layers(g, arch, c, &t);
    if (!st) st = fill_blocks(g, c, &t);
    lt_free(t.heads);
    LT_TRY(st);
    c->arch =
        strcmp(arch, "llama") == 0 && lt_config_is_uniform(c) ? LT_ARCH_LLAMA : LT_ARCH_DECILM;
    c->head_dim = c->hidden / c->n_heads;
    snprintf(key, sizeof key, "%s.attention.key_length", arch);
    if (c->hidden % c->n_heads != 0 && !lt_gguf_find_kv(g, key))
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s is missing and %lld heads do not divide the "
                        "embedding length %lld",
                        src, key, (long long)c->n_heads, (long long)c->hidden);
    int64_t v = c->head_dim;
    const char *dims[] = {"attention.key_length", "attention.value_length", "rope.dimension_count"};
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof key, "%s.%s", arch, dims[k]);
        if (!lt_gguf_find_kv(g, key)) continue;
        LT_TRY(get_int_range(g, key, 1, 1 << 16, &v));
        if (k == 0) c->head_dim = v;
        if (v != c->head_dim)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "%s: %s = %lld differs from the head size %lld "
                            "(lathe rotates and attends over whole heads)",
                            src, key, (long long)v, (long long)c->head_dim);
    }
    const lt_gguf_tensor *embd = lt_gguf_find_tensor(g, "token_embd.weight");
    if (!embd) return lt_error(LT_ERR_FORMAT, "%s: missing tensor 'token_embd.weight'", src);
    c->vocab = embd->ne[1];
    snprintf(key, sizeof key, "%s.vocab_size", arch);
    if (lt_gguf_find_kv(g, key)) {
        LT_TRY(lt_gguf_get_int(g, key, &v));
        if (v != c->vocab)
            return lt_error(LT_ERR_FORMAT, "%s: %s = %lld but token_embd.weight has %lld rows", src,
                            key, (long long)v, (long long)c->vocab);
    }
    c->tie_embeddings = lt_gguf_find_tensor(g, "output.weight") == NULL;
    const lt_gguf_tensor *freqs = lt_gguf_find_tensor(g, "rope_freqs.weight");
    if (freqs && c->head_dim % 2 == 0) LT_TRY(read_llama3(g, c, freqs));
    return NULL;
}

// ---------------------------------------------------------------- weights

static lt_status check_tensor(const lt_gguf *g, const lt_gguf_slot *s, const lt_gguf_tensor *t) {
    const char *src = lt_gguf_source(g);
    if (!t) return lt_error(LT_ERR_FORMAT, "%s: missing tensor '%s'", src, s->gguf);
    int64_t ne0 = s->ndim == 2 ? s->shape[1] : s->shape[0], ne1 = s->ndim == 2 ? s->shape[0] : 1;
    if (t->n_dims != s->ndim || t->ne[0] != ne0 || t->ne[1] != ne1)
        return lt_error(LT_ERR_FORMAT,
                        "%s: tensor '%s' has ne [%lld, %lld] (%d dims), the metadata "
                        "implies [%lld, %lld] (%d dims)",
                        src, s->gguf, (long long)t->ne[0], (long long)t->ne[1], t->n_dims,
                        (long long)ne0, (long long)ne1, s->ndim);
    return NULL;
}

static lt_status read_weights(lt_gguf_model *m) {
    const lt_gguf *g = m->file;
    lt_gguf_slot *slots;
    int n_slots;
    LT_TRY(lt_gguf_slots(&m->cfg, &slots, &n_slots));
    lt_status st = lt_calloc((void **)&m->weights, (size_t)n_slots, sizeof *m->weights, "weights");
    size_t permuted = 0;
    for (int i = 0; i < n_slots && !st; i++) {
        const lt_gguf_tensor *t = lt_gguf_find_tensor(g, slots[i].gguf);
        st = check_tensor(g, &slots[i], t);
        if (!st && slots[i].permute_heads) permuted += t->nbytes;
    }
    if (!st) st = lt_alloc(&m->owned, permuted, "permuted q/k rows");
    char *next = m->owned;
    for (int i = 0; i < n_slots && !st; i++) {
        const lt_gguf_slot *s = &slots[i];
        if (!s->hf[0]) continue; // rope_freqs: read into the config
        const lt_gguf_tensor *t = lt_gguf_find_tensor(g, s->gguf);
        lt_gguf_weight *w = &m->weights[m->n_weights++];
        snprintf(w->name, sizeof w->name, "%s", s->hf);
        w->dtype = t->dtype;
        w->ndim = s->ndim;
        w->shape[0] = s->shape[0];
        w->shape[1] = s->ndim == 2 ? s->shape[1] : 0;
        w->data = t->data;
        if (s->permute_heads) {
            lt_gguf_permute_rows(next, t->data, s->permute_heads, m->cfg.head_dim,
                                 (size_t)(t->nbytes / (uint64_t)s->shape[0]), false);
            w->data = next;
            next += t->nbytes;
        }
    }
    // Every tensor of the file must be one the model uses.
    for (size_t i = 0; i < lt_gguf_n_tensors(g) && !st; i++) {
        const char *name = lt_gguf_tensor_at(g, i)->name;
        bool known = false;
        for (int k = 0; k < n_slots && !known; k++) known = strcmp(slots[k].gguf, name) == 0;
        if (!known)
            st = lt_error(LT_ERR_UNSUPPORTED,
                          "%s: tensor '%s' is not part of the model lathe "
                          "reads from this metadata",
                          lt_gguf_source(g), name);
    }
    lt_free(slots);
    return st;
}

// ---------------------------------------------------------------- tokenizer

static lt_status read_chat_template(const lt_gguf *g, char **out) {
    *out = NULL;
    if (!lt_gguf_find_kv(g, "tokenizer.chat_template")) return NULL;
    const char *s;
    size_t n;
    LT_TRY(lt_gguf_get_str(g, "tokenizer.chat_template", &s, &n));
    if (memchr(s, 0, n))
        return lt_error(LT_ERR_FORMAT, "%s: tokenizer.chat_template contains a NUL byte",
                        lt_gguf_source(g));
    *out = strndup(s, n);
    return *out ? NULL : lt_error_nomem("the chat template", n + 1);
}

// ---------------------------------------------------------------- open / free

static lt_status open_model(lt_gguf_model *m, const char *path) {
    LT_TRY(lt_gguf_open(&m->file, path));
    LT_TRY(read_config(m->file, &m->cfg));
    LT_TRY(lt_tokenizer_from_gguf(&m->tokenizer, m->file));
    if (m->tokenizer) {
        int32_t n = lt_tokenizer_n_vocab(m->tokenizer);
        if (n > m->cfg.vocab)
            return lt_error(LT_ERR_FORMAT, "%s: the tokenizer has %d ids, the embedding %lld rows",
                            path, (int)n, (long long)m->cfg.vocab);
        m->cfg.bos_id = lt_tokenizer_bos(m->tokenizer);
        if (lt_tokenizer_eos(m->tokenizer) >= 0) {
            m->cfg.eos_ids[0] = lt_tokenizer_eos(m->tokenizer);
            m->cfg.n_eos = 1;
        }
    }
    LT_TRY(lt_config_validate(&m->cfg, path));
    LT_TRY(read_chat_template(m->file, &m->chat_template));
    return read_weights(m);
}

lt_status lt_gguf_model_open(lt_gguf_model **out, const char *path) {
    *out = NULL;
    lt_gguf_model *m;
    LT_TRY(lt_calloc((void **)&m, 1, sizeof *m, "GGUF model"));
    lt_status st = open_model(m, path);
    if (st) {
        lt_gguf_model_close(m);
        return st;
    }
    *out = m;
    return NULL;
}

void lt_gguf_model_close(lt_gguf_model *m) {
    if (!m) return;
    lt_config_free(&m->cfg);
    lt_tokenizer_free(m->tokenizer);
    free(m->chat_template);
    lt_free(m->weights);
    lt_free(m->owned);
    lt_gguf_close(m->file);
    lt_free(m);
}

const lt_gguf_weight *lt_gguf_model_find(const lt_gguf_model *m, const char *name) {
    for (int i = 0; i < m->n_weights; i++)
        if (strcmp(m->weights[i].name, name) == 0) return &m->weights[i];
    return NULL;
}
