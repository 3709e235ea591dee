// generate.c: requests over the engine's slots, stepped together — each step
// one engine step carrying every request's pending tokens (prompt chunks,
// the last sampled token, forced closing text), then sampling and the text
// stream for each request that got logits.
#include <stdlib.h>
#include <string.h>

#include "lathe/chat.h"
#include "lathe/generate.h"
#include "lathe/textstream.h"

typedef struct {
    bool used;
    int64_t id;
    int slot;
    lt_gen_params p;
    lt_sampler *sampler;
    lt_textstream *ts;
    int32_t *pending; // tokens to feed next (n_pending), cap_pending allocated
    int64_t n_pending, cap_pending;
    int64_t prompt_tokens, cached_tokens, generated;
    bool prefilled; // the prompt has been fed completely once
    bool cancelled;
} request;

typedef struct {
    lt_ids ids; // the tokens the slot's KV cache holds, in order
    bool busy;
} slot_state;

struct lt_gen {
    lt_engine *e;
    lt_tokenizer *tok;
    int n_slots;
    slot_state *slots; // (n_slots)
    request *reqs;     // (n_slots): at most one request per slot
    int64_t next_id;
    int64_t step_tokens;
    int32_t end_ids[LT_MAX_EOS + 2];
    int n_end;
    float *logits;         // (n_slots, V)
    lt_engine_item *items; // (n_slots)
    int *item_req;         // (n_slots) request index of each item
};

static const char *const finish_names[] = {"running", "stop",   "stop",
                                           "length",  "length", "cancelled"};
const char *lt_gen_finish_name(lt_gen_finish f) {
    return f <= LT_GEN_CANCELLED ? finish_names[f] : "?";
}

lt_gen_params lt_gen_params_default(void) {
    lt_gen_params p = {0};
    p.sampling = lt_sampler_params_default();
    p.sampling.temperature = 0.0f;
    p.think_budget = -1;
    return p;
}

// The model's end tokens: the tokenizer's EOS and <|eot_id|>, and the
// config's eos ids where the tokenizer agrees they are special tokens (a
// preset's config may carry ids that are ordinary tokens of a tokenizer
// trained later).
static void collect_end_ids(lt_gen *g) {
    const lt_config *c = lt_engine_config(g->e);
    int32_t cand[LT_MAX_EOS + 2];
    int n = 0;
    for (int i = 0; i < c->n_eos; i++) cand[n++] = (int32_t)c->eos_ids[i];
    cand[n++] = lt_tokenizer_eos(g->tok);
    cand[n++] = lt_tokenizer_find(g->tok, "<|eot_id|>", 10);
    for (int i = 0; i < n; i++) {
        if (cand[i] < 0 || cand[i] >= c->vocab || !lt_tokenizer_is_special(g->tok, cand[i]))
            continue;
        bool seen = false;
        for (int j = 0; j < g->n_end; j++) seen |= g->end_ids[j] == cand[i];
        if (!seen) g->end_ids[g->n_end++] = cand[i];
    }
}

lt_status lt_gen_init(lt_gen **out, lt_engine *e) {
    *out = NULL;
    if (!lt_engine_tokenizer(e))
        return lt_error(LT_ERR_ARG, "generation needs a model with a tokenizer (tokenizer.json)");
    lt_gen *g;
    LT_TRY(lt_calloc((void **)&g, 1, sizeof *g, "generator"));
    g->e = e;
    g->tok = lt_engine_tokenizer(e);
    g->n_slots = lt_engine_max_seqs(e);
    g->step_tokens = lt_engine_max_step_tokens(e);
    size_t V = (size_t)lt_engine_config(e)->vocab, n = (size_t)g->n_slots;
    lt_status s = lt_calloc((void **)&g->slots, n, sizeof *g->slots, "generator slots");
    if (!s) s = lt_calloc((void **)&g->reqs, n, sizeof *g->reqs, "generator requests");
    if (!s) s = lt_alloc((void **)&g->logits, n * V * sizeof(float), "generator logits");
    if (!s) s = lt_calloc((void **)&g->items, n, sizeof *g->items, "generator items");
    if (!s) s = lt_calloc((void **)&g->item_req, n, sizeof *g->item_req, "generator items");
    if (s) {
        lt_gen_free(g);
        return s;
    }
    collect_end_ids(g);
    *out = g;
    return NULL;
}

static void request_clear(lt_gen *g, request *r) {
    if (r->slot >= 0 && r->slot < g->n_slots) g->slots[r->slot].busy = false;
    lt_sampler_free(r->sampler);
    lt_textstream_free(r->ts);
    lt_free(r->pending);
    memset(r, 0, sizeof *r);
}

