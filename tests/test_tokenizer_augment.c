// test_tokenizer_augment.c: ChipNeMo-style vocabulary augmentation. A base
// tokenizer trained on Moby-Dick is augmented for Verilog-like text (generated
// here); the properties: base ids and merges unchanged, the general text
// encodes exactly as before, domain text needs fewer tokens and uses the new
// tokens, each new token's pieces are its base encoding, the mapping file
// round-trips and malformed ones are refused. With the real Llama 3 tokenizer
// (when fetched) the same properties hold.
#include "base/json.h"
#include "lt_test.h"
#include "tokenizer/tok_internal.h"

// Verilog-like lines from a fixed seed: the domain words repeat a lot.
static char *domain_text(size_t *len) {
    static const char *names[] = {"wr_ptr",    "rd_ptr",     "wr_data",   "rd_data",
                                  "fifo_full", "fifo_empty", "clk",       "rst_n",
                                  "valid",     "ready",      "axi_awaddr"};
    lt_bytes b = {0};
    lt_rng rng;
    lt_rng_seed(&rng, 5);
    char line[256];
    for (int i = 0; i < 400; i++) {
        const char *x = names[lt_rng_below(&rng, 11)], *y = names[lt_rng_below(&rng, 11)];
        switch (lt_rng_below(&rng, 6)) {
        case 0:
            snprintf(line, sizeof line, "always_ff @(posedge clk or negedge rst_n) begin\n");
            break;
        case 1: snprintf(line, sizeof line, "    assign %s = %s & ~%s;\n", x, y, x); break;
        case 2:
            snprintf(line, sizeof line, "  logic [%u:0] %s;\n", lt_rng_below(&rng, 64), x);
            break;
        case 3: snprintf(line, sizeof line, "      %s <= %s + 1'b1;\n", x, y); break;
        case 4: snprintf(line, sizeof line, "endmodule // %s\n", x); break;
        default:
            snprintf(line, sizeof line, "module %s_ctrl(input logic clk, output logic %s);\n", x,
                     y);
        }
        lt_status st = lt_bytes_append(&b, line, strlen(line));
        if (st) lt_status_free(st);
    }
    *len = b.n;
    return b.data;
}

static size_t count(lt_tokenizer *tok, const char *text, size_t n) {
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(tok, text, n, 0, &ids));
    size_t k = ids.n;
    lt_ids_free(&ids);
    return k;
}

static bool same_encoding(lt_tokenizer *a, lt_tokenizer *b, const char *text, size_t n) {
    lt_ids x = {0}, y = {0};
    LT_CHECK_OK(lt_tokenizer_encode(a, text, n, 0, &x));
    LT_CHECK_OK(lt_tokenizer_encode(b, text, n, 0, &y));
    bool same = x.n == y.n && memcmp(x.data, y.data, x.n * sizeof *x.data) == 0;
    lt_ids_free(&x);
    lt_ids_free(&y);
    return same;
}

