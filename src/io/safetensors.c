// safetensors.c: the safetensors reader (one file or a sharded directory,
// mapped and validated up front, tensors used in place) and writer (f32 in,
// F32/BF16/F16/I32 out, crash-safe). The validation follows the reference
// implementation (huggingface/safetensors): a header of at most 100 MB, and
// tensors whose data_offsets, sorted, cover the data section back to back
// from byte 0 to its end — no overlaps, no holes, no trailing bytes.
#include "lathe/safetensors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies host integers and floats as-is: it needs a little-endian host"
#endif

#define MAX_HEADER_BYTES 100000000ull // the reference implementation's limit
#define MAX_INDEX_BYTES ((size_t)64 << 20)
#define MAX_EXACT_INT 9007199254740992.0 // 2^53: JSON numbers above it are not exact doubles
#define CONVERT_CHUNK 8192               // elements converted per step through a stack buffer

struct lt_safetensors {
    char *source;   // the file or directory opened, for messages
    lt_mmap *files; // (n_files) one per file or shard
    size_t n_files;
    lt_st_tensor *tensors; // (n_tensors) by file, then by data offset
    size_t n_tensors, cap_tensors;
    const lt_st_tensor **by_name; // (n_tensors) sorted by name, for lookups
    char **metadata;              // (2 * n_metadata) key, value, key, value, ...
    size_t n_metadata, cap_metadata;
};

// ---------------------------------------------------------------- dtypes

static const struct {
    const char *name;
    lt_dtype dtype;
} supported_dtypes[] = {{"F32", LT_F32}, {"BF16", LT_BF16}, {"F16", LT_F16}, {"I32", LT_I32}};

// Valid safetensors dtypes that lathe does not read: named in a clearer error.
static const char *const other_dtypes[] = {
    "F64",  "I64",     "U64",     "U32",     "I16",     "U16",     "I8", "U8",
    "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

#define SUPPORTED_LIST "F32, BF16, F16 or I32"

const char *lt_safetensors_dtype_name(lt_dtype t) {
    for (size_t i = 0; i < sizeof supported_dtypes / sizeof supported_dtypes[0]; i++)
        if (supported_dtypes[i].dtype == t) return supported_dtypes[i].name;
    return NULL;
}

// ---------------------------------------------------------------- small helpers

static const char *json_type(const cJSON *v) {
    if (!v) return "nothing";
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

// A JSON integer in [0, 2^53], the range where a double holds it exactly.
static bool json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= MAX_EXACT_INT) || d != floor(d)) return false;
    *out = (uint64_t)d;
    return true;
}

// Offset of the first byte that is not valid UTF-8 (or is NUL), SIZE_MAX if none.
static size_t utf8_invalid_at(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return i;
        }
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return SIZE_MAX;
}

// "[2, 3]" into buf (ndim <= LT_ST_MAX_DIMS, so 256 bytes always suffice).
static const char *format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && k < size; d++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < size) snprintf(buf + k, size - k, "]");
    return buf;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Sorts names in place and returns one that occurs twice, or NULL.
