// cmd_tokenizer.c: `lathe tokenizer encode|decode|stats|info|train|augment` —
// the command-line face of src/tokenizer/. Text comes from stdin or --text;
// ids go to stdout separated by spaces (or as JSON arrays).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/tokenizer.h"

// ---------------------------------------------------------------- input / output

static lt_status read_stream(FILE *f, const char *name, lt_bytes *out) {
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) LT_TRY(lt_bytes_append(out, buf, n));
    if (ferror(f)) return lt_error(LT_ERR_IO, "%s: read error: %s", name, strerror(errno));
    return lt_bytes_append(out, "", 0);
}

// Ids as text: "1 2 3" or "[1, 2, 3]", into a buffer flushed to stdout.
static lt_status format_ids(lt_bytes *out, const int32_t *ids, size_t n, bool json) {
    if (json) LT_TRY(lt_bytes_append(out, "[", 1));
    for (size_t i = 0; i < n; i++) {
        char digits[16];
        int len = 0;
        uint32_t v = (uint32_t)ids[i];
        do {
            digits[sizeof digits - 1 - len++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        if (i) LT_TRY(lt_bytes_append(out, json ? ", " : " ", json ? 2 : 1));
        LT_TRY(lt_bytes_append(out, digits + sizeof digits - len, (size_t)len));
    }
    if (json) LT_TRY(lt_bytes_append(out, "]", 1));
    return lt_bytes_append(out, "\n", 1);
}

static lt_status flush_out(lt_bytes *out) {
    if (out->n && fwrite(out->data, 1, out->n, stdout) != out->n)
        return lt_error(LT_ERR_IO, "stdout: write error: %s", strerror(errno));
    out->n = 0;
    return NULL;
}

static lt_status load_tokenizer(lt_tokenizer **tok, const char *path) {
    if (!path) return lt_error(LT_ERR_ARG, "--tokenizer FILE_OR_DIR is required");
    return lt_tokenizer_load(tok, path);
}

// ---------------------------------------------------------------- encode

static void encode_help(void) {
    printf(
        "usage: lathe tokenizer encode --tokenizer FILE_OR_DIR [--text TEXT] [--json] [--bos]\n"
        "                              [--eos] [--lines] [--no-special]\n\n"
        "Encodes text from stdin (or --text) and prints the token ids separated by spaces.\n"
        "Special tokens written in the text (<|eot_id|>) become their ids unless --no-special.\n\n"
        "  --tokenizer P  tokenizer.json, or a directory with tokenizer.json (and\n"
        "                 tokenizer_config.json, which names BOS and EOS)\n"
        "  --text TEXT    encode TEXT instead of stdin\n"
        "  --json         print a JSON array instead\n"
        "  --bos, --eos   add the BOS / EOS token\n"
        "  --lines        encode each input line (ending at \\n) without its newline and\n"
        "                 print one line of ids per input line: batch encoding of a file\n"
        "  --no-special   treat special-token text as plain text\n");
}

static lt_status encode_run(lt_tokenizer *tok, const lt_bytes *text, unsigned flags, bool json,
                            bool lines) {
    lt_ids ids = {0};
    lt_bytes out = {0};
    lt_status st = NULL;
    if (!lines) {
        st = lt_tokenizer_encode(tok, text->data, text->n, flags, &ids);
        if (!st) st = format_ids(&out, ids.data, ids.n, json);
    } else {
        size_t pos = 0;
        while (pos < text->n && !st) {
            const char *nl = memchr(text->data + pos, '\n', text->n - pos);
            size_t end = nl ? (size_t)(nl - text->data) : text->n;
            ids.n = 0;
            st = lt_tokenizer_encode(tok, text->data + pos, end - pos, flags, &ids);
            if (!st) st = format_ids(&out, ids.data, ids.n, json);
            if (!st && out.n > (1 << 20)) st = flush_out(&out);
            pos = end + 1;
        }
    }
    if (!st) st = flush_out(&out);
    lt_ids_free(&ids);
    lt_bytes_free(&out);
    return st;
}

static int encode_cmd(int argc, char **argv) {
    const char *path = NULL, *text_arg = NULL;
    bool json = false, bos = false, eos = false, lines = false, no_special = false;
    const lt_cli_opt opts[] = {{"--tokenizer", .value = &path},
                               {"--text", .value = &text_arg},
                               {"--json", .present = &json},
                               {"--bos", .present = &bos},
                               {"--eos", .present = &eos},
                               {"--lines", .present = &lines},
                               {"--no-special", .present = &no_special},
                               {0}};
    int rc = lt_cli_parse("tokenizer encode", argc, argv, opts, NULL, 0, NULL, encode_help);
    if (rc >= 0) return rc;
    if (!path) return lt_cli_usage_error("tokenizer encode", "--tokenizer FILE_OR_DIR is required");
    lt_tokenizer *tok = NULL;
    lt_bytes text = {0};
    lt_status st = load_tokenizer(&tok, path);
    if (!st)
        st = text_arg ? lt_bytes_append(&text, text_arg, strlen(text_arg))
                      : read_stream(stdin, "stdin", &text);
    unsigned flags = (bos ? LT_ENCODE_BOS : 0) | (eos ? LT_ENCODE_EOS : 0) |
                     (no_special ? LT_ENCODE_NO_SPECIAL : 0);
    if (!st) st = encode_run(tok, &text, flags, json, lines);
    lt_bytes_free(&text);
    lt_tokenizer_free(tok);
    return lt_cli_report("tokenizer encode", st);
}

// ---------------------------------------------------------------- decode

static void decode_help(void) {
    printf("usage: lathe tokenizer decode --tokenizer FILE_OR_DIR [--ids 1,2,3] [--lines]\n"
           "                              [--skip-special]\n\n"
           "Decodes token ids back to text (the exact bytes that were encoded). Ids come from\n"
           "--ids or stdin, separated by spaces, commas or newlines; JSON arrays (encode --json)\n"
           "are accepted too.\n\n"
           "  --tokenizer P    tokenizer.json or its directory\n"
           "  --ids LIST       comma-separated ids instead of stdin\n"
           "  --lines          decode each input line on its own and end each with a newline\n"
           "                   (reverses encode --lines)\n"
           "  --skip-special   leave out special tokens (<|eot_id|>, ...)\n");
}

// Parses the ids in text[0..n): integers separated by spaces, commas, brackets.
static lt_status parse_id_text(const char *text, size_t n, lt_ids *ids) {
    size_t i = 0;
    while (i < n) {
        char c = text[i];
        if (c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n' || c == '[' || c == ']') {
            i++;
            continue;
        }
        long long v = 0;
        size_t start = i;
        bool neg = c == '-';
        if (neg) i++;
        while (i < n && text[i] >= '0' && text[i] <= '9' && v < (1ll << 40))
            v = v * 10 + (text[i++] - '0');
        if (i == start + (neg ? 1u : 0u) || (i < n && !strchr(" ,\t\r\n[]", text[i])))
            return lt_error(LT_ERR_ARG, "decode: '%.20s' is not a token id", text + start);
        if (neg) v = -v;
        if (v < INT32_MIN || v > INT32_MAX)
            return lt_error(LT_ERR_ARG, "decode: %.20s is out of range for a token id",
                            text + start);
        LT_TRY(lt_ids_push(ids, (int32_t)v));
    }
    return NULL;
}

static lt_status decode_run(lt_tokenizer *tok, const char *text, size_t n, unsigned flags,
                            bool lines) {
    lt_ids ids = {0};
    lt_bytes out = {0};
    lt_status st = NULL;
    size_t pos = 0;
    while (pos < n && !st) {
        const char *nl = lines ? memchr(text + pos, '\n', n - pos) : NULL;
        size_t end = nl ? (size_t)(nl - text) : n;
        ids.n = 0;
        st = parse_id_text(text + pos, end - pos, &ids);
        if (!st) st = lt_tokenizer_decode(tok, ids.data, ids.n, flags, &out);
        if (!st && lines) st = lt_bytes_append(&out, "\n", 1);
        if (!st && out.n > (1 << 20)) st = flush_out(&out);
        pos = end + 1;
    }
    if (!st) st = flush_out(&out);
    lt_ids_free(&ids);
    lt_bytes_free(&out);
    return st;
}

static int decode_cmd(int argc, char **argv) {
    const char *path = NULL, *ids_arg = NULL;
    bool lines = false, skip = false;
    const lt_cli_opt opts[] = {{"--tokenizer", .value = &path},
                               {"--ids", .value = &ids_arg},
                               {"--lines", .present = &lines},
                               {"--skip-special", .present = &skip},
                               {0}};
    int rc = lt_cli_parse("tokenizer decode", argc, argv, opts, NULL, 0, NULL, decode_help);
    if (rc >= 0) return rc;
    if (!path) return lt_cli_usage_error("tokenizer decode", "--tokenizer FILE_OR_DIR is required");
    lt_tokenizer *tok = NULL;
    lt_bytes text = {0};
    lt_status st = load_tokenizer(&tok, path);
    if (!st)
        st = ids_arg ? lt_bytes_append(&text, ids_arg, strlen(ids_arg))
                     : read_stream(stdin, "stdin", &text);
    if (!st) st = decode_run(tok, text.data, text.n, skip ? LT_DECODE_SKIP_SPECIAL : 0, lines);
    lt_bytes_free(&text);
    lt_tokenizer_free(tok);
    return lt_cli_report("tokenizer decode", st);
}

// ---------------------------------------------------------------- stats

static void stats_help(void) {
    printf("usage: lathe tokenizer stats --tokenizer P [--tokenizer P2 ...] FILES...\n\n"
           "Encodes each file with each tokenizer and prints bytes, tokens and bytes per token\n"
           "(higher is better compression), per file and in total: a side-by-side comparison.\n\n"
           "  --tokenizer P   tokenizer.json or its directory; repeat to compare several\n");
}

static int stats_cmd(int argc, char **argv) {
    lt_cli_list tokenizers = {0};
    const lt_cli_opt opts[] = {{"--tokenizer", .list = &tokenizers}, {0}};
    const char **files = NULL;
    int n_files = 0;
    lt_status st = lt_alloc((void **)&files, (size_t)argc * sizeof *files, "file names");
    if (st) return lt_cli_report("tokenizer stats", st);
    int rc = lt_cli_parse("tokenizer stats", argc, argv, opts, files, argc, &n_files, stats_help);
    if (rc < 0 && tokenizers.n == 0)
        rc = lt_cli_usage_error("tokenizer stats", "--tokenizer is required");
    if (rc < 0 && n_files == 0)
        rc = lt_cli_usage_error("tokenizer stats", "give one or more FILES");
    if (rc >= 0) {
        lt_cli_opts_free(opts);
        lt_free(files);
        return rc;
    }
    const char **paths = tokenizers.items;
    int n_paths = tokenizers.n;
    lt_tokenizer **toks = calloc((size_t)n_paths, sizeof *toks);
    uint64_t *total_tokens = calloc((size_t)n_paths, sizeof *total_tokens);
    uint64_t total_bytes = 0;
    if (!toks || !total_tokens)
        st = lt_error(LT_ERR_NOMEM,
                      "tokenizer stats: out of memory for the counts of %d tokenizers", n_paths);
    for (int t = 0; t < n_paths && !st; t++) st = lt_tokenizer_load(&toks[t], paths[t]);
    int width = 5;
    for (int f = 0; f < n_files; f++)
        if ((int)strlen(files[f]) > width) width = (int)strlen(files[f]);
    if (!st) {
        for (int t = 0; t < n_paths; t++)
            printf("tokenizer %d: %s (%d ids)\n", t + 1, paths[t], lt_tokenizer_n_vocab(toks[t]));
        printf("%-*s %12s", width, "file", "bytes");
        for (int t = 0; t < n_paths; t++)
            printf(" %9s[%d] %9s[%d]", "tokens", t + 1, "bytes/tok", t + 1);
        printf("\n");
    }
    lt_ids ids = {0};
    for (int f = 0; f < n_files && !st; f++) {
        lt_mmap m;
        st = lt_mmap_open(&m, files[f]);
        if (st) break;
        printf("%-*s %12zu", width, files[f], m.size);
        total_bytes += m.size;
        for (int t = 0; t < n_paths && !st; t++) {
            ids.n = 0;
            st = lt_tokenizer_encode(toks[t], m.data, m.size, LT_ENCODE_NO_SPECIAL, &ids);
            total_tokens[t] += ids.n;
            if (!st) printf(" %12zu %12.3f", ids.n, ids.n ? (double)m.size / (double)ids.n : 0.0);
        }
        printf("\n");
        lt_mmap_close(&m);
    }
    if (!st && n_files > 1) {
        printf("%-*s %12llu", width, "total", (unsigned long long)total_bytes);
        for (int t = 0; t < n_paths; t++)
            printf(" %12llu %12.3f", (unsigned long long)total_tokens[t],
                   total_tokens[t] ? (double)total_bytes / (double)total_tokens[t] : 0.0);
        printf("\n");
    }
    lt_ids_free(&ids);
    for (int t = 0; toks && t < n_paths; t++) lt_tokenizer_free(toks[t]);
    free(toks);
    free(total_tokens);
    lt_cli_opts_free(opts);
    lt_free(files);
    return lt_cli_report("tokenizer stats", st);
}

// ---------------------------------------------------------------- info

static void info_help(void) {
    printf("usage: lathe tokenizer info --tokenizer FILE_OR_DIR\n\n"
           "Prints the vocabulary size, merges and special tokens of a tokenizer.\n");
}

static void print_special(const lt_tokenizer *tok, const char *name, int32_t id) {
    size_t len = 0;
    const char *s = id >= 0 ? lt_tokenizer_token(tok, id, &len) : NULL;
    if (s)
        printf("%-10s %d %.*s\n", name, id, (int)len, s);
    else
        printf("%-10s none\n", name);
}

static int info_cmd(int argc, char **argv) {
    const char *path = NULL;
    const lt_cli_opt opts[] = {{"--tokenizer", .value = &path}, {0}};
    int rc = lt_cli_parse("tokenizer info", argc, argv, opts, NULL, 0, NULL, info_help);
    if (rc >= 0) return rc;
    lt_tokenizer *tok = NULL;
    lt_status st = load_tokenizer(&tok, path);
    if (!st) {
        printf("vocabulary %d ids\nmerges     %d\n", lt_tokenizer_n_vocab(tok),
               lt_tokenizer_n_merges(tok));
        print_special(tok, "bos", lt_tokenizer_bos(tok));
        print_special(tok, "eos", lt_tokenizer_eos(tok));
        print_special(tok, "pad", lt_tokenizer_pad(tok));
    }
    lt_tokenizer_free(tok);
    return lt_cli_report("tokenizer info", st);
}

// ---------------------------------------------------------------- train

static void train_help(void) {
    printf(
        "usage: lathe tokenizer train --vocab N --input FILES... --out DIR\n"
        "                             [--min-frequency F] [--special TOKENS...]\n"
        "                             [--pattern RE | --split-digits]\n\n"
        "Trains a byte-level BPE tokenizer (each file is one document) and writes\n"
        "DIR/tokenizer.json and DIR/tokenizer_config.json, loadable by Hugging Face\n"
        "tokenizers. Ids: 256 bytes, then the merges in order, then the special tokens\n"
        "<|begin_of_text|> <|end_of_text|> <|pad|> <|start_header_id|> <|end_header_id|>\n"
        "<|eot_id|> <think> </think> (and any --special ones). Deterministic.\n\n"
        "  --vocab N           all ids, special tokens included\n"
        "  --input FILES...    training text\n"
        "  -o, --out DIR       output directory (created if needed)\n"
        "  --min-frequency F   merge only pairs seen at least F times (default 2)\n"
        "  --special TOKENS... extra special tokens, after the default ones\n"
        "  --pattern RE        pre-tokenizer regex (default: Llama 3's, llama-bpe)\n"
        "  --split-digits      every digit a token of its own (Qwen2's regex: Llama 3's with\n"
        "                      \\p{N} for \\p{N}{1,3}; GGUF pre-tokenizer qwen2), for arithmetic\n");
}

static int train_cmd(int argc, char **argv) {
    const char *vocab_text = NULL, *out = NULL, *min_text = "2", *pattern = NULL;
    lt_cli_list inputs = {0}, specials = {0};
    bool split_digits = false;
    const lt_cli_opt opts[] = {{"--vocab", .value = &vocab_text},
                               {"--out", .value = &out, .alias = "-o"},
                               {"--min-frequency", .value = &min_text},
                               {"--pattern", .value = &pattern},
                               {"--split-digits", .present = &split_digits},
                               {"--input", .list = &inputs, .many = true},
                               {"--special", .list = &specials, .many = true},
                               {0}};
    int rc = lt_cli_parse("tokenizer train", argc, argv, opts, NULL, 0, NULL, train_help);
    if (rc >= 0) return rc;
    if (!vocab_text)
        rc = lt_cli_usage_error("tokenizer train", "--vocab N is required");
    else if (inputs.n == 0)
        rc = lt_cli_usage_error("tokenizer train", "--input FILES... is required");
    else if (!out)
        rc = lt_cli_usage_error("tokenizer train", "--out DIR is required");
    else if (pattern && split_digits)
        rc = lt_cli_usage_error("tokenizer train", "--split-digits sets the regex (Qwen2's); give "
                                                   "it or --pattern RE, not both");
    if (rc >= 0) {
        lt_cli_opts_free(opts);
        return rc;
    }
    int64_t vocab = 0, min_frequency = 0;
    lt_status st = lt_cli_parse_int("--vocab", vocab_text, 1, INT32_MAX, &vocab);
    if (!st) st = lt_cli_parse_int("--min-frequency", min_text, 1, INT64_MAX, &min_frequency);
    lt_tokenizer *tok = NULL;
    double t0 = lt_time_now();
    if (!st) {
        lt_bpe_train_opts o = {.vocab_size = (int32_t)vocab,
                               .min_frequency = min_frequency,
                               .pattern = pattern,
                               .split_digits = split_digits,
                               .extra_specials = specials.items,
                               .n_extra_specials = specials.n,
                               .progress = {lt_cli_progress, NULL}};
        st = lt_tokenizer_train(&tok, inputs.items, inputs.n, &o);
    }
    double seconds = lt_time_now() - t0;
    if (!st) st = lt_tokenizer_save(tok, out);
    if (!st) {
        int32_t n = lt_tokenizer_n_vocab(tok), merges = lt_tokenizer_n_merges(tok);
        printf("wrote %s: %d ids (256 bytes, %d merges, %d special tokens) in %.2f s\n", out, n,
               merges, n - 256 - merges, seconds);
        if (n < vocab)
            printf("note: the text ran out of pairs seen %lld+ times before %lld ids\n",
                   (long long)min_frequency, (long long)vocab);
    }
    lt_tokenizer_free(tok);
    lt_cli_opts_free(opts);
    return lt_cli_report("tokenizer train", st);
}

// ---------------------------------------------------------------- augment

// A token as a quoted string with \n, \t, \r and other control bytes escaped.
static void print_quoted(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void augment_help(void) {
    printf("usage: lathe tokenizer augment --base DIR --domain FILES... --general FILES...\n"
           "                               --add N --out DIR [--domain-vocab V] [--min-count C]\n"
           "                               [--max-general-ratio R]\n\n"
           "ChipNeMo-style vocabulary augmentation: trains a BPE on the domain text, keeps its\n"
           "tokens that the base lacks, that are frequent in the domain text and rare in the\n"
           "general text, and appends up to N of them after the base ids (base ids unchanged)\n"
           "with the merges that produce them. The general text encodes exactly as under the\n"
           "base. Writes DIR/tokenizer.json, DIR/tokenizer_config.json and\n"
           "DIR/vocab_augment.json (new ids and their base pieces, for `lathe model\n"
           "resize-vocab`).\n\n"
           "  --base P              the tokenizer to extend (tokenizer.json or its directory)\n"
           "  --domain FILES...     domain text (e.g. Verilog, specifications)\n"
           "  --general FILES...    general text the new tokens must be rare in\n"
           "  --add N               tokens to add, at most\n"
           "  -o, --out DIR         output directory\n"
           "  --domain-vocab V      size of the domain BPE (default max(2000, 264 + 4N))\n"
           "  --min-count C         a new token occurs at least C times in the domain text (2)\n"
           "  --max-general-ratio R its rate in general text is at most R times its rate in\n"
           "                        the domain text (0.1)\n");
}

static int augment_cmd(int argc, char **argv) {
    const char *base_path = NULL, *add_text = NULL, *out = NULL, *dv_text = "0", *mc_text = "2",
               *ratio_text = "0.1";
    lt_cli_list domain = {0}, general = {0};
    const lt_cli_opt opts[] = {{"--base", .value = &base_path},
                               {"--add", .value = &add_text},
                               {"--out", .value = &out, .alias = "-o"},
                               {"--domain-vocab", .value = &dv_text},
                               {"--min-count", .value = &mc_text},
                               {"--max-general-ratio", .value = &ratio_text},
                               {"--domain", .list = &domain, .many = true},
                               {"--general", .list = &general, .many = true},
                               {0}};
    int rc = lt_cli_parse("tokenizer augment", argc, argv, opts, NULL, 0, NULL, augment_help);
    if (rc >= 0) return rc;
    const char *missing = !base_path       ? "--base DIR"
                          : domain.n == 0  ? "--domain FILES..."
                          : general.n == 0 ? "--general FILES..."
                          : !add_text      ? "--add N"
                          : !out           ? "--out DIR"
                                           : NULL;
    if (missing) {
        lt_cli_opts_free(opts);
        return lt_cli_usage_error("tokenizer augment", "%s is required", missing);
    }
    int64_t add = 0, domain_vocab = 0, min_count = 0;
    double ratio = 0;
    lt_status st = lt_cli_parse_int("--add", add_text, 1, 1 << 22, &add);
    if (!st) st = lt_cli_parse_int("--domain-vocab", dv_text, 0, 1 << 24, &domain_vocab);
    if (!st) st = lt_cli_parse_int("--min-count", mc_text, 1, INT64_MAX, &min_count);
    if (!st) st = lt_cli_parse_double("--max-general-ratio", ratio_text, &ratio);
    if (!st && ratio <= 0) st = lt_error(LT_ERR_ARG, "--max-general-ratio must be > 0");
    lt_tokenizer *base = NULL, *aug = NULL;
    lt_augment_map map = {0};
    if (!st) st = lt_tokenizer_load(&base, base_path);
    if (!st) {
        lt_augment_opts o = {.n_add = (int32_t)add,
                             .domain_vocab = (int32_t)domain_vocab,
                             .min_count = min_count,
                             .max_general_ratio = ratio,
                             .progress = {lt_cli_progress, NULL}};
        st = lt_tokenizer_augment_files(&aug, &map, base, domain.items, domain.n, general.items,
                                        general.n, &o);
    }
    if (!st) st = lt_tokenizer_save(aug, out);
    char *map_path = out ? lt_path_join(out, "vocab_augment.json") : NULL;
    if (!st) st = lt_augment_map_save(&map, aug, map_path);
    if (!st) {
        printf("wrote %s: %d ids (%d base + %d new), mapping in %s\n", out,
               lt_tokenizer_n_vocab(aug), map.base_vocab, map.n, map_path);
        for (int32_t i = 0; i < map.n && i < 10; i++) {
            size_t len;
            const char *t = lt_tokenizer_token(aug, map.tokens[i].id, &len);
            printf("  %d ", map.tokens[i].id);
            print_quoted(t, len);
            printf("  domain %lld, general %lld\n", (long long)map.tokens[i].domain_count,
                   (long long)map.tokens[i].general_count);
        }
        if (map.n > 10) printf("  ... (%d more)\n", map.n - 10);
        if (map.n < add)
            printf("note: only %d tokens met the conditions (domain count >= %lld, rare in the "
                   "general text, parts available)\n",
                   map.n, (long long)min_count);
    }
    lt_free(map_path);
    lt_augment_map_free(&map);
    lt_tokenizer_free(aug);
    lt_tokenizer_free(base);
    lt_cli_opts_free(opts);
    return lt_cli_report("tokenizer augment", st);
}

// ---------------------------------------------------------------- dispatch

static const lt_cli_command subcommands[] = {
    {"encode", encode_cmd, "text -> token ids"},
    {"decode", decode_cmd, "token ids -> text"},
    {"stats", stats_cmd, "bytes per token of files under one or more tokenizers"},
    {"info", info_cmd, "vocabulary size, merges, special tokens"},
    {"train", train_cmd, "train a byte-level BPE tokenizer on text files"},
    {"augment", augment_cmd, "add domain tokens to a tokenizer (ChipNeMo)"},
};

int cmd_tokenizer(int argc, char **argv) {
    return lt_cli_dispatch("tokenizer", subcommands, sizeof subcommands / sizeof *subcommands, argc,
                           argv);
}
