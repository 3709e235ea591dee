// test_safetensors.c: safetensors round trips for every dtype (0-d and empty
// tensors included), byte-exact layouts known from the reference
// implementation, unaligned data, the numpy-written sharded fixture checked
// against its formula, and one case per malformed file, index or request.
#include <unistd.h>

#include "lathe/safetensors.h"
#include "lt_test.h"

static const char *tmpdir;

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next = 0;
    char *b = buf[next++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
    return b;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(2);
    }
    fclose(f);
}

// Writes [declared header length][header bytes][data bytes] to path.
static void write_file(const char *path, uint64_t declared, const char *header, size_t header_len,
                       const void *data, size_t data_len) {
    uint8_t *buf = calloc(1, 8 + header_len + data_len);
    memcpy(buf, &declared, 8);
    memcpy(buf + 8, header, header_len);
    if (data_len) memcpy(buf + 8 + header_len, data, data_len);
    write_bytes(path, buf, 8 + header_len + data_len);
    free(buf);
}

// Opens a file made of `header` (its true length declared) and data_len zero
// bytes; returns the status (closing the set when it opened).
static lt_status open_header(const char *header, size_t data_len) {
    const char *path = tmp_path("case.safetensors");
    uint8_t *zeros = calloc(1, data_len + 1);
    write_file(path, strlen(header), header, strlen(header), zeros, data_len);
    free(zeros);
    lt_safetensors *st = NULL;
    lt_status s = lt_safetensors_open(&st, path);
    lt_safetensors_close(st);
    return s;
}

static uint8_t *read_whole(const char *path, size_t *size) {
    char *text = NULL;
    lt_status s = lt_file_read_all(path, &text, size, 1 << 24);
    if (s) {
        fprintf(stderr, "%s\n", lt_status_message(s));
        exit(2);
    }
    return (uint8_t *)text;
}

static lt_st_entry entry(const char *name, lt_dtype dtype, int ndim, const int64_t *shape,
                         const void *data) {
    lt_st_entry e = {name, dtype, ndim, {0}, data};
    for (int d = 0; d < ndim; d++) e.shape[d] = shape[d];
    return e;
}

// ---------------------------------------------------------------- round trips

static void test_roundtrip_f32(void) {
    const float a[6] = {1.0f,    -0.0f, INFINITY, from_bits(0x7fc01234), from_bits(0x00000001),
                        -3.0e38f};
    const float scalar = 42.5f;
    const int64_t shape_a[2] = {2, 3}, shape_empty[2] = {0, 3};
    lt_st_entry e[3] = {entry("a", LT_F32, 2, shape_a, a),
                        entry("scalar", LT_F32, 0, NULL, &scalar),
                        entry("empty", LT_F32, 2, shape_empty, NULL)};
    const char *meta[] = {"format", "pt", "note", "quote \" and \\ and\nnewline", NULL};
    const char *path = tmp_path("f32.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, e, 3, meta));

    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    LT_CHECK_INT(lt_safetensors_count(st), 3);
    const lt_st_tensor *t = lt_safetensors_find(st, "a");
    LT_CHECK(t && t->dtype == LT_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 &&
             t->nbytes == 24);
    float got[6];
    LT_CHECK_OK(lt_safetensors_read_f32(st, "a", got, 2, shape_a));
    for (int i = 0; i < 6; i++) LT_CHECK_INT(bits_of(got[i]), bits_of(a[i])); // NaN payloads too

    t = lt_safetensors_find(st, "scalar");
    LT_CHECK(t && t->ndim == 0 && t->nbytes == 4);
    float s = 0;
    LT_CHECK_OK(lt_safetensors_read_f32(st, "scalar", &s, 0, NULL));
    LT_CHECK(s == 42.5f);

    t = lt_safetensors_find(st, "empty");
    LT_CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 3 && t->nbytes == 0);
    LT_CHECK_OK(lt_safetensors_read_f32(st, "empty", NULL, 2, shape_empty));

    LT_CHECK_STR(lt_safetensors_metadata(st, "format"), "pt");
    LT_CHECK_STR(lt_safetensors_metadata(st, "note"), "quote \" and \\ and\nnewline");
    LT_CHECK(lt_safetensors_metadata(st, "absent") == NULL);
    LT_CHECK(lt_safetensors_find(st, "b") == NULL);
    lt_safetensors_close(st);
}

