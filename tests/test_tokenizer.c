// test_tokenizer.c: the tokenizer on small hand-built vocabularies, where
// every expected id is worked out by hand: the byte-level alphabet, UTF-8
// validation, BPE merge order (rank, then leftmost), ignore_merges, added
// tokens (longest match, lstrip/rstrip), invalid UTF-8, round trips on random
// bytes, the heap merge loop against the linear one, save/load, and one test
// per malformed tokenizer.json.
#include "base/json.h"
#include "lt_test.h"
#include "lt_tok_test.h"
#include "tokenizer/tok_internal.h"

// ---------------------------------------------------------------- helpers

// Encodes `len` bytes and compares with the expected ids.
#define CHECK_ENCODE(tok, text, len, ...)                                   \
    do {                                                                    \
        const int32_t want_[] = {__VA_ARGS__};                              \
        lt_ids got_ = {0};                                                  \
        LT_CHECK_OK(lt_tokenizer_encode(tok, text, len, 0, &got_));         \
        bool same_ = ids_equal(&got_, want_, sizeof want_ / sizeof *want_); \
        LT_CHECK_MSG(same_, "encode(\"%s\") differs", text);                \
        if (!same_) {                                                       \
            print_ids("got ", got_.data, got_.n);                           \
            print_ids("want", want_, sizeof want_ / sizeof *want_);         \
        }                                                                   \
        lt_ids_free(&got_);                                                 \
    } while (0)

// The tiny tokenizer: ids 0..255 are the bytes 0..255, then these merges in
// rank order (each makes the next id from 256):
//   0 "a b"->256 ab   1 "b c"->257 bc   2 "ab c"->258 abc   3 "a a"->259 aa
//   4 "aa a"->260 aaa 5 "aa aa"->261 aaaa 6 "Ġ ab"->262 " ab"
// plus the model token 263 "xyz" that no merge makes (for ignore_merges), and
// added tokens 300 "<x>" (special), 301 "<xy>", 302 "[L]" (lstrip),
// 303 "[R]" (rstrip), 304 "<n>" (normalized=true).
static cJSON *tiny_doc(bool ignore_merges) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *added = cJSON_AddArrayToObject(doc, "added_tokens");
    const char *contents[] = {"<x>", "<xy>", "[L]", "[R]", "<n>"};
    for (int i = 0; i < 5; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 300 + i);
        cJSON_AddStringToObject(a, "content", contents[i]);
        cJSON_AddBoolToObject(a, "special", i == 0);
        cJSON_AddBoolToObject(a, "lstrip", i == 2);
        cJSON_AddBoolToObject(a, "rstrip", i == 3);
        cJSON_AddBoolToObject(a, "normalized", i == 4);
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(doc, "normalizer");
    cJSON *pt = cJSON_AddObjectToObject(doc, "pre_tokenizer");
    cJSON_AddStringToObject(pt, "type", "Sequence");
    cJSON *list = cJSON_AddArrayToObject(pt, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex",
                            LT_TOK_LLAMA3_PATTERN);
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON_AddItemToArray(list, split);
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", false);
    cJSON_AddBoolToObject(bl, "use_regex", false);
    cJSON_AddItemToArray(list, bl);
    cJSON *dec = cJSON_AddObjectToObject(doc, "decoder");
    cJSON_AddStringToObject(dec, "type", "ByteLevel");
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddBoolToObject(model, "ignore_merges", ignore_merges);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    add_byte_vocab(vocab);
    const char *made[] = {"ab",
                          "bc",
                          "abc",
                          "aa",
                          "aaa",
                          "aaaa",
                          "\xc4\xa0"
                          "ab",
                          "xyz"};
    for (int i = 0; i < 8; i++) cJSON_AddNumberToObject(vocab, made[i], 256 + i);
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    const char *m[] = {"a b", "b c", "ab c", "a a", "aa a", "aa aa", "\xc4\xa0 ab"};
    for (int i = 0; i < 7; i++) cJSON_AddItemToArray(merges, cJSON_CreateString(m[i]));
    return doc;
}

static lt_status load_doc(lt_tokenizer **tok, const cJSON *doc) {
    char *text = cJSON_PrintUnformatted(doc);
    lt_status st = lt_tokenizer_from_json(tok, text, strlen(text), "tiny.json");
    cJSON_free(text);
    return st;
}