// The properties every augmentation must have.
// `most` bounds the augmented token count as a fraction of the base count.
static void check_augmented(lt_tokenizer *base, lt_tokenizer *aug, const lt_augment_map *map,
                            int32_t n_add, const char *domain, size_t n_domain, const char *general,
                            size_t n_general, double most) {
    int32_t nb = lt_tokenizer_n_vocab(base);
    LT_CHECK_INT(map->base_vocab, nb);
    LT_CHECK(map->n > 0 && map->n <= n_add);
    LT_CHECK_INT(lt_tokenizer_n_vocab(aug), nb + map->n);
    // Base ids and merges unchanged; new merges come after.
    for (int32_t id = 0; id < nb; id++) {
        size_t la = 0, lb = 0;
        const char *a = lt_tokenizer_token(base, id, &la), *b = lt_tokenizer_token(aug, id, &lb);
        if (!a != !b || la != lb || (a && memcmp(a, b, la) != 0)) {
            LT_FAIL_("id %d changed", id);
            break;
        }
    }
    LT_CHECK_INT(lt_tokenizer_n_merges(aug), lt_tokenizer_n_merges(base) + map->n);
    LT_CHECK(memcmp(base->core->merges, aug->core->merges,
                    (size_t)base->core->n_merges * sizeof *base->core->merges) == 0);
    // The general text: line by line and whole, exactly the base encoding.
    int differ = 0;
    for (const char *p = general, *end = general + n_general; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        differ += !same_encoding(base, aug, p, len);
        p += len;
    }
    LT_CHECK_INT(differ, 0);
    LT_CHECK(same_encoding(base, aug, general, n_general));
    // The domain text: fewer tokens, the new ones in use, decoded back exactly.
    size_t before = count(base, domain, n_domain), after = count(aug, domain, n_domain);
    fprintf(stderr, "  domain text: %zu tokens under the base, %zu augmented (%d new ids)\n",
            before, after, (int)map->n);
    LT_CHECK(after < before * most);
    lt_ids ids = {0};
    LT_CHECK_OK(lt_tokenizer_encode(aug, domain, n_domain, 0, &ids));
    int32_t used = 0;
    for (int32_t i = 0; i < map->n; i++)
        for (size_t k = 0; k < ids.n; k++)
            if (ids.data[k] == map->tokens[i].id) {
                used++;
                break;
            }
    fprintf(stderr, "  %d of %d new tokens appear in the domain text\n", (int)used, (int)map->n);
    LT_CHECK(used * 10 >= map->n * 9);
    lt_bytes back = {0};
    LT_CHECK_OK(lt_tokenizer_decode(aug, ids.data, ids.n, 0, &back));
    LT_CHECK(back.n == n_domain && memcmp(back.data, domain, n_domain) == 0);
    lt_ids_free(&ids);
    // Each new token: consecutive ids, and its pieces are the base ids that spell it.
    for (int32_t i = 0; i < map->n; i++) {
        const lt_augment_token *t = &map->tokens[i];
        LT_CHECK_INT(t->id, nb + i);
        size_t len;
        const char *bytes = lt_tokenizer_token(aug, t->id, &len);
        back.n = 0;
        LT_CHECK_OK(lt_tokenizer_decode(base, t->pieces.data, t->pieces.n, 0, &back));
        LT_CHECK(bytes && back.n == len && memcmp(back.data, bytes, len) == 0);
        LT_CHECK(t->pieces.n >= 2);
        LT_CHECK(t->domain_count >= 2);
    }
    lt_bytes_free(&back);
}

static void test_augment_trained_base(void) {
    const char *general_path = lt_test_path("data/moby-dick-1-4.txt");
    lt_tokenizer *base = NULL, *aug = NULL;
    lt_bpe_train_opts o = {.vocab_size = 1000};
    LT_CHECK_OK(lt_tokenizer_train(&base, &general_path, 1, &o));
    char *general = NULL;
    size_t n_general = 0, n_domain = 0;
    LT_CHECK_OK(lt_file_read_all(general_path, &general, &n_general, 1 << 20));
    char *domain = domain_text(&n_domain);
    if (!base || !general) return;
    lt_text_span d = {domain, n_domain}, g = {general, n_general};
    lt_augment_map map = {0};
    lt_augment_opts ao = {.n_add = 40};
    LT_CHECK_OK(lt_tokenizer_augment(&aug, &map, base, &d, 1, &g, 1, &ao));
    if (aug) {
        // A 1000-id base knows few of these words: 30 new ids save over 10%.
        check_augmented(base, aug, &map, 40, domain, n_domain, general, n_general, 0.9);
        // Saved and loaded, the augmented tokenizer and the map are the same.
        const char *dir = lt_test_tmpdir();
        char *map_path = lt_path_join(dir, "vocab_augment.json");
        LT_CHECK_OK(lt_tokenizer_save(aug, dir));
        LT_CHECK_OK(lt_augment_map_save(&map, aug, map_path));
        lt_tokenizer *again = NULL;
        lt_augment_map loaded = {0};
        LT_CHECK_OK(lt_tokenizer_load(&again, dir));
        LT_CHECK_OK(lt_augment_map_load(&loaded, map_path));
        if (again) LT_CHECK(same_encoding(aug, again, domain, n_domain));
        LT_CHECK_INT(loaded.n, map.n);
        LT_CHECK_INT(loaded.base_vocab, map.base_vocab);
        for (int32_t i = 0; i < loaded.n && i < map.n; i++) {
            LT_CHECK_INT(loaded.tokens[i].id, map.tokens[i].id);
            LT_CHECK(loaded.tokens[i].pieces.n == map.tokens[i].pieces.n &&
                     memcmp(loaded.tokens[i].pieces.data, map.tokens[i].pieces.data,
                            map.tokens[i].pieces.n * 4) == 0);
        }
        lt_augment_map_free(&loaded);
        lt_tokenizer_free(again);
        lt_free(map_path);
    }
    lt_augment_map_free(&map);
    lt_tokenizer_free(aug);
    lt_tokenizer_free(base);
    lt_free(general);
    free(domain);
}

