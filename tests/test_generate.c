// test_generate.c: requests over the engine — greedy tokens checked against
// the argmax of an independent full forward pass, several requests in one
// batch equal to each alone, max_tokens, stop tokens and stop strings, the
// thinking budget forcing the closing text into the model, reuse of a slot's
// cached prefix, cancellation, and bad requests. The model is a random tiny
// one; the tokenizer is a 512-id BPE trained here on the bundled text.
#include <stdlib.h>
#include <string.h>

#include "lathe/generate.h"
#include "lathe/model.h"
#include "lt_test.h"

typedef struct {
    lt_model *m;
    lt_engine *e;
    lt_gen *g;
} fixture;

static lt_tokenizer *train_tokenizer(void) {
    const char *files[1] = {lt_test_path("data/moby-dick-1-4.txt")};
    lt_bpe_train_opts o = {.vocab_size = 512};
    lt_tokenizer *tok = NULL;
    if (lt_tokenizer_train(&tok, files, 1, &o)) return NULL;
    return tok;
}

static bool setup(fixture *f, int slots) {
    memset(f, 0, sizeof *f);
    lt_config cfg;
    if (lt_config_preset(&cfg, "tiny")) return false;
    cfg.initializer_range = 0.2; // peaked distributions: greedy ties are unlikely
    lt_status s = lt_model_init(&f->m, &cfg);
    lt_config_free(&cfg);
    if (s) return false;
    lt_model_init_random(f->m, 77);
    lt_tokenizer *tok = train_tokenizer();
    if (!tok || lt_engine_from_model(&f->e, f->m,
                                     &(lt_engine_opts){.max_seqs = slots, .max_context = 256})) {
        lt_tokenizer_free(tok);
        return false;
    }
    lt_engine_set_tokenizer(f->e, tok);
    return lt_gen_init(&f->g, f->e) == NULL;
}

static void teardown(fixture *f) {
    lt_gen_free(f->g);
    lt_engine_close(f->e);
    lt_model_free(f->m);
}

enum { MAX_EV = 512 };

// Everything the events said, per request id (ids < 8).
typedef struct {
    int32_t tokens[8][MAX_EV];
    int n[8];
    bool forced[8][MAX_EV];
    char content[8][4096], reasoning[8][4096];
    size_t n_content[8], n_reasoning[8];
    lt_gen_finish finish[8];
    int64_t generated[8], cached[8], thinking[8];
    int events_after_finish;
} record;

static void on_event(void *user, const lt_gen_event *ev) {
    record *r = user;
    int64_t i = ev->request;
    if (i < 0 || i >= 8) return;
    if (r->finish[i] != LT_GEN_RUNNING) r->events_after_finish++;
    if (ev->token >= 0 && r->n[i] < MAX_EV) {
        r->forced[i][r->n[i]] = ev->forced;
        r->tokens[i][r->n[i]++] = ev->token;
    }
    if (r->n_content[i] + ev->content_len < sizeof r->content[i]) {
        memcpy(r->content[i] + r->n_content[i], ev->content, ev->content_len);
        r->n_content[i] += ev->content_len;
    }
    if (r->n_reasoning[i] + ev->reasoning_len < sizeof r->reasoning[i]) {
        memcpy(r->reasoning[i] + r->n_reasoning[i], ev->reasoning, ev->reasoning_len);
        r->n_reasoning[i] += ev->reasoning_len;
    }
    r->finish[i] = ev->finish;
    r->generated[i] = ev->generated_tokens;
    r->cached[i] = ev->cached_tokens;
    r->thinking[i] = ev->thinking_tokens;
}

static lt_status run_all(lt_gen *g, record *r) {
    for (int guard = 0; lt_gen_active(g) > 0 && guard < 10000; guard++)
        LT_TRY(lt_gen_step(g, on_event, r));
    return NULL;
}

