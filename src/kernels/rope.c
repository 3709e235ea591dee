// rope.c: rotary position embedding in the Hugging Face "rotate half" layout:
// inverse frequencies (with Llama 3's rope_scaling), cos/sin tables, and the
// in-place rotation of q or k and its inverse for the backward pass.
// The rotation is the reference itself (one flat loop), so there is no
// separate _ref; tests compare it with an independent double-precision loop.
#include "kernels_internal.h"
#include "lathe/kernels.h"

// Llama 3 ("llama3" rope_type): long wavelengths are slowed by `factor`, short
// ones are kept, and the band in between is interpolated. Boundaries follow
// transformers' _compute_llama3_parameters: wavelen > low_freq_wavelen divides;
// high_freq_wavelen <= wavelen <= low_freq_wavelen interpolates (both ends
// included); wavelen < high_freq_wavelen is unchanged. The interpolation is
// continuous, so the boundary choice only matters at exact equality.
static double llama3_adjust(double inv_freq, const lt_rope_params *p) {
    double orig = (double)p->original_max_position_embeddings;
    double low_freq_wavelen = orig / p->low_freq_factor;
    double high_freq_wavelen = orig / p->high_freq_factor;
    double wavelen = 2.0 * M_PI / inv_freq;
    if (wavelen > low_freq_wavelen) return inv_freq / p->factor;
    if (wavelen < high_freq_wavelen) return inv_freq;
    double smooth =
        (orig / wavelen - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
    return (1.0 - smooth) * inv_freq / p->factor + smooth * inv_freq;
}

void lt_rope_inv_freq(double *inv_freq, int64_t head_dim, const lt_rope_params *p) {
    for (int64_t i = 0; i < head_dim / 2; i++) {
        double f = 1.0 / pow(p->theta, (double)(2 * i) / (double)head_dim);
        inv_freq[i] = p->llama3 ? llama3_adjust(f, p) : f;
    }
}

void lt_rope_tables(float *cos_table, float *sin_table, const double *inv_freq, int64_t head_dim,
                    int64_t max_pos) {
    int64_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (max_pos * half >= LT_KERNEL_PAR_MIN)
    for (int64_t pos = 0; pos < max_pos; pos++) {
        for (int64_t i = 0; i < half; i++) {
            double angle = (double)pos * inv_freq[i];
            cos_table[pos * half + i] = (float)cos(angle);
            sin_table[pos * half + i] = (float)sin(angle);
        }
    }
}

// Rotates every head vector of x (N, n_heads, D) by +angle (sign = 1) or
// -angle (sign = -1): (a, b) -> (a cos - b sin, b cos + a sin).
static void rope_rotate(float *x, const float *cos_table, const float *sin_table,
                        const int32_t *pos, int64_t N, int64_t n_heads, int64_t head_dim,
                        float sign) {
    int64_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (N * n_heads * head_dim >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *c = cos_table + (int64_t)pos[n] * half; // (D/2)
        const float *s = sin_table + (int64_t)pos[n] * half; // (D/2)
        for (int64_t h = 0; h < n_heads; h++) {
            float *v = x + (n * n_heads + h) * head_dim; // (D)
#pragma omp simd
            for (int64_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], si = sign * s[i];
                v[i] = a * c[i] - b * si;
                v[i + half] = b * c[i] + a * si;
            }
        }
    }
}

void lt_rope_forward(float *x, const float *cos_table, const float *sin_table, const int32_t *pos,
                     int64_t N, int64_t n_heads, int64_t head_dim) {
    rope_rotate(x, cos_table, sin_table, pos, N, n_heads, head_dim, 1.0f);
}

// The forward map is a rotation R, so its Jacobian transpose is R^-1: rotate
// the gradient by the negative angle.
void lt_rope_backward(float *dx, const float *cos_table, const float *sin_table, const int32_t *pos,
                      int64_t N, int64_t n_heads, int64_t head_dim) {
    rope_rotate(dx, cos_table, sin_table, pos, N, n_heads, head_dim, -1.0f);
}
