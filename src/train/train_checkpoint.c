// train_checkpoint.c: training checkpoints. A checkpoint is a Hugging Face
// model directory (f32 weights: the master copy) plus train_state.bin with
// everything else a bit-exact resume needs. It is built under a temporary
// name, fsynced, renamed, and only then named by <out>/latest, so a kill at
// any moment leaves the previous checkpoint intact.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"

// train_state.bin, little-endian:
//   "LTTRAIN1" | u32 version (1) | u32 reserved | i64 step | i64 tokens
//   | u64 n_params | u64 loader_len | data-source (loader) state | u64 optim_len | AdamW state
//   | i64 skipped steps | loss-scaler state (LT_SCALER_STATE_SIZE bytes)
//   | u64 FNV-1a 64 of every byte before it
static const char STATE_MAGIC[8] = {'L', 'T', 'T', 'R', 'A', 'I', 'N', '1'};
enum { STATE_VERSION = 1 };

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

typedef struct {
    lt_file file;
    uint64_t hash;
} hashed_file;

static lt_status put(hashed_file *f, const void *data, size_t n) {
    f->hash = fnv1a(f->hash, data, n);
    return lt_file_write(&f->file, data, n);
}

static lt_status write_state(lt_trainer *t, const char *path) {
    size_t loader_len = 0, cap = t->data->state_size(t->data->ctx);
    size_t optim_len = lt_adamw_state_size(t->optim);
    uint8_t *loader_state = NULL, *optim_state = NULL;
    LT_TRY(lt_alloc((void **)&loader_state, cap, "loader state"));
    lt_status s = t->data->state_save(t->data->ctx, loader_state, cap, &loader_len);
    if (!s) s = lt_alloc((void **)&optim_state, optim_len, "optimizer state");
    if (!s) s = lt_adamw_state_encode(t->optim, optim_state, optim_len);
    hashed_file f = {.hash = 0xcbf29ce484222325ull};
    if (!s) s = lt_file_create(&f.file, path);
    if (!s) {
        uint32_t version = STATE_VERSION, reserved = 0;
        uint64_t n_params = (uint64_t)t->model->n_params, ll = loader_len, ol = optim_len;
        s = put(&f, STATE_MAGIC, 8);
        if (!s) s = put(&f, &version, 4);
        if (!s) s = put(&f, &reserved, 4);
        if (!s) s = put(&f, &t->step, 8);
        if (!s) s = put(&f, &t->tokens, 8);
        if (!s) s = put(&f, &n_params, 8);
        if (!s) s = put(&f, &ll, 8);
        if (!s) s = put(&f, loader_state, loader_len);
        if (!s) s = put(&f, &ol, 8);
        if (!s) s = put(&f, optim_state, optim_len);
        uint8_t scaler[LT_SCALER_STATE_SIZE];
        lt_scaler_state_encode(&t->scaler, scaler);
        if (!s) s = put(&f, &t->skipped, 8);
        if (!s) s = put(&f, scaler, sizeof scaler);
        uint64_t hash = f.hash;
        if (!s) s = lt_file_write(&f.file, &hash, 8);
        if (!s) lt_fault_point("checkpoint:state-written");
        if (!s)
            s = lt_file_commit(&f.file);
        else
            lt_file_abort(&f.file);
    }
    lt_free(loader_state);
    lt_free(optim_state);
    return s;
}

// Keeps the newest keep_last step-* directories.
static lt_status prune(const lt_trainer *t) {
    if (t->opts->keep_last <= 0) return NULL;
    DIR *d = opendir(t->checkpoints_dir);
    if (!d) return NULL;
    long long steps[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        long long step;
        char tail;
        if (sscanf(e->d_name, "step-%lld%c", &step, &tail) == 1) steps[n++] = step;
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer < t->opts->keep_last) continue;
        char name[64];
        snprintf(name, sizeof name, "step-%08lld", steps[i]);
        char *path = lt_path_join(t->checkpoints_dir, name);
        if (!path)
            return lt_error_nomem("the path of an old checkpoint",
                                  strlen(t->checkpoints_dir) + 1 + strlen(name) + 1);
        lt_status s = lt_remove_tree(path);
        lt_free(path);
        LT_TRY(s);
    }
    return NULL;
}

lt_status lt_trainer_save(lt_trainer *t) {
    char name[64], tmp_name[80];
    snprintf(name, sizeof name, "step-%08lld", (long long)t->step);
    snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
    char *final_dir = lt_path_join(t->checkpoints_dir, name);
    char *tmp_dir = lt_path_join(t->checkpoints_dir, tmp_name);
    char *state = tmp_dir ? lt_path_join(tmp_dir, "train_state.bin") : NULL;
    char *latest = lt_path_join(t->opts->out_dir, "latest");
    char latest_text[96];
    lt_status s = (!final_dir || !tmp_dir || !state || !latest)
                      ? lt_error_nomem("the paths of a checkpoint's files",
                                       strlen(t->checkpoints_dir) + sizeof name)
                      : NULL;
    if (!s) s = lt_remove_tree(tmp_dir); // a leftover of a killed save
    if (!s) s = lt_model_save(t->model, tmp_dir, LT_F32);
    if (!s && t->opts->tokenizer_dir) s = lt_tokenizer_dir_copy(t->opts->tokenizer_dir, tmp_dir);
    if (!s) lt_fault_point("checkpoint:model-written");
    if (!s) s = write_state(t, state);
    if (!s) s = lt_fsync_dir(tmp_dir);
    if (!s) s = lt_remove_tree(final_dir); // saving the same step twice replaces it
    if (!s && rename(tmp_dir, final_dir) != 0)
        s = lt_error(LT_ERR_IO, "%s: cannot rename to %s", tmp_dir, final_dir);
    if (!s) s = lt_fsync_dir(t->checkpoints_dir);
    if (!s) lt_fault_point("checkpoint:renamed");
    if (!s) {
        int n = snprintf(latest_text, sizeof latest_text, "checkpoints/%s\n", name);
        s = lt_file_write_all(latest, latest_text, (size_t)n);
    }
    if (!s) s = lt_fsync_dir(t->opts->out_dir);
    if (!s) s = prune(t);
    if (!s) lt_fault_point("checkpoint:saved");
    if (!s) t->saved_step = t->step;
    lt_free(final_dir);
    lt_free(tmp_dir);
    lt_free(state);
    lt_free(latest);
    return s;
}

