// gguf_internal.h: what the GGUF exporter (gguf_export.c) and the GGUF model
// loader (gguf_model.c) must agree on — the tensors a config implies under
// both names, the q/k row permutation, the Llama 3 RoPE factors and the
// lathe-specific metadata keys. Not a public API.
#ifndef LATHE_GGUF_INTERNAL_H
#define LATHE_GGUF_INTERNAL_H

#include "lathe/gguf.h"

// Llama 3 rope_scaling has no llama.cpp key (llama.cpp takes the per-pair
// factors of rope_freqs.weight); lathe also writes the parameters, so that an
// import gives back the same config.json.
#define LT_GGUF_KEY_ROPE_FACTOR "lathe.rope_scaling.factor"
#define LT_GGUF_KEY_ROPE_LOW "lathe.rope_scaling.low_freq_factor"
#define LT_GGUF_KEY_ROPE_HIGH "lathe.rope_scaling.high_freq_factor"
#define LT_GGUF_KEY_ROPE_ORIG "lathe.rope_scaling.original_max_position_embeddings"

// One tensor a config implies.
typedef struct {
    char gguf[64];         // "blk.3.attn_q.weight"
    char hf[96];           // "model.layers.3.self_attn.q_proj.weight"
    int ndim;              // 1 or 2
    int64_t shape[2];      // Hugging Face order (rows, cols); ne = {cols, rows}
    bool matrix;           // stored in the export type (norms and rope_freqs stay f32)
    int64_t permute_heads; // q: n_heads, k: n_kv_heads, 0 for the others
} lt_gguf_slot;

// The tensors of cfg in file order: token_embd, rope_freqs (Llama 3 scaling
// only; hf is "" as Hugging Face has no such tensor), each layer's, then
// output_norm and output (unless tied). *out is lt_free'd by the caller.
lt_status lt_gguf_slots(const lt_config *cfg, lt_gguf_slot **out, int *n);

// "llama" for a uniform model, "deci" otherwise.
const char *lt_gguf_arch_name(const lt_config *cfg);

// Reorders the rows of one q or k matrix between Hugging Face's rotate-half
// layout and llama.cpp's adjacent pairs, per head of head_dim rows:
//   to_gguf:   dst row h*D + 2i + j  =  src row h*D + j*D/2 + i   (i < D/2, j in {0, 1})
//   otherwise the inverse. Rows are row_bytes long (any dtype: rows are whole).
void lt_gguf_permute_rows(void *dst, const void *src, int64_t n_heads, int64_t head_dim,
                          size_t row_bytes, bool to_gguf);

// rope_freqs.weight (head_dim/2): the divisor llama.cpp applies to each
// pair's frequency, base^(-2i/D) / factor[i] = lathe's Llama 3 inv_freq[i].
lt_status lt_gguf_rope_factors(float *out, const lt_config *cfg);

// Widens n values stored as dtype (f32, bf16, f16, q8_0 with n % 32 == 0) to f32.
void lt_gguf_widen(float *dst, const void *src, lt_dtype dtype, int64_t n);

#endif
