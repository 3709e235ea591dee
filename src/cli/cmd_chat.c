// cmd_chat.c: `lathe chat` — a terminal conversation with a model through its
// chat template, with the Llama-Nemotron reasoning toggle as a system line
// (/think on|off), more system text (/system), /reset, the thinking shown
// dimmed or hidden, and the history cut from the oldest turn when it no longer
// fits the context. Each turn re-renders the whole conversation; the KV cache
// keeps what is unchanged, so only the new message is computed. Reads one
// message per line, so it can be scripted through a pipe.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/gen_common.h"
#include "lathe/chat.h"

static void help(void) {
    printf("usage: lathe chat MODEL [--think on|off] [--system TEXT] [--hide-thinking]\n"
           "                  [--stats] [sampling flags]\n\n"
           "An interactive chat with MODEL (a model directory or a .gguf file). Each line\n"
           "you type is a message; these lines are commands:\n"
           "  /think on|off   switch reasoning: the system prompt's first line becomes\n"
           "                  'detailed thinking on' or 'detailed thinking off'\n"
           "  /system TEXT    other system text, after the toggle line (/system alone clears it)\n"
           "  /reset          forget the conversation\n"
           "  /help           this list;  /quit (or Ctrl-D) leaves\n"
           "Ctrl-C stops the answer being generated. The thinking section is shown dimmed\n"
           "(inside <think>...</think> when stdout is not a terminal). When the history no\n"
           "longer fits the context, the oldest exchanges are dropped, with a notice.\n\n"
           "  -m, --model M    MODEL as a flag\n"
           "  --think on|off   reasoning at the start (default off)\n"
           "  --system TEXT    system text at the start\n"
           "  --hide-thinking  do not show the thinking section\n"
           "  --stats          tokens and tokens/s after each answer\n"
           "  -n, --max-tokens N  tokens per answer at most (default 1024; 0: until the\n"
           "                   context is full)\n\n");
    lt_cli_gen_print_help("--max-tokens");
}

typedef struct {
    char *role, *content, *reasoning;
} turn;

typedef struct {
    turn *turns; // user and assistant messages, oldest first
    int n, cap;
    lt_reasoning mode;
    char *system; // text after the toggle line ("" for none)
} conversation;

static void turn_free(turn *t) {
    lt_free(t->role);
    lt_free(t->content);
    lt_free(t->reasoning);
}

static void conv_reset(conversation *c) {
    for (int i = 0; i < c->n; i++) turn_free(&c->turns[i]);
    c->n = 0;
}

static lt_status conv_add(conversation *c, const char *role, const char *content,
                          const char *reasoning) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 16;
        turn *grown = NULL;
        LT_TRY(lt_alloc((void **)&grown, (size_t)cap * sizeof *grown, "conversation"));
        if (c->n) memcpy(grown, c->turns, (size_t)c->n * sizeof *grown);
        lt_free(c->turns);
        c->turns = grown;
        c->cap = cap;
    }
    turn t = {lt_strdup(role), lt_strdup(content),
              reasoning && reasoning[0] ? lt_strdup(reasoning) : NULL};
    if (!t.role || !t.content || (reasoning && reasoning[0] && !t.reasoning)) {
        turn_free(&t);
        return lt_error_nomem("a copy of a conversation turn",
                              strlen(role) + strlen(content) + 2 +
                                  (reasoning ? strlen(reasoning) + 1 : 0));
    }
    c->turns[c->n++] = t;
    return NULL;
}

// Drops the oldest exchange (a user message and the answer after it).
static void conv_drop_oldest(conversation *c) {
    int k = c->n >= 2 && strcmp(c->turns[1].role, "assistant") == 0 ? 2 : 1;
    for (int i = 0; i < k; i++) turn_free(&c->turns[i]);
    memmove(c->turns, c->turns + k, (size_t)(c->n - k) * sizeof *c->turns);
    c->n -= k;
}

