// test_infer_alloc.c: decode allocates nothing per token. The test is linked
// with --wrap for malloc, calloc, realloc, aligned_alloc and posix_memalign
// (CMakeLists.txt), so every allocation lathe's own code makes (a static
// library) passes through the counters below; after a warm-up (per-thread
// scratch grows on first use), decode steps, single and batched, in every
// weight dtype, must make none.
#include <stdlib.h>
#include <string.h>

#include "lathe/infer.h"
#include "lathe/model.h"
#include "lt_test.h"

static int counting = 0;
static long allocations = 0;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);

void *__wrap_malloc(size_t n) {
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __real_aligned_alloc(align, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    if (counting) __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __real_posix_memalign(p, align, n);
}

static void check_dtype(lt_dtype dtype) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny-hetero"));
    lt_model *m = NULL;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_config_free(&cfg);
    if (!m) return;
    lt_model_init_random(m, 1);
    lt_engine *e = NULL;
    LT_CHECK_OK(lt_engine_from_model(
        &e, m,
        &(lt_engine_opts){
            .weights = dtype, .weights_set = true, .max_seqs = 3, .max_context = 128}));
    if (!e) return lt_model_free(m);
    int32_t ids[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    float logits[3 * 512];
    int seqs[3] = {0, 1, 2};
    for (int s = 0; s < 3; s++) LT_CHECK_OK(lt_engine_prefill(e, s, ids, 5 + s, NULL, false));
    LT_CHECK_OK(lt_engine_decode(e, seqs, ids, 1, logits)); // warm-up: one and three sequences
    LT_CHECK_OK(lt_engine_decode(e, seqs, ids, 3, logits));
    allocations = 0;
    counting = 1;
    for (int t = 0; t < 10; t++) {
        lt_status s1 = lt_engine_decode(e, seqs, ids + t, 1, logits);
        lt_status s3 = lt_engine_decode(e, seqs, ids + t, 3, logits);
        counting = 0;
        LT_CHECK_OK(s1);
        LT_CHECK_OK(s3);
        counting = 1;
    }
    counting = 0;
    LT_CHECK_MSG(allocations == 0, "%s: %ld allocations in 20 decode steps", lt_dtype_name(dtype),
                 allocations);
    lt_engine_close(e);
    lt_model_free(m);
}

// The harness sees lathe's allocations (lt_alloc goes through the wrapped allocator).
static void test_harness_counts(void) {
    void *p = NULL;
    allocations = 0;
    counting = 1;
    lt_status s = lt_alloc(&p, 100, "probe");
    counting = 0;
    LT_CHECK_OK(s);
    LT_CHECK_INT(allocations, 1);
    lt_free(p);
}

static void test_decode_allocates_nothing(void) {
    check_dtype(LT_F32);
    check_dtype(LT_BF16);
    check_dtype(LT_F16);
    check_dtype(LT_Q8_0);
}

int main(void) {
    LT_RUN(test_harness_counts);
    LT_RUN(test_decode_allocates_nothing);
    return lt_test_finish();
}
