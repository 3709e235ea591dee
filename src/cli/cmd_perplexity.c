// cmd_perplexity.c: `lathe perplexity` — how well a model predicts held-out
// text (perplexity, bits per byte) and, against a reference model, what a
// storage type costs (KL divergence, top-1 agreement).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/gen_common.h"
#include "lathe/infer.h"

static void help(void) {
    printf("usage: lathe perplexity MODEL --text FILE [--ref MODEL] [--ctx N] [--step N]\n"
           "                        [--dtype T] [--max-tokens N] [--threads N] [--json]\n\n"
           "Tokenizes FILE with the model's tokenizer, cuts it into windows of N tokens\n"
           "and scores every token but the first of each window: perplexity, mean\n"
           "negative log-likelihood and bits per byte. With --ref (the f32 model, say), also\n"
           "the mean and largest KL(ref || model) of the next-token distributions and the\n"
           "fraction of positions where both pick the same top token.\n\n"
           "  MODEL, --ref    model directories or .gguf files\n"
           "  -m, --model M   MODEL as a flag\n"
           "  -c, --ctx N     window length (default 256)\n"
           "  --step N        tokens per engine step (default: the window). --step 1 scores\n"
           "                  token by token through the decode path (for q8_0 that also\n"
           "                  rounds activations to 8 bits, as generation does)\n"
           "  --dtype T       store MODEL's weights as f32|bf16|f16|q8_0 (default: as given)\n"
           "  --max-tokens N  score at most the first N tokens of the text\n"
           "  -t, --threads N OpenMP threads\n"
           "  --json          one JSON line instead of text\n");
}

int cmd_perplexity(int argc, char **argv) {
    const char *text = NULL, *ref_path = NULL, *ctx_s = "256", *step_s = NULL, *dtype = NULL,
               *max_s = NULL, *threads = NULL, *model = NULL, *pos[1];
    bool json = false;
    int n_pos = 0;
    const lt_cli_opt opts[] = {{"--text", .value = &text},
                               {"--ref", .value = &ref_path},
                               {"--ctx", .value = &ctx_s, .alias = "-c --ctx-size"},
                               {"--step", .value = &step_s},
                               {"--dtype", .value = &dtype},
                               {"--max-tokens", .value = &max_s},
                               {"--threads", .value = &threads, .alias = "-t"},
                               {"--json", .present = &json},
                               {"--model", .value = &model, .alias = "-m"},
                               {0}};
    int rc = lt_cli_parse("perplexity", argc, argv, opts, pos, 1, &n_pos, help);
    if (rc >= 0) return rc;
    if ((model && !lt_cli_insert(pos, &n_pos, 1, 0, model)) || n_pos != 1)
        return lt_cli_usage_error("perplexity", "give one MODEL (as an argument or with -m)");
    if (!text) return lt_cli_usage_error("perplexity", "--text is required");
    int64_t ctx = 0, step = 0, max_tokens = INT64_MAX, n_threads = 0;
    lt_engine_opts o = {0};
    lt_status s = lt_cli_parse_int("--ctx", ctx_s, 2, 1 << 20, &ctx);
    if (!s && dtype) {
        s = lt_dtype_parse(dtype, &o.weights);
        o.weights_set = true;
    }
    if (!s && step_s) s = lt_cli_parse_int("--step", step_s, 1, 1 << 20, &step);
    if (!s && max_s) s = lt_cli_parse_int("--max-tokens", max_s, 2, INT64_MAX, &max_tokens);
    if (!s && threads) s = lt_cli_parse_int("--threads", threads, 1, 1024, &n_threads);
    if (s) return lt_cli_report("perplexity", s);
    if (n_threads) lt_threads_set((int)n_threads);
    o.max_step_tokens = step && step < ctx ? step : ctx;
    o.max_context = ctx;
    lt_engine *e = NULL, *ref = NULL;
    lt_mmap file = {0};
    lt_ids ids = {0};
    s = lt_cli_open_engine(pos[0], &o, &e);
    if (!s && ref_path)
        s = lt_engine_open(&ref, ref_path,
                           &(lt_engine_opts){.max_step_tokens = ctx, .max_context = ctx});
    if (!s) s = lt_mmap_open(&file, text);
    if (!s)
        s = lt_tokenizer_encode(lt_engine_tokenizer(e), file.data, file.size, LT_ENCODE_NO_SPECIAL,
                                &ids);
    int64_t n = (int64_t)ids.n < max_tokens ? (int64_t)ids.n : max_tokens;
    double bytes = (double)file.size * (double)n / (double)(ids.n ? ids.n : 1);
    lt_quality q;
    if (!s) s = lt_engine_quality(e, ref, ids.data, n, ctx, &q);
    if (!s) {
        // bits per byte over the bytes the scored tokens cover (the text's share for a prefix)
        double bpb = q.nll * (double)q.tokens / log(2.0) / bytes;
        const char *dt = lt_dtype_name(lt_engine_weight_dtype(e));
        if (json) {
            printf(
                "{\"model\":\"%s\",\"dtype\":\"%s\",\"tokens\":%lld,\"ctx\":%lld,\"step\":%lld,\"nll\":%.6f,\"perplexity\":%.4f,\"bits_per_byte\":%.5f",
                pos[0], dt, (long long)q.tokens, (long long)ctx, (long long)o.max_step_tokens,
                q.nll, exp(q.nll), bpb);
            if (ref)
                printf(",\"ref\":\"%s\",\"kl\":%.6g,\"kl_max\":%.6g,\"top1_agree\":%.5f", ref_path,
                       q.kl, q.kl_max, q.top1_agree);
            printf("}\n");
        } else {
            printf("%s (%s): %lld tokens scored in windows of %lld\n", pos[0], dt,
                   (long long)q.tokens, (long long)ctx);
            printf("  perplexity %.4f   nll %.5f nats/token   %.4f bits/byte\n", exp(q.nll), q.nll,
                   bpb);
            if (ref)
                printf("  against %s: KL mean %.3g nats, max %.3g; same top token %.2f%%\n",
                       ref_path, q.kl, q.kl_max, 100.0 * q.top1_agree);
        }
    }
    lt_ids_free(&ids);
    lt_mmap_close(&file);
    lt_engine_close(ref);
    lt_engine_close(e);
    return lt_cli_report("perplexity", s);
}
