// gguf_export.c: a lathe model as a GGUF file llama.cpp runs — `lathe export
// gguf` and `lathe quantize`. What is written follows llama.cpp's own
// Hugging Face converter (convert_hf_to_gguf.py, LlamaModel and DeciModel):
// the same metadata keys and types, tensor names, q/k row permutation,
// rope_freqs for Llama 3 rope_scaling, and the tokenizer as a "gpt2" BPE
// vocabulary. Layer kinds llama.cpp's `deci` graph would compute differently
// are refused up front (docs/FORMATS.md lists them with the reasons).
//
// The tokenizer's tables (tokenizer.ggml.*) are written by the tokenizer
// module itself (lt_tokenizer_to_gguf, src/tokenizer/gguf_vocab.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf_internal.h"
#include "base/json.h"
#include "lathe/model.h"
#include "lathe/quant.h"
#include "lathe/tokenizer.h"

// ---------------------------------------------------------------- what llama.cpp can run

// Appended to every refusal: what does export, and that lathe itself runs the model.
#define EXPORTABLE_HINT                                                                     \
    ". llama.cpp runs any Llama model, and a DeciLM model with no linear-replacement FFN, " \
    "attention in layer 0, a last layer that is not a no-op, and a SwiGLU FFN in every "    \
    "layer with attention (the presets tiny, bench-m, bench-m-hetero, bench-l and "         \
    "reason-s export; tiny-hetero does not). lathe's own engine runs this model as it is: " \
    "lathe generate, lathe chat or lathe serve MODEL_DIR"

static lt_status check_representable(const lt_config *c) {
    if (lt_config_is_uniform(c)) return NULL;
    for (int64_t i = 0; i < c->n_layers; i++) {
        const lt_block_config *b = &c->blocks[i];
        if (b->ffn == LT_FFN_LINEAR)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "layer %lld has a linear-replacement FFN (replace_with_linear), which "
                            "llama.cpp's deci architecture cannot represent" EXPORTABLE_HINT,
                            (long long)i);
        if (b->attn != LT_ATTN_NOOP && b->ffn == LT_FFN_NOOP)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "layer %lld has %s attention but a no-op FFN: llama.cpp's deci graph "
                            "skips the whole layer when its FFN width is 0, dropping the attention "
                            "output" EXPORTABLE_HINT,
                            (long long)i, lt_attn_kind_name(b->attn));
        if (i == c->n_layers - 1 && b->ffn == LT_FFN_NOOP)
            return lt_error(
                LT_ERR_UNSUPPORTED,
                "layer %lld, the last, is a no-op (attention and FFN): llama.cpp's "
                "deci graph then returns logits for the wrong token positions" EXPORTABLE_HINT,
                (long long)i);
        if (i == 0 && b->attn == LT_ATTN_NOOP)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "layer 0 has no-op attention: llama.cpp derives the head size from "
                            "layer 0's head count and would fail to load the file" EXPORTABLE_HINT);
    }
    return NULL;
}

// ---------------------------------------------------------------- hyperparameters

static lt_status add_key_u32(lt_gguf_writer *w, const char *arch, const char *suffix, int64_t v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    if (v < 0 || v > UINT32_MAX)
        return lt_error(LT_ERR_RANGE, "%s = %lld does not fit a uint32", key, (long long)v);
    return lt_gguf_add_u32(w, key, (uint32_t)v);
}

// head_count / head_count_kv / feed_forward_length for each layer of a deci model.
static lt_status add_layer_array(lt_gguf_writer *w, const lt_config *c, const char *suffix,
                                 int which) {
    int32_t *v;
    LT_TRY(lt_alloc((void **)&v, (size_t)c->n_layers * sizeof *v, "per-layer metadata"));
    for (int64_t i = 0; i < c->n_layers; i++) {
        const lt_block_config *b = &c->blocks[i];
        int64_t x = which == 0   ? (b->attn == LT_ATTN_NOOP ? 0 : c->n_heads)
                    : which == 1 ? (b->attn == LT_ATTN_GQA ? b->n_kv_heads : 0)
                                 : (b->ffn == LT_FFN_SWIGLU ? b->ffn_dim : 0);
        v[i] = (int32_t)x;
    }
    char key[128];
    snprintf(key, sizeof key, "deci.%s", suffix);
    lt_status st = lt_gguf_add_array(w, key, LT_GGUF_INT32, v, (uint64_t)c->n_layers);
    lt_free(v);
    return st;
}

