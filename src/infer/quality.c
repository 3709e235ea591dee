// quality.c: how well an engine predicts held-out text — perplexity — and how
// far its next-token distributions move from a reference engine's (the f32
// model when measuring what bf16, f16 or q8_0 storage costs): KL divergence
// and top-1 agreement, computed in double from the logits of each window.
#include <math.h>
#include <string.h>

#include "lathe/infer.h"

// log-softmax of one row into lp (V), in double.
static void log_softmax(double *lp, const float *logits, int64_t V) {
    double mx = -INFINITY;
    for (int64_t i = 0; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < V; i++) sum += exp((double)logits[i] - mx);
    double lse = mx + log(sum);
    for (int64_t i = 0; i < V; i++) lp[i] = (double)logits[i] - lse;
}

static int64_t argmax(const float *x, int64_t V) {
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

lt_status lt_engine_quality(lt_engine *e, lt_engine *ref, const int32_t *ids, int64_t n,
                            int64_t ctx, lt_quality *out) {
    memset(out, 0, sizeof *out);
    const lt_config *c = lt_engine_config(e);
    int64_t V = c->vocab;
    if (ref && lt_engine_config(ref)->vocab != V)
        return lt_error(LT_ERR_ARG, "the reference model has %lld tokens, the model %lld",
                        (long long)lt_engine_config(ref)->vocab, (long long)V);
    if (ctx < 2 || ctx > lt_engine_max_context(e) || (ref && ctx > lt_engine_max_context(ref)))
        return lt_error(LT_ERR_ARG, "window of %lld tokens: it must be 2 to the context length",
                        (long long)ctx);
    if (n < 2)
        return lt_error(LT_ERR_ARG, "%lld tokens of text: at least 2 are needed", (long long)n);
    float *logits = NULL, *rlogits = NULL;
    double *lp = NULL, *rlp = NULL;
    lt_status s = lt_alloc((void **)&logits, (size_t)(ctx * V) * sizeof(float), "logits");
    if (!s) s = lt_alloc((void **)&lp, (size_t)V * sizeof(double), "log-probabilities");
    if (!s && ref) s = lt_alloc((void **)&rlogits, (size_t)(ctx * V) * sizeof(float), "logits");
    if (!s && ref) s = lt_alloc((void **)&rlp, (size_t)V * sizeof(double), "log-probabilities");
    double nll = 0, kl = 0, agree = 0;
    for (int64_t w0 = 0; !s && w0 + 1 < n; w0 += ctx) {
        int64_t m = n - w0 < ctx ? n - w0 : ctx;
        s = lt_engine_seq_truncate(e, 0, 0);
        if (!s) s = lt_engine_prefill(e, 0, ids + w0, m, logits, true);
        if (!s && ref) s = lt_engine_seq_truncate(ref, 0, 0);
        if (!s && ref) s = lt_engine_prefill(ref, 0, ids + w0, m, rlogits, true);
        for (int64_t t = 0; !s && t + 1 < m; t++) {
            const float *row = logits + t * V;
            log_softmax(lp, row, V);
            nll -= lp[ids[w0 + t + 1]];
            if (ref) {
                const float *rrow = rlogits + t * V;
                log_softmax(rlp, rrow, V);
                double d = 0;
                for (int64_t i = 0; i < V; i++) d += exp(rlp[i]) * (rlp[i] - lp[i]);
                kl += d;
                if (d > out->kl_max) out->kl_max = d;
                agree += argmax(row, V) == argmax(rrow, V);
            }
            out->tokens++;
        }
    }
    if (!s && out->tokens) {
        out->nll = nll / (double)out->tokens;
        out->kl = kl / (double)out->tokens;
        out->top1_agree = ref ? agree / (double)out->tokens : 0;
    }
    lt_free(logits);
    lt_free(rlogits);
    lt_free(lp);
    lt_free(rlp);
    return s;
}
