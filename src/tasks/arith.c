// arith.c: the column-arithmetic tasks — addition with carries, subtraction
// with borrows, multiplication by a 1-2 digit number through partial
// products. The working is one short, regular line per column
// ("7+5=12, write 2 carry 1"), which a small model can learn to imitate.
#include <stdio.h>

#include "tasks/tasks_internal.h"

static int64_t pow10_i(int d) {
    int64_t p = 1;
    while (d-- > 0) p *= 10;
    return p;
}

// A number with exactly `digits` digits (1 digit: 1..9).
static int64_t draw_digits(lt_rng *rng, int digits) {
    return lt_tasks_draw(rng, pow10_i(digits - 1), pow10_i(digits) - 1);
}

static int count_digits(int64_t v) {
    int d = 1;
    while (v >= 10) v /= 10, d++;
    return d;
}

lt_status lt_tasks_add_steps(lt_bytes *out, int64_t a, int64_t b) {
    int n = count_digits(a > b ? a : b);
    int carry = 0;
    int64_t pa = a, pb = b;
    for (int i = 0; i < n; i++, pa /= 10, pb /= 10) {
        int da = (int)(pa % 10), db = (int)(pb % 10), s = da + db + carry;
        if (i == 0)
            LT_TRY(lt_tasks_printf(out, "%d+%d=%d", da, db, s));
        else
            LT_TRY(lt_tasks_printf(out, "%d+%d+%d=%d", da, db, carry, s));
        carry = s / 10;
        LT_TRY(lt_tasks_printf(out, ", write %d carry %d\n", s % 10, carry));
    }
    if (carry) LT_TRY(lt_tasks_printf(out, "write %d\n", carry));
    return lt_tasks_printf(out, "%lld+%lld=%lld", (long long)a, (long long)b, (long long)(a + b));
}

lt_status lt_tasks_sub_steps(lt_bytes *out, int64_t a, int64_t b) {
    int n = count_digits(a);
    int borrow = 0;
    int64_t pa = a, pb = b;
    for (int i = 0; i < n; i++, pa /= 10, pb /= 10) {
        int da = (int)(pa % 10), db = (int)(pb % 10);
        int next = da - db - borrow < 0;
        int top = da + 10 * next, r = top - db - borrow;
        if (i == 0)
            LT_TRY(lt_tasks_printf(out, "%d-%d=%d", top, db, r));
        else
            LT_TRY(lt_tasks_printf(out, "%d-%d-%d=%d", top, db, borrow, r));
        borrow = next;
        LT_TRY(lt_tasks_printf(out, ", write %d borrow %d\n", r, borrow));
    }
    return lt_tasks_printf(out, "%lld-%lld=%lld", (long long)a, (long long)b, (long long)(a - b));
}

// Builds the four texts of an arithmetic problem from a prompt pattern with two %lld.
static lt_status finish_binary(lt_task_problem *p, const char *pattern, bool swap_in_prompt,
                               const char *op, int64_t a, int64_t b, int64_t result,
                               lt_bytes *thinking) {
    lt_bytes prompt = {0}, answer = {0}, key = {0};
    int64_t x = swap_in_prompt ? b : a, y = swap_in_prompt ? a : b;
    lt_status st = lt_tasks_printf(&prompt, pattern, (long long)x, (long long)y);
    if (!st) st = lt_tasks_printf(&answer, "%lld", (long long)result);
    // Addition and multiplication commute: a+b and b+a are one problem.
    bool commutes = op[0] != 's';
    int64_t k1 = commutes && a < b ? b : a, k2 = commutes && a < b ? a : b;
    if (!st) st = lt_tasks_printf(&key, "%s %lld %lld", op, (long long)k1, (long long)k2);
    if (!st) st = lt_tasks_finish(p, &prompt, &answer, thinking, &key);
    lt_bytes_free(&prompt);
    lt_bytes_free(&answer);
    lt_bytes_free(&key);
    lt_bytes_free(thinking);
    return st;
}

// Prompt patterns: {pattern, whether it names the operands in reverse order}.
typedef struct {
    const char *pattern;
    bool swap;
} phrasing;

static const phrasing add_phrasings[] = {
    {"What is %lld + %lld?", false}, {"Compute %lld + %lld.", false},
    {"Add %lld and %lld.", false},   {"Find the sum of %lld and %lld.", false},
    {"%lld + %lld = ?", false},
};
static const phrasing sub_phrasings[] = {
    {"What is %lld - %lld?", false},    {"Compute %lld - %lld.", false},
    {"Subtract %lld from %lld.", true}, {"Find the difference %lld - %lld.", false},
    {"%lld - %lld = ?", false},
};
static const phrasing mul_phrasings[] = {
    {"What is %lld * %lld?", false},   {"Compute %lld * %lld.", false},
    {"Multiply %lld by %lld.", false}, {"Find the product of %lld and %lld.", false},
    {"%lld * %lld = ?", false},
};
#define N_PHRASINGS 5

