// checkpoint.c: model directories in Hugging Face form — config.json plus
// model.safetensors (or shards with an index) — loaded into the arena and
// written back out.
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"
#include "lathe/model.h"
#include "lathe/safetensors.h"

// Tensors some HF checkpoints carry that hold no parameters.
static bool ignorable(const char *name) { return strstr(name, "rotary_emb.inv_freq") != NULL; }

static lt_status load_tensors(lt_model *m, const lt_safetensors *st, const char *dir) {
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        if (!lt_safetensors_find(st, p->name))
            return lt_error(LT_ERR_FORMAT,
                            "%s: tensor '%s' is missing (the config says the model has it)", dir,
                            p->name);
        LT_TRY(lt_safetensors_read_f32(st, p->name, m->params + p->offset, p->ndim, p->shape));
    }
    for (size_t i = 0; i < lt_safetensors_count(st); i++) {
        const lt_st_tensor *t = lt_safetensors_get(st, i);
        if (lt_model_find(m, t->name) || ignorable(t->name)) continue;
        if (m->cfg.tie_embeddings && strcmp(t->name, "lm_head.weight") == 0)
            continue; // tied: the embedding is the head
        return lt_error(LT_ERR_FORMAT,
                        "%s: tensor '%s' is not part of the model config.json describes", t->file,
                        t->name);
    }
    return NULL;
}

#define MODEL_DIR_HINT                                                            \
    "a model directory holds config.json, model.safetensors and tokenizer.json, " \
    "as the checkpoints OUT/checkpoints/step-N of lathe train, sft and distill do"

// A directory without config.json: a training run's folder (point at its
// newest checkpoint), or something else.
static lt_status not_a_model(const char *dir) {
    char *latest = lt_path_join(dir, "latest"), *text = NULL;
    size_t len = 0;
    lt_status s =
        latest && lt_path_exists(latest) ? lt_file_read_all(latest, &text, &len, 4096) : NULL;
    lt_status_free(s);
    while (text && len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) text[--len] = 0;
    if (text && len > 0)
        s = lt_error(LT_ERR_IO,
                     "%s: not a model directory but a training run: its newest checkpoint is %s/%s",
                     dir, dir, text);
    else
        s = lt_error(LT_ERR_IO, "%s: not a model directory (no config.json): " MODEL_DIR_HINT, dir);
    lt_free(text);
    lt_free(latest);
    return s;
}

lt_status lt_model_load(lt_model **out, const char *dir) {
    *out = NULL;
    if (!lt_path_is_dir(dir))
        return lt_error(LT_ERR_IO, "%s: not a model directory (%s): " MODEL_DIR_HINT, dir,
                        lt_path_exists(dir) ? "a file" : "no such directory");
    char *config = lt_path_join(dir, "config.json");
    if (!config)
        return lt_error_nomem("the path of config.json", strlen(dir) + sizeof "/config.json");
    bool has_config = lt_path_exists(config);
    lt_free(config);
    if (!has_config) return not_a_model(dir);
    lt_config cfg;
    LT_TRY(lt_config_load(&cfg, dir));
    lt_model *m = NULL;
    lt_safetensors *st = NULL;
    lt_status s = lt_model_init(&m, &cfg);
    lt_config_free(&cfg);
    if (!s) s = lt_safetensors_open_dir(&st, dir);
    if (!s) s = load_tensors(m, st, dir);
    lt_safetensors_close(st);
    if (s) {
        lt_model_free(m);
        return s;
    }
    *out = m;
    return NULL;
}

static const char *torch_dtype_name(lt_dtype t) {
    return t == LT_BF16 ? "bfloat16" : t == LT_F16 ? "float16" : "float32";
}

static lt_status save_config(const lt_model *m, const char *path, lt_dtype dtype) {
    cJSON *doc;
    LT_TRY(lt_config_to_json(&m->cfg, &doc));
    cJSON *name = cJSON_CreateString(torch_dtype_name(dtype));
    if (!name) {
        cJSON_Delete(doc);
        return lt_error_nomem("the torch_dtype field of config.json", 0);
    }
    if (cJSON_HasObjectItem(doc, "torch_dtype"))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, "torch_dtype", name);
    else
        cJSON_AddItemToObject(doc, "torch_dtype", name);
    lt_status s = lt_json_write_file(doc, path);
    cJSON_Delete(doc);
    return s;
}

lt_status lt_model_save(const lt_model *m, const char *dir, lt_dtype dtype) {
    if (dtype != LT_F32 && dtype != LT_BF16 && dtype != LT_F16)
        return lt_error(
            LT_ERR_ARG,
            "checkpoints are stored as f32, bf16 or f16, not %s (q8_0 lives in GGUF files)",
            lt_dtype_name(dtype));
    LT_TRY(lt_mkdir_p(dir));
    lt_st_entry *entries;
    LT_TRY(lt_calloc((void **)&entries, (size_t)m->n_tensors, sizeof *entries, "tensor list"));
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        entries[i] = (lt_st_entry){
            .name = p->name, .dtype = dtype, .ndim = p->ndim, .data = m->params + p->offset};
        entries[i].shape[0] = p->shape[0];
        entries[i].shape[1] = p->shape[1];
    }
    char *weights = lt_path_join(dir, "model.safetensors");
    char *config = lt_path_join(dir, "config.json");
    static const char *const metadata[] = {"format", "pt", NULL};
    lt_status s = (!weights || !config) ? lt_error_nomem("the paths of the model's files",
                                                         strlen(dir) + sizeof "/model.safetensors")
                                        : NULL;
    if (!s) s = lt_safetensors_write(weights, entries, (size_t)m->n_tensors, metadata);
    if (!s) s = save_config(m, config, dtype);
    lt_free(weights);
    lt_free(config);
    lt_free(entries);
    return s;
}
