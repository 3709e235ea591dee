// cmd_init.c: `lathe init` (placeholder while the model lands).
#include <stdio.h>

#include "cli/cli.h"

int cmd_init(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "lathe init: not built yet\n");
    return LT_EXIT_FAIL;
}
