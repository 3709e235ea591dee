// test_tokenizer_classes.c: lathe's Llama 3 pre-tokenizer treats every Unicode
// code point as the Rust `tokenizers` library (Oniguruma) does: letter,
// number, whitespace or other — both through PCRE2 with the rewritten pattern
// and through the hand-written ASCII scanner in front of it. The expected
// classes come from the Rust library itself, probed the same way
// (tests/tokenizer/gen_char_classes.js wrote the fixture). This is where PCRE2
// and Oniguruma disagree out of the box (U+180E, Unicode 15-16 letters). And
// the ASCII scanner cuts random text exactly where PCRE2 alone does.
#include "lt_test.h"
#include "tokenizer/tok_internal.h"

static lt_status count_piece(void *user, const uint8_t *piece, size_t len) {
    (void)piece;
    (void)len;
    (*(int *)user)++;
    return NULL;
}

static int pieces(const lt_pretok *p, lt_pretok_state *s, const char *text, size_t len) {
    int n = 0;
    lt_status st = lt_pretok_split_valid(p, s, (const uint8_t *)text, len, count_piece, &n);
    if (st) {
        lt_status_free(st);
        return -1;
    }
    return n;
}

static int utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// The probes of gen_char_classes.js.
static char class_of(const lt_pretok *p, lt_pretok_state *s, uint32_t cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) return '-';
    char c[4], buf[8];
    int n = utf8_encode(cp, c);
    buf[0] = 'x';
    memcpy(buf + 1, c, (size_t)n);
    buf[n + 1] = 'x';
    if (pieces(p, s, buf, (size_t)n + 2) == 1) return 'L';
    buf[0] = '1';
    if (pieces(p, s, buf, (size_t)n + 1) == 1) return 'N';
    memcpy(buf, c, (size_t)n);
    buf[n] = '!';
    if (pieces(p, s, buf, (size_t)n + 1) == 2) return 'S';
    return 'O';
}

static void every_code_point(bool fast) {
    FILE *f = fopen(lt_test_path("tests/fixtures/tokenizer/llama3_char_classes.txt"), "r");
    LT_CHECK(f != NULL);
    if (!f) return;
    // Runs: start code point and class; expand into a table of 0x110000 classes.
    char *expected = malloc(0x110000);
    unsigned start, prev_start = 0;
    char cls, prev_cls = 0;
    while (fscanf(f, "%x %c", &start, &cls) == 2) {
        for (unsigned cp = prev_start; prev_cls && cp < start; cp++) expected[cp] = prev_cls;
        prev_start = start;
        prev_cls = cls;
    }
    fclose(f);
    for (unsigned cp = prev_start; cp < 0x110000; cp++) expected[cp] = prev_cls;

    lt_pretok p;
    lt_pretok_state s;
    LT_CHECK_OK(lt_pretok_init(&p, LT_PRETOK_SPLIT, LT_TOK_LLAMA3_PATTERN));
    LT_CHECK_OK(lt_pretok_state_init(&s, &p));
    LT_CHECK(p.fast);
    p.fast = fast;
    int mismatches = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        char got = class_of(&p, &s, cp);
        if (got != expected[cp] && mismatches++ < 10)
            LT_FAIL_("U+%04X: lathe says %c, the Rust library says %c", cp, got, expected[cp]);
    }
    LT_CHECK_INT(mismatches, 0);
    lt_pretok_state_free(&s);
    lt_pretok_free(&p);
    free(expected);
}

static void test_every_code_point_pcre2(void) { every_code_point(false); }
static void test_every_code_point_fast(void) { every_code_point(true); }

// Records piece boundaries.
typedef struct {
    size_t ends[4096];
    size_t n;
    const uint8_t *base;
} cuts;

static lt_status record(void *user, const uint8_t *piece, size_t len) {
    cuts *c = user;
    if (c->n < 4096) c->ends[c->n++] = (size_t)(piece - c->base) + len;
    return NULL;
}

