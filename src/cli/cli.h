// cli.h: shared pieces of the `lathe` command-line front end: the command
// table, flag parsing helpers, and how a status becomes a message + exit code.
#ifndef LATHE_CLI_H
#define LATHE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe/base.h"
#include "lathe/train.h"

// Every subcommand: argv[0] is the subcommand name. Returns the exit code.
typedef int (*lt_cli_fn)(int argc, char **argv);

int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_export(int argc, char **argv);   // cmd_gguf.c
int cmd_import(int argc, char **argv);   // cmd_gguf.c
int cmd_quantize(int argc, char **argv); // cmd_gguf.c
int cmd_tasks(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_sft(int argc, char **argv);
int cmd_distill(int argc, char **argv);

// A command group's table of subcommands, and the dispatch over it: runs the
// subcommand argv[1] names, or prints "usage: lathe PROG COMMAND ..." with the
// table (to stdout after --help, exit 0; to stderr when missing or unknown, 2,
// with the nearest name as "did you mean"). PROG NULL: the top level, `lathe`.
typedef struct {
    const char *name;
    lt_cli_fn fn;
    const char *summary;
} lt_cli_command;
int lt_cli_dispatch(const char *prog, const lt_cli_command *commands, size_t n, int argc,
                    char **argv);

// Exit codes: 0 ok, 1 runtime failure, 2 usage error.
enum { LT_EXIT_OK = 0, LT_EXIT_FAIL = 1, LT_EXIT_USAGE = 2 };

// Prints "lathe: <message>" to stderr, frees st, returns the exit code for it:
// a bad argument (LT_ERR_ARG) is a usage error, 2, and ends with "(try 'lathe
// <cmd> --help')"; every other failure is 1.
int lt_cli_report(const char *cmd, lt_status st);
// Prints "lathe <cmd>: <message>\n(try 'lathe <cmd> --help')" and returns LT_EXIT_USAGE.
int lt_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// True when arg is -h or --help.
bool lt_cli_is_help(const char *arg);
// Strict number parsing for flag values: the whole string must parse.
lt_status lt_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max,
                           int64_t *out);
lt_status lt_cli_parse_double(const char *flag, const char *text, double *out);
// Parses "1,5,9" into a new int32 array (lt_free it).
lt_status lt_cli_parse_ids(const char *flag, const char *text, int32_t **ids, int64_t *n);

// The values of a repeatable or list option, in the order given: items[0..n),
// NULL-terminated, pointing into argv. Free with lt_cli_list_free.
typedef struct {
    const char **items;
    int n;
} lt_cli_list;
void lt_cli_list_free(lt_cli_list *l);

// The one flag parser of every command: a table of options, each one of
//   a value    {"--flag", .value = &text}     "--flag V" or "--flag=V"; the last one wins
//   a switch   {"--flag", .present = &b}      no value
//   repeatable {"--flag", .list = &l}         every "--flag V" appended to l
//   a list     {"--flag", .list = &l, .many = true}   "--flag A B C": the arguments up to
//              the next flag appended to l (and repeatable too)
// .alias holds other accepted spellings, space-separated ("-c --ctx-size"); .spelling,
// when set, receives the spelling typed, for messages that name it. The table
// ends with an entry whose flag is NULL; its .more may name a further table to
// search (the flags a command shares with others).
typedef struct lt_cli_opt {
    const char *flag;
    const char **value;
    bool *present;
    lt_cli_list *list;
    bool many;
    const char *alias;
    const char **spelling;
    const struct lt_cli_opt *more;
} lt_cli_opt;

// Parses argv[1..argc): flags per the table, other arguments into
// positional[0..max_positional) (*n_positional of them). Returns -1 when the
// command should go on (the caller frees the lists: lt_cli_opts_free), otherwise
// the exit code to return at once, lists already freed: after --help, 0; after
// a usage error, printed with a "did you mean" where one is close, 2; out of
// memory, 1. Arguments after "--" are all positional.
int lt_cli_parse(const char *cmd, int argc, char **argv, const lt_cli_opt *opts,
                 const char **positional, int max_positional, int *n_positional,
                 void (*help)(void));
