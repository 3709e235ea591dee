// cmd_eval.c: `lathe eval` — how good a model is: accuracy on the generated
// reasoning tasks per task, level, reasoning mode and thinking budget (with
// format compliance and answer lengths), as a table and as JSON; or, with
// --text, perplexity and bits per byte on held-out text.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/gen_common.h"
#include "lathe/eval.h"
#include "base/json.h"

static void help(void) {
    printf("usage: lathe eval MODEL [--tasks T] [--levels L] [--n N] [--seed S] [--exclude F]...\n"
           "                  [--mode on|off|both] [--samples K --temperature T]\n"
           "                  [--think-budget N[,N2,...]] [--parallel P] [--max-tokens M]\n"
           "                  [--json OUT.json] [--dump OUT.jsonl] [sampling flags]\n"
           "       lathe eval MODEL --text FILE [--ctx N] [--json OUT.json]\n\n"
           "Generates evaluation problems of the reasoning task suite (lathe tasks), N per task\n"
           "and level, all distinct and none whose key is in an --exclude file (the training\n"
           "set), renders each as a chat turn under 'detailed thinking on|off', answers them\n"
           "in batches and scores every answer with the task verifier. Prints one row per\n"
           "task, level, mode (and budget): accuracy, format compliance, unparseable rate,\n"
           "mean generated and thinking tokens, answers cut by --max-tokens.\n\n"
           "  -m, --model M       MODEL as a flag\n"
           "  --tasks T           add, sub, mul, word, sort, bool, a comma list, or all (default)\n"
           "  --levels L          1..4, a range such as 2-4, or all (default)\n"
           "  --n N               problems per task and level (default 20)\n"
           "  --seed S            seed of the problems and of sampling (default 2; training\n"
           "                      sets from lathe tasks gen use 1 by default)\n"
           "  --exclude F         leave out problems whose key is in F (JSONL from lathe tasks\n"
           "                      gen); repeatable\n"
           "  --mode M            on, off or both (default)\n"
           "  --samples K         answers per problem (default 1); accuracy is pass@1 averaged\n"
           "                      over them; K > 1 needs --temperature > 0\n"
           "  --think-budget L    thinking budgets to sweep, e.g. 0,32,128: one row per budget\n"
           "                      for reasoning-on (reasoning-off runs once)\n"
           "  --parallel P        answers generated at once (engine slots, default 8)\n"
           "  --max-tokens M      tokens per answer at most (default 512; also --n-predict)\n"
           "  -c, --ctx N         context per slot (default 1024, at most the model's); with\n"
           "                      --text: the window (default 256)\n"
           "  --json OUT.json     write the results as JSON\n"
           "  --dump OUT.jsonl    write every problem with its answer, verdict and tokens\n"
           "  --text FILE         perplexity and bits per byte of FILE instead of tasks\n\n"
           "--stop and --stop-id do not apply: answers end at the model's end tokens.\n\n");
    lt_cli_gen_print_help("--seed --max-tokens --ctx --think-budget --stop --stop-id");
}

typedef struct {
    const char *tasks_flag, *levels_flag; // as typed: --tasks or --task, --levels or --level
    const char *tasks, *levels, *n, *mode, *samples, *parallel, *json, *dump, *text;
    lt_cli_list exclude;
} eval_flags;

// ---------------------------------------------------------------- flag values

static lt_status parse_mode(const char *text, bool modes[2]) {
    modes[LT_REASONING_OFF] = strcmp(text, "off") == 0 || strcmp(text, "both") == 0;
    modes[LT_REASONING_ON] = strcmp(text, "on") == 0 || strcmp(text, "both") == 0;
    if (!modes[0] && !modes[1])
        return lt_error(LT_ERR_ARG, "--mode: '%s' is not on, off or both", text);
    return NULL;
}

static lt_status parse_budgets(const char *text, int64_t *budgets, int *n) {
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
        return lt_error(LT_ERR_ARG, "--think-budget: the list is too long");
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == LT_EVAL_MAX_BUDGETS)
            return lt_error(LT_ERR_ARG, "--think-budget: at most %d budgets", LT_EVAL_MAX_BUDGETS);
        LT_TRY(lt_cli_parse_int("--think-budget", t, 0, 1 << 30, &budgets[*n]));
        for (int i = 0; i < *n; i++)
            if (budgets[i] == budgets[*n])
                return lt_error(LT_ERR_ARG, "--think-budget: %s is given twice", t);
        (*n)++;
    }
    if (*n == 0) return lt_error(LT_ERR_ARG, "--think-budget: no budget in '%s'", text);
    return NULL;
}

