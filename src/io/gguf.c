// gguf.c: the GGUF container — a validating reader over a mapped file (or a
// buffer) and a crash-safe writer. Model semantics (names, metadata keys, the
// q/k permutation) live in gguf_model.c and gguf_export.c; this file knows
// only the byte layout described in gguf.h and ggml's docs/gguf.md.
//
// The reader checks every length against the bytes that remain before it is
// used, bounds the counts by the file size before allocating, and checks
// every tensor's type, shape, offset, alignment and extent, so a malformed
// file is an error naming what is wrong and never a crash.
#include "lathe/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads and writes host integers as-is: it needs a little-endian host"
#endif
_Static_assert(sizeof(bool) == 1, "GGUF bools are one byte");

#define HEADER_BYTES 24     // magic, version, two u64 counts
#define MIN_KV_BYTES 13     // u64 key length (empty key refused) + u32 type + 1 byte of value
#define MIN_TENSOR_BYTES 32 // u64 name length + u32 n_dims + one u64 dim + u32 type + u64 offset
#define MAX_KEY_BYTES 65535 // the spec's limit

// ---------------------------------------------------------------- types

static const char *const type_names[LT_GGUF_TYPE_COUNT] = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64"};

const char *lt_gguf_type_name(lt_gguf_type t) {
    return (unsigned)t < LT_GGUF_TYPE_COUNT ? type_names[t] : "?";
}

