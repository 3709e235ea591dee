// tokenizer_json.c: reading and writing Hugging Face `tokenizer.json` (model
// BPE with byte-level pre-tokenization: GPT-2, Llama 3 and lathe's own) and
// reading `tokenizer_config.json` (BOS, EOS, PAD, added special tokens).
// Anything outside what lathe encodes exactly is refused with a message naming
// the field, rather than loaded and encoded differently.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/chat.h"
#include "base/json.h"
#include "tokenizer/tok_internal.h"

#define MAX_TOKENIZER_JSON ((size_t)1 << 30)
#define MAX_CONFIG_JSON ((size_t)64 << 20)

static const cJSON *field(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

// The "type" string of a component object, or NULL.
static const char *type_of(const cJSON *obj) {
    const cJSON *t = cJSON_IsObject(obj) ? field(obj, "type") : NULL;
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static lt_status get_bool(const cJSON *obj, const char *key, bool dflt, bool *out,
                          const char *source) {
    *out = dflt;
    return lt_json_get_bool_opt(obj, key, out, source);
}

// An id field: an integer in [0, LT_TOK_MAX_ID).
static lt_status parse_id(const cJSON *v, int32_t *out, const char *what, const char *source) {
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < 0 || d >= LT_TOK_MAX_ID)
        return lt_error(LT_ERR_FORMAT, "%s: %s must be an integer id in [0, %d)", source, what,
                        LT_TOK_MAX_ID);
    *out = (int32_t)d;
    return NULL;
}

// ---------------------------------------------------------------- model

static lt_status load_vocab(lt_tok_core *c, const cJSON *vocab, const char *source) {
    if (!cJSON_IsObject(vocab))
        return lt_error(LT_ERR_FORMAT, "%s: model.vocab must be an object of token -> id", source);
    uint8_t small[512], *raw = small;
    size_t raw_cap = sizeof small;
    lt_status st = NULL;
    for (const cJSON *e = vocab->child; e && !st; e = e->next) {
        const char *key = e->string;
        size_t n = strlen(key);
        int32_t id = -1;
        char what[160];
        snprintf(what, sizeof what, "model.vocab['%.100s']", key);
        st = parse_id(e, &id, what, source);
        if (st) break;
        if (n > raw_cap) {
            if (raw != small) lt_free(raw);
            raw = NULL;
            raw_cap = n;
            st = lt_alloc((void **)&raw, raw_cap, "vocabulary entry");
            if (st) break;
        }
        ptrdiff_t raw_n = lt_bytelevel_decode(raw, key, n);
        st = raw_n > 0 ? lt_tok_core_add_model(c, id, raw, (size_t)raw_n, false)
                       : lt_tok_core_add_model(c, id, key, n, true);
        if (st) st = lt_error_prefix(st, "%s: model.vocab['%s']", source, key);
    }
    if (raw != small) lt_free(raw);
    return st;
}

// The id of a merge operand given in byte-level spelling.
static lt_status merge_operand(const lt_tok_core *c, const char *spelled, size_t n, int32_t *id,
                               const char *source, long index) {
    uint8_t small[512], *raw = small;
    if (n > sizeof small) LT_TRY(lt_alloc((void **)&raw, n, "merge"));
    ptrdiff_t raw_n = lt_bytelevel_decode(raw, spelled, n);
    *id = raw_n > 0 ? lt_strmap_get(&c->vocab, c->arena, raw, (size_t)raw_n) : -1;
    if (raw != small) lt_free(raw);
    if (*id < 0)
        return lt_error(LT_ERR_FORMAT, "%s: model.merges[%ld]: '%.*s' is not in the vocabulary",
                        source, index, (int)n, spelled);
    return NULL;
}

static lt_status load_merges(lt_tok_core *c, const cJSON *merges, const char *source) {
    if (!cJSON_IsArray(merges))
        return lt_error(LT_ERR_FORMAT, "%s: model.merges must be an array", source);
    long index = 0;
    for (const cJSON *m = merges->child; m; m = m->next, index++) {
        const char *a, *b;
        size_t a_n, b_n;
        if (cJSON_IsString(m)) { // "left right"
            const char *space = strchr(m->valuestring, ' ');
            if (!space || strchr(space + 1, ' ') || space == m->valuestring || !space[1])
                return lt_error(LT_ERR_FORMAT,
                                "%s: model.merges[%ld] '%s' must be two tokens separated by one "
                                "space",
                                source, index, m->valuestring);
            a = m->valuestring;
            a_n = (size_t)(space - a);
            b = space + 1;
            b_n = strlen(b);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) { // ["left", "right"]
            a = m->child->valuestring;
            a_n = strlen(a);
            b = m->child->next->valuestring;
            b_n = strlen(b);
        } else {
            return lt_error(LT_ERR_FORMAT,
                            "%s: model.merges[%ld] must be a string \"a b\" or an array [\"a\", "
                            "\"b\"]",
                            source, index);
        }
        int32_t left, right;
        LT_TRY(merge_operand(c, a, a_n, &left, source, index));
        LT_TRY(merge_operand(c, b, b_n, &right, source, index));
        lt_status st = lt_tok_core_add_merge(c, left, right);
        if (st)
            return lt_error_prefix(st, "%s: model.merges[%ld] ('%.*s' '%.*s')", source, index,
                                   (int)a_n, a, (int)b_n, b);
    }
    return NULL;
}

// Optional string options that lathe supports only when empty.
static lt_status require_empty(const cJSON *model, const char *key, const char *source) {
    const cJSON *v = field(model, key);
    if (v && !(cJSON_IsString(v) && v->valuestring[0] == 0))
        return lt_error(LT_ERR_UNSUPPORTED, "%s: model.%s is not supported (byte-level BPE only)",
                        source, key);
    return NULL;
}

static lt_status load_model(lt_tok_core *c, const cJSON *doc, const char *source) {
    const cJSON *model = field(doc, "model");
    if (!model) return lt_error(LT_ERR_FORMAT, "%s: missing field 'model'", source);
    if (!cJSON_IsObject(model))
        return lt_error(LT_ERR_FORMAT, "%s: field 'model' must be an object", source);
    const cJSON *type = field(model, "type");
    if (type && !cJSON_IsString(type))
        return lt_error(LT_ERR_FORMAT, "%s: model.type must be a string", source);
    if (type && strcmp(type->valuestring, "BPE") != 0)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: model.type '%s' is not supported (only BPE)",
                        source, type->valuestring);
    const cJSON *dropout = field(model, "dropout");
    if (dropout && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0))
        return lt_error(LT_ERR_UNSUPPORTED, "%s: model.dropout is not supported", source);
    LT_TRY(require_empty(model, "continuing_subword_prefix", source));
    LT_TRY(require_empty(model, "end_of_word_suffix", source));
    char model_source[512];
    snprintf(model_source, sizeof model_source, "%s: model", source);
    LT_TRY(get_bool(model, "ignore_merges", false, &c->ignore_merges, model_source));
    const cJSON *vocab = field(model, "vocab");
    if (!vocab) return lt_error(LT_ERR_FORMAT, "%s: missing field 'model.vocab'", source);
    const cJSON *merges = field(model, "merges");
    if (!merges) return lt_error(LT_ERR_FORMAT, "%s: missing field 'model.merges'", source);
    // Size the maps once: growing them entry by entry rehashes them again and again.
    if (cJSON_IsObject(vocab) && c->vocab.count == 0) {
        lt_strmap_free(&c->vocab);
        LT_TRY(lt_strmap_init(&c->vocab, (size_t)cJSON_GetArraySize(vocab)));
    }
    if (cJSON_IsArray(merges) && c->pairs.count == 0) {
        lt_pairmap_free(&c->pairs);
        LT_TRY(lt_pairmap_init(&c->pairs, (size_t)cJSON_GetArraySize(merges)));
    }
    LT_TRY(load_vocab(c, vocab, source));
    return load_merges(c, merges, source);
}

