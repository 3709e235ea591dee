// cmd_tokenizer.c: `lathe tokenizer ...` (placeholder until the tokenizer lands).
#include <stdio.h>

#include "cli/cli.h"

int cmd_tokenizer(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "lathe tokenizer: not built yet\n");
    return LT_EXIT_FAIL;
}
