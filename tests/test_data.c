// test_data.c: token shards, tokenizing corpora, the blended loader and its
// cursor, and the validation iterator. Expectations come from outside the code
// under test: the shard's bytes are decoded here from the spec in docs/DATA.md
// (with this file's own FNV-1a, checked against the published test vectors),
// tokens are compared with the tokenizer's direct output, windows are checked
// on shards whose token ids equal their positions, and blend proportions
// against binomial bounds.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lathe/data.h"
#include "lathe/tokenizer.h"
#include "lt_test.h"

static char tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[8][512];
    static int next = 0;
    char *b = buf[next++ & 7];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
    return b;
}

// ---------------------------------------------------------------- independent helpers

// FNV-1a 64 as its authors define it (offset basis 0xcbf29ce484222325, prime 2^40 + 0x1b3).
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

// docs/DATA.md: the checksum covers bytes [64, end) and then [0, 56).
static uint64_t spec_checksum(const uint8_t *file, size_t size) {
    return fnv(fnv(0xcbf29ce484222325ull, file + 64, size - 64), file, 56);
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    *size = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void spit_str(const char *path, const char *text) { spit(path, text, strlen(text)); }

// Writes a shard of the given documents (lens[d] ids each, all from `ids`).
static void write_shard(const char *path, int64_t vocab, const int32_t *ids, const size_t *lens,
                        int n_docs, int32_t bos, int32_t eos) {
    lt_shard_writer *w = NULL;
    LT_CHECK_OK(lt_shard_writer_open(&w, path, vocab, bos, eos));
    if (!w) return;
    for (int d = 0; d < n_docs; d++) {
        LT_CHECK_OK(lt_shard_writer_add(w, ids, lens[d], 3 * lens[d]));
        ids += lens[d];
    }
    LT_CHECK_OK(lt_shard_writer_commit(w));
}

// A shard whose token i is the id i (vocab 65536), cut into documents of the given lengths.
static void write_index_shard(const char *path, const size_t *lens, int n_docs) {
    size_t n = 0;
    for (int d = 0; d < n_docs; d++) n += lens[d];
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)i;
    write_shard(path, 65536, ids, lens, n_docs, -1, -1);
    free(ids);
}

// ---------------------------------------------------------------- shard format

static void test_fnv_vectors(void) {
    // Published FNV-1a 64 test vectors (the FNV authors' test suite).
    LT_CHECK(fnv(0xcbf29ce484222325ull, (const uint8_t *)"", 0) == 0xcbf29ce484222325ull);
    LT_CHECK(fnv(0xcbf29ce484222325ull, (const uint8_t *)"a", 1) == 0xaf63dc4c8601ec8cull);
    LT_CHECK(fnv(0xcbf29ce484222325ull, (const uint8_t *)"foobar", 6) == 0x85944171f73967e8ull);
}

// Writes random documents, then checks the file byte by byte against the spec
// and the reader against what was written.
static void roundtrip(int64_t vocab, uint32_t want_bytes, const char *name) {
    const char *path = tmp_path(name);
    enum { N_DOCS = 37 };
    size_t lens[N_DOCS], n = 0;
    lt_rng rng;
    lt_rng_seed(&rng, (uint64_t)vocab);
    for (int d = 0; d < N_DOCS; d++) n += lens[d] = 1 + lt_rng_below(&rng, 50);
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)lt_rng_below(&rng, (uint32_t)vocab);
    ids[0] = (int32_t)vocab - 1; // the largest id survives
    if (vocab > 65536) ids[1] = 65536, ids[2] = 65535;
    write_shard(path, vocab, ids, lens, N_DOCS, 1, 2);

    size_t size;
    uint8_t *file = slurp(path, &size);
    size_t token_area = n * want_bytes, pad = (8 - token_area % 8) % 8;
    LT_CHECK_INT(size, 64 + token_area + pad + 8 * (N_DOCS + 1));
    LT_CHECK(memcmp(file, "LATHETOK", 8) == 0);
    LT_CHECK_INT(get_u32(file + 8), 1);
    LT_CHECK_INT(get_u32(file + 12), want_bytes);
    LT_CHECK_INT(get_u32(file + 16), vocab);
    LT_CHECK_INT(get_u32(file + 20), 1);
    LT_CHECK_INT(get_u32(file + 24), 2);
    LT_CHECK_INT(get_u32(file + 28), 0);
    LT_CHECK_INT(get_u64(file + 32), n);
    LT_CHECK_INT(get_u64(file + 40), N_DOCS);
    LT_CHECK_INT(get_u64(file + 48), 3 * n);
    LT_CHECK(get_u64(file + 56) == spec_checksum(file, size));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = file + 64 + i * want_bytes;
        uint32_t v = want_bytes == 2 ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : get_u32(p);
        LT_CHECK_MSG(v == (uint32_t)ids[i], "token %zu: %u in the file, %d written", i, v, ids[i]);
    }
    for (size_t i = 0; i < pad; i++) LT_CHECK_INT(file[64 + token_area + i], 0);
    const uint8_t *table = file + 64 + token_area + pad;
    size_t start = 0;
    for (int d = 0; d <= N_DOCS; d++) {
        LT_CHECK_INT(get_u64(table + 8 * d), start);
        if (d < N_DOCS) start += lens[d];
    }

    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, path));
    if (s) {
        const lt_shard_info *in = lt_shard_get_info(s);
        LT_CHECK_INT(in->token_bytes, want_bytes);
        LT_CHECK_INT(in->vocab, vocab);
        LT_CHECK_INT(in->n_tokens, n);
        LT_CHECK_INT(in->n_docs, N_DOCS);
        LT_CHECK_INT(in->n_text_bytes, 3 * n);
        LT_CHECK_INT(in->bos, 1);
        LT_CHECK_INT(in->eos, 2);
        int32_t *back = malloc(n * sizeof *back);
        LT_CHECK_OK(lt_shard_read(s, 0, n, back));
        LT_CHECK(memcmp(back, ids, n * sizeof *ids) == 0);
        LT_CHECK_ERR(lt_shard_read(s, 1, n, back), LT_ERR_RANGE, "past the end");
        size_t doc = 0, doc_start = 0;
        for (size_t i = 0; i < n; i++) {
            if (i == doc_start + lens[doc]) doc_start += lens[doc++];
            LT_CHECK_INT(lt_shard_doc_of(s, i), doc);
            LT_CHECK_INT(lt_shard_token(s, i), ids[i]);
        }
        free(back);
    }
    lt_shard_close(s);
    free(file);
    free(ids);
}

static void test_roundtrip_uint16(void) { roundtrip(512, 2, "u16.bin"); }
static void test_roundtrip_uint32(void) { roundtrip(100000, 4, "u32.bin"); }
static void test_roundtrip_vocab_65536(void) { roundtrip(65536, 2, "u16max.bin"); }
static void test_roundtrip_vocab_65537(void) { roundtrip(65537, 4, "u32min.bin"); }

static void test_token_bytes_rule(void) {
    LT_CHECK_INT(lt_shard_token_bytes(2), 2);
    LT_CHECK_INT(lt_shard_token_bytes(65536), 2);
    LT_CHECK_INT(lt_shard_token_bytes(65537), 4);
    LT_CHECK_INT(lt_shard_token_bytes(128256), 4);
}

static bool dir_has_temp(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", tmp);
    return system(cmd) == 0;
}