static const char *sorted_duplicate(const char **names, size_t n) {
    qsort(names, n, sizeof *names, compare_strings);
    for (size_t i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

// ---------------------------------------------------------------- the set

static lt_status set_new(lt_safetensors **out, const char *source) {
    *out = NULL;
    lt_safetensors *st = calloc(1, sizeof *st);
    if (st) st->source = lt_strdup(source);
    if (!st || !st->source) {
        free(st);
        return lt_error_prefix(
            lt_error_nomem("the safetensors handle", sizeof *st + strlen(source) + 1), "%s",
            source);
    }
    *out = st;
    return NULL;
}

void lt_safetensors_close(lt_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (size_t i = 0; i < 2 * st->n_metadata; i++) free(st->metadata[i]);
    for (size_t i = 0; i < st->n_files; i++) lt_mmap_close(&st->files[i]);
    free(st->tensors);
    free(st->by_name);
    free(st->metadata);
    free(st->files);
    free(st->source);
    free(st);
}

// Appends a zeroed tensor and returns it (valid until the next push).
static lt_status push_tensor(lt_safetensors *st, lt_st_tensor **out) {
    if (st->n_tensors == st->cap_tensors) {
        size_t cap = st->cap_tensors ? 2 * st->cap_tensors : 64;
        lt_st_tensor *grown = realloc(st->tensors, cap * sizeof *grown);
        if (!grown) return lt_error_nomem("the tensor table", cap * sizeof *grown);
        st->tensors = grown;
        st->cap_tensors = cap;
    }
    *out = &st->tensors[st->n_tensors++];
    memset(*out, 0, sizeof **out);
    return NULL;
}

static lt_status push_metadata(lt_safetensors *st, const char *key, const char *value) {
    if (st->n_metadata == st->cap_metadata) {
        size_t cap = st->cap_metadata ? 2 * st->cap_metadata : 8;
        char **grown = realloc(st->metadata, 2 * cap * sizeof *grown);
        if (!grown) return lt_error_nomem("the metadata table", 2 * cap * sizeof *grown);
        st->metadata = grown;
        st->cap_metadata = cap;
    }
    char *k = lt_strdup(key), *v = lt_strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return lt_error_nomem("a metadata entry", 0);
    }
    st->metadata[2 * st->n_metadata] = k;
    st->metadata[2 * st->n_metadata + 1] = v;
    st->n_metadata++;
    return NULL;
}

// ---------------------------------------------------------------- one header entry

static lt_status parse_dtype(const cJSON *entry, const char *name, lt_dtype *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!v) return lt_error(LT_ERR_FORMAT, "tensor '%s': missing field 'dtype'", name);
    if (!cJSON_IsString(v))
        return lt_error(LT_ERR_FORMAT, "tensor '%s': field 'dtype' must be a string, found %s",
                        name, json_type(v));
    for (size_t i = 0; i < sizeof supported_dtypes / sizeof supported_dtypes[0]; i++) {
        if (strcmp(v->valuestring, supported_dtypes[i].name) == 0) {
            *out = supported_dtypes[i].dtype;
            return NULL;
        }
    }
    for (size_t i = 0; i < sizeof other_dtypes / sizeof other_dtypes[0]; i++)
        if (strcmp(v->valuestring, other_dtypes[i]) == 0)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "tensor '%s': dtype %s is not supported (lathe reads " SUPPORTED_LIST
                            "); convert the checkpoint first",
                            name, v->valuestring);
    return lt_error(LT_ERR_FORMAT,
                    "tensor '%s': unknown dtype '%s' (lathe reads " SUPPORTED_LIST ")", name,
                    v->valuestring);
}

static lt_status parse_shape(const cJSON *entry, const char *name, lt_st_tensor *t) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!v) return lt_error(LT_ERR_FORMAT, "tensor '%s': missing field 'shape'", name);
    if (!cJSON_IsArray(v))
        return lt_error(LT_ERR_FORMAT, "tensor '%s': field 'shape' must be an array, found %s",
                        name, json_type(v));
    int ndim = cJSON_GetArraySize(v);
    if (ndim > LT_ST_MAX_DIMS)
        return lt_error(LT_ERR_UNSUPPORTED, "tensor '%s': %d dimensions, lathe handles at most %d",
                        name, ndim, LT_ST_MAX_DIMS);
    int d = 0;
    for (const cJSON *dim = v->child; dim; dim = dim->next, d++) {
        uint64_t n;
        if (!cJSON_IsNumber(dim))
            return lt_error(LT_ERR_FORMAT, "tensor '%s': shape[%d] must be a number, found %s",
                            name, d, json_type(dim));
        if (!json_uint(dim, &n))
            return lt_error(LT_ERR_FORMAT,
                            "tensor '%s': shape[%d] is %.17g; dimensions must be integers in "
                            "[0, 2^53]",
                            name, d, dim->valuedouble);
        t->shape[d] = (int64_t)n;
    }
    t->ndim = ndim;
    return NULL;
}

static lt_status parse_offsets(const cJSON *entry, const char *name, uint64_t *begin,
                               uint64_t *end) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!v) return lt_error(LT_ERR_FORMAT, "tensor '%s': missing field 'data_offsets'", name);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !json_uint(v->child, begin) ||
        !json_uint(v->child->next, end))
        return lt_error(LT_ERR_FORMAT,
                        "tensor '%s': field 'data_offsets' must be [begin, end], two integers "
                        ">= 0",
                        name);
    if (*end < *begin)
        return lt_error(LT_ERR_FORMAT,
                        "tensor '%s': data_offsets [%llu, %llu] end before they begin", name,
                        (unsigned long long)*begin, (unsigned long long)*end);
    return NULL;
}

