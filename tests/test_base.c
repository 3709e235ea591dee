// test_base.c: status messages, allocation, bf16/f16 conversion (scalar vs
// SIMD, and known values), RNG determinism, crash-safe files, JSON getters.
#include <unistd.h>

#include "base/json.h"
#include "lt_test.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_status(void) {
    lt_status s = lt_error(LT_ERR_FORMAT, "tensor '%s' has %d bytes", "w", 7);
    s = lt_error_prefix(s, "%s", "model.safetensors");
    LT_CHECK_STR(lt_status_message(s), "model.safetensors: tensor 'w' has 7 bytes");
    LT_CHECK_INT(lt_status_code(s), LT_ERR_FORMAT);
    lt_status_free(s);
    LT_CHECK_STR(lt_status_message(NULL), "ok");
    LT_CHECK(lt_error_prefix(NULL, "x") == NULL);
}

static void test_alloc(void) {
    void *p;
    LT_CHECK_OK(lt_alloc(&p, 100, "buffer"));
    LT_CHECK(((uintptr_t)p % 64) == 0);
    lt_free(p);
    LT_CHECK_ERR(lt_calloc(&p, SIZE_MAX / 2, 4, "huge"), LT_ERR_NOMEM, "huge");
    LT_CHECK(p == NULL);
}

// Known bf16 values, worked out by hand from the bit patterns.
// An allocation failure names what and how many bytes, digits grouped by three.
static void test_nomem_message(void) {
    const struct {
        size_t bytes;
        const char *want;
    } cases[] = {
        {12582912, "out of memory allocating the KV cache (12,582,912 bytes)"},
        {999, "out of memory allocating the KV cache (999 bytes)"},
        {1000, "out of memory allocating the KV cache (1,000 bytes)"},
        {0, "out of memory allocating the KV cache"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lt_status st = lt_error_nomem("the KV cache", cases[i].bytes);
        LT_CHECK_INT(lt_status_code(st), LT_ERR_NOMEM);
        LT_CHECK_STR(lt_status_message(st), cases[i].want);
        lt_status_free(st);
    }
}

static void test_bf16_known(void) {
    LT_CHECK_INT(lt_f32_to_bf16(1.0f), 0x3f80);
    LT_CHECK_INT(lt_f32_to_bf16(-2.0f), 0xc000);
    // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even -> 1.0
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x3f808000)), 0x3f80);
    // 1.0078125 + half ulp: tie, odd lower -> rounds up to even 0x3f82
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x3f818000)), 0x3f82);
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x3f808001)), 0x3f81); // just above half: up
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x00000001)), 0x0000); // subnormal flushes
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x807fffff)), 0x8000); // negative subnormal
    LT_CHECK_INT(lt_f32_to_bf16(INFINITY), 0x7f80);
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x7f7fffff)), 0x7f80); // FLT_MAX rounds to inf
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0x7f800001)), 0x7fc0); // signalling NaN -> quiet
    LT_CHECK_INT(lt_f32_to_bf16(from_bits(0xffc12345)), 0xffc1);
    LT_CHECK(lt_bf16_to_f32(0x4049) == 3.140625f);
}

