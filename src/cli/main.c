// main.c: the `lathe` binary — dispatches to subcommands and turns library
// statuses into messages and exit codes (the library itself never prints or exits).
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/gemm.h"

static const lt_cli_command commands[] = {
    {"init", cmd_init, "create a randomly initialised model directory from a preset or config"},
    {"info", cmd_info, "describe a model: architecture, per-layer blocks, parameters, memory"},
    {"forward", cmd_forward, "run one forward pass and print the top logits (and loss)"},
    {"bench", cmd_bench, "measure speed: lathe bench train|infer|tokenizer"},
    {"tokenizer", cmd_tokenizer, "train, inspect and run tokenizers"},
    {"data", cmd_data, "tokenize text / JSONL into token shards; inspect shards"},
    {"train", cmd_train, "pretrain or continue training a model on token shards"},
    {"sft", cmd_sft,
     "supervised fine-tuning on chat JSONL (loss on assistant turns, reasoning toggle)"},
    {"distill", cmd_distill,
     "knowledge distillation of a teacher into a student (KL, top-k, hidden states)"},
    {"model", cmd_model, "model surgery: resize-vocab"},
    {"plot", cmd_plot, "draw loss curves of training runs (metrics JSONL) as an SVG chart"},
    {"generate", cmd_generate,
     "continue a prompt (or answer one chat message), streaming to stdout"},
    {"chat", cmd_chat, "chat with a model in the terminal: /think on|off, /system, /reset"},
    {"perplexity", cmd_perplexity,
     "perplexity of a model on text; KL divergence against a reference model"},
    {"export", cmd_export, "write a model in another format: lathe export gguf"},
    {"import", cmd_import, "read a model from another format: lathe import gguf"},
    {"serve", cmd_serve,
     "serve a model over an OpenAI-compatible HTTP API (streaming, continuous batching)"},
    {"quantize", cmd_quantize, "store a model's weights as q8_0, bf16, f16 or f32 in a GGUF file"},
    {"tasks", cmd_tasks, "generate verifiable reasoning tasks as paired chat JSONL; score outputs"},
    {"eval", cmd_eval,
     "task accuracy per level and reasoning mode (table + JSON); perplexity on text"},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

int main(int argc, char **argv) {
    lt_gemm_fix_openblas_kernel(argv);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("lathe 0.1.0\n");
        return LT_EXIT_OK;
    }
    bool help = argc >= 2 && (lt_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0);
    if (argc < 2 || help)
        fprintf(help ? stdout : stderr,
                "lathe: build small reasoning language models on a CPU\n\n");
    if (help) argv[1] = "--help";
    return lt_cli_dispatch(NULL, commands, n_commands, argc, argv);
}
