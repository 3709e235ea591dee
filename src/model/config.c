// config.c: config.json <-> lt_config for LlamaForCausalLM and DeciLMForCausalLM,
// the presets of DESIGN.md, and parameter / FLOP counting.
#include "lathe/config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

int64_t lt_ffn_mult_to_dim(double ffn_mult, int64_t hidden) {
    // Same float operations in the same order as DeciLM's Python:
    // int(2 * ffn_mult * n_embd / 3), then rounded up to a multiple of 256.
    int64_t width = (int64_t)(2.0 * ffn_mult * (double)hidden / 3.0);
    return (width + 255) / 256 * 256;
}

const char *lt_attn_kind_name(lt_attn_kind k) {
    return k == LT_ATTN_GQA ? "gqa" : k == LT_ATTN_LINEAR ? "linear" : "no_op";
}

const char *lt_ffn_kind_name(lt_ffn_kind k) {
    return k == LT_FFN_SWIGLU ? "swiglu" : k == LT_FFN_LINEAR ? "linear" : "no_op";
}

void lt_config_free(lt_config *c) {
    lt_free(c->blocks);
    cJSON_Delete(c->source);
    memset(c, 0, sizeof *c);
}

static lt_status alloc_blocks(lt_config *c) {
    return lt_calloc((void **)&c->blocks, (size_t)c->n_layers, sizeof *c->blocks, "block configs");
}

lt_status lt_config_copy(lt_config *dst, const lt_config *src) {
    *dst = *src;
    dst->blocks = NULL;
    dst->source = NULL;
    LT_TRY(alloc_blocks(dst));
    memcpy(dst->blocks, src->blocks, (size_t)src->n_layers * sizeof *src->blocks);
    if (src->source) {
        dst->source = cJSON_Duplicate(src->source, true);
        if (!dst->source) {
            lt_config_free(dst);
            return lt_error_nomem("a copy of config.json (JSON)", 0);
        }
    }
    return NULL;
}

// ---------------------------------------------------------------- reading

static lt_status parse_rope_scaling(lt_config *c, const cJSON *doc, const char *src) {
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(doc, "rope_scaling");
    if (!rs || cJSON_IsNull(rs)) return NULL;
    if (!cJSON_IsObject(rs))
        return lt_error(LT_ERR_FORMAT, "%s: field 'rope_scaling' must be an object or null", src);
    const char *type = NULL;
    LT_TRY(lt_json_get_string_opt(rs, "rope_type", &type, src));
    if (!type) LT_TRY(lt_json_get_string_opt(rs, "type", &type, src));
    if (!type || strcmp(type, "default") == 0) return NULL;
    if (strcmp(type, "llama3") != 0)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: rope_scaling type '%s' is not supported (only 'llama3')", src, type);
    c->rope.llama3 = true;
    LT_TRY(lt_json_get_double(rs, "factor", &c->rope.factor, src));
    LT_TRY(lt_json_get_double(rs, "low_freq_factor", &c->rope.low_freq_factor, src));
    LT_TRY(lt_json_get_double(rs, "high_freq_factor", &c->rope.high_freq_factor, src));
    LT_TRY(lt_json_get_int(rs, "original_max_position_embeddings",
                           &c->rope.original_max_position_embeddings, src));
    if (c->rope.factor <= 0 || c->rope.low_freq_factor <= 0 ||
        c->rope.high_freq_factor <= c->rope.low_freq_factor ||
        c->rope.original_max_position_embeddings <= 0)
        return lt_error(
            LT_ERR_FORMAT,
            "%s: rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0",
            src);
    return NULL;
}

