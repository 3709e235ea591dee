// generate.h: text generation on the engine — requests, each a prompt with
// its own sampling, stop conditions and thinking budget, run together: every
// step feeds the prompt chunks of new requests and one token of each running
// request through one engine step (continuous batching), so the server and RL
// rollouts share one loop with `lathe generate` and `lathe chat`.
//
// Per request and step: logits -> sampler -> token -> text stream (UTF-8,
// stop strings, the <think> section) -> events for the caller. When the
// thinking budget runs out inside an open <think> section, the tokens of the
// closing text are forced (fed without sampling) and the answer follows.
//
// A request may name a slot; its KV cache keeps the tokens it last held, and a
// new prompt sharing a prefix with them only computes the rest (a chat turn
// re-renders the whole conversation but pays only for the new message).
#ifndef LATHE_GENERATE_H
#define LATHE_GENERATE_H

#include "lathe/infer.h"
#include "lathe/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LT_GEN_MAX_STOP = 8 };

typedef struct {
    lt_sampler_params sampling;
    // generated tokens at most, forced ones included (0: until the context is full)
    int64_t max_tokens;
    const char *stop[LT_GEN_MAX_STOP]; // stop strings (NULL-terminated list or n_stop entries)
    int n_stop;
    int32_t stop_ids[LT_GEN_MAX_STOP]; // extra stop tokens besides the model's end tokens
    int n_stop_ids;
    bool prompt_in_thinking; // the prompt ends with the template's think_open ("<think>\n"):
                             // everything generated is reasoning until </think>. Otherwise a
                             // section is found when the answer opens with <think> itself.
    int64_t think_budget;    // tokens inside <think>...</think> at most; < 0: no limit
    bool ignore_eos;         // do not stop at the model's end tokens (benchmarks)
} lt_gen_params;

// Defaults: greedy, no max (context), no stops, reasoning off, no budget.
lt_gen_params lt_gen_params_default(void);

typedef enum {
    LT_GEN_RUNNING = 0,
    LT_GEN_STOP,      // an end token or a stop token
    LT_GEN_STOP_TEXT, // a stop string
    LT_GEN_LENGTH,    // max_tokens
    LT_GEN_CONTEXT,   // the context is full
    LT_GEN_CANCELLED, // lt_gen_cancel
} lt_gen_finish;
const char *lt_gen_finish_name(
    lt_gen_finish f); // "stop", "length", ... (OpenAI's finish_reason where one exists)

// What one step produced for one request.
typedef struct {
    int64_t request;       // the id lt_gen_add returned
    int32_t token;         // the token fed this step (-1 when none: the step only prefilled)
    float logprob;         // its log-probability (0 for forced tokens)
    bool forced;           // fed by the thinking budget, not sampled
    const char *reasoning; // new thinking text this step (may be empty, never NULL)
    size_t reasoning_len;
    const char *content; // new answer text this step
    size_t content_len;
    lt_gen_finish finish; // LT_GEN_RUNNING until the request's last event
    int64_t prompt_tokens, generated_tokens, cached_tokens, thinking_tokens;
} lt_gen_event;

typedef struct lt_gen lt_gen;

// A generator over an engine (borrowed) with its tokenizer (required).
lt_status lt_gen_init(lt_gen **out, lt_engine *e);
void lt_gen_free(lt_gen *g);

// Queues a request; *id identifies it in events. slot: the engine slot to use
// (its cached prefix is reused), or -1 for any free one. Fails when no slot is
// free, the prompt is empty or does not fit, or the parameters are invalid.
lt_status lt_gen_add(lt_gen *g, const int32_t *prompt, int64_t n, const lt_gen_params *p, int slot,
                     int64_t *id);
// Ends a request at the next step (its last event says LT_GEN_CANCELLED).
void lt_gen_cancel(lt_gen *g, int64_t id);
int lt_gen_active(const lt_gen *g); // requests not finished
int lt_gen_free_slots(const lt_gen *g);

// One engine step for every active request; events go to `cb` (one per
// request that fed or finished this step), in request order. A request's
// last event carries its finish reason; after it the id is forgotten.
typedef void (*lt_gen_callback)(void *user, const lt_gen_event *ev);
lt_status lt_gen_step(lt_gen *g, lt_gen_callback cb, void *user);

// Whole text of a request so far (valid until its last event returns).
const char *lt_gen_content(const lt_gen *g, int64_t id, size_t *len);
const char *lt_gen_reasoning(const lt_gen *g, int64_t id, size_t *len);

// Tokens of prompt a step may carry (prefill chunks are cut to fit).
void lt_gen_set_step_tokens(lt_gen *g, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
