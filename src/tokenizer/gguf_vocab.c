// gguf_vocab.c: the tokenizer as llama.cpp's GGUF metadata holds it
// (tokenizer.ggml.*, a "gpt2" byte-level BPE) — read for the engine, `lathe
// import gguf` and `lathe quantize`, written for `lathe export gguf`. It lives
// with the tokenizer because it builds and reads the tokenizer's own tables;
// the GGUF container is only used through lathe/gguf.h.
//
// Reading: tokens of type NORMAL are the model vocabulary in byte-level
// spelling, CONTROL tokens are special added tokens and USER_DEFINED ones
// non-special added tokens, UNUSED ids are left empty. Writing follows
// llama.cpp's own Hugging Face converter (convert_hf_to_gguf.py).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/gguf.h"
#include "tokenizer/tok_internal.h"

// ---------------------------------------------------------------- reading

static lt_status add_token(lt_tok_core *c, int32_t id, const char *s, size_t len, int64_t type,
                           const char *src) {
    switch (type) {
    case LT_GGUF_TOKEN_NORMAL: {
        uint8_t *raw;
        LT_TRY(lt_alloc((void **)&raw, len ? len : 1, "token"));
        ptrdiff_t raw_n = lt_bytelevel_decode(raw, s, len);
        lt_status st = raw_n > 0 ? lt_tok_core_add_model(c, id, raw, (size_t)raw_n, false)
                                 : lt_tok_core_add_model(c, id, s, len, true);
        lt_free(raw);
        return st;
    }
    case LT_GGUF_TOKEN_CONTROL:
    case LT_GGUF_TOKEN_USER_DEFINED:
        return lt_tok_core_add_added(c, id, s, len, type == LT_GGUF_TOKEN_CONTROL, false, false,
                                     false);
    case LT_GGUF_TOKEN_UNUSED: return NULL;
    default:
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: token %ld has type %lld (a byte-level BPE has "
                        "normal, control, user-defined and unused tokens)",
                        src, (long)id, (long long)type);
    }
}

static lt_status read_vocab(const lt_gguf *g, lt_tok_core *c) {
    const char *src = lt_gguf_source(g);
    const lt_gguf_kv *tokens = lt_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const lt_gguf_kv *types = lt_gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (!tokens || tokens->type != LT_GGUF_ARRAY)
        return lt_error(LT_ERR_FORMAT, "%s: tokenizer.ggml.tokens must be an array of strings",
                        src);
    if (tokens->n > LT_TOK_MAX_ID)
        return lt_error(LT_ERR_FORMAT, "%s: %llu tokens are too many", src,
                        (unsigned long long)tokens->n);
    if (types && (types->type != LT_GGUF_ARRAY || types->n != tokens->n))
        return lt_error(LT_ERR_FORMAT,
                        "%s: tokenizer.ggml.token_type must be an array of one "
                        "type per token",
                        src);
    for (uint64_t id = 0; id < tokens->n; id++) {
        const char *s;
        size_t len;
        int64_t type = LT_GGUF_TOKEN_NORMAL;
        LT_TRY(lt_gguf_kv_str(g, tokens, id, &s, &len));
        if (types) LT_TRY(lt_gguf_kv_int(g, types, id, &type));
        lt_status st = add_token(c, (int32_t)id, s, len, type, src);
        if (st)
            return lt_error_prefix(st, "%s: tokenizer.ggml.tokens[%llu]", src,
                                   (unsigned long long)id);
    }
    return NULL;
}

// The id of a merge operand given in byte-level spelling.
static lt_status merge_operand(const lt_tok_core *c, const char *s, size_t n, int32_t *id) {
    uint8_t *raw;
    LT_TRY(lt_alloc((void **)&raw, n ? n : 1, "merge"));
    ptrdiff_t raw_n = lt_bytelevel_decode(raw, s, n);
    *id = raw_n > 0 ? lt_strmap_get(&c->vocab, c->arena, raw, (size_t)raw_n) : -1;
    lt_free(raw);
    if (*id < 0) return lt_error(LT_ERR_FORMAT, "'%.*s' is not in the vocabulary", (int)n, s);
    return NULL;
}

