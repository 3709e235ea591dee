// http.c: `lathe serve` — an OpenAI-compatible HTTP server on
// libmicrohttpd (one thread per connection). Handlers parse and check a
// request (api.c), queue it for the engine thread (engine.c), then
// wait for its text: the whole JSON answer, or server-sent chunks written as
// the engine produces them. A client that goes away, or a request past the
// timeout, is cancelled so its slot frees; each request leaves one access-log
// line on stderr. The browser chat page (web/) is served at /.
#define _GNU_SOURCE // POLLRDHUP
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/gen_common.h"
#include "serve/serve.h"

static void help(void) {
    printf(
        "usage: lathe serve MODEL [--host H] [--port P] [--parallel N] [options]\n\n"
        "Serves MODEL (a model directory or a .gguf file) over an OpenAI-compatible HTTP API:\n"
        "  POST /v1/chat/completions   chat (stream: true for server-sent events); the\n"
        "                              reasoning toggle is the system line 'detailed thinking\n"
        "                              on|off' or the field reasoning: \"on\"|\"off\" (it wins);\n"
        "                              thinking goes to message.reasoning_content\n"
        "  POST /v1/completions        text completion of a prompt\n"
        "  GET  /v1/models             the model;  GET /health  slots and batch sizes\n"
        "  POST /v1/embeddings         501 (no embedding model yet)\n"
        "Requests share the engine through continuous batching over --parallel slots.\n\n"
        "  -m, --model M     MODEL as a flag\n"
        "  --host H          address to bind (default 127.0.0.1; 0.0.0.0 for every interface)\n"
        "  --port P          TCP port (default 8080; 0 picks a free one, printed on stderr)\n"
        "  --model-name S    the model id clients use (default: MODEL's base name)\n"
        "  --parallel N      sequence slots decoded together (default 4)\n"
        "  --queue N         requests waiting for a slot at most (default 64; beyond: 503)\n"
        "  -c, --ctx N       context per slot (default: the model's, at most 4096)\n"
        "  -n, --max-tokens N the most tokens one request may generate (default: the context)\n"
        "  --max-body BYTES  request body limit (default 1048576; beyond: 413)\n"
        "  --timeout S       seconds a request may take, queue included (default 600)\n"
        "  --api-key KEY     require 'Authorization: Bearer KEY' on /v1/ (LATHE_API_KEY too)\n"
        "  --dtype T         store weights as f32|bf16|f16|q8_0 (default: as given)\n"
        "  -t, --threads N   OpenMP threads\n"
        "  --web DIR         the chat page's files, served at / (default: the source tree's web/)\n"
        "  --verbose         more in the access log (finish reason, time to first token)\n");
}

typedef struct {
    lt_serve_engine engine;
    lt_serve_model model;
    const char *api_key;
    const char *web_dir;
    size_t max_body;
    double timeout;
    bool verbose;
    int in_flight; // requests begun and not completed (atomic)
} server;

enum {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_MODELS,
    ROUTE_CHAT,
    ROUTE_COMPLETIONS,
    ROUTE_EMBEDDINGS,
    ROUTE_STATIC
};

// One HTTP request (MHD's per-request pointer).
typedef struct {
    server *srv;
    struct MHD_Connection *conn;
    int route, status;
    char method[8], path[128];
    lt_bytes body;
    bool body_too_large;
    double start;
    lt_serve_request req;
    lt_serve_job *job;
    bool submitted; // the engine has the job
    // streaming
    lt_bytes pending; // bytes not yet handed to MHD
    size_t pending_off, sent_reasoning, sent_content;
    bool stream_done;
} request;

static int route_of(const char *path) {
    static const struct {
        const char *path;
        int route;
    } routes[] = {{"/health", ROUTE_HEALTH},
                  {"/v1/models", ROUTE_MODELS},
                  {"/v1/chat/completions", ROUTE_CHAT},
                  {"/v1/completions", ROUTE_COMPLETIONS},
                  {"/v1/embeddings", ROUTE_EMBEDDINGS}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(path, routes[i].path) == 0) return routes[i].route;
    if (strncmp(path, "/vendor/", 8) == 0)
        path += 7; // the page's libraries (scripts/fetch-web-deps.sh)
    return strcmp(path, "/") == 0 || (path[0] == '/' && path[1] != '.' && !strchr(path + 1, '/'))
               ? ROUTE_STATIC
               : ROUTE_NONE;
}

