// test_sampler.c: the sampler against expectations worked out by hand or by
// an independent reference written here (sort the whole vocabulary in double
// precision, cut by the definition of each filter): greedy is the argmax with
// ties to the lowest id; 200k draws of a hand-written logit vector match the
// hand-derived truncated, renormalized distribution of each filter (per-token
// bound of 5 standard deviations of a binomial frequency); at V = 128256 the
// chosen token lies in the reference survivor set and its logprob equals the
// reference value; penalties on hand-computed logits; seeds; bad parameters.
#include <float.h>

#include "lathe/sampler.h"
#include "lt_test.h"

// ---------------------------------------------------------------- helpers

// softmax(l / T) restricted to the ids in `kept` (others get 0).
static void expected_probs(const float *l, int V, const int *kept, int n_kept, double T,
                           double *p) {
    double max = -INFINITY, z = 0;
    for (int j = 0; j < n_kept; j++) max = fmax(max, l[kept[j]] / T);
    for (int i = 0; i < V; i++) p[i] = 0;
    for (int j = 0; j < n_kept; j++) z += p[kept[j]] = exp(l[kept[j]] / T - max);
    for (int j = 0; j < n_kept; j++) p[kept[j]] /= z;
}

// Draws n times from the same logits and checks the frequencies: exactly 0
// for excluded ids, within 5 binomial standard deviations otherwise.
static void check_distribution(const char *what, lt_sampler_params params, const float *l, int V,
                               const int *kept, int n_kept, double T) {
    enum { N = 200000 };
    double p[16];
    long count[16] = {0};
    expected_probs(l, V, kept, n_kept, T, p);
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &params, V));
    if (!s) return;
    float work[16];
    for (int d = 0; d < N; d++) {
        memcpy(work, l, (size_t)V * sizeof *l);
        int32_t id = lt_sampler_sample(s, work, NULL, 0, NULL);
        LT_CHECK(id >= 0 && id < V);
        if (id >= 0 && id < V) count[id]++;
    }
    for (int i = 0; i < V; i++) {
        double freq = (double)count[i] / N;
        double bound = 5 * sqrt(p[i] * (1 - p[i]) / N);
        LT_CHECK_MSG(fabs(freq - p[i]) <= bound,
                     "%s: id %d drawn with frequency %.5f, expected %.5f", what, i, freq, p[i]);
    }
    lt_sampler_free(s);
}

// The hand-written vector. At T = 1, exp(l - 2) = 1, .606531, .367879,
// .223130, .135335, .049787 (sum 2.382662), so p = .419698, .254562,
// .154399, .093648, .056800, .020896; cumulative .4197, .6743, .8287, .9224,
// .9792, 1.
static const float L6[6] = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -1.0f};

// ---------------------------------------------------------------- greedy

static void test_greedy_is_argmax(void) {
    lt_sampler_params params = lt_sampler_params_default();
    params.temperature = 0;
    enum { V = 1000 };
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &params, V));
    if (!s) return;
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    float l[V];
    for (int trial = 0; trial < 50; trial++) {
        int best = 0;
        for (int i = 0; i < V; i++) {
            l[i] = 3 * lt_rng_normal(&rng);
            if (l[i] > l[best]) best = i;
        }
        LT_CHECK_INT(lt_sampler_sample(s, l, NULL, 0, NULL), best);
    }
    // ties go to the lowest id
    for (int i = 0; i < V; i++) l[i] = 0;
    l[700] = 5, l[300] = 5, l[301] = 5;
    LT_CHECK_INT(lt_sampler_sample(s, l, NULL, 0, NULL), 300);
    lt_sampler_free(s);
}

static void test_greedy_logprob(void) {
    lt_sampler_params params = lt_sampler_params_default();
    params.temperature = 0;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &params, 3));
    float l[3] = {1.0f, 2.0f, 0.0f}, lp = 0;
    LT_CHECK_INT(lt_sampler_sample(s, l, NULL, 0, &lp), 1);
    // log softmax: 2 - log(e + e^2 + 1) = 2 - 2.40760596 = -0.40760596
    LT_CHECK_CLOSE(lp, -0.40760596, 1e-6, 0);
    lt_sampler_free(s);
}

