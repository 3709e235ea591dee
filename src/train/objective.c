// objective.c: next-token cross-entropy as a training objective — the loss
// over counted targets, and dlogits written over the logits for backward.
#include "lathe/objective.h"

static lt_status check_targets(const lt_acts *a, const int32_t *targets) {
    int64_t V = a->model->cfg.vocab;
    for (int64_t i = 0; i < a->N; i++)
        if (targets[i] >= V)
            return lt_error(LT_ERR_RANGE,
                            "target id %d at position %lld is outside the vocabulary [0, %lld)",
                            targets[i], (long long)i, (long long)V);
    return NULL;
}

// Sums per-token losses (N) in double into *out.
static void summarise(lt_loss *out, const float *losses, int64_t N, int64_t counted) {
    double sum = 0;
    for (int64_t i = 0; i < N; i++) sum += losses[i];
    out->loss_sum = sum;
    out->n_counted = counted;
    out->loss = counted > 0 ? sum / (double)counted : 0.0;
}

lt_status lt_objective_xent(lt_acts *a, const int32_t *targets, double normaliser,
                            float dloss_scale, lt_loss *out) {
    LT_TRY(check_targets(a, targets));
    int64_t N = a->N, V = a->model->cfg.vocab, counted = 0;
    for (int64_t i = 0; i < N; i++) counted += targets[i] >= 0;
    double norm = normaliser > 0 ? normaliser : (double)(counted > 0 ? counted : 1);
    float *losses; // (N)
    LT_TRY(lt_alloc((void **)&losses, (size_t)N * sizeof *losses, "per-token losses"));
    LT_TIMED(
        &a->profile, LT_OP_LOSS,
        lt_xent_forward_backward(a->logits, losses, targets, N, V, (float)(dloss_scale / norm)));
    summarise(out, losses, N, counted);
    lt_free(losses);
    return NULL;
}

lt_status lt_objective_xent_eval(const lt_acts *a, const int32_t *targets, lt_loss *out) {
    LT_TRY(check_targets(a, targets));
    float *losses; // (N)
    LT_TRY(lt_alloc((void **)&losses, (size_t)a->N * sizeof *losses, "per-token losses"));
    int64_t counted = lt_xent_forward(losses, a->logits, targets, a->N, a->model->cfg.vocab);
    summarise(out, losses, a->N, counted);
    lt_free(losses);
    return NULL;
}
