// common.c: flag parsing, error reporting and progress rendering shared by
// every subcommand.
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static void group_usage(FILE *f, const char *prog, const lt_cli_command *commands, size_t n) {
    fprintf(f, "usage: lathe %s COMMAND [ARGS...]   (lathe %s COMMAND --help for details)\n\n"
               "commands:\n", prog, prog);
    for (size_t i = 0; i < n; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "lathe %s: unknown command '%s'\n\n", prog, argv[1]);
    group_usage(stderr, prog, commands, n);
    return LT_EXIT_USAGE;
}

int lt_cli_report(lt_status st) {
    if (!st) return LT_EXIT_OK;
    fprintf(stderr, "lathe: %s\n", lt_status_message(st));
    int code = lt_status_code(st) == LT_ERR_ARG ? LT_EXIT_USAGE : LT_EXIT_FAIL;
    lt_status_free(st);
    return code;
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

bool lt_cli_flag(int argc, char **argv, int *i, const char *flag, const char **value) {
    const char *arg = argv[*i];
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0) return false;
    if (arg[n] == '=') { // --flag=value
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] != 0) return false;
    *value = (*i + 1 < argc) ? argv[++*i] : NULL;
    return true;
}

bool lt_cli_take_switch(int *argc, char **argv, const char *flag) {
    bool seen = false;
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        if (i > 0 && strcmp(argv[i], flag) == 0) seen = true;
        else argv[n++] = argv[i];
    }
    *argc = n;
    return seen;
}

int lt_cli_take_repeated(const char *cmd, int *argc, char **argv, const char *flag,
                         const char **values, int max, int *n) {
    int out = 1;
    *n = 0;
    for (int i = 1; i < *argc; i++) {
        const char *v;
        if (lt_cli_flag(*argc, argv, &i, flag, &v)) {
            if (!v) return lt_cli_usage_error(cmd, "%s needs a value", flag);
            if (*n == max) return lt_cli_usage_error(cmd, "%s may be given at most %d times", flag, max);
            values[(*n)++] = v;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return -1;
}

int lt_cli_parse(const char *cmd, int argc, char **argv, const lt_cli_opt *opts,
                 const char **positional, int max_positional, int *n_positional,
                 void (*help)(void)) {
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        if (lt_cli_is_help(argv[i])) {
            help();
            return LT_EXIT_OK;
        }
        bool matched = false;
        for (const lt_cli_opt *o = opts; o && o->flag && !matched; o++) {
            if (o->present) {
                if (strcmp(argv[i], o->flag) == 0) *o->present = matched = true;
                continue;
            }
            const char *value;
            if (!lt_cli_flag(argc, argv, &i, o->flag, &value)) continue;
            if (!value) return lt_cli_usage_error(cmd, "%s needs a value", o->flag);
            *o->value = value;
            matched = true;
        }
        if (matched) continue;
        if (argv[i][0] == '-' && argv[i][1] != 0)
            return lt_cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        if (n_pos == max_positional)
            return lt_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        positional[n_pos++] = argv[i];
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
    if (!text || !*text) return lt_error(LT_ERR_ARG, "%s needs a comma-separated list of ids", flag);
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
