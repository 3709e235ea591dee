// test_rope_golden.c: RoPE frequencies and cos/sin tables against the
// float64 values of tests/reference/hf_reference.py (tests/fixtures/golden/
// rope.json), with and without Llama 3 rope_scaling. The packed-sequence
// golden model test cannot pin absolute positions (RoPE only sees position
// differences inside a segment), so this test does.
#include "base/json.h"
#include "lathe/kernels.h"
#include "lt_test.h"

static double item(const cJSON *arr, int i) { return cJSON_GetArrayItem(arr, i)->valuedouble; }

static void check_variant(const cJSON *doc, bool llama3) {
    const cJSON *f64 = cJSON_GetObjectItem(doc, "float64");
    const cJSON *positions = cJSON_GetObjectItem(doc, "positions");
    int64_t D = (int64_t)cJSON_GetObjectItem(doc, "head_dim")->valuedouble;
    lt_rope_params p = {.theta = cJSON_GetObjectItem(doc, "rope_theta")->valuedouble};
    if (llama3) {
        const cJSON *rs = cJSON_GetObjectItem(doc, "rope_scaling");
        p.llama3 = true;
        p.factor = cJSON_GetObjectItem(rs, "factor")->valuedouble;
        p.low_freq_factor = cJSON_GetObjectItem(rs, "low_freq_factor")->valuedouble;
        p.high_freq_factor = cJSON_GetObjectItem(rs, "high_freq_factor")->valuedouble;
        p.original_max_position_embeddings =
            (int64_t)cJSON_GetObjectItem(rs, "original_max_position_embeddings")->valuedouble;
    }
    double inv_freq[64];
    LT_CHECK_INT(D, 128);
    lt_rope_inv_freq(inv_freq, D, &p);
    const cJSON *expect = cJSON_GetObjectItem(f64, llama3 ? "inv_freq_llama3" : "inv_freq_default");
    for (int i = 0; i < D / 2; i++) LT_CHECK_CLOSE(inv_freq[i], item(expect, i), 0, 1e-12);
    // Tables up to position 8191, compared at the fixture's positions. The
    // tables are f32: one rounding of a double (error <= 2^-24 ~ 6e-8).
    int64_t max_pos = 8192, half = D / 2;
    float *cos_t = malloc((size_t)(max_pos * half) * sizeof *cos_t),
          *sin_t = malloc((size_t)(max_pos * half) * sizeof *sin_t);
    lt_rope_tables(cos_t, sin_t, inv_freq, D, max_pos);
    const cJSON *cos_e = cJSON_GetObjectItem(f64, llama3 ? "cos_llama3" : "cos_default");
    const cJSON *sin_e = cJSON_GetObjectItem(f64, llama3 ? "sin_llama3" : "sin_default");
    for (int r = 0; r < cJSON_GetArraySize(positions); r++) {
        int64_t pos = (int64_t)item(positions, r);
        for (int i = 0; i < half; i++) {
            // HF layout cos(cat(freqs, freqs)): entries i and i + D/2 are equal.
            LT_CHECK_CLOSE(cos_t[pos * half + i], item(cJSON_GetArrayItem(cos_e, r), i), 1e-7, 0);
            LT_CHECK_CLOSE(cos_t[pos * half + i], item(cJSON_GetArrayItem(cos_e, r), i + half),
                           1e-7, 0);
            LT_CHECK_CLOSE(sin_t[pos * half + i], item(cJSON_GetArrayItem(sin_e, r), i), 1e-7, 0);
        }
    }
    free(cos_t);
    free(sin_t);
}

static void test_rope_golden(void) {
    cJSON *doc;
    LT_CHECK_OK(lt_json_read_file(&doc, lt_test_path("tests/fixtures/golden/rope.json"), 1 << 20));
    check_variant(doc, false);
    check_variant(doc, true);
    cJSON_Delete(doc);
}

int main(void) {
    LT_RUN(test_rope_golden);
    return lt_test_finish();
}