// Fills t from one header entry; data is the data section of data_size bytes.
static lt_status parse_entry(lt_st_tensor *t, const cJSON *entry, const uint8_t *data,
                             uint64_t data_size) {
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return lt_error(LT_ERR_FORMAT, "tensor '%s': entry must be an object, found %s", name,
                        json_type(entry));
    LT_TRY(parse_dtype(entry, name, &t->dtype));
    LT_TRY(parse_shape(entry, name, t));
    uint64_t begin = 0, end = 0;
    LT_TRY(parse_offsets(entry, name, &begin, &end));

    char shape[256];
    uint64_t count = 1, nbytes;
    bool overflow = false;
    for (int d = 0; d < t->ndim; d++)
        overflow |= __builtin_mul_overflow(count, (uint64_t)t->shape[d], &count);
    overflow |= __builtin_mul_overflow(count, (uint64_t)lt_dtype_size(t->dtype), &nbytes);
    if (overflow)
        return lt_error(LT_ERR_FORMAT, "tensor '%s': shape %s overflows 64 bits", name,
                        format_shape(shape, sizeof shape, t->ndim, t->shape));
    if (end - begin != nbytes)
        return lt_error(LT_ERR_FORMAT,
                        "tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but shape %s of "
                        "%s needs %llu",
                        name, (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)(end - begin),
                        format_shape(shape, sizeof shape, t->ndim, t->shape),
                        lt_safetensors_dtype_name(t->dtype), (unsigned long long)nbytes);
    if (end > data_size)
        return lt_error(LT_ERR_FORMAT,
                        "tensor '%s': data_offsets [%llu, %llu] go past the end of the "
                        "%llu-byte data section (file truncated?)",
                        name, (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)data_size);
    t->nbytes = nbytes;
    t->data = data + begin;
    return NULL;
}

// ---------------------------------------------------------------- one file

static lt_status parse_metadata(lt_safetensors *st, const cJSON *meta) {
    if (!cJSON_IsObject(meta))
        return lt_error(LT_ERR_FORMAT, "__metadata__ must be an object of strings, found %s",
                        json_type(meta));
    size_t n = (size_t)cJSON_GetArraySize(meta);
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) return lt_error_nomem("the __metadata__ keys", (n ? n : 1) * sizeof *keys);
    size_t i = 0;
    lt_status s = NULL;
    for (const cJSON *kv = meta->child; kv && !s; kv = kv->next) {
        keys[i++] = kv->string;
        if (!cJSON_IsString(kv))
            s = lt_error(LT_ERR_FORMAT, "__metadata__ value of '%s' must be a string, found %s",
                         kv->string, json_type(kv));
        else
            s = push_metadata(st, kv->string, kv->valuestring);
    }
    const char *dup = s ? NULL : sorted_duplicate(keys, n);
    if (dup) s = lt_error(LT_ERR_FORMAT, "__metadata__ lists key '%s' twice", dup);
    free(keys);
    return s;
}

static int compare_offsets(const void *a, const void *b) {
    const lt_st_tensor *x = a, *y = b;
    if (x->data != y->data) return x->data < y->data ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

// Sorts the file's tensors by offset and checks that they tile the data section.
static lt_status check_layout(lt_st_tensor *tensors, size_t n, const uint8_t *data,
                              uint64_t data_size) {
    if (n > 1) qsort(tensors, n, sizeof *tensors, compare_offsets);
    const uint8_t *cursor = data;
    for (size_t i = 0; i < n; i++) {
        const lt_st_tensor *t = &tensors[i];
        unsigned long long begin = (unsigned long long)(t->data - data);
        unsigned long long at = (unsigned long long)(cursor - data);
        if (t->data < cursor) {
            const lt_st_tensor *p = &tensors[i - 1];
            unsigned long long pb = (unsigned long long)(p->data - data);
            return lt_error(LT_ERR_FORMAT,
                            "tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap in the data "
                            "section",
                            p->name, pb, pb + p->nbytes, t->name, begin, begin + t->nbytes);
        }
        if (t->data > cursor)
            return lt_error(LT_ERR_FORMAT,
                            "bytes [%llu, %llu) of the data section belong to no tensor (a hole "
                            "before '%s'); safetensors requires tensors to cover it back to back",
                            at, begin, t->name);
        cursor = t->data + t->nbytes;
    }
    uint64_t covered = (uint64_t)(cursor - data);
    if (covered != data_size)
        return lt_error(LT_ERR_FORMAT,
                        "the last %llu bytes of the %llu-byte data section belong to no tensor "
                        "(trailing bytes after the last tensor)",
                        (unsigned long long)(data_size - covered), (unsigned long long)data_size);
    return NULL;
}

// Validates the header of mapping m and appends its tensors and metadata to st.
static lt_status parse_file(lt_safetensors *st, const lt_mmap *m) {
    if (m->size < 8)
        return lt_error(LT_ERR_FORMAT,
                        "%zu bytes, too short for the 8-byte header length (truncated?)", m->size);
    uint64_t n;
    memcpy(&n, m->data, 8);
    if (n > MAX_HEADER_BYTES)
        return lt_error(LT_ERR_FORMAT,
                        "header length %llu is over the %llu-byte limit (not a safetensors file?)",
                        (unsigned long long)n, MAX_HEADER_BYTES);
    if (n > m->size - 8)
        return lt_error(LT_ERR_FORMAT,
                        "header length %llu goes past the end of the %zu-byte file (truncated?)",
                        (unsigned long long)n, m->size);
    if (n == 0) return lt_error(LT_ERR_FORMAT, "header length is 0; expected a JSON object");
    const char *text = (const char *)m->data + 8;
    size_t bad = utf8_invalid_at(m->data + 8, n);
    if (bad != SIZE_MAX)
        return lt_error(LT_ERR_FORMAT, "header is not valid UTF-8 text (byte %zu of the header)",
                        bad);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, false);
    if (!root)
        return lt_error(LT_ERR_FORMAT, "header is not valid JSON (near byte %zu of the header)",
                        end && end >= text ? (size_t)(end - text) : (size_t)0);
    lt_status s = NULL;
    for (size_t i = (size_t)(end - text); i < n && !s; i++)
        if (!strchr(" \t\r\n", text[i]))
            s = lt_error(LT_ERR_FORMAT,
                         "header has bytes after its JSON object (byte %zu of the header); only "
                         "space padding may follow",
                         i);
    if (!s && !cJSON_IsObject(root))
        s = lt_error(LT_ERR_FORMAT, "header must be a JSON object, found %s", json_type(root));

    const uint8_t *data = m->data + 8 + n;
    uint64_t data_size = m->size - 8 - n;
    size_t first = st->n_tensors;
    int metadata_seen = 0;
    for (const cJSON *item = root->child; item && !s; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (metadata_seen++)
                s = lt_error(LT_ERR_FORMAT, "header has two __metadata__ entries");
            else
                s = parse_metadata(st, item);
            continue;
        }
        lt_st_tensor *t = NULL;
        s = push_tensor(st, &t);
        if (s) break;
        t->name = lt_strdup(item->string);
        t->file = m->path;
        if (!t->name) s = lt_error_nomem("a tensor name", strlen(item->string) + 1);
        if (!s) s = parse_entry(t, item, data, data_size);
    }
    if (!s)
        s = check_layout(st->n_tensors > first ? st->tensors + first : NULL, st->n_tensors - first,
                         data, data_size);
    cJSON_Delete(root);
    return s;
}

