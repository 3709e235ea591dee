// textstream.h: generated token ids in, text that is safe to show out —
// incremental detokenization for `lathe generate`, `lathe chat` and the
// server. Per token it returns the new text, split into reasoning (inside
// the thinking section <think>…</think>) and content (the answer), holding
// back exactly what is not yet decided:
//
//   * UTF-8: a token may end inside a multi-byte character; its bytes wait
//     until the character completes. Bytes that can never form a character
//     become U+FFFD as soon as that is clear, one per maximal ill-formed
//     subsequence (the Unicode/WHATWG rule: a lead byte followed by a byte
//     that cannot continue it gives one U+FFFD and the byte is looked at
//     afresh; a stray continuation byte, C0, C1 or F5..FF gives one each); a
//     character still incomplete at the end gives one U+FFFD.
//   * Thinking: the markers are the template's think_open and think_close
//     without their surrounding whitespace ("<think>", "</think>") and are
//     found in the decoded text, so they may be split over several tokens or
//     be single added tokens. A section opens only at the start of the answer
//     (after optional whitespace) and closes at the first "</think>"; there
//     is at most one. Neither marker is part of either text, and whitespace
//     around them is stripped the way the template writes it (think_open
//     "<think>\n", think_close "\n</think>\n\n"): whitespace before "<think>",
//     the reasoning's leading and trailing whitespace, and the content's
//     leading whitespace (the template also trims content). While the answer
//     could still begin with "<think>" ("<", "<th", "  <thi", ...) it is held.
//   * Stop strings end the answer: the content is searched for them across
//     token boundaries; text that could be the start of one is held until it
//     is clear; on a match everything before it is emitted, the stop string
//     and anything after it are not, and the stream stops. They are matched
//     in the content only — not in the reasoning, whose text the user does
//     not choose (a stop of "\n\n" must not cut a model's thinking short),
//     and not across the end of the section.
//   * Stop tokens (EOS, <|eot_id|>, ...) end the stream with nothing emitted
//     for that token; what was held back is flushed as by finish.
//   * Thinking budget: the number of tokens pushed while the section is open
//     is counted; once it reaches the budget while the section is still
//     open, each delta reports budget_reached, and the caller forces the
//     closing text (lt_textstream_close_text) into the model: it encodes that
//     text, feeds the ids to the engine and pushes them here with forced =
//     true, so this stream's state matches what the model saw (the section
//     closes; what follows is content).
//
// Special tokens (lt_tokenizer_is_special) contribute no text unless
// keep_special is set, except those whose text is exactly a thinking
// marker. Forced and stop tokens are counted in n_tokens.
#ifndef LATHE_TEXTSTREAM_H
#define LATHE_TEXTSTREAM_H

#include "lathe/chat.h"
#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// Where the thinking section can be. For a chat answer in either reasoning
// mode use LT_THINK_DETECT: in "on" mode the model writes "<think>" itself
// (the generation prompt ends with the assistant header); in "off" mode a
// model that thinks anyway still gets its reasoning reported as reasoning,
// so content never carries raw markers.
typedef enum {
    LT_THINK_DETECT = 0, // a section opens if the answer begins with "<think>"
    LT_THINK_OPEN,       // the prompt already ends with think_open: the answer starts inside it
    LT_THINK_NONE,       // no sections: markers are ordinary content (raw completion)
} lt_think_mode;

typedef struct {
    lt_think_mode think;
    const lt_chat_template *tpl; // the markers and the closing text; NULL: "llama3"
    int32_t think_budget;        // tokens inside an open section before budget_reached; -1: none
    const char *const *stop_strings; // (n_stop_strings) non-empty UTF-8; copied
    int n_stop_strings;
    const int32_t *stop_tokens; // (n_stop_tokens) ids; copied
    int n_stop_tokens;
    bool keep_special; // emit the text of special tokens too
} lt_textstream_opts;

// think DETECT, template llama3, no budget (-1), no stops, specials skipped.
lt_textstream_opts lt_textstream_opts_default(void);

typedef enum {
    LT_STOP_NONE = 0,
    LT_STOP_STRING,   // a stop string completed in the content
    LT_STOP_TOKEN,    // a stop token was pushed
    LT_STOP_FINISHED, // lt_textstream_finish was called
} lt_stop_reason;

// What one push (or finish) produced. The pointers point into the stream's
// whole texts and stay valid until the next call on the stream; they are ""
// (never NULL) when nothing new came. Within one call reasoning always
// precedes content.
typedef struct {
    const char *reasoning;
    size_t n_reasoning;
    const char *content;
    size_t n_content;
    lt_stop_reason stop; // LT_STOP_NONE while the stream goes on
    bool budget_reached; // the section is open and think_budget tokens were spent in it
} lt_textstream_delta;

// The running totals.
typedef struct {
    int64_t n_tokens;          // pushed, forced and stop tokens included
    int64_t n_forced;          // pushed with forced = true
    int64_t n_thinking_tokens; // non-forced tokens pushed while the section was open (the
                               // token completing "<think>" not included, the one completing
                               // "</think>" included)
    bool thinking;             // the section is open now
    bool thought;              // a section was opened (and maybe closed)
    bool budget_reached;
    lt_stop_reason stop;
} lt_textstream_stats;

typedef struct lt_textstream lt_textstream;

// Errors (LT_ERR_ARG) name the option at fault: an empty or non-UTF-8
// stop_strings[i], a stop_tokens[i] outside the vocabulary, think_budget
// below -1, a template without thinking markers. `tok` must outlive the stream.
lt_status lt_textstream_init(lt_textstream **out, const lt_tokenizer *tok,
                             const lt_textstream_opts *opts);
void lt_textstream_free(lt_textstream *ts);

// Feeds one generated token (forced: written into the model by the caller,
// e.g. the closing text after budget_reached; not counted as thinking). An
// id outside the vocabulary is LT_ERR_RANGE; a push after the stream
// stopped is LT_ERR_ARG. `delta` may be NULL.
lt_status lt_textstream_push(lt_textstream *ts, int32_t id, bool forced,
                             lt_textstream_delta *delta);
// Ends the stream (max tokens reached, the caller stopped): flushes what was
// held — a partial stop string or marker is emitted as text, an incomplete
// character as U+FFFD, an unclosed section's reasoning with its trailing
// whitespace trimmed. A no-op on a stream that already stopped.
lt_status lt_textstream_finish(lt_textstream *ts, lt_textstream_delta *delta);

// The text to force when the budget is reached: the template's think_close,
// "\n</think>\n\n" — the closing marker on a line of its own and the blank
// line before the answer, exactly as the model saw it after every reasoning
// in training (the "</think> and a newline"), so it goes on to answer.
const char *lt_textstream_close_text(const lt_textstream *ts);

// The whole reasoning and content emitted so far (NUL-terminated; *len may be NULL).
const char *lt_textstream_reasoning(const lt_textstream *ts, size_t *len);
const char *lt_textstream_content(const lt_textstream *ts, size_t *len);
lt_textstream_stats lt_textstream_get_stats(const lt_textstream *ts);

#ifdef __cplusplus
}
#endif
#endif