static void test_writer_errors(void) {
    const char *path = tmp_path("bad-writer.bin");
    lt_shard_writer *w = NULL;
    LT_CHECK_ERR(lt_shard_writer_open(&w, path, 0, -1, -1), LT_ERR_ARG, "vocab size 0");
    LT_CHECK_ERR(lt_shard_writer_open(&w, path, 10, 10, -1), LT_ERR_ARG, "BOS 10");
    LT_CHECK_OK(lt_shard_writer_open(&w, path, 10, -1, -1));
    int32_t big[2] = {3, 10}, neg[1] = {-1}, ok[2] = {9, 0};
    LT_CHECK_ERR(lt_shard_writer_add(w, big, 2, 2), LT_ERR_RANGE,
                 "token 1: id 10 is outside [0, 10)");
    LT_CHECK_ERR(lt_shard_writer_add(w, neg, 1, 1), LT_ERR_RANGE, "id -1");
    LT_CHECK_ERR(lt_shard_writer_add(w, ok, 0, 0), LT_ERR_ARG, "document 0 is empty");
    LT_CHECK_OK(lt_shard_writer_add(w, ok, 2, 2));
    LT_CHECK(dir_has_temp());
    lt_shard_writer_abort(w);
    LT_CHECK(!lt_path_exists(path));
    LT_CHECK(!dir_has_temp());
}

static void test_empty_shard(void) {
    const char *path = tmp_path("empty.bin");
    write_shard(path, 16, NULL, NULL, 0, -1, -1);
    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, path));
    if (s) LT_CHECK_INT(lt_shard_get_info(s)->n_tokens, 0);
    lt_shard_close(s);
    size_t size;
    free(slurp(path, &size));
    LT_CHECK_INT(size, 64 + 8);
}

// ---------------------------------------------------------------- corruption

// A valid shard (vocab 512, uint16) in memory: 3 documents of 3, 2, 4 tokens.
// Token area 18 bytes + 6 padding, document table (4 entries) at byte 88, 120 bytes in all.
static uint8_t *good_shard(size_t *size) {
    const char *path = tmp_path("good.bin");
    int32_t ids[9] = {1, 5, 7, 1, 9, 1, 300, 511, 2};
    size_t lens[3] = {3, 2, 4};
    write_shard(path, 512, ids, lens, 3, 1, 2);
    return slurp(path, size);
}

static void refresh_checksum(uint8_t *file, size_t size) {
    put_u64(file + 56, spec_checksum(file, size));
}

// Writes the bytes to name and expects opening to fail with `code`, a message
// containing `needle`, and the path named.
static void expect_corrupt(const char *name, const uint8_t *file, size_t size, lt_code code,
                           const char *needle) {
    const char *path = tmp_path(name);
    spit(path, file, size);
    lt_shard *s = NULL;
    lt_status st = lt_shard_open(&s, path);
    LT_CHECK_MSG(st != NULL, "%s opened, expected '%s'", name, needle);
    if (st) {
        const char *msg = lt_status_message(st);
        LT_CHECK_MSG(lt_status_code(st) == code, "%s: code %s for '%s'", name,
                     lt_code_name(lt_status_code(st)), msg);
        LT_CHECK_MSG(strstr(msg, needle) != NULL, "%s: '%s' lacks '%s'", name, msg, needle);
        LT_CHECK_MSG(strstr(msg, path) != NULL, "%s: '%s' does not name the file", name, msg);
    }
    LT_CHECK(s == NULL);
    lt_status_free(st);
    lt_shard_close(s);
}

static void test_good_shard_layout(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    LT_CHECK_INT(size, 120);
    LT_CHECK_INT(get_u64(f + 88), 0);
    LT_CHECK_INT(get_u64(f + 96), 3);
    LT_CHECK_INT(get_u64(f + 104), 5);
    LT_CHECK_INT(get_u64(f + 112), 9);
    free(f);
}

static void test_corrupt_missing_file(void) {
    lt_shard *s = NULL;
    LT_CHECK_ERR(lt_shard_open(&s, tmp_path("nope.bin")), LT_ERR_IO, "nope.bin: cannot open");
}

static void test_corrupt_empty_file(void) {
    expect_corrupt("c-empty.bin", (const uint8_t *)"", 0, LT_ERR_FORMAT, "truncated: 0 bytes");
}

static void test_corrupt_short_header(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    expect_corrupt("c-short.bin", f, 40, LT_ERR_FORMAT,
                   "truncated: 40 bytes, shorter than the 64-byte header");
    free(f);
}

static void test_corrupt_bad_magic(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    f[0] = 'X';
    expect_corrupt("c-magic.bin", f, size, LT_ERR_FORMAT, "bad magic");
    expect_corrupt("c-text.bin", (const uint8_t *)"hello world, not a shard at all", 31,
                   LT_ERR_FORMAT, "bad magic");
    free(f);
}

static void test_corrupt_version(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 8, 2);
    refresh_checksum(f, size);
    expect_corrupt("c-version.bin", f, size, LT_ERR_UNSUPPORTED, "shard format version 2");
    free(f);
}

static void test_corrupt_token_width(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 12, 3);
    refresh_checksum(f, size);
    expect_corrupt("c-width.bin", f, size, LT_ERR_FORMAT, "token width 3 bytes");
    free(f);
}

static void test_corrupt_width_vocab_mismatch(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 16, 70000); // uint16 tokens cannot hold a 70000-id vocabulary
    refresh_checksum(f, size);
    expect_corrupt("c-widthvocab.bin", f, size, LT_ERR_FORMAT,
                   "2-byte tokens do not match vocab size 70000");
    free(f);
}

static void test_corrupt_vocab_zero(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 16, 0);
    refresh_checksum(f, size);
    expect_corrupt("c-vocab0.bin", f, size, LT_ERR_FORMAT, "vocab size 0");
    free(f);
}

static void test_corrupt_reserved(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 28, 1);
    refresh_checksum(f, size);
    expect_corrupt("c-reserved.bin", f, size, LT_ERR_FORMAT, "reserved header field");
    free(f);
}

static void test_corrupt_bos_range(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u32(f + 20, 512);
    refresh_checksum(f, size);
    expect_corrupt("c-bos.bin", f, size, LT_ERR_FORMAT, "BOS id 512");
    free(f);
}

static void test_corrupt_truncated_payload(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    expect_corrupt("c-trunc.bin", f, size - 8, LT_ERR_FORMAT,
                   "truncated: 112 bytes, the header promises 120 (9 tokens, 3 documents)");
    expect_corrupt("c-trunc2.bin", f, 70, LT_ERR_FORMAT, "truncated: 70 bytes");
    free(f);
}

static void test_corrupt_trailing_bytes(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    uint8_t *g = calloc(size + 5, 1);
    memcpy(g, f, size);
    expect_corrupt("c-trailing.bin", g, size + 5, LT_ERR_FORMAT,
                   "5 unexpected bytes after the document table");
    free(g);
    free(f);
}

static void test_corrupt_huge_counts(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 32, UINT64_MAX / 2);
    expect_corrupt("c-huge.bin", f, size, LT_ERR_FORMAT, "impossibly many");
    free(f);
}

static void test_corrupt_checksum_token_flip(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    f[64 + 2] ^= 0x01; // token 1: 5 -> 4, still a valid id
    expect_corrupt("c-flip.bin", f, size, LT_ERR_FORMAT, "checksum mismatch");
    free(f);
}

static void test_corrupt_checksum_header_field(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 48, 12345); // text bytes: only the checksum can tell
    expect_corrupt("c-hdr.bin", f, size, LT_ERR_FORMAT, "checksum mismatch");
    free(f);
}

