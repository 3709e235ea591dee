// cmd_model.c: `lathe model ...` — operations on a model directory as a whole.
#include "cli/cli.h"

static const lt_cli_command subcommands[] = {
    {"resize-vocab", lt_cli_model_resize_vocab,
     "grow the embedding and LM head for an augmented tokenizer"},
};

int cmd_model(int argc, char **argv) {
    return lt_cli_dispatch("model", subcommands, sizeof subcommands / sizeof *subcommands, argc,
                           argv);
}
