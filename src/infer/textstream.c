// textstream.c: token ids -> showable text, split into reasoning and content
// (textstream.h). Three stages, each holding back only what it cannot decide
// yet:
//
//   token bytes -> UTF-8 assembly -> `held` -> thinking parser -> reasoning
//                                                              -> content text
//   content text -> `pending` -> stop strings -> content
//
// The thinking parser is a three-phase machine: START (DETECT mode only:
// could the answer still begin with "<think>"?), THINK (inside the section:
// look for "</think>", hold a possible partial marker and trailing
// whitespace), CONTENT (everything after; stop strings apply here).
#include "lathe/textstream.h"

#include <stdlib.h>
#include <string.h>

static const char lt_replacement_char[] = "\xEF\xBF\xBD"; // U+FFFD

typedef enum { LT_PHASE_START, LT_PHASE_THINK, LT_PHASE_CONTENT } lt_phase;

struct lt_textstream {
    const lt_tokenizer *tok;
    lt_think_mode think;
    int32_t think_budget;
    bool keep_special;
    char *open_marker, *close_marker; // "<think>", "</think>": the template's, trimmed
    size_t open_len, close_len;
    const char *close_text; // the template's think_close
    char **stops;           // (n_stops) owned copies
    size_t *stop_lens;      // (n_stops)
    int n_stops;
    int32_t *stop_tokens; // (n_stop_tokens)
    int n_stop_tokens;

    uint8_t utf8[4];          // the bytes of an incomplete character
    int utf8_n, utf8_need;    // bytes held, bytes still expected
    uint8_t utf8_lo, utf8_hi; // the range the next byte must lie in
    lt_bytes held;            // valid text the thinking parser has not decided on
    lt_bytes pending;         // content that could still begin a stop string
    lt_bytes reasoning, content;
    lt_phase phase;
    bool trim_reasoning, trim_content; // drop leading whitespace still to come
    lt_textstream_stats stats;
    size_t mark_reasoning, mark_content; // lengths when the current call began
};

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// ---------------------------------------------------------------- UTF-8

// For a lead byte: how many continuation bytes follow and the range the
// first of them must lie in (which rules out overlong forms, surrogates and
// code points above U+10FFFF). False for bytes that cannot lead.
static bool utf8_lead(uint8_t c, int *need, uint8_t *lo, uint8_t *hi) {
    *lo = 0x80, *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        *need = 1;
    else if (c == 0xE0)
        *need = 2, *lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        *need = 2;
    else if (c == 0xED)
        *need = 2, *hi = 0x9F;
    else if (c == 0xF0)
        *need = 3, *lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        *need = 3;
    else if (c == 0xF4)
        *need = 3, *hi = 0x8F;
    else
        return false;
    return true;
}

static bool utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i++], lo, hi;
        int need;
        if (c < 0x80) continue;
        if (!utf8_lead(c, &need, &lo, &hi)) return false;
        for (; need > 0; need--, lo = 0x80, hi = 0xBF) {
            if (i >= n || (uint8_t)s[i] < lo || (uint8_t)s[i] > hi) return false;
            i++;
        }
    }
    return true;
}

// Appends the complete characters among `n` more bytes to `held`.
static lt_status utf8_feed(lt_textstream *ts, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = bytes[i];
        if (ts->utf8_need > 0) {
            if (c >= ts->utf8_lo && c <= ts->utf8_hi) {
                ts->utf8[ts->utf8_n++] = c;
                ts->utf8_lo = 0x80, ts->utf8_hi = 0xBF;
                if (--ts->utf8_need == 0) {
                    LT_TRY(lt_bytes_append(&ts->held, ts->utf8, (size_t)ts->utf8_n));
                    ts->utf8_n = 0;
                }
                continue;
            }
            // the partial character can never complete; c is looked at afresh
            LT_TRY(lt_bytes_append(&ts->held, lt_replacement_char, 3));
            ts->utf8_need = 0, ts->utf8_n = 0;
        }
        if (c < 0x80) {
            LT_TRY(lt_bytes_append(&ts->held, &c, 1));
        } else if (utf8_lead(c, &ts->utf8_need, &ts->utf8_lo, &ts->utf8_hi)) {
            ts->utf8[0] = c;
            ts->utf8_n = 1;
        } else {
            LT_TRY(lt_bytes_append(&ts->held, lt_replacement_char, 3));
        }
    }
    return NULL;
}