static void test_top_k_1_is_greedy(void) {
    lt_sampler_params greedy = lt_sampler_params_default(), top1 = greedy;
    greedy.temperature = 0;
    top1.top_k = 1;
    top1.temperature = 1.3f;
    enum { V = 5000 };
    lt_sampler *a = NULL, *b = NULL;
    LT_CHECK_OK(lt_sampler_init(&a, &greedy, V));
    LT_CHECK_OK(lt_sampler_init(&b, &top1, V));
    if (!a || !b) return;
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    static float l[V], m[V];
    for (int trial = 0; trial < 40; trial++) {
        for (int i = 0; i < V; i++) l[i] = roundf(4 * lt_rng_normal(&rng)); // many ties
        memcpy(m, l, sizeof l);
        float lp = 1;
        int32_t want = lt_sampler_sample(a, l, NULL, 0, NULL);
        LT_CHECK_INT(lt_sampler_sample(b, m, NULL, 0, &lp), want);
        LT_CHECK_CLOSE(lp, 0, 0, 0); // one survivor: probability 1
    }
    lt_sampler_free(a);
    lt_sampler_free(b);
}

// ---------------------------------------------------------------- distributions

static void test_temperature_distribution(void) {
    lt_sampler_params params = lt_sampler_params_default();
    const int all[6] = {0, 1, 2, 3, 4, 5};
    check_distribution("T=1", params, L6, 6, all, 6, 1.0);
    params.temperature = 0.7f;
    params.seed = 1;
    check_distribution("T=0.7", params, L6, 6, all, 6, 0.7);
}

static void test_top_k_distribution(void) {
    lt_sampler_params params = lt_sampler_params_default();
    params.top_k = 3;
    params.temperature = 0.8f;
    const int kept[3] = {0, 1, 2};
    check_distribution("top_k=3 T=0.8", params, L6, 6, kept, 3, 0.8);
    // top_k >= V is off
    params.top_k = 6;
    params.temperature = 1;
    const int all[6] = {0, 1, 2, 3, 4, 5};
    check_distribution("top_k=6", params, L6, 6, all, 6, 1.0);
}

static void test_top_p_distribution(void) {
    lt_sampler_params params = lt_sampler_params_default();
    params.top_p = 0.8f; // cumulative .4197, .6743, .8287: three ids
    const int k3[3] = {0, 1, 2};
    check_distribution("top_p=0.8", params, L6, 6, k3, 3, 1.0);
    params.top_p = 0.5f; // .4197, .6743: two ids
    params.temperature = 2.0f;
    const int k2[2] = {0, 1};
    check_distribution("top_p=0.5 T=2", params, L6, 6, k2, 2, 2.0);
    params.top_p = 0.95f; // ... .9224, .9792: five ids
    params.temperature = 1.0f;
    const int k5[5] = {0, 1, 2, 3, 4};
    check_distribution("top_p=0.95", params, L6, 6, k5, 5, 1.0);
}

static void test_min_p_distribution(void) {
    lt_sampler_params params = lt_sampler_params_default();
    params.min_p = 0.2f; // p / p_max = exp(l - 2): .2231 stays, .1353 goes
    const int k4[4] = {0, 1, 2, 3};
    check_distribution("min_p=0.2", params, L6, 6, k4, 4, 1.0);
    params.min_p = 0.3f; // .3679 stays, .2231 goes
    params.temperature = 2.0f;
    const int k3[3] = {0, 1, 2};
    check_distribution("min_p=0.3 T=2", params, L6, 6, k3, 3, 2.0);
}