static void test_corrupt_checksum_field(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    f[60] ^= 0x80;
    expect_corrupt("c-sum.bin", f, size, LT_ERR_FORMAT, "checksum mismatch");
    free(f);
}

static void test_corrupt_token_out_of_vocab(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    f[64 + 2 * 6] = 600 & 0xff; // token 6 (document 2): 300 -> 600
    f[64 + 2 * 6 + 1] = 600 >> 8;
    refresh_checksum(f, size);
    expect_corrupt("c-oov.bin", f, size, LT_ERR_FORMAT,
                   "token 6 (document 2) is id 600, not below the vocab size 512");
    free(f);
}

static void test_corrupt_docs_not_increasing(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 104, 3); // document 2 starts where document 1 does
    refresh_checksum(f, size);
    expect_corrupt("c-order.bin", f, size, LT_ERR_FORMAT, "document table not increasing");
    free(f);
}

static void test_corrupt_docs_out_of_range(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 104, 50);
    refresh_checksum(f, size);
    expect_corrupt("c-range.bin", f, size, LT_ERR_FORMAT,
                   "document 2 is at token 50, past the 9 tokens");
    free(f);
}

static void test_corrupt_docs_first_not_zero(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 88, 1);
    refresh_checksum(f, size);
    expect_corrupt("c-first.bin", f, size, LT_ERR_FORMAT, "document 0 starts at token 1");
    free(f);
}

static void test_corrupt_docs_end_marker(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    put_u64(f + 112, 8); // the end marker must be n_tokens = 9
    refresh_checksum(f, size);
    expect_corrupt("c-end.bin", f, size, LT_ERR_FORMAT, "document table ends at token 8");
    free(f);
}

static void test_corrupt_padding(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    f[64 + 18] = 7;
    refresh_checksum(f, size);
    expect_corrupt("c-pad.bin", f, size, LT_ERR_FORMAT, "padding after the tokens is not zero");
    free(f);
}

static void test_vocab_check(void) {
    size_t size;
    uint8_t *f = good_shard(&size);
    free(f);
    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, tmp_path("good.bin")));
    if (!s) return;
    LT_CHECK_OK(lt_shard_check_vocab(s, 512));
    LT_CHECK_OK(lt_shard_check_vocab(s, 1024));
    LT_CHECK_ERR(lt_shard_check_vocab(s, 256), LT_ERR_RANGE,
                 "good.bin: tokens come from a vocabulary of 512 ids but the model has 256");
    lt_shard_close(s);
}

// ---------------------------------------------------------------- tokenize

static lt_tokenizer *tiny_tok; // trained once on the bundled Moby-Dick chapters

static void train_tiny_tokenizer(void) {
    char *text = NULL;
    size_t n = 0;
    LT_CHECK_OK(lt_file_read_all(lt_test_path("data/moby-dick-1-4.txt"), &text, &n, 1 << 20));
    lt_bpe_train_opts o = {.vocab_size = 300};
    lt_bpe_trainer *tr = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &o));
    if (tr && text) LT_CHECK_OK(lt_bpe_trainer_feed(tr, text, n));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tiny_tok));
    lt_bpe_trainer_free(tr);
    lt_free(text);
    LT_CHECK(tiny_tok && lt_tokenizer_bos(tiny_tok) >= 0 && lt_tokenizer_eos(tiny_tok) >= 0);
}

// The ids a document should have: BOS + encode(text as plain text) + EOS.
static void expected_doc(const char *text, lt_ids *out) {
    out->n = 0;
    LT_CHECK_OK(lt_ids_push(out, lt_tokenizer_bos(tiny_tok)));
    LT_CHECK_OK(lt_tokenizer_encode(tiny_tok, text, strlen(text), LT_ENCODE_NO_SPECIAL, out));
    LT_CHECK_OK(lt_ids_push(out, lt_tokenizer_eos(tiny_tok)));
}

// Checks that the shard at path holds exactly these documents, in order.
static void expect_docs(const char *path, const char *const *docs, int n_docs) {
    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, path));
    if (!s) return;
    const lt_shard_info *in = lt_shard_get_info(s);
    LT_CHECK_INT(in->n_docs, n_docs);
    LT_CHECK_INT(in->vocab, lt_tokenizer_n_vocab(tiny_tok));
    LT_CHECK_INT(in->bos, lt_tokenizer_bos(tiny_tok));
    LT_CHECK_INT(in->eos, lt_tokenizer_eos(tiny_tok));
    lt_ids want = {0};
    uint64_t bytes = 0;
    for (int d = 0; d < n_docs && (uint64_t)d < in->n_docs; d++) {
        expected_doc(docs[d], &want);
        bytes += strlen(docs[d]);
        uint64_t a = lt_shard_doc_start(s, (uint64_t)d), b = lt_shard_doc_start(s, (uint64_t)d + 1);
        LT_CHECK_MSG(b - a == want.n, "document %d: %llu tokens, expected %zu", d,
                     (unsigned long long)(b - a), want.n);
        for (uint64_t i = a; i < b && i - a < want.n; i++)
            LT_CHECK_MSG(lt_shard_token(s, i) == want.data[i - a], "document %d token %llu", d,
                         (unsigned long long)(i - a));
    }
    LT_CHECK_INT(in->n_text_bytes, bytes);
    lt_ids_free(&want);
    lt_shard_close(s);
}

static lt_tokenize_opts tok_opts(const char *const *inputs, int n, const char *out) {
    lt_tokenize_opts o = {.tokenizer = tiny_tok, .inputs = inputs, .n_inputs = n, .out_path = out};
    return o;
}

static void test_tokenize_files(void) {
    const char *a = tmp_path("a.txt"), *b = tmp_path("b.txt"), *e = tmp_path("e.txt");
    spit_str(a, "Call me Ishmael.\nSome years ago\n");
    spit_str(b, "never mind how long precisely");
    spit_str(e, "");
    const char *inputs[3] = {a, e, b};
    lt_tokenize_opts o = tok_opts(inputs, 3, tmp_path("files.bin"));
    lt_tokenize_stats st;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs[2] = {"Call me Ishmael.\nSome years ago\n", "never mind how long precisely"};
    expect_docs(o.out_path, docs, 2);
    LT_CHECK_INT(st.train.n_docs, 2);
    LT_CHECK_INT(st.n_empty, 1);
    LT_CHECK_INT(st.n_input_bytes, strlen(docs[0]) + strlen(docs[1]));
    LT_CHECK_INT(st.train.n_text_bytes, strlen(docs[0]) + strlen(docs[1]));
}

static void test_tokenize_split_lines(void) {
    const char *a = tmp_path("lines.txt");
    spit_str(a, "first line\n\nsecond, with CRLF\r\n  \nlast without newline");
    const char *inputs[1] = {a};
    lt_tokenize_opts o = tok_opts(inputs, 1, tmp_path("lines.bin"));
    o.split = LT_SPLIT_LINE;
    lt_tokenize_stats st;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs[4] = {"first line", "second, with CRLF", "  ", "last without newline"};
    expect_docs(o.out_path, docs, 4);
    LT_CHECK_INT(st.n_empty, 1);
}

static void test_tokenize_split_blank(void) {
    const char *a = tmp_path("paras.txt");
    spit_str(a, "\n\npara one\nstill one\n\n \t\n\r\npara two\r\n\nthree\n");
    const char *inputs[1] = {a};
    lt_tokenize_opts o = tok_opts(inputs, 1, tmp_path("paras.bin"));
    o.split = LT_SPLIT_BLANK;
    lt_tokenize_stats st;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs[3] = {"para one\nstill one", "para two", "three"};
    expect_docs(o.out_path, docs, 3);
    lt_text_split sp;
    LT_CHECK_OK(lt_text_split_parse("blank", &sp));
    LT_CHECK_INT(sp, LT_SPLIT_BLANK);
    LT_CHECK_ERR(lt_text_split_parse("para", &sp), LT_ERR_ARG, "expected file, line or blank");
}

