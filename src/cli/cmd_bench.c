// cmd_bench.c: `lathe bench train|...` — lathe's own speed measurements.
// `train` times forward+backward of a preset and reports tokens/s and MFU
// against the best GEMM of the same precision measured in the same run.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/gemm.h"
#include "lathe/model.h"
#include "lathe/objective.h"

static void help(void) {
    printf("usage: lathe bench train --preset NAME [--dtype f32|bf16|f16] [--steps N] [--batch B]\n"
           "                         [--seq T] [--threads N] [--profile] [--json]\n\n"
           "Times forward+backward steps of a randomly initialised preset model on random\n"
           "tokens and prints tokens/s, achieved GFLOP/s and MFU: model FLOPs per token\n"
           "(6N + 12 * attention width * T, N = matmul weights) over the peak of a large\n"
           "square GEMM of the same dtype measured in this run (cblas_sgemm for f32, oneDNN\n"
           "bf16 matmul for bf16, f16 widened to f32 then cblas_sgemm for f16). bf16 and f16\n"
           "are mixed precision: 16-bit weight copy and activations, f32 accumulation.\n"
           "  --steps N     timed steps after one warm-up (default 5); the median is reported\n"
           "  --batch/--seq override the preset's benchmark shape (DESIGN.md)\n"
           "  -t, --threads N OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
           "  --profile     per-op time breakdown\n"
           "  --json        one JSON line instead of text\n");
}

static void bench_shape(const char *preset, int64_t *B, int64_t *T) {
    if (strcmp(preset, "bench-l") == 0)
        *B = 1, *T = 1024;
    else if (strncmp(preset, "bench-m", 7) == 0)
        *B = 4, *T = 512;
    else
        *B = 2, *T = 64;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *preset;
    lt_dtype dtype;
    int64_t steps, B, T;
    bool profile, json;
} bench_args;

static lt_status step(lt_model *m, lt_acts *a, const lt_batch *batch, float *grads,
                      double *seconds) {
    double t0 = lt_time_now();
    LT_TRY(lt_model_forward(m, a, batch));
    lt_loss loss;
    LT_TRY(lt_objective_xent(a, batch->targets, 0, 1.0f, &loss));
    LT_TRY(lt_model_backward(m, a, grads, NULL));
    *seconds = lt_time_now() - t0;
    return NULL;
}

static void report(const bench_args *ba, const lt_model *m, lt_acts *a, const double *times,
                   double peak) {
    double median = times[ba->steps / 2], tokens = (double)(ba->B * ba->T);
    double flops = lt_config_train_flops_per_token(&m->cfg, ba->T) * tokens / median;
    double mfu = flops / (peak * 1e9);
    if (ba->json) {
        printf(
            "{\"bench\":\"train\",\"preset\":\"%s\",\"dtype\":\"%s\",\"threads\":%d,\"batch\":%lld,\"seq\":%lld,"
            "\"tokens_per_s\":%.1f,\"gflops\":%.2f,\"peak_gflops\":%.2f,\"mfu\":%.4f,\"step_s_median\":%.4f,"
            "\"step_s_min\":%.4f,\"step_s_max\":%.4f,\"activation_bytes\":%zu}\n",
            ba->preset, lt_dtype_name(ba->dtype), lt_threads_get(), (long long)ba->B,
            (long long)ba->T, tokens / median, flops / 1e9, peak, mfu, median, times[0],
            times[ba->steps - 1], a->bytes);
        return;
    }
    printf("lathe bench train: %s, %s, batch %lld x %lld, %d threads, %lld steps\n", ba->preset,
           lt_dtype_name(ba->dtype), (long long)ba->B, (long long)ba->T, lt_threads_get(),
           (long long)ba->steps);
    printf("  step time      %.3f s median (min %.3f, max %.3f)\n", median, times[0],
           times[ba->steps - 1]);
    printf("  throughput     %.1f tokens/s\n", tokens / median);
    printf("  model FLOPs    %.1f GFLOP/s (%.4g FLOPs/token)\n", flops / 1e9,
           lt_config_train_flops_per_token(&m->cfg, ba->T));
    printf("  GEMM peak      %.1f GFLOP/s (%s, measured now)\n", peak,
           ba->dtype == LT_BF16  ? "oneDNN bf16 matmul"
           : ba->dtype == LT_F16 ? "f16 widened, cblas_sgemm"
                                 : "cblas_sgemm");
    printf("  MFU            %.1f%%\n", mfu * 100);
    printf("  activations    %.1f MiB\n", (double)a->bytes / (1 << 20));
    if (!ba->profile) return;
    double total = 0;
    for (int op = 0; op < LT_OP_COUNT; op++) total += a->profile.seconds[op];
    printf("  per-op time (forward+backward, all timed steps):\n");
    for (int op = 0; op < LT_OP_COUNT; op++)
        if (a->profile.seconds[op] > 0)
            printf("    %-14s %7.3f s  %5.1f%%\n", lt_op_name((lt_op)op), a->profile.seconds[op],
                   100 * a->profile.seconds[op] / total);
}

