// cmd_generate.c: `lathe generate` — a prompt in, its continuation streamed to
// stdout: raw text completion, or one chat turn through the model's chat
// template with the reasoning toggle (--chat, --think on|off); --ids takes and
// prints token ids instead of text.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/gen_common.h"
#include "lathe/chat.h"

static void help(void) {
    printf("usage: lathe generate MODEL [PROMPT] [-f FILE] [--ids] [--chat]\n"
           "                      [--think on|off] [--system TEXT] [--hide-thinking]\n"
           "                      [--logprobs] [--stats] [sampling flags]\n\n"
           "Continues PROMPT (or the text of --prompt-file, or stdin when neither is given)\n"
           "with MODEL (a model directory or a .gguf file) and streams the text to stdout.\n\n"
           "  -m, --model M    MODEL as a flag\n"
           "  -p, --prompt P   PROMPT as a flag\n"
           "  -f, --prompt-file F  the prompt is the text of F\n"
           "  --ids            PROMPT is token ids (\"1,2,3\"); the output is ids too\n"
           "  --chat           treat PROMPT as a user message: render it with the chat\n"
           "                   template and print the assistant's answer\n"
           "  --think on|off   with --chat: the reasoning toggle (system line 'detailed\n"
           "                   thinking on|off'; default off)\n"
           "  --system TEXT    with --chat: more system text after the toggle line\n"
           "  --hide-thinking  leave the <think> section out of the output\n"
           "  --logprobs       print each generated token's id, text and log-probability\n"
           "                   on stderr\n"
           "  --stats          tokens, time to first token and tokens/s on stderr\n\n");
    lt_cli_gen_print_help(NULL);
}

static lt_status read_all(FILE *f, lt_bytes *out) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) LT_TRY(lt_bytes_append(out, buf, n));
    if (ferror(f)) return lt_error(LT_ERR_IO, "cannot read the prompt");
    return NULL;
}

static lt_status build_prompt(lt_tokenizer *tok, const char *text, size_t len, bool ids_mode,
                              bool chat, const char *think, const char *system, lt_ids *ids) {
    if (ids_mode) {
        int32_t *v = NULL;
        int64_t n = 0;
        char *copy = lt_strdup(text);
        if (!copy) return lt_error_nomem("a copy of the prompt's token ids", strlen(text) + 1);
        for (char *p = copy; *p; p++)
            if (*p == '\n' || *p == ' ') *p = *p == '\n' && p[1] == 0 ? 0 : ',';
        lt_status s = lt_cli_parse_ids("--ids", copy, &v, &n);
        lt_free(copy);
        for (int64_t i = 0; !s && i < n; i++) s = lt_ids_push(ids, v[i]);
        lt_free(v);
        return s;
    }
    if (!chat) {
        unsigned flags = lt_tokenizer_bos(tok) >= 0 ? LT_ENCODE_BOS : 0;
        return lt_tokenizer_encode(tok, text, len, flags, ids);
    }
    const lt_chat_template *tpl = lt_chat_template_get("llama3");
    lt_reasoning mode = LT_REASONING_OFF;
    if (think && strcmp(think, "on") == 0)
        mode = LT_REASONING_ON;
    else if (think && strcmp(think, "off") != 0)
        return lt_error(LT_ERR_ARG, "--think: '%s' (on or off)", think);
    lt_bytes sys = {0};
    LT_TRY(lt_chat_system_text(tpl, mode, system ? system : "", &sys));
    lt_bytes user = {0};
    lt_status s = lt_bytes_append(&user, text, len);
    lt_chat_message msgs[2] = {{"system", sys.data, NULL},
                               {"user", user.data ? user.data : "", NULL}};
    if (!s) s = lt_chat_render(tok, tpl, msgs, 2, LT_CHAT_GENERATION_PROMPT, ids, NULL);
    lt_bytes_free(&sys);
    lt_bytes_free(&user);
    return s;
}

