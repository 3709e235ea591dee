// embedding.c: token embedding lookup (a row gather) and its backward (a
// scatter-add). Repeated ids in a batch add into the same row, so the
// backward splits the work by columns, never by tokens: each thread owns a
// block of columns of every row and no two threads touch the same float.
// Both loops are their own reference; tests check them against a plain loop.
#include "kernels_internal.h"
#include "lathe/kernels.h"

enum { EMBED_COL_BLOCK = 128 }; // floats of a row per backward task (512 bytes)

void lt_embedding_forward(float *out, const float *wte, const int32_t *ids, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) memcpy(out + n * C, wte + (int64_t)ids[n] * C, (size_t)C * 4);
}

void lt_embedding_backward(float *dwte, const float *dout, const int32_t *ids, int64_t N,
                           int64_t C) {
    int64_t n_blocks = (C + EMBED_COL_BLOCK - 1) / EMBED_COL_BLOCK;
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN && n_blocks > 1)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        int64_t c0 = blk * EMBED_COL_BLOCK;
        int64_t width = C - c0 < EMBED_COL_BLOCK ? C - c0 : EMBED_COL_BLOCK;
        for (int64_t n = 0; n < N; n++) {
            float *dst = dwte + (int64_t)ids[n] * C + c0;
            const float *src = dout + n * C + c0;
#pragma omp simd
            for (int64_t c = 0; c < width; c++) dst[c] += src[c];
        }
    }
}