static lt_tokenizer *tiny(bool ignore_merges) {
    cJSON *doc = tiny_doc(ignore_merges);
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(load_doc(&tok, doc));
    cJSON_Delete(doc);
    return tok;
}

// ---------------------------------------------------------------- alphabet and UTF-8

static void test_bytelevel_alphabet(void) {
    // GPT-2's mapping, known values: printable bytes stand for themselves, the
    // 68 others take U+0100.. in byte order.
    LT_CHECK_INT(lt_bytelevel_char('!'), '!');
    LT_CHECK_INT(lt_bytelevel_char('~'), '~');
    LT_CHECK_INT(lt_bytelevel_char(0x00), 0x100); // 'Ā'
    LT_CHECK_INT(lt_bytelevel_char(0x0A), 0x10A); // 'Ċ'
    LT_CHECK_INT(lt_bytelevel_char(0x20), 0x120); // 'Ġ'
    LT_CHECK_INT(lt_bytelevel_char(0x7F), 0x121); // 'ġ'
    LT_CHECK_INT(lt_bytelevel_char(0xA0), 0x142); // 'ł'
    LT_CHECK_INT(lt_bytelevel_char(0xAD), 0x143); // 'Ń'
    LT_CHECK_INT(lt_bytelevel_char(0xFF), 0xFF);  // 'ÿ'
    LT_CHECK_INT(lt_bytelevel_byte(0x143), 0xAD);
    LT_CHECK_INT(lt_bytelevel_byte(0x20), -1); // ' ' itself is not in the alphabet
    LT_CHECK_INT(lt_bytelevel_byte(0x144), -1);
    uint8_t all[256], back[512];
    for (int b = 0; b < 256; b++) all[b] = (uint8_t)b;
    lt_bytes spelled = {0};
    LT_CHECK_OK(lt_bytelevel_encode(&spelled, all, 256));
    LT_CHECK_INT(lt_bytelevel_decode(back, spelled.data, spelled.n), 256);
    LT_CHECK(memcmp(all, back, 256) == 0);
    LT_CHECK_INT(lt_bytelevel_decode(back, "a b", 3), -1);
    lt_bytes_free(&spelled);
}

static void test_utf8(void) {
    uint32_t cp;
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
    LT_CHECK_INT(cp, 0x20AC);
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xf0\x9f\xa6\x99", 4, &cp), 4);
    LT_CHECK_INT(cp, 0x1F999);
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xe2\x82", 2, &cp), 0);         // truncated
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xc0\xaf", 2, &cp), 0);         // overlong
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xe0\x80\xaf", 3, &cp), 0);     // overlong
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xed\xa0\x80", 3, &cp), 0);     // surrogate
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 0); // > U+10FFFF
    LT_CHECK_INT(lt_utf8_seq_len((const uint8_t *)"\x80", 1, &cp), 0); // lone continuation
    LT_CHECK_INT(lt_utf8_valid_prefix((const uint8_t *)"abcdefghij\xffk", 12), 10);
    LT_CHECK_INT(lt_utf8_valid_prefix((const uint8_t *)"\xe2\x82\xac\xe2\x82", 5), 3);
    LT_CHECK(lt_unicode_is_space(0x3000) && lt_unicode_is_space(0x85));
    LT_CHECK(!lt_unicode_is_space(0x180E) && !lt_unicode_is_space(0x200B));
}

// ---------------------------------------------------------------- encoding

static void test_merge_order(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    // (a,b) rank 0 beats (b,c) rank 1; then (ab,c) rank 2.
    CHECK_ENCODE(tok, "abc", 3, 258);
    CHECK_ENCODE(tok, "bca", 3, 257, 'a');
    // (a,a) at three places: leftmost first -> aa a a; then (a,a) rank 3 beats
    // (aa,a) rank 4 -> aa aa; then rank 5 -> aaaa.
    CHECK_ENCODE(tok, "aaaa", 4, 261);
    CHECK_ENCODE(tok, "aaa", 3, 260);
    // Five a's: aa aa a -> (aa,aa) rank 5 vs (aa,a) rank 4: aa aaa.
    CHECK_ENCODE(tok, "aaaaa", 5, 259, 260);
    // " ab" is one pre-token: Ġ a b -> Ġ ab -> " ab".
    CHECK_ENCODE(tok, " ab", 3, 262);
    // Pre-tokens never merge across: "ab" and " ab" and "." and "\n".
    CHECK_ENCODE(tok, "ab ab.\n", 7, 256, 262, '.', '\n');
    // "xyz" has no merges: three bytes without ignore_merges.
    CHECK_ENCODE(tok, "xyz", 3, 'x', 'y', 'z');
    lt_tokenizer_free(tok);
}