static void test_tokenize_jsonl(void) {
    const char *a = tmp_path("docs.jsonl");
    spit_str(a, "{\"text\": \"It is a way I have\", \"id\": 1}\n"
                "\n"
                "  {\"meta\": {\"x\": [1,2]}, \"text\": \"caf\\u00e9 \\\"quoted\\\"\\nnext\"}  \r\n"
                "{\"text\": \"\"}\n"
                "{\"text\": \"no newline at the end\"}");
    const char *inputs[1] = {a};
    lt_tokenize_opts o = tok_opts(inputs, 1, tmp_path("jsonl.bin"));
    lt_tokenize_stats st;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs[3] = {"It is a way I have", "caf\xc3\xa9 \"quoted\"\nnext",
                           "no newline at the end"};
    expect_docs(o.out_path, docs, 3);
    LT_CHECK_INT(st.n_empty, 1);

    const char *b = tmp_path("content.jsonl");
    spit_str(b, "{\"content\": \"other key\", \"text\": 5}\n");
    const char *in_b[1] = {b};
    o = tok_opts(in_b, 1, tmp_path("content.bin"));
    o.text_key = "content";
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs_b[1] = {"other key"};
    expect_docs(o.out_path, docs_b, 1);
}

// A JSONL input whose line 3 is bad must fail naming file and line, and write nothing.
static void expect_jsonl_error(const char *name, const char *bad_line, const char *needle) {
    const char *in = tmp_path(name);
    char text[512];
    snprintf(text, sizeof text,
             "{\"text\": \"fine\"}\n{\"text\": \"also fine\"}\n%s\n{\"text\": \"x\"}\n", bad_line);
    spit_str(in, text);
    const char *inputs[1] = {in};
    const char *out = tmp_path("jsonl-err.bin"), *val = tmp_path("jsonl-err.val.bin");
    lt_tokenize_opts o = tok_opts(inputs, 1, out);
    o.val_path = val;
    o.val_fraction = 0.5;
    lt_tokenize_stats st;
    char want[600];
    snprintf(want, sizeof want, "%s:3: %s", in, needle);
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_FORMAT, want);
    LT_CHECK(!lt_path_exists(out));
    LT_CHECK(!lt_path_exists(val));
    LT_CHECK(!dir_has_temp());
}

static void test_jsonl_invalid_json(void) {
    expect_jsonl_error("bad1.jsonl", "{\"text\": \"unterminated}", "invalid JSON");
}
static void test_jsonl_trailing_garbage(void) {
    expect_jsonl_error("bad2.jsonl", "{\"text\": \"a\"} {\"text\": \"b\"}",
                       "invalid JSON near column 15");
}
static void test_jsonl_not_object(void) {
    expect_jsonl_error("bad3.jsonl", "[\"text\", \"a\"]", "expected a JSON object");
}
static void test_jsonl_missing_field(void) {
    expect_jsonl_error("bad4.jsonl", "{\"txt\": \"a\"}", "no field 'text'");
}
static void test_jsonl_not_string(void) {
    expect_jsonl_error("bad5.jsonl", "{\"text\": [\"a\"]}", "field 'text' is not a string");
}
static void test_jsonl_null_field(void) {
    expect_jsonl_error("bad6.jsonl", "{\"text\": null}", "field 'text' is not a string");
}

static void test_tokenize_special_text(void) {
    const char *a = tmp_path("special.txt");
    spit_str(a, "a <|end_of_text|> b");
    const char *inputs[1] = {a};
    lt_tokenize_opts o = tok_opts(inputs, 1, tmp_path("special.bin"));
    lt_tokenize_stats st;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    const char *docs[1] = {"a <|end_of_text|> b"};
    expect_docs(o.out_path, docs, 1); // plain text: no EOS id inside the document
    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, o.out_path));
    int eos_count = 0;
    for (uint64_t i = 0; s && i < lt_shard_get_info(s)->n_tokens; i++)
        eos_count += lt_shard_token(s, i) == lt_tokenizer_eos(tiny_tok);
    LT_CHECK_INT(eos_count, 1);
    lt_shard_close(s);
    o.allow_special = true;
    LT_CHECK_OK(lt_data_tokenize(&o, &st));
    LT_CHECK_OK(lt_shard_open(&s, o.out_path));
    eos_count = 0;
    for (uint64_t i = 0; s && i < lt_shard_get_info(s)->n_tokens; i++)
        eos_count += lt_shard_token(s, i) == lt_tokenizer_eos(tiny_tok);
    LT_CHECK_INT(eos_count, 2);
    lt_shard_close(s);
}

// Writes n numbered one-line documents, in forward or reverse order.
static void numbered_lines(const char *path, int n, bool reverse) {
    FILE *f = fopen(path, "w");
    for (int k = 0; k < n; k++) fprintf(f, "document number %d\n", reverse ? n - 1 - k : k);
    fclose(f);
}

static void test_tokenize_val_split(void) {
    const char *fwd = tmp_path("numbered.txt"), *rev = tmp_path("numbered-rev.txt");
    numbered_lines(fwd, 400, false);
    numbered_lines(rev, 400, true);
    lt_tokenize_stats a, b, c;
    const char *in_fwd[1] = {fwd}, *in_rev[1] = {rev};
    lt_tokenize_opts o = tok_opts(in_fwd, 1, tmp_path("split.bin"));
    o.split = LT_SPLIT_LINE;
    o.val_fraction = 0.25;
    o.val_path = tmp_path("split.val.bin");
    o.seed = 7;
    LT_CHECK_OK(lt_data_tokenize(&o, &a));
    // Binomial(400, 0.25): mean 100, sd 8.66; 5 sd either side.
    LT_CHECK_MSG(a.val.n_docs >= 57 && a.val.n_docs <= 143, "%llu held out of 400",
                 (unsigned long long)a.val.n_docs);
    LT_CHECK_INT(a.train.n_docs + a.val.n_docs, 400);
    size_t total_bytes = 0;
    char line[64];
    for (int k = 0; k < 400; k++)
        total_bytes += (size_t)snprintf(line, sizeof line, "document number %d", k);
    LT_CHECK_INT(a.train.n_text_bytes + a.val.n_text_bytes, total_bytes);
    // The same documents are held out whatever the input order.
    o.inputs = in_rev;
    o.out_path = tmp_path("split-rev.bin");
    o.val_path = tmp_path("split-rev.val.bin");
    LT_CHECK_OK(lt_data_tokenize(&o, &b));
    LT_CHECK_INT(b.val.n_docs, a.val.n_docs);
    LT_CHECK_INT(b.val.n_tokens, a.val.n_tokens);
    LT_CHECK_INT(b.val.n_text_bytes, a.val.n_text_bytes);
    // ... and each held-out document is found, tokens equal, in the other run's val shard.
    lt_shard *sa = NULL, *sb = NULL;
    LT_CHECK_OK(lt_shard_open(&sa, tmp_path("split.val.bin")));
    LT_CHECK_OK(lt_shard_open(&sb, o.val_path));
    if (sa && sb) {
        uint64_t n = lt_shard_get_info(sa)->n_docs;
        int matched = 0;
        for (uint64_t d = 0; d < n; d++) {
            uint64_t a0 = lt_shard_doc_start(sa, d), a1 = lt_shard_doc_start(sa, d + 1);
            uint64_t e = n - 1 - d; // reversed input, reversed order
            uint64_t b0 = lt_shard_doc_start(sb, e), b1 = lt_shard_doc_start(sb, e + 1);
            bool same = a1 - a0 == b1 - b0;
            for (uint64_t i = 0; same && i < a1 - a0; i++)
                same = lt_shard_token(sa, a0 + i) == lt_shard_token(sb, b0 + i);
            matched += same;
        }
        LT_CHECK_INT(matched, n);
    }
    lt_shard_close(sa);
    lt_shard_close(sb);
    // Another seed holds out another set.
    o.seed = 8;
    o.out_path = tmp_path("split-8.bin");
    o.val_path = tmp_path("split-8.val.bin");
    LT_CHECK_OK(lt_data_tokenize(&o, &c));
    LT_CHECK(c.val.n_tokens != a.val.n_tokens || c.val.n_docs != a.val.n_docs);
}

