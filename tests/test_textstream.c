// test_textstream.c: incremental detokenization on a tiny hand-built
// byte-level tokenizer where we control how "<think>" splits ("<th" "ink"
// ">", or one added token): the text of every push is written down by hand;
// multi-byte characters split across tokens (é as two byte tokens, an emoji
// as four) and ill-formed bytes (U+FFFD per maximal subpart, as Unicode's
// chapter 3 examples give); stop strings across tokens, false alarms and
// stop tokens; the thinking budget reached at exactly N tokens and the forced
// close; the three thinking modes; and, as an independent check, whole texts
// parsed in one go by a separate function here against the same texts fed
// one byte per token and as encoded tokens.
#include "base/json.h"
#include "lathe/textstream.h"
#include "lt_test.h"
#include "lt_tok_test.h"
#include "tokenizer/tok_internal.h"

// ---------------------------------------------------------------- the tokenizer

// Ids 0..255 are the bytes 0..255 (no merges), then model tokens made of
// several bytes, then added tokens: 300 "<think>", 301 "</think>" (not
// special, unless specials_markers), 302 "<|eot_id|>" and 303 "<|x|>"
// (special). Ids 270..299 are unused.
static const char *const MODEL_TOKENS[] = {"<th",    "ink",   "</",     "think", "Let",  " me",
                                           " think", "Hello", " world", "\n\n",  "</th", "ans"};
enum { N_MODEL_TOKENS = sizeof MODEL_TOKENS / sizeof *MODEL_TOKENS };

static lt_tokenizer *build_tokenizer(bool special_markers) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *added = cJSON_AddArrayToObject(doc, "added_tokens");
    const char *contents[] = {"<think>", "</think>", "<|eot_id|>", "<|x|>"};
    for (int i = 0; i < 4; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 300 + i);
        cJSON_AddStringToObject(a, "content", contents[i]);
        cJSON_AddBoolToObject(a, "special", i >= 2 || special_markers);
        cJSON_AddBoolToObject(a, "lstrip", false);
        cJSON_AddBoolToObject(a, "rstrip", false);
        cJSON_AddBoolToObject(a, "normalized", false);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(doc, "normalizer");
    cJSON *bl = cJSON_AddObjectToObject(doc, "pre_tokenizer");
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", false);
    cJSON_AddBoolToObject(bl, "use_regex", true);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "decoder"), "type", "ByteLevel");
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddBoolToObject(model, "ignore_merges", true);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    add_byte_vocab(vocab);
    for (int i = 0; i < N_MODEL_TOKENS; i++) {
        char *s = spell(MODEL_TOKENS[i], strlen(MODEL_TOKENS[i]));
        cJSON_AddNumberToObject(vocab, s, 256 + i);
        free(s);
    }
    cJSON_AddArrayToObject(model, "merges");
    return tokenizer_from_doc(doc, "textstream-test.json");
}

static lt_tokenizer *TOK;     // markers not special
static lt_tokenizer *TOK_SPM; // markers special

enum { THINK = 300, END_THINK = 301, EOT = 302, SPECIAL_X = 303 };

// The id of a model or added token given by its text, or of a single byte.
static int32_t id_of(const char *piece) {
    int32_t id = lt_tokenizer_find(TOK, piece, strlen(piece));
    LT_CHECK_MSG(id >= 0, "no token \"%s\" in the test vocabulary", piece);
    return id;
}

// ---------------------------------------------------------------- helpers

static lt_textstream *open_stream(lt_think_mode mode, int32_t budget, const char *const *stops,
                                  int n_stops) {
    lt_textstream_opts o = lt_textstream_opts_default();
    o.think = mode;
    o.think_budget = budget;
    o.stop_strings = stops;
    o.n_stop_strings = n_stops;
    const int32_t stop_tokens[1] = {EOT};
    o.stop_tokens = stop_tokens;
    o.n_stop_tokens = 1;
    lt_textstream *ts = NULL;
    LT_CHECK_OK(lt_textstream_init(&ts, TOK, &o));
    return ts;
}

static bool delta_is(const lt_textstream_delta *d, const char *reasoning, const char *content) {
    return d->n_reasoning == strlen(reasoning) &&
           memcmp(d->reasoning, reasoning, d->n_reasoning) == 0 &&
           d->n_content == strlen(content) && memcmp(d->content, content, d->n_content) == 0;
}

