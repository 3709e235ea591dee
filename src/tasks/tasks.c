// tasks.c: the task registry, problem sets (seeded, shuffled, deduplicated by
// key) and the chat JSONL writer that turns each problem into a reasoning-on
// or reasoning-off training example.
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "tasks/tasks_internal.h"

static const char *kind_names[LT_TASK_COUNT] = {"add", "sub", "mul", "word", "sort", "bool"};

const char *lt_tasks_kind_name(lt_task_kind kind) {
    return (unsigned)kind < LT_TASK_COUNT ? kind_names[kind] : "?";
}

lt_status lt_tasks_kind_parse(const char *name, lt_task_kind *out) {
    for (int k = 0; k < LT_TASK_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (lt_task_kind)k;
            return NULL;
        }
    return lt_error(LT_ERR_ARG, "unknown task '%s' (use add, sub, mul, word, sort or bool)",
                    name ? name : "");
}

lt_status lt_tasks_printf(lt_bytes *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return lt_error(LT_ERR_INTERNAL, "tasks: bad format '%s'", fmt);
    if ((size_t)n < sizeof small) return lt_bytes_append(b, small, (size_t)n);
    char *big;
    LT_TRY(lt_alloc((void **)&big, (size_t)n + 1, "task text"));
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lt_status st = lt_bytes_append(b, big, (size_t)n);
    lt_free(big);
    return st;
}

int64_t lt_tasks_draw(lt_rng *rng, int64_t lo, int64_t hi) {
    return lo + (int64_t)lt_rng_below(rng, (uint32_t)(hi - lo + 1));
}

static lt_status take_text(char **out, lt_bytes *b) {
    *out = lt_strdup(b->data ? b->data : "");
    if (!*out) return lt_error_nomem("a task's problem text", (b->data ? b->n : 0) + 1);
    return NULL;
}

lt_status lt_tasks_finish(lt_task_problem *p, lt_bytes *prompt, lt_bytes *answer,
                          lt_bytes *thinking, lt_bytes *key) {
    lt_status st = take_text(&p->prompt, prompt);
    if (!st) st = take_text(&p->answer, answer);
    if (!st) st = take_text(&p->thinking, thinking);
    if (!st) st = take_text(&p->key, key);
    return st;
}

lt_status lt_tasks_generate(lt_task_problem *p, lt_task_kind kind, int level, lt_rng *rng) {
    memset(p, 0, sizeof *p);
    if (level < LT_TASK_LEVEL_MIN || level > LT_TASK_LEVEL_MAX)
        return lt_error(LT_ERR_ARG, "task level %d is outside [%d, %d]", level, LT_TASK_LEVEL_MIN,
                        LT_TASK_LEVEL_MAX);
    static lt_status (*const gens[LT_TASK_COUNT])(lt_task_problem *, int, lt_rng *) = {
        lt_tasks_gen_add,  lt_tasks_gen_sub,  lt_tasks_gen_mul,
        lt_tasks_gen_word, lt_tasks_gen_sort, lt_tasks_gen_bool};
    if ((unsigned)kind >= LT_TASK_COUNT)
        return lt_error(LT_ERR_ARG, "unknown task kind %d", (int)kind);
    p->kind = kind;
    p->level = level;
    lt_status st = gens[kind](p, level, rng);
    if (st) lt_tasks_problem_free(p);
    return st;
}

void lt_tasks_problem_free(lt_task_problem *p) {
    if (!p) return;
    free(p->prompt);
    free(p->answer);
    free(p->thinking);
    free(p->key);
    p->prompt = p->answer = p->thinking = p->key = NULL;
}

lt_status lt_tasks_assistant_text(const lt_task_problem *p, const lt_chat_template *tpl,
                                  lt_reasoning mode, lt_bytes *out) {
    if (mode == LT_REASONING_ON)
        LT_TRY(lt_tasks_printf(out, "%s%s%s", tpl->think_open, p->thinking, tpl->think_close));
    return lt_tasks_printf(out, "Answer: %s", p->answer);
}

// ---------------------------------------------------------------- key sets

