// test_chat_data.c: chat datasets for SFT. On a byte-only tokenizer (id =
// byte value, special tokens 256..) the expected ids and learned positions of
// each fixture conversation are written out by hand from its text; packing is
// checked by rebuilding every example from the packed rows; each malformed
// input has its own fixture (tests/fixtures/chat/) and its line in the
// message; blending proportions are checked against a binomial bound.
#include "lathe/chat_data.h"
#include "lathe/data.h"
#include "data/data_internal.h"
#include "lt_test.h"
#include "lt_tok_test.h"
#include "lt_byte_tokenizer.h"
#include "tokenizer/tok_internal.h"

enum { BOS = 256, SH = 257, EH = 258, EOT = 259, THINK = 260, UNTHINK = 261, PAD = 0 };

static void put_header(expect_t *e, const char *role) {
    put_id(e, SH, 0), put_text(e, role, 0), put_id(e, EH, 0), put_text(e, "\n\n", 0);
}

static void put_turn(expect_t *e, const char *role, const char *content) {
    put_header(e, role), put_text(e, content, 0), put_id(e, EOT, 0);
}

// The fixture conversations (openai.jsonl / nemotron.jsonl), in order.
static void expect_fixture(expect_t *e, int k) {
    memset(e, 0, sizeof *e);
    put_id(e, BOS, 0);
    if (k == 0) {
        put_turn(e, "system", "detailed thinking on");
        put_turn(e, "user", "What is 2+3?");
        put_header(e, "assistant");
        put_id(e, THINK, 1), put_text(e, "\n2 plus 3 is 5.\n", 1), put_id(e, UNTHINK, 1);
        put_text(e, "\n\nAnswer: 5", 1), put_id(e, EOT, 1);
    } else if (k == 1) {
        put_turn(e, "system", "detailed thinking off");
        put_turn(e, "user", "What is 7-4?");
        put_header(e, "assistant"), put_text(e, "Answer: 3", 1), put_id(e, EOT, 1);
    } else if (k == 2) {
        put_turn(e, "system", "detailed thinking on\n\nBe brief.");
        put_turn(e, "user", "Sort 3 1 2");
        put_header(e, "assistant");
        put_id(e, THINK, 1), put_text(e, "\nSmallest first.\n", 1), put_id(e, UNTHINK, 1);
        put_text(e, "\n\nAnswer: 1 2 3", 1), put_id(e, EOT, 1);
    } else {
        put_turn(e, "system", "detailed thinking off");
        put_turn(e, "user", "Hi");
        put_header(e, "assistant"), put_text(e, "Hello.", 1), put_id(e, EOT, 1);
        put_turn(e, "tool", "42");
        put_header(e, "assistant"), put_text(e, "The answer is 42.", 1), put_id(e, EOT, 1);
    }
}

static lt_chat_read_opts read_opts(lt_tokenizer *tok, int64_t T, bool skip_bad) {
    lt_chat_read_opts o = {.tokenizer = tok, .max_tokens = T, .skip_bad = skip_bad};
    return o;
}

// One example alone in a row: the positions with a target are exactly the
// positions before a learned token, and each target is that token.
static void check_targets(const lt_chat_dataset *d, size_t i, const expect_t *want) {
    enum { T = 256 };
    uint32_t order[1] = {(uint32_t)i};
    lt_chat_packing p;
    LT_CHECK_OK(lt_chat_pack(d, order, 1, T, &p));
    if (p.n_rows != 1) return;
    int32_t ids[T], targets[T], segments[T], positions[T];
    lt_chat_fill_row(d, &p, 0, PAD, ids, targets, segments, positions);
    size_t bad = 0;
    for (size_t t = 0; t < T; t++) {
        bool learn_next = t + 1 < want->n && want->mask[t + 1];
        int32_t expect_id = t < want->n ? want->ids[t] : PAD;
        int32_t expect_target = learn_next ? want->ids[t + 1] : LT_CHAT_IGNORE;
        if (ids[t] != expect_id || targets[t] != expect_target) {
            if (bad++ < 3)
                LT_FAIL_("example %zu, token %zu: id %d target %d, expected id %d target %d", i, t,
                         ids[t], targets[t], expect_id, expect_target);
        }
    }
    LT_CHECK_INT(bad, 0);
    lt_chat_packing_free(&p);
}