static void test_tokenize_errors(void) {
    const char *a = tmp_path("one.txt");
    spit_str(a, "just one document");
    const char *inputs[2] = {a, tmp_path("missing.txt")};
    lt_tokenize_stats st;
    lt_tokenize_opts o = tok_opts(inputs, 2, tmp_path("err.bin"));
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_IO, "missing.txt: no such input file");
    o.n_inputs = 0;
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "no input files");
    o.n_inputs = 1;
    o.val_fraction = 1.0;
    o.val_path = tmp_path("err.val.bin");
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "--val-fraction 1 must be in [0, 1)");
    o.val_fraction = 0.5;
    o.val_path = NULL;
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "needs a validation shard path");
    o.val_path = o.out_path;
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "are the same file");
    o.val_path = tmp_path("err.val.bin");
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG,
                 "put all of the 1 documents in the validation shard");
    o.val_fraction = 0.001;
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "put none of the 1 documents");
    LT_CHECK(!lt_path_exists(o.out_path) && !lt_path_exists(o.val_path));
    const char *e = tmp_path("blank.txt");
    spit_str(e, "\n\n");
    const char *in_e[1] = {e};
    o = tok_opts(in_e, 1, tmp_path("err.bin"));
    o.split = LT_SPLIT_LINE;
    LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "hold no documents (2 empty ones skipped)");
    LT_CHECK(!lt_path_exists(o.out_path));

    // A tokenizer without BOS/EOS cannot mark documents.
    const char *const specials[1] = {"<x>"};
    lt_bpe_train_opts to = {.vocab_size = 270, .specials = specials, .n_specials = 1};
    lt_bpe_trainer *tr = NULL;
    lt_tokenizer *nobos = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &to));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_feed(tr, "abc abd", 7));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &nobos));
    lt_bpe_trainer_free(tr);
    o = tok_opts(inputs, 1, tmp_path("err.bin"));
    o.tokenizer = nobos;
    if (nobos)
        LT_CHECK_ERR(lt_data_tokenize(&o, &st), LT_ERR_ARG, "the tokenizer has no BOS token");
    lt_tokenizer_free(nobos);
}

// ---------------------------------------------------------------- --data specs

static void test_spec_parse(void) {
    char *p = NULL;
    double w = 0;
    LT_CHECK_OK(lt_data_spec_parse("domain.bin:0.9", &p, &w));
    LT_CHECK_STR(p, "domain.bin");
    LT_CHECK(w == 0.9);
    lt_free(p);
    LT_CHECK_OK(lt_data_spec_parse("general.bin", &p, &w));
    LT_CHECK_STR(p, "general.bin");
    LT_CHECK(w == 1.0);
    lt_free(p);
    LT_CHECK_OK(lt_data_spec_parse("dir:v2/x.bin:2.5e-1", &p, &w));
    LT_CHECK_STR(p, "dir:v2/x.bin");
    LT_CHECK(w == 0.25);
    lt_free(p);
    const char *odd = tmp_path("odd:name.bin"); // an existing file whose name has a colon
    spit_str(odd, "x");
    LT_CHECK_OK(lt_data_spec_parse(odd, &p, &w));
    LT_CHECK_STR(p, odd);
    LT_CHECK(w == 1.0);
    lt_free(p);
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:", &p, &w), LT_ERR_ARG,
                 "'a.bin:': the weight after ':' is empty");
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:abc", &p, &w), LT_ERR_ARG,
                 "weight 'abc' is not a number");
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:0", &p, &w), LT_ERR_ARG,
                 "weight 0 must be a finite number above 0");
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:-1", &p, &w), LT_ERR_ARG, "weight -1 must be");
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:inf", &p, &w), LT_ERR_ARG, "weight inf must be");
    LT_CHECK_ERR(lt_data_spec_parse("a.bin:nan", &p, &w), LT_ERR_ARG, "weight nan must be");
    LT_CHECK_ERR(lt_data_spec_parse(":0.5", &p, &w), LT_ERR_ARG, "the path before ':' is empty");
    LT_CHECK_ERR(lt_data_spec_parse("", &p, &w), LT_ERR_ARG, "--data needs PATH");
    LT_CHECK(p == NULL);
}

// ---------------------------------------------------------------- loader

// Documents of lengths 5, 1, 40, 7, 120, ... (varied, some shorter than T).
static const size_t index_lens[] = {5, 1, 40, 7, 120, 33, 2, 300, 64, 17, 250, 9, 160, 3, 500, 11};
enum { N_INDEX_DOCS = sizeof index_lens / sizeof index_lens[0], INDEX_TOKENS = 1522 };

static lt_loader *open_loader(const char *const *paths, const double *weights, int n, int64_t B,
                              int64_t T, uint64_t seed) {
    lt_loader_opts o = {
        .paths = paths, .weights = weights, .n_sources = n, .B = B, .T = T, .seed = seed};
    lt_loader *l = NULL;
    LT_CHECK_OK(lt_loader_open(&l, &o));
    return l;
}

// Documents containing token i, from the test's own table.
static uint64_t index_doc_start(uint64_t i) {
    uint64_t start = 0;
    for (int d = 0; d < N_INDEX_DOCS; d++) {
        if (i < start + index_lens[d]) return start;
        start += index_lens[d];
    }
    return start;
}

static void test_loader_windows(void) {
    const char *path = tmp_path("index.bin");
    write_index_shard(path, index_lens, N_INDEX_DOCS);
    enum { B = 3, T = 16 };
    lt_loader *l = open_loader(&path, NULL, 1, B, T, 11);
    if (!l) return;
    int32_t ids[B * T], targets[B * T], seg[B * T], pos[B * T];
    for (int step = 0; step < 40; step++) {
        LT_CHECK_OK(lt_loader_next(l, ids, targets, seg, pos));
        for (int b = 0; b < B; b++) {
            const int32_t *x = ids + b * T, *y = targets + b * T, *sg = seg + b * T,
                          *ps = pos + b * T;
            LT_CHECK(x[0] + T < INDEX_TOKENS);
            int32_t want_seg = 0;
            for (int t = 0; t < T; t++) {
                LT_CHECK_INT(x[t], x[0] + t); // a contiguous window
                LT_CHECK_INT(y[t], x[t] + 1); // targets are the next tokens
                if (t > 0 && index_doc_start((uint64_t)x[t]) == (uint64_t)x[t]) want_seg++;
                LT_CHECK_INT(sg[t], want_seg);
                uint64_t from = index_doc_start((uint64_t)x[t]);
                if (from < (uint64_t)x[0]) from = (uint64_t)x[0];
                LT_CHECK_INT(ps[t], (uint64_t)x[t] - from);
            }
        }
    }
    LT_CHECK_INT(lt_loader_rows_drawn(l), 40 * B);
    lt_loader_close(l);
}

