// gguf.h: GGUF, the single-file model format of llama.cpp — reading and
// writing the container, exporting a lathe model so that llama.cpp runs it,
// and opening a GGUF model for lathe's own inference engine.
//
// The container (version 3; version 2 has the same layout and is read too):
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv
//   n_kv x (string key, u32 type, value)        string = u64 length + bytes
//   n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)
//   padding to the alignment (general.alignment, default 32), then the data
//   section; each tensor's offset is relative to it and a multiple of the
//   alignment. Dimensions are listed fastest first: a Hugging Face (rows,
//   cols) matrix is ne = {cols, rows}. Everything is little-endian.
// Reading maps the file and validates all of it up front (counts against the
// file size, string lengths, value and tensor types, offsets, alignment,
// duplicates), so what the accessors hand out is always in bounds.
//
// Models (llama.cpp's `llama` and `deci` architectures) are described in
// docs/FORMATS.md: tensor names, the metadata written, the permutation of the
// q/k rows (Hugging Face rotates halves of each head, llama.cpp adjacent
// pairs), and the layer kinds llama.cpp cannot represent.
#ifndef LATHE_GGUF_H
#define LATHE_GGUF_H

#include <stdbool.h>
#include <stdint.h>

#include "lathe/base.h"
#include "lathe/config.h"
#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- the container

// llama.cpp's token types (tokenizer.ggml.token_type).
enum {
    LT_GGUF_TOKEN_NORMAL = 1,
    LT_GGUF_TOKEN_UNKNOWN = 2,
    LT_GGUF_TOKEN_CONTROL = 3,
    LT_GGUF_TOKEN_USER_DEFINED = 4,
    LT_GGUF_TOKEN_UNUSED = 5,
    LT_GGUF_TOKEN_BYTE = 6,
};

// Metadata value types, numbered as in the file.
typedef enum {
    LT_GGUF_UINT8 = 0,
    LT_GGUF_INT8 = 1,
    LT_GGUF_UINT16 = 2,
    LT_GGUF_INT16 = 3,
    LT_GGUF_UINT32 = 4,
    LT_GGUF_INT32 = 5,
    LT_GGUF_FLOAT32 = 6,
    LT_GGUF_BOOL = 7,
    LT_GGUF_STRING = 8,
    LT_GGUF_ARRAY = 9,
    LT_GGUF_UINT64 = 10,
    LT_GGUF_INT64 = 11,
    LT_GGUF_FLOAT64 = 12,
    LT_GGUF_TYPE_COUNT
} lt_gguf_type;
const char *lt_gguf_type_name(lt_gguf_type t); // "uint32", ...; "?" when out of range

// The ggml tensor types lathe reads and writes (numbered as in ggml).
enum { LT_GGML_F32 = 0, LT_GGML_F16 = 1, LT_GGML_Q8_0 = 8, LT_GGML_BF16 = 30 };
// ggml type of a dtype (f32, f16, bf16, q8_0); -1 for the others.
int lt_gguf_ggml_type(lt_dtype t);
// general.file_type (llama.cpp's llama_ftype) of a file whose weights are `t`:
// ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32; -1 for the others.
int lt_gguf_file_type(lt_dtype t);

enum { LT_GGUF_MAX_DIMS = 4, LT_GGUF_DEFAULT_ALIGNMENT = 32, LT_GGUF_MAX_NAME = 63 };

// One metadata entry of an open file. Numbers are little-endian and
// unaligned in the mapping: read them with the lt_gguf_kv_* functions.
typedef struct {
    const char *key;        // NUL-terminated copy
    lt_gguf_type type;      // the value's type
    lt_gguf_type elem_type; // arrays: the elements' type (never ARRAY)
    uint64_t n;             // arrays: the element count; scalars: 1
    const uint8_t *data;    // the scalar, or the first element
    // string values and arrays: (n) offsets from data of each string's length prefix
    const uint64_t *str_at;
} lt_gguf_kv;

// One tensor of an open file.
typedef struct {
    const char *name;             // NUL-terminated copy
    lt_dtype dtype;               // LT_F32, LT_F16, LT_BF16 or LT_Q8_0
    int n_dims;                   // 1..4
    int64_t ne[LT_GGUF_MAX_DIMS]; // fastest first; unused dims are 1
    uint64_t offset;              // within the data section
    uint64_t nbytes;
    const uint8_t *data; // in the mapping, aligned to the file's alignment (32 bytes at least)
} lt_gguf_tensor;