static void test_openai_targets(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    lt_chat_read_opts o = read_opts(tok, 256, false);
    lt_chat_dataset *d = NULL;
    lt_chat_read_stats st;
    LT_CHECK_OK(
        lt_chat_dataset_load(&d, lt_test_path("tests/fixtures/chat/openai.jsonl"), &o, &st, NULL));
    if (!d) goto out;
    LT_CHECK_INT(lt_chat_dataset_n_examples(d), 4);
    LT_CHECK_INT(st.n_lines, 5); // a blank line is read and skipped, not counted as bad
    LT_CHECK_INT(st.n_skipped, 0);
    uint64_t total = 0, learned = 0;
    const uint64_t lines[] = {1, 2, 3, 5};
    for (int k = 0; k < 4; k++) {
        expect_t e;
        expect_fixture(&e, k);
        size_t len;
        const uint8_t *mask;
        uint64_t line;
        const int32_t *ids = lt_chat_dataset_example(d, (size_t)k, &len, &mask, &line);
        LT_CHECK_INT(len, e.n);
        LT_CHECK_INT(line, lines[k]);
        if (len == e.n) {
            LT_CHECK(memcmp(ids, e.ids, len * sizeof *ids) == 0);
            LT_CHECK(memcmp(mask, e.mask, len) == 0);
        }
        check_targets(d, (size_t)k, &e);
        total += e.n;
        for (size_t t = 0; t < e.n; t++) learned += e.mask[t];
    }
    LT_CHECK_INT(st.n_tokens, total);
    LT_CHECK_INT(st.n_loss_tokens, learned);
out:
    lt_chat_dataset_free(d);
    lt_tokenizer_free(tok);
}

// The Llama-Nemotron rows hold the same conversations as openai.jsonl (the
// system text built from "reasoning" + system_prompt, the thinking split out
// of "output", a v1-style rendered string as input): identical ids and masks.
static void test_nemotron_same_ids(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    lt_chat_read_opts o = read_opts(tok, 256, false);
    lt_chat_dataset *a = NULL, *b = NULL;
    LT_CHECK_OK(
        lt_chat_dataset_load(&a, lt_test_path("tests/fixtures/chat/openai.jsonl"), &o, NULL, NULL));
    LT_CHECK_OK(lt_chat_dataset_load(&b, lt_test_path("tests/fixtures/chat/nemotron.jsonl"), &o,
                                     NULL, NULL));
    if (a && b) {
        LT_CHECK_INT(lt_chat_dataset_n_examples(b), lt_chat_dataset_n_examples(a));
        for (size_t i = 0; i < lt_chat_dataset_n_examples(a); i++) {
            size_t na, nb;
            const uint8_t *ma, *mb;
            const int32_t *ia = lt_chat_dataset_example(a, i, &na, &ma, NULL);
            const int32_t *ib = lt_chat_dataset_example(b, i, &nb, &mb, NULL);
            LT_CHECK_MSG(na == nb && memcmp(ia, ib, na * sizeof *ia) == 0 &&
                             memcmp(ma, mb, na) == 0,
                         "example %zu differs between the two forms", i);
        }
        expect_t e;
        expect_fixture(&e, 3); // and both equal the hand-built ids
        size_t n;
        const int32_t *ids = lt_chat_dataset_example(b, 3, &n, NULL, NULL);
        LT_CHECK(n == e.n && memcmp(ids, e.ids, n * sizeof *ids) == 0);
    }
    lt_chat_dataset_free(a);
    lt_chat_dataset_free(b);
    lt_tokenizer_free(tok);
}

// On the real Llama 3 tokenizer (when fetched): both forms give the same ids,
// and the learned tokens decode to exactly the assistant text of each
// conversation (written out here), end-of-turn tokens included.
static void test_llama3_learned_text(void) {
    const char *dir = lt_test_path("cache/llama3");
    if (!lt_path_exists(dir)) {
        LT_SKIP("%s is missing (run scripts/fetch-test-data.sh)", dir);
        return;
    }
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(lt_tokenizer_load(&tok, dir));
    if (!tok) return;
    const char *learned[] = {"<think>\n2 plus 3 is 5.\n</think>\n\nAnswer: 5<|eot_id|>",
                             "Answer: 3<|eot_id|>",
                             "<think>\nSmallest first.\n</think>\n\nAnswer: 1 2 3<|eot_id|>",
                             "Hello.<|eot_id|>The answer is 42.<|eot_id|>"};
    lt_chat_read_opts o = read_opts(tok, 256, false);
    lt_chat_dataset *a = NULL, *b = NULL;
    LT_CHECK_OK(
        lt_chat_dataset_load(&a, lt_test_path("tests/fixtures/chat/openai.jsonl"), &o, NULL, NULL));
    LT_CHECK_OK(lt_chat_dataset_load(&b, lt_test_path("tests/fixtures/chat/nemotron.jsonl"), &o,
                                     NULL, NULL));
    for (size_t i = 0; a && b && i < 4; i++) {
        size_t na, nb;
        const uint8_t *ma;
        const int32_t *ia = lt_chat_dataset_example(a, i, &na, &ma, NULL);
        const int32_t *ib = lt_chat_dataset_example(b, i, &nb, NULL, NULL);
        LT_CHECK_MSG(na == nb && memcmp(ia, ib, na * sizeof *ia) == 0, "example %zu", i);
        lt_bytes text = {0};
        for (size_t t = 0; t < na; t++)
            if (ma[t]) LT_CHECK_OK(lt_tokenizer_decode(tok, &ia[t], 1, 0, &text));
        LT_CHECK_OK(lt_bytes_append(&text, "", 0));
        LT_CHECK_STR(text.data, learned[i]);
        lt_bytes_free(&text);
    }
    lt_chat_dataset_free(a);
    lt_chat_dataset_free(b);
    lt_tokenizer_free(tok);
}

