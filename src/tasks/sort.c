// sort.c: the symbolic task — sort a list of integers ascending. The working
// is selection sort, one line per pick ("smallest of 34, 7, 19 is 7"), which
// needs only comparisons a small model can learn.
#include <stdlib.h>

#include "tasks/tasks_internal.h"

#define SORT_MAX 8

static lt_status print_list(lt_bytes *b, const int64_t *v, int n, const char *sep) {
    for (int i = 0; i < n; i++) LT_TRY(lt_tasks_printf(b, "%s%lld", i ? sep : "", (long long)v[i]));
    return NULL;
}

static const char *sort_phrasings[] = {
    "Sort these numbers from smallest to largest: %s.",
    "Put these numbers in ascending order: %s.",
    "Arrange %s in increasing order.",
    "Sort the list [%s] in ascending order.",
    "Order these numbers from least to greatest: %s.",
};

// The working and the sorted list: repeatedly pick the smallest of what is left.
static lt_status sort_steps(lt_bytes *out, const int64_t *values, int n, int64_t *sorted) {
    int64_t left[SORT_MAX] = {0};
    int n_left = n;
    for (int i = 0; i < n; i++) left[i] = values[i];
    for (int k = 0; n_left > 1; k++) {
        int at = 0;
        for (int i = 1; i < n_left; i++)
            if (left[i] < left[at]) at = i;
        LT_TRY(lt_tasks_printf(out, "smallest of "));
        LT_TRY(print_list(out, left, n_left, ", "));
        LT_TRY(lt_tasks_printf(out, " is %lld\n", (long long)left[at]));
        sorted[k] = left[at];
        for (int i = at; i + 1 < n_left; i++) left[i] = left[i + 1];
        n_left--;
    }
    sorted[n - 1] = left[0];
    LT_TRY(lt_tasks_printf(out, "left: %lld\nsorted: ", (long long)left[0]));
    return print_list(out, sorted, n, ", ");
}

// Level 1: 3 numbers in 0..99; 2: 4 in 0..99; 3: 5 in 0..999; 4: 6 in -99..999.
lt_status lt_tasks_gen_sort(lt_task_problem *p, int level, lt_rng *rng) {
    static const int counts[] = {3, 4, 5, 6};
    static const int64_t lo[] = {0, 0, 0, -99}, hi[] = {99, 99, 999, 999};
    int n = counts[level - 1];
    int64_t values[SORT_MAX], sorted[SORT_MAX];
    for (int i = 0; i < n; i++) values[i] = lt_tasks_draw(rng, lo[level - 1], hi[level - 1]);
    const char *pattern = sort_phrasings[lt_rng_below(rng, 5)];

    lt_bytes list = {0}, prompt = {0}, answer = {0}, thinking = {0}, key = {0};
    lt_status st = print_list(&list, values, n, ", ");
    if (!st) st = lt_tasks_printf(&prompt, pattern, list.data);
    if (!st) st = sort_steps(&thinking, values, n, sorted);
    if (!st) st = print_list(&answer, sorted, n, ", ");
    // The key is the multiset (the sorted list): a reordering is the same problem.
    if (!st) st = lt_tasks_printf(&key, "sort ");
    if (!st) st = print_list(&key, sorted, n, " ");
    if (!st) st = lt_tasks_finish(p, &prompt, &answer, &thinking, &key);
    lt_bytes_free(&list);
    lt_bytes_free(&prompt);
    lt_bytes_free(&answer);
    lt_bytes_free(&thinking);
    lt_bytes_free(&key);
    return st;
}