static void encode(lt_tokenizer *tok, const char *text, lt_ids *ids) {
    ids->n = 0;
    lt_status s = lt_tokenizer_encode(tok, text, strlen(text), 0, ids);
    if (s) lt_status_free(s);
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

// Greedy tokens are the argmax of the training forward over prompt + the
// tokens before them, and max_tokens ends the request after exactly that many.
static void test_greedy_matches_full_forward(void) {
    fixture f;
    LT_CHECK(setup(&f, 1));
    if (!f.g) return teardown(&f);
    lt_ids ids = {0};
    encode(lt_engine_tokenizer(f.e), "Call me Ishmael. Some years ago", &ids);
    lt_gen_params p = lt_gen_params_default();
    p.max_tokens = 20;
    p.ignore_eos = true;
    int64_t id;
    record *r = calloc(1, sizeof *r);
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->n[id], 20);
    LT_CHECK_INT(r->finish[id], LT_GEN_LENGTH);
    LT_CHECK_INT(r->generated[id], 20);
    LT_CHECK_INT(r->events_after_finish, 0);
    int64_t T = (int64_t)ids.n + 20, V = f.m->cfg.vocab;
    int32_t seq[128];
    memcpy(seq, ids.data, ids.n * sizeof(int32_t));
    memcpy(seq + ids.n, r->tokens[id], 20 * sizeof(int32_t));
    lt_acts *a = NULL;
    LT_CHECK_OK(lt_acts_init(&a, f.m, 1, T));
    LT_CHECK_OK(lt_model_forward(f.m, a, &(lt_batch){.B = 1, .T = T, .ids = seq}));
    for (int k = 0; k < 20; k++) {
        const float *row = a->logits + ((int64_t)ids.n - 1 + k) * V;
        LT_CHECK_INT(r->tokens[id][k], argmax(row, V));
    }
    // the text is the decoding of the tokens: equal in their ASCII bytes (the
    // stream turns bytes that form no UTF-8 character into U+FFFD and trims
    // the answer's leading whitespace)
    lt_bytes text = {0};
    LT_CHECK_OK(lt_tokenizer_decode(lt_engine_tokenizer(f.e), r->tokens[id], 20, 0, &text));
    char a1[512], a2[512];
    size_t n1 = 0, n2 = 0, i0 = 0;
    while (i0 < text.n && (text.data[i0] == ' ' || text.data[i0] == '\n')) i0++;
    for (size_t i = i0; i < text.n && n1 < 511; i++)
        if ((unsigned char)text.data[i] < 0x80) a1[n1++] = text.data[i];
    for (size_t i = 0; i < r->n_content[id] && n2 < 511; i++)
        if ((unsigned char)r->content[id][i] < 0x80) a2[n2++] = r->content[id][i];
    LT_CHECK_INT(n1, n2);
    LT_CHECK(n1 == n2 && memcmp(a1, a2, n1) == 0);
    lt_bytes_free(&text);
    lt_acts_free(a);
    lt_ids_free(&ids);
    free(r);
    teardown(&f);
}

// Three requests stepped together (greedy, and two seeded samplers) give the
// tokens each gives alone; the batch joins and leaves as they start and end.
static void test_batch_equals_solo(void) {
    const char *prompts[3] = {
        "The whale", "It was a dark and stormy night; the rain fell in torrents", "Queequeg"};
    int64_t max[3] = {12, 5, 9};
    float temp[3] = {0.0f, 0.8f, 1.2f};
    record *solo = calloc(1, sizeof *solo), *batch = calloc(1, sizeof *batch);
    int64_t solo_ids[3];
    for (int k = 0; k < 3; k++) {
        fixture f;
        LT_CHECK(setup(&f, 1));
        if (!f.g) return teardown(&f);
        lt_ids ids = {0};
        encode(lt_engine_tokenizer(f.e), prompts[k], &ids);
        lt_gen_params p = lt_gen_params_default();
        p.max_tokens = max[k];
        p.ignore_eos = true;
        p.sampling.temperature = temp[k];
        p.sampling.seed = 100 + (uint64_t)k;
        LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &solo_ids[k]));
        record *one = calloc(1, sizeof *one);
        LT_CHECK_OK(run_all(f.g, one));
        memcpy(solo->tokens[k], one->tokens[solo_ids[k]], sizeof solo->tokens[k]);
        solo->n[k] = one->n[solo_ids[k]];
        free(one);
        lt_ids_free(&ids);
        teardown(&f);
    }
    fixture f;
    LT_CHECK(setup(&f, 3));
    if (!f.g) return teardown(&f);
    int64_t id[3];
    for (int k = 0; k < 3; k++) {
        lt_ids ids = {0};
        encode(lt_engine_tokenizer(f.e), prompts[k], &ids);
        lt_gen_params p = lt_gen_params_default();
        p.max_tokens = max[k];
        p.ignore_eos = true;
        p.sampling.temperature = temp[k];
        p.sampling.seed = 100 + (uint64_t)k;
        LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id[k]));
        lt_ids_free(&ids);
        if (k == 0) LT_CHECK_OK(lt_gen_step(f.g, on_event, batch)); // the others join later
    }
    LT_CHECK_INT(lt_gen_free_slots(f.g), 0);
    LT_CHECK_OK(run_all(f.g, batch));
    for (int k = 0; k < 3; k++) {
        LT_CHECK_INT(batch->n[id[k]], max[k]);
        LT_CHECK(memcmp(batch->tokens[id[k]], solo->tokens[k], (size_t)max[k] * sizeof(int32_t)) ==
                 0);
    }
    LT_CHECK_INT(lt_gen_free_slots(f.g), 3);
    free(solo);
    free(batch);
    teardown(&f);
}