void lt_gen_free(lt_gen *g) {
    if (!g) return;
    for (int i = 0; g->reqs && i < g->n_slots; i++)
        if (g->reqs[i].used) request_clear(g, &g->reqs[i]);
    for (int i = 0; g->slots && i < g->n_slots; i++) lt_ids_free(&g->slots[i].ids);
    lt_free(g->slots);
    lt_free(g->reqs);
    lt_free(g->logits);
    lt_free(g->items);
    lt_free(g->item_req);
    lt_free(g);
}

void lt_gen_set_step_tokens(lt_gen *g, int64_t n) {
    int64_t cap = lt_engine_max_step_tokens(g->e);
    g->step_tokens = n < 1 ? 1 : n > cap ? cap : n;
}

int lt_gen_active(const lt_gen *g) {
    int n = 0;
    for (int i = 0; i < g->n_slots; i++) n += g->reqs[i].used;
    return n;
}

int lt_gen_free_slots(const lt_gen *g) {
    int n = 0;
    for (int i = 0; i < g->n_slots; i++) n += !g->slots[i].busy;
    return n;
}

static request *find(const lt_gen *g, int64_t id) {
    for (int i = 0; i < g->n_slots; i++)
        if (g->reqs[i].used && g->reqs[i].id == id) return &g->reqs[i];
    return NULL;
}

void lt_gen_cancel(lt_gen *g, int64_t id) {
    request *r = find(g, id);
    if (r) r->cancelled = true;
}

const char *lt_gen_content(const lt_gen *g, int64_t id, size_t *len) {
    request *r = find(g, id);
    if (!r) {
        if (len) *len = 0;
        return "";
    }
    return lt_textstream_content(r->ts, len);
}

const char *lt_gen_reasoning(const lt_gen *g, int64_t id, size_t *len) {
    request *r = find(g, id);
    if (!r) {
        if (len) *len = 0;
        return "";
    }
    return lt_textstream_reasoning(r->ts, len);
}

static lt_status pending_push(request *r, const int32_t *ids, int64_t n) {
    if (r->n_pending + n > r->cap_pending) {
        int64_t cap = (r->n_pending + n) * 2;
        int32_t *grown = realloc(r->pending, (size_t)cap * sizeof *grown);
        if (!grown) return lt_error_nomem("the pending tokens", (size_t)cap * sizeof *grown);
        r->pending = grown;
        r->cap_pending = cap;
    }
    memcpy(r->pending + r->n_pending, ids, (size_t)n * sizeof *ids);
    r->n_pending += n;
    return NULL;
}

static int64_t common_prefix(const lt_ids *a, const int32_t *b, int64_t n) {
    int64_t k = 0;
    while (k < (int64_t)a->n && k < n && a->data[k] == b[k]) k++;
    return k;
}

static lt_status check_params(const lt_gen *g, const lt_gen_params *p) {
    LT_TRY(lt_sampler_params_check(&p->sampling));
    if (p->max_tokens < 0)
        return lt_error(LT_ERR_ARG,
                        "max_tokens is %lld (must be >= 0; 0: until the context is full)",
                        (long long)p->max_tokens);
    if (p->n_stop < 0 || p->n_stop > LT_GEN_MAX_STOP)
        return lt_error(LT_ERR_ARG, "at most %d stop strings", LT_GEN_MAX_STOP);
    if (p->n_stop_ids < 0 || p->n_stop_ids > LT_GEN_MAX_STOP)
        return lt_error(LT_ERR_ARG, "at most %d stop tokens", LT_GEN_MAX_STOP);
    int64_t V = lt_engine_config(g->e)->vocab;
    for (int i = 0; i < p->n_stop_ids; i++)
        if (p->stop_ids[i] < 0 || p->stop_ids[i] >= V)
            return lt_error(LT_ERR_RANGE, "stop token %d is outside the vocabulary [0, %lld)",
                            p->stop_ids[i], (long long)V);
    return NULL;
}

