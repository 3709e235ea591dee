// test_tasks.c: the reasoning task suite. Answers are recomputed here with
// plain C arithmetic on operands parsed from the prompt (qsort for sorting, a
// separate parser for boolean expressions);
// every line of the working is parsed and checked to be arithmetically true
// and to follow the column method; sets are deterministic per seed and an
// evaluation set never overlaps its training set; the verifier is checked on
// hand-written outputs.
#include <ctype.h>

#include "lathe/chat_data.h"
#include "base/json.h"
#include "lathe/tasks.h"
#include "lt_test.h"

static const lt_chat_template *tpl(void) { return lt_chat_template_get("llama3"); }

// ---------------------------------------------------------------- a small expression checker

// Recursive descent over + - * / ( ) and integers; *ok cleared on anything else
// (and on a division that is not exact).
typedef struct {
    const char *s;
    bool ok;
} expr_parser;

static long long parse_sum(expr_parser *p);

static long long parse_factor(expr_parser *p) {
    if (*p->s == '-') {
        p->s++;
        return -parse_factor(p);
    }
    if (*p->s == '(') {
        p->s++;
        long long v = parse_sum(p);
        if (*p->s != ')')
            p->ok = false;
        else
            p->s++;
        return v;
    }
    if (!isdigit((unsigned char)*p->s)) {
        p->ok = false;
        return 0;
    }
    long long v = 0;
    while (isdigit((unsigned char)*p->s)) v = v * 10 + (*p->s++ - '0');
    return v;
}

static long long parse_product(expr_parser *p) {
    long long v = parse_factor(p);
    while (p->ok && (*p->s == '*' || *p->s == '/')) {
        char op = *p->s++;
        long long r = parse_factor(p);
        if (op == '*')
            v *= r;
        else if (r == 0 || v % r != 0)
            p->ok = false;
        else
            v /= r;
    }
    return v;
}

static long long parse_sum(expr_parser *p) {
    long long v = parse_product(p);
    while (p->ok && (*p->s == '+' || *p->s == '-')) {
        char op = *p->s++;
        long long r = parse_product(p);
        v = op == '+' ? v + r : v - r;
    }
    return v;
}

// Evaluates a whole expression; false when it is not one.
static bool eval_expr(const char *s, long long *out) {
    expr_parser p = {s, true};
    *out = parse_sum(&p);
    return p.ok && *p.s == 0;
}

// "L=R" with both sides expressions: true when it parses and holds; *value = R.
static bool equation_holds(const char *clause, long long *value) {
    const char *eq = strchr(clause, '=');
    if (!eq || strchr(eq + 1, '=')) return false;
    char left[256];
    snprintf(left, sizeof left, "%.*s", (int)(eq - clause), clause);
    long long l, r;
    if (!eval_expr(left, &l) || !eval_expr(eq + 1, &r)) return false;
    *value = r;
    return l == r;
}

// Splits text into lines (copied into lines[i], at most max).
static int split_lines(const char *text, char lines[][256], int max) {
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(lines[n++], 256, "%.*s", (int)len, p);
        p += len + (nl ? 1 : 0);
    }
    return n;
}

// All integers in a text, in order; with `sign`, a '-' directly before digits
// makes them negative (lists), without it '-' is an operator (equations).
static int numbers_in_signed(const char *text, long long *out, int max, bool sign) {
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        if (isdigit((unsigned char)*p) || (sign && *p == '-' && isdigit((unsigned char)p[1]))) {
            char *end;
            out[n++] = strtoll(p, &end, 10);
            p = end;
        } else {
            p++;
        }
    }
    return n;
}

static int numbers_in(const char *text, long long *out, int max) {
    return numbers_in_signed(text, out, max, true);
}

static int n_digits(long long v) {
    int d = 1;
    for (v = v < 0 ? -v : v; v >= 10; v /= 10) d++;
    return d;
}

// ---------------------------------------------------------------- column arithmetic

// Checks one column line "a+b[+c]=s, write w carry k" (op '+') or
// "t-b[-c]=r, write r borrow k" (op '-') against the operands' digits at
// column `col` and the carry/borrow coming in; returns the written digit and
// updates *carry. Fails the test on any mismatch.
static int check_column(const char *line, char op, long long x, long long y, int col, int *carry) {
    long long pw = 1;
    for (int i = 0; i < col; i++) pw *= 10;
    int dx = (int)(x / pw % 10), dy = (int)(y / pw % 10);
    int a, b, c = 0, s, w, k, used = 0;
    char kind[16];
    int got = col == 0 ? sscanf(line,
                                op == '+' ? "%d+%d=%d, write %d %15s %d%n"
                                          : "%d-%d=%d, write %d %15s %d%n",
                                &a, &b, &s, &w, kind, &k, &used)
                       : sscanf(line,
                                op == '+' ? "%d+%d+%d=%d, write %d %15s %d%n"
                                          : "%d-%d-%d=%d, write %d %15s %d%n",
                                &a, &b, &c, &s, &w, kind, &k, &used);
    LT_CHECK_MSG(got == (col == 0 ? 6 : 7) && line[used] == 0, "column line '%s' malformed", line);
    if (got != (col == 0 ? 6 : 7)) return 0;
    LT_CHECK_MSG(c == *carry, "'%s': carry in %d, expected %d", line, c, *carry);
    LT_CHECK_MSG(b == dy, "'%s': digit %d of %lld is %d", line, col, y, dy);
    if (op == '+') {
        LT_CHECK_MSG(a == dx && a + b + c == s && w == s % 10 && k == s / 10 &&
                         strcmp(kind, "carry") == 0,
                     "'%s' is not a true addition step", line);
    } else {
        bool borrowed = a >= 10;
        LT_CHECK_MSG(a == dx + 10 * borrowed && a - b - c == s && s >= 0 && s <= 9 && w == s &&
                         k == borrowed && strcmp(kind, "borrow") == 0 &&
                         (borrowed ? dx - b - c < 0 : 1),
                     "'%s' is not a true subtraction step", line);
    }
    *carry = k;
    return w;
}