static void test_loader_epoch_covers_every_chunk(void) {
    const char *path = tmp_path("index.bin");
    write_index_shard(path, index_lens, N_INDEX_DOCS);
    enum { T = 16, MAX_CHUNKS = INDEX_TOKENS / T };
    lt_loader *l = open_loader(&path, NULL, 1, 1, T, 5);
    if (!l) return;
    int32_t ids[T], targets[T];
    int32_t order[2][MAX_CHUNKS];
    int n_chunks[2];
    for (int epoch = 0; epoch < 2; epoch++) {
        uint8_t seen[INDEX_TOKENS] = {0};
        // The first draw of an epoch shows its grid offset, hence its chunk count.
        LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL));
        int offset = ids[0] % T, want = (INDEX_TOKENS - 1 - offset) / T;
        n_chunks[epoch] = want;
        for (int row = 0; row < want; row++) {
            if (row > 0) LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL));
            LT_CHECK_INT(lt_loader_epoch(l, 0), epoch);
            LT_CHECK_INT(ids[0] % T, offset); // every chunk on the same grid
            LT_CHECK_MSG(!seen[ids[0]], "window at %d drawn twice in epoch %d", ids[0], epoch);
            seen[ids[0]] = 1;
            order[epoch][row] = ids[0] - offset;
        }
        for (int k = 0; k < want; k++) LT_CHECK_MSG(seen[offset + k * T], "chunk %d missed", k);
    }
    LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL)); // the first draw of the third epoch
    LT_CHECK_INT(lt_loader_epoch(l, 0), 2);
    int n = n_chunks[0] < n_chunks[1] ? n_chunks[0] : n_chunks[1];
    LT_CHECK(memcmp(order[0], order[1], (size_t)n * sizeof(int32_t)) != 0); // reshuffled
    lt_loader_close(l);
}

// Source A has ids < 100, source B ids >= 100: each row tells where it came from.
static void write_blend_shards(const char *a, const char *b, int n_a, int n_b) {
    int32_t *ids = malloc((size_t)(n_a > n_b ? n_a : n_b) * sizeof *ids);
    for (int i = 0; i < n_a; i++) ids[i] = i % 100;
    size_t la[1] = {(size_t)n_a};
    write_shard(a, 256, ids, la, 1, -1, -1);
    for (int i = 0; i < n_b; i++) ids[i] = 100 + i % 100;
    size_t lb[1] = {(size_t)n_b};
    write_shard(b, 256, ids, lb, 1, -1, -1);
    free(ids);
}

static void test_loader_blend_proportions(void) {
    const char *paths[3] = {tmp_path("blend-a.bin"), tmp_path("blend-b.bin"),
                            tmp_path("blend-c.bin")};
    write_blend_shards(paths[0], paths[1], 3000, 500);
    {
        int32_t ids[2000];
        for (int i = 0; i < 2000; i++) ids[i] = 200 + i % 50;
        size_t lc[1] = {2000};
        write_shard(paths[2], 256, ids, lc, 1, -1, -1);
    }
    enum { B = 100, T = 8, BATCHES = 100 };
    // 0.9 / 0.1 given as 9 / 1: normalised by the loader.
    double w2[2] = {9, 1};
    lt_loader *l = open_loader(paths, w2, 2, B, T, 1234);
    if (!l) return;
    LT_CHECK_CLOSE(lt_loader_weight(l, 0), 0.9, 1e-15, 0);
    LT_CHECK_CLOSE(lt_loader_weight(l, 1), 0.1, 1e-15, 0);
    int32_t ids[B * T], targets[B * T];
    long count_a = 0;
    for (int k = 0; k < BATCHES; k++) {
        LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL));
        const int32_t *src = lt_loader_row_sources(l);
        for (int b = 0; b < B; b++) {
            bool from_a = ids[b * T] < 100;
            count_a += from_a;
            LT_CHECK_INT(src[b], from_a ? 0 : 1);
        }
    }
    // Binomial(10000, 0.9): sd 30; accept 5 sd either side.
    LT_CHECK_MSG(count_a >= 9000 - 150 && count_a <= 9000 + 150, "%ld of 10000 rows from A",
                 count_a);
    LT_CHECK(lt_loader_epoch(l, 1) >= 1); // B (62 chunks) was cycled: a small replay set repeats
    lt_loader_close(l);

    double w3[3] = {2, 1, 1};
    l = open_loader(paths, w3, 3, B, T, 99);
    if (!l) return;
    long counts[3] = {0};
    for (int k = 0; k < BATCHES; k++) {
        LT_CHECK_OK(lt_loader_next(l, ids, targets, NULL, NULL));
        for (int b = 0; b < B; b++) counts[ids[b * T] < 100 ? 0 : ids[b * T] < 200 ? 1 : 2]++;
    }
    // Binomial(10000, 0.5): sd 50; (10000, 0.25): sd 43.3; 5 sd either side.
    LT_CHECK_MSG(labs(counts[0] - 5000) <= 250, "source 0: %ld of 10000", counts[0]);
    LT_CHECK_MSG(labs(counts[1] - 2500) <= 217, "source 1: %ld of 10000", counts[1]);
    LT_CHECK_MSG(labs(counts[2] - 2500) <= 217, "source 2: %ld of 10000", counts[2]);
    lt_loader_close(l);
}

static void test_loader_same_seed_same_batches(void) {
    const char *paths[2] = {tmp_path("blend-a.bin"), tmp_path("blend-b.bin")};
    write_blend_shards(paths[0], paths[1], 3000, 500);
    enum { B = 4, T = 8 };
    double w[2] = {0.7, 0.3};
    lt_loader *a = open_loader(paths, w, 2, B, T, 42), *b = open_loader(paths, w, 2, B, T, 42),
              *c = open_loader(paths, w, 2, B, T, 43);
    if (!a || !b || !c) goto done;
    int32_t ia[B * T], ta[B * T], ib[B * T], tb[B * T], ic[B * T], tc[B * T];
    int same_c = 0;
    for (int k = 0; k < 20; k++) {
        LT_CHECK_OK(lt_loader_next(a, ia, ta, NULL, NULL));
        LT_CHECK_OK(lt_loader_next(b, ib, tb, NULL, NULL));
        LT_CHECK_OK(lt_loader_next(c, ic, tc, NULL, NULL));
        LT_CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(ta, tb, sizeof ta) == 0);
        same_c += memcmp(ia, ic, sizeof ia) == 0;
    }
    LT_CHECK(same_c < 20);
done:
    lt_loader_close(a);
    lt_loader_close(b);
    lt_loader_close(c);
}