// Bytes of one value of a fixed-size type; 0 for STRING and ARRAY.
static size_t type_size(lt_gguf_type t) {
    switch (t) {
    case LT_GGUF_UINT8:
    case LT_GGUF_INT8:
    case LT_GGUF_BOOL: return 1;
    case LT_GGUF_UINT16:
    case LT_GGUF_INT16: return 2;
    case LT_GGUF_UINT32:
    case LT_GGUF_INT32:
    case LT_GGUF_FLOAT32: return 4;
    case LT_GGUF_UINT64:
    case LT_GGUF_INT64:
    case LT_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

int lt_gguf_ggml_type(lt_dtype t) {
    switch (t) {
    case LT_F32: return LT_GGML_F32;
    case LT_F16: return LT_GGML_F16;
    case LT_BF16: return LT_GGML_BF16;
    case LT_Q8_0: return LT_GGML_Q8_0;
    default: return -1;
    }
}

int lt_gguf_file_type(lt_dtype t) {
    switch (t) {
    case LT_F32: return 0;
    case LT_F16: return 1;
    case LT_Q8_0: return 7;
    case LT_BF16: return 32;
    default: return -1;
    }
}

// ggml's names of the types lathe does not read, for clearer messages.
static const char *ggml_type_name(uint32_t t) {
    static const char *const names[] = {
        "f32",   "f16",        "q4_0",       "q4_1",       "q4_2",     "q4_3",     "q5_0",
        "q5_1",  "q8_0",       "q8_1",       "q2_K",       "q3_K",     "q4_K",     "q5_K",
        "q6_K",  "q8_K",       "iq2_xxs",    "iq2_xs",     "iq3_xxs",  "iq1_s",    "iq4_nl",
        "iq3_s", "iq2_s",      "iq4_xs",     "i8",         "i16",      "i32",      "i64",
        "f64",   "iq1_m",      "bf16",       "q4_0_4_4",   "q4_0_4_8", "q4_0_8_8", "tq1_0",
        "tq2_0", "iq4_nl_4_4", "iq4_nl_4_8", "iq4_nl_8_8", "mxfp4"};
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

uint64_t lt_gguf_tensor_bytes(lt_dtype dtype, int n_dims, const int64_t *ne) {
    if (n_dims < 1 || n_dims > LT_GGUF_MAX_DIMS) return 0;
    uint64_t rows = 1;
    for (int d = 1; d < n_dims; d++) {
        if (ne[d] < 0 || (ne[d] > 0 && rows > UINT64_MAX / (uint64_t)ne[d])) return 0;
        rows *= (uint64_t)ne[d];
    }
    if (ne[0] < 0) return 0;
    uint64_t row;
    switch (dtype) {
    case LT_F32: row = 4 * (uint64_t)ne[0]; break;
    case LT_F16:
    case LT_BF16: row = 2 * (uint64_t)ne[0]; break;
    case LT_Q8_0:
        if (ne[0] % 32 != 0) return 0;
        row = (uint64_t)ne[0] / 32 * 34;
        break;
    default: return 0;
    }
    if (row > 0 && rows > UINT64_MAX / row) return 0;
    return row * rows;
}

// ---------------------------------------------------------------- the open file

struct lt_gguf {
    char *source;
    lt_mmap map;         // when opened from a file
    const uint8_t *base; // the bytes
    size_t size;
    uint32_t version;
    uint64_t alignment;
    lt_gguf_kv *kv; // (n_kv)
    size_t n_kv;
    lt_gguf_tensor *tensors; // (n_tensors)
    size_t n_tensors;
};

// A bounds-checked reader over the bytes; every read names what it reads.
typedef struct {
    const lt_gguf *g;
    size_t pos;
} cursor;

static size_t remaining(const cursor *c) { return c->g->size - c->pos; }

static lt_status need(const cursor *c, uint64_t n, const char *what) {
    if (n > remaining(c))
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s (%llu bytes at offset %zu) runs past the end of the file (%zu "
                        "bytes; truncated?)",
                        c->g->source, what, (unsigned long long)n, c->pos, c->g->size);
    return NULL;
}

static lt_status read_u32(cursor *c, uint32_t *v, const char *what) {
    LT_TRY(need(c, 4, what));
    memcpy(v, c->g->base + c->pos, 4);
    c->pos += 4;
    return NULL;
}

static lt_status read_u64(cursor *c, uint64_t *v, const char *what) {
    LT_TRY(need(c, 8, what));
    memcpy(v, c->g->base + c->pos, 8);
    c->pos += 8;
    return NULL;
}

// A string: its bytes stay in the file; *s points at them.
static lt_status read_string(cursor *c, const uint8_t **s, uint64_t *len, const char *what) {
    LT_TRY(read_u64(c, len, what));
    if (*len > remaining(c))
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s: a string of %llu bytes at offset %zu runs past the end of the "
                        "file (%zu bytes; truncated?)",
                        c->g->source, what, (unsigned long long)*len, c->pos, c->g->size);
    *s = c->g->base + c->pos;
    c->pos += (size_t)*len;
    return NULL;
}

// A NUL-terminated copy of a key or tensor name; embedded NULs are refused.
static lt_status copy_name(const uint8_t *s, uint64_t len, char **out, const char *what,
                           const char *source) {
    if (memchr(s, 0, (size_t)len))
        return lt_error(LT_ERR_FORMAT, "%s: %s contains a NUL byte", source, what);
    *out = malloc((size_t)len + 1);
    if (!*out) return lt_error_prefix(lt_error_nomem(what, (size_t)len + 1), "%s", source);
    memcpy(*out, s, (size_t)len);
    (*out)[len] = 0;
    return NULL;
}

// Steps over n strings, keeping the offset of each one's length prefix.
static lt_status skip_strings(cursor *c, lt_gguf_kv *kv, uint64_t n, const char *what) {
    uint64_t *at = NULL;
    if (n > remaining(c) / 8)
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s: %llu strings cannot fit in the %zu bytes left in the file",
                        c->g->source, what, (unsigned long long)n, remaining(c));
    at = malloc((size_t)(n ? n : 1) * sizeof *at);
    if (!at)
        return lt_error_prefix(lt_error_nomem(what, (size_t)(n ? n : 1) * sizeof *at), "%s",
                               c->g->source);
    size_t start = c->pos;
    for (uint64_t i = 0; i < n; i++) {
        char buf[400];
        if (kv->type == LT_GGUF_ARRAY)
            snprintf(buf, sizeof buf, "%s[%llu]", what, (unsigned long long)i);
        else
            snprintf(buf, sizeof buf, "%s", what);
        at[i] = c->pos - start;
        const uint8_t *s;
        uint64_t len;
        lt_status st = read_string(c, &s, &len, buf);
        if (st) {
            free(at);
            return st;
        }
    }
    kv->str_at = at;
    return NULL;
}

static lt_status read_value(cursor *c, lt_gguf_kv *kv, const char *what) {
    uint32_t type;
    LT_TRY(read_u32(c, &type, what));
    if (type >= LT_GGUF_TYPE_COUNT)
        return lt_error(LT_ERR_FORMAT, "%s: %s has unknown value type %u (GGUF types are 0..%d)",
                        c->g->source, what, type, LT_GGUF_TYPE_COUNT - 1);
    kv->type = (lt_gguf_type)type;
    kv->n = 1;
    if (type == LT_GGUF_ARRAY) {
        uint32_t elem;
        LT_TRY(read_u32(c, &elem, what));
        LT_TRY(read_u64(c, &kv->n, what));
        if (elem >= LT_GGUF_TYPE_COUNT)
            return lt_error(LT_ERR_FORMAT, "%s: %s is an array of unknown type %u", c->g->source,
                            what, elem);
        if (elem == LT_GGUF_ARRAY)
            return lt_error(LT_ERR_UNSUPPORTED, "%s: %s is an array of arrays (not supported)",
                            c->g->source, what);
        kv->elem_type = (lt_gguf_type)elem;
    } else {
        kv->elem_type = kv->type;
    }
    kv->data = c->g->base + c->pos;
    // Strings (a scalar is an array of one) are walked one by one.
    if (kv->elem_type == LT_GGUF_STRING) return skip_strings(c, kv, kv->n, what);
    size_t size = type_size(kv->elem_type);
    if (kv->n > remaining(c) / size)
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s: %llu values of %s run past the end of the file (%zu bytes left)",
                        c->g->source, what, (unsigned long long)kv->n,
                        lt_gguf_type_name(kv->elem_type), remaining(c));
    c->pos += (size_t)kv->n * size;
    return NULL;
}

