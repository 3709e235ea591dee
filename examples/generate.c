// generate.c: the lathe library without the CLI, in one page — open an
// engine on a model directory, encode a prompt with the model's tokenizer,
// prefill it, then decode greedily one token at a time until an end token or
// N tokens, and print the new ids ("1,2,3", as `lathe generate --ids` does)
// and their text. tests/cli_example_generate.sh checks it against the CLI.
//
//   example_generate MODEL_DIR PROMPT [N]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/infer.h"
#include "lathe/sampler.h"

static bool is_end(const lt_engine *e, int32_t id) {
    const lt_config *c = lt_engine_config(e);
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_ids[i] == id) return true;
    return id == lt_tokenizer_eos(lt_engine_tokenizer(e));
}

// Prefill the prompt, then sample and decode up to n_new tokens into `out`.
static lt_status generate(lt_engine *e, const char *prompt, int n_new, lt_ids *out) {
    lt_tokenizer *tok = lt_engine_tokenizer(e);
    if (!tok) return lt_error(LT_ERR_ARG, "the model has no tokenizer.json");
    int32_t vocab = (int32_t)lt_engine_config(e)->vocab;
    lt_sampler_params params = lt_sampler_params_default();
    params.temperature = 0; // greedy: the argmax, ties to the lowest id
    lt_ids ids = {0};
    lt_sampler *sampler = NULL;
    float *logits = NULL; // (vocab) of the last token
    lt_status st = lt_tokenizer_encode(tok, prompt, strlen(prompt), 0, &ids);
    if (!st) st = lt_sampler_init(&sampler, &params, vocab);
    if (!st) st = lt_alloc((void **)&logits, (size_t)vocab * sizeof *logits, "logits");
    if (!st) st = lt_engine_prefill(e, 0, ids.data, (int64_t)ids.n, logits, false);
    for (int i = 0; !st && i < n_new; i++) {
        int32_t id = lt_sampler_sample(sampler, logits, out->data, out->n, NULL);
        if (id < 0 || is_end(e, id)) break;
        st = lt_ids_push(out, id);
        int seq = 0;
        if (!st && i + 1 < n_new) st = lt_engine_decode(e, &seq, &id, 1, logits);
    }
    lt_free(logits);
    lt_sampler_free(sampler);
    lt_ids_free(&ids);
    return st;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: example_generate MODEL_DIR PROMPT [N]\n");
        return 2;
    }
    lt_engine_opts opts = {.max_seqs = 1, .max_context = 1024, .context_at_most = true};
    lt_engine *e = NULL;
    lt_ids out = {0};
    lt_bytes text = {0};
    lt_status st = lt_engine_open(&e, argv[1], &opts);
    if (!st) st = generate(e, argv[2], argc > 3 ? atoi(argv[3]) : 16, &out);
    if (!st) st = lt_tokenizer_decode(lt_engine_tokenizer(e), out.data, out.n, 0, &text);
    if (!st) {
        for (size_t i = 0; i < out.n; i++) printf(i ? ",%d" : "%d", out.data[i]);
        printf("\n%s\n", text.data ? text.data : "");
    }
    lt_bytes_free(&text);
    lt_ids_free(&out);
    lt_engine_close(e);
    if (!st) return 0;
    fprintf(stderr, "example_generate: %s\n", lt_status_message(st));
    lt_status_free(st);
    return 1;
}
