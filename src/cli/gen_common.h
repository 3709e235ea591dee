// gen_common.h: the flags and the streaming loop `lathe generate` and `lathe
// chat` share (gen_common.c).
#ifndef LATHE_CLI_GEN_COMMON_H
#define LATHE_CLI_GEN_COMMON_H

#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "lathe/generate.h"

typedef struct {
    const char *dtype, *ctx, *threads, *max_tokens, *temperature, *top_k, *top_p, *min_p,
        *repeat_penalty, *presence_penalty, *frequency_penalty, *seed, *think_budget;
    lt_cli_list stop, stop_id; // repeatable, at most LT_GEN_MAX_STOP each
    char stop_buf[LT_GEN_MAX_STOP][256];
    lt_cli_opt opts[16]; // the table of these flags, for a command's table to chain to
} lt_cli_gen_flags;

// Prints the help of the shared flags, but for those in `skip` (space-separated:
// the flags a command describes itself).
void lt_cli_gen_print_help(const char *skip);
// Sets the defaults and fills f->opts (chain it: {.more = f->opts}).
void lt_cli_gen_flags_init(lt_cli_gen_flags *f);
// The flags' values into engine options and generation parameters; frees the
// --stop/--stop-id lists (call it once the command line is parsed, on every path).
lt_status lt_cli_gen_parse(lt_cli_gen_flags *f, lt_engine_opts *eo, lt_gen_params *gp);
// Opens a model for generation; it must come with a tokenizer.
lt_status lt_cli_open_engine(const char *path, lt_engine_opts *eo, lt_engine **e);

// Ctrl-C: sets lt_cli_interrupted (the running generation stops at its next token).
extern volatile sig_atomic_t lt_cli_interrupted;
void lt_cli_catch_sigint(void);

typedef struct {
    const lt_tokenizer *tok;
    bool print_ids;     // print token ids (comma-separated) instead of text
    bool hide_thinking; // leave the thinking section out
    bool color;         // thinking dimmed with ANSI escapes; else inside <think>...</think>
    bool logprobs;      // each token's id, text and log-probability on stderr
} lt_cli_stream_opts;

typedef struct {
    lt_gen_finish finish;
    int64_t prompt_tokens, cached_tokens, generated_tokens, thinking_tokens;
    double seconds, first_token_seconds;
    lt_bytes content, reasoning; // the whole texts (lt_bytes_free them)
} lt_cli_stream_result;

// Runs one request to its end, streaming to `out`; Ctrl-C cancels it.
lt_status lt_cli_stream(lt_gen *g, const int32_t *prompt, int64_t n, const lt_gen_params *p,
                        int slot, const lt_cli_stream_opts *o, FILE *out,
                        lt_cli_stream_result *res);

#endif
