// test_gguf.c: the GGUF container. A file written byte by byte here, from the
// layout in ggml's docs/gguf.md (independently of lathe's writer), parses to
// the values it was built from, and the writer reproduces it byte for byte;
// every value type round-trips; each malformed file (truncated header, bad
// magic or version, huge counts, strings and arrays past the end, tensors
// past the end, misaligned or overlapping offsets, unknown types, duplicate
// keys and names, bad alignment) gets its own clear error, and every prefix
// of a valid file is refused without reading out of bounds (run under ASan).
#include <unistd.h>

#include "lathe/gguf.h"
#include "lt_test.h"

// ---------------------------------------------------------------- a file built by hand

typedef struct {
    uint8_t *data;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->n, p, n);
    b->n += n;
}
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u32(buf *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, le, 4);
}
static void put_u64(buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void put_str(buf *b, const char *s) {
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad_to(buf *b, size_t align) {
    while (b->n % align) put_u8(b, 0);
}

// What to change in the reference file, for the malformed cases.
typedef struct {
    const char *kv2_key; // "test.eps"
    const char *t1_name; // "v"
    uint64_t t1_offset;  // 32
    uint32_t t0_type;    // 0 (f32)
    uint32_t t1_dims;    // 1
    int alignment_type;  // -1: no general.alignment entry; else its GGUF type
    uint64_t alignment;
} variant;

static const variant REF = {"test.eps", "v", 32, 0, 1, -1, 0};

// Offsets of fields inside the built file, for in-place corruption.
typedef struct {
    size_t key0_len, kv0_value_len, kv1_type, ints_elem_type, ints_count, words_count;
    size_t t1_type, t1_offset;
    size_t data_start;
} layout;

// The reference file:
//   metadata: general.architecture = "llama", test.count = u32 7, test.eps =
//   f32 0.5, test.flag = true, test.ints = i32 [1, -2, 3], test.words =
//   ["ab", "cde"]; tensors: w f32 ne {3, 2} = 1..6 at 0, v f16 ne {4} =
//   [1, -2, 0.5, 0] at 32.
static buf build(const variant *v, layout *lay) {
    buf b = {0};
    layout l = {0};
    bool align_kv = v->alignment_type >= 0;
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, 2);                // tensors
    put_u64(&b, align_kv ? 7 : 6); // metadata entries
    l.key0_len = b.n;
    put_str(&b, "general.architecture");
    put_u32(&b, 8); // STRING
    l.kv0_value_len = b.n;
    put_str(&b, "llama");
    put_str(&b, "test.count");
    l.kv1_type = b.n;
    put_u32(&b, 4); // UINT32
    put_u32(&b, 7);
    put_str(&b, v->kv2_key);
    put_u32(&b, 6);           // FLOAT32
    put_u32(&b, 0x3f000000u); // 0.5
    put_str(&b, "test.flag");
    put_u32(&b, 7); // BOOL
    put_u8(&b, 1);
    put_str(&b, "test.ints");
    put_u32(&b, 9); // ARRAY
    l.ints_elem_type = b.n;
    put_u32(&b, 5); // of INT32
    l.ints_count = b.n;
    put_u64(&b, 3);
    put_u32(&b, 1);
    put_u32(&b, (uint32_t)-2);
    put_u32(&b, 3);
    put_str(&b, "test.words");
    put_u32(&b, 9); // ARRAY
    put_u32(&b, 8); // of STRING
    l.words_count = b.n;
    put_u64(&b, 2);
    put_str(&b, "ab");
    put_str(&b, "cde");
    if (align_kv) {
        put_str(&b, "general.alignment");
        put_u32(&b, (uint32_t)v->alignment_type);
        if (v->alignment_type == 10)
            put_u64(&b, v->alignment);
        else
            put_u32(&b, (uint32_t)v->alignment);
    }
    put_str(&b, "w");
    put_u32(&b, 2);
    put_u64(&b, 3);
    put_u64(&b, 2);
    put_u32(&b, v->t0_type);
    put_u64(&b, 0);
    put_str(&b, v->t1_name);
    put_u32(&b, v->t1_dims);
    for (uint32_t d = 0; d < v->t1_dims; d++) put_u64(&b, 4);
    l.t1_type = b.n;
    put_u32(&b, 1); // F16
    l.t1_offset = b.n;
    put_u64(&b, v->t1_offset);
    size_t align = align_kv && v->alignment && (v->alignment & (v->alignment - 1)) == 0
                       ? (size_t)v->alignment
                       : 32;
    pad_to(&b, align);
    l.data_start = b.n;
    for (uint32_t i = 1; i <= 6; i++) {
        float f = (float)i;
        uint32_t u;
        memcpy(&u, &f, 4);
        put_u32(&b, u);
    }
    while (b.n < l.data_start + v->t1_offset) put_u8(&b, 0);
    const uint16_t halves[4] = {0x3c00, 0xc000, 0x3800, 0x0000}; // 1, -2, 0.5, 0
    for (int i = 0; i < 4; i++)
        put(&b, (const uint8_t[]){(uint8_t)halves[i], (uint8_t)(halves[i] >> 8)}, 2);
    if (lay) *lay = l;
    return b;
}

// Opens exactly these bytes from a heap copy of that size (so ASan sees any overread).
static lt_status open_bytes(const uint8_t *data, size_t n) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, data, n);
    lt_gguf *g = NULL;
    lt_status st = lt_gguf_open_buffer(&g, copy, n, "case.gguf");
    lt_gguf_close(g);
    free(copy);
    return st;
}