// The parser's normalised messages, without a tokenizer.
static void test_parse_forms(void) {
    const lt_chat_template *t = lt_chat_template_get("llama3");
    lt_chat_conv c;
    const char *line = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                       "{\"role\":\"assistant\",\"content\":\"a\"}]}";
    LT_CHECK_OK(lt_chat_parse_line(&c, line, strlen(line), t, "x:1"));
    LT_CHECK_INT(c.n, 2); // no system message given, none made up: off by the rule
    if (c.n == 2) {
        LT_CHECK_STR(c.messages[1].content, "a");
        LT_CHECK(c.messages[1].reasoning == NULL);
    }
    lt_chat_conv_free(&c);
    // A Nemotron row's "reasoning" decides the toggle; other system text follows it.
    line = "{\"input\":[{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\","
           "\"content\":\"q\"}],\"output\":\"<think>\\nr\\n</think>\\n\\na\",\"reasoning\":\"on\","
           "\"system_prompt\":\"You help.\"}";
    LT_CHECK_OK(lt_chat_parse_line(&c, line, strlen(line), t, "x:2"));
    LT_CHECK_INT(c.n, 3);
    if (c.n == 3) {
        LT_CHECK_STR(c.messages[0].role, "system");
        LT_CHECK_STR(c.messages[0].content, "detailed thinking on\n\nYou help.\n\nBe kind.");
        LT_CHECK_STR(c.messages[2].role, "assistant");
        LT_CHECK_STR(c.messages[2].reasoning, "\nr\n");
        LT_CHECK_STR(c.messages[2].content, "\n\na");
    }
    lt_chat_conv_free(&c);
    // An empty thinking section in "off" mode is dropped, not an error.
    line = "{\"input\":\"q\",\"output\":\"<think>\\n\\n</think>\\n\\na\",\"reasoning\":\"off\"}";
    LT_CHECK_OK(lt_chat_parse_line(&c, line, strlen(line), t, "x:3"));
    if (c.n == 3) {
        LT_CHECK_STR(c.messages[0].content, "detailed thinking off");
        LT_CHECK(c.messages[2].reasoning == NULL);
    }
    lt_chat_conv_free(&c);
    line = "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking on\"},"
           "{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":"
           "\"<think>a</think>b\",\"reasoning_content\":\"c\"}]}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:4"), LT_ERR_FORMAT,
                 "x:4: messages[2] gives its thinking twice");
    line = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\","
           "\"content\":\"<think>never closed\"}]}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:5"), LT_ERR_FORMAT,
                 "x:5: messages[1] opens <think> but never closes it");
    line = "{\"output\":\"a\"}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:6"), LT_ERR_FORMAT,
                 "x:6: the row has no 'input'");
    line = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"system\","
           "\"content\":\"s\"},{\"role\":\"assistant\",\"content\":\"a\"}]}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:8"), LT_ERR_FORMAT,
                 "x:8: message 1: a system message may only come first");
    line = "{\"messages\":[{\"role\":\"user\",\"content\":\"q\",\"reasoning_content\":\"r\"},"
           "{\"role\":\"assistant\",\"content\":\"a\"}]}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:9"), LT_ERR_FORMAT,
                 "x:9: messages[0]: only assistant messages carry 'reasoning_content'");
    line = "{\"messages\":[{\"content\":\"q\"}]}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:10"), LT_ERR_FORMAT,
                 "x:10: messages[0] has no 'role'");
    line =
        "{\"input\":\"<|start_header_id|>bot<|end_header_id|>\\n\\nq<|eot_id|>\",\"output\":\"a\"}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:11"), LT_ERR_FORMAT,
                 "x:11: 'input': unknown role 'bot'");
    line = "{\"input\":\"q\",\"output\":7}";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:12"), LT_ERR_FORMAT,
                 "x:12: the row: 'output' is not a string");
    line = "[1, 2]";
    LT_CHECK_ERR(lt_chat_parse_line(&c, line, strlen(line), t, "x:7"), LT_ERR_FORMAT,
                 "x:7: a line must be a JSON object");
}

