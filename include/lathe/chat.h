// chat.h: chat templates as data — how a conversation becomes token ids and a
// loss mask — and the reasoning toggle, one rule everywhere (DESIGN.md): the
// system message starts with "detailed thinking on" or "detailed thinking
// off" (other system text follows after a blank line); no toggle means off. In
// "on" mode an assistant turn is "<think>\n" reasoning "\n</think>\n\n" answer;
// in "off" mode it has no thinking section.
//
// The Llama 3 template renders
//   <|begin_of_text|>
//   <|start_header_id|>ROLE<|end_header_id|>\n\n CONTENT(trimmed) <|eot_id|>   (per message)
//   <|start_header_id|>assistant<|end_header_id|>\n\n                        (generation prompt)
// and its ids equal the tokenizer's encoding of that whole string, as Hugging
// Face's apply_chat_template gives them: each stretch of equal mask is encoded
// as one string, and every place where the mask changes sits at a special
// token or at the "\n\n" pre-token before trimmed content. As there, special-
// token spellings inside message text become special tokens.
#ifndef LATHE_CHAT_H
#define LATHE_CHAT_H

#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name;         // "llama3"
    const char *begin;        // text at the very start: "<|begin_of_text|>"
    const char *header_open;  // before the role: "<|start_header_id|>"
    const char *header_close; // after the role: "<|end_header_id|>\n\n"
    const char *turn_end;     // after the content: "<|eot_id|>"
    const char *think_open;   // "on" mode, before the reasoning: "<think>\n"
    const char *think_close;  // after the reasoning: "\n</think>\n\n"
    const char *toggle_on;    // "detailed thinking on"
    const char *toggle_off;   // "detailed thinking off"
    const char *jinja;        // the same template in Jinja, for tokenizer_config.json
} lt_chat_template;

// A template by name ("llama3"); NULL when unknown.
const lt_chat_template *lt_chat_template_get(const char *name);

typedef enum { LT_REASONING_OFF = 0, LT_REASONING_ON = 1 } lt_reasoning;

// The mode a system text selects, and (if rest != NULL) the text after the
// toggle line and its blank line ("" when none). No toggle: off, rest = system.
lt_reasoning lt_chat_reasoning_mode(const lt_chat_template *tpl, const char *system,
                                    const char **rest);
// Builds a system text: the toggle line, then `extra` after a blank line if non-empty.
lt_status lt_chat_system_text(const lt_chat_template *tpl, lt_reasoning mode, const char *extra,
                              lt_bytes *out);

typedef struct {
    const char *role;      // "system" (first message only), "user", "assistant", "tool"
    const char *content;   // the text (for the assistant: the answer)
    const char *reasoning; // assistant only, "on" mode: the thinking (NULL: empty)
} lt_chat_message;

typedef enum {
    LT_CHAT_GENERATION_PROMPT = 1, // end with an open assistant header
    LT_CHAT_NO_BEGIN = 2,          // leave out the begin text (BOS)
} lt_chat_flags;

// Renders a conversation, appending ids and their loss mask (mask->data[i] is
// 1 for tokens the model learns to produce: the assistant's content, thinking
// included, and its closing end-of-turn token; 0 elsewhere). `mask` may be
// NULL. Errors name the message at fault (unknown role, a system message not
// first, reasoning in "off" mode or on a non-assistant message).
lt_status lt_chat_render(lt_tokenizer *tok, const lt_chat_template *tpl,
                         const lt_chat_message *messages, size_t n, unsigned flags, lt_ids *ids,
                         lt_bytes *mask);
// The same conversation as text (what the ids encode).
lt_status lt_chat_render_text(const lt_chat_template *tpl, const lt_chat_message *messages,
                              size_t n, unsigned flags, lt_bytes *text);

#ifdef __cplusplus
}
#endif
#endif
