// test_data_cursor.c: the blending loader's cursor codec (src/data/blend.c)
// and its source table. A cursor saved by the lathe before the loaders shared
// one core (tests/fixtures/cursor/shards-v1.bin) resumes exactly; a fresh
// cursor has the bytes docs/DATA.md lays out, built here field by field; every
// damaged byte and another version are refused with a clear message and leave
// the loader as it was; and a source written against the table alone (as
// docs/DATA.md shows) blends, resumes and is fingerprinted like the built-in ones.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/data.h"
#include "lt_cursor_fixture.h"
#include "lt_test.h"

static char tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int next = 0;
    char *b = buf[next++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
    return b;
}

// FNV-1a 64 as its authors define it (offset basis 0xcbf29ce484222325, prime 2^40 + 0x1b3).
static uint64_t fnv(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void put(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t *state, size_t len) { put(state + len - 8, fnv(state, len - 8), 8); }

// The fixture's two shards and a loader over them (NULL when that failed).
static lt_loader *fixture_loader(void) {
    const char *a = tmp_path("fixture-0.bin"), *b = tmp_path("fixture-1.bin");
    lt_loader *l = NULL;
    LT_CHECK_OK(cursor_fixture_shard(a, 0));
    LT_CHECK_OK(cursor_fixture_shard(b, 1));
    LT_CHECK_OK(cursor_fixture_open(&l, a, b));
    return l;
}

// Both loaders draw the same next `batches` batches.
static void check_same_draws(lt_loader *x, lt_loader *y, int batches) {
    enum { N = CURSOR_FIXTURE_B * CURSOR_FIXTURE_T };
    int32_t ix[N], tx[N], iy[N], ty[N];
    int same = 1;
    for (int k = 0; k < batches; k++) {
        LT_CHECK_OK(lt_loader_next(x, ix, tx, NULL, NULL));
        LT_CHECK_OK(lt_loader_next(y, iy, ty, NULL, NULL));
        same &= memcmp(ix, iy, sizeof ix) == 0 && memcmp(tx, ty, sizeof tx) == 0;
    }
    LT_CHECK(same);
}

static uint8_t *read_fixture(size_t *len) {
    FILE *f = fopen(lt_test_path("tests/fixtures/cursor/shards-v1.bin"), "rb");
    static uint8_t buf[512];
    *len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    LT_CHECK_MSG(*len == 160, "shards-v1.bin: %zu bytes, 160 expected", *len);
    return *len == 160 ? buf : NULL;
}

// The old lathe's cursor after 60 batches: today's loader takes it and draws
// what a loader that drew those 60 batches itself draws next.
static void test_resumes_v1_fixture(void) {
    size_t len;
    uint8_t *state = read_fixture(&len);
    lt_loader *resumed = fixture_loader(), *straight = fixture_loader();
    if (!state || !resumed || !straight) goto done;
    enum { N = CURSOR_FIXTURE_B * CURSOR_FIXTURE_T };
    int32_t ids[N], targets[N];
    for (int k = 0; k < CURSOR_FIXTURE_BATCHES; k++)
        LT_CHECK_OK(lt_loader_next(straight, ids, targets, NULL, NULL));
    LT_CHECK_OK(lt_loader_state_load(resumed, state, len));
    LT_CHECK_INT(lt_loader_rows_drawn(resumed), CURSOR_FIXTURE_BATCHES * CURSOR_FIXTURE_B);
    LT_CHECK_INT(lt_loader_epoch(resumed, 0), 2); // as the fixture's bytes 96 and 136 say
    LT_CHECK_INT(lt_loader_epoch(resumed, 1), 1);
    check_same_draws(resumed, straight, 40);
    uint8_t again[160];
    LT_CHECK_OK(lt_loader_state_save(resumed, again, sizeof again, &len));
    LT_CHECK_OK(lt_loader_state_save(straight, state, 160, &len));
    LT_CHECK(memcmp(again, state, 160) == 0);
done:
    lt_loader_close(resumed);
    lt_loader_close(straight);
}

// A fresh loader's cursor, built from the layout in docs/DATA.md.
static void test_fresh_layout(void) {
    lt_loader *l = fixture_loader();
    if (!l) return;
    uint8_t want[160] = {0}, got[160];
    memcpy(want, "LTCURSOR", 8);
    put(want + 8, 1, 4);
    put(want + 12, 2, 4);
    put(want + 16, CURSOR_FIXTURE_T, 8);
    put(want + 24, CURSOR_FIXTURE_SEED, 8);
    lt_rng rng;
    lt_rng_seed(&rng, CURSOR_FIXTURE_SEED); // nothing drawn yet
    for (int k = 0; k < 4; k++) put(want + 32 + 8 * k, rng.s[k], 8);
    const double weights[2] = {0.75, 0.25};
    for (int i = 0; i < 2; i++) {
        const lt_shard_info *in = lt_shard_get_info(lt_loader_shard(l, i));
        uint8_t *r = want + 72 + 40 * i;
        uint64_t bits;
        memcpy(&bits, &weights[i], 8);
        put(r, i == 0 ? 500 : 300, 8);
        put(r + 8, in->checksum, 8);
        put(r + 16, bits, 8); // epoch and position stay 0
    }
    reseal(want, sizeof want);
    size_t len = 0;
    LT_CHECK_INT(lt_loader_state_size(l), 160);
    LT_CHECK_OK(lt_loader_state_save(l, got, sizeof got, &len));
    LT_CHECK_INT(len, 160);
    LT_CHECK(memcmp(got, want, sizeof want) == 0);
    lt_loader_close(l);
}

// Every byte of the fixture, damaged, is refused with a clear message, and
// the refusals leave the loader drawing what an untouched one draws.
static void test_every_damaged_byte(void) {
    size_t len;
    uint8_t *state = read_fixture(&len), bad[160];
    lt_loader *l = fixture_loader(), *ref = fixture_loader();
    if (!state || !l || !ref) goto done;
    int refused = 0, clear = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, state, len);
        bad[i] ^= 0x10;
        lt_status st = lt_loader_state_load(l, bad, len);
        if (!st) continue;
        refused++;
        const char *msg = lt_status_message(st);
        const char *want = i < 8 ? "bad magic" : i < 12 ? "version" : "checksum mismatch";
        clear += strstr(msg, want) != NULL;
        lt_status_free(st);
    }
    LT_CHECK_INT(refused, 160);
    LT_CHECK_INT(clear, 160);
    LT_CHECK_ERR(lt_loader_state_load(l, state, len - 1), LT_ERR_FORMAT, "truncated");
    LT_CHECK_ERR(lt_loader_state_load(l, state, 79), LT_ERR_FORMAT, "truncated (79 bytes)");
    check_same_draws(l, ref, 30);