static int compare_kv(const void *a, const void *b) {
    return strcmp(((const lt_gguf_kv *)a)->key, ((const lt_gguf_kv *)b)->key);
}

static int compare_tensor_names(const void *a, const void *b) {
    return strcmp((*(const lt_gguf_tensor *const *)a)->name,
                  (*(const lt_gguf_tensor *const *)b)->name);
}

static int compare_tensor_offsets(const void *a, const void *b) {
    uint64_t x = (*(const lt_gguf_tensor *const *)a)->offset;
    uint64_t y = (*(const lt_gguf_tensor *const *)b)->offset;
    return x < y ? -1 : x > y;
}

static lt_status read_kvs(lt_gguf *g, cursor *c, uint64_t n_kv) {
    g->kv = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kv);
    if (!g->kv)
        return lt_error_prefix(
            lt_error_nomem("the metadata table", (size_t)(n_kv ? n_kv : 1) * sizeof *g->kv), "%s",
            g->source);
    for (uint64_t i = 0; i < n_kv; i++) {
        char what[160];
        snprintf(what, sizeof what, "metadata entry %llu: key", (unsigned long long)i);
        const uint8_t *key = NULL;
        uint64_t len;
        LT_TRY(read_string(c, &key, &len, what));
        if (len == 0 || len > MAX_KEY_BYTES)
            return lt_error(LT_ERR_FORMAT, "%s: %s has %llu bytes (keys have 1..%d)", g->source,
                            what, (unsigned long long)len, MAX_KEY_BYTES);
        lt_gguf_kv *kv = &g->kv[g->n_kv];
        LT_TRY(copy_name(key, len, (char **)&kv->key, what, g->source));
        g->n_kv++;
        char value_what[300];
        snprintf(value_what, sizeof value_what, "metadata '%.200s'", kv->key);
        LT_TRY(read_value(c, kv, value_what));
    }
    // Duplicates, on a sorted copy (file order is kept for the accessors).
    lt_gguf_kv *sorted = malloc((g->n_kv ? g->n_kv : 1) * sizeof *sorted);
    if (!sorted)
        return lt_error_prefix(
            lt_error_nomem("the sorted metadata keys", (g->n_kv ? g->n_kv : 1) * sizeof *sorted),
            "%s", g->source);
    memcpy(sorted, g->kv, g->n_kv * sizeof *sorted);
    qsort(sorted, g->n_kv, sizeof *sorted, compare_kv);
    lt_status st = NULL;
    for (size_t i = 1; i < g->n_kv && !st; i++)
        if (strcmp(sorted[i - 1].key, sorted[i].key) == 0)
            st = lt_error(LT_ERR_FORMAT, "%s: duplicate metadata key '%s'", g->source,
                          sorted[i].key);
    free(sorted);
    return st;
}

static lt_status read_alignment(lt_gguf *g) {
    g->alignment = LT_GGUF_DEFAULT_ALIGNMENT;
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, "general.alignment");
    if (!kv) return NULL;
    if (kv->type != LT_GGUF_UINT32)
        return lt_error(LT_ERR_FORMAT, "%s: general.alignment must be a uint32, found %s",
                        g->source, lt_gguf_type_name(kv->type));
    uint32_t a;
    memcpy(&a, kv->data, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return lt_error(LT_ERR_FORMAT, "%s: general.alignment %u is not a power of two", g->source,
                        a);
    g->alignment = a;
    return NULL;
}

