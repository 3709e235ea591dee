// objective_kd.c: distillation objectives — KL(teacher || student) over
// next-token distributions at a temperature (optionally the teacher's top-k
// only, optionally mixed with cross-entropy), the Puzzle hidden-state cosine
// term, and a teacher forward that fills what both read. Rows are
// independent: threads split them, the exponentials of a row run in
// vectorised loops and every sum over the vocabulary is kept in double.
#include <math.h>
#include <omp.h>
#include <string.h>

#include "lathe/kernels.h"
#include "lathe/objective.h"

// The teacher's kept set S of one row, as a predicate the vectorised loops
// can evaluate: j is in S when u_j > threshold, or u_j == threshold and
// j <= last_tie. The whole vocabulary is threshold -inf, last_tie V.
typedef struct {
    float threshold;
    int64_t last_tie;
} kd_set;

static inline float row_max(const float *x, int64_t V) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

// The value of rank k (0 = largest) of a (n), reordering a (Hoare partition).
static float kth_largest(float *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot) i++;
            while (a[j] < pivot) j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k]; // between j and i every value equals the pivot
    }
    return a[k];
}

// S = the top_k largest of u (V), ties at the boundary taken by lower index.
static kd_set teacher_set(const float *u, int64_t V, int64_t top_k, float *scratch) {
    if (top_k == 0 || top_k >= V) return (kd_set){-INFINITY, V};
    memcpy(scratch, u, (size_t)V * sizeof *scratch);
    float thr = kth_largest(scratch, V, top_k - 1);
    int64_t above = 0;
    for (int64_t j = 0; j < V; j++) above += u[j] > thr;
    int64_t ties_needed = top_k - above, last = V;
    for (int64_t j = 0; j < V && ties_needed > 0; j++)
        if (u[j] == thr && --ties_needed == 0) last = j;
    return (kd_set){thr, last};
}

typedef struct {
    float temperature;
    int64_t top_k;
    double ce_weight;
    float grad_scale; // dloss_scale / normaliser
} kd_params;

// The student's side of one row: its max, the sums of exponentials at tau
// and (for cross-entropy) at 1, in double.
typedef struct {
    float max;
    double sum_tau, sum_1;
} student_sums;

static student_sums student_row(const float *z, int64_t V, float inv_tau, bool use_ce) {
    student_sums st = {row_max(z, V), 0, 0};
    double sum_tau = 0, sum_1 = 0;
#pragma omp simd reduction(+ : sum_tau)
    for (int64_t j = 0; j < V; j++) sum_tau += (double)lt_kernel_expf((z[j] - st.max) * inv_tau);
    if (use_ce) {
#pragma omp simd reduction(+ : sum_1)
        for (int64_t j = 0; j < V; j++) sum_1 += (double)lt_kernel_expf(z[j] - st.max);
    }
    st.sum_tau = sum_tau, st.sum_1 = sum_1;
    return st;
}

// Scales of the two gradient parts:
// d/dz_j = soft (q_j - p_j) + hard (softmax(z)_j - [j == target]).
static float soft_scale(const kd_params *kp) {
    return (float)((double)kp->grad_scale * (1.0 - kp->ce_weight) * kp->temperature);
}
static float hard_scale(const kd_params *kp, bool use_ce) {
    return use_ce ? (float)((double)kp->grad_scale * kp->ce_weight) : 0.0f;
}