static lt_status open_variant(const variant *v) {
    buf b = build(v, NULL);
    lt_status st = open_bytes(b.data, b.n);
    free(b.data);
    return st;
}

// ---------------------------------------------------------------- reading

static void test_parse_handbuilt(void) {
    layout lay;
    buf b = build(&REF, &lay);
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open_buffer(&g, b.data, b.n, "ref.gguf"));
    if (!g) return;
    LT_CHECK_INT(lt_gguf_version(g), 3);
    LT_CHECK_INT(lt_gguf_alignment(g), 32);
    LT_CHECK_INT(lt_gguf_n_kv(g), 6);
    LT_CHECK_STR(lt_gguf_kv_at(g, 0)->key, "general.architecture");
    LT_CHECK_STR(lt_gguf_kv_at(g, 5)->key, "test.words");
    const char *s;
    size_t len;
    LT_CHECK_OK(lt_gguf_get_str(g, "general.architecture", &s, &len));
    LT_CHECK(len == 5 && memcmp(s, "llama", 5) == 0);
    int64_t i64;
    LT_CHECK_OK(lt_gguf_get_int(g, "test.count", &i64));
    LT_CHECK_INT(i64, 7);
    double d;
    LT_CHECK_OK(lt_gguf_get_float(g, "test.eps", &d));
    LT_CHECK(d == 0.5);
    bool flag = false;
    LT_CHECK_OK(lt_gguf_get_bool(g, "test.flag", &flag));
    LT_CHECK(flag);
    const lt_gguf_kv *ints = lt_gguf_find_kv(g, "test.ints");
    LT_CHECK(ints && ints->type == LT_GGUF_ARRAY && ints->elem_type == LT_GGUF_INT32 &&
             ints->n == 3);
    const int64_t want[3] = {1, -2, 3};
    for (uint64_t k = 0; ints && k < 3; k++) {
        LT_CHECK_OK(lt_gguf_kv_int(g, ints, k, &i64));
        LT_CHECK_INT(i64, want[k]);
    }
    const lt_gguf_kv *words = lt_gguf_find_kv(g, "test.words");
    LT_CHECK(words && words->n == 2);
    if (words) {
        LT_CHECK_OK(lt_gguf_kv_str(g, words, 1, &s, &len));
        LT_CHECK(len == 3 && memcmp(s, "cde", 3) == 0);
        LT_CHECK_OK(lt_gguf_kv_str(g, words, 0, &s, &len));
        LT_CHECK(len == 2 && memcmp(s, "ab", 2) == 0);
    }
    LT_CHECK_INT(lt_gguf_n_tensors(g), 2);
    const lt_gguf_tensor *w = lt_gguf_find_tensor(g, "w"), *v = lt_gguf_find_tensor(g, "v");
    LT_CHECK(w && w->dtype == LT_F32 && w->n_dims == 2 && w->ne[0] == 3 && w->ne[1] == 2);
    LT_CHECK(v && v->dtype == LT_F16 && v->n_dims == 1 && v->ne[0] == 4 && v->offset == 32);
    if (w && v) {
        LT_CHECK_INT(w->nbytes, 24);
        LT_CHECK_INT(v->nbytes, 8);
        LT_CHECK(w->data == b.data + lay.data_start);
        float f[6];
        memcpy(f, w->data, sizeof f);
        for (int k = 0; k < 6; k++) LT_CHECK(f[k] == (float)(k + 1));
        uint16_t h[4];
        memcpy(h, v->data, sizeof h);
        LT_CHECK(lt_f16_to_f32(h[0]) == 1.0f && lt_f16_to_f32(h[1]) == -2.0f &&
                 lt_f16_to_f32(h[2]) == 0.5f && lt_f16_to_f32(h[3]) == 0.0f);
    }
    LT_CHECK(lt_gguf_find_kv(g, "nope") == NULL && lt_gguf_find_tensor(g, "nope") == NULL);
    lt_gguf_close(g);
    free(b.data);
}

