// api.c: the OpenAI-compatible request and response formats of `lathe
// serve` — a chat or text completion request becomes a job (prompt ids,
// sampling, stops, the reasoning toggle), and a job's text becomes the
// chat.completion / text_completion JSON or its server-sent chunks. Every
// malformed field gets an error naming it, with the status OpenAI uses.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve.h"
#include "base/json.h"

void lt_serve_error_set(lt_serve_error *err, int status, const char *type, const char *param,
                        const char *code, const char *fmt, ...) {
    err->status = status;
    err->type = type;
    err->param = param;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

char *lt_serve_error_json(const lt_serve_error *err) {
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", err->message);
    cJSON_AddStringToObject(e, "type", err->type ? err->type : "invalid_request_error");
    if (err->param)
        cJSON_AddStringToObject(e, "param", err->param);
    else
        cJSON_AddNullToObject(e, "param");
    if (err->code)
        cJSON_AddStringToObject(e, "code", err->code);
    else
        cJSON_AddNullToObject(e, "code");
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

#define BAD(param, ...) \
    (lt_serve_error_set(err, 400, "invalid_request_error", param, NULL, __VA_ARGS__), false)

// Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
static bool utf8_valid(const char *text) {
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        unsigned c = *s;
        int n = c < 0x80             ? 0
                : (c & 0xE0) == 0xC0 ? 1
                : (c & 0xF0) == 0xE0 ? 2
                : (c & 0xF8) == 0xF0 ? 3
                                     : -1;
        if (n < 0 || (n == 1 && c < 0xC2) || c > 0xF4) return false;
        unsigned cp = n == 0 ? c : c & (0x3F >> n);
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        s += n + 1;
    }
    return true;
}

// A text field: a string, or (for message content) an array of {"type":"text","text":...} parts.
static bool get_text(const cJSON *v, const char *param, bool parts, lt_bytes *out,
                     lt_serve_error *err) {
    if (cJSON_IsString(v)) {
        if (!utf8_valid(v->valuestring)) return BAD(param, "'%s' is not valid UTF-8", param);
        lt_status s = lt_bytes_append(out, v->valuestring, strlen(v->valuestring));
        if (s) lt_status_free(s);
        return s ? BAD(param, "out of memory while copying '%s'", param) : true;
    }
    if (!parts || !cJSON_IsArray(v)) return BAD(param, "'%s' must be a string", param);
    const cJSON *part;
    cJSON_ArrayForEach(part, v) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 ||
            !cJSON_IsString(text))
            return BAD(param,
                       "'%s': only text parts ({\"type\": \"text\", \"text\": ...}) are supported",
                       param);
        if (!get_text(text, param, false, out, err)) return false;
    }
    return true;
}

static bool get_number(const cJSON *req, const char *key, double lo, double hi, double *out,
                       lt_serve_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v)) return BAD(key, "'%s' must be a number", key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return BAD(key, "'%s' must be between %g and %g", key, lo, hi);
    *out = v->valuedouble;
    return true;
}

static bool get_int(const cJSON *req, const char *key, double lo, double hi, int64_t *out,
                    bool *set, lt_serve_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
        return BAD(key, "'%s' must be an integer", key);
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return BAD(key, "'%s' must be between %.0f and %.0f", key, lo, hi);
    *out = (int64_t)v->valuedouble;
    if (set) *set = true;
    return true;
}

static bool get_bool(const cJSON *req, const char *key, bool *out, lt_serve_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, key);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsBool(v)) return BAD(key, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return true;
}

static bool add_stop(lt_serve_job *job, const cJSON *v, lt_serve_error *err) {
    if (!cJSON_IsString(v)) return BAD("stop", "'stop' must be a string or an array of strings");
    if (!v->valuestring[0]) return BAD("stop", "'stop' holds an empty string");
    if (!utf8_valid(v->valuestring)) return BAD("stop", "'stop' is not valid UTF-8");
    if (job->params.n_stop >= 4) return BAD("stop", "'stop' holds more than 4 strings");
    char *copy = strdup(v->valuestring);
    if (!copy) return BAD("stop", "out of memory while copying a 'stop' string");
    job->stop[job->params.n_stop] = copy;
    job->params.stop[job->params.n_stop++] = copy;
    return true;
}

