// cmd_train.c: `lathe train` — pretraining a fresh model or continuing to
// train an existing one, rendering progress and log lines. Its flags, log
// lines, dry run and Ctrl-C handling are shared with `lathe sft` and `lathe distill`.
#define _GNU_SOURCE // program_invocation_name
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/train.h"

// The optimizer flags' help, shared by train and sft.
const char *const lt_cli_train_optimizer_help =
    "  --global-batch N     tokens per optimizer step, a multiple of B*T (gradient\n"
    "                       accumulation)\n"
    "  --steps N            optimizer steps in total (default 1000)\n"
    "  --lr X, --min-lr X   peak and final learning rate (default 3e-4, 3e-5)\n"
    "  --warmup N           linear warmup steps (default 0)\n"
    "  --schedule S         cosine | linear | constant | wsd (default cosine)\n"
    "  --decay-frac F       wsd: fraction of steps spent decaying (default 0.2)\n"
    "  --beta1/--beta2/--eps/--weight-decay  AdamW (default 0.9, 0.95, 1e-8, 0.1)\n"
    "  --clip X             global gradient-norm clipping, 0 to disable (default 1.0)\n";

static void help(void) {
    printf(
        "usage: lathe train (--preset NAME | --config FILE | --init-from DIR) --data SHARD[:WEIGHT]...\n"
        "                   --out DIR [options]\n\n"
        "Trains a model on token shards (made by `lathe data tokenize`). A fresh model comes from\n"
        "--preset or --config; --init-from DIR continues training an existing checkpoint\n"
        "(continued pretraining). Repeated --data flags blend shards by weight\n"
        "(--data domain.bin:0.9 --data general.bin:0.1).\n\n"
        "Writes DIR/checkpoints/step-N/ (a Hugging Face model directory + train_state.bin),\n"
        "DIR/latest (the newest complete checkpoint) and DIR/metrics.jsonl (`lathe plot` draws it).\n"
        "Ctrl-C (or SIGTERM) saves a checkpoint at the end of the current step, prints the command\n"
        "that resumes the run and exits with status 130; a second Ctrl-C quits at once.\n\n"
        "  --tokenizer DIR      the tokenizer the shards were made with: copied into every checkpoint\n"
        "                       so lathe chat/generate/serve run it (default: --init-from's, if any)\n"
        "  --val SHARD          held-out shard: validation loss, perplexity and bits per byte\n"
        "  --batch B            sequences per micro-batch (default 8)\n"
        "  --seq T              tokens per sequence (default 256)\n"
        "%s"
        "  --dtype T            f32, or mixed precision: bf16 | f16 (f32 master weights, 16-bit\n"
        "                       weight copy and activations, f32 accumulation) (default f32)\n"
        "  --loss-scale S       f16: dynamic (default; x2 after 2000 finite steps, x0.5 and skip\n"
        "                       on overflow), none, or a fixed scale\n"
        "  --seed S             data order (default 1); --init-seed S: fresh weights (default 1)\n"
        "  --log-every N        metrics line every N steps (default 10)\n"
        "  --eval-every N       validation every N steps (default 200); --eval-batches N (default 20, 0 = all)\n"
        "  --save-every N       checkpoint every N steps (default 500); --keep-last K (default 3)\n"
        "  --resume             continue the run in --out from its latest checkpoint, bit for bit\n"
        "  --stop-after N       train N steps in this session, save a checkpoint and stop\n"
        "                       (continue later with --resume)\n"
        "  -t, --threads N      OpenMP threads\n"
        "  --run-name NAME      the run's name in metrics.jsonl (default: DIR's name)\n"
        "  --grad-stats-every N log the activation gradients' magnitudes every N steps (their\n"
        "                       log2 histogram and the share f16 would flush to zero)\n"
        "  --dry-run            print the memory the run needs and exit\n",
        lt_cli_train_optimizer_help);
}

static void print_bytes(const char *label, double bytes) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    printf("  %-22s %9.2f %s\n", label, bytes, unit[u]);
}