static lt_status add_hparams(lt_gguf_writer *w, const lt_config *c, lt_dtype type) {
    const char *arch = lt_gguf_arch_name(c);
    bool deci = strcmp(arch, "deci") == 0;
    char key[128];
    LT_TRY(lt_gguf_add_str(w, "general.architecture", arch, strlen(arch)));
    LT_TRY(lt_gguf_add_u32(w, "general.quantization_version", 2));
    LT_TRY(lt_gguf_add_u32(w, "general.file_type", (uint32_t)lt_gguf_file_type(type)));
    LT_TRY(add_key_u32(w, arch, "context_length", c->max_positions));
    LT_TRY(add_key_u32(w, arch, "embedding_length", c->hidden));
    LT_TRY(add_key_u32(w, arch, "block_count", c->n_layers));
    if (deci) {
        LT_TRY(add_layer_array(w, c, "feed_forward_length", 2));
        LT_TRY(add_layer_array(w, c, "attention.head_count", 0));
        LT_TRY(add_layer_array(w, c, "attention.head_count_kv", 1));
    } else {
        LT_TRY(add_key_u32(w, arch, "feed_forward_length", c->blocks[0].ffn_dim));
        LT_TRY(add_key_u32(w, arch, "attention.head_count", c->n_heads));
        LT_TRY(add_key_u32(w, arch, "attention.head_count_kv", c->blocks[0].n_kv_heads));
    }
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    LT_TRY(lt_gguf_add_f32(w, key, (float)c->rope.theta));
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    LT_TRY(lt_gguf_add_f32(w, key, (float)c->rms_eps));
    LT_TRY(add_key_u32(w, arch, "attention.key_length", c->head_dim));
    LT_TRY(add_key_u32(w, arch, "attention.value_length", c->head_dim));
    LT_TRY(add_key_u32(w, arch, "rope.dimension_count", c->head_dim));
    LT_TRY(add_key_u32(w, arch, "vocab_size", c->vocab));
    if (c->rope.llama3) {
        double f = c->rope.factor, lo = c->rope.low_freq_factor, hi = c->rope.high_freq_factor;
        LT_TRY(lt_gguf_add_scalar(w, LT_GGUF_KEY_ROPE_FACTOR, LT_GGUF_FLOAT64, &f));
        LT_TRY(lt_gguf_add_scalar(w, LT_GGUF_KEY_ROPE_LOW, LT_GGUF_FLOAT64, &lo));
        LT_TRY(lt_gguf_add_scalar(w, LT_GGUF_KEY_ROPE_HIGH, LT_GGUF_FLOAT64, &hi));
        if (c->rope.original_max_position_embeddings > UINT32_MAX)
            return lt_error(LT_ERR_RANGE, "original_max_position_embeddings is too large");
        LT_TRY(lt_gguf_add_u32(w, LT_GGUF_KEY_ROPE_ORIG,
                               (uint32_t)c->rope.original_max_position_embeddings));
    }
    return NULL;
}

// ---------------------------------------------------------------- tokenizer

