// test_train_objective.c: the trainer's objective seam (lt_train_objective).
// An objective that computes cross-entropy itself, through the seam, must
// train exactly as the built-in one: the same losses and weights bit for bit
// with gradient accumulation (so the global normaliser and the loss scale
// reach it), the same validation loss, with or without an all-zero
// hidden-state gradient; its parts are logged as means over counted targets
// (into the events and metrics.jsonl); and its memory joins the plan.
#include "lathe/data.h"
#include "lathe/train.h"
#include "lt_test.h"

// A shard of `n_docs` documents of `len` pseudo-random tokens between BOS and EOS.
static void make_shard(const char *path, int64_t vocab, int n_docs, int len) {
    lt_shard_writer *w;
    LT_CHECK_OK(lt_shard_writer_open(&w, path, vocab, 1, 2));
    int32_t doc[512];
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    for (int d = 0; d < n_docs; d++) {
        doc[0] = 1;
        for (int i = 1; i <= len; i++)
            doc[i] = 3 + (int32_t)lt_rng_below(&rng, (uint32_t)(vocab - 3));
        doc[len + 1] = 2;
        LT_CHECK_OK(lt_shard_writer_add(w, doc, (size_t)len + 2, (uint64_t)len * 4));
    }
    LT_CHECK_OK(lt_shard_writer_commit(w));
}

// Cross-entropy through the seam. Parts: "one" (1 per counted target: its
// mean is exactly 1) and "twice" (2 x the loss: its mean is twice the loss).
typedef struct {
    float **dhidden; // (L+1) all-zero gradients, or NULL
    double sums[2], val_sums[2];
    int64_t train_calls, eval_calls;
} xent_obj;

static lt_status obj_train(void *ctx, lt_acts *a, const lt_batch *b, double normaliser,
                           float dloss_scale, lt_loss *out, const float *const **dhidden) {
    xent_obj *x = ctx;
    x->train_calls++;
    LT_TRY(lt_objective_xent(a, b->targets, normaliser, dloss_scale, out));
    x->sums[0] += (double)out->n_counted;
    x->sums[1] += 2 * out->loss_sum;
    if (x->dhidden) *dhidden = (const float *const *)x->dhidden;
    return NULL;
}

static lt_status obj_eval(void *ctx, lt_acts *a, const lt_batch *b, lt_loss *out) {
    xent_obj *x = ctx;
    x->eval_calls++;
    LT_TRY(lt_objective_xent_eval(a, b->targets, out));
    x->val_sums[0] += (double)out->n_counted;
    x->val_sums[1] += 2 * out->loss_sum;
    return NULL;
}

static void obj_take(void *ctx, bool val, double *sums) {
    xent_obj *x = ctx;
    double *from = val ? x->val_sums : x->sums;
    for (int i = 0; i < 2; i++) sums[i] += from[i], from[i] = 0;
}

typedef struct {
    double losses[64], vals[8], one[64], twice[64], val_one[8], val_twice[8];
    int n, n_val, n_parts;
} run_log;

static void record(void *user, const lt_train_event *ev) {
    run_log *r = user;
    r->n_parts = ev->n_parts;
    if (ev->has_val) {
        if (r->n_val < 8) {
            r->vals[r->n_val] = ev->val_loss;
            if (ev->n_parts == 2)
                r->val_one[r->n_val] = ev->parts[0], r->val_twice[r->n_val] = ev->parts[1];
            r->n_val++;
        }
        return;
    }
    if (r->n < 64) {
        r->losses[r->n] = ev->loss;
        if (ev->n_parts == 2) {
            LT_CHECK_STR(ev->part_names[0], "one");
            LT_CHECK_STR(ev->part_names[1], "twice");
            r->one[r->n] = ev->parts[0], r->twice[r->n] = ev->parts[1];
        }
        r->n++;
    }
}

static const char *data_spec[1];

// 12 steps of 2 micro-batches (global batch 2 x 2 x 32), validation every 4.
static void base_opts(lt_train_opts *o, const char *out, const char *shard) {
    lt_train_opts_default(o);
    data_spec[0] = shard;
    o->preset = "tiny";
    o->out_dir = out;
    o->data = data_spec;
    o->n_data = 1;
    o->val_data = shard;
    o->batch = 2;
    o->seq = 32;
    o->global_batch_tokens = 2 * 2 * 32;
    o->steps = 12;
    o->lr = 3e-3;
    o->log_every = 1;
    o->eval_every = 4;
    o->eval_batches = 2;
    o->save_every = 0;
}