static lt_status read_merges(const lt_gguf *g, lt_tok_core *c) {
    const char *src = lt_gguf_source(g);
    const lt_gguf_kv *merges = lt_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (!merges || merges->type != LT_GGUF_ARRAY || merges->elem_type != LT_GGUF_STRING)
        return lt_error(LT_ERR_FORMAT, "%s: tokenizer.ggml.merges must be an array of strings",
                        src);
    for (uint64_t r = 0; r < merges->n; r++) {
        const char *s;
        size_t len;
        LT_TRY(lt_gguf_kv_str(g, merges, r, &s, &len));
        const char *space = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        int32_t left, right;
        lt_status st =
            space ? NULL : lt_error(LT_ERR_FORMAT, "not two tokens separated by a space");
        if (!st) st = merge_operand(c, s, (size_t)(space - s), &left);
        if (!st) st = merge_operand(c, space + 1, len - (size_t)(space + 1 - s), &right);
        if (!st) st = lt_tok_core_add_merge(c, left, right);
        if (st)
            return lt_error_prefix(st, "%s: tokenizer.ggml.merges[%llu]", src,
                                   (unsigned long long)r);
    }
    return NULL;
}

static lt_status read_pretok(const lt_gguf *g, lt_tok_core *c) {
    const char *pre = "", *src = lt_gguf_source(g);
    size_t n = 0;
    if (lt_gguf_find_kv(g, "tokenizer.ggml.pre"))
        LT_TRY(lt_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &n));
    bool llama3 = (n == 9 && memcmp(pre, "llama-bpe", 9) == 0) ||
                  (n == 6 && memcmp(pre, "llama3", 6) == 0) ||
                  (n == 8 && memcmp(pre, "llama-v3", 8) == 0);
    bool gpt2 = n == 5 && memcmp(pre, "gpt-2", 5) == 0;
    bool qwen2 = n == 5 && memcmp(pre, "qwen2", 5) == 0;
    if (!llama3 && !gpt2 && !qwen2)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: tokenizer.ggml.pre '%.*s' is not supported (lathe "
                        "reads llama-bpe, qwen2 and gpt-2)",
                        src, (int)(n < 64 ? n : 64), pre);
    c->ignore_merges = llama3; // as llama.cpp does for these three
    if (qwen2) return lt_pretok_init(&c->pretok, LT_PRETOK_SPLIT, LT_TOK_QWEN2_PATTERN);
    return llama3 ? lt_pretok_init(&c->pretok, LT_PRETOK_SPLIT, LT_TOK_LLAMA3_PATTERN)
                  : lt_pretok_init(&c->pretok, LT_PRETOK_BYTELEVEL, LT_TOK_GPT2_PATTERN);
}

static lt_status special_id(const lt_gguf *g, const char *key, const lt_tok_core *c, int32_t *out) {
    *out = -1;
    if (!lt_gguf_find_kv(g, key)) return NULL;
    int64_t v;
    LT_TRY(lt_gguf_get_int(g, key, &v));
    if (v < 0 || v >= c->n_ids)
        return lt_error(LT_ERR_FORMAT, "%s: %s = %lld is not a token id", lt_gguf_source(g), key,
                        (long long)v);
    *out = (int32_t)v;
    return NULL;
}

