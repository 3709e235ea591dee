// verify.c: scores a model's answer to a task — exact, by parsing one final
// "Answer: ..." line — and checks the reasoning-toggle format: one think
// section before the answer in "on" mode, none in "off" mode.
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "tasks/tasks_internal.h"

#define MAX_VALUES 64

typedef struct {
    int64_t v[MAX_VALUES];
    int n;
    int truth; // 1 "true", 0 "false", -1 a list of integers
} int_list;

// An optional '.', then only whitespace to the end of the line or text.
static bool line_ends(const char *s) {
    if (*s == '.') s++;
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    return *s == 0 || *s == '\n';
}

// "true" or "false" (any case) as a whole word; sets out->truth.
static bool parse_truth(const char *s, int_list *out) {
    while (*s == ' ' || *s == '\t') s++;
    for (int v = 0; v < 2; v++) {
        const char *w = v ? "true" : "false";
        size_t n = strlen(w);
        if (strncasecmp(s, w, n) == 0 && !isalnum((unsigned char)s[n]) && line_ends(s + n)) {
            out->truth = v;
            out->n = 0;
            return true;
        }
    }
    return false;
}

// Parses "true"/"false", or "[-]D[, ]..." with optional [brackets]; then an
// optional '.' and only whitespace to the end of the line (or text). False on
// anything else.
static bool parse_list(const char *s, int_list *out) {
    if (parse_truth(s, out)) return true;
    out->n = 0;
    out->truth = -1;
    while (*s == ' ' || *s == '\t') s++;
    bool bracket = *s == '[';
    if (bracket) s++;
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        bool neg = *s == '-';
        if (neg) s++;
        if (!isdigit((unsigned char)*s) || out->n == MAX_VALUES) return false;
        int64_t v = 0;
        int digits = 0;
        for (; isdigit((unsigned char)*s); s++, digits++) {
            if (digits == 18) return false;
            v = v * 10 + (*s - '0');
        }
        out->v[out->n++] = neg ? -v : v;
        const char *after = s;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == ',')
            s++;
        else if (s == after)
            break; // no separator: the list ends here
        while (*s == ' ' || *s == '\t') s++;
        if (!(isdigit((unsigned char)*s) || *s == '-')) break;
    }
    while (*s == ' ' || *s == '\t') s++;
    if (bracket) {
        if (*s != ']') return false;
        s++;
    }
    return line_ends(s);
}

// The last "answer:" (any case) in [begin, end); NULL when none.
static const char *last_answer(const char *begin, const char *end) {
    static const char word[] = "answer:";
    const size_t n = sizeof word - 1, len = (size_t)(end - begin);
    if (len < n) return NULL;
    for (size_t at = len - n + 1; at-- > 0;)
        if (strncasecmp(begin + at, word, n) == 0) return begin + at + n;
    return NULL;
}

// A tag without the template's surrounding whitespace ("\n</think>\n\n" -> "</think>").
static void bare_tag(char *out, size_t size, const char *tag) {
    while (*tag && isspace((unsigned char)*tag)) tag++;
    size_t n = strlen(tag);
    while (n > 0 && isspace((unsigned char)tag[n - 1])) n--;
    if (n >= size) n = size - 1;
    memcpy(out, tag, n);
    out[n] = 0;
}

static int count_of(const char *text, const char *needle, const char **first, const char **last) {
    int n = 0;
    *first = *last = NULL;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        if (!*first) *first = p;
        *last = p;
        n++;
    }
    return n;
}

static bool blank_between(const char *a, const char *b) {
    for (; a < b; a++)
        if (!isspace((unsigned char)*a)) return false;
    return true;
}

const char *lt_tasks_verdict_name(lt_task_verdict v) {
    switch (v) {
    case LT_TASK_CORRECT: return "correct";
    case LT_TASK_WRONG: return "wrong";
    case LT_TASK_UNPARSEABLE: return "unparseable";
    }
    return "?";
}

// The on-mode format problem, or NULL when the output is well formed.
static const char *on_mode_problem(const char *output, const char *open, int n_open,
                                   const char *first_open, int n_close, const char *first_close,
                                   bool answered) {
    if (n_open == 0) return "no think section";
    if (!blank_between(output, first_open)) return "text before the think section";
    if (n_close == 0) return "think section not closed";
    if (n_open > 1 || n_close > 1) return "more than one think tag of a kind";
    if (first_close < first_open) return "think close before its opening";
    if (blank_between(first_open + strlen(open), first_close)) return "empty think section";
    if (!answered) return "no answer line after the think section";
    return NULL;
}

lt_task_score lt_tasks_verify(const char *expected, const char *output, lt_reasoning mode,
                              const lt_chat_template *tpl) {
    lt_task_score score = {.verdict = LT_TASK_UNPARSEABLE};
    char open[32], close[32];
    bare_tag(open, sizeof open, tpl->think_open);
    bare_tag(close, sizeof close, tpl->think_close);
    if (!output) output = "";
    const char *first_open, *last_open, *first_close, *last_close;
    int n_open = count_of(output, open, &first_open, &last_open);
    int n_close = count_of(output, close, &first_close, &last_close);
    score.has_think = n_open > 0 || n_close > 0;
    score.think_closed = n_open > 0 && n_close > 0 && last_close > first_open;

    // The answer lives after the last closing tag; an open section hides the rest.
    const char *region = output, *end = output + strlen(output);
    if (n_open > 0 && (n_close == 0 || last_open > last_close))
        region = end;
    else if (n_close > 0)
        region = last_close + strlen(close);
    const char *at = last_answer(region, end);
    int_list got, want;
    if (at && parse_list(at, &got)) {
        bool same = parse_list(expected ? expected : "", &want) && want.n == got.n &&
                    want.truth == got.truth;
        for (int i = 0; same && i < got.n; i++) same = want.v[i] == got.v[i];
        score.verdict = same ? LT_TASK_CORRECT : LT_TASK_WRONG;
    }
    bool answered = score.verdict != LT_TASK_UNPARSEABLE;
    if (mode == LT_REASONING_ON)
        score.problem =
            on_mode_problem(output, open, n_open, first_open, n_close, first_close, answered);
    else if (score.has_think)
        score.problem = "think section in off mode";
    else if (!answered)
        score.problem = "no answer line";
    score.format_ok = score.problem == NULL;
    return score;
}