static void test_typed_access_errors(void) {
    buf b = build(&REF, NULL);
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open_buffer(&g, b.data, b.n, "ref.gguf"));
    if (!g) return;
    int64_t i64;
    double d;
    bool flag;
    const char *s;
    size_t len;
    LT_CHECK_ERR(lt_gguf_get_int(g, "missing.key", &i64), LT_ERR_FORMAT,
                 "missing metadata 'missing.key'");
    LT_CHECK_ERR(lt_gguf_get_int(g, "general.architecture", &i64), LT_ERR_FORMAT,
                 "'general.architecture' must be an integer, found string");
    LT_CHECK_ERR(lt_gguf_get_float(g, "test.count", &d), LT_ERR_FORMAT,
                 "'test.count' must be a float32 or float64, found uint32");
    LT_CHECK_ERR(lt_gguf_get_bool(g, "test.eps", &flag), LT_ERR_FORMAT,
                 "must be a bool, found float32");
    LT_CHECK_ERR(lt_gguf_get_str(g, "test.ints", &s, &len), LT_ERR_FORMAT,
                 "found an array of int32");
    LT_CHECK_ERR(lt_gguf_kv_int(g, lt_gguf_find_kv(g, "test.ints"), 3, &i64), LT_ERR_RANGE,
                 "index 3 is past its 3 values");
    lt_gguf_close(g);
    free(b.data);
}

static void test_alignment_64(void) {
    variant v = REF;
    v.alignment_type = 4; // UINT32
    v.alignment = 64;
    v.t1_offset = 64;
    buf b = build(&v, NULL);
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open_buffer(&g, b.data, b.n, "a64.gguf"));
    if (g) {
        LT_CHECK_INT(lt_gguf_alignment(g), 64);
        const lt_gguf_tensor *t = lt_gguf_find_tensor(g, "v");
        LT_CHECK(t && (size_t)(t->data - b.data) % 64 == 0);
    }
    lt_gguf_close(g);
    free(b.data);
    // The reference file's offset 32 is misaligned under alignment 64.
    v.t1_offset = 32;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT,
                 "offset 32 is not a multiple of the alignment 64");
}