// One row: KL (and CE when target >= 0 and ce_weight > 0) of student logits z
// against teacher logits u; when dz is not NULL (it may be z itself) writes
// the gradient of grad_scale * ((1-w) tau^2 KL + w CE) there.
static void kd_row(const float *z, const float *u, int32_t target, int64_t V, const kd_params *kp,
                   float *scratch, float *dz, double *kl_out, double *ce_out) {
    const float inv_tau = 1.0f / kp->temperature;
    const bool use_ce = target >= 0 && kp->ce_weight > 0;
    student_sums st = student_row(z, V, inv_tau, use_ce);
    float mz = st.max, mu = row_max(u, V);
    kd_set S = teacher_set(u, V, kp->top_k, scratch);
    double sum_t = 0;
#pragma omp simd reduction(+ : sum_t)
    for (int64_t j = 0; j < V; j++) {
        bool in = u[j] > S.threshold || (u[j] == S.threshold && j <= S.last_tie);
        sum_t += in ? (double)lt_kernel_expf((u[j] - mu) * inv_tau) : 0.0;
    }
    double log_s = log(st.sum_tau), log_t = log(sum_t), kl = 0;
#pragma omp simd reduction(+ : kl)
    for (int64_t j = 0; j < V; j++) {
        bool in = u[j] > S.threshold || (u[j] == S.threshold && j <= S.last_tie);
        double p = (double)lt_kernel_expf((u[j] - mu) * inv_tau) / sum_t;
        double log_ratio =
            (double)((u[j] - mu) * inv_tau) - log_t - (double)((z[j] - mz) * inv_tau) + log_s;
        kl += in && p > 0 ? p * log_ratio : 0.0;
    }
    *kl_out = kl;
    *ce_out = use_ce ? log(st.sum_1) + (double)mz - (double)z[target] : 0.0;
    if (!dz) return;
    const float soft = soft_scale(kp), hard = hard_scale(kp, use_ce);
    const float kq = (float)(1.0 / st.sum_tau), kt = (float)(1.0 / sum_t);
    const float k1 = use_ce ? (float)(1.0 / st.sum_1) : 0.0f;
#pragma omp simd
    for (int64_t j = 0; j < V; j++) {
        bool in = u[j] > S.threshold || (u[j] == S.threshold && j <= S.last_tie);
        float q = lt_kernel_expf((z[j] - mz) * inv_tau) * kq;
        float p = in ? lt_kernel_expf((u[j] - mu) * inv_tau) * kt : 0.0f;
        float q1 = use_ce ? lt_kernel_expf(z[j] - mz) * k1 : 0.0f;
        dz[j] = soft * (q - p) + hard * q1;
    }
    if (use_ce) dz[target] -= hard;
}

// kd_row with the teacher given by k (id, value) pairs.
static void kd_row_sparse(const float *z, const int32_t *ids, const float *values, int64_t k,
                          int32_t target, int64_t V, const kd_params *kp, float *dz, double *kl_out,
                          double *ce_out) {
    const float inv_tau = 1.0f / kp->temperature;
    const bool use_ce = target >= 0 && kp->ce_weight > 0;
    student_sums st = student_row(z, V, inv_tau, use_ce);
    float mz = st.max, mu = row_max(values, k);
    double sum_t = 0;
    for (int64_t i = 0; i < k; i++) sum_t += (double)lt_kernel_expf((values[i] - mu) * inv_tau);
    double log_s = log(st.sum_tau), log_t = log(sum_t), kl = 0;
    for (int64_t i = 0; i < k; i++) {
        double p = (double)lt_kernel_expf((values[i] - mu) * inv_tau) / sum_t;
        double log_ratio = (double)((values[i] - mu) * inv_tau) - log_t -
                           (double)((z[ids[i]] - mz) * inv_tau) + log_s;
        kl += p > 0 ? p * log_ratio : 0.0;
    }
    *kl_out = kl;
    *ce_out = use_ce ? log(st.sum_1) + (double)mz - (double)z[target] : 0.0;
    if (!dz) return;
    const float soft = soft_scale(kp), hard = hard_scale(kp, use_ce);
    const float kq = (float)(1.0 / st.sum_tau), kt = (float)(1.0 / sum_t);
    const float k1 = use_ce ? (float)(1.0 / st.sum_1) : 0.0f;
#pragma omp simd
    for (int64_t j = 0; j < V; j++) {
        float q = lt_kernel_expf((z[j] - mz) * inv_tau) * kq;
        float q1 = use_ce ? lt_kernel_expf(z[j] - mz) * k1 : 0.0f;
        dz[j] = soft * q + hard * q1;
    }
    for (int64_t i = 0; i < k; i++)
        dz[ids[i]] -= soft * (lt_kernel_expf((values[i] - mu) * inv_tau) * kt);
    if (use_ce) dz[target] -= hard;
}

