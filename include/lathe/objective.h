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

// ---------------------------------------------------------------- distillation
// Knowledge distillation (Hinton et al. 2015) of a teacher's next-token
// distributions into the student, per counted position (target >= 0; all
// positions when targets is NULL), with z the student's and u the teacher's
// logits (V) and tau the temperature:
//   q = softmax(z / tau) over the whole vocabulary (the student),
//   p = softmax(u / tau) restricted to S and renormalised over S (the teacher),
//       S = the teacher's top_k logits (ties: lower token id first), or the
//       whole vocabulary when top_k is 0 or >= V — so top_k = V is full KD,
//   KL = sum_{j in S} p_j (log p_j - log q_j),
//   loss = (1 - ce_weight) * tau^2 * KL + ce_weight * CE(softmax(z), target).
// tau^2 keeps the soft term's gradient, (1 - w) tau (q - p), on the scale of
// the hard one as tau grows (the soft gradient alone shrinks as 1/tau).
// Overwrites student->logits with dlogits scaled by dloss_scale / normaliser
// (normaliser as in lt_objective_xent). teacher_logits (N, V), same vocabulary
// as the student. out->loss is the mean of the mixed loss.
lt_status lt_objective_kd(lt_acts *student, const float *teacher_logits, const int32_t *targets,
                          float temperature, int64_t top_k, double ce_weight, double normaliser,
                          float dloss_scale, lt_loss *out);
// Forward only (logits kept): the mean KL at tau (unscaled) and, when targets
// is given, the mean cross-entropy, over the same positions.
lt_status lt_objective_kd_eval(const lt_acts *student, const float *teacher_logits,
                               const int32_t *targets, float temperature, int64_t top_k,
                               lt_loss *kl, lt_loss *ce);

// The Puzzle "global KD" hidden-state term: with h_l the hidden state after
// block l (h_0 the embedding output, h_L the input of the final norm, as
// lt_acts keeps them: x0 and blocks[l-1].out),
//   loss = weight * sum_{l in layers} mean_over_counted_tokens (1 - cos(h_s_l, h_t_l)),
// cos(a, b) = a.b / (max(|a|, 1e-8) max(|b|, 1e-8)). Student and teacher must
// have the same n_layers and hidden size. layers: n_list indices in [0, L]
// without repeats; NULL means 1..L (every block's output). teacher_hidden:
// L+1 pointers (N, C), entries outside the list may be NULL. targets as for KD
// (NULL: every token counts). dhidden: L+1 pointers; for each listed layer
// the gradient of loss * dloss_scale / normaliser w.r.t. h_s_l is written
// (overwriting) into dhidden[l], allocated here with lt_alloc when NULL
// (the caller lt_frees it); pass dhidden to lt_model_backward. Other entries
// are left as they are. dhidden NULL: loss only.
lt_status lt_objective_hidden_cos(const lt_acts *student, const float *const *teacher_hidden,
                                  int64_t teacher_layers, int64_t teacher_hidden_size,
                                  const int32_t *targets, const int64_t *layers, int64_t n_list,
                                  double weight, double normaliser, float dloss_scale,
                                  float **dhidden, lt_loss *out);

// Runs a teacher forward over a batch and copies out what distillation needs:
// logits (N, V) and, when hidden is not NULL, the hidden states h_0..h_L
// into hidden[l] (N, C) for every non-NULL entry. scratch is an lt_acts of
// the teacher sized (b, T) with the batch's T and b dividing the batch's B:
// the batch runs b rows at a time, so the teacher's kept activations cost b
// rows, not B (nothing of them is needed afterwards).
lt_status lt_objective_teacher_forward(const lt_model *teacher, lt_acts *scratch,
                                       const lt_batch *batch, float *logits, float *const *hidden);

// Memory-saving top-k: a run that keeps only the teacher's top k logits per
// position stores (N, k) ids and values instead of (N, V) logits.
// Selects them: the same set S as lt_objective_kd's top_k = k (ties: lower
// id first), ids in increasing order. ids (N, k), values (N, k), 0 < k <= V.
lt_status lt_objective_kd_top_k_select(const float *logits, int64_t N, int64_t V, int64_t k,
                                       int32_t *ids, float *values);
// lt_objective_kd with the teacher given by its top k (ids, values) per
// position: the same loss and gradient as lt_objective_kd(top_k = k) on the
// full teacher logits. ids distinct within a row and in [0, V).
lt_status lt_objective_kd_sparse(lt_acts *student, const int32_t *teacher_ids,
                                 const float *teacher_values, int64_t k, const int32_t *targets,
                                 float temperature, double ce_weight, double normaliser,
                                 float dloss_scale, lt_loss *out);
// lt_objective_teacher_forward keeping only each position's top k logits.
lt_status lt_objective_teacher_forward_top_k(const lt_model *teacher, lt_acts *scratch,
                                             const lt_batch *batch, int64_t k, int32_t *ids,
                                             float *values, float *const *hidden);

#endif