// A TemplateProcessing post-processor that prepends BOS, as Llama 3's
// tokenizer.json has, when the file says add_bos_token.
static lt_status bos_post_processor(const lt_gguf *g, lt_tok_core *c) {
    bool add_bos = false;
    if (lt_gguf_find_kv(g, "tokenizer.ggml.add_bos_token"))
        LT_TRY(lt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos));
    if (!add_bos || c->bos < 0) return NULL;
    int32_t added = c->added_of[c->bos];
    lt_span s = added >= 0 ? c->added[added].content : c->model[c->bos];
    char *bos = strndup(c->arena + s.off, s.len);
    cJSON *pp = cJSON_CreateObject();
    cJSON *single = pp ? cJSON_AddArrayToObject(pp, "single") : NULL;
    cJSON *specials = pp ? cJSON_CreateObject() : NULL;
    bool ok = bos && single && specials;
    if (ok) {
        cJSON_AddStringToObject(pp, "type", "TemplateProcessing");
        cJSON *first = cJSON_CreateObject(), *seq = cJSON_CreateObject();
        cJSON *tok = cJSON_AddObjectToObject(first, "SpecialToken");
        cJSON_AddStringToObject(tok, "id", bos);
        cJSON_AddNumberToObject(tok, "type_id", 0);
        cJSON *a = cJSON_AddObjectToObject(seq, "Sequence");
        cJSON_AddStringToObject(a, "id", "A");
        cJSON_AddNumberToObject(a, "type_id", 0);
        cJSON_AddItemToArray(single, first);
        cJSON_AddItemToArray(single, seq);
        cJSON *entry = cJSON_AddObjectToObject(specials, bos);
        cJSON_AddStringToObject(entry, "id", bos);
        cJSON *ids = cJSON_AddArrayToObject(entry, "ids");
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(c->bos));
        cJSON *toks = cJSON_AddArrayToObject(entry, "tokens");
        cJSON_AddItemToArray(toks, cJSON_CreateString(bos));
        cJSON_AddItemToObject(pp, "special_tokens", specials);
        specials = NULL;
    }
    free(bos);
    cJSON_Delete(specials);
    if (!ok) {
        cJSON_Delete(pp);
        return lt_error_nomem("the tokenizer's BOS post-processor (JSON)", 0);
    }
    c->post_processor = pp;
    return NULL;
}

lt_status lt_tokenizer_from_gguf(lt_tokenizer **out, const lt_gguf *g) {
    *out = NULL;
    const char *model, *src = lt_gguf_source(g);
    size_t n;
    if (!lt_gguf_find_kv(g, "tokenizer.ggml.model")) return NULL;
    LT_TRY(lt_gguf_get_str(g, "tokenizer.ggml.model", &model, &n));
    if (!(n == 4 && memcmp(model, "gpt2", 4) == 0))
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: tokenizer.ggml.model '%.*s' is not supported "
                        "(lathe reads byte-level BPE, 'gpt2')",
                        src, (int)(n < 64 ? n : 64), model);
    lt_tok_core *c;
    LT_TRY(lt_tok_core_new(&c));
    lt_status st = read_vocab(g, c);
    if (!st) st = read_merges(g, c);
    if (!st) st = read_pretok(g, c);
    if (!st) st = lt_tok_core_finish(c, src);
    if (!st) st = special_id(g, "tokenizer.ggml.bos_token_id", c, &c->bos);
    if (!st) st = special_id(g, "tokenizer.ggml.eos_token_id", c, &c->eos);
    if (!st) st = special_id(g, "tokenizer.ggml.padding_token_id", c, &c->pad);
    if (!st) st = bos_post_processor(g, c);
    if (!st) st = lt_tokenizer_from_core(out, c);
    if (st) lt_tok_core_release(c);
    return st;
}

// ---------------------------------------------------------------- writing