static void test_combined_distribution(void) {
    // top-4 renormalized: exp(l - 2) / 2.19754 = .4551, .2760, .1674, .1015;
    // cumulative .4551, .7311, .8985 >= .85: three ids, then T = 1.5.
    lt_sampler_params params = lt_sampler_params_default();
    params.top_k = 4;
    params.top_p = 0.85f;
    params.temperature = 1.5f;
    const int k3[3] = {0, 1, 2};
    check_distribution("top_k=4 top_p=0.85 T=1.5", params, L6, 6, k3, 3, 1.5);
    // top-p .9 keeps four (.9224), min-p .3 then drops id 3 (.2231 < .3).
    params = lt_sampler_params_default();
    params.top_p = 0.9f;
    params.min_p = 0.3f;
    params.temperature = 0.7f;
    check_distribution("top_p=0.9 min_p=0.3 T=0.7", params, L6, 6, k3, 3, 0.7);
    // ties: logits 1, 3, 3, 3 with top-k 2 keep the lowest tied ids, 50/50
    params = lt_sampler_params_default();
    params.top_k = 2;
    const float tied[4] = {1, 3, 3, 3};
    const int k12[2] = {1, 2};
    check_distribution("top_k=2 ties", params, tied, 4, k12, 2, 1.0);
    // top-p stops at the token whose cumulative mass reaches top_p exactly
    // (llama.cpp's >=): four equal logits, .25 each, top_p .5 keeps two,
    // the lowest ids; over the whole vocabulary and after top-k alike.
    const float flat[5] = {0, 0, 0, 0, -INFINITY};
    const int k01[2] = {0, 1};
    params = lt_sampler_params_default();
    params.top_p = 0.5f;
    check_distribution("top_p=0.5 exact", params, flat, 5, k01, 2, 1.0);
    params.top_k = 4;
    check_distribution("top_k=4 top_p=0.5 exact", params, flat, 5, k01, 2, 1.0);
}

// ---------------------------------------------------------------- large vocabulary

enum { BIG_V = 128256 };

typedef struct {
    double logit;
    int id;
} ref_entry;

static int ref_order(const void *pa, const void *pb) {
    const ref_entry *a = pa, *b = pb;
    if (a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
    return a->id - b->id;
}

// The reference sorts the whole vocabulary by (logit desc, id asc) in double;
// the survivors are a prefix of that order whose length follows from each
// filter's definition (top-k: k; top-p: the shortest prefix whose
// renormalized mass reaches top_p; min-p: p >= min_p * p_max; the shortest of
// them). The sampler decides with float sums (per block of 512 values: at
// most 36 roundings of 2^-24, 2.2e-6 relative, plus about 1e-7 from its exp),
// so a boundary within AMBIGUOUS (relative) of the threshold may fall either
// way: [n_lo, n_hi] holds every prefix length consistent with that.
#define AMBIGUOUS 4e-6

typedef struct {
    int *rank;   // (V) position of each id in the order
    double *sum; // (V + 1) sum[n]: sum of exp((l - max) / T) over the first n
    int n_lo, n_hi;
} reference;

static void reference_build(reference *r, const float *l, int V, const lt_sampler_params *p) {
    ref_entry *e = malloc((size_t)V * sizeof *e);
    double *w = malloc((size_t)V * sizeof *w);
    r->rank = malloc((size_t)V * sizeof *r->rank);
    r->sum = malloc((size_t)(V + 1) * sizeof *r->sum);
    for (int i = 0; i < V; i++) e[i] = (ref_entry){l[i], i};
    qsort(e, (size_t)V, sizeof *e, ref_order);
    for (int j = 0; j < V; j++) r->rank[e[j].id] = j, w[j] = exp(e[j].logit - e[0].logit);
    int n = p->top_k > 0 && p->top_k < V ? p->top_k : V;
    int a_lo = n, a_hi = n, b_lo = n, b_hi = n;
    if (p->top_p < 1) {
        double z = 0, cum = 0;
        for (int j = 0; j < n; j++) z += w[j];
        a_lo = a_hi = -1;
        for (int j = 0; j < n && a_hi < 0; j++) {
            cum += w[j] / z;
            if (a_lo < 0 && cum >= p->top_p - AMBIGUOUS) a_lo = j + 1;
            if (cum >= p->top_p + AMBIGUOUS) a_hi = j + 1;
        }
        if (a_hi < 0) a_hi = n;
    }
    if (p->min_p > 0) {
        b_lo = b_hi = 0;
        for (int j = 0; j < n; j++) {
            b_lo += w[j] >= p->min_p * (1 + AMBIGUOUS);
            b_hi += w[j] >= p->min_p * (1 - AMBIGUOUS);
        }
        b_lo = b_lo > 0 ? b_lo : 1;
    }
    r->n_lo = a_lo < b_lo ? a_lo : b_lo;
    r->n_hi = a_hi < b_hi ? a_hi : b_hi;
    r->sum[0] = 0;
    for (int j = 0; j < V; j++)
        r->sum[j + 1] = r->sum[j] + exp((e[j].logit - e[0].logit) / p->temperature);
    free(e);
    free(w);
}

static void reference_free(reference *r) {
    free(r->rank);
    free(r->sum);
}

// Draws from a 128k vocabulary. Each draw's logprob, log(w_c / sum of the
// survivors' w) with w = exp((l - max) / T), tells how many survivors the
// sampler kept: that count must lie in the reference range and the chosen id
// among them.
static void check_big(const char *what, lt_sampler_params params, const float *l, int draws,
                      double tol) {
    static float work[BIG_V];
    reference ref;
    reference_build(&ref, l, BIG_V, &params);
    double max = -INFINITY;
    for (int i = 0; i < BIG_V; i++) max = fmax(max, l[i]);
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &params, BIG_V));
    for (int d = 0; s && d < draws; d++) {
        memcpy(work, l, sizeof work);
        float lp = 0;
        int32_t id = lt_sampler_sample(s, work, NULL, 0, &lp);
        LT_CHECK(id >= 0 && id < BIG_V);
        if (id < 0 || id >= BIG_V) break;
        int kept = -1;
        for (int n = ref.n_lo; n <= ref.n_hi && kept < 0; n++)
            if (fabs((l[id] - max) / params.temperature - log(ref.sum[n]) - lp) <= tol) kept = n;
        LT_CHECK_MSG(
            kept > 0, "%s: logprob %.7f matches no survivor count in [%d, %d] (%.7f .. %.7f)", what,
            lp, ref.n_lo, ref.n_hi, (l[id] - max) / params.temperature - log(ref.sum[ref.n_lo]),
            (l[id] - max) / params.temperature - log(ref.sum[ref.n_hi]));
        LT_CHECK_MSG(kept < 0 || ref.rank[id] < kept,
                     "%s: drew id %d of rank %d, beyond %d survivors", what, id, ref.rank[id],
                     kept);
    }
    lt_sampler_free(s);
    reference_free(&ref);
}