// Checks the column working of x op y (x >= y >= 0 for '-') in lines[0..n),
// ending in the line "x op y = result"; returns the line count used.
static int check_columns(char lines[][256], int n, char op, long long x, long long y) {
    int cols = n_digits(x > y ? x : y), carry = 0, i = 0;
    long long written = 0, pw = 1;
    for (int col = 0; col < cols && i < n; col++, i++, pw *= 10)
        written += pw * check_column(lines[i], op, x, y, col, &carry);
    if (op == '+' && carry) {
        int w = -1;
        LT_CHECK_MSG(i < n && sscanf(lines[i], "write %d", &w) == 1 && w == carry,
                     "final carry %d not written", carry);
        written += pw * carry;
        i++;
    }
    LT_CHECK_MSG(op == '+' || carry == 0, "borrow left over after %lld-%lld", x, y);
    long long expect = op == '+' ? x + y : x - y, v;
    LT_CHECK_MSG(written == expect, "digits written give %lld, %lld%c%lld=%lld", written, x, op, y,
                 expect);
    char summary[128];
    snprintf(summary, sizeof summary, "%lld%c%lld=%lld", x, op, y, expect);
    LT_CHECK_MSG(i < n && strcmp(lines[i], summary) == 0 && equation_holds(lines[i], &v),
                 "summary line '%s', expected '%s'", i < n ? lines[i] : "", summary);
    return i + 1;
}

// The operands of an arithmetic prompt, in the order the problem means them.
static void operands(const lt_task_problem *p, long long *x, long long *y) {
    long long v[4];
    int n = numbers_in(p->prompt, v, 4);
    LT_CHECK_MSG(n == 2, "prompt '%s' has %d numbers", p->prompt, n);
    bool reversed = strncmp(p->prompt, "Subtract ", 9) == 0; // "Subtract y from x"
    *x = reversed ? v[1] : v[0];
    *y = reversed ? v[0] : v[1];
}

static void test_add_sub_answers_and_columns(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    int negatives = 0;
    for (int kind = LT_TASK_ADD; kind <= LT_TASK_SUB; kind++) {
        for (int level = 1; level <= 4; level++) {
            for (int i = 0; i < 150; i++) {
                lt_task_problem p;
                LT_CHECK_OK(lt_tasks_generate(&p, (lt_task_kind)kind, level, &rng));
                long long x, y;
                operands(&p, &x, &y);
                long long expect = kind == LT_TASK_ADD ? x + y : x - y;
                LT_CHECK_MSG(atoll(p.answer) == expect, "'%s' answered %s", p.prompt, p.answer);
                int big = n_digits(x) > n_digits(y) ? n_digits(x) : n_digits(y);
                LT_CHECK_MSG(big == level + 1, "'%s' at level %d", p.prompt, level);
                LT_CHECK_MSG(level >= 3 || expect >= 0, "negative result at level %d", level);
                negatives += expect < 0;
                char lines[32][256];
                int n = split_lines(p.thinking, lines, 32), at = 0;
                if (kind == LT_TASK_SUB && expect < 0) { // "x<y, so x-y=-(y-x)", y-x, "so x-y=R"
                    long long v;
                    char first[128];
                    snprintf(first, sizeof first, "%lld<%lld, so %lld-%lld=-(%lld-%lld)", x, y, x,
                             y, y, x);
                    LT_CHECK_STR(lines[0], first);
                    at = 1 + check_columns(lines + 1, n - 1, '-', y, x);
                    LT_CHECK_MSG(at < n && strncmp(lines[at], "so ", 3) == 0 &&
                                     equation_holds(lines[at] + 3, &v) && v == expect,
                                 "last line '%s'", lines[at < n ? at : 0]);
                    at++;
                } else {
                    at = check_columns(lines, n, kind == LT_TASK_ADD ? '+' : '-', x, y);
                }
                LT_CHECK_INT(at, n); // no lines beyond the method
                lt_tasks_problem_free(&p);
            }
        }
    }
    LT_CHECK(negatives > 50); // levels 3-4 do produce negative differences
}

// ---------------------------------------------------------------- multiplication

