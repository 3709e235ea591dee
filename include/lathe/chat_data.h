// chat_data.h: chat datasets for supervised fine-tuning — reading chat JSONL
// (the OpenAI `messages` form and the Llama-Nemotron post-training row form)
// into conversations, rendering them through a chat template into token ids
// with a loss mask, packing examples into rows of T tokens whose segments keep
// attention inside each example, and a loader that draws (B, T) batches from
// several datasets blended by weight, in a seeded order over epochs (the
// blending loader of data.h, with a chat dataset as its source).
//
// The reasoning toggle follows the rule in chat.h: the system message's first
// line says "detailed thinking on|off" (no toggle: off). Thinking given for an
// assistant turn while the toggle is off is an error (chat.h refuses to render
// it), except an empty thinking section, which is dropped. docs/DATA.md has
// the formats, the packing rule and every error.
#ifndef LATHE_CHAT_DATA_H
#define LATHE_CHAT_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe/base.h"
#include "lathe/chat.h"
#include "lathe/data.h"
#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// The target of a token whose next token is not learned (HF's ignore index;
// the loss ignores every negative target).
#define LT_CHAT_IGNORE (-100)

// ---------------------------------------------------------------- conversations

// One conversation, normalised: messages[i] point into strings the
// conversation owns. The first message is the system message (built by the
// toggle rule) when the input had one or asked for a mode.
typedef struct {
    lt_chat_message *messages; // (n)
    size_t n;
    char **strings; // (n_strings) owned copies the messages point into
    size_t n_strings;
} lt_chat_conv;
void lt_chat_conv_free(lt_chat_conv *c); // zeroes it; a zeroed conv is fine

// Parses one JSONL line (len bytes, not NUL-terminated) in either form:
//   {"messages": [{"role", "content", "reasoning_content"?}, ...]}
//   {"input": [messages] | "text", "output": "...", "reasoning": "on"|"off",
//    "system_prompt": "..."}
// An assistant's thinking comes from "reasoning_content" or from a leading
// "<think>...</think>" in its content (output); it is normalised into the
// message's `reasoning`. `where` ("file:line") starts every error message.
// Checks: valid JSON, a known form, string fields, known roles, a system
// message only first, at least one assistant turn, the toggle rule.
lt_status lt_chat_parse_line(lt_chat_conv *out, const char *line, size_t len,
                             const lt_chat_template *tpl, const char *where);

// ---------------------------------------------------------------- datasets

typedef struct {
    lt_tokenizer *tokenizer;     // borrowed; encoding uses it (not thread-safe)
    const lt_chat_template *tpl; // NULL: "llama3"
    int64_t max_tokens;          // the context T: a longer example is bad input (0: no limit)
    bool skip_bad;               // skip bad lines and count them instead of failing
} lt_chat_read_opts;

typedef struct {
    uint64_t n_lines;       // lines read, blank ones included
    uint64_t n_examples;    // conversations kept
    uint64_t n_skipped;     // bad lines skipped (skip_bad)
    uint64_t n_too_long;    // of which examples longer than max_tokens
    uint64_t n_tokens;      // tokens of all kept examples
    uint64_t n_loss_tokens; // of which learned (mask 1)
} lt_chat_read_stats;

// Examples in memory: each one's ids, loss mask and the line it came from.
typedef struct lt_chat_dataset lt_chat_dataset;

// An empty dataset that examples can be added to.
lt_status lt_chat_dataset_init(lt_chat_dataset **out, const lt_chat_read_opts *opts,
                               const char *name);
// Renders a conversation and appends it; `where` names it in errors (too long,
// no learned token, template errors). On error the dataset is unchanged.
lt_status lt_chat_dataset_add(lt_chat_dataset *d, const lt_chat_message *messages, size_t n,
                              uint64_t line, const char *where);
// Reads a chat JSONL file. Without skip_bad, the first bad line fails the
// whole load ("file:line: why") and nothing is returned; with it, bad lines
// are counted in stats->n_skipped and (if not NULL) the first one's message is
// kept in *first_skip (lt_free it): the first malformed line's, or, when every
// skipped line was too long, the first too-long example's. A file with no
// usable example fails.
lt_status lt_chat_dataset_load(lt_chat_dataset **out, const char *path,
                               const lt_chat_read_opts *opts, lt_chat_read_stats *stats,
                               char **first_skip);
void lt_chat_dataset_free(lt_chat_dataset *d); // NULL is fine

const char *lt_chat_dataset_name(const lt_chat_dataset *d);
size_t lt_chat_dataset_n_examples(const lt_chat_dataset *d);
uint64_t lt_chat_dataset_n_tokens(const lt_chat_dataset *d);
// FNV-1a 64 over every example's ids and mask: a cursor is never restored onto other data.
uint64_t lt_chat_dataset_checksum(const lt_chat_dataset *d);
int32_t lt_chat_dataset_max_id(const lt_chat_dataset *d); // the largest token id (-1: empty)
// Example i: its ids (returned), length and mask (mask may be NULL); line is
// the input line (may be NULL).
const int32_t *lt_chat_dataset_example(const lt_chat_dataset *d, size_t i, size_t *len,
                                       const uint8_t **mask, uint64_t *line);

// ---------------------------------------------------------------- packing

// Examples packed into rows of T tokens: row r holds examples
// example[row_start[r] .. row_start[r + 1]), in that order.
typedef struct {
    int64_t T;
    size_t n_rows;
    size_t *row_start; // (n_rows + 1)
    uint32_t *example; // (n_examples packed)
} lt_chat_packing;
void lt_chat_packing_free(lt_chat_packing *p);

// First-fit: examples are taken in the given order, each goes into the first
// row (in creation order) with room for it, or opens a new row. Every example
// must have at most T tokens.
lt_status lt_chat_pack(const lt_chat_dataset *d, const uint32_t *order, size_t n, int64_t T,
                       lt_chat_packing *out);

// Fills one row (each (T)): the row's examples one after another, segments
// 0, 1, 2, ... per example and positions from 0 in each; targets[t] is
// ids[t + 1] when that token is in the same example and learned (mask 1),
// else LT_CHAT_IGNORE. The tail is padding: ids pad_id, targets ignored, a
// segment of its own with positions from 0. segments/positions may be NULL.
void lt_chat_fill_row(const lt_chat_dataset *d, const lt_chat_packing *p, size_t row,
                      int32_t pad_id, int32_t *ids, int32_t *targets, int32_t *segments,
                      int32_t *positions);

// ---------------------------------------------------------------- loader

// A dataset as a source of the blending loader (data.h): each epoch is a
// permutation of its examples packed first-fit into rows, and the loader
// shuffles the rows, all from a stream seeded by (seed, source, epoch); so
// every example is seen once per epoch of its source, and the order is
// reproducible. The dataset is borrowed; pad_id fills the rows' tails.
lt_status lt_data_source_chat(lt_data_source *out, const lt_chat_dataset *d, int32_t pad_id);

typedef struct {
    lt_chat_dataset *const *datasets; // (n_sources) borrowed, kept alive by the caller
    const double *weights;            // (n_sources) > 0, normalised; NULL: all equal
    int n_sources;
    int64_t B, T;
    uint64_t seed;
    int32_t pad_id; // the id of padding tokens (never learned)
} lt_chat_loader_opts;

// A blending loader (lt_loader_next, lt_loader_state_save, ... in data.h)
// over chat datasets, with cursor magic "LTCHATCR". Its fingerprint of a
// dataset is (examples, tokens, checksum); lt_loader_check_vocab also checks
// the pad id.
lt_status lt_chat_loader_open(lt_loader **out, const lt_chat_loader_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