// The fields chat and text completions share: model, sampling, stops, limits, streaming.
static bool parse_common(const lt_serve_model *m, const cJSON *req, lt_serve_request *r,
                         lt_serve_job *job, int64_t *max_tokens, bool *max_set,
                         lt_serve_error *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(req, "model");
    if (model && !cJSON_IsNull(model)) {
        if (!cJSON_IsString(model)) return BAD("model", "'model' must be a string");
        if (strcmp(model->valuestring, m->name) != 0) {
            lt_serve_error_set(err, 404, "invalid_request_error", "model", "model_not_found",
                               "The model '%.200s' does not exist; this server serves '%.200s'",
                               model->valuestring, m->name);
            return false;
        }
    }
    lt_sampler_params *sp = &job->params.sampling;
    double t = 1, top_p = 1, // OpenAI's defaults
        presence = 0, frequency = 0;
    int64_t n = 1, seed = 0;
    bool seed_set = false;
    if (!get_number(req, "temperature", 0, 2, &t, err) ||
        !get_number(req, "top_p", 0, 1, &top_p, err) ||
        !get_number(req, "presence_penalty", -2, 2, &presence, err) ||
        !get_number(req, "frequency_penalty", -2, 2, &frequency, err) ||
        !get_int(req, "seed", 0, 9007199254740991.0, &seed, &seed_set, err) ||
        !get_int(req, "n", 1, 1e9, &n, NULL, err) ||
        !get_int(req, "max_tokens", 1, 1e15, max_tokens, max_set, err) ||
        !get_int(req, "max_completion_tokens", 1, 1e15, max_tokens, max_set, err) ||
        !get_bool(req, "stream", &r->stream, err) ||
        !get_bool(req, "ignore_eos", &job->params.ignore_eos, err))
        return false;
    if (n != 1) return BAD("n", "'n' must be 1: this server makes one choice per request");
    if (top_p == 0) return BAD("top_p", "'top_p' must be greater than 0");
    sp->temperature = (float)t;
    sp->top_p = (float)top_p;
    sp->presence_penalty = (float)presence;
    sp->frequency_penalty = (float)frequency;
    if (seed_set) sp->seed = (uint64_t)seed;
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(req, "stream_options");
    if (opts && !cJSON_IsNull(opts)) {
        if (!cJSON_IsObject(opts))
            return BAD("stream_options", "'stream_options' must be an object");
        if (!get_bool(opts, "include_usage", &r->include_usage, err)) return false;
    }
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(req, "stop");
    if (cJSON_IsArray(stop)) {
        const cJSON *s;
        cJSON_ArrayForEach(s, stop) if (!add_stop(job, s, err)) return false;
    } else if (stop && !cJSON_IsNull(stop) && !add_stop(job, stop, err)) {
        return false;
    }
    if (*max_set && *max_tokens > m->max_tokens)
        return BAD("max_tokens", "'max_tokens' is %lld; this server allows at most %lld",
                   (long long)*max_tokens, (long long)m->max_tokens);
    return true;
}

// The chat messages, rendered through the template with the reasoning toggle:
// a "reasoning" field wins over the system message's toggle line.
static bool render_chat(const lt_serve_model *m, const cJSON *req, lt_serve_request *r,
                        lt_serve_job *job, lt_serve_error *err) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
    if (!msgs) return BAD("messages", "'messages' is required");
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
        return BAD("messages", "'messages' must be a non-empty array");
    int n = cJSON_GetArraySize(msgs);
    lt_bytes *texts = calloc((size_t)n + 1, sizeof *texts);
    lt_chat_message *out = calloc((size_t)n + 1, sizeof *out);
    lt_bytes sys = {0};
    bool ok = texts && out;
    if (!ok) (void)BAD("messages", "out of memory while parsing the request's messages");
    const char *system = NULL;
    int k = 1; // out[0]: the system message
    for (int i = 0; ok && i < n; i++) {
        const cJSON *msg = cJSON_GetArrayItem(msgs, i);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (!cJSON_IsObject(msg) || !cJSON_IsString(role)) {
            ok = BAD("messages", "messages[%d] must be an object with a string 'role'", i);
            break;
        }
        const char *rn = role->valuestring;
        if (strcmp(rn, "developer") == 0) rn = "system";
        if (strcmp(rn, "system") && strcmp(rn, "user") && strcmp(rn, "assistant") &&
            strcmp(rn, "tool")) {
            ok = BAD("messages",
                     "messages[%d]: unknown role '%.40s' (system, user, assistant, tool)", i, rn);
            break;
        }
        bool null_ok = strcmp(rn, "assistant") == 0 && (!content || cJSON_IsNull(content));
        if (!null_ok) {
            char param[48];
            snprintf(param, sizeof param, "messages[%d].content", i);
            if (!content) {
                ok = BAD("messages", "messages[%d] has no 'content'", i);
                break;
            }
            if (!get_text(content, "content", true, &texts[i], err)) {
                snprintf(err->message, sizeof err->message,
                         "%s must be a string (or text parts) of valid UTF-8", param);
                err->param = "messages";
                ok = false;
                break;
            }
        }
        if (strcmp(rn, "system") == 0) {
            if (i != 0) {
                ok = BAD("messages", "messages[%d]: a system message must come first", i);
                break;
            }
            system = texts[i].data ? texts[i].data : "";
            continue;
        }
        out[k++] = (lt_chat_message){rn, texts[i].data ? texts[i].data : "", NULL};
    }
    const char *rest = "";
    lt_reasoning mode = system ? lt_chat_reasoning_mode(m->tpl, system, &rest) : LT_REASONING_OFF;
    const cJSON *reasoning = cJSON_GetObjectItemCaseSensitive(req, "reasoning");
    if (ok && reasoning && !cJSON_IsNull(reasoning)) {
        if (!cJSON_IsString(reasoning) ||
            (strcmp(reasoning->valuestring, "on") && strcmp(reasoning->valuestring, "off")))
            ok = BAD("reasoning", "'reasoning' must be \"on\" or \"off\"");
        else
            mode = strcmp(reasoning->valuestring, "on") == 0 ? LT_REASONING_ON : LT_REASONING_OFF;
    }
    r->reasoning_on = mode == LT_REASONING_ON;
    if (ok) {
        lt_status s = lt_chat_system_text(m->tpl, mode, rest, &sys);
        if (!s) {
            out[0] = (lt_chat_message){"system", sys.data, NULL};
            pthread_mutex_lock(m->tok_mu);
            s = lt_chat_render(m->tok, m->tpl, out, (size_t)k, LT_CHAT_GENERATION_PROMPT,
                               &job->prompt, NULL);
            pthread_mutex_unlock(m->tok_mu);
        }
        if (s) ok = BAD("messages", "%s", lt_status_message(s));
        lt_status_free(s);
    }
    for (int i = 0; texts && i < n; i++) lt_bytes_free(&texts[i]);
    free(texts);
    free(out);
    lt_bytes_free(&sys);
    return ok;
}