// ---------------------------------------------------------------- added tokens

static lt_status load_added(lt_tok_core *c, const cJSON *doc, const char *source) {
    const cJSON *added = field(doc, "added_tokens");
    if (!added) return NULL;
    if (!cJSON_IsArray(added))
        return lt_error(LT_ERR_FORMAT, "%s: field 'added_tokens' must be an array", source);
    long index = 0;
    for (const cJSON *a = added->child; a; a = a->next, index++) {
        char where[512];
        snprintf(where, sizeof where, "%s: added_tokens[%ld]", source, index);
        if (!cJSON_IsObject(a)) return lt_error(LT_ERR_FORMAT, "%s must be an object", where);
        const cJSON *idv = field(a, "id");
        if (!idv) return lt_error(LT_ERR_FORMAT, "%s: missing field 'id'", where);
        int32_t id = -1;
        LT_TRY(parse_id(idv, &id, "field 'id'", where));
        const char *content;
        LT_TRY(lt_json_get_string(a, "content", &content, where));
        bool special, lstrip, rstrip, normalized, single_word;
        LT_TRY(get_bool(a, "special", false, &special, where));
        LT_TRY(get_bool(a, "lstrip", false, &lstrip, where));
        LT_TRY(get_bool(a, "rstrip", false, &rstrip, where));
        LT_TRY(get_bool(a, "normalized", !special, &normalized, where));
        LT_TRY(get_bool(a, "single_word", false, &single_word, where));
        if (single_word)
            return lt_error(LT_ERR_UNSUPPORTED, "%s ('%s'): single_word is not supported", where,
                            content);
        lt_status st = lt_tok_core_add_added(c, id, content, strlen(content), special, lstrip,
                                             rstrip, normalized);
        if (st) return lt_error_prefix(st, "%s", where);
    }
    return NULL;
}