// Level L: the first operand has L+1 digits, the second L or L+1.
lt_status lt_tasks_gen_add(lt_task_problem *p, int level, lt_rng *rng) {
    int n = level + 1;
    int64_t a = draw_digits(rng, n), b = draw_digits(rng, (int)lt_tasks_draw(rng, n - 1, n));
    const phrasing *ph = &add_phrasings[lt_rng_below(rng, N_PHRASINGS)];
    lt_bytes thinking = {0};
    lt_status st = lt_tasks_add_steps(&thinking, a, b);
    if (st) {
        lt_bytes_free(&thinking);
        return st;
    }
    return finish_binary(p, ph->pattern, ph->swap, "add", a, b, a + b, &thinking);
}

// Level L: operands as for addition; at levels 1-2 the first is the larger,
// at 3-4 either may be, and a negative result is worked as -(larger - smaller).
lt_status lt_tasks_gen_sub(lt_task_problem *p, int level, lt_rng *rng) {
    int n = level + 1;
    int64_t a = draw_digits(rng, n), b = draw_digits(rng, (int)lt_tasks_draw(rng, n - 1, n));
    bool swap = a < b;
    if (level >= 3 && lt_rng_below(rng, 2)) swap = !swap;
    if (swap) {
        int64_t t = a;
        a = b, b = t;
    }
    const phrasing *ph = &sub_phrasings[lt_rng_below(rng, N_PHRASINGS)];
    lt_bytes thinking = {0};
    lt_status st = NULL;
    if (a >= b) {
        st = lt_tasks_sub_steps(&thinking, a, b);
    } else {
        st = lt_tasks_printf(&thinking, "%lld<%lld, so %lld-%lld=-(%lld-%lld)\n", (long long)a,
                             (long long)b, (long long)a, (long long)b, (long long)b, (long long)a);
        if (!st) st = lt_tasks_sub_steps(&thinking, b, a);
        if (!st)
            st = lt_tasks_printf(&thinking, "\nso %lld-%lld=%lld", (long long)a, (long long)b,
                                 (long long)(a - b));
    }
    if (st) {
        lt_bytes_free(&thinking);
        return st;
    }
    return finish_binary(p, ph->pattern, ph->swap, "sub", a, b, a - b, &thinking);
}

// a * d for one digit d (2..9 or 0..9), digit by digit, ending "a*d=product".
static lt_status mul_digit_steps(lt_bytes *out, int64_t a, int d) {
    if (d == 0) return lt_tasks_printf(out, "%lld*0=0", (long long)a);
    LT_TRY(lt_tasks_printf(out, "%lld*%d:\n", (long long)a, d));
    int carry = 0, n = count_digits(a);
    int64_t pa = a;
    for (int i = 0; i < n; i++, pa /= 10) {
        int da = (int)(pa % 10), s = da * d + carry;
        if (i == 0)
            LT_TRY(lt_tasks_printf(out, "%d*%d=%d", da, d, s));
        else
            LT_TRY(lt_tasks_printf(out, "%d*%d+%d=%d", da, d, carry, s));
        carry = s / 10;
        LT_TRY(lt_tasks_printf(out, ", write %d carry %d\n", s % 10, carry));
    }
    if (carry) LT_TRY(lt_tasks_printf(out, "write %d\n", carry));
    return lt_tasks_printf(out, "%lld*%d=%lld", (long long)a, d, (long long)(a * d));
}

// a * b for b of one or two digits: one partial product per digit of b, then their sum.
static lt_status mul_steps(lt_bytes *out, int64_t a, int64_t b) {
    if (b < 10) return mul_digit_steps(out, a, (int)b);
    int ones = (int)(b % 10), tens = (int)(b / 10);
    LT_TRY(mul_digit_steps(out, a, ones));
    LT_TRY(lt_tasks_printf(out, "\n"));
    LT_TRY(mul_digit_steps(out, a, tens));
    LT_TRY(lt_tasks_printf(out, ", so %lld*%d=%lld\n", (long long)a, tens * 10,
                           (long long)(a * tens * 10)));
    LT_TRY(lt_tasks_add_steps(out, a * ones, a * tens * 10));
    return lt_tasks_printf(out, "\n%lld*%lld=%lld", (long long)a, (long long)b, (long long)(a * b));
}

// Level 1: (2-3 digits) * (2..9); 2: 2 * 2 digits; 3: 3 * 2 digits; 4: 4 * 2 digits.
lt_status lt_tasks_gen_mul(lt_task_problem *p, int level, lt_rng *rng) {
    int64_t a, b;
    if (level == 1) {
        a = draw_digits(rng, (int)lt_tasks_draw(rng, 2, 3));
        b = lt_tasks_draw(rng, 2, 9);
    } else {
        a = draw_digits(rng, level);
        b = draw_digits(rng, 2);
    }
    const phrasing *ph = &mul_phrasings[lt_rng_below(rng, N_PHRASINGS)];
    lt_bytes thinking = {0};
    lt_status st = mul_steps(&thinking, a, b);
    if (st) {
        lt_bytes_free(&thinking);
        return st;
    }
    return finish_binary(p, ph->pattern, ph->swap, "mul", a, b, a * b, &thinking);
}
