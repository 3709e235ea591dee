// shard.c: token shards — the on-disk format of tokenized training data
// (docs/DATA.md), a streaming crash-safe writer and an mmap'd reader that
// checks every byte before anyone trusts it. Shards are the hand-off point
// between `lathe data tokenize` and training, so a corrupt or truncated file
// must fail loudly here rather than as a strange loss curve later.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/data_internal.h"
#include "lathe/data.h"

static const char shard_magic[8] = {'L', 'A', 'T', 'H', 'E', 'T', 'O', 'K'};

// Header field offsets (docs/DATA.md).
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_TOKEN_BYTES = 12,
    OFF_VOCAB = 16,
    OFF_BOS = 20,
    OFF_EOS = 24,
    OFF_RESERVED = 28,
    OFF_N_TOKENS = 32,
    OFF_N_DOCS = 40,
    OFF_N_TEXT_BYTES = 48,
    OFF_CHECKSUM = 56,
};

uint32_t lt_shard_token_bytes(int64_t vocab) { return vocab <= 65536 ? 2 : 4; }

static uint64_t pad8(uint64_t n) { return (8 - (n & 7)) & 7; }

// ---------------------------------------------------------------- writer

#define WRITER_BUF_BYTES (1u << 20)

struct lt_shard_writer {
    lt_file file;
    uint32_t token_bytes, vocab;
    int32_t bos, eos;
    uint64_t n_tokens, n_text_bytes;
    uint64_t *starts; // (n_docs) first token of each document
    size_t n_docs, cap_docs;
    uint8_t *buf; // (WRITER_BUF_BYTES) payload not yet written
    size_t buf_n;
    uint64_t hash; // FNV-1a of the payload written so far
};

static lt_status writer_flush(lt_shard_writer *w) {
    w->hash = lt_fnv1a64(w->hash, w->buf, w->buf_n);
    lt_status s = lt_file_write(&w->file, w->buf, w->buf_n);
    w->buf_n = 0;
    return s;
}

static lt_status writer_put(lt_shard_writer *w, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        if (w->buf_n == WRITER_BUF_BYTES) LT_TRY(writer_flush(w));
        size_t k = WRITER_BUF_BYTES - w->buf_n;
        if (k > n) k = n;
        memcpy(w->buf + w->buf_n, p, k);
        w->buf_n += k;
        p += k;
        n -= k;
    }
    return NULL;
}

lt_status lt_shard_writer_open(lt_shard_writer **out, const char *path, int64_t vocab, int32_t bos,
                               int32_t eos) {
    *out = NULL;
    if (vocab < 1 || vocab > INT32_MAX)
        return lt_error(LT_ERR_ARG, "%s: vocab size %lld is outside [1, %d]", path,
                        (long long)vocab, INT32_MAX);
    if (bos < -1 || bos >= vocab || eos < -1 || eos >= vocab)
        return lt_error(LT_ERR_ARG, "%s: BOS %d / EOS %d must be -1 or below the vocab size %lld",
                        path, bos, eos, (long long)vocab);
    lt_shard_writer *w;
    LT_TRY(lt_calloc((void **)&w, 1, sizeof *w, "shard writer"));
    w->file.fd = -1;
    w->token_bytes = lt_shard_token_bytes(vocab);
    w->vocab = (uint32_t)vocab;
    w->bos = bos;
    w->eos = eos;
    w->hash = LT_FNV_OFFSET;
    lt_status s = lt_alloc((void **)&w->buf, WRITER_BUF_BYTES, "shard writer buffer");
    if (!s) s = lt_file_create(&w->file, path);
    if (!s) {
        uint8_t placeholder[LT_SHARD_HEADER_BYTES] = {0}; // the real header is written at commit
        s = lt_file_write(&w->file, placeholder, sizeof placeholder);
    }
    if (s) {
        lt_shard_writer_abort(w);
        return s;
    }
    *out = w;
    return NULL;
}