done:
    lt_loader_close(l);
    lt_loader_close(ref);
}

// A cursor of another version, checksum and all intact, names both versions
// and what to do; so does one from another kind of data.
static void test_version_mismatch(void) {
    size_t len;
    uint8_t *state = read_fixture(&len), bad[160];
    lt_loader *l = fixture_loader();
    if (!state || !l) goto done;
    memcpy(bad, state, len);
    put(bad + 8, 2, 4);
    reseal(bad, len);
    LT_CHECK_ERR(lt_loader_state_load(l, bad, len), LT_ERR_UNSUPPORTED,
                 "loader state: version 2, this lathe reads version 1 (resume with the lathe that "
                 "saved it, or start afresh without --resume)");
    put(bad + 8, 0, 4);
    reseal(bad, len);
    LT_CHECK_ERR(lt_loader_state_load(l, bad, len), LT_ERR_UNSUPPORTED, "version 0, this lathe");
    memcpy(bad, state, len);
    memcpy(bad, "LTCHATCR", 8); // an SFT run's cursor offered to pretraining
    reseal(bad, len);
    LT_CHECK_ERR(lt_loader_state_load(l, bad, len), LT_ERR_FORMAT, "bad magic");
done:
    lt_loader_close(l);
}

// ---------------------------------------------------------------- a source from the table alone

// Rows of a counting sequence: row r of an epoch holds ids (start + r T + t)
// mod 97, where start is drawn per epoch; targets are the next ids.
typedef struct {
    uint64_t n_rows, start;
    int *freed; // counts frees, to see the loader owns the source
} count_source;

static const char *count_name(const void *ctx) {
    (void)ctx;
    return "count";
}

static void count_fingerprint(const void *ctx, uint64_t *words) {
    const count_source *s = ctx;
    words[0] = s->n_rows, words[1] = 97, words[2] = 0xc0ffee + s->n_rows;
}

static lt_status count_plan(void *ctx, int64_t T, lt_rng *rng, uint64_t *n_rows) {
    (void)T;
    count_source *s = ctx;
    s->start = lt_rng_below(rng, 97);
    *n_rows = s->n_rows;
    return NULL;
}

static lt_status count_fill(void *ctx, int64_t T, uint64_t row, int32_t *ids, int32_t *targets,
                            int32_t *segments, int32_t *positions) {
    const count_source *s = ctx;
    for (int64_t t = 0; t < T; t++) {
        ids[t] = (int32_t)((s->start + row * (uint64_t)T + (uint64_t)t) % 97);
        targets[t] = (ids[t] + 1) % 97;
        if (segments) segments[t] = 0;
        if (positions) positions[t] = (int32_t)t;
    }
    return NULL;
}

