// tokenize.c: text and JSONL corpora -> token shards (`lathe data tokenize`).
// Each document becomes BOS + its tokens + EOS; a seeded hash of its text
// decides whether it is held out for validation, so the split is the same
// whatever the order of the inputs. Inputs are mapped, not read, so corpora
// larger than memory are fine; on any error neither shard is written.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "data/data_internal.h"
#include "lathe/data.h"

lt_status lt_text_split_parse(const char *name, lt_text_split *out) {
    static const char *const names[] = {"file", "line", "blank"};
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (lt_text_split)i;
            return NULL;
        }
    return lt_error(LT_ERR_ARG, "--split '%s': expected file, line or blank", name ? name : "");
}

typedef struct {
    const lt_tokenize_opts *o;
    lt_tokenize_stats *stats;
    lt_shard_writer *train, *val;
    lt_ids ids;
    unsigned flags;
    uint64_t bytes_before; // input bytes of the files already done
    double last_report;
} run;

static void report(run *r, uint64_t done, bool force) {
    double now = lt_time_now();
    if (!force && now - r->last_report < 0.5) return;
    r->last_report = now;
    uint64_t docs, tokens;
    lt_shard_writer_counts(r->train, &docs, &tokens, NULL);
    if (r->val) {
        uint64_t vd, vt;
        lt_shard_writer_counts(r->val, &vd, &vt, NULL);
        docs += vd;
        tokens += vt;
    }
    char info[96];
    snprintf(info, sizeof info, "%llu docs, %llu tokens", (unsigned long long)docs,
             (unsigned long long)tokens);
    lt_progress_report(&r->o->progress, "tokenize", (double)(r->bytes_before + done),
                       (double)r->stats->n_input_bytes, info);
}

// Held out when a hash of (seed, text) maps below val_fraction.
static bool held_out(const run *r, const char *text, size_t len) {
    if (!r->val) return false;
    uint64_t h = lt_fnv1a64(LT_FNV_OFFSET, &r->o->seed, sizeof r->o->seed);
    h = lt_mix64(lt_fnv1a64(h, text, len));
    return (double)(h >> 11) * 0x1p-53 < r->o->val_fraction;
}

static lt_status add_doc(run *r, const char *text, size_t len) {
    if (len == 0) {
        r->stats->n_empty++;
        return NULL;
    }
    r->ids.n = 0;
    LT_TRY(lt_tokenizer_encode(r->o->tokenizer, text, len, r->flags, &r->ids));
    return lt_shard_writer_add(held_out(r, text, len) ? r->val : r->train, r->ids.data, r->ids.n,
                               len);
}

// The end of the line starting at pos (its '\n' or the end of the text).
static size_t line_end(const char *text, size_t n, size_t pos) {
    const char *nl = memchr(text + pos, '\n', n - pos);
    return nl ? (size_t)(nl - text) : n;
}

static bool is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

static lt_status split_text(run *r, const char *text, size_t n) {
    if (r->o->split == LT_SPLIT_FILE) return add_doc(r, text, n);
    size_t para_start = 0, para_end = 0;
    bool in_para = false;
    for (size_t pos = 0; pos < n;) {
        size_t end = line_end(text, n, pos), content_end = end;
        if (content_end > pos && text[content_end - 1] == '\r') content_end--; // CRLF
        if (r->o->split == LT_SPLIT_LINE) {
            LT_TRY(add_doc(r, text + pos, content_end - pos));
        } else if (is_blank(text + pos, end - pos)) {
            if (in_para) LT_TRY(add_doc(r, text + para_start, para_end - para_start));
            in_para = false;
        } else {
            if (!in_para) para_start = pos;
            in_para = true;
            para_end = content_end;
        }
        report(r, end, false);
        pos = end + 1;
    }
    if (in_para) LT_TRY(add_doc(r, text + para_start, para_end - para_start));
    return NULL;
}

// One JSONL line: an object whose text_key field is a string.
static lt_status jsonl_line(run *r, const char *path, size_t line_no, const char *s, size_t n) {
    const char *key = r->o->text_key ? r->o->text_key : "text";
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(s, n, &end, false);
    size_t used = doc && end ? (size_t)(end - s) : 0;
    if (!doc || !is_blank(s + used, n - used)) {
        size_t col = end && end >= s ? (size_t)(end - s) : 0;
        while (doc && col < n && (s[col] == ' ' || s[col] == '\t')) col++; // to the trailing text
        col++;
        cJSON_Delete(doc);
        return lt_error(LT_ERR_FORMAT, "%s:%zu: invalid JSON near column %zu", path, line_no, col);
    }
    lt_status st = NULL;
    const cJSON *v = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, key) : NULL;
    if (!cJSON_IsObject(doc))
        st = lt_error(LT_ERR_FORMAT, "%s:%zu: expected a JSON object like {\"%s\": \"...\"}", path,
                      line_no, key);
    else if (!v)
        st = lt_error(LT_ERR_FORMAT, "%s:%zu: no field '%s'", path, line_no, key);
    else if (!cJSON_IsString(v))
        st = lt_error(LT_ERR_FORMAT, "%s:%zu: field '%s' is not a string", path, line_no, key);
    else
        st = add_doc(r, v->valuestring, strlen(v->valuestring));
    cJSON_Delete(doc);
    return st;
}

static lt_status split_jsonl(run *r, const char *path, const char *text, size_t n) {
    size_t line_no = 0;
    for (size_t pos = 0; pos < n;) {
        size_t end = line_end(text, n, pos);
        line_no++;
        if (!is_blank(text + pos, end - pos))
            LT_TRY(jsonl_line(r, path, line_no, text + pos, end - pos));
        report(r, end, false);
        pos = end + 1;
    }
    return NULL;
}