static lt_status read_tensor_info(lt_gguf *g, cursor *c, lt_gguf_tensor *t, uint64_t i) {
    char what[160];
    snprintf(what, sizeof what, "tensor info %llu: name", (unsigned long long)i);
    const uint8_t *name = NULL;
    uint64_t len;
    LT_TRY(read_string(c, &name, &len, what));
    if (len == 0 || len > 64)
        return lt_error(LT_ERR_FORMAT, "%s: %s has %llu bytes (names have 1..64)", g->source, what,
                        (unsigned long long)len);
    LT_TRY(copy_name(name, len, (char **)&t->name, what, g->source));
    snprintf(what, sizeof what, "tensor '%s'", t->name);
    uint32_t n_dims;
    LT_TRY(read_u32(c, &n_dims, what));
    if (n_dims < 1 || n_dims > LT_GGUF_MAX_DIMS)
        return lt_error(LT_ERR_FORMAT, "%s: %s has %u dimensions (1..%d allowed)", g->source, what,
                        n_dims, LT_GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    for (int d = 0; d < LT_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne;
        LT_TRY(read_u64(c, &ne, what));
        if (ne > (uint64_t)INT64_MAX)
            return lt_error(LT_ERR_FORMAT, "%s: %s: dimension %u is %llu (too large)", g->source,
                            what, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    uint32_t type;
    LT_TRY(read_u32(c, &type, what));
    LT_TRY(read_u64(c, &t->offset, what));
    switch (type) {
    case LT_GGML_F32: t->dtype = LT_F32; break;
    case LT_GGML_F16: t->dtype = LT_F16; break;
    case LT_GGML_BF16: t->dtype = LT_BF16; break;
    case LT_GGML_Q8_0: t->dtype = LT_Q8_0; break;
    default:
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: %s has ggml type %u (%s), which lathe does not read (f32, f16, bf16 "
                        "and q8_0 only)",
                        g->source, what, type, ggml_type_name(type));
    }
    if (t->dtype == LT_Q8_0 && t->ne[0] % 32 != 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: %s is q8_0 but its rows (%lld) are not a multiple of 32", g->source,
                        what, (long long)t->ne[0]);
    t->nbytes = lt_gguf_tensor_bytes(t->dtype, t->n_dims, t->ne);
    if (t->nbytes == 0) {
        bool empty = false;
        for (int d = 0; d < t->n_dims; d++) empty |= t->ne[d] == 0;
        if (!empty) return lt_error(LT_ERR_FORMAT, "%s: %s: its size overflows", g->source, what);
    }
    return NULL;
}

// Data section extents: in the file, aligned, and not overlapping.
static lt_status check_extents(lt_gguf *g, size_t data_start) {
    uint64_t data_size = g->size - data_start;
    for (size_t i = 0; i < g->n_tensors; i++) {
        lt_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return lt_error(LT_ERR_FORMAT,
                            "%s: tensor '%s': offset %llu is not a multiple of the alignment %llu",
                            g->source, t->name, (unsigned long long)t->offset,
                            (unsigned long long)g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return lt_error(LT_ERR_FORMAT,
                            "%s: tensor '%s': bytes [%llu, %llu) of the data section run past the "
                            "end of the file (the data section has %llu bytes; truncated?)",
                            g->source, t->name, (unsigned long long)t->offset,
                            (unsigned long long)(t->offset + t->nbytes),
                            (unsigned long long)data_size);
        t->data = g->base + data_start + t->offset;
    }
    const lt_gguf_tensor **order = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *order);
    if (!order)
        return lt_error_prefix(
            lt_error_nomem("the tensor order", (g->n_tensors ? g->n_tensors : 1) * sizeof *order),
            "%s", g->source);
    for (size_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    lt_status st = NULL;
    qsort(order, g->n_tensors, sizeof *order, compare_tensor_names);
    for (size_t i = 1; i < g->n_tensors && !st; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            st = lt_error(LT_ERR_FORMAT, "%s: duplicate tensor name '%s'", g->source,
                          order[i]->name);
    qsort(order, g->n_tensors, sizeof *order, compare_tensor_offsets);
    for (size_t i = 1; i < g->n_tensors && !st; i++)
        if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes)
            st = lt_error(LT_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section",
                          g->source, order[i - 1]->name, order[i]->name);
    free(order);
    return st;
}

static lt_status parse(lt_gguf *g) {
    if (g->size < HEADER_BYTES)
        return lt_error(LT_ERR_FORMAT,
                        "%s: the GGUF header is truncated (%zu bytes; a header has %d)", g->source,
                        g->size, HEADER_BYTES);
    if (memcmp(g->base, "GGUF", 4) != 0) {
        char magic[5];
        for (int i = 0; i < 4; i++)
            magic[i] = g->base[i] >= 32 && g->base[i] < 127 ? (char)g->base[i] : '?';
        magic[4] = 0;
        return lt_error(LT_ERR_FORMAT, "%s: not a GGUF file (magic '%s', expected 'GGUF')",
                        g->source, magic);
    }
    cursor c = {g, 4};
    uint64_t n_tensors, n_kv;
    LT_TRY(read_u32(&c, &g->version, "version"));
    if (g->version != 2 && g->version != 3)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: GGUF version %u is not supported (lathe reads versions 2 and 3)",
                        g->source, g->version);
    LT_TRY(read_u64(&c, &n_tensors, "tensor count"));
    LT_TRY(read_u64(&c, &n_kv, "metadata count"));
    if (n_kv > remaining(&c) / MIN_KV_BYTES)
        return lt_error(LT_ERR_FORMAT,
                        "%s: the header claims %llu metadata entries, more than the %zu bytes "
                        "after it can hold",
                        g->source, (unsigned long long)n_kv, remaining(&c));
    if (n_tensors > remaining(&c) / MIN_TENSOR_BYTES)
        return lt_error(LT_ERR_FORMAT,
                        "%s: the header claims %llu tensors, more than the %zu bytes after it can "
                        "hold",
                        g->source, (unsigned long long)n_tensors, remaining(&c));
    LT_TRY(read_kvs(g, &c, n_kv));
    LT_TRY(read_alignment(g));
    g->tensors = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *g->tensors);
    if (!g->tensors)
        return lt_error_prefix(
            lt_error_nomem("the tensor table",
                           (size_t)(n_tensors ? n_tensors : 1) * sizeof *g->tensors),
            "%s", g->source);
    for (uint64_t i = 0; i < n_tensors; i++) {
        lt_status st = read_tensor_info(g, &c, &g->tensors[i], i);
        g->n_tensors += g->tensors[i].name != NULL;
        if (st) return st;
    }
    uint64_t data_start = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (n_tensors > 0 && data_start > g->size)
        return lt_error(LT_ERR_FORMAT,
                        "%s: the file ends (%zu bytes) before its data section (at %llu; "
                        "truncated?)",
                        g->source, g->size, (unsigned long long)data_start);
    return n_tensors > 0 ? check_extents(g, (size_t)data_start) : NULL;
}

static lt_status gguf_new(lt_gguf **out, const char *source) {
    *out = calloc(1, sizeof **out);
    if (*out) (*out)->source = lt_strdup(source);
    if (!*out || !(*out)->source) {
        free(*out);
        *out = NULL;
        return lt_error_prefix(lt_error_nomem("the GGUF handle", sizeof **out + strlen(source) + 1),
                               "%s", source);
    }
    return NULL;
}

static lt_status finish_open(lt_gguf **out, lt_gguf *g) {
    lt_status st = parse(g);
    if (st) {
        lt_gguf_close(g);
        return st;
    }
    *out = g;
    return NULL;
}

lt_status lt_gguf_open(lt_gguf **out, const char *path) {
    *out = NULL;
    lt_gguf *g;
    LT_TRY(gguf_new(&g, path));
    lt_status st = lt_mmap_open(&g->map, path);
    if (st) {
        lt_gguf_close(g);
        return st;
    }
    g->base = g->map.data;
    g->size = g->map.size;
    return finish_open(out, g);
}

lt_status lt_gguf_open_buffer(lt_gguf **out, const void *data, size_t size, const char *source) {
    *out = NULL;
    lt_gguf *g;
    LT_TRY(gguf_new(&g, source));
    g->base = data;
    g->size = data ? size : 0;
    return finish_open(out, g);
}

void lt_gguf_close(lt_gguf *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free((char *)g->kv[i].key);
        free((uint64_t *)g->kv[i].str_at);
    }
    for (size_t i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    lt_mmap_close(&g->map);
    free(g->source);
    free(g);
}

const char *lt_gguf_source(const lt_gguf *g) { return g->source; }
uint32_t lt_gguf_version(const lt_gguf *g) { return g->version; }
uint64_t lt_gguf_alignment(const lt_gguf *g) { return g->alignment; }
size_t lt_gguf_n_kv(const lt_gguf *g) { return g->n_kv; }
size_t lt_gguf_n_tensors(const lt_gguf *g) { return g->n_tensors; }

const lt_gguf_kv *lt_gguf_kv_at(const lt_gguf *g, size_t i) {
    return i < g->n_kv ? &g->kv[i] : NULL;
}

const lt_gguf_tensor *lt_gguf_tensor_at(const lt_gguf *g, size_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const lt_gguf_kv *lt_gguf_find_kv(const lt_gguf *g, const char *key) {
    for (size_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const lt_gguf_tensor *lt_gguf_find_tensor(const lt_gguf *g, const char *name) {
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

// ---------------------------------------------------------------- typed reads

static lt_status element(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i) {
    if (i >= kv->n)
        return lt_error(LT_ERR_RANGE, "%s: metadata '%s': index %llu is past its %llu values",
                        g->source, kv->key, (unsigned long long)i, (unsigned long long)kv->n);
    return NULL;
}

static lt_status wrong_type(const lt_gguf *g, const lt_gguf_kv *kv, const char *want) {
    if (kv->type == LT_GGUF_ARRAY)
        return lt_error(LT_ERR_FORMAT, "%s: metadata '%s' must be %s, found an array of %s",
                        g->source, kv->key, want, lt_gguf_type_name(kv->elem_type));
    return lt_error(LT_ERR_FORMAT, "%s: metadata '%s' must be %s, found %s", g->source, kv->key,
                    want, lt_gguf_type_name(kv->type));
}

lt_status lt_gguf_kv_int(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, int64_t *out) {
    LT_TRY(element(g, kv, i));
    size_t size = type_size(kv->elem_type);
    const uint8_t *p = kv->data + i * size;
    switch (kv->elem_type) {
    case LT_GGUF_UINT8: *out = *p; return NULL;
    case LT_GGUF_INT8: *out = (int8_t)*p; return NULL;
    case LT_GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        *out = v;
        return NULL;
    }
    case LT_GGUF_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        *out = v;
        return NULL;
    }
    case LT_GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, p, 4);
        *out = v;
        return NULL;
    }
    case LT_GGUF_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        *out = v;
        return NULL;
    }
    case LT_GGUF_INT64: {
        int64_t v;
        memcpy(&v, p, 8);
        *out = v;
        return NULL;
    }
    case LT_GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, p, 8);
        if (v > (uint64_t)INT64_MAX)
            return lt_error(LT_ERR_RANGE, "%s: metadata '%s': %llu is too large", g->source,
                            kv->key, (unsigned long long)v);
        *out = (int64_t)v;
        return NULL;
    }
    default: return wrong_type(g, kv, "an integer");
    }
}