static void test_ignore_merges(void) {
    lt_tokenizer *tok = tiny(true);
    if (!tok) return;
    CHECK_ENCODE(tok, "xyz", 3, 263);                 // the whole pre-token is a vocabulary token
    CHECK_ENCODE(tok, "xyzz", 4, 'x', 'y', 'z', 'z'); // not in the vocabulary: plain BPE
    CHECK_ENCODE(tok, "abc", 3, 258);
    lt_tokenizer_free(tok);
}

static void test_added_tokens(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    CHECK_ENCODE(tok, "a<xy>b", 6, 'a', 301, 'b'); // longest match: <xy>, not <x>
    CHECK_ENCODE(tok, "<x><x>", 6, 300, 300);
    CHECK_ENCODE(tok, "<x", 2, '<', 'x');
    CHECK_ENCODE(tok, "ab<x>c", 6, 256, 300, 'c');  // never merged across
    CHECK_ENCODE(tok, "a  [L]b", 7, 'a', 302, 'b'); // lstrip takes the spaces before
    CHECK_ENCODE(tok, "a[R]  b", 7, 'a', 303, 'b'); // rstrip takes the spaces after
    CHECK_ENCODE(tok, "a [R] b", 7, 'a', ' ', 303, 'b');
    CHECK_ENCODE(tok, "x<n>y", 5, 'x', 304, 'y'); // normalized tokens are matched too
    // With LT_ENCODE_NO_SPECIAL the text is plain: pre-tokens "<x" and ">", no merges.
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, "<x>", 3, LT_ENCODE_NO_SPECIAL, &ids));
    const int32_t plain[] = {'<', 'x', '>'};
    LT_CHECK(ids_equal(&ids, plain, 3));
    lt_ids_free(&ids);
    // Decoding: added tokens give their content; skip_special drops <x> only.
    const int32_t seq[] = {256, 300, 301, 'c'};
    lt_bytes out = {0};
    LT_CHECK_OK(lt_tokenizer_decode(tok, seq, 4, 0, &out));
    LT_CHECK_STR(out.data, "ab<x><xy>c");
    out.n = 0;
    LT_CHECK_OK(lt_tokenizer_decode(tok, seq, 4, LT_DECODE_SKIP_SPECIAL, &out));
    LT_CHECK_STR(out.data, "ab<xy>c");
    lt_bytes_free(&out);
    LT_CHECK(lt_tokenizer_is_special(tok, 300) && !lt_tokenizer_is_special(tok, 301));
    LT_CHECK_INT(lt_tokenizer_find(tok, "<xy>", 4), 301);
    LT_CHECK_INT(lt_tokenizer_find(tok, "abc", 3), 258);
    LT_CHECK_INT(lt_tokenizer_find(tok, "zzz", 3), -1);
    LT_CHECK_INT(lt_tokenizer_n_vocab(tok), 305);
    lt_tokenizer_free(tok);
}

static void test_invalid_utf8(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    // Each byte outside a valid sequence is its own pre-token (its byte id);
    // the valid text around it is pre-tokenized on its own: "ab" stays ab.
    CHECK_ENCODE(tok,
                 "ab\xff"
                 "ab",
                 5, 256, 0xFF, 256);
    // "ab\x80c": without the bad byte "abc" would be one token.
    CHECK_ENCODE(tok,
                 "ab\x80"
                 "c",
                 4, 256, 0x80, 'c');
    // A truncated 3-byte sequence: two invalid bytes, then " ab".
    CHECK_ENCODE(tok, "\xe2\x82 ab", 5, 0xE2, 0x82, 262);
    // Overlong and surrogate encodings are invalid byte by byte.
    CHECK_ENCODE(tok, "\xc0\xaf", 2, 0xC0, 0xAF);
    CHECK_ENCODE(tok, "\xed\xa0\x80", 3, 0xED, 0xA0, 0x80);
    // A NUL byte is valid UTF-8 (U+0000).
    CHECK_ENCODE(tok, "a\0b", 3, 'a', 0, 'b');
    lt_tokenizer_free(tok);
}