void lt_cli_train_log(void *user, const lt_train_event *ev) {
    (void)user;
    bool tty = isatty(STDERR_FILENO);
    if (ev->has_val) {
        char bpb[32] = "";
        if (ev->val_bpb > 0) snprintf(bpb, sizeof bpb, "  bpb %.4f", ev->val_bpb);
        char parts[160] = "";
        for (int i = 0, n = 0; i < ev->n_parts && n >= 0 && (size_t)n < sizeof parts; i++)
            n += snprintf(parts + n, sizeof parts - (size_t)n, "  val %s %.4f", ev->part_names[i],
                          ev->parts[i]);
        fprintf(stderr, "%sstep %lld/%lld  val loss %.4f  ppl %.2f%s%s\n", tty ? "\r\033[K" : "",
                (long long)ev->step, (long long)ev->steps, ev->val_loss, ev->val_ppl, bpb, parts);
        return;
    }
    double eta =
        ev->step > 0 ? ev->elapsed_s / (double)ev->step * (double)(ev->steps - ev->step) : 0;
    char scale[48] = "";
    if (ev->loss_scale != 1.0)
        snprintf(scale, sizeof scale, "  scale %g (%lld skipped)", ev->loss_scale,
                 (long long)ev->skipped_total);
    char parts[160] = "";
    for (int i = 0, n = 0; i < ev->n_parts && n >= 0 && (size_t)n < sizeof parts; i++)
        n += snprintf(parts + n, sizeof parts - (size_t)n, " %s%s %.4f", i ? "" : "(",
                      ev->part_names[i], ev->parts[i]);
    if (ev->n_parts > 0) strncat(parts, ")", sizeof parts - strlen(parts) - 1);
    fprintf(
        stderr,
        "%sstep %lld/%lld  loss %.4f%s  lr %.3g  |g| %.3g  %.0f tok/s  MFU %.1f%%%s  ETA %dm%02ds\n",
        tty ? "\r\033[K" : "", (long long)ev->step, (long long)ev->steps, ev->loss, parts, ev->lr,
        ev->grad_norm, ev->tokens_per_s, ev->mfu * 100, scale, (int)(eta / 60), (int)eta % 60);
}

typedef struct {
    const char *batch, *seq, *global, *steps, *lr, *min_lr, *warmup, *decay, *beta1, *beta2, *eps,
        *wd, *clip, *dtype, *seed, *init_seed, *log_every, *eval_every, *eval_batches, *save_every,
        *keep_last, *threads, *stop_after, *grad_stats;
} flag_text;