static bool render_text(const lt_serve_model *m, const cJSON *req, lt_serve_job *job,
                        lt_serve_error *err) {
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(req, "prompt");
    if (!prompt) return BAD("prompt", "'prompt' is required");
    if (cJSON_IsArray(prompt)) {
        if (cJSON_GetArraySize(prompt) != 1)
            return BAD("prompt", "'prompt' as an array must hold exactly one string");
        prompt = cJSON_GetArrayItem(prompt, 0);
    }
    lt_bytes text = {0};
    if (!get_text(prompt, "prompt", false, &text, err)) return false;
    if (text.n == 0) {
        lt_bytes_free(&text);
        return BAD("prompt", "'prompt' is empty");
    }
    pthread_mutex_lock(m->tok_mu);
    lt_status s = lt_tokenizer_encode(
        m->tok, text.data, text.n, lt_tokenizer_bos(m->tok) >= 0 ? LT_ENCODE_BOS : 0, &job->prompt);
    pthread_mutex_unlock(m->tok_mu);
    lt_bytes_free(&text);
    bool ok = !s || BAD("prompt", "%s", lt_status_message(s));
    lt_status_free(s);
    return ok;
}

bool lt_serve_parse(const lt_serve_model *m, const char *body, size_t n, lt_serve_request *r,
                    lt_serve_job *job, lt_serve_error *err) {
    cJSON *req = cJSON_ParseWithLength(body, n);
    if (!req) return BAD(NULL, "the body is not valid JSON");
    bool ok = true, max_set = false;
    int64_t max_tokens = 0;
    if (!cJSON_IsObject(req)) ok = BAD(NULL, "the body must be a JSON object");
    if (ok) ok = parse_common(m, req, r, job, &max_tokens, &max_set, err);
    if (ok) ok = r->chat ? render_chat(m, req, r, job, err) : render_text(m, req, job, err);
    if (ok && r->chat) {
        int64_t budget = -1;
        bool budget_set = false;
        ok = get_int(req, "thinking_budget", 0, 1e15, &budget, &budget_set, err);
        if (budget_set) job->params.think_budget = budget;
    }
    cJSON_Delete(req);
    if (!ok) return false;
    int64_t prompt_n = (int64_t)job->prompt.n;
    if (prompt_n >= m->context) {
        lt_serve_error_set(
            err, 400, "invalid_request_error", r->chat ? "messages" : "prompt",
            "context_length_exceeded",
            "The prompt is %lld tokens; this model's context holds %lld (prompt and answer together)",
            (long long)prompt_n, (long long)m->context);
        return false;
    }
    if (max_set && prompt_n + max_tokens > m->context) {
        lt_serve_error_set(
            err, 400, "invalid_request_error", "max_tokens", "context_length_exceeded",
            "The prompt (%lld tokens) and max_tokens (%lld) exceed the context of %lld tokens",
            (long long)prompt_n, (long long)max_tokens, (long long)m->context);
        return false;
    }
    if (!max_set)
        max_tokens = m->context - prompt_n < m->max_tokens ? m->context - prompt_n : m->max_tokens;
    job->params.max_tokens = max_tokens;
    static long long counter;
    snprintf(r->id, sizeof r->id, "%s-%lld%04lld", r->chat ? "chatcmpl" : "cmpl",
             (long long)time(NULL), __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) % 10000);
    r->created = (long long)time(NULL);
    return true;
}