// Every clause of every line is a true equation, a "write w carry k" that
// follows from the equation before it, a lone "write k" for the last carry,
// or a "N*d:" heading; the last line is x*y=answer.
static void check_mul_working(const lt_task_problem *p, long long x, long long y) {
    char lines[64][256];
    int n = split_lines(p->thinking, lines, 64);
    long long last = 0, carry = 0;
    int partials = 0;
    for (int i = 0; i < n; i++) {
        char *save = NULL;
        for (char *c = strtok_r(lines[i], ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            while (*c == ' ') c++;
            if (strncmp(c, "so ", 3) == 0) c += 3;
            long long v, w, k;
            int used = 0;
            size_t len = strlen(c);
            if (len && c[len - 1] == ':') {
                c[len - 1] = 0;
                LT_CHECK_MSG(eval_expr(c, &v), "heading '%s:'", c);
                partials++;
            } else if (sscanf(c, "write %lld carry %lld%n", &w, &k, &used) == 2 && c[used] == 0) {
                LT_CHECK_MSG(w == last % 10 && k == last / 10, "'%s' after %lld", c, last);
                carry = k;
            } else if (sscanf(c, "write %lld%n", &w, &used) == 1 && c[used] == 0) {
                LT_CHECK_MSG(w == carry && w > 0, "'%s' with carry %lld", c, carry);
            } else {
                LT_CHECK_MSG(equation_holds(c, &v), "'%s' is not a true equation", c);
                last = v;
            }
        }
    }
    char want[96];
    snprintf(want, sizeof want, "%lld*%lld=%lld", x, y, x * y);
    LT_CHECK_MSG(n > 0 && strstr(p->thinking, want), "working of %s lacks '%s'", p->prompt, want);
    LT_CHECK_INT(partials, y < 10 ? 1 : 1 + (y % 10 != 0));
}

static void test_mul_answers_and_partial_products(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 12);
    for (int level = 1; level <= 4; level++) {
        for (int i = 0; i < 150; i++) {
            lt_task_problem p;
            LT_CHECK_OK(lt_tasks_generate(&p, LT_TASK_MUL, level, &rng));
            long long x, y;
            operands(&p, &x, &y);
            LT_CHECK_MSG(atoll(p.answer) == x * y, "'%s' answered %s", p.prompt, p.answer);
            if (level == 1)
                LT_CHECK(y >= 2 && y <= 9 && x >= 10 && x <= 999);
            else
                LT_CHECK(n_digits(x) == level && n_digits(y) == 2);
            check_mul_working(&p, x, y);
            lt_tasks_problem_free(&p);
        }
    }
}

// ---------------------------------------------------------------- word problems

static void test_word_problems(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 13);
    static const int steps[] = {2, 3, 4, 4};
    for (int level = 1; level <= 4; level++) {
        for (int i = 0; i < 200; i++) {
            lt_task_problem p;
            LT_CHECK_OK(lt_tasks_generate(&p, LT_TASK_WORD, level, &rng));
            long long given[32], known[64];
            int n_given = numbers_in(p.prompt, given, 32), n_known = 0;
            bool used[32] = {false};
            for (int g = 0; g < n_given; g++) known[n_known++] = given[g];
            char lines[16][256];
            int n = split_lines(p.thinking, lines, 16);
            LT_CHECK_INT(n, 1 + steps[level - 1]);
            long long start = -1, last = -1;
            LT_CHECK(sscanf(lines[0], "start: %lld", &start) == 1 && n_given > 0 &&
                     start == given[0]);
            used[0] = true;
            for (int l = 1; l < n; l++) {
                char *save = NULL;
                for (char *c = strtok_r(lines[l], ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                    while (*c == ' ') c++;
                    long long v, ops[4];
                    LT_CHECK_MSG(equation_holds(c, &v), "'%s' is not a true equation", c);
                    char *eq = strchr(c, '=');
                    if (eq) *eq = 0;
                    int n_ops = numbers_in_signed(c, ops, 4, false);
                    // each operand was given in the story or computed before
                    for (int o = 0; o < n_ops; o++) {
                        bool found = false;
                        for (int g = 0; g < n_given && !found; g++)
                            if (given[g] == ops[o] && !used[g]) used[g] = found = true;
                        for (int k = n_given; k < n_known && !found; k++)
                            found = known[k] == ops[o];
                        for (int g = 0; g < n_given && !found; g++) found = given[g] == ops[o];
                        LT_CHECK_MSG(found, "operand %lld of '%s' comes from nowhere (%s)", ops[o],
                                     c, p.prompt);
                    }
                    if (n_known < 64) known[n_known++] = v;
                    last = v;
                    LT_CHECK(v >= 0);
                }
            }
            for (int g = 0; g < n_given; g++)
                LT_CHECK_MSG(used[g], "'%s': the given %lld is never used", p.prompt, given[g]);
            LT_CHECK_MSG(last == atoll(p.answer), "'%s': last result %lld, answer %s", p.prompt,
                         last, p.answer);
            LT_CHECK(strstr(p.prompt, "?") != NULL);
            lt_tasks_problem_free(&p);
        }
    }
}

// Word problems come from many templates: count distinct opening sentences.
static void test_word_variety(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 14);
    char openings[64][64];
    int n_open = 0;
    for (int i = 0; i < 2000; i++) {
        lt_task_problem p;
        LT_CHECK_OK(lt_tasks_generate(&p, LT_TASK_WORD, 2, &rng));
        char opening[64] = {0};
        int k = 0; // the words of the first sentence, numbers and names dropped
        for (const char *c = p.prompt; *c && *c != '.' && k < 40; c++)
            if (islower((unsigned char)*c) || *c == ' ') opening[k++] = *c;
        bool seen = false;
        for (int j = 0; j < n_open && !seen; j++) seen = strcmp(openings[j], opening) == 0;
        if (!seen && n_open < 64) snprintf(openings[n_open++], 64, "%s", opening);
        lt_tasks_problem_free(&p);
    }
    LT_CHECK_MSG(n_open >= 10, "only %d distinct story openings", n_open);
}