static lt_status count_check_vocab(const void *ctx, int64_t vocab) {
    (void)ctx;
    return vocab >= 97
               ? NULL
               : lt_error(LT_ERR_RANGE, "count: ids up to 96, vocab %lld", (long long)vocab);
}

static void count_free(void *ctx) {
    count_source *s = ctx;
    (*s->freed)++;
    free(s);
}

static const lt_data_source_ops count_ops = {.source_noun = "source",
                                             .row_noun = "row",
                                             .fingerprint_names =
                                                 (const char *const[]){"rows", "ids", NULL},
                                             .name = count_name,
                                             .fingerprint = count_fingerprint,
                                             .plan_epoch = count_plan,
                                             .fill_row = count_fill,
                                             .check_vocab = count_check_vocab,
                                             .free = count_free};

static lt_data_source count(uint64_t n_rows, int *freed) {
    count_source *s = calloc(1, sizeof *s);
    s->n_rows = n_rows;
    s->freed = freed;
    return (lt_data_source){.ops = &count_ops, .ctx = s};
}

// A count source blended with a shard: mixed record sizes (48 and 40 bytes).
static lt_loader *open_mixed(uint64_t n_rows, int64_t B, int *freed) {
    lt_data_source src[2] = {count(n_rows, freed), {0}};
    LT_CHECK_OK(lt_data_source_shard(&src[1], tmp_path("fixture-0.bin")));
    lt_loader_source_opts o = {.sources = src,
                               .weights = (double[]){1, 3},
                               .n_sources = 2,
                               .B = B,
                               .T = 8,
                               .seed = 4,
                               .magic = "LTTESTCR"};
    lt_loader *l = NULL;
    LT_CHECK_OK(lt_loader_open_sources(&l, &o));
    return l;
}

static void test_custom_source(void) {
    int freed = 0;
    LT_CHECK_OK(cursor_fixture_shard(tmp_path("fixture-0.bin"), 0));
    lt_loader *a = open_mixed(5, 3, &freed), *b = open_mixed(5, 2, &freed);
    lt_loader *other = open_mixed(6, 3, &freed);
    if (!a || !b || !other) goto done;
    int32_t ids[24], targets[24];
    for (int k = 0; k < 7; k++) LT_CHECK_OK(lt_loader_next(a, ids, targets, NULL, NULL));
    LT_CHECK(lt_loader_shard(a, 0) == NULL && lt_loader_shard(a, 1) != NULL);
    LT_CHECK_INT(lt_loader_epoch_rows(a, 0), 5);
    uint8_t state[256];
    size_t len = 0;
    LT_CHECK_INT(lt_loader_state_size(a), 72 + 48 + 40 + 8);
    LT_CHECK_OK(lt_loader_state_save(a, state, sizeof state, &len));
    LT_CHECK_OK(lt_loader_state_load(b, state, len));
    // B differs (3 and 2): compare 6 rows at a time.
    int32_t ia[48], ib[48], t2[48];
    for (int k = 0; k < 2; k++) LT_CHECK_OK(lt_loader_next(a, ia + 24 * k, t2, NULL, NULL));
    for (int k = 0; k < 3; k++) LT_CHECK_OK(lt_loader_next(b, ib + 16 * k, t2, NULL, NULL));
    LT_CHECK(memcmp(ia, ib, sizeof ia) == 0);
    LT_CHECK_ERR(lt_loader_state_load(other, state, len), LT_ERR_ARG,
                 "loader state: source 0 (count) was 5 rows of 97 ids with checksum "
                 "0000000000c0fff3, this one is 6 rows of 97 ids with checksum");
    LT_CHECK_ERR(lt_loader_check_vocab(a, 96), LT_ERR_RANGE, "count: ids up to 96");
done:
    lt_loader_close(a);
    lt_loader_close(b);
    lt_loader_close(other);
    LT_CHECK_INT(freed, 3);
    // A failed open frees the sources it was given.
    freed = 0;
    lt_data_source src[2] = {count(5, &freed), count(5, &freed)};
    lt_loader_source_opts o = {.sources = src, .n_sources = 2, .B = 0, .T = 8};
    lt_loader *l = NULL;
    LT_CHECK_ERR(lt_loader_open_sources(&l, &o), LT_ERR_ARG, "both must be positive");
    LT_CHECK(l == NULL);
    LT_CHECK_INT(freed, 2);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s", lt_test_tmpdir());
    LT_RUN(test_resumes_v1_fixture);
    LT_RUN(test_fresh_layout);
    LT_RUN(test_every_damaged_byte);
    LT_RUN(test_version_mismatch);
    LT_RUN(test_custom_source);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return lt_test_finish();
}
