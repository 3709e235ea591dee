// linear.c: a bias-free linear layer, y = x W^T with W (out, in) as in HF
// nn.Linear, forward and backward, all through lt_gemm. In bf16 mode both
// operands of every product are bf16 (W from the caller's bf16 copy, x and dy
// rounded into scratch here), with f32 accumulation into f32 outputs; in f32
// mode the f32 buffers go to lt_gemm as they are. The reference is lt_gemm_ref.
#include "kernels_internal.h"
#include "lathe/gemm.h"
#include "lathe/kernels.h"

static lt_status linear_check(const lt_linear_weight *w, int64_t N, int64_t in, int64_t out) {
    if (N < 0 || in < 1 || out < 1)
        return lt_error(LT_ERR_ARG, "linear: bad shape N=%lld in=%lld out=%lld", (long long)N,
                        (long long)in, (long long)out);
    if (w->dtype == LT_F32) return NULL;
    if (w->dtype != LT_BF16)
        return lt_error(LT_ERR_UNSUPPORTED, "linear: dtype %s is not supported (f32 or bf16)",
                        lt_dtype_name(w->dtype));
    if (!w->w_lowp)
        return lt_error(LT_ERR_ARG,
                        "linear: dtype bf16 needs the bf16 weight copy (w_lowp is NULL)");
    return NULL;
}

// A bf16 copy of x (rows, cols) in new scratch memory.
static lt_status to_bf16_scratch(uint16_t **out, const float *x, int64_t rows, int64_t cols,
                                 const char *what) {
    LT_TRY(lt_alloc((void **)out, (size_t)(rows * cols) * sizeof(uint16_t), what));
    lt_kernel_to_bf16(*out, x, rows * cols);
    return NULL;
}

lt_status lt_linear_forward(float *y, const float *x, const lt_linear_weight *w, int64_t N,
                            int64_t in, int64_t out) {
    LT_TRY(linear_check(w, N, in, out));
    if (N == 0) return NULL;
    if (w->dtype == LT_F32) {
        lt_gemm(LT_F32, false, true, N, out, in, 1.0f, x, in, w->w, in, 0.0f, y, out);
        return NULL;
    }
    uint16_t *x16; // (N, in)
    LT_TRY(to_bf16_scratch(&x16, x, N, in, "linear forward: bf16 input"));
    lt_gemm(LT_BF16, false, true, N, out, in, 1.0f, x16, in, w->w_lowp, in, 0.0f, y, out);
    lt_free(x16);
    return NULL;
}

lt_status lt_linear_backward(float *dx, float *dw, const float *dy, const float *x,
                             const lt_linear_weight *w, int64_t N, int64_t in, int64_t out) {
    LT_TRY(linear_check(w, N, in, out));
    if (N == 0) return NULL;
    if (w->dtype == LT_F32) {
        // dx (N, in) += dy (N, out) W (out, in);  dw (out, in) += dy^T x (N, in)
        if (dx) lt_gemm(LT_F32, false, false, N, in, out, 1.0f, dy, out, w->w, in, 1.0f, dx, in);
        if (dw) lt_gemm(LT_F32, true, false, out, in, N, 1.0f, dy, out, x, in, 1.0f, dw, in);
        return NULL;
    }
    uint16_t *dy16 = NULL, *x16 = NULL; // (N, out), (N, in)
    LT_TRY(to_bf16_scratch(&dy16, dy, N, out, "linear backward: bf16 output gradient"));
    if (dx)
        lt_gemm(LT_BF16, false, false, N, in, out, 1.0f, dy16, out, w->w_lowp, in, 1.0f, dx, in);
    if (dw) {
        lt_status st = to_bf16_scratch(&x16, x, N, in, "linear backward: bf16 input");
        if (st) {
            lt_free(dy16);
            return st;
        }
        lt_gemm(LT_BF16, true, false, out, in, N, 1.0f, dy16, out, x16, in, 1.0f, dw, in);
    }
    lt_free(x16);
    lt_free(dy16);
    return NULL;
}