static lt_status render(lt_tokenizer *tok, const lt_chat_template *tpl, const conversation *c,
                        lt_ids *ids) {
    lt_bytes sys = {0};
    LT_TRY(lt_chat_system_text(tpl, c->mode, c->system, &sys));
    lt_chat_message *msgs = NULL;
    lt_status s = lt_alloc((void **)&msgs, (size_t)(c->n + 1) * sizeof *msgs, "messages");
    if (!s) {
        msgs[0] = (lt_chat_message){"system", sys.data, NULL};
        for (int i = 0; i < c->n; i++) // earlier thinking is kept only while reasoning is on
            msgs[i + 1] =
                (lt_chat_message){c->turns[i].role, c->turns[i].content,
                                  c->mode == LT_REASONING_ON ? c->turns[i].reasoning : NULL};
        ids->n = 0;
        s = lt_chat_render(tok, tpl, msgs, (size_t)c->n + 1, LT_CHAT_GENERATION_PROMPT, ids, NULL);
    }
    lt_free(msgs);
    lt_bytes_free(&sys);
    return s;
}

static void notice(bool tty, const char *fmt, const char *arg) {
    fprintf(stderr, tty ? "\033[2m" : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, tty ? "\033[0m\n" : "\n");
}

// A command line (starting with '/'): returns true when the chat should end.
static bool command(conversation *c, char *line, bool tty, lt_status *err) {
    if (strcmp(line, "/quit") == 0 || strcmp(line, "/exit") == 0) return true;
    if (strcmp(line, "/reset") == 0) {
        conv_reset(c);
        notice(tty, "(conversation cleared%s)", "");
    } else if (strcmp(line, "/think on") == 0 || strcmp(line, "/think off") == 0) {
        c->mode = strcmp(line, "/think on") == 0 ? LT_REASONING_ON : LT_REASONING_OFF;
        notice(tty, "(reasoning %s)", c->mode == LT_REASONING_ON ? "on" : "off");
    } else if (strncmp(line, "/system", 7) == 0 && (line[7] == 0 || line[7] == ' ')) {
        const char *text = line[7] ? line + 8 : "";
        char *copy = lt_strdup(text);
        if (!copy) {
            *err = lt_error_nomem("the new system prompt", strlen(text) + 1);
            return true;
        }
        lt_free(c->system);
        c->system = copy;
        notice(tty, copy[0] ? "(system text set)%s" : "(system text cleared)%s", "");
    } else if (strcmp(line, "/help") == 0) {
        notice(tty, "%s", "/think on|off, /system TEXT, /reset, /quit");
    } else {
        notice(tty, "unknown command %s (try /help)", line);
    }
    return false;
}