static lt_status parse_tokens(lt_config *c, const cJSON *doc, const char *src) {
    c->bos_id = -1;
    LT_TRY(lt_json_get_int_opt(doc, "bos_token_id", &c->bos_id, src));
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(doc, "eos_token_id");
    c->n_eos = 0;
    if (!eos || cJSON_IsNull(eos)) return NULL;
    if (cJSON_IsNumber(eos)) {
        LT_TRY(lt_json_get_int(doc, "eos_token_id", &c->eos_ids[0], src));
        c->n_eos = 1;
        return NULL;
    }
    if (!cJSON_IsArray(eos))
        return lt_error(LT_ERR_FORMAT,
                        "%s: field 'eos_token_id' must be an integer or a list of integers", src);
    const cJSON *item;
    cJSON_ArrayForEach(item, eos) {
        double d = item->valuedouble;
        if (!cJSON_IsNumber(item) || d != floor(d) || d < 0 || d > 2147483647.0)
            return lt_error(LT_ERR_FORMAT, "%s: field 'eos_token_id' must hold token ids", src);
        if (c->n_eos == LT_MAX_EOS)
            return lt_error(LT_ERR_UNSUPPORTED, "%s: more than %d eos_token_id values", src,
                            LT_MAX_EOS);
        c->eos_ids[c->n_eos++] = (int64_t)d;
    }
    return NULL;
}

static lt_status parse_block(lt_block_config *b, const cJSON *block, const lt_config *c, int64_t i,
                             const char *src) {
    char where[512];
    snprintf(where, sizeof where, "%s: block_configs[%lld]", src, (long long)i);
    if (!cJSON_IsObject(block)) return lt_error(LT_ERR_FORMAT, "%s must be an object", where);
    const cJSON *attn = cJSON_GetObjectItemCaseSensitive(block, "attention");
    const cJSON *ffn = cJSON_GetObjectItemCaseSensitive(block, "ffn");
    if (!cJSON_IsObject(attn))
        return lt_error(LT_ERR_FORMAT, "%s: missing object 'attention'", where);
    if (!cJSON_IsObject(ffn)) return lt_error(LT_ERR_FORMAT, "%s: missing object 'ffn'", where);

    char field[600];
    snprintf(field, sizeof field, "%s.attention", where);
    bool no_op = false, linear = false;
    LT_TRY(lt_json_get_bool_opt(attn, "no_op", &no_op, field));
    LT_TRY(lt_json_get_bool_opt(attn, "replace_with_linear", &linear, field));
    if (no_op && linear)
        return lt_error(LT_ERR_FORMAT, "%s: no_op and replace_with_linear are both true", field);
    if (no_op) {
        b->attn = LT_ATTN_NOOP;
    } else if (linear) {
        b->attn = LT_ATTN_LINEAR;
    } else {
        int64_t group = 0;
        LT_TRY(lt_json_get_int(attn, "n_heads_in_group", &group, field));
        if (group < 1 || c->n_heads % group != 0)
            return lt_error(LT_ERR_FORMAT,
                            "%s: n_heads_in_group %lld must divide num_attention_heads %lld", field,
                            (long long)group, (long long)c->n_heads);
        b->attn = LT_ATTN_GQA;
        b->n_kv_heads = c->n_heads / group;
    }

    snprintf(field, sizeof field, "%s.ffn", where);
    no_op = linear = false;
    LT_TRY(lt_json_get_bool_opt(ffn, "no_op", &no_op, field));
    LT_TRY(lt_json_get_bool_opt(ffn, "replace_with_linear", &linear, field));
    if (no_op && linear)
        return lt_error(LT_ERR_FORMAT, "%s: no_op and replace_with_linear are both true", field);
    if (no_op) {
        b->ffn = LT_FFN_NOOP;
    } else if (linear) {
        b->ffn = LT_FFN_LINEAR;
    } else {
        LT_TRY(lt_json_get_double(ffn, "ffn_mult", &b->ffn_mult, field));
        if (!(b->ffn_mult > 0) || b->ffn_mult > 1000)
            return lt_error(LT_ERR_FORMAT, "%s: ffn_mult %g must be in (0, 1000]", field,
                            b->ffn_mult);
        b->ffn = LT_FFN_SWIGLU;
        b->ffn_dim = lt_ffn_mult_to_dim(b->ffn_mult, c->hidden);
    }
    return NULL;
}