// Pushes one token and checks the text it releases.
#define PUSH(ts, id, forced, want_reasoning, want_content)                                        \
    do {                                                                                          \
        lt_textstream_delta d_ = {"", 0, "", 0, LT_STOP_NONE, false};                             \
        int32_t id_ = (id);                                                                       \
        LT_CHECK_OK(lt_textstream_push(ts, id_, forced, &d_));                                    \
        LT_CHECK_MSG(delta_is(&d_, want_reasoning, want_content),                                 \
                     "push %ld: got reasoning \"%.*s\" content \"%.*s\", expected \"%s\" / "      \
                     "\"%s\"",                                                                    \
                     (long)id_, (int)d_.n_reasoning, d_.reasoning, (int)d_.n_content, d_.content, \
                     want_reasoning, want_content);                                               \
    } while (0)

#define P(ts, piece, want_reasoning, want_content) \
    PUSH(ts, id_of(piece), false, want_reasoning, want_content)

#define FINISH(ts, want_reasoning, want_content)                                                  \
    do {                                                                                          \
        lt_textstream_delta d_ = {"", 0, "", 0, LT_STOP_NONE, false};                             \
        LT_CHECK_OK(lt_textstream_finish(ts, &d_));                                               \
        LT_CHECK_MSG(delta_is(&d_, want_reasoning, want_content),                                 \
                     "finish: got reasoning \"%.*s\" content \"%.*s\", expected \"%s\" / \"%s\"", \
                     (int)d_.n_reasoning, d_.reasoning, (int)d_.n_content, d_.content,            \
                     want_reasoning, want_content);                                               \
    } while (0)

static void check_texts(const lt_textstream *ts, const char *reasoning, const char *content) {
    size_t nr, nc;
    const char *r = lt_textstream_reasoning(ts, &nr), *c = lt_textstream_content(ts, &nc);
    LT_CHECK_MSG(nr == strlen(reasoning) && memcmp(r, reasoning, nr) == 0,
                 "whole reasoning \"%s\", expected \"%s\"", r, reasoning);
    LT_CHECK_MSG(nc == strlen(content) && memcmp(c, content, nc) == 0,
                 "whole content \"%s\", expected \"%s\"", c, content);
}

// ---------------------------------------------------------------- thinking

static void test_plain_content(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "Hello", "", "Hello");
    P(ts, " world", "", " world");
    FINISH(ts, "", "");
    check_texts(ts, "", "Hello world");
    lt_textstream_stats st = lt_textstream_get_stats(ts);
    LT_CHECK(!st.thought && !st.thinking);
    LT_CHECK_INT(st.n_tokens, 2);
    LT_CHECK_INT(st.stop, LT_STOP_FINISHED);
    lt_textstream_free(ts);
}

static void test_markers_split_over_tokens(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "<th", "", "");
    P(ts, "ink", "", "");
    P(ts, ">", "", "");
    LT_CHECK(lt_textstream_get_stats(ts).thinking);
    P(ts, "\n", "", ""); // the template's newline after <think>
    P(ts, "Let", "Let", "");
    P(ts, " me", " me", "");
    P(ts, " think", " think", "");
    P(ts, ".", ".", "");
    P(ts, "\n", "", ""); // could precede </think>
    P(ts, "</", "", "");
    P(ts, "think", "", "");
    P(ts, ">", "", "");
    P(ts, "\n\n", "", "");
    P(ts, "Hello", "", "Hello");
    check_texts(ts, "Let me think.", "Hello");
    lt_textstream_stats st = lt_textstream_get_stats(ts);
    LT_CHECK(st.thought && !st.thinking);
    // from "\n" after the opening to the ">" that closes: 9 tokens
    LT_CHECK_INT(st.n_thinking_tokens, 9);
    LT_CHECK_INT(st.n_tokens, 14);
    lt_textstream_free(ts);
}

static void test_markers_as_added_tokens(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "\n", "", "");
    P(ts, "Let", "Let", "");
    P(ts, " me", " me", "");
    PUSH(ts, END_THINK, false, "", "");
    P(ts, "\n\n", "", "");
    P(ts, "Hello", "", "Hello");
    check_texts(ts, "Let me", "Hello");
    LT_CHECK_INT(lt_textstream_get_stats(ts).n_thinking_tokens, 4);
    lt_textstream_free(ts);
}

