// test_train.c: the trainer end to end on synthetic token shards — a tiny
// model memorises a tiny corpus (f32 and bf16); a run stopped and resumed
// equals an uninterrupted one bit for bit; k micro-batches equal one k-times
// larger batch; and bad set-ups fail with clear messages before training.
#include "lathe/data.h"
#include "lathe/train.h"
#include "lt_test.h"

// A shard of `n_docs` documents; document d is BOS, then `len` tokens of a
// fixed pseudo-random sequence (the same in every document: memorisable), EOS.
static void make_shard(const char *path, int64_t vocab, int n_docs, int len) {
    lt_shard_writer *w;
    LT_CHECK_OK(lt_shard_writer_open(&w, path, vocab, 1, 2));
    int32_t doc[512];
    lt_rng rng;
    lt_rng_seed(&rng, 99);
    doc[0] = 1;
    for (int i = 1; i <= len; i++) doc[i] = 3 + (int32_t)lt_rng_below(&rng, (uint32_t)(vocab - 3));
    doc[len + 1] = 2;
    for (int d = 0; d < n_docs; d++)
        LT_CHECK_OK(lt_shard_writer_add(w, doc, (size_t)len + 2, (uint64_t)len * 4));
    LT_CHECK_OK(lt_shard_writer_commit(w));
}

typedef struct {
    double first_loss, last_loss, last_val;
    double losses[256];
    int n;
} run_log;

static void record(void *user, const lt_train_event *ev) {
    run_log *r = user;
    if (ev->has_val) {
        r->last_val = ev->val_loss;
        return;
    }
    if (r->n == 0) r->first_loss = ev->loss;
    if (r->n < 256) r->losses[r->n++] = ev->loss;
    r->last_loss = ev->loss;
}

static const char *data_spec[1];

static void base_opts(lt_train_opts *o, const char *out, const char *shard) {
    lt_train_opts_default(o);
    data_spec[0] = shard;
    o->preset = "tiny";
    o->out_dir = out;
    o->data = data_spec;
    o->n_data = 1;
    o->batch = 4;
    o->seq = 32;
    o->steps = 40;
    o->lr = 3e-3;
    o->min_lr = 3e-4;
    o->warmup = 5;
    o->log_every = 1;
    o->eval_every = 0;
    o->save_every = 0;
}

static char *join(const char *dir, const char *name) { return lt_path_join(dir, name); }

// A 40-token sequence repeated: the model must learn it almost perfectly.
// Bound: mean loss < 0.5 nats after 120 steps (from log(512) = 6.24).
static void check_overfit(lt_dtype dtype) {
    const char *dir = lt_test_tmpdir();
    char *shard = join(dir, "corpus.bin"), *out = join(dir, "run");
    make_shard(shard, 512, 64, 40);
    lt_train_opts o;
    base_opts(&o, out, shard);
    o.steps = 120;
    o.dtype = dtype;
    o.val_data = shard;
    o.eval_every = 60;
    o.eval_batches = 4;
    run_log r = {0};
    LT_CHECK_OK(lt_train(&o, record, &r));
    fprintf(stderr, "  %s: loss %.6f -> %.6f, val %.6f\n", lt_dtype_name(dtype), r.first_loss,
            r.last_loss, r.last_val);
    LT_CHECK(r.first_loss > 5.5);
    LT_CHECK_MSG(r.last_loss < 0.5, "%s: final loss %.3f, expected < 0.5", lt_dtype_name(dtype),
                 r.last_loss);
    LT_CHECK(r.last_val < 0.5);
    free(shard);
    free(out);
}

static void test_overfit_f32(void) { check_overfit(LT_F32); }
static void test_overfit_bf16(void) { check_overfit(LT_BF16); }
static void test_overfit_f16(void) { check_overfit(LT_F16); }

static bool same_file(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    if (lt_file_read_all(a, &x, &nx, 1 << 26) || lt_file_read_all(b, &y, &ny, 1 << 26))
        return false;
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    lt_free(x);
    lt_free(y);
    return same;
}