// BF16 bit patterns worked out by hand, ties included; bytes little-endian.
static void test_roundtrip_bf16(void) {
    const float v[6] = {1.5f, -2.25f, 3.140625f, from_bits(0x3f808000), from_bits(0x3f818000),
                        0.0f};
    const uint16_t want[6] = {
        0x3fc0, 0xc010, 0x4049, 0x3f80 /* tie -> even */, 0x3f82 /* tie -> even */, 0x0000};
    const float scalar = -1.0f;
    const int64_t shape[1] = {6}, shape_empty[1] = {0};
    lt_st_entry e[3] = {entry("v", LT_BF16, 1, shape, v), entry("s", LT_BF16, 0, NULL, &scalar),
                        entry("e", LT_BF16, 1, shape_empty, NULL)};
    const char *path = tmp_path("bf16.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, e, 3, NULL));
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    const lt_st_tensor *t = lt_safetensors_find(st, "v");
    LT_CHECK(t && t->dtype == LT_BF16 && t->nbytes == 12);
    for (int i = 0; t && i < 6; i++) {
        LT_CHECK_INT(t->data[2 * i], want[i] & 0xff);
        LT_CHECK_INT(t->data[2 * i + 1], want[i] >> 8);
    }
    float got[6];
    LT_CHECK_OK(lt_safetensors_read_f32(st, "v", got, 1, shape));
    for (int i = 0; i < 6; i++) LT_CHECK_INT(bits_of(got[i]), (uint32_t)want[i] << 16);
    float s = 0;
    LT_CHECK_OK(lt_safetensors_read_f32(st, "s", &s, 0, NULL));
    LT_CHECK(s == -1.0f);
    t = lt_safetensors_find(st, "e");
    LT_CHECK(t && t->nbytes == 0 && t->ndim == 1 && t->shape[0] == 0);
    lt_safetensors_close(st);
}

static void test_roundtrip_f16(void) {
    const float v[6] = {1.0f, 65504.0f, 0x1p-24f, -2.0f, 0.1f, -0.0f};
    // 0.1 = 1.6 * 2^-4: mantissa 0.6 * 1024 = 614.4 -> 614 = 0x266, exponent 11 -> 0x2e66,
    // which widens to 1 + 0x266/1024 = 0x1.998p-4
    const uint16_t want[6] = {0x3c00, 0x7bff, 0x0001, 0xc000, 0x2e66, 0x8000};
    const float expect[6] = {1.0f, 65504.0f, 0x1p-24f, -2.0f, 0x1.998p-4f, -0.0f};
    const int64_t shape[2] = {3, 2};
    lt_st_entry e = entry("h", LT_F16, 2, shape, v);
    const char *path = tmp_path("f16.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, &e, 1, NULL));
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    const lt_st_tensor *t = lt_safetensors_get(st, 0);
    LT_CHECK(t && t->dtype == LT_F16 && strcmp(t->name, "h") == 0);
    for (int i = 0; t && i < 6; i++) {
        uint16_t h;
        memcpy(&h, t->data + 2 * i, 2);
        LT_CHECK_INT(h, want[i]);
    }
    float got[6];
    LT_CHECK_OK(lt_safetensors_read_f32(st, "h", got, 2, shape));
    for (int i = 0; i < 6; i++) LT_CHECK_INT(bits_of(got[i]), bits_of(expect[i]));
    lt_safetensors_close(st);
}

static void test_roundtrip_i32(void) {
    const int32_t v[5] = {INT32_MIN, -1, 0, 7, INT32_MAX};
    const int32_t scalar = -123456;
    const float f[1] = {2.0f};
    const int64_t shape[1] = {5}, one[1] = {1};
    lt_st_entry e[3] = {entry("ids", LT_I32, 1, shape, v), entry("n", LT_I32, 0, NULL, &scalar),
                        entry("w", LT_F32, 1, one, f)};
    const char *path = tmp_path("i32.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, e, 3, NULL));
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    int32_t got[5] = {0};
    LT_CHECK_OK(lt_safetensors_read_i32(st, "ids", got, 1, shape));
    for (int i = 0; i < 5; i++) LT_CHECK_INT(got[i], v[i]);
    int32_t n = 0;
    LT_CHECK_OK(lt_safetensors_read_i32(st, "n", &n, 0, NULL));
    LT_CHECK_INT(n, -123456);
    float x[5];
    LT_CHECK_ERR(lt_safetensors_read_f32(st, "ids", x, 1, shape), LT_ERR_UNSUPPORTED,
                 "tensor 'ids' is I32");
    LT_CHECK_ERR(lt_safetensors_read_i32(st, "w", got, 1, one), LT_ERR_UNSUPPORTED,
                 "tensor 'w' is F32, not I32");
    lt_safetensors_close(st);
}

// ---------------------------------------------------------------- exact bytes

static void check_file_bytes(const char *path, const uint8_t *want, size_t n) {
    size_t size = 0;
    uint8_t *got = read_whole(path, &size);
    LT_CHECK_INT(size, n);
    LT_CHECK_MSG(size == n && memcmp(got, want, n) == 0, "%s: bytes differ from the expected file",
                 path);
    lt_free(got);
}

// The files the reference implementation produces for the same tensors
// (from the format spec and its serialization tests): compact JSON, the
// header padded with spaces to a multiple of 8, then the raw data.
static void test_write_known_bytes(void) {
    const float v[6] = {0, 1, 2, 3, 4, 5};
    const int64_t shape[3] = {1, 2, 3};
    lt_st_entry e = entry("attn.0", LT_F32, 3, shape, v);
    const char *header =
        "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    const uint8_t data[24] = {0, 0, 0,    0,    0, 0, 0x80, 0x3f, 0, 0, 0,    0x40,
                              0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40};
    uint8_t want[8 + 64 + 24] = {64};
    memcpy(want + 8, header, 64);
    memcpy(want + 72, data, 24);
    const char *path = tmp_path("known.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, &e, 1, NULL));
    check_file_bytes(path, want, sizeof want);

    const uint8_t empty[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    LT_CHECK_OK(lt_safetensors_write(path, NULL, 0, NULL));
    check_file_bytes(path, empty, sizeof empty);

    const char *meta[] = {"framework", "pt", NULL};
    uint8_t with_meta[8 + 40] = {40};
    memcpy(with_meta + 8, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 40);
    LT_CHECK_OK(lt_safetensors_write(path, NULL, 0, meta));
    check_file_bytes(path, with_meta, sizeof with_meta);
}

// Layout is by element size, then name; any input order gives the same bytes.
static void test_write_deterministic(void) {
    const float b[3] = {1, 2, 3}, a[2] = {4, 5}, d[1] = {6};
    const int32_t c[1] = {7};
    const int64_t s3[1] = {3}, s2[1] = {2}, s1[1] = {1};
    lt_st_entry e[4] = {entry("b", LT_BF16, 1, s3, b), entry("a", LT_F32, 1, s2, a),
                        entry("d", LT_F16, 1, s1, d), entry("c", LT_I32, 1, s1, c)};
    lt_st_entry r[4] = {e[3], e[2], e[1], e[0]};
    const char *p1 = tmp_path("det1.safetensors"), *p2 = tmp_path("det2.safetensors");
    const char *p3 = tmp_path("det3.safetensors");
    LT_CHECK_OK(lt_safetensors_write(p1, e, 4, NULL));
    LT_CHECK_OK(lt_safetensors_write(p2, e, 4, NULL));
    LT_CHECK_OK(lt_safetensors_write(p3, r, 4, NULL));
    size_t n1, n2, n3;
    uint8_t *x = read_whole(p1, &n1), *y = read_whole(p2, &n2), *z = read_whole(p3, &n3);
    LT_CHECK(n1 == n2 && memcmp(x, y, n1) == 0);
    LT_CHECK(n1 == n3 && memcmp(x, z, n1) == 0);
    uint64_t header_len;
    memcpy(&header_len, x, 8);
    LT_CHECK_INT(header_len % 8, 0);
    LT_CHECK_INT(n1, 8 + header_len + 8 + 4 + 6 + 2);
    lt_free(x);
    lt_free(y);
    lt_free(z);

    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, p1));
    if (!st) return;
    const char *order[4] = {"a", "c", "b", "d"};
    const uint64_t offset[4] = {0, 8, 12, 18};
    const lt_st_tensor *first = lt_safetensors_get(st, 0);
    for (size_t i = 0; i < 4; i++) {
        const lt_st_tensor *t = lt_safetensors_get(st, i);
        LT_CHECK_STR(t->name, order[i]);
        LT_CHECK_INT(t->data - first->data, offset[i]);
    }
    LT_CHECK(lt_safetensors_get(st, 4) == NULL);
    lt_safetensors_close(st);
}

static void test_write_errors(void) {
    const float v[2] = {1, 2};
    const int64_t s2[1] = {2}, neg[2] = {2, -1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const char *path = tmp_path("bad-write.safetensors");
    lt_st_entry dup[2] = {entry("w", LT_F32, 1, s2, v), entry("w", LT_BF16, 1, s2, v)};
    LT_CHECK_ERR(lt_safetensors_write(path, dup, 2, NULL), LT_ERR_ARG, "tensor 'w' is given twice");
    lt_st_entry q = entry("q", LT_Q8_0, 1, s2, v);
    LT_CHECK_ERR(lt_safetensors_write(path, &q, 1, NULL), LT_ERR_UNSUPPORTED, "dtype q8_0");
    lt_st_entry n = entry("n", LT_F32, 2, neg, v);
    LT_CHECK_ERR(lt_safetensors_write(path, &n, 1, NULL), LT_ERR_ARG, "shape[1] is -1");
    lt_st_entry deep = entry("deep", LT_F32, 8, nine, v);
    deep.ndim = 9;
    LT_CHECK_ERR(lt_safetensors_write(path, &deep, 1, NULL), LT_ERR_ARG, "9 dimensions");
    lt_st_entry null_data = entry("z", LT_F32, 1, s2, NULL);
    LT_CHECK_ERR(lt_safetensors_write(path, &null_data, 1, NULL), LT_ERR_ARG, "data is NULL");
    lt_st_entry reserved = entry("__metadata__", LT_F32, 1, s2, v);
    LT_CHECK_ERR(lt_safetensors_write(path, &reserved, 1, NULL), LT_ERR_ARG, "reserved");
    lt_st_entry ok = entry("ok", LT_F32, 1, s2, v);
    const char *no_value[] = {"k", NULL};
    LT_CHECK_ERR(lt_safetensors_write(path, &ok, 1, no_value), LT_ERR_ARG, "'k' has no value");
    const char *twice[] = {"k", "1", "k", "2", NULL};
    LT_CHECK_ERR(lt_safetensors_write(path, &ok, 1, twice), LT_ERR_ARG, "'k' is given twice");
    LT_CHECK_ERR(lt_safetensors_write(tmp_path("no/such/dir/x.safetensors"), &ok, 1, NULL),
                 LT_ERR_IO, "cannot create");
    LT_CHECK(!lt_path_exists(path)); // nothing written, not even a partial file
}

// ---------------------------------------------------------------- hand-built files

// A header of odd length puts the data at odd addresses; the tensors are
// listed out of offset order and the entry keys in an unusual order.
static void test_read_unaligned(void) {
    const char *header = "{\"y\":{\"shape\":[2],\"dtype\":\"F32\",\"data_offsets\":[6,14]},"
                         "\"z\":{\"data_offsets\":[14,16],\"dtype\":\"F16\",\"shape\":[]},"
                         "\"x\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}";
    // x: bf16 1.0, -2.0, 0.5; y: f32 1.5, -0.25; z: f16 1.0
    const uint8_t data[16] = {0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f, 0,    0,
                              0xc0, 0x3f, 0,    0,    0x80, 0xbe, 0x00, 0x3c};
    LT_CHECK(strlen(header) % 2 == 1);
    const char *path = tmp_path("unaligned.safetensors");
    write_file(path, strlen(header), header, strlen(header), data, sizeof data);
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    LT_CHECK_STR(lt_safetensors_get(st, 0)->name, "x");
    LT_CHECK_STR(lt_safetensors_get(st, 1)->name, "y");
    LT_CHECK_STR(lt_safetensors_get(st, 2)->name, "z");
    LT_CHECK(((uintptr_t)lt_safetensors_find(st, "x")->data & 1) == 1);
    const int64_t s3[1] = {3}, s2[1] = {2};
    float x[3], y[2], z;
    LT_CHECK_OK(lt_safetensors_read_f32(st, "x", x, 1, s3));
    LT_CHECK(x[0] == 1.0f && x[1] == -2.0f && x[2] == 0.5f);
    LT_CHECK_OK(lt_safetensors_read_f32(st, "y", y, 1, s2));
    LT_CHECK(y[0] == 1.5f && y[1] == -0.25f);
    LT_CHECK_OK(lt_safetensors_read_f32(st, "z", &z, 0, NULL));
    LT_CHECK(z == 1.0f);
    lt_safetensors_close(st);
}

// Space padding after the JSON, an empty object, metadata anywhere, extra entry keys.
static void test_read_lenient_forms(void) {
    LT_CHECK_OK(open_header("{}", 0));
    LT_CHECK_OK(open_header("{}      ", 0));
    LT_CHECK_OK(open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4],"
                            "\"extra\":true},\"__metadata__\":{}}  ",
                            4));
}

// ---------------------------------------------------------------- malformed files

static void test_bad_too_short(void) {
    const char *path = tmp_path("short.safetensors");
    write_bytes(path, "\x02\0\0\0\0", 5);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open(&st, path), LT_ERR_FORMAT, "5 bytes, too short");
    LT_CHECK(st == NULL);
}

