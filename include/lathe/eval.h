// eval.h: `lathe eval` as a library — task accuracy of a model on the
// generated reasoning suite (tasks.h), per (task, level, reasoning mode,
// thinking budget). Every problem is rendered with the chat template under
// its toggle system line, answered through lt_gen in batches over the
// engine's slots, scored by lt_tasks_verify, and added to a results table:
// accuracy (pass@1, averaged over the samples of each problem), format
// compliance, unparseable rate, mean generated and thinking tokens.
// The table is separate from the runner so scoring can be tested on fixed
// texts without a model.
#ifndef LATHE_EVAL_H
#define LATHE_EVAL_H

#include "lathe/generate.h"
#include "lathe/tasks.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- results table

// One cell of the table. kind LT_TASK_COUNT and level 0 mean "all" (totals).
typedef struct {
    lt_task_kind kind;
    int level;
    lt_reasoning mode;
    int64_t think_budget; // < 0: no budget
    int64_t problems;     // distinct problems (outputs of sample 0)
    int64_t outputs;      // scored outputs: problems x samples
    int64_t correct, wrong, unparseable;
    int64_t format_ok;
    int64_t truncated; // ended by max_tokens or the context, not by an end token
    int64_t generated_tokens, thinking_tokens; // sums over the outputs
} lt_eval_row;

typedef struct {
    lt_eval_row *rows;
    size_t n, cap;
} lt_eval_table;

// One scored output, as the runner (or a test) hands it to the table.
typedef struct {
    const lt_task_problem *problem;
    lt_reasoning mode;
    int64_t think_budget;     // < 0: none
    int64_t sample;           // 0..samples-1
    const char *output;       // the assistant text as generated (think tags included)
    int64_t generated_tokens; // forced tokens included
    int64_t thinking_tokens;
    lt_gen_finish finish;
} lt_eval_output;

// Scores `o` with lt_tasks_verify and adds it to its row (created on first
// use); the score is returned in *score when score != NULL.
lt_status lt_eval_table_add(lt_eval_table *t, const lt_eval_output *o, const lt_chat_template *tpl,
                            lt_task_score *score);
// Orders rows by task, level, mode (off first), budget (none first, then ascending).
void lt_eval_table_sort(lt_eval_table *t);
// Appends to `totals` one row per (mode, budget) summing t's rows (kind
// LT_TASK_COUNT, level 0), sorted.
lt_status lt_eval_table_totals(const lt_eval_table *t, lt_eval_table *totals);
void lt_eval_table_free(lt_eval_table *t);

// Rates of a row (0 when it has no outputs).
double lt_eval_accuracy(const lt_eval_row *r);    // correct / outputs
double lt_eval_format_rate(const lt_eval_row *r); // format_ok / outputs
double lt_eval_unparseable_rate(const lt_eval_row *r);
double lt_eval_mean_tokens(const lt_eval_row *r);   // generated_tokens / outputs
double lt_eval_mean_thinking(const lt_eval_row *r); // thinking_tokens / outputs

// ---------------------------------------------------------------- runner

enum { LT_EVAL_MAX_BUDGETS = 16 };

// Called once per finished output, after it was scored (e.g. to dump it).
typedef lt_status (*lt_eval_output_fn)(void *user, const lt_eval_output *o,
                                       const lt_task_score *score);

typedef struct {
    const lt_chat_template *tpl;
    bool modes[2];                        // modes[LT_REASONING_OFF], modes[LT_REASONING_ON]
    int64_t budgets[LT_EVAL_MAX_BUDGETS]; // thinking budgets to sweep (each >= 0)
    int n_budgets;                        // 0: one run without a budget
    int64_t samples;                      // outputs per problem (>= 1)
    lt_gen_params gen;           // sampling and max_tokens; the budget and seed are set per output
    lt_progress progress;        // "eval": outputs done of total
    lt_eval_output_fn on_output; // may be NULL
    void *user;
} lt_eval_opts;

// Answers every problem of `set` in every mode x budget x sample through a
// generator over `e` (which must have a tokenizer), as many at once as the
// engine has free slots, and adds each scored output to `t`. Sampled outputs
// are seeded from gen.sampling.seed and the output's index, so a run is
// repeatable. Budgets apply to reasoning-on outputs only: off-mode rows are
// run once, without a budget.
lt_status lt_eval_run(lt_engine *e, const lt_task_set *set, const lt_eval_opts *o,
                      lt_eval_table *t);

#ifdef __cplusplus
}
#endif
#endif