static lt_status check_kd_args(const lt_acts *a, const float *teacher_logits,
                               const int32_t *targets, float temperature, int64_t top_k,
                               double ce_weight) {
    if (!teacher_logits) return lt_error(LT_ERR_ARG, "distillation: no teacher logits were given");
    if (!(temperature > 0) || !isfinite(temperature))
        return lt_error(LT_ERR_ARG, "distillation: temperature %g must be a finite number > 0",
                        (double)temperature);
    if (top_k < 0)
        return lt_error(LT_ERR_ARG,
                        "distillation: top-k %lld must be >= 0 (0 keeps the whole vocabulary)",
                        (long long)top_k);
    if (!(ce_weight >= 0 && ce_weight <= 1))
        return lt_error(LT_ERR_ARG, "distillation: cross-entropy weight %g must be in [0, 1]",
                        ce_weight);
    if (!targets && ce_weight > 0)
        return lt_error(LT_ERR_ARG, "distillation: a cross-entropy weight of %g needs targets",
                        ce_weight);
    int64_t V = a->model->cfg.vocab;
    for (int64_t i = 0; targets && i < a->N; i++)
        if (targets[i] >= V)
            return lt_error(LT_ERR_RANGE,
                            "target id %d at position %lld is outside the vocabulary [0, %lld)",
                            targets[i], (long long)i, (long long)V);
    return NULL;
}

// The teacher of a batch: full logits (N, V), or k (id, value) pairs per row.
typedef struct {
    const float *logits; // (N, V) or NULL
    const int32_t *ids;  // (N, k) when logits is NULL
    const float *values; // (N, k)
    int64_t k;
} kd_teacher;

// Runs kd_row over every row; kl and ce (N) get per-row values (0 for
// ignored rows), dlogits (N, V) the gradient (NULL: none).
static lt_status kd_rows(const float *logits, float *dlogits, const kd_teacher *teacher,
                         const int32_t *targets, int64_t N, int64_t V, const kd_params *kp,
                         double *kl, double *ce) {
    int64_t n_threads = omp_get_max_threads();
    float *scratch = NULL; // (n_threads, V) for the top-k selection
    if (teacher->logits && kp->top_k > 0 && kp->top_k < V)
        LT_TRY(lt_alloc((void **)&scratch, (size_t)(n_threads * V) * sizeof *scratch,
                        "top-k selection scratch"));
#pragma omp parallel for schedule(static) if (N * V >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        int32_t t = targets ? targets[n] : -1;
        float *dz = dlogits ? dlogits + n * V : NULL;
        if (targets && t < 0) {
            kl[n] = ce[n] = 0;
            if (dz) memset(dz, 0, (size_t)V * sizeof *dz);
        } else if (teacher->logits) {
            float *thread_scratch = scratch ? scratch + (int64_t)omp_get_thread_num() * V : NULL;
            kd_row(logits + n * V, teacher->logits + n * V, t, V, kp, thread_scratch, dz, &kl[n],
                   &ce[n]);
        } else {
            int64_t k = teacher->k;
            kd_row_sparse(logits + n * V, teacher->ids + n * k, teacher->values + n * k, k, t, V,
                          kp, dz, &kl[n], &ce[n]);
        }
    }
    lt_free(scratch);
    return NULL;
}

static int64_t count_targets(const int32_t *targets, int64_t N) {
    if (!targets) return N;
    int64_t counted = 0;
    for (int64_t i = 0; i < N; i++) counted += targets[i] >= 0;
    return counted;
}

static void set_loss(lt_loss *out, double sum, int64_t counted) {
    out->loss_sum = sum;
    out->n_counted = counted;
    out->loss = counted > 0 ? sum / (double)counted : 0.0;
}

// Loss and dlogits over the batch for either form of the teacher.
static lt_status kd_train(lt_acts *student, const kd_teacher *teacher, const int32_t *targets,
                          kd_params kp, double normaliser, float dloss_scale, lt_loss *out) {
    int64_t N = student->N, V = student->model->cfg.vocab, counted = count_targets(targets, N);
    double norm = normaliser > 0 ? normaliser : (double)(counted > 0 ? counted : 1);
    kp.grad_scale = (float)(dloss_scale / norm);
    double *rows; // (2, N): KL then CE per row
    LT_TRY(
        lt_alloc((void **)&rows, (size_t)(2 * N) * sizeof *rows, "per-token distillation losses"));
    double t0 = lt_profile_begin(&student->profile);
    lt_status s =
        kd_rows(student->logits, student->logits, teacher, targets, N, V, &kp, rows, rows + N);
    lt_profile_end(&student->profile, LT_OP_LOSS, t0);
    if (!s) {
        double tau2 = (double)kp.temperature * kp.temperature, sum = 0;
        for (int64_t i = 0; i < N; i++)
            sum += (1.0 - kp.ce_weight) * tau2 * rows[i] + kp.ce_weight * rows[N + i];
        set_loss(out, sum, counted);
    }
    lt_free(rows);
    return s;
}