static lt_status add_file(lt_safetensors *st, const char *path) {
    lt_mmap *grown = realloc(st->files, (st->n_files + 1) * sizeof *grown);
    if (!grown)
        return lt_error_prefix(lt_error_nomem("the file list", (st->n_files + 1) * sizeof *grown),
                               "%s", path);
    st->files = grown;
    LT_TRY(lt_mmap_open(&st->files[st->n_files], path));
    const lt_mmap *m = &st->files[st->n_files++];
    return lt_error_prefix(parse_file(st, m), "%s", path);
}

static int compare_tensor_names(const void *a, const void *b) {
    const lt_st_tensor *x = *(const lt_st_tensor *const *)a, *y = *(const lt_st_tensor *const *)b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x < y ? -1 : x > y; // the earlier one first, so messages name files in order
}

// Builds the by-name index and rejects names that occur twice.
static lt_status build_index(lt_safetensors *st) {
    free(st->by_name);
    st->by_name = malloc((st->n_tensors ? st->n_tensors : 1) * sizeof *st->by_name);
    if (!st->by_name)
        return lt_error_prefix(
            lt_error_nomem("the tensor name index",
                           (st->n_tensors ? st->n_tensors : 1) * sizeof *st->by_name),
            "%s", st->source);
    for (size_t i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, st->n_tensors, sizeof *st->by_name, compare_tensor_names);
    for (size_t i = 1; i < st->n_tensors; i++) {
        const lt_st_tensor *a = st->by_name[i - 1], *b = st->by_name[i];
        if (strcmp(a->name, b->name) != 0) continue;
        if (a->file == b->file)
            return lt_error(LT_ERR_FORMAT, "%s: the header lists tensor '%s' twice", a->file,
                            a->name);
        return lt_error(LT_ERR_FORMAT, "tensor '%s' is in both %s and %s", a->name, a->file,
                        b->file);
    }
    return NULL;
}

lt_status lt_safetensors_open(lt_safetensors **out, const char *path) {
    *out = NULL;
    lt_safetensors *st;
    LT_TRY(set_new(&st, path));
    lt_status s = add_file(st, path);
    if (!s) s = build_index(st);
    if (s) {
        lt_safetensors_close(st);
        return s;
    }
    *out = st;
    return NULL;
}

// ---------------------------------------------------------------- sharded directories

typedef struct {
    const char *tensor; // borrowed from the index document
    const char *shard;
} weight_map_entry;

static int compare_weight_map(const void *a, const void *b) {
    return strcmp(((const weight_map_entry *)a)->tensor, ((const weight_map_entry *)b)->tensor);
}

// A shard must be a plain file name inside the directory.
static bool plain_file_name(const char *name) {
    return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
           !strchr(name, '\\');
}

