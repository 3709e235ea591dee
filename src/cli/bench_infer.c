// bench_infer.c: `lathe bench infer` — inference speed the way llama-bench
// measures it: prompt processing of P tokens in one batch (ppP) and token
// generation of G tokens one at a time from an empty context (tgG), with the
// decode bandwidth bound beside it: measured memory read bandwidth over the
// bytes one decode token reads. bench/infer_vs_llamacpp.sh runs llama.cpp on
// the same GGUF beside it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "lathe/infer.h"
#include "lathe/quant.h"

static void help(void) {
    printf(
        "usage: lathe bench infer (--model PATH | --preset NAME) [--dtype f32|bf16|f16|q8_0]\n"
        "                         [--pp P] [--tg G] [--reps N] [--threads N] [--batch B]\n"
        "                         [--profile] [--json]\n\n"
        "Times prompt processing (P random tokens in one step: tokens/s and the time to\n"
        "the first token) and token generation (G tokens one at a time from an empty\n"
        "context, batch 1: tokens/s), each repeated N times (median, min, max), and\n"
        "compares decode with its bandwidth bound: the memory read bandwidth measured in\n"
        "this run over the bytes one token reads (matmul weights with the LM head, one\n"
        "embedding row, the KV cache at the mean context of the run).\n\n"
        "  -m, --model PATH a model directory or a .gguf file\n"
        "  --preset NAME  a randomly initialised preset (bench-m, bench-l, ...)\n"
        "  --dtype T      weight storage (default: f32 for directories and presets, the\n"
        "                 file's types for GGUF)\n"
        "  --pp P         prompt tokens (default 512)    --tg G   generated tokens (default 128)\n"
        "  --reps N       repetitions (default 3)\n"
        "  -t, --threads N OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
        "  --batch B      also time decode of B sequences at once (aggregate tokens/s)\n"
        "  --profile      per-op time breakdown of prompt processing and decode\n"
        "  --json         one JSON line instead of text\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double median, min, max;
} stat3;

static stat3 stats(double *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return (stat3){v[n / 2], v[0], v[n - 1]};
}

typedef struct {
    const char *model, *preset;
    lt_dtype dtype;
    bool dtype_set, profile, json;
    int64_t pp, tg, reps, batch;
} args;

static lt_status open_engine(const args *a, int max_seqs, lt_engine **e) {
    lt_engine_opts o = {.weights = a->dtype,
                        .weights_set = a->dtype_set,
                        .max_seqs = max_seqs,
                        .max_context = (a->pp > a->tg ? a->pp : a->tg) + 72,
                        .context_at_most = true,
                        .max_step_tokens = a->pp > max_seqs ? a->pp : max_seqs};
    if (a->model) return lt_engine_open(e, a->model, &o);
    lt_config cfg;
    LT_TRY(lt_config_preset(&cfg, a->preset));
    lt_model *m = NULL;
    lt_status s = lt_model_init(&m, &cfg);
    lt_config_free(&cfg);
    if (s) return s;
    lt_model_init_random(m, 1);
    s = lt_engine_from_model(e, m, &o);
    lt_model_free(m);
    return s;
}

static void random_ids(int32_t *ids, int64_t n, int64_t V, lt_rng *r) {
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)lt_rng_below(r, (uint32_t)V);
}

typedef struct {
    stat3 pp, tg, ttft, batch_tg;
    double bandwidth, bytes_per_token, peak_rss_mib;
    lt_dtype wdtype;
    double ops[LT_OP_COUNT], pp_ops[LT_OP_COUNT], batch_ops[LT_OP_COUNT];
} results;