lt_status lt_shard_writer_add(lt_shard_writer *w, const int32_t *ids, size_t n,
                              uint64_t text_bytes) {
    if (n == 0)
        return lt_error(LT_ERR_ARG,
                        "%s: document %zu is empty (a document needs at least one token)",
                        w->file.path, w->n_docs);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= w->vocab)
            return lt_error(LT_ERR_RANGE, "%s: document %zu, token %zu: id %d is outside [0, %u)",
                            w->file.path, w->n_docs, i, ids[i], w->vocab);
    if (w->n_docs == w->cap_docs) {
        size_t cap = w->cap_docs ? 2 * w->cap_docs : 1024;
        uint64_t *starts;
        LT_TRY(lt_alloc((void **)&starts, cap * sizeof *starts, "shard document table"));
        if (w->n_docs) memcpy(starts, w->starts, w->n_docs * sizeof *starts);
        lt_free(w->starts);
        w->starts = starts;
        w->cap_docs = cap;
    }
    w->starts[w->n_docs++] = w->n_tokens;
    for (size_t i = 0; i < n; i++) {
        if (w->token_bytes == 2) {
            uint16_t v = (uint16_t)ids[i];
            LT_TRY(writer_put(w, &v, 2));
        } else {
            uint32_t v = (uint32_t)ids[i];
            LT_TRY(writer_put(w, &v, 4));
        }
    }
    w->n_tokens += n;
    w->n_text_bytes += text_bytes;
    return NULL;
}

void lt_shard_writer_counts(const lt_shard_writer *w, uint64_t *n_docs, uint64_t *n_tokens,
                            uint64_t *n_text_bytes) {
    if (n_docs) *n_docs = w->n_docs;
    if (n_tokens) *n_tokens = w->n_tokens;
    if (n_text_bytes) *n_text_bytes = w->n_text_bytes;
}

static void encode_header(const lt_shard_writer *w, uint8_t h[LT_SHARD_HEADER_BYTES]) {
    memset(h, 0, LT_SHARD_HEADER_BYTES);
    memcpy(h + OFF_MAGIC, shard_magic, 8);
    lt_store_u32(h + OFF_VERSION, LT_SHARD_VERSION);
    lt_store_u32(h + OFF_TOKEN_BYTES, w->token_bytes);
    lt_store_u32(h + OFF_VOCAB, w->vocab);
    lt_store_u32(h + OFF_BOS, (uint32_t)w->bos);
    lt_store_u32(h + OFF_EOS, (uint32_t)w->eos);
    lt_store_u64(h + OFF_N_TOKENS, w->n_tokens);
    lt_store_u64(h + OFF_N_DOCS, w->n_docs);
    lt_store_u64(h + OFF_N_TEXT_BYTES, w->n_text_bytes);
}

static lt_status writer_finish(lt_shard_writer *w) {
    static const uint8_t zeros[8] = {0};
    LT_TRY(writer_put(w, zeros, (size_t)pad8(w->n_tokens * w->token_bytes)));
    for (size_t d = 0; d <= w->n_docs; d++) {
        uint64_t start = d < w->n_docs ? w->starts[d] : w->n_tokens;
        LT_TRY(writer_put(w, &start, 8));
    }
    LT_TRY(writer_flush(w));
    uint8_t header[LT_SHARD_HEADER_BYTES];
    encode_header(w, header);
    lt_store_u64(header + OFF_CHECKSUM, lt_fnv1a64(w->hash, header, OFF_CHECKSUM));
    if (pwrite(w->file.fd, header, sizeof header, 0) != (ssize_t)sizeof header)
        return lt_error(LT_ERR_IO, "%s: cannot write the shard header", w->file.path);
    return lt_file_commit(&w->file);
}

lt_status lt_shard_writer_commit(lt_shard_writer *w) {
    lt_status s = writer_finish(w);
    lt_shard_writer_abort(w); // after a successful commit only memory is left to free
    return s;
}

void lt_shard_writer_abort(lt_shard_writer *w) {
    if (!w) return;
    if (w->file.fd >= 0 || w->file.tmp_path) lt_file_abort(&w->file);
    lt_free(w->starts);
    lt_free(w->buf);
    lt_free(w);
}

// ---------------------------------------------------------------- reader

