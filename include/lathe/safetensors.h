// safetensors.h: reading and writing Hugging Face safetensors files — the
// weight format of every lathe checkpoint and of the models lathe imports.
//
// A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// ({"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}),
// then the data section, which the tensors must cover exactly, back to back.
// Reading maps the file and validates the whole header up front, so a tensor
// handed out is always in bounds; its bytes are used in place (zero-copy).
// A model directory is either one model.safetensors or several shards named
// by model.safetensors.index.json; both open as one tensor set.
#ifndef LATHE_SAFETENSORS_H
#define LATHE_SAFETENSORS_H

#include "lathe/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LT_ST_MAX_DIMS 8

// One tensor of an open file. `data` points into the mapping and is NOT
// aligned for any type: copy out with memcpy (or use the read functions).
typedef struct {
    char *name;
    lt_dtype dtype; // LT_F32, LT_BF16, LT_F16 or LT_I32
    int ndim;       // 0 for a scalar
    int64_t shape[LT_ST_MAX_DIMS];
    uint64_t nbytes;     // product(shape) * element size
    const uint8_t *data; // (nbytes) little-endian, row-major
    const char *file;    // the file it lives in (a shard, for a directory)
} lt_st_tensor;

typedef struct lt_safetensors lt_safetensors;

// Opens one file: maps it and validates the header (types, shapes, offsets
// covering the data section contiguously, no duplicate names). Tensors with a
// dtype other than F32, BF16, F16, I32 make it fail with LT_ERR_UNSUPPORTED.
lt_status lt_safetensors_open(lt_safetensors **out, const char *path);
// Opens a model directory: <dir>/model.safetensors if present, otherwise
// <dir>/model.safetensors.index.json ({"metadata": {...}, "weight_map":
// {tensor: shard file}}) and the shards it names, which must lie in <dir>.
// Every tensor of weight_map must be in its shard, and every shard tensor
// in weight_map.
lt_status lt_safetensors_open_dir(lt_safetensors **out, const char *dir);
void lt_safetensors_close(lt_safetensors *st); // NULL is fine

// Tensors in file order (shards in name order, then by data offset).
size_t lt_safetensors_count(const lt_safetensors *st);
const lt_st_tensor *lt_safetensors_get(const lt_safetensors *st, size_t i);
const lt_st_tensor *lt_safetensors_find(const lt_safetensors *st, const char *name); // or NULL

// Copies tensor `name` into dst as f32 (converting BF16/F16 exactly), after
// checking that its shape is (ndim, shape). dst holds product(shape) floats.
lt_status lt_safetensors_read_f32(const lt_safetensors *st, const char *name, float *dst, int ndim,
                                  const int64_t *shape);
// The same for I32 tensors.
lt_status lt_safetensors_read_i32(const lt_safetensors *st, const char *name, int32_t *dst,
                                  int ndim, const int64_t *shape);

// A "__metadata__" value (for a directory: the index's "metadata", numbers as
// decimal text, then each shard's "__metadata__"); NULL when absent.
const char *lt_safetensors_metadata(const lt_safetensors *st, const char *key);

// "F32", "BF16", "F16", "I32" — the safetensors spelling of a dtype (NULL for others).
const char *lt_safetensors_dtype_name(lt_dtype t);

// One tensor to write. `data` holds product(shape) floats for F32/BF16/F16
// (converted to the file dtype while writing, by the rule in base.h), or
// int32_t for I32; it may be NULL when the tensor has no elements.
typedef struct {
    const char *name;
    lt_dtype dtype;
    int ndim;
    int64_t shape[LT_ST_MAX_DIMS];
    const void *data;
} lt_st_entry;

// Writes a file crash-safely (temporary name, fsync, rename). Tensors are
// laid out by element size (largest first, so every tensor stays aligned to
// its element size) and then by name, so the same tensors give the same
// bytes in any input order. metadata_kv is NULL or "key", "value", ..., NULL.
lt_status lt_safetensors_write(const char *path, const lt_st_entry *entries, size_t n,
                               const char *const *metadata_kv);

#ifdef __cplusplus
}
#endif
#endif