// A stop token ends the request before it is shown; a stop string cuts the
// content right before it.
static void test_stops(void) {
    fixture f;
    LT_CHECK(setup(&f, 1));
    if (!f.g) return teardown(&f);
    lt_ids ids = {0};
    encode(lt_engine_tokenizer(f.e), "Call me Ishmael.", &ids);
    lt_gen_params p = lt_gen_params_default();
    p.max_tokens = 30;
    p.ignore_eos = true;
    record *free_run = calloc(1, sizeof *free_run), *r = calloc(1, sizeof *r);
    int64_t a, b, c;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &a));
    LT_CHECK_OK(run_all(f.g, free_run));
    // stop at the token greedy produces 4th (unless it appeared earlier)
    int32_t stop_tok = free_run->tokens[a][3];
    int first = 0;
    while (free_run->tokens[a][first] != stop_tok) first++;
    p.stop_ids[0] = stop_tok;
    p.n_stop_ids = 1;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &b));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->finish[b], LT_GEN_STOP);
    LT_CHECK_INT(r->generated[b], first + 1);
    // stop string: 3 bytes from the middle of the free run's content
    size_t n = free_run->n_content[a];
    LT_CHECK(n > 12);
    char stop[4] = {0};
    size_t cut = n / 2;
    memcpy(stop, free_run->content[a] + cut, 3);
    size_t expect = (size_t)(strstr(free_run->content[a], stop) - free_run->content[a]);
    p.n_stop_ids = 0;
    p.stop[0] = stop;
    p.n_stop = 1;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &c));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->finish[c], LT_GEN_STOP_TEXT);
    LT_CHECK_INT(r->n_content[c], expect);
    LT_CHECK(memcmp(r->content[c], free_run->content[a], expect) == 0);
    free(free_run);
    free(r);
    lt_ids_free(&ids);
    teardown(&f);
}

// A prompt ending inside <think> with a budget of 4: after 4 sampled tokens
// the closing text is forced into the model (the cache holds it), the section
// closes, and what follows is content.
static void test_think_budget(void) {
    fixture f;
    LT_CHECK(setup(&f, 1));
    if (!f.g) return teardown(&f);
    lt_tokenizer *tok = lt_engine_tokenizer(f.e);
    lt_ids ids = {0}, close = {0};
    encode(tok, "Question: what is two and two?<think>\n", &ids);
    encode(tok, "\n</think>\n\n", &close);
    lt_gen_params p = lt_gen_params_default();
    p.max_tokens = 12;
    p.ignore_eos = true;
    p.prompt_in_thinking = true;
    p.think_budget = 4;
    record *r = calloc(1, sizeof *r);
    int64_t id;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id));
    // step by step: after the 4th token the forced ids are pending
    int steps = 0;
    while (lt_gen_active(f.g) > 0 && steps < 100) {
        LT_CHECK_OK(lt_gen_step(f.g, on_event, r));
        steps++;
        if (r->n[id] == 4) {
            LT_CHECK(r->forced[id][3]); // the event of the 4th token says it forced the close
            LT_CHECK_INT(r->thinking[id], 4);
        }
    }
    LT_CHECK_INT(r->finish[id], LT_GEN_LENGTH);
    LT_CHECK_INT(r->generated[id], 12); // forced ids count toward max_tokens
    // the events carried 12 - |close| sampled tokens, and only the 4th was flagged
    LT_CHECK_INT(r->n[id], 12 - (int)close.n);
    for (int k = 0; k < r->n[id]; k++) LT_CHECK(r->forced[id][k] == (k == 3));
    // what the cache holds: prompt, 4 thinking tokens, the closing ids, the
    // answer tokens that were fed (all but the last)
    LT_CHECK_INT(lt_engine_seq_len(f.e, 0), (int64_t)ids.n + 12 - 1);
    LT_CHECK(r->n_reasoning[id] > 0);
    LT_CHECK(strstr(r->content[id], "</think>") == NULL);
    LT_CHECK(strstr(r->reasoning[id], "</think>") == NULL);
    // the budget reached 2 tokens before max_tokens: the closing text is cut
    // there, so the request still ends at exactly max_tokens (the close is
    // longer than 2 tokens, or this would not test the cut)
    LT_CHECK(close.n > 2);
    p.max_tokens = 6;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->finish[id], LT_GEN_LENGTH);
    LT_CHECK_INT(r->generated[id], 6);
    LT_CHECK_INT(r->n[id], 4);
    LT_CHECK(r->forced[id][3]);
    lt_ids_free(&ids);
    lt_ids_free(&close);
    free(r);
    teardown(&f);
}