static void big_logits(float *l, uint64_t seed, float scale) {
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (int i = 0; i < BIG_V; i++) l[i] = scale * lt_rng_normal(&rng);
}

static void test_big_vocab_filters(void) {
    static float l[BIG_V];
    big_logits(l, 3, 2.5f);
    lt_sampler_params p = lt_sampler_params_default();
    p.temperature = 0;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, BIG_V));
    static float work[BIG_V];
    memcpy(work, l, sizeof work);
    int best = 0;
    for (int i = 1; i < BIG_V; i++)
        if (l[i] > l[best]) best = i;
    if (s) LT_CHECK_INT(lt_sampler_sample(s, work, NULL, 0, NULL), best);
    lt_sampler_free(s);

    // A near-uniform temperature (1e4) makes the logprob about -log(n) for n
    // survivors, so one survivor too many or too few moves it by about 1/n,
    // at least 7.9e-6 here; a float logprob near -12 is good to about 1e-6,
    // hence the bound of 3e-6.
    p = lt_sampler_params_default();
    p.top_k = 40;
    check_big("top_k=40", p, l, 50, 3e-6);
    p.top_p = 0.9f;
    check_big("top_k=40 top_p=0.9", p, l, 50, 3e-6);
    for (int pass = 0; pass < 2; pass++) {
        // peaked (scale 2.5) and flat (scale 1) distributions: the top-p cut
        // lies near the top or deep in the vocabulary
        if (pass == 1) big_logits(l, 4, 1.0f);
        p = lt_sampler_params_default();
        p.top_p = 0.9f;
        check_big("top_p=0.9", p, l, 20, 3e-6);
        p.temperature = 1e4f;
        check_big("top_p=0.9 T=1e4", p, l, 20, 3e-6);
        p.top_p = 0.5f;
        check_big("top_p=0.5 T=1e4", p, l, 20, 3e-6);
        p.top_p = 0.999f;
        check_big("top_p=0.999 T=1e4", p, l, 20, 3e-6);
        p.top_p = 1;
        p.min_p = 0.05f;
        check_big("min_p=0.05 T=1e4", p, l, 20, 3e-6);
        p.top_p = 0.95f;
        check_big("top_p=0.95 min_p=0.05 T=1e4", p, l, 20, 3e-6);
        p = lt_sampler_params_default();
        check_big("T=1", p, l, 20, 3e-6);
    }
}