// ---------------------------------------------------------------- bad input

static void check_bad(const char *file, lt_code code, const char *needle) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    char rel[256], want[512];
    snprintf(rel, sizeof rel, "tests/fixtures/chat/%s", file);
    const char *path = lt_test_path(rel);
    snprintf(want, sizeof want, "%s:3: %s", path, needle);
    lt_chat_read_opts o = read_opts(tok, 256, false);
    lt_chat_dataset *d = (lt_chat_dataset *)&o; // must come back NULL
    LT_CHECK_ERR(lt_chat_dataset_load(&d, path, &o, NULL, NULL), code, want);
    LT_CHECK(d == NULL);
    // With skip_bad the same file loads its two good lines and counts the bad one.
    o.skip_bad = true;
    lt_chat_read_stats st;
    char *first = NULL;
    LT_CHECK_OK(lt_chat_dataset_load(&d, path, &o, &st, &first));
    LT_CHECK_INT(st.n_examples, 2);
    LT_CHECK_INT(st.n_skipped, 1);
    LT_CHECK_MSG(first && strstr(first, want), "first skip '%s', expected '%s'",
                 first ? first : "(none)", want);
    lt_free(first);
    lt_chat_dataset_free(d);
    lt_tokenizer_free(tok);
}

static void test_bad_json(void) { check_bad("bad_json.jsonl", LT_ERR_FORMAT, "invalid JSON"); }
static void test_bad_no_messages(void) {
    check_bad("bad_no_messages.jsonl", LT_ERR_FORMAT, "no 'messages'");
}
static void test_bad_role(void) {
    check_bad("bad_role.jsonl", LT_ERR_FORMAT, "messages[1]: unknown role 'bot'");
}
static void test_bad_no_assistant(void) {
    check_bad("bad_no_assistant.jsonl", LT_ERR_FORMAT, "no assistant turn");
}
static void test_bad_content(void) {
    check_bad("bad_content.jsonl", LT_ERR_FORMAT, "messages[1]: 'content' is not a string");
}
static void test_bad_long(void) {
    // BOS 1 + user turn 15 + assistant turn 14 + the 289 bytes of "0 1 ... 99".
    check_bad("bad_long.jsonl", LT_ERR_RANGE,
              "example has 319 tokens, more than the context of 256");
}
static void test_bad_think_off(void) {
    check_bad("bad_think_off.jsonl", LT_ERR_FORMAT, "message 2: thinking given");
}
static void test_bad_reasoning_flag(void) {
    check_bad("bad_reasoning_flag.jsonl", LT_ERR_FORMAT, "'reasoning' is 'maybe'");
}
static void test_bad_toggle_conflict(void) {
    check_bad("bad_toggle_conflict.jsonl", LT_ERR_FORMAT,
              "the row asks for reasoning on, but its system text says 'detailed thinking off'");
}

// Several bad lines among good ones: the first stops a strict load; skip_bad
// keeps the good ones (lines 1, 3, 6, 8) and counts the rest.
static void test_skip_bad_counts(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    const char *path = lt_test_path("tests/fixtures/chat/mixed.jsonl");
    lt_chat_read_opts o = read_opts(tok, 256, false);
    lt_chat_dataset *d = NULL;
    LT_CHECK_ERR(lt_chat_dataset_load(&d, path, &o, NULL, NULL), LT_ERR_FORMAT,
                 "mixed.jsonl:2: invalid JSON");
    o.skip_bad = true;
    lt_chat_read_stats st;
    LT_CHECK_OK(lt_chat_dataset_load(&d, path, &o, &st, NULL));
    LT_CHECK_INT(st.n_lines, 8);
    LT_CHECK_INT(st.n_skipped, 4);
    LT_CHECK_INT(st.n_examples, 4);
    const uint64_t lines[] = {1, 3, 6, 8};
    for (size_t i = 0; d && i < 4; i++) {
        size_t n;
        uint64_t line;
        lt_chat_dataset_example(d, i, &n, NULL, &line);
        LT_CHECK_INT(line, lines[i]);
    }
    lt_chat_dataset_free(d);
    // A file with nothing usable fails even with skip_bad.
    d = NULL;
    LT_CHECK_ERR(lt_chat_dataset_load(
                     &d, lt_test_path("tests/fixtures/chat/bad_long.jsonl"),
                     &(lt_chat_read_opts){.tokenizer = tok, .max_tokens = 20, .skip_bad = true},
                     &st, NULL),
                 LT_ERR_FORMAT, "no usable conversation (3 lines, 3 skipped)");
    LT_CHECK(d == NULL);
    lt_tokenizer_free(tok);
}