// The pre-tokenizer name llama.cpp selects its regex by.
static lt_status pre_name(const lt_tok_core *c, const char **out) {
    if (c->pretok.kind == LT_PRETOK_BYTELEVEL ||
        strcmp(c->pretok.pattern, LT_TOK_GPT2_PATTERN) == 0) {
        *out = "gpt-2";
        return NULL;
    }
    if (strcmp(c->pretok.pattern, LT_TOK_LLAMA3_PATTERN) == 0) {
        *out = "llama-bpe";
        return NULL;
    }
    if (strcmp(c->pretok.pattern, LT_TOK_QWEN2_PATTERN) == 0) { // tokenizer train --split-digits
        *out = "qwen2";
        return NULL;
    }
    return lt_error(LT_ERR_UNSUPPORTED,
                    "tokenizer: the pre-tokenizer regex '%s' is not Llama 3's, Qwen2's or GPT-2's; "
                    "llama.cpp picks its pre-tokenizer by name (tokenizer.ggml.pre) and has none "
                    "for this one",
                    c->pretok.pattern);
}

// The strings of tokenizer.ggml.tokens / merges, kept in one arena.
typedef struct {
    lt_bytes arena;
    size_t *off, *len; // (n)
    uint64_t n;
} str_list;

static void str_list_free(str_list *l) {
    lt_bytes_free(&l->arena);
    lt_free(l->off);
    lt_free(l->len);
}

static lt_status str_list_init(str_list *l, uint64_t n) {
    memset(l, 0, sizeof *l);
    LT_TRY(lt_calloc((void **)&l->off, (size_t)(n ? n : 1), sizeof *l->off, "token strings"));
    LT_TRY(lt_calloc((void **)&l->len, (size_t)(n ? n : 1), sizeof *l->len, "token strings"));
    l->n = n;
    return NULL;
}

// A model token's spelling: byte-level for ordinary tokens, verbatim text otherwise.
static lt_status append_spelled(lt_bytes *out, const lt_tok_core *c, int32_t id) {
    lt_span s = c->model[id];
    if (c->verbatim[id]) return lt_bytes_append(out, c->arena + s.off, s.len);
    return lt_bytelevel_encode(out, c->arena + s.off, s.len);
}

static lt_status token_strings(const lt_tok_core *c, int64_t vocab, str_list *tokens,
                               int32_t *types) {
    LT_TRY(str_list_init(tokens, (uint64_t)vocab));
    for (int64_t id = 0; id < vocab; id++) {
        tokens->off[id] = tokens->arena.n;
        int32_t added = id < c->n_ids ? c->added_of[id] : -1;
        if (added >= 0) {
            const lt_added_token *a = &c->added[added];
            LT_TRY(lt_bytes_append(&tokens->arena, c->arena + a->content.off, a->content.len));
            types[id] = a->special ? LT_GGUF_TOKEN_CONTROL : LT_GGUF_TOKEN_USER_DEFINED;
        } else if (id < c->n_ids && c->model[id].len != LT_SPAN_NONE) {
            LT_TRY(append_spelled(&tokens->arena, c, (int32_t)id));
            types[id] = LT_GGUF_TOKEN_NORMAL;
        } else { // an id the tokenizer does not use: llama.cpp's converter writes [PADn]
            char pad[32];
            int n = snprintf(pad, sizeof pad, "[PAD%lld]", (long long)id);
            LT_TRY(lt_bytes_append(&tokens->arena, pad, (size_t)n));
            types[id] = LT_GGUF_TOKEN_UNUSED;
        }
        tokens->len[id] = tokens->arena.n - tokens->off[id];
    }
    return NULL;
}

// "left right" per merge; a space inside a (verbatim) token is written as
// U+0120, as llama.cpp's converter does.
static lt_status merge_strings(const lt_tok_core *c, str_list *merges) {
    LT_TRY(str_list_init(merges, (uint64_t)c->n_merges));
    lt_bytes part = {0};
    lt_status st = NULL;
    for (int32_t r = 0; r < c->n_merges && !st; r++) {
        merges->off[r] = merges->arena.n;
        for (int side = 0; side < 2 && !st; side++) {
            part.n = 0;
            st = append_spelled(&part, c, c->merges[r][side]);
            for (size_t k = 0; k < part.n && !st; k++)
                st = part.data[k] == ' ' ? lt_bytes_append(&merges->arena, "\xc4\xa0", 2)
                                         : lt_bytes_append(&merges->arena, &part.data[k], 1);
            if (!st && side == 0) st = lt_bytes_append(&merges->arena, " ", 1);
        }
        merges->len[r] = merges->arena.n - merges->off[r];
    }
    lt_bytes_free(&part);
    return st;
}