// ---------------------------------------------------------------- output

static const char *task_name(const lt_eval_row *r) {
    return r->kind == LT_TASK_COUNT ? "all" : lt_tasks_kind_name(r->kind);
}

static void print_row(const lt_eval_row *r) {
    char budget[24] = "-", level[8] = "all";
    if (r->think_budget >= 0) snprintf(budget, sizeof budget, "%lld", (long long)r->think_budget);
    if (r->level) snprintf(level, sizeof level, "%d", r->level);
    printf("%-5s %-5s %-4s %6s %6lld %7lld %7.1f%% %7.1f%% %7.1f%% %8.1f %8.1f %6lld\n",
           task_name(r), level, r->mode == LT_REASONING_ON ? "on" : "off", budget,
           (long long)r->problems, (long long)r->outputs, 100 * lt_eval_accuracy(r),
           100 * lt_eval_format_rate(r), 100 * lt_eval_unparseable_rate(r), lt_eval_mean_tokens(r),
           lt_eval_mean_thinking(r), (long long)r->truncated);
}

static void print_table(const lt_eval_table *t, const lt_eval_table *totals) {
    printf("%-5s %-5s %-4s %6s %6s %7s %8s %8s %8s %8s %8s %6s\n", "task", "level", "mode",
           "budget", "probs", "outputs", "accuracy", "format", "unparse", "tokens", "thinking",
           "cut");
    for (size_t i = 0; i < t->n; i++) print_row(&t->rows[i]);
    for (size_t i = 0; i < totals->n; i++) print_row(&totals->rows[i]);
}

static cJSON *row_json(const lt_eval_row *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", task_name(r));
    if (r->level)
        cJSON_AddNumberToObject(o, "level", r->level);
    else
        cJSON_AddStringToObject(o, "level", "all");
    cJSON_AddStringToObject(o, "mode", r->mode == LT_REASONING_ON ? "on" : "off");
    if (r->think_budget >= 0)
        cJSON_AddNumberToObject(o, "think_budget", (double)r->think_budget);
    else
        cJSON_AddNullToObject(o, "think_budget");
    const struct {
        const char *name;
        int64_t v;
    } counts[] = {{"problems", r->problems},
                  {"outputs", r->outputs},
                  {"correct", r->correct},
                  {"wrong", r->wrong},
                  {"unparseable", r->unparseable},
                  {"format_ok", r->format_ok},
                  {"truncated", r->truncated},
                  {"generated_tokens", r->generated_tokens},
                  {"thinking_tokens", r->thinking_tokens}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        cJSON_AddNumberToObject(o, counts[i].name, (double)counts[i].v);
    cJSON_AddNumberToObject(o, "accuracy", lt_eval_accuracy(r));
    cJSON_AddNumberToObject(o, "format_rate", lt_eval_format_rate(r));
    cJSON_AddNumberToObject(o, "unparseable_rate", lt_eval_unparseable_rate(r));
    cJSON_AddNumberToObject(o, "mean_tokens", lt_eval_mean_tokens(r));
    cJSON_AddNumberToObject(o, "mean_thinking_tokens", lt_eval_mean_thinking(r));
    return o;
}

typedef struct {
    const char *model;
    unsigned kinds;
    int level_lo, level_hi;
    int64_t n_per;
    uint64_t seed;
    size_t excluded_keys;
} eval_setup;

static lt_status write_json(const char *path, const eval_setup *su, const lt_eval_opts *o,
                            const lt_eval_table *t, const lt_eval_table *totals) {
    cJSON *doc = cJSON_CreateObject(), *tasks = cJSON_CreateArray(), *budgets = cJSON_CreateArray(),
          *rows = cJSON_CreateArray(), *tot = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "model", su->model);
    for (int k = 0; k < LT_TASK_COUNT; k++)
        if (su->kinds & (1u << k))
            cJSON_AddItemToArray(tasks, cJSON_CreateString(lt_tasks_kind_name((lt_task_kind)k)));
    cJSON_AddItemToObject(doc, "tasks", tasks);
    cJSON_AddNumberToObject(doc, "level_min", su->level_lo);
    cJSON_AddNumberToObject(doc, "level_max", su->level_hi);
    cJSON_AddNumberToObject(doc, "n_per_task_level", (double)su->n_per);
    cJSON_AddNumberToObject(doc, "seed", (double)su->seed);
    cJSON_AddNumberToObject(doc, "excluded_keys", (double)su->excluded_keys);
    cJSON_AddNumberToObject(doc, "samples", (double)o->samples);
    cJSON_AddNumberToObject(doc, "temperature", o->gen.sampling.temperature);
    cJSON_AddNumberToObject(doc, "max_tokens", (double)o->gen.max_tokens);
    for (int i = 0; i < o->n_budgets; i++)
        cJSON_AddItemToArray(budgets, cJSON_CreateNumber((double)o->budgets[i]));
    cJSON_AddItemToObject(doc, "think_budgets", budgets);
    for (size_t i = 0; i < t->n; i++) cJSON_AddItemToArray(rows, row_json(&t->rows[i]));
    for (size_t i = 0; i < totals->n; i++) cJSON_AddItemToArray(tot, row_json(&totals->rows[i]));
    cJSON_AddItemToObject(doc, "rows", rows);
    cJSON_AddItemToObject(doc, "totals", tot);
    lt_status s = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return s;
}

