// tasks_internal.h: what the task generators share — a printf-style text
// builder, uniform integer draws, and one generator entry per task.
#ifndef LATHE_TASKS_INTERNAL_H
#define LATHE_TASKS_INTERNAL_H

#include "lathe/tasks.h"

// Appends formatted text to b.
lt_status lt_tasks_printf(lt_bytes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Uniform integer in [lo, hi].
int64_t lt_tasks_draw(lt_rng *rng, int64_t lo, int64_t hi);
// Fills the problem's strings from builders (taking the text; the builders are emptied).
lt_status lt_tasks_finish(lt_task_problem *p, lt_bytes *prompt, lt_bytes *answer,
                          lt_bytes *thinking, lt_bytes *key);

// Column-by-column working, one line per column, appended to `out`:
// addition of two non-negative numbers, subtraction a - b with a >= b >= 0.
lt_status lt_tasks_add_steps(lt_bytes *out, int64_t a, int64_t b);
lt_status lt_tasks_sub_steps(lt_bytes *out, int64_t a, int64_t b);

lt_status lt_tasks_gen_add(lt_task_problem *p, int level, lt_rng *rng);
lt_status lt_tasks_gen_sub(lt_task_problem *p, int level, lt_rng *rng);
lt_status lt_tasks_gen_mul(lt_task_problem *p, int level, lt_rng *rng);
lt_status lt_tasks_gen_word(lt_task_problem *p, int level, lt_rng *rng);
lt_status lt_tasks_gen_sort(lt_task_problem *p, int level, lt_rng *rng);
lt_status lt_tasks_gen_bool(lt_task_problem *p, int level, lt_rng *rng);

#endif
