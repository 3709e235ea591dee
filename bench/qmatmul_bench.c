// qmatmul_bench.c: lt_qmatmul speed beside the hardware limits it is judged
// by — decode (small N) in GB/s of weights streamed against the measured read
// bandwidth, prefill (N = 512) in GFLOP/s against OpenBLAS sgemm on the same
// shape with f32 weights — for every weight dtype at the model shapes of the
// bench presets (rows x cols = out x in features).
//
// Decode is measured twice: "hot", the same matrix every call (it stays in
// the last-level cache when it fits, as one layer alone would), and "cold",
// cycling through copies that together exceed the caches (as a whole model
// does, each layer's weights read once per token).
//
//   qmatmul_bench [--threads N] [--seconds S] [--cold-mib M] [--dtype D] [--shape ROWSxCOLS]
//                 [--n 1,4,8,16] [--hot-only] [--no-bandwidth]
// Build: cmake --build <dir> --target qmatmul_bench. The machine should be
// otherwise idle; numbers are the best of several timed batches.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lathe/gemm.h"
#include "lathe/quant.h"

typedef struct {
    int threads;
    double seconds; // per measurement
    size_t cold_bytes;
    int64_t ns[16]; // decode row counts
    int n_ns;
    bool hot_only;
    const char *dtype;  // only this dtype, or NULL for all
    int64_t rows, cols; // only this shape, or 0 for the presets' shapes
    bool no_bandwidth;
} options;

static void *xmalloc(size_t n) {
    void *p;
    lt_status st = lt_alloc(&p, n, "bench buffer");
    if (st) {
        fprintf(stderr, "qmatmul_bench: %s\n", lt_status_message(st));
        exit(1);
    }
    return p;
}

// Seconds per call: the best mean over BATCHES batches of calls, each about
// seconds/BATCHES long (best of many short batches: the machine is shared, and
// a batch during which another process ran says nothing about the kernel);
// call i uses weight copy i % n_copies.
enum { BATCHES = 20 };
static double time_calls(float *y, const float *x, lt_qweight *copies, int n_copies, int64_t N,
                         double seconds) {
    lt_status st = lt_qmatmul(y, x, &copies[0], N); // warm-up: scratch, threads
    if (st) {
        fprintf(stderr, "qmatmul_bench: %s\n", lt_status_message(st));
        exit(1);
    }
    double best = 0;
    int next = 0;
    for (int batch = 0; batch < BATCHES; batch++) {
        long calls = 0;
        double t0 = lt_time_now(), t;
        do {
            lt_status_free(lt_qmatmul(y, x, &copies[next], N));
            next = (next + 1) % n_copies;
            calls++;
            t = lt_time_now() - t0;
        } while (t < seconds / BATCHES);
        double per = t / (double)calls;
        if (best == 0 || per < best) best = per;
    }
    return best;
}

static double time_sgemm(float *y, const float *x, const float *w, int64_t N, int64_t rows,
                         int64_t cols, double seconds) {
    lt_gemm(LT_F32, false, true, N, rows, cols, 1.0f, x, cols, w, cols, 0.0f, y, rows);
    double best = 0;
    for (int batch = 0; batch < BATCHES; batch++) {
        long calls = 0;
        double t0 = lt_time_now(), t;
        do {
            lt_gemm(LT_F32, false, true, N, rows, cols, 1.0f, x, cols, w, cols, 0.0f, y, rows);
            calls++;
            t = lt_time_now() - t0;
        } while (t < seconds / BATCHES);
        double per = t / (double)calls;
        if (best == 0 || per < best) best = per;
    }
    return best;
}

