// bench_tokenizer.c: `lathe bench tokenizer` — lathe's tokenizer speed on one
// thread: encode and decode throughput on a text with a given tokenizer (the
// Llama 3 one by default), and optionally BPE training time with the
// compression it reaches on held-out text. bench/tokenizer.sh runs the peers
// (tiktoken, gpt-tokenizer, Hugging Face tokenizers, sentencepiece) beside it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/tokenizer.h"

static void help(void) {
    printf("usage: lathe bench tokenizer [--tokenizer P] [--text FILE] [--reps N]\n"
           "                             [--train-vocab V [--heldout FILE]] [--json]\n\n"
           "Encodes FILE (one string) N times on one thread with one tokenizer handle and\n"
           "reports MB/s: the first pass (empty pre-token cache) and the median of the others;\n"
           "then decode MB/s. With --train-vocab, also trains a byte-level BPE of V ids on FILE\n"
           "(median of 3) and reports bytes/token of the result on --heldout.\n\n"
           "  --tokenizer P     tokenizer.json or its directory (default cache/llama3)\n"
           "  --text FILE       default cache/text/sotu.txt (scripts/fetch-test-data.sh --bench)\n"
           "  --reps N          encode passes (default 5)\n"
           "  --train-vocab V   also time training\n"
           "  --heldout FILE    text for the trained tokenizer's bytes/token\n"
           "  --json            one JSON line instead of text\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double bytes, tokens;
    double encode_cold, encode_warm, decode; // MB/s
    double train_seconds, heldout_bpt;
    int32_t train_ids;
} results;

static lt_status bench_encode(const char *tok_path, const lt_mmap *text, int64_t reps, results *r) {
    lt_tokenizer *tok = NULL;
    LT_TRY(lt_tokenizer_load(&tok, tok_path));
    lt_ids ids = {0};
    lt_bytes back = {0};
    double *mbs = calloc((size_t)reps, sizeof *mbs);
    lt_status st =
        mbs ? NULL : lt_error_nomem("the speed of each repetition", (size_t)reps * sizeof *mbs);
    for (int64_t i = 0; i < reps && !st; i++) {
        ids.n = 0;
        double t0 = lt_time_now();
        st = lt_tokenizer_encode(tok, text->data, text->size, LT_ENCODE_NO_SPECIAL, &ids);
        mbs[i] = (double)text->size / (lt_time_now() - t0) / 1e6;
    }
    if (!st) {
        r->bytes = (double)text->size;
        r->tokens = (double)ids.n;
        r->encode_cold = mbs[0];
        if (reps > 1) qsort(mbs + 1, (size_t)(reps - 1), sizeof *mbs, cmp_double);
        r->encode_warm = reps > 1 ? mbs[1 + (reps - 1) / 2] : mbs[0];
        double t0 = lt_time_now();
        st = lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back);
        r->decode = (double)back.n / (lt_time_now() - t0) / 1e6;
    }
    if (!st && (back.n != text->size || memcmp(back.data, text->data, text->size) != 0))
        st = lt_error(LT_ERR_INTERNAL, "bench: decode(encode(text)) differs from the text");
    free(mbs);
    lt_bytes_free(&back);
    lt_ids_free(&ids);
    lt_tokenizer_free(tok);
    return st;
}

static lt_status bench_train(const char *text_path, int64_t vocab, const char *heldout,
                             results *r) {
    double seconds[3];
    lt_tokenizer *tok = NULL;
    lt_status st = NULL;
    for (int i = 0; i < 3 && !st; i++) {
        lt_tokenizer_free(tok);
        tok = NULL;
        lt_bpe_train_opts o = {.vocab_size = (int32_t)vocab};
        double t0 = lt_time_now();
        st = lt_tokenizer_train(&tok, &text_path, 1, &o);
        seconds[i] = lt_time_now() - t0;
    }
    if (!st) {
        qsort(seconds, 3, sizeof *seconds, cmp_double);
        r->train_seconds = seconds[1];
        r->train_ids = lt_tokenizer_n_vocab(tok);
    }
    if (!st && heldout) {
        lt_mmap m;
        st = lt_mmap_open(&m, heldout);
        if (!st) {
            lt_ids ids = {0};
            st = lt_tokenizer_encode(tok, m.data, m.size, LT_ENCODE_NO_SPECIAL, &ids);
            if (!st) r->heldout_bpt = ids.n ? (double)m.size / (double)ids.n : 0;
            lt_ids_free(&ids);
            lt_mmap_close(&m);
        }
    }
    lt_tokenizer_free(tok);
    return st;
}

int lt_cli_bench_tokenizer(int argc, char **argv) {
    const char *tok_path = "cache/llama3", *text_path = "cache/text/sotu.txt", *reps_text = "5",
               *vocab_text = NULL, *heldout = NULL;
    bool json = false;
    const lt_cli_opt opts[] = {{"--tokenizer", .value = &tok_path},
                               {"--text", .value = &text_path},
                               {"--reps", .value = &reps_text},
                               {"--train-vocab", .value = &vocab_text},
                               {"--heldout", .value = &heldout},
                               {"--json", .present = &json},
                               {0}};
    int rc = lt_cli_parse("bench tokenizer", argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    int64_t reps = 5, vocab = 0;
    lt_status st = lt_cli_parse_int("--reps", reps_text, 1, 1000, &reps);
    if (!st && vocab_text) st = lt_cli_parse_int("--train-vocab", vocab_text, 300, 1 << 24, &vocab);
    lt_mmap text = {0};
    results r = {0};
    if (!st) st = lt_mmap_open(&text, text_path);
    if (!st) st = bench_encode(tok_path, &text, reps, &r);
    if (!st && vocab) st = bench_train(text_path, vocab, heldout, &r);
    if (!st && json) {
        printf("{\"tokenizer\": \"%s\", \"text\": \"%s\", \"bytes\": %.0f, \"tokens\": %.0f, "
               "\"encode_mb_s_first\": %.2f, \"encode_mb_s\": %.2f, \"decode_mb_s\": %.2f",
               tok_path, text_path, r.bytes, r.tokens, r.encode_cold, r.encode_warm, r.decode);
        if (vocab)
            printf(", \"train_vocab\": %d, \"train_s\": %.3f, \"heldout_bytes_per_token\": %.4f",
                   (int)r.train_ids, r.train_seconds, r.heldout_bpt);
        printf("}\n");
    } else if (!st) {
        printf("text        %s: %.1f MB, %.0f tokens (%.3f bytes/token) with %s\n", text_path,
               r.bytes / 1e6, r.tokens, r.bytes / r.tokens, tok_path);
        printf("encode      %.1f MB/s first pass, %.1f MB/s median of %lld more (1 thread)\n",
               r.encode_cold, r.encode_warm, (long long)reps - 1);
        printf("decode      %.1f MB/s\n", r.decode);
        if (vocab) {
            printf("train       %d ids in %.2f s (median of 3)", (int)r.train_ids, r.train_seconds);
            if (heldout) printf(", %.3f bytes/token on %s", r.heldout_bpt, heldout);
            printf("\n");
        }
    }
    lt_mmap_close(&text);
    return lt_cli_report("bench tokenizer", st);
}