static void test_random_roundtrip(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    // No 'L' or 'R': the [L]/[R] tokens strip whitespace, which decoding cannot restore.
    const char alphabet[] = "abc <>[]xyz\n\t\x80\xff\xe2\xc3\xa9";
    for (int trial = 0; trial < 2000; trial++) {
        char text[64];
        size_t n = lt_rng_below(&rng, sizeof text);
        for (size_t i = 0; i < n; i++)
            text[i] = trial % 2 ? (char)lt_rng_below(&rng, 256)
                                : alphabet[lt_rng_below(&rng, sizeof alphabet - 1)];
        lt_ids ids = {0};
        lt_bytes back = {0};
        LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
        LT_CHECK_OK(lt_tokenizer_decode(tok, ids.data, ids.n, 0, &back));
        LT_CHECK_MSG(back.n == n && (n == 0 || memcmp(back.data, text, n) == 0),
                     "round trip %d failed (%zu bytes in, %zu out)", trial, n, back.n);
        lt_ids_free(&ids);
        lt_bytes_free(&back);
    }
    lt_tokenizer_free(tok);
}

// The heap loop (long pre-tokens) must agree with the linear loop everywhere.
static void test_heap_matches_linear(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    lt_rng rng;
    lt_rng_seed(&rng, 11);
    for (int trial = 0; trial < 500; trial++) {
        int32_t a[80], b[80];
        uint64_t scratch[80];
        size_t n = 1 + lt_rng_below(&rng, 80);
        for (size_t i = 0; i < n; i++) a[i] = b[i] = "aabbc"[lt_rng_below(&rng, 5)];
        size_t na = lt_bpe_merge_linear(tok->core, a, scratch, n), nb = n;
        LT_CHECK_OK(lt_bpe_merge_heap(tok->core, b, &nb));
        LT_CHECK_INT(na, nb);
        LT_CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
    }
    // A pre-token longer than the linear loop's limit: 100 a's -> 25 x aaaa.
    char text[100];
    memset(text, 'a', sizeof text);
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, text, sizeof text, 0, &ids));
    LT_CHECK_INT(ids.n, 25);
    for (size_t i = 0; i < ids.n; i++) LT_CHECK_INT(ids.data[i], 261);
    lt_ids_free(&ids);
    lt_tokenizer_free(tok);
}

static lt_status count_piece(void *user, const uint8_t *piece, size_t len) {
    (void)piece;
    (void)len;
    (*(int *)user)++;
    return NULL;
}

// A vocabulary entry that is not byte-level spelled (here it has a plain
// space, which the alphabet writes as 'Ġ') is kept verbatim: decoding gives
// its text, encoding never produces it, saving writes it back unchanged.
static void test_verbatim_vocab_entry(void) {
    cJSON *doc = tiny_doc(false);
    cJSON_AddNumberToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "model"), "vocab"), "a b",
                            400);
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(load_doc(&tok, doc));
    cJSON_Delete(doc);
    if (!tok) return;
    lt_bytes out = {0};
    LT_CHECK_OK(lt_tokenizer_decode(tok, (const int32_t[]){400}, 1, 0, &out));
    LT_CHECK_STR(out.data, "a b");
    lt_bytes_free(&out);
    LT_CHECK_INT(lt_tokenizer_find(tok, "a b", 3), 400);
    CHECK_ENCODE(tok, "a b", 3, 'a', ' ', 'b');
    const char *dir = lt_test_tmpdir();
    LT_CHECK_OK(lt_tokenizer_save(tok, dir));
    lt_tokenizer *back = NULL;
    LT_CHECK_OK(lt_tokenizer_load(&back, dir));
    if (back) LT_CHECK_INT(lt_tokenizer_find(back, "a b", 3), 400);
    lt_tokenizer_free(back);
    lt_tokenizer_free(tok);
}