lt_status lt_gguf_kv_float(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, double *out) {
    LT_TRY(element(g, kv, i));
    if (kv->elem_type == LT_GGUF_FLOAT32) {
        float v;
        memcpy(&v, kv->data + 4 * i, 4);
        *out = v;
    } else if (kv->elem_type == LT_GGUF_FLOAT64) {
        memcpy(out, kv->data + 8 * i, 8);
    } else {
        return wrong_type(g, kv, "a float32 or float64");
    }
    return NULL;
}

lt_status lt_gguf_kv_bool(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, bool *out) {
    LT_TRY(element(g, kv, i));
    if (kv->elem_type != LT_GGUF_BOOL) return wrong_type(g, kv, "a bool");
    uint8_t b = kv->data[i];
    if (b > 1)
        return lt_error(LT_ERR_FORMAT, "%s: metadata '%s': bool byte %u is not 0 or 1", g->source,
                        kv->key, b);
    *out = b;
    return NULL;
}

lt_status lt_gguf_kv_str(const lt_gguf *g, const lt_gguf_kv *kv, uint64_t i, const char **s,
                         size_t *len) {
    LT_TRY(element(g, kv, i));
    if (kv->elem_type != LT_GGUF_STRING) return wrong_type(g, kv, "a string");
    uint64_t n;
    const uint8_t *p = kv->data + kv->str_at[i];
    memcpy(&n, p, 8);
    *s = (const char *)p + 8;
    *len = (size_t)n;
    return NULL;
}