static lt_status bench_train(const bench_args *ba) {
    lt_config cfg;
    LT_TRY(lt_config_preset(&cfg, ba->preset));
    lt_model *m = NULL;
    lt_acts *a = NULL;
    float *grads = NULL;
    int32_t *ids = NULL, *targets = NULL;
    double *times = NULL;
    int64_t N = ba->B * ba->T;
    lt_status s = lt_model_init(&m, &cfg);
    lt_config_free(&cfg);
    if (!s) s = lt_model_set_dtype(m, ba->dtype);
    if (!s) s = lt_acts_init(&a, m, ba->B, ba->T);
    if (!s) s = lt_calloc((void **)&grads, (size_t)m->n_params, sizeof *grads, "gradients");
    if (!s) s = lt_alloc((void **)&ids, (size_t)N * sizeof *ids, "ids");
    if (!s) s = lt_alloc((void **)&targets, (size_t)N * sizeof *targets, "targets");
    if (!s) s = lt_alloc((void **)&times, (size_t)ba->steps * sizeof *times, "timings");
    if (!s) {
        lt_model_init_random(m, 1);
        lt_rng rng;
        lt_rng_seed(&rng, 2);
        for (int64_t i = 0; i < N; i++)
            ids[i] = (int32_t)lt_rng_below(&rng, (uint32_t)m->cfg.vocab);
        for (int64_t i = 0; i < N; i++) targets[i] = (i + 1) % ba->T ? ids[i + 1] : -100;
        lt_batch batch = {.B = ba->B, .T = ba->T, .ids = ids, .targets = targets};
        double warm;
        s = step(m, a, &batch, grads, &warm);
        lt_profile_enable(&a->profile, ba->profile);
        for (int64_t i = 0; !s && i < ba->steps; i++) s = step(m, a, &batch, grads, &times[i]);
    }
    if (!s) {
        double peak = lt_gemm_peak_gflops(ba->dtype, 2048, 1.0);
        qsort(times, (size_t)ba->steps, sizeof *times, cmp_double);
        report(ba, m, a, times, peak);
    }
    lt_free(times);
    lt_free(targets);
    lt_free(ids);
    lt_free(grads);
    lt_acts_free(a);
    lt_model_free(m);
    return s;
}

static int cmd_bench_train(int argc, char **argv) {
    const char *preset = NULL, *dtype = "f32", *steps = "5", *batch = NULL, *seq = NULL,
               *threads = NULL;
    bool profile = false, json = false;
    const lt_cli_opt opts[] = {{"--preset", .value = &preset},
                               {"--dtype", .value = &dtype},
                               {"--steps", .value = &steps},
                               {"--batch", .value = &batch},
                               {"--seq", .value = &seq},
                               {"--threads", .value = &threads, .alias = "-t"},
                               {"--profile", .present = &profile},
                               {"--json", .present = &json},
                               {0}};
    int rc = lt_cli_parse("bench train", argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    if (!preset) return lt_cli_usage_error("bench train", "--preset is required");
    bench_args ba = {.preset = preset, .profile = profile, .json = json};
    bench_shape(preset, &ba.B, &ba.T);
    int64_t n_threads = 0;
    lt_status s = lt_dtype_parse(dtype, &ba.dtype);
    if (!s && ba.dtype == LT_Q8_0)
        s = lt_error(LT_ERR_ARG, "--dtype: training runs in f32, bf16 or f16");
    if (!s) s = lt_cli_parse_int("--steps", steps, 1, 1000, &ba.steps);
    if (!s && batch) s = lt_cli_parse_int("--batch", batch, 1, 4096, &ba.B);
    if (!s && seq) s = lt_cli_parse_int("--seq", seq, 1, 1 << 20, &ba.T);
    if (!s && threads) s = lt_cli_parse_int("--threads", threads, 1, 1024, &n_threads);
    if (!s && n_threads) lt_threads_set((int)n_threads);
    if (!s) s = bench_train(&ba);
    return lt_cli_report("bench train", s);
}

static const lt_cli_command benchmarks[] = {
    {"train", cmd_bench_train, "forward+backward tokens/s and MFU of a preset"},
    {"infer", lt_cli_bench_infer, "prompt and generation tokens/s against the bandwidth bound"},
    {"tokenizer", lt_cli_bench_tokenizer, "encode (and training) throughput"},
};

// The server's throughput under load is measured from outside: bench/serve_load.py.
int cmd_bench(int argc, char **argv) {
    return lt_cli_dispatch("bench", benchmarks, sizeof benchmarks / sizeof *benchmarks, argc, argv);
}