static void test_bad_header_cut(void) {
    const char *path = tmp_path("cut.safetensors");
    const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    write_file(path, 100, header, 20, NULL, 0);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open(&st, path), LT_ERR_FORMAT,
                 "header length 100 goes past the end of the 28-byte file");
}

static void test_bad_data_cut(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 10),
        LT_ERR_FORMAT, "go past the end of the 10-byte data section (file truncated?)");
}

static void test_bad_header_huge(void) {
    const char *path = tmp_path("huge.safetensors");
    lt_safetensors *st = NULL;
    write_file(path, (uint64_t)1 << 63, "{}", 2, NULL, 0);
    LT_CHECK_ERR(lt_safetensors_open(&st, path), LT_ERR_FORMAT, "over the 100000000-byte limit");
    write_file(path, 100000001, "{}", 2, NULL, 0);
    LT_CHECK_ERR(lt_safetensors_open(&st, path), LT_ERR_FORMAT, "header length 100000001");
}

static void test_bad_header_zero(void) {
    const char *path = tmp_path("zero.safetensors");
    write_file(path, 0, "", 0, "{}", 2);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open(&st, path), LT_ERR_FORMAT, "header length is 0");
}

static void test_bad_json(void) {
    LT_CHECK_ERR(open_header("{\"a\": {\"dtype\": ", 0), LT_ERR_FORMAT, "not valid JSON");
}