static lt_status parse_arch(lt_config *c, const cJSON *doc, const char *src) {
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(doc, "architectures");
    const char *arch = NULL, *model_type = NULL;
    if (cJSON_IsArray(archs) && cJSON_GetArraySize(archs) > 0) {
        const cJSON *first = cJSON_GetArrayItem(archs, 0);
        if (!cJSON_IsString(first))
            return lt_error(LT_ERR_FORMAT, "%s: field 'architectures' must be a list of strings",
                            src);
        arch = first->valuestring;
    } else if (archs && !cJSON_IsNull(archs) && !cJSON_IsArray(archs)) {
        return lt_error(LT_ERR_FORMAT, "%s: field 'architectures' must be a list of strings", src);
    }
    LT_TRY(lt_json_get_string_opt(doc, "model_type", &model_type, src));
    if ((arch && strcmp(arch, "DeciLMForCausalLM") == 0) ||
        (model_type && strcmp(model_type, "nemotron-nas") == 0)) {
        c->arch = LT_ARCH_DECILM;
    } else if ((arch && strcmp(arch, "LlamaForCausalLM") == 0) ||
               (!arch && model_type && strcmp(model_type, "llama") == 0)) {
        c->arch = LT_ARCH_LLAMA;
    } else {
        return lt_error(
            LT_ERR_UNSUPPORTED,
            "%s: architecture '%s' (model_type '%s') is not supported: lathe reads LlamaForCausalLM and DeciLMForCausalLM (nemotron-nas)",
            src, arch ? arch : "(none)", model_type ? model_type : "(none)");
    }
    return NULL;
}

static lt_status check_unsupported(const cJSON *doc, const char *src) {
    static const char *const false_flags[] = {"attention_bias", "mlp_bias"};
    for (size_t i = 0; i < 2; i++) {
        bool on = false;
        LT_TRY(lt_json_get_bool_opt(doc, false_flags[i], &on, src));
        if (on)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "%s: '%s': true is not supported (lathe models have no biases)", src,
                            false_flags[i]);
    }
    const char *act = NULL;
    LT_TRY(lt_json_get_string_opt(doc, "hidden_act", &act, src));
    if (act && strcmp(act, "silu") != 0)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: hidden_act '%s' is not supported (only 'silu')",
                        src, act);
    return NULL;
}

static lt_status from_json(lt_config *c, const cJSON *doc, const char *src) {
    if (!cJSON_IsObject(doc)) return lt_error(LT_ERR_FORMAT, "%s: must be a JSON object", src);
    LT_TRY(parse_arch(c, doc, src));
    LT_TRY(check_unsupported(doc, src));
    LT_TRY(lt_json_get_int(doc, "hidden_size", &c->hidden, src));
    LT_TRY(lt_json_get_int(doc, "num_attention_heads", &c->n_heads, src));
    LT_TRY(lt_json_get_int(doc, "num_hidden_layers", &c->n_layers, src));
    LT_TRY(lt_json_get_int(doc, "vocab_size", &c->vocab, src));
    if (c->hidden < 1 || c->hidden > (1 << 20))
        return lt_error(LT_ERR_FORMAT, "%s: hidden_size %lld is out of range", src,
                        (long long)c->hidden);
    if (c->n_heads < 1 || c->n_heads > 4096)
        return lt_error(LT_ERR_FORMAT, "%s: num_attention_heads %lld is out of range", src,
                        (long long)c->n_heads);
    if (c->n_layers < 1 || c->n_layers > 4096)
        return lt_error(LT_ERR_FORMAT, "%s: num_hidden_layers %lld is out of range", src,
                        (long long)c->n_layers);
    if (c->vocab < 1 || c->vocab > (1 << 24))
        return lt_error(LT_ERR_FORMAT, "%s: vocab_size %lld is out of range", src,
                        (long long)c->vocab);
    c->head_dim = c->hidden / c->n_heads;
    LT_TRY(lt_json_get_int_opt(doc, "head_dim", &c->head_dim, src));
    c->max_positions = 2048;
    LT_TRY(lt_json_get_int_opt(doc, "max_position_embeddings", &c->max_positions, src));
    c->rms_eps = 1e-6;
    LT_TRY(lt_json_get_double_opt(doc, "rms_norm_eps", &c->rms_eps, src));
    c->rope.theta = 10000.0;
    LT_TRY(lt_json_get_double_opt(doc, "rope_theta", &c->rope.theta, src));
    LT_TRY(parse_rope_scaling(c, doc, src));
    c->tie_embeddings = false;
    LT_TRY(lt_json_get_bool_opt(doc, "tie_word_embeddings", &c->tie_embeddings, src));
    c->initializer_range = 0.02;
    LT_TRY(lt_json_get_double_opt(doc, "initializer_range", &c->initializer_range, src));
    LT_TRY(parse_tokens(c, doc, src));
    LT_TRY(alloc_blocks(c));

    if (c->arch == LT_ARCH_LLAMA) {
        int64_t kv = c->n_heads, ffn = 0;
        LT_TRY(lt_json_get_int_opt(doc, "num_key_value_heads", &kv, src));
        LT_TRY(lt_json_get_int(doc, "intermediate_size", &ffn, src));
        if (kv < 1 || c->n_heads % kv != 0)
            return lt_error(LT_ERR_FORMAT,
                            "%s: num_key_value_heads %lld must divide num_attention_heads %lld",
                            src, (long long)kv, (long long)c->n_heads);
        if (ffn < 1 || ffn > (1 << 24))
            return lt_error(LT_ERR_FORMAT, "%s: intermediate_size %lld is out of range", src,
                            (long long)ffn);
        for (int64_t i = 0; i < c->n_layers; i++)
            c->blocks[i] = (lt_block_config){
                .attn = LT_ATTN_GQA, .n_kv_heads = kv, .ffn = LT_FFN_SWIGLU, .ffn_dim = ffn};
        return NULL;
    }
    const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(doc, "block_configs");
    if (!cJSON_IsArray(blocks))
        return lt_error(LT_ERR_FORMAT, "%s: DeciLM config needs a 'block_configs' list", src);
    if (cJSON_GetArraySize(blocks) != c->n_layers)
        return lt_error(LT_ERR_FORMAT,
                        "%s: block_configs has %d entries, num_hidden_layers is %lld", src,
                        cJSON_GetArraySize(blocks), (long long)c->n_layers);
    int64_t i = 0;
    const cJSON *block;
    cJSON_ArrayForEach(block, blocks) {
        LT_TRY(parse_block(&c->blocks[i], block, c, i, src));
        i++;
    }
    return NULL;
}