// ---------------------------------------------------------------- malformed files, one each

static lt_status open_patched(size_t at, const void *bytes, size_t n) {
    buf b = build(&REF, NULL);
    memcpy(b.data + at, bytes, n);
    lt_status st = open_bytes(b.data, b.n);
    free(b.data);
    return st;
}

static lt_status open_patched_u64(size_t at, uint64_t v) { return open_patched(at, &v, 8); }
static lt_status open_patched_u32(size_t at, uint32_t v) { return open_patched(at, &v, 4); }

static void test_truncated_header(void) {
    buf b = build(&REF, NULL);
    LT_CHECK_ERR(open_bytes(b.data, 10), LT_ERR_FORMAT,
                 "the GGUF header is truncated (10 bytes; a header has 24)");
    LT_CHECK_ERR(open_bytes(b.data, 0), LT_ERR_FORMAT, "header is truncated (0 bytes");
    free(b.data);
}

static void test_bad_magic(void) {
    LT_CHECK_ERR(open_patched(0, "GGML", 4), LT_ERR_FORMAT,
                 "not a GGUF file (magic 'GGML', expected 'GGUF')");
}

static void test_bad_version(void) {
    LT_CHECK_ERR(open_patched_u32(4, 1), LT_ERR_UNSUPPORTED, "GGUF version 1 is not supported");
    LT_CHECK_ERR(open_patched_u32(4, 4), LT_ERR_UNSUPPORTED, "GGUF version 4 is not supported");
    // Version 2 has the same layout and reads.
    LT_CHECK_OK(open_patched_u32(4, 2));
}

static void test_huge_counts(void) {
    LT_CHECK_ERR(open_patched_u64(16, 1000000000000ull), LT_ERR_FORMAT,
                 "claims 1000000000000 metadata entries");
    LT_CHECK_ERR(open_patched_u64(8, UINT64_MAX / 2), LT_ERR_FORMAT, "tensors, more than the");
}

static void test_key_past_eof(void) {
    layout l;
    free(build(&REF, &l).data);
    LT_CHECK_ERR(open_patched_u64(l.key0_len, 1u << 20), LT_ERR_FORMAT,
                 "metadata entry 0: key: a string of 1048576 bytes at offset 32 runs past the end");
    LT_CHECK_ERR(open_patched_u64(l.key0_len, UINT64_MAX), LT_ERR_FORMAT,
                 "runs past the end of the file");
}

static void test_string_value_past_eof(void) {
    layout l;
    free(build(&REF, &l).data);
    LT_CHECK_ERR(
        open_patched_u64(l.kv0_value_len, 5000), LT_ERR_FORMAT,
        "metadata 'general.architecture': a string of 5000 bytes at offset 64 runs past the "
        "end of the file");
}

static void test_array_past_eof(void) {
    layout l;
    free(build(&REF, &l).data);
    LT_CHECK_ERR(open_patched_u64(l.ints_count, 1ull << 60), LT_ERR_FORMAT,
                 "metadata 'test.ints': 1152921504606846976 values of int32 run past the end");
    LT_CHECK_ERR(open_patched_u64(l.words_count, 1ull << 40), LT_ERR_FORMAT,
                 "metadata 'test.words': 1099511627776 strings cannot fit");
    LT_CHECK_ERR(open_patched_u64(l.words_count, 100), LT_ERR_FORMAT,
                 "metadata 'test.words': 100 strings cannot fit");
}

static void test_unknown_value_type(void) {
    layout l;
    free(build(&REF, &l).data);
    LT_CHECK_ERR(open_patched_u32(l.kv1_type, 99), LT_ERR_FORMAT,
                 "metadata 'test.count' has unknown value type 99");
    LT_CHECK_ERR(open_patched_u32(l.ints_elem_type, 13), LT_ERR_FORMAT,
                 "metadata 'test.ints' is an array of unknown type 13");
    LT_CHECK_ERR(open_patched_u32(l.ints_elem_type, 9), LT_ERR_UNSUPPORTED,
                 "metadata 'test.ints' is an array of arrays");
}