static void test_f16_known(void) {
    LT_CHECK_INT(lt_f32_to_f16(1.0f), 0x3c00);
    LT_CHECK_INT(lt_f32_to_f16(65504.0f), 0x7bff);
    LT_CHECK_INT(lt_f32_to_f16(65520.0f), 0x7c00); // halfway to 2^16 rounds to inf
    LT_CHECK_INT(lt_f32_to_f16(65519.0f), 0x7bff);
    LT_CHECK_INT(lt_f32_to_f16(0x1p-24f), 0x0001);   // smallest f16 subnormal
    LT_CHECK_INT(lt_f32_to_f16(0x1p-25f), 0x0000);   // exactly half of it: ties to even (0)
    LT_CHECK_INT(lt_f32_to_f16(0x1.8p-25f), 0x0001); // above half: up
    LT_CHECK_INT(lt_f32_to_f16(0x1.8p-24f), 0x0002); // 1.5 ulp: tie -> even 2
    LT_CHECK_INT(lt_f32_to_f16(0x1p-14f), 0x0400);   // smallest normal
    LT_CHECK_INT(lt_f32_to_f16(-0.0f), 0x8000);
    LT_CHECK_INT(lt_f32_to_f16(from_bits(0x7f800001)) & 0x7e00, 0x7e00);
    LT_CHECK(lt_f16_to_f32(0x0001) == 0x1p-24f);
    LT_CHECK(lt_f16_to_f32(0xc000) == -2.0f);
    LT_CHECK(isinf(lt_f16_to_f32(0x7c00)));
    // Every f16 value widens and narrows back to itself (NaNs stay NaN).
    for (uint32_t h = 0; h < 65536; h++) {
        float f = lt_f16_to_f32((uint16_t)h);
        uint16_t back = lt_f32_to_f16(f);
        if (isnan(f)) {
            LT_CHECK((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
        } else if (back != h) {
            LT_CHECK_INT(back, h);
            break;
        }
    }
}

// SIMD array conversion is bit-identical to the scalar rule on random bit
// patterns (every class: normals, subnormals, NaNs, infs, ties).
static void test_simd_matches_scalar(void) {
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x);
    uint16_t *a = malloc(N * 2), *b = malloc(N * 2);
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)lt_rng_u64(&rng);
        switch (i % 8) {
        case 0: u &= 0x807fffffu; break;                // subnormals
        case 1: u |= 0x7f800000u; break;                // inf / NaN
        case 2: u = (u & 0xffff0000u) | 0x8000u; break; // exact bf16 ties
        case 3: u = (u & 0xffffe000u) | 0x1000u; break; // exact f16 ties
        case 4:
            u = (u & 0x807fffffu) | (uint32_t)(100 + i % 20) << 23;
            break; // f16 subnormal range
        default: break;
        }
        memcpy(&x[i], &u, 4);
    }
    lt_f32_to_bf16_array(a, x, N - 3); // odd length exercises the tail
    lt_f32_to_bf16_array_ref(b, x, N - 3);
    LT_CHECK(memcmp(a, b, (N - 3) * 2) == 0);
    lt_f32_to_f16_array(a, x, N - 5);
    lt_f32_to_f16_array_ref(b, x, N - 5);
    int mismatches = 0;
    for (int i = 0; i < N - 5; i++) mismatches += a[i] != b[i];
    LT_CHECK_INT(mismatches, 0);
    // Widening arrays agree with the scalar widening.
    float *w = malloc(N * sizeof *w);
    lt_bf16_to_f32_array(w, a, N - 5);
    for (int i = 0; i < N - 5; i++)
        if (memcmp(&w[i], &(float){lt_bf16_to_f32(a[i])}, 4)) {
            mismatches++;
        }
    lt_f16_to_f32_array(w, a, N - 5);
    for (int i = 0; i < N - 5; i++) {
        float s = lt_f16_to_f32(a[i]);
        if (memcmp(&w[i], &s, 4) && !(isnan(w[i]) && isnan(s))) mismatches++;
    }
    LT_CHECK_INT(mismatches, 0);
    free(x);
    free(a);
    free(b);
    free(w);
}

static void test_rng(void) {
    lt_rng a, b;
    lt_rng_seed(&a, 42);
    lt_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) LT_CHECK(lt_rng_u64(&a) == lt_rng_u64(&b));
    // Mean and variance of the normal generator over 200k draws.
    double sum = 0, sq = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double v = lt_rng_normal(&a);
        sum += v;
        sq += v * v;
    }
    LT_CHECK_CLOSE(sum / n, 0.0, 0.01, 0);
    LT_CHECK_CLOSE(sq / n, 1.0, 0.02, 0);
    int counts[5] = {0};
    for (int i = 0; i < 50000; i++) counts[lt_rng_below(&a, 5)]++;
    for (int i = 0; i < 5; i++) LT_CHECK_CLOSE(counts[i], 10000, 400, 0);
}