// Saves the cursor after k batches; a fresh loader restored from it (even one
// opened with another seed and another batch size) draws the same rows next,
// across epoch boundaries of both sources.
static void test_loader_resume(void) {
    const char *paths[2] = {tmp_path("resume-a.bin"), tmp_path("resume-b.bin")};
    write_blend_shards(paths[0], paths[1], 300, 200);
    enum { B = 4, T = 8, K = 23, M = 40 };
    double w[2] = {0.6, 0.4};
    lt_loader *a = open_loader(paths, w, 2, B, T, 2024);
    lt_loader *b = open_loader(paths, w, 2, B, T, 2024);
    lt_loader *c = open_loader(paths, w, 2, 2, T, 7); // other seed, half the rows per batch
    if (!a || !b || !c) goto done;
    int32_t ids[B * T], targets[B * T], seg[B * T], pos[B * T];
    for (int k = 0; k < K; k++) LT_CHECK_OK(lt_loader_next(a, ids, targets, seg, pos));
    uint8_t state[1024];
    size_t len = 0;
    LT_CHECK_OK(lt_loader_state_save(a, state, sizeof state, &len));
    LT_CHECK_INT(len, lt_loader_state_size(a));
    LT_CHECK_INT(len, 72 + 2 * 40 + 8);
    LT_CHECK_OK(lt_loader_state_load(b, state, len));
    LT_CHECK_OK(lt_loader_state_load(c, state, len));
    LT_CHECK_INT(lt_loader_rows_drawn(b), K * B);
    int32_t ib[B * T], tb[B * T], sb[B * T], pb[B * T];
    for (int k = 0; k < M; k++) {
        LT_CHECK_OK(lt_loader_next(a, ids, targets, seg, pos));
        LT_CHECK_OK(lt_loader_next(b, ib, tb, sb, pb));
        LT_CHECK_MSG(memcmp(ids, ib, sizeof ids) == 0 && memcmp(targets, tb, sizeof tb) == 0 &&
                         memcmp(seg, sb, sizeof sb) == 0 && memcmp(pos, pb, sizeof pb) == 0,
                     "batch %d after the resume differs", k);
        LT_CHECK(memcmp(lt_loader_row_sources(a), lt_loader_row_sources(b), B * sizeof(int32_t)) ==
                 0);
        for (int half = 0; half < 2; half++) {
            int32_t ic[2 * T], tc[2 * T];
            LT_CHECK_OK(lt_loader_next(c, ic, tc, NULL, NULL));
            LT_CHECK_MSG(memcmp(ic, ids + half * 2 * T, sizeof ic) == 0 &&
                             memcmp(tc, targets + half * 2 * T, sizeof tc) == 0,
                         "batch %d half %d of the B=2 loader differs", k, half);
        }
    }
    // 300 tokens / 8 = 37 chunks, 200 / 8 = 24: both sources wrapped during the test.
    LT_CHECK(lt_loader_epoch(a, 0) >= 2 && lt_loader_epoch(a, 1) >= 2);
    LT_CHECK_INT(lt_loader_epoch(b, 0), lt_loader_epoch(a, 0));
done:
    lt_loader_close(a);
    lt_loader_close(b);
    lt_loader_close(c);
}

static void test_loader_state_errors(void) {
    const char *paths[2] = {tmp_path("resume-a.bin"), tmp_path("resume-b.bin")};
    write_blend_shards(paths[0], paths[1], 300, 200);
    const char *other = tmp_path("resume-other.bin");
    {
        int32_t ids[300];
        for (int i = 0; i < 300; i++) ids[i] = (i * 7) % 100;
        size_t l1[1] = {300};
        write_shard(other, 256, ids, l1, 1, -1, -1);
    }
    enum { B = 2, T = 8 };
    double w[2] = {0.6, 0.4}, w_other[2] = {0.5, 0.5};
    lt_loader *a = open_loader(paths, w, 2, B, T, 1);
    lt_loader *ref = open_loader(paths, w, 2, B, T, 1);
    const char *swapped[2] = {other, paths[1]};
    lt_loader *diff_data = open_loader(swapped, w, 2, B, T, 1);
    lt_loader *diff_w = open_loader(paths, w_other, 2, B, T, 1);
    lt_loader *diff_t = open_loader(paths, w, 2, B, 9, 1);
    lt_loader *one = open_loader(paths, NULL, 1, B, T, 1);
    if (!a || !ref || !diff_data || !diff_w || !diff_t || !one) goto done;
    int32_t ids[B * T], targets[B * T];
    for (int k = 0; k < 5; k++) {
        LT_CHECK_OK(lt_loader_next(a, ids, targets, NULL, NULL));
        LT_CHECK_OK(lt_loader_next(ref, ids, targets, NULL, NULL));
    }
    uint8_t state[256], bad[256];
    size_t len = 0, need = 0;
    LT_CHECK_ERR(lt_loader_state_save(a, state, 10, &need), LT_ERR_RANGE, "needs 160 bytes");
    LT_CHECK_INT(need, 160);
    LT_CHECK_OK(lt_loader_state_save(a, state, sizeof state, &len));
    LT_CHECK_ERR(lt_loader_state_load(diff_data, state, len), LT_ERR_ARG, "not the same data");
    LT_CHECK_ERR(lt_loader_state_load(diff_w, state, len), LT_ERR_ARG,
                 "had weight 0.6 of the blend, now 0.5");
    LT_CHECK_ERR(lt_loader_state_load(diff_t, state, len), LT_ERR_ARG,
                 "sequences of 8 tokens, this loader uses 9");
    LT_CHECK_ERR(lt_loader_state_load(one, state, len), LT_ERR_ARG,
                 "saved for 2 data sources, this loader has 1");
    LT_CHECK_ERR(lt_loader_state_load(a, state, len - 1), LT_ERR_FORMAT, "truncated");
    LT_CHECK_ERR(lt_loader_state_load(a, state, 40), LT_ERR_FORMAT, "truncated");
    memcpy(bad, state, len);
    bad[0] = 'x';
    LT_CHECK_ERR(lt_loader_state_load(a, bad, len), LT_ERR_FORMAT, "bad magic");
    memcpy(bad, state, len);
    bad[100] ^= 4;
    LT_CHECK_ERR(lt_loader_state_load(a, bad, len), LT_ERR_FORMAT, "checksum mismatch");
    memcpy(bad, state, len);
    put_u64(bad + 72 + 32, 1000); // source 0 at chunk 1000 of a 37-chunk epoch
    put_u64(bad + len - 8, fnv(0xcbf29ce484222325ull, bad, len - 8));
    LT_CHECK_ERR(lt_loader_state_load(a, bad, len), LT_ERR_FORMAT, "at chunk 1000 of an epoch of");
    // The failed loads left `a` where it was.
    for (int k = 0; k < 10; k++) {
        int32_t ir[B * T], tr[B * T];
        LT_CHECK_OK(lt_loader_next(a, ids, targets, NULL, NULL));
        LT_CHECK_OK(lt_loader_next(ref, ir, tr, NULL, NULL));
        LT_CHECK(memcmp(ids, ir, sizeof ir) == 0 && memcmp(targets, tr, sizeof tr) == 0);
    }
done:
    lt_loader_close(a);
    lt_loader_close(ref);
    lt_loader_close(diff_data);
    lt_loader_close(diff_w);
    lt_loader_close(diff_t);
    lt_loader_close(one);
}