lt_status lt_config_from_json(lt_config *c, const cJSON *doc, const char *source) {
    memset(c, 0, sizeof *c);
    lt_status s = from_json(c, doc, source);
    if (!s) s = lt_config_validate(c, source);
    if (!s) {
        c->source = cJSON_Duplicate(doc, true);
        if (!c->source)
            s = lt_error_prefix(lt_error_nomem("a copy of the document (JSON)", 0), "%s", source);
    }
    if (s) lt_config_free(c);
    return s;
}

lt_status lt_config_load(lt_config *c, const char *path) {
    memset(c, 0, sizeof *c);
    char *joined = NULL;
    if (lt_path_is_dir(path)) {
        joined = lt_path_join(path, "config.json");
        if (!joined) return lt_error_nomem("the path of config.json", strlen(path) + 13);
        path = joined;
    }
    cJSON *doc;
    lt_status s = lt_json_read_file(&doc, path, 16 << 20);
    if (!s) {
        s = lt_config_from_json(c, doc, path);
        cJSON_Delete(doc);
    }
    lt_free(joined);
    return s;
}

lt_status lt_config_validate(const lt_config *c, const char *src) {
    if (c->n_heads < 1 || c->hidden < 1 || c->head_dim < 1 || c->head_dim % 2 != 0)
        return lt_error(LT_ERR_FORMAT, "%s: head_dim %lld must be a positive even number", src,
                        (long long)c->head_dim);
    if (c->max_positions < 1 || c->max_positions > (1 << 24))
        return lt_error(LT_ERR_FORMAT, "%s: max_position_embeddings %lld is out of range", src,
                        (long long)c->max_positions);
    if (!(c->rms_eps > 0) || c->rms_eps > 1)
        return lt_error(LT_ERR_FORMAT, "%s: rms_norm_eps %g must be in (0, 1]", src, c->rms_eps);
    if (!(c->rope.theta > 1))
        return lt_error(LT_ERR_FORMAT, "%s: rope_theta %g must be > 1", src, c->rope.theta);
    if (c->bos_id >= c->vocab)
        return lt_error(LT_ERR_FORMAT, "%s: bos_token_id %lld is not below vocab_size %lld", src,
                        (long long)c->bos_id, (long long)c->vocab);
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_ids[i] >= c->vocab)
            return lt_error(LT_ERR_FORMAT, "%s: eos_token_id %lld is not below vocab_size %lld",
                            src, (long long)c->eos_ids[i], (long long)c->vocab);
    for (int64_t i = 0; i < c->n_layers; i++) {
        const lt_block_config *b = &c->blocks[i];
        if (b->attn == LT_ATTN_GQA && (b->n_kv_heads < 1 || c->n_heads % b->n_kv_heads != 0))
            return lt_error(LT_ERR_FORMAT, "%s: layer %lld: %lld kv heads do not divide %lld heads",
                            src, (long long)i, (long long)b->n_kv_heads, (long long)c->n_heads);
        if (b->ffn == LT_FFN_SWIGLU && b->ffn_dim < 1)
            return lt_error(LT_ERR_FORMAT, "%s: layer %lld: FFN width must be positive", src,
                            (long long)i);
    }
    return NULL;
}