// ---------------------------------------------------------------- pre-tokenizer and the rest

static lt_status check_bytelevel(const cJSON *bl, bool want_regex, const char *where) {
    bool prefix, use_regex;
    LT_TRY(get_bool(bl, "add_prefix_space", false, &prefix, where));
    LT_TRY(get_bool(bl, "use_regex", true, &use_regex, where));
    if (prefix)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: add_prefix_space=true is not supported", where);
    if (use_regex != want_regex)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: use_regex=%s is not supported here", where,
                        use_regex ? "true" : "false");
    return NULL;
}

// A Split pre-tokenizer: returns its pattern as a regex (String patterns escaped).
static lt_status split_pattern(const cJSON *split, char **out, const char *where) {
    const char *behavior;
    LT_TRY(lt_json_get_string(split, "behavior", &behavior, where));
    if (strcmp(behavior, "Isolated") != 0)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: behavior '%s' is not supported (only Isolated)",
                        where, behavior);
    bool invert;
    LT_TRY(get_bool(split, "invert", false, &invert, where));
    if (invert) return lt_error(LT_ERR_UNSUPPORTED, "%s: invert=true is not supported", where);
    const cJSON *pattern = field(split, "pattern");
    const cJSON *regex = pattern ? field(pattern, "Regex") : NULL;
    const cJSON *string = pattern ? field(pattern, "String") : NULL;
    if (cJSON_IsString(regex)) {
        *out = lt_strdup(regex->valuestring);
    } else if (cJSON_IsString(string)) {
        lt_bytes b = {0};
        for (const char *p = string->valuestring; *p; p++) {
            if (strchr("\\^$.|?*+()[]{}", *p)) LT_TRY(lt_bytes_append(&b, "\\", 1));
            LT_TRY(lt_bytes_append(&b, p, 1));
        }
        if (!b.data) LT_TRY(lt_bytes_append(&b, "", 0));
        *out = b.data;
    } else {
        return lt_error(LT_ERR_FORMAT,
                        "%s: field 'pattern' must be {\"Regex\": ...} or "
                        "{\"String\": ...}",
                        where);
    }
    if (!*out) return lt_error_prefix(lt_error_nomem("the split pattern", 0), "%s", where);
    return NULL;
}

static lt_status load_pretok(lt_tok_core *c, const cJSON *doc, const char *source) {
    char where[512];
    snprintf(where, sizeof where, "%s: pre_tokenizer", source);
    const cJSON *pt = field(doc, "pre_tokenizer");
    if (!pt)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s is missing or null; lathe needs a byte-level "
                        "pre-tokenizer",
                        where);
    const char *type = type_of(pt);
    if (!type) return lt_error(LT_ERR_FORMAT, "%s must be an object with a 'type'", where);
    if (strcmp(type, "ByteLevel") == 0) {
        LT_TRY(check_bytelevel(pt, true, where));
        return lt_pretok_init(&c->pretok, LT_PRETOK_BYTELEVEL, LT_TOK_GPT2_PATTERN);
    }
    const cJSON *list = strcmp(type, "Sequence") == 0 ? field(pt, "pretokenizers") : NULL;
    if (!list || cJSON_GetArraySize(list) != 2 || !type_of(list->child) ||
        strcmp(type_of(list->child), "Split") != 0 || !type_of(list->child->next) ||
        strcmp(type_of(list->child->next), "ByteLevel") != 0)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: only ByteLevel, or Sequence [Split, ByteLevel], is supported (found "
                        "'%s')",
                        where, type);
    char split_where[600], bl_where[600];
    snprintf(split_where, sizeof split_where, "%s.pretokenizers[0]", where);
    snprintf(bl_where, sizeof bl_where, "%s.pretokenizers[1]", where);
    LT_TRY(check_bytelevel(list->child->next, false, bl_where));
    char *pattern;
    LT_TRY(split_pattern(list->child, &pattern, split_where));
    lt_status st = lt_pretok_init(&c->pretok, LT_PRETOK_SPLIT, pattern);
    lt_free(pattern);
    return lt_error_prefix(st, "%s", split_where);
}

