// rmsnorm.c: RMSNorm as in Hugging Face LlamaRMSNorm, y = (x * rstd) * w with
// rstd = 1 / sqrt(mean(x^2) + eps), forward and backward, plus the scalar
// reference. The mean of squares is accumulated in double (vectorised), so
// wide rows lose nothing to summation order.
#include "kernels_internal.h"
#include "lathe/kernels.h"

// dw is reduced over all rows; a block of this many columns per thread keeps
// each thread's double accumulators on the stack and the threads race-free.
enum { DW_BLOCK = 256 };

void lt_rmsnorm_forward(float *y, float *rstd, const float *x, const float *w, int64_t N, int64_t C,
                        float eps) {
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * C; // (C)
        float *yr = y + n * C;       // (C)
        double sumsq = 0.0;
#pragma omp simd reduction(+ : sumsq)
        for (int64_t c = 0; c < C; c++) sumsq += (double)xr[c] * (double)xr[c];
        float r = (float)(1.0 / sqrt(sumsq / (double)C + (double)eps));
        rstd[n] = r;
#pragma omp simd
        for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] * r) * w[c];
    }
}

// With g = dy * w:  dx = rstd * g - rstd^3 / C * x * sum(g * x).
static void rmsnorm_backward_dx(float *dx, const float *dy, const float *x, const float *w,
                                const float *rstd, int64_t N, int64_t C) {
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *xr = x + n * C, *dyr = dy + n * C; // (C)
        float *dxr = dx + n * C;                        // (C)
        double dot = 0.0;
#pragma omp simd reduction(+ : dot)
        for (int64_t c = 0; c < C; c++) dot += (double)(dyr[c] * w[c]) * (double)xr[c];
        float r = rstd[n];
        float coef = (float)((double)r * r * r * dot / (double)C);
#pragma omp simd
        for (int64_t c = 0; c < C; c++) dxr[c] += r * (dyr[c] * w[c]) - coef * xr[c];
    }
}

// dw[c] = sum over rows of dy * x * rstd, threads own blocks of columns.
static void rmsnorm_backward_dw(float *dw, const float *dy, const float *x, const float *rstd,
                                int64_t N, int64_t C) {
    int64_t n_blocks = (C + DW_BLOCK - 1) / DW_BLOCK;
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN && n_blocks > 1)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        int64_t c0 = blk * DW_BLOCK;
        int64_t width = C - c0 < DW_BLOCK ? C - c0 : DW_BLOCK;
        double acc[DW_BLOCK] = {0};
        for (int64_t n = 0; n < N; n++) {
            const float *xr = x + n * C + c0, *dyr = dy + n * C + c0;
            float r = rstd[n];
#pragma omp simd
            for (int64_t c = 0; c < width; c++) acc[c] += (double)(dyr[c] * xr[c] * r);
        }
        for (int64_t c = 0; c < width; c++) dw[c0 + c] += (float)acc[c];
    }
}

// dx or dw may be NULL (a frozen input or a frozen weight).
void lt_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w,
                         const float *rstd, int64_t N, int64_t C) {
    if (dx) rmsnorm_backward_dx(dx, dy, x, w, rstd, N, C);
    if (dw) rmsnorm_backward_dw(dw, dy, x, rstd, N, C);
}

void lt_rmsnorm_forward_ref(float *y, float *rstd, const float *x, const float *w, int64_t N,
                            int64_t C, float eps) {
    for (int64_t n = 0; n < N; n++) {
        double sumsq = 0.0;
        for (int64_t c = 0; c < C; c++) sumsq += (double)x[n * C + c] * x[n * C + c];
        double r = 1.0 / sqrt(sumsq / (double)C + (double)eps);
        rstd[n] = (float)r;
        for (int64_t c = 0; c < C; c++) y[n * C + c] = (float)(x[n * C + c] * r * w[c]);
    }
}

void lt_rmsnorm_backward_ref(float *dx, float *dw, const float *dy, const float *x, const float *w,
                             const float *rstd, int64_t N, int64_t C) {
    for (int64_t n = 0; n < N; n++) {
        double r = rstd[n];
        double dot = 0.0;
        for (int64_t c = 0; c < C; c++) dot += (double)dy[n * C + c] * w[c] * x[n * C + c];
        for (int64_t c = 0; c < C; c++) {
            double g = (double)dy[n * C + c] * w[c];
            if (dx) dx[n * C + c] += (float)(r * g - r * r * r / (double)C * x[n * C + c] * dot);
        }
    }
    if (!dw) return;
    for (int64_t c = 0; c < C; c++) {
        double acc = 0.0;
        for (int64_t n = 0; n < N; n++) acc += (double)dy[n * C + c] * x[n * C + c] * rstd[n];
        dw[c] += (float)acc;
    }
}