static void test_markers_as_special_tokens(void) {
    // A tokenizer that marks <think> special: its text still counts.
    lt_textstream_opts o = lt_textstream_opts_default();
    lt_textstream *ts = NULL;
    LT_CHECK_OK(lt_textstream_init(&ts, TOK_SPM, &o));
    if (!ts) return;
    LT_CHECK(lt_tokenizer_is_special(TOK_SPM, THINK));
    PUSH(ts, THINK, false, "", "");
    PUSH(ts, 'x', false, "x", "");
    PUSH(ts, SPECIAL_X, false, "", "");
    PUSH(ts, END_THINK, false, "", "");
    PUSH(ts, 'y', false, "", "y");
    check_texts(ts, "x", "y");
    lt_textstream_free(ts);
}

static void test_detect_holds_only_possible_openings(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "\n\n", "", ""); // leading whitespace: still undecided
    P(ts, "<", "", "");    // "<" could begin "<think>"
    P(ts, "b", "", "<b");  // "<b" cannot: content, leading whitespace dropped
    P(ts, ">", "", ">");
    PUSH(ts, THINK, false, "", "<think>"); // past the start: plain content
    PUSH(ts, END_THINK, false, "", "</think>");
    check_texts(ts, "", "<b><think></think>");
    LT_CHECK(!lt_textstream_get_stats(ts).thought);
    lt_textstream_free(ts);
    // whitespace before the opening is allowed (and dropped)
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, " ", "", "");
    P(ts, "\n", "", "");
    PUSH(ts, THINK, false, "", "");
    P(ts, "ans", "ans", "");
    FINISH(ts, "", "");
    check_texts(ts, "ans", "");
    lt_textstream_free(ts);
}

static void test_off_mode_section(void) {
    // Decision (textstream.h): in DETECT mode a section at the start of the
    // answer is reasoning whatever the reasoning toggle said — a model told
    // "detailed thinking off" that thinks anyway gets its thoughts reported
    // as reasoning, and the content never carries raw markers.
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "\n", "", "");
    PUSH(ts, END_THINK, false, "", "");
    P(ts, "\n\n", "", "");
    P(ts, "Hello", "", "Hello");
    check_texts(ts, "", "Hello");
    LT_CHECK(lt_textstream_get_stats(ts).thought);
    lt_textstream_free(ts);
    // LT_THINK_NONE (raw completion): markers are text, nothing is trimmed
    ts = open_stream(LT_THINK_NONE, -1, NULL, 0);
    if (!ts) return;
    P(ts, "\n", "", "\n");
    PUSH(ts, THINK, false, "", "<think>");
    P(ts, "<th", "", "<th");
    P(ts, "Let", "", "Let");
    PUSH(ts, END_THINK, false, "", "</think>");
    check_texts(ts, "", "\n<think><thLet</think>");
    LT_CHECK(!lt_textstream_get_stats(ts).thought);
    lt_textstream_free(ts);
}

static void test_open_mode(void) {
    lt_textstream *ts = open_stream(LT_THINK_OPEN, -1, NULL, 0);
    if (!ts) return;
    LT_CHECK(lt_textstream_get_stats(ts).thinking);
    P(ts, "Let", "Let", "");
    P(ts, " me", " me", "");
    P(ts, "</th", "", "");
    P(ts, "ink", "", "");
    P(ts, ">", "", "");
    P(ts, "\n\n", "", "");
    P(ts, "Hello", "", "Hello");
    check_texts(ts, "Let me", "Hello");
    LT_CHECK_INT(lt_textstream_get_stats(ts).n_thinking_tokens, 5);
    lt_textstream_free(ts);
}

static void test_reasoning_whitespace(void) {
    // inner whitespace stays; trailing whitespace waits for what follows
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "\n\n", "", "");
    P(ts, "a", "a", "");
    P(ts, "\n\n", "", "");
    P(ts, "b", "\n\nb", "");
    P(ts, " ", "", "");
    P(ts, "\n", "", "");
    PUSH(ts, END_THINK, false, "", "");
    P(ts, " ", "", "");
    P(ts, "c", "", "c");
    P(ts, " ", "", " "); // content's own trailing whitespace is not held
    check_texts(ts, "a\n\nb", "c ");
    lt_textstream_free(ts);
}

// ---------------------------------------------------------------- UTF-8