// ---------------------------------------------------------------- packing

// A dataset of one-turn conversations whose answers have the given lengths:
// each renders to 25 + answer length tokens (BOS; SH "user" EH "\n\nx" EOT:
// 10; SH "assistant" EH "\n\n" ... EOT: 14).
static lt_chat_dataset *sized_dataset(lt_tokenizer *tok, const int *answer_len, int n) {
    lt_chat_read_opts o = read_opts(tok, 0, false);
    lt_chat_dataset *d = NULL;
    LT_CHECK_OK(lt_chat_dataset_init(&d, &o, "sized"));
    char answer[1024];
    for (int i = 0; d && i < n; i++) {
        for (int k = 0; k < answer_len[i]; k++) answer[k] = (char)('a' + (i + k) % 26);
        answer[answer_len[i]] = 0;
        lt_chat_message m[2] = {{"user", "x", NULL}, {"assistant", answer, NULL}};
        LT_CHECK_OK(lt_chat_dataset_add(d, m, 2, (uint64_t)i + 1, "sized"));
    }
    return d;
}

static void test_first_fit(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    // Lengths 70, 60, 50, 40, 30 into rows of 120: 70 opens row 0, 60 row 1,
    // 50 fills row 0, 40 goes to row 1 (20 left), 30 fits nowhere: row 2.
    const int answers[] = {45, 35, 25, 15, 5};
    lt_chat_dataset *d = sized_dataset(tok, answers, 5);
    for (size_t i = 0; d && i < 5; i++) {
        size_t n;
        lt_chat_dataset_example(d, i, &n, NULL, NULL);
        LT_CHECK_INT(n, 70 - 10 * (int)i);
    }
    uint32_t order[5] = {0, 1, 2, 3, 4};
    lt_chat_packing p;
    if (d) LT_CHECK_OK(lt_chat_pack(d, order, 5, 120, &p));
    if (d && p.n_rows == 3) {
        const size_t starts[] = {0, 2, 4, 5};
        const uint32_t examples[] = {0, 2, 1, 3, 4};
        for (int r = 0; r <= 3; r++) LT_CHECK_INT(p.row_start[r], starts[r]);
        for (int k = 0; k < 5; k++) LT_CHECK_INT(p.example[k], examples[k]);
    } else {
        LT_FAIL_("expected 3 rows");
    }
    if (d) lt_chat_packing_free(&p);
    // An example longer than the row is refused, naming the dataset and line.
    if (d) LT_CHECK_ERR(lt_chat_pack(d, order, 5, 65, &p), LT_ERR_RANGE, "sized:1: example has 70");
    lt_chat_dataset_free(d);
    lt_tokenizer_free(tok);
}

// Every example comes back whole from the packed rows, once: each segment of
// each row is one example's ids, positions 0.. within it, no segment crosses
// rows, padding has target ignored, and the token counts add up.
static void check_rows(const lt_chat_dataset *d, const lt_chat_packing *p, int32_t pad, int *seen) {
    int64_t T = p->T;
    int32_t *ids = malloc((size_t)T * 16);
    int32_t *targets = ids + T, *segments = ids + 2 * T, *positions = ids + 3 * T;
    uint64_t tokens = 0;
    for (size_t r = 0; r < p->n_rows; r++) {
        lt_chat_fill_row(d, p, r, pad, ids, targets, segments, positions);
        LT_CHECK_INT(segments[0], 0);
        LT_CHECK_INT(positions[0], 0);
        int64_t t = 0;
        int32_t seg = 0;
        for (size_t k = p->row_start[r]; k < p->row_start[r + 1]; k++, seg++) {
            size_t n;
            const uint8_t *mask;
            const int32_t *x = lt_chat_dataset_example(d, p->example[k], &n, &mask, NULL);
            seen[p->example[k]]++;
            for (size_t j = 0; j < n; j++, t++) {
                if (ids[t] != x[j] || segments[t] != seg || positions[t] != (int32_t)j) {
                    LT_FAIL_("row %zu token %lld: id %d seg %d pos %d, expected %d %d %zu", r,
                             (long long)t, ids[t], segments[t], positions[t], x[j], seg, j);
                    goto out;
                }
                int32_t want = j + 1 < n && mask[j + 1] ? x[j + 1] : LT_CHAT_IGNORE;
                if (targets[t] != want) {
                    LT_FAIL_("row %zu token %lld: target %d, expected %d", r, (long long)t,
                             targets[t], want);
                    goto out;
                }
            }
            tokens += n;
        }
        for (; t < T; t++)
            if (ids[t] != pad || targets[t] != LT_CHAT_IGNORE || segments[t] != seg) {
                LT_FAIL_("row %zu token %lld: padding id %d target %d seg %d", r, (long long)t,
                         ids[t], targets[t], segments[t]);
                goto out;
            }
    }
    LT_CHECK_INT(tokens, lt_chat_dataset_n_tokens(d));
out:
    free(ids);
}

