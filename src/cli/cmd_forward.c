// cmd_forward.c: `lathe forward` (placeholder while the model lands).
#include <stdio.h>

#include "cli/cli.h"

int cmd_forward(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "lathe forward: not built yet\n");
    return LT_EXIT_FAIL;
}