static void test_gpt2_bytelevel_pretokenizer(void) {
    cJSON *doc = tiny_doc(false);
    cJSON *pt = cJSON_CreateObject();
    cJSON_AddStringToObject(pt, "type", "ByteLevel");
    cJSON_AddBoolToObject(pt, "add_prefix_space", false);
    cJSON_AddBoolToObject(pt, "use_regex", true);
    cJSON_ReplaceItemInObject(doc, "pre_tokenizer", pt);
    lt_tokenizer *tok = NULL;
    LT_CHECK_OK(load_doc(&tok, doc));
    cJSON_Delete(doc);
    if (!tok) return;
    // GPT-2's regex keeps a space before digits and the digits together
    // (" ?\p{N}+"); Llama 3's cuts " ", "123", "45".
    lt_tokenizer *llama = tiny(false);
    int n_gpt2 = 0, n_llama = 0;
    LT_CHECK_OK(lt_pretok_split_valid(&tok->core->pretok, &tok->pretok,
                                      (const uint8_t *)" ab 12345", 9, count_piece, &n_gpt2));
    LT_CHECK_OK(lt_pretok_split_valid(&llama->core->pretok, &llama->pretok,
                                      (const uint8_t *)" ab 12345", 9, count_piece, &n_llama));
    LT_CHECK_INT(n_gpt2, 2);
    LT_CHECK_INT(n_llama, 4);
    CHECK_ENCODE(tok, " ab 12345", 9, 262, ' ', '1', '2', '3', '4', '5');
    lt_tokenizer_free(llama);
    lt_tokenizer_free(tok);
}

// ---------------------------------------------------------------- save / load

static void test_save_load(void) {
    lt_tokenizer *tok = tiny(true);
    if (!tok) return;
    const char *dir = lt_test_tmpdir();
    LT_CHECK_OK(lt_tokenizer_save(tok, dir));
    lt_tokenizer *back = NULL;
    LT_CHECK_OK(lt_tokenizer_load(&back, dir));
    if (back) {
        LT_CHECK_INT(lt_tokenizer_n_vocab(back), 305);
        LT_CHECK_INT(lt_tokenizer_n_merges(back), 7);
        CHECK_ENCODE(back, "xyz a<xy>aaaa [L]", 17, 263, ' ', 'a', 301, 261, 302);
        LT_CHECK(lt_tokenizer_is_special(back, 300));
        lt_tokenizer_free(back);
    }
    // The saved file says what lathe read: same ids for every byte pattern.
    char *path = lt_path_join(dir, "tokenizer.json");
    cJSON *doc = NULL;
    LT_CHECK_OK(lt_json_read_file(&doc, path, 1 << 20));
    if (doc) {
        cJSON *model = cJSON_GetObjectItem(doc, "model");
        LT_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(model, "ignore_merges")));
        LT_CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(model, "merges"), 6)->valuestring,
                     "\xc4\xa0 ab");
        LT_CHECK_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(model, "vocab"), "\xc4\xa0")->valueint,
                     32);
        cJSON_Delete(doc);
    }
    lt_free(path);
    lt_tokenizer_free(tok);
}

