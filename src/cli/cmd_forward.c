// cmd_forward.c: `lathe forward` — one forward pass over given token ids,
// printing the last position's top logits (and the loss when targets are
// given): the tool for comparing lathe against another implementation.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/model.h"
#include "lathe/objective.h"

static void help(void) {
    printf(
        "usage: lathe forward DIR --ids 1,5,9 [--targets 5,9,-100] [--dump logits.npy]\n"
        "                     [--dtype f32|bf16] [--top K] [--backward]\n\n"
        "Runs one forward pass of the model in DIR over the ids (one sequence) and prints\n"
        "the top-K (default 5) 'id:logit' of the last position. With --targets (one per id,\n"
        "-100 to ignore a position) it also prints the mean cross-entropy loss.\n"
        "  --dump FILE   write all logits (T, V) as a float32 .npy file\n"
        "  --dtype T     GEMM precision: f32 (default) or bf16\n"
        "  --backward    also run the backward pass (needs --targets) and print gradient norms\n");
}

// Writes a (rows, cols) float32 array in NumPy's .npy format (version 1.0).
static lt_status write_npy(const char *path, const float *data, int64_t rows, int64_t cols) {
    char header[128];
    int n = snprintf(header, sizeof header,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    int total = 10 + n + 1, pad = (64 - total % 64) % 64; // header block is a multiple of 64 bytes
    uint16_t header_len = (uint16_t)(n + pad + 1);
    lt_file f;
    LT_TRY(lt_file_create(&f, path));
    uint8_t magic[10] = {0x93,
                         'N',
                         'U',
                         'M',
                         'P',
                         'Y',
                         1,
                         0,
                         (uint8_t)(header_len & 0xff),
                         (uint8_t)(header_len >> 8)};
    char spaces[64];
    memset(spaces, ' ', sizeof spaces);
    lt_status s = lt_file_write(&f, magic, sizeof magic);
    if (!s) s = lt_file_write(&f, header, (size_t)n);
    if (!s) s = lt_file_write(&f, spaces, (size_t)pad);
    if (!s) s = lt_file_write(&f, "\n", 1);
    if (!s) s = lt_file_write(&f, data, (size_t)(rows * cols) * sizeof(float));
    if (s) {
        lt_file_abort(&f);
        return s;
    }
    return lt_file_commit(&f);
}

static void print_top(const float *logits, int64_t V, int64_t k) {
    if (k > V) k = V;
    int64_t best[64];
    for (int64_t j = 0; j < k; j++) {
        int64_t arg = -1;
        for (int64_t v = 0; v < V; v++) {
            bool taken = false;
            for (int64_t p = 0; p < j; p++) taken |= best[p] == v;
            if (!taken && (arg < 0 || logits[v] > logits[arg])) arg = v;
        }
        best[j] = arg;
        printf("%s%lld:%.6f", j ? " " : "", (long long)arg, logits[arg]);
    }
    printf("\n");
}

// Backward from the mean loss; prints the global gradient norm and the
// tensors with the largest gradient norms.
static lt_status print_gradients(const lt_model *m, lt_acts *a, const int32_t *targets) {
    float *grads;
    LT_TRY(lt_calloc((void **)&grads, (size_t)m->n_params, sizeof *grads, "gradients"));
    lt_loss loss;
    lt_status s = lt_objective_xent(a, targets, 0, 1.0f, &loss);
    if (!s) s = lt_model_backward(m, a, grads, NULL);
    if (!s) {
        double total = 0, best[3] = {-1, -1, -1};
        int which[3] = {0, 0, 0};
        for (int i = 0; i < m->n_tensors; i++) {
            const lt_param *p = &m->tensors[i];
            double sq = 0;
            for (int64_t j = 0; j < p->numel; j++)
                sq += (double)grads[p->offset + j] * grads[p->offset + j];
            total += sq;
            for (int k = 0; k < 3; k++)
                if (sq > best[k]) {
                    for (int r = 2; r > k; r--) best[r] = best[r - 1], which[r] = which[r - 1];
                    best[k] = sq, which[k] = i;
                    break;
                }
        }
        printf("gradient norm %.6g over %d tensors; largest:", sqrt(total), m->n_tensors);
        for (int k = 0; k < 3 && k < m->n_tensors; k++)
            printf(" %s %.4g%s", m->tensors[which[k]].name, sqrt(best[k]), k < 2 ? "," : "");
        printf("\n");
    }
    lt_free(grads);
    return s;
}

static lt_status run(const char *dir, const char *ids_text, const char *targets_text,
                     const char *dump, const char *dtype_text, int64_t top, bool backward) {
    lt_dtype dtype;
    LT_TRY(lt_dtype_parse(dtype_text, &dtype));
    int32_t *ids = NULL, *targets = NULL;
    int64_t T = 0, n_targets = 0;
    LT_TRY(lt_cli_parse_ids("--ids", ids_text, &ids, &T));
    lt_status s =
        targets_text ? lt_cli_parse_ids("--targets", targets_text, &targets, &n_targets) : NULL;
    if (!s && targets && n_targets != T)
        s = lt_error(LT_ERR_ARG, "--targets has %lld ids, --ids has %lld", (long long)n_targets,
                     (long long)T);
    lt_model *m = NULL;
    lt_acts *a = NULL;
    if (!s) s = lt_model_load(&m, dir);
    if (!s) s = lt_model_set_dtype(m, dtype);
    if (!s) s = lt_acts_init(&a, m, 1, T);
    if (!s) {
        lt_batch batch = {.B = 1, .T = T, .ids = ids, .targets = targets};
        s = lt_model_forward(m, a, &batch);
    }
    lt_loss loss = {0};
    if (!s && targets) s = lt_objective_xent_eval(a, targets, &loss);
    if (!s) {
        int64_t V = m->cfg.vocab;
        printf("top-%lld at position %lld: ", (long long)top, (long long)(T - 1));
        print_top(a->logits + (T - 1) * V, V, top);
        if (targets) printf("loss %.6f over %lld targets\n", loss.loss, (long long)loss.n_counted);
        if (dump) s = write_npy(dump, a->logits, T, V);
        if (!s && dump)
            printf("wrote %s (%lld x %lld float32)\n", dump, (long long)T, (long long)V);
        if (!s && backward) s = print_gradients(m, a, targets);
    }
    lt_acts_free(a);
    lt_model_free(m);
    lt_free(ids);
    lt_free(targets);
    return s;
}

int cmd_forward(int argc, char **argv) {
    const char *dir = NULL, *ids = NULL, *targets = NULL, *dump = NULL, *dtype = "f32",
               *top_text = "5";
    bool backward = false;
    const lt_cli_opt opts[] = {{"--ids", .value = &ids},
                               {"--targets", .value = &targets},
                               {"--dump", .value = &dump},
                               {"--dtype", .value = &dtype},
                               {"--top", .value = &top_text},
                               {"--backward", .present = &backward},
                               {0}};
    int rc = lt_cli_parse("forward", argc, argv, opts, &dir, 1, NULL, help);
    if (rc >= 0) return rc;
    if (!dir) return lt_cli_usage_error("forward", "give a model directory");
    if (!ids) return lt_cli_usage_error("forward", "--ids is required");
    if (backward && !targets) return lt_cli_usage_error("forward", "--backward needs --targets");
    int64_t top;
    lt_status s = lt_cli_parse_int("--top", top_text, 1, 64, &top);
    if (!s) s = run(dir, ids, targets, dump, dtype, top, backward);
    return lt_cli_report("forward", s);
}
