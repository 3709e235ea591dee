// json.h: typed access to JSON documents on cJSON, with errors that name the
// file and the field ("config.json: field 'hidden_size' must be an integer").
// Writing goes through cJSON directly; lt_json_write_file saves crash-safely.
//
// Library-private (src/, not include/lathe/): any module of the library may use
// it, but cJSON stays out of the public API, so a program built on lathe needs
// no cJSON headers.
#ifndef LATHE_JSON_H
#define LATHE_JSON_H

#include <cjson/cJSON.h>

#include "lathe/base.h"

// Parses text (not NUL-terminated: length given); `source` names it in errors.
lt_status lt_json_parse(cJSON **out, const char *text, size_t len, const char *source);
// Reads and parses a file of at most max_bytes.
lt_status lt_json_read_file(cJSON **out, const char *path, size_t max_bytes);
// Prints (formatted) and writes crash-safely, with a trailing newline.
lt_status lt_json_write_file(const cJSON *doc, const char *path);

// Field getters. `obj` must be an object; `source` prefixes error messages.
// *_opt variants leave *out untouched and return NULL when the field is absent
// or null; the plain ones fail when it is missing. All fail on a wrong type.
lt_status lt_json_get_int(const cJSON *obj, const char *key, int64_t *out, const char *source);
lt_status lt_json_get_int_opt(const cJSON *obj, const char *key, int64_t *out, const char *source);
lt_status lt_json_get_double(const cJSON *obj, const char *key, double *out, const char *source);
lt_status lt_json_get_double_opt(const cJSON *obj, const char *key, double *out,
                                 const char *source);
lt_status lt_json_get_bool_opt(const cJSON *obj, const char *key, bool *out, const char *source);
// Returns a borrowed pointer into the document.
lt_status lt_json_get_string(const cJSON *obj, const char *key, const char **out,
                             const char *source);
lt_status lt_json_get_string_opt(const cJSON *obj, const char *key, const char **out,
                                 const char *source);

#endif
