// test_eval.c: the results table of `lathe eval` on hand-made outputs — each
// output's verdict and format flag follow the verifier's rules (docs/TASKS.md),
// and every count, rate, mean and total below was worked out by hand from
// those texts. The runner itself is exercised with a model in tests/cli_eval.sh.
#include "lathe/eval.h"
#include "lt_test.h"

static const lt_chat_template *tpl(void) { return lt_chat_template_get("llama3"); }

static lt_task_problem add_problem = {.kind = LT_TASK_ADD,
                                      .level = 1,
                                      .prompt = "Add 72 and 29.",
                                      .answer = "101",
                                      .key = "add 72 29"};
static lt_task_problem sort_problem = {.kind = LT_TASK_SORT,
                                       .level = 2,
                                       .prompt = "Sort [7, 19, 3].",
                                       .answer = "3, 7, 19",
                                       .key = "sort 3 7 19"};

typedef struct {
    const lt_task_problem *p;
    lt_reasoning mode;
    int64_t budget, sample;
    const char *text;
    int64_t tokens, thinking;
    lt_gen_finish finish;
    lt_task_verdict verdict; // what the verifier must say
    bool format_ok;
} hand_output;

#define OFF LT_REASONING_OFF
#define ON LT_REASONING_ON

static const hand_output outputs[] = {
    // sort, off, two problems: the bracketed list counts, a reordered one is wrong
    {&sort_problem, OFF, -1, 0, "Answer: [3, 7, 19]", 9, 0, LT_GEN_STOP, LT_TASK_CORRECT, true},
    {&sort_problem, OFF, -1, 0, "Answer: 3, 19, 7", 7, 0, LT_GEN_STOP, LT_TASK_WRONG, true},
    // add, off: four samples of one problem (off mode's format needs an answer line too)
    {&add_problem, OFF, -1, 0, "Answer: 101", 4, 0, LT_GEN_STOP, LT_TASK_CORRECT, true},
    {&add_problem, OFF, -1, 1, "Answer: 100", 4, 0, LT_GEN_STOP, LT_TASK_WRONG, true},
    {&add_problem, OFF, -1, 2, "<think>\n2+9=11\n</think>\n\nAnswer: 101", 10, 4, LT_GEN_STOP,
     LT_TASK_CORRECT, false},
    {&add_problem, OFF, -1, 3, "the sum is 101", 5, 0, LT_GEN_LENGTH, LT_TASK_UNPARSEABLE, false},
    // add, on, no budget: three problems of one sample each
    {&add_problem, ON, -1, 0, "<think>\n2+9=11\n7+2+1=10\n</think>\n\nAnswer: 101", 12, 5,
     LT_GEN_STOP, LT_TASK_CORRECT, true},
    {&add_problem, ON, -1, 0, "Answer: 101", 4, 0, LT_GEN_STOP, LT_TASK_CORRECT, false},
    {&add_problem, ON, -1, 0, "<think>\nstill thinking", 5, 5, LT_GEN_CONTEXT, LT_TASK_UNPARSEABLE,
     false},
    // add, on, budget 8
    {&add_problem, ON, 8, 0, "<think>\nstep\n</think>\n\nAnswer: 99", 9, 8, LT_GEN_STOP,
     LT_TASK_WRONG, true},
};
enum { N_OUTPUTS = sizeof outputs / sizeof outputs[0] };

static void fill(lt_eval_table *t) {
    for (int i = 0; i < N_OUTPUTS; i++) {
        const hand_output *h = &outputs[i];
        lt_eval_output o = {.problem = h->p,
                            .mode = h->mode,
                            .think_budget = h->budget,
                            .sample = h->sample,
                            .output = h->text,
                            .generated_tokens = h->tokens,
                            .thinking_tokens = h->thinking,
                            .finish = h->finish};
        lt_task_score s;
        LT_CHECK_OK(lt_eval_table_add(t, &o, tpl(), &s));
        LT_CHECK_MSG(s.verdict == h->verdict, "output %d '%s': verdict %s", i, h->text,
                     lt_tasks_verdict_name(s.verdict));
        LT_CHECK_MSG(s.format_ok == h->format_ok, "output %d '%s': format_ok %d", i, h->text,
                     s.format_ok);
    }
}

typedef struct {
    lt_task_kind kind;
    int level;
    lt_reasoning mode;
    int64_t budget, problems, outputs, correct, wrong, unparseable, format_ok, truncated, tokens,
        thinking;
} expected_row;

static void check_row(const lt_eval_row *r, const expected_row *e) {
    LT_CHECK_INT(r->kind, e->kind);
    LT_CHECK_INT(r->level, e->level);
    LT_CHECK_INT(r->mode, e->mode);
    LT_CHECK_INT(r->think_budget, e->budget);
    LT_CHECK_INT(r->problems, e->problems);
    LT_CHECK_INT(r->outputs, e->outputs);
    LT_CHECK_INT(r->correct, e->correct);
    LT_CHECK_INT(r->wrong, e->wrong);
    LT_CHECK_INT(r->unparseable, e->unparseable);
    LT_CHECK_INT(r->correct + r->wrong + r->unparseable, r->outputs);
    LT_CHECK_INT(r->format_ok, e->format_ok);
    LT_CHECK_INT(r->truncated, e->truncated);
    LT_CHECK_INT(r->generated_tokens, e->tokens);
    LT_CHECK_INT(r->thinking_tokens, e->thinking);
}