static void test_utf8_split_characters(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "c", "", "c");
    PUSH(ts, 0xC3, false, "", "");
    PUSH(ts, 0xA9, false, "", "\xC3\xA9"); // é
    PUSH(ts, 0xF0, false, "", "");
    PUSH(ts, 0x9F, false, "", "");
    PUSH(ts, 0x98, false, "", "");
    PUSH(ts, 0x80, false, "", "\xF0\x9F\x98\x80"); // U+1F600
    check_texts(ts, "", "c\xC3\xA9\xF0\x9F\x98\x80");
    lt_textstream_free(ts);
    // inside the reasoning too
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    PUSH(ts, 0xE2, false, "", "");
    PUSH(ts, 0x82, false, "", "");
    PUSH(ts, 0xAC, false, "\xE2\x82\xAC", ""); // €
    PUSH(ts, END_THINK, false, "", "");
    check_texts(ts, "\xE2\x82\xAC", "");
    lt_textstream_free(ts);
}

static void test_utf8_ill_formed(void) {
    // One U+FFFD per maximal ill-formed subpart (Unicode 15, section 3.9,
    // "U+FFFD Substitution of Maximal Subparts").
#define FFFD "\xEF\xBF\xBD"
    lt_textstream *ts = open_stream(LT_THINK_NONE, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, 0x80, false, "", FFFD);    // a stray continuation byte
    PUSH(ts, 0xC3, false, "", "");      // a lead byte ...
    PUSH(ts, 'A', false, "", FFFD "A"); // ... that 'A' cannot continue
    PUSH(ts, 0xE0, false, "", "");
    PUSH(ts, 0x80, false, "", FFFD FFFD); // E0 needs A0..BF (overlong): two subparts
    PUSH(ts, 0xED, false, "", "");
    PUSH(ts, 0xA0, false, "", FFFD FFFD); // ED A0 would be a surrogate
    PUSH(ts, 0xF4, false, "", "");
    PUSH(ts, 0x90, false, "", FFFD FFFD); // above U+10FFFF
    PUSH(ts, 0xC0, false, "", FFFD);      // never valid
    PUSH(ts, 0xF5, false, "", FFFD);      // never valid
    PUSH(ts, 0xF0, false, "", "");
    PUSH(ts, 0x9F, false, "", ""); // F0 9F: a valid prefix ...
    FINISH(ts, "", FFFD);          // ... cut short by the end: one U+FFFD
    check_texts(ts, "", FFFD FFFD "A" FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD);
    lt_textstream_free(ts);
#undef FFFD
}

// ---------------------------------------------------------------- stop strings

static void test_stop_string_across_three_tokens(void) {
    const char *stops[] = {"END"};
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, stops, 1);
    if (!ts) return;
    P(ts, "Hello", "", "Hello");
    P(ts, " ", "", " ");
    P(ts, "E", "", "");
    P(ts, "N", "", "");
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    LT_CHECK_OK(lt_textstream_push(ts, id_of("D"), false, &d));
    LT_CHECK(delta_is(&d, "", ""));
    LT_CHECK_INT(d.stop, LT_STOP_STRING);
    check_texts(ts, "", "Hello ");
    LT_CHECK_ERR(lt_textstream_push(ts, id_of("x"), false, NULL), LT_ERR_ARG,
                 "after the stream stopped");
    FINISH(ts, "", ""); // a no-op
    LT_CHECK_INT(lt_textstream_get_stats(ts).stop, LT_STOP_STRING);
    lt_textstream_free(ts);
    // a stop string inside one token, with text after it in the same token
    const char *world[] = {"world", "zzz"};
    ts = open_stream(LT_THINK_DETECT, -1, world, 2);
    if (!ts) return;
    P(ts, "Hello", "", "Hello");
    P(ts, " world", "", " ");
    check_texts(ts, "", "Hello ");
    LT_CHECK_INT(lt_textstream_get_stats(ts).stop, LT_STOP_STRING);
    lt_textstream_free(ts);
}

