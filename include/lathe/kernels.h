// kernels.h: the operators of a Llama/DeciLM model, each a _forward/_backward
// pair of flat loops with a plain scalar reference (_ref) beside any fast path.
// Shapes are given in comments as (rows, cols). All float buffers are f32.
//
// Conventions:
//   * backward functions ACCUMULATE (+=) into input gradients and parameter
//     gradients, so residual branches and gradient accumulation need no copies;
//     callers zero buffers when they need a fresh gradient;
//   * N = number of tokens (B*T flattened), C = channels;
//   * int32 token ids / targets; a target < 0 is ignored (HF uses -100).
#ifndef LATHE_KERNELS_H
#define LATHE_KERNELS_H

#include <math.h>
#include <string.h>

#include "lathe/base.h"

// ---------------------------------------------------------------- shared math
// Used by the kernels and by the loops beside them elsewhere (the sampler, the
// engine's decode step, the distillation objective).
//
// Why our own expf: glibc only declares its vector math (libmvec) to gcc under
// -ffast-math, which lathe does not use, so `expf` in a simd loop stays a
// scalar call per element. The softmax of attention and cross-entropy and the
// sigmoid of SwiGLU are exp-bound, so they use lt_kernel_expf instead.

// Loops over fewer elements than this stay on one thread: starting a team
// costs more than it saves on a few tens of kilobytes.
#define LT_KERNEL_PAR_MIN ((int64_t)1 << 15)

// e^x for x <= 88, with a relative error below 1e-7 (about 1 ulp) on the
// normal range. Results below FLT_MIN (x < -87.33) flush to 0, and -inf gives
// 0; NaN stays NaN. Callers only pass x <= 0 (max-subtracted softmax, the
// negative-magnitude sigmoid), where no overflow can happen.
// Method: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts so n ln2 is
// exact), e^r by its Taylor series to r^7 (truncation < 2e-9 there), and 2^n
// built from its exponent bits.
static inline float lt_kernel_expf(float x) {
    // Clamped so that n below stays in [-126, 127]; a NaN takes the lower
    // bound here (every comparison with it is false) and is returned as is.
    float xc = x > -87.33f ? x : -87.33f;
    xc = xc < 88.0f ? xc : 88.0f;
    // n = round(x / ln2), by the add-and-subtract trick (exact for |n| < 2^22;
    // floorf or rintf would block vectorisation without -fno-trapping-math)
    const float round_magic = 12582912.0f; // 1.5 * 2^23
    float n = (xc * 1.44269504088896341f + round_magic) - round_magic;
    float r = xc - n * 0.693145751953125f; // ln2, high bits (exact product)
    r = r - n * 1.428606820309417232e-6f;  // ln2 - high bits
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x != x ? x : x < -87.33f ? 0.0f : p * scale;
}

// ---------------------------------------------------------------- RMSNorm
// y = x / sqrt(mean(x^2) + eps) * w
// x (N, C), w (C), y (N, C), rstd (N) kept for backward
void lt_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int64_t N, int64_t C,
                        float eps);
// dx (N, C) +=, dw (C) +=
void lt_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                         const float *rstd, int64_t N, int64_t C);
void lt_rmsnorm_forward_ref(float *y, float *rstd, const float *x, const float *w, int64_t N,
                            int64_t C, float eps);
void lt_rmsnorm_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
                             const float *rstd, int64_t N, int64_t C);

// ---------------------------------------------------------------- RoPE
// Hugging Face rotate-half layout: for a head vector v of size D, pairs are
// (v[i], v[i + D/2]) rotated by angle pos * inv_freq[i], i < D/2.
typedef struct {
    double theta;  // rope_theta
    bool llama3;   // rope_scaling.rope_type == "llama3"
    double factor; // rope_scaling.factor
    double low_freq_factor;
    double high_freq_factor;
    int64_t original_max_position_embeddings;
} lt_rope_params;

// inv_freq (D/2), computed in double as HF does (including the llama3 adjustment).
void lt_rope_inv_freq(double *inv_freq, int64_t head_dim, const lt_rope_params *p);
// cos/sin tables (max_pos, D/2): angle = pos * inv_freq[i], evaluated in double.
void lt_rope_tables(float *cos_table, float *sin_table, const double *inv_freq, int64_t head_dim,
                    int64_t max_pos);
// In place on x (N, n_heads, D); pos (N) gives each token's position.
void lt_rope_forward(float *x, const float *cos_table, const float *sin_table, const int32_t *pos,
                     int64_t N, int64_t n_heads, int64_t head_dim);
// In place on dx (N, n_heads, D): the inverse rotation (RoPE is orthogonal).
void lt_rope_backward(float *dx, const float *cos_table, const float *sin_table, const int32_t *pos,
                      int64_t N, int64_t n_heads, int64_t head_dim);

