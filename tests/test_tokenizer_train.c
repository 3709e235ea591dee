// test_tokenizer_train.c: BPE training. A worked example by hand; the
// incremental trainer against a naive one written here (recount every pair
// before every merge) on random corpora full of ties and repeats; special
// tokens; determinism; compression on held-out text; bad options. (That the
// Rust library's trainer learns the same merges, and that the Rust library
// encodes a trained tokenizer.json as lathe does, is checked by
// tests/cli_tokenizer_train.sh.)
#include "base/json.h"
#include "lt_test.h"
#include "tokenizer/tok_internal.h"

// The merges of a tokenizer as "left right" strings of raw bytes.
static void merge_text(const lt_tokenizer *tok, int32_t r, char *out, size_t cap) {
    size_t la, lb;
    const char *a = lt_tokenizer_token(tok, tok->core->merges[r][0], &la);
    const char *b = lt_tokenizer_token(tok, tok->core->merges[r][1], &lb);
    snprintf(out, cap, "%.*s %.*s", (int)la, a, (int)lb, b);
}

static lt_tokenizer *train_docs(const char *const *docs, const int *repeat, int n, int32_t vocab,
                                int64_t min_frequency) {
    lt_bpe_train_opts o = {.vocab_size = vocab, .min_frequency = min_frequency};
    lt_bpe_trainer *tr = NULL;
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &o));
    for (int i = 0; i < n && tr; i++)
        for (int k = 0; k < (repeat ? repeat[i] : 1); k++)
            LT_CHECK_OK(lt_bpe_trainer_feed(tr, docs[i], strlen(docs[i])));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tok));
    lt_bpe_trainer_free(tr);
    return tok;
}

// "aaabdaaabac" (one pre-token): pairs aa 4, ab 2, others 1 -> merge a+a ->
// [aa a b d aa a b a c]: aa+a 2 and a+b 2 tie, and the smaller ids win: 'a' is
// id 64 ('!' is 0), aa is 256, so (a, b) = (64, 65) beats (256, 64) -> a+b ->
// [aa ab d aa ab a c]: aa+ab 2 -> aaab. Every other pair is seen once, below
// the default minimum of 2.
static void test_worked_example(void) {
    const char *doc = "aaabdaaabac";
    lt_tokenizer *tok = train_docs(&doc, NULL, 1, 1000, 0);
    if (!tok) return;
    LT_CHECK_INT(lt_tokenizer_n_merges(tok), 3);
    char m[64];
    merge_text(tok, 0, m, sizeof m);
    LT_CHECK_STR(m, "a a");
    merge_text(tok, 1, m, sizeof m);
    LT_CHECK_STR(m, "a b");
    merge_text(tok, 2, m, sizeof m);
    LT_CHECK_STR(m, "aa ab");
    LT_CHECK_INT(lt_tokenizer_find(tok, "a", 1), 64);
    LT_CHECK_INT(lt_tokenizer_find(tok, "!", 1), 0);
    LT_CHECK_INT(lt_tokenizer_find(tok, " ", 1), 188 + 32); // 'Ġ' = U+0120: the 33rd shifted byte
    LT_CHECK_INT(lt_tokenizer_find(tok, "aaab", 4), 258);
    // The special tokens follow, in order; <think> is added but not special.
    LT_CHECK_INT(lt_tokenizer_n_vocab(tok), 259 + 8);
    LT_CHECK_INT(lt_tokenizer_bos(tok), 259);
    LT_CHECK_INT(lt_tokenizer_eos(tok), 260);
    LT_CHECK_INT(lt_tokenizer_pad(tok), 261);
    LT_CHECK_INT(lt_tokenizer_find(tok, "<|eot_id|>", 10), 264);
    LT_CHECK_INT(lt_tokenizer_find(tok, "</think>", 8), 266);
    LT_CHECK(lt_tokenizer_is_special(tok, 264) && !lt_tokenizer_is_special(tok, 265));
    LT_CHECK(tok->core->ignore_merges);
    // Encoding with it: "aaabd" -> aaab d.
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, "aaabd<|eot_id|>", 15, 0, &ids));
    LT_CHECK(ids.n == 3 && ids.data[0] == 258 && ids.data[1] == 'd' - '!' && ids.data[2] == 264);
    lt_ids_free(&ids);
    lt_tokenizer_free(tok);
}