static void test_stop_prefix_false_alarm(void) {
    const char *stops[] = {"###"};
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, stops, 1);
    if (!ts) return;
    P(ts, "a", "", "a");
    P(ts, "#", "", "");
    P(ts, "#", "", "");
    P(ts, "b", "", "##b");
    P(ts, "#", "", "");
    FINISH(ts, "", "#"); // a prefix that never completed is text
    check_texts(ts, "", "a##b#");
    LT_CHECK_INT(lt_textstream_get_stats(ts).stop, LT_STOP_FINISHED);
    lt_textstream_free(ts);
    // overlapping prefixes: "aaab" holds "aa" after "aaa", then stops at "aab"
    const char *aab[] = {"aab"};
    ts = open_stream(LT_THINK_DETECT, -1, aab, 1);
    if (!ts) return;
    P(ts, "a", "", "");
    P(ts, "a", "", "");
    P(ts, "a", "", "a");
    P(ts, "b", "", "");
    check_texts(ts, "", "a");
    LT_CHECK_INT(lt_textstream_get_stats(ts).stop, LT_STOP_STRING);
    lt_textstream_free(ts);
}

static void test_stop_strings_skip_reasoning(void) {
    const char *stops[] = {"###", "\n\n"};
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, stops, 2);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "\n", "", "");
    P(ts, "a", "a", "");
    P(ts, "#", "#", "");
    P(ts, "#", "#", "");
    P(ts, "#", "#", "");
    P(ts, "\n\n", "", "");
    P(ts, "b", "\n\nb", "");
    PUSH(ts, END_THINK, false, "", "");
    P(ts, "\n\n", "", ""); // the content's leading whitespace: dropped before the stop search
    P(ts, "ans", "", "ans");
    P(ts, "#", "", "");
    P(ts, "#", "", "");
    P(ts, "#", "", "");
    check_texts(ts, "a###\n\nb", "ans");
    LT_CHECK_INT(lt_textstream_get_stats(ts).stop, LT_STOP_STRING);
    lt_textstream_free(ts);
}

static void test_stop_tokens(void) {
    const char *stops[] = {"###"};
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, stops, 1);
    if (!ts) return;
    P(ts, "a", "", "a");
    P(ts, "#", "", "");
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    LT_CHECK_OK(lt_textstream_push(ts, EOT, false, &d));
    LT_CHECK(delta_is(&d, "", "#")); // held text flushed, nothing for the token itself
    LT_CHECK_INT(d.stop, LT_STOP_TOKEN);
    LT_CHECK_INT(lt_textstream_get_stats(ts).n_tokens, 3);
    LT_CHECK_ERR(lt_textstream_push(ts, EOT, false, NULL), LT_ERR_ARG, "stop token");
    lt_textstream_free(ts);
    // inside an unclosed section, and with a possible opening held
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "Let", "Let", "");
    P(ts, "\n", "", "");
    PUSH(ts, EOT, false, "", "");
    check_texts(ts, "Let", "");
    lt_textstream_free(ts);
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "<th", "", "");
    PUSH(ts, EOT, false, "", "<th");
    lt_textstream_free(ts);
}

static void test_special_tokens(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "a", "", "a");
    PUSH(ts, SPECIAL_X, false, "", "");
    P(ts, "b", "", "b");
    lt_textstream_free(ts);
    lt_textstream_opts o = lt_textstream_opts_default();
    o.keep_special = true;
    LT_CHECK_OK(lt_textstream_init(&ts, TOK, &o));
    if (!ts) return;
    P(ts, "a", "", "a");
    PUSH(ts, SPECIAL_X, false, "", "<|x|>");
    PUSH(ts, EOT, false, "", "<|eot_id|>"); // not a stop token here
    lt_textstream_free(ts);
}

// ---------------------------------------------------------------- budget

static void test_budget_reached_exactly(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, 3, NULL, 0);
    if (!ts) return;
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    LT_CHECK_OK(lt_textstream_push(ts, THINK, false, &d));
    LT_CHECK(!d.budget_reached); // the opening is not counted
    LT_CHECK_OK(lt_textstream_push(ts, id_of("\n"), false, &d));
    LT_CHECK(!d.budget_reached);
    LT_CHECK_OK(lt_textstream_push(ts, id_of("a"), false, &d));
    LT_CHECK(!d.budget_reached);
    LT_CHECK_OK(lt_textstream_push(ts, id_of("b"), false, &d));
    LT_CHECK(d.budget_reached); // the third token inside
    LT_CHECK(lt_textstream_get_stats(ts).budget_reached);
    // the caller forces the closing text
    const char *close = lt_textstream_close_text(ts);
    LT_CHECK_STR(close, "\n</think>\n\n");
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(TOK, close, strlen(close), 0, &ids));
    LT_CHECK(ids.n >= 2 && ids.data[1] == END_THINK);
    for (size_t i = 0; i < ids.n; i++) {
        LT_CHECK_OK(lt_textstream_push(ts, ids.data[i], true, &d));
        LT_CHECK(delta_is(&d, "", ""));
        LT_CHECK_MSG(d.budget_reached == (i == 0), "forced token %zu: budget_reached %d", i,
                     (int)d.budget_reached);
    }
    P(ts, "ans", "", "ans");
    check_texts(ts, "ab", "ans");
    lt_textstream_stats st = lt_textstream_get_stats(ts);
    LT_CHECK(!st.thinking && st.thought && !st.budget_reached);
    LT_CHECK_INT(st.n_thinking_tokens, 3);
    LT_CHECK_INT(st.n_forced, (int64_t)ids.n);
    LT_CHECK_INT(st.n_tokens, 5 + (int64_t)ids.n);
    lt_ids_free(&ids);
    lt_textstream_free(ts);
}