static lt_status utf8_flush(lt_textstream *ts) {
    if (ts->utf8_need == 0) return NULL;
    ts->utf8_need = 0, ts->utf8_n = 0;
    return lt_bytes_append(&ts->held, lt_replacement_char, 3);
}

// ---------------------------------------------------------------- text helpers

// First position of needle in hay, or SIZE_MAX.
static size_t find(const char *hay, size_t n, const char *needle, size_t len) {
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(hay + i, needle, len) == 0) return i;
    return SIZE_MAX;
}

// Length of the longest suffix of s that is a proper prefix of `word`.
static size_t partial_suffix(const char *s, size_t n, const char *word, size_t len) {
    for (size_t k = len - 1 < n ? len - 1 : n; k > 0; k--)
        if (memcmp(s + n - k, word, k) == 0) return k;
    return 0;
}

static size_t rtrim_len(const char *s, size_t n) {
    while (n > 0 && is_space(s[n - 1])) n--;
    return n;
}

// Removes the first n bytes of b.
static void consume(lt_bytes *b, size_t n) {
    if (n == 0) return;
    memmove(b->data, b->data + n, b->n - n);
    b->n -= n;
    b->data[b->n] = '\0';
}

static void drop_leading_space(lt_bytes *b) {
    size_t n = 0;
    while (n < b->n && is_space(b->data[n])) n++;
    if (n) consume(b, n);
}

// ---------------------------------------------------------------- stop strings

// Content text enters here: whatever cannot begin a stop string goes out,
// a possible beginning waits in `pending`, a complete stop string stops.
static lt_status stop_feed(lt_textstream *ts, const char *s, size_t n) {
    if (ts->n_stops == 0) return lt_bytes_append(&ts->content, s, n);
    LT_TRY(lt_bytes_append(&ts->pending, s, n));
    lt_bytes *p = &ts->pending;
    size_t first = SIZE_MAX;
    for (int j = 0; j < ts->n_stops; j++) {
        size_t at = find(p->data, p->n, ts->stops[j], ts->stop_lens[j]);
        if (at < first) first = at;
    }
    if (first != SIZE_MAX) {
        LT_TRY(lt_bytes_append(&ts->content, p->data, first));
        p->n = 0;
        ts->stats.stop = LT_STOP_STRING;
        return NULL;
    }
    size_t keep = 0;
    for (int j = 0; j < ts->n_stops; j++) {
        size_t k = partial_suffix(p->data, p->n, ts->stops[j], ts->stop_lens[j]);
        if (k > keep) keep = k;
    }
    LT_TRY(lt_bytes_append(&ts->content, p->data, p->n - keep));
    consume(p, p->n - keep);
    return NULL;
}

// ---------------------------------------------------------------- thinking parser

