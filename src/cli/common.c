// common.c: flag parsing, error reporting and progress rendering shared by
// every subcommand.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

// prog: "tokenizer" for `lathe tokenizer COMMAND`, NULL for `lathe COMMAND`.
static void group_usage(FILE *f, const char *prog, const lt_cli_command *commands, size_t n) {
    const char *space = prog ? " " : "";
    if (!prog) prog = "";
    fprintf(f,
            "usage: lathe %s%sCOMMAND [ARGS...]   (lathe %s%sCOMMAND --help for details)\n\n"
            "commands:\n",
            prog, space, prog, space);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int lt_cli_dispatch(const char *prog, const lt_cli_command *commands, size_t n, int argc,
                    char **argv) {
    if (argc < 2) {
        group_usage(stderr, prog, commands, n);
        return LT_EXIT_USAGE;
    }
    if (lt_cli_is_help(argv[1])) {
        group_usage(stdout, prog, commands, n);
        return LT_EXIT_OK;
    }
    lt_cli_suggest s;
    lt_cli_suggest_init(&s, argv[1]);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
        lt_cli_suggest_add(&s, commands[i].name);
    }
    fprintf(stderr, "lathe%s%s: unknown command '%s'", prog ? " " : "", prog ? prog : "", argv[1]);
    if (s.best) fprintf(stderr, " (did you mean %s?)", s.best);
    fprintf(stderr, "\n\n");
    group_usage(stderr, prog, commands, n);
    return LT_EXIT_USAGE;
}

bool lt_cli_insert(const char **positional, int *n, int max, int at, const char *value) {
    if (*n == max) return false;
    memmove(positional + at + 1, positional + at, (size_t)(*n - at) * sizeof *positional);
    positional[at] = value;
    (*n)++;
    return true;
}

int lt_cli_report(const char *cmd, lt_status st) {
    if (!st) return LT_EXIT_OK;
    fprintf(stderr, "lathe: %s\n", lt_status_message(st));
    bool usage = lt_status_code(st) == LT_ERR_ARG;
    if (usage) fprintf(stderr, "(try 'lathe %s --help')\n", cmd);
    lt_status_free(st);
    return usage ? LT_EXIT_USAGE : LT_EXIT_FAIL;
}

int lt_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lathe %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try 'lathe %s --help')\n", cmd);
    return LT_EXIT_USAGE;
}

bool lt_cli_is_help(const char *arg) {
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

// ---------------------------------------------------------------- did you mean

// Optimal string alignment distance (edits: insert, delete, replace, swap two
// neighbours), or SIZE_MAX for words longer than the rows kept here.
static size_t edit_distance(const char *a, const char *b) {
    enum { MAX = 64 };
    size_t na = strlen(a), nb = strlen(b);
    if (na >= MAX || nb >= MAX) return SIZE_MAX;
    size_t rows[3][MAX + 1];
    size_t *before = rows[0], *prev = rows[1], *cur = rows[2]; // rows i-2, i-1, i
    for (size_t j = 0; j <= nb; j++) prev[j] = j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t d = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            bool swapped = i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1];
            if (swapped && before[j - 2] + 1 < d) d = before[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = before;
        before = prev, prev = cur, cur = t;
    }
    return prev[nb];
}

void lt_cli_suggest_init(lt_cli_suggest *s, const char *typed) {
    s->typed = typed;
    s->best = NULL;
    s->distance = SIZE_MAX;
}

void lt_cli_suggest_add(lt_cli_suggest *s, const char *candidate) {
    size_t n = strlen(s->typed), dashes = strspn(s->typed, "-");
    if (n - dashes < 2) return; // "-x" is no typo of "-t"
    size_t d = edit_distance(s->typed, candidate);
    // A prefix of three or more letters ("--max-tok") is as good as one typo.
    if (n >= dashes + 3 && strncmp(candidate, s->typed, n) == 0 && d > 1) d = 1;
    size_t allowed = n - dashes <= 3 ? 1 : 2;
    if (d <= allowed && d < s->distance) {
        s->best = candidate;
        s->distance = d;
    }
}

// ---------------------------------------------------------------- the flag parser