static lt_status scalar(const lt_gguf *g, const char *key, const lt_gguf_kv **kv,
                        const char *want) {
    *kv = lt_gguf_find_kv(g, key);
    if (!*kv) return lt_error(LT_ERR_FORMAT, "%s: missing metadata '%s'", g->source, key);
    if ((*kv)->type == LT_GGUF_ARRAY) return wrong_type(g, *kv, want);
    return NULL;
}

lt_status lt_gguf_get_int(const lt_gguf *g, const char *key, int64_t *out) {
    const lt_gguf_kv *kv;
    LT_TRY(scalar(g, key, &kv, "an integer"));
    return lt_gguf_kv_int(g, kv, 0, out);
}

lt_status lt_gguf_get_float(const lt_gguf *g, const char *key, double *out) {
    const lt_gguf_kv *kv;
    LT_TRY(scalar(g, key, &kv, "a float"));
    return lt_gguf_kv_float(g, kv, 0, out);
}

lt_status lt_gguf_get_bool(const lt_gguf *g, const char *key, bool *out) {
    const lt_gguf_kv *kv;
    LT_TRY(scalar(g, key, &kv, "a bool"));
    return lt_gguf_kv_bool(g, kv, 0, out);
}

lt_status lt_gguf_get_str(const lt_gguf *g, const char *key, const char **s, size_t *len) {
    const lt_gguf_kv *kv;
    LT_TRY(scalar(g, key, &kv, "a string"));
    return lt_gguf_kv_str(g, kv, 0, s, len);
}

// ---------------------------------------------------------------- writing

typedef struct {
    char *name;
    lt_dtype dtype;
    int n_dims;
    int64_t ne[LT_GGUF_MAX_DIMS];
    uint64_t nbytes, offset;
    const void *data;
} writer_tensor;

struct lt_gguf_writer {
    lt_bytes meta; // the encoded metadata entries, in order
    char **keys;   // (n_kv) for duplicate checks
    size_t n_kv, cap_kv;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint64_t data_bytes; // the data section so far
};

lt_status lt_gguf_writer_init(lt_gguf_writer **out) {
    *out = calloc(1, sizeof **out);
    return *out ? NULL : lt_error_nomem("the GGUF writer", sizeof **out);
}

void lt_gguf_writer_free(lt_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->keys);
    free(w->tensors);
    lt_bytes_free(&w->meta);
    free(w);
}

static lt_status put(lt_gguf_writer *w, const void *data, size_t n) {
    return lt_bytes_append(&w->meta, data, n);
}