static void test_tensor_past_eof(void) {
    buf b = build(&REF, NULL);
    LT_CHECK_ERR(open_bytes(b.data, b.n - 1), LT_ERR_FORMAT,
                 "tensor 'v': bytes [32, 40) of the data section run past the end of the file");
    layout l;
    free(b.data);
    free(build(&REF, &l).data);
    LT_CHECK_ERR(open_patched_u64(l.t1_offset, 1u << 30), LT_ERR_FORMAT,
                 "tensor 'v': bytes [1073741824, 1073741832)");
    LT_CHECK_ERR(open_patched_u64(l.t1_offset, UINT64_MAX - 31), LT_ERR_FORMAT,
                 "tensor 'v': bytes");
}

static void test_misaligned_offset(void) {
    variant v = REF;
    v.t1_offset = 36;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT,
                 "tensor 'v': offset 36 is not a multiple of the alignment 32");
}

static void test_overlapping_tensors(void) {
    variant v = REF;
    v.t1_offset = 0;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "tensors 'v' and 'w' overlap");
}

static void test_unknown_tensor_type(void) {
    variant v = REF;
    v.t0_type = 12;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_UNSUPPORTED, "tensor 'w' has ggml type 12 (q4_K)");
    v.t0_type = 200;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_UNSUPPORTED, "tensor 'w' has ggml type 200 (unknown)");
    v.t0_type = 8; // q8_0 needs rows of a multiple of 32 values; w has 3
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "tensor 'w' is q8_0 but its rows (3)");
}

static void test_bad_dims(void) {
    variant v = REF;
    v.t1_dims = 0;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "tensor 'v' has 0 dimensions");
    v.t1_dims = 5;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "tensor 'v' has 5 dimensions");
}

static void test_duplicate_key(void) {
    variant v = REF;
    v.kv2_key = "test.count";
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "duplicate metadata key 'test.count'");
}

static void test_duplicate_tensor(void) {
    variant v = REF;
    v.t1_name = "w";
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "duplicate tensor name 'w'");
}

static void test_bad_alignment(void) {
    variant v = REF;
    v.alignment_type = 4;
    v.alignment = 48;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "general.alignment 48 is not a power of two");
    v.alignment = 0;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT, "general.alignment 0 is not a power of two");
    v.alignment_type = 10;
    v.alignment = 32;
    LT_CHECK_ERR(open_variant(&v), LT_ERR_FORMAT,
                 "general.alignment must be a uint32, found uint64");
}

// Every proper prefix of a valid file is refused, without a crash or overread.
static void test_every_truncation(void) {
    buf b = build(&REF, NULL);
    int refused = 0;
    for (size_t n = 0; n < b.n; n++) {
        lt_status st = open_bytes(b.data, n);
        refused += st != NULL;
        lt_status_free(st);
    }
    LT_CHECK_INT(refused, (long long)b.n);
    free(b.data);
}

static void test_missing_file(void) {
    lt_gguf *g = NULL;
    LT_CHECK_ERR(lt_gguf_open(&g, "/nonexistent/x.gguf"), LT_ERR_IO,
                 "/nonexistent/x.gguf: cannot open");
    LT_CHECK(g == NULL);
}

// ---------------------------------------------------------------- writing