static void test_bad_json_array(void) {
    LT_CHECK_ERR(open_header("[1, 2]", 0), LT_ERR_FORMAT,
                 "header must be a JSON object, found an array");
}

static void test_bad_trailing_text(void) {
    LT_CHECK_ERR(open_header("{}  x", 0), LT_ERR_FORMAT, "bytes after its JSON object (byte 4");
}

static void test_bad_utf8(void) {
    LT_CHECK_ERR(open_header("{\"a\xff\":{}}", 0), LT_ERR_FORMAT,
                 "not valid UTF-8 text (byte 3 of the header)");
}

static void test_bad_entry_not_object(void) {
    LT_CHECK_ERR(open_header("{\"a\": 5}", 0), LT_ERR_FORMAT,
                 "tensor 'a': entry must be an object, found a number");
}

static void test_bad_missing_dtype(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), LT_ERR_FORMAT,
                 "tensor 'a': missing field 'dtype'");
}

static void test_bad_dtype_type(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                 LT_ERR_FORMAT, "tensor 'a': field 'dtype' must be a string, found a number");
}

static void test_bad_unknown_dtype(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                 LT_ERR_FORMAT,
                 "tensor 'a': unknown dtype 'F31' (lathe reads F32, BF16, F16 or I32)");
}

static void test_bad_unsupported_dtype(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8),
                 LT_ERR_UNSUPPORTED, "tensor 'a': dtype F64 is not supported (lathe reads F32");
}

