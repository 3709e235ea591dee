// model.h: a decoder-only Llama / DeciLM model with heterogeneous blocks —
// parameters in one arena under their Hugging Face tensor names, checkpoint
// directories in and out, and the training forward/backward over a batch.
//
// Training data flow (N = B*T tokens, C = hidden, V = vocab):
//   ids (B,T) -> embedding -> x_0 (N,C) -> block 0 -> x_1 -> ... -> x_L
//   -> final RMSNorm (N,C) -> LM head -> logits (N,V)
// An objective (objective.h) turns logits into a loss and overwrites them
// with dlogits; lt_model_backward then fills the gradient arena.
#ifndef LATHE_MODEL_H
#define LATHE_MODEL_H

#include "lathe/base.h"
#include "lathe/config.h"
#include "lathe/kernels.h"
#include "lathe/profile.h"

// One named tensor of the parameter arena.
typedef struct {
    char name[96]; // HF name, e.g. "model.layers.3.self_attn.q_proj.weight"
    int ndim;
    int64_t shape[2];
    int64_t numel;
    size_t offset;  // in floats, into lt_model.params (and the gradient arena)
    bool is_matmul; // a linear weight (has a low-precision copy in bf16 mode)
} lt_param;

// Views of one block's weights (NULL where the block has no such tensor).
typedef struct {
    const lt_block_config *cfg;
    float *attn_norm;                // (C)
    lt_linear_weight q, k, v, o;     // (H*D, C) (KVH*D, C) (KVH*D, C) (C, H*D)
    lt_linear_weight linear_attn;    // (C, C)
    float *ffn_norm;                 // (C)
    lt_linear_weight gate, up, down; // (F, C) (F, C) (C, F)
    lt_linear_weight linear_mlp;     // (C, C)
} lt_block_weights;

// Gradient views of one block, same shapes as the weights.
typedef struct {
    float *attn_norm, *q, *k, *v, *o, *linear_attn;
    float *ffn_norm, *gate, *up, *down, *linear_mlp;
} lt_block_grads;

typedef struct lt_model {
    lt_config cfg;
    lt_dtype dtype;        // compute dtype: f32, bf16 or f16
    float *params;         // the arena, (n_params) f32 master weights
    uint16_t *params_lowp; // bf16/f16 copy of the matmul weights, else NULL
    int64_t n_params;
    lt_param *tensors; // (n_tensors)
    int n_tensors;
    lt_block_weights *blocks;   // (n_layers)
    float *embed;               // (V, C)
    float *final_norm;          // (C)
    lt_linear_weight lm_head;   // (V, C); the embedding when tied
    float *rope_cos, *rope_sin; // (max_positions, D/2)
} lt_model;

// Creates a model with zeroed parameters laid out for cfg (cfg is copied).
lt_status lt_model_init(lt_model **out, const lt_config *cfg);
// HF initialisation: linear and embedding weights ~ normal(0, initializer_range),
// norm weights 1. Deterministic for a seed.
void lt_model_init_random(lt_model *m, uint64_t seed);
void lt_model_free(lt_model *m);

const lt_param *lt_model_find(const lt_model *m, const char *name);
// Views of the block weights over another arena of the same layout (gradients).
void lt_model_block_grads(const lt_model *m, float *grad_arena, int64_t layer, lt_block_grads *g);

// Selects the compute dtype: f32, or mixed precision in bf16 | f16 (f32
// master weights, a 16-bit copy for the GEMMs, 16-bit activations, f32
// accumulation, norms, softmax and loss). Allocates and fills the 16-bit
// copy; call lt_model_sync_lowp after every change to params. Activations
// made by lt_acts_init are sized for the dtype at that time.
lt_status lt_model_set_dtype(lt_model *m, lt_dtype dtype);
void lt_model_sync_lowp(lt_model *m);

// Checkpoint directories: config.json + model.safetensors (or sharded
// model-0000x-of-0000y.safetensors + model.safetensors.index.json on read).
lt_status lt_model_load(lt_model **out, const char *dir);
// Writes config.json and model.safetensors with tensors stored as `dtype`
// (f32 | bf16 | f16) into dir (created if needed), each file crash-safely.
lt_status lt_model_save(const lt_model *m, const char *dir, lt_dtype dtype);

// ---------------------------------------------------------------- training pass

// A batch: B sequences of T tokens.
typedef struct {
    int64_t B, T;
    const int32_t *ids;       // (B, T)
    const int32_t *targets;   // (B, T) or NULL; < 0 ignored
    const int32_t *positions; // (B, T) or NULL for 0..T-1 in each row
    const int32_t *segments;  // (B, T) or NULL: attention never crosses segments
} lt_batch;