struct lt_shard {
    lt_mmap map;
    lt_shard_info info;
    const uint8_t *tokens; // (n_tokens) of token_bytes each
    const uint8_t *starts; // (n_docs + 1) uint64
};

const lt_shard_info *lt_shard_get_info(const lt_shard *s) { return &s->info; }
const char *lt_shard_path(const lt_shard *s) { return s->map.path; }

static lt_status check_header(const lt_shard *s, const char *path) {
    const uint8_t *h = s->map.data;
    size_t size = s->map.size;
    if (size >= 8 && memcmp(h, shard_magic, 8) != 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: bad magic (not a lathe token shard; make one with "
                        "'lathe data tokenize')",
                        path);
    if (size < LT_SHARD_HEADER_BYTES)
        return lt_error(LT_ERR_FORMAT, "%s: truncated: %zu bytes, shorter than the %d-byte header",
                        path, size, LT_SHARD_HEADER_BYTES);
    const lt_shard_info *in = &s->info;
    if (in->version != LT_SHARD_VERSION)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: shard format version %u; this lathe reads "
                        "version %d (re-tokenize the data)",
                        path, in->version, LT_SHARD_VERSION);
    if (in->token_bytes != 2 && in->token_bytes != 4)
        return lt_error(LT_ERR_FORMAT, "%s: token width %u bytes (must be 2 or 4)", path,
                        in->token_bytes);
    if (in->vocab == 0 || in->vocab > INT32_MAX)
        return lt_error(LT_ERR_FORMAT, "%s: vocab size %u is outside [1, %d]", path, in->vocab,
                        INT32_MAX);
    if (in->token_bytes != lt_shard_token_bytes(in->vocab))
        return lt_error(LT_ERR_FORMAT,
                        "%s: %u-byte tokens do not match vocab size %u (2 bytes up "
                        "to 65536 ids, 4 above)",
                        path, in->token_bytes, in->vocab);
    if (lt_load_u32(h + OFF_RESERVED) != 0)
        return lt_error(LT_ERR_FORMAT, "%s: reserved header field at byte %d is not zero", path,
                        OFF_RESERVED);
    if (in->bos < -1 || in->bos >= (int64_t)in->vocab || in->eos < -1 ||
        in->eos >= (int64_t)in->vocab)
        return lt_error(LT_ERR_FORMAT,
                        "%s: BOS id %d / EOS id %d must be -1 or below the vocab "
                        "size %u",
                        path, in->bos, in->eos, in->vocab);
    return NULL;
}

// The file size the header implies, or 0 when the counts overflow.
static uint64_t expected_size(const lt_shard_info *in) {
    if (in->n_tokens > UINT64_MAX / 8 || in->n_docs > UINT64_MAX / 16) return 0;
    uint64_t token_area = in->n_tokens * in->token_bytes;
    return LT_SHARD_HEADER_BYTES + token_area + pad8(token_area) + 8 * (in->n_docs + 1);
}

static lt_status check_sizes(const lt_shard *s, const char *path) {
    const lt_shard_info *in = &s->info;
    uint64_t want = expected_size(in);
    if (want == 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: header counts %llu tokens and %llu documents, "
                        "impossibly many",
                        path, (unsigned long long)in->n_tokens, (unsigned long long)in->n_docs);
    if (s->map.size < want)
        return lt_error(LT_ERR_FORMAT,
                        "%s: truncated: %zu bytes, the header promises %llu "
                        "(%llu tokens, %llu documents)",
                        path, s->map.size, (unsigned long long)want,
                        (unsigned long long)in->n_tokens, (unsigned long long)in->n_docs);
    if (s->map.size > want)
        return lt_error(LT_ERR_FORMAT,
                        "%s: %llu unexpected bytes after the document table (the "
                        "header promises %llu bytes)",
                        path, (unsigned long long)(s->map.size - want), (unsigned long long)want);
    return NULL;
}