const char *lt_serve_finish_reason(lt_gen_finish f) {
    return f == LT_GEN_LENGTH || f == LT_GEN_CONTEXT ? "length" : "stop";
}

static cJSON *envelope(const lt_serve_model *m, const lt_serve_request *r, bool chunk) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", r->id);
    cJSON_AddStringToObject(root, "object",
                            r->chat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                    : "text_completion");
    cJSON_AddNumberToObject(root, "created", (double)r->created);
    cJSON_AddStringToObject(root, "model", m->name);
    return root;
}

static void add_string_n(cJSON *obj, const char *key, const char *text, size_t n) {
    char *copy = malloc(n + 1);
    if (!copy) return;
    if (n) memcpy(copy, text, n);
    copy[n] = 0;
    cJSON_AddStringToObject(obj, key, copy);
    free(copy);
}

static void add_usage(cJSON *root, const lt_serve_job *job) {
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)job->prompt_tokens);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)job->completion_tokens);
    cJSON_AddNumberToObject(u, "total_tokens",
                            (double)(job->prompt_tokens + job->completion_tokens));
}

static char *print_free(cJSON *root) {
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

char *lt_serve_response_json(const lt_serve_model *m, const lt_serve_request *r,
                             const lt_serve_job *job) {
    cJSON *root = envelope(m, r, false);
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    const char *content = job->content.data ? job->content.data : "";
    if (r->chat) {
        cJSON *msg = cJSON_AddObjectToObject(choice, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        add_string_n(msg, "content", content, job->content.n);
        if (r->reasoning_on || job->reasoning.n)
            add_string_n(msg, "reasoning_content", job->reasoning.data ? job->reasoning.data : "",
                         job->reasoning.n);
    } else { // a text completion has no separate thinking: the texts in the order they came
        lt_bytes all = {0};
        lt_status s =
            lt_bytes_append(&all, job->reasoning.data ? job->reasoning.data : "", job->reasoning.n);
        if (!s) s = lt_bytes_append(&all, content, job->content.n);
        lt_status_free(s);
        add_string_n(choice, "text", all.data ? all.data : "", all.n);
        lt_bytes_free(&all);
    }
    cJSON_AddNullToObject(choice, "logprobs");
    cJSON_AddStringToObject(choice, "finish_reason", lt_serve_finish_reason(job->finish));
    add_usage(root, job);
    return print_free(root);
}

static char *sse(cJSON *root) {
    char *json = print_free(root);
    if (!json) return NULL;
    size_t n = strlen(json) + 9;
    char *out = malloc(n);
    if (out) snprintf(out, n, "data: %s\n\n", json);
    free(json);
    return out;
}

char *lt_serve_chunk(const lt_serve_model *m, const lt_serve_request *r, bool role,
                     const char *reasoning, size_t reasoning_len, const char *content,
                     size_t content_len, const char *finish) {
    cJSON *root = envelope(m, r, true);
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    cJSON_AddNumberToObject(choice, "index", 0);
    if (r->chat) {
        cJSON *delta = cJSON_AddObjectToObject(choice, "delta");
        if (role) {
            cJSON_AddStringToObject(delta, "role", "assistant");
            cJSON_AddStringToObject(delta, "content", "");
            if (r->reasoning_on) cJSON_AddStringToObject(delta, "reasoning_content", "");
        }
        if (reasoning_len) add_string_n(delta, "reasoning_content", reasoning, reasoning_len);
        if (content_len) add_string_n(delta, "content", content, content_len);
    } else {
        lt_bytes all = {0};
        lt_status s = lt_bytes_append(&all, reasoning ? reasoning : "", reasoning_len);
        if (!s) s = lt_bytes_append(&all, content ? content : "", content_len);
        lt_status_free(s);
        add_string_n(choice, "text", all.data ? all.data : "", all.n);
        lt_bytes_free(&all);
    }
    cJSON_AddNullToObject(choice, "logprobs");
    if (finish)
        cJSON_AddStringToObject(choice, "finish_reason", finish);
    else
        cJSON_AddNullToObject(choice, "finish_reason");
    return sse(root);
}

char *lt_serve_usage_chunk(const lt_serve_model *m, const lt_serve_request *r,
                           const lt_serve_job *job) {
    cJSON *root = envelope(m, r, true);
    cJSON_AddArrayToObject(root, "choices");
    add_usage(root, job);
    return sse(root);
}
