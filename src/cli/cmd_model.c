// cmd_model.c: `lathe model ...` — operations on a model directory as a whole.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_model(int argc, char **argv) {
    if (argc < 2 || lt_cli_is_help(argv[1])) {
        printf("usage: lathe model resize-vocab ...   (lathe model resize-vocab --help)\n"
               "  resize-vocab   grow the embedding and LM head for an augmented tokenizer\n");
        return argc < 2 ? LT_EXIT_USAGE : LT_EXIT_OK;
    }
    if (strcmp(argv[1], "resize-vocab") == 0) return lt_cli_model_resize_vocab(argc - 1, argv + 1);
    return lt_cli_usage_error("model", "unknown operation '%s' (available: resize-vocab)", argv[1]);
}
