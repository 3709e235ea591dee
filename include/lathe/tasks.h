// tasks.h: generated, seeded, verifiable reasoning tasks — the data that
// teaches a small model the reasoning toggle (DESIGN.md) and the scorer that
// grades it. Each problem carries a prompt, its exact answer, and a compact
// step-by-step working (digit by digit with carries, partial products, each
// intermediate result), so one problem gives a paired "on" example
// ("<think>\nWORKING\n</think>\n\nAnswer: X") and "off" example ("Answer: X").
// The verifier parses the last "Answer: ..." of a model's output and checks
// the format the mode asks for. docs/TASKS.md describes tasks, levels and rules.
#ifndef LATHE_TASKS_H
#define LATHE_TASKS_H

#include "lathe/chat.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LT_TASK_ADD = 0, // multi-digit addition, column by column with carries
    LT_TASK_SUB,     // subtraction with borrows (negative results at levels 3-4)
    LT_TASK_MUL,     // multiplication by a 1-2 digit number via partial products
    LT_TASK_WORD,    // multi-step arithmetic word problems (2-4 steps)
    LT_TASK_SORT,    // sorting a list of integers ascending
    LT_TASK_BOOL,    // evaluating a boolean expression of true/false with and, or, not
    LT_TASK_COUNT
} lt_task_kind;

#define LT_TASK_LEVEL_MIN 1
#define LT_TASK_LEVEL_MAX 4

const char *lt_tasks_kind_name(lt_task_kind kind); // "add", "sub", "mul", "word", "sort", "bool"
// Parses a task name; LT_ERR_ARG naming the accepted names otherwise.
lt_status lt_tasks_kind_parse(const char *name, lt_task_kind *out);

typedef struct {
    lt_task_kind kind;
    int level;
    char *prompt; // the user message
    char *answer; // the exact answer as written after "Answer: " ("432", "-17", "3, 7, 19", "true")
    char *thinking; // the working, one step per line, no think tags, no surrounding whitespace
    char *key;      // canonical form for deduplication ("add 347 85"); phrasing-independent
} lt_task_problem;

// Generates one problem of `kind` at `level` (1..4) from rng: deterministic for a given rng state.
lt_status lt_tasks_generate(lt_task_problem *p, lt_task_kind kind, int level, lt_rng *rng);
void lt_tasks_problem_free(lt_task_problem *p);

// The assistant message for a mode: "on": tpl->think_open THINKING tpl->think_close
// "Answer: X", exactly as the chat template renders an on-mode turn; "off": "Answer: X".
// Appends to out.
lt_status lt_tasks_assistant_text(const lt_task_problem *p, const lt_chat_template *tpl,
                                  lt_reasoning mode, lt_bytes *out);

// ---------------------------------------------------------------- sets of problem keys

typedef struct {
    char **slots; // open addressing; NULL = empty
    size_t n, cap;
} lt_task_keys;
lt_status lt_tasks_keys_add(lt_task_keys *keys, const char *key); // no-op when present
bool lt_tasks_keys_has(const lt_task_keys *keys, const char *key);
void lt_tasks_keys_free(lt_task_keys *keys);
// Adds the "key" field of every line of a JSONL file written by lt_tasks_write_jsonl;
// errors name the file and line (invalid JSON, a line without a string "key").
lt_status lt_tasks_keys_read_jsonl(lt_task_keys *keys, const char *path);

// ---------------------------------------------------------------- problem sets

typedef struct {
    unsigned kinds;           // bit (1u << kind) for each task to generate
    int level_min, level_max; // inclusive, within 1..4
    int64_t n_per;            // problems per (task, level)
    uint64_t seed;
    bool unique;                 // no two problems with the same key (evaluation sets)
    const lt_task_keys *exclude; // keys to leave out, e.g. a training set's (may be NULL)
} lt_task_spec;

typedef struct {
    lt_task_problem *items;
    size_t n;
} lt_task_set;

// Generates n_per problems for each selected (task, level), then shuffles the
// whole set (all deterministic in seed; each (task, level) draws from its own
// stream, so changing one task's count leaves the others unchanged). With
// `unique` or `exclude`, rejected problems are redrawn; LT_ERR_RANGE when a
// (task, level) runs out of fresh problems.
lt_status lt_tasks_set_generate(lt_task_set *set, const lt_task_spec *spec);
void lt_tasks_set_free(lt_task_set *set);

// Writes one chat example per problem to a JSONL file (crash-safely):
// {"messages":[{"role":"system","content":"detailed thinking on|off"},
//  {"role":"user","content":PROMPT},{"role":"assistant","content":ASSISTANT_TEXT}],
//  "task":"add","level":2,"answer":"432","key":"add 347 85"}
lt_status lt_tasks_write_jsonl(const lt_task_set *set, const lt_chat_template *tpl,
                               lt_reasoning mode, const char *path);

// ---------------------------------------------------------------- verifier

typedef enum {
    LT_TASK_CORRECT = 0,
    LT_TASK_WRONG,
    LT_TASK_UNPARSEABLE, // no "Answer: <integers | true | false>" after the thinking section
} lt_task_verdict;

typedef struct {
    lt_task_verdict verdict;
    bool format_ok;      // the mode's format: see below
    bool has_think;      // the output contains a think opening or closing tag
    bool think_closed;   // a think section was opened and closed
    const char *problem; // why format_ok is false (static text), NULL when it holds
} lt_task_score;

// Scores a model's output (the assistant text) against the expected answer.
// The answer is the last "Answer:" (any case) in the text after the last
// think closing tag (the whole text when there is none; nothing when the last
// think opening tag is never closed), followed by one integer or a list of integers
// separated by commas and/or spaces, optionally in [brackets], or the word
// true or false (any case), then an optional '.' and only whitespace to the
// end of the line. It is correct when its integers (or truth value) equal the
// expected answer's. Format, "on": the text starts
// (after whitespace) with one think section, opened and closed once, with
// non-empty thinking, followed by the answer; "off": no think tag anywhere.
lt_task_score lt_tasks_verify(const char *expected, const char *output, lt_reasoning mode,
                              const lt_chat_template *tpl);
const char *lt_tasks_verdict_name(lt_task_verdict v); // "correct", "wrong", "unparseable"

#ifdef __cplusplus
}
#endif
#endif