static lt_status add_str_list(lt_gguf_writer *w, const char *key, const str_list *l) {
    const char **strs;
    LT_TRY(lt_alloc((void **)&strs, (size_t)(l->n ? l->n : 1) * sizeof *strs, key));
    for (uint64_t i = 0; i < l->n; i++) strs[i] = l->arena.data + l->off[i];
    lt_status st = lt_gguf_add_str_array(w, key, strs, l->len, l->n);
    lt_free(strs);
    return st;
}

static lt_status add_special_id(lt_gguf_writer *w, const char *key, int32_t id) {
    return id >= 0 ? lt_gguf_add_u32(w, key, (uint32_t)id) : NULL;
}

lt_status lt_tokenizer_to_gguf(const lt_tokenizer *tok, lt_gguf_writer *w, int64_t n_vocab) {
    const lt_tok_core *c = tok->core;
    if (c->n_ids > n_vocab)
        return lt_error(LT_ERR_ARG, "the tokenizer has %d ids, more than the %lld rows asked for",
                        (int)c->n_ids, (long long)n_vocab);
    const char *pre = NULL;
    LT_TRY(pre_name(c, &pre));
    str_list tokens = {0}, merges = {0};
    int32_t *types = NULL;
    lt_status st = lt_alloc((void **)&types, (size_t)n_vocab * sizeof *types, "token types");
    if (!st) st = token_strings(c, n_vocab, &tokens, types);
    if (!st) st = merge_strings(c, &merges);
    if (!st) st = lt_gguf_add_str(w, "tokenizer.ggml.model", "gpt2", 4);
    if (!st) st = lt_gguf_add_str(w, "tokenizer.ggml.pre", pre, strlen(pre));
    if (!st) st = add_str_list(w, "tokenizer.ggml.tokens", &tokens);
    if (!st)
        st = lt_gguf_add_array(w, "tokenizer.ggml.token_type", LT_GGUF_INT32, types,
                               (uint64_t)n_vocab);
    if (!st) st = add_str_list(w, "tokenizer.ggml.merges", &merges);
    if (!st) st = add_special_id(w, "tokenizer.ggml.bos_token_id", c->bos);
    if (!st) st = add_special_id(w, "tokenizer.ggml.eos_token_id", c->eos);
    if (!st) st = add_special_id(w, "tokenizer.ggml.padding_token_id", c->pad);
    str_list_free(&tokens);
    str_list_free(&merges);
    lt_free(types);
    return st;
}

// Whether encoding text should start with BOS when tokenizer_config.json does
// not say: a TemplateProcessing post-processor that opens with the BOS token
// says so; otherwise lathe's convention holds (every training document
// begins with BOS), so yes when there is a BOS token.
bool lt_tokenizer_default_add_bos(const lt_tokenizer *tok) {
    const lt_tok_core *c = tok->core;
    if (c->bos < 0) return 0;
    const cJSON *pp = c->post_processor;
    const cJSON *type = pp ? cJSON_GetObjectItemCaseSensitive(pp, "type") : NULL;
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "TemplateProcessing") != 0) return 1;
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
    const cJSON *first = cJSON_IsArray(single) ? single->child : NULL;
    const cJSON *sp = first ? cJSON_GetObjectItemCaseSensitive(first, "SpecialToken") : NULL;
    const cJSON *id = sp ? cJSON_GetObjectItemCaseSensitive(sp, "id") : NULL;
    if (!cJSON_IsString(id)) return 0;
    size_t len;
    const char *bos = lt_tokenizer_token(tok, c->bos, &len);
    return bos && strlen(id->valuestring) == len && memcmp(bos, id->valuestring, len) == 0;
}
