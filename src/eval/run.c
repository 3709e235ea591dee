// run.c: the runner of `lathe eval` — every (mode, budget, problem, sample)
// is one generation request; as many run at once as the engine has slots
// (lt_gen batches them into one engine step), each finished one is decoded
// to the text the model produced, scored and added to the results table.
#include <string.h>

#include "lathe/eval.h"

typedef struct {
    lt_reasoning mode;
    int64_t budget; // < 0: none
} eval_pass;

typedef struct {
    bool used;
    int64_t id;    // lt_gen request id
    int64_t job;   // index over passes x problems x samples
    lt_ids tokens; // what the model was fed after the prompt: sampled and forced tokens
} eval_active;

typedef struct {
    lt_tokenizer *tok;
    const lt_task_set *set;
    const lt_eval_opts *o;
    lt_eval_table *t;
    eval_pass passes[1 + LT_EVAL_MAX_BUDGETS];
    int n_passes;
    int64_t total, done;
    eval_active *active; // (n_slots)
    int n_slots;
    lt_ids close_ids; // the template's think_close, as the generator forces it
    lt_status err;
} eval_state;

static void job_parts(const eval_state *st, int64_t job, int *pass, size_t *problem,
                      int64_t *sample) {
    int64_t per_pass = (int64_t)st->set->n * st->o->samples;
    *pass = (int)(job / per_pass);
    *problem = (size_t)(job % per_pass / st->o->samples);
    *sample = job % st->o->samples;
}

// The chat prompt of a problem: toggle system line, user message, generation prompt.
static lt_status render_prompt(lt_tokenizer *tok, const lt_chat_template *tpl,
                               const lt_task_problem *p, lt_reasoning mode, lt_ids *ids) {
    lt_bytes sys = {0};
    LT_TRY(lt_chat_system_text(tpl, mode, "", &sys));
    lt_chat_message msgs[2] = {{"system", sys.data, NULL}, {"user", p->prompt, NULL}};
    lt_status s = lt_chat_render(tok, tpl, msgs, 2, LT_CHAT_GENERATION_PROMPT, ids, NULL);
    lt_bytes_free(&sys);
    return s;
}

static lt_status start_job(eval_state *st, lt_gen *g, int64_t job) {
    int pass;
    size_t problem;
    int64_t sample;
    job_parts(st, job, &pass, &problem, &sample);
    const lt_task_problem *p = &st->set->items[problem];
    lt_gen_params gp = st->o->gen;
    gp.think_budget = st->passes[pass].budget;
    gp.prompt_in_thinking = false; // an on-mode answer opens its <think> section itself
    // a different, repeatable stream per output (greedy decoding ignores it)
    gp.sampling.seed = st->o->gen.sampling.seed + (uint64_t)job * 0x9E3779B97F4A7C15ull;
    lt_ids prompt = {0};
    lt_status s = render_prompt(st->tok, st->o->tpl, p, st->passes[pass].mode, &prompt);
    int64_t id = -1;
    if (!s) s = lt_gen_add(g, prompt.data, (int64_t)prompt.n, &gp, -1, &id);
    lt_ids_free(&prompt);
    if (s) return lt_error_prefix(s, "eval: problem '%s'", p->key);
    for (int i = 0; i < st->n_slots; i++)
        if (!st->active[i].used) {
            st->active[i].used = true;
            st->active[i].id = id;
            st->active[i].job = job;
            st->active[i].tokens.n = 0;
            return NULL;
        }
    return lt_error(LT_ERR_INTERNAL, "eval: more requests than slots");
}

static lt_status finish_job(eval_state *st, eval_active *a, const lt_gen_event *ev) {
    int pass;
    size_t problem;
    int64_t sample;
    job_parts(st, a->job, &pass, &problem, &sample);
    lt_bytes text = {0};
    lt_status s = lt_tokenizer_decode(st->tok, a->tokens.data, a->tokens.n, 0, &text);
    lt_eval_output out = {.problem = &st->set->items[problem],
                          .mode = st->passes[pass].mode,
                          .think_budget = st->passes[pass].budget,
                          .sample = sample,
                          .output = text.data ? text.data : "",
                          .generated_tokens = ev->generated_tokens,
                          .thinking_tokens = ev->thinking_tokens,
                          .finish = ev->finish};
    lt_task_score score;
    if (!s) s = lt_eval_table_add(st->t, &out, st->o->tpl, &score);
    if (!s && st->o->on_output) s = st->o->on_output(st->o->user, &out, &score);
    lt_bytes_free(&text);
    a->used = false;
    st->done++;
    int64_t every = st->total / 50 > 0 ? st->total / 50 : 1; // about 50 reports a run
    if (st->done % every == 0 || st->done == st->total)
        lt_progress_report(&st->o->progress, "eval", (double)st->done, (double)st->total, NULL);
    return s;
}