static void test_bad_missing_shape(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4),
                 LT_ERR_FORMAT, "tensor 'a': missing field 'shape'");
}

static void test_bad_shape_not_array(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16),
                 LT_ERR_FORMAT, "tensor 'a': field 'shape' must be an array, found a number");
}

static void test_bad_negative_dim(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", 16),
        LT_ERR_FORMAT, "tensor 'a': shape[1] is -2");
}

static void test_bad_fractional_dim(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4),
        LT_ERR_FORMAT, "tensor 'a': shape[0] is 1.5");
}

static void test_bad_dim_not_number(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", 16),
        LT_ERR_FORMAT, "tensor 'a': shape[0] must be a number, found a string");
}

static void test_bad_too_many_dims(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                             "\"data_offsets\":[0,4]}}",
                             4),
                 LT_ERR_UNSUPPORTED, "tensor 'a': 9 dimensions, lathe handles at most 8");
}

static void test_bad_shape_overflow(void) {
    // (2^40)^3 elements: 2^120, far past 64 bits, though each dimension is exact in JSON
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,"
                             "1099511627776],\"data_offsets\":[0,4]}}",
                             4),
                 LT_ERR_FORMAT,
                 "tensor 'a': shape [1099511627776, 1099511627776, 1099511627776] "
                 "overflows 64 bits");
}

static void test_bad_offsets_missing(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), LT_ERR_FORMAT,
                 "tensor 'a': missing field 'data_offsets'");
}

static void test_bad_offsets_type(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4),
                 LT_ERR_FORMAT, "tensor 'a': field 'data_offsets' must be [begin, end]");
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
        LT_ERR_FORMAT, "tensor 'a': field 'data_offsets' must be [begin, end]");
}

static void test_bad_offsets_reversed(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8),
                 LT_ERR_FORMAT, "tensor 'a': data_offsets [8, 4] end before they begin");
}

static void test_bad_offsets_out_of_range(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                             "\"data_offsets\":[1000000,1000004]}}",
                             4),
                 LT_ERR_FORMAT,
                 "tensor 'a': data_offsets [1000000, 1000004] go past the end of the 4-byte");
}

static void test_bad_size_mismatch(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12),
        LT_ERR_FORMAT,
        "tensor 'a': data_offsets [0, 12] hold 12 bytes, but shape [2, 2] of I32 needs 16");
}

static void test_bad_overlap(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                             12),
                 LT_ERR_FORMAT, "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
}

static void test_bad_hole(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                             20),
                 LT_ERR_FORMAT,
                 "bytes [8, 12) of the data section belong to no tensor (a hole "
                 "before 'b')");
}

static void test_bad_hole_at_start(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
        LT_ERR_FORMAT, "bytes [0, 4) of the data section belong to no tensor");
}

static void test_bad_trailing_data(void) {
    LT_CHECK_ERR(
        open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12),
        LT_ERR_FORMAT, "the last 4 bytes of the 12-byte data section belong to no tensor");
}

static void test_bad_duplicate_name(void) {
    LT_CHECK_ERR(open_header("{\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                             "\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                             16),
                 LT_ERR_FORMAT, "the header lists tensor 'a' twice");
}

static void test_bad_metadata_value(void) {
    LT_CHECK_ERR(open_header("{\"__metadata__\":{\"format\":\"pt\",\"step\":5}}", 0), LT_ERR_FORMAT,
                 "__metadata__ value of 'step' must be a string, found a number");
}

static void test_bad_metadata_not_object(void) {
    LT_CHECK_ERR(open_header("{\"__metadata__\":[\"pt\"]}", 0), LT_ERR_FORMAT,
                 "__metadata__ must be an object of strings, found an array");
}

static void test_bad_metadata_duplicate_key(void) {
    LT_CHECK_ERR(open_header("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), LT_ERR_FORMAT,
                 "__metadata__ lists key 'k' twice");
}

static void test_bad_not_a_file(void) {
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open(&st, tmp_path("missing.safetensors")), LT_ERR_IO,
                 "cannot open");
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, tmpdir), LT_ERR_IO,
                 "no model.safetensors or model.safetensors.index.json");
}

// The message names the file as well as the problem.
static void test_bad_message_names_file(void) {
    lt_status s = open_header("[]", 0);
    LT_CHECK(s && strstr(lt_status_message(s), "case.safetensors: header must be a JSON object"));
    lt_status_free(s);
}

// ---------------------------------------------------------------- read requests