lt_status lt_objective_kd(lt_acts *student, const float *teacher_logits, const int32_t *targets,
                          float temperature, int64_t top_k, double ce_weight, double normaliser,
                          float dloss_scale, lt_loss *out) {
    LT_TRY(check_kd_args(student, teacher_logits, targets, temperature, top_k, ce_weight));
    kd_teacher teacher = {.logits = teacher_logits};
    return kd_train(student, &teacher, targets, (kd_params){temperature, top_k, ce_weight, 0},
                    normaliser, dloss_scale, out);
}

lt_status lt_objective_kd_sparse(lt_acts *student, const int32_t *teacher_ids,
                                 const float *teacher_values, int64_t k, const int32_t *targets,
                                 float temperature, double ce_weight, double normaliser,
                                 float dloss_scale, lt_loss *out) {
    if (!teacher_ids || !teacher_values)
        return lt_error(LT_ERR_ARG, "distillation: no teacher top-k ids or values were given");
    LT_TRY(check_kd_args(student, teacher_values, targets, temperature, k, ce_weight));
    int64_t N = student->N, V = student->model->cfg.vocab;
    if (k < 1 || k > V)
        return lt_error(
            LT_ERR_ARG,
            "distillation: %lld teacher logits per position; expected 1 to the vocabulary size %lld",
            (long long)k, (long long)V);
    for (int64_t i = 0; i < N * k; i++)
        if (teacher_ids[i] < 0 || teacher_ids[i] >= V)
            return lt_error(
                LT_ERR_RANGE,
                "distillation: teacher top-k id %d at position %lld is outside the vocabulary [0, %lld)",
                teacher_ids[i], (long long)(i / k), (long long)V);
    kd_teacher teacher = {.ids = teacher_ids, .values = teacher_values, .k = k};
    return kd_train(student, &teacher, targets, (kd_params){temperature, k, ce_weight, 0},
                    normaliser, dloss_scale, out);
}

lt_status lt_objective_kd_top_k_select(const float *logits, int64_t N, int64_t V, int64_t k,
                                       int32_t *ids, float *values) {
    if (k < 1 || k > V)
        return lt_error(LT_ERR_ARG,
                        "top-k selection: k = %lld; expected 1 to the vocabulary size %lld",
                        (long long)k, (long long)V);
    int64_t n_threads = omp_get_max_threads();
    float *scratch; // (n_threads, V)
    LT_TRY(lt_alloc((void **)&scratch, (size_t)(n_threads * V) * sizeof *scratch,
                    "top-k selection scratch"));
#pragma omp parallel for schedule(static) if (N * V >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *u = logits + n * V; // (V)
        kd_set S = teacher_set(u, V, k, scratch + (int64_t)omp_get_thread_num() * V);
        int64_t m = 0;
        for (int64_t j = 0; j < V && m < k; j++)
            if (u[j] > S.threshold || (u[j] == S.threshold && j <= S.last_tie)) {
                ids[n * k + m] = (int32_t)j;
                values[n * k + m++] = u[j];
            }
    }
    lt_free(scratch);
    return NULL;
}

lt_status lt_objective_kd_eval(const lt_acts *student, const float *teacher_logits,
                               const int32_t *targets, float temperature, int64_t top_k,
                               lt_loss *kl, lt_loss *ce) {
    // ce_weight 1 makes kd_row compute the cross-entropy wherever a target is given.
    double weight = targets ? 1.0 : 0.0;
    LT_TRY(check_kd_args(student, teacher_logits, targets, temperature, top_k, weight));
    int64_t N = student->N, V = student->model->cfg.vocab, counted = count_targets(targets, N);
    kd_params kp = {temperature, top_k, weight, 1.0f};
    double *rows; // (2, N)
    LT_TRY(
        lt_alloc((void **)&rows, (size_t)(2 * N) * sizeof *rows, "per-token distillation losses"));
    kd_teacher teacher = {.logits = teacher_logits};
    lt_status s = kd_rows(student->logits, NULL, &teacher, targets, N, V, &kp, rows, rows + N);
    if (!s) {
        double kl_sum = 0, ce_sum = 0;
        for (int64_t i = 0; i < N; i++) kl_sum += rows[i], ce_sum += rows[N + i];
        set_loss(kl, kl_sum, counted);
        if (ce) set_loss(ce, ce_sum, targets ? counted : 0);
    }
    lt_free(rows);
    return s;
}

// ---------------------------------------------------------------- hidden-state cosine

static const float *hidden_state(const lt_acts *a, int64_t l) {
    return l == 0 ? a->x0 : a->blocks[l - 1].out;
}