static void test_packing_boundaries(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    enum { N = 300, T = 128 };
    int answers[N];
    lt_rng r;
    lt_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) answers[i] = 1 + (int)lt_rng_below(&r, 100); // 26..125 tokens
    lt_chat_dataset *d = sized_dataset(tok, answers, N);
    uint32_t order[N];
    for (int i = 0; i < N; i++) order[i] = (uint32_t)(N - 1 - i);
    lt_chat_packing p;
    if (d) LT_CHECK_OK(lt_chat_pack(d, order, N, T, &p));
    if (d && p.n_rows) {
        int seen[N] = {0};
        check_rows(d, &p, EOT, seen);
        for (int i = 0; i < N; i++)
            LT_CHECK_MSG(seen[i] == 1, "example %d seen %d times", i, seen[i]);
        // First-fit fills rows: no two rows could have been merged.
        LT_CHECK(p.n_rows >= (lt_chat_dataset_n_tokens(d) + T - 1) / T);
        lt_chat_packing_free(&p);
    }
    lt_chat_dataset_free(d);
    lt_tokenizer_free(tok);
}

// ---------------------------------------------------------------- loader

static void test_loader_epochs(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    enum { N = 60, T = 96, B = 3 };
    int answers[N];
    for (int i = 0; i < N; i++) answers[i] = 1 + (i * 37) % 60;
    lt_chat_dataset *d = sized_dataset(tok, answers, N);
    if (!d) goto out;
    lt_loader *l = NULL, *again = NULL;
    lt_chat_loader_opts o = {
        .datasets = &d, .n_sources = 1, .B = B, .T = T, .seed = 11, .pad_id = PAD};
    LT_CHECK_OK(lt_chat_loader_open(&l, &o));
    LT_CHECK_OK(lt_chat_loader_open(&again, &o));
    if (!l || !again) goto close;
    // One epoch's rows hold every example's tokens once: count learned targets.
    size_t rows = lt_loader_epoch_rows(l, 0);
    uint64_t want_targets = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n;
        const uint8_t *m;
        lt_chat_dataset_example(d, i, &n, &m, NULL);
        for (size_t j = 1; j < n; j++) want_targets += m[j];
    }
    int32_t ids[B * T], targets[B * T], seg[B * T], pos[B * T];
    int32_t ids2[B * T], targets2[B * T];
    uint64_t got_targets = 0, got_rows = 0, same = 1;
    while (got_rows < rows) {
        LT_CHECK_OK(lt_loader_next(l, ids, targets, seg, pos));
        LT_CHECK_OK(lt_loader_next(again, ids2, targets2, NULL, NULL));
        same &= memcmp(ids, ids2, sizeof ids) == 0 && memcmp(targets, targets2, sizeof ids) == 0;
        for (int b = 0; b < B && got_rows < rows; b++, got_rows++)
            for (int t = 0; t < T; t++) got_targets += targets[b * T + t] != LT_CHAT_IGNORE;
    }
    LT_CHECK(same); // the same seed gives the same batches
    // The highest id is the end-of-turn token (259): a 259-row model is too small.
    LT_CHECK_INT(lt_chat_dataset_max_id(d), EOT);
    LT_CHECK_OK(lt_loader_check_vocab(l, EOT + 1));
    LT_CHECK_ERR(lt_loader_check_vocab(l, EOT), LT_ERR_RANGE, "sized: token id 259");
    LT_CHECK_INT(got_targets, want_targets);
    LT_CHECK_INT(lt_loader_epoch(l, 0), rows % B == 0 ? 0 : 1);
    LT_CHECK_INT(lt_loader_rows_drawn(l), ((rows + B - 1) / B) * B);