static void test_read_wrong_shape(void) {
    const float v[6] = {0};
    const int64_t shape[2] = {2, 3}, swapped[2] = {3, 2}, flat[1] = {6};
    lt_st_entry e = entry("w", LT_F32, 2, shape, v);
    const char *path = tmp_path("shape.safetensors");
    LT_CHECK_OK(lt_safetensors_write(path, &e, 1, NULL));
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open(&st, path));
    if (!st) return;
    float out[6];
    LT_CHECK_ERR(lt_safetensors_read_f32(st, "w", out, 2, swapped), LT_ERR_FORMAT,
                 "shape.safetensors: tensor 'w' has shape [2, 3], expected [3, 2]");
    LT_CHECK_ERR(lt_safetensors_read_f32(st, "w", out, 1, flat), LT_ERR_FORMAT,
                 "tensor 'w' has shape [2, 3], expected [6]");
    LT_CHECK_ERR(lt_safetensors_read_f32(st, "nope", out, 1, flat), LT_ERR_FORMAT,
                 "no tensor named 'nope'");
    lt_safetensors_close(st);
}

// ---------------------------------------------------------------- sharded directories

// A directory with s1.safetensors (a, b) and s2.safetensors (c, plus `extra`
// when given) and the index text given.
static const char *make_shard_dir(const char *name, const char *index_json, const char *extra) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    lt_status s = lt_mkdir_p(dir);
    if (s) {
        fprintf(stderr, "%s\n", lt_status_message(s));
        exit(2);
    }
    const float v[4] = {1, 2, 3, 4};
    const int64_t s2[1] = {2}, s4[1] = {4};
    lt_st_entry first[2] = {entry("a", LT_F32, 1, s2, v), entry("b", LT_BF16, 1, s4, v)};
    lt_st_entry second[2] = {entry("c", LT_F16, 1, s2, v),
                             entry(extra ? extra : "", LT_F32, 1, s2, v)};
    char path[600];
    snprintf(path, sizeof path, "%s/s1.safetensors", dir);
    const char *meta1[] = {"format", "pt", NULL};
    LT_CHECK_OK(lt_safetensors_write(path, first, 2, meta1));
    snprintf(path, sizeof path, "%s/s2.safetensors", dir);
    LT_CHECK_OK(lt_safetensors_write(path, second, extra ? 2 : 1, NULL));
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    write_bytes(path, index_json, strlen(index_json));
    return dir;
}

static const char *good_index =
    "{\"metadata\": {\"total_size\": 20, \"note\": \"hi\"},\n"
    " \"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\",\n"
    "                \"c\": \"s2.safetensors\"}}\n";

static void test_index_good(void) {
    const char *dir = make_shard_dir("good", good_index, NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open_dir(&st, dir));
    if (!st) return;
    LT_CHECK_INT(lt_safetensors_count(st), 3);
    LT_CHECK_STR(lt_safetensors_get(st, 0)->name, "a"); // s1 first, F32 before BF16
    LT_CHECK_STR(lt_safetensors_get(st, 1)->name, "b");
    LT_CHECK_STR(lt_safetensors_get(st, 2)->name, "c");
    LT_CHECK(strstr(lt_safetensors_find(st, "c")->file, "/s2.safetensors") != NULL);
    LT_CHECK_STR(lt_safetensors_metadata(st, "total_size"), "20");
    LT_CHECK_STR(lt_safetensors_metadata(st, "note"), "hi");
    LT_CHECK_STR(lt_safetensors_metadata(st, "format"), "pt"); // from shard s1
    float c[2];
    const int64_t s2[1] = {2};
    LT_CHECK_OK(lt_safetensors_read_f32(st, "c", c, 1, s2));
    LT_CHECK(c[0] == 1.0f && c[1] == 2.0f);
    lt_safetensors_close(st);
}

static void test_index_missing_shard(void) {
    const char *dir =
        make_shard_dir("missing-shard",
                       "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", "
                       "\"c\": \"s3.safetensors\"}}",
                       NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_IO, "names shard 's3.safetensors'");
    lt_status s = lt_safetensors_open_dir(&st, dir);
    LT_CHECK(s && strstr(lt_status_message(s), "s3.safetensors: cannot open"));
    lt_status_free(s);
}

static void test_index_escapes_dir(void) {
    const char *dir = make_shard_dir(
        "escape",
        "{\"weight_map\": {\"a\": \"../good/s1.safetensors\", \"b\": \"s1.safetensors\", "
        "\"c\": \"s2.safetensors\"}}",
        NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "weight_map['a'] names shard '../good/s1.safetensors', which is not a plain "
                 "file name");
    const char *dotdot = make_shard_dir(
        "dotdot",
        "{\"weight_map\": {\"a\": \"..\", \"b\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}}",
        NULL);
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dotdot), LT_ERR_FORMAT, "not a plain file name");
}

static void test_index_tensor_not_in_shard(void) {
    const char *dir =
        make_shard_dir("absent",
                       "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", "
                       "\"c\": \"s2.safetensors\", \"d\": \"s2.safetensors\"}}",
                       NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "weight_map puts tensor 'd' in shard 's2.safetensors', which does not contain it");
}