static void test_config(void) {
    lt_tokenizer *tok = tiny(false);
    if (!tok) return;
    const char *dir = lt_test_tmpdir();
    char *path = lt_path_join(dir, "tokenizer_config.json");
    const char *good = "{\"bos_token\": \"<x>\", \"eos_token\": {\"content\": \"<xy>\"}, "
                       "\"pad_token\": null, \"added_tokens_decoder\": {\"305\": {\"content\": "
                       "\"<new>\", \"special\": true}}}";
    LT_CHECK_OK(lt_file_write_all(path, good, strlen(good)));
    LT_CHECK_OK(lt_tokenizer_read_config(tok, path));
    LT_CHECK_INT(lt_tokenizer_bos(tok), 300);
    LT_CHECK_INT(lt_tokenizer_eos(tok), 301);
    LT_CHECK_INT(lt_tokenizer_pad(tok), -1);
    CHECK_ENCODE(tok, "a<new>", 6, 'a', 305); // added by the config
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, "ab", 2, LT_ENCODE_BOS | LT_ENCODE_EOS, &ids));
    const int32_t want[] = {300, 256, 301};
    LT_CHECK(ids_equal(&ids, want, 3));
    lt_ids_free(&ids);

    const char *unknown = "{\"bos_token\": \"<nope>\"}";
    LT_CHECK_OK(lt_file_write_all(path, unknown, strlen(unknown)));
    LT_CHECK_ERR(lt_tokenizer_read_config(tok, path), LT_ERR_FORMAT, "bos_token '<nope>'");
    const char *wrong = "{\"eos_token\": 5}";
    LT_CHECK_OK(lt_file_write_all(path, wrong, strlen(wrong)));
    LT_CHECK_ERR(lt_tokenizer_read_config(tok, path), LT_ERR_FORMAT, "'eos_token' must be");
    const char *clash = "{\"added_tokens_decoder\": {\"300\": {\"content\": \"<y>\"}}}";
    LT_CHECK_OK(lt_file_write_all(path, clash, strlen(clash)));
    LT_CHECK_ERR(lt_tokenizer_read_config(tok, path), LT_ERR_FORMAT, "disagrees");
    lt_free(path);
    lt_tokenizer_free(tok);

    tok = tiny(false); // no BOS known: asking for one is an error
    LT_CHECK_ERR(lt_tokenizer_encode(tok, "a", 1, LT_ENCODE_BOS, &ids), LT_ERR_ARG, "no BOS");
    const int32_t bad[] = {1, 99999};
    lt_bytes out = {0};
    LT_CHECK_ERR(lt_tokenizer_decode(tok, bad, 2, 0, &out), LT_ERR_RANGE, "id 99999");
    LT_CHECK_ERR(lt_tokenizer_decode(tok, (const int32_t[]){-1}, 1, 0, &out), LT_ERR_RANGE,
                 "id -1");
    lt_bytes_free(&out);
    lt_tokenizer_free(tok);
}

// ---------------------------------------------------------------- malformed files

// Loads tiny_doc after `edit` and expects an error of `code` containing `needle`.
static void expect_error(void (*edit)(cJSON *doc), lt_code code, const char *needle) {
    cJSON *doc = tiny_doc(false);
    edit(doc);
    lt_tokenizer *tok = NULL;
    LT_CHECK_ERR(load_doc(&tok, doc), code, needle);
    LT_CHECK(tok == NULL);
    cJSON_Delete(doc);
}

static cJSON *model_of(cJSON *doc) { return cJSON_GetObjectItem(doc, "model"); }
static cJSON *vocab_of(cJSON *doc) { return cJSON_GetObjectItem(model_of(doc), "vocab"); }
static cJSON *merges_of(cJSON *doc) { return cJSON_GetObjectItem(model_of(doc), "merges"); }

