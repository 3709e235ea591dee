// cmd_data.c: `lathe data tokenize|info` — the command-line face of
// src/data/: turning text and JSONL corpora into token shards, and describing
// (and verifying) a shard.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/data.h"
#include "lathe/tokenizer.h"

// 1234567 -> "1,234,567"
static const char *commas(uint64_t v, char buf[32]) {
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = 0;
    return buf;
}

// ---------------------------------------------------------------- tokenize

static void tokenize_help(void) {
    printf(
        "usage: lathe data tokenize --tokenizer FILE_OR_DIR --out OUT.bin [options] INPUT...\n\n"
        "Tokenizes text files and JSONL files into a token shard (docs/DATA.md). Every\n"
        "document becomes BOS + its tokens + EOS; empty documents are skipped.\n\n"
        "  --tokenizer P       tokenizer directory (or tokenizer.json) with BOS and EOS tokens\n"
        "  -o, --out OUT.bin   the training shard to write\n"
        "  INPUT...            files ending in .jsonl hold one {\"text\": ...} object per line\n"
        "                      (blank lines skipped); any other file is plain text\n"
        "  --split MODE        how plain text is cut into documents: file (default: one\n"
        "                      document per file), line (each line; line ends not included),\n"
        "                      blank (paragraphs separated by blank lines)\n"
        "  --text-key KEY      the JSONL field holding the text (default: text)\n"
        "  --val-fraction F    hold out this share of documents, in [0, 1), chosen by a\n"
        "                      seeded hash of each document's text (independent of input order)\n"
        "  --val VAL.bin       where held-out documents go (default: OUT with .val.bin)\n"
        "  --seed N            seed of the held-out choice (default 0)\n"
        "  --special           match special-token text (<|eot_id|>) in the input; by\n"
        "                      default it is tokenized as plain text\n");
}

// "dir/x.bin" -> "dir/x.val.bin"; other names get ".val.bin" appended.
static char *default_val_path(const char *out) {
    size_t n = strlen(out);
    bool bin = n > 4 && strcmp(out + n - 4, ".bin") == 0;
    size_t stem = bin ? n - 4 : n;
    char *p = malloc(stem + 9);
    if (!p) return NULL;
    memcpy(p, out, stem);
    memcpy(p + stem, ".val.bin", 9);
    return p;
}

static void print_counts(const char *path, const lt_shard_counts *c, int32_t vocab) {
    char a[32], b[32], d[32];
    printf("wrote %s: %s documents, %s tokens (%s, vocab %d), %s bytes of text", path,
           commas(c->n_docs, a), commas(c->n_tokens, b), vocab <= 65536 ? "uint16" : "uint32",
           vocab, commas(c->n_text_bytes, d));
    if (c->n_tokens > 0)
        printf(" (%.2f bytes/token)", (double)c->n_text_bytes / (double)c->n_tokens);
    printf("\n");
}

static int tokenize_run(const char *cmd, const char *tok_path, lt_tokenize_opts *o) {
    lt_tokenizer *tok = NULL;
    lt_tokenize_stats stats;
    lt_status st = lt_tokenizer_load(&tok, tok_path);
    o->tokenizer = tok;
    if (!st) st = lt_data_tokenize(o, &stats);
    int32_t vocab = tok ? lt_tokenizer_n_vocab(tok) : 0;
    lt_tokenizer_free(tok);
    if (st) return lt_cli_report(cmd, st);
    print_counts(o->out_path, &stats.train, vocab);
    if (o->val_path) print_counts(o->val_path, &stats.val, vocab);
    if (stats.n_empty) printf("skipped %llu empty documents\n", (unsigned long long)stats.n_empty);
    return LT_EXIT_OK;
}