static void test_big_vocab_all_tied(void) {
    // Equal logits: top-p 0.5 keeps exactly half the ids, the lowest ones
    // (the sums are of ones, exact in float), each with probability 2 / V.
    static float l[BIG_V], work[BIG_V];
    for (int i = 0; i < BIG_V; i++) l[i] = 1.25f;
    lt_sampler_params p = lt_sampler_params_default();
    p.top_p = 0.5f;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, BIG_V));
    for (int d = 0; s && d < 20; d++) {
        memcpy(work, l, sizeof work);
        float lp = 0;
        int32_t id = lt_sampler_sample(s, work, NULL, 0, &lp);
        LT_CHECK(id >= 0 && id < BIG_V / 2);
        LT_CHECK_CLOSE(lp, -log(BIG_V / 2), 1e-6, 0);
    }
    lt_sampler_free(s);
}

// ---------------------------------------------------------------- penalties

static void test_penalties_hand_computed(void) {
    lt_sampler_params p = lt_sampler_params_default();
    p.temperature = 0;
    p.repetition_penalty = 2.0f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.penalty_last_n = 0;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 5));
    if (!s) return;
    float l[5] = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
    const int32_t hist[6] = {0, 1, 0, 3, 3, 3};
    // counts 0:2, 1:1, 3:3
    //   id 0: 2 / 2 - 0.5 - 0.25*2 = 0       id 1: -1 * 2 - 0.5 - 0.25 = -2.75
    //   id 3: 3 / 2 - 0.5 - 0.25*3 = 0.25    ids 2, 4 untouched: 0.5 and 0
    LT_CHECK_INT(lt_sampler_sample(s, l, hist, 6, NULL), 2);
    const float want[5] = {0.0f, -2.75f, 0.5f, 0.25f, 0.0f};
    for (int i = 0; i < 5; i++) LT_CHECK_CLOSE(l[i], want[i], 1e-6, 0);
    lt_sampler_free(s);
}

static void test_penalty_window(void) {
    lt_sampler_params p = lt_sampler_params_default();
    p.temperature = 0;
    p.repetition_penalty = 1.5f;
    p.penalty_last_n = 2;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 4));
    if (!s) return;
    // only the last two ids (2 and 1) count; -7 and 99 are outside the vocabulary
    float l[4] = {3.0f, 3.0f, -2.0f, 1.0f};
    const int32_t hist[5] = {0, 3, -7, 2, 1};
    LT_CHECK_INT(lt_sampler_sample(s, l, hist, 5, NULL), 0);
    LT_CHECK_CLOSE(l[0], 3.0, 0, 0);
    LT_CHECK_CLOSE(l[1], 2.0, 1e-6, 0);
    LT_CHECK_CLOSE(l[2], -3.0, 1e-6, 0);
    LT_CHECK_CLOSE(l[3], 1.0, 0, 0);
    // every id ignored: nothing changes (and the counts stay clean for the next call)
    float m[4] = {1.0f, 4.0f, 2.0f, 3.0f};
    const int32_t junk[2] = {99, -1};
    LT_CHECK_INT(lt_sampler_sample(s, m, junk, 2, NULL), 1);
    LT_CHECK_CLOSE(m[1], 4.0, 0, 0);
    // the window counts again from zero: id 1 once, so 4 / 1.5
    const int32_t once[1] = {1};
    LT_CHECK_INT(lt_sampler_sample(s, m, once, 1, NULL), 3);
    LT_CHECK_CLOSE(m[1], 4.0 / 1.5, 1e-6, 0);
    lt_sampler_free(s);
}

static void test_penalty_changes_distribution(void) {
    // presence 1 on id 0 of L6 at T = 1: logits 1, 1.5, 1, .5, 0, -1
    lt_sampler_params p = lt_sampler_params_default();
    p.presence_penalty = 1.0f;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 6));
    if (!s) return;
    const float pen[6] = {1.0f, 1.5f, 1.0f, 0.5f, 0.0f, -1.0f};
    double want[6];
    const int all[6] = {0, 1, 2, 3, 4, 5};
    expected_probs(pen, 6, all, 6, 1.0, want);
    const int32_t hist[1] = {0};
    enum { N = 200000 };
    long count[6] = {0};
    for (int d = 0; d < N; d++) {
        float work[6];
        memcpy(work, L6, sizeof work);
        int32_t id = lt_sampler_sample(s, work, hist, 1, NULL);
        if (id >= 0 && id < 6) count[id]++;
    }
    for (int i = 0; i < 6; i++)
        LT_CHECK_CLOSE((double)count[i] / N, want[i], 5 * sqrt(want[i] * (1 - want[i]) / N), 0);
    lt_sampler_free(s);
}