// The content type of a page file the server hands out; NULL for any other name
// (only letters, digits, '-', '_' and one extension: nothing outside the folder).
static const char *static_type(const char *name) {
    static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                                           {".js", "text/javascript; charset=utf-8"},
                                           {".css", "text/css; charset=utf-8"},
                                           {".svg", "image/svg+xml"},
                                           {".png", "image/png"},
                                           {".ico", "image/x-icon"}};
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || strchr(dot + 1, '.')) return NULL;
    for (const char *p = name; p < dot; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0) return types[i][1];
    return NULL;
}

static enum MHD_Result send_text(request *rq, int status, const char *type, char *text) {
    if (!text) {
        text = strdup(
            "{\"error\":{\"message\":\"out of memory while writing the response\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        status = 500;
        if (!text) return MHD_NO;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    rq->status = status;
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_error(request *rq, int status, const char *type, const char *param,
                                  const char *code, const char *message) {
    lt_serve_error err;
    lt_serve_error_set(&err, status, type, param, code, "%s", message);
    return send_text(rq, status, "application/json", lt_serve_error_json(&err));
}

// Bearer token check; the comparison takes the same time wherever the strings differ.
static bool authorized(const server *srv, struct MHD_Connection *conn) {
    if (!srv->api_key) return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    const char *given = h + 7, *key = srv->api_key;
    size_t n = strlen(given), k = strlen(key);
    unsigned char diff = n != k;
    for (size_t i = 0; i < k; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)(i < n ? given[i] : 0);
    return diff == 0;
}

// A page file: web/NAME, or web/vendor/NAME for /vendor/NAME. Browsers ask for
// /favicon.ico whatever the page says, so it is the page's SVG icon.
static enum MHD_Result send_static(request *rq) {
    const char *name = strcmp(rq->path, "/") == 0 ? "index.html" : rq->path + 1;
    if (strcmp(name, "favicon.ico") == 0) name = "favicon.svg";
    bool vendor = strncmp(name, "vendor/", 7) == 0;
    const char *type = static_type(vendor ? name + 7 : name);
    char *path = type ? lt_path_join(rq->srv->web_dir, name) : NULL, *data = NULL;
    size_t size = 0;
    lt_status s = path ? lt_file_read_all(path, &data, &size, 8u << 20)
                       : lt_error(LT_ERR_ARG, "not a page file");
    lt_free(path);
    if (s) {
        lt_status_free(s);
        return send_error(rq, 404, "invalid_request_error", NULL, "not_found",
                          "no such endpoint or page; see lathe serve --help");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(size, data, MHD_RESPMEM_MUST_COPY);
    lt_free(data);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    rq->status = 200;
    enum MHD_Result r = MHD_queue_response(rq->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_health(request *rq) {
    lt_serve_engine *se = &rq->srv->engine;
    cJSON *root = cJSON_CreateObject();
    pthread_mutex_lock(&se->mu);
    cJSON_AddStringToObject(root, "status", se->fatal ? "error" : "ok");
    cJSON_AddNumberToObject(root, "slots_busy", se->n_active);
    cJSON_AddNumberToObject(root, "slots_total", se->slots);
    cJSON_AddNumberToObject(root, "queued", se->queued);
    cJSON_AddNumberToObject(root, "batch_current", se->batch_now);
    cJSON_AddNumberToObject(root, "batch_max", se->batch_max);
    cJSON_AddNumberToObject(root, "steps", (double)se->steps);
    if (se->fatal) cJSON_AddStringToObject(root, "error", se->fatal);
    pthread_mutex_unlock(&se->mu);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return send_text(rq, 200, "application/json", text);
}

static enum MHD_Result send_models(request *rq) {
    cJSON *root = cJSON_CreateObject(), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "data"), m);
    cJSON_AddStringToObject(m, "id", rq->srv->model.name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)time(NULL));
    cJSON_AddStringToObject(m, "owned_by", "lathe");
    cJSON_AddNumberToObject(m, "context_length", (double)rq->srv->model.context);
    cJSON_AddNumberToObject(m, "max_tokens",
                            (double)rq->srv->model.max_tokens); // the page caps its setting
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return send_text(rq, 200, "application/json", text);
}

// True when the client closed its end (the request is then cancelled).
static bool client_gone(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return false;
    struct pollfd p = {.fd = info->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

// Waits (mutex held) until `ready` holds, the job ends, the client leaves or the time runs out.
// Returns false when the request was cancelled for the last two.
static bool wait_job(request *rq, bool (*ready)(const request *)) {
    lt_serve_engine *se = &rq->srv->engine;
    while (!rq->job->done && !ready(rq)) {
        if (client_gone(rq->conn) || lt_time_now() - rq->start > rq->srv->timeout) {
            lt_serve_cancel_locked(se, rq->job);
            return false;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&se->progress, &se->mu, &ts);
    }
    return true;
}

static bool never_ready(const request *rq) {
    (void)rq;
    return false;
}

static bool has_news(const request *rq) {
    return rq->job->reasoning.n > rq->sent_reasoning || rq->job->content.n > rq->sent_content;
}

// The error a job ended with (mutex held), or NULL when it finished normally.
static const char *job_failure(const request *rq, bool waited) {
    if (!waited)
        return lt_time_now() - rq->start > rq->srv->timeout
                   ? "the request took longer than the server's --timeout"
                   : "the client went away";
    return rq->job->error;
}

static enum MHD_Result answer_whole(request *rq) {
    lt_serve_engine *se = &rq->srv->engine;
    pthread_mutex_lock(&se->mu);
    bool waited = wait_job(rq, never_ready);
    const char *fail = job_failure(rq, waited);
    char *text = NULL, *failure = fail ? strdup(fail) : NULL;
    if (!fail) text = lt_serve_response_json(&rq->srv->model, &rq->req, rq->job);
    pthread_mutex_unlock(&se->mu);
    if (!failure && fail)
        return send_error(rq, 500, "server_error", NULL, NULL,
                          "out of memory while copying the request's error");
    if (failure) {
        bool timeout = !waited && strstr(failure, "--timeout");
        enum MHD_Result r =
            send_error(rq, timeout ? 504 : 500, timeout ? "timeout_error" : "server_error", NULL,
                       NULL, failure);
        free(failure);
        return r;
    }
    return send_text(rq, 200, "application/json", text);
}

static void pending_add(request *rq, char *text) {
    if (!text) return;
    lt_status s = lt_bytes_append(&rq->pending, text, strlen(text));
    lt_status_free(s);
    free(text);
}

// Fills rq->pending with the next chunks (blocks until there are some).
static void stream_fill(request *rq) {
    lt_serve_engine *se = &rq->srv->engine;
    const lt_serve_model *m = &rq->srv->model;
    pthread_mutex_lock(&se->mu);
    bool waited = wait_job(rq, has_news);
    lt_serve_job *job = rq->job;
    const char *fail = job_failure(rq, waited);
    if (!fail && has_news(rq)) {
        pending_add(rq, lt_serve_chunk(m, &rq->req, false, job->reasoning.data + rq->sent_reasoning,
                                       job->reasoning.n - rq->sent_reasoning,
                                       job->content.data + rq->sent_content,
                                       job->content.n - rq->sent_content, NULL));
        rq->sent_reasoning = job->reasoning.n;
        rq->sent_content = job->content.n;
    }
    if (fail || job->done) {
        if (fail) {
            lt_serve_error err;
            lt_serve_error_set(&err, 500, "server_error", NULL, NULL, "%s", fail);
            char *json = lt_serve_error_json(&err);
            if (json) {
                pending_add(rq, strdup("data: "));
                pending_add(rq, json);
                pending_add(rq, strdup("\n\n"));
            }
        } else {
            pending_add(rq, lt_serve_chunk(m, &rq->req, false, NULL, 0, NULL, 0,
                                           lt_serve_finish_reason(job->finish)));
            if (rq->req.include_usage) pending_add(rq, lt_serve_usage_chunk(m, &rq->req, job));
        }
        pending_add(rq, strdup("data: [DONE]\n\n"));
        rq->stream_done = true;
    }
    pthread_mutex_unlock(&se->mu);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    request *rq = cls;
    while (rq->pending_off == rq->pending.n) {
        if (rq->stream_done) return MHD_CONTENT_READER_END_OF_STREAM;
        rq->pending.n = rq->pending_off = 0;
        stream_fill(rq);
    }
    size_t n = rq->pending.n - rq->pending_off;
    if (n > max) n = max;
    memcpy(buf, rq->pending.data + rq->pending_off, n);
    rq->pending_off += n;
    return (ssize_t)n;
}

static enum MHD_Result answer_stream(request *rq) {
    pending_add(rq,
                lt_serve_chunk(&rq->srv->model, &rq->req, rq->req.chat, NULL, 0, NULL, 0, NULL));
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, rq, NULL);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    rq->status = 200;
    enum MHD_Result r = MHD_queue_response(rq->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result answer_completion(request *rq) {
    server *srv = rq->srv;
    lt_serve_error err;
    rq->req.chat = rq->route == ROUTE_CHAT;
    rq->job = lt_serve_job_new();
    if (!rq->job)
        return send_error(rq, 500, "server_error", NULL, NULL,
                          "out of memory while creating the request's job");
    if (!lt_serve_parse(&srv->model, rq->body.data ? rq->body.data : "", rq->body.n, &rq->req,
                        rq->job, &err))
        return send_text(rq, err.status, "application/json", lt_serve_error_json(&err));
    if (!lt_serve_submit(&srv->engine, rq->job)) {
        char msg[600] = "";
        pthread_mutex_lock(&srv->engine.mu);
        if (srv->engine.fatal || srv->engine.stop)
            snprintf(msg, sizeof msg, "the engine has stopped: %s",
                     srv->engine.fatal ? srv->engine.fatal : "the server is shutting down");
        pthread_mutex_unlock(&srv->engine.mu);
        if (msg[0]) return send_error(rq, 500, "server_error", NULL, NULL, msg);
        return send_error(
            rq, 503, "server_error", NULL, "server_busy",
            "the server is busy: every slot is taken and the queue is full; retry later");
    }
    rq->submitted = true;
    return rq->req.stream ? answer_stream(rq) : answer_whole(rq);
}

static enum MHD_Result dispatch(request *rq) {
    bool get = rq->route == ROUTE_HEALTH || rq->route == ROUTE_MODELS || rq->route == ROUTE_STATIC;
    const char *want = get ? "GET" : "POST";
    if (rq->route == ROUTE_NONE)
        return send_error(rq, 404, "invalid_request_error", NULL, "not_found",
                          "no such endpoint; see lathe serve --help");
    if (rq->route == ROUTE_STATIC && strcmp(rq->method, "GET") != 0)
        return send_error(rq, 404, "invalid_request_error", NULL, "not_found",
                          "no such endpoint; see lathe serve --help");
    if (strcmp(rq->method, want) != 0) {
        char msg[192];
        snprintf(msg, sizeof msg, "%s takes %s", rq->path, want);
        return send_error(rq, 405, "invalid_request_error", NULL, "method_not_allowed", msg);
    }
    if (rq->route == ROUTE_STATIC) return send_static(rq); // the page asks for the key itself
    if (rq->route != ROUTE_HEALTH && !authorized(rq->srv, rq->conn))
        return send_error(rq, 401, "invalid_request_error", NULL, "invalid_api_key",
                          "a valid API key is required: Authorization: Bearer KEY");
    if (rq->body_too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "the request body is larger than the server's limit of %zu bytes",
                 rq->srv->max_body);
        return send_error(rq, 413, "invalid_request_error", NULL, "request_too_large", msg);
    }
    switch (rq->route) {
    case ROUTE_HEALTH: return send_health(rq);
    case ROUTE_MODELS: return send_models(rq);
    case ROUTE_EMBEDDINGS:
        return send_error(rq, 501, "not_implemented_error", NULL, "not_implemented",
                          "embeddings are not available: lathe has no embedding model yet");
    default: return answer_completion(rq);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    server *srv = cls;
    request *rq = *con_cls;
    if (!rq) { // headers only so far
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->srv = srv;
        rq->conn = conn;
        rq->start = lt_time_now();
        snprintf(rq->method, sizeof rq->method, "%s", method);
        snprintf(rq->path, sizeof rq->path, "%s", url);
        rq->route = route_of(url);
        __atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        rq->body_too_large = length && strtoull(length, NULL, 10) > srv->max_body;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) { // a piece of the body
        if (!rq->body_too_large && rq->body.n + *upload_size > srv->max_body)
            rq->body_too_large = true;
        if (!rq->body_too_large) {
            lt_status s = lt_bytes_append(&rq->body, upload, *upload_size);
            if (s) rq->body_too_large = true;
            lt_status_free(s);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)conn;
    server *srv = cls;
    request *rq = *con_cls;
    if (!rq) return;
    long long prompt = 0, completion = 0;
    char extra[160] = "";
    if (rq->job) {
        pthread_mutex_lock(&srv->engine.mu);
        if (!rq->job->done)
            lt_serve_cancel_locked(&srv->engine, rq->job); // the client left mid-answer
        prompt = rq->job->prompt_tokens;
        completion = rq->job->completion_tokens;
        if (srv->verbose && rq->submitted)
            snprintf(
                extra, sizeof extra, " finish=%s cached=%lld ttft=%.3fs reasoning=%s stream=%d",
                rq->job->done ? (rq->job->error ? "error" : lt_gen_finish_name(rq->job->finish))
                              : "cancelled",
                (long long)rq->job->cached_tokens,
                rq->job->first_token_time ? rq->job->first_token_time - rq->start : 0.0,
                rq->req.reasoning_on ? "on" : "off", rq->req.stream);
        pthread_mutex_unlock(&srv->engine.mu);
        lt_serve_release(&srv->engine, rq->job);
    }
    fprintf(stderr, "%s %s %d prompt=%lld completion=%lld %.3fs%s%s\n", rq->method, rq->path,
            rq->status, prompt, completion, lt_time_now() - rq->start,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)", extra);
    lt_bytes_free(&rq->body);
    lt_bytes_free(&rq->pending);
    free(rq);
    *con_cls = NULL;
    __atomic_sub_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
}

// ---------------------------------------------------------------- flags and main

typedef struct {
    const char *host, *port, *name, *parallel, *queue, *ctx, *max_tokens, *max_body, *timeout,
        *api_key, *dtype, *threads, *web;
    bool verbose;
} serve_flags;

static lt_status parse_flags(serve_flags *f, server *srv, lt_engine_opts *eo, int64_t *port,
                             int64_t *queue, int64_t *max_tokens) {
    int64_t v;
    memset(eo, 0, sizeof *eo);
    LT_TRY(lt_cli_parse_int("--port", f->port, 0, 65535, port));
    LT_TRY(lt_cli_parse_int("--parallel", f->parallel, 1, 256, &v));
    eo->max_seqs = (int)v;
    LT_TRY(lt_cli_parse_int("--queue", f->queue, 0, 1 << 20, queue));
    LT_TRY(lt_cli_parse_int("--max-body", f->max_body, 64, (int64_t)1 << 32, &v));
    srv->max_body = (size_t)v;
    LT_TRY(lt_cli_parse_int("--timeout", f->timeout, 1, 1 << 30, &v));
    srv->timeout = (double)v;
    *max_tokens = 0;
    if (f->max_tokens)
        LT_TRY(lt_cli_parse_int("--max-tokens", f->max_tokens, 1, 1 << 30, max_tokens));
    eo->max_context = 4096;
    eo->context_at_most = true;
    if (f->ctx) {
        LT_TRY(lt_cli_parse_int("--ctx", f->ctx, 2, 1 << 20, &eo->max_context));
        eo->context_at_most = false;
    }
    if (f->dtype) {
        LT_TRY(lt_dtype_parse(f->dtype, &eo->weights));
        eo->weights_set = true;
    }
    if (f->threads) {
        LT_TRY(lt_cli_parse_int("--threads", f->threads, 1, 1024, &v));
        lt_threads_set((int)v);
    }
    return NULL;
}

static lt_status bind_address(const char *host, int64_t port, struct sockaddr_storage *addr,
                              unsigned *flags) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
    } else {
        return lt_error(LT_ERR_ARG, "--host: '%s' is not a numeric IPv4 or IPv6 address", host);
    }
    return NULL;
}

// The model id: the base name of its path, without a trailing slash or ".gguf".
static void model_name(const char *path, char *out, size_t cap) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t len = n - start;
    if (len > 5 && strncmp(path + n - 5, ".gguf", 5) == 0) len -= 5;
    snprintf(out, cap, "%.*s", (int)len, path + start);
}

static lt_status run(server *srv, const char *host, int64_t port, struct MHD_Daemon **daemon) {
    struct sockaddr_storage addr;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
    LT_TRY(bind_address(host, port, &addr, &flags));
    *daemon =
        MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)(srv->timeout + 60), MHD_OPTION_END);
    if (!*daemon)
        return lt_error(LT_ERR_IO, "could not listen on %s port %lld (in use? try --port 0)", host,
                        (long long)port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(*daemon, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr,
            "lathe serve: listening on http://%s%s%s:%u/ (model '%s', %d slots, context %lld)\n",
            strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
            info ? info->port : (unsigned)port, srv->model.name, srv->engine.slots,
            (long long)srv->model.context);
    return NULL;
}

int cmd_serve(int argc, char **argv) {
    serve_flags f = {.host = "127.0.0.1",
                     .port = "8080",
                     .parallel = "4",
                     .queue = "64",
                     .max_body = "1048576",
                     .timeout = "600",
                     .api_key = getenv("LATHE_API_KEY")};
    const char *pos[1], *model = NULL;
    lt_cli_opt opts[] = {{"--model", .value = &model, .alias = "-m"},
                         {"--host", .value = &f.host},
                         {"--port", .value = &f.port},
                         {"--model-name", .value = &f.name},
                         {"--parallel", .value = &f.parallel},
                         {"--queue", .value = &f.queue},
                         {"--ctx", .value = &f.ctx, .alias = "-c --ctx-size"},
                         {"--max-tokens", .value = &f.max_tokens, .alias = "-n --n-predict"},
                         {"--max-body", .value = &f.max_body},
                         {"--timeout", .value = &f.timeout},
                         {"--api-key", .value = &f.api_key},
                         {"--dtype", .value = &f.dtype},
                         {"--threads", .value = &f.threads, .alias = "-t"},
                         {"--web", .value = &f.web},
                         {"--verbose", .present = &f.verbose},
                         {0}};
    int n_pos = 0;
    int rc = lt_cli_parse("serve", argc, argv, opts, pos, 1, &n_pos, help);
    if (rc >= 0) return rc;
    if ((model && !lt_cli_insert(pos, &n_pos, 1, 0, model)) || n_pos != 1)
        return lt_cli_usage_error("serve", "give MODEL (once: as an argument or with -m)");
    if (f.api_key && !f.api_key[0]) return lt_cli_usage_error("serve", "--api-key: an empty key");
    server srv = {
        .api_key = f.api_key, .verbose = f.verbose, .web_dir = f.web ? f.web : LATHE_WEB_DIR};
    lt_engine_opts eo;
    int64_t port, queue, max_tokens;
    lt_status s = parse_flags(&f, &srv, &eo, &port, &queue, &max_tokens);
    if (s) {
        fprintf(stderr, "lathe serve: %s\n(try 'lathe serve --help')\n", lt_status_message(s));
        lt_status_free(s);
        return LT_EXIT_USAGE;
    }
    char name[256];
    if (f.name)
        snprintf(name, sizeof name, "%s", f.name);
    else
        model_name(pos[0], name, sizeof name);
    // Signals go to the main thread only: block them before any thread starts.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    lt_engine *e = NULL;
    lt_tokenizer *handler_tok = NULL;
    pthread_mutex_t tok_mu = PTHREAD_MUTEX_INITIALIZER;
    struct MHD_Daemon *daemon = NULL;
    s = lt_cli_open_engine(pos[0], &eo, &e);
    if (!s && !lt_chat_template_get("llama3"))
        s = lt_error(LT_ERR_INTERNAL, "no llama3 chat template");
    if (!s && lt_tokenizer_find(lt_engine_tokenizer(e), "<|start_header_id|>", 19) < 0)
        s = lt_error(
            LT_ERR_UNSUPPORTED,
            "%s: the tokenizer has no <|start_header_id|>: lathe serve knows the Llama 3 chat template only",
            pos[0]);
    if (!s) s = lt_tokenizer_dup(&handler_tok, lt_engine_tokenizer(e));
    if (!s) {
        srv.model = (lt_serve_model){.engine = e,
                                     .tok = handler_tok,
                                     .tok_mu = &tok_mu,
                                     .tpl = lt_chat_template_get("llama3"),
                                     .name = name,
                                     .context = lt_engine_max_context(e)};
        srv.model.max_tokens = max_tokens ? max_tokens : srv.model.context;
        s = lt_serve_engine_start(&srv.engine, e, (int)queue);
    }
    if (!s) {
        s = run(&srv, f.host, port, &daemon);
        if (!s) {
            int sig = 0;
            sigwait(&stop_signals, &sig);
            fprintf(stderr, "lathe serve: stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        }
        // No new connections; every job ends with an error the handlers still send
        // (a last chunk and [DONE] for streams); then the daemon closes what is left.
        if (daemon) MHD_quiesce_daemon(daemon);
        pthread_mutex_lock(&srv.engine.mu);
        srv.engine.stop = true;
        pthread_cond_signal(&srv.engine.work);
        pthread_mutex_unlock(&srv.engine.mu);
        for (int i = 0; i < 250 && __atomic_load_n(&srv.in_flight, __ATOMIC_SEQ_CST) > 0; i++)
            nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
        if (daemon) MHD_stop_daemon(daemon);
        lt_serve_engine_stop(&srv.engine);
    }
    lt_tokenizer_free(handler_tok);
    lt_engine_close(e);
    return lt_cli_report("serve", s);
}
