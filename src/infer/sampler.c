// sampler.c: next-token choice from logits (sampler.h) — penalties, then the
// filters (top-k, top-p, min-p) at temperature 1, then a temperature draw —
// without ever sorting the whole vocabulary, because with 128k ids a full sort
// would cost more than the decode step it follows.
//
// Shapes: V = n_vocab. Top-k leaves its k survivors as a sorted list in
// `cand`; top-p and min-p over the whole vocabulary leave a cut (every id
// ranked at or above one (logit, id) pair survives), so no survivor is copied.
// The draw turns the survivors into weights exp((logit - max) / T), sums
// them per block so that finding the drawn token walks one block, and walks it.
#include "lathe/sampler.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/kernels.h"

enum {
    LT_SAMPLER_BLOCK = 512,        // weights summed per block (draw, mass passes)
    LT_SAMPLER_CHUNK = 64,         // scans skip chunks a vectorised count shows hold nothing
    LT_SAMPLER_TAIL_MAX = 256,     // top-p narrows its bracket until it holds at most this many
    LT_SAMPLER_PASSES = 6,         // ... or for at most this many passes
    LT_SAMPLER_CUTS = 12,          // thresholds per top-p pass
    LT_SAMPLER_LIST_FRACTION = 16, // survivors of a cut are listed when at most V / this
};

typedef struct {
    float logit;
    int32_t id;
} lt_cand;

struct lt_sampler {
    lt_sampler_params params;
    int32_t n_vocab;
    lt_rng rng;
    int32_t *counts;    // (V) occurrences in the penalty window; all zero between calls
    float *weight;      // (V) exp(logit - max) by id, when a filter needs the whole vocabulary
    lt_cand *cand;      // (V) top-k's candidates, or top-p's bracket
    float *cand_weight; // (V) draw weights: of cand by position, or of every id
    double *block_sum;  // (V / LT_SAMPLER_BLOCK + 1) sums of cand_weight per block
};

// ---------------------------------------------------------------- params

lt_sampler_params lt_sampler_params_default(void) {
    return (lt_sampler_params){
        .temperature = 1.0f,
        .top_k = 0,
        .top_p = 1.0f,
        .min_p = 0.0f,
        .repetition_penalty = 1.0f,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .penalty_last_n = 64,
        .seed = 0,
    };
}