static lt_status check_others(lt_tok_core *c, const cJSON *doc, const char *source) {
    const cJSON *norm = field(doc, "normalizer");
    if (norm)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: normalizer '%s' is not supported (byte-level BPE without a "
                        "normalizer only)",
                        source, type_of(norm) ? type_of(norm) : "?");
    const cJSON *dec = field(doc, "decoder");
    if (dec && (!type_of(dec) || strcmp(type_of(dec), "ByteLevel") != 0))
        return lt_error(LT_ERR_UNSUPPORTED, "%s: decoder '%s' is not supported (only ByteLevel)",
                        source, type_of(dec) ? type_of(dec) : "?");
    const cJSON *post = field(doc, "post_processor");
    if (post) {
        c->post_processor = cJSON_Duplicate(post, true);
        if (!c->post_processor)
            return lt_error_prefix(lt_error_nomem("the post-processor (JSON)", 0), "%s", source);
    }
    return NULL;
}

// Well-known names, used when no tokenizer_config.json says otherwise.
static void guess_specials(lt_tokenizer *tok) {
    static const char *bos[] = {"<|begin_of_text|>", "<s>"};
    static const char *eos[] = {"<|end_of_text|>", "</s>", "<|endoftext|>"};
    lt_tok_core *c = tok->core;
    for (size_t i = 0; i < sizeof bos / sizeof *bos && c->bos < 0; i++)
        c->bos = lt_tokenizer_find(tok, bos[i], strlen(bos[i]));
    for (size_t i = 0; i < sizeof eos / sizeof *eos && c->eos < 0; i++)
        c->eos = lt_tokenizer_find(tok, eos[i], strlen(eos[i]));
}

lt_status lt_tokenizer_from_json(lt_tokenizer **out, const char *text, size_t len,
                                 const char *source) {
    *out = NULL;
    cJSON *doc;
    LT_TRY(lt_json_parse(&doc, text, len, source));
    lt_tok_core *c;
    lt_status st = lt_tok_core_new(&c);
    if (st) {
        cJSON_Delete(doc);
        return st;
    }
    if (!cJSON_IsObject(doc)) st = lt_error(LT_ERR_FORMAT, "%s: must be a JSON object", source);
    if (!st) st = check_others(c, doc, source);
    if (!st) st = load_model(c, doc, source);
    if (!st) st = load_added(c, doc, source);
    if (!st) st = load_pretok(c, doc, source);
    if (!st) st = lt_tok_core_finish(c, source);
    cJSON_Delete(doc);
    if (!st) st = lt_tokenizer_from_core(out, c);
    if (st) {
        lt_tok_core_release(c);
        return st;
    }
    guess_specials(*out);
    return NULL;
}

// ---------------------------------------------------------------- tokenizer_config.json

// bos_token etc.: a string, or an object with "content" (AddedToken form).
static lt_status config_token(lt_tokenizer *tok, const cJSON *doc, const char *key, int32_t *id,
                              const char *source) {
    const cJSON *v = field(doc, key);
    if (!v) return NULL;
    const cJSON *content = cJSON_IsObject(v) ? field(v, "content") : v;
    if (!cJSON_IsString(content))
        return lt_error(LT_ERR_FORMAT, "%s: field '%s' must be a string or {\"content\": ...}",
                        source, key);
    int32_t found = lt_tokenizer_find(tok, content->valuestring, strlen(content->valuestring));
    if (found < 0)
        return lt_error(LT_ERR_FORMAT, "%s: %s '%s' is not a token of this tokenizer", source, key,
                        content->valuestring);
    *id = found;
    return NULL;
}

