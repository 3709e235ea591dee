// cmd_tasks.c: `lathe tasks` — generate the verifiable reasoning tasks as
// paired chat JSONL (reasoning on / off), print samples, and score model
// outputs with the task verifier.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/json.h"
#include "lathe/tasks.h"

static void gen_help(void) {
    printf(
        "usage: lathe tasks gen --tasks T --n COUNT [--levels L] [--seed S]\n"
        "                      --out-on ON.jsonl --out-off OFF.jsonl [--eval] [--exclude F]...\n\n"
        "Generates reasoning problems and writes each one as a chat example in OpenAI\n"
        "'messages' JSONL: to --out-on with system 'detailed thinking on' and the working in a\n"
        "<think> section, to --out-off with 'detailed thinking off' and the answer only.\n"
        "Both files hold the same problems in the same order (give one or both).\n\n"
        "  --tasks T       add, sub, mul, word, sort, bool, a comma list of them, or all\n"
        "                  (--task is accepted too)\n"
        "  --levels L      1..4, a range such as 2-4, or all (default; --level too)\n"
        "  --n COUNT       problems per task and level\n"
        "  --seed S        the seed (default 1); the same flags give the same files\n"
        "  --eval          an evaluation set: no problem twice\n"
        "  --exclude F     leave out problems whose key is in F (a JSONL this command wrote,\n"
        "                  e.g. the training set); repeatable\n"
        "  --template T    chat template for the think tags and toggle lines (default llama3)\n");
}

static void sample_help(void) {
    printf("usage: lathe tasks sample [--tasks T] [--levels L] [--seed S] [--n COUNT]\n\n"
           "Prints problems with their reasoning-on and reasoning-off answers (defaults:\n"
           "all tasks, level 1, seed 1, one per task). --tasks and --levels are written as\n"
           "for lathe tasks gen (--task and --level are accepted too).\n");
}

static void verify_help(void) {
    printf("usage: lathe tasks verify OUTPUTS.jsonl [--mode on|off]\n\n"
           "Scores model outputs. Each line is an object with \"answer\" (the expected\n"
           "answer, as in the generated files), \"output\" (the model's assistant text) and\n"
           "optionally \"mode\": \"on\"|\"off\" (else --mode). Prints the counts of correct,\n"
           "wrong and unparseable answers and the format-compliance rate.\n");
}

static lt_status template_named(const char *name, const lt_chat_template **tpl) {
    *tpl = lt_chat_template_get(name);
    if (!*tpl)
        return lt_error(LT_ERR_ARG, "--template: unknown chat template '%s' (use llama3)", name);
    return NULL;
}

static int gen_run(const lt_task_spec *spec, const lt_chat_template *tpl, const char *on,
                   const char *off) {
    lt_task_set set;
    lt_status st = lt_tasks_set_generate(&set, spec);
    if (st) return lt_cli_report("tasks gen", st);
    if (on) st = lt_tasks_write_jsonl(&set, tpl, LT_REASONING_ON, on);
    if (!st && off) st = lt_tasks_write_jsonl(&set, tpl, LT_REASONING_OFF, off);
    if (!st) {
        printf(
            "wrote %zu problems (%lld per task and level, levels %d-%d, seed %llu%s) to %s%s%s\n",
            set.n, (long long)spec->n_per, spec->level_min, spec->level_max,
            (unsigned long long)spec->seed, spec->unique ? ", distinct" : "", on ? on : "",
            on && off ? " and " : "", off ? off : "");
        if (spec->exclude) printf("excluded %zu known problem keys\n", spec->exclude->n);
    }
    lt_tasks_set_free(&set);
    return lt_cli_report("tasks gen", st);
}

