// xent.c: softmax cross-entropy over the vocabulary, fused with its backward
// so the (N, V) logits buffer is overwritten by its gradient instead of a
// second buffer of that size. Rows are independent: threads split the rows,
// each row's exponentials run in one vectorised loop, and the sum of
// exponentials is accumulated in double. Targets must be < V (the caller
// checks, as for token ids); a negative target marks an ignored row.
#include "kernels_internal.h"
#include "lathe/kernels.h"

static inline float row_max(const float *x, int64_t V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

// -log softmax(x)[t] = log(sum_j exp(x_j - max)) + max - x_t
int64_t lt_xent_forward(float *losses, const float *logits, const int32_t *targets, int64_t N,
                        int64_t V) {
    int64_t counted = 0;
#pragma omp parallel for schedule(static) reduction(+ : counted) if (N * V >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *x = logits + n * V; // (V)
        if (targets[n] < 0) {
            losses[n] = 0.0f;
            continue;
        }
        float mx = row_max(x, V);
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < V; j++) sum += (double)lt_kernel_expf(x[j] - mx);
        losses[n] = (float)(log(sum) + (double)mx - (double)x[targets[n]]);
        counted++;
    }
    return counted;
}

void lt_xent_forward_backward(float *logits_to_dlogits, float *losses, const int32_t *targets,
                              int64_t N, int64_t V, float dloss) {
#pragma omp parallel for schedule(static) if (N * V >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        float *x = logits_to_dlogits + n * V; // (V): logits in, dlogits out
        int32_t t = targets[n];
        if (t < 0) {
            losses[n] = 0.0f;
            for (int64_t j = 0; j < V; j++) x[j] = 0.0f;
            continue;
        }
        float mx = row_max(x, V);
        float target_logit = x[t];
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < V; j++) {
            float e = lt_kernel_expf(x[j] - mx);
            x[j] = e;
            sum += (double)e;
        }
        losses[n] = (float)(log(sum) + (double)mx - (double)target_logit);
        float k = (float)((double)dloss / sum);
#pragma omp simd
        for (int64_t j = 0; j < V; j++) x[j] *= k;
        x[t] -= dloss;
    }
}

int64_t lt_xent_forward_ref(float *losses, const float *logits, const int32_t *targets, int64_t N,
                            int64_t V) {
    int64_t counted = 0;
    for (int64_t n = 0; n < N; n++) {
        const float *x = logits + n * V;
        losses[n] = 0.0f;
        if (targets[n] < 0) continue;
        double mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        for (int64_t j = 0; j < V; j++) sum += exp((double)x[j] - mx);
        losses[n] = (float)(log(sum) + mx - x[targets[n]]);
        counted++;
    }
    return counted;
}

void lt_xent_forward_backward_ref(float *logits_to_dlogits, float *losses, const int32_t *targets,
                                  int64_t N, int64_t V, float dloss) {
    for (int64_t n = 0; n < N; n++) {
        float *x = logits_to_dlogits + n * V;
        int32_t t = targets[n];
        losses[n] = 0.0f;
        if (t < 0) {
            for (int64_t j = 0; j < V; j++) x[j] = 0.0f;
            continue;
        }
        double mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        for (int64_t j = 0; j < V; j++) sum += exp((double)x[j] - mx);
        losses[n] = (float)(log(sum) + mx - x[t]);
        for (int64_t j = 0; j < V; j++) {
            double p = exp((double)x[j] - mx) / sum;
            x[j] = (float)((p - (j == t ? 1.0 : 0.0)) * dloss);
        }
    }
}