// The writer, given the reference file's content, produces its exact bytes.
static void test_writer_matches_handbuilt(void) {
    buf ref = build(&REF, NULL);
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/w.gguf", dir);
    lt_gguf_writer *w = NULL;
    LT_CHECK_OK(lt_gguf_writer_init(&w));
    const int32_t ints[3] = {1, -2, 3};
    const char *words[2] = {"ab", "cde"};
    const float wdata[6] = {1, 2, 3, 4, 5, 6};
    const uint16_t vdata[4] = {0x3c00, 0xc000, 0x3800, 0};
    LT_CHECK_OK(lt_gguf_add_str(w, "general.architecture", "llama", 5));
    LT_CHECK_OK(lt_gguf_add_u32(w, "test.count", 7));
    LT_CHECK_OK(lt_gguf_add_f32(w, "test.eps", 0.5f));
    LT_CHECK_OK(lt_gguf_add_bool(w, "test.flag", true));
    LT_CHECK_OK(lt_gguf_add_array(w, "test.ints", LT_GGUF_INT32, ints, 3));
    LT_CHECK_OK(lt_gguf_add_str_array(w, "test.words", words, NULL, 2));
    LT_CHECK_OK(lt_gguf_add_tensor(w, "w", LT_F32, 2, (const int64_t[]){3, 2}, wdata));
    LT_CHECK_OK(lt_gguf_add_tensor(w, "v", LT_F16, 1, (const int64_t[]){4}, vdata));
    LT_CHECK_OK(lt_gguf_writer_write(w, path));
    lt_gguf_writer_free(w);
    char *got = NULL;
    size_t n = 0;
    LT_CHECK_OK(lt_file_read_all(path, &got, &n, 1 << 20));
    LT_CHECK_INT(n, ref.n);
    LT_CHECK(got && n == ref.n && memcmp(got, ref.data, n) == 0);
    lt_free(got);
    free(ref.data);
    unlink(path);
    rmdir(dir);
}

