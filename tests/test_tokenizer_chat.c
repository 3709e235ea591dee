// test_tokenizer_chat.c: the Llama 3 chat template with the reasoning toggle.
// On a byte-only tokenizer (no merges; id = byte value, special tokens 256..)
// the expected ids and loss masks are written out by hand; on the real Llama 3
// tokenizer (when fetched) the rendered ids must equal the encoding of the
// rendered text, and the header tokens must be Llama 3's.
#include "lathe/chat.h"
#include "lt_test.h"
#include "lt_tok_test.h"
#include "lt_byte_tokenizer.h"
#include "tokenizer/tok_internal.h"

enum { BOS = 256, SH = 257, EH = 258, EOT = 259, THINK = 260, UNTHINK = 261 };

static void check_render(lt_tokenizer *tok, const lt_chat_message *msgs, size_t n, unsigned flags,
                         const expect_t *want) {
    lt_ids ids = {0};
    lt_bytes mask = {0};
    LT_CHECK_OK(lt_chat_render(tok, lt_chat_template_get("llama3"), msgs, n, flags, &ids, &mask));
    LT_CHECK_INT(ids.n, want->n);
    LT_CHECK_INT(mask.n, want->n);
    size_t bad = 0;
    for (size_t i = 0; i < ids.n && i < want->n; i++)
        if (ids.data[i] != want->ids[i] || (uint8_t)mask.data[i] != want->mask[i]) {
            if (bad++ < 3)
                LT_FAIL_("token %zu: id %d mask %d, expected id %d mask %d", i, ids.data[i],
                         mask.data[i], want->ids[i], want->mask[i]);
        }
    LT_CHECK_INT(bad, 0);
    lt_ids_free(&ids);
    lt_bytes_free(&mask);
}