// ---------------------------------------------------------------- logprob, seeds, edge values

static void test_logprob_hand_computed(void) {
    // top-2 of {2, 1, 0} at T = 0.5: logits / T = 4, 2; log p = 4 - log(e^4 + e^2)
    // = -0.12692801 for id 0, 2 - log(e^4 + e^2) = -2.12692801 for id 1.
    lt_sampler_params p = lt_sampler_params_default();
    p.top_k = 2;
    p.temperature = 0.5f;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 3));
    if (!s) return;
    int seen[2] = {0, 0};
    for (int d = 0; d < 200; d++) {
        float l[3] = {2.0f, 1.0f, 0.0f}, lp = 0;
        int32_t id = lt_sampler_sample(s, l, NULL, 0, &lp);
        LT_CHECK(id == 0 || id == 1);
        if (id == 0) LT_CHECK_CLOSE(lp, -0.12692801, 1e-6, 0);
        if (id == 1) LT_CHECK_CLOSE(lp, -2.12692801, 1e-6, 0);
        if (id == 0 || id == 1) seen[id] = 1;
    }
    LT_CHECK(seen[0] && seen[1]);
    lt_sampler_free(s);
}

static void test_seed_determinism(void) {
    lt_sampler_params p = lt_sampler_params_default();
    p.seed = 1234;
    lt_sampler *a = NULL, *b = NULL, *c = NULL;
    LT_CHECK_OK(lt_sampler_init(&a, &p, 6));
    LT_CHECK_OK(lt_sampler_init(&b, &p, 6));
    p.seed = 1235;
    LT_CHECK_OK(lt_sampler_init(&c, &p, 6));
    if (!a || !b || !c) return;
    int32_t first[1000];
    int same_ab = 1, same_ac = 1;
    for (int d = 0; d < 1000; d++) {
        float la[6], lb[6], lc[6];
        memcpy(la, L6, sizeof la), memcpy(lb, L6, sizeof lb), memcpy(lc, L6, sizeof lc);
        first[d] = lt_sampler_sample(a, la, NULL, 0, NULL);
        same_ab &= first[d] == lt_sampler_sample(b, lb, NULL, 0, NULL);
        same_ac &= first[d] == lt_sampler_sample(c, lc, NULL, 0, NULL);
    }
    LT_CHECK(same_ab);
    LT_CHECK(!same_ac);
    lt_sampler_reseed(a, 1234);
    LT_CHECK_INT(lt_sampler_get_params(a)->seed, 1234);
    int replay = 1;
    for (int d = 0; d < 1000; d++) {
        float la[6];
        memcpy(la, L6, sizeof la);
        replay &= first[d] == lt_sampler_sample(a, la, NULL, 0, NULL);
    }
    LT_CHECK(replay);
    lt_sampler_free(a);
    lt_sampler_free(b);
    lt_sampler_free(c);
}

static void test_non_finite_logits(void) {
    lt_sampler_params p = lt_sampler_params_default();
    p.temperature = 0;
    lt_sampler *s = NULL;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 4));
    if (!s) return;
    float l[4] = {NAN, 1.0f, INFINITY, 3.0f};
    LT_CHECK_INT(lt_sampler_sample(s, l, NULL, 0, NULL), 2);
    LT_CHECK(l[0] == -INFINITY && l[2] == FLT_MAX);
    float dead[4] = {-INFINITY, NAN, -INFINITY, NAN}, lp = 0;
    LT_CHECK_INT(lt_sampler_sample(s, dead, NULL, 0, &lp), -1);
    LT_CHECK(lp == -INFINITY);
    lt_sampler_free(s);
    // sampling: a NaN or -inf id is never drawn, +inf takes everything
    p = lt_sampler_params_default();
    LT_CHECK_OK(lt_sampler_init(&s, &p, 4));
    if (!s) return;
    for (int d = 0; d < 100; d++) {
        float m[4] = {NAN, 1.0f, -INFINITY, 1.0f};
        int32_t id = lt_sampler_sample(s, m, NULL, 0, NULL);
        LT_CHECK(id == 1 || id == 3);
        float n[4] = {0.0f, INFINITY, 5.0f, NAN};
        LT_CHECK_INT(lt_sampler_sample(s, n, NULL, 0, NULL), 1);
    }
    // a tiny temperature (1/T overflows) is greedy among the survivors
    lt_sampler_free(s);
    p.temperature = 1e-39f;
    LT_CHECK_OK(lt_sampler_init(&s, &p, 4));
    if (!s) return;
    float lp2 = 1;
    float t[4] = {0.5f, 2.0f, 1.0f, 1.999f};
    LT_CHECK_INT(lt_sampler_sample(s, t, NULL, 0, &lp2), 1);
    LT_CHECK_CLOSE(lp2, 0, 1e-6, 0);
    lt_sampler_free(s);
}