// Activations of one block kept for backward (NULL where the block has no
// such op). In f32 mode the float pointers are the kept tensors themselves.
// In bf16/f16 mode (mixed precision) the kept copies are the 16-bit ones
// (*16) and the float pointers are scratch shared by all blocks, filled while
// the block runs: forward computes in f32, stores 16 bits (and continues with
// the rounded values), backward reloads what it needs.
typedef struct {
    float *attn_norm_out; // (N, C)
    float *attn_rstd;     // (N) always f32
    float *q;             // (N, H, D) after RoPE
    float *k;             // (N, KVH, D) after RoPE
    float *v;             // (N, KVH, D)
    float *probs;         // (B, H, T, T)
    float *attn_out;      // (N, H*D) before o_proj
    float *mid; // (N, C) f32 residual after the attention part (aliases the input for no_op)
    float *ffn_norm_out; // (N, C)
    float *ffn_rstd;     // (N) always f32
    float *gate, *up;    // (N, F) pre-activation
    float *ffn_hidden;   // (N, F) silu(gate) * up
    float *out;          // (N, C) f32 residual after the block (aliases mid for no_op)
    uint16_t *attn_norm_out16, *q16, *k16, *v16, *probs16, *attn_out16; // 16-bit kept copies
    uint16_t *ffn_norm_out16, *gate16, *up16, *ffn_hidden16;
} lt_block_acts;

// What the activation gradients entering the backward GEMMs look like — the
// values mixed precision rounds to 16 bits — for the underflow study of
// Micikevicius et al. (2018). Bin i of log2_hist counts nonzero values with
// floor(log2 |v|) == LT_GRAD_HIST_MIN + i (clamped at both ends).
enum { LT_GRAD_HIST_MIN = -40, LT_GRAD_HIST_BINS = 48 };
typedef struct {
    uint64_t total;         // values seen
    uint64_t nonzero;       // nonzero in f32
    uint64_t f16_zero;      // nonzero, but |v| <= 2^-25: rounds to zero in f16
    uint64_t f16_subnormal; // 2^-25 < |v| < 2^-14: an f16 subnormal (precision lost)
    uint64_t log2_hist[LT_GRAD_HIST_BINS];
} lt_grad_stats;

typedef struct {
    int64_t B, T, N;
    lt_dtype dtype; // the model's compute dtype when these were sized
    const lt_model *model;
    float *x0;                  // (N, C) embedding output = input of block 0
    lt_block_acts *blocks;      // (n_layers); blocks[l].out is the input of block l+1
    float *final_norm_out;      // (N, C)
    uint16_t *final_norm_out16; // (N, C) in bf16/f16 mode: the LM head's input
    float *final_rstd;          // (N)
    float *logits;              // (N, V); objectives overwrite it with dlogits
    int32_t *positions;         // (N) this batch's positions
    const int32_t *ids;         // the batch's ids (borrowed until backward)
    const int32_t *segments;
    // backward scratch, sized for the widest block
    float *dres;             // (N, C) gradient of the residual stream
    float *dnorm;            // (N, C)
    float *dproj;            // (N, max(H*D, F)) gradient before an output projection
    float *dq, *dk, *dv;     // (N, H*D) (N, max KVH*D) (N, max KVH*D)
    float *dgate, *dup;      // (N, F)
    float *scratch;          // (N, C) output of a projection before the residual add
    size_t bytes;            // everything above, for memory accounting
    lt_profile profile;      // per-op time of forward, backward and the objective (--profile)
    bool collect_grad_stats; // when set, backward adds into grad_stats
    lt_grad_stats grad_stats;
} lt_acts;

// Bytes lt_acts_init would allocate for (B, T) with compute dtype `dtype`
// (bf16 and f16 keep activations in 16 bits: about half of f32's).
size_t lt_acts_bytes(const lt_config *cfg, lt_dtype dtype, int64_t B, int64_t T);
lt_status lt_acts_init(lt_acts **out, const lt_model *m, int64_t B, int64_t T);
void lt_acts_free(lt_acts *a);

// Forward through every block to logits. Checks ids, positions and shapes.
lt_status lt_model_forward(const lt_model *m, lt_acts *a, const lt_batch *batch);
// Backward from a->logits holding dlogits: accumulates (+=) into grads, an
// arena of m->n_params floats laid out like m->params. dhidden, when not
// NULL, holds L+1 optional extra gradients (N, C) for x_0..x_L (NULL entries
// skipped) — for hidden-state distillation objectives.
lt_status lt_model_backward(const lt_model *m, lt_acts *a, float *grads,
                            const float *const *dhidden);

// The mean cross-entropy loss of a batch computed in float64 with plain
// loops, independently of the kernels: the reference that finite-difference
// tests differentiate (batch->targets required).
lt_status lt_model_loss_f64(const lt_model *m, const lt_batch *batch, double *loss);

// One block alone (architecture search trains blocks in isolation).
// x (N, C) in, acts->out written; backward: dx (N, C) holds d(out) on entry
// and d(x) on return; grads accumulate.
lt_status lt_block_forward(const lt_model *m, const lt_block_weights *w, lt_block_acts *acts,
                           lt_acts *a, const float *x);
lt_status lt_block_backward(const lt_model *m, const lt_block_weights *w, const lt_block_acts *acts,
                            lt_acts *a, const float *x, float *dx, const lt_block_grads *g);

#endif