// Random strings of pieces chosen to hit every alternative and its edges; the
// scanner (Llama 3's pattern or Qwen2's, which differ in digit runs) cuts each
// exactly where PCRE2 alone does.
static void fast_scanner_matches_pcre2(const char *pattern) {
    static const char *pool[] = {"a",
                                 "Z",
                                 "q",
                                 "7",
                                 "42",
                                 "1234",
                                 " ",
                                 "  ",
                                 "\t",
                                 "\n",
                                 "\r\n",
                                 "\r",
                                 "\v",
                                 "\f",
                                 ".",
                                 "!?",
                                 "'",
                                 "'s",
                                 "'S",
                                 "'re",
                                 "'VE",
                                 "'ll",
                                 "'d",
                                 "'m",
                                 "'t",
                                 "'x",
                                 "_",
                                 "-",
                                 "#",
                                 "\x01",
                                 "\x1c",
                                 "\x7f",
                                 "\xc3\xa9",
                                 "\xc5\xbf",
                                 "\xc2\xa0",
                                 "\xe3\x80\x80",
                                 "\xd9\xa3",
                                 "\xe4\xb8\xad",
                                 "\xe2\x80\x8b",
                                 "\xf0\x9f\xa6\x99",
                                 "\xe1\xa0\x8e",
                                 "\xc2\x85",
                                 "\xe2\x80\xa8",
                                 "\xcc\x81",
                                 "\xef\xbb\xbf"};
    const uint32_t n_pool = sizeof pool / sizeof *pool;
    lt_pretok p;
    lt_pretok_state s;
    LT_CHECK_OK(lt_pretok_init(&p, LT_PRETOK_SPLIT, pattern));
    LT_CHECK_OK(lt_pretok_state_init(&s, &p));
    LT_CHECK(p.fast);
    lt_rng rng;
    lt_rng_seed(&rng, 17);
    static cuts fast, slow;
    int differ = 0;
    for (int trial = 0; trial < 20000; trial++) {
        char text[256];
        size_t n = 0;
        for (int k = 1 + (int)lt_rng_below(&rng, 16); k > 0; k--) {
            const char *piece = pool[lt_rng_below(&rng, n_pool)];
            memcpy(text + n, piece, strlen(piece));
            n += strlen(piece);
        }
        fast.n = slow.n = 0;
        fast.base = slow.base = (const uint8_t *)text;
        p.fast = true;
        LT_CHECK_OK(lt_pretok_split_valid(&p, &s, (const uint8_t *)text, n, record, &fast));
        p.fast = false;
        LT_CHECK_OK(lt_pretok_split_valid(&p, &s, (const uint8_t *)text, n, record, &slow));
        if ((fast.n != slow.n || memcmp(fast.ends, slow.ends, fast.n * sizeof *fast.ends) != 0) &&
            differ++ < 5) {
            LT_FAIL_("trial %d: the scanner cuts differently from PCRE2 (%zu vs %zu pieces)", trial,
                     fast.n, slow.n);
            for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x ", (uint8_t)text[i]);
            fputc('\n', stderr);
        }
    }
    LT_CHECK_INT(differ, 0);
    lt_pretok_state_free(&s);
    lt_pretok_free(&p);
}

static void test_fast_scanner_matches_pcre2(void) {
    fast_scanner_matches_pcre2(LT_TOK_LLAMA3_PATTERN);
}
static void test_fast_scanner_matches_pcre2_qwen2(void) {
    fast_scanner_matches_pcre2(LT_TOK_QWEN2_PATTERN);
}

int main(void) {
    LT_RUN(test_every_code_point_pcre2);
    LT_RUN(test_every_code_point_fast);
    LT_RUN(test_fast_scanner_matches_pcre2);
    LT_RUN(test_fast_scanner_matches_pcre2_qwen2);
    return lt_test_finish();
}
