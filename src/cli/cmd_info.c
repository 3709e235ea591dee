// cmd_info.c: `lathe info` (placeholder while the model lands).
#include <stdio.h>

#include "cli/cli.h"

int cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "lathe info: not built yet\n");
    return LT_EXIT_FAIL;
}