static void test_loader_open_errors(void) {
    const char *small = tmp_path("small.bin");
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t lens[1] = {8};
    write_shard(small, 16, ids, lens, 1, -1, -1);
    lt_loader *l = NULL;
    lt_loader_opts o = {.paths = &small, .n_sources = 1, .B = 2, .T = 8, .seed = 0};
    LT_CHECK_ERR(lt_loader_open(&l, &o), LT_ERR_RANGE,
                 "small.bin: 8 tokens, fewer than one window of T + 1 = 9");
    o.T = 7;
    LT_CHECK_OK(lt_loader_open(&l, &o)); // exactly one window
    if (l) {
        int32_t x[14], y[14];
        LT_CHECK_OK(lt_loader_next(l, x, y, NULL, NULL));
        for (int t = 0; t < 7; t++) LT_CHECK(x[t] == t + 1 && y[t] == t + 2 && x[7 + t] == t + 1);
        LT_CHECK_OK(lt_loader_check_vocab(l, 16));
        LT_CHECK_ERR(lt_loader_check_vocab(l, 15), LT_ERR_RANGE,
                     "vocabulary of 16 ids but the model has 15");
    }
    lt_loader_close(l);
    double zero = 0;
    o.weights = &zero;
    LT_CHECK_ERR(lt_loader_open(&l, &o), LT_ERR_ARG, "small.bin: weight 0 must be");
    o.weights = NULL;
    o.n_sources = 0;
    LT_CHECK_ERR(lt_loader_open(&l, &o), LT_ERR_ARG, "at least one shard");
    const char *missing = tmp_path("missing.bin");
    o.paths = &missing;
    o.n_sources = 1;
    LT_CHECK_ERR(lt_loader_open(&l, &o), LT_ERR_IO, "missing.bin: cannot open");
    o.paths = &small;
    o.B = 0;
    LT_CHECK_ERR(lt_loader_open(&l, &o), LT_ERR_ARG, "both must be positive");
    LT_CHECK(l == NULL);
}

// ---------------------------------------------------------------- validation iterator

static void val_pass(const lt_shard *s, int64_t B, int64_t T, int n_tokens) {
    lt_val_iter it;
    LT_CHECK_OK(lt_val_iter_init(&it, s, B, T));
    LT_CHECK_INT(lt_val_iter_n_targets(&it), n_tokens - 1);
    int *hits = calloc((size_t)n_tokens, sizeof *hits);
    int32_t *ids = malloc((size_t)(B * T) * sizeof *ids),
            *targets = malloc((size_t)(B * T) * sizeof *ids);
    int32_t *seg = malloc((size_t)(B * T) * sizeof *ids),
            *pos = malloc((size_t)(B * T) * sizeof *ids);
    int64_t rows, total_rows = 0;
    long counted = 0;
    for (int pass = 0; pass < 2; pass++) {
        memset(hits, 0, (size_t)n_tokens * sizeof *hits);
        counted = total_rows = 0;
        for (;;) {
            LT_CHECK_OK(lt_val_iter_next(&it, ids, targets, seg, pos, &rows));
            if (rows == 0) break;
            total_rows += rows;
            for (int64_t b = 0; b < B * T; b++) {
                if (targets[b] < 0) continue;
                LT_CHECK(targets[b] < n_tokens);
                LT_CHECK_INT(ids[b], targets[b] - 1);
                if (targets[b] < n_tokens) hits[targets[b]]++;
                counted++;
            }
            for (int64_t b = rows; b < B; b++)
                for (int64_t t = 0; t < T; t++) LT_CHECK_INT(targets[b * T + t], -1);
            for (int64_t b = 0; b < rows; b++) { // segments/positions of data tokens
                for (int64_t t = 0; t < T; t++) {
                    int32_t y = targets[b * T + t];
                    if (y < 0) break;
                    uint64_t x = (uint64_t)ids[b * T + t], x0 = (uint64_t)ids[b * T];
                    uint64_t from = index_doc_start(x);
                    LT_CHECK_INT(pos[b * T + t], x - (from > x0 ? from : x0));
                }
            }
        }
        LT_CHECK_INT(counted, n_tokens - 1);
        LT_CHECK_INT(total_rows, (n_tokens - 1 + T - 1) / T);
        LT_CHECK_INT(hits[0], 0);
        for (int i = 1; i < n_tokens; i++)
            LT_CHECK_MSG(hits[i] == 1, "token %d a target %d times", i, hits[i]);
        lt_val_iter_rewind(&it);
    }
    free(hits);
    free(ids);
    free(targets);
    free(seg);
    free(pos);
}

static void test_val_iter_covers_each_token_once(void) {
    const char *path = tmp_path("index.bin");
    write_index_shard(path, index_lens, N_INDEX_DOCS);
    lt_shard *s = NULL;
    LT_CHECK_OK(lt_shard_open(&s, path));
    if (!s) return;
    val_pass(s, 3, 16, INDEX_TOKENS);   // 1521 targets: 95 full windows + one of 1
    val_pass(s, 4, 13, INDEX_TOKENS);   // 1521 = 117 * 13: no short window
    val_pass(s, 1, 2000, INDEX_TOKENS); // one window longer than the shard
    lt_val_iter it;
    LT_CHECK_ERR(lt_val_iter_init(&it, s, 0, 16), LT_ERR_ARG, "both must be positive");
    lt_shard_close(s);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s", lt_test_tmpdir());
    LT_RUN(test_fnv_vectors);
    LT_RUN(test_token_bytes_rule);
    LT_RUN(test_roundtrip_uint16);
    LT_RUN(test_roundtrip_uint32);
    LT_RUN(test_roundtrip_vocab_65536);
    LT_RUN(test_roundtrip_vocab_65537);
    LT_RUN(test_writer_errors);
    LT_RUN(test_empty_shard);
    LT_RUN(test_good_shard_layout);
    LT_RUN(test_corrupt_missing_file);
    LT_RUN(test_corrupt_empty_file);
    LT_RUN(test_corrupt_short_header);
    LT_RUN(test_corrupt_bad_magic);
    LT_RUN(test_corrupt_version);
    LT_RUN(test_corrupt_token_width);
    LT_RUN(test_corrupt_width_vocab_mismatch);
    LT_RUN(test_corrupt_vocab_zero);
    LT_RUN(test_corrupt_reserved);
    LT_RUN(test_corrupt_bos_range);
    LT_RUN(test_corrupt_truncated_payload);
    LT_RUN(test_corrupt_trailing_bytes);
    LT_RUN(test_corrupt_huge_counts);
    LT_RUN(test_corrupt_checksum_token_flip);
    LT_RUN(test_corrupt_checksum_header_field);
    LT_RUN(test_corrupt_checksum_field);
    LT_RUN(test_corrupt_token_out_of_vocab);
    LT_RUN(test_corrupt_docs_not_increasing);
    LT_RUN(test_corrupt_docs_out_of_range);
    LT_RUN(test_corrupt_docs_first_not_zero);
    LT_RUN(test_corrupt_docs_end_marker);
    LT_RUN(test_corrupt_padding);
    LT_RUN(test_vocab_check);
    LT_RUN(train_tiny_tokenizer);
    if (tiny_tok) {
        LT_RUN(test_tokenize_files);
        LT_RUN(test_tokenize_split_lines);
        LT_RUN(test_tokenize_split_blank);
        LT_RUN(test_tokenize_jsonl);
        LT_RUN(test_jsonl_invalid_json);
        LT_RUN(test_jsonl_trailing_garbage);
        LT_RUN(test_jsonl_not_object);
        LT_RUN(test_jsonl_missing_field);
        LT_RUN(test_jsonl_not_string);
        LT_RUN(test_jsonl_null_field);
        LT_RUN(test_tokenize_special_text);
        LT_RUN(test_tokenize_val_split);
        LT_RUN(test_tokenize_errors);
    }
    lt_tokenizer_free(tiny_tok);
    LT_RUN(test_spec_parse);
    LT_RUN(test_loader_windows);
    LT_RUN(test_loader_epoch_covers_every_chunk);
    LT_RUN(test_loader_blend_proportions);
    LT_RUN(test_loader_same_seed_same_batches);
    LT_RUN(test_loader_resume);
    LT_RUN(test_loader_state_errors);
    LT_RUN(test_loader_open_errors);
    LT_RUN(test_val_iter_covers_each_token_once);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return lt_test_finish();
}
