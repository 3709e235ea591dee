// linear.c: a bias-free linear layer, y = x W^T with W (out, in) as in HF
// nn.Linear, forward and backward, all through lt_gemm. In a 16-bit mode
// (bf16 or f16) both operands of every product are 16-bit — W from the
// caller's 16-bit copy, x as given (the *16 entry points, for activations the
// model already stores in 16 bits) or rounded into scratch here, and the
// output gradient dy rounded here (activation gradients are stored in the
// low-precision type) — with f32 accumulation into f32 outputs. In f32 mode
// the f32 buffers go to lt_gemm as they are. The reference is lt_gemm_ref.
#include "kernels_internal.h"
#include "lathe/gemm.h"
#include "lathe/kernels.h"

static bool is_lowp(lt_dtype t) { return t == LT_BF16 || t == LT_F16; }

static lt_status linear_check(const lt_linear_weight *w, int64_t N, int64_t in, int64_t out) {
    if (N < 0 || in < 1 || out < 1)
        return lt_error(LT_ERR_ARG, "linear: bad shape N=%lld in=%lld out=%lld", (long long)N,
                        (long long)in, (long long)out);
    if (w->dtype == LT_F32) return NULL;
    if (!is_lowp(w->dtype))
        return lt_error(LT_ERR_UNSUPPORTED, "linear: dtype %s is not supported (f32, bf16 or f16)",
                        lt_dtype_name(w->dtype));
    if (!w->w_lowp)
        return lt_error(LT_ERR_ARG,
                        "linear: dtype %s needs the 16-bit weight copy (w_lowp is NULL)",
                        lt_dtype_name(w->dtype));
    return NULL;
}

// A 16-bit copy of x (rows, cols) in new scratch memory.
static lt_status to_lowp_scratch(lt_dtype dtype, uint16_t **out, const float *x, int64_t rows,
                                 int64_t cols, const char *what) {
    LT_TRY(lt_alloc((void **)out, (size_t)(rows * cols) * sizeof(uint16_t), what));
    lt_lowp_store(dtype, *out, x, rows * cols);
    return NULL;
}

lt_status lt_linear_forward16(float *y, const uint16_t *x16, const lt_linear_weight *w, int64_t N,
                              int64_t in, int64_t out) {
    LT_TRY(linear_check(w, N, in, out));
    if (!is_lowp(w->dtype))
        return lt_error(LT_ERR_ARG, "linear: 16-bit input needs a bf16 or f16 weight");
    if (N > 0)
        lt_gemm(w->dtype, false, true, N, out, in, 1.0f, x16, in, w->w_lowp, in, 0.0f, y, out);
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
    LT_TRY(to_lowp_scratch(w->dtype, &x16, x, N, in, "linear forward: 16-bit input"));
    lt_status s = lt_linear_forward16(y, x16, w, N, in, out);
    lt_free(x16);
    return s;
}

lt_status lt_linear_backward16(float *dx, float *dw, const float *dy, const uint16_t *x16,
                               const lt_linear_weight *w, int64_t N, int64_t in, int64_t out) {
    LT_TRY(linear_check(w, N, in, out));
    if (!is_lowp(w->dtype))
        return lt_error(LT_ERR_ARG, "linear: 16-bit input needs a bf16 or f16 weight");
    if (N == 0) return NULL;
    uint16_t *dy16; // (N, out)
    LT_TRY(to_lowp_scratch(w->dtype, &dy16, dy, N, out, "linear backward: 16-bit output gradient"));
    // dx (N, in) += dy (N, out) W (out, in);  dw (out, in) += dy^T x (N, in)
    if (dx)
        lt_gemm(w->dtype, false, false, N, in, out, 1.0f, dy16, out, w->w_lowp, in, 1.0f, dx, in);
    if (dw) lt_gemm(w->dtype, true, false, out, in, N, 1.0f, dy16, out, x16, in, 1.0f, dw, in);
    lt_free(dy16);
    return NULL;
}

lt_status lt_linear_backward(float *dx, float *dw, const float *dy, const float *x,
                             const lt_linear_weight *w, int64_t N, int64_t in, int64_t out) {
    LT_TRY(linear_check(w, N, in, out));
    if (N == 0) return NULL;
    if (w->dtype == LT_F32) {
        if (dx) lt_gemm(LT_F32, false, false, N, in, out, 1.0f, dy, out, w->w, in, 1.0f, dx, in);
        if (dw) lt_gemm(LT_F32, true, false, out, in, N, 1.0f, dy, out, x, in, 1.0f, dw, in);
        return NULL;
    }
    uint16_t *x16 = NULL; // (N, in), only the weight gradient reads it
    if (dw) LT_TRY(to_lowp_scratch(w->dtype, &x16, x, N, in, "linear backward: 16-bit input"));
    lt_status s = lt_linear_backward16(dx, dw, dy, x16, w, N, in, out);
    lt_free(x16);
    return s;
}