// ---------------------------------------------------------------- presets

static const char *const preset_names[] = {"tiny",    "tiny-hetero", "bench-m", "bench-m-hetero",
                                           "bench-l", "reason-s",    NULL};
const char *const *lt_config_preset_names(void) { return preset_names; }

static lt_status preset_base(lt_config *c, lt_arch arch, int64_t hidden, int64_t layers,
                             int64_t heads, int64_t vocab, bool tied) {
    memset(c, 0, sizeof *c);
    c->arch = arch;
    c->hidden = hidden;
    c->n_layers = layers;
    c->n_heads = heads;
    c->head_dim = hidden / heads;
    c->vocab = vocab;
    c->max_positions = 2048;
    c->rms_eps = 1e-5;
    c->rope.theta = 500000.0;
    c->tie_embeddings = tied;
    c->bos_id = 1;
    c->eos_ids[0] = 2;
    c->n_eos = 1;
    c->initializer_range = 0.02;
    return alloc_blocks(c);
}

static void uniform_blocks(lt_config *c, int64_t kv, int64_t ffn) {
    for (int64_t i = 0; i < c->n_layers; i++)
        c->blocks[i] = (lt_block_config){
            .attn = LT_ATTN_GQA, .n_kv_heads = kv, .ffn = LT_FFN_SWIGLU, .ffn_dim = ffn};
}

static void set_gqa(lt_config *c, int64_t i, int64_t heads_in_group) {
    c->blocks[i].attn = LT_ATTN_GQA;
    c->blocks[i].n_kv_heads = c->n_heads / heads_in_group;
}

static void set_swiglu(lt_config *c, int64_t i, double mult) {
    c->blocks[i].ffn = LT_FFN_SWIGLU;
    c->blocks[i].ffn_mult = mult;
    c->blocks[i].ffn_dim = lt_ffn_mult_to_dim(mult, c->hidden);
}

lt_status lt_config_preset(lt_config *c, const char *name) {
    if (strcmp(name, "tiny") == 0) {
        LT_TRY(preset_base(c, LT_ARCH_LLAMA, 64, 2, 4, 512, true));
        uniform_blocks(c, 2, 128);
    } else if (strcmp(name, "tiny-hetero") == 0) {
        LT_TRY(preset_base(c, LT_ARCH_DECILM, 64, 6, 4, 512, false));
        set_gqa(c, 0, 2), set_swiglu(c, 0, 2.0);
        c->blocks[1].attn = LT_ATTN_NOOP, set_swiglu(c, 1, 4.0);
        c->blocks[2].attn = LT_ATTN_LINEAR, c->blocks[2].ffn = LT_FFN_LINEAR;
        set_gqa(c, 3, 4), c->blocks[3].ffn = LT_FFN_NOOP;
        set_gqa(c, 4, 1), set_swiglu(c, 4, 8.0);
        c->blocks[5].attn = LT_ATTN_NOOP, c->blocks[5].ffn = LT_FFN_NOOP;
    } else if (strcmp(name, "bench-m") == 0) {
        LT_TRY(preset_base(c, LT_ARCH_LLAMA, 512, 8, 8, 16384, true));
        uniform_blocks(c, 4, 1536);
    } else if (strcmp(name, "bench-m-hetero") == 0) {
        static const double mults[8] = {4.5, 3.0, 4.5, 1.5, 4.5, 2.25, 4.5, 6.0};
        LT_TRY(preset_base(c, LT_ARCH_DECILM, 512, 8, 8, 16384, true));
        for (int64_t i = 0; i < 8; i++) {
            set_gqa(c, i, i == 7 ? 4 : 2);
            set_swiglu(c, i, mults[i]);
        }
        c->blocks[2].attn = LT_ATTN_NOOP;
        c->blocks[5].attn = LT_ATTN_NOOP;
    } else if (strcmp(name, "bench-l") == 0) {
        LT_TRY(preset_base(c, LT_ARCH_LLAMA, 1024, 16, 16, 16384, false));
        uniform_blocks(c, 4, 2816);
    } else if (strcmp(name, "reason-s") == 0) {
        // The small reasoning model of docs/reasoning.md: deep and narrow, its own output head
        // (a tied head pulls 'true'/'false' together and stays at chance longer), and RoPE
        // theta 10^4, the value its recipe was measured with. Vocabulary 1024: a tokenizer
        // trained with --split-digits, whose special ids (and no preset's) the model uses.
        LT_TRY(preset_base(c, LT_ARCH_LLAMA, 128, 8, 4, 1024, false));
        uniform_blocks(c, 2, 128);
        c->rope.theta = 10000.0;
        c->bos_id = -1;
        c->n_eos = 0;
    } else {
        return lt_error(LT_ERR_ARG,
                        "unknown preset '%s' (expected tiny, tiny-hetero, bench-m, "
                        "bench-m-hetero, bench-l or reason-s)",
                        name);
    }
    return NULL;
}