// ---------------------------------------------------------------- sorting

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void test_sort(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 15);
    static const int counts[] = {3, 4, 5, 6};
    int negatives = 0;
    for (int level = 1; level <= 4; level++) {
        for (int i = 0; i < 150; i++) {
            lt_task_problem p;
            LT_CHECK_OK(lt_tasks_generate(&p, LT_TASK_SORT, level, &rng));
            long long v[16], sorted[16], ans[16];
            int n = numbers_in(p.prompt, v, 16);
            LT_CHECK_INT(n, counts[level - 1]);
            memcpy(sorted, v, sizeof v);
            qsort(sorted, (size_t)n, sizeof *sorted, cmp_ll);
            LT_CHECK_INT(numbers_in(p.answer, ans, 16), n);
            for (int k = 0; k < n; k++) LT_CHECK_INT(ans[k], sorted[k]);
            for (int k = 0; k < n; k++) negatives += v[k] < 0;
            // Each "smallest of L is m": L is what is left, m its minimum.
            long long left[16];
            int n_left = n;
            memcpy(left, v, sizeof v);
            char lines[16][256];
            int n_lines = split_lines(p.thinking, lines, 16);
            LT_CHECK_INT(n_lines, n + 1);
            for (int l = 0; l + 2 < n_lines; l++) {
                char *is = strstr(lines[l], " is ");
                LT_CHECK_MSG(strncmp(lines[l], "smallest of ", 12) == 0 && is, "line '%s'",
                             lines[l]);
                if (!is) break;
                long long listed[16], m = atoll(is + 4);
                *is = 0;
                int n_listed = numbers_in(lines[l] + 12, listed, 16);
                LT_CHECK_INT(n_listed, n_left);
                long long mn = left[0];
                for (int k = 0; k < n_left; k++) {
                    LT_CHECK_INT(listed[k], left[k]);
                    if (left[k] < mn) mn = left[k];
                }
                LT_CHECK_INT(m, mn);
                int at = 0; // drop the first occurrence of the minimum
                while (left[at] != mn) at++;
                for (int k = at; k + 1 < n_left; k++) left[k] = left[k + 1];
                n_left--;
            }
            long long last = 0;
            LT_CHECK(n_left == 1 && sscanf(lines[n_lines - 2], "left: %lld", &last) == 1 &&
                     last == left[0]);
            LT_CHECK(strncmp(lines[n_lines - 1], "sorted: ", 8) == 0 &&
                     strcmp(lines[n_lines - 1] + 8, p.answer) == 0);
            lt_tasks_problem_free(&p);
        }
    }
    LT_CHECK(negatives > 0);
}

// ---------------------------------------------------------------- boolean expressions

// An independent evaluator with the usual precedence (not > and > or).
typedef struct {
    const char *s;
    bool ok;
    int ops; // and/or/not seen
} bool_parser;

static bool bool_or(bool_parser *p);

static bool bool_word(bool_parser *p, const char *w) {
    while (*p->s == ' ') p->s++;
    size_t n = strlen(w);
    if (strncmp(p->s, w, n) != 0 || isalpha((unsigned char)p->s[n])) return false;
    p->s += n;
    return true;
}

static bool bool_atom(bool_parser *p) {
    if (bool_word(p, "not")) {
        p->ops++;
        return !bool_atom(p);
    }
    if (bool_word(p, "true")) return true;
    if (bool_word(p, "false")) return false;
    while (*p->s == ' ') p->s++;
    if (*p->s != '(') {
        p->ok = false;
        return false;
    }
    p->s++;
    bool v = bool_or(p);
    while (*p->s == ' ') p->s++;
    if (*p->s != ')')
        p->ok = false;
    else
        p->s++;
    return v;
}

static bool bool_and(bool_parser *p) {
    bool v = bool_atom(p);
    while (p->ok && bool_word(p, "and")) {
        p->ops++;
        bool r = bool_atom(p);
        v = v && r;
    }
    return v;
}

static bool bool_or(bool_parser *p) {
    bool v = bool_and(p);
    while (p->ok && bool_word(p, "or")) {
        p->ops++;
        bool r = bool_and(p);
        v = v || r;
    }
    return v;
}

// Evaluates a whole expression; *ops counts its operators. False when malformed.
static bool eval_bool(const char *s, bool *value, int *ops) {
    bool_parser p = {s, true, 0};
    *value = bool_or(&p);
    while (*p.s == ' ') p.s++;
    if (ops) *ops = p.ops;
    return p.ok && *p.s == 0;
}

