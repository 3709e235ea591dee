// gen_common.c: what `lathe generate` and `lathe chat` share — the model and
// sampling flags, their help text, turning them into engine options and
// generation parameters, and the loop that streams one request to a FILE.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/gen_common.h"

// The help of the shared flags, one entry per flag (its lines).
static const struct {
    const char *flag, *text;
} gen_help[] = {
    {"--dtype",
     "  --dtype T            store weights as f32|bf16|f16|q8_0 (default: as given; q8_0\n"
     "                       normally comes from a GGUF made by lathe quantize)\n"},
    {"--ctx", "  -c, --ctx N          context length (default: the model's, at most 4096)\n"},
    {"--threads", "  -t, --threads N      OpenMP threads\n"},
    {"--max-tokens",
     "  -n, --max-tokens N   generated tokens at most (default 256; 0: until the context\n"
     "                       is full)\n"},
    {"--temperature", "  --temperature T      0 is greedy (the default)\n"},
    {"--top-k", "  --top-k K            keep the K most likely tokens (0: off, the default)\n"},
    {"--top-p", "  --top-p P            nucleus filter (1: off, the default)\n"},
    {"--min-p", "  --min-p P            drop tokens below P times the top probability (0: off)\n"},
    {"--repeat-penalty", "  --repeat-penalty R   penalise tokens already seen (1: off)\n"},
    {"--presence-penalty",
     "  --presence-penalty P OpenAI-style presence penalty (0: off, the default)\n"},
    {"--frequency-penalty",
     "  --frequency-penalty F OpenAI-style frequency penalty (0: off, the default)\n"},
    {"--seed", "  --seed S             random seed of the sampler (default 0)\n"},
    {"--stop", "  --stop TEXT          stop string (repeatable, \\n and \\t understood)\n"},
    {"--stop-id",
     "  --stop-id ID         stop token id (repeatable), besides the model's end tokens\n"},
    {"--think-budget",
     "  --think-budget N     at most N tokens inside <think>...</think>; then the section\n"
     "                       is closed and the model answers\n"},
};

void lt_cli_gen_print_help(const char *skip) {
    printf("model and sampling:\n");
    for (size_t i = 0; i < sizeof gen_help / sizeof gen_help[0]; i++) {
        bool skipped = false;
        size_t n = strlen(gen_help[i].flag);
        for (const char *w = skip; w && *w && !skipped;) {
            size_t len = strcspn(w, " ");
            skipped = len == n && strncmp(w, gen_help[i].flag, n) == 0;
            w += len;
            w += strspn(w, " ");
        }
        if (!skipped) fputs(gen_help[i].text, stdout);
    }
}

void lt_cli_gen_flags_init(lt_cli_gen_flags *f) {
    memset(f, 0, sizeof *f);
    f->max_tokens = "256";
    const lt_cli_opt opts[] = {{"--dtype", .value = &f->dtype},
                               {"--ctx", .value = &f->ctx, .alias = "-c --ctx-size"},
                               {"--threads", .value = &f->threads, .alias = "-t"},
                               {"--max-tokens", .value = &f->max_tokens, .alias = "-n --n-predict"},
                               {"--temperature", .value = &f->temperature},
                               {"--top-k", .value = &f->top_k},
                               {"--top-p", .value = &f->top_p},
                               {"--min-p", .value = &f->min_p},
                               {"--repeat-penalty", .value = &f->repeat_penalty},
                               {"--presence-penalty", .value = &f->presence_penalty},
                               {"--frequency-penalty", .value = &f->frequency_penalty},
                               {"--seed", .value = &f->seed},
                               {"--think-budget", .value = &f->think_budget},
                               {"--stop", .list = &f->stop},
                               {"--stop-id", .list = &f->stop_id},
                               {0}};
    _Static_assert(sizeof opts == sizeof f->opts, "lt_cli_gen_flags.opts has room for the table");
    memcpy(f->opts, opts, sizeof opts);
}