static void test_budget_not_reached_when_closed(void) {
    // the third token closes the section: no budget signal
    lt_textstream *ts = open_stream(LT_THINK_DETECT, 3, NULL, 0);
    if (!ts) return;
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    PUSH(ts, THINK, false, "", "");
    P(ts, "a", "a", "");
    P(ts, "b", "b", "");
    LT_CHECK_OK(lt_textstream_push(ts, END_THINK, false, &d));
    LT_CHECK(!d.budget_reached);
    LT_CHECK_INT(lt_textstream_get_stats(ts).n_thinking_tokens, 3);
    lt_textstream_free(ts);
    // budget 0: reached as soon as the section opens; OPEN mode: at once
    ts = open_stream(LT_THINK_DETECT, 0, NULL, 0);
    if (!ts) return;
    LT_CHECK_OK(lt_textstream_push(ts, id_of("<th"), false, &d));
    LT_CHECK(!d.budget_reached);
    LT_CHECK_OK(lt_textstream_push(ts, id_of("ink"), false, &d));
    LT_CHECK_OK(lt_textstream_push(ts, id_of(">"), false, &d));
    LT_CHECK(d.budget_reached);
    lt_textstream_free(ts);
    ts = open_stream(LT_THINK_OPEN, 0, NULL, 0);
    if (!ts) return;
    LT_CHECK(lt_textstream_get_stats(ts).budget_reached);
    lt_textstream_free(ts);
    // no budget: never
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    bool ever = false;
    for (int i = 0; i < 1000; i++) {
        LT_CHECK_OK(lt_textstream_push(ts, 'x', false, &d));
        ever |= d.budget_reached;
    }
    LT_CHECK(!ever);
    lt_textstream_free(ts);
}

static void test_forced_close_after_partial_marker(void) {
    // The model had begun "</th" when the budget ran out: that text stays
    // reasoning, the forced close ends the section.
    lt_textstream *ts = open_stream(LT_THINK_DETECT, 2, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "a", "a", "");
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    LT_CHECK_OK(lt_textstream_push(ts, id_of("</th"), false, &d));
    LT_CHECK(d.budget_reached && delta_is(&d, "", ""));
    PUSH(ts, '\n', true, "</th", ""); // "</th\n" can no longer become "</think>"
    PUSH(ts, END_THINK, true, "", "");
    PUSH(ts, id_of("\n\n"), true, "", "");
    P(ts, "ans", "", "ans");
    check_texts(ts, "a</th", "ans");
    lt_textstream_free(ts);
}

static void test_finish_flushes(void) {
    lt_textstream *ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    P(ts, "<th", "", "");
    FINISH(ts, "", "<th");
    lt_textstream_free(ts);
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "ans", "ans", "");
    P(ts, "\n", "", "");
    P(ts, "</th", "", "");
    FINISH(ts, "\n</th", "");
    check_texts(ts, "ans\n</th", "");
    LT_CHECK(lt_textstream_get_stats(ts).thinking);
    lt_textstream_free(ts);
    ts = open_stream(LT_THINK_DETECT, -1, NULL, 0);
    if (!ts) return;
    PUSH(ts, THINK, false, "", "");
    P(ts, "ans", "ans", "");
    P(ts, "\n\n", "", "");
    FINISH(ts, "", ""); // an unclosed section's trailing whitespace is trimmed
    lt_textstream_free(ts);
}

// ---------------------------------------------------------------- whole texts