static lt_status add_tokenizer(lt_gguf_writer *w, const lt_config *cfg, const lt_tokenizer *tok,
                               const lt_gguf_export_opts *opts) {
    if (lt_tokenizer_n_vocab(tok) > cfg->vocab)
        return lt_error(LT_ERR_FORMAT,
                        "the tokenizer has %d ids but the model's vocab_size is %lld (the "
                        "embedding has no rows for the rest)",
                        (int)lt_tokenizer_n_vocab(tok), (long long)cfg->vocab);
    lt_status st = lt_tokenizer_to_gguf(tok, w, cfg->vocab);
    if (!st && opts->add_bos >= 0)
        st = lt_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", opts->add_bos != 0);
    if (!st && opts->chat_template)
        st = lt_gguf_add_str(w, "tokenizer.chat_template", opts->chat_template,
                             strlen(opts->chat_template));
    return st;
}

// ---------------------------------------------------------------- tensors

// Narrows n f32 values into dtype (n % 32 == 0 for q8_0).
static void narrow(void *dst, const float *src, lt_dtype dtype, int64_t n) {
    switch (dtype) {
    case LT_F32: memcpy(dst, src, (size_t)n * sizeof *src); break;
    case LT_BF16: lt_f32_to_bf16_array(dst, src, (size_t)n); break;
    case LT_F16: lt_f32_to_f16_array(dst, src, (size_t)n); break;
    case LT_Q8_0: lt_q8_0_quantize(dst, src, n); break;
    default: break;
    }
}

// Buffers made while exporting, freed after the file is written.
typedef struct {
    void **ptrs;
    int n, cap;
} owned_list;

static lt_status own(owned_list *o, void *p) {
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 64;
        void **grown = realloc(o->ptrs, (size_t)cap * sizeof *grown);
        if (!grown) {
            lt_free(p);
            return lt_error_nomem("the exporter's buffer list", (size_t)cap * sizeof *grown);
        }
        o->ptrs = grown;
        o->cap = cap;
    }
    o->ptrs[o->n++] = p;
    return NULL;
}

static void owned_free(owned_list *o) {
    for (int i = 0; i < o->n; i++) lt_free(o->ptrs[i]);
    free(o->ptrs);
}

static const lt_gguf_weight *find_weight(const lt_gguf_weight *w, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(w[i].name, name) == 0) return &w[i];
    return NULL;
}

// The bytes of one tensor as stored: converted to `to` and, for q/k, permuted.
static lt_status tensor_bytes(const lt_gguf_slot *s, const lt_gguf_weight *src, lt_dtype to,
                              int64_t head_dim, owned_list *owned, const void **out) {
    int64_t rows = s->shape[0], cols = s->ndim == 2 ? s->shape[1] : s->shape[0];
    if (s->ndim == 1) rows = 1;
    size_t row_bytes = (size_t)lt_gguf_tensor_bytes(to, 1, &cols);
    if (src->dtype == to && s->permute_heads == 0) {
        *out = src->data;
        return NULL;
    }
    void *conv = NULL, *perm = NULL;
    LT_TRY(lt_alloc(&conv, row_bytes * (size_t)rows, s->gguf));
    LT_TRY(own(owned, conv));
    if (src->dtype == to) {
        memcpy(conv, src->data, row_bytes * (size_t)rows);
    } else {
        float *row;
        LT_TRY(lt_alloc((void **)&row, (size_t)cols * sizeof *row, s->gguf));
        size_t src_row = (size_t)lt_gguf_tensor_bytes(src->dtype, 1, &cols);
        for (int64_t r = 0; r < rows; r++) {
            lt_gguf_widen(row, (const char *)src->data + (size_t)r * src_row, src->dtype, cols);
            narrow((char *)conv + (size_t)r * row_bytes, row, to, cols);
        }
        lt_free(row);
    }
    if (s->permute_heads == 0) {
        *out = conv;
        return NULL;
    }
    LT_TRY(lt_alloc(&perm, row_bytes * (size_t)rows, s->gguf));
    LT_TRY(own(owned, perm));
    lt_gguf_permute_rows(perm, conv, s->permute_heads, head_dim, row_bytes, true);
    *out = perm;
    return NULL;
}