// added_tokens_decoder: {"128000": {"content": ..., "special": ...}, ...}. Each
// entry must agree with the tokenizer; entries it lacks are added to it.
static lt_status config_added(lt_tokenizer *tok, const cJSON *doc, const char *source) {
    const cJSON *dec = field(doc, "added_tokens_decoder");
    if (!dec) return NULL;
    if (!cJSON_IsObject(dec))
        return lt_error(LT_ERR_FORMAT, "%s: field 'added_tokens_decoder' must be an object",
                        source);
    lt_tok_core *c = tok->core;
    bool changed = false;
    for (const cJSON *e = dec->child; e; e = e->next) {
        char where[512];
        snprintf(where, sizeof where, "%s: added_tokens_decoder['%s']", source, e->string);
        char *end;
        long id = strtol(e->string, &end, 10);
        if (end == e->string || *end || id < 0 || id >= LT_TOK_MAX_ID)
            return lt_error(LT_ERR_FORMAT, "%s: key must be an id in [0, %d)", where,
                            LT_TOK_MAX_ID);
        if (!cJSON_IsObject(e)) return lt_error(LT_ERR_FORMAT, "%s must be an object", where);
        const char *content;
        LT_TRY(lt_json_get_string(e, "content", &content, where));
        size_t len;
        const char *have = lt_tokenizer_token(tok, (int32_t)id, &len);
        if (have) {
            if (len != strlen(content) || memcmp(have, content, len) != 0)
                return lt_error(LT_ERR_FORMAT,
                                "%s: content '%s' disagrees with tokenizer.json's token %ld", where,
                                content, id);
            continue;
        }
        if (c->refcount != 1)
            return lt_error(LT_ERR_ARG, "%s: cannot add tokens to a shared tokenizer", where);
        bool special, lstrip, rstrip, normalized;
        LT_TRY(get_bool(e, "special", false, &special, where));
        LT_TRY(get_bool(e, "lstrip", false, &lstrip, where));
        LT_TRY(get_bool(e, "rstrip", false, &rstrip, where));
        LT_TRY(get_bool(e, "normalized", !special, &normalized, where));
        lt_status st = lt_tok_core_add_added(c, (int32_t)id, content, strlen(content), special,
                                             lstrip, rstrip, normalized);
        if (st) return lt_error_prefix(st, "%s", where);
        changed = true;
    }
    return changed ? lt_tok_core_finish(c, source) : NULL;
}

lt_status lt_tokenizer_read_config(lt_tokenizer *tok, const char *path) {
    cJSON *doc;
    LT_TRY(lt_json_read_file(&doc, path, MAX_CONFIG_JSON));
    lt_tok_core *c = tok->core;
    int32_t bos = c->bos, eos = c->eos, pad = c->pad;
    lt_status st =
        cJSON_IsObject(doc) ? NULL : lt_error(LT_ERR_FORMAT, "%s: must be a JSON object", path);
    if (!st) st = config_added(tok, doc, path);
    if (!st) st = config_token(tok, doc, "bos_token", &bos, path);
    if (!st) st = config_token(tok, doc, "eos_token", &eos, path);
    if (!st) st = config_token(tok, doc, "pad_token", &pad, path);
    cJSON_Delete(doc);
    if (st) return st;
    c->bos = bos;
    c->eos = eos;
    c->pad = pad;
    return NULL;
}

lt_status lt_tokenizer_load(lt_tokenizer **out, const char *path) {
    *out = NULL;
    if (!lt_path_exists(path))
        return lt_error(LT_ERR_IO,
                        "%s: no such file or directory (give a tokenizer.json, or a "
                        "directory holding one)",
                        path);
    bool dir = lt_path_is_dir(path);
    char *json_path = dir ? lt_path_join(path, "tokenizer.json") : lt_strdup(path);
    if (!json_path) return lt_error_nomem("the path of tokenizer.json", strlen(path) + 16);
    char *text;
    size_t len;
    lt_status st = lt_file_read_all(json_path, &text, &len, MAX_TOKENIZER_JSON);
    if (!st) {
        st = lt_tokenizer_from_json(out, text, len, json_path);
        lt_free(text);
    }
    if (!st && dir) {
        char *config = lt_path_join(path, "tokenizer_config.json");
        if (!config) st = lt_error_nomem("the path of tokenizer_config.json", strlen(path) + 23);
        if (!st && lt_path_exists(config)) st = lt_tokenizer_read_config(*out, config);
        lt_free(config);
    }
    lt_free(json_path);
    if (st) {
        lt_tokenizer_free(*out);
        *out = NULL;
    }
    return st;
}