static void test_off_mode(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    // No system message: off. Content is trimmed, as Jinja's trim does.
    const lt_chat_message msgs[] = {{"user", "  Hi\n", NULL}, {"assistant", " Hello! ", NULL}};
    expect_t e = {0};
    put_id(&e, BOS, 0);
    put_id(&e, SH, 0), put_text(&e, "user", 0), put_id(&e, EH, 0), put_text(&e, "\n\nHi", 0);
    put_id(&e, EOT, 0);
    put_id(&e, SH, 0), put_text(&e, "assistant", 0), put_id(&e, EH, 0), put_text(&e, "\n\n", 0);
    put_text(&e, "Hello!", 1), put_id(&e, EOT, 1);
    check_render(tok, msgs, 2, 0, &e);

    // The generation prompt adds an open assistant header, learned by nobody.
    put_id(&e, SH, 0), put_text(&e, "assistant", 0), put_id(&e, EH, 0), put_text(&e, "\n\n", 0);
    check_render(tok, msgs, 2, LT_CHAT_GENERATION_PROMPT, &e);

    lt_bytes text = {0};
    LT_CHECK_OK(lt_chat_render_text(lt_chat_template_get("llama3"), msgs, 2,
                                    LT_CHAT_GENERATION_PROMPT | LT_CHAT_NO_BEGIN, &text));
    LT_CHECK_STR(text.data, "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                            "<|start_header_id|>assistant<|end_header_id|>\n\n");
    lt_bytes_free(&text);
    lt_tokenizer_free(tok);
}

static void test_on_mode(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    const lt_chat_message msgs[] = {{"system", "detailed thinking on\n\nBe brief.", NULL},
                                    {"user", "Q", NULL},
                                    {"assistant", "A", " think hard "},
                                    {"user", "Again", NULL},
                                    {"assistant", "B", NULL}};
    expect_t e = {0};
    put_id(&e, BOS, 0);
    put_id(&e, SH, 0), put_text(&e, "system", 0), put_id(&e, EH, 0);
    put_text(&e, "\n\ndetailed thinking on\n\nBe brief.", 0), put_id(&e, EOT, 0);
    put_id(&e, SH, 0), put_text(&e, "user", 0), put_id(&e, EH, 0), put_text(&e, "\n\nQ", 0);
    put_id(&e, EOT, 0);
    put_id(&e, SH, 0), put_text(&e, "assistant", 0), put_id(&e, EH, 0), put_text(&e, "\n\n", 0);
    // The assistant turn, thinking first: all learned, the end of turn too.
    put_id(&e, THINK, 1), put_text(&e, "\nthink hard\n", 1), put_id(&e, UNTHINK, 1);
    put_text(&e, "\n\nA", 1), put_id(&e, EOT, 1);
    put_id(&e, SH, 0), put_text(&e, "user", 0), put_id(&e, EH, 0), put_text(&e, "\n\nAgain", 0);
    put_id(&e, EOT, 0);
    // No reasoning given in "on" mode: an empty thinking section.
    put_id(&e, SH, 0), put_text(&e, "assistant", 0), put_id(&e, EH, 0), put_text(&e, "\n\n", 0);
    put_id(&e, THINK, 1), put_text(&e, "\n\n", 1), put_id(&e, UNTHINK, 1);
    put_text(&e, "\n\nB", 1), put_id(&e, EOT, 1);
    check_render(tok, msgs, 5, 0, &e);
    lt_tokenizer_free(tok);
}

static void test_toggle_rule(void) {
    const lt_chat_template *t = lt_chat_template_get("llama3");
    const char *rest = NULL;
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "detailed thinking on", &rest), LT_REASONING_ON);
    LT_CHECK_STR(rest, "");
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "detailed thinking off\n\nBe kind.", &rest),
                 LT_REASONING_OFF);
    LT_CHECK_STR(rest, "Be kind.");
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "detailed thinking on\n\nBe kind.", &rest),
                 LT_REASONING_ON);
    LT_CHECK_STR(rest, "Be kind.");
    // Not a toggle line: the whole text is other system text, and the mode is off.
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "detailed thinking onward", &rest), LT_REASONING_OFF);
    LT_CHECK_STR(rest, "detailed thinking onward");
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "detailed thinking on\nBe kind.", &rest),
                 LT_REASONING_OFF);
    LT_CHECK_INT(lt_chat_reasoning_mode(t, "You are helpful.", NULL), LT_REASONING_OFF);
    LT_CHECK_INT(lt_chat_reasoning_mode(t, NULL, &rest), LT_REASONING_OFF);
    lt_bytes b = {0};
    LT_CHECK_OK(
        lt_chat_system_text(t, LT_REASONING_ON, "You are a hardware design assistant.", &b));
    LT_CHECK_STR(b.data, "detailed thinking on\n\nYou are a hardware design assistant.");
    b.n = 0;
    LT_CHECK_OK(lt_chat_system_text(t, LT_REASONING_OFF, NULL, &b));
    LT_CHECK_STR(b.data, "detailed thinking off");
    lt_bytes_free(&b);
    LT_CHECK(lt_chat_template_get("chatml") == NULL);
}

static void test_errors(void) {
    lt_tokenizer *tok = byte_tokenizer();
    if (!tok) return;
    const lt_chat_template *t = lt_chat_template_get("llama3");
    lt_ids ids = {0};
    const lt_chat_message bad_role[] = {{"bot", "x", NULL}};
    LT_CHECK_ERR(lt_chat_render(tok, t, bad_role, 1, 0, &ids, NULL), LT_ERR_ARG,
                 "message 0: role 'bot'");
    const lt_chat_message late_system[] = {{"user", "x", NULL}, {"system", "y", NULL}};
    LT_CHECK_ERR(lt_chat_render(tok, t, late_system, 2, 0, &ids, NULL), LT_ERR_ARG,
                 "message 1: a system message may only come first");
    const lt_chat_message off_reasoning[] = {{"user", "x", NULL}, {"assistant", "y", "why"}};
    LT_CHECK_ERR(lt_chat_render(tok, t, off_reasoning, 2, 0, &ids, NULL), LT_ERR_ARG,
                 "message 1: reasoning given");
    const lt_chat_message user_reasoning[] = {{"system", "detailed thinking on", NULL},
                                              {"user", "x", "why"}};
    LT_CHECK_ERR(lt_chat_render(tok, t, user_reasoning, 2, 0, &ids, NULL), LT_ERR_ARG,
                 "only assistant messages carry reasoning");
    const lt_chat_message no_content[] = {{"user", NULL, NULL}};
    LT_CHECK_ERR(lt_chat_render(tok, t, no_content, 1, 0, &ids, NULL), LT_ERR_ARG, "no content");
    lt_ids_free(&ids);
    lt_tokenizer_free(tok);
}