// Moves what can be decided from `held` to the outputs; `final` decides
// everything (the stream ends).
static lt_status parse(lt_textstream *ts, bool final) {
    lt_bytes *h = &ts->held;
    for (;;) {
        if (ts->stats.stop == LT_STOP_STRING || h->n == 0) return NULL;
        if (ts->phase == LT_PHASE_START) {
            size_t ws = 0;
            while (ws < h->n && is_space(h->data[ws])) ws++;
            const char *rest = h->data + ws;
            size_t n_rest = h->n - ws;
            if (n_rest >= ts->open_len && memcmp(rest, ts->open_marker, ts->open_len) == 0) {
                consume(h, ws + ts->open_len);
                ts->phase = LT_PHASE_THINK;
                ts->stats.thinking = ts->stats.thought = true;
                continue;
            }
            bool may_open = n_rest < ts->open_len && memcmp(rest, ts->open_marker, n_rest) == 0;
            if (may_open && !final) return NULL;
            ts->phase = LT_PHASE_CONTENT;
        } else if (ts->phase == LT_PHASE_THINK) {
            if (ts->trim_reasoning) {
                drop_leading_space(h);
                if (h->n == 0) return NULL;
                ts->trim_reasoning = false;
            }
            size_t at = find(h->data, h->n, ts->close_marker, ts->close_len);
            if (at != SIZE_MAX) {
                LT_TRY(lt_bytes_append(&ts->reasoning, h->data, rtrim_len(h->data, at)));
                consume(h, at + ts->close_len);
                ts->phase = LT_PHASE_CONTENT;
                ts->stats.thinking = false;
                continue;
            }
            // hold a possible partial "</think>" and the whitespace before it
            size_t keep =
                final ? 0 : partial_suffix(h->data, h->n, ts->close_marker, ts->close_len);
            size_t out = rtrim_len(h->data, h->n - keep);
            LT_TRY(lt_bytes_append(&ts->reasoning, h->data, out));
            consume(h, final ? h->n : out);
            return NULL;
        } else {
            if (ts->trim_content) {
                drop_leading_space(h);
                if (h->n == 0) return NULL;
                ts->trim_content = false;
            }
            LT_TRY(stop_feed(ts, h->data, h->n));
            consume(h, h->n);
            return NULL;
        }
    }
}

// Everything held goes out: the ending of finish and of a stop token.
static lt_status flush(lt_textstream *ts) {
    LT_TRY(utf8_flush(ts));
    LT_TRY(parse(ts, true));
    if (ts->stats.stop == LT_STOP_STRING) return NULL;
    LT_TRY(lt_bytes_append(&ts->content, ts->pending.data, ts->pending.n));
    ts->pending.n = 0;
    return NULL;
}

// ---------------------------------------------------------------- calls

static void begin_call(lt_textstream *ts) {
    ts->mark_reasoning = ts->reasoning.n;
    ts->mark_content = ts->content.n;
}

static void end_call(lt_textstream *ts, lt_textstream_delta *delta) {
    ts->stats.budget_reached = ts->phase == LT_PHASE_THINK && ts->think_budget >= 0 &&
                               ts->stats.n_thinking_tokens >= ts->think_budget;
    if (!delta) return;
    delta->reasoning = ts->reasoning.data ? ts->reasoning.data + ts->mark_reasoning : "";
    delta->n_reasoning = ts->reasoning.n - ts->mark_reasoning;
    delta->content = ts->content.data ? ts->content.data + ts->mark_content : "";
    delta->n_content = ts->content.n - ts->mark_content;
    delta->stop = ts->stats.stop;
    delta->budget_reached = ts->stats.budget_reached;
}

static const char *stop_name(lt_stop_reason r) {
    return r == LT_STOP_STRING ? "a stop string" : r == LT_STOP_TOKEN ? "a stop token" : "finish";
}

static bool is_marker(const lt_textstream *ts, const char *bytes, size_t len) {
    return (len == ts->open_len && memcmp(bytes, ts->open_marker, len) == 0) ||
           (len == ts->close_len && memcmp(bytes, ts->close_marker, len) == 0);
}

lt_status lt_textstream_push(lt_textstream *ts, int32_t id, bool forced,
                             lt_textstream_delta *delta) {
    begin_call(ts);
    if (ts->stats.stop != LT_STOP_NONE)
        return lt_error(LT_ERR_ARG, "textstream: token %ld pushed after the stream stopped (%s)",
                        (long)id, stop_name(ts->stats.stop));
    size_t len = 0;
    const char *bytes = lt_tokenizer_token(ts->tok, id, &len);
    if (!bytes)
        return lt_error(LT_ERR_RANGE, "textstream: token id %ld is not in the vocabulary (%ld ids)",
                        (long)id, (long)lt_tokenizer_n_vocab(ts->tok));
    ts->stats.n_tokens++;
    if (forced) ts->stats.n_forced++;
    for (int i = 0; i < ts->n_stop_tokens; i++) {
        if (ts->stop_tokens[i] != id) continue;
        LT_TRY(flush(ts));
        if (ts->stats.stop == LT_STOP_NONE) ts->stats.stop = LT_STOP_TOKEN;
        end_call(ts, delta);
        return NULL;
    }
    if (ts->phase == LT_PHASE_THINK && !forced) ts->stats.n_thinking_tokens++;
    bool silent =
        !ts->keep_special && lt_tokenizer_is_special(ts->tok, id) && !is_marker(ts, bytes, len);
    if (!silent) {
        LT_TRY(utf8_feed(ts, (const uint8_t *)bytes, len));
        LT_TRY(parse(ts, false));
    }
    end_call(ts, delta);
    return NULL;
}