// Frees the lists of every option in the table (and the tables it chains to).
void lt_cli_opts_free(const lt_cli_opt *opts);

// Inserts a flag's value among the positional arguments at index `at` (<= *n):
// `-m MODEL` where MODEL may also come first. False when all max are taken.
bool lt_cli_insert(const char **positional, int *n, int max, int at, const char *value);

// "Did you mean": after lt_cli_suggest_add of every candidate, .best is the one
// nearest to `typed` by edit distance when near enough to be a likely typo (or
// when `typed` is a prefix of it), else NULL.
typedef struct {
    const char *typed, *best;
    size_t distance;
} lt_cli_suggest;
void lt_cli_suggest_init(lt_cli_suggest *s, const char *typed);
void lt_cli_suggest_add(lt_cli_suggest *s, const char *candidate);

// The task-selection flags of `lathe tasks` and `lathe eval` (task_flags.c):
// a comma list of task names or "all" into a bit set (1u << lt_task_kind),
// and a level, a range "2-4" or "all"; errors name FLAG.
lt_status lt_cli_parse_task_kinds(const char *flag, const char *text, unsigned *kinds);
lt_status lt_cli_parse_task_levels(const char *flag, const char *text, int *lo, int *hi);

// Progress rendering for lt_progress: a bar on a TTY, plain lines otherwise.
void lt_cli_progress(void *user, const char *what, double done, double total, const char *info);

// Subcommands implemented beside the tokenizer, for the dispatchers that own
// their command names: `lathe model resize-vocab` (cmd_model_resize.c) and
// `lathe bench tokenizer` (bench_tokenizer.c).
int lt_cli_model_resize_vocab(int argc, char **argv);
int lt_cli_bench_tokenizer(int argc, char **argv);
int lt_cli_bench_infer(int argc, char **argv); // bench_infer.c

// The training flags of `lathe train`, shared with `lathe sft` and `lathe distill`
// (cmd_train.c): fills *o from argv, the --data values into *data, the command's
// own flags through the table `extra` (or NULL). Returns -1 when the command
// should go on (then lt_cli_list_free(data) and lt_cli_opts_free(extra) after
// the run), else its exit code (printed, lists freed).
int lt_cli_train_parse(const char *cmd, int argc, char **argv, const lt_cli_opt *extra,
                       lt_train_opts *o, lt_cli_list *data, bool *dry, void (*help)(void));
extern const char *const lt_cli_train_optimizer_help;        // --global-batch ... --clip
void lt_cli_train_log(void *user, const lt_train_event *ev); // one log line per step or evaluation
int lt_cli_train_dry_run(const char *cmd, const lt_train_opts *o); // prints the memory plan
void lt_cli_train_done(const lt_train_opts *o);                    // where the run went, peak RSS
// What --skip-bad left out of chat data: too-long examples (raise --seq) apart from malformed
// lines.
void lt_cli_report_skipped(const lt_chat_read_stats *st, int64_t seq, const char *first_skip);
// Ctrl-C / SIGTERM for the trainers: sets o->stop (the first signal stops the
// run at the next step boundary, with a checkpoint; the second exits with 130,
// removing the folders of this run that are still empty). Call it just before
// the run, once o->out_dir is set.
void lt_cli_train_catch_signals(lt_train_opts *o);
// "PROGRAM CMD ARGS... --resume", shell-quoted, from the unparsed argv, PROGRAM as
// the user ran it (lathe, build/lathe) (free it; NULL: out of memory).
char *lt_cli_train_resume_command(int argc, char **argv);
// The exit code of a finished run: after a stop, 130 with the resume command
// printed; otherwise lt_cli_train_done or the error (s is freed).
int lt_cli_train_finish(const char *cmd, const lt_train_opts *o, lt_status s,
                        const lt_train_result *r, const char *resume_command);

#endif
