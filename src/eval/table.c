// table.c: the results table of `lathe eval` — scored outputs summed per
// (task, level, reasoning mode, thinking budget), the rates derived from the
// sums, and totals per (mode, budget). Kept apart from the runner so tests
// can score fixed texts without a model.
#include <stdlib.h>
#include <string.h>

#include "lathe/eval.h"

static bool same_cell(const lt_eval_row *r, lt_task_kind kind, int level, lt_reasoning mode,
                      int64_t budget) {
    return r->kind == kind && r->level == level && r->mode == mode && r->think_budget == budget;
}

// The row of a cell, appended (zeroed) when missing.
static lt_status row_for(lt_eval_table *t, lt_task_kind kind, int level, lt_reasoning mode,
                         int64_t budget, lt_eval_row **out) {
    for (size_t i = 0; i < t->n; i++)
        if (same_cell(&t->rows[i], kind, level, mode, budget)) {
            *out = &t->rows[i];
            return NULL;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        lt_eval_row *rows = NULL;
        LT_TRY(lt_calloc((void **)&rows, cap, sizeof *rows, "eval table rows"));
        if (t->n) memcpy(rows, t->rows, t->n * sizeof *rows);
        lt_free(t->rows);
        t->rows = rows;
        t->cap = cap;
    }
    lt_eval_row *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind, r->level = level, r->mode = mode, r->think_budget = budget < 0 ? -1 : budget;
    *out = r;
    return NULL;
}

static void row_sum(lt_eval_row *into, const lt_eval_row *r) {
    into->problems += r->problems;
    into->outputs += r->outputs;
    into->correct += r->correct;
    into->wrong += r->wrong;
    into->unparseable += r->unparseable;
    into->format_ok += r->format_ok;
    into->truncated += r->truncated;
    into->generated_tokens += r->generated_tokens;
    into->thinking_tokens += r->thinking_tokens;
}

lt_status lt_eval_table_add(lt_eval_table *t, const lt_eval_output *o, const lt_chat_template *tpl,
                            lt_task_score *score) {
    if (!o->problem || !o->output)
        return lt_error(LT_ERR_ARG, "eval: an output without its problem or text");
    if (o->sample < 0)
        return lt_error(LT_ERR_ARG, "eval: sample index %lld is negative", (long long)o->sample);
    lt_eval_row *r;
    LT_TRY(row_for(t, o->problem->kind, o->problem->level, o->mode,
                   o->think_budget < 0 ? -1 : o->think_budget, &r));
    lt_task_score s = lt_tasks_verify(o->problem->answer, o->output, o->mode, tpl);
    r->problems += o->sample == 0;
    r->outputs++;
    r->correct += s.verdict == LT_TASK_CORRECT;
    r->wrong += s.verdict == LT_TASK_WRONG;
    r->unparseable += s.verdict == LT_TASK_UNPARSEABLE;
    r->format_ok += s.format_ok;
    r->truncated += o->finish == LT_GEN_LENGTH || o->finish == LT_GEN_CONTEXT;
    r->generated_tokens += o->generated_tokens;
    r->thinking_tokens += o->thinking_tokens;
    if (score) *score = s;
    return NULL;
}

// Budgets order "none" (-1) first, then ascending, which plain integer order gives.
static int cmp_row(const void *pa, const void *pb) {
    const lt_eval_row *a = pa, *b = pb;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    if (a->level != b->level) return a->level < b->level ? -1 : 1;
    if (a->mode != b->mode) return a->mode < b->mode ? -1 : 1;
    if (a->think_budget != b->think_budget) return a->think_budget < b->think_budget ? -1 : 1;
    return 0;
}

void lt_eval_table_sort(lt_eval_table *t) {
    if (t->n > 1) qsort(t->rows, t->n, sizeof *t->rows, cmp_row);
}

lt_status lt_eval_table_totals(const lt_eval_table *t, lt_eval_table *totals) {
    for (size_t i = 0; i < t->n; i++) {
        const lt_eval_row *r = &t->rows[i];
        lt_eval_row *into;
        LT_TRY(row_for(totals, LT_TASK_COUNT, 0, r->mode, r->think_budget, &into));
        row_sum(into, r);
    }
    lt_eval_table_sort(totals);
    return NULL;
}

void lt_eval_table_free(lt_eval_table *t) {
    lt_free(t->rows);
    memset(t, 0, sizeof *t);
}

static double ratio(int64_t a, int64_t b) { return b > 0 ? (double)a / (double)b : 0.0; }

double lt_eval_accuracy(const lt_eval_row *r) { return ratio(r->correct, r->outputs); }
double lt_eval_format_rate(const lt_eval_row *r) { return ratio(r->format_ok, r->outputs); }
double lt_eval_unparseable_rate(const lt_eval_row *r) { return ratio(r->unparseable, r->outputs); }
double lt_eval_mean_tokens(const lt_eval_row *r) { return ratio(r->generated_tokens, r->outputs); }
double lt_eval_mean_thinking(const lt_eval_row *r) { return ratio(r->thinking_tokens, r->outputs); }