void lt_cli_list_free(lt_cli_list *l) {
    lt_free(l->items);
    l->items = NULL;
    l->n = 0;
}

void lt_cli_opts_free(const lt_cli_opt *opts) {
    for (const lt_cli_opt *o = opts; o;) {
        if (!o->flag) {
            o = o->more;
            continue;
        }
        if (o->list) lt_cli_list_free(o->list);
        o++;
    }
}

// Room for every value a list option could take: at most one per argument.
static lt_status alloc_lists(const lt_cli_opt *opts, int argc) {
    for (const lt_cli_opt *o = opts; o;) {
        if (!o->flag) {
            o = o->more;
            continue;
        }
        if (o->list) {
            o->list->n = 0;
            LT_TRY(
                lt_alloc((void **)&o->list->items, (size_t)(argc + 1) * sizeof(char *), o->flag));
            o->list->items[0] = NULL;
        }
        o++;
    }
    return NULL;
}

static bool looks_like_flag(const char *arg) { return arg[0] == '-' && arg[1] != 0; }

// True when `name` (n bytes) is one of the space-separated words of `words`.
static bool among(const char *words, const char *name, size_t n) {
    for (const char *w = words; w && *w;) {
        size_t len = strcspn(w, " ");
        if (len == n && strncmp(w, name, n) == 0) return true;
        w += len;
        w += strspn(w, " ");
    }
    return false;
}

static const lt_cli_opt *find_opt(const lt_cli_opt *opts, const char *name, size_t n) {
    for (const lt_cli_opt *o = opts; o;) {
        if (!o->flag) {
            o = o->more;
            continue;
        }
        if ((strlen(o->flag) == n && strncmp(o->flag, name, n) == 0) || among(o->alias, name, n))
            return o;
        o++;
    }
    return NULL;
}

static int unknown_flag(const char *cmd, const lt_cli_opt *opts, const char *arg, size_t n) {
    char typed[64];
    snprintf(typed, sizeof typed, "%.*s", (int)(n < sizeof typed ? n : sizeof typed - 1), arg);
    lt_cli_suggest s;
    lt_cli_suggest_init(&s, typed);
    lt_cli_suggest_add(&s, "--help");
    char word[64];
    for (const lt_cli_opt *o = opts; o;) {
        if (!o->flag) {
            o = o->more;
            continue;
        }
        lt_cli_suggest_add(&s, o->flag);
        for (const char *w = o->alias; w && *w;) {
            size_t len = strcspn(w, " ");
            if (len < sizeof word) {
                memcpy(word, w, len);
                word[len] = 0;
                lt_cli_suggest_add(&s, word);
                if (s.best == word) s.best = o->flag; // suggest the main spelling
            }
            w += len;
            w += strspn(w, " ");
        }
        o++;
    }
    if (s.best)
        return lt_cli_usage_error(cmd, "unknown option '%s' (did you mean %s?)", arg, s.best);
    return lt_cli_usage_error(cmd, "unknown option '%s'", arg);
}

// One flag at argv[*i] (its option o, the name n bytes long): stores its value(s).
// Returns -1, or the exit code of a usage error (printed).
static int take_flag(const char *cmd, int argc, char **argv, int *i, const lt_cli_opt *o,
                     size_t n) {
    char *arg = argv[*i];
    const char *inline_value = arg[n] == '=' ? arg + n + 1 : NULL;
    if (o->spelling) {
        arg[n] = 0; // "--flag=V": the name ends here now (argv is the program's to change)
        *o->spelling = arg;
    }
    if (o->present) {
        if (inline_value) return lt_cli_usage_error(cmd, "%.*s takes no value", (int)n, arg);
        *o->present = true;
        return -1;
    }
    if (o->many) {
        int before = o->list->n;
        if (inline_value) o->list->items[o->list->n++] = inline_value;
        while (*i + 1 < argc && !looks_like_flag(argv[*i + 1]))
            o->list->items[o->list->n++] = argv[++*i];
        o->list->items[o->list->n] = NULL;
        if (o->list->n == before)
            return lt_cli_usage_error(cmd, "%.*s needs one or more values", (int)n, arg);
        return -1;
    }
    const char *value = inline_value ? inline_value : *i + 1 < argc ? argv[++*i] : NULL;
    if (!value) return lt_cli_usage_error(cmd, "%.*s needs a value", (int)n, arg);
    if (o->list) {
        o->list->items[o->list->n++] = value;
        o->list->items[o->list->n] = NULL;
    } else if (o->value) {
        *o->value = value;
    }
    return -1;
}

