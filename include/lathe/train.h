// train.h: the trainer — pretraining from a fresh model and continued
// pretraining from a checkpoint, with gradient accumulation to a token-count
// global batch, AdamW and a learning-rate schedule, periodic validation,
// metrics as JSONL, and crash-safe checkpoints that resume bit for bit.
#ifndef LATHE_TRAIN_H
#define LATHE_TRAIN_H

#include <signal.h>

#include "lathe/base.h"
#include "lathe/chat_data.h"
#include "lathe/model.h"
#include "lathe/objective.h"

// Where the trainer's batches come from: a table of functions over a context,
// so pretraining (token shards, the default) and SFT (chat JSONL) run the same
// loop and checkpoints. Batches are (B, T) rows of ids, targets (negative:
// ignored), segments and positions; the state is the cursor a checkpoint
// keeps, so a resumed run draws exactly the rows it would have drawn.
typedef struct {
    void *ctx;
    lt_status (*next)(void *ctx, int32_t *ids, int32_t *targets, int32_t *segments,
                      int32_t *positions);
    lt_status (*check_vocab)(void *ctx, int64_t model_vocab);
    size_t (*state_size)(void *ctx);
    lt_status (*state_save)(void *ctx, void *buf, size_t cap, size_t *len);
    lt_status (*state_load)(void *ctx, const void *buf, size_t len);
    // Validation (both NULL without held-out data): val_begin starts a pass,
    // val_next fills the next batch and sets *n_rows (0: the pass is over).
    lt_status (*val_begin)(void *ctx);
    lt_status (*val_next)(void *ctx, int32_t *ids, int32_t *targets, int32_t *segments,
                          int32_t *positions, int64_t *n_rows);
    // text bytes per validation target, for bits per byte (0: not reported)
    double val_bytes_per_token;
    void (*free)(void *ctx); // frees ctx (NULL is fine)
} lt_train_data;
void lt_train_data_free(lt_train_data *d); // zeroes it; a zeroed one is fine

// Token shards: "PATH[:WEIGHT]" specs blended by weight (lt_loader), and a
// validation shard walked in order (val may be NULL).
lt_status lt_train_data_shards(lt_train_data *out, const char *const *data, int n_data,
                               const char *val, int64_t B, int64_t T, uint64_t seed);

// Chat JSONL for SFT: every example rendered through the chat template, with
// the loss on assistant tokens only, packed into rows of T (chat_data.h).
typedef struct {
    const char *const *data; // "PATH[:WEIGHT]" chat JSONL files, blended by weight
    int n_data;
    const char *val;         // held-out chat JSONL (may be NULL): packed in file order
    lt_tokenizer *tokenizer; // borrowed, kept alive by the caller
    int64_t B, T;
    uint64_t seed;
    bool skip_bad; // skip bad lines (counted) instead of failing
} lt_train_chat_opts;
// stats (may be NULL) sums every file's reading, the validation file's
// included; *first_skip (may be NULL; lt_free it) is the first skipped line's message.
lt_status lt_train_data_chat(lt_train_data *out, const lt_train_chat_opts *opts,
                             lt_chat_read_stats *stats, char **first_skip);

// The loss the trainer minimises when it is not next-token cross-entropy
// (distillation, cmd_distill.c). Per micro-batch, after lt_model_forward of b
// into a: `train` returns the loss of b's counted targets (out->loss_sum, a sum
// over them) and writes the gradient at the model's output for
// lt_model_backward — dlogits into a->logits scaled by dloss_scale /
// normaliser (the step's global target count), and, when it sets *dhidden,
// L+1 optional (N, C) hidden-state gradients. `eval` (no gradient; it may
// overwrite a->logits) gives a validation batch's loss sum (NULL: cross-entropy). Named
// parts of the loss (up to LT_TRAIN_MAX_PARTS) are logged beside it: take_parts adds each part's sum
// over counted targets since its last call into sums[] and restarts them
// (val: the validation parts). `memory`: bytes it holds (teacher and buffers),
// added to the memory plan.
#define LT_TRAIN_MAX_PARTS 4
typedef struct {
    void *ctx;
    lt_status (*train)(void *ctx, lt_acts *a, const lt_batch *b, double normaliser,
                       float dloss_scale, lt_loss *out, const float *const **dhidden);
    lt_status (*eval)(void *ctx, lt_acts *a, const lt_batch *b, lt_loss *out);
    int n_parts;
    const char *part_names[LT_TRAIN_MAX_PARTS];
    void (*take_parts)(void *ctx, bool val, double *sums);
    size_t memory;
} lt_train_objective;