// 40 steps straight vs 15 + 25 with --resume: equal losses and equal weights, bit for bit.
static void test_resume_exact(void) {
    const char *dir = lt_test_tmpdir();
    char *shard = join(dir, "corpus.bin"), *a = join(dir, "a"), *b = join(dir, "b");
    make_shard(shard, 512, 64, 100);
    lt_train_opts o;
    run_log ra = {0}, rb = {0};
    base_opts(&o, a, shard);
    LT_CHECK_OK(lt_train(&o, record, &ra));
    base_opts(&o, b, shard);
    o.stop_after = 15;
    LT_CHECK_OK(lt_train(&o, record, &rb));
    LT_CHECK_INT(rb.n, 15);
    o.stop_after = 0;
    o.resume = true;
    LT_CHECK_OK(lt_train(&o, record, &rb));
    LT_CHECK_INT(rb.n, 40);
    int differing = 0;
    for (int i = 0; i < 40; i++) differing += ra.losses[i] != rb.losses[i];
    LT_CHECK_INT(differing, 0);
    char *wa = join(a, "checkpoints/step-00000040/model.safetensors"),
         *wb = join(b, "checkpoints/step-00000040/model.safetensors");
    LT_CHECK_MSG(same_file(wa, wb), "resumed weights differ from the uninterrupted run's");
    char *sa = join(a, "checkpoints/step-00000040/train_state.bin"),
         *sb = join(b, "checkpoints/step-00000040/train_state.bin");
    LT_CHECK_MSG(same_file(sa, sb), "resumed optimizer/loader state differs");
    free(shard), free(a), free(b), free(wa), free(wb), free(sa), free(sb);
}

// A stop request (what the CLI's Ctrl-C handler sets), raised from the log
// callback during step 13: the run saves step 13 and returns; resumed, it ends
// bit-identical to an uninterrupted 40-step run.
typedef struct {
    run_log log;
    int64_t stop_at;
    volatile sig_atomic_t stop;
} stopping_log;

static void record_and_stop(void *user, const lt_train_event *ev) {
    stopping_log *r = user;
    record(&r->log, ev);
    if (!ev->has_val && ev->step == r->stop_at) r->stop = 1;
}

static void test_stop_request(void) {
    const char *dir = lt_test_tmpdir();
    char *shard = join(dir, "corpus.bin"), *a = join(dir, "a"), *b = join(dir, "b"),
         *c = join(dir, "c");
    make_shard(shard, 512, 64, 100);
    lt_train_opts o;
    run_log ra = {0};
    base_opts(&o, a, shard);
    LT_CHECK_OK(lt_train(&o, record, &ra));
    stopping_log rb = {.stop_at = 13};
    base_opts(&o, b, shard);
    o.stop = &rb.stop;
    lt_train_result res;
    LT_CHECK_OK(lt_train_run(&o, record_and_stop, &rb, &res));
    LT_CHECK(res.stopped && res.saved);
    LT_CHECK_INT(res.step, 13);
    LT_CHECK_STR(res.checkpoint, "checkpoints/step-00000013");
    char *latest = NULL, *latest_path = join(b, "latest"),
         *want = join(b, "checkpoints/step-00000013");
    size_t latest_len = 0;
    LT_CHECK(!lt_file_read_all(latest_path, &latest, &latest_len, 4096) &&
             strstr(latest, "step-00000013"));
    LT_CHECK(lt_path_is_dir(want));
    rb.stop = 0;
    o.resume = true;
    LT_CHECK_OK(lt_train_run(&o, record_and_stop, &rb, &res));
    LT_CHECK(!res.stopped && res.saved);
    LT_CHECK_INT(res.step, 40);
    LT_CHECK_INT(rb.log.n, 40);
    int differing = 0;
    for (int i = 0; i < 40; i++) differing += ra.losses[i] != rb.log.losses[i];
    LT_CHECK_INT(differing, 0);
    char *wa = join(a, "checkpoints/step-00000040/model.safetensors"),
         *wb = join(b, "checkpoints/step-00000040/model.safetensors");
    LT_CHECK_MSG(same_file(wa, wb),
                 "weights after a stop and resume differ from the uninterrupted run's");
    // Stopped before its first step, a fresh run has nothing to save and leaves no folder.
    stopping_log rc = {.stop = 1};
    base_opts(&o, c, shard);
    o.stop = &rc.stop;
    LT_CHECK_OK(lt_train_run(&o, record_and_stop, &rc, &res));
    LT_CHECK(res.stopped && !res.saved);
    LT_CHECK_INT(rc.log.n, 0);
    LT_CHECK(!lt_path_exists(c));
    lt_free(latest);
    free(shard), free(a), free(b), free(c), free(want), free(wa), free(wb), free(latest_path);
}

