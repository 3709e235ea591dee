// cmd_bench.c: `lathe bench` (placeholder while the model lands).
#include <stdio.h>

#include "cli/cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "lathe bench: not built yet\n");
    return LT_EXIT_FAIL;
}
