// swiglu.c: the gated activation of Llama's MLP, h = silu(gate) * up with
// silu(g) = g * sigmoid(g), forward and backward, plus the scalar reference.
// Elementwise over n = N * F values, so the caller passes flat buffers.
#include "kernels_internal.h"
#include "lathe/kernels.h"

// sigmoid(g) from e^-|g| (never overflows): 1 / (1 + e) for g >= 0, e / (1 + e) otherwise.
static inline float sigmoidf_stable(float g) {
    float e = lt_kernel_expf(-fabsf(g));
    float r = 1.0f / (1.0f + e);
    return g >= 0.0f ? r : e * r;
}

// Threads take chunks of this many elements; each chunk is one simd loop.
enum { SWIGLU_CHUNK = 1 << 14 };

static void swiglu_forward_chunk(float *h, const float *gate, const float *up, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        h[i] = g * sigmoidf_stable(g) * up[i];
    }
}

// dgate += dh * up * sig * (1 + g * (1 - sig)), dup += dh * silu(g)
static void swiglu_backward_chunk(float *dgate, float *dup, const float *dh, const float *gate,
                                  const float *up, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        float sig = sigmoidf_stable(g);
        dgate[i] += dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
        dup[i] += dh[i] * g * sig;
    }
}

// gate, up, h (n)
void lt_swiglu_forward(float *h, const float *gate, const float *up, int64_t n) {
    int64_t n_chunks = (n + SWIGLU_CHUNK - 1) / SWIGLU_CHUNK;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * SWIGLU_CHUNK, len = n - lo < SWIGLU_CHUNK ? n - lo : SWIGLU_CHUNK;
        swiglu_forward_chunk(h + lo, gate + lo, up + lo, len);
    }
}

void lt_swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate,
                        const float *up, int64_t n) {
    int64_t n_chunks = (n + SWIGLU_CHUNK - 1) / SWIGLU_CHUNK;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * SWIGLU_CHUNK, len = n - lo < SWIGLU_CHUNK ? n - lo : SWIGLU_CHUNK;
        swiglu_backward_chunk(dgate + lo, dup + lo, dh + lo, gate + lo, up + lo, len);
    }
}

void lt_swiglu_forward_ref(float *h, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double g = gate[i];
        h[i] = (float)(g / (1.0 + exp(-g)) * up[i]);
    }
}

void lt_swiglu_backward_ref(float *dgate, float *dup, const float *dh, const float *gate,
                            const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double g = gate[i];
        double sig = 1.0 / (1.0 + exp(-g));
        dgate[i] += (float)((double)dh[i] * up[i] * sig * (1.0 + g * (1.0 - sig)));
        dup[i] += (float)((double)dh[i] * g * sig);
    }
}
