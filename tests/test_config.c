// test_config.c: config.json parsing for Llama and DeciLM (the real
// Llama-3.3-Nemotron-Super-49B config), presets, parameter counts, the
// round trip through config.json, and malformed configs.
#include "lathe/config.h"
#include "model/model_internal.h"
#include "lt_test.h"

static const char *NEMOTRON = "tests/fixtures/configs/Llama-3_3-Nemotron-Super-49B-v1.config.json";

// Facts from tests/fixtures/configs/README.md (counted from the file by hand).
static void test_nemotron_super(void) {
    lt_config c;
    LT_CHECK_OK(lt_config_load(&c, lt_test_path(NEMOTRON)));
    LT_CHECK_INT(c.arch, LT_ARCH_DECILM);
    LT_CHECK_INT(c.n_layers, 80);
    LT_CHECK_INT(c.hidden, 8192);
    LT_CHECK_INT(c.n_heads, 64);
    LT_CHECK_INT(c.head_dim, 128);
    LT_CHECK_INT(c.vocab, 128256);
    LT_CHECK(!c.tie_embeddings);
    LT_CHECK(c.rope.llama3);
    LT_CHECK(c.rope.factor == 8.0 && c.rope.low_freq_factor == 1.0 &&
             c.rope.high_freq_factor == 4.0);
    LT_CHECK_INT(c.rope.original_max_position_embeddings, 8192);
    LT_CHECK_INT(c.bos_id, 128000);
    LT_CHECK_INT(c.n_eos, 3);
    LT_CHECK_INT(c.eos_ids[2], 128009);
    int gqa = 0, noop = 0;
    for (int i = 0; i < 80; i++) {
        if (c.blocks[i].attn == LT_ATTN_GQA) {
            gqa++;
            LT_CHECK_INT(c.blocks[i].n_kv_heads, 8);
        }
        noop += c.blocks[i].attn == LT_ATTN_NOOP;
    }
    LT_CHECK_INT(gqa, 49);
    LT_CHECK_INT(noop, 31);
    int noop_layers[] = {6, 7, 11, 42, 51, 53, 70};
    for (size_t i = 0; i < sizeof noop_layers / sizeof *noop_layers; i++)
        LT_CHECK_INT(c.blocks[noop_layers[i]].attn, LT_ATTN_NOOP);
    LT_CHECK_INT(c.blocks[52].attn, LT_ATTN_GQA);
    // Width histogram.
    int64_t widths[] = {28672, 14336, 7168, 5632, 2816, 17920};
    int expected[] = {49, 6, 10, 8, 6, 1};
    for (int w = 0; w < 6; w++) {
        int n = 0;
        for (int i = 0; i < 80; i++) n += c.blocks[i].ffn_dim == widths[w];
        LT_CHECK_INT(n, expected[w]);
    }
    LT_CHECK_INT(lt_config_param_count(&c), 49867145216LL);
    lt_config_free(&c);
}

static void test_ffn_mult(void) {
    // round_up(int(2 * mult * hidden / 3), 256), worked by hand.
    LT_CHECK_INT(lt_ffn_mult_to_dim(5.25, 8192), 28672); // 28672 exactly
    LT_CHECK_INT(lt_ffn_mult_to_dim(1.3125, 8192), 7168);
    LT_CHECK_INT(lt_ffn_mult_to_dim(1.0, 8192), 5632); // 5461 -> 5632
    LT_CHECK_INT(lt_ffn_mult_to_dim(3.28125, 8192), 17920);
    LT_CHECK_INT(lt_ffn_mult_to_dim(2.0, 64), 256); // 85 -> 256
    LT_CHECK_INT(lt_ffn_mult_to_dim(8.0, 64), 512); // 341 -> 512
    LT_CHECK_INT(lt_ffn_mult_to_dim(2.25, 512), 768);
}