lt_status lt_gen_add(lt_gen *g, const int32_t *prompt, int64_t n, const lt_gen_params *p, int slot,
                     int64_t *id) {
    LT_TRY(check_params(g, p));
    if (n < 1) return lt_error(LT_ERR_ARG, "empty prompt");
    int64_t ctx = lt_engine_max_context(g->e), V = lt_engine_config(g->e)->vocab;
    if (n >= ctx)
        return lt_error(
            LT_ERR_RANGE,
            "the prompt has %lld tokens; the context holds %lld, leaving no room for an answer",
            (long long)n, (long long)ctx);
    for (int64_t i = 0; i < n; i++)
        if (prompt[i] < 0 || prompt[i] >= V)
            return lt_error(LT_ERR_RANGE,
                            "prompt token %d at %lld is outside the vocabulary [0, %lld)",
                            prompt[i], (long long)i, (long long)V);
    if (slot >= g->n_slots)
        return lt_error(LT_ERR_RANGE, "slot %d is outside [0, %d)", slot, g->n_slots);
    if (slot >= 0 && g->slots[slot].busy) return lt_error(LT_ERR_ARG, "slot %d is busy", slot);
    if (slot < 0) { // the free slot sharing the longest prefix with the prompt
        int64_t best = -1;
        for (int i = 0; i < g->n_slots; i++) {
            if (g->slots[i].busy) continue;
            int64_t k = common_prefix(&g->slots[i].ids, prompt, n);
            if (k > best) best = k, slot = i;
        }
        if (slot < 0) return lt_error(LT_ERR_ARG, "all %d slots are busy", g->n_slots);
    }
    request *r = NULL;
    for (int i = 0; i < g->n_slots && !r; i++)
        if (!g->reqs[i].used) r = &g->reqs[i];
    memset(r, 0, sizeof *r);
    r->slot = -1;
    r->p = *p;
    lt_textstream_opts to = lt_textstream_opts_default();
    to.think = p->prompt_in_thinking ? LT_THINK_OPEN : LT_THINK_DETECT;
    to.think_budget = p->think_budget < 0 ? -1 : (int32_t)p->think_budget;
    to.stop_strings = p->stop;
    to.n_stop_strings = p->n_stop;
    int32_t stops[LT_GEN_MAX_STOP + LT_MAX_EOS + 2];
    int n_stops = 0;
    for (int i = 0; i < p->n_stop_ids; i++) stops[n_stops++] = p->stop_ids[i];
    for (int i = 0; i < g->n_end && !p->ignore_eos; i++) stops[n_stops++] = g->end_ids[i];
    to.stop_tokens = stops;
    to.n_stop_tokens = n_stops;
    lt_status s = lt_sampler_init(&r->sampler, &p->sampling, (int32_t)V);
    if (!s) s = lt_textstream_init(&r->ts, g->tok, &to);
    // reuse the slot's cached prefix; at least one prompt token is fed for logits
    int64_t keep = common_prefix(&g->slots[slot].ids, prompt, n);
    if (keep >= n) keep = n - 1;
    if (!s) s = lt_engine_seq_truncate(g->e, slot, keep);
    if (!s) s = pending_push(r, prompt + keep, n - keep);
    if (s) {
        lt_sampler_free(r->sampler);
        lt_textstream_free(r->ts);
        lt_free(r->pending);
        memset(r, 0, sizeof *r);
        return s;
    }
    g->slots[slot].ids.n = (size_t)keep;
    g->slots[slot].busy = true;
    r->used = true;
    r->slot = slot;
    r->id = g->next_id++;
    r->prompt_tokens = n;
    r->cached_tokens = keep;
    *id = r->id;
    return NULL;
}

static void emit(lt_gen *g, request *r, int32_t token, float logprob, bool forced, size_t r0,
                 size_t c0, lt_gen_finish finish, lt_gen_callback cb, void *user) {
    (void)g;
    size_t rn, cn;
    const char *rt = lt_textstream_reasoning(r->ts, &rn), *ct = lt_textstream_content(r->ts, &cn);
    lt_textstream_stats st = lt_textstream_get_stats(r->ts);
    lt_gen_event ev = {.request = r->id,
                       .token = token,
                       .logprob = logprob,
                       .forced = forced,
                       .reasoning = rt + r0,
                       .reasoning_len = rn - r0,
                       .content = ct + c0,
                       .content_len = cn - c0,
                       .finish = finish,
                       .prompt_tokens = r->prompt_tokens,
                       .generated_tokens = r->generated,
                       .cached_tokens = r->cached_tokens,
                       .thinking_tokens = st.n_thinking_tokens};
    if (cb) cb(user, &ev);
}

// Ends a request: flushes its stream, reports, frees it.
static lt_status finish(lt_gen *g, request *r, lt_gen_finish why, lt_gen_callback cb, void *user) {
    size_t r0, c0;
    lt_textstream_reasoning(r->ts, &r0);
    lt_textstream_content(r->ts, &c0);
    lt_status s = lt_textstream_finish(r->ts, NULL);
    emit(g, r, -1, 0.0f, false, r0, c0, why, cb, user);
    request_clear(g, r);
    return s;
}