// --dump: one JSON line per output.
static lt_status dump_output(void *user, const lt_eval_output *o, const lt_task_score *score) {
    lt_file *f = user;
    const lt_task_problem *p = o->problem;
    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "task", lt_tasks_kind_name(p->kind));
    cJSON_AddNumberToObject(line, "level", p->level);
    cJSON_AddStringToObject(line, "key", p->key);
    cJSON_AddStringToObject(line, "mode", o->mode == LT_REASONING_ON ? "on" : "off");
    if (o->think_budget >= 0)
        cJSON_AddNumberToObject(line, "think_budget", (double)o->think_budget);
    else
        cJSON_AddNullToObject(line, "think_budget");
    cJSON_AddNumberToObject(line, "sample", (double)o->sample);
    cJSON_AddStringToObject(line, "prompt", p->prompt);
    cJSON_AddStringToObject(line, "answer", p->answer);
    cJSON_AddStringToObject(line, "output", o->output);
    cJSON_AddStringToObject(line, "verdict", lt_tasks_verdict_name(score->verdict));
    cJSON_AddBoolToObject(line, "format_ok", score->format_ok);
    cJSON_AddNumberToObject(line, "generated_tokens", (double)o->generated_tokens);
    cJSON_AddNumberToObject(line, "thinking_tokens", (double)o->thinking_tokens);
    cJSON_AddStringToObject(line, "finish", lt_gen_finish_name(o->finish));
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text) return lt_error_nomem("a --dump line", 0);
    lt_status s = lt_file_write(f, text, strlen(text));
    if (!s) s = lt_file_write(f, "\n", 1);
    cJSON_free(text);
    return s;
}

// ---------------------------------------------------------------- --text

static int eval_text(const char *model, const char *path, const char *ctx_s, const char *json) {
    int64_t ctx = 256;
    lt_status s = ctx_s ? lt_cli_parse_int("--ctx", ctx_s, 2, 1 << 20, &ctx) : NULL;
    if (s) return lt_cli_report("eval", s);
    lt_engine_opts eo = {.max_context = ctx, .max_step_tokens = ctx};
    lt_engine *e = NULL;
    lt_mmap file = {0};
    lt_ids ids = {0};
    lt_quality q;
    s = lt_cli_open_engine(model, &eo, &e);
    if (!s) s = lt_mmap_open(&file, path);
    if (!s)
        s = lt_tokenizer_encode(lt_engine_tokenizer(e), file.data, file.size, LT_ENCODE_NO_SPECIAL,
                                &ids);
    if (!s && ids.n < 2) s = lt_error(LT_ERR_ARG, "%s: fewer than 2 tokens to score", path);
    if (!s) s = lt_engine_quality(e, NULL, ids.data, (int64_t)ids.n, ctx, &q);
    if (!s) {
        double bpb = q.nll * (double)q.tokens / log(2.0) / (double)file.size;
        printf(
            "%s on %s: %lld tokens scored in windows of %lld\n  perplexity %.4f   nll %.5f nats/token   %.4f bits/byte\n",
            model, path, (long long)q.tokens, (long long)ctx, exp(q.nll), q.nll, bpb);
        if (json) {
            cJSON *doc = cJSON_CreateObject();
            cJSON_AddStringToObject(doc, "model", model);
            cJSON_AddStringToObject(doc, "text", path);
            cJSON_AddNumberToObject(doc, "tokens", (double)q.tokens);
            cJSON_AddNumberToObject(doc, "bytes", (double)file.size);
            cJSON_AddNumberToObject(doc, "ctx", (double)ctx);
            cJSON_AddNumberToObject(doc, "nll", q.nll);
            cJSON_AddNumberToObject(doc, "perplexity", exp(q.nll));
            cJSON_AddNumberToObject(doc, "bits_per_byte", bpb);
            s = lt_json_write_file(doc, json);
            cJSON_Delete(doc);
        }
    }
    lt_ids_free(&ids);
    lt_mmap_close(&file);
    lt_engine_close(e);
    return lt_cli_report("eval", s);
}