// ---------------------------------------------------------------- counting

int64_t lt_config_block_params(const lt_config *c, int64_t layer) {
    const lt_block_config *b = &c->blocks[layer];
    int64_t C = c->hidden, q_dim = c->n_heads * c->head_dim, n = 0;
    if (b->attn == LT_ATTN_GQA) {
        int64_t kv_dim = b->n_kv_heads * c->head_dim;
        n += C + C * q_dim * 2 + C * kv_dim * 2; // norm, q + o, k + v
    } else if (b->attn == LT_ATTN_LINEAR) {
        n += C + C * C;
    }
    if (b->ffn == LT_FFN_SWIGLU)
        n += C + 3 * C * b->ffn_dim;
    else if (b->ffn == LT_FFN_LINEAR)
        n += C + C * C;
    return n;
}

int64_t lt_config_param_count(const lt_config *c) {
    int64_t n = c->vocab * c->hidden + c->hidden; // embedding, final norm
    if (!c->tie_embeddings) n += c->vocab * c->hidden;
    for (int64_t i = 0; i < c->n_layers; i++) n += lt_config_block_params(c, i);
    return n;
}

int64_t lt_config_matmul_params(const lt_config *c) {
    int64_t n = c->vocab * c->hidden; // the LM head (tied or not, counted once)
    for (int64_t i = 0; i < c->n_layers; i++) {
        int64_t block = lt_config_block_params(c, i);
        if (c->blocks[i].attn != LT_ATTN_NOOP) block -= c->hidden; // norms are not matmuls
        if (c->blocks[i].ffn != LT_FFN_NOOP) block -= c->hidden;
        n += block;
    }
    return n;
}

double lt_config_train_flops_per_token(const lt_config *c, int64_t T) {
    double attn = 0;
    for (int64_t i = 0; i < c->n_layers; i++)
        if (c->blocks[i].attn == LT_ATTN_GQA) attn += (double)(c->n_heads * c->head_dim);
    return 6.0 * (double)lt_config_matmul_params(c) + 12.0 * attn * (double)T;
}

bool lt_config_is_uniform(const lt_config *c) {
    for (int64_t i = 0; i < c->n_layers; i++) {
        const lt_block_config *b = &c->blocks[i], *b0 = &c->blocks[0];
        if (b->attn != LT_ATTN_GQA || b->ffn != LT_FFN_SWIGLU || b->n_kv_heads != b0->n_kv_heads ||
            b->ffn_dim != b0->ffn_dim)
            return false;
    }
    return true;
}

// ---------------------------------------------------------------- writing

static lt_status set_field(cJSON *doc, const char *key, cJSON *value) {
    if (!value) return lt_error_nomem(key, 0);
    if (cJSON_HasObjectItem(doc, key))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, key, value);
    else
        cJSON_AddItemToObject(doc, key, value);
    return NULL;
}