static bool is_jsonl(const char *path) {
    size_t n = strlen(path);
    return n >= 6 && strcmp(path + n - 6, ".jsonl") == 0;
}

static lt_status tokenize_file(run *r, const char *path) {
    lt_mmap m;
    LT_TRY(lt_mmap_open(&m, path));
    const char *text = (const char *)m.data;
    lt_status st =
        is_jsonl(path) ? split_jsonl(r, path, text, m.size) : split_text(r, text, m.size);
    if (!st) report(r, m.size, false);
    r->bytes_before += m.size;
    lt_mmap_close(&m);
    return st;
}

static lt_status check_opts(const lt_tokenize_opts *o) {
    if (!o->tokenizer) return lt_error(LT_ERR_ARG, "tokenize: no tokenizer given (--tokenizer)");
    if (!o->out_path) return lt_error(LT_ERR_ARG, "tokenize: no output shard given (--out)");
    if (o->n_inputs < 1) return lt_error(LT_ERR_ARG, "tokenize: no input files given");
    if (!(o->val_fraction >= 0 && o->val_fraction < 1))
        return lt_error(LT_ERR_ARG, "--val-fraction %g must be in [0, 1)", o->val_fraction);
    if (o->val_fraction > 0 && !o->val_path)
        return lt_error(LT_ERR_ARG, "--val-fraction needs a validation shard path (--val)");
    if (o->val_path && o->val_fraction == 0)
        return lt_error(LT_ERR_ARG, "--val %s given but --val-fraction is 0", o->val_path);
    if (o->val_path && strcmp(o->val_path, o->out_path) == 0)
        return lt_error(LT_ERR_ARG, "--val and --out are the same file (%s)", o->out_path);
    if (lt_tokenizer_bos(o->tokenizer) < 0 || lt_tokenizer_eos(o->tokenizer) < 0)
        return lt_error(LT_ERR_ARG,
                        "the tokenizer has no %s token, and every document is BOS + "
                        "text + EOS (use a tokenizer directory whose tokenizer_config.json sets "
                        "bos_token and eos_token)",
                        lt_tokenizer_bos(o->tokenizer) < 0 ? "BOS" : "EOS");
    for (int i = 0; i < o->n_inputs; i++)
        if (!lt_path_exists(o->inputs[i]))
            return lt_error(LT_ERR_IO, "%s: no such input file", o->inputs[i]);
    return NULL;
}

static lt_status input_bytes(const lt_tokenize_opts *o, uint64_t *total) {
    *total = 0;
    for (int i = 0; i < o->n_inputs; i++) {
        lt_mmap m;
        LT_TRY(lt_mmap_open(&m, o->inputs[i]));
        *total += m.size;
        lt_mmap_close(&m);
    }
    return NULL;
}

static lt_status finish(run *r) {
    lt_tokenize_stats *st = r->stats;
    lt_shard_writer_counts(r->train, &st->train.n_docs, &st->train.n_tokens,
                           &st->train.n_text_bytes);
    if (r->val)
        lt_shard_writer_counts(r->val, &st->val.n_docs, &st->val.n_tokens, &st->val.n_text_bytes);
    uint64_t all = st->train.n_docs + st->val.n_docs;
    if (all == 0) {
        const char *const *in = r->o->inputs;
        int n = r->o->n_inputs;
        return lt_error(LT_ERR_ARG,
                        "tokenize: the inputs hold no documents (%llu empty ones skipped): "
                        "%s%s%s%s%s has no text to tokenize",
                        (unsigned long long)st->n_empty, in[0], n > 1 ? ", " : "",
                        n > 1 ? in[1] : "", n > 2 ? ", ..." : "", n > 1 ? " each" : "");
    }
    if (r->val && (st->val.n_docs == 0 || st->train.n_docs == 0))
        return lt_error(LT_ERR_ARG,
                        "tokenize: --val-fraction %g put %s of the %llu documents in "
                        "the validation shard (use more documents or another fraction)",
                        r->o->val_fraction, st->val.n_docs == 0 ? "none" : "all",
                        (unsigned long long)all);
    report(r, 0, true);
    lt_status s = lt_shard_writer_commit(r->train);
    r->train = NULL;
    if (!s && r->val) s = lt_shard_writer_commit(r->val);
    r->val = NULL;
    return s;
}

lt_status lt_data_tokenize(const lt_tokenize_opts *o, lt_tokenize_stats *stats) {
    memset(stats, 0, sizeof *stats);
    LT_TRY(check_opts(o));
    LT_TRY(input_bytes(o, &stats->n_input_bytes));
    run r = {.o = o, .stats = stats, .last_report = lt_time_now()};
    r.flags = LT_ENCODE_BOS | LT_ENCODE_EOS | (o->allow_special ? 0 : LT_ENCODE_NO_SPECIAL);
    lt_tokenizer *tok = o->tokenizer;
    int32_t vocab = lt_tokenizer_n_vocab(tok), bos = lt_tokenizer_bos(tok),
            eos = lt_tokenizer_eos(tok);
    lt_status s = lt_shard_writer_open(&r.train, o->out_path, vocab, bos, eos);
    if (!s && o->val_fraction > 0) s = lt_shard_writer_open(&r.val, o->val_path, vocab, bos, eos);
    for (int i = 0; !s && i < o->n_inputs; i++) s = tokenize_file(&r, o->inputs[i]);
    if (!s) s = finish(&r);
    lt_shard_writer_abort(r.train);
    lt_shard_writer_abort(r.val);
    lt_ids_free(&r.ids);
    return s;
}