// ---------------------------------------------------------------- tasks

// Flags into the problem spec, the run options and the engine options.
static lt_status parse_task_flags(const eval_flags *ef, lt_cli_gen_flags *f, eval_setup *su,
                                  lt_eval_opts *o, lt_engine_opts *eo) {
    const char *budgets = f->think_budget, *seed = f->seed;
    f->think_budget = f->seed = NULL; // lists and the problem seed, read here
    LT_TRY(lt_cli_gen_parse(f, eo, &o->gen));
    int64_t v;
    LT_TRY(lt_cli_parse_task_kinds(ef->tasks_flag, ef->tasks, &su->kinds));
    LT_TRY(lt_cli_parse_task_levels(ef->levels_flag, ef->levels, &su->level_lo, &su->level_hi));
    LT_TRY(lt_cli_parse_int("--n", ef->n, 1, 100000000, &su->n_per));
    LT_TRY(lt_cli_parse_int("--seed", seed, 0, INT64_MAX, &v));
    su->seed = (uint64_t)v;
    o->gen.sampling.seed = su->seed;
    LT_TRY(parse_mode(ef->mode, o->modes));
    LT_TRY(lt_cli_parse_int("--samples", ef->samples, 1, 1 << 20, &o->samples));
    if (o->samples > 1 && o->gen.sampling.temperature <= 0)
        return lt_error(LT_ERR_ARG,
                        "--samples %lld needs --temperature > 0 (greedy answers are all the same)",
                        (long long)o->samples);
    if (budgets) LT_TRY(parse_budgets(budgets, o->budgets, &o->n_budgets));
    if (budgets && !o->modes[LT_REASONING_ON])
        return lt_error(LT_ERR_ARG,
                        "--think-budget applies to reasoning-on answers: use --mode on or both");
    LT_TRY(lt_cli_parse_int("--parallel", ef->parallel, 1, 256, &v));
    eo->max_seqs = (int)v;
    if (!eo->max_context) eo->max_context = 1024;
    eo->context_at_most = true;
    o->tpl = lt_chat_template_get("llama3");
    return NULL;
}

static lt_status eval_tasks_run(const char *model, const eval_flags *ef, const eval_setup *su,
                                lt_eval_opts *o, lt_engine_opts *eo, lt_task_keys *keys) {
    lt_task_spec spec = {.kinds = su->kinds,
                         .level_min = su->level_lo,
                         .level_max = su->level_hi,
                         .n_per = su->n_per,
                         .seed = su->seed,
                         .unique = true,
                         .exclude = ef->exclude.n ? keys : NULL};
    lt_task_set set = {0};
    lt_eval_table t = {0}, totals = {0};
    lt_engine *e = NULL;
    lt_file dump = {.fd = -1};
    bool dumping = false;
    lt_status s = lt_tasks_set_generate(&set, &spec);
    if (!s) s = lt_cli_open_engine(model, eo, &e);
    if (!s && ef->dump) {
        s = lt_file_create(&dump, ef->dump);
        dumping = !s;
        o->on_output = dump_output;
        o->user = &dump;
    }
    if (!s) {
        fprintf(stderr, "eval: %zu problems%s, %d slots, context %lld\n", set.n,
                ef->exclude.n ? " (training keys excluded)" : "", lt_engine_max_seqs(e),
                (long long)lt_engine_max_context(e));
        o->progress = (lt_progress){lt_cli_progress, NULL};
        s = lt_eval_run(e, &set, o, &t);
    }
    if (dumping && s)
        lt_file_abort(&dump);
    else if (dumping)
        s = lt_file_commit(&dump);
    if (!s) {
        lt_eval_table_sort(&t);
        s = lt_eval_table_totals(&t, &totals);
    }
    if (!s) print_table(&t, &totals);
    if (!s && ef->json) s = write_json(ef->json, su, o, &t, &totals);
    lt_eval_table_free(&t);
    lt_eval_table_free(&totals);
    lt_engine_close(e);
    lt_tasks_set_free(&set);
    return s;
}