static lt_status chat_loop(lt_engine *e, lt_gen *g, lt_gen_params gp, conversation *c, bool hide,
                           bool stats) {
    lt_tokenizer *tok = lt_engine_tokenizer(e);
    const lt_chat_template *tpl = lt_chat_template_get("llama3");
    if (lt_tokenizer_find(tok, "<|start_header_id|>", 19) < 0)
        return lt_error(
            LT_ERR_UNSUPPORTED,
            "the model's tokenizer has no <|start_header_id|>: lathe chat knows the Llama 3 chat template only");
    bool in_tty = isatty(STDIN_FILENO), out_tty = isatty(STDOUT_FILENO),
         err_tty = isatty(STDERR_FILENO);
    int64_t ctx = lt_engine_max_context(e);
    // room kept for the answer when trimming history
    int64_t reserve = gp.max_tokens > 0 && gp.max_tokens < ctx / 2 ? gp.max_tokens : ctx / 4;
    lt_ids ids = {0};
    lt_status s = NULL;
    char *line = NULL;
    size_t cap = 0;
    lt_cli_catch_sigint();
    while (!s) {
        if (in_tty) {
            fputs(c->mode == LT_REASONING_ON ? "think> " : "> ", stdout);
            fflush(stdout);
        }
        lt_cli_interrupted = 0;
        ssize_t got = getline(&line, &cap, stdin);
        if (got < 0) {
            if (lt_cli_interrupted && !feof(stdin)) { // Ctrl-C at the prompt
                clearerr(stdin);
                fputs("\n", stdout);
                continue;
            }
            break;
        }
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (got == 0) continue;
        if (line[0] == '/') {
            if (command(c, line, err_tty, &s)) break;
            continue;
        }
        s = conv_add(c, "user", line, NULL);
        if (!s) s = render(tok, tpl, c, &ids);
        bool dropped = false;
        while (!s && (int64_t)ids.n + reserve > ctx && c->n > 1) {
            conv_drop_oldest(c);
            dropped = true;
            s = render(tok, tpl, c, &ids);
        }
        if (dropped)
            notice(err_tty, "(oldest messages dropped to fit the context of %s tokens)",
                   "the model's");
        if (!s && (int64_t)ids.n >= ctx) {
            notice(err_tty, "(the message is too long for the context; it was not sent)%s", "");
            conv_drop_oldest(c);
            continue;
        }
        if (s) break;
        lt_cli_stream_opts so = {.tok = tok, .hide_thinking = hide, .color = out_tty};
        lt_cli_stream_result res;
        s = lt_cli_stream(g, ids.data, (int64_t)ids.n, &gp, 0, &so, stdout, &res);
        fputs("\n", stdout);
        fflush(stdout);
        if (!s) {
            if (res.finish == LT_GEN_CANCELLED) notice(err_tty, "(stopped)%s", "");
            s = conv_add(c, "assistant", res.content.data ? res.content.data : "",
                         res.reasoning.data);
        }
        if (!s && stats) {
            double dt = res.seconds - res.first_token_seconds;
            fprintf(
                stderr, "%s[prompt %lld tokens (%lld reused), %lld generated, %.1f tokens/s]%s\n",
                err_tty ? "\033[2m" : "", (long long)res.prompt_tokens,
                (long long)res.cached_tokens, (long long)res.generated_tokens,
                dt > 0 ? (double)(res.generated_tokens - 1) / dt : 0.0, err_tty ? "\033[0m" : "");
        }
        lt_bytes_free(&res.content);
        lt_bytes_free(&res.reasoning);
    }
    free(line);
    lt_ids_free(&ids);
    return s;
}

int cmd_chat(int argc, char **argv) {
    lt_cli_gen_flags f;
    lt_cli_gen_flags_init(&f);
    f.max_tokens = "1024";
    const char *think = NULL, *system = NULL, *model = NULL, *pos[1];
    bool hide = false, stats = false;
    const lt_cli_opt opts[] = {{"--model", .value = &model, .alias = "-m"},
                               {"--think", .value = &think},
                               {"--system", .value = &system},
                               {"--hide-thinking", .present = &hide},
                               {"--stats", .present = &stats},
                               {.more = f.opts}};
    int n_pos = 0;
    int rc = lt_cli_parse("chat", argc, argv, opts, pos, 1, &n_pos, help);
    if (rc >= 0) return rc;
    lt_engine_opts eo;
    lt_gen_params gp;
    lt_status s = lt_cli_gen_parse(&f, &eo, &gp);
    if ((model && !lt_cli_insert(pos, &n_pos, 1, 0, model)) || n_pos != 1) {
        lt_status_free(s);
        return lt_cli_usage_error("chat", "give MODEL (once: as an argument or with -m)");
    }
    if (think && strcmp(think, "on") != 0 && strcmp(think, "off") != 0) {
        lt_status_free(s);
        return lt_cli_usage_error("chat", "--think: '%s' (on or off)", think);
    }
    if (s) return lt_cli_report("chat", s);
    if (!eo.max_context) {
        eo.max_context = 4096;
        eo.context_at_most = true;
    }
    conversation c = {.mode =
                          think && strcmp(think, "on") == 0 ? LT_REASONING_ON : LT_REASONING_OFF,
                      .system = lt_strdup(system ? system : "")};
    lt_engine *e = NULL;
    lt_gen *g = NULL;
    if (!c.system) s = lt_error_nomem("the system prompt", (system ? strlen(system) : 0) + 1);
    if (!s) s = lt_cli_open_engine(pos[0], &eo, &e);
    if (!s) s = lt_gen_init(&g, e);
    if (!s) s = chat_loop(e, g, gp, &c, hide, stats);
    conv_reset(&c);
    lt_free(c.turns);
    lt_free(c.system);
    lt_gen_free(g);
    lt_engine_close(e);
    return lt_cli_report("chat", s);
}