// ---------------------------------------------------------------- naive reference

enum { MAXW = 64, MAXT = 2048 };
typedef struct {
    int32_t sym[MAXW];
    int n;
    int64_t count;
} naive_word;

typedef struct {
    char bytes[MAXT][MAXW];
    int len[MAXT];
    int n;
} naive_vocab;

static int naive_find(const naive_vocab *v, const char *b, int n) {
    for (int i = 0; i < v->n; i++)
        if (v->len[i] == n && memcmp(v->bytes[i], b, (size_t)n) == 0) return i;
    return -1;
}

// Recounts all pairs before each merge; ties go to the smallest (a, b).
static int naive_train(naive_word *w, int n_words, int new_tokens, int64_t min_frequency,
                       naive_vocab *v, int merges[][2]) {
    int n_merges = 0, made = 0;
    while (made < new_tokens) {
        int best_a = -1, best_b = -1;
        int64_t best = 0;
        // Every adjacent pair of every word, counted over all words.
        for (int k0 = 0; k0 < n_words; k0++)
            for (int i0 = 0; i0 + 1 < w[k0].n; i0++) {
                int a = w[k0].sym[i0], b = w[k0].sym[i0 + 1];
                int64_t c = 0;
                for (int k = 0; k < n_words; k++)
                    for (int i = 0; i + 1 < w[k].n; i++)
                        if (w[k].sym[i] == a && w[k].sym[i + 1] == b) c += w[k].count;
                if (c > best || (c == best && (a < best_a || (a == best_a && b < best_b))))
                    best = c, best_a = a, best_b = b;
            }
        if (best_a < 0 || best < min_frequency) break;
        char joined[MAXW];
        int n = v->len[best_a] + v->len[best_b];
        memcpy(joined, v->bytes[best_a], (size_t)v->len[best_a]);
        memcpy(joined + v->len[best_a], v->bytes[best_b], (size_t)v->len[best_b]);
        int id = naive_find(v, joined, n);
        if (id < 0) {
            id = v->n++;
            memcpy(v->bytes[id], joined, (size_t)n);
            v->len[id] = n;
            made++;
        }
        merges[n_merges][0] = best_a;
        merges[n_merges][1] = best_b;
        n_merges++;
        for (int k = 0; k < n_words; k++) {
            int out = 0;
            for (int i = 0; i < w[k].n; i++) {
                if (i + 1 < w[k].n && w[k].sym[i] == best_a && w[k].sym[i + 1] == best_b) {
                    w[k].sym[out++] = id;
                    i++;
                } else {
                    w[k].sym[out++] = w[k].sym[i];
                }
            }
            w[k].n = out;
        }
    }
    return n_merges;
}