static int tokenize_cmd(int argc, char **argv) {
    const char *cmd = "data tokenize";
    const char *tok_path = NULL, *out = NULL, *val = NULL, *val_fraction = NULL, *seed = NULL,
               *split = NULL, *text_key = NULL;
    bool special = false;
    const lt_cli_opt opts[] = {{"--tokenizer", .value = &tok_path},
                               {"--out", .value = &out, .alias = "-o"},
                               {"--val", .value = &val},
                               {"--val-fraction", .value = &val_fraction},
                               {"--seed", .value = &seed},
                               {"--split", .value = &split},
                               {"--text-key", .value = &text_key},
                               {"--special", .present = &special},
                               {0}};
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    if (!inputs)
        return lt_cli_report(
            cmd, lt_error_nomem("the list of input files", ((size_t)argc + 1) * sizeof *inputs));
    int n_inputs = 0;
    int rc = lt_cli_parse(cmd, argc, argv, opts, inputs, argc, &n_inputs, tokenize_help);
    if (rc < 0 && !tok_path) rc = lt_cli_usage_error(cmd, "--tokenizer FILE_OR_DIR is required");
    if (rc < 0 && !out) rc = lt_cli_usage_error(cmd, "--out OUT.bin is required");
    if (rc < 0 && n_inputs == 0) rc = lt_cli_usage_error(cmd, "no INPUT files given");
    if (rc < 0 && val && !val_fraction)
        rc = lt_cli_usage_error(cmd, "--val needs --val-fraction F");
    lt_tokenize_opts o = {.inputs = inputs,
                          .n_inputs = n_inputs,
                          .out_path = out,
                          .text_key = text_key,
                          .allow_special = special,
                          .progress = {lt_cli_progress, NULL}};
    lt_status st = NULL;
    int64_t seed_value = 0;
    if (rc < 0 && val_fraction)
        st = lt_cli_parse_double("--val-fraction", val_fraction, &o.val_fraction);
    if (rc < 0 && !st && seed) st = lt_cli_parse_int("--seed", seed, 0, INT64_MAX, &seed_value);
    if (rc < 0 && !st && split) st = lt_text_split_parse(split, &o.split);
    if (st) rc = lt_cli_report(cmd, st);
    char *val_default = NULL;
    if (rc < 0 && o.val_fraction > 0 && !val) {
        val = val_default = default_val_path(out);
        if (!val) rc = lt_cli_report(cmd, lt_error_nomem("the --val path", strlen(out) + 9));
    }
    if (rc < 0) {
        o.seed = (uint64_t)seed_value;
        o.val_path = val;
        rc = tokenize_run(cmd, tok_path, &o);
    }
    free(val_default);
    free(inputs);
    return rc;
}

// ---------------------------------------------------------------- info

static void info_help(void) {
    printf("usage: lathe data info SHARD...\n\n"
           "Validates token shards (size, checksum, document table, every token id) and\n"
           "describes them: token type, vocabulary, BOS/EOS, documents, tokens, text bytes.\n");
}

static void print_shard(const lt_shard *s) {
    const lt_shard_info *in = lt_shard_get_info(s);
    char a[32], b[32];
    uint64_t min = UINT64_MAX, max = 0;
    for (uint64_t d = 0; d < in->n_docs; d++) {
        uint64_t len = lt_shard_doc_start(s, d + 1) - lt_shard_doc_start(s, d);
        min = len < min ? len : min;
        max = len > max ? len : max;
    }
    printf("shard        %s\n", lt_shard_path(s));
    printf("format       version %u, uint%u tokens, checksum fnv1a64 %016llx (verified)\n",
           in->version, in->token_bytes * 8, (unsigned long long)in->checksum);
    printf("vocab        %u (bos %d, eos %d)\n", in->vocab, in->bos, in->eos);
    printf("documents    %s", commas(in->n_docs, a));
    if (in->n_docs)
        printf(" (tokens per document: min %llu, mean %.1f, max %llu)", (unsigned long long)min,
               (double)in->n_tokens / (double)in->n_docs, (unsigned long long)max);
    printf("\ntokens       %s\n", commas(in->n_tokens, a));
    printf("text bytes   %s", commas(in->n_text_bytes, b));
    if (in->n_tokens)
        printf(" (%.2f bytes/token)", (double)in->n_text_bytes / (double)in->n_tokens);
    printf("\n");
}

static int info_cmd(int argc, char **argv) {
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths)
        return lt_cli_report(
            "data info", lt_error_nomem("the list of paths", ((size_t)argc + 1) * sizeof *paths));
    int n = 0;
    int rc = lt_cli_parse("data info", argc, argv, NULL, paths, argc, &n, info_help);
    if (rc < 0 && n == 0) rc = lt_cli_usage_error("data info", "no SHARD given");
    for (int i = 0; rc < 0 && i < n; i++) {
        lt_shard *s = NULL;
        lt_status st = lt_shard_open(&s, paths[i]);
        if (st) {
            rc = lt_cli_report("data info", st);
            break;
        }
        if (i) printf("\n");
        print_shard(s);
        lt_shard_close(s);
    }
    free(paths);
    return rc < 0 ? LT_EXIT_OK : rc;
}

// ---------------------------------------------------------------- dispatch

static const lt_cli_command subcommands[] = {
    {"tokenize", tokenize_cmd, "text / JSONL files -> a token shard (and a validation shard)"},
    {"info", info_cmd, "validate and describe token shards"},
};

int cmd_data(int argc, char **argv) {
    return lt_cli_dispatch("data", subcommands, sizeof subcommands / sizeof *subcommands, argc,
                           argv);
}
