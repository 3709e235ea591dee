// lt_test.h: the tiny test harness every tests/test_*.c uses. Each test file
// defines test functions, lists them in main with LT_RUN, and returns
// lt_test_finish(). ctest runs each file as one test.
//
// A case that cannot run here (missing test data) calls LT_SKIP and returns;
// the file then exits LT_TEST_SKIPPED (77, CMake's SKIP_RETURN_CODE) so ctest
// reports it Skipped, not Passed. A case that neither checks nor skips fails:
// a test must not pass while asserting nothing.
#ifndef LT_TEST_H
#define LT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/base.h"

static int lt_test_failures_ = 0;
static int lt_test_checks_ = 0;
static int lt_test_cases_ = 0;
static int lt_test_skips_ = 0;
#define LT_TEST_SKIPPED 77
static const char *lt_test_current_ = "";

#define LT_FAIL_(...)                                                               \
    do {                                                                            \
        lt_test_failures_++;                                                        \
        fprintf(stderr, "FAIL %s (%s:%d): ", lt_test_current_, __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                        \
    } while (0)

#define LT_CHECK(cond)                      \
    do {                                    \
        lt_test_checks_++;                  \
        if (!(cond)) LT_FAIL_("%s", #cond); \
    } while (0)

#define LT_CHECK_MSG(cond, ...)             \
    do {                                    \
        lt_test_checks_++;                  \
        if (!(cond)) LT_FAIL_(__VA_ARGS__); \
    } while (0)

#define LT_CHECK_INT(a, b)                                                                     \
    do {                                                                                       \
        long long lt_a_ = (long long)(a), lt_b_ = (long long)(b);                              \
        lt_test_checks_++;                                                                     \
        if (lt_a_ != lt_b_) LT_FAIL_("%s == %lld, expected %s == %lld", #a, lt_a_, #b, lt_b_); \
    } while (0)

// |a - b| <= atol + rtol * |b|
#define LT_CHECK_CLOSE(a, b, atol, rtol)                                              \
    do {                                                                              \
        double lt_a_ = (double)(a), lt_b_ = (double)(b);                              \
        lt_test_checks_++;                                                            \
        if (!(fabs(lt_a_ - lt_b_) <= (atol) + (rtol)*fabs(lt_b_)))                    \
            LT_FAIL_("%s = %.9g, expected %.9g (atol %g, rtol %g)", #a, lt_a_, lt_b_, \
                     (double)(atol), (double)(rtol));                                 \
    } while (0)

#define LT_CHECK_STR(a, b)                                                         \
    do {                                                                           \
        const char *lt_a_ = (a), *lt_b_ = (b);                                     \
        lt_test_checks_++;                                                         \
        if (!lt_a_ || !lt_b_ || strcmp(lt_a_, lt_b_) != 0)                         \
            LT_FAIL_("%s = \"%s\", expected \"%s\"", #a, lt_a_ ? lt_a_ : "(null)", \
                     lt_b_ ? lt_b_ : "(null)");                                    \
    } while (0)

// Asserts success; on failure prints the status message and frees it.
#define LT_CHECK_OK(expr)                                               \
    do {                                                                \
        lt_status lt_s_ = (expr);                                       \
        lt_test_checks_++;                                              \
        if (lt_s_) {                                                    \
            LT_FAIL_("%s failed: %s", #expr, lt_status_message(lt_s_)); \
            lt_status_free(lt_s_);                                      \
        }                                                               \
    } while (0)

// Asserts failure with the given code and a message containing `needle`.
#define LT_CHECK_ERR(expr, code, needle)                                                        \
    do {                                                                                        \
        lt_status lt_s_ = (expr);                                                               \
        lt_test_checks_++;                                                                      \
        if (!lt_s_) {                                                                           \
            LT_FAIL_("%s succeeded, expected an error containing '%s'", #expr, (needle));       \
        } else {                                                                                \
            if (lt_status_code(lt_s_) != (code) || !strstr(lt_status_message(lt_s_), (needle))) \
                LT_FAIL_("%s: got [%s] '%s', expected [%s] containing '%s'", #expr,             \
                         lt_code_name(lt_status_code(lt_s_)), lt_status_message(lt_s_),         \
                         lt_code_name(code), (needle));                                         \
            lt_status_free(lt_s_);                                                              \
        }                                                                                       \
    } while (0)

// Marks the current case skipped, with the reason (what is missing and how to get it).
#define LT_SKIP(...)                                    \
    do {                                                \
        lt_test_skips_++;                               \
        fprintf(stderr, "SKIP %s: ", lt_test_current_); \
        fprintf(stderr, __VA_ARGS__);                   \
        fputc('\n', stderr);                            \
    } while (0)

#define LT_RUN(fn)                                                        \
    do {                                                                  \
        int lt_before_ = lt_test_failures_, lt_checks_ = lt_test_checks_; \
        int lt_skips_ = lt_test_skips_;                                   \
        lt_test_current_ = #fn;                                           \
        lt_test_cases_++;                                                 \
        fn();                                                             \
        if (lt_test_checks_ == lt_checks_ && lt_test_skips_ == lt_skips_) \
            LT_FAIL_("the case made no check");                           \
        fprintf(stderr, "%s %s\n",                                        \
                lt_test_failures_ != lt_before_ ? "FAIL"                  \
                : lt_test_skips_ != lt_skips_   ? "skip"                  \
                                                : "ok  ",                   \
                #fn);                                                     \
    } while (0)

// 1 when a check failed, LT_TEST_SKIPPED when a case was skipped, else 0.
static inline int lt_test_finish(void) {
    fprintf(stderr, "%d cases, %d checks, %d failures, %d skipped\n", lt_test_cases_,
            lt_test_checks_, lt_test_failures_, lt_test_skips_);
    return lt_test_failures_ ? 1 : lt_test_skips_ ? LT_TEST_SKIPPED : 0;
}

// Path of a file under the repository root (ctest runs from it; LATHE_ROOT overrides).
static inline const char *lt_test_path(const char *rel) {
    static char buf[4][4096];
    static int next = 0;
    const char *root = getenv("LATHE_ROOT");
    char *b = buf[next++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", root ? root : ".", rel);
    return b;
}

// A fresh temporary directory for one test (removed by the OS tmp cleaner, or the test).
static inline const char *lt_test_tmpdir(void) {
    static char dir[256];
    snprintf(dir, sizeof dir, "/tmp/lathe-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(2);
    }
    return dir;
}

#endif