lt_status lt_sampler_params_check(const lt_sampler_params *p) {
    if (!p) return lt_error(LT_ERR_ARG, "sampler: no parameters given");
    if (!(p->temperature >= 0 && isfinite(p->temperature)))
        return lt_error(LT_ERR_ARG,
                        "sampler: temperature is %g (must be a finite value >= 0; 0 means greedy)",
                        p->temperature);
    if (p->top_k < 0)
        return lt_error(LT_ERR_ARG, "sampler: top_k is %ld (must be >= 0; 0 turns it off)",
                        (long)p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return lt_error(LT_ERR_ARG, "sampler: top_p is %g (must be in (0, 1]; 1 turns it off)",
                        p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return lt_error(LT_ERR_ARG, "sampler: min_p is %g (must be in [0, 1]; 0 turns it off)",
                        p->min_p);
    if (!(p->repetition_penalty > 0 && isfinite(p->repetition_penalty)))
        return lt_error(LT_ERR_ARG,
                        "sampler: repetition_penalty is %g (must be a finite value > 0; 1 "
                        "turns it off)",
                        p->repetition_penalty);
    if (!isfinite(p->presence_penalty))
        return lt_error(LT_ERR_ARG, "sampler: presence_penalty is %g (must be finite)",
                        p->presence_penalty);
    if (!isfinite(p->frequency_penalty))
        return lt_error(LT_ERR_ARG, "sampler: frequency_penalty is %g (must be finite)",
                        p->frequency_penalty);
    if (p->penalty_last_n < 0)
        return lt_error(LT_ERR_ARG,
                        "sampler: penalty_last_n is %ld (must be >= 0; 0 means the whole history)",
                        (long)p->penalty_last_n);
    return NULL;
}

// ---------------------------------------------------------------- lifetime

lt_status lt_sampler_init(lt_sampler **out, const lt_sampler_params *params, int32_t n_vocab) {
    *out = NULL;
    LT_TRY(lt_sampler_params_check(params));
    if (n_vocab <= 0)
        return lt_error(LT_ERR_ARG, "sampler: n_vocab is %ld (must be > 0)", (long)n_vocab);
    lt_sampler *s = NULL;
    LT_TRY(lt_calloc((void **)&s, 1, sizeof *s, "sampler"));
    s->params = *params;
    s->n_vocab = n_vocab;
    lt_rng_seed(&s->rng, params->seed);
    size_t V = (size_t)n_vocab;
    lt_status st = lt_calloc((void **)&s->counts, V, sizeof *s->counts, "sampler counts");
    if (!st) st = lt_alloc((void **)&s->weight, V * sizeof *s->weight, "sampler weights");
    if (!st) st = lt_alloc((void **)&s->cand, V * sizeof *s->cand, "sampler candidates");
    if (!st)
        st = lt_alloc((void **)&s->cand_weight, V * sizeof *s->cand_weight,
                      "sampler candidate weights");
    if (!st)
        st = lt_alloc((void **)&s->block_sum, (V / LT_SAMPLER_BLOCK + 1) * sizeof *s->block_sum,
                      "sampler block sums");
    if (st) {
        lt_sampler_free(s);
        return st;
    }
    *out = s;
    return NULL;
}

void lt_sampler_free(lt_sampler *s) {
    if (!s) return;
    lt_free(s->counts);
    lt_free(s->weight);
    lt_free(s->cand);
    lt_free(s->cand_weight);
    lt_free(s->block_sum);
    lt_free(s);
}

void lt_sampler_reseed(lt_sampler *s, uint64_t seed) {
    s->params.seed = seed;
    lt_rng_seed(&s->rng, seed);
}

const lt_sampler_params *lt_sampler_get_params(const lt_sampler *s) { return &s->params; }

// ---------------------------------------------------------------- penalties

// Penalizes each distinct id of the window once, by its count there. The
// counts are built and cleared again by walking the window, so the cost is
// O(window), not O(V).
static void apply_penalties(lt_sampler *s, float *logits, const int32_t *history,
                            size_t n_history) {
    const lt_sampler_params *p = &s->params;
    if (p->repetition_penalty == 1 && p->presence_penalty == 0 && p->frequency_penalty == 0) return;
    size_t n = n_history;
    if (p->penalty_last_n > 0 && (size_t)p->penalty_last_n < n) n = (size_t)p->penalty_last_n;
    const int32_t *window = history + (n_history - n);
    for (size_t i = 0; i < n; i++)
        if (window[i] >= 0 && window[i] < s->n_vocab) s->counts[window[i]]++;
    for (size_t i = 0; i < n; i++) {
        int32_t id = window[i];
        if (id < 0 || id >= s->n_vocab || s->counts[id] == 0) continue;
        int32_t count = s->counts[id];
        s->counts[id] = 0;
        float l = logits[id];
        if (p->repetition_penalty != 1)
            l = l > 0 ? l / p->repetition_penalty : l * p->repetition_penalty;
        logits[id] = l - (p->presence_penalty + p->frequency_penalty * (float)count);
    }
}

// ---------------------------------------------------------------- whole-vocabulary passes

// NaN becomes -inf and +inf becomes FLT_MAX, so that logit - max is never
// NaN; returns the largest logit.
static float sanitize_max(float *logits, int32_t n) {
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int32_t i = 0; i < n; i++) {
        float x = logits[i];
        x = x == x ? x : -INFINITY;
        x = x < FLT_MAX ? x : FLT_MAX;
        logits[i] = x;
        mx = x > mx ? x : mx;
    }
    return mx;
}

// How many of x[lo, hi) lie in [a, b): a vectorised test that lets the scalar
// scans below skip the chunks holding nothing they look for.
static int32_t count_in(const float *x, int32_t lo, int32_t hi, float a, float b) {
    int32_t c = 0;
#pragma omp simd reduction(+ : c)
    for (int32_t i = lo; i < hi; i++) c += (x[i] >= a) & (x[i] < b);
    return c;
}

static int32_t first_index_of_max(const float *logits, int32_t n, float max) {
    for (int32_t lo = 0; lo < n; lo += LT_SAMPLER_CHUNK) {
        int32_t hi = n - lo < LT_SAMPLER_CHUNK ? n : lo + LT_SAMPLER_CHUNK;
        if (count_in(logits, lo, hi, max, INFINITY) == 0) continue;
        for (int32_t i = lo; i < hi; i++)
            if (logits[i] == max) return i;
    }
    return -1;
}

// w[i] = exp(logits[i] - max) for all i; returns their sum (summed per block
// in float, across blocks in double).
static double vocab_weights(float *w, const float *logits, int32_t n, float max) {
    double z = 0;
    for (int32_t lo = 0; lo < n; lo += LT_SAMPLER_BLOCK) {
        int32_t hi = n - lo < LT_SAMPLER_BLOCK ? n : lo + LT_SAMPLER_BLOCK;
        float bs = 0;
#pragma omp simd reduction(+ : bs)
        for (int32_t i = lo; i < hi; i++) {
            w[i] = lt_kernel_expf(logits[i] - max);
            bs += w[i];
        }
        z += bs;
    }
    return z;
}

// Mass (sum of w) of the tokens whose logit is >= t[j], for LT_SAMPLER_CUTS
// thresholds in one pass. Sixteen lanes at a time in GCC vector types, so
// the accumulators stay in registers (an `omp simd` reduction over that many
// scalars spills them); a comparison gives -1 in each true lane, so `y & ge`
// keeps y where x >= t.
typedef float lt_f32x16 __attribute__((vector_size(64)));
typedef int32_t lt_i32x16 __attribute__((vector_size(64)));

static void mass_above(const float *logits, const float *w, int32_t n,
                       const float t[LT_SAMPLER_CUTS], double mass[LT_SAMPLER_CUTS]) {
    lt_f32x16 tv[LT_SAMPLER_CUTS];
    for (int j = 0; j < LT_SAMPLER_CUTS; j++) {
        mass[j] = 0;
        for (int lane = 0; lane < 16; lane++) tv[j][lane] = t[j];
    }
    int32_t i = 0;
    while (i + 16 <= n) {
        // blocks of at most LT_SAMPLER_BLOCK values summed in float, then in double
        int32_t end = n - i < LT_SAMPLER_BLOCK ? i + (n - i) / 16 * 16 : i + LT_SAMPLER_BLOCK;
        lt_f32x16 m[LT_SAMPLER_CUTS] = {0};
        for (; i < end; i += 16) {
            lt_f32x16 x, y;
            memcpy(&x, logits + i, sizeof x);
            memcpy(&y, w + i, sizeof y);
            for (int j = 0; j < LT_SAMPLER_CUTS; j++) {
                lt_i32x16 ge = x >= tv[j];
                m[j] += (lt_f32x16)((lt_i32x16)y & ge);
            }
        }
        for (int j = 0; j < LT_SAMPLER_CUTS; j++) {
            float block_mass = 0;
            for (int lane = 0; lane < 16; lane++) block_mass += m[j][lane];
            mass[j] += block_mass;
        }
    }
    for (; i < n; i++)
        for (int j = 0; j < LT_SAMPLER_CUTS; j++)
            if (logits[i] >= t[j]) mass[j] += w[i];
}

// ---------------------------------------------------------------- ordering

// Candidates rank by logit, then by id (lower first).
static int cand_order(const void *pa, const void *pb) {
    const lt_cand *a = pa, *b = pb;
    if (a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static inline bool cand_below(lt_cand a, lt_cand b) {
    return a.logit < b.logit || (a.logit == b.logit && a.id > b.id);
}

// A min-heap by rank: the root is the weakest of the k kept so far.
static void heap_sift_down(lt_cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t left = 2 * i + 1, right = left + 1, low = i;
        if (left < n && cand_below(h[left], h[low])) low = left;
        if (right < n && cand_below(h[right], h[low])) low = right;
        if (low == i) return;
        lt_cand tmp = h[i];
        h[i] = h[low];
        h[low] = tmp;
        i = low;
    }
}

// ---------------------------------------------------------------- top-k: a list

// The k best ids into cand, sorted. Ids are visited in increasing order, so
// a later id with a logit equal to the root's never displaces it: ties keep
// the lowest ids.
static void select_top_k(lt_sampler *s, const float *logits, int32_t k) {
    lt_cand *h = s->cand;
    for (int32_t i = 0; i < k; i++) h[i] = (lt_cand){logits[i], i};
    for (int32_t i = k / 2 - 1; i >= 0; i--) heap_sift_down(h, k, i);
    for (int32_t lo = k; lo < s->n_vocab; lo += LT_SAMPLER_CHUNK) {
        int32_t hi = s->n_vocab - lo < LT_SAMPLER_CHUNK ? s->n_vocab : lo + LT_SAMPLER_CHUNK;
        if (count_in(logits, lo, hi, nextafterf(h[0].logit, INFINITY), INFINITY) == 0) continue;
        for (int32_t i = lo; i < hi; i++) {
            if (logits[i] > h[0].logit) {
                h[0] = (lt_cand){logits[i], i};
                heap_sift_down(h, k, 0);
            }
        }
    }
    qsort(h, (size_t)k, sizeof *h, cand_order);
}

// Top-k, then top-p and min-p on the sorted k: both cut a suffix. Returns
// the number of survivors left at the front of s->cand.
static int32_t filter_top_k(lt_sampler *s, const float *logits, float max) {
    const lt_sampler_params *p = &s->params;
    int32_t n = p->top_k;
    select_top_k(s, logits, n);
    float *w = s->cand_weight;
    double z = 0;
    for (int32_t j = 0; j < n; j++) {
        w[j] = lt_kernel_expf(s->cand[j].logit - max);
        z += w[j];
    }
    if (p->top_p < 1) {
        double target = (double)p->top_p * z, cum = 0;
        for (int32_t j = 0; j < n; j++) {
            cum += w[j];
            if (cum >= target) {
                n = j + 1;
                break;
            }
        }
    }
    // w[j] = p_j / p_max, as the best token's weight is exp(0) = 1
    if (p->min_p > 0)
        while (n > 1 && w[n - 1] < p->min_p) n--;
    return n;
}

// ---------------------------------------------------------------- top-p and min-p: a cut

// Over the whole vocabulary the survivors of top-p and min-p are described,
// not listed: they are the ids ranked at or above a cut (logit, id) —
// logit > cut.logit, or logit == cut.logit and id <= cut.id — so that the draw
// is one vectorised pass and no survivor is ever copied.
static inline bool above_cut(float logit, int32_t id, lt_cand cut) {
    return logit > cut.logit || (logit == cut.logit && id <= cut.id);
}

// Top-p (s->weight holds exp(logit - max), z their sum). The cut's logit is
// bracketed in [lo, hi), where the mass of the tokens >= lo reaches the target
// and the mass of those >= hi does not; passes over LT_SAMPLER_CUTS thresholds
// narrow the bracket (the first pass at fixed distances below the max, as
// the cut is usually near the top; later ones evenly inside the bracket)
// until it holds few tokens. Only the bracket is gathered, sorted and walked.
// The last offset, 48, keeps the cut inside the first bracket: the tokens
// below max - 48 weigh at most V e^-48 (below 1e-11) times the best one,
// less than the 6e-8 of the mass that any float top_p < 1 leaves out.
static lt_cand top_p_cut(lt_sampler *s, const float *logits, float max, double z, int32_t *n_kept) {
    static const float first_offsets[LT_SAMPLER_CUTS] = {0.0f, 0.25f, 0.5f, 1.0f, 1.5f,  2.0f,
                                                         3.0f, 4.0f,  6.0f, 8.0f, 16.0f, 48.0f};
    const int32_t V = s->n_vocab;
    const float *w = s->weight;
    const double target = (double)s->params.top_p * z;
    float t[LT_SAMPLER_CUTS], lo = -INFINITY, hi = INFINITY;
    double mass[LT_SAMPLER_CUTS], mass_hi = 0;
    for (int j = 0; j < LT_SAMPLER_CUTS; j++) t[j] = max - first_offsets[j];
    for (int pass = 0; pass < LT_SAMPLER_PASSES; pass++) {
        mass_above(logits, w, V, t, mass);
        for (int j = 0; j < LT_SAMPLER_CUTS; j++) { // t descending, mass ascending
            if (mass[j] >= target) {
                lo = t[j];
                break;
            }
            hi = t[j], mass_hi = mass[j];
        }
        if (isinf(lo) || isinf(hi) || count_in(logits, 0, V, lo, hi) <= LT_SAMPLER_TAIL_MAX) break;
        float step = (hi - lo) / (LT_SAMPLER_CUTS + 1);
        for (int j = 0; j < LT_SAMPLER_CUTS; j++) t[j] = hi - step * (float)(j + 1);
        if (!(t[0] < hi && t[LT_SAMPLER_CUTS - 1] > lo)) break; // ties it cannot split
    }
    lt_cand *bracket = s->cand;
    int32_t n = 0;
    for (int32_t c0 = 0; c0 < V; c0 += LT_SAMPLER_CHUNK) {
        int32_t c1 = V - c0 < LT_SAMPLER_CHUNK ? V : c0 + LT_SAMPLER_CHUNK;
        if (count_in(logits, c0, c1, lo, hi) == 0) continue;
        for (int32_t i = c0; i < c1; i++)
            if (logits[i] >= lo && logits[i] < hi) bracket[n++] = (lt_cand){logits[i], i};
    }
    qsort(bracket, (size_t)n, sizeof *bracket, cand_order);
    double kept = mass_hi;
    int32_t taken = 0;
    while (taken < n && kept < target) kept += w[bracket[taken++].id];
    *n_kept = (isinf(hi) ? 0 : count_in(logits, 0, V, hi, INFINITY)) + taken;
    // rounding can make the tokens >= hi reach the target alone: keep just them
    return taken ? bracket[taken - 1] : (lt_cand){hi, V};
}

// Min-p: the smallest logit whose weight exp(logit - max) reaches min_p; the
// cut keeps every id at or above it.
static lt_cand min_p_cut(const float *logits, int32_t n, float max, float min_p, int32_t *n_kept) {
    float least = max;
#pragma omp simd reduction(min : least)
    for (int32_t i = 0; i < n; i++) {
        float x = logits[i];
        least = lt_kernel_expf(x - max) >= min_p && x < least ? x : least;
    }
    *n_kept = count_in(logits, 0, n, least, INFINITY);
    return (lt_cand){least, n};
}

// The ids at or above the cut, in id order, into s->cand; returns how many.
// Chunks holding none are skipped by a vectorised count.
static int32_t gather_cut(lt_sampler *s, const float *logits, lt_cand cut) {
    const int32_t V = s->n_vocab;
    int32_t n = 0;
    for (int32_t lo = 0; lo < V; lo += LT_SAMPLER_CHUNK) {
        int32_t hi = V - lo < LT_SAMPLER_CHUNK ? V : lo + LT_SAMPLER_CHUNK;
        if (count_in(logits, lo, hi, cut.logit, INFINITY) == 0) continue;
        for (int32_t i = lo; i < hi; i++)
            if (above_cut(logits[i], i, cut)) s->cand[n++] = (lt_cand){logits[i], i};
    }
    return n;
}

// ---------------------------------------------------------------- draw

// Weights exp((logit - max) / T) of the n listed candidates, summed per block
// into s->block_sum; returns the total. `d < 0` guards the max itself against
// 0 * inf when 1/T overflows.
static double draw_weights_list(lt_sampler *s, const lt_cand *cand, int32_t n, float max,
                                float inv_t) {
    float *w = s->cand_weight;
    double total = 0;
    for (int32_t lo = 0, b = 0; lo < n; lo += LT_SAMPLER_BLOCK, b++) {
        int32_t hi = n - lo < LT_SAMPLER_BLOCK ? n : lo + LT_SAMPLER_BLOCK;
        float bs = 0;
#pragma omp simd reduction(+ : bs)
        for (int32_t j = lo; j < hi; j++) {
            float d = cand[j].logit - max;
            w[j] = lt_kernel_expf(d < 0 ? d * inv_t : 0.0f);
            bs += w[j];
        }
        s->block_sum[b] = bs;
        total += bs;
    }
    return total;
}

// The same over the whole vocabulary, 0 for the ids below the cut.
static double draw_weights_cut(lt_sampler *s, const float *logits, lt_cand cut, float max,
                               float inv_t) {
    float *w = s->cand_weight;
    const int32_t n = s->n_vocab;
    double total = 0;
    for (int32_t lo = 0, b = 0; lo < n; lo += LT_SAMPLER_BLOCK, b++) {
        int32_t hi = n - lo < LT_SAMPLER_BLOCK ? n : lo + LT_SAMPLER_BLOCK;
        float bs = 0;
#pragma omp simd reduction(+ : bs)
        for (int32_t j = lo; j < hi; j++) {
            float d = logits[j] - max;
            float e = lt_kernel_expf(d < 0 ? d * inv_t : 0.0f);
            w[j] = above_cut(logits[j], j, cut) ? e : 0.0f;
            bs += w[j];
        }
        s->block_sum[b] = bs;
        total += bs;
    }
    return total;
}

// The position drawn with probability w[j] / total: skip whole blocks, then
// walk one. Rounding can leave the walk short of u; it then takes the last
// positive weight it passed (the best token's weight is 1, so there is one).
static int32_t draw_position(lt_sampler *s, int32_t n, double total) {
    const float *w = s->cand_weight;
    double u = lt_rng_uniform(&s->rng) * total, cum = 0;
    int32_t n_blocks = (n + LT_SAMPLER_BLOCK - 1) / LT_SAMPLER_BLOCK, b = 0;
    while (b < n_blocks - 1 && cum + s->block_sum[b] <= u) cum += s->block_sum[b++];
    int32_t lo = b * LT_SAMPLER_BLOCK, hi = n - lo < LT_SAMPLER_BLOCK ? n : lo + LT_SAMPLER_BLOCK;
    int32_t pick = -1;
    for (int32_t j = lo; j < hi; j++) {
        if (w[j] <= 0) continue;
        pick = j;
        cum += w[j];
        if (cum > u) return pick;
    }
    for (int32_t j = n - 1; pick < 0 && j >= 0; j--)
        if (w[j] > 0) pick = j;
    return pick;
}

// (logit - max) / T, with the max itself at exactly 0 even when 1/T overflows.
static double scaled(float d, float inv_t) { return d < 0 ? (double)d * inv_t : 0.0; }

// Draws from the n candidates listed in s->cand.
static int32_t draw_list(lt_sampler *s, int32_t n, float max, float inv_t, float *logprob) {
    double total = draw_weights_list(s, s->cand, n, max, inv_t);
    lt_cand chosen = s->cand[draw_position(s, n, total)];
    if (logprob) *logprob = (float)(scaled(chosen.logit - max, inv_t) - log(total));
    return chosen.id;
}

// Draws from the ids at or above the cut, in place.
static int32_t draw_cut(lt_sampler *s, const float *logits, lt_cand cut, float max, float inv_t,
                        float *logprob) {
    double total = draw_weights_cut(s, logits, cut, max, inv_t);
    int32_t id = draw_position(s, s->n_vocab, total);
    if (logprob) *logprob = (float)(scaled(logits[id] - max, inv_t) - log(total));
    return id;
}

// ---------------------------------------------------------------- sample

int32_t lt_sampler_sample(lt_sampler *s, float *logits, const int32_t *history, size_t n_history,
                          float *logprob) {
    const lt_sampler_params *p = &s->params;
    const int32_t V = s->n_vocab;
    apply_penalties(s, logits, history, n_history);
    float max = sanitize_max(logits, V);
    if (max == -INFINITY) {
        if (logprob) *logprob = -INFINITY;
        return -1;
    }
    if (p->temperature == 0) {
        if (logprob) *logprob = (float)-log(vocab_weights(s->weight, logits, V, max));
        return first_index_of_max(logits, V, max);
    }
    float inv_t = 1.0f / p->temperature;
    if (p->top_k > 0 && p->top_k < V)
        return draw_list(s, filter_top_k(s, logits, max), max, inv_t, logprob);
    lt_cand cut = {-INFINITY, V};
    int32_t n_kept = V, n_min_p;
    if (p->top_p < 1)
        cut = top_p_cut(s, logits, max, vocab_weights(s->weight, logits, V, max), &n_kept);
    if (p->min_p > 0) {
        lt_cand m = min_p_cut(logits, V, max, p->min_p, &n_min_p);
        if (m.logit > cut.logit) cut = m, n_kept = n_min_p;
    }
    // Few survivors are listed, in id order, so the draw picks the same id as
    // it would over the whole vocabulary.
    if (n_kept <= V / LT_SAMPLER_LIST_FRACTION)
        return draw_list(s, gather_cut(s, logits, cut), max, inv_t, logprob);
    return draw_cut(s, logits, cut, max, inv_t, logprob);
}
