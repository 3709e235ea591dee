// chat_parse.c: one chat JSONL line into a normalised conversation. Two forms
// come in — OpenAI's {"messages": [...]} and the Llama-Nemotron post-training
// row {"input", "output", "reasoning", "system_prompt"} — and one leaves:
// messages {role, content, reasoning} with the system message written by the
// toggle rule and each assistant's thinking split out of its content.
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lathe/chat_data.h"

void lt_chat_conv_free(lt_chat_conv *c) {
    for (size_t i = 0; i < c->n_strings; i++) lt_free(c->strings[i]);
    lt_free(c->strings);
    lt_free(c->messages);
    memset(c, 0, sizeof *c);
}

// A copy of s[0..n) owned by the conversation.
static lt_status conv_string(lt_chat_conv *c, const char *s, size_t n, const char **out) {
    char **grown;
    LT_TRY(lt_alloc((void **)&grown, (c->n_strings + 1) * sizeof *grown, "chat strings"));
    if (c->n_strings) memcpy(grown, c->strings, c->n_strings * sizeof *grown);
    lt_free(c->strings);
    c->strings = grown;
    char *copy;
    LT_TRY(lt_alloc((void **)&copy, n + 1, "chat string"));
    memcpy(copy, s, n);
    copy[n] = 0;
    c->strings[c->n_strings++] = copy;
    *out = copy;
    return NULL;
}

static lt_status conv_push(lt_chat_conv *c, const char *role, const char *content,
                           const char *reasoning) {
    lt_chat_message *grown;
    LT_TRY(lt_alloc((void **)&grown, (c->n + 1) * sizeof *grown, "chat messages"));
    if (c->n) memcpy(grown, c->messages, c->n * sizeof *grown);
    lt_free(c->messages);
    c->messages = grown;
    lt_chat_message *m = &c->messages[c->n++];
    m->role = role;
    m->content = content;
    m->reasoning = reasoning;
    return NULL;
}

static bool known_role(const char *role) {
    static const char *const roles[] = {"system", "user", "assistant", "tool", "ipython"};
    for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
        if (strcmp(role, roles[i]) == 0) return true;
    return false;
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

// Splits an assistant text into thinking and answer: a leading "<think>"
// (after whitespace) up to "</think>" is the thinking. Without one, all of
// the text is the answer and *reasoning is NULL.
static lt_status split_think(lt_chat_conv *c, const char *text, const char **answer,
                             const char **reasoning, const char *where, const char *field) {
    const char *open = "<think>", *close = "</think>";
    const char *p = text;
    while (is_space(*p)) p++;
    *answer = text;
    *reasoning = NULL;
    if (strncmp(p, open, strlen(open)) != 0) return NULL;
    const char *body = p + strlen(open), *end = strstr(body, close);
    if (!end)
        return lt_error(LT_ERR_FORMAT, "%s: %s opens <think> but never closes it with </think>",
                        where, field);
    LT_TRY(conv_string(c, body, (size_t)(end - body), reasoning));
    *answer = end + strlen(close);
    return NULL;
}

static bool blank(const char *s) {
    if (!s) return true;
    while (is_space(*s)) s++;
    return *s == 0;
}

static lt_status string_field(const cJSON *obj, const char *key, const char **out, bool required,
                              const char *where, const char *what) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required) return lt_error(LT_ERR_FORMAT, "%s: %s has no '%s'", where, what, key);
        return NULL;
    }
    if (!cJSON_IsString(v))
        return lt_error(LT_ERR_FORMAT, "%s: %s: '%s' is not a string", where, what, key);
    *out = v->valuestring;
    return NULL;
}

// Appends the messages of a JSON list (OpenAI message objects).
static lt_status read_messages(lt_chat_conv *c, const cJSON *list, const char *where,
                               const char *field) {
    if (!cJSON_IsArray(list))
        return lt_error(LT_ERR_FORMAT, "%s: '%s' is not a list of messages", where, field);
    size_t i = 0;
    for (const cJSON *m = list->child; m; m = m->next, i++) {
        char what[64];
        snprintf(what, sizeof what, "%s[%zu]", field, i);
        if (!cJSON_IsObject(m))
            return lt_error(LT_ERR_FORMAT, "%s: %s is not an object", where, what);
        const char *role, *content, *rc;
        LT_TRY(string_field(m, "role", &role, true, where, what));
        if (!known_role(role))
            return lt_error(LT_ERR_FORMAT,
                            "%s: %s: unknown role '%s' (system, user, assistant, "
                            "tool or ipython)",
                            where, what, role);
        LT_TRY(string_field(m, "content", &content, true, where, what));
        LT_TRY(string_field(m, "reasoning_content", &rc, false, where, what));
        const char *answer = content, *reasoning = NULL;
        if (strcmp(role, "assistant") == 0) {
            LT_TRY(split_think(c, content, &answer, &reasoning, where, what));
            if (reasoning && !blank(rc))
                return lt_error(LT_ERR_FORMAT,
                                "%s: %s gives its thinking twice, in "
                                "'reasoning_content' and as <think> in 'content'",
                                where, what);
            if (!reasoning) reasoning = rc;
        } else if (!blank(rc)) {
            return lt_error(LT_ERR_FORMAT,
                            "%s: %s: only assistant messages carry "
                            "'reasoning_content'",
                            where, what);
        }
        // Copies of what still lives in the JSON document (split_think's
        // thinking is a copy already).
        const char *r, *a, *t = reasoning;
        LT_TRY(conv_string(c, role, strlen(role), &r));
        LT_TRY(conv_string(c, answer, strlen(answer), &a));
        if (reasoning && reasoning == rc) LT_TRY(conv_string(c, rc, strlen(rc), &t));
        LT_TRY(conv_push(c, r, a, t));
    }
    return NULL;
}