static void test_bool(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 17);
    int truths = 0, total = 0;
    for (int level = 1; level <= 4; level++) {
        for (int i = 0; i < 150; i++) {
            lt_task_problem p;
            LT_CHECK_OK(lt_tasks_generate(&p, LT_TASK_BOOL, level, &rng));
            // the expression follows the prompt's colon, or "of " .. "?"
            char expr[512];
            const char *colon = strrchr(p.prompt, ':'), *of = strstr(p.prompt, "value of ");
            const char *q = strstr(p.prompt, "? ");
            if (colon)
                snprintf(expr, sizeof expr, "%s", colon + 2);
            else if (of)
                snprintf(expr, sizeof expr, "%.*s", (int)(strlen(of + 9) - 1), of + 9);
            else
                snprintf(expr, sizeof expr, "%s", q ? q + 2 : "");
            bool value, v;
            int ops = 0, leaves = 0;
            LT_CHECK_MSG(eval_bool(expr, &value, &ops), "cannot read '%s' from '%s'", expr,
                         p.prompt);
            for (const char *c = expr; (c = strstr(c, "true")) || (c = NULL); c++) leaves++;
            for (const char *c = expr; (c = strstr(c, "false")) || (c = NULL); c++) leaves++;
            LT_CHECK_INT(leaves, level + 2);
            LT_CHECK_STR(p.answer, value ? "true" : "false");
            truths += value;
            total++;
            // One reduction per operator, each true; every rewrite keeps the value.
            char lines[64][256];
            int n = split_lines(p.thinking, lines, 64), reductions = 0;
            for (int l = 0; l < n; l++) {
                if (strncmp(lines[l], "now: ", 5) == 0) {
                    LT_CHECK_MSG(eval_bool(lines[l] + 5, &v, NULL) && v == value, "'%s'", lines[l]);
                    continue;
                }
                char *eq = strstr(lines[l], " = ");
                LT_CHECK_MSG(eq != NULL, "line '%s'", lines[l]);
                if (!eq) continue;
                *eq = 0;
                int line_ops = 0;
                bool lhs, rhs;
                LT_CHECK_MSG(eval_bool(lines[l], &lhs, &line_ops) && line_ops == 1 &&
                                 eval_bool(eq + 3, &rhs, NULL) && lhs == rhs,
                             "'%s = %s' is not one true step", lines[l], eq + 3);
                reductions++;
            }
            LT_CHECK_INT(reductions, ops);
            lt_tasks_problem_free(&p);
        }
    }
    LT_CHECK_MSG(truths > total / 5 && truths < total * 4 / 5, "%d of %d answers are true", truths,
                 total);
}

// ---------------------------------------------------------------- sets

static lt_task_spec all_spec(uint64_t seed, int64_t n_per) {
    return (lt_task_spec){.kinds = (1u << LT_TASK_COUNT) - 1,
                          .level_min = 1,
                          .level_max = 4,
                          .n_per = n_per,
                          .seed = seed};
}

static void test_set_deterministic_per_seed(void) {
    lt_task_spec spec = all_spec(7, 20);
    lt_task_set a, b, c;
    LT_CHECK_OK(lt_tasks_set_generate(&a, &spec));
    LT_CHECK_OK(lt_tasks_set_generate(&b, &spec));
    spec.seed = 8;
    LT_CHECK_OK(lt_tasks_set_generate(&c, &spec));
    LT_CHECK_INT(a.n, LT_TASK_COUNT * 4 * 20);
    LT_CHECK_INT(b.n, a.n);
    LT_CHECK_INT(c.n, a.n);
    int same = 0, per_group[LT_TASK_COUNT][5] = {{0}};
    lt_task_keys ka = {0};
    for (size_t i = 0; i < a.n && i < b.n; i++) {
        LT_CHECK_STR(a.items[i].prompt, b.items[i].prompt);
        LT_CHECK_STR(a.items[i].thinking, b.items[i].thinking);
        LT_CHECK_STR(a.items[i].answer, b.items[i].answer);
        per_group[a.items[i].kind][a.items[i].level]++;
        LT_CHECK_OK(lt_tasks_keys_add(&ka, a.items[i].key));
    }
    for (int k = 0; k < LT_TASK_COUNT; k++)
        for (int l = 1; l <= 4; l++) LT_CHECK_INT(per_group[k][l], 20);
    for (size_t i = 0; i < c.n; i++) same += lt_tasks_keys_has(&ka, c.items[i].key);
    LT_CHECK_MSG(same < (int)c.n / 10, "seeds 7 and 8 share %d of %zu problems", same, c.n);
    // Shuffled: the first 20 are not all one task.
    int first_kind = 0;
    for (int i = 0; i < 20; i++) first_kind += a.items[i].kind == a.items[0].kind;
    LT_CHECK(first_kind < 20);
    lt_tasks_keys_free(&ka);
    lt_tasks_set_free(&a);
    lt_tasks_set_free(&b);
    lt_tasks_set_free(&c);
}

// One task's stream does not depend on which other tasks are generated.
static void test_set_streams_independent(void) {
    lt_task_spec one = all_spec(9, 10), all = all_spec(9, 10);
    one.kinds = 1u << LT_TASK_MUL;
    one.level_min = one.level_max = 3;
    lt_task_set a, b;
    LT_CHECK_OK(lt_tasks_set_generate(&a, &one));
    LT_CHECK_OK(lt_tasks_set_generate(&b, &all));
    lt_task_keys kb = {0};
    for (size_t i = 0; i < b.n; i++) LT_CHECK_OK(lt_tasks_keys_add(&kb, b.items[i].key));
    for (size_t i = 0; i < a.n; i++) LT_CHECK(lt_tasks_keys_has(&kb, a.items[i].key));
    lt_tasks_keys_free(&kb);
    lt_tasks_set_free(&a);
    lt_tasks_set_free(&b);
}