// The independent expectation: parse a whole text in one go by the rules of
// textstream.h (DETECT mode unless raw).
static void parse_whole(const char *text, bool raw, const char *const *stops, int n_stops,
                        lt_bytes *reasoning, lt_bytes *content) {
    const char *s = text, *end = text + strlen(text), *answer = s;
    if (!raw) {
        const char *p = s;
        while (p < end && strchr(" \n\t\r", *p)) p++;
        if (strncmp(p, "<think>", 7) == 0) {
            const char *body = p + 7, *close = strstr(body, "</think>");
            const char *body_end = close ? close : end;
            while (body < body_end && strchr(" \n\t\r", *body)) body++;
            while (body_end > body && strchr(" \n\t\r", body_end[-1])) body_end--;
            LT_CHECK_OK(lt_bytes_append(reasoning, body, (size_t)(body_end - body)));
            answer = close ? close + 8 : end;
        }
        while (answer < end && strchr(" \n\t\r", *answer)) answer++;
    }
    const char *cut = end;
    for (int j = 0; j < n_stops; j++) {
        const char *at = strstr(answer, stops[j]);
        if (at && at < cut) cut = at;
    }
    LT_CHECK_OK(lt_bytes_append(content, answer, (size_t)(cut - answer)));
}

static void feed_and_compare(const char *text, bool raw, bool by_bytes, const char *const *stops,
                             int n_stops) {
    lt_bytes want_r = {0}, want_c = {0}, got_r = {0}, got_c = {0};
    LT_CHECK_OK(lt_bytes_append(&want_r, "", 0));
    LT_CHECK_OK(lt_bytes_append(&want_c, "", 0));
    LT_CHECK_OK(lt_bytes_append(&got_r, "", 0));
    LT_CHECK_OK(lt_bytes_append(&got_c, "", 0));
    parse_whole(text, raw, stops, n_stops, &want_r, &want_c);
    lt_ids ids = {0};
    if (by_bytes) {
        for (const char *p = text; *p; p++) LT_CHECK_OK(lt_ids_push(&ids, (uint8_t)*p));
    } else {
        LT_CHECK_OK(lt_tokenizer_encode(TOK, text, strlen(text), 0, &ids));
    }
    lt_textstream_opts o = lt_textstream_opts_default();
    o.think = raw ? LT_THINK_NONE : LT_THINK_DETECT;
    o.stop_strings = stops;
    o.n_stop_strings = n_stops;
    lt_textstream *ts = NULL;
    LT_CHECK_OK(lt_textstream_init(&ts, TOK, &o));
    lt_textstream_delta d = {"", 0, "", 0, LT_STOP_NONE, false};
    for (size_t i = 0; ts && i < ids.n; i++) {
        LT_CHECK_OK(lt_textstream_push(ts, ids.data[i], false, &d));
        LT_CHECK_OK(lt_bytes_append(&got_r, d.reasoning, d.n_reasoning));
        LT_CHECK_OK(lt_bytes_append(&got_c, d.content, d.n_content));
        if (d.stop) break;
    }
    if (ts) {
        LT_CHECK_OK(lt_textstream_finish(ts, &d));
        LT_CHECK_OK(lt_bytes_append(&got_r, d.reasoning, d.n_reasoning));
        LT_CHECK_OK(lt_bytes_append(&got_c, d.content, d.n_content));
        check_texts(ts, got_r.data, got_c.data); // the whole texts are the deltas joined
    }
    LT_CHECK_MSG(strcmp(got_r.data, want_r.data) == 0 && strcmp(got_c.data, want_c.data) == 0,
                 "\"%s\" (%s, %s): got \"%s\" / \"%s\", expected \"%s\" / \"%s\"", text,
                 raw ? "raw" : "detect", by_bytes ? "bytes" : "tokens", got_r.data, got_c.data,
                 want_r.data, want_c.data);
    lt_textstream_free(ts);
    lt_ids_free(&ids);
    lt_bytes_free(&want_r), lt_bytes_free(&want_c), lt_bytes_free(&got_r), lt_bytes_free(&got_c);
}