// ---------------------------------------------------------------- saving

static cJSON *bytelevel_json(bool use_regex, bool trim_offsets) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "ByteLevel");
    cJSON_AddBoolToObject(o, "add_prefix_space", false);
    cJSON_AddBoolToObject(o, "trim_offsets", trim_offsets);
    cJSON_AddBoolToObject(o, "use_regex", use_regex);
    return o;
}

static cJSON *pretok_json(const lt_pretok *p) {
    if (p->kind == LT_PRETOK_BYTELEVEL) return bytelevel_json(true, true);
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON *pattern = cJSON_AddObjectToObject(split, "pattern");
    cJSON_AddStringToObject(pattern, "Regex", p->pattern);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON *seq = cJSON_CreateObject();
    cJSON_AddStringToObject(seq, "type", "Sequence");
    cJSON *list = cJSON_AddArrayToObject(seq, "pretokenizers");
    cJSON_AddItemToArray(list, split);
    cJSON_AddItemToArray(list, bytelevel_json(false, true));
    return seq;
}

// A token's spelling in the file: byte-level for model tokens, verbatim text otherwise.
static lt_status spelled(const lt_tok_core *c, int32_t id, lt_bytes *out) {
    out->n = 0;
    lt_span s = c->model[id];
    if (c->verbatim[id]) return lt_bytes_append(out, c->arena + s.off, s.len);
    return lt_bytelevel_encode(out, c->arena + s.off, s.len);
}

static cJSON *added_json(const lt_tok_core *c, const lt_added_token *a) {
    cJSON *o = cJSON_CreateObject();
    char *content = strndup(c->arena + a->content.off, a->content.len);
    cJSON_AddNumberToObject(o, "id", a->id);
    cJSON_AddStringToObject(o, "content", content ? content : "");
    cJSON_AddBoolToObject(o, "single_word", false);
    cJSON_AddBoolToObject(o, "lstrip", a->lstrip);
    cJSON_AddBoolToObject(o, "rstrip", a->rstrip);
    cJSON_AddBoolToObject(o, "normalized", a->normalized);
    cJSON_AddBoolToObject(o, "special", a->special);
    free(content);
    return content ? o : NULL;
}

static lt_status model_json(const lt_tok_core *c, cJSON *model) {
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddNullToObject(model, "continuing_subword_prefix");
    cJSON_AddNullToObject(model, "end_of_word_suffix");
    cJSON_AddBoolToObject(model, "fuse_unk", false);
    cJSON_AddBoolToObject(model, "byte_fallback", false);
    cJSON_AddBoolToObject(model, "ignore_merges", c->ignore_merges);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    if (!vocab || !merges) return lt_error_nomem("the tokenizer.json document (JSON)", 0);
    lt_bytes a = {0}, b = {0};
    lt_status st = NULL;
    bool any_space = false;
    for (int32_t id = 0; id < c->n_ids && !st; id++) {
        if (c->model[id].len == LT_SPAN_NONE) continue;
        st = spelled(c, id, &a);
        if (st) break;
        any_space |= memchr(a.data, ' ', a.n) != NULL;
        cJSON *num = cJSON_CreateNumber(id);
        if (!num || !cJSON_AddItemToObject(vocab, a.data, num))
            st = lt_error_nomem("the tokenizer.json document (JSON)", 0);
    }
    // "a b" strings are the form every reader knows; [a, b] when a token has a space.
    for (int32_t r = 0; r < c->n_merges && !st; r++) {
        st = spelled(c, c->merges[r][0], &a);
        if (!st) st = spelled(c, c->merges[r][1], &b);
        if (st) break;
        cJSON *item;
        if (any_space) {
            item = cJSON_CreateArray();
            if (item) {
                cJSON_AddItemToArray(item, cJSON_CreateString(a.data));
                cJSON_AddItemToArray(item, cJSON_CreateString(b.data));
            }
        } else {
            st = lt_bytes_append(&a, " ", 1);
            if (!st) st = lt_bytes_append(&a, b.data, b.n);
            item = st ? NULL : cJSON_CreateString(a.data);
        }
        if (!st && (!item || !cJSON_AddItemToArray(merges, item)))
            st = lt_error_nomem("the tokenizer.json document (JSON)", 0);
    }
    lt_bytes_free(&a);
    lt_bytes_free(&b);
    return st;
}