// An evaluation set from another seed, deduplicated against the training set,
// shares no problem (by key) with it and has no problem twice.
static void test_eval_set_no_overlap(void) {
    lt_task_spec train_spec = all_spec(1, 300);
    train_spec.level_max = 1; // level 1 has the smallest problem spaces: most collisions
    lt_task_set train, eval;
    LT_CHECK_OK(lt_tasks_set_generate(&train, &train_spec));
    lt_task_keys train_keys = {0}, eval_keys = {0};
    for (size_t i = 0; i < train.n; i++)
        LT_CHECK_OK(lt_tasks_keys_add(&train_keys, train.items[i].key));
    // Without dedup a second seed does collide at level 1, so the test means something.
    lt_task_spec raw = train_spec;
    raw.seed = 2;
    LT_CHECK_OK(lt_tasks_set_generate(&eval, &raw));
    int collisions = 0;
    for (size_t i = 0; i < eval.n; i++)
        collisions += lt_tasks_keys_has(&train_keys, eval.items[i].key);
    LT_CHECK_MSG(collisions > 0, "no collisions without dedup: the check below proves nothing");
    lt_tasks_set_free(&eval);

    lt_task_spec eval_spec = raw;
    eval_spec.unique = true;
    eval_spec.exclude = &train_keys;
    LT_CHECK_OK(lt_tasks_set_generate(&eval, &eval_spec));
    LT_CHECK_INT(eval.n, train.n);
    for (size_t i = 0; i < eval.n; i++) {
        LT_CHECK_MSG(!lt_tasks_keys_has(&train_keys, eval.items[i].key), "'%s' is in both sets",
                     eval.items[i].key);
        LT_CHECK_MSG(!lt_tasks_keys_has(&eval_keys, eval.items[i].key), "'%s' twice",
                     eval.items[i].key);
        LT_CHECK_OK(lt_tasks_keys_add(&eval_keys, eval.items[i].key));
    }
    lt_tasks_keys_free(&train_keys);
    lt_tasks_keys_free(&eval_keys);
    lt_tasks_set_free(&train);
    lt_tasks_set_free(&eval);
}

// Keys are phrasing-independent: commuted sums and reordered lists are one problem.
static void test_keys_canonical(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 16);
    for (int i = 0; i < 200; i++) {
        lt_task_problem p;
        LT_CHECK_OK(lt_tasks_generate(&p,
                                      (lt_task_kind)(i % 3 == 0   ? LT_TASK_ADD
                                                     : i % 3 == 1 ? LT_TASK_MUL
                                                                  : LT_TASK_SORT),
                                      2, &rng));
        long long v[8];
        int n = numbers_in(p.prompt, v, 8);
        qsort(v, (size_t)n, sizeof *v, cmp_ll);
        char want[128];
        if (p.kind == LT_TASK_SORT) {
            int at = snprintf(want, sizeof want, "sort");
            for (int k = 0; k < n; k++)
                at += snprintf(want + at, sizeof want - (size_t)at, " %lld", v[k]);
        } else {
            snprintf(want, sizeof want, "%s %lld %lld", p.kind == LT_TASK_ADD ? "add" : "mul", v[1],
                     v[0]);
        }
        LT_CHECK_STR(p.key, want);
        lt_tasks_problem_free(&p);
    }
}

static void test_bad_specs(void) {
    lt_task_set set;
    lt_task_spec spec = all_spec(1, 5);
    spec.level_max = 5;
    LT_CHECK_ERR(lt_tasks_set_generate(&set, &spec), LT_ERR_ARG, "levels 1..5 are not within 1..4");
    spec = all_spec(1, 5);
    spec.level_min = 3, spec.level_max = 2;
    LT_CHECK_ERR(lt_tasks_set_generate(&set, &spec), LT_ERR_ARG, "levels 3..2");
    spec = all_spec(1, 0);
    LT_CHECK_ERR(lt_tasks_set_generate(&set, &spec), LT_ERR_ARG, "0 problems per task and level");
    spec = all_spec(1, 5);
    spec.kinds = 0;
    LT_CHECK_ERR(lt_tasks_set_generate(&set, &spec), LT_ERR_ARG, "no tasks selected");
    lt_rng rng;
    lt_rng_seed(&rng, 1);
    lt_task_problem p;
    LT_CHECK_ERR(lt_tasks_generate(&p, LT_TASK_ADD, 0, &rng), LT_ERR_ARG,
                 "level 0 is outside [1, 4]");
    LT_CHECK_ERR(lt_tasks_generate(&p, LT_TASK_COUNT, 1, &rng), LT_ERR_ARG, "unknown task kind");
    lt_task_kind k;
    LT_CHECK_ERR(lt_tasks_kind_parse("divide", &k), LT_ERR_ARG, "unknown task 'divide'");
    LT_CHECK_OK(lt_tasks_kind_parse("word", &k));
    LT_CHECK_INT(k, LT_TASK_WORD);
}

// ---------------------------------------------------------------- JSONL