static void test_against_naive(void) {
    // Byte ids by the alphabet's order, worked out independently: the printable
    // ASCII range starts at '!' = 0, so a letter's id is its byte minus 33.
    lt_rng rng;
    lt_rng_seed(&rng, 99);
    for (int trial = 0; trial < 12; trial++) {
        const char *alphabet = trial % 3 == 0 ? "ab" : trial % 3 == 1 ? "abc" : "abcde";
        int n_alpha = (int)strlen(alphabet);
        enum { NW = 30 };
        char words[NW][16];
        const char *docs[NW];
        int repeat[NW];
        static naive_word nw[NW];
        static naive_vocab v;
        memset(&v, 0, sizeof v);
        v.n = 256;
        for (int b = 0; b < 256; b++) { // id = rank of the byte's character
            int rank = 0;
            for (int o = 0; o < 256; o++)
                rank += lt_bytelevel_char((uint8_t)o) < lt_bytelevel_char((uint8_t)b);
            v.bytes[rank][0] = (char)b;
            v.len[rank] = 1;
        }
        for (int k = 0; k < NW; k++) {
            int len = 1 + (int)lt_rng_below(&rng, 12);
            for (int i = 0; i < len; i++)
                words[k][i] = alphabet[lt_rng_below(&rng, (uint32_t)n_alpha)];
            words[k][len] = 0;
            docs[k] = words[k];
            repeat[k] = 1 + (int)lt_rng_below(&rng, 4);
            nw[k].n = len;
            nw[k].count = repeat[k];
            for (int i = 0; i < len; i++) nw[k].sym[i] = (uint8_t)words[k][i] - '!';
        }
        int new_tokens = trial % 2 ? 1000 : 6; // exhaust all pairs, or stop early
        int64_t min_frequency = trial % 4 < 2 ? 1 : 2;
        static int merges[MAXT][2];
        int n_merges = naive_train(nw, NW, new_tokens, min_frequency, &v, merges);
        lt_tokenizer *tok = train_docs(docs, repeat, NW, 256 + new_tokens + 8, min_frequency);
        if (!tok) return;
        LT_CHECK_INT(lt_tokenizer_n_merges(tok), n_merges);
        for (int r = 0; r < n_merges && r < lt_tokenizer_n_merges(tok); r++) {
            char got[160], want[160];
            merge_text(tok, r, got, sizeof got);
            snprintf(want, sizeof want, "%.*s %.*s", v.len[merges[r][0]], v.bytes[merges[r][0]],
                     v.len[merges[r][1]], v.bytes[merges[r][1]]);
            LT_CHECK_MSG(strcmp(got, want) == 0, "trial %d merge %d: '%s', naive '%s'", trial, r,
                         got, want);
        }
        lt_tokenizer_free(tok);
    }
}

// ---------------------------------------------------------------- real text

static double bytes_per_token(lt_tokenizer *tok, const char *text, size_t n) {
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
    double r = ids.n ? (double)n / (double)ids.n : 0;
    lt_ids_free(&ids);
    return r;
}

// Chapters 1-3 train, chapter 4 is held out. Compression must grow with the
// vocabulary, hold up on unseen text (within 15% of the training text), and
// reach 3 bytes/token at 2048 ids (3.24 when written; English BPE at this size
// typically gives 3-3.5). Decoding gives the text back.
static void test_heldout_compression(void) {
    size_t n = 0;
    char *text = NULL;
    LT_CHECK_OK(lt_file_read_all(lt_test_path("data/moby-dick-1-4.txt"), &text, &n, 1 << 20));
    if (!text) return;
    const char *chapter4 = strstr(text, "CHAPTER 4.");
    LT_CHECK(chapter4 != NULL);
    size_t n_train = chapter4 ? (size_t)(chapter4 - text) : n / 2, n_held = n - n_train;
    const char *held = text + n_train;
    double prev = 1.0;
    for (int32_t vocab = 512; vocab <= 2048; vocab *= 2) {
        lt_bpe_train_opts o = {.vocab_size = vocab};
        lt_bpe_trainer *tr = NULL;
        lt_tokenizer *tok = NULL;
        LT_CHECK_OK(lt_bpe_trainer_init(&tr, &o));
        LT_CHECK_OK(lt_bpe_trainer_feed(tr, text, n_train));
        LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tok));
        lt_bpe_trainer_free(tr);
        if (!tok) break;
        LT_CHECK_INT(lt_tokenizer_n_vocab(tok), vocab);
        double on_train = bytes_per_token(tok, text, n_train);
        double on_held = bytes_per_token(tok, held, n_held);
        fprintf(stderr, "  vocab %4d: %.3f bytes/token on training text, %.3f held out\n",
                (int)vocab, on_train, on_held);
        LT_CHECK(on_held > prev);
        LT_CHECK(on_held > 0.85 * on_train);
        if (vocab == 2048) LT_CHECK(on_held >= 3.0);
        prev = on_held;
        lt_ids ids = {0};
        lt_bytes back = {0};
        LT_CHECK_OK(lt_tokenizer_encode(tok, held, n_held, 0, &ids));
        LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
        LT_CHECK(back.n == n_held && memcmp(back.data, held, n_held) == 0);
        lt_ids_free(&ids);
        lt_bytes_free(&back);
        lt_tokenizer_free(tok);
    }
    lt_free(text);
}