// Parameter counts of the presets, from DESIGN.md's tables by hand.
static void test_presets(void) {
    lt_config c;
    LT_CHECK_OK(lt_config_preset(&c, "tiny"));
    // embed 512*64; per layer: norms 2*64, q,o 2*64*64, k,v 2*64*32, ffn 3*64*128; final norm 64.
    LT_CHECK_INT(lt_config_param_count(&c), 32768 + 2 * (128 + 8192 + 4096 + 24576) + 64);
    LT_CHECK_INT(lt_config_param_count(&c), 106816); // the reference script's count
    lt_config_free(&c);
    LT_CHECK_OK(lt_config_preset(&c, "tiny-hetero"));
    LT_CHECK_INT(lt_config_param_count(&c), 309824); // tests/reference/hf_reference.py
    int64_t per_layer[6] = {61568, 49216, 8320, 10304, 114816, 0};
    for (int i = 0; i < 6; i++) LT_CHECK_INT(lt_config_block_params(&c, i), per_layer[i]);
    lt_config_free(&c);
    LT_CHECK_OK(lt_config_preset(&c, "bench-m-hetero"));
    int64_t widths[8] = {1536, 1024, 1536, 512, 1536, 768, 1536, 2048};
    for (int i = 0; i < 8; i++) LT_CHECK_INT(c.blocks[i].ffn_dim, widths[i]);
    LT_CHECK_INT(c.blocks[2].attn, LT_ATTN_NOOP);
    LT_CHECK_INT(c.blocks[7].n_kv_heads, 2);
    LT_CHECK_INT(c.blocks[0].n_kv_heads, 4);
    lt_config_free(&c);
    LT_CHECK_OK(lt_config_preset(&c, "bench-m"));
    // N = head 16384*512 + 8 * (q,o 2*512*512 + k,v 2*512*256 + ffn 3*512*1536)
    LT_CHECK_INT(lt_config_matmul_params(&c), 8388608 + 8 * (524288 + 262144 + 2359296));
    // 6N + 12 * 8 layers * 512 * T
    LT_CHECK_CLOSE(lt_config_train_flops_per_token(&c, 512), 6.0 * 33554432 + 12.0 * 8 * 512 * 512,
                   0, 1e-12);
    lt_config_free(&c);
    LT_CHECK_OK(lt_config_preset(&c, "reason-s"));
    // docs/reasoning.md's 8 x 128 student: embed and head 2*1024*128; per layer norms 2*128,
    // q,o 2*128*128, k,v 2*128*64, ffn 3*128*128; final norm 128 (the page says 1.05M).
    LT_CHECK_INT(lt_config_param_count(&c), 2 * 131072 + 8 * (256 + 32768 + 16384 + 49152) + 128);
    LT_CHECK(c.arch == LT_ARCH_LLAMA && !c.tie_embeddings);
    LT_CHECK(c.rope.theta == 10000.0 && c.head_dim == 32 && c.vocab == 1024);
    LT_CHECK(c.bos_id == -1 && c.n_eos == 0); // the trained tokenizer's ids, not a preset's
    for (int i = 0; i < 8; i++) LT_CHECK_INT(c.blocks[i].n_kv_heads, 2);
    lt_config_free(&c);
    LT_CHECK_ERR(lt_config_preset(&c, "huge"), LT_ERR_ARG, "unknown preset 'huge'");
}