// A width given directly (not from ffn_mult) is written as the ffn_mult that
// maps back to it; only multiples of 256 survive DeciLM's rounding.
static double block_ffn_mult(const lt_config *c, const lt_block_config *b) {
    return b->ffn_mult > 0 ? b->ffn_mult : (double)b->ffn_dim * 3.0 / (2.0 * (double)c->hidden);
}

static cJSON *block_json(const lt_config *c, const lt_block_config *b) {
    cJSON *block = cJSON_CreateObject(), *attn = cJSON_CreateObject(), *ffn = cJSON_CreateObject();
    if (!block || !attn || !ffn) {
        cJSON_Delete(block), cJSON_Delete(attn), cJSON_Delete(ffn);
        return NULL;
    }
    cJSON_AddItemToObject(block, "attention", attn);
    cJSON_AddItemToObject(block, "ffn", ffn);
    if (b->attn == LT_ATTN_GQA)
        cJSON_AddNumberToObject(attn, "n_heads_in_group", (double)(c->n_heads / b->n_kv_heads));
    else
        cJSON_AddNullToObject(attn, "n_heads_in_group");
    cJSON_AddBoolToObject(attn, "no_op", b->attn == LT_ATTN_NOOP);
    cJSON_AddNullToObject(attn, "num_sink_tokens");
    cJSON_AddBoolToObject(attn, "replace_with_linear", b->attn == LT_ATTN_LINEAR);
    cJSON_AddNullToObject(attn, "sparsify");
    cJSON_AddBoolToObject(attn, "unshifted_sink", false);
    cJSON_AddBoolToObject(attn, "use_prefill_window_in_sink_attention", false);
    cJSON_AddNullToObject(attn, "window_length");
    if (b->ffn == LT_FFN_SWIGLU) {
        cJSON_AddNumberToObject(ffn, "ffn_mult", block_ffn_mult(c, b));
    } else {
        cJSON_AddNullToObject(ffn, "ffn_mult");
    }
    cJSON_AddBoolToObject(ffn, "no_op", b->ffn == LT_FFN_NOOP);
    cJSON_AddBoolToObject(ffn, "replace_with_linear", b->ffn == LT_FFN_LINEAR);
    cJSON_AddNullToObject(ffn, "sparsify");
    return block;
}