lt_status lt_textstream_finish(lt_textstream *ts, lt_textstream_delta *delta) {
    begin_call(ts);
    if (ts->stats.stop == LT_STOP_NONE) {
        LT_TRY(flush(ts));
        if (ts->stats.stop == LT_STOP_NONE) ts->stats.stop = LT_STOP_FINISHED;
    }
    end_call(ts, delta);
    return NULL;
}

const char *lt_textstream_close_text(const lt_textstream *ts) { return ts->close_text; }

const char *lt_textstream_reasoning(const lt_textstream *ts, size_t *len) {
    if (len) *len = ts->reasoning.n;
    return ts->reasoning.data ? ts->reasoning.data : "";
}

const char *lt_textstream_content(const lt_textstream *ts, size_t *len) {
    if (len) *len = ts->content.n;
    return ts->content.data ? ts->content.data : "";
}

lt_textstream_stats lt_textstream_get_stats(const lt_textstream *ts) { return ts->stats; }

// ---------------------------------------------------------------- lifetime

lt_textstream_opts lt_textstream_opts_default(void) {
    return (lt_textstream_opts){.think = LT_THINK_DETECT, .think_budget = -1};
}

// A copy of s without its leading and trailing whitespace (lt_free it).
static lt_status trimmed_copy(const char *s, char **out, size_t *len) {
    while (*s && is_space(*s)) s++;
    size_t n = rtrim_len(s, strlen(s));
    LT_TRY(lt_alloc((void **)out, n + 1, "textstream marker"));
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    *len = n;
    return NULL;
}

static lt_status check_opts(const lt_tokenizer *tok, const lt_textstream_opts *o,
                            const lt_chat_template *tpl) {
    if (!tok) return lt_error(LT_ERR_ARG, "textstream: no tokenizer given");
    if (o->think != LT_THINK_DETECT && o->think != LT_THINK_OPEN && o->think != LT_THINK_NONE)
        return lt_error(LT_ERR_ARG, "textstream: think is %d (not an lt_think_mode)",
                        (int)o->think);
    if (!tpl) return lt_error(LT_ERR_ARG, "textstream: the default chat template is missing");
    if (!tpl->think_open || !tpl->think_close)
        return lt_error(LT_ERR_ARG, "textstream: template '%s' has no thinking markers",
                        tpl->name ? tpl->name : "?");
    if (o->think_budget < -1)
        return lt_error(LT_ERR_ARG,
                        "textstream: think_budget is %ld (must be >= 0, or -1 for no budget)",
                        (long)o->think_budget);
    if (o->n_stop_strings < 0 || (o->n_stop_strings > 0 && !o->stop_strings))
        return lt_error(LT_ERR_ARG, "textstream: n_stop_strings is %d with %s stop_strings",
                        o->n_stop_strings, o->stop_strings ? "" : "no");
    for (int i = 0; i < o->n_stop_strings; i++) {
        const char *s = o->stop_strings[i];
        if (!s || !*s) return lt_error(LT_ERR_ARG, "textstream: stop_strings[%d] is empty", i);
        if (!utf8_valid(s, strlen(s)))
            return lt_error(LT_ERR_ARG,
                            "textstream: stop_strings[%d] is not valid UTF-8 (it could "
                            "never match the decoded text)",
                            i);
    }
    if (o->n_stop_tokens < 0 || (o->n_stop_tokens > 0 && !o->stop_tokens))
        return lt_error(LT_ERR_ARG, "textstream: n_stop_tokens is %d with %s stop_tokens",
                        o->n_stop_tokens, o->stop_tokens ? "" : "no");
    for (int i = 0; i < o->n_stop_tokens; i++)
        if (!lt_tokenizer_token(tok, o->stop_tokens[i], NULL))
            return lt_error(LT_ERR_ARG,
                            "textstream: stop_tokens[%d] = %ld is not in the vocabulary (%ld ids)",
                            i, (long)o->stop_tokens[i], (long)lt_tokenizer_n_vocab(tok));
    return NULL;
}

