// gguf_import.c: `lathe import gguf` — a GGUF model written back as a Hugging
// Face directory (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json), the inverse of the export: q/k rows in Hugging Face
// order again, q8_0 weights dequantized, the chat template and add_bos_token
// kept in tokenizer_config.json.
#include <stdio.h>
#include <string.h>

#include "io/gguf_internal.h"
#include "base/json.h"
#include "lathe/model.h"

// Widens every weight into the model's f32 arena (the shapes were checked
// against the same config when the GGUF was opened; checked again here).
static lt_status fill_params(lt_model *m, const lt_gguf_model *g) {
    if (g->n_weights != m->n_tensors)
        return lt_error(LT_ERR_INTERNAL, "GGUF import: %d weights for %d tensors", g->n_weights,
                        m->n_tensors);
    for (int i = 0; i < g->n_weights; i++) {
        const lt_gguf_weight *w = &g->weights[i];
        const lt_param *p = lt_model_find(m, w->name);
        if (!p || p->ndim != w->ndim || p->shape[0] != w->shape[0] ||
            (p->ndim == 2 && p->shape[1] != w->shape[1]))
            return lt_error(LT_ERR_INTERNAL, "GGUF import: tensor '%s' does not fit the model",
                            w->name);
        lt_gguf_widen(m->params + p->offset, w->data, w->dtype, p->numel);
    }
    return NULL;
}

// tokenizer_config.json as lt_tokenizer_save wrote it, with the file's chat
// template (or none) and add_bos_token when the file says.
static lt_status patch_tokenizer_config(const lt_gguf_model *g, const char *dir) {
    char *path = lt_path_join(dir, "tokenizer_config.json");
    if (!path)
        return lt_error_nomem("the path of tokenizer_config.json",
                              strlen(dir) + sizeof "/tokenizer_config.json");
    cJSON *doc = NULL;
    lt_status st = lt_json_read_file(&doc, path, (size_t)64 << 20);
    if (!st) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "chat_template");
        if (g->chat_template && !cJSON_AddStringToObject(doc, "chat_template", g->chat_template))
            st = lt_error_prefix(lt_error_nomem("the chat template", strlen(g->chat_template) + 1),
                                 "%s", path);
    }
    if (!st && lt_gguf_find_kv(g->file, "tokenizer.ggml.add_bos_token")) {
        bool add_bos;
        st = lt_gguf_get_bool(g->file, "tokenizer.ggml.add_bos_token", &add_bos);
        if (!st && !cJSON_AddBoolToObject(doc, "add_bos_token", add_bos))
            st = lt_error_prefix(lt_error_nomem("add_bos_token (JSON)", 0), "%s", path);
    }
    if (!st) st = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    lt_free(path);
    return st;
}

lt_status lt_gguf_import(const char *path, const char *dir, lt_dtype dtype) {
    lt_gguf_model *g;
    LT_TRY(lt_gguf_model_open(&g, path));
    lt_model *m = NULL;
    lt_status st = lt_model_init(&m, &g->cfg);
    if (!st) st = fill_params(m, g);
    if (!st) st = lt_model_save(m, dir, dtype);
    if (!st && g->tokenizer) st = lt_tokenizer_save(g->tokenizer, dir);
    if (!st && g->tokenizer) st = patch_tokenizer_config(g, dir);
    lt_model_free(m);
    lt_gguf_model_close(g);
    return st;
}
