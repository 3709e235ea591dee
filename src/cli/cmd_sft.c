// cmd_sft.c: `lathe sft` — supervised fine-tuning of a model directory on
// chat JSONL: the trainer of `lathe train` (its flags, checkpoints, resume and
// metrics) drawing packed chat rows whose loss counts assistant tokens only.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/train.h"

static void help(void) {
    printf(
        "usage: lathe sft --init-from MODEL_DIR --data CHAT.jsonl[:WEIGHT]... --out DIR [options]\n\n"
        "Supervised fine-tuning on chat JSONL (OpenAI `messages` lines or Llama-Nemotron post-training\n"
        "rows; docs/DATA.md). Each conversation is rendered through the Llama 3 chat template with the\n"
        "model's tokenizer (MODEL_DIR/tokenizer.json), the reasoning toggle taken from its system\n"
        "message; the loss counts the assistant tokens only. Examples are packed into rows of --seq\n"
        "tokens, attention never crossing examples. Repeated --data flags blend files by weight\n"
        "(--data on.jsonl:0.5 --data off.jsonl:0.5).\n\n"
        "Writes DIR/checkpoints/step-N/ (a model directory with the tokenizer files, ready for\n"
        "`lathe generate`, `chat` and `serve`, + train_state.bin), DIR/latest and DIR/metrics.jsonl.\n\n"
        "  --val CHAT.jsonl     held-out conversations: mean loss over their assistant tokens\n"
        "  --skip-bad           skip malformed lines and examples longer than --seq instead of failing\n"
        "                       (each kind counted, the first malformed line reported)\n"
        "  --batch B            rows per micro-batch (default 8)\n"
        "  --seq T              tokens per row, the longest example allowed (default 256)\n"
        "%s"
        "  --dtype T            f32 | bf16 | f16 (mixed precision, as in lathe train) (default f32)\n"
        "  --loss-scale S       f16: dynamic (default), none, or a fixed scale\n"
        "  --seed S             data order (default 1)\n"
        "  --log-every N        metrics line every N steps (default 10)\n"
        "  --eval-every N       validation every N steps (default 200); --eval-batches N (default 20, 0 = all)\n"
        "  --save-every N       checkpoint every N steps (default 500); --keep-last K (default 3)\n"
        "  --resume             continue the run in --out from its latest checkpoint, bit for bit\n"
        "  --stop-after N       train N steps in this session, save a checkpoint and stop\n"
        "  -t, --threads N      OpenMP threads\n"
        "  --run-name NAME      the run's name in metrics.jsonl (default: DIR's name)\n"
        "  --grad-stats-every N log the activation gradients' magnitudes every N steps\n"
        "  --dry-run            print the memory the run needs and exit\n",
        lt_cli_train_optimizer_help);
}

// Loads the chat files and says what was read (and skipped) before training.
static lt_status open_chat(const lt_train_opts *o, lt_tokenizer *tok, bool skip_bad,
                           lt_train_data *src) {
    lt_train_chat_opts co = {.data = o->data,
                             .n_data = o->n_data,
                             .val = o->val_data,
                             .tokenizer = tok,
                             .B = o->batch,
                             .T = o->seq,
                             .seed = o->seed,
                             .skip_bad = skip_bad};
    lt_chat_read_stats st;
    char *first_skip = NULL;
    LT_TRY(lt_train_data_chat(src, &co, &st, &first_skip));
    fprintf(stderr,
            "read %llu conversations from %d file%s: %llu tokens, %llu learned (assistant)\n",
            (unsigned long long)st.n_examples, o->n_data + (o->val_data != NULL),
            o->n_data + (o->val_data != NULL) > 1 ? "s" : "", (unsigned long long)st.n_tokens,
            (unsigned long long)st.n_loss_tokens);
    lt_cli_report_skipped(&st, o->seq, first_skip);
    lt_free(first_skip);
    return NULL;
}

// Checks the flags, reads the chat data and trains.
static int sft_run(lt_train_opts *o, bool skip_bad, bool dry, const char *resume) {
    if (o->preset || o->config)
        return lt_cli_usage_error(
            "sft",
            "--preset and --config do not apply: fine-tuning starts from --init-from MODEL_DIR");
    if (!o->init_from)
        return lt_cli_usage_error(
            "sft", "--init-from MODEL_DIR is required (a model directory with tokenizer.json)");
    if (o->n_data < 1)
        return lt_cli_usage_error("sft", "give at least one --data CHAT.jsonl[:WEIGHT]");
    if (!o->out_dir) return lt_cli_usage_error("sft", "--out DIR is required");
    if (dry) return lt_cli_train_dry_run("sft", o);
    char *tok_path = lt_path_join(o->init_from, "tokenizer.json");
    if (!tok_path)
        return lt_cli_report("sft",
                             lt_error_nomem("the path of tokenizer.json",
                                            strlen(o->init_from) + sizeof "/tokenizer.json"));
    bool has_tok = lt_path_exists(tok_path);
    lt_free(tok_path);
    if (!has_tok)
        return lt_cli_report(
            "sft",
            lt_error(
                LT_ERR_ARG,
                "%s has no tokenizer.json: sft renders the chat template with the model's tokenizer "
                "(copy tokenizer.json and tokenizer_config.json from the tokenizer you trained with, "
                "or pretrain with lathe train --tokenizer DIR)",
                o->init_from));
    lt_tokenizer *tok = NULL;
    lt_train_data src = {0};
    lt_train_result r = {0};
    lt_status s = lt_tokenizer_load(&tok, o->init_from);
    if (!s) s = open_chat(o, tok, skip_bad, &src);
    if (!s) {
        o->source = &src;
        o->tokenizer_dir = o->init_from;
        lt_cli_train_catch_signals(o);
        s = lt_train_run(o, lt_cli_train_log, NULL, &r);
    }
    int rc = lt_cli_train_finish("sft", o, s, &r, resume);
    lt_train_data_free(&src);
    lt_tokenizer_free(tok);
    return rc;
}

int cmd_sft(int argc, char **argv) {
    char *resume = lt_cli_train_resume_command(argc, argv); // argv as typed
    bool skip_bad = false;
    const lt_cli_opt own[] = {{"--skip-bad", .present = &skip_bad}, {0}};
    lt_train_opts o;
    lt_cli_list data = {0};
    bool dry;
    int rc = lt_cli_train_parse("sft", argc, argv, own, &o, &data, &dry, help);
    if (rc < 0) rc = sft_run(&o, skip_bad, dry, resume);
    lt_cli_list_free(&data);
    free(resume);
    return rc;
}
