// task_flags.c: the task-selection flags that `lathe tasks` (--task, --level)
// and `lathe eval` (--tasks, --levels) share: a comma list of task names or
// "all", and a level, a range such as 2-4, or "all". FLAG names the flag in
// the error messages.
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/tasks.h"

lt_status lt_cli_parse_task_kinds(const char *flag, const char *text, unsigned *kinds) {
    *kinds = 0;
    if (strcmp(text, "all") == 0) {
        *kinds = (1u << LT_TASK_COUNT) - 1;
        return NULL;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        lt_task_kind k;
        LT_TRY(lt_error_prefix(lt_tasks_kind_parse(t, &k), flag));
        *kinds |= 1u << k;
    }
    if (!*kinds) return lt_error(LT_ERR_ARG, "%s: no task named in '%s'", flag, text);
    return NULL;
}

lt_status lt_cli_parse_task_levels(const char *flag, const char *text, int *lo, int *hi) {
    if (strcmp(text, "all") == 0) {
        *lo = LT_TASK_LEVEL_MIN, *hi = LT_TASK_LEVEL_MAX;
        return NULL;
    }
    int a, b, used = 0;
    if (sscanf(text, "%d-%d%n", &a, &b, &used) == 2 && text[used] == 0)
        *lo = a, *hi = b;
    else if (sscanf(text, "%d%n", &a, &used) == 1 && text[used] == 0)
        *lo = *hi = a;
    else
        return lt_error(LT_ERR_ARG, "%s: '%s' is not a level, a range like 2-4, or all", flag,
                        text);
    if (*lo < LT_TASK_LEVEL_MIN || *hi > LT_TASK_LEVEL_MAX || *lo > *hi)
        return lt_error(LT_ERR_ARG, "%s: '%s' is not within %d..%d", flag, text, LT_TASK_LEVEL_MIN,
                        LT_TASK_LEVEL_MAX);
    return NULL;
}