static void no_model(cJSON *d) { cJSON_DeleteItemFromObject(d, "model"); }
static void model_string(cJSON *d) {
    cJSON_ReplaceItemInObject(d, "model", cJSON_CreateString("BPE"));
}
static void model_unigram(cJSON *d) {
    cJSON_ReplaceItemInObject(model_of(d), "type", cJSON_CreateString("Unigram"));
}
static void no_vocab(cJSON *d) { cJSON_DeleteItemFromObject(model_of(d), "vocab"); }
static void vocab_array(cJSON *d) {
    cJSON_ReplaceItemInObject(model_of(d), "vocab", cJSON_CreateArray());
}
static void no_merges(cJSON *d) { cJSON_DeleteItemFromObject(model_of(d), "merges"); }
static void id_string(cJSON *d) {
    cJSON_ReplaceItemInObject(vocab_of(d), "ab", cJSON_CreateString("256"));
}
static void id_fraction(cJSON *d) {
    cJSON_ReplaceItemInObject(vocab_of(d), "ab", cJSON_CreateNumber(256.5));
}
static void id_huge(cJSON *d) {
    cJSON_ReplaceItemInObject(vocab_of(d), "ab", cJSON_CreateNumber(1e300));
}
static void id_negative(cJSON *d) {
    cJSON_ReplaceItemInObject(vocab_of(d), "ab", cJSON_CreateNumber(-1));
}
static void id_twice(cJSON *d) {
    cJSON_ReplaceItemInObject(vocab_of(d), "ab", cJSON_CreateNumber(257));
}
static void token_twice(cJSON *d) { cJSON_AddNumberToObject(vocab_of(d), "ab", 400); }
static void merge_unknown(cJSON *d) {
    cJSON_AddItemToArray(merges_of(d), cJSON_CreateString("q zz"));
}
static void merge_no_space(cJSON *d) {
    cJSON_AddItemToArray(merges_of(d), cJSON_CreateString("ab"));
}
static void merge_two_spaces(cJSON *d) {
    cJSON_AddItemToArray(merges_of(d), cJSON_CreateString("a b c"));
}
static void merge_number(cJSON *d) { cJSON_AddItemToArray(merges_of(d), cJSON_CreateNumber(3)); }
static void merge_result_missing(cJSON *d) {
    cJSON_AddItemToArray(merges_of(d), cJSON_CreateString("c a"));
}
static void merge_twice(cJSON *d) { cJSON_AddItemToArray(merges_of(d), cJSON_CreateString("a b")); }
static void merges_object(cJSON *d) {
    cJSON_ReplaceItemInObject(model_of(d), "merges", cJSON_CreateObject());
}
static void byte_missing(cJSON *d) { cJSON_DeleteItemFromObject(vocab_of(d), "\xc4\x80"); }
static void added_not_array(cJSON *d) {
    cJSON_ReplaceItemInObject(d, "added_tokens", cJSON_CreateObject());
}
static void added_no_id(cJSON *d) {
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "added_tokens"), 1), "id");
}
static void added_empty(cJSON *d) {
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "added_tokens"), 1),
                              "content", cJSON_CreateString(""));
}
static void added_same_id(cJSON *d) {
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "added_tokens"), 1), "id",
                              cJSON_CreateNumber(300));
}
static void added_special_string(cJSON *d) {
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "added_tokens"), 1),
                              "special", cJSON_CreateString("yes"));
}
static void normalizer(cJSON *d) {
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "type", "NFC");
    cJSON_ReplaceItemInObject(d, "normalizer", n);
}
static void no_pretok(cJSON *d) { cJSON_DeleteItemFromObject(d, "pre_tokenizer"); }
static void pretok_whitespace(cJSON *d) {
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "Whitespace");
    cJSON_ReplaceItemInObject(d, "pre_tokenizer", p);
}
static cJSON *split_of(cJSON *d) {
    return cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(d, "pre_tokenizer"), "pretokenizers"), 0);
}
static void bad_regex(cJSON *d) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(split_of(d), "pattern"), "Regex",
                              cJSON_CreateString("(a"));
}
static void split_removed(cJSON *d) {
    cJSON_ReplaceItemInObject(split_of(d), "behavior", cJSON_CreateString("Removed"));
}
static void dropout(cJSON *d) {
    cJSON_ReplaceItemInObject(model_of(d), "dropout", cJSON_CreateNumber(0.1));
}
static void decoder_wordpiece(cJSON *d) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "decoder"), "type",
                              cJSON_CreateString("WordPiece"));
}