static lt_status check_hidden_args(const lt_acts *a, const float *const *teacher_hidden,
                                   int64_t teacher_layers, int64_t teacher_hidden_size,
                                   const int64_t *layers, int64_t n_list, double weight) {
    const lt_config *c = &a->model->cfg;
    int64_t L = c->n_layers;
    if (teacher_layers != L)
        return lt_error(
            LT_ERR_ARG,
            "hidden-state distillation needs as many layers in the teacher as in the student: teacher has %lld, student %lld (leave the hidden-state term off)",
            (long long)teacher_layers, (long long)L);
    if (teacher_hidden_size != c->hidden)
        return lt_error(
            LT_ERR_ARG,
            "hidden-state distillation needs the same hidden size: teacher has %lld, student %lld",
            (long long)teacher_hidden_size, (long long)c->hidden);
    if (!(weight >= 0) || !isfinite(weight))
        return lt_error(LT_ERR_ARG,
                        "hidden-state distillation: weight %g must be a finite number >= 0",
                        weight);
    if (!teacher_hidden)
        return lt_error(LT_ERR_ARG,
                        "hidden-state distillation: no teacher hidden states were given");
    if (layers && n_list <= 0)
        return lt_error(LT_ERR_ARG, "hidden-state distillation: the layer list is empty");
    for (int64_t i = 0; layers && i < n_list; i++) {
        if (layers[i] < 0 || layers[i] > L)
            return lt_error(
                LT_ERR_RANGE,
                "hidden-state distillation: layer %lld is outside [0, %lld] (0 is the embedding output, %lld the last block's)",
                (long long)layers[i], (long long)L, (long long)L);
        for (int64_t k = 0; k < i; k++)
            if (layers[k] == layers[i])
                return lt_error(LT_ERR_ARG, "hidden-state distillation: layer %lld is listed twice",
                                (long long)layers[i]);
    }
    for (int64_t i = 0; i < (layers ? n_list : L); i++) {
        int64_t l = layers ? layers[i] : i + 1;
        if (!teacher_hidden[l])
            return lt_error(LT_ERR_ARG,
                            "hidden-state distillation: the teacher's hidden state %lld is missing",
                            (long long)l);
    }
    return NULL;
}

// One layer: per-token 1 - cos into loss (N), and when dh is not NULL the
// gradient of coef * (1 - cos) w.r.t. s there (0 for ignored tokens).
static void cos_layer(const float *s, const float *t, const int32_t *targets, int64_t N, int64_t C,
                      float coef, float *dh, double *loss) {
    const double eps = 1e-8;
#pragma omp parallel for schedule(static) if (N * C >= LT_KERNEL_PAR_MIN)
    for (int64_t n = 0; n < N; n++) {
        const float *sn = s + n * C, *tn = t + n * C; // (C)
        float *dn = dh ? dh + n * C : NULL;
        if (targets && targets[n] < 0) {
            loss[n] = 0;
            if (dn) memset(dn, 0, (size_t)C * sizeof *dn);
            continue;
        }
        double dot = 0, ss = 0, tt = 0;
#pragma omp simd reduction(+ : dot, ss, tt)
        for (int64_t i = 0; i < C; i++) {
            dot += (double)sn[i] * tn[i];
            ss += (double)sn[i] * sn[i];
            tt += (double)tn[i] * tn[i];
        }
        double norm_s = sqrt(ss), norm_t = sqrt(tt);
        double denom = fmax(norm_s, eps) * fmax(norm_t, eps), cosine = dot / denom;
        loss[n] = 1.0 - cosine;
        if (!dn) continue;
        // d(1 - cos)/ds = -(t / denom - cos s / |s|^2); the second part is
        // absent where |s| is clamped to eps (the denominator is then constant).
        float kt = (float)(-(double)coef / denom);
        float ks = norm_s >= eps ? (float)((double)coef * cosine / ss) : 0.0f;
#pragma omp simd
        for (int64_t i = 0; i < C; i++) dn[i] = kt * tn[i] + ks * sn[i];
    }
}