close:
    lt_loader_close(l);
    lt_loader_close(again);
    // A dataset with an example longer than T cannot be loaded at that T.
    o.T = 40;
    l = NULL;
    LT_CHECK_ERR(lt_chat_loader_open(&l, &o), LT_ERR_RANGE, "more than the context of 40");
    LT_CHECK(l == NULL);
out:
    lt_chat_dataset_free(d);
    lt_tokenizer_free(tok);
}

// `--data on.jsonl:0.3 --data off.jsonl:0.7`: over many rows each source's
// share stays within 5 standard deviations of its weight.
static void test_blend_proportions(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    char *path_on = NULL, *path_off = NULL;
    double w[2];
    LT_CHECK_OK(lt_data_spec_parse("on.jsonl:0.3", &path_on, &w[0]));
    LT_CHECK_OK(lt_data_spec_parse("off.jsonl:0.7", &path_off, &w[1]));
    LT_CHECK_STR(path_on, "on.jsonl");
    lt_free(path_on);
    lt_free(path_off);
    const int a_len[] = {5, 10, 15}, b_len[] = {3, 30};
    lt_chat_dataset *ds[2] = {sized_dataset(tok, a_len, 3), sized_dataset(tok, b_len, 2)};
    lt_loader *l = NULL;
    enum { B = 50, T = 64, BATCHES = 400 };
    lt_chat_loader_opts o = {
        .datasets = ds, .weights = w, .n_sources = 2, .B = B, .T = T, .seed = 3, .pad_id = PAD};
    if (ds[0] && ds[1]) LT_CHECK_OK(lt_chat_loader_open(&l, &o));
    if (l) {
        LT_CHECK_CLOSE(lt_loader_weight(l, 0), 0.3, 1e-12, 0);
        static int32_t ids[B * T], targets[B * T];
        long count = 0, n = (long)B * BATCHES;
        for (int k = 0; k < BATCHES; k++) {
            LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL));
            for (int b = 0; b < B; b++) count += lt_loader_row_sources(l)[b] == 0;
        }
        double mean = 0.3 * (double)n, sd = sqrt((double)n * 0.3 * 0.7);
        LT_CHECK_MSG(fabs((double)count - mean) <= 5 * sd,
                     "source 0 drew %ld of %ld rows, "
                     "expected %.0f +- %.0f",
                     count, n, mean, 5 * sd);
        LT_CHECK(lt_loader_epoch(l, 0) > 100); // many epochs of the small sources
    }
    lt_loader_close(l);
    o.weights = (double[]){0.5, 0};
    LT_CHECK_ERR(lt_chat_loader_open(&l, &o), LT_ERR_ARG, "weight 0 must be a finite number");
    lt_chat_dataset_free(ds[0]);
    lt_chat_dataset_free(ds[1]);
    lt_tokenizer_free(tok);
}