// Rendered ids equal the encoding of the rendered text on the real Llama 3
// tokenizer (whose encoding the Rust fixture pins), even where a pre-token
// could straddle a piece of the template.
static void test_llama3(void) {
    lt_tokenizer *tok = NULL;
    const char *dir = lt_test_path("cache/llama3");
    if (!lt_path_exists(dir)) {
        LT_SKIP("%s is missing (run scripts/fetch-test-data.sh)", dir);
        return;
    }
    LT_CHECK_OK(lt_tokenizer_load(&tok, dir));
    if (!tok) return;
    const lt_chat_template *t = lt_chat_template_get("llama3");
    const lt_chat_message convs[][4] = {
        {{"system", "detailed thinking on", NULL},
         {"user", "What is 2+2?", NULL},
         {"assistant", "4.", "...add them. 2+2=4."},
         {"user", "\u00a0 and 3+3?\n\n", NULL}},
        {{"system", "detailed thinking off\n\nYou are terse.", NULL},
         {"user", "say <|eot_id|> please", NULL},
         {"assistant", "'s: \"ok\"!\n", NULL},
         {"user", "123456", NULL}},
    };
    for (size_t c = 0; c < 2; c++) {
        lt_ids ids = {0}, direct = {0};
        lt_bytes mask = {0}, text = {0};
        LT_CHECK_OK(lt_chat_render(tok, t, convs[c], 4, LT_CHAT_GENERATION_PROMPT, &ids, &mask));
        LT_CHECK_OK(lt_chat_render_text(t, convs[c], 4, LT_CHAT_GENERATION_PROMPT, &text));
        LT_CHECK_OK(lt_tokenizer_encode(tok, text.data, text.n, 0, &direct));
        LT_CHECK(ids.n == direct.n && memcmp(ids.data, direct.data, ids.n * 4) == 0);
        // Llama 3's header ids: <|begin_of_text|> 128000, <|start_header_id|>
        // 128006, "system" 9125, <|end_header_id|> 128007, "\n\n" 271.
        const int32_t head[] = {128000, 128006, 9125, 128007, 271};
        LT_CHECK(ids.n > 5 && memcmp(ids.data, head, sizeof head) == 0);
        // The mask covers exactly the assistant turn: from after its "\n\n" to its <|eot_id|>.
        size_t first = 0, last = 0, ones = 0;
        for (size_t i = 0; i < mask.n; i++)
            if (mask.data[i]) {
                if (!ones++) first = i;
                last = i;
            }
        LT_CHECK(ones == last - first + 1);
        LT_CHECK_INT(ids.data[first - 1], 271);   // "\n\n" after the header
        LT_CHECK_INT(ids.data[first - 3], 78191); // "assistant"
        LT_CHECK_INT(ids.data[last], 128009);     // <|eot_id|>
        LT_CHECK_INT(ids.data[ids.n - 3], 78191); // the open assistant header
        lt_ids_free(&ids);
        lt_ids_free(&direct);
        lt_bytes_free(&mask);
        lt_bytes_free(&text);
    }
    lt_tokenizer_free(tok);
}

int main(void) {
    LT_RUN(test_off_mode);
    LT_RUN(test_on_mode);
    LT_RUN(test_toggle_rule);
    LT_RUN(test_errors);
    LT_RUN(test_llama3);
    return lt_test_finish();
}