// Every value type and every tensor dtype written and read back.
static void test_writer_roundtrip(void) {
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/all.gguf", dir);
    lt_gguf_writer *w = NULL;
    LT_CHECK_OK(lt_gguf_writer_init(&w));
    uint8_t u8 = 250;
    int8_t i8 = -7;
    uint16_t u16 = 65000;
    int16_t i16 = -32000;
    uint32_t u32 = 4000000000u;
    int32_t i32 = -2000000000;
    float f32 = 1.25f;
    bool b = true;
    uint64_t u64 = 1ull << 62;
    int64_t i64 = -(1ll << 62);
    double f64 = 1e-300;
    const void *values[] = {&u8, &i8,  &u16, &i16, &u32, &i32, &f32,
                            &b,  NULL, NULL, &u64, &i64, &f64};
    char key[32];
    for (int t = 0; t < LT_GGUF_TYPE_COUNT; t++) {
        if (!values[t]) continue;
        snprintf(key, sizeof key, "s.%s", lt_gguf_type_name((lt_gguf_type)t));
        LT_CHECK_OK(lt_gguf_add_scalar(w, key, (lt_gguf_type)t, values[t]));
        snprintf(key, sizeof key, "a.%s", lt_gguf_type_name((lt_gguf_type)t));
        uint8_t two[16];
        size_t size = t == 0 || t == 1 || t == 7 ? 1 : t <= 3 ? 2 : t <= 6 ? 4 : 8;
        memcpy(two, values[t], size);
        memcpy(two + size, values[t], size);
        LT_CHECK_OK(lt_gguf_add_array(w, key, (lt_gguf_type)t, two, 2));
    }
    const char *strs[3] = {"", "with\0nul", "é"};
    const size_t lens[3] = {0, 8, 2};
    LT_CHECK_OK(lt_gguf_add_str_array(w, "a.string", strs, lens, 3));
    LT_CHECK_OK(lt_gguf_add_str(w, "s.string", "with\0nul", 8));
    LT_CHECK_OK(lt_gguf_add_array(w, "a.empty", LT_GGUF_FLOAT32, NULL, 0));
    float f[64];
    for (int i = 0; i < 64; i++) f[i] = (float)i - 31.5f;
    uint16_t h[64];
    lt_f32_to_bf16_array(h, f, 64);
    uint8_t q[2 * 34];
    for (int i = 0; i < 68; i++) q[i] = (uint8_t)(i * 7);
    LT_CHECK_OK(lt_gguf_add_tensor(w, "t.f32", LT_F32, 1, (const int64_t[]){5}, f));
    LT_CHECK_OK(lt_gguf_add_tensor(w, "t.bf16", LT_BF16, 3, (const int64_t[]){2, 4, 8}, h));
    LT_CHECK_OK(lt_gguf_add_tensor(w, "t.q8_0", LT_Q8_0, 2, (const int64_t[]){32, 2}, q));
    LT_CHECK_OK(lt_gguf_add_tensor(w, "t.f16", LT_F16, 4, (const int64_t[]){1, 1, 1, 3}, h));
    LT_CHECK_OK(lt_gguf_writer_write(w, path));
    lt_gguf_writer_free(w);

    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, path));
    if (!g) return;
    int64_t iv;
    double dv;
    bool bv;
    const int64_t want_int[] = {250, -7, 65000, -32000, 4000000000ll, -2000000000};
    for (int t = 0; t <= 5; t++) {
        snprintf(key, sizeof key, "s.%s", lt_gguf_type_name((lt_gguf_type)t));
        LT_CHECK_OK(lt_gguf_get_int(g, key, &iv));
        LT_CHECK_INT(iv, want_int[t]);
        snprintf(key, sizeof key, "a.%s", lt_gguf_type_name((lt_gguf_type)t));
        LT_CHECK_OK(lt_gguf_kv_int(g, lt_gguf_find_kv(g, key), 1, &iv));
        LT_CHECK_INT(iv, want_int[t]);
    }
    LT_CHECK_OK(lt_gguf_get_int(g, "s.uint64", &iv));
    LT_CHECK_INT(iv, (long long)(1ull << 62));
    LT_CHECK_OK(lt_gguf_get_int(g, "s.int64", &iv));
    LT_CHECK_INT(iv, -(1ll << 62));
    LT_CHECK_OK(lt_gguf_get_float(g, "s.float32", &dv));
    LT_CHECK(dv == 1.25);
    LT_CHECK_OK(lt_gguf_get_float(g, "s.float64", &dv));
    LT_CHECK(dv == 1e-300);
    LT_CHECK_OK(lt_gguf_kv_float(g, lt_gguf_find_kv(g, "a.float64"), 1, &dv));
    LT_CHECK(dv == 1e-300);
    LT_CHECK_OK(lt_gguf_get_bool(g, "s.bool", &bv));
    LT_CHECK(bv);
    const char *s;
    size_t len;
    LT_CHECK_OK(lt_gguf_get_str(g, "s.string", &s, &len));
    LT_CHECK(len == 8 && memcmp(s, "with\0nul", 8) == 0);
    const lt_gguf_kv *sa = lt_gguf_find_kv(g, "a.string");
    for (uint64_t i = 0; sa && i < 3; i++) {
        LT_CHECK_OK(lt_gguf_kv_str(g, sa, i, &s, &len));
        LT_CHECK(len == lens[i] && memcmp(s, strs[i], len) == 0);
    }
    const lt_gguf_kv *empty = lt_gguf_find_kv(g, "a.empty");
    LT_CHECK(empty && empty->n == 0 && empty->elem_type == LT_GGUF_FLOAT32);
    const char *names[4] = {"t.f32", "t.bf16", "t.q8_0", "t.f16"};
    const void *datas[4] = {f, h, q, h};
    const uint64_t sizes[4] = {20, 128, 68, 6};
    uint64_t prev_end = 0;
    for (int i = 0; i < 4; i++) {
        const lt_gguf_tensor *t = lt_gguf_find_tensor(g, names[i]);
        LT_CHECK(t != NULL);
        if (!t) continue;
        LT_CHECK_INT(t->nbytes, sizes[i]);
        LT_CHECK(memcmp(t->data, datas[i], (size_t)sizes[i]) == 0);
        LT_CHECK_INT(t->offset % 32, 0);
        LT_CHECK_INT((uintptr_t)t->data % 32, 0);
        LT_CHECK(t->offset >= prev_end && t->offset < prev_end + 32);
        prev_end = t->offset + t->nbytes;
    }
    const lt_gguf_tensor *t = lt_gguf_find_tensor(g, "t.f16");
    LT_CHECK(t && t->n_dims == 4 && t->ne[3] == 3 && t->dtype == LT_F16);
    lt_gguf_close(g);
    unlink(path);
    rmdir(dir);
}