static lt_status check_weight(const lt_gguf_slot *s, const lt_gguf_weight *w) {
    if (!w) return lt_error(LT_ERR_FORMAT, "missing tensor '%s'", s->hf);
    bool same = w->ndim == s->ndim && w->shape[0] == s->shape[0] &&
                (s->ndim == 1 || w->shape[1] == s->shape[1]);
    if (!same)
        return lt_error(LT_ERR_FORMAT,
                        "tensor '%s' has shape [%lld, %lld], the config implies "
                        "[%lld, %lld]",
                        s->hf, (long long)w->shape[0], (long long)(w->ndim == 2 ? w->shape[1] : 0),
                        (long long)s->shape[0], (long long)s->shape[1]);
    if (lt_gguf_ggml_type(w->dtype) < 0)
        return lt_error(LT_ERR_FORMAT, "tensor '%s' has dtype %s", s->hf, lt_dtype_name(w->dtype));
    return NULL;
}

static lt_status add_tensors(lt_gguf_writer *w, const lt_config *cfg, const lt_gguf_weight *weights,
                             int n_weights, lt_dtype type, owned_list *owned) {
    lt_gguf_slot *slots;
    int n_slots;
    LT_TRY(lt_gguf_slots(cfg, &slots, &n_slots));
    lt_status st = NULL;
    int used = 0;
    for (int i = 0; i < n_slots && !st; i++) {
        const lt_gguf_slot *s = &slots[i];
        int64_t ne[2] = {s->ndim == 2 ? s->shape[1] : s->shape[0], s->shape[0]};
        const void *data;
        if (!s->hf[0]) { // rope_freqs: computed from the config
            float *f;
            st = lt_alloc((void **)&f, (size_t)s->shape[0] * sizeof *f, s->gguf);
            if (!st) st = own(owned, f);
            if (!st) st = lt_gguf_rope_factors(f, cfg);
            if (!st) st = lt_gguf_add_tensor(w, s->gguf, LT_F32, 1, ne, f);
            continue;
        }
        const lt_gguf_weight *src = find_weight(weights, n_weights, s->hf);
        st = check_weight(s, src);
        if (st) break;
        used++;
        lt_dtype to = s->matrix ? type : LT_F32;
        if (to == LT_Q8_0 && ne[0] % LT_Q8_0_BLOCK != 0) to = LT_F16; // as llama.cpp's converter
        st = tensor_bytes(s, src, to, cfg->head_dim, owned, &data);
        if (!st) st = lt_gguf_add_tensor(w, s->gguf, to, s->ndim, ne, data);
    }
    for (int i = 0; i < n_weights && !st && used != n_weights; i++) {
        bool known = false;
        for (int k = 0; k < n_slots && !known; k++)
            known = strcmp(slots[k].hf, weights[i].name) == 0;
        if (!known)
            st = lt_error(LT_ERR_FORMAT,
                          "tensor '%s' is not part of the model the config "
                          "describes",
                          weights[i].name);
    }
    lt_free(slots);
    return st;
}

// ---------------------------------------------------------------- entry points

lt_status lt_gguf_export(const char *path, const lt_config *cfg, const lt_gguf_weight *weights,
                         int n_weights, const lt_tokenizer *tok, const lt_gguf_export_opts *opts) {
    if (lt_gguf_ggml_type(opts->type) < 0)
        return lt_error(LT_ERR_ARG, "--type %s: GGUF weights are f32, f16, bf16 or q8_0",
                        lt_dtype_name(opts->type));
    if (!tok) return lt_error(LT_ERR_ARG, "%s: a GGUF for llama.cpp needs the tokenizer", path);
    LT_TRY(lt_config_validate(cfg, path));
    LT_TRY(check_representable(cfg));
    lt_gguf_writer *w;
    LT_TRY(lt_gguf_writer_init(&w));
    owned_list owned = {0};
    lt_status st = add_hparams(w, cfg, opts->type);
    if (!st) st = add_tokenizer(w, cfg, tok, opts);
    if (!st) st = add_tensors(w, cfg, weights, n_weights, opts->type, &owned);
    if (!st) st = lt_gguf_writer_write(w, path);
    owned_free(&owned);
    lt_gguf_writer_free(w);
    return st;
}