// Reads weight_map into a table sorted by tensor name, checking every value.
static lt_status read_weight_map(const cJSON *doc, const char *index, weight_map_entry **out,
                                 size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!cJSON_IsObject(doc))
        return lt_error(LT_ERR_FORMAT, "%s: must be a JSON object, found %s", index,
                        json_type(doc));
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(doc, "weight_map");
    if (!wm) return lt_error(LT_ERR_FORMAT, "%s: missing field 'weight_map'", index);
    if (!cJSON_IsObject(wm) || !wm->child)
        return lt_error(LT_ERR_FORMAT,
                        "%s: field 'weight_map' must be a non-empty object {tensor: shard file}",
                        index);
    size_t n = (size_t)cJSON_GetArraySize(wm);
    weight_map_entry *map = malloc(n * sizeof *map);
    if (!map)
        return lt_error_prefix(lt_error_nomem("the weight map", n * sizeof *map), "%s", index);
    size_t i = 0;
    for (const cJSON *e = wm->child; e; e = e->next, i++) {
        lt_status s = NULL;
        if (!cJSON_IsString(e))
            s = lt_error(LT_ERR_FORMAT, "%s: weight_map['%s'] must be a shard file name, found %s",
                         index, e->string, json_type(e));
        else if (!plain_file_name(e->valuestring))
            s = lt_error(LT_ERR_FORMAT,
                         "%s: weight_map['%s'] names shard '%s', which is not a plain file name "
                         "(shards must lie in the index's directory: no '/' or '..')",
                         index, e->string, e->valuestring);
        if (s) {
            free(map);
            return s;
        }
        map[i] = (weight_map_entry){e->string, e->valuestring};
    }
    qsort(map, n, sizeof *map, compare_weight_map);
    for (i = 1; i < n; i++) {
        if (strcmp(map[i - 1].tensor, map[i].tensor) == 0) {
            lt_status s = lt_error(LT_ERR_FORMAT, "%s: weight_map lists tensor '%s' twice", index,
                                   map[i].tensor);
            free(map);
            return s;
        }
    }
    *out = map;
    *n_out = n;
    return NULL;
}

// The index's "metadata": strings as they are, numbers as decimal text.
static lt_status read_index_metadata(lt_safetensors *st, const cJSON *doc, const char *index) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    if (!meta || cJSON_IsNull(meta)) return NULL;
    if (!cJSON_IsObject(meta))
        return lt_error(LT_ERR_FORMAT, "%s: field 'metadata' must be an object, found %s", index,
                        json_type(meta));
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        char number[64];
        const char *value = NULL;
        if (cJSON_IsString(kv)) {
            value = kv->valuestring;
        } else if (cJSON_IsNumber(kv)) {
            double d = kv->valuedouble;
            if (d == floor(d) && fabs(d) <= MAX_EXACT_INT)
                snprintf(number, sizeof number, "%lld", (long long)d);
            else
                snprintf(number, sizeof number, "%.17g", d);
            value = number;
        }
        if (value) LT_TRY(push_metadata(st, kv->string, value));
    }
    return NULL;
}

// Opens each distinct shard once, in name order.
static lt_status open_shards(lt_safetensors *st, const char *dir, const char *index,
                             const weight_map_entry *map, size_t n) {
    const char **shards = malloc(n * sizeof *shards);
    if (!shards)
        return lt_error_prefix(lt_error_nomem("the shard list", n * sizeof *shards), "%s", index);
    for (size_t i = 0; i < n; i++) shards[i] = map[i].shard;
    qsort(shards, n, sizeof *shards, compare_strings);
    lt_status s = NULL;
    for (size_t i = 0; i < n && !s; i++) {
        if (i > 0 && strcmp(shards[i - 1], shards[i]) == 0) continue;
        char *path = lt_path_join(dir, shards[i]);
        if (!path) {
            s = lt_error_prefix(lt_error_nomem("a shard path", strlen(dir) + strlen(shards[i]) + 2),
                                "%s", index);
            break;
        }
        s = lt_error_prefix(add_file(st, path), "%s names shard '%s'", index, shards[i]);
        free(path);
    }
    free(shards);
    return s;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// Every weight_map tensor is in its shard; every shard tensor is in weight_map.
static lt_status check_weight_map(const lt_safetensors *st, const char *index,
                                  const weight_map_entry *map, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const lt_st_tensor *t = lt_safetensors_find(st, map[i].tensor);
        if (!t)
            return lt_error(LT_ERR_FORMAT,
                            "%s: weight_map puts tensor '%s' in shard '%s', which does not "
                            "contain it",
                            index, map[i].tensor, map[i].shard);
        if (strcmp(base_name(t->file), map[i].shard) != 0)
            return lt_error(LT_ERR_FORMAT,
                            "%s: weight_map puts tensor '%s' in shard '%s', but it is in %s", index,
                            map[i].tensor, map[i].shard, t->file);
    }
    for (size_t i = 0; i < st->n_tensors && st->n_tensors != n; i++) {
        weight_map_entry key = {st->tensors[i].name, NULL};
        if (!bsearch(&key, map, n, sizeof *map, compare_weight_map))
            return lt_error(LT_ERR_FORMAT, "%s: shard %s holds tensor '%s', which weight_map lacks",
                            index, st->tensors[i].file, st->tensors[i].name);
    }
    return NULL;
}