static void test_index_wrong_shard(void) {
    const char *dir =
        make_shard_dir("wrong-shard",
                       "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", "
                       "\"c\": \"s2.safetensors\", \"x\": \"s1.safetensors\"}}",
                       "x");
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "weight_map puts tensor 'x' in shard 's1.safetensors', but it is in");
}

static void test_index_unlisted_tensor(void) {
    const char *dir = make_shard_dir(
        "unlisted", "{\"weight_map\": {\"a\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}}",
        NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "holds tensor 'b', which weight_map lacks");
}

static void test_index_tensor_in_two_shards(void) {
    const char *dir = make_shard_dir("twice", good_index, "a");
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT, "tensor 'a' is in both");
}

static void test_index_duplicate_key(void) {
    const char *dir =
        make_shard_dir("dup-key",
                       "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", "
                       "\"c\": \"s2.safetensors\", \"a\": \"s2.safetensors\"}}",
                       NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "weight_map lists tensor 'a' twice");
}

static void test_index_no_weight_map(void) {
    const char *dir = make_shard_dir("no-map", "{\"metadata\": {}}", NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT, "missing field 'weight_map'");
}

static void test_index_shard_not_string(void) {
    const char *dir = make_shard_dir(
        "not-string", "{\"weight_map\": {\"a\": 1, \"b\": \"s1.safetensors\"}}", NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT,
                 "weight_map['a'] must be a shard file name, found a number");
}

static void test_index_invalid_json(void) {
    const char *dir = make_shard_dir("bad-json", "{\"weight_map\": {", NULL);
    lt_safetensors *st = NULL;
    LT_CHECK_ERR(lt_safetensors_open_dir(&st, dir), LT_ERR_FORMAT, "invalid JSON");
}

// A directory with model.safetensors opens that file.
static void test_open_dir_single_file(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/single", tmpdir);
    LT_CHECK_OK(lt_mkdir_p(dir));
    const float v[1] = {3};
    const int64_t s1[1] = {1};
    lt_st_entry e = entry("w", LT_F32, 1, s1, v);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    LT_CHECK_OK(lt_safetensors_write(path, &e, 1, NULL));
    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open_dir(&st, dir));
    LT_CHECK(st && lt_safetensors_count(st) == 1 && lt_safetensors_find(st, "w"));
    lt_safetensors_close(st);
}

// ---------------------------------------------------------------- the numpy fixture

// tests/fixtures/make_sharded_checkpoint.py's formula for element i of tensor
// t, recomputed here: sin((37 i + 130 t) / 100) * 0.05 in double, to f32,
// then to bf16 by lathe's rounding rule.
static float fixture_value(int64_t t, int64_t i) {
    double arg = (double)(37 * i + 130 * t) / 100.0;
    float f = (float)(sin(arg) * 0.05);
    return lt_bf16_to_f32(lt_f32_to_bf16(f));
}

static void test_fixture_sharded(void) {
    // The tiny preset: hidden 64, 2 layers, 4 heads / 2 kv heads of 16, ffn 128, vocab 512.
    struct {
        const char *suffix;
        int ndim;
        int64_t shape[2];
    } layer[9] = {
        {"input_layernorm.weight", 1, {64}},      {"self_attn.q_proj.weight", 2, {64, 64}},
        {"self_attn.k_proj.weight", 2, {32, 64}}, {"self_attn.v_proj.weight", 2, {32, 64}},
        {"self_attn.o_proj.weight", 2, {64, 64}}, {"post_attention_layernorm.weight", 1, {64}},
        {"mlp.gate_proj.weight", 2, {128, 64}},   {"mlp.up_proj.weight", 2, {128, 64}},
        {"mlp.down_proj.weight", 2, {64, 128}}};
    char names[20][96];
    int ndims[20];
    int64_t shapes[20][2];
    const char *shard_of[20];
    int n = 0;
    snprintf(names[n], sizeof names[n], "model.embed_tokens.weight");
    ndims[n] = 2, shapes[n][0] = 512, shapes[n][1] = 64, shard_of[n++] = "model-00001-of-00002";
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < 9; k++, n++) {
            snprintf(names[n], sizeof names[n], "model.layers.%d.%s", l, layer[k].suffix);
            ndims[n] = layer[k].ndim;
            shapes[n][0] = layer[k].shape[0], shapes[n][1] = layer[k].shape[1];
            shard_of[n] = l == 0 ? "model-00001-of-00002" : "model-00002-of-00002";
        }
    }
    snprintf(names[n], sizeof names[n], "model.norm.weight");
    ndims[n] = 1, shapes[n][0] = 64, shard_of[n++] = "model-00002-of-00002";

    lt_safetensors *st = NULL;
    LT_CHECK_OK(lt_safetensors_open_dir(&st, lt_test_path("tests/fixtures/sharded-bf16")));
    if (!st) return;
    LT_CHECK_INT(lt_safetensors_count(st), n); // tied embeddings: no lm_head.weight
    LT_CHECK(lt_safetensors_find(st, "lm_head.weight") == NULL);
    // 106816 bf16 parameters: 512*64 + 2*(2*64 + 2*64*64 + 2*32*64 + 3*128*64) + 64
    LT_CHECK_STR(lt_safetensors_metadata(st, "total_size"), "213632");
    LT_CHECK_STR(lt_safetensors_metadata(st, "format"), "pt");
    float *buf = malloc(512 * 64 * sizeof *buf);
    for (int t = 0; t < n; t++) {
        const lt_st_tensor *tensor = lt_safetensors_find(st, names[t]);
        LT_CHECK_MSG(tensor != NULL, "fixture lacks %s", names[t]);
        if (!tensor) continue;
        LT_CHECK(tensor->dtype == LT_BF16);
        LT_CHECK_MSG(strstr(tensor->file, shard_of[t]) != NULL, "%s is in %s", names[t],
                     tensor->file);
        LT_CHECK_OK(lt_safetensors_read_f32(st, names[t], buf, ndims[t], shapes[t]));
        int64_t count = ndims[t] == 2 ? shapes[t][0] * shapes[t][1] : shapes[t][0];
        int64_t mismatches = 0, first = -1;
        for (int64_t i = 0; i < count; i++) {
            if (bits_of(buf[i]) != bits_of(fixture_value(t, i))) {
                if (first < 0) first = i;
                mismatches++;
            }
        }
        LT_CHECK_MSG(mismatches == 0,
                     "%s: %lld of %lld values differ from the formula (first at "
                     "%lld: %.9g vs %.9g)",
                     names[t], (long long)mismatches, (long long)count, (long long)first,
                     first >= 0 ? buf[first] : 0.0, first >= 0 ? fixture_value(t, first) : 0.0);
    }
    free(buf);
    lt_safetensors_close(st);

    // A shard opens on its own too.
    LT_CHECK_OK(lt_safetensors_open(
        &st, lt_test_path("tests/fixtures/sharded-bf16/model-00002-of-00002.safetensors")));
    LT_CHECK(st && lt_safetensors_count(st) == 10);
    lt_safetensors_close(st);
}