int cmd_generate(int argc, char **argv) {
    lt_cli_gen_flags f;
    lt_cli_gen_flags_init(&f);
    const char *prompt_file = NULL, *think = NULL, *system = NULL, *model = NULL, *prompt = NULL;
    const char *pos[2];
    bool ids_mode = false, chat = false, hide = false, logprobs = false, stats = false;
    int n_pos = 0;
    const lt_cli_opt opts[] = {{"--model", .value = &model, .alias = "-m"},
                               {"--prompt", .value = &prompt, .alias = "-p"},
                               {"--prompt-file", .value = &prompt_file, .alias = "-f"},
                               {"--think", .value = &think},
                               {"--system", .value = &system},
                               {"--ids", .present = &ids_mode},
                               {"--chat", .present = &chat},
                               {"--hide-thinking", .present = &hide},
                               {"--logprobs", .present = &logprobs},
                               {"--stats", .present = &stats},
                               {.more = f.opts}};
    int rc = lt_cli_parse("generate", argc, argv, opts, pos, 2, &n_pos, help);
    if (rc >= 0) return rc;
    lt_engine_opts eo;
    lt_gen_params gp;
    lt_status s = lt_cli_gen_parse(&f, &eo, &gp);
    bool room = (!model || lt_cli_insert(pos, &n_pos, 2, 0, model)) &&
                (!prompt || lt_cli_insert(pos, &n_pos, 2, 1, prompt));
    const char *usage = !room       ? "MODEL or PROMPT given twice (flag and argument)"
                        : n_pos < 1 ? "give MODEL"
                        : n_pos == 2 && prompt_file  ? "give PROMPT or --prompt-file, not both"
                        : (think || system) && !chat ? "--think and --system go with --chat"
                        : ids_mode && chat           ? "--ids and --chat do not go together"
                                                     : NULL;
    if (usage) {
        lt_status_free(s);
        return lt_cli_usage_error("generate", "%s", usage);
    }
    if (s) return lt_cli_report("generate", s);
    lt_bytes text = {0};
    if (n_pos == 2)
        s = lt_bytes_append(&text, pos[1], strlen(pos[1]));
    else if (prompt_file) {
        FILE *fp = fopen(prompt_file, "rb");
        if (!fp)
            s = lt_error(LT_ERR_IO, "%s: cannot open", prompt_file);
        else {
            s = read_all(fp, &text);
            fclose(fp);
        }
    } else {
        s = read_all(stdin, &text);
    }
    if (!eo.max_context) {
        eo.max_context = 4096;
        eo.context_at_most = true;
    }
    lt_engine *e = NULL;
    lt_gen *g = NULL;
    lt_ids ids = {0};
    if (!s) s = lt_cli_open_engine(pos[0], &eo, &e);
    if (!s) s = lt_gen_init(&g, e);
    if (!s)
        s = build_prompt(lt_engine_tokenizer(e), text.data ? text.data : "", text.n, ids_mode, chat,
                         think, system, &ids);
    if (!s && ids.n == 0) s = lt_error(LT_ERR_ARG, "the prompt is empty");
    lt_cli_stream_result res = {0};
    if (!s) {
        lt_cli_catch_sigint();
        lt_cli_stream_opts so = {.tok = lt_engine_tokenizer(e),
                                 .print_ids = ids_mode,
                                 .hide_thinking = hide,
                                 .color = isatty(STDOUT_FILENO),
                                 .logprobs = logprobs};
        s = lt_cli_stream(g, ids.data, (int64_t)ids.n, &gp, 0, &so, stdout, &res);
        printf("\n");
        fflush(stdout);
    }
    if (!s && stats)
        fprintf(
            stderr,
            "prompt %lld tokens, generated %lld (%lld thinking), first token %.1f ms, %.1f tokens/s, finish: %s\n",
            (long long)res.prompt_tokens, (long long)res.generated_tokens,
            (long long)res.thinking_tokens, res.first_token_seconds * 1e3,
            res.seconds > res.first_token_seconds
                ? (double)(res.generated_tokens - 1) / (res.seconds - res.first_token_seconds)
                : 0.0,
            lt_gen_finish_name(res.finish));
    lt_bytes_free(&res.content);
    lt_bytes_free(&res.reasoning);
    lt_ids_free(&ids);
    lt_bytes_free(&text);
    lt_gen_free(g);
    lt_engine_close(e);
    return lt_cli_report("generate", s);
}
