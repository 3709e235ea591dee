// infer.h: the inference engine — a heterogeneous Llama/DeciLM model with
// weights in their storage dtype (f32, bf16, f16, q8_0) and a KV cache per
// layer, running prefill (many tokens of one sequence at once) and batched
// decode (one token each of several sequences) through one forward step.
//
// A step takes a list of items, each some new tokens of one sequence slot:
//   tokens of all items (T, C) -> embedding -> blocks -> final norm -> head
// Linear layers run once over all T tokens; attention runs per item against
// that sequence's cache (positions len .. len+n-1 see 0 .. their own). So a
// prompt chunk of one request and the decode tokens of others can share a
// step, which is what continuous batching in the server does.
//
// KV cache, per GQA layer only (linear and no-op attention layers hold none):
//   k, v (max_seqs, n_kv_heads, max_context, head_dim) f32
// so the cache of a model whose layers differ is as large as its layers need.
// Scratch is sized when the engine is made; a step allocates nothing.
#ifndef LATHE_INFER_H
#define LATHE_INFER_H

#include "lathe/config.h"
#include "lathe/model.h"
#include "lathe/profile.h"
#include "lathe/quant.h"
#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_engine lt_engine;

typedef struct {
    lt_dtype weights;        // storage of the matmul weights and the embedding when the source
                             // is f32 (a model directory): f32 | bf16 | f16 | q8_0. A GGUF file
                             // keeps its own types unless this is set to another (converted).
    bool weights_set;        // false: f32 for directories, the file's types for GGUF
    int max_seqs;            // sequence slots with a KV cache (0: 1)
    int64_t max_context;     // positions per slot (0: the model's max_position_embeddings)
    bool context_at_most;    // max_context is a cap: the model's length when that is smaller
                             // (otherwise a max_context beyond the model's is an error)
    int64_t max_step_tokens; // tokens one step may carry (0: 512); prefill is chunked to it
} lt_engine_opts;

// From a model directory (config.json, safetensors, tokenizer.json when
// present) or a .gguf file. The tokenizer, when found, is owned by the engine.
lt_status lt_engine_open(lt_engine **out, const char *path, const lt_engine_opts *opts);
// From a model in memory (its f32 master weights; the model may be freed after).
lt_status lt_engine_from_model(lt_engine **out, const lt_model *m, const lt_engine_opts *opts);
void lt_engine_close(lt_engine *e);

const lt_config *lt_engine_config(const lt_engine *e);
lt_tokenizer *lt_engine_tokenizer(const lt_engine *e); // NULL when the model came without one
// NULL when the engine has a tokenizer; else the error every command gives for a
// model without one: what a model directory holds and how to add tokenizer.json.
lt_status lt_engine_need_tokenizer(const lt_engine *e);
// Gives the engine a tokenizer (it takes ownership; a previous one is freed).
void lt_engine_set_tokenizer(lt_engine *e, lt_tokenizer *tok);
const char *lt_engine_chat_template(const lt_engine *e); // Jinja text from the model, or NULL
int lt_engine_max_seqs(const lt_engine *e);
int64_t lt_engine_max_context(const lt_engine *e);
int64_t lt_engine_max_step_tokens(const lt_engine *e);
// The dtype the matmul weights are stored in (the most common one for GGUF).
lt_dtype lt_engine_weight_dtype(const lt_engine *e);
// Bytes of weights, of the KV cache, and of scratch.
size_t lt_engine_weight_bytes(const lt_engine *e);
size_t lt_engine_cache_bytes(const lt_engine *e);
size_t lt_engine_scratch_bytes(const lt_engine *e);
// Bytes one decode token of a sequence at context length ctx reads: every
// matmul weight (the LM head included), one embedding row, and the K and V
// cache rows attention reads — the denominator of the bandwidth bound.
double lt_engine_decode_bytes(const lt_engine *e, int64_t ctx);

// Positions filled in a slot; setting it lower forgets the rest (a chat keeps
// a common prefix); 0 resets the slot.
int64_t lt_engine_seq_len(const lt_engine *e, int seq);
lt_status lt_engine_seq_truncate(lt_engine *e, int seq, int64_t len);

// One item of a step: n new tokens appended to slot `seq`.
typedef struct {
    int seq;
    const int32_t *ids; // (n)
    int64_t n;
    float *logits; // (V) for the last token, (n, V) when all_logits; NULL: none
    bool all_logits;
} lt_engine_item;

// One forward step over all items (each slot at most once, the total tokens
// at most max_step_tokens). Errors leave every slot as it was: a bad id, a
// slot out of range, positions beyond max_context (the message says how many
// tokens the context holds).
lt_status lt_engine_step(lt_engine *e, const lt_engine_item *items, int n_items);

// Conveniences over lt_engine_step: a prompt of any length in chunks of
// max_step_tokens (logits of its last token, or all of them (n, V)), and one
// token for each of n slots (logits (n, V)).
lt_status lt_engine_prefill(lt_engine *e, int seq, const int32_t *ids, int64_t n, float *logits,
                            bool all_logits);
lt_status lt_engine_decode(lt_engine *e, const int *seqs, const int32_t *ids, int n, float *logits);

// Per-op time (profile.h's lt_op), summed over steps while profiling is on
// (seconds). Turning profiling on zeroes the sums; lt_engine_op_seconds reads
// them (LT_OP_COUNT values; ops the engine has no step for stay 0).
void lt_engine_set_profile(lt_engine *e, bool on);
const double *lt_engine_op_seconds(const lt_engine *e);

// ---------------------------------------------------------------- quality

// Perplexity of a token stream in windows of `ctx` tokens (each window starts
// afresh; every token but a window's first is predicted), and, when `ref` (an
// engine of the same model in f32, say) is given, the mean KL divergence
// KL(ref || e) of the next-token distributions and how often both pick the
// same top token. Uses slot 0 of both engines.
typedef struct {
    int64_t tokens;    // predictions scored
    double nll;        // mean negative log-likelihood (nats); perplexity = exp(nll)
    double kl;         // mean KL(ref || e) in nats (0 without ref)
    double kl_max;     // the largest per-token KL
    double top1_agree; // fraction of positions where both argmaxes agree
} lt_quality;
lt_status lt_engine_quality(lt_engine *e, lt_engine *ref, const int32_t *ids, int64_t n,
                            int64_t ctx, lt_quality *out);

#ifdef __cplusplus
}
#endif
#endif