static lt_status setup(lt_textstream *ts, const lt_textstream_opts *o,
                       const lt_chat_template *tpl) {
    LT_TRY(trimmed_copy(tpl->think_open, &ts->open_marker, &ts->open_len));
    LT_TRY(trimmed_copy(tpl->think_close, &ts->close_marker, &ts->close_len));
    if (o->think != LT_THINK_NONE && (ts->open_len == 0 || ts->close_len == 0))
        return lt_error(LT_ERR_ARG, "textstream: template '%s' has empty thinking markers",
                        tpl->name ? tpl->name : "?");
    if (o->n_stop_strings > 0) {
        LT_TRY(lt_calloc((void **)&ts->stops, (size_t)o->n_stop_strings, sizeof *ts->stops,
                         "textstream stop strings"));
        LT_TRY(lt_calloc((void **)&ts->stop_lens, (size_t)o->n_stop_strings, sizeof *ts->stop_lens,
                         "textstream stop strings"));
        for (; ts->n_stops < o->n_stop_strings; ts->n_stops++) {
            ts->stops[ts->n_stops] = lt_strdup(o->stop_strings[ts->n_stops]);
            if (!ts->stops[ts->n_stops])
                return lt_error_nomem("a copy of a stop string",
                                      strlen(o->stop_strings[ts->n_stops]) + 1);
            ts->stop_lens[ts->n_stops] = strlen(ts->stops[ts->n_stops]);
        }
    }
    if (o->n_stop_tokens > 0) {
        LT_TRY(lt_alloc((void **)&ts->stop_tokens, (size_t)o->n_stop_tokens * sizeof(int32_t),
                        "textstream stop tokens"));
        memcpy(ts->stop_tokens, o->stop_tokens, (size_t)o->n_stop_tokens * sizeof(int32_t));
        ts->n_stop_tokens = o->n_stop_tokens;
    }
    return NULL;
}

lt_status lt_textstream_init(lt_textstream **out, const lt_tokenizer *tok,
                             const lt_textstream_opts *opts) {
    *out = NULL;
    lt_textstream_opts defaults = lt_textstream_opts_default();
    const lt_textstream_opts *o = opts ? opts : &defaults;
    const lt_chat_template *tpl = o->tpl ? o->tpl : lt_chat_template_get("llama3");
    LT_TRY(check_opts(tok, o, tpl));
    lt_textstream *ts = NULL;
    LT_TRY(lt_calloc((void **)&ts, 1, sizeof *ts, "textstream"));
    ts->tok = tok;
    ts->think = o->think;
    ts->think_budget = o->think_budget;
    ts->keep_special = o->keep_special;
    ts->close_text = tpl->think_close;
    lt_status st = setup(ts, o, tpl);
    if (st) {
        lt_textstream_free(ts);
        return st;
    }
    ts->phase = o->think == LT_THINK_DETECT ? LT_PHASE_START
                : o->think == LT_THINK_OPEN ? LT_PHASE_THINK
                                            : LT_PHASE_CONTENT;
    ts->stats.thinking = ts->stats.thought = o->think == LT_THINK_OPEN;
    ts->trim_reasoning = true;
    ts->trim_content = o->think != LT_THINK_NONE;
    end_call(ts, NULL);
    *out = ts;
    return NULL;
}

void lt_textstream_free(lt_textstream *ts) {
    if (!ts) return;
    lt_free(ts->open_marker);
    lt_free(ts->close_marker);
    for (int i = 0; i < ts->n_stops; i++) free(ts->stops[i]);
    lt_free(ts->stops);
    lt_free(ts->stop_lens);
    lt_free(ts->stop_tokens);
    lt_bytes_free(&ts->held);
    lt_bytes_free(&ts->pending);
    lt_bytes_free(&ts->reasoning);
    lt_bytes_free(&ts->content);
    lt_free(ts);
}
