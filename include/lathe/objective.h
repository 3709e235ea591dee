// objective.h: training objectives. An objective reads the model's output
// (logits, and hidden states when it needs them), returns the loss and writes
// the gradient at that output, which lt_model_backward then propagates.
#ifndef LATHE_OBJECTIVE_H
#define LATHE_OBJECTIVE_H

#include "lathe/model.h"

typedef struct {
    double loss;       // mean over counted targets
    double loss_sum;   // sum over counted targets
    int64_t n_counted; // targets >= 0
} lt_loss;

// Mean next-token cross-entropy over targets >= 0 (targets (B, T), already
// shifted: targets[b, t] is the label of position t). Overwrites a->logits
// with dlogits scaled by dloss_scale / normaliser, where normaliser is
// n_counted unless `normaliser` > 0 is given (gradient accumulation over
// micro-batches divides by the global count).
lt_status lt_objective_xent(lt_acts *a, const int32_t *targets, double normaliser,
                            float dloss_scale, lt_loss *out);
// Forward-only loss (logits kept).
lt_status lt_objective_xent_eval(const lt_acts *a, const int32_t *targets, lt_loss *out);

#endif