static void test_rows_by_hand(void) {
    lt_eval_table t = {0};
    fill(&t);
    LT_CHECK_INT(t.n, 4);
    lt_eval_table_sort(&t); // inserted sort first; ordered by task, level, mode, budget
    static const expected_row want[4] = {
        {LT_TASK_ADD, 1, OFF, -1, 1, 4, 2, 1, 1, 2, 1, 23, 4},
        {LT_TASK_ADD, 1, ON, -1, 3, 3, 2, 0, 1, 1, 1, 21, 10},
        {LT_TASK_ADD, 1, ON, 8, 1, 1, 0, 1, 0, 1, 0, 9, 8},
        {LT_TASK_SORT, 2, OFF, -1, 2, 2, 1, 1, 0, 2, 0, 16, 0},
    };
    for (size_t i = 0; i < 4 && i < t.n; i++) check_row(&t.rows[i], &want[i]);
    // rates of add/off: 2 of 4 correct, 2 of 4 in format, 1 of 4 unparseable, 23/4 tokens
    LT_CHECK_CLOSE(lt_eval_accuracy(&t.rows[0]), 0.5, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_format_rate(&t.rows[0]), 0.5, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_unparseable_rate(&t.rows[0]), 0.25, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_mean_tokens(&t.rows[0]), 5.75, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_mean_thinking(&t.rows[0]), 1.0, 1e-12, 0);
    // add/on without budget: 2 of 3 correct, 1 of 3 in format, 7 tokens, 10/3 thinking
    LT_CHECK_CLOSE(lt_eval_accuracy(&t.rows[1]), 2.0 / 3.0, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_format_rate(&t.rows[1]), 1.0 / 3.0, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_mean_tokens(&t.rows[1]), 7.0, 1e-12, 0);
    LT_CHECK_CLOSE(lt_eval_mean_thinking(&t.rows[1]), 10.0 / 3.0, 1e-12, 0);
    lt_eval_table_free(&t);
}

static void test_totals(void) {
    lt_eval_table t = {0}, totals = {0};
    fill(&t);
    LT_CHECK_OK(lt_eval_table_totals(&t, &totals));
    LT_CHECK_INT(totals.n, 3);
    static const expected_row want[3] = {
        {LT_TASK_COUNT, 0, OFF, -1, 3, 6, 3, 2, 1, 4, 1, 39, 4},
        {LT_TASK_COUNT, 0, ON, -1, 3, 3, 2, 0, 1, 1, 1, 21, 10},
        {LT_TASK_COUNT, 0, ON, 8, 1, 1, 0, 1, 0, 1, 0, 9, 8},
    };
    for (size_t i = 0; i < 3 && i < totals.n; i++) check_row(&totals.rows[i], &want[i]);
    LT_CHECK_CLOSE(lt_eval_accuracy(&totals.rows[0]), 0.5, 1e-12, 0);
    lt_eval_table_free(&t);
    lt_eval_table_free(&totals);
}

static void test_many_rows_and_empty_rates(void) {
    // more cells than the first allocation holds: rows stay intact across growth
    lt_eval_table t = {0};
    lt_task_problem p = add_problem;
    for (int budget = 0; budget < 40; budget++)
        for (int k = 0; k <= budget % 3; k++) {
            lt_eval_output o = {.problem = &p,
                                .mode = ON,
                                .think_budget = 39 - budget,
                                .sample = k,
                                .output = "Answer: 101",
                                .generated_tokens = 2};
            LT_CHECK_OK(lt_eval_table_add(&t, &o, tpl(), NULL));
        }
    LT_CHECK_INT(t.n, 40);
    lt_eval_table_sort(&t);
    for (size_t i = 0; i < t.n; i++) {
        LT_CHECK_INT(t.rows[i].think_budget, (int64_t)i);
        LT_CHECK_INT(t.rows[i].outputs, (int64_t)(39 - i) % 3 + 1);
        LT_CHECK_INT(t.rows[i].problems, 1);
        LT_CHECK_INT(t.rows[i].format_ok, 0); // on mode without a think section
    }
    lt_eval_table_free(&t);
    lt_eval_row empty = {0};
    LT_CHECK(lt_eval_accuracy(&empty) == 0 && lt_eval_format_rate(&empty) == 0 &&
             lt_eval_mean_tokens(&empty) == 0);
}

static void test_bad_outputs(void) {
    lt_eval_table t = {0};
    lt_eval_output o = {.problem = &add_problem, .output = NULL};
    LT_CHECK_ERR(lt_eval_table_add(&t, &o, tpl(), NULL), LT_ERR_ARG, "without its problem or text");
    o.output = "Answer: 101";
    o.sample = -1;
    LT_CHECK_ERR(lt_eval_table_add(&t, &o, tpl(), NULL), LT_ERR_ARG, "negative");
    LT_CHECK_INT(t.n, 0);
    lt_eval_table_free(&t);
}

int main(void) {
    LT_RUN(test_rows_by_hand);
    LT_RUN(test_totals);
    LT_RUN(test_many_rows_and_empty_rates);
    LT_RUN(test_bad_outputs);
    return lt_test_finish();
}
