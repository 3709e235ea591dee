// convert.c: f32 <-> 16-bit (bf16 or f16) conversion of whole buffers, split
// across threads when large — how mixed precision stores activations.
#include "kernels_internal.h"
#include "lathe/kernels.h"

enum { CHUNK = 1 << 14 };

void lt_lowp_store(lt_dtype dtype, uint16_t *dst, const float *src, int64_t n) {
    int64_t n_chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        if (dtype == LT_BF16)
            lt_f32_to_bf16_array(dst + lo, src + lo, (size_t)len);
        else
            lt_f32_to_f16_array(dst + lo, src + lo, (size_t)len);
    }
}

void lt_lowp_load(lt_dtype dtype, float *dst, const uint16_t *src, int64_t n) {
    int64_t n_chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t lo = c * CHUNK, len = n - lo < CHUNK ? n - lo : CHUNK;
        if (dtype == LT_BF16)
            lt_bf16_to_f32_array(dst + lo, src + lo, (size_t)len);
        else
            lt_f16_to_f32_array(dst + lo, src + lo, (size_t)len);
    }
}