static lt_status open_index(lt_safetensors **out, const char *dir, const char *index) {
    lt_safetensors *st;
    LT_TRY(set_new(&st, dir));
    cJSON *doc = NULL;
    weight_map_entry *map = NULL;
    size_t n = 0;
    lt_status s = lt_json_read_file(&doc, index, MAX_INDEX_BYTES);
    if (!s) s = read_weight_map(doc, index, &map, &n);
    if (!s) s = read_index_metadata(st, doc, index);
    if (!s) s = open_shards(st, dir, index, map, n);
    if (!s) s = build_index(st);
    if (!s) s = check_weight_map(st, index, map, n);
    free(map);
    cJSON_Delete(doc);
    if (s) {
        lt_safetensors_close(st);
        return s;
    }
    *out = st;
    return NULL;
}

lt_status lt_safetensors_open_dir(lt_safetensors **out, const char *dir) {
    *out = NULL;
    char *single = lt_path_join(dir, "model.safetensors");
    char *index = lt_path_join(dir, "model.safetensors.index.json");
    lt_status s;
    if (!single || !index)
        s = lt_error_prefix(lt_error_nomem("the checkpoint's file paths", 2 * strlen(dir) + 64),
                            "%s", dir);
    else if (lt_path_exists(single))
        s = lt_safetensors_open(out, single);
    else if (lt_path_exists(index))
        s = open_index(out, dir, index);
    else
        s = lt_error(LT_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json there",
                     dir);
    free(single);
    free(index);
    return s;
}

// ---------------------------------------------------------------- lookups and reads

size_t lt_safetensors_count(const lt_safetensors *st) { return st->n_tensors; }

const lt_st_tensor *lt_safetensors_get(const lt_safetensors *st, size_t i) {
    return i < st->n_tensors ? &st->tensors[i] : NULL;
}

const lt_st_tensor *lt_safetensors_find(const lt_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return st->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *lt_safetensors_metadata(const lt_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->n_metadata; i++)
        if (strcmp(st->metadata[2 * i], key) == 0) return st->metadata[2 * i + 1];
    return NULL;
}

// Finds tensor `name` and checks that its shape is (ndim, shape).
static lt_status find_shaped(const lt_safetensors *st, const char *name, int ndim,
                             const int64_t *shape, const lt_st_tensor **out) {
    if (ndim < 0 || ndim > LT_ST_MAX_DIMS || (ndim > 0 && !shape))
        return lt_error(LT_ERR_ARG, "tensor '%s': expected shape has %d dimensions", name, ndim);
    const lt_st_tensor *t = lt_safetensors_find(st, name);
    if (!t) return lt_error(LT_ERR_FORMAT, "%s: no tensor named '%s'", st->source, name);
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char have[256], want[256];
        return lt_error(LT_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", t->file, name,
                        format_shape(have, sizeof have, t->ndim, t->shape),
                        format_shape(want, sizeof want, ndim, shape));
    }
    *out = t;
    return NULL;
}

lt_status lt_safetensors_read_f32(const lt_safetensors *st, const char *name, float *dst, int ndim,
                                  const int64_t *shape) {
    const lt_st_tensor *t;
    LT_TRY(find_shaped(st, name, ndim, shape, &t));
    if (t->dtype == LT_I32)
        return lt_error(LT_ERR_UNSUPPORTED,
                        "%s: tensor '%s' is I32, not a float type (read it with "
                        "lt_safetensors_read_i32)",
                        t->file, name);
    if (t->nbytes == 0) return NULL;
    if (t->dtype == LT_F32) {
        memcpy(dst, t->data, t->nbytes);
        return NULL;
    }
    // The file's 16-bit values may sit at odd addresses: copy them into an
    // aligned buffer before widening.
    uint16_t chunk[CONVERT_CHUNK];
    size_t count = t->nbytes / 2;
    for (size_t i = 0; i < count; i += CONVERT_CHUNK) {
        size_t k = count - i < CONVERT_CHUNK ? count - i : CONVERT_CHUNK;
        memcpy(chunk, t->data + 2 * i, 2 * k);
        if (t->dtype == LT_BF16)
            lt_bf16_to_f32_array(dst + i, chunk, k);
        else
            lt_f16_to_f32_array(dst + i, chunk, k);
    }
    return NULL;
}