lt_status lt_tokenizer_save_json(const lt_tokenizer *tok, const char *path) {
    const lt_tok_core *c = tok->core;
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return lt_error_prefix(lt_error_nomem("the tokenizer.json document (JSON)", 0), "%s", path);
    cJSON_AddStringToObject(doc, "version", "1.0");
    cJSON_AddNullToObject(doc, "truncation");
    cJSON_AddNullToObject(doc, "padding");
    cJSON *added = cJSON_AddArrayToObject(doc, "added_tokens");
    lt_status st = NULL;
    for (int32_t i = 0; i < c->n_added && !st; i++) {
        cJSON *a = added_json(c, &c->added[i]);
        if (!a || !cJSON_AddItemToArray(added, a))
            st = lt_error_prefix(lt_error_nomem("the tokenizer.json document (JSON)", 0), "%s",
                                 path);
    }
    cJSON_AddNullToObject(doc, "normalizer");
    cJSON_AddItemToObject(doc, "pre_tokenizer", pretok_json(&c->pretok));
    cJSON_AddItemToObject(doc, "post_processor",
                          c->post_processor ? cJSON_Duplicate(c->post_processor, true)
                                            : bytelevel_json(true, false));
    cJSON_AddItemToObject(doc, "decoder", bytelevel_json(true, true));
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    if (!st)
        st = model ? model_json(c, model)
                   : lt_error_prefix(lt_error_nomem("the tokenizer.json document (JSON)", 0), "%s",
                                     path);
    if (!st) st = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return st;
}

// The token's content as a NUL-terminated string for JSON, or NULL.
static char *token_string(const lt_tokenizer *tok, int32_t id) {
    size_t len;
    const char *bytes = id >= 0 ? lt_tokenizer_token(tok, id, &len) : NULL;
    return bytes ? strndup(bytes, len) : NULL;
}

static lt_status save_config(const lt_tokenizer *tok, const char *path) {
    const lt_tok_core *c = tok->core;
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return lt_error_prefix(lt_error_nomem("the tokenizer.json document (JSON)", 0), "%s", path);
    cJSON *dec = cJSON_AddObjectToObject(doc, "added_tokens_decoder");
    for (int32_t i = 0; i < c->n_added; i++) {
        char key[16];
        snprintf(key, sizeof key, "%ld", (long)c->added[i].id);
        cJSON *a = added_json(c, &c->added[i]);
        if (a) cJSON_DeleteItemFromObject(a, "id");
        if (a) cJSON_AddItemToObject(dec, key, a);
    }
    const char *keys[] = {"bos_token", "eos_token", "pad_token"};
    const int32_t ids[] = {c->bos, c->eos, c->pad};
    for (int k = 0; k < 3; k++) {
        char *s = token_string(tok, ids[k]);
        if (s)
            cJSON_AddStringToObject(doc, keys[k], s);
        else
            cJSON_AddNullToObject(doc, keys[k]);
        free(s);
    }
    // The Llama 3 chat template, when the tokenizer has its header tokens.
    const lt_chat_template *chat = lt_chat_template_get("llama3");
    if (lt_tokenizer_find(tok, chat->header_open, strlen(chat->header_open)) >= 0)
        cJSON_AddStringToObject(doc, "chat_template", chat->jinja);
    cJSON_AddBoolToObject(doc, "clean_up_tokenization_spaces", false);
    cJSON_AddStringToObject(doc, "tokenizer_class", "PreTrainedTokenizerFast");
    lt_status st = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return st;
}

lt_status lt_tokenizer_save(const lt_tokenizer *tok, const char *dir) {
    LT_TRY(lt_mkdir_p(dir));
    char *json = lt_path_join(dir, "tokenizer.json");
    char *config = lt_path_join(dir, "tokenizer_config.json");
    lt_status st =
        json && config ? NULL : lt_error_nomem("the tokenizer's file paths", 2 * strlen(dir) + 40);
    if (!st) st = lt_tokenizer_save_json(tok, json);
    if (!st) st = save_config(tok, config);
    lt_free(json);
    lt_free(config);
    return st;
}