lt_status lt_trainer_latest(const char *out_dir, char **dir) {
    *dir = NULL;
    char *latest = lt_path_join(out_dir, "latest");
    if (!latest)
        return lt_error_nomem("the path of the latest file", strlen(out_dir) + sizeof "/latest");
    if (!lt_path_exists(latest)) {
        lt_free(latest);
        return NULL;
    }
    char *text;
    size_t len;
    lt_status s = lt_file_read_all(latest, &text, &len, 4096);
    if (!s) {
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) text[--len] = 0;
        if (len == 0 || strstr(text, "..") || text[0] == '/')
            s = lt_error(LT_ERR_FORMAT, "%s: does not name a checkpoint directory", latest);
        if (!s) {
            *dir = lt_path_join(out_dir, text);
            if (!*dir)
                s = lt_error_nomem("the latest checkpoint's path", strlen(out_dir) + 1 + len + 1);
        }
        if (!s && !lt_path_is_dir(*dir)) {
            s = lt_error(LT_ERR_FORMAT, "%s names %s, which does not exist", latest, *dir);
            lt_free(*dir);
            *dir = NULL;
        }
        lt_free(text);
    }
    lt_free(latest);
    return s;
}

// Reads a u64 at *off of data (size n), advancing *off.
static bool take_u64(const uint8_t *data, size_t n, size_t *off, uint64_t *v) {
    if (n - *off < 8) return false;
    memcpy(v, data + *off, 8);
    *off += 8;
    return true;
}

static lt_status parse_state(lt_trainer *t, const uint8_t *data, size_t n, const char *path) {
    if (n < 48 || memcmp(data, STATE_MAGIC, 8) != 0)
        return lt_error(LT_ERR_FORMAT, "%s: not a lathe training state", path);
    uint64_t stored;
    memcpy(&stored, data + n - 8, 8);
    if (fnv1a(0xcbf29ce484222325ull, data, n - 8) != stored)
        return lt_error(LT_ERR_FORMAT, "%s: checksum mismatch (file damaged)", path);
    uint32_t version;
    memcpy(&version, data + 8, 4);
    if (version != STATE_VERSION)
        return lt_error(LT_ERR_UNSUPPORTED, "%s: version %u (this lathe reads %d)", path, version,
                        STATE_VERSION);
    size_t off = 16, end = n - 8;
    uint64_t step, tokens, n_params, loader_len, optim_len;
    if (!take_u64(data, end, &off, &step) || !take_u64(data, end, &off, &tokens) ||
        !take_u64(data, end, &off, &n_params) || !take_u64(data, end, &off, &loader_len) ||
        loader_len > end - off)
        return lt_error(LT_ERR_FORMAT, "%s: truncated", path);
    if (n_params != (uint64_t)t->model->n_params)
        return lt_error(LT_ERR_FORMAT, "%s: state is for %llu parameters, the model has %lld", path,
                        (unsigned long long)n_params, (long long)t->model->n_params);
    LT_TRY(lt_error_prefix(t->data->state_load(t->data->ctx, data + off, loader_len), "%s", path));
    off += loader_len;
    size_t tail = 8 + LT_SCALER_STATE_SIZE; // skipped steps, loss scaler
    if (!take_u64(data, end, &off, &optim_len) || end - off < tail || optim_len != end - off - tail)
        return lt_error(LT_ERR_FORMAT, "%s: truncated optimizer state", path);
    LT_TRY(lt_adamw_state_read(t->optim, data + off, optim_len, path));
    off += optim_len;
    uint64_t skipped = 0;
    take_u64(data, end, &off, &skipped);
    LT_TRY(lt_scaler_state_decode(&t->scaler, data + off, LT_SCALER_STATE_SIZE, path));
    t->skipped = (int64_t)skipped;
    t->step = (int64_t)step;
    t->tokens = (int64_t)tokens;
    return NULL;
}

lt_status lt_trainer_restore_state(lt_trainer *t, const char *checkpoint_dir) {
    char *path = lt_path_join(checkpoint_dir, "train_state.bin");
    if (!path)
        return lt_error_nomem("the path of train_state.bin",
                              strlen(checkpoint_dir) + sizeof "/train_state.bin");
    lt_mmap m;
    lt_status s = lt_mmap_open(&m, path);
    if (!s) {
        s = parse_state(t, m.data, m.size, path);
        lt_mmap_close(&m);
    }
    lt_free(path);
    return s;
}