static void test_files(void) {
    const char *dir = lt_test_tmpdir();
    char *path = lt_path_join(dir, "a/b/c.txt");
    char *sub = lt_path_join(dir, "a/b");
    LT_CHECK_OK(lt_mkdir_p(sub));
    LT_CHECK_OK(lt_file_write_all(path, "hello", 5));
    char *text;
    size_t n;
    LT_CHECK_OK(lt_file_read_all(path, &text, &n, 100));
    LT_CHECK_INT(n, 5);
    LT_CHECK_STR(text, "hello");
    lt_free(text);
    LT_CHECK_ERR(lt_file_read_all(path, &text, &n, 3), LT_ERR_RANGE, "more than");
    lt_mmap m;
    LT_CHECK_OK(lt_mmap_open(&m, path));
    LT_CHECK(m.size == 5 && memcmp(m.data, "hello", 5) == 0);
    lt_mmap_close(&m);
    LT_CHECK_ERR(lt_mmap_open(&m, "/nonexistent/file"), LT_ERR_IO, "/nonexistent/file");
    // An aborted write leaves the old file untouched and no temporary behind.
    lt_file f;
    LT_CHECK_OK(lt_file_create(&f, path));
    LT_CHECK_OK(lt_file_write(&f, "XX", 2));
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", f.tmp_path);
    lt_file_abort(&f);
    LT_CHECK(!lt_path_exists(tmp));
    LT_CHECK_OK(lt_file_read_all(path, &text, &n, 100));
    LT_CHECK_STR(text, "hello");
    lt_free(text);
    LT_CHECK_OK(lt_fsync_dir(sub));
    LT_CHECK_ERR(lt_fsync_dir("/nonexistent/dir"), LT_ERR_IO, "/nonexistent/dir");
    // Removing a tree removes everything below it, and a missing tree is fine.
    char *top = lt_path_join(dir, "a");
    LT_CHECK_OK(lt_remove_tree(top));
    LT_CHECK(!lt_path_exists(top) && !lt_path_exists(path));
    LT_CHECK_OK(lt_remove_tree(top));
    free(top);
    free(path);
    free(sub);
}

static void test_json(void) {
    const char *text = "{\"a\": 3, \"b\": 2.5, \"c\": \"x\", \"d\": true, \"e\": null}";
    cJSON *doc;
    LT_CHECK_OK(lt_json_parse(&doc, text, strlen(text), "t.json"));
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    bool flag = false;
    LT_CHECK_OK(lt_json_get_int(doc, "a", &i, "t.json"));
    LT_CHECK_INT(i, 3);
    LT_CHECK_ERR(lt_json_get_int(doc, "b", &i, "t.json"), LT_ERR_FORMAT,
                 "t.json: field 'b' must be an integer");
    LT_CHECK_OK(lt_json_get_double(doc, "b", &d, "t.json"));
    LT_CHECK(d == 2.5);
    LT_CHECK_OK(lt_json_get_string(doc, "c", &s, "t.json"));
    LT_CHECK_STR(s, "x");
    LT_CHECK_OK(lt_json_get_bool_opt(doc, "d", &flag, "t.json"));
    LT_CHECK(flag);
    LT_CHECK_ERR(lt_json_get_int(doc, "e", &i, "t.json"), LT_ERR_FORMAT, "missing field 'e'");
    LT_CHECK_ERR(lt_json_get_string(doc, "a", &s, "t.json"), LT_ERR_FORMAT, "must be a string");
    cJSON_Delete(doc);
    LT_CHECK_ERR(lt_json_parse(&doc, "{\"a\":\n,}", 8, "bad.json"), LT_ERR_FORMAT,
                 "bad.json: invalid JSON near byte");
}

int main(void) {
    LT_RUN(test_status);
    LT_RUN(test_alloc);
    LT_RUN(test_nomem_message);
    LT_RUN(test_bf16_known);
    LT_RUN(test_f16_known);
    LT_RUN(test_simd_matches_scalar);
    LT_RUN(test_rng);
    LT_RUN(test_files);
    LT_RUN(test_json);
    return lt_test_finish();
}