static lt_status put_u32(lt_gguf_writer *w, uint32_t v) { return put(w, &v, 4); }
static lt_status put_u64(lt_gguf_writer *w, uint64_t v) { return put(w, &v, 8); }
static lt_status put_string(lt_gguf_writer *w, const char *s, size_t len) {
    LT_TRY(put_u64(w, len));
    return put(w, s, len);
}

// Registers a new key (refusing duplicates) and writes it with its type.
static lt_status begin_kv(lt_gguf_writer *w, const char *key, lt_gguf_type type) {
    size_t len = key ? strlen(key) : 0;
    if (len == 0 || len > MAX_KEY_BYTES)
        return lt_error(LT_ERR_ARG, "GGUF writer: a metadata key needs 1..%d bytes", MAX_KEY_BYTES);
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return lt_error(LT_ERR_ARG, "GGUF writer: duplicate metadata key '%s'", key);
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 32;
        char **grown = realloc(w->keys, cap * sizeof *grown);
        if (!grown) return lt_error_nomem("the GGUF writer's key list", cap * sizeof *grown);
        w->keys = grown;
        w->cap_kv = cap;
    }
    if (!(w->keys[w->n_kv] = lt_strdup(key)))
        return lt_error_nomem("a GGUF metadata key", strlen(key) + 1);
    w->n_kv++;
    LT_TRY(put_string(w, key, len));
    return put_u32(w, (uint32_t)type);
}

lt_status lt_gguf_add_scalar(lt_gguf_writer *w, const char *key, lt_gguf_type type,
                             const void *value) {
    size_t size = type_size(type);
    if (size == 0)
        return lt_error(LT_ERR_ARG,
                        "GGUF writer: '%s': lt_gguf_add_scalar takes fixed-size "
                        "types (found %s)",
                        key, lt_gguf_type_name(type));
    if (type == LT_GGUF_BOOL && *(const uint8_t *)value > 1)
        return lt_error(LT_ERR_ARG, "GGUF writer: '%s': a bool must be 0 or 1", key);
    if (key && strcmp(key, "general.alignment") == 0 &&
        (type != LT_GGUF_UINT32 || *(const uint32_t *)value != LT_GGUF_DEFAULT_ALIGNMENT))
        return lt_error(LT_ERR_ARG,
                        "GGUF writer: general.alignment must be the uint32 %d (the "
                        "alignment the writer uses)",
                        LT_GGUF_DEFAULT_ALIGNMENT);
    LT_TRY(begin_kv(w, key, type));
    return put(w, value, size);
}

lt_status lt_gguf_add_u32(lt_gguf_writer *w, const char *key, uint32_t value) {
    return lt_gguf_add_scalar(w, key, LT_GGUF_UINT32, &value);
}

lt_status lt_gguf_add_f32(lt_gguf_writer *w, const char *key, float value) {
    return lt_gguf_add_scalar(w, key, LT_GGUF_FLOAT32, &value);
}

lt_status lt_gguf_add_bool(lt_gguf_writer *w, const char *key, bool value) {
    return lt_gguf_add_scalar(w, key, LT_GGUF_BOOL, &value);
}

lt_status lt_gguf_add_str(lt_gguf_writer *w, const char *key, const char *s, size_t len) {
    LT_TRY(begin_kv(w, key, LT_GGUF_STRING));
    return put_string(w, s, len);
}