typedef struct lt_gguf lt_gguf;

// Maps and validates a file. Tensors of ggml types other than f32, f16, bf16
// and q8_0 fail with LT_ERR_UNSUPPORTED naming the tensor.
lt_status lt_gguf_open(lt_gguf **out, const char *path);
// The same over bytes in memory (borrowed until lt_gguf_close); `source` names them in errors.
lt_status lt_gguf_open_buffer(lt_gguf **out, const void *data, size_t size, const char *source);
void lt_gguf_close(lt_gguf *g); // NULL is fine

const char *lt_gguf_source(const lt_gguf *g);
uint32_t lt_gguf_version(const lt_gguf *g);
uint64_t lt_gguf_alignment(const lt_gguf *g);
size_t lt_gguf_n_kv(const lt_gguf *g);
const lt_gguf_kv *lt_gguf_kv_at(const lt_gguf *g, size_t i);          // in file order
const lt_gguf_kv *lt_gguf_find_kv(const lt_gguf *g, const char *key); // NULL when absent
size_t lt_gguf_n_tensors(const lt_gguf *g);
const lt_gguf_tensor *lt_gguf_tensor_at(const lt_gguf *g, size_t i);           // in file order
const lt_gguf_tensor *lt_gguf_find_tensor(const lt_gguf *g, const char *name); // or NULL

// Typed reads of a scalar (i = 0) or of element i of an array. Integers of
// every width and signedness are read as int64 (a uint64 above INT64_MAX is
// an error); floats from float32 or float64; strings as bytes in the mapping,
// not NUL-terminated. A value of another type is an LT_ERR_FORMAT error
// naming the file and the key.
lt_status lt_gguf_kv_int(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, int64_t *out);
lt_status lt_gguf_kv_float(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, double *out);
lt_status lt_gguf_kv_bool(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, bool *out);
lt_status lt_gguf_kv_str(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, const char **s,
                         size_t *len);
// The same for a scalar by key; a missing key is an LT_ERR_FORMAT error naming it.
lt_status lt_gguf_get_int(const lt_gguf *g, const char *key, int64_t *out);
lt_status lt_gguf_get_float(const lt_gguf *g, const char *key, double *out);
lt_status lt_gguf_get_bool(const lt_gguf *g, const char *key, bool *out);
lt_status lt_gguf_get_str(const lt_gguf *g, const char *key, const char **s, size_t *len);

// Writing: metadata in the order added, then tensors in the order added, each
// at an offset aligned to 32 bytes; crash-safe (temporary name, fsync, rename).
typedef struct lt_gguf_writer lt_gguf_writer;
lt_status lt_gguf_writer_init(lt_gguf_writer **out);
void lt_gguf_writer_free(lt_gguf_writer *w);
// A scalar of `type` (not STRING or ARRAY): `value` points to a host value of
// that type (bool for BOOL). Duplicate keys are an LT_ERR_ARG error.
lt_status lt_gguf_add_scalar(lt_gguf_writer *w, const char *key, lt_gguf_type type,
                             const void *value);
lt_status lt_gguf_add_u32(lt_gguf_writer *w, const char *key, uint32_t value);
lt_status lt_gguf_add_f32(lt_gguf_writer *w, const char *key, float value);
lt_status lt_gguf_add_bool(lt_gguf_writer *w, const char *key, bool value);
lt_status lt_gguf_add_str(lt_gguf_writer *w, const char *key, const char *s, size_t len);
// An array of n numbers or bools of elem_type, packed host values.
lt_status lt_gguf_add_array(lt_gguf_writer *w, const char *key, lt_gguf_type elem_type,
                            const void *values, uint64_t n);
// An array of n strings; lens NULL means each is NUL-terminated.
lt_status lt_gguf_add_str_array(lt_gguf_writer *w, const char *key, const char *const *strs,
                                const size_t *lens, uint64_t n);
// A tensor of dtype (f32, f16, bf16, q8_0) with ne fastest first; `data`
// holds its bytes as stored and is borrowed until lt_gguf_writer_write.
// Names are at most 63 bytes (ggml's limit); q8_0 needs ne[0] % 32 == 0.
lt_status lt_gguf_add_tensor(lt_gguf_writer *w, const char *name, lt_dtype dtype, int n_dims,
                             const int64_t *ne, const void *data);