// The checks both forms share once the messages are in place.
static lt_status check_conv(lt_chat_conv *c, const lt_chat_template *tpl, const char *where) {
    lt_reasoning mode = LT_REASONING_OFF;
    bool assistant = false;
    for (size_t i = 0; i < c->n; i++) {
        lt_chat_message *m = &c->messages[i];
        if (strcmp(m->role, "system") == 0) {
            if (i != 0)
                return lt_error(LT_ERR_FORMAT,
                                "%s: message %zu: a system message may only come "
                                "first",
                                where, i);
            mode = lt_chat_reasoning_mode(tpl, m->content, NULL);
        }
        if (strcmp(m->role, "assistant") != 0) continue;
        assistant = true;
        if (blank(m->reasoning)) {
            m->reasoning = NULL; // an empty thinking section carries nothing, in either mode
        } else if (mode == LT_REASONING_OFF) {
            return lt_error(LT_ERR_FORMAT,
                            "%s: message %zu: thinking given, but the system "
                            "message does not turn '%s' (add it, or drop the thinking)",
                            where, i, tpl->toggle_on);
        }
    }
    if (!assistant)
        return lt_error(LT_ERR_FORMAT, "%s: no assistant turn (nothing to learn)", where);
    return NULL;
}

static lt_status read_openai(lt_chat_conv *c, const cJSON *doc, const char *where) {
    return read_messages(c, cJSON_GetObjectItemCaseSensitive(doc, "messages"), where, "messages");
}

// Llama 3 text as the v1 release of the dataset stored it: "<|begin_of_text|>"?
// then <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> per
// message; a final open header (the generation prompt) is dropped.
static lt_status read_rendered(lt_chat_conv *c, const char *text, const lt_chat_template *tpl,
                               const char *where) {
    const char *p = text;
    size_t nb = strlen(tpl->begin), nh = strlen(tpl->header_open), nt = strlen(tpl->turn_end);
    const char *close = "<|end_header_id|>";
    if (strncmp(p, tpl->begin, nb) == 0) p += nb;
    while (*p) {
        if (strncmp(p, tpl->header_open, nh) != 0)
            return lt_error(LT_ERR_FORMAT,
                            "%s: 'input' has text outside a message header near "
                            "byte %zu",
                            where, (size_t)(p - text));
        const char *role = p + nh, *role_end = strstr(role, close);
        if (!role_end)
            return lt_error(LT_ERR_FORMAT, "%s: 'input' has an unclosed message header", where);
        const char *body = role_end + strlen(close), *end = strstr(body, tpl->turn_end);
        while (*body == '\n') body++;
        if (!end && blank(body)) break; // the generation prompt
        if (!end)
            return lt_error(LT_ERR_FORMAT, "%s: 'input' has a message without %s", where,
                            tpl->turn_end);
        const char *r, *a;
        LT_TRY(conv_string(c, role, (size_t)(role_end - role), &r));
        if (!known_role(r))
            return lt_error(LT_ERR_FORMAT, "%s: 'input': unknown role '%s'", where, r);
        LT_TRY(conv_string(c, body, (size_t)(end - body), &a));
        LT_TRY(conv_push(c, r, a, NULL));
        p = end + nt;
    }
    return NULL;
}

// The toggle a Nemotron row asks for: its "reasoning" field, or else a
// toggle line in system_prompt or in the input's own system message; any two
// that disagree are an error. *given is false when none says anything.
static lt_status nemotron_mode(const cJSON *doc, const lt_chat_template *tpl, const char *sys[2],
                               lt_reasoning *mode, bool *given, const char *where) {
    const char *flag;
    *given = false;
    LT_TRY(string_field(doc, "reasoning", &flag, false, where, "the row"));
    if (flag) {
        if (strcmp(flag, "on") != 0 && strcmp(flag, "off") != 0)
            return lt_error(LT_ERR_FORMAT, "%s: 'reasoning' is '%s', expected \"on\" or \"off\"",
                            where, flag);
        *mode = strcmp(flag, "on") == 0 ? LT_REASONING_ON : LT_REASONING_OFF;
        *given = true;
    }
    for (int k = 0; k < 2; k++) {
        const char *rest;
        if (!sys[k]) continue;
        lt_reasoning m = lt_chat_reasoning_mode(tpl, sys[k], &rest);
        if (rest == sys[k]) continue; // no toggle line
        if (*given && m != *mode)
            return lt_error(LT_ERR_FORMAT,
                            "%s: the row asks for reasoning %s, but its system "
                            "text says '%s'",
                            where, *mode == LT_REASONING_ON ? "on" : "off",
                            m == LT_REASONING_ON ? tpl->toggle_on : tpl->toggle_off);
        *mode = m;
        *given = true;
    }
    return NULL;
}