static lt_status run(const args *a, results *r) {
    int max_seqs = a->batch > 1 ? (int)a->batch : 1;
    lt_engine *e = NULL;
    LT_TRY(open_engine(a, max_seqs, &e));
    const lt_config *c = lt_engine_config(e);
    int64_t V = c->vocab, n_ids = a->pp > a->tg ? a->pp : a->tg;
    int32_t *ids = NULL;
    float *logits = NULL;
    double *pp = NULL, *tg = NULL, *ttft = NULL, *btg = NULL;
    lt_status s = lt_alloc((void **)&ids, (size_t)(n_ids * max_seqs) * sizeof *ids, "ids");
    if (!s) s = lt_alloc((void **)&logits, (size_t)(V * max_seqs) * sizeof *logits, "logits");
    if (!s) s = lt_calloc((void **)&pp, (size_t)(4 * a->reps), sizeof *pp, "timings");
    if (s) goto done;
    tg = pp + a->reps, ttft = tg + a->reps, btg = ttft + a->reps;
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    random_ids(ids, n_ids * max_seqs, V, &rng);
    // warm-up: one short prompt and a few decode steps (primitive caches, page faults)
    int seq0 = 0;
    s = lt_engine_prefill(e, 0, ids, a->pp < 64 ? a->pp : 64, logits, false);
    for (int i = 0; i < 4 && !s; i++) s = lt_engine_decode(e, &seq0, ids + i, 1, logits);
    for (int64_t rep = 0; rep < a->reps && !s; rep++) {
        s = lt_engine_seq_truncate(e, 0, 0);
        if (a->profile && rep == a->reps - 1) lt_engine_set_profile(e, true);
        double t0 = lt_time_now();
        if (!s) s = lt_engine_prefill(e, 0, ids, a->pp, logits, false);
        double t1 = lt_time_now();
        if (a->profile && rep == a->reps - 1) {
            memcpy(r->pp_ops, lt_engine_op_seconds(e), sizeof r->pp_ops);
            lt_engine_set_profile(e, false);
        }
        if (!s) s = lt_engine_decode(e, &seq0, ids, 1, logits);
        pp[rep] = (double)a->pp / (t1 - t0);
        ttft[rep] = lt_time_now() - t0;
        if (!s) s = lt_engine_seq_truncate(e, 0, 0);
        if (a->profile && rep == a->reps - 1) lt_engine_set_profile(e, true);
        t0 = lt_time_now();
        for (int64_t i = 0; i < a->tg && !s; i++)
            s = lt_engine_decode(e, &seq0, ids + i, 1, logits);
        tg[rep] = (double)a->tg / (lt_time_now() - t0);
        if (a->profile && rep == a->reps - 1) {
            memcpy(r->ops, lt_engine_op_seconds(e), sizeof r->ops);
            lt_engine_set_profile(e, false);
        }
    }
    if (!s && a->batch > 1) {
        int seqs[1024];
        int32_t tok[1024];
        for (int64_t rep = 0; rep < a->reps && !s; rep++) {
            for (int i = 0; i < max_seqs && !s; i++) {
                seqs[i] = i;
                s = lt_engine_seq_truncate(e, i, 0);
            }
            if (a->profile && rep == a->reps - 1) lt_engine_set_profile(e, true);
            double t0 = lt_time_now();
            for (int64_t k = 0; k < a->tg && !s; k++) {
                for (int i = 0; i < max_seqs; i++)
                    tok[i] = ids[(k * max_seqs + i) % (n_ids * max_seqs)];
                s = lt_engine_decode(e, seqs, tok, max_seqs, logits);
            }
            btg[rep] = (double)(a->tg * max_seqs) / (lt_time_now() - t0);
            if (a->profile && rep == a->reps - 1) {
                memcpy(r->batch_ops, lt_engine_op_seconds(e), sizeof r->batch_ops);
                lt_engine_set_profile(e, false);
            }
        }
    }
    if (s) goto done;
    r->pp = stats(pp, a->reps);
    r->tg = stats(tg, a->reps);
    r->ttft = stats(ttft, a->reps);
    if (a->batch > 1) r->batch_tg = stats(btg, a->reps);
    r->wdtype = lt_engine_weight_dtype(e);
    r->bytes_per_token = lt_engine_decode_bytes(e, a->tg / 2);
    struct rusage ru; // before the bandwidth probe's 1 GiB buffer
    getrusage(RUSAGE_SELF, &ru);
    r->peak_rss_mib = (double)ru.ru_maxrss / 1024.0;
    r->bandwidth = lt_mem_read_bandwidth((size_t)1 << 30, 0.5);
done:
    lt_free(ids);
    lt_free(logits);
    lt_free(pp);
    lt_engine_close(e);
    return s;
}