// "\n" and "\t" escapes of a --stop value, into f->stop_buf.
static lt_status unescape(lt_cli_gen_flags *f, int i) {
    const char *s = f->stop.items[i];
    char *d = f->stop_buf[i];
    size_t n = 0;
    for (; *s; s++) {
        if (n + 1 >= sizeof f->stop_buf[i])
            return lt_error(LT_ERR_ARG, "--stop: '%s' is longer than %zu bytes", f->stop.items[i],
                            sizeof f->stop_buf[i] - 1);
        if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
            d[n++] = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : '\\';
            s++;
        } else {
            d[n++] = *s;
        }
    }
    d[n] = 0;
    if (n == 0) return lt_error(LT_ERR_ARG, "--stop: an empty stop string");
    return NULL;
}

static lt_status parse_float(const char *flag, const char *text, float *out) {
    double v;
    LT_TRY(lt_cli_parse_double(flag, text, &v));
    *out = (float)v;
    return NULL;
}

static lt_status gen_parse(lt_cli_gen_flags *f, lt_engine_opts *eo, lt_gen_params *gp) {
    *gp = lt_gen_params_default();
    memset(eo, 0, sizeof *eo);
    int64_t v;
    if (f->dtype) {
        LT_TRY(lt_dtype_parse(f->dtype, &eo->weights));
        eo->weights_set = true;
    }
    if (f->ctx) LT_TRY(lt_cli_parse_int("--ctx", f->ctx, 2, 1 << 20, &eo->max_context));
    if (f->threads) {
        LT_TRY(lt_cli_parse_int("--threads", f->threads, 1, 1024, &v));
        lt_threads_set((int)v);
    }
    LT_TRY(lt_cli_parse_int("--max-tokens", f->max_tokens, 0, 1 << 30, &gp->max_tokens));
    if (f->temperature)
        LT_TRY(parse_float("--temperature", f->temperature, &gp->sampling.temperature));
    if (f->top_k) {
        LT_TRY(lt_cli_parse_int("--top-k", f->top_k, 0, 1 << 30, &v));
        gp->sampling.top_k = (int32_t)v;
    }
    if (f->top_p) LT_TRY(parse_float("--top-p", f->top_p, &gp->sampling.top_p));
    if (f->min_p) LT_TRY(parse_float("--min-p", f->min_p, &gp->sampling.min_p));
    if (f->repeat_penalty)
        LT_TRY(
            parse_float("--repeat-penalty", f->repeat_penalty, &gp->sampling.repetition_penalty));
    if (f->presence_penalty)
        LT_TRY(
            parse_float("--presence-penalty", f->presence_penalty, &gp->sampling.presence_penalty));
    if (f->frequency_penalty)
        LT_TRY(parse_float("--frequency-penalty", f->frequency_penalty,
                           &gp->sampling.frequency_penalty));
    if (f->seed) {
        LT_TRY(lt_cli_parse_int("--seed", f->seed, 0, INT64_MAX, &v));
        gp->sampling.seed = (uint64_t)v;
    }
    if (f->stop.n > LT_GEN_MAX_STOP || f->stop_id.n > LT_GEN_MAX_STOP)
        return lt_error(LT_ERR_ARG, "--stop and --stop-id: at most %d of each (%d and %d given)",
                        LT_GEN_MAX_STOP, f->stop.n, f->stop_id.n);
    for (int i = 0; i < f->stop.n; i++) {
        LT_TRY(unescape(f, i));
        gp->stop[i] = f->stop_buf[i];
    }
    gp->n_stop = f->stop.n;
    for (int i = 0; i < f->stop_id.n; i++) {
        LT_TRY(lt_cli_parse_int("--stop-id", f->stop_id.items[i], 0, INT32_MAX, &v));
        gp->stop_ids[i] = (int32_t)v;
    }
    gp->n_stop_ids = f->stop_id.n;
    if (f->think_budget)
        LT_TRY(lt_cli_parse_int("--think-budget", f->think_budget, 0, 1 << 30, &gp->think_budget));
    LT_TRY(lt_sampler_params_check(&gp->sampling));
    return NULL;
}

lt_status lt_cli_gen_parse(lt_cli_gen_flags *f, lt_engine_opts *eo, lt_gen_params *gp) {
    lt_status s = gen_parse(f, eo, gp);
    lt_cli_opts_free(f->opts); // the stop strings live on in f->stop_buf, the ids in gp
    return s;
}