// A second prompt extending the first on the same slot computes only the new
// tokens and generates what a fresh engine generates.
static void test_prefix_reuse(void) {
    fixture f, fresh;
    LT_CHECK(setup(&f, 2));
    LT_CHECK(setup(&fresh, 1));
    if (!f.g || !fresh.g) {
        teardown(&fresh);
        return teardown(&f);
    }
    lt_tokenizer *tok = lt_engine_tokenizer(f.e);
    lt_ids first = {0}, second = {0};
    encode(tok, "Call me Ishmael. Some years ago, never mind", &first);
    encode(tok, "Call me Ishmael. Some years ago, never mind how long precisely", &second);
    lt_gen_params p = lt_gen_params_default();
    p.max_tokens = 6;
    p.ignore_eos = true;
    record *r = calloc(1, sizeof *r), *rf = calloc(1, sizeof *rf);
    int64_t a, b, c;
    LT_CHECK_OK(lt_gen_add(f.g, first.data, (int64_t)first.n, &p, 1, &a));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_OK(lt_gen_add(f.g, second.data, (int64_t)second.n, &p, -1, &b)); // picks slot 1
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->cached[b], (int64_t)first.n);
    LT_CHECK_OK(lt_gen_add(fresh.g, second.data, (int64_t)second.n, &p, -1, &c));
    LT_CHECK_OK(run_all(fresh.g, rf));
    LT_CHECK_INT(rf->cached[c], 0);
    LT_CHECK(memcmp(r->tokens[b], rf->tokens[c], 6 * sizeof(int32_t)) == 0);
    // the same prompt again: all but its last token come from the cache
    int64_t d;
    LT_CHECK_OK(lt_gen_add(f.g, second.data, (int64_t)second.n, &p, 1, &d));
    LT_CHECK_OK(run_all(f.g, r));
    LT_CHECK_INT(r->cached[d], (int64_t)second.n - 1);
    LT_CHECK(memcmp(r->tokens[d], rf->tokens[c], 6 * sizeof(int32_t)) == 0);
    lt_ids_free(&first);
    lt_ids_free(&second);
    free(r);
    free(rf);
    teardown(&fresh);
    teardown(&f);
}

static void test_cancel_and_errors(void) {
    fixture f;
    LT_CHECK(setup(&f, 1));
    if (!f.g) return teardown(&f);
    lt_ids ids = {0};
    encode(lt_engine_tokenizer(f.e), "Call me Ishmael.", &ids);
    lt_gen_params p = lt_gen_params_default();
    p.ignore_eos = true;
    record *r = calloc(1, sizeof *r);
    int64_t id, other;
    LT_CHECK_OK(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id));
    LT_CHECK_ERR(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &other), LT_ERR_ARG, "busy");
    LT_CHECK_OK(lt_gen_step(f.g, on_event, r));
    LT_CHECK_OK(lt_gen_step(f.g, on_event, r));
    lt_gen_cancel(f.g, id);
    LT_CHECK_OK(lt_gen_step(f.g, on_event, r));
    LT_CHECK_INT(r->finish[id], LT_GEN_CANCELLED);
    LT_CHECK_INT(r->n[id], 2);
    LT_CHECK_INT(lt_gen_active(f.g), 0);
    int32_t long_prompt[300] = {0};
    LT_CHECK_ERR(lt_gen_add(f.g, long_prompt, 256, &p, -1, &id), LT_ERR_RANGE, "context holds 256");
    LT_CHECK_ERR(lt_gen_add(f.g, long_prompt, 0, &p, -1, &id), LT_ERR_ARG, "empty prompt");
    long_prompt[2] = 9999;
    LT_CHECK_ERR(lt_gen_add(f.g, long_prompt, 5, &p, -1, &id), LT_ERR_RANGE, "9999");
    p.sampling.top_p = 1.5f;
    LT_CHECK_ERR(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id), LT_ERR_ARG, "top_p");
    p = lt_gen_params_default();
    p.stop_ids[0] = 512;
    p.n_stop_ids = 1;
    LT_CHECK_ERR(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, -1, &id), LT_ERR_RANGE,
                 "stop token 512");
    p = lt_gen_params_default();
    LT_CHECK_ERR(lt_gen_add(f.g, ids.data, (int64_t)ids.n, &p, 3, &id), LT_ERR_RANGE, "slot 3");
    LT_CHECK_INT(lt_gen_free_slots(f.g), 1);
    lt_ids_free(&ids);
    free(r);
    teardown(&f);
}

int main(void) {
    LT_RUN(test_greedy_matches_full_forward);
    LT_RUN(test_batch_equals_solo);
    LT_RUN(test_stops);
    LT_RUN(test_think_budget);
    LT_RUN(test_prefix_reuse);
    LT_RUN(test_cancel_and_errors);
    return lt_test_finish();
}