typedef struct {
    // The model: exactly one of init_from (continued pretraining), preset or config.
    const char *init_from;
    const char *preset;
    const char *config;
    uint64_t init_seed;
    const char *out_dir; // checkpoints/, latest, metrics.jsonl
    // Data: "PATH[:WEIGHT]" token shards, blended by weight.
    const char *const *data;
    int n_data;
    const char *val_data; // optional validation shard
    // Another data source (SFT): when set, the trainer draws from it and data /
    // val_data only size the memory estimate. Borrowed: the caller frees it.
    lt_train_data *source;
    // The loss: NULL is next-token cross-entropy (borrowed).
    const lt_train_objective *objective;
    // A directory whose tokenizer files (tokenizer.json, tokenizer_config.json)
    // are copied into every checkpoint, so checkpoints run as they are (NULL: none).
    // It must hold tokenizer.json, and the tokenizer must fit the model's vocabulary.
    const char *tokenizer_dir;
    int64_t batch, seq; // one micro-batch: batch x seq tokens
    // tokens per optimizer step (a multiple of batch*seq); 0: one micro-batch
    int64_t global_batch_tokens;
    int64_t steps; // optimizer steps in total (counting resumed ones)
    // Optimizer.
    double lr, min_lr, beta1, beta2, eps, weight_decay, clip;
    int64_t warmup;
    const char *schedule;   // cosine | linear | constant | wsd
    double decay_frac;      // wsd: fraction of steps spent decaying
    lt_dtype dtype;         // f32, or mixed precision in bf16 | f16
    const char *loss_scale; // f16: "dynamic" (default), "none" or a fixed scale
    uint64_t seed;          // data order
    // Bookkeeping.
    int64_t log_every, eval_every, eval_batches, save_every, keep_last;
    int64_t grad_stats_every; // > 0: log the activation-gradient magnitudes every N steps
    bool resume;              // continue from out_dir/latest
    int64_t stop_after;       // > 0: stop after this many steps in this session (with a checkpoint)
    const char *run_name;     // "run" field of the metrics (default: out_dir's name)
    int threads;              // 0: leave as is
    lt_progress progress;
    // A stop request (NULL: none), polled at every step boundary: once *stop is
    // nonzero the trainer saves a checkpoint of the steps done and returns
    // (lt_train_result.stopped). The trainer installs no signal handler; a
    // caller's handler sets the flag (the CLI's for SIGINT and SIGTERM).
    volatile sig_atomic_t *stop;
} lt_train_opts;

// Fills opts with the defaults documented in `lathe train --help`.
void lt_train_opts_default(lt_train_opts *opts);

// What one logged step (or evaluation) reports.
typedef struct {
    int64_t step, steps, tokens;
    double loss, lr, grad_norm, tokens_per_s, mfu, loss_scale, elapsed_s;
    bool skipped;          // f16 overflow: the update was skipped
    int64_t skipped_total; // such steps so far
    bool has_val;
    double val_loss, val_ppl, val_bpb;
    // The objective's parts (per counted target), named as it names them.
    int n_parts;
    const char *const *part_names;
    double parts[LT_TRAIN_MAX_PARTS];
} lt_train_event;

typedef void (*lt_train_log_fn)(void *user, const lt_train_event *ev);

// Memory a run needs, computed before anything is allocated.
typedef struct {
    size_t weights;      // f32 master weights
    size_t weights_lowp; // bf16 copy for the GEMMs (0 in f32)
    size_t grads;
    size_t optimizer;   // AdamW moments
    size_t activations; // one micro-batch, kept for backward
    size_t scratch;     // transient GEMM operands of the 16-bit modes (largest linear layer)
    size_t data;        // the token shards, mapped and read through
    size_t objective;   // what a non-default objective holds (a teacher: lt_train_objective.memory)
    size_t total;
} lt_train_memory;
lt_status lt_train_plan_memory(const lt_train_opts *opts, lt_train_memory *out);

// Runs training to opts->steps; calls log for every logged step and evaluation.
// A run that fails before its first checkpoint removes the folders it created.
lt_status lt_train(const lt_train_opts *opts, lt_train_log_fn log, void *user);

// How a run ended, for callers that let it be stopped (opts->stop).
typedef struct {
    int64_t step;        // optimizer steps done, resumed ones included
    bool stopped;        // it returned early on opts->stop
    bool saved;          // a checkpoint of `step` exists (<out>/latest names it)
    char checkpoint[64]; // that checkpoint, relative to out_dir ("checkpoints/step-00000042")
} lt_train_result;
// lt_train, filling *result (which may be NULL) whether or not it fails.
lt_status lt_train_run(const lt_train_opts *opts, lt_train_log_fn log, void *user,
                       lt_train_result *result);

#endif