static void test_writer_errors(void) {
    lt_gguf_writer *w = NULL;
    LT_CHECK_OK(lt_gguf_writer_init(&w));
    float f[32] = {0};
    LT_CHECK_OK(lt_gguf_add_u32(w, "k", 1));
    LT_CHECK_ERR(lt_gguf_add_u32(w, "k", 2), LT_ERR_ARG, "duplicate metadata key 'k'");
    LT_CHECK_ERR(lt_gguf_add_u32(w, "", 2), LT_ERR_ARG, "metadata key needs 1..65535 bytes");
    LT_CHECK_ERR(lt_gguf_add_scalar(w, "x", LT_GGUF_STRING, "s"), LT_ERR_ARG,
                 "takes fixed-size types");
    LT_CHECK_ERR(lt_gguf_add_u32(w, "general.alignment", 64), LT_ERR_ARG,
                 "general.alignment must be the uint32 32");
    LT_CHECK_OK(lt_gguf_add_tensor(w, "t", LT_F32, 1, (const int64_t[]){32}, f));
    LT_CHECK_ERR(lt_gguf_add_tensor(w, "t", LT_F32, 1, (const int64_t[]){32}, f), LT_ERR_ARG,
                 "duplicate tensor name 't'");
    LT_CHECK_ERR(lt_gguf_add_tensor(w, "q", LT_Q8_0, 1, (const int64_t[]){31}, f), LT_ERR_ARG,
                 "tensor 'q': bad shape for q8_0");
    LT_CHECK_ERR(lt_gguf_add_tensor(w, "i", LT_I32, 1, (const int64_t[]){4}, f), LT_ERR_ARG,
                 "dtype i32 cannot be written");
    char long_name[65];
    memset(long_name, 'x', 64);
    long_name[64] = 0;
    LT_CHECK_ERR(lt_gguf_add_tensor(w, long_name, LT_F32, 1, (const int64_t[]){1}, f), LT_ERR_ARG,
                 "must have 1..63 bytes");
    LT_CHECK_ERR(lt_gguf_writer_write(w, "/nonexistent/dir/x.gguf"), LT_ERR_IO, "cannot create");
    lt_gguf_writer_free(w);
}

int main(void) {
    LT_RUN(test_parse_handbuilt);
    LT_RUN(test_typed_access_errors);
    LT_RUN(test_alignment_64);
    LT_RUN(test_truncated_header);
    LT_RUN(test_bad_magic);
    LT_RUN(test_bad_version);
    LT_RUN(test_huge_counts);
    LT_RUN(test_key_past_eof);
    LT_RUN(test_string_value_past_eof);
    LT_RUN(test_array_past_eof);
    LT_RUN(test_unknown_value_type);
    LT_RUN(test_tensor_past_eof);
    LT_RUN(test_misaligned_offset);
    LT_RUN(test_overlapping_tensors);
    LT_RUN(test_unknown_tensor_type);
    LT_RUN(test_bad_dims);
    LT_RUN(test_duplicate_key);
    LT_RUN(test_duplicate_tensor);
    LT_RUN(test_bad_alignment);
    LT_RUN(test_every_truncation);
    LT_RUN(test_missing_file);
    LT_RUN(test_writer_matches_handbuilt);
    LT_RUN(test_writer_roundtrip);
    LT_RUN(test_writer_errors);
    return lt_test_finish();
}