static lt_status check_checksum(const lt_shard *s, const char *path) {
    const uint8_t *d = s->map.data;
    uint64_t h =
        lt_fnv1a64(LT_FNV_OFFSET, d + LT_SHARD_HEADER_BYTES, s->map.size - LT_SHARD_HEADER_BYTES);
    h = lt_fnv1a64(h, d, OFF_CHECKSUM);
    if (h != s->info.checksum)
        return lt_error(LT_ERR_FORMAT,
                        "%s: checksum mismatch (header says %016llx, the contents "
                        "hash to %016llx): the file is corrupt",
                        path, (unsigned long long)s->info.checksum, (unsigned long long)h);
    uint64_t token_area = s->info.n_tokens * s->info.token_bytes;
    for (uint64_t i = 0; i < pad8(token_area); i++)
        if (s->tokens[token_area + i] != 0)
            return lt_error(LT_ERR_FORMAT, "%s: padding after the tokens is not zero", path);
    return NULL;
}

static lt_status check_docs(const lt_shard *s, const char *path) {
    const lt_shard_info *in = &s->info;
    uint64_t first = lt_load_u64(s->starts);
    if (first != 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: document table: document 0 starts at token %llu, "
                        "must start at 0",
                        path, (unsigned long long)first);
    uint64_t prev = 0;
    for (uint64_t d = 1; d <= in->n_docs; d++) {
        uint64_t start = lt_load_u64(s->starts + 8 * d);
        const char *what = d == in->n_docs ? "the end marker" : "document";
        if (start > in->n_tokens)
            return lt_error(LT_ERR_FORMAT,
                            "%s: document table: %s %llu is at token %llu, past "
                            "the %llu tokens",
                            path, what, (unsigned long long)d, (unsigned long long)start,
                            (unsigned long long)in->n_tokens);
        if (start <= prev)
            return lt_error(LT_ERR_FORMAT,
                            "%s: document table not increasing: entry %llu is "
                            "token %llu, entry %llu is token %llu",
                            path, (unsigned long long)d, (unsigned long long)start,
                            (unsigned long long)d - 1, (unsigned long long)prev);
        prev = start;
    }
    if (prev != in->n_tokens)
        return lt_error(LT_ERR_FORMAT,
                        "%s: document table ends at token %llu, but the shard has "
                        "%llu tokens",
                        path, (unsigned long long)prev, (unsigned long long)in->n_tokens);
    return NULL;
}

static lt_status check_tokens(const lt_shard *s, const char *path) {
    const lt_shard_info *in = &s->info;
    if (in->token_bytes == 2 && in->vocab >= 65536) return NULL; // every uint16 fits
    uint32_t max = 0;
    for (uint64_t i = 0; i < in->n_tokens; i++) {
        uint32_t v = (uint32_t)lt_shard_token(s, i);
        max = v > max ? v : max;
    }
    if (max < in->vocab) return NULL;
    for (uint64_t i = 0; i < in->n_tokens; i++) {
        uint32_t v = (uint32_t)lt_shard_token(s, i);
        if (v >= in->vocab)
            return lt_error(LT_ERR_FORMAT,
                            "%s: token %llu (document %llu) is id %u, not below "
                            "the vocab size %u",
                            path, (unsigned long long)i, (unsigned long long)lt_shard_doc_of(s, i),
                            v, in->vocab);
    }
    return NULL;
}

static void decode_header(lt_shard *s) {
    const uint8_t *h = s->map.data;
    lt_shard_info *in = &s->info;
    in->version = lt_load_u32(h + OFF_VERSION);
    in->token_bytes = lt_load_u32(h + OFF_TOKEN_BYTES);
    in->vocab = lt_load_u32(h + OFF_VOCAB);
    in->bos = (int32_t)lt_load_u32(h + OFF_BOS);
    in->eos = (int32_t)lt_load_u32(h + OFF_EOS);
    in->n_tokens = lt_load_u64(h + OFF_N_TOKENS);
    in->n_docs = lt_load_u64(h + OFF_N_DOCS);
    in->n_text_bytes = lt_load_u64(h + OFF_N_TEXT_BYTES);
    in->checksum = lt_load_u64(h + OFF_CHECKSUM);
}