int lt_cli_parse(const char *cmd, int argc, char **argv, const lt_cli_opt *opts,
                 const char **positional, int max_positional, int *n_positional,
                 void (*help)(void)) {
    lt_status st = alloc_lists(opts, argc);
    if (st) {
        lt_cli_opts_free(opts);
        return lt_cli_report(cmd, st);
    }
    int n_pos = 0, rc = -1;
    bool only_positional = false;
    for (int i = 1; i < argc && rc < 0; i++) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = true;
        } else if (!only_positional && lt_cli_is_help(arg)) {
            help();
            rc = LT_EXIT_OK;
        } else if (!only_positional && looks_like_flag(arg)) {
            size_t n = strcspn(arg, "=");
            const lt_cli_opt *o = find_opt(opts, arg, n);
            rc = o ? take_flag(cmd, argc, argv, &i, o, n) : unknown_flag(cmd, opts, arg, n);
        } else if (n_pos == max_positional) {
            rc = lt_cli_usage_error(cmd, "unexpected argument '%s'", arg);
        } else {
            positional[n_pos++] = arg;
        }
    }
    if (rc >= 0) {
        lt_cli_opts_free(opts);
        return rc;
    }
    if (n_positional) *n_positional = n_pos;
    return -1;
}

lt_status lt_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max,
                           int64_t *out) {
    if (!text) return lt_error(LT_ERR_ARG, "%s needs a value", flag);
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end != 0 || errno == ERANGE)
        return lt_error(LT_ERR_ARG, "%s: '%s' is not an integer", flag, text);
    if (v < min || v > max)
        return lt_error(LT_ERR_ARG, "%s: %lld is outside [%lld, %lld]", flag, v, (long long)min,
                        (long long)max);
    *out = v;
    return NULL;
}

lt_status lt_cli_parse_double(const char *flag, const char *text, double *out) {
    if (!text) return lt_error(LT_ERR_ARG, "%s needs a value", flag);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != 0 || errno == ERANGE || !isfinite(v))
        return lt_error(LT_ERR_ARG, "%s: '%s' is not a number", flag, text);
    *out = v;
    return NULL;
}

lt_status lt_cli_parse_ids(const char *flag, const char *text, int32_t **ids, int64_t *n) {
    *ids = NULL;
    *n = 0;
    if (!text || !*text)
        return lt_error(LT_ERR_ARG, "%s needs a comma-separated list of ids", flag);
    int64_t count = 1;
    for (const char *c = text; *c; c++) count += *c == ',';
    int32_t *out;
    LT_TRY(lt_alloc((void **)&out, (size_t)count * sizeof *out, flag));
    const char *p = text;
    for (int64_t k = 0; k < count; k++) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || (*end != ',' && *end != 0) || errno == ERANGE || v < INT32_MIN ||
            v > INT32_MAX) {
            lt_free(out);
            return lt_error(LT_ERR_ARG, "%s: item %lld of '%s' is not an integer", flag,
                            (long long)k + 1, text);
        }
        out[k] = (int32_t)v;
        p = end + 1;
    }
    *ids = out;
    *n = count;
    return NULL;
}

void lt_cli_progress(void *user, const char *what, double done, double total, const char *info) {
    (void)user;
    bool tty = isatty(STDERR_FILENO);
    double frac = total > 0 ? done / total : 0;
    if (frac > 1) frac = 1;
    if (tty) {
        int width = 30, filled = (int)(frac * width);
        fprintf(stderr, "\r%s [", what);
        for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
        fprintf(stderr, "] %5.1f%% %s\033[K", frac * 100.0, info ? info : "");
        if (done >= total) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %.0f/%.0f %s\n", what, done, total, info ? info : "");
    }
    fflush(stderr);
}