lt_status lt_safetensors_read_i32(const lt_safetensors *st, const char *name, int32_t *dst,
                                  int ndim, const int64_t *shape) {
    const lt_st_tensor *t;
    LT_TRY(find_shaped(st, name, ndim, shape, &t));
    if (t->dtype != LT_I32)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: tensor '%s' is %s, not I32", t->file, name,
                        lt_safetensors_dtype_name(t->dtype));
    if (t->nbytes) memcpy(dst, t->data, t->nbytes);
    return NULL;
}

// ---------------------------------------------------------------- writing

typedef struct {
    char *text;
    size_t len, cap;
    bool failed; // an allocation failed: the text is incomplete
} text_buf;

static void buf_put(text_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->text, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = 0;
}

static void buf_printf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(text_buf *b, const char *fmt, ...) {
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof small)
        buf_put(b, small, (size_t)n);
    else
        b->failed = true; // only short numbers are printed
}

static void buf_json_string(text_buf *b, const char *s) {
    buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char escaped[2] = {'\\', (char)*p};
            buf_put(b, escaped, 2);
        } else if (*p < 0x20) {
            buf_printf(b, "\\u%04x", *p);
        } else {
            buf_put(b, (const char *)p, 1);
        }
    }
    buf_put(b, "\"", 1);
}

static lt_status check_entry(const lt_st_entry *e, size_t i, uint64_t *nbytes) {
    if (!e->name || !e->name[0]) return lt_error(LT_ERR_ARG, "tensor %zu has no name", i);
    if (strcmp(e->name, "__metadata__") == 0)
        return lt_error(LT_ERR_ARG, "'__metadata__' is reserved and cannot name a tensor");
    if (utf8_invalid_at((const uint8_t *)e->name, strlen(e->name)) != SIZE_MAX)
        return lt_error(LT_ERR_ARG, "tensor %zu: name is not valid UTF-8", i);
    if (!lt_safetensors_dtype_name(e->dtype))
        return lt_error(LT_ERR_UNSUPPORTED,
                        "tensor '%s': dtype %s cannot be written to safetensors (" SUPPORTED_LIST
                        ")",
                        e->name, lt_dtype_name(e->dtype));
    if (e->ndim < 0 || e->ndim > LT_ST_MAX_DIMS)
        return lt_error(LT_ERR_ARG, "tensor '%s': %d dimensions (0 to %d allowed)", e->name,
                        e->ndim, LT_ST_MAX_DIMS);
    uint64_t count = 1;
    bool overflow = false;
    for (int d = 0; d < e->ndim; d++) {
        if (e->shape[d] < 0)
            return lt_error(LT_ERR_ARG, "tensor '%s': shape[%d] is %lld", e->name, d,
                            (long long)e->shape[d]);
        overflow |= __builtin_mul_overflow(count, (uint64_t)e->shape[d], &count);
    }
    overflow |= __builtin_mul_overflow(count, (uint64_t)lt_dtype_size(e->dtype), nbytes);
    if (overflow || *nbytes > (uint64_t)MAX_EXACT_INT)
        return lt_error(LT_ERR_RANGE, "tensor '%s': too many elements", e->name);
    if (count > 0 && !e->data) return lt_error(LT_ERR_ARG, "tensor '%s': data is NULL", e->name);
    return NULL;
}

static int compare_entry_names(const void *a, const void *b) {
    return strcmp((*(const lt_st_entry *const *)a)->name, (*(const lt_st_entry *const *)b)->name);
}

// Largest elements first (so every tensor stays aligned to its element size), then by name.
static int compare_entry_layout(const void *a, const void *b) {
    const lt_st_entry *x = *(const lt_st_entry *const *)a, *y = *(const lt_st_entry *const *)b;
    size_t sx = lt_dtype_size(x->dtype), sy = lt_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

// Checks the entries and returns them in file order.
static lt_status plan_layout(const lt_st_entry *entries, size_t n, const lt_st_entry ***out) {
    *out = NULL;
    const lt_st_entry **order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return lt_error_nomem("the tensor layout", (n ? n : 1) * sizeof *order);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t nbytes = 0;
        lt_status s = check_entry(&entries[i], i, &nbytes);
        if (!s && (total += nbytes) > (uint64_t)MAX_EXACT_INT)
            s = lt_error(LT_ERR_RANGE, "tensors total more than 2^53 bytes");
        if (s) {
            free(order);
            return s;
        }
        order[i] = &entries[i];
    }
    qsort(order, n, sizeof *order, compare_entry_names);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            lt_status s = lt_error(LT_ERR_ARG, "tensor '%s' is given twice", order[i]->name);
            free(order);
            return s;
        }
    }
    qsort(order, n, sizeof *order, compare_entry_layout);
    *out = order;
    return NULL;
}