static uint64_t hash_key(const char *s) {
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static size_t find_slot(char **slots, size_t cap, const char *key) {
    size_t i = (size_t)hash_key(key) & (cap - 1);
    while (slots[i] && strcmp(slots[i], key) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static lt_status keys_grow(lt_task_keys *keys) {
    size_t cap = keys->cap ? keys->cap * 2 : 64;
    char **slots;
    LT_TRY(lt_calloc((void **)&slots, cap, sizeof *slots, "task key set"));
    for (size_t i = 0; i < keys->cap; i++)
        if (keys->slots[i]) slots[find_slot(slots, cap, keys->slots[i])] = keys->slots[i];
    lt_free(keys->slots);
    keys->slots = slots;
    keys->cap = cap;
    return NULL;
}

lt_status lt_tasks_keys_add(lt_task_keys *keys, const char *key) {
    if (lt_tasks_keys_has(keys, key)) return NULL;
    if ((keys->n + 1) * 2 > keys->cap) LT_TRY(keys_grow(keys));
    char *copy = lt_strdup(key);
    if (!copy) return lt_error_nomem("a key of the task key set", strlen(key) + 1);
    keys->slots[find_slot(keys->slots, keys->cap, key)] = copy;
    keys->n++;
    return NULL;
}

bool lt_tasks_keys_has(const lt_task_keys *keys, const char *key) {
    return keys && keys->cap && keys->slots[find_slot(keys->slots, keys->cap, key)] != NULL;
}

void lt_tasks_keys_free(lt_task_keys *keys) {
    for (size_t i = 0; i < keys->cap; i++) free(keys->slots[i]);
    lt_free(keys->slots);
    memset(keys, 0, sizeof *keys);
}

static lt_status read_key_line(lt_task_keys *keys, const char *line, size_t len, const char *path,
                               int64_t line_no) {
    char source[4200];
    snprintf(source, sizeof source, "%s: line %lld", path, (long long)line_no);
    cJSON *doc = NULL;
    LT_TRY(lt_json_parse(&doc, line, len, source));
    const char *key = NULL;
    lt_status st = cJSON_IsObject(doc) ? lt_json_get_string(doc, "key", &key, source)
                                       : lt_error(LT_ERR_FORMAT, "%s: not a JSON object", source);
    if (!st) st = lt_tasks_keys_add(keys, key);
    cJSON_Delete(doc);
    return st;
}

lt_status lt_tasks_keys_read_jsonl(lt_task_keys *keys, const char *path) {
    char *text = NULL;
    size_t size = 0;
    LT_TRY(lt_file_read_all(path, &text, &size, (size_t)1 << 32));
    lt_status st = NULL;
    int64_t line_no = 0;
    for (size_t at = 0; at < size && !st;) {
        const char *nl = memchr(text + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - text) : size;
        line_no++;
        size_t len = end - at;
        bool blank = true;
        for (size_t i = at; i < end && blank; i++)
            blank = text[i] == ' ' || text[i] == '\r' || text[i] == '\t';
        if (!blank) st = read_key_line(keys, text + at, len, path, line_no);
        at = end + 1;
    }
    lt_free(text);
    return st;
}

// ---------------------------------------------------------------- problem sets

void lt_tasks_set_free(lt_task_set *set) {
    for (size_t i = 0; set->items && i < set->n; i++) lt_tasks_problem_free(&set->items[i]);
    lt_free(set->items);
    set->items = NULL;
    set->n = 0;
}

// The stream of one (task, level): a fixed function of the seed.
static void seed_stream(lt_rng *rng, uint64_t seed, int kind, int level) {
    lt_rng_seed(rng, seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(kind * 16 + level + 1)));
}

// Fills items[0..n_per) for one (task, level), redrawing rejected problems.
static lt_status generate_group(lt_task_problem *items, const lt_task_spec *spec, int kind,
                                int level, lt_task_keys *seen) {
    lt_rng rng;
    seed_stream(&rng, spec->seed, kind, level);
    int64_t made = 0, draws = 0, max_draws = 50 * spec->n_per + 1000;
    while (made < spec->n_per) {
        if (draws++ == max_draws)
            return lt_error(LT_ERR_RANGE,
                            "task %s level %d: only %lld fresh problems in %lld draws (asked for "
                            "%lld); ask for fewer or use a higher level",
                            kind_names[kind], level, (long long)made, (long long)max_draws,
                            (long long)spec->n_per);
        lt_task_problem p;
        LT_TRY(lt_tasks_generate(&p, (lt_task_kind)kind, level, &rng));
        bool reject = lt_tasks_keys_has(spec->exclude, p.key) ||
                      (spec->unique && lt_tasks_keys_has(seen, p.key));
        lt_status st = !reject && spec->unique ? lt_tasks_keys_add(seen, p.key) : NULL;
        if (reject || st) {
            lt_tasks_problem_free(&p);
            LT_TRY(st);
            continue;
        }
        items[made++] = p;
    }
    return NULL;
}

static lt_status check_spec(const lt_task_spec *spec) {
    if ((spec->kinds & ((1u << LT_TASK_COUNT) - 1)) == 0 || spec->kinds >> LT_TASK_COUNT)
        return lt_error(LT_ERR_ARG, "task set: no tasks selected (kinds 0x%x)", spec->kinds);
    if (spec->level_min < LT_TASK_LEVEL_MIN || spec->level_max > LT_TASK_LEVEL_MAX ||
        spec->level_min > spec->level_max)
        return lt_error(LT_ERR_ARG, "task set: levels %d..%d are not within %d..%d",
                        spec->level_min, spec->level_max, LT_TASK_LEVEL_MIN, LT_TASK_LEVEL_MAX);
    if (spec->n_per < 1 || spec->n_per > 100000000)
        return lt_error(LT_ERR_ARG,
                        "task set: %lld problems per task and level is outside "
                        "[1, 100000000]",
                        (long long)spec->n_per);
    return NULL;
}

lt_status lt_tasks_set_generate(lt_task_set *set, const lt_task_spec *spec) {
    memset(set, 0, sizeof *set);
    LT_TRY(check_spec(spec));
    int groups = 0;
    for (int k = 0; k < LT_TASK_COUNT; k++)
        if (spec->kinds & (1u << k)) groups += spec->level_max - spec->level_min + 1;
    size_t total = (size_t)groups * (size_t)spec->n_per;
    LT_TRY(lt_calloc((void **)&set->items, total, sizeof *set->items, "task set"));
    lt_task_keys seen = {0};
    lt_status st = NULL;
    for (int k = 0; k < LT_TASK_COUNT && !st; k++) {
        if (!(spec->kinds & (1u << k))) continue;
        for (int level = spec->level_min; level <= spec->level_max && !st; level++) {
            st = generate_group(set->items + set->n, spec, k, level, &seen);
            if (!st) set->n += (size_t)spec->n_per;
        }
    }
    lt_tasks_keys_free(&seen);
    if (st) {
        lt_tasks_set_free(set);
        return st;
    }
    lt_rng rng; // Fisher-Yates, so a training file mixes tasks and levels
    lt_rng_seed(&rng, spec->seed ^ 0x5851f42d4c957f2dull);
    for (size_t i = set->n; i > 1; i--) {
        size_t j = (size_t)(lt_rng_uniform(&rng) * (double)i);
        lt_task_problem t = set->items[i - 1];
        set->items[i - 1] = set->items[j];
        set->items[j] = t;
    }
    return NULL;
}

// ---------------------------------------------------------------- JSONL

static lt_status example_json(const lt_task_problem *p, const lt_chat_template *tpl,
                              lt_reasoning mode, lt_bytes *line) {
    lt_bytes assistant = {0};
    lt_status st = lt_tasks_assistant_text(p, tpl, mode, &assistant);
    cJSON *doc = cJSON_CreateObject(), *messages = cJSON_AddArrayToObject(doc, "messages");
    const char *roles[3] = {"system", "user", "assistant"};
    const char *contents[3] = {mode == LT_REASONING_ON ? tpl->toggle_on : tpl->toggle_off,
                               p->prompt, assistant.data};
    for (int i = 0; i < 3 && !st && messages; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddItemToArray(messages, m);
        if (!cJSON_AddStringToObject(m, "role", roles[i]) ||
            !cJSON_AddStringToObject(m, "content", contents[i]))
            st = lt_error_nomem("a task JSONL line's messages", 0);
    }
    if (!st && (!cJSON_AddStringToObject(doc, "task", lt_tasks_kind_name(p->kind)) ||
                !cJSON_AddNumberToObject(doc, "level", p->level) ||
                !cJSON_AddStringToObject(doc, "answer", p->answer) ||
                !cJSON_AddStringToObject(doc, "key", p->key)))
        st = lt_error_nomem("a task JSONL line's fields", 0);
    char *text = st ? NULL : cJSON_PrintUnformatted(doc);
    if (!st && !text) st = lt_error_nomem("the text of a task JSONL line", 0);
    if (!st) st = lt_tasks_printf(line, "%s\n", text);
    cJSON_free(text);
    cJSON_Delete(doc);
    lt_bytes_free(&assistant);
    return st;
}

lt_status lt_tasks_write_jsonl(const lt_task_set *set, const lt_chat_template *tpl,
                               lt_reasoning mode, const char *path) {
    lt_file f;
    LT_TRY(lt_file_create(&f, path));
    lt_bytes line = {0};
    lt_status st = NULL;
    for (size_t i = 0; i < set->n && !st; i++) {
        line.n = 0;
        st = example_json(&set->items[i], tpl, mode, &line);
        if (!st) st = lt_file_write(&f, line.data, line.n);
    }
    lt_bytes_free(&line);
    if (st) {
        lt_file_abort(&f);
        return lt_error_prefix(st, "%s", path);
    }
    return lt_file_commit(&f);
}