// A saved cursor resumes exactly: the rows after restoring (with another B)
// equal the rows the saving loader drew next; a cursor for other data, other
// weights or a damaged one is refused and leaves the loader as it was.
static void test_loader_resume(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    enum { T = 64, ROWS = 12 };
    const int a_len[] = {5, 10, 15, 20, 25, 30, 35}, b_len[] = {3, 30, 12, 1};
    lt_chat_dataset *ds[2] = {sized_dataset(tok, a_len, 7), sized_dataset(tok, b_len, 4)};
    double w[2] = {0.6, 0.4};
    lt_chat_loader_opts o = {
        .datasets = ds, .weights = w, .n_sources = 2, .B = 3, .T = T, .seed = 5, .pad_id = PAD};
    lt_loader *l = NULL, *r = NULL;
    uint8_t *state = NULL;
    size_t len = 0;
    static int32_t ids[ROWS * T], tg[ROWS * T], seg[ROWS * T], ids2[ROWS * T], tg2[ROWS * T],
        seg2[ROWS * T];
    if (!ds[0] || !ds[1]) goto out;
    LT_CHECK_OK(lt_chat_loader_open(&l, &o));
    o.B = 2;
    LT_CHECK_OK(lt_chat_loader_open(&r, &o));
    if (!l || !r) goto out;
    for (int k = 0; k < 5; k++) LT_CHECK_OK(lt_loader_next(l, ids, tg, seg, NULL));
    LT_CHECK_ERR(lt_loader_state_save(l, NULL, 0, &len), LT_ERR_RANGE, "needs");
    LT_CHECK_INT(len, lt_loader_state_size(l));
    state = malloc(len);
    LT_CHECK_OK(lt_loader_state_save(l, state, len, &len));
    for (int k = 0; k < ROWS / 3; k++)
        LT_CHECK_OK(lt_loader_next(l, ids + k * 3 * T, tg + k * 3 * T, seg + k * 3 * T, NULL));
    LT_CHECK_OK(lt_loader_state_load(r, state, len));
    LT_CHECK_INT(lt_loader_rows_drawn(r), 15);
    for (int k = 0; k < ROWS / 2; k++)
        LT_CHECK_OK(lt_loader_next(r, ids2 + k * 2 * T, tg2 + k * 2 * T, seg2 + k * 2 * T, NULL));
    LT_CHECK(memcmp(ids, ids2, sizeof ids) == 0);
    LT_CHECK(memcmp(tg, tg2, sizeof tg) == 0);
    LT_CHECK(memcmp(seg, seg2, sizeof seg) == 0);

    // Refusals, each leaving r where it was: it still draws what l draws next.
    state[len - 9] ^= 1;
    LT_CHECK_ERR(lt_loader_state_load(r, state, len), LT_ERR_FORMAT, "checksum mismatch");
    state[len - 9] ^= 1;
    LT_CHECK_ERR(lt_loader_state_load(r, state, len - 1), LT_ERR_FORMAT, "truncated");
    // Source 1 (4 examples of 26..55 tokens: at most 3 rows of 64) at row 4:
    // found only after source 0 has been moved, which must be undone.
    uint8_t *bad = malloc(len);
    memcpy(bad, state, len);
    lt_store_u64(bad + 72 + 48 + 40, 4);
    lt_store_u64(bad + len - 8, lt_fnv1a64(LT_FNV_OFFSET, bad, len - 8));
    LT_CHECK_ERR(lt_loader_state_load(r, bad, len), LT_ERR_FORMAT,
                 "dataset 1 (sized) is at row 4 of an epoch of");
    free(bad);
    lt_loader *other = NULL;
    o.weights = (double[]){0.5, 0.5};
    LT_CHECK_OK(lt_chat_loader_open(&other, &o));
    if (other)
        LT_CHECK_ERR(lt_loader_state_load(other, state, len), LT_ERR_ARG,
                     "had weight 0.6 of the blend, now 0.5");
    lt_loader_close(other);
    other = NULL;
    const int c_len[] = {5, 10, 15, 20, 25, 30, 36};
    lt_chat_dataset *changed = sized_dataset(tok, c_len, 7);
    lt_chat_dataset *ds2[2] = {changed, ds[1]};
    o.weights = w;
    o.datasets = ds2;
    if (changed) LT_CHECK_OK(lt_chat_loader_open(&other, &o));
    if (other)
        LT_CHECK_ERR(lt_loader_state_load(other, state, len), LT_ERR_ARG,
                     "dataset 0 (sized) was 7 examples of");
    lt_loader_close(other);
    lt_chat_dataset_free(changed);
    LT_CHECK_OK(lt_loader_next(l, ids, tg, NULL, NULL));
    LT_CHECK_OK(lt_loader_next(r, ids2, tg2, NULL, NULL));
    LT_CHECK_OK(lt_loader_next(r, ids2 + 2 * T, tg2 + 2 * T, NULL, NULL));
    LT_CHECK(memcmp(ids, ids2, 3 * T * sizeof *ids) == 0);
out:
    free(state);
    lt_loader_close(l);
    lt_loader_close(r);
    lt_chat_dataset_free(ds[0]);
    lt_chat_dataset_free(ds[1]);
    lt_tokenizer_free(tok);
}

int main(void) {
    LT_RUN(test_openai_targets);
    LT_RUN(test_nemotron_same_ids);
    LT_RUN(test_llama3_learned_text);
    LT_RUN(test_parse_forms);
    LT_RUN(test_bad_json);
    LT_RUN(test_bad_no_messages);
    LT_RUN(test_bad_role);
    LT_RUN(test_bad_no_assistant);
    LT_RUN(test_bad_content);
    LT_RUN(test_bad_long);
    LT_RUN(test_bad_think_off);
    LT_RUN(test_bad_reasoning_flag);
    LT_RUN(test_bad_toggle_conflict);
    LT_RUN(test_skip_bad_counts);
    LT_RUN(test_first_fit);
    LT_RUN(test_packing_boundaries);
    LT_RUN(test_loader_epochs);
    LT_RUN(test_blend_proportions);
    LT_RUN(test_loader_resume);
    return lt_test_finish();
}
