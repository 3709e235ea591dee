// threads.c: one thread count for lathe's OpenMP loops, OpenBLAS and oneDNN
// (all three use the same OpenMP runtime, so one setting governs them all).
#include "lathe/base.h"

#include <omp.h>

void lt_threads_set(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
}

int lt_threads_get(void) { return omp_get_max_threads(); }