// tokenizer_config.json's chat_template and add_bos_token (missing fields are fine).
static lt_status read_tokenizer_config(const char *dir, char **chat_template, int *add_bos) {
    *chat_template = NULL;
    *add_bos = -1;
    char *path = lt_path_join(dir, "tokenizer_config.json");
    if (!path)
        return lt_error_nomem("the path of tokenizer_config.json",
                              strlen(dir) + sizeof "/tokenizer_config.json");
    if (!lt_path_exists(path)) {
        lt_free(path);
        return NULL;
    }
    cJSON *doc = NULL;
    lt_status st = lt_json_read_file(&doc, path, (size_t)64 << 20);
    const char *tpl = NULL;
    bool bos = false;
    if (!st) st = lt_json_get_string_opt(doc, "chat_template", &tpl, path);
    if (!st) st = lt_json_get_bool_opt(doc, "add_bos_token", &bos, path);
    if (!st && tpl && !(*chat_template = lt_strdup(tpl)))
        st = lt_error_prefix(lt_error_nomem("the chat template", strlen(tpl) + 1), "%s", path);
    if (!st && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(doc, "add_bos_token"))) *add_bos = bos;
    cJSON_Delete(doc);
    lt_free(path);
    return st;
}

lt_status lt_gguf_export_dir(const char *dir, const char *path, lt_dtype type) {
    lt_model *m = NULL;
    lt_tokenizer *tok = NULL;
    lt_gguf_weight *weights = NULL;
    char *tpl = NULL;
    int add_bos = -1;
    lt_status st = lt_model_load(&m, dir);
    if (!st) st = lt_tokenizer_load(&tok, dir);
    if (!st) st = read_tokenizer_config(dir, &tpl, &add_bos);
    if (!st) st = lt_calloc((void **)&weights, (size_t)m->n_tensors, sizeof *weights, "weights");
    for (int i = 0; !st && i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        lt_gguf_weight *w = &weights[i];
        snprintf(w->name, sizeof w->name, "%s", p->name);
        w->dtype = LT_F32;
        w->ndim = p->ndim;
        w->shape[0] = p->shape[0];
        w->shape[1] = p->ndim == 2 ? p->shape[1] : 0;
        w->data = m->params + p->offset;
    }
    if (!st) {
        lt_gguf_export_opts opts = {.type = type,
                                    .chat_template = tpl,
                                    .add_bos =
                                        add_bos >= 0 ? add_bos : lt_tokenizer_default_add_bos(tok)};
        st = lt_error_prefix(lt_gguf_export(path, &m->cfg, weights, m->n_tensors, tok, &opts), "%s",
                             dir);
    }
    lt_free(weights);
    free(tpl);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    return st;
}

lt_status lt_gguf_requantize(const char *in_path, const char *path, lt_dtype type) {
    lt_gguf_model *m;
    LT_TRY(lt_gguf_model_open(&m, in_path));
    int add_bos = -1;
    bool b;
    lt_status st = NULL;
    if (lt_gguf_find_kv(m->file, "tokenizer.ggml.add_bos_token")) {
        st = lt_gguf_get_bool(m->file, "tokenizer.ggml.add_bos_token", &b);
        add_bos = b;
    }
    if (!st && !m->tokenizer)
        st = lt_error(LT_ERR_FORMAT, "%s: has no tokenizer (tokenizer.ggml.*)", in_path);
    if (!st) {
        lt_gguf_export_opts opts = {
            .type = type, .chat_template = m->chat_template, .add_bos = add_bos};
        st = lt_error_prefix(
            lt_gguf_export(path, &m->cfg, m->weights, m->n_weights, m->tokenizer, &opts), "%s",
            in_path);
    }
    lt_gguf_model_close(m);
    return st;
}
