// chat.c: rendering conversations through a chat template (a table of
// strings, not code) into text, or into token ids with a loss mask, and the
// reasoning toggle read from the system message.
#include <string.h>

#include "lathe/chat.h"
#include "tokenizer/tok_internal.h"

static const lt_chat_template templates[] = {
    {
        .name = "llama3",
        .begin = "<|begin_of_text|>",
        .header_open = "<|start_header_id|>",
        .header_close = "<|end_header_id|>\n\n",
        .turn_end = "<|eot_id|>",
        .think_open = "<think>\n",
        .think_close = "\n</think>\n\n",
        .toggle_on = "detailed thinking on",
        .toggle_off = "detailed thinking off",
        .jinja = "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + "
                 "message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + "
                 "'<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- "
                 "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
    },
};

const lt_chat_template *lt_chat_template_get(const char *name) {
    for (size_t i = 0; i < sizeof templates / sizeof *templates; i++)
        if (strcmp(templates[i].name, name) == 0) return &templates[i];
    return NULL;
}

// Python's str.isspace(), which Jinja's trim uses: Unicode White_Space plus
// the separators U+001C..U+001F.
static bool python_space(uint32_t cp) {
    return lt_unicode_is_space(cp) || (cp >= 0x1C && cp <= 0x1F);
}

// Trims s[0..n) in place of its pointers: returns the start, sets *len.
static const char *trim(const char *s, size_t *len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t start = 0, end = *len;
    uint32_t cp;
    int k;
    while (start < end && (k = lt_utf8_seq_len(p + start, end - start, &cp)) > 0 &&
           python_space(cp))
        start += (size_t)k;
    while (end > start) {
        size_t back = 1;
        while (back < 4 && back < end - start && (p[end - back] & 0xC0) == 0x80) back++;
        k = lt_utf8_seq_len(p + end - back, back, &cp);
        if (k != (int)back || !python_space(cp)) break;
        end -= back;
    }
    *len = end - start;
    return s + start;
}

static bool starts_with_line(const char *s, const char *line, const char **rest) {
    size_t n = strlen(line);
    if (strncmp(s, line, n) != 0) return false;
    if (s[n] == 0) {
        *rest = s + n;
        return true;
    }
    if (strncmp(s + n, "\n\n", 2) == 0) {
        *rest = s + n + 2;
        return true;
    }
    return false;
}

lt_reasoning lt_chat_reasoning_mode(const lt_chat_template *tpl, const char *system,
                                    const char **rest) {
    const char *after = system ? system : "";
    lt_reasoning mode = LT_REASONING_OFF;
    if (system && starts_with_line(system, tpl->toggle_on, &after))
        mode = LT_REASONING_ON;
    else if (system && starts_with_line(system, tpl->toggle_off, &after))
        mode = LT_REASONING_OFF;
    if (rest) *rest = after;
    return mode;
}

lt_status lt_chat_system_text(const lt_chat_template *tpl, lt_reasoning mode, const char *extra,
                              lt_bytes *out) {
    const char *toggle = mode == LT_REASONING_ON ? tpl->toggle_on : tpl->toggle_off;
    LT_TRY(lt_bytes_append(out, toggle, strlen(toggle)));
    if (extra && *extra) {
        LT_TRY(lt_bytes_append(out, "\n\n", 2));
        LT_TRY(lt_bytes_append(out, extra, strlen(extra)));
    }
    return NULL;
}

// ---------------------------------------------------------------- rendering

// The renderer emits text in runs of equal mask; a sink either collects text
// or encodes each run.
typedef struct {
    lt_tokenizer *tok; // NULL: text only
    lt_ids *ids;
    lt_bytes *mask;
    lt_bytes *text; // text-only output
    lt_bytes run;   // the current run (token mode)
    int run_mask;
} sink;

static lt_status sink_flush(sink *s) {
    if (!s->tok || s->run.n == 0) return NULL;
    size_t before = s->ids->n;
    LT_TRY(lt_tokenizer_encode(s->tok, s->run.data, s->run.n, 0, s->ids));
    if (s->mask) {
        uint8_t m = (uint8_t)s->run_mask;
        for (size_t i = before; i < s->ids->n; i++) LT_TRY(lt_bytes_append(s->mask, &m, 1));
    }
    s->run.n = 0;
    return NULL;
}

