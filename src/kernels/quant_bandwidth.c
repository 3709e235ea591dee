// quant_bandwidth.c: lt_mem_read_bandwidth, the memory read speed that
// decode (a stream of every weight once per token) is measured against.
// Each thread sums its own contiguous slice of the buffer, as 4 interleaved
// streams, with 8 independent 512-bit accumulators (quant_avx512.c; 8 uint64
// ones on other CPUs); the sum goes to a volatile sink so no load can be
// optimised away. The buffer is mapped for transparent huge pages, as the
// engine's weights are, so the bound is the memory's, not the TLB's.
#include <omp.h>
#include <string.h>
#include <sys/mman.h>

#include "quant_internal.h"

enum { READ_STEP = 512 }; // bytes per iteration of the read loops

static volatile uint64_t read_sink; // where every pass's sum goes

static uint64_t read_portable(const void *p, size_t bytes) {
    const uint64_t *w = p;
    size_t quarter = bytes / 32; // in uint64
    uint64_t a[8] = {0};
    for (size_t i = 0; i < quarter; i += 2)
        for (int k = 0; k < 8; k++) a[k] += w[(size_t)(k / 2) * quarter + i + k % 2];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

// One pass over the buffer split in nt slices; returns the seconds it took.
static double read_pass(const uint8_t *buf, size_t slice, int nt, bool simd) {
    uint64_t total = 0;
    double t0 = lt_time_now();
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(+ : total)
    {
        const uint8_t *p = buf + (size_t)omp_get_thread_num() * slice;
        total += simd ? lt_quant_avx512_read(p, slice) : read_portable(p, slice);
    }
    double seconds = lt_time_now() - t0;
    read_sink = total;
    return seconds;
}

double lt_mem_read_bandwidth(size_t bytes, double min_seconds) {
    int nt = omp_in_parallel() ? 1 : lt_threads_get();
    size_t slice = bytes / (size_t)nt / READ_STEP * READ_STEP;
    if (slice == 0) return 0;
    const size_t huge = (size_t)2 << 20;
    size_t len = slice * (size_t)nt + huge;
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 0;
    uint8_t *buf = (uint8_t *)(((uintptr_t)base + huge - 1) & ~(uintptr_t)(huge - 1));
    madvise(buf, slice * (size_t)nt, MADV_HUGEPAGE);
    // Each thread first touches the slice it will read (page placement).
#pragma omp parallel num_threads(nt) if (nt > 1)
    memset(buf + (size_t)omp_get_thread_num() * slice, 1, slice);
    bool simd = lt_quant_avx512_active();
    double best = 0, spent = 0;
    for (int pass = 0; pass < 2 || spent < min_seconds; pass++) {
        double s = read_pass(buf, slice, nt, simd);
        spent += s;
        if (s > 0 && (best == 0 || s < best)) best = s;
    }
    munmap(base, len);
    return best > 0 ? (double)(slice * (size_t)nt) / best / 1e9 : 0;
}