static void write(const char *path, const char *text) {
    LT_CHECK_OK(lt_file_write_all(path, text, strlen(text)));
}

static void test_bad_maps(void) {
    const char *dir = lt_test_tmpdir();
    char *path = lt_path_join(dir, "map.json");
    lt_augment_map m;
    write(path, "[1]");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "must be a JSON object");
    write(path, "{\"added\": []}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "missing field 'base_vocab'");
    write(path, "{\"base_vocab\": -5, \"added\": []}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "base_vocab -5 is out of range");
    write(path, "{\"base_vocab\": 10}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "'added' must be an array");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": 5, \"pieces\": [1, 2]}]}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "added[0]: id 5 is not a new id");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": 10, \"pieces\": [1, 12]}]}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT,
                 "pieces must be base ids in [0, 10)");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": 10, \"pieces\": []}]}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "non-empty array");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": 10, \"pieces\": [1]}, {\"id\": 10, "
                "\"pieces\": [2]}]}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "added[1]: id 10 appears twice");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": \"x\", \"pieces\": [1]}]}");
    LT_CHECK_ERR(lt_augment_map_load(&m, path), LT_ERR_FORMAT, "'id' must be an integer");
    write(path, "{\"base_vocab\": 10, \"added\": [{\"id\": 10, \"pieces\": [1, 2]}]}");
    LT_CHECK_OK(lt_augment_map_load(&m, path));
    LT_CHECK(m.n == 1 && m.tokens[0].id == 10 && m.tokens[0].pieces.n == 2);
    lt_augment_map_free(&m);
    lt_free(path);
}

static void test_bad_options(void) {
    lt_tokenizer *base = NULL, *aug = NULL;
    lt_bpe_train_opts o = {.vocab_size = 300};
    const char *doc = "abc abc";
    lt_bpe_trainer *tr = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &o));
    LT_CHECK_OK(lt_bpe_trainer_feed(tr, doc, 7));
    LT_CHECK_OK(lt_bpe_trainer_finish(tr, &base));
    lt_bpe_trainer_free(tr);
    if (!base) return;
    lt_text_span d = {doc, 7};
    lt_augment_map map;
    lt_augment_opts none = {.n_add = 0};
    LT_CHECK_ERR(lt_tokenizer_augment(&aug, &map, base, &d, 1, &d, 1, &none), LT_ERR_ARG, "> 0");
    lt_augment_opts ok = {.n_add = 5};
    LT_CHECK_ERR(lt_tokenizer_augment(&aug, &map, base, &d, 0, &d, 1, &ok), LT_ERR_ARG,
                 "no domain text");
    const char *missing = "/nonexistent.v";
    LT_CHECK_ERR(lt_tokenizer_augment_files(&aug, &map, base, &missing, 1, &missing, 1, &ok),
                 LT_ERR_IO, "/nonexistent.v");
    lt_tokenizer_free(base);
}

static void test_augment_llama3(void) {
    const char *dir = lt_test_path("cache/llama3");
    if (!lt_path_exists(dir)) {
        LT_SKIP("%s is missing (run scripts/fetch-test-data.sh)", dir);
        return;
    }
    lt_tokenizer *base = NULL, *aug = NULL;
    LT_CHECK_OK(lt_tokenizer_load(&base, dir));
    char *general = NULL;
    size_t n_general = 0, n_domain = 0;
    LT_CHECK_OK(
        lt_file_read_all(lt_test_path("data/moby-dick-1-4.txt"), &general, &n_general, 1 << 20));
    char *domain = domain_text(&n_domain);
    if (!base || !general) return;
    lt_text_span d = {domain, n_domain}, g = {general, n_general};
    lt_augment_map map = {0};
    lt_augment_opts ao = {.n_add = 20};
    LT_CHECK_OK(lt_tokenizer_augment(&aug, &map, base, &d, 1, &g, 1, &ao));
    if (aug) {
        // Llama 3 already has most of these words: a few new ids, a small saving.
        check_augmented(base, aug, &map, 20, domain, n_domain, general, n_general, 1.0);
        LT_CHECK_INT(map.tokens[0].id, 128256); // after the 256 special tokens
    }
    lt_augment_map_free(&map);
    lt_tokenizer_free(aug);
    lt_tokenizer_free(base);
    lt_free(general);
    free(domain);
}

int main(void) {
    LT_RUN(test_augment_trained_base);
    LT_RUN(test_bad_maps);
    LT_RUN(test_bad_options);
    LT_RUN(test_augment_llama3);
    return lt_test_finish();
}