// Saving and reloading keeps every field, and unknown fields survive.
static void test_round_trip(void) {
    const char *dir = lt_test_tmpdir();
    char *path = lt_path_join(dir, "config.json");
    lt_config a, b;
    LT_CHECK_OK(lt_config_load(&a, lt_test_path(NEMOTRON)));
    LT_CHECK_OK(lt_config_save(&a, path));
    LT_CHECK_OK(lt_config_load(&b, path));
    LT_CHECK_INT(lt_config_param_count(&b), 49867145216LL);
    LT_CHECK(b.rope.llama3 && b.rope.factor == 8.0);
    for (int i = 0; i < 80; i++) {
        LT_CHECK_INT(b.blocks[i].attn, a.blocks[i].attn);
        LT_CHECK_INT(b.blocks[i].ffn_dim, a.blocks[i].ffn_dim);
        LT_CHECK_INT(b.blocks[i].n_kv_heads, a.blocks[i].n_kv_heads);
    }
    const cJSON *kept = cJSON_GetObjectItemCaseSensitive(b.source, "_name_or_path");
    LT_CHECK(cJSON_IsString(kept) && strcmp(kept->valuestring, "llama_nemotron_super") == 0);
    lt_config_free(&a);
    lt_config_free(&b);
    const char *presets[] = {"tiny", "tiny-hetero", "bench-m-hetero", "bench-l", "reason-s"};
    for (int p = 0; p < 5; p++) {
        LT_CHECK_OK(lt_config_preset(&a, presets[p]));
        LT_CHECK_OK(lt_config_save(&a, path));
        LT_CHECK_OK(lt_config_load(&b, path));
        LT_CHECK_INT(b.arch, a.arch);
        LT_CHECK_INT(lt_config_param_count(&b), lt_config_param_count(&a));
        LT_CHECK(b.tie_embeddings == a.tie_embeddings);
        LT_CHECK(b.rope.theta == a.rope.theta);
        for (int i = 0; i < a.n_layers; i++) {
            LT_CHECK_INT(b.blocks[i].attn, a.blocks[i].attn);
            LT_CHECK_INT(b.blocks[i].ffn, a.blocks[i].ffn);
            LT_CHECK_INT(b.blocks[i].ffn_dim, a.blocks[i].ffn_dim);
        }
        lt_config_free(&a);
        lt_config_free(&b);
    }
    free(path);
}

// Parses `text` as a config and expects failure with `needle` in the message.
static void expect_bad(const char *text, lt_code code, const char *needle) {
    cJSON *doc;
    lt_status s = lt_json_parse(&doc, text, strlen(text), "config.json");
    if (s) {
        LT_CHECK_MSG(code == LT_ERR_FORMAT && strstr(lt_status_message(s), needle),
                     "'%s': got '%s'", text, lt_status_message(s));
        lt_status_free(s);
        return;
    }
    lt_config c;
    LT_CHECK_ERR(lt_config_from_json(&c, doc, "config.json"), code, needle);
    cJSON_Delete(doc);
}

#define LLAMA_HEAD \
    "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":512,"
#define DECI_HEAD \
    "{\"architectures\":[\"DeciLMForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":1,\"vocab_size\":512,"