// ---------------------------------------------------------------- attention
// Grouped-query attention over a batch of B sequences of T tokens.
// q (B, T, H, D), k (B, T, KVH, D), v (B, T, KVH, D), out (B, T, H, D);
// query head h uses kv head h / (H / KVH).
// Token i may attend to token j iff (causal ? j <= i : true) and
// (segments == NULL || segments[b,i] == segments[b,j]); segments (B, T).
// Softmax scale 1/sqrt(D). probs (B, H, T, T) is kept for backward (entries
// that are masked out are 0). dtype (f32 | bf16) selects the GEMM path for the
// two products.
typedef struct {
    int64_t B, T, n_heads, n_kv_heads, head_dim;
    bool causal;
    const int32_t *segments; // (B, T) or NULL
    lt_dtype dtype;
} lt_attention_shape;

lt_status lt_attention_forward(float *out, float *probs, const float *q, const float *k,
                               const float *v, const lt_attention_shape *s);
// dq, dk, dv +=
lt_status lt_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                const float *probs, const float *q, const float *k, const float *v,
                                const lt_attention_shape *s);
void lt_attention_forward_ref(float *out, float *probs, const float *q, const float *k,
                              const float *v, const lt_attention_shape *s);
void lt_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                               const float *probs, const float *q, const float *k, const float *v,
                               const lt_attention_shape *s);

// ---------------------------------------------------------------- SwiGLU
// h = silu(gate) * up; gate, up, h (N, F)
void lt_swiglu_forward(float *h, const float *gate, const float *up, int64_t n);
// dgate, dup +=
void lt_swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                        const float *up, int64_t n);
void lt_swiglu_forward_ref(float *h, const float *gate, const float *up, int64_t n);
void lt_swiglu_backward_ref(float *dgate, float *dup, const float *dh, const float *gate,
                            const float *up, int64_t n);

// ---------------------------------------------------------------- cross-entropy
// Fused softmax + cross-entropy over the vocabulary.
// logits (N, V), targets (N) (< 0: ignored). losses (N) gets -log p(target)
// per row (0 for ignored rows). Returns the number of counted rows.
int64_t lt_xent_forward(float *losses, const float *logits, const int32_t *targets, int64_t N,
                        int64_t V);
// Forward and backward in one pass, overwriting logits with dlogits:
//   dlogits = (softmax(logits) - onehot(target)) * dloss, 0 for ignored rows.
// With dloss = 1 / n_counted this is the gradient of the mean loss.
void lt_xent_forward_backward(float *logits_to_dlogits, float *losses, const int32_t *targets,
                              int64_t N, int64_t V, float dloss);
int64_t lt_xent_forward_ref(float *losses, const float *logits, const int32_t *targets, int64_t N,
                            int64_t V);
void lt_xent_forward_backward_ref(float *logits_to_dlogits, float *losses, const int32_t *targets,
                                  int64_t N, int64_t V, float dloss);

// ---------------------------------------------------------------- embedding
// out (N, C) = wte[ids[n]]; wte (V, C). Ids must be in [0, V): checked by caller.
void lt_embedding_forward(float *out, const float *wte, const int32_t *ids, int64_t N, int64_t C);
// dwte (V, C) += scatter of dout (N, C)
void lt_embedding_backward(float *dwte, const float *dout, const int32_t *ids, int64_t N,
                           int64_t C);

// ---------------------------------------------------------------- linear
// y (N, out) = x (N, in) @ W^T, W (out, in) as in HF nn.Linear (no bias).
// dtype selects the GEMM; for bf16, w_lowp is W already in bf16 and x is
// converted into a scratch buffer.
typedef struct {
    lt_dtype dtype;
    const float *w;         // (out, in) f32 master
    const uint16_t *w_lowp; // (out, in) bf16 or f16 copy, when dtype is one of them
} lt_linear_weight;
lt_status lt_linear_forward(float *y, const float *x, const lt_linear_weight *w, int64_t N,
                            int64_t in, int64_t out);
// dx (N, in) += dy @ W ; dw (out, in) += dy^T @ x. Either may be NULL to skip.
lt_status lt_linear_backward(float *dx, float *dw, const float *dy, const float *x,
                             const lt_linear_weight *w, int64_t N, int64_t in, int64_t out);
// The same with x already stored in the weight's 16-bit dtype (bf16 or f16):
// x16 (N, in). Backward rounds dy to 16 bits for both products.
lt_status lt_linear_forward16(float *y, const uint16_t *x16, const lt_linear_weight *w, int64_t N,
                              int64_t in, int64_t out);
lt_status lt_linear_backward16(float *dx, float *dw, const float *dy, const uint16_t *x16,
                               const lt_linear_weight *w, int64_t N, int64_t in, int64_t out);

// ---------------------------------------------------------------- 16-bit storage
// f32 <-> bf16 | f16 of n contiguous values, threaded for large n, by the
// conversion rule of base.h. Activations in mixed precision are kept this way.
void lt_lowp_store(lt_dtype dtype, uint16_t *dst, const float *src, int64_t n);
void lt_lowp_load(lt_dtype dtype, float *dst, const uint16_t *src, int64_t n);

#endif
