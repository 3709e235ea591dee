// base.h: the ground every lathe module stands on — status values with
// human-readable messages, checked allocation, bf16/fp16 conversion, a seeded
// RNG, threads, read-only file mapping, crash-safe file writing and the
// progress callback. The library never exits and never prints: every failure
// comes back as an lt_status whose message names the file, field or flag at
// fault, and the caller (usually the CLI) decides what to do with it.
#ifndef LATHE_BASE_H
#define LATHE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- status

typedef enum {
    LT_OK = 0,
    LT_ERR_ARG,         // a bad argument or flag from the caller
    LT_ERR_IO,          // open/read/write/rename failed
    LT_ERR_FORMAT,      // a file's contents are malformed
    LT_ERR_NOMEM,       // allocation failed
    LT_ERR_UNSUPPORTED, // well-formed, but something lathe does not handle
    LT_ERR_RANGE,       // a value out of its allowed range (sizes, ids, lengths)
    LT_ERR_INTERNAL,    // a broken invariant: a bug in lathe
} lt_code;

// An lt_status is NULL on success, otherwise an owned error object that the
// receiver must free with lt_status_free (or pass upwards).
typedef struct lt_error *lt_status;

lt_status lt_error(lt_code code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Prepends "context: " to st's message and returns st (NULL stays NULL).
lt_status lt_error_prefix(lt_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *lt_status_message(lt_status st); // "ok" for NULL
lt_code lt_status_code(lt_status st);        // LT_OK for NULL
void lt_status_free(lt_status st);
const char *lt_code_name(lt_code code);

// Return early from a function that returns lt_status.
#define LT_TRY(expr)                       \
    do {                                   \
        lt_status lt_try_st_ = (expr);     \
        if (lt_try_st_) return lt_try_st_; \
    } while (0)

// ---------------------------------------------------------------- memory

// Checked allocation: on failure these return an LT_ERR_NOMEM status naming
// `what` and the size. Memory is 64-byte aligned and must be freed with lt_free.
lt_status lt_alloc(void **out, size_t bytes, const char *what);
lt_status lt_calloc(void **out, size_t count, size_t size, const char *what);
// The status of a failed allocation made some other way (realloc, strdup,
// cJSON, mmap): "out of memory allocating the KV cache (12,582,912 bytes)";
// bytes 0 when the size is not known (a cJSON node) leaves the count out.
lt_status lt_error_nomem(const char *what, size_t bytes);
void lt_free(void *p);
// Overflow-checked a*b; returns false on overflow.
bool lt_mul_size(size_t a, size_t b, size_t *out);
char *lt_strdup(const char *s); // NULL on failure or NULL input

// ---------------------------------------------------------------- dtypes

// Element types, named as in GGUF and in every lathe flag and file.
typedef enum { LT_F32 = 0, LT_BF16, LT_F16, LT_Q8_0, LT_I32, LT_DTYPE_COUNT } lt_dtype;
const char *lt_dtype_name(lt_dtype t);
// Parses "f32" | "bf16" | "f16" | "q8_0"; LT_ERR_ARG naming the accepted values otherwise.
lt_status lt_dtype_parse(const char *name, lt_dtype *out);
size_t lt_dtype_size(lt_dtype t); // bytes per element; 0 for block types (q8_0)

// ---------------------------------------------------------------- bf16 / fp16

// The one conversion rule, shared by the scalar and the SIMD paths:
//   * round to nearest, ties to even;
//   * f32 subnormal inputs become zero of the same sign (flush-to-zero), as
//     the AVX-512 vcvtneps2bf16 instruction does — so both paths agree bit for
//     bit on every input;
//   * NaN stays NaN and becomes quiet, keeping sign and top payload bits
//     (bf16: upper 16 bits | 0x0040; f16: sign | 0x7e00 | mantissa >> 13), as
//     vcvtneps2bf16 and vcvtps2ph do;
//   * f32 -> f16: values that round beyond 65504 become inf; results below
//     the f16 normal range become f16 subnormals (rounded to nearest even)
//     — f16 subnormals are kept, only f32-subnormal *inputs* flush.
// Widening (bf16/f16 -> f32) is exact.
uint16_t lt_f32_to_bf16(float x);
float lt_bf16_to_f32(uint16_t h);
uint16_t lt_f32_to_f16(float x);
float lt_f16_to_f32(uint16_t h);
// Array forms: AVX-512 BF16 / F16C when the CPU has them, scalar otherwise; bit-identical.
void lt_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);
void lt_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void lt_f32_to_f16_array(uint16_t *dst, const float *src, size_t n);
void lt_f16_to_f32_array(float *dst, const uint16_t *src, size_t n);
// Scalar-only versions of the array forms (the reference for tests).
void lt_f32_to_bf16_array_ref(uint16_t *dst, const float *src, size_t n);
void lt_f32_to_f16_array_ref(uint16_t *dst, const float *src, size_t n);

// ---------------------------------------------------------------- rng

// xoshiro256** seeded through splitmix64: fast, and the same stream on every machine.
typedef struct {
    uint64_t s[4];
} lt_rng;
void lt_rng_seed(lt_rng *rng, uint64_t seed);
uint64_t lt_rng_u64(lt_rng *rng);
uint32_t lt_rng_below(lt_rng *rng, uint32_t n); // uniform in [0, n), unbiased
double lt_rng_uniform(lt_rng *rng);             // uniform in [0, 1), 53 bits
float lt_rng_normal(lt_rng *rng);               // standard normal (Box–Muller)

// ---------------------------------------------------------------- threads

// Threads used by lathe's OpenMP loops and by OpenBLAS/oneDNN (all OpenMP).
void lt_threads_set(int n);
int lt_threads_get(void);

// ---------------------------------------------------------------- time

double lt_time_now(void); // monotonic seconds

// ---------------------------------------------------------------- files

// A read-only mapping of a whole file. Data is not aligned for any type:
// copy out with memcpy, never cast to float *.
typedef struct {
    const uint8_t *data;
    size_t size;
    char *path;
} lt_mmap;
lt_status lt_mmap_open(lt_mmap *m, const char *path);
void lt_mmap_close(lt_mmap *m);

// Reads a whole (small) file into a NUL-terminated heap buffer freed with lt_free.
lt_status lt_file_read_all(const char *path, char **out, size_t *size_out, size_t max_size);

// Crash-safe writing: bytes go to "<path>.tmp.<pid>", lt_file_commit fsyncs,
// closes and renames it over <path>; lt_file_abort removes the temporary.
typedef struct {
    int fd;
    char *path;
    char *tmp_path;
    uint64_t written;
} lt_file;
lt_status lt_file_create(lt_file *f, const char *path);
lt_status lt_file_write(lt_file *f, const void *data, size_t n);
lt_status lt_file_commit(lt_file *f);
void lt_file_abort(lt_file *f);
// Writes a whole buffer crash-safely.
lt_status lt_file_write_all(const char *path, const void *data, size_t n);
// mkdir -p (mode 0755); ok if it exists as a directory.
lt_status lt_mkdir_p(const char *path);
bool lt_path_is_dir(const char *path);
// fsyncs a directory, so a rename inside it survives a crash.
lt_status lt_fsync_dir(const char *path);
// Removes a directory tree (files and subdirectories; no symlinks followed).
lt_status lt_remove_tree(const char *path);
// Deterministic fault injection for crash-safety tests: when the environment
// variable LATHE_FAULT equals `point`, the process aborts here (as a kill
// would). Costs one getenv when unset.
void lt_fault_point(const char *point);
bool lt_path_exists(const char *path);
// Joins a directory and a file name into a new string (lt_free it); NULL on OOM.
char *lt_path_join(const char *dir, const char *name);

// ---------------------------------------------------------------- progress

// Long operations report progress through this callback; the CLI renders a
// progress bar on a terminal and plain lines otherwise. `done`/`total` are in
// the operation's own units; `info` is a short status text (may be NULL).
typedef void (*lt_progress_fn)(void *user, const char *what, double done, double total,
                               const char *info);
typedef struct {
    lt_progress_fn fn;
    void *user;
} lt_progress;
static inline void lt_progress_report(const lt_progress *p, const char *what, double done,
                                      double total, const char *info) {
    if (p && p->fn) p->fn(p->user, what, done, total, info);
}

#ifdef __cplusplus
}
#endif
#endif