// After logits: sample, stream, decide what comes next.
static lt_status after_logits(lt_gen *g, request *r, float *logits, lt_gen_callback cb,
                              void *user) {
    slot_state *sl = &g->slots[r->slot];
    float logprob = 0.0f;
    int32_t tok = lt_sampler_sample(r->sampler, logits, sl->ids.data, sl->ids.n, &logprob);
    if (tok < 0)
        return lt_error(LT_ERR_INTERNAL, "request %lld: every logit is -inf or NaN",
                        (long long)r->id);
    size_t r0, c0;
    lt_textstream_reasoning(r->ts, &r0);
    lt_textstream_content(r->ts, &c0);
    lt_textstream_delta d;
    LT_TRY(lt_textstream_push(r->ts, tok, false, &d));
    r->generated++;
    if (d.stop != LT_STOP_NONE) {
        emit(g, r, tok, logprob, false, r0, c0,
             d.stop == LT_STOP_STRING ? LT_GEN_STOP_TEXT : LT_GEN_STOP, cb, user);
        request_clear(g, r);
        return NULL;
    }
    r->n_pending = 0;
    LT_TRY(pending_push(r, &tok, 1));
    bool forced = false;
    if (d.budget_reached) { // close the thinking section: feed the closing text
        const char *close = lt_textstream_close_text(r->ts);
        lt_ids ids = {0};
        lt_status s = lt_tokenizer_encode(g->tok, close, strlen(close), 0, &ids);
        // forced ids count toward max_tokens: the closing text is cut where the answer would end
        if (!s && r->p.max_tokens > 0 && (int64_t)ids.n > r->p.max_tokens - r->generated)
            ids.n = (size_t)(r->p.max_tokens - r->generated);
        for (size_t i = 0; !s && i < ids.n; i++)
            s = lt_textstream_push(r->ts, ids.data[i], true, NULL);
        if (!s) s = pending_push(r, ids.data, (int64_t)ids.n);
        r->generated += (int64_t)ids.n;
        lt_ids_free(&ids);
        LT_TRY(s);
        forced = true;
    }
    int64_t ctx = lt_engine_max_context(g->e);
    lt_gen_finish why = LT_GEN_RUNNING;
    if (r->p.max_tokens > 0 && r->generated >= r->p.max_tokens)
        why = LT_GEN_LENGTH;
    else if (lt_engine_seq_len(g->e, r->slot) + r->n_pending > ctx)
        why = LT_GEN_CONTEXT;
    emit(g, r, tok, logprob, forced, r0, c0, LT_GEN_RUNNING, cb, user);
    if (why != LT_GEN_RUNNING) return finish(g, r, why, cb, user);
    return NULL;
}

lt_status lt_gen_step(lt_gen *g, lt_gen_callback cb, void *user) {
    for (int i = 0; i < g->n_slots; i++) {
        request *r = &g->reqs[i];
        if (r->used && r->cancelled) LT_TRY(finish(g, r, LT_GEN_CANCELLED, cb, user));
    }
    // decoding requests first (their whole pending fits), then prompt chunks
    int n_items = 0;
    int64_t budget = g->step_tokens;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < g->n_slots && budget > 0; i++) {
            request *r = &g->reqs[i];
            if (!r->used || r->n_pending == 0) continue;
            bool decoding = r->prefilled && r->n_pending <= budget;
            if ((pass == 0) != decoding) continue;
            int64_t n = r->n_pending < budget ? r->n_pending : budget;
            float *logits = g->logits + (size_t)n_items * (size_t)lt_engine_config(g->e)->vocab;
            g->item_req[n_items] = i;
            g->items[n_items] = (lt_engine_item){.seq = r->slot,
                                                 .ids = r->pending,
                                                 .n = n,
                                                 .logits = n == r->n_pending ? logits : NULL};
            n_items++;
            budget -= n;
        }
    }
    if (n_items == 0) return NULL;
    LT_TRY(lt_engine_step(g->e, g->items, n_items));
    lt_status s = NULL;
    for (int k = 0; k < n_items && !s; k++) {
        request *r = &g->reqs[g->item_req[k]];
        slot_state *sl = &g->slots[r->slot];
        const lt_engine_item *it = &g->items[k];
        s = lt_ids_reserve(&sl->ids, (size_t)it->n);
        if (s) break;
        memcpy(sl->ids.data + sl->ids.n, it->ids, (size_t)it->n * sizeof(int32_t));
        sl->ids.n += (size_t)it->n;
        memmove(r->pending, r->pending + it->n, (size_t)(r->n_pending - it->n) * sizeof(int32_t));
        r->n_pending -= it->n;
        if (it->logits) {
            r->prefilled = true;
            s = after_logits(g, r, it->logits, cb, user);
        }
    }
    return s;
}