lt_status lt_cli_open_engine(const char *path, lt_engine_opts *eo, lt_engine **e) {
    LT_TRY(lt_engine_open(e, path, eo));
    lt_status s = lt_engine_need_tokenizer(*e);
    if (s) {
        lt_engine_close(*e);
        *e = NULL;
        return lt_error_prefix(s, "%s", path);
    }
    return NULL;
}

// ---------------------------------------------------------------- streaming

volatile sig_atomic_t lt_cli_interrupted = 0;

static void on_sigint(int sig) {
    (void)sig;
    lt_cli_interrupted = 1;
}

void lt_cli_catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: a read at the prompt returns
    sigaction(SIGINT, &sa, NULL);
}

typedef struct {
    const lt_cli_stream_opts *o;
    FILE *out;
    bool in_thinking; // printed the opening of the thinking block
    bool done;
    lt_gen_event last;
    const lt_tokenizer *tok;
    lt_gen *g;
    int64_t id;
    lt_cli_stream_result *res;
    lt_status err;
} stream_state;

static void on_event(void *user, const lt_gen_event *ev) {
    stream_state *st = user;
    const lt_cli_stream_opts *o = st->o;
    // a stop token ends the answer without being part of it (as its text is not)
    if (o->print_ids && ev->token >= 0 && ev->finish != LT_GEN_STOP)
        fprintf(st->out, "%s%d", ev->generated_tokens > 1 ? "," : "", ev->token);
    if (!o->print_ids) {
        if (ev->reasoning_len && !o->hide_thinking) {
            if (!st->in_thinking) {
                fputs(o->color ? "\033[2m" : "<think>\n", st->out);
                st->in_thinking = true;
            }
            fwrite(ev->reasoning, 1, ev->reasoning_len, st->out);
        }
        if (ev->content_len) {
            if (st->in_thinking) {
                fputs(o->color ? "\033[0m\n\n" : "\n</think>\n\n", st->out);
                st->in_thinking = false;
            }
            fwrite(ev->content, 1, ev->content_len, st->out);
        }
        if (ev->finish != LT_GEN_RUNNING && st->in_thinking) {
            fputs(o->color ? "\033[0m" : "\n</think>", st->out);
            st->in_thinking = false;
        }
    }
    if (o->logprobs && ev->token >= 0) {
        size_t n = 0;
        const char *t = lt_tokenizer_token(st->tok, ev->token, &n);
        fprintf(stderr, "[%d %.*s logprob %.4f%s]\n", ev->token, (int)(t ? n : 0), t ? t : "",
                ev->logprob, ev->forced ? " +forced" : "");
    }
    fflush(st->out);
    if (ev->finish != LT_GEN_RUNNING) {
        st->done = true;
        st->last = *ev;
        if (st->res) { // the texts live until this event returns: keep copies
            size_t n;
            const char *t = lt_gen_content(st->g, st->id, &n);
            st->err = lt_bytes_append(&st->res->content, t, n);
            t = lt_gen_reasoning(st->g, st->id, &n);
            if (!st->err) st->err = lt_bytes_append(&st->res->reasoning, t, n);
        }
    }
}

lt_status lt_cli_stream(lt_gen *g, const int32_t *prompt, int64_t n, const lt_gen_params *p,
                        int slot, const lt_cli_stream_opts *o, FILE *out,
                        lt_cli_stream_result *res) {
    int64_t id;
    LT_TRY(lt_gen_add(g, prompt, n, p, slot, &id));
    stream_state st = {.o = o, .out = out, .tok = o->tok, .g = g, .id = id, .res = res};
    if (res) memset(res, 0, sizeof *res);
    double t0 = lt_time_now(), t_first = 0;
    lt_status s = NULL;
    while (!st.done && !s) {
        if (lt_cli_interrupted) {
            lt_cli_interrupted = 0;
            lt_gen_cancel(g, id);
        }
        s = lt_gen_step(g, on_event, &st);
        if (!t_first) t_first = lt_time_now();
    }
    double t1 = lt_time_now();
    if (!s) s = st.err;
    if (res) {
        res->finish = st.last.finish;
        res->prompt_tokens = st.last.prompt_tokens;
        res->cached_tokens = st.last.cached_tokens;
        res->generated_tokens = st.last.generated_tokens;
        res->thinking_tokens = st.last.thinking_tokens;
        res->seconds = t1 - t0;
        res->first_token_seconds = t_first - t0;
    }
    return s;
}