// ---------------------------------------------------------------- bad parameters

#define CHECK_BAD(field, value, needle)                                  \
    do {                                                                 \
        lt_sampler_params p_ = lt_sampler_params_default();              \
        p_.field = value;                                                \
        LT_CHECK_ERR(lt_sampler_params_check(&p_), LT_ERR_ARG, needle);  \
        lt_sampler *s_ = NULL;                                           \
        LT_CHECK_ERR(lt_sampler_init(&s_, &p_, 10), LT_ERR_ARG, needle); \
        LT_CHECK(s_ == NULL);                                            \
    } while (0)

static void test_bad_temperature(void) {
    CHECK_BAD(temperature, -0.5f, "temperature is -0.5");
    CHECK_BAD(temperature, NAN, "temperature");
    CHECK_BAD(temperature, INFINITY, "temperature");
}
static void test_bad_top_k(void) { CHECK_BAD(top_k, -1, "top_k is -1"); }
static void test_bad_top_p(void) {
    CHECK_BAD(top_p, 0.0f, "top_p is 0");
    CHECK_BAD(top_p, 1.5f, "top_p is 1.5");
    CHECK_BAD(top_p, NAN, "top_p");
}
static void test_bad_min_p(void) {
    CHECK_BAD(min_p, -0.1f, "min_p");
    CHECK_BAD(min_p, 1.5f, "min_p is 1.5");
}
static void test_bad_repetition_penalty(void) {
    CHECK_BAD(repetition_penalty, 0.0f, "repetition_penalty is 0");
    CHECK_BAD(repetition_penalty, -1.0f, "repetition_penalty");
    CHECK_BAD(repetition_penalty, INFINITY, "repetition_penalty");
}
static void test_bad_presence_frequency(void) {
    CHECK_BAD(presence_penalty, NAN, "presence_penalty");
    CHECK_BAD(frequency_penalty, INFINITY, "frequency_penalty");
}
static void test_bad_penalty_last_n(void) { CHECK_BAD(penalty_last_n, -1, "penalty_last_n is -1"); }
static void test_bad_vocab(void) {
    lt_sampler_params p = lt_sampler_params_default();
    lt_sampler *s = NULL;
    LT_CHECK_ERR(lt_sampler_init(&s, &p, 0), LT_ERR_ARG, "n_vocab is 0");
    LT_CHECK_ERR(lt_sampler_params_check(NULL), LT_ERR_ARG, "no parameters");
    LT_CHECK_OK(lt_sampler_params_check(&p));
}

int main(void) {
    LT_RUN(test_greedy_is_argmax);
    LT_RUN(test_greedy_logprob);
    LT_RUN(test_top_k_1_is_greedy);
    LT_RUN(test_temperature_distribution);
    LT_RUN(test_top_k_distribution);
    LT_RUN(test_top_p_distribution);
    LT_RUN(test_min_p_distribution);
    LT_RUN(test_combined_distribution);
    LT_RUN(test_big_vocab_filters);
    LT_RUN(test_big_vocab_all_tied);
    LT_RUN(test_penalties_hand_computed);
    LT_RUN(test_penalty_window);
    LT_RUN(test_penalty_changes_distribution);
    LT_RUN(test_logprob_hand_computed);
    LT_RUN(test_seed_determinism);
    LT_RUN(test_non_finite_logits);
    LT_RUN(test_bad_temperature);
    LT_RUN(test_bad_top_k);
    LT_RUN(test_bad_top_p);
    LT_RUN(test_bad_min_p);
    LT_RUN(test_bad_repetition_penalty);
    LT_RUN(test_bad_presence_frequency);
    LT_RUN(test_bad_penalty_last_n);
    LT_RUN(test_bad_vocab);
    return lt_test_finish();
}