static lt_status fill_json(const lt_config *c, cJSON *doc) {
    bool decilm = c->arch == LT_ARCH_DECILM;
    cJSON *archs = cJSON_CreateArray();
    if (!archs) return lt_error_nomem("config.json's architectures (JSON)", 0);
    cJSON_AddItemToArray(archs,
                         cJSON_CreateString(decilm ? "DeciLMForCausalLM" : "LlamaForCausalLM"));
    LT_TRY(set_field(doc, "architectures", archs));
    LT_TRY(set_field(doc, "model_type", cJSON_CreateString(decilm ? "nemotron-nas" : "llama")));
    LT_TRY(set_field(doc, "hidden_size", cJSON_CreateNumber((double)c->hidden)));
    LT_TRY(set_field(doc, "num_attention_heads", cJSON_CreateNumber((double)c->n_heads)));
    LT_TRY(set_field(doc, "num_hidden_layers", cJSON_CreateNumber((double)c->n_layers)));
    LT_TRY(set_field(doc, "vocab_size", cJSON_CreateNumber((double)c->vocab)));
    LT_TRY(set_field(doc, "head_dim", cJSON_CreateNumber((double)c->head_dim)));
    LT_TRY(set_field(doc, "max_position_embeddings", cJSON_CreateNumber((double)c->max_positions)));
    LT_TRY(set_field(doc, "rms_norm_eps", cJSON_CreateNumber(c->rms_eps)));
    LT_TRY(set_field(doc, "rope_theta", cJSON_CreateNumber(c->rope.theta)));
    LT_TRY(set_field(doc, "tie_word_embeddings", cJSON_CreateBool(c->tie_embeddings)));
    LT_TRY(set_field(doc, "hidden_act", cJSON_CreateString("silu")));
    LT_TRY(set_field(doc, "attention_bias", cJSON_CreateBool(false)));
    LT_TRY(set_field(doc, "mlp_bias", cJSON_CreateBool(false)));
    LT_TRY(set_field(doc, "initializer_range", cJSON_CreateNumber(c->initializer_range)));
    if (c->rope.llama3) {
        cJSON *rs = cJSON_CreateObject();
        if (!rs) return lt_error_nomem("config.json's rope_scaling (JSON)", 0);
        cJSON_AddNumberToObject(rs, "factor", c->rope.factor);
        cJSON_AddNumberToObject(rs, "high_freq_factor", c->rope.high_freq_factor);
        cJSON_AddNumberToObject(rs, "low_freq_factor", c->rope.low_freq_factor);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings",
                                (double)c->rope.original_max_position_embeddings);
        cJSON_AddStringToObject(rs, "rope_type", "llama3");
        LT_TRY(set_field(doc, "rope_scaling", rs));
    } else {
        LT_TRY(set_field(doc, "rope_scaling", cJSON_CreateNull()));
    }
    LT_TRY(set_field(doc, "bos_token_id",
                     c->bos_id >= 0 ? cJSON_CreateNumber((double)c->bos_id) : cJSON_CreateNull()));
    if (c->n_eos == 1) {
        LT_TRY(set_field(doc, "eos_token_id", cJSON_CreateNumber((double)c->eos_ids[0])));
    } else if (c->n_eos > 1) {
        cJSON *eos = cJSON_CreateArray();
        if (!eos) return lt_error_nomem("config.json's eos_token_id (JSON)", 0);
        for (int i = 0; i < c->n_eos; i++)
            cJSON_AddItemToArray(eos, cJSON_CreateNumber((double)c->eos_ids[i]));
        LT_TRY(set_field(doc, "eos_token_id", eos));
    }
    if (decilm) {
        for (int64_t i = 0; i < c->n_layers; i++) {
            const lt_block_config *b = &c->blocks[i];
            if (b->ffn == LT_FFN_SWIGLU &&
                lt_ffn_mult_to_dim(block_ffn_mult(c, b), c->hidden) != b->ffn_dim)
                return lt_error(
                    LT_ERR_ARG,
                    "config: layer %lld: FFN width %lld cannot be written as a DeciLM ffn_mult (widths are multiples of 256)",
                    (long long)i, (long long)b->ffn_dim);
        }
        cJSON *blocks = cJSON_CreateArray();
        if (!blocks) return lt_error_nomem("config.json's block_configs (JSON)", 0);
        LT_TRY(set_field(doc, "block_configs", blocks));
        for (int64_t i = 0; i < c->n_layers; i++) {
            cJSON *b = block_json(c, &c->blocks[i]);
            if (!b) return lt_error_nomem("a block of block_configs (JSON)", 0);
            cJSON_AddItemToArray(blocks, b);
        }
        LT_TRY(set_field(doc, "intermediate_size", cJSON_CreateNull()));
        LT_TRY(set_field(doc, "num_key_value_heads", cJSON_CreateNull()));
    } else {
        if (!lt_config_is_uniform(c))
            return lt_error(
                LT_ERR_ARG,
                "config: a LlamaForCausalLM needs every layer to be GQA + SwiGLU of one shape (use the DeciLM architecture)");
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "block_configs");
        LT_TRY(
            set_field(doc, "intermediate_size", cJSON_CreateNumber((double)c->blocks[0].ffn_dim)));
        LT_TRY(set_field(doc, "num_key_value_heads",
                         cJSON_CreateNumber((double)c->blocks[0].n_kv_heads)));
    }
    if (!cJSON_HasObjectItem(doc, "torch_dtype"))
        LT_TRY(set_field(doc, "torch_dtype", cJSON_CreateString("float32")));
    return NULL;
}

lt_status lt_config_to_json(const lt_config *c, cJSON **out) {
    *out = NULL;
    cJSON *doc = c->source ? cJSON_Duplicate(c->source, true) : cJSON_CreateObject();
    if (!doc) return lt_error_nomem("the config.json document (JSON)", 0);
    lt_status s = fill_json(c, doc);
    if (s) {
        cJSON_Delete(doc);
        return s;
    }
    *out = doc;
    return NULL;
}

lt_status lt_config_save(const lt_config *c, const char *path) {
    cJSON *doc;
    LT_TRY(lt_config_to_json(c, &doc));
    lt_status s = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return s;
}
