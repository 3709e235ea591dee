// cmd_init.c: `lathe init` — a randomly initialised model directory from a
// preset or a config.json.
#include <stdio.h>

#include "cli/cli.h"
#include "lathe/model.h"
#include "lathe/tokenizer.h"

static void help(void) {
    printf(
        "usage: lathe init (--preset NAME | --config FILE) --out DIR [--tokenizer DIR] [--seed S]\n"
        "                  [--dtype f32|bf16|f16]\n\n"
        "Creates DIR with config.json and model.safetensors holding a randomly initialised\n"
        "model (Hugging Face initialisation: linear and embedding weights ~ N(0, 0.02),\n"
        "norm weights 1).\n\n"
        "  --preset NAME   tiny, tiny-hetero, bench-m, bench-m-hetero, bench-l or reason-s\n"
        "  --config FILE   a LlamaForCausalLM or DeciLMForCausalLM config.json (or its directory)\n"
        "  -o, --out DIR   output directory (created if needed)\n"
        "  --tokenizer DIR copy this tokenizer (tokenizer.json, tokenizer_config.json) into DIR, so\n"
        "                  the model is complete for lathe sft, chat and serve; its ids must fit\n"
        "                  the model's vocabulary\n"
        "  --seed S        random seed (default 1)\n"
        "  --dtype T       storage dtype of model.safetensors: f32, bf16 or f16 (default f32)\n");
}

int cmd_init(int argc, char **argv) {
    const char *preset = NULL, *config = NULL, *out = NULL, *seed_text = "1", *dtype_text = "f32";
    const char *tokenizer = NULL;
    const lt_cli_opt opts[] = {{"--preset", .value = &preset},
                               {"--config", .value = &config},
                               {"--out", .value = &out, .alias = "-o"},
                               {"--seed", .value = &seed_text},
                               {"--dtype", .value = &dtype_text},
                               {"--tokenizer", .value = &tokenizer},
                               {0}};
    int rc = lt_cli_parse("init", argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    if (!preset == !config)
        return lt_cli_usage_error("init", "give exactly one of --preset or --config");
    if (!out) return lt_cli_usage_error("init", "--out DIR is required");
    int64_t seed;
    lt_dtype dtype;
    lt_status s = lt_cli_parse_int("--seed", seed_text, 0, INT64_MAX, &seed);
    if (!s) s = lt_dtype_parse(dtype_text, &dtype);
    if (s) return lt_cli_report("init", lt_error_prefix(s, "init"));

    lt_config cfg;
    s = preset ? lt_config_preset(&cfg, preset) : lt_config_load(&cfg, config);
    if (s) return lt_cli_report("init", s);
    lt_model *m = NULL;
    s = lt_model_init(&m, &cfg);
    lt_config_free(&cfg);
    // The tokenizer is checked before anything is written, so a bad one leaves no folder.
    if (!s && tokenizer) s = lt_tokenizer_dir_check(tokenizer, m->cfg.vocab);
    if (!s) {
        lt_model_init_random(m, (uint64_t)seed);
        s = lt_model_save(m, out, dtype);
    }
    if (!s && tokenizer) s = lt_tokenizer_dir_copy(tokenizer, out);
    if (!s)
        printf("wrote %s: %s, %.2fM parameters, stored as %s%s\n", out,
               m->cfg.arch == LT_ARCH_DECILM ? "DeciLMForCausalLM" : "LlamaForCausalLM",
               (double)m->n_params / 1e6, lt_dtype_name(dtype),
               tokenizer ? ", with its tokenizer" : "");
    lt_model_free(m);
    return lt_cli_report("init", s);
}