// Gradient accumulation: 4 micro-batches of 2 rows equal 1 batch of 8 rows
// (the loader draws rows one at a time, so both see the same rows). Only the
// summation order differs: losses agree to 1e-5 relative over 10 steps.
static void test_grad_accumulation(void) {
    const char *dir = lt_test_tmpdir();
    char *shard = join(dir, "corpus.bin"), *a = join(dir, "a"), *b = join(dir, "b");
    make_shard(shard, 512, 64, 100);
    lt_train_opts o;
    run_log ra = {0}, rb = {0};
    base_opts(&o, a, shard);
    o.steps = 10;
    o.batch = 8;
    LT_CHECK_OK(lt_train(&o, record, &ra));
    base_opts(&o, b, shard);
    o.steps = 10;
    o.batch = 2;
    o.global_batch_tokens = 8 * 32;
    LT_CHECK_OK(lt_train(&o, record, &rb));
    LT_CHECK_INT(ra.n, 10);
    LT_CHECK_INT(rb.n, 10);
    for (int i = 0; i < 10; i++) LT_CHECK_CLOSE(rb.losses[i], ra.losses[i], 0, 1e-5);
    free(shard), free(a), free(b);
}

static void test_bad_setups(void) {
    const char *dir = lt_test_tmpdir();
    char *shard = join(dir, "corpus.bin"), *big = join(dir, "big.bin"), *out = join(dir, "run");
    make_shard(shard, 512, 8, 100);
    make_shard(big, 1024, 8, 100);
    lt_train_opts o;
    base_opts(&o, out, big);
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_RANGE, "1024"); // shard vocab > model vocab 512
    base_opts(&o, out, "/nonexistent/shard.bin");
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_IO, "/nonexistent/shard.bin");
    LT_CHECK_MSG(!lt_path_exists(out), "a run that failed to start left %s behind", out);
    char *nested = join(dir, "new/deeper/run"), *parent = join(dir, "new");
    base_opts(&o, nested, "/nonexistent/shard.bin");
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_IO, "/nonexistent/shard.bin");
    LT_CHECK_MSG(!lt_path_exists(parent), "a run that failed to start left %s behind", parent);
    base_opts(&o, out, shard);
    o.tokenizer_dir = dir; // no tokenizer.json there
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG, "has no tokenizer.json");
    LT_CHECK(!lt_path_exists(out));
    base_opts(&o, out, shard);
    o.global_batch_tokens = 100;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG, "not a multiple of batch x seq = 128");
    base_opts(&o, out, shard);
    o.seq = 4096;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG,
                 "exceeds the model's max_position_embeddings");
    base_opts(&o, out, shard);
    o.batch = 1 << 20;
    o.seq = 2048;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_NOMEM, "lower --batch or --seq");
    base_opts(&o, out, shard);
    o.dtype = LT_Q8_0;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_UNSUPPORTED, "q8_0");
    base_opts(&o, out, shard);
    o.dtype = LT_F16;
    o.loss_scale = "huge";
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG, "--loss-scale 'huge'");
    base_opts(&o, out, shard);
    o.resume = true;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG, "has no checkpoint yet");
    // A learning rate that blows up stops with a clear message, keeping the last checkpoint.
    base_opts(&o, out, shard);
    o.lr = 1e30;
    o.min_lr = 0;
    o.clip = 0;
    o.save_every = 1;
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_RANGE, "training stopped");
    char *latest = join(out, "latest");
    LT_CHECK(lt_path_exists(latest));
    // The directory now holds a run: starting afresh there is refused.
    base_opts(&o, out, shard);
    LT_CHECK_ERR(lt_train(&o, NULL, NULL), LT_ERR_ARG, "already holds a run");
    free(shard), free(big), free(out), free(latest), free(nested), free(parent);
}

int main(void) {
    lt_threads_set(1);
    LT_RUN(test_overfit_f32);
    LT_RUN(test_overfit_bf16);
    LT_RUN(test_overfit_f16);
    LT_RUN(test_resume_exact);
    LT_RUN(test_stop_request);
    LT_RUN(test_grad_accumulation);
    LT_RUN(test_bad_setups);
    return lt_test_finish();
}