lt_status lt_gguf_add_array(lt_gguf_writer *w, const char *key, lt_gguf_type elem_type,
                            const void *values, uint64_t n) {
    size_t size = type_size(elem_type);
    if (size == 0)
        return lt_error(LT_ERR_ARG,
                        "GGUF writer: '%s': lt_gguf_add_array takes fixed-size "
                        "element types (found %s)",
                        key, lt_gguf_type_name(elem_type));
    if (elem_type == LT_GGUF_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (((const uint8_t *)values)[i] > 1)
                return lt_error(LT_ERR_ARG, "GGUF writer: '%s'[%llu]: a bool must be 0 or 1", key,
                                (unsigned long long)i);
    LT_TRY(begin_kv(w, key, LT_GGUF_ARRAY));
    LT_TRY(put_u32(w, (uint32_t)elem_type));
    LT_TRY(put_u64(w, n));
    return put(w, values, (size_t)n * size);
}

lt_status lt_gguf_add_str_array(lt_gguf_writer *w, const char *key, const char *const *strs,
                                const size_t *lens, uint64_t n) {
    LT_TRY(begin_kv(w, key, LT_GGUF_ARRAY));
    LT_TRY(put_u32(w, LT_GGUF_STRING));
    LT_TRY(put_u64(w, n));
    for (uint64_t i = 0; i < n; i++)
        LT_TRY(put_string(w, strs[i], lens ? lens[i] : strlen(strs[i])));
    return NULL;
}

static uint64_t align_up(uint64_t x) {
    return (x + LT_GGUF_DEFAULT_ALIGNMENT - 1) / LT_GGUF_DEFAULT_ALIGNMENT *
           LT_GGUF_DEFAULT_ALIGNMENT;
}

lt_status lt_gguf_add_tensor(lt_gguf_writer *w, const char *name, lt_dtype dtype, int n_dims,
                             const int64_t *ne, const void *data) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > LT_GGUF_MAX_NAME)
        return lt_error(LT_ERR_ARG, "GGUF writer: tensor name '%s' must have 1..%d bytes",
                        name ? name : "", LT_GGUF_MAX_NAME);
    if (lt_gguf_ggml_type(dtype) < 0)
        return lt_error(LT_ERR_ARG, "GGUF writer: tensor '%s': dtype %s cannot be written", name,
                        lt_dtype_name(dtype));
    uint64_t nbytes = lt_gguf_tensor_bytes(dtype, n_dims, ne);
    if (nbytes == 0)
        return lt_error(LT_ERR_ARG,
                        "GGUF writer: tensor '%s': bad shape for %s (1..%d positive "
                        "dims; q8_0 rows a multiple of 32)",
                        name, lt_dtype_name(dtype), LT_GGUF_MAX_DIMS);
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return lt_error(LT_ERR_ARG, "GGUF writer: duplicate tensor name '%s'", name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        writer_tensor *grown = realloc(w->tensors, cap * sizeof *grown);
        if (!grown) return lt_error_nomem("the GGUF writer's tensor list", cap * sizeof *grown);
        w->tensors = grown;
        w->cap_tensors = cap;
    }
    writer_tensor *t = &w->tensors[w->n_tensors];
    *t = (writer_tensor){.dtype = dtype, .n_dims = n_dims, .nbytes = nbytes, .data = data};
    for (int d = 0; d < n_dims; d++) t->ne[d] = ne[d];
    if (!(t->name = lt_strdup(name))) return lt_error_nomem("a GGUF tensor name", strlen(name) + 1);
    t->offset = align_up(w->data_bytes);
    w->data_bytes = t->offset + nbytes;
    w->n_tensors++;
    return NULL;
}

// The header, metadata and tensor infos, padded to the alignment.
static lt_status encode_head(const lt_gguf_writer *w, lt_bytes *head) {
    uint32_t version = 3;
    uint64_t n_tensors = w->n_tensors, n_kv = w->n_kv;
    LT_TRY(lt_bytes_append(head, "GGUF", 4));
    LT_TRY(lt_bytes_append(head, &version, 4));
    LT_TRY(lt_bytes_append(head, &n_tensors, 8));
    LT_TRY(lt_bytes_append(head, &n_kv, 8));
    LT_TRY(lt_bytes_append(head, w->meta.data, w->meta.n));
    for (size_t i = 0; i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        uint64_t len = strlen(t->name), ne;
        uint32_t n_dims = (uint32_t)t->n_dims, type = (uint32_t)lt_gguf_ggml_type(t->dtype);
        LT_TRY(lt_bytes_append(head, &len, 8));
        LT_TRY(lt_bytes_append(head, t->name, len));
        LT_TRY(lt_bytes_append(head, &n_dims, 4));
        for (int d = 0; d < t->n_dims; d++) {
            ne = (uint64_t)t->ne[d];
            LT_TRY(lt_bytes_append(head, &ne, 8));
        }
        LT_TRY(lt_bytes_append(head, &type, 4));
        LT_TRY(lt_bytes_append(head, &t->offset, 8));
    }
    static const uint8_t zeros[LT_GGUF_DEFAULT_ALIGNMENT];
    size_t pad = (size_t)(align_up(head->n) - head->n);
    return lt_bytes_append(head, zeros, pad);
}

lt_status lt_gguf_writer_write(const lt_gguf_writer *w, const char *path) {
    lt_bytes head = {0};
    lt_status st = encode_head(w, &head);
    if (st) {
        lt_bytes_free(&head);
        return lt_error_prefix(st, "%s", path);
    }
    lt_file f;
    st = lt_file_create(&f, path);
    if (!st) st = lt_file_write(&f, head.data, head.n);
    lt_bytes_free(&head);
    static const uint8_t zeros[LT_GGUF_DEFAULT_ALIGNMENT];
    uint64_t at = 0;
    for (size_t i = 0; i < w->n_tensors && !st; i++) {
        const writer_tensor *t = &w->tensors[i];
        st = lt_file_write(&f, zeros, (size_t)(t->offset - at));
        if (!st) st = lt_file_write(&f, t->data, (size_t)t->nbytes);
        at = t->offset + t->nbytes;
    }
    if (st) {
        lt_file_abort(&f);
        return st;
    }
    lt_fault_point("gguf:before-commit");
    return lt_file_commit(&f);
}