static void test_malformed(void) {
    expect_bad("{\"hidden_size\": 64", LT_ERR_FORMAT, "invalid JSON");
    expect_bad("[1, 2]", LT_ERR_FORMAT, "must be a JSON object");
    expect_bad("{\"architectures\":[\"GPT2LMHeadModel\"]}", LT_ERR_UNSUPPORTED, "GPT2LMHeadModel");
    expect_bad("{\"architectures\":[\"LlamaForCausalLM\"]}", LT_ERR_FORMAT,
               "missing field 'hidden_size'");
    expect_bad(LLAMA_HEAD "\"intermediate_size\":\"big\"}", LT_ERR_FORMAT,
               "'intermediate_size' must be an integer");
    expect_bad(LLAMA_HEAD "\"intermediate_size\":128,\"num_key_value_heads\":3}", LT_ERR_FORMAT,
               "num_key_value_heads 3 must divide");
    expect_bad(LLAMA_HEAD "\"intermediate_size\":128,\"hidden_act\":\"gelu\"}", LT_ERR_UNSUPPORTED,
               "hidden_act 'gelu'");
    expect_bad(LLAMA_HEAD "\"intermediate_size\":128,\"attention_bias\":true}", LT_ERR_UNSUPPORTED,
               "attention_bias");
    expect_bad(LLAMA_HEAD
               "\"intermediate_size\":128,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}",
               LT_ERR_UNSUPPORTED, "rope_scaling type 'yarn'");
    expect_bad(
        LLAMA_HEAD
        "\"intermediate_size\":128,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}",
        LT_ERR_FORMAT, "missing field 'low_freq_factor'");
    expect_bad(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":1e30,\"intermediate_size\":128}",
        LT_ERR_FORMAT, "field 'vocab_size' must be an integer");
    expect_bad(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":-5,\"intermediate_size\":128}",
        LT_ERR_FORMAT, "vocab_size -5 is out of range");
    expect_bad(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":512,\"intermediate_size\":128,\"bos_token_id\":600}",
        LT_ERR_FORMAT, "bos_token_id 600");
    expect_bad(
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,\"num_attention_heads\":4,\"num_hidden_layers\":2,\"vocab_size\":512,\"intermediate_size\":128,\"eos_token_id\":[1,\"x\"]}",
        LT_ERR_FORMAT, "eos_token_id");
    expect_bad(DECI_HEAD "\"x\":1}", LT_ERR_FORMAT, "needs a 'block_configs' list");
    expect_bad(DECI_HEAD "\"block_configs\":[]}", LT_ERR_FORMAT,
               "block_configs has 0 entries, num_hidden_layers is 1");
    expect_bad(DECI_HEAD "\"block_configs\":[{\"ffn\":{\"no_op\":true}}]}", LT_ERR_FORMAT,
               "block_configs[0]: missing object 'attention'");
    expect_bad(
        DECI_HEAD
        "\"block_configs\":[{\"attention\":{\"n_heads_in_group\":3},\"ffn\":{\"no_op\":true}}]}",
        LT_ERR_FORMAT, "n_heads_in_group 3 must divide");
    expect_bad(
        DECI_HEAD
        "\"block_configs\":[{\"attention\":{\"no_op\":true,\"replace_with_linear\":true},\"ffn\":{\"no_op\":true}}]}",
        LT_ERR_FORMAT, "both true");
    expect_bad(DECI_HEAD
               "\"block_configs\":[{\"attention\":{\"no_op\":true},\"ffn\":{\"ffn_mult\":null}}]}",
               LT_ERR_FORMAT, "block_configs[0].ffn: missing field 'ffn_mult'");
    expect_bad(DECI_HEAD
               "\"block_configs\":[{\"attention\":{\"no_op\":\"yes\"},\"ffn\":{\"no_op\":true}}]}",
               LT_ERR_FORMAT, "'no_op' must be true or false");
    expect_bad(DECI_HEAD
               "\"block_configs\":[{\"attention\":{\"no_op\":true},\"ffn\":{\"ffn_mult\":-1}}]}",
               LT_ERR_FORMAT, "ffn_mult -1");
    lt_config c;
    LT_CHECK_ERR(lt_config_load(&c, "/nonexistent/config.json"), LT_ERR_IO,
                 "/nonexistent/config.json");
}

// A Llama config that does not fit the DeciLM width rule cannot be written as DeciLM.
static void test_unrepresentable(void) {
    lt_config c;
    LT_CHECK_OK(lt_config_preset(&c, "tiny"));
    c.arch = LT_ARCH_DECILM; // width 128 is not a multiple of 256
    cJSON *doc;
    LT_CHECK_ERR(lt_config_to_json(&c, &doc), LT_ERR_ARG, "cannot be written as a DeciLM ffn_mult");
    c.arch = LT_ARCH_LLAMA;
    c.blocks[1].attn = LT_ATTN_NOOP;
    LT_CHECK_ERR(lt_config_to_json(&c, &doc), LT_ERR_ARG, "needs every layer to be GQA + SwiGLU");
    lt_config_free(&c);
}

int main(void) {
    LT_RUN(test_nemotron_super);
    LT_RUN(test_ffn_mult);
    LT_RUN(test_presets);
    LT_RUN(test_round_trip);
    LT_RUN(test_malformed);
    LT_RUN(test_unrepresentable);
    return lt_test_finish();
}