static lt_status shard_validate(lt_shard *s, const char *path) {
    if (s->map.size >= LT_SHARD_HEADER_BYTES) decode_header(s);
    LT_TRY(check_header(s, path));
    LT_TRY(check_sizes(s, path));
    uint64_t token_area = s->info.n_tokens * s->info.token_bytes;
    s->tokens = s->map.data + LT_SHARD_HEADER_BYTES;
    s->starts = s->tokens + token_area + pad8(token_area);
    LT_TRY(check_checksum(s, path));
    LT_TRY(check_docs(s, path));
    return check_tokens(s, path);
}

lt_status lt_shard_open(lt_shard **out, const char *path) {
    *out = NULL;
    lt_shard *s;
    LT_TRY(lt_calloc((void **)&s, 1, sizeof *s, "shard"));
    lt_status st = lt_mmap_open(&s->map, path);
    if (!st) st = shard_validate(s, path);
    if (st) {
        lt_shard_close(s);
        return st;
    }
    *out = s;
    return NULL;
}

void lt_shard_close(lt_shard *s) {
    if (!s) return;
    lt_mmap_close(&s->map);
    lt_free(s);
}

int32_t lt_shard_token(const lt_shard *s, uint64_t i) {
    if (s->info.token_bytes == 2) {
        uint16_t v;
        memcpy(&v, s->tokens + 2 * i, 2);
        return v;
    }
    return (int32_t)lt_load_u32(s->tokens + 4 * i);
}

lt_status lt_shard_read(const lt_shard *s, uint64_t start, uint64_t n, int32_t *out) {
    if (start > s->info.n_tokens || n > s->info.n_tokens - start)
        return lt_error(LT_ERR_RANGE, "%s: tokens [%llu, %llu) are past the end (%llu tokens)",
                        lt_shard_path(s), (unsigned long long)start,
                        (unsigned long long)(start + n), (unsigned long long)s->info.n_tokens);
    if (s->info.token_bytes == 4) {
        memcpy(out, s->tokens + 4 * start, 4 * n); // ids < vocab <= INT32_MAX: same bits
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++) out[i] = lt_shard_token(s, start + i);
    return NULL;
}

uint64_t lt_shard_doc_start(const lt_shard *s, uint64_t d) {
    return lt_load_u64(s->starts + 8 * d);
}

uint64_t lt_shard_doc_of(const lt_shard *s, uint64_t i) {
    uint64_t lo = 0, hi = s->info.n_docs; // invariant: start(lo) <= i < start(hi)
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (lt_shard_doc_start(s, mid) <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

lt_status lt_shard_check_vocab(const lt_shard *s, int64_t model_vocab) {
    if ((int64_t)s->info.vocab <= model_vocab) return NULL;
    return lt_error(LT_ERR_RANGE,
                    "%s: tokens come from a vocabulary of %u ids but the model "
                    "has %lld (tokenize the data with the model's tokenizer)",
                    lt_shard_path(s), s->info.vocab, (long long)model_vocab);
}

void lt_shard_segments(const lt_shard *s, uint64_t start, int64_t len, int32_t *segments,
                       int32_t *positions) {
    uint64_t doc = lt_shard_doc_of(s, start);
    uint64_t seg_start = start; // where the current segment began inside the window
    uint64_t next = lt_shard_doc_start(s, doc + 1);
    int32_t seg = 0;
    for (int64_t t = 0; t < len; t++) {
        uint64_t i = start + (uint64_t)t;
        if (i == next) { // documents are never empty, so at most one starts here
            seg++;
            seg_start = i;
            next = lt_shard_doc_start(s, ++doc + 1);
        }
        if (segments) segments[t] = seg;
        if (positions) positions[t] = (int32_t)(i - seg_start);
    }
}

void lt_shard_window(const lt_shard *s, uint64_t start, int64_t T, int32_t *ids, int32_t *targets,
                     int32_t *segments, int32_t *positions) {
    for (int64_t t = 0; t < T; t++) {
        ids[t] = lt_shard_token(s, start + (uint64_t)t);
        targets[t] = lt_shard_token(s, start + (uint64_t)t + 1);
    }
    if (segments || positions) lt_shard_segments(s, start, T, segments, positions);
}