static void on_event(void *user, const lt_gen_event *ev) {
    eval_state *st = user;
    if (st->err) return;
    eval_active *a = NULL;
    for (int i = 0; i < st->n_slots && !a; i++)
        if (st->active[i].used && st->active[i].id == ev->request) a = &st->active[i];
    if (!a) {
        st->err = lt_error(LT_ERR_INTERNAL, "eval: an event of unknown request %lld",
                           (long long)ev->request);
        return;
    }
    // an end token stops the answer without being part of its text
    if (ev->token >= 0 && ev->finish != LT_GEN_STOP) st->err = lt_ids_push(&a->tokens, ev->token);
    // the thinking budget fed the closing text after this token
    for (size_t i = 0; ev->forced && !st->err && i < st->close_ids.n; i++)
        st->err = lt_ids_push(&a->tokens, st->close_ids.data[i]);
    if (!st->err && ev->finish != LT_GEN_RUNNING) st->err = finish_job(st, a, ev);
}

static lt_status check_opts(const lt_eval_opts *o) {
    if (!o->tpl) return lt_error(LT_ERR_ARG, "eval: no chat template");
    if (!o->modes[0] && !o->modes[1])
        return lt_error(LT_ERR_ARG, "eval: no reasoning mode selected");
    if (o->samples < 1)
        return lt_error(LT_ERR_ARG, "eval: samples must be at least 1, not %lld",
                        (long long)o->samples);
    if (o->n_budgets < 0 || o->n_budgets > LT_EVAL_MAX_BUDGETS)
        return lt_error(LT_ERR_ARG, "eval: %d thinking budgets (at most %d)", o->n_budgets,
                        LT_EVAL_MAX_BUDGETS);
    for (int i = 0; i < o->n_budgets; i++)
        if (o->budgets[i] < 0)
            return lt_error(LT_ERR_ARG, "eval: thinking budget %lld is negative",
                            (long long)o->budgets[i]);
    return NULL;
}

static void plan_passes(eval_state *st) {
    const lt_eval_opts *o = st->o;
    if (o->modes[LT_REASONING_OFF]) st->passes[st->n_passes++] = (eval_pass){LT_REASONING_OFF, -1};
    if (o->modes[LT_REASONING_ON] && o->n_budgets == 0)
        st->passes[st->n_passes++] = (eval_pass){LT_REASONING_ON, -1};
    for (int i = 0; o->modes[LT_REASONING_ON] && i < o->n_budgets; i++)
        st->passes[st->n_passes++] = (eval_pass){LT_REASONING_ON, o->budgets[i]};
}

static lt_status run_all(eval_state *st, lt_gen *g) {
    int64_t next = 0;
    while (next < st->total || lt_gen_active(g) > 0) {
        while (next < st->total && lt_gen_free_slots(g) > 0) LT_TRY(start_job(st, g, next++));
        LT_TRY(lt_gen_step(g, on_event, st));
        if (st->err) return st->err;
    }
    return NULL;
}

lt_status lt_eval_run(lt_engine *e, const lt_task_set *set, const lt_eval_opts *o,
                      lt_eval_table *t) {
    LT_TRY(check_opts(o));
    eval_state st = {.tok = lt_engine_tokenizer(e), .set = set, .o = o, .t = t};
    LT_TRY(lt_engine_need_tokenizer(e));
    plan_passes(&st);
    st.total = (int64_t)st.n_passes * (int64_t)set->n * o->samples;
    if (st.total == 0) return NULL;
    st.n_slots = lt_engine_max_seqs(e);
    lt_gen *g = NULL;
    lt_status s =
        lt_calloc((void **)&st.active, (size_t)st.n_slots, sizeof *st.active, "eval requests");
    if (!s)
        s = lt_tokenizer_encode(st.tok, o->tpl->think_close, strlen(o->tpl->think_close), 0,
                                &st.close_ids);
    if (!s) s = lt_gen_init(&g, e);
    lt_progress_report(&o->progress, "eval", 0, (double)st.total, NULL);
    if (!s) s = run_all(&st, g);
    lt_gen_free(g);
    for (int i = 0; st.active && i < st.n_slots; i++) lt_ids_free(&st.active[i].tokens);
    lt_free(st.active);
    lt_ids_free(&st.close_ids);
    return s;
}
