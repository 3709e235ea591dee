// serve.h: the engine side of `lathe serve` (engine.c). One thread owns
// the engine and its generator and runs lt_gen_step for every active request
// at once (continuous batching); HTTP handler threads hand it jobs through a
// bounded queue and read the text it produces, waiting on a condition
// variable. Everything in a job below the inputs is guarded by the mutex.
#ifndef LATHE_CLI_SERVE_H
#define LATHE_CLI_SERVE_H

#include <pthread.h>
#include <stdbool.h>

#include "lathe/chat.h"
#include "lathe/generate.h"

typedef struct lt_serve_job {
    // inputs, set before lt_serve_submit and read-only afterwards
    lt_ids prompt;
    lt_gen_params params;
    char *stop[LT_GEN_MAX_STOP]; // owned copies behind params.stop
    // outputs
    lt_bytes reasoning, content; // all text so far
    int64_t prompt_tokens, completion_tokens, cached_tokens;
    double first_token_time; // lt_time_now() at the first generated text (0: none yet)
    lt_gen_finish finish;
    bool started, done;
    bool cancel, cancel_sent;
    char *error; // why the engine refused or failed it (done is set)
    // bookkeeping
    int64_t id; // lt_gen's request id once started
    int refs;
    struct lt_serve_job *next; // in the queue, then in the active list
} lt_serve_job;

typedef struct {
    lt_engine *engine; // borrowed
    lt_gen *gen;
    pthread_mutex_t mu;
    pthread_cond_t work;     // the engine thread waits here for jobs
    pthread_cond_t progress; // handlers wait here; broadcast after every step
    lt_serve_job *queue_head, *queue_tail, *active;
    int queued, max_queue, n_active, slots;
    int batch_now, batch_max; // decode batch of the last step, the largest seen
    int64_t steps;
    bool stop, running;
    char *fatal; // a failed step stops the engine; its message
    pthread_t thread;
} lt_serve_engine;

// A job holding one reference (the caller's); NULL when out of memory.
lt_serve_job *lt_serve_job_new(void);
// Starts the engine thread over `e` with a queue of at most max_queue jobs waiting.
lt_status lt_serve_engine_start(lt_serve_engine *se, lt_engine *e, int max_queue);
// Ends every job (their error says the server stops) and joins the thread.
void lt_serve_engine_stop(lt_serve_engine *se);
// Queues a job (the queue takes its own reference). False when max_queue jobs
// already wait for a slot, or the engine has stopped.
bool lt_serve_submit(lt_serve_engine *se, lt_serve_job *job);
// With se->mu held: asks the engine to end the job (its slot frees at the next step).
void lt_serve_cancel_locked(lt_serve_engine *se, lt_serve_job *job);
// Drops a reference; the last one frees the job. Takes se->mu itself.
void lt_serve_release(lt_serve_engine *se, lt_serve_job *job);

// ---------------------------------------------------------------- the API (api.c)

// An OpenAI-style error: {"error":{"message","type","param","code"}} with its HTTP status.
typedef struct {
    int status;
    const char *type;  // "invalid_request_error", ...
    const char *param; // the field at fault, or NULL
    const char *code;  // a short machine-readable code, or NULL
    char message[512];
} lt_serve_error;
void lt_serve_error_set(lt_serve_error *err, int status, const char *type, const char *param,
                        const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
// The error as a JSON text (free it); NULL when out of memory.
char *lt_serve_error_json(const lt_serve_error *err);

typedef struct {
    lt_engine *engine;
    // The handlers' own tokenizer handle: encoding is not thread-safe per
    // handle, and the engine thread uses the engine's; handlers take turns on
    // this one under tok_mu (rendering a prompt is short next to answering it).
    lt_tokenizer *tok;
    pthread_mutex_t *tok_mu;
    const lt_chat_template *tpl;
    const char *name;   // the model id clients name
    int64_t context;    // positions per slot
    int64_t max_tokens; // the most a request may ask for
} lt_serve_model;

typedef struct {
    bool chat; // /v1/chat/completions (else /v1/completions)
    bool stream, include_usage;
    bool reasoning_on; // the toggle the prompt was rendered with
    char id[48];       // "chatcmpl-..." / "cmpl-..."
    long long created; // unix seconds
} lt_serve_request;

// Parses a request body into the job's prompt and parameters. False with
// *err set (status 400/404) when the request is malformed or does not fit.
bool lt_serve_parse(const lt_serve_model *m, const char *body, size_t n, lt_serve_request *req,
                    lt_serve_job *job, lt_serve_error *err);
// The whole response of a finished job (free it).
char *lt_serve_response_json(const lt_serve_model *m, const lt_serve_request *req,
                             const lt_serve_job *job);
// A streaming chunk: new reasoning/content text, or (finish != NULL) the last
// one with its finish reason, or (role) the opening one. Returns
// "data: {...}\n\n" (free it).
char *lt_serve_chunk(const lt_serve_model *m, const lt_serve_request *req, bool role,
                     const char *reasoning, size_t reasoning_len, const char *content,
                     size_t content_len, const char *finish);
// The usage-only chunk of stream_options.include_usage.
char *lt_serve_usage_chunk(const lt_serve_model *m, const lt_serve_request *req,
                           const lt_serve_job *job);
// "stop" or "length" for a finish reason.
const char *lt_serve_finish_reason(lt_gen_finish f);

#endif