static lt_status sink_put(sink *s, const char *text, size_t n, int mask) {
    if (!s->tok) return lt_bytes_append(s->text, text, n);
    if (mask != s->run_mask) {
        LT_TRY(sink_flush(s));
        s->run_mask = mask;
    }
    return lt_bytes_append(&s->run, text, n);
}

static lt_status sink_str(sink *s, const char *text, int mask) {
    return sink_put(s, text, strlen(text), mask);
}

static bool known_role(const char *role) {
    static const char *roles[] = {"system", "user", "assistant", "tool", "ipython"};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strcmp(role, roles[i]) == 0) return true;
    return false;
}

static lt_status check_message(const lt_chat_message *m, size_t i, lt_reasoning mode) {
    if (!m->role || !known_role(m->role))
        return lt_error(LT_ERR_ARG,
                        "message %zu: role '%s' is not one of system, user, assistant, tool, "
                        "ipython",
                        i, m->role ? m->role : "(none)");
    if (!m->content) return lt_error(LT_ERR_ARG, "message %zu (%s): no content", i, m->role);
    if (strcmp(m->role, "system") == 0 && i != 0)
        return lt_error(LT_ERR_ARG, "message %zu: a system message may only come first", i);
    bool has_reasoning = m->reasoning && m->reasoning[0];
    if (has_reasoning && strcmp(m->role, "assistant") != 0)
        return lt_error(LT_ERR_ARG, "message %zu (%s): only assistant messages carry reasoning", i,
                        m->role);
    if (has_reasoning && mode == LT_REASONING_OFF)
        return lt_error(LT_ERR_ARG,
                        "message %zu: reasoning given, but the system message does not turn "
                        "'detailed thinking on'",
                        i);
    return NULL;
}

static lt_status render(sink *s, const lt_chat_template *tpl, const lt_chat_message *messages,
                        size_t n, unsigned flags) {
    lt_reasoning mode = n > 0 && messages[0].role && strcmp(messages[0].role, "system") == 0
                            ? lt_chat_reasoning_mode(tpl, messages[0].content, NULL)
                            : LT_REASONING_OFF;
    if (!(flags & LT_CHAT_NO_BEGIN)) LT_TRY(sink_str(s, tpl->begin, 0));
    for (size_t i = 0; i < n; i++) {
        const lt_chat_message *m = &messages[i];
        LT_TRY(check_message(m, i, mode));
        int learn = strcmp(m->role, "assistant") == 0;
        LT_TRY(sink_str(s, tpl->header_open, 0));
        LT_TRY(sink_str(s, m->role, 0));
        LT_TRY(sink_str(s, tpl->header_close, 0));
        if (learn && mode == LT_REASONING_ON) {
            size_t len = m->reasoning ? strlen(m->reasoning) : 0;
            const char *r = trim(m->reasoning ? m->reasoning : "", &len);
            LT_TRY(sink_str(s, tpl->think_open, 1));
            LT_TRY(sink_put(s, r, len, 1));
            LT_TRY(sink_str(s, tpl->think_close, 1));
        }
        size_t len = strlen(m->content);
        const char *c = trim(m->content, &len);
        LT_TRY(sink_put(s, c, len, learn));
        LT_TRY(sink_str(s, tpl->turn_end, learn));
    }
    if (flags & LT_CHAT_GENERATION_PROMPT) {
        LT_TRY(sink_str(s, tpl->header_open, 0));
        LT_TRY(sink_str(s, "assistant", 0));
        LT_TRY(sink_str(s, tpl->header_close, 0));
    }
    return sink_flush(s);
}

lt_status lt_chat_render(lt_tokenizer *tok, const lt_chat_template *tpl,
                         const lt_chat_message *messages, size_t n, unsigned flags, lt_ids *ids,
                         lt_bytes *mask) {
    sink s = {.tok = tok, .ids = ids, .mask = mask};
    lt_status st = render(&s, tpl, messages, n, flags);
    lt_bytes_free(&s.run);
    return st;
}

lt_status lt_chat_render_text(const lt_chat_template *tpl, const lt_chat_message *messages,
                              size_t n, unsigned flags, lt_bytes *text) {
    sink s = {.text = text};
    LT_TRY(render(&s, tpl, messages, n, flags));
    return lt_bytes_append(text, "", 0);
}