static lt_status check_metadata(const char *const *kv) {
    for (size_t i = 0; kv && kv[i]; i += 2) {
        if (!kv[i + 1]) return lt_error(LT_ERR_ARG, "metadata key '%s' has no value", kv[i]);
        if (utf8_invalid_at((const uint8_t *)kv[i], strlen(kv[i])) != SIZE_MAX ||
            utf8_invalid_at((const uint8_t *)kv[i + 1], strlen(kv[i + 1])) != SIZE_MAX)
            return lt_error(LT_ERR_ARG, "metadata entry %zu is not valid UTF-8", i / 2);
        for (size_t j = 0; j < i; j += 2)
            if (strcmp(kv[j], kv[i]) == 0)
                return lt_error(LT_ERR_ARG, "metadata key '%s' is given twice", kv[i]);
    }
    return NULL;
}

// The JSON header, space-padded to a multiple of 8 bytes.
static lt_status build_header(text_buf *b, const lt_st_entry *const *order, size_t n,
                              const char *const *kv) {
    buf_put(b, "{", 1);
    bool first = true;
    if (kv && kv[0]) {
        buf_put(b, "\"__metadata__\":{", 16);
        for (size_t i = 0; kv[i]; i += 2) {
            if (i) buf_put(b, ",", 1);
            buf_json_string(b, kv[i]);
            buf_put(b, ":", 1);
            buf_json_string(b, kv[i + 1]);
        }
        buf_put(b, "}", 1);
        first = false;
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const lt_st_entry *e = order[i];
        uint64_t count = 1;
        for (int d = 0; d < e->ndim; d++) count *= (uint64_t)e->shape[d];
        uint64_t end = offset + count * lt_dtype_size(e->dtype);
        if (!first) buf_put(b, ",", 1);
        first = false;
        buf_json_string(b, e->name);
        buf_printf(b, ":{\"dtype\":\"%s\",\"shape\":[", lt_safetensors_dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++)
            buf_printf(b, "%s%lld", d ? "," : "", (long long)e->shape[d]);
        buf_printf(b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                   (unsigned long long)end);
        offset = end;
    }
    buf_put(b, "}", 1);
    while (!b->failed && b->len % 8) buf_put(b, " ", 1);
    if (b->failed) return lt_error_nomem("the safetensors header text", 0);
    if (b->len > MAX_HEADER_BYTES)
        return lt_error(LT_ERR_RANGE, "header of %zu bytes is over the %llu-byte limit", b->len,
                        MAX_HEADER_BYTES);
    return NULL;
}

// Writes one tensor's data, converting f32 to BF16/F16 in chunks.
static lt_status write_data(lt_file *f, const lt_st_entry *e) {
    size_t count = 1;
    for (int d = 0; d < e->ndim; d++) count *= (size_t)e->shape[d];
    if (count == 0) return NULL;
    if (e->dtype == LT_F32 || e->dtype == LT_I32) return lt_file_write(f, e->data, count * 4);
    const float *src = e->data;
    uint16_t chunk[CONVERT_CHUNK];
    for (size_t i = 0; i < count; i += CONVERT_CHUNK) {
        size_t k = count - i < CONVERT_CHUNK ? count - i : CONVERT_CHUNK;
        if (e->dtype == LT_BF16)
            lt_f32_to_bf16_array(chunk, src + i, k);
        else
            lt_f32_to_f16_array(chunk, src + i, k);
        LT_TRY(lt_file_write(f, chunk, 2 * k));
    }
    return NULL;
}

static lt_status write_file(const char *path, const text_buf *header,
                            const lt_st_entry *const *order, size_t n) {
    lt_file f;
    LT_TRY(lt_file_create(&f, path));
    uint64_t len = header->len;
    lt_status s = lt_file_write(&f, &len, 8);
    if (!s) s = lt_file_write(&f, header->text, header->len);
    for (size_t i = 0; i < n && !s; i++) s = write_data(&f, order[i]);
    if (s) {
        lt_file_abort(&f);
        return s;
    }
    return lt_file_commit(&f);
}

lt_status lt_safetensors_write(const char *path, const lt_st_entry *entries, size_t n,
                               const char *const *metadata_kv) {
    const lt_st_entry **order = NULL;
    text_buf header = {0};
    lt_status s = plan_layout(entries, n, &order);
    if (!s) s = check_metadata(metadata_kv);
    if (!s) s = build_header(&header, order, n, metadata_kv);
    s = lt_error_prefix(s, "%s", path); // file errors below name the path themselves
    if (!s) s = write_file(path, &header, order, n);
    free(order);
    free(header.text);
    return s;
}