int cmd_eval(int argc, char **argv) {
    eval_flags ef = {.tasks_flag = "--tasks",
                     .levels_flag = "--levels",
                     .tasks = "all",
                     .levels = "all",
                     .n = "20",
                     .mode = "both",
                     .samples = "1",
                     .parallel = "8"};
    lt_cli_gen_flags f;
    lt_cli_gen_flags_init(&f);
    f.max_tokens = "512";
    f.seed = "2";
    const char *pos[1], *model = NULL, *tasks = NULL, *levels = NULL, *n = NULL, *mode = NULL,
                        *samples = NULL;
    const lt_cli_opt opts[] = {
        {"--tasks", .value = &tasks, .alias = "--task", .spelling = &ef.tasks_flag},
        {"--levels", .value = &levels, .alias = "--level", .spelling = &ef.levels_flag},
        {"--n", .value = &n},
        {"--mode", .value = &mode},
        {"--samples", .value = &samples},
        {"--parallel", .value = &ef.parallel},
        {"--json", .value = &ef.json},
        {"--dump", .value = &ef.dump},
        {"--text", .value = &ef.text},
        {"--exclude", .list = &ef.exclude},
        {"--model", .value = &model, .alias = "-m"},
        {.more = f.opts}};
    // -n would read as --n (problems per task and level): --max-tokens keeps --n-predict only.
    for (lt_cli_opt *o = f.opts; o->flag; o++)
        if (strcmp(o->flag, "--max-tokens") == 0) o->alias = "--n-predict";
    int n_pos = 0;
    int rc = lt_cli_parse("eval", argc, argv, opts, pos, 1, &n_pos, help);
    if (rc >= 0) return rc;
    const char *usage = NULL;
    if ((model && !lt_cli_insert(pos, &n_pos, 1, 0, model)) || n_pos != 1)
        usage = "give one MODEL (as an argument or with -m)";
    else if (f.stop.n || f.stop_id.n)
        usage = "--stop and --stop-id do not apply: answers end at the model's end tokens";
    else if (ef.text &&
             (tasks || levels || n || mode || samples || ef.exclude.n || ef.dump || f.think_budget))
        usage = "--text scores perplexity: task flags do not go with it";
    if (usage || ef.text) {
        lt_cli_opts_free(opts);
        if (usage) return lt_cli_usage_error("eval", "%s", usage);
        return eval_text(pos[0], ef.text, f.ctx, ef.json);
    }
    ef.tasks = tasks ? tasks : ef.tasks, ef.levels = levels ? levels : ef.levels,
    ef.n = n ? n : ef.n;
    ef.mode = mode ? mode : ef.mode, ef.samples = samples ? samples : ef.samples;
    eval_setup su = {.model = pos[0]};
    lt_eval_opts o = {0};
    lt_engine_opts eo;
    lt_status s = parse_task_flags(&ef, &f, &su, &o, &eo);
    if (s) {
        lt_cli_opts_free(opts);
        return lt_cli_report("eval", lt_error_prefix(s, "eval"));
    }
    lt_task_keys keys = {0};
    for (int i = 0; i < ef.exclude.n && !s; i++)
        s = lt_tasks_keys_read_jsonl(&keys, ef.exclude.items[i]);
    su.excluded_keys = keys.n;
    if (!s) s = eval_tasks_run(pos[0], &ef, &su, &o, &eo, &keys);
    lt_tasks_keys_free(&keys);
    lt_cli_opts_free(opts);
    return lt_cli_report("eval", s);
}