static void test_jsonl_files(void) {
    const char *dir = lt_test_tmpdir();
    char on_path[512], off_path[512];
    snprintf(on_path, sizeof on_path, "%s/on.jsonl", dir);
    snprintf(off_path, sizeof off_path, "%s/off.jsonl", dir);
    lt_task_spec spec = all_spec(3, 4);
    lt_task_set set;
    LT_CHECK_OK(lt_tasks_set_generate(&set, &spec));
    LT_CHECK_OK(lt_tasks_write_jsonl(&set, tpl(), LT_REASONING_ON, on_path));
    LT_CHECK_OK(lt_tasks_write_jsonl(&set, tpl(), LT_REASONING_OFF, off_path));
    for (int mode = 0; mode < 2; mode++) {
        char *text = NULL;
        size_t size = 0;
        LT_CHECK_OK(lt_file_read_all(mode ? on_path : off_path, &text, &size, 1 << 24));
        size_t line = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save), line++) {
            cJSON *doc = cJSON_Parse(l);
            LT_CHECK_MSG(doc != NULL, "line %zu is not JSON", line);
            const lt_task_problem *p = &set.items[line < set.n ? line : 0];
            cJSON *m = cJSON_GetObjectItem(doc, "messages");
            LT_CHECK(cJSON_GetArraySize(m) == 3);
            const char *sys =
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "content"));
            const char *user =
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "content"));
            const char *asst =
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 2), "content"));
            LT_CHECK_STR(
                cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 2), "role")),
                "assistant");
            LT_CHECK_STR(sys, mode ? "detailed thinking on" : "detailed thinking off");
            LT_CHECK_STR(user, p->prompt);
            LT_CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "answer")), p->answer);
            LT_CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "key")), p->key);
            char want[4096];
            if (mode)
                snprintf(want, sizeof want, "<think>\n%s\n</think>\n\nAnswer: %s", p->thinking,
                         p->answer);
            else
                snprintf(want, sizeof want, "Answer: %s", p->answer);
            LT_CHECK_STR(asst, want);
            // The SFT reader splits the inline thinking out, and the chat template
            // renders it back to exactly the assistant text written.
            lt_chat_conv conv = {0};
            lt_bytes rendered = {0};
            LT_CHECK_OK(lt_chat_parse_line(&conv, l, strlen(l), tpl(), "tasks.jsonl:1"));
            LT_CHECK_OK(lt_chat_render_text(tpl(), conv.messages, conv.n, 0, &rendered));
            char turn[4200];
            snprintf(turn, sizeof turn, "assistant<|end_header_id|>\n\n%s<|eot_id|>", want);
            LT_CHECK_MSG(rendered.data && strstr(rendered.data, turn), "rendered: %s",
                         rendered.data);
            const char *r = conv.n == 3 ? conv.messages[2].reasoning : NULL;
            if (mode) { // the reader keeps the newlines inside the tags; rendering trims them
                LT_CHECK(r && strncmp(r, "\n", 1) == 0 &&
                         strncmp(r + 1, p->thinking, strlen(p->thinking)) == 0 &&
                         strcmp(r + 1 + strlen(p->thinking), "\n") == 0);
            } else {
                LT_CHECK(conv.n == 3 && !r);
            }
            lt_bytes_free(&rendered);
            lt_chat_conv_free(&conv);
            // What we write, the verifier accepts in its own mode and rejects in the other.
            lt_task_score s =
                lt_tasks_verify(p->answer, asst, mode ? LT_REASONING_ON : LT_REASONING_OFF, tpl());
            LT_CHECK(s.verdict == LT_TASK_CORRECT && s.format_ok);
            s = lt_tasks_verify(p->answer, asst, mode ? LT_REASONING_OFF : LT_REASONING_ON, tpl());
            LT_CHECK(s.verdict == LT_TASK_CORRECT && !s.format_ok);
            cJSON_Delete(doc);
        }
        LT_CHECK_INT(line, set.n);
        lt_free(text);
    }
    lt_task_keys keys = {0};
    LT_CHECK_OK(lt_tasks_keys_read_jsonl(&keys, on_path));
    for (size_t i = 0; i < set.n; i++) LT_CHECK(lt_tasks_keys_has(&keys, set.items[i].key));
    lt_tasks_keys_free(&keys);
    lt_tasks_set_free(&set);
}

static void test_keys_file_errors(void) {
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.jsonl", dir);
    lt_task_keys keys = {0};
    const char *bad_json = "{\"key\":\"add 1 2\"}\n{\"key\": \n";
    LT_CHECK_OK(lt_file_write_all(path, bad_json, strlen(bad_json)));
    LT_CHECK_ERR(lt_tasks_keys_read_jsonl(&keys, path), LT_ERR_FORMAT, "bad.jsonl: line 2");
    const char *no_key = "{\"messages\":[]}\n";
    LT_CHECK_OK(lt_file_write_all(path, no_key, strlen(no_key)));
    LT_CHECK_ERR(lt_tasks_keys_read_jsonl(&keys, path), LT_ERR_FORMAT, "'key'");
    const char *not_object = "[1, 2]\n";
    LT_CHECK_OK(lt_file_write_all(path, not_object, strlen(not_object)));
    LT_CHECK_ERR(lt_tasks_keys_read_jsonl(&keys, path), LT_ERR_FORMAT, "line 1: not a JSON object");
    snprintf(path, sizeof path, "%s/missing.jsonl", dir);
    LT_CHECK_ERR(lt_tasks_keys_read_jsonl(&keys, path), LT_ERR_IO, "missing.jsonl: cannot open");
    lt_tasks_keys_free(&keys);
}

// ---------------------------------------------------------------- verifier

static void expect_score(const char *expected, const char *output, lt_reasoning mode,
                         lt_task_verdict verdict, bool format_ok, const char *problem) {
    lt_task_score s = lt_tasks_verify(expected, output, mode, tpl());
    LT_CHECK_MSG(s.verdict == verdict && s.format_ok == format_ok &&
                     (problem ? s.problem && strcmp(s.problem, problem) == 0 : !s.problem),
                 "verify('%s', mode %s): %s, format %d (%s); expected %s, format %d (%s)", output,
                 mode ? "on" : "off", lt_tasks_verdict_name(s.verdict), s.format_ok,
                 s.problem ? s.problem : "-", lt_tasks_verdict_name(verdict), format_ok,
                 problem ? problem : "-");
}