static lt_status parse_numbers(lt_train_opts *o, const flag_text *f) {
    const int64_t big = INT64_C(1) << 40;
    int64_t v;
    struct {
        const char *flag, *text;
        int64_t *out;
        int64_t min;
    } ints[] = {{"--batch", f->batch, &o->batch, 1},
                {"--seq", f->seq, &o->seq, 1},
                {"--global-batch", f->global, &o->global_batch_tokens, 0},
                {"--steps", f->steps, &o->steps, 1},
                {"--warmup", f->warmup, &o->warmup, 0},
                {"--log-every", f->log_every, &o->log_every, 1},
                {"--eval-every", f->eval_every, &o->eval_every, 0},
                {"--eval-batches", f->eval_batches, &o->eval_batches, 0},
                {"--save-every", f->save_every, &o->save_every, 0},
                {"--keep-last", f->keep_last, &o->keep_last, 0},
                {"--stop-after", f->stop_after, &o->stop_after, 1},
                {"--grad-stats-every", f->grad_stats, &o->grad_stats_every, 1}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (ints[i].text)
            LT_TRY(lt_cli_parse_int(ints[i].flag, ints[i].text, ints[i].min, big, ints[i].out));
    struct {
        const char *flag, *text;
        double *out;
    } reals[] = {{"--lr", f->lr, &o->lr},
                 {"--min-lr", f->min_lr, &o->min_lr},
                 {"--decay-frac", f->decay, &o->decay_frac},
                 {"--beta1", f->beta1, &o->beta1},
                 {"--beta2", f->beta2, &o->beta2},
                 {"--eps", f->eps, &o->eps},
                 {"--weight-decay", f->wd, &o->weight_decay},
                 {"--clip", f->clip, &o->clip}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (reals[i].text) LT_TRY(lt_cli_parse_double(reals[i].flag, reals[i].text, reals[i].out));
    if (f->dtype) LT_TRY(lt_dtype_parse(f->dtype, &o->dtype));
    if (f->seed) {
        LT_TRY(lt_cli_parse_int("--seed", f->seed, 0, INT64_MAX, &v));
        o->seed = (uint64_t)v;
    }
    if (f->init_seed) {
        LT_TRY(lt_cli_parse_int("--init-seed", f->init_seed, 0, INT64_MAX, &v));
        o->init_seed = (uint64_t)v;
    }
    if (f->threads) {
        LT_TRY(lt_cli_parse_int("--threads", f->threads, 1, 1024, &v));
        o->threads = (int)v;
    }
    return NULL;
}

int lt_cli_train_dry_run(const char *cmd, const lt_train_opts *o) {
    lt_train_memory mem;
    lt_status s = lt_train_plan_memory(o, &mem);
    if (s) return lt_cli_report(cmd, s);
    printf("memory for batch %lld x %lld (%s):\n", (long long)o->batch, (long long)o->seq,
           lt_dtype_name(o->dtype));
    print_bytes("weights (f32 master)", (double)mem.weights);
    if (mem.weights_lowp) print_bytes("weights (16-bit copy)", (double)mem.weights_lowp);
    print_bytes("gradients", (double)mem.grads);
    print_bytes("optimizer state", (double)mem.optimizer);
    print_bytes("activations", (double)mem.activations);
    if (mem.scratch) print_bytes("GEMM scratch", (double)mem.scratch);
    if (mem.data) print_bytes("token shards", (double)mem.data);
    if (mem.objective) print_bytes("objective (teacher)", (double)mem.objective);
    print_bytes("total", (double)mem.total);
    return LT_EXIT_OK;
}

int lt_cli_train_parse(const char *cmd, int argc, char **argv, const lt_cli_opt *extra,
                       lt_train_opts *o, lt_cli_list *data, bool *dry, void (*help)(void)) {
    lt_train_opts_default(o);
    flag_text f = {0};
    bool resume = false;
    *dry = false;
    const lt_cli_opt opts[] = {{"--preset", .value = &o->preset},
                               {"--config", .value = &o->config},
                               {"--init-from", .value = &o->init_from},
                               {"--out", .value = &o->out_dir, .alias = "-o"},
                               {"--data", .list = data},
                               {"--val", .value = &o->val_data},
                               {"--batch", .value = &f.batch},
                               {"--seq", .value = &f.seq},
                               {"--global-batch", .value = &f.global},
                               {"--steps", .value = &f.steps},
                               {"--lr", .value = &f.lr},
                               {"--min-lr", .value = &f.min_lr},
                               {"--warmup", .value = &f.warmup},
                               {"--schedule", .value = &o->schedule},
                               {"--decay-frac", .value = &f.decay},
                               {"--beta1", .value = &f.beta1},
                               {"--beta2", .value = &f.beta2},
                               {"--eps", .value = &f.eps},
                               {"--weight-decay", .value = &f.wd},
                               {"--clip", .value = &f.clip},
                               {"--dtype", .value = &f.dtype},
                               {"--loss-scale", .value = &o->loss_scale},
                               {"--seed", .value = &f.seed},
                               {"--init-seed", .value = &f.init_seed},
                               {"--log-every", .value = &f.log_every},
                               {"--eval-every", .value = &f.eval_every},
                               {"--eval-batches", .value = &f.eval_batches},
                               {"--save-every", .value = &f.save_every},
                               {"--keep-last", .value = &f.keep_last},
                               {"--stop-after", .value = &f.stop_after},
                               {"--threads", .value = &f.threads, .alias = "-t"},
                               {"--run-name", .value = &o->run_name},
                               {"--grad-stats-every", .value = &f.grad_stats},
                               {"--resume", .present = &resume},
                               {"--dry-run", .present = dry},
                               {.more = extra}};
    int rc = lt_cli_parse(cmd, argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    o->data = data->items;
    o->n_data = data->n;
    o->resume = resume;
    lt_status s = parse_numbers(o, &f);
    if (s) {
        lt_cli_opts_free(opts);
        return lt_cli_report(cmd, s);
    }
    o->progress = (lt_progress){.fn = isatty(STDERR_FILENO) ? lt_cli_progress : NULL};
    return -1;
}

void lt_cli_train_done(const lt_train_opts *o) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("saved: %s/latest names the newest checkpoint; metrics in %s/metrics.jsonl\n",
           o->out_dir, o->out_dir);
    printf("peak memory (RSS): %.1f MiB\n", (double)usage.ru_maxrss / 1024.0);
}

void lt_cli_report_skipped(const lt_chat_read_stats *st, int64_t seq, const char *first_skip) {
    uint64_t too_long = st->n_too_long, bad = st->n_skipped - st->n_too_long;
    if (too_long > 0)
        fprintf(
            stderr,
            "skipped %llu example%s longer than the context of %lld tokens (raise --seq to keep them)\n",
            (unsigned long long)too_long, too_long > 1 ? "s" : "", (long long)seq);
    if (bad > 0)
        fprintf(stderr, "skipped %llu bad line%s; the first: %s\n", (unsigned long long)bad,
                bad > 1 ? "s" : "", first_skip ? first_skip : "?");
}

// ---------------------------------------------------------------- interrupts

static volatile sig_atomic_t stop_requested = 0;

// The folders this run creates, innermost first: OUT/checkpoints, OUT and any
// missing parents of OUT. Filled before the run; the exit on a second signal
// removes the ones still empty (rmdir leaves a folder that holds anything).
enum { MAX_NEW_FOLDERS = 8, FOLDER_PATH_MAX = 4096 };
static char new_folders[MAX_NEW_FOLDERS][FOLDER_PATH_MAX];
static int n_new_folders = 0;

static void note_new_folder(const char *path) {
    if (n_new_folders < MAX_NEW_FOLDERS && strlen(path) < FOLDER_PATH_MAX)
        memcpy(new_folders[n_new_folders++], path, strlen(path) + 1);
}

static void note_new_folders(const char *out_dir) {
    char path[FOLDER_PATH_MAX];
    n_new_folders = 0;
    if (!out_dir || snprintf(path, sizeof path, "%s/checkpoints", out_dir) >= (int)sizeof path)
        return;
    if (lt_path_is_dir(path)) return;
    note_new_folder(path);
    size_t n = strlen(out_dir);
    memcpy(path, out_dir, n + 1);
    for (;;) {
        while (n > 1 && path[n - 1] == '/') path[--n] = 0;
        if (n == 0 || lt_path_is_dir(path)) return;
        note_new_folder(path);
        while (n > 0 && path[n - 1] != '/') n--; // up to the parent
        if (n == 0) return;
        path[n] = 0;
    }
}

// The first SIGINT/SIGTERM asks the trainer to stop at the next step boundary
// (it saves a checkpoint); the second exits at once, leaving no empty folder.
// Only async-signal-safe calls.
static void on_stop_signal(int sig) {
    (void)sig;
    if (stop_requested) {
        for (int i = 0; i < n_new_folders; i++) rmdir(new_folders[i]);
        _exit(130);
    }
    stop_requested = 1;
    static const char msg[] =
        "\nlathe: stopping after this step to save a checkpoint (Ctrl-C again to quit at once)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

void lt_cli_train_catch_signals(lt_train_opts *o) {
    note_new_folders(o->out_dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o->stop = &stop_requested;
}

// Appends `arg` to buf (size cap, used *n) quoted for a POSIX shell when it needs it.
static void append_quoted(char *buf, size_t cap, size_t *n, const char *arg) {
    bool plain = *arg != 0;
    for (const char *c = arg; *c; c++)
        plain = plain && (strchr("_./:=,+@%-", *c) || (*c >= '0' && *c <= '9') ||
                          ((*c | 32) >= 'a' && (*c | 32) <= 'z'));
    if (plain) {
        *n += (size_t)snprintf(buf + *n, cap - *n, " %s", arg);
    } else {
        *n += (size_t)snprintf(buf + *n, cap - *n, " '");
        for (const char *c = arg; *c && *n < cap; c++)
            *n += (size_t)snprintf(buf + *n, cap - *n, *c == '\'' ? "'\\''" : "%c", *c);
        *n += (size_t)snprintf(buf + *n, cap - *n, "'");
    }
    if (*n >= cap) *n = cap - 1;
}

char *lt_cli_train_resume_command(int argc, char **argv) {
    size_t cap = 64 + 4 * strlen(program_invocation_name);
    for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 4;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t n = 0;
    append_quoted(buf, cap, &n, program_invocation_name); // as the user ran it: lathe, build/lathe
    memmove(buf, buf + 1, n--);                           // without the separating space
    bool resume = false;
    for (int i = 0; i < argc; i++) {
        append_quoted(buf, cap, &n, argv[i]);
        resume = resume || strcmp(argv[i], "--resume") == 0;
    }
    if (!resume) snprintf(buf + n, cap - n, " --resume");
    return buf;
}

int lt_cli_train_finish(const char *cmd, const lt_train_opts *o, lt_status s,
                        const lt_train_result *r, const char *resume_command) {
    if (s || !r->stopped) {
        if (!s) lt_cli_train_done(o);
        return lt_cli_report(cmd, s);
    }
    if (r->saved) {
        fprintf(stderr,
                "lathe: interrupted at step %lld of %lld; saved %s/%s\nresume with:\n  %s\n",
                (long long)r->step, (long long)o->steps, o->out_dir, r->checkpoint,
                resume_command ? resume_command : "(the same command) --resume");
    } else {
        fprintf(stderr, "lathe: interrupted before the first step: nothing to save\n");
    }
    return 130;
}

// The tokenizer every checkpoint carries: --tokenizer DIR, else the --init-from
// model's; token shards do not record theirs, so without either there is none.
static void pick_tokenizer(lt_train_opts *o, const char *flag) {
    o->tokenizer_dir = flag;
    if (!flag && o->init_from) {
        char *json = lt_path_join(o->init_from, "tokenizer.json");
        if (json && lt_path_exists(json)) o->tokenizer_dir = o->init_from;
        free(json);
    }
    if (!o->tokenizer_dir)
        fprintf(
            stderr,
            "note: checkpoints will carry no tokenizer, so lathe chat, generate and serve cannot run them "
            "as they are: pass --tokenizer DIR (the tokenizer the shards were made with)\n");
}

int cmd_train(int argc, char **argv) {
    char *resume = lt_cli_train_resume_command(argc, argv); // argv as typed
    const char *tokenizer = NULL;
    const lt_cli_opt own[] = {{"--tokenizer", .value = &tokenizer}, {0}};
    lt_train_opts o;
    lt_cli_list data = {0};
    bool dry;
    int rc = lt_cli_train_parse("train", argc, argv, own, &o, &data, &dry, help);
    if (rc < 0 && dry) rc = lt_cli_train_dry_run("train", &o);
    if (rc < 0) {
        pick_tokenizer(&o, tokenizer);
        lt_cli_train_catch_signals(&o);
        lt_train_result r;
        lt_status s = lt_train_run(&o, lt_cli_train_log, NULL, &r);
        rc = lt_cli_train_finish("train", &o, s, &r, resume);
    }
    lt_cli_list_free(&data);
    free(resume);
    return rc;
}