// Removes the files this run made (the directory tree is shallow and ours).
static void remove_tmpdir(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void) {
    tmpdir = lt_test_tmpdir();
    LT_RUN(test_roundtrip_f32);
    LT_RUN(test_roundtrip_bf16);
    LT_RUN(test_roundtrip_f16);
    LT_RUN(test_roundtrip_i32);
    LT_RUN(test_write_known_bytes);
    LT_RUN(test_write_deterministic);
    LT_RUN(test_write_errors);
    LT_RUN(test_read_unaligned);
    LT_RUN(test_read_lenient_forms);
    LT_RUN(test_read_wrong_shape);
    LT_RUN(test_bad_too_short);
    LT_RUN(test_bad_header_cut);
    LT_RUN(test_bad_data_cut);
    LT_RUN(test_bad_header_huge);
    LT_RUN(test_bad_header_zero);
    LT_RUN(test_bad_json);
    LT_RUN(test_bad_json_array);
    LT_RUN(test_bad_trailing_text);
    LT_RUN(test_bad_utf8);
    LT_RUN(test_bad_entry_not_object);
    LT_RUN(test_bad_missing_dtype);
    LT_RUN(test_bad_dtype_type);
    LT_RUN(test_bad_unknown_dtype);
    LT_RUN(test_bad_unsupported_dtype);
    LT_RUN(test_bad_missing_shape);
    LT_RUN(test_bad_shape_not_array);
    LT_RUN(test_bad_negative_dim);
    LT_RUN(test_bad_fractional_dim);
    LT_RUN(test_bad_dim_not_number);
    LT_RUN(test_bad_too_many_dims);
    LT_RUN(test_bad_shape_overflow);
    LT_RUN(test_bad_offsets_missing);
    LT_RUN(test_bad_offsets_type);
    LT_RUN(test_bad_offsets_reversed);
    LT_RUN(test_bad_offsets_out_of_range);
    LT_RUN(test_bad_size_mismatch);
    LT_RUN(test_bad_overlap);
    LT_RUN(test_bad_hole);
    LT_RUN(test_bad_hole_at_start);
    LT_RUN(test_bad_trailing_data);
    LT_RUN(test_bad_duplicate_name);
    LT_RUN(test_bad_metadata_value);
    LT_RUN(test_bad_metadata_not_object);
    LT_RUN(test_bad_metadata_duplicate_key);
    LT_RUN(test_bad_not_a_file);
    LT_RUN(test_bad_message_names_file);
    LT_RUN(test_index_good);
    LT_RUN(test_index_missing_shard);
    LT_RUN(test_index_escapes_dir);
    LT_RUN(test_index_tensor_not_in_shard);
    LT_RUN(test_index_wrong_shard);
    LT_RUN(test_index_unlisted_tensor);
    LT_RUN(test_index_tensor_in_two_shards);
    LT_RUN(test_index_duplicate_key);
    LT_RUN(test_index_no_weight_map);
    LT_RUN(test_index_shard_not_string);
    LT_RUN(test_index_invalid_json);
    LT_RUN(test_open_dir_single_file);
    LT_RUN(test_fixture_sharded);
    remove_tmpdir();
    return lt_test_finish();
}