static void test_verify_answers(void) {
    const lt_reasoning OFF = LT_REASONING_OFF;
    expect_score("432", "Answer: 432", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("432", "Answer: 432.", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("432", "  answer:432  \n", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("432", "ANSWER: 432\r\n", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("432", "Answer: 431", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("-17", "Answer: -17", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("-17", "Answer: 17", OFF, LT_TASK_WRONG, true, NULL);
    // the last occurrence counts
    expect_score("12", "Answer: 11\nAnswer: 12", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("12", "Answer: 12\nAnswer: 11", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("12", "Answer: 12\nAnswer: twelve", OFF, LT_TASK_UNPARSEABLE, false,
                 "no answer line");
    // lists
    expect_score("3, 7, 19", "Answer: 3, 7, 19", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("3, 7, 19", "Answer: [3, 7, 19]", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("3, 7, 19", "Answer: 3 7 19.", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("-5, 7", "Answer: -5,7", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("3, 7, 19", "Answer: 3, 19, 7", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("3, 7, 19", "Answer: 3, 7", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("3, 7, 19", "Answer: [3, 7, 19", OFF, LT_TASK_UNPARSEABLE, false,
                 "no answer line");
    // malformed
    expect_score("432", "", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("432", "432", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("432", "Answer:", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("432", "Answer: 432 apples", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("432", "Answer: 4.32", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("432", "Answer: -", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("1", "Answer: 1234567890123456789012", OFF, LT_TASK_UNPARSEABLE, false,
                 "no answer line");
    // truth values
    expect_score("true", "Answer: true", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("true", "Answer: True.", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("false", "answer: FALSE \n", OFF, LT_TASK_CORRECT, true, NULL);
    expect_score("true", "Answer: false", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("true", "Answer: 1", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("1", "Answer: true", OFF, LT_TASK_WRONG, true, NULL);
    expect_score("true", "Answer: truely", OFF, LT_TASK_UNPARSEABLE, false, "no answer line");
    expect_score("true", "Answer: true or false", OFF, LT_TASK_UNPARSEABLE, false,
                 "no answer line");
}

static void test_verify_format(void) {
    const lt_reasoning ON = LT_REASONING_ON, OFF = LT_REASONING_OFF;
    const char *good = "<think>\n7+5=12, write 2 carry 1\n</think>\n\nAnswer: 12";
    expect_score("12", good, ON, LT_TASK_CORRECT, true, NULL);
    expect_score("13", good, ON, LT_TASK_WRONG, true, NULL);
    // on mode without a think section: right answer, wrong format
    expect_score("12", "Answer: 12", ON, LT_TASK_CORRECT, false, "no think section");
    // unclosed: the answer inside the thinking does not count
    expect_score("12", "<think>\n7+5=12\nAnswer: 12", ON, LT_TASK_UNPARSEABLE, false,
                 "think section not closed");
    expect_score("12", "<think>\n\n</think>\n\nAnswer: 12", ON, LT_TASK_CORRECT, false,
                 "empty think section");
    expect_score("12", "Sure. <think>\nx\n</think>\n\nAnswer: 12", ON, LT_TASK_CORRECT, false,
                 "text before the think section");
    expect_score("12", "<think>\na\n</think>\n<think>\nb\n</think>\nAnswer: 12", ON,
                 LT_TASK_CORRECT, false, "more than one think tag of a kind");
    expect_score("12", "</think>\n<think>\nAnswer: 12", ON, LT_TASK_UNPARSEABLE, false,
                 "text before the think section");
    // an answer only inside the thinking, none after it
    expect_score("12", "<think>\nAnswer: 12\n</think>\n\nI am not sure.", ON, LT_TASK_UNPARSEABLE,
                 false, "no answer line after the think section");
    expect_score("12", "<think>\nAnswer: 11\n</think>\n\nAnswer: 12", ON, LT_TASK_CORRECT, true,
                 NULL);
    // off mode with a think section: format broken, the answer after it still scored
    expect_score("12", good, OFF, LT_TASK_CORRECT, false, "think section in off mode");
    expect_score("12", "<think>\n\n</think>\n\nAnswer: 12", OFF, LT_TASK_CORRECT, false,
                 "think section in off mode");
    expect_score("12", "Answer: 12 </think>", OFF, LT_TASK_UNPARSEABLE, false,
                 "think section in off mode");
    lt_task_score s = lt_tasks_verify("12", "<think>\nx", ON, tpl());
    LT_CHECK(s.has_think && !s.think_closed);
    s = lt_tasks_verify("12", good, ON, tpl());
    LT_CHECK(s.has_think && s.think_closed);
    s = lt_tasks_verify("12", "Answer: 12", OFF, tpl());
    LT_CHECK(!s.has_think && !s.think_closed);
    LT_CHECK_STR(lt_tasks_verdict_name(LT_TASK_UNPARSEABLE), "unparseable");
}

int main(void) {
    LT_RUN(test_add_sub_answers_and_columns);
    LT_RUN(test_mul_answers_and_partial_products);
    LT_RUN(test_word_problems);
    LT_RUN(test_word_variety);
    LT_RUN(test_sort);
    LT_RUN(test_bool);
    LT_RUN(test_set_deterministic_per_seed);
    LT_RUN(test_set_streams_independent);
    LT_RUN(test_eval_set_no_overlap);
    LT_RUN(test_keys_canonical);
    LT_RUN(test_bad_specs);
    LT_RUN(test_jsonl_files);
    LT_RUN(test_keys_file_errors);
    LT_RUN(test_verify_answers);
    LT_RUN(test_verify_format);
    return lt_test_finish();
}