static void print(const args *a, const results *r, const char *dtype) {
    const char *what = a->model ? a->model : a->preset;
    double bound = r->bandwidth * 1e9 / r->bytes_per_token;
    if (a->json) {
        printf(
            "{\"model\":\"%s\",\"dtype\":\"%s\",\"threads\":%d,\"pp\":%lld,\"tg\":%lld,\"reps\":%lld,"
            "\"pp_tps\":%.2f,\"pp_tps_min\":%.2f,\"pp_tps_max\":%.2f,"
            "\"tg_tps\":%.2f,\"tg_tps_min\":%.2f,\"tg_tps_max\":%.2f,\"ttft_s\":%.5f,"
            "\"bandwidth_gbs\":%.2f,\"bytes_per_token\":%.0f,\"tg_bound_tps\":%.2f,\"tg_of_bound\":%.4f,"
            "\"peak_rss_mib\":%.1f",
            what, dtype, lt_threads_get(), (long long)a->pp, (long long)a->tg, (long long)a->reps,
            r->pp.median, r->pp.min, r->pp.max, r->tg.median, r->tg.min, r->tg.max, r->ttft.median,
            r->bandwidth, r->bytes_per_token, bound, r->tg.median / bound, r->peak_rss_mib);
        if (a->batch > 1)
            printf(",\"batch\":%lld,\"batch_tg_tps\":%.2f", (long long)a->batch,
                   r->batch_tg.median);
        printf("}\n");
        return;
    }
    printf("%s, weights %s, %d threads, %lld repetitions (median [min, max])\n", what, dtype,
           lt_threads_get(), (long long)a->reps);
    printf("  pp%-5lld %9.1f tokens/s  [%.1f, %.1f]   time to first token %.1f ms\n",
           (long long)a->pp, r->pp.median, r->pp.min, r->pp.max, r->ttft.median * 1e3);
    printf("  tg%-5lld %9.1f tokens/s  [%.1f, %.1f]\n", (long long)a->tg, r->tg.median, r->tg.min,
           r->tg.max);
    printf(
        "  decode bound: %.1f GB/s read / %.1f MB per token = %.1f tokens/s; tg reaches %.0f%%\n",
        r->bandwidth, r->bytes_per_token / 1e6, bound, 100.0 * r->tg.median / bound);
    if (a->batch > 1)
        printf("  tg%lld x %lld sequences: %.1f tokens/s in all\n", (long long)a->tg,
               (long long)a->batch, r->batch_tg.median);
    printf("  peak memory (RSS): %.1f MiB\n", r->peak_rss_mib);
    if (a->profile) {
        const double *ops[3] = {r->pp_ops, r->ops, r->batch_ops};
        const char *names[3] = {"prompt processing", "decode", "batched decode"};
        int64_t tokens[3] = {a->pp, a->tg, a->tg * a->batch};
        for (int k = 0; k < (a->batch > 1 ? 3 : 2); k++) {
            double total = 0;
            for (int i = 0; i < LT_OP_COUNT; i++) total += ops[k][i];
            printf("  %s time by op (last repetition):\n", names[k]);
            for (int i = 0; i < LT_OP_COUNT; i++)
                if (ops[k][i] > 0)
                    printf("    %-14s %8.3f ms/token %5.1f%%\n", lt_op_name((lt_op)i),
                           1e3 * ops[k][i] / (double)tokens[k], 100.0 * ops[k][i] / total);
        }
    }
}

int lt_cli_bench_infer(int argc, char **argv) {
    const char *model = NULL, *preset = NULL, *dtype = NULL, *pp = "512", *tg = "128", *reps = "3",
               *threads = NULL, *batch = NULL;
    bool profile = false, json = false;
    const lt_cli_opt opts[] = {{"--model", .value = &model, .alias = "-m"},
                               {"--preset", .value = &preset},
                               {"--dtype", .value = &dtype},
                               {"--pp", .value = &pp},
                               {"--tg", .value = &tg},
                               {"--reps", .value = &reps},
                               {"--threads", .value = &threads, .alias = "-t"},
                               {"--batch", .value = &batch},
                               {"--profile", .present = &profile},
                               {"--json", .present = &json},
                               {0}};
    int rc = lt_cli_parse("bench infer", argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    if (!model == !preset)
        return lt_cli_usage_error("bench infer", "give one of --model and --preset");
    args a = {.model = model, .preset = preset, .profile = profile, .json = json, .batch = 1};
    int64_t n_threads = 0;
    lt_status s = NULL;
    if (dtype) {
        s = lt_dtype_parse(dtype, &a.dtype);
        a.dtype_set = true;
    }
    if (!s) s = lt_cli_parse_int("--pp", pp, 1, 1 << 16, &a.pp);
    if (!s) s = lt_cli_parse_int("--tg", tg, 1, 1 << 16, &a.tg);
    if (!s) s = lt_cli_parse_int("--reps", reps, 1, 1000, &a.reps);
    if (!s && batch) s = lt_cli_parse_int("--batch", batch, 1, 1024, &a.batch);
    if (!s && threads) s = lt_cli_parse_int("--threads", threads, 1, 1024, &n_threads);
    if (!s && n_threads) lt_threads_set((int)n_threads);
    results r = {0};
    if (!s) s = run(&a, &r);
    if (!s) print(&a, &r, lt_dtype_name(r.wdtype));
    return lt_cli_report("bench infer", s);
}