lt_status lt_gguf_writer_write(const lt_gguf_writer *w, const char *path);

// Bytes of a tensor of dtype with these dims; 0 for a bad shape or dtype.
uint64_t lt_gguf_tensor_bytes(lt_dtype dtype, int n_dims, const int64_t *ne);

// ---------------------------------------------------------------- models

// One weight under its Hugging Face name ("model.layers.3.self_attn.q_proj.weight"),
// in Hugging Face order: shape[0] = rows (out features), shape[1] = cols (in
// features); vectors have ndim 1. q8_0 rows are cols/32 consecutive blocks.
typedef struct {
    char name[96];
    lt_dtype dtype; // LT_F32, LT_F16, LT_BF16 or LT_Q8_0
    int ndim;       // 1 or 2
    int64_t shape[2];
    const void *data; // 32-byte aligned (in the mapped file, or a copy)
} lt_gguf_weight;

// A GGUF model opened for inference.
typedef struct lt_gguf_model {
    lt_config cfg;           // passes lt_config_validate; DECILM with per-layer blocks for `deci`
    lt_tokenizer *tokenizer; // from tokenizer.ggml.*; NULL when the file has none
    char *chat_template;     // tokenizer.chat_template, or NULL
    lt_gguf_weight *weights; // (n_weights): every tensor of the model, lm_head absent when tied
    int n_weights;
    lt_gguf *file; // the open file the weights point into
    void *owned;   // copies of the permuted q/k rows
} lt_gguf_model;

// Opens a `llama` or `deci` GGUF: the config from the metadata, the
// tokenizer (byte-level BPE: tokenizer.ggml.model "gpt2", pre-tokenizer
// "llama-bpe" or "gpt-2"), the chat template, and the weights under their
// Hugging Face names. q_proj/k_proj rows are put back in Hugging Face order
// (copies); every other weight points into the mapped file (zero-copy,
// 32-byte aligned). Errors name the key or tensor at fault; a tensor the
// model does not use, or one it needs that is missing, is an error.
lt_status lt_gguf_model_open(lt_gguf_model **out, const char *path);
void lt_gguf_model_close(lt_gguf_model *m);                                         // NULL is fine
const lt_gguf_weight *lt_gguf_model_find(const lt_gguf_model *m, const char *name); // or NULL

// ---------------------------------------------------------------- export

typedef struct {
    lt_dtype type; // f32 | f16 | bf16 | q8_0: matrices and the embedding; norms stay f32
    const char *chat_template; // written as tokenizer.chat_template when not NULL
    int add_bos;               // tokenizer.ggml.add_bos_token: 0 or 1; -1 leaves it out
} lt_gguf_export_opts;

// Writes a GGUF llama.cpp runs: architecture `llama` for a uniform model
// (lt_config_is_uniform), `deci` otherwise. `weights` are the model's tensors
// under their Hugging Face names and in Hugging Face row order, of any dtype
// above (a q8_0 source converted to another type is dequantized first).
// Refuses (LT_ERR_UNSUPPORTED, naming the layer) what llama.cpp would compute
// differently: a linear-replacement FFN, a layer with attention but a no-op
// FFN, a no-op last layer, and a no-op attention in layer 0. Nothing is
// written on error.
lt_status lt_gguf_export(const char *path, const lt_config *cfg, const lt_gguf_weight *weights,
                         int n_weights, const lt_tokenizer *tok, const lt_gguf_export_opts *opts);
// The same from a model directory (config.json, safetensors, tokenizer.json,
// tokenizer_config.json for the chat template and add_bos_token).
lt_status lt_gguf_export_dir(const char *dir, const char *path, lt_dtype type);
// Re-exports a GGUF model with another weight type (--type of `lathe quantize`).
lt_status lt_gguf_requantize(const char *in_path, const char *path, lt_dtype type);

// Writes a Hugging Face model directory from a GGUF model: config.json,
// model.safetensors as `dtype` (f32 | bf16 | f16; q8_0 weights dequantized),
// tokenizer.json and tokenizer_config.json with the chat template.
lt_status lt_gguf_import(const char *path, const char *dir, lt_dtype dtype);

#ifdef __cplusplus
}
#endif
#endif