// Same input, same tokenizer.json bytes; and the saved file loads back with
// the same encodings.
static void test_deterministic(void) {
    const char *dir = lt_test_tmpdir();
    const char *path = lt_test_path("data/moby-dick-1-4.txt");
    char *files[2];
    for (int i = 0; i < 2; i++) {
        lt_bpe_train_opts o = {.vocab_size = 800};
        lt_tokenizer *tok = NULL;
        LT_CHECK_OK(lt_tokenizer_train(&tok, &path, 1, &o));
        char name[32];
        snprintf(name, sizeof name, "run%d", i);
        char *sub = lt_path_join(dir, name);
        LT_CHECK_OK(lt_tokenizer_save(tok, sub));
        files[i] = lt_path_join(sub, "tokenizer.json");
        lt_free(sub);
        lt_tokenizer_free(tok);
    }
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    LT_CHECK_OK(lt_file_read_all(files[0], &a, &na, 1 << 24));
    LT_CHECK_OK(lt_file_read_all(files[1], &b, &nb, 1 << 24));
    LT_CHECK(a && b && na == nb && memcmp(a, b, na) == 0);
    lt_free(a);
    lt_free(b);
    lt_free(files[0]);
    lt_free(files[1]);
}

static void test_bad_options(void) {
    lt_bpe_trainer *tr = NULL;
    lt_bpe_train_opts small = {.vocab_size = 264};
    LT_CHECK_ERR(lt_bpe_trainer_init(&tr, &small), LT_ERR_ARG, "need 265");
    const char *twice[] = {"<a>", "<a>"};
    lt_bpe_train_opts dup = {.vocab_size = 1000, .extra_specials = twice, .n_extra_specials = 2};
    LT_CHECK_ERR(lt_bpe_trainer_init(&tr, &dup), LT_ERR_ARG, "'<a>' is listed twice");
    const char *empty[] = {""};
    lt_bpe_train_opts e = {.vocab_size = 1000, .specials = empty, .n_specials = 1};
    LT_CHECK_ERR(lt_bpe_trainer_init(&tr, &e), LT_ERR_ARG, "special token 0 is empty");
    lt_bpe_train_opts bad_re = {.vocab_size = 1000, .pattern = "(["};
    LT_CHECK_ERR(lt_bpe_trainer_init(&tr, &bad_re), LT_ERR_FORMAT, "unterminated");
    lt_tokenizer *tok = NULL;
    lt_bpe_train_opts ok = {.vocab_size = 1000};
    LT_CHECK_ERR(lt_tokenizer_train(&tok, NULL, 0, &ok), LT_ERR_ARG, "at least one input file");
    const char *missing = "/nonexistent.txt";
    LT_CHECK_ERR(lt_tokenizer_train(&tok, &missing, 1, &ok), LT_ERR_IO, "/nonexistent.txt");
    // No text at all: bytes and special tokens only.
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &ok));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tok));
    lt_bpe_trainer_free(tr);
    if (tok) LT_CHECK_INT(lt_tokenizer_n_vocab(tok), 256 + 8);
    lt_tokenizer_free(tok);
}

// Invalid UTF-8 in training text: bytes stay bytes, nothing is lost.
static void test_invalid_utf8_training(void) {
    const char *doc = "caf\xc3\xa9 \xff\xff caf\xc3\xa9 \xe2\x82 caf\xc3\xa9";
    lt_tokenizer *tok = train_docs(&doc, NULL, 1, 300, 1);
    if (!tok) return;
    lt_ids ids = {0};
    lt_bytes back = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, doc, strlen(doc), 0, &ids));
    LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
    LT_CHECK_STR(back.data, doc);
    LT_CHECK(lt_tokenizer_find(tok, " caf\xc3\xa9", 6) >= 0); // seen twice: merged whole
    lt_ids_free(&ids);
    lt_bytes_free(&back);
    lt_tokenizer_free(tok);
}