static void test_malformed(void) {
    expect_error(no_model, LT_ERR_FORMAT, "missing field 'model'");
    expect_error(model_string, LT_ERR_FORMAT, "'model' must be an object");
    expect_error(model_unigram, LT_ERR_UNSUPPORTED, "model.type 'Unigram'");
    expect_error(no_vocab, LT_ERR_FORMAT, "missing field 'model.vocab'");
    expect_error(vocab_array, LT_ERR_FORMAT, "model.vocab must be an object");
    expect_error(no_merges, LT_ERR_FORMAT, "missing field 'model.merges'");
    expect_error(merges_object, LT_ERR_FORMAT, "model.merges must be an array");
    expect_error(id_string, LT_ERR_FORMAT, "model.vocab['ab'] must be an integer id");
    expect_error(id_fraction, LT_ERR_FORMAT, "model.vocab['ab'] must be an integer id");
    expect_error(id_huge, LT_ERR_FORMAT, "model.vocab['ab'] must be an integer id");
    expect_error(id_negative, LT_ERR_FORMAT, "model.vocab['ab'] must be an integer id");
    expect_error(id_twice, LT_ERR_FORMAT, "id 257 is used by two tokens");
    expect_error(token_twice, LT_ERR_FORMAT, "repeats the bytes of token 256");
    expect_error(merge_unknown, LT_ERR_FORMAT, "model.merges[7]: 'zz' is not in the vocabulary");
    expect_error(merge_no_space, LT_ERR_FORMAT, "model.merges[7] 'ab' must be two tokens");
    expect_error(merge_two_spaces, LT_ERR_FORMAT, "model.merges[7] 'a b c' must be two tokens");
    expect_error(merge_number, LT_ERR_FORMAT, "model.merges[7] must be a string");
    expect_error(merge_result_missing, LT_ERR_FORMAT, "gives a token the vocabulary lacks");
    expect_error(merge_twice, LT_ERR_FORMAT, "appears twice");
    expect_error(byte_missing, LT_ERR_FORMAT, "no token for byte 0x00");
    expect_error(added_not_array, LT_ERR_FORMAT, "'added_tokens' must be an array");
    expect_error(added_no_id, LT_ERR_FORMAT, "added_tokens[1]: missing field 'id'");
    expect_error(added_empty, LT_ERR_FORMAT, "empty content");
    expect_error(added_same_id, LT_ERR_FORMAT, "id 300 is used by two added tokens");
    expect_error(added_special_string, LT_ERR_FORMAT, "'special'");
    expect_error(normalizer, LT_ERR_UNSUPPORTED, "normalizer 'NFC'");
    expect_error(no_pretok, LT_ERR_UNSUPPORTED, "pre_tokenizer is missing");
    expect_error(pretok_whitespace, LT_ERR_UNSUPPORTED, "found 'Whitespace'");
    expect_error(bad_regex, LT_ERR_FORMAT, "regex does not compile");
    expect_error(split_removed, LT_ERR_UNSUPPORTED, "behavior 'Removed'");
    expect_error(dropout, LT_ERR_UNSUPPORTED, "model.dropout");
    expect_error(decoder_wordpiece, LT_ERR_UNSUPPORTED, "decoder 'WordPiece'");

    lt_tokenizer *tok = NULL;
    LT_CHECK_ERR(lt_tokenizer_from_json(&tok, "{\"model\": ", 10, "cut.json"), LT_ERR_FORMAT,
                 "cut.json: invalid JSON");
    LT_CHECK_ERR(lt_tokenizer_from_json(&tok, "[1, 2]", 6, "list.json"), LT_ERR_FORMAT,
                 "list.json: must be a JSON object");
    LT_CHECK_ERR(lt_tokenizer_load(&tok, "/nonexistent/tokenizer.json"), LT_ERR_IO,
                 "/nonexistent/tokenizer.json: no such file");
    const char *dir = lt_test_tmpdir(); // a directory without tokenizer.json
    LT_CHECK_ERR(lt_tokenizer_load(&tok, dir), LT_ERR_IO, "tokenizer.json: cannot open");
}

static void test_regex_rewrite(void) {
    char *out = NULL;
    LT_CHECK_OK(lt_pretok_rewrite("a\\sb", &out));
    LT_CHECK_STR(out, "a[\\t-\\r\\x{85}\\p{Z}]b");
    lt_free(out);
    LT_CHECK_OK(lt_pretok_rewrite("[^\\s\\d]\\\\s", &out)); // an escaped backslash stays
    LT_CHECK_STR(out, "[^\\t-\\r\\x{85}\\p{Z}\\d]\\\\s");
    lt_free(out);
    LT_CHECK_ERR(lt_pretok_rewrite("[\\S]", &out), LT_ERR_UNSUPPORTED, "\\S inside");
    LT_CHECK_ERR(lt_pretok_rewrite("[a[b]]", &out), LT_ERR_UNSUPPORTED, "nested");
    LT_CHECK_ERR(lt_pretok_rewrite("[ab", &out), LT_ERR_FORMAT, "unterminated");
    LT_CHECK_ERR(lt_pretok_rewrite("ab\\", &out), LT_ERR_FORMAT, "lone backslash");
}

int main(void) {
    LT_RUN(test_bytelevel_alphabet);
    LT_RUN(test_utf8);
    LT_RUN(test_merge_order);
    LT_RUN(test_ignore_merges);
    LT_RUN(test_added_tokens);
    LT_RUN(test_invalid_utf8);
    LT_RUN(test_random_roundtrip);
    LT_RUN(test_heap_matches_linear);
    LT_RUN(test_verbatim_vocab_entry);
    LT_RUN(test_gpt2_bytelevel_pretokenizer);
    LT_RUN(test_save_load);
    LT_RUN(test_config);
    LT_RUN(test_malformed);
    LT_RUN(test_regex_rewrite);
    return lt_test_finish();
}