// Checks the flags of `tasks gen` and runs it.
static int gen_checked(const char *const flags[2], const char *task, const char *level,
                       const char *n, const char *seed, const char *on, const char *off,
                       const char *tpl_name, bool eval, const lt_cli_list *excludes) {
    if (!task)
        return lt_cli_usage_error("tasks gen",
                                  "--tasks is required (add, sub, mul, word, sort, bool or all)");
    if (!n)
        return lt_cli_usage_error("tasks gen",
                                  "--n COUNT is required (problems per task and level)");
    if (!on && !off) return lt_cli_usage_error("tasks gen", "give --out-on and/or --out-off");

    lt_task_spec spec = {.unique = eval};
    int64_t count, seed_value;
    const lt_chat_template *tpl;
    lt_status st = lt_cli_parse_task_kinds(flags[0], task, &spec.kinds);
    if (!st) st = lt_cli_parse_task_levels(flags[1], level, &spec.level_min, &spec.level_max);
    if (!st) st = lt_cli_parse_int("--n", n, 1, 100000000, &count);
    if (!st) st = lt_cli_parse_int("--seed", seed, 0, INT64_MAX, &seed_value);
    if (!st) st = template_named(tpl_name, &tpl);
    if (st) return lt_cli_report("tasks gen", lt_error_prefix(st, "tasks gen"));
    spec.n_per = count;
    spec.seed = (uint64_t)seed_value;

    lt_task_keys keys = {0};
    for (int i = 0; i < excludes->n && !st; i++)
        st = lt_tasks_keys_read_jsonl(&keys, excludes->items[i]);
    if (st) {
        lt_tasks_keys_free(&keys);
        return lt_cli_report("tasks gen", st);
    }
    if (excludes->n) spec.exclude = &keys;
    int rc = gen_run(&spec, tpl, on, off);
    lt_tasks_keys_free(&keys);
    return rc;
}

static int tasks_gen(int argc, char **argv) {
    const char *task = NULL, *level = "all", *n = NULL, *seed = "1", *on = NULL, *off = NULL,
               *tpl_name = "llama3";
    bool eval = false;
    lt_cli_list excludes = {0};
    const char *flags[2] = {"--tasks", "--levels"}; // as typed, for the messages
    const lt_cli_opt opts[] = {
        {"--tasks", .value = &task, .alias = "--task", .spelling = &flags[0]},
        {"--levels", .value = &level, .alias = "--level", .spelling = &flags[1]},
        {"--n", .value = &n},
        {"--seed", .value = &seed},
        {"--out-on", .value = &on},
        {"--out-off", .value = &off},
        {"--template", .value = &tpl_name},
        {"--eval", .present = &eval},
        {"--exclude", .list = &excludes},
        {0}};
    int rc = lt_cli_parse("tasks gen", argc, argv, opts, NULL, 0, NULL, gen_help);
    if (rc >= 0) return rc;
    rc = gen_checked(flags, task, level, n, seed, on, off, tpl_name, eval, &excludes);
    lt_cli_list_free(&excludes);
    return rc;
}

static int tasks_sample(int argc, char **argv) {
    const char *task = "all", *level = "1", *seed = "1", *n = "1";
    const char *flags[2] = {"--tasks", "--levels"}; // as typed, for the messages
    const lt_cli_opt opts[] = {
        {"--tasks", .value = &task, .alias = "--task", .spelling = &flags[0]},
        {"--levels", .value = &level, .alias = "--level", .spelling = &flags[1]},
        {"--seed", .value = &seed},
        {"--n", .value = &n},
        {0}};
    int rc = lt_cli_parse("tasks sample", argc, argv, opts, NULL, 0, NULL, sample_help);
    if (rc >= 0) return rc;
    unsigned kinds;
    int lo, hi;
    int64_t seed_value, count;
    lt_status st = lt_cli_parse_task_kinds(flags[0], task, &kinds);
    if (!st) st = lt_cli_parse_task_levels(flags[1], level, &lo, &hi);
    if (!st) st = lt_cli_parse_int("--seed", seed, 0, INT64_MAX, &seed_value);
    if (!st) st = lt_cli_parse_int("--n", n, 1, 1000, &count);
    if (st) return lt_cli_report("tasks sample", lt_error_prefix(st, "tasks sample"));
    const lt_chat_template *tpl = lt_chat_template_get("llama3");
    lt_rng rng;
    lt_rng_seed(&rng, (uint64_t)seed_value);
    for (int k = 0; k < LT_TASK_COUNT && !st; k++) {
        for (int lv = lo; (kinds & (1u << k)) && lv <= hi && !st; lv++) {
            for (int64_t i = 0; i < count && !st; i++) {
                lt_task_problem p;
                lt_bytes on = {0}, off = {0};
                st = lt_tasks_generate(&p, (lt_task_kind)k, lv, &rng);
                if (st) break;
                st = lt_tasks_assistant_text(&p, tpl, LT_REASONING_ON, &on);
                if (!st) st = lt_tasks_assistant_text(&p, tpl, LT_REASONING_OFF, &off);
                if (!st)
                    printf("=== %s level %d (key \"%s\")\nuser: %s\n--- on:\n%s\n--- off:\n%s\n\n",
                           lt_tasks_kind_name(p.kind), p.level, p.key, p.prompt, on.data, off.data);
                lt_bytes_free(&on);
                lt_bytes_free(&off);
                lt_tasks_problem_free(&p);
            }
        }
    }
    return lt_cli_report("tasks sample", st);
}

