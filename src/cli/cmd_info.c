// cmd_info.c: `lathe info` — architecture, the per-layer block table,
// parameter counts and memory of a model directory or a config.json.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/config.h"
#include "lathe/model.h"

static void help(void) {
    printf(
        "usage: lathe info DIR|config.json|--preset NAME [--batch B] [--seq T]\n\n"
        "Prints the architecture, one row per layer (attention kind, kv heads, FFN kind\n"
        "and width, parameters), the parameter count, weight memory per dtype, the\n"
        "training FLOPs per token and the activation memory of one training batch.\n"
        "Works on a config alone: no weights are read.\n"
        "  --preset NAME   describe a preset instead of a file\n"
        "  --batch B       sequences per batch for the activation memory (default 1)\n"
        "  --seq T         tokens per sequence (default: 2048, or max_position_embeddings if less)\n");
}

// 49867145216 -> "49,867,145,216" (locale-independent).
static const char *grouped(int64_t v) {
    static char bufs[4][32];
    static int next;
    char *out = bufs[next++ & 3], digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v)), k = 0;
    if (v < 0) out[k++] = '-';
    for (int i = 0; i < n; i++) {
        out[k++] = digits[i];
        if ((n - 1 - i) % 3 == 0 && i != n - 1) out[k++] = ',';
    }
    out[k] = 0;
    return out;
}

static void print_bytes(const char *label, double bytes) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    printf("  %-22s %.2f %s\n", label, bytes, unit[u]);
}

static void print_config(const lt_config *c, const char *name, int64_t B, int64_t T) {
    bool decilm = c->arch == LT_ARCH_DECILM;
    printf("%s\n", name);
    printf("  architecture           %s (model_type %s)\n",
           decilm ? "DeciLMForCausalLM" : "LlamaForCausalLM", decilm ? "nemotron-nas" : "llama");
    printf("  hidden size            %lld\n", (long long)c->hidden);
    printf("  layers                 %lld\n", (long long)c->n_layers);
    printf("  attention heads        %lld x %lld\n", (long long)c->n_heads, (long long)c->head_dim);
    printf("  vocabulary             %lld\n", (long long)c->vocab);
    printf("  max positions          %lld\n", (long long)c->max_positions);
    printf("  rope                   theta %g%s", c->rope.theta,
           c->rope.llama3 ? ", llama3 scaling" : "\n");
    if (c->rope.llama3)
        printf(" (factor %g, low %g, high %g, original %lld)\n", c->rope.factor,
               c->rope.low_freq_factor, c->rope.high_freq_factor,
               (long long)c->rope.original_max_position_embeddings);
    printf("  rms norm eps           %g\n", c->rms_eps);
    printf("  lm head                %s\n",
           c->tie_embeddings ? "tied to the embedding" : "separate (untied)");
    printf("\n  layer  attention  kv heads  ffn     width   parameters\n");
    for (int64_t l = 0; l < c->n_layers; l++) {
        const lt_block_config *b = &c->blocks[l];
        char kv[16] = "-", width[16] = "-";
        if (b->attn == LT_ATTN_GQA) snprintf(kv, sizeof kv, "%lld", (long long)b->n_kv_heads);
        if (b->ffn == LT_FFN_SWIGLU) snprintf(width, sizeof width, "%lld", (long long)b->ffn_dim);
        printf("  %5lld  %-9s  %8s  %-6s  %6s  %14s\n", (long long)l, lt_attn_kind_name(b->attn),
               kv, lt_ffn_kind_name(b->ffn), width, grouped(lt_config_block_params(c, l)));
    }
    int64_t n = lt_config_param_count(c), embed = c->vocab * c->hidden;
    printf("\n  parameters             %s\n", grouped(n));
    printf("    embedding            %s\n", grouped(embed));
    if (!c->tie_embeddings) printf("    lm head              %s\n", grouped(embed));
    printf("    blocks + final norm  %s\n", grouped(n - embed * (c->tie_embeddings ? 1 : 2)));
    printf("  matmul parameters (N)  %s\n", grouped(lt_config_matmul_params(c)));
    printf("  training FLOPs/token   %.4g at T=%lld (6N + 12 * attention width * T)\n",
           lt_config_train_flops_per_token(c, T), (long long)T);
    printf("\n  weight memory\n");
    print_bytes("f32", (double)n * 4);
    print_bytes("bf16 / f16", (double)n * 2);
    print_bytes("q8_0", (double)n * 34.0 / 32.0);
    print_bytes("training (f32 AdamW)", (double)n * 16); // weights, grads, two moments
    char label[64];
    snprintf(label, sizeof label, "activations %lldx%lld", (long long)B, (long long)T);
    print_bytes(label, (double)lt_acts_bytes(c, LT_F32, B, T));
    snprintf(label, sizeof label, "  in bf16 / f16");
    print_bytes(label, (double)lt_acts_bytes(c, LT_BF16, B, T));
}

int cmd_info(int argc, char **argv) {
    const char *preset = NULL, *seq_text = NULL, *batch_text = "1", *path = NULL;
    const lt_cli_opt opts[] = {{"--preset", .value = &preset},
                               {"--seq", .value = &seq_text},
                               {"--batch", .value = &batch_text},
                               {0}};
    int n_pos = 0;
    int rc = lt_cli_parse("info", argc, argv, opts, &path, 1, &n_pos, help);
    if (rc >= 0) return rc;
    if (!preset == !path)
        return lt_cli_usage_error("info",
                                  "give a model directory, a config.json, or --preset NAME");
    lt_config c;
    lt_status s = preset ? lt_config_preset(&c, preset) : lt_config_load(&c, path);
    if (s) return lt_cli_report("info", s);
    int64_t T = c.max_positions < 2048 ? c.max_positions : 2048, B = 1;
    if (seq_text) s = lt_cli_parse_int("--seq", seq_text, 1, c.max_positions, &T);
    if (!s) s = lt_cli_parse_int("--batch", batch_text, 1, 1 << 20, &B);
    if (!s) print_config(&c, preset ? preset : path, B, T);
    lt_config_free(&c);
    return lt_cli_report("info", s);
}