// split_digits: every digit its own token, whatever the training text repeats;
// the regex is Qwen2's and merges are not ignored, in the tokenizer and in the
// tokenizer.json it saves (which the Rust library reads the same:
// tests/cli_tokenizer_train.sh).
static void test_split_digits(void) {
    const char *doc = "12345 + 12345 = 24690, 12345 and 123 and 2024; 1,000,000 is 10^6. ";
    int repeat = 50;
    lt_bpe_train_opts o = {.vocab_size = 400, .split_digits = true};
    lt_bpe_trainer *tr = NULL;
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &o));
    for (int k = 0; k < repeat && tr; k++) LT_CHECK_OK(lt_bpe_trainer_feed(tr, doc, strlen(doc)));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tok));
    lt_bpe_trainer_free(tr);
    lt_tokenizer *grouped = train_docs(&doc, &repeat, 1, 400, 0); // Llama 3's \p{N}{1,3}
    if (!tok || !grouped) return;
    LT_CHECK_STR(tok->core->pretok.pattern, LT_TOK_QWEN2_PATTERN);
    LT_CHECK(!tok->core->ignore_merges && grouped->core->ignore_merges);
    lt_ids ids = {0}, ref = {0};
    lt_bytes back = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, "12345", 5, 0, &ids));
    LT_CHECK_INT(ids.n, 5);
    for (size_t i = 0; i < ids.n && ids.n == 5; i++)
        LT_CHECK_INT(ids.data[i], lt_tokenizer_find(tok, "12345" + i, 1));
    LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
    LT_CHECK_STR(back.data, "12345");
    LT_CHECK_OK(lt_tokenizer_encode(grouped, "12345", 5, 0, &ref));
    LT_CHECK_INT(ref.n, 2); // "123" "45": the default groups digits in threes
    // Saved and loaded back: the same regex, merges rule and ids on the whole text.
    const char *dir = lt_test_tmpdir();
    lt_tokenizer *loaded = NULL;
    LT_CHECK_OK(lt_tokenizer_save(tok, dir));
    LT_CHECK_OK(lt_tokenizer_load(&loaded, dir));
    if (loaded) {
        LT_CHECK_STR(loaded->core->pretok.pattern, LT_TOK_QWEN2_PATTERN);
        LT_CHECK(!loaded->core->ignore_merges && loaded->core->pretok.fast);
        ids.n = ref.n = 0;
        LT_CHECK_OK(lt_tokenizer_encode(tok, doc, strlen(doc), 0, &ids));
        LT_CHECK_OK(lt_tokenizer_encode(loaded, doc, strlen(doc), 0, &ref));
        LT_CHECK(ids.n == ref.n && memcmp(ids.data, ref.data, ids.n * sizeof *ids.data) == 0);
        back.n = 0;
        LT_CHECK_OK(lt_tokenizer_decode(loaded, ref.data, ref.n, 0, &back));
        LT_CHECK_STR(back.data, doc);
    }
    lt_bpe_train_opts both = {.vocab_size = 400, .split_digits = true, .pattern = "\\p{N}+"};
    LT_CHECK_ERR(lt_bpe_trainer_init(&tr, &both), LT_ERR_ARG, "give one of them");
    lt_ids_free(&ids);
    lt_ids_free(&ref);
    lt_bytes_free(&back);
    lt_tokenizer_free(loaded);
    lt_tokenizer_free(grouped);
    lt_tokenizer_free(tok);
    lt_status_free(lt_remove_tree(dir));
}

int main(void) {
    LT_RUN(test_worked_example);
    LT_RUN(test_against_naive);
    LT_RUN(test_heldout_compression);
    LT_RUN(test_deterministic);
    LT_RUN(test_bad_options);
    LT_RUN(test_invalid_utf8_training);
    LT_RUN(test_split_digits);
    return lt_test_finish();
}
