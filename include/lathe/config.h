// config.h: a model's architecture — Hugging Face `LlamaForCausalLM` or
// NVIDIA `DeciLMForCausalLM` (model_type "nemotron-nas", per-layer
// block_configs) — read from and written to config.json, the named presets,
// and the parameter count.
#ifndef LATHE_CONFIG_H
#define LATHE_CONFIG_H

#include "lathe/base.h"
#include "lathe/kernels.h"

typedef enum { LT_ARCH_LLAMA = 0, LT_ARCH_DECILM } lt_arch;

// Attention part of a block.
typedef enum {
    LT_ATTN_GQA = 0, // grouped-query attention, n_kv_heads = n_heads / n_heads_in_group
    LT_ATTN_LINEAR,  // replace_with_linear: one (hidden, hidden) linear on RMSNorm(x)
    LT_ATTN_NOOP,    // no_op: no norm, the residual passes unchanged
} lt_attn_kind;

// FFN part of a block.
typedef enum {
    LT_FFN_SWIGLU = 0, // down(silu(gate(x)) * up(x)), width ffn_dim
    LT_FFN_LINEAR,     // replace_with_linear: one (hidden, hidden) linear on RMSNorm(x)
    LT_FFN_NOOP,       // no_op
} lt_ffn_kind;

typedef struct {
    lt_attn_kind attn;
    int64_t n_kv_heads; // GQA only
    lt_ffn_kind ffn;
    int64_t ffn_dim; // SwiGLU only
    double ffn_mult; // DeciLM's ffn_mult (0 when the width came from intermediate_size)
} lt_block_config;

enum { LT_MAX_EOS = 8 };

typedef struct {
    lt_arch arch;
    int64_t hidden; // hidden_size, C
    int64_t n_layers;
    int64_t n_heads;
    int64_t head_dim; // hidden / n_heads unless config.json says otherwise
    int64_t vocab;    // V
    int64_t max_positions;
    double rms_eps;
    lt_rope_params rope;
    bool tie_embeddings;
    int64_t bos_id; // -1 when absent
    int64_t eos_ids[LT_MAX_EOS];
    int n_eos;
    double initializer_range;
    lt_block_config *blocks; // (n_layers)
    void *source;            // the parsed config.json (private to config.c), kept so unknown
                             // fields survive a save; NULL for presets
} lt_config;

// DeciLM's FFN width: round_up(int(2 * ffn_mult * hidden / 3), 256).
int64_t lt_ffn_mult_to_dim(double ffn_mult, int64_t hidden);

// Reads config.json (a file, or a directory holding one).
lt_status lt_config_load(lt_config *c, const char *path);
// Presets of DESIGN.md: tiny, tiny-hetero, bench-m, bench-m-hetero, bench-l; and reason-s,
// the small reasoning model of docs/reasoning.md.
lt_status lt_config_preset(lt_config *c, const char *name);
const char *const *lt_config_preset_names(void); // NULL-terminated
// Checks internal consistency (divisibility, positive sizes); names the field at fault.
lt_status lt_config_validate(const lt_config *c, const char *source);
lt_status lt_config_save(const lt_config *c, const char *path);
lt_status lt_config_copy(lt_config *dst, const lt_config *src);
void lt_config_free(lt_config *c);

// Parameter counts (every tensor, the tied head once).
int64_t lt_config_block_params(const lt_config *c, int64_t layer);
int64_t lt_config_param_count(const lt_config *c);
// Weights used in matmuls (every linear and the LM head; the embedding lookup
// not counted unless tied, when the head is counted once) — the N of 6N.
int64_t lt_config_matmul_params(const lt_config *c);
// Model FLOPs per token for a training step (forward + backward) at sequence
// length T: 6 * matmul_params + 12 * sum over attention layers (n_heads * head_dim) * T.
double lt_config_train_flops_per_token(const lt_config *c, int64_t T);
// True when every block is GQA + SwiGLU with the same kv heads and width:
// expressible as a plain LlamaForCausalLM.
bool lt_config_is_uniform(const lt_config *c);

const char *lt_attn_kind_name(lt_attn_kind k);
const char *lt_ffn_kind_name(lt_ffn_kind k);

#endif