lt_status lt_objective_hidden_cos(const lt_acts *student, const float *const *teacher_hidden,
                                  int64_t teacher_layers, int64_t teacher_hidden_size,
                                  const int32_t *targets, const int64_t *layers, int64_t n_list,
                                  double weight, double normaliser, float dloss_scale,
                                  float **dhidden, lt_loss *out) {
    LT_TRY(check_hidden_args(student, teacher_hidden, teacher_layers, teacher_hidden_size, layers,
                             n_list, weight));
    int64_t N = student->N, C = student->model->cfg.hidden, L = student->model->cfg.n_layers;
    int64_t counted = count_targets(targets, N), n_used = layers ? n_list : L;
    double norm = normaliser > 0 ? normaliser : (double)(counted > 0 ? counted : 1);
    float coef = (float)(weight * dloss_scale / norm);
    for (int64_t i = 0; dhidden && i < n_used; i++) {
        int64_t l = layers ? layers[i] : i + 1;
        if (!dhidden[l])
            LT_TRY(lt_alloc((void **)&dhidden[l], (size_t)(N * C) * sizeof(float),
                            "hidden-state gradient"));
    }
    double *loss; // (N) per layer
    LT_TRY(lt_alloc((void **)&loss, (size_t)N * sizeof *loss, "per-token cosine losses"));
    double sum = 0;
    for (int64_t i = 0; i < n_used; i++) {
        int64_t l = layers ? layers[i] : i + 1;
        cos_layer(hidden_state(student, l), teacher_hidden[l], targets, N, C, coef,
                  dhidden ? dhidden[l] : NULL, loss);
        for (int64_t n = 0; n < N; n++) sum += loss[n];
    }
    lt_free(loss);
    set_loss(out, weight * sum, counted);
    return NULL;
}

// ---------------------------------------------------------------- teacher

// Runs the teacher b rows at a time; each group's logits go to `logits`
// (N, V), or when logits is NULL, their top k to ids and values (N, k).
static lt_status teacher_forward(const lt_model *teacher, lt_acts *scratch, const lt_batch *batch,
                                 float *logits, int64_t k, int32_t *ids, float *values,
                                 float *const *hidden) {
    if (scratch->model != teacher)
        return lt_error(LT_ERR_ARG,
                        "teacher forward: the scratch activations belong to another model");
    if (scratch->T != batch->T || scratch->B <= 0 || batch->B % scratch->B != 0)
        return lt_error(
            LT_ERR_ARG,
            "teacher forward: scratch activations of (%lld, %lld) rows do not divide a batch of (%lld, %lld)",
            (long long)scratch->B, (long long)scratch->T, (long long)batch->B, (long long)batch->T);
    int64_t b = scratch->B, T = batch->T, V = teacher->cfg.vocab, C = teacher->cfg.hidden,
            L = teacher->cfg.n_layers;
    for (int64_t r = 0; r < batch->B; r += b) {
        int64_t off = r * T, n = b * T;
        lt_batch part = {.B = b, .T = T, .ids = batch->ids + off};
        if (batch->positions) part.positions = batch->positions + off;
        if (batch->segments) part.segments = batch->segments + off;
        LT_TRY(lt_model_forward(teacher, scratch, &part));
        if (logits)
            memcpy(logits + off * V, scratch->logits, (size_t)(n * V) * sizeof *logits);
        else
            LT_TRY(lt_objective_kd_top_k_select(scratch->logits, n, V, k, ids + off * k,
                                                values + off * k));
        for (int64_t l = 0; hidden && l <= L; l++)
            if (hidden[l])
                memcpy(hidden[l] + off * C, hidden_state(scratch, l),
                       (size_t)(n * C) * sizeof(float));
    }
    return NULL;
}

lt_status lt_objective_teacher_forward(const lt_model *teacher, lt_acts *scratch,
                                       const lt_batch *batch, float *logits, float *const *hidden) {
    if (!logits) return lt_error(LT_ERR_ARG, "teacher forward: no buffer for the teacher's logits");
    return teacher_forward(teacher, scratch, batch, logits, 0, NULL, NULL, hidden);
}

lt_status lt_objective_teacher_forward_top_k(const lt_model *teacher, lt_acts *scratch,
                                             const lt_batch *batch, int64_t k, int32_t *ids,
                                             float *values, float *const *hidden) {
    if (k < 1 || k > teacher->cfg.vocab)
        return lt_error(LT_ERR_ARG,
                        "teacher forward: top-k %lld; expected 1 to the vocabulary size %lld",
                        (long long)k, (long long)teacher->cfg.vocab);
    if (!ids || !values)
        return lt_error(LT_ERR_ARG,
                        "teacher forward: no buffers for the teacher's top-k ids and values");
    return teacher_forward(teacher, scratch, batch, NULL, k, ids, values, hidden);
}