// Scores one line of a verify file into counts[verdict] and *format_ok.
static lt_status verify_line(const char *line, size_t len, const char *source,
                             const char *default_mode, const lt_chat_template *tpl,
                             int64_t counts[3], int64_t *format_ok) {
    cJSON *doc = NULL;
    LT_TRY(lt_json_parse(&doc, line, len, source));
    const char *answer = NULL, *output = NULL, *mode = default_mode;
    lt_status st =
        cJSON_IsObject(doc) ? NULL : lt_error(LT_ERR_FORMAT, "%s: not a JSON object", source);
    if (!st) st = lt_json_get_string(doc, "answer", &answer, source);
    if (!st) st = lt_json_get_string(doc, "output", &output, source);
    if (!st) st = lt_json_get_string_opt(doc, "mode", &mode, source);
    if (!st && !mode)
        st = lt_error(LT_ERR_FORMAT, "%s: no \"mode\" field and no --mode given", source);
    if (!st && strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
        st = lt_error(LT_ERR_FORMAT, "%s: mode '%s' is not on or off", source, mode);
    if (!st) {
        lt_task_score s = lt_tasks_verify(
            answer, output, strcmp(mode, "on") == 0 ? LT_REASONING_ON : LT_REASONING_OFF, tpl);
        counts[s.verdict]++;
        *format_ok += s.format_ok;
    }
    cJSON_Delete(doc);
    return st;
}

static int tasks_verify(int argc, char **argv) {
    const char *mode = NULL, *path = NULL;
    const lt_cli_opt opts[] = {{"--mode", .value = &mode}, {0}};
    int n_pos = 0;
    int rc = lt_cli_parse("tasks verify", argc, argv, opts, &path, 1, &n_pos, verify_help);
    if (rc >= 0) return rc;
    if (!path) return lt_cli_usage_error("tasks verify", "give the OUTPUTS.jsonl file to score");
    if (mode && strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0)
        return lt_cli_usage_error("tasks verify", "--mode: '%s' is not on or off", mode);
    char *text = NULL;
    size_t size = 0;
    lt_status st = lt_file_read_all(path, &text, &size, (size_t)1 << 32);
    int64_t counts[3] = {0}, format_ok = 0, line_no = 0;
    const lt_chat_template *tpl = lt_chat_template_get("llama3");
    for (size_t at = 0; !st && at < size;) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - text) : size;
        char source[4200];
        snprintf(source, sizeof source, "%s: line %lld", path, (long long)++line_no);
        if (strspn(text + at, " \t\r") < end - at)
            st = verify_line(text + at, end - at, source, mode, tpl, counts, &format_ok);
        at = end + 1;
    }
    lt_free(text);
    if (st) return lt_cli_report("tasks verify", st);
    int64_t total = counts[0] + counts[1] + counts[2];
    double pct = total ? 100.0 / (double)total : 0;
    printf("%lld outputs: correct %lld (%.1f%%), wrong %lld, unparseable %lld; format ok %lld "
           "(%.1f%%)\n",
           (long long)total, (long long)counts[LT_TASK_CORRECT],
           pct * (double)counts[LT_TASK_CORRECT], (long long)counts[LT_TASK_WRONG],
           (long long)counts[LT_TASK_UNPARSEABLE], (long long)format_ok, pct * (double)format_ok);
    return LT_EXIT_OK;
}

int cmd_tasks(int argc, char **argv) {
    static const lt_cli_command commands[] = {
        {"gen", tasks_gen, "write paired reasoning-on/off chat JSONL of generated problems"},
        {"sample", tasks_sample, "print a few problems with both answers"},
        {"verify", tasks_verify, "score model outputs: correct / wrong / unparseable, format"},
    };
    return lt_cli_dispatch("tasks", commands, sizeof commands / sizeof commands[0], argc, argv);
}
