// lt_cursor_fixture.h: the data behind tests/fixtures/cursor/shards-v1.bin —
// two token shards with fixed contents and the blending loader over them —
// shared by the fixture's generator (tests/fixtures/cursor/gen_shards_v1.c,
// built against the lathe that wrote the fixture) and test_data_cursor.c (the
// lathe of today), so the two agree on the data by construction.
#ifndef LT_CURSOR_FIXTURE_H
#define LT_CURSOR_FIXTURE_H

#include "lathe/data.h"

enum { CURSOR_FIXTURE_B = 3, CURSOR_FIXTURE_T = 8, CURSOR_FIXTURE_BATCHES = 60 };
#define CURSOR_FIXTURE_SEED 99u

// Shard k (0 or 1): documents of 7, 11, 13, ... tokens, ids from a fixed
// formula, vocabulary 256; shard 0 has 500 tokens, shard 1 has 300.
static lt_status cursor_fixture_shard(const char *path, int k) {
    lt_shard_writer *w;
    LT_TRY(lt_shard_writer_open(&w, path, 256, -1, -1));
    int32_t ids[16];
    int total = k == 0 ? 500 : 300, done = 0;
    for (int d = 0; done < total; d++) {
        int len = 7 + (d * 4) % 10;
        if (len > total - done) len = total - done;
        for (int i = 0; i < len; i++) ids[i] = ((done + i) * (13 + 6 * k) + 5) % 251;
        lt_status st = lt_shard_writer_add(w, ids, (size_t)len, (uint64_t)len);
        if (st) {
            lt_shard_writer_abort(w);
            return st;
        }
        done += len;
    }
    return lt_shard_writer_commit(w);
}

// The loader the fixture's cursor belongs to: weights 0.75 / 0.25.
static lt_status cursor_fixture_open(lt_loader **out, const char *path0, const char *path1) {
    const char *paths[2] = {path0, path1};
    const double weights[2] = {0.75, 0.25};
    lt_loader_opts o = {.paths = paths,
                        .weights = weights,
                        .n_sources = 2,
                        .B = CURSOR_FIXTURE_B,
                        .T = CURSOR_FIXTURE_T,
                        .seed = CURSOR_FIXTURE_SEED};
    return lt_loader_open(out, &o);
}

#endif