static void bench_shape(int64_t rows, int64_t cols, const options *o) {
    static const lt_dtype dtypes[] = {LT_F32, LT_BF16, LT_F16, LT_Q8_0};
    enum { PREFILL_N = 512 };
    float *w = xmalloc((size_t)(rows * cols) * sizeof(float));      // (rows, cols)
    float *x = xmalloc((size_t)(PREFILL_N * cols) * sizeof(float)); // (512, cols)
    float *y = xmalloc((size_t)(PREFILL_N * rows) * sizeof(float)); // (512, rows)
    lt_rng rng;
    lt_rng_seed(&rng, 1);
    for (int64_t i = 0; i < rows * cols; i++) w[i] = lt_rng_normal(&rng) * 0.02f;
    for (int64_t i = 0; i < PREFILL_N * cols; i++) x[i] = lt_rng_normal(&rng);
    double sgemm = 2.0 * PREFILL_N * rows * cols /
                   time_sgemm(y, x, w, PREFILL_N, rows, cols, o->seconds) / 1e9;
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        if (o->dtype && strcmp(o->dtype, lt_dtype_name(dtypes[k])) != 0) continue;
        size_t bytes = lt_qweight_bytes(dtypes[k], rows, cols);
        int n_copies = (int)(o->cold_bytes / bytes) + 1;
        uint8_t *store = xmalloc(bytes * (size_t)n_copies);
        lt_qweight *copies = xmalloc(sizeof(lt_qweight) * (size_t)n_copies);
        lt_status_free(lt_qweight_convert(store, dtypes[k], w, rows, cols));
        for (int c = 0; c < n_copies; c++) {
            if (c) memcpy(store + (size_t)c * bytes, store, bytes);
            copies[c] = (lt_qweight){dtypes[k], store + (size_t)c * bytes, rows, cols};
        }
        printf("%5lld x %-5lld %-5s %7.2f MB |", (long long)rows, (long long)cols,
               lt_dtype_name(dtypes[k]), (double)bytes / 1e6);
        for (int i = 0; i < o->n_ns; i++) {
            double hot = time_calls(y, x, copies, 1, o->ns[i], o->seconds);
            if (o->hot_only) {
                printf(" %6.1f %6.1f |", (double)bytes / hot / 1e9,
                       2.0 * o->ns[i] * rows * cols / hot / 1e9);
                continue;
            }
            double cold = time_calls(y, x, copies, n_copies, o->ns[i], o->seconds);
            printf(" %6.1f %6.1f |", (double)bytes / hot / 1e9, (double)bytes / cold / 1e9);
        }
        double t = time_calls(y, x, copies, 1, PREFILL_N, o->seconds);
        printf(" %6.1f (sgemm f32 %6.1f)\n", 2.0 * PREFILL_N * rows * cols / t / 1e9, sgemm);
        fflush(stdout);
        lt_free(store);
        lt_free(copies);
    }
    lt_free(w);
    lt_free(x);
    lt_free(y);
}

int main(int argc, char **argv) {
    lt_gemm_fix_openblas_kernel(argv);
    options o = {2, 0.5, (size_t)1 << 30, {1, 4, 8, 16}, 4, false, NULL, 0, 0, false};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            o.seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cold-mib") && i + 1 < argc)
            o.cold_bytes = (size_t)atol(argv[++i]) << 20;
        else if (!strcmp(argv[i], "--dtype") && i + 1 < argc)
            o.dtype = argv[++i];
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%" SCNd64 "x%" SCNd64, &o.rows, &o.cols) == 2 && o.rows > 0 &&
                 o.cols > 0)
            i++;
        else if (!strcmp(argv[i], "--no-bandwidth"))
            o.no_bandwidth = true;
        else if (!strcmp(argv[i], "--hot-only"))
            o.hot_only = true;
        else if (!strcmp(argv[i], "--n") && i + 1 < argc) {
            o.n_ns = 0;
            for (char *tok = strtok(argv[++i], ","); tok && o.n_ns < 16; tok = strtok(NULL, ","))
                if (atoll(tok) > 0) o.ns[o.n_ns++] = atoll(tok);
        } else {
            fprintf(stderr,
                    "usage: qmatmul_bench [--threads N] [--seconds S] [--cold-mib M] [--dtype D]"
                    " [--shape ROWSxCOLS] [--n 1,4,8,16] [--hot-only] [--no-bandwidth]\n");
            return 2;
        }
    }
    lt_threads_set(o.threads);
    printf("threads %d, OpenBLAS kernel %s\n", o.threads, lt_gemm_f32_kernel());
    if (!o.no_bandwidth) {
        printf("f32 sgemm peak (n = 2048) %.1f GFLOP/s\n", lt_gemm_peak_gflops(LT_F32, 2048, 0.3));
        printf("read bandwidth:");
        const size_t mib[] = {8, 32, 128, 1024};
        for (size_t i = 0; i < sizeof mib / sizeof mib[0]; i++)
            printf(" %zu MiB %.1f GB/s%s", mib[i], lt_mem_read_bandwidth(mib[i] << 20, 0.5),
                   i + 1 < sizeof mib / sizeof mib[0] ? "," : "\n");
    }
    if (o.hot_only)
        printf(
            "per N: GB/s of weights and GFLOP/s, weights hot in cache; prefill: GFLOP/s at N = 512\n");
    else
        printf(
            "per N: GB/s of weights, hot / cold (cycling %zu MiB of copies); prefill: GFLOP/s at N = 512\n",
            o.cold_bytes >> 20);
    printf("  rows x cols dtype  weights  |");
    for (int i = 0; i < o.n_ns; i++)
        printf(" N=%-3lld %s |", (long long)o.ns[i], o.hot_only ? "GB/s GFLOP" : "hot   cold");
    printf(" N=512\n");
    const int64_t shapes[][2] = {{16384, 512}, {1536, 512}, {512, 1536}, {2816, 1024}};
    if (o.rows)
        bench_shape(o.rows, o.cols, &o);
    else
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            bench_shape(shapes[s][0], shapes[s][1], &o);
    return 0;
}