static bool same_file(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (lt_file_read_all(a, &x, &nx, 1 << 26)) return false;
    if (lt_file_read_all(b, &y, &ny, 1 << 26)) {
        lt_free(x);
        return false;
    }
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    lt_free(x);
    lt_free(y);
    return same;
}

static void check_same_as_builtin(bool zero_dhidden) {
    const char *dir = lt_test_tmpdir();
    char *shard = lt_path_join(dir, "corpus.bin"), *a = lt_path_join(dir, "builtin"),
         *b = lt_path_join(dir, "seam");
    make_shard(shard, 512, 40, 60);
    lt_train_opts o;
    run_log ra = {0}, rb = {0};
    base_opts(&o, a, shard);
    LT_CHECK_OK(lt_train(&o, record, &ra));
    LT_CHECK_INT(ra.n_parts, 0);

    xent_obj x = {0};
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    int64_t L = cfg.n_layers, N = 2 * 32, C = cfg.hidden;
    lt_config_free(&cfg);
    if (zero_dhidden) {
        LT_CHECK_OK(lt_calloc((void **)&x.dhidden, (size_t)(L + 1), sizeof(float *), "dhidden"));
        for (int64_t l = 0; l <= L; l += 2)
            LT_CHECK_OK(
                lt_calloc((void **)&x.dhidden[l], (size_t)(N * C), sizeof(float), "dhidden"));
    }
    lt_train_objective obj = {.ctx = &x,
                              .train = obj_train,
                              .eval = obj_eval,
                              .take_parts = obj_take,
                              .n_parts = 2,
                              .part_names = {"one", "twice"}};
    base_opts(&o, b, shard);
    o.objective = &obj;
    LT_CHECK_OK(lt_train(&o, record, &rb));
    LT_CHECK_INT(x.train_calls, 12 * 2);
    LT_CHECK_INT(x.eval_calls, 3 * 2);
    LT_CHECK_INT(rb.n, 12);
    LT_CHECK_INT(rb.n_val, 3);
    int differing = 0;
    for (int i = 0; i < 12; i++) differing += ra.losses[i] != rb.losses[i];
    LT_CHECK_INT(differing, 0);
    for (int i = 0; i < 3; i++) LT_CHECK(ra.vals[i] == rb.vals[i]);
    for (int i = 0; i < 12; i++) {
        LT_CHECK(rb.one[i] == 1.0);
        LT_CHECK_CLOSE(rb.twice[i], 2 * rb.losses[i], 1e-12, 1e-12);
    }
    for (int i = 0; i < 3; i++) {
        LT_CHECK(rb.val_one[i] == 1.0);
        LT_CHECK_CLOSE(rb.val_twice[i], 2 * rb.vals[i], 1e-12, 1e-12);
    }
    char *wa = lt_path_join(a, "checkpoints/step-00000012/model.safetensors");
    char *wb = lt_path_join(b, "checkpoints/step-00000012/model.safetensors");
    LT_CHECK_MSG(same_file(wa, wb),
                 "weights trained through the seam differ from the built-in cross-entropy's");
    // The parts are in the metrics, the validation ones prefixed.
    char *metrics = lt_path_join(b, "metrics.jsonl"), *text = NULL;
    size_t len;
    LT_CHECK_OK(lt_file_read_all(metrics, &text, &len, 1 << 24));
    LT_CHECK(strstr(text, "\"one\":1.000000,\"twice\":") != NULL);
    LT_CHECK(strstr(text, "\"val_one\":1.000000,\"val_twice\":") != NULL);
    lt_free(text);
    for (int64_t l = 0; x.dhidden && l <= L; l++) lt_free(x.dhidden[l]);
    lt_free(x.dhidden);
    free(shard), free(a), free(b), free(wa), free(wb), free(metrics);
}

static void test_seam_equals_builtin(void) { check_same_as_builtin(false); }
static void test_seam_zero_dhidden(void) { check_same_as_builtin(true); }

static void test_memory_counts_objective(void) {
    lt_train_opts o;
    base_opts(&o, "/nonexistent/out", "/nonexistent/shard.bin");
    lt_train_memory plain, with;
    LT_CHECK_OK(lt_train_plan_memory(&o, &plain));
    lt_train_objective obj = {.memory = 12345};
    o.objective = &obj;
    LT_CHECK_OK(lt_train_plan_memory(&o, &with));
    LT_CHECK_INT(plain.objective, 0);
    LT_CHECK_INT(with.objective, 12345);
    LT_CHECK_INT(with.total - plain.total, 12345);
}

int main(void) {
    lt_threads_set(1);
    LT_RUN(test_seam_equals_builtin);
    LT_RUN(test_seam_zero_dhidden);
    LT_RUN(test_memory_counts_objective);
    return lt_test_finish();
}