static void test_whole_texts(void) {
    static const char *const texts[] = {
        "Hello world",
        "<think>\nStep 1.\n\nStep 2.\n</think>\n\nThe answer is 4.",
        "  <think>caf\xC3\xA9</think>na\xC3\xAFve \xF0\x9F\x98\x80",
        "<think>\n</think>\n\nShort.",
        "<thinking about it> no",
        "<think>never closed\n\n",
        "<think>a</think b</think>c</think>",
        "<th",
        "Answer ## then ### rest",
        "<think>x ### y</think>z ##",
        "\n\n<b>bold</b>\n",
        "END at once",
        "a</think>b",
        "<think>\xE2\x82\xAC END</think> ENDING",
    };
    const char *stops[] = {"###", "END", "\xF0\x9F\x98\x80"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        for (int mode = 0; mode < 4; mode++) {
            bool raw = mode & 1, by_bytes = mode & 2;
            feed_and_compare(texts[i], raw, by_bytes, NULL, 0);
            feed_and_compare(texts[i], raw, by_bytes, stops, 3);
        }
    }
}

// ---------------------------------------------------------------- bad options

static void test_bad_options(void) {
    lt_textstream *ts = NULL;
    lt_textstream_opts o = lt_textstream_opts_default();
    LT_CHECK_ERR(lt_textstream_init(&ts, NULL, &o), LT_ERR_ARG, "no tokenizer");
    const char *empty[] = {"ok", ""};
    o.stop_strings = empty, o.n_stop_strings = 2;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "stop_strings[1] is empty");
    const char *bad_utf8[] = {"\xC3"};
    o.stop_strings = bad_utf8, o.n_stop_strings = 1;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG,
                 "stop_strings[0] is not valid UTF-8");
    const char *null_string[] = {NULL};
    o.stop_strings = null_string;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "stop_strings[0] is empty");
    o.stop_strings = NULL;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "n_stop_strings is 1");
    o = lt_textstream_opts_default();
    const int32_t unused[] = {EOT, 280};
    o.stop_tokens = unused, o.n_stop_tokens = 2;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "stop_tokens[1] = 280");
    const int32_t negative[] = {-1};
    o.stop_tokens = negative, o.n_stop_tokens = 1;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "stop_tokens[0] = -1");
    o = lt_textstream_opts_default();
    o.think_budget = -2;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "think_budget is -2");
    o = lt_textstream_opts_default();
    o.think = (lt_think_mode)7;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "think is 7");
    lt_chat_template no_markers = *lt_chat_template_get("llama3");
    no_markers.think_open = "\n";
    o = lt_textstream_opts_default();
    o.tpl = &no_markers;
    LT_CHECK_ERR(lt_textstream_init(&ts, TOK, &o), LT_ERR_ARG, "empty thinking markers");
    LT_CHECK(ts == NULL);
    // NULL options are the defaults
    LT_CHECK_OK(lt_textstream_init(&ts, TOK, NULL));
    LT_CHECK_ERR(lt_textstream_push(ts, 280, false, NULL), LT_ERR_RANGE, "token id 280");
    LT_CHECK_ERR(lt_textstream_push(ts, 100000, false, NULL), LT_ERR_RANGE,
                 "not in the vocabulary");
    LT_CHECK_INT(lt_textstream_get_stats(ts).n_tokens, 0);
    lt_textstream_free(ts);
}

int main(void) {
    TOK = build_tokenizer(false);
    TOK_SPM = build_tokenizer(true);
    if (!TOK || !TOK_SPM) return lt_test_finish();
    LT_RUN(test_plain_content);
    LT_RUN(test_markers_split_over_tokens);
    LT_RUN(test_markers_as_added_tokens);
    LT_RUN(test_markers_as_special_tokens);
    LT_RUN(test_detect_holds_only_possible_openings);
    LT_RUN(test_off_mode_section);
    LT_RUN(test_open_mode);
    LT_RUN(test_reasoning_whitespace);
    LT_RUN(test_utf8_split_characters);
    LT_RUN(test_utf8_ill_formed);
    LT_RUN(test_stop_string_across_three_tokens);
    LT_RUN(test_stop_prefix_false_alarm);
    LT_RUN(test_stop_strings_skip_reasoning);
    LT_RUN(test_stop_tokens);
    LT_RUN(test_special_tokens);
    LT_RUN(test_budget_reached_exactly);
    LT_RUN(test_budget_not_reached_when_closed);
    LT_RUN(test_forced_close_after_partial_marker);
    LT_RUN(test_finish_flushes);
    LT_RUN(test_whole_texts);
    LT_RUN(test_bad_options);
    lt_tokenizer_free(TOK);
    lt_tokenizer_free(TOK_SPM);
    return lt_test_finish();
}
