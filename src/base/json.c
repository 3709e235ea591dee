// json.c: typed JSON field access on cJSON with messages naming the field.
#include "base/json.h"

#include <math.h>
#include <string.h>

lt_status lt_json_parse(cJSON **out, const char *text, size_t len, const char *source) {
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!*out) {
        size_t offset = end && end >= text ? (size_t)(end - text) : 0;
        size_t line = 1;
        for (size_t i = 0; i < offset && i < len; i++)
            if (text[i] == '\n') line++;
        return lt_error(LT_ERR_FORMAT, "%s: invalid JSON near byte %zu (line %zu)", source, offset,
                        line);
    }
    return NULL;
}

lt_status lt_json_read_file(cJSON **out, const char *path, size_t max_bytes) {
    char *text;
    size_t len;
    *out = NULL;
    LT_TRY(lt_file_read_all(path, &text, &len, max_bytes));
    lt_status s = lt_json_parse(out, text, len, path);
    lt_free(text);
    return s;
}

lt_status lt_json_write_file(const cJSON *doc, const char *path) {
    char *text = cJSON_Print(doc);
    if (!text) return lt_error(LT_ERR_NOMEM, "%s: cannot format JSON", path);
    size_t n = strlen(text);
    lt_file f;
    lt_status s = lt_file_create(&f, path);
    if (!s) s = lt_file_write(&f, text, n);
    if (!s) s = lt_file_write(&f, "\n", 1);
    cJSON_free(text);
    if (s) {
        if (f.fd >= 0 || f.tmp_path) lt_file_abort(&f);
        return s;
    }
    return lt_file_commit(&f);
}

static const cJSON *field(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static lt_status missing(const char *key, const char *source) {
    return lt_error(LT_ERR_FORMAT, "%s: missing field '%s'", source, key);
}

lt_status lt_json_get_int_opt(const cJSON *obj, const char *key, int64_t *out, const char *source) {
    const cJSON *v = field(obj, key);
    if (!v) return NULL;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return lt_error(LT_ERR_FORMAT, "%s: field '%s' must be an integer", source, key);
    *out = (int64_t)d;
    return NULL;
}

lt_status lt_json_get_int(const cJSON *obj, const char *key, int64_t *out, const char *source) {
    if (!field(obj, key)) return missing(key, source);
    return lt_json_get_int_opt(obj, key, out, source);
}

lt_status lt_json_get_double_opt(const cJSON *obj, const char *key, double *out,
                                 const char *source) {
    const cJSON *v = field(obj, key);
    if (!v) return NULL;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return lt_error(LT_ERR_FORMAT, "%s: field '%s' must be a number", source, key);
    *out = v->valuedouble;
    return NULL;
}

lt_status lt_json_get_double(const cJSON *obj, const char *key, double *out, const char *source) {
    if (!field(obj, key)) return missing(key, source);
    return lt_json_get_double_opt(obj, key, out, source);
}

lt_status lt_json_get_bool_opt(const cJSON *obj, const char *key, bool *out, const char *source) {
    const cJSON *v = field(obj, key);
    if (!v) return NULL;
    if (!cJSON_IsBool(v))
        return lt_error(LT_ERR_FORMAT, "%s: field '%s' must be true or false", source, key);
    *out = cJSON_IsTrue(v);
    return NULL;
}

lt_status lt_json_get_string_opt(const cJSON *obj, const char *key, const char **out,
                                 const char *source) {
    const cJSON *v = field(obj, key);
    if (!v) return NULL;
    if (!cJSON_IsString(v))
        return lt_error(LT_ERR_FORMAT, "%s: field '%s' must be a string", source, key);
    *out = v->valuestring;
    return NULL;
}

lt_status lt_json_get_string(const cJSON *obj, const char *key, const char **out,
                             const char *source) {
    if (!field(obj, key)) return missing(key, source);
    return lt_json_get_string_opt(obj, key, out, source);
}