static lt_status read_nemotron(lt_chat_conv *c, const cJSON *doc, const lt_chat_template *tpl,
                               const char *where) {
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(doc, "input");
    const char *output, *system_prompt, *text;
    LT_TRY(string_field(doc, "output", &output, true, where, "the row"));
    LT_TRY(string_field(doc, "system_prompt", &system_prompt, false, where, "the row"));
    lt_chat_conv in = {0};
    lt_status st = NULL;
    if (cJSON_IsString(input)) {
        text = input->valuestring;
        if (strstr(text, tpl->header_open))
            st = read_rendered(&in, text, tpl, where);
        else if (!(st = conv_string(&in, text, strlen(text), &text)))
            st = conv_push(&in, "user", text, NULL);
    } else if (cJSON_IsArray(input)) {
        st = read_messages(&in, input, where, "input");
    } else if (!input || cJSON_IsNull(input)) {
        st = lt_error(LT_ERR_FORMAT, "%s: the row has no 'input'", where);
    } else {
        st = lt_error(LT_ERR_FORMAT, "%s: 'input' must be a list of messages or a string", where);
    }
    // The rows' system text: system_prompt and the input's own system message.
    const char *sys[2] = {system_prompt, NULL};
    size_t first = 0;
    if (!st && in.n && strcmp(in.messages[0].role, "system") == 0) {
        sys[1] = in.messages[0].content;
        first = 1;
    }
    lt_reasoning mode = LT_REASONING_OFF;
    bool given = false;
    if (!st) st = nemotron_mode(doc, tpl, sys, &mode, &given, where);
    lt_bytes extra = {0}, system = {0};
    for (int k = 0; !st && k < 2; k++) {
        const char *rest = sys[k];
        if (!rest) continue;
        lt_chat_reasoning_mode(tpl, rest, &rest);
        if (!*rest) continue;
        if (extra.n) st = lt_bytes_append(&extra, "\n\n", 2);
        if (!st) st = lt_bytes_append(&extra, rest, strlen(rest));
    }
    if (!st && given)
        st = lt_chat_system_text(tpl, mode, extra.data, &system);
    else if (!st && extra.n)
        st = lt_bytes_append(&system, extra.data, extra.n);
    const char *s;
    if (!st && system.n && !(st = conv_string(c, system.data, system.n, &s)))
        st = conv_push(c, "system", s, NULL);
    // The input's messages (their strings move over), then the output.
    for (size_t i = first; !st && i < in.n; i++) {
        const lt_chat_message *m = &in.messages[i];
        const char *r, *a, *t = NULL;
        st = conv_string(c, m->role, strlen(m->role), &r);
        if (!st) st = conv_string(c, m->content, strlen(m->content), &a);
        if (!st && m->reasoning) st = conv_string(c, m->reasoning, strlen(m->reasoning), &t);
        if (!st) st = conv_push(c, r, a, t);
    }
    if (!st) {
        size_t n = strlen(output), nt = strlen(tpl->turn_end);
        while (n && is_space(output[n - 1])) n--;
        if (n >= nt && memcmp(output + n - nt, tpl->turn_end, nt) == 0) n -= nt; // v1 rows
        const char *out_copy, *answer, *reasoning;
        st = conv_string(c, output, n, &out_copy);
        if (!st) st = split_think(c, out_copy, &answer, &reasoning, where, "'output'");
        if (!st) st = conv_push(c, "assistant", answer, reasoning);
    }
    lt_bytes_free(&extra);
    lt_bytes_free(&system);
    lt_chat_conv_free(&in);
    return st;
}

lt_status lt_chat_parse_line(lt_chat_conv *out, const char *line, size_t len,
                             const lt_chat_template *tpl, const char *where) {
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!doc) {
        size_t col = end && end >= line ? (size_t)(end - line) + 1 : 1;
        return lt_error(LT_ERR_FORMAT, "%s: invalid JSON near column %zu", where, col);
    }
    lt_status st = NULL;
    if (!cJSON_IsObject(doc))
        st = lt_error(LT_ERR_FORMAT, "%s: a line must be a JSON object", where);
    else if (cJSON_GetObjectItemCaseSensitive(doc, "messages"))
        st = read_openai(out, doc, where);
    else if (cJSON_GetObjectItemCaseSensitive(doc, "input") ||
             cJSON_GetObjectItemCaseSensitive(doc, "output"))
        st = read_nemotron(out, doc, tpl, where);
    else
        st = lt_error(LT_ERR_FORMAT,
                      "%s: no 'messages' (OpenAI chat form) and no "
                      "'input'/'output' (Llama-Nemotron form)",
                      where);
    if (!st) st = check_conv(out, tpl, where);
    cJSON_Delete(doc);
    if (st) lt_chat_conv_free(out);
    return st;
}
