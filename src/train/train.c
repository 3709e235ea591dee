// train.c: the training loop. Each optimizer step draws its micro-batches,
// normalises the loss by the targets counted across all of them, accumulates
// gradients, clips, and applies AdamW at the scheduled learning rate; it logs
// metrics as JSONL, evaluates on a held-out shard and saves checkpoints.
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/gemm.h"
#include "lathe/objective.h"
#include "lathe/tokenizer.h"
#include "train/trainer_internal.h"

void lt_train_opts_default(lt_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->init_seed = 1;
    o->batch = 8;
    o->seq = 256;
    o->steps = 1000;
    o->lr = 3e-4;
    o->min_lr = 3e-5;
    o->beta1 = 0.9;
    o->beta2 = 0.95;
    o->eps = 1e-8;
    o->weight_decay = 0.1;
    o->clip = 1.0;
    o->warmup = 0;
    o->schedule = "cosine";
    o->decay_frac = 0.2;
    o->dtype = LT_F32;
    o->seed = 1;
    o->log_every = 10;
    o->eval_every = 200;
    o->eval_batches = 20;
    o->save_every = 500;
    o->keep_last = 3;
}

static lt_status check_opts(const lt_train_opts *o) {
    int sources = (o->init_from != NULL) + (o->preset != NULL) + (o->config != NULL);
    if (sources != 1)
        return lt_error(LT_ERR_ARG, "give exactly one of --init-from, --preset or --config");
    if (!o->out_dir) return lt_error(LT_ERR_ARG, "--out DIR is required");
    if (o->n_data < 1 && !o->source)
        return lt_error(LT_ERR_ARG, "give at least one --data SHARD[:WEIGHT]");
    if (o->batch < 1 || o->seq < 1 || o->steps < 1)
        return lt_error(LT_ERR_ARG, "--batch, --seq and --steps must be positive");
    int64_t micro = o->batch * o->seq;
    if (o->global_batch_tokens < 0 ||
        (o->global_batch_tokens > 0 && o->global_batch_tokens % micro != 0))
        return lt_error(LT_ERR_ARG,
                        "--global-batch %lld is not a multiple of batch x seq = %lld tokens",
                        (long long)o->global_batch_tokens, (long long)micro);
    if (o->dtype != LT_F32 && o->dtype != LT_BF16 && o->dtype != LT_F16)
        return lt_error(LT_ERR_UNSUPPORTED, "--dtype %s: training runs in f32, bf16 or f16",
                        lt_dtype_name(o->dtype));
    if (o->loss_scale && strcmp(o->loss_scale, "dynamic") != 0 &&
        strcmp(o->loss_scale, "none") != 0) {
        char *end;
        double v = strtod(o->loss_scale, &end);
        if (end == o->loss_scale || *end || !(v >= 1) || v > 1e30)
            return lt_error(LT_ERR_ARG,
                            "--loss-scale '%s': expected dynamic, none or a number >= 1",
                            o->loss_scale);
    }
    if (!(o->clip >= 0)) return lt_error(LT_ERR_ARG, "--clip must be >= 0 (0 disables clipping)");
    return NULL;
}

// ---------------------------------------------------------------- memory

static lt_status load_config(const lt_train_opts *o, lt_config *cfg) {
    if (o->preset) return lt_config_preset(cfg, o->preset);
    if (o->config) return lt_config_load(cfg, o->config);
    return lt_config_load(cfg, o->init_from);
}

static size_t available_memory(void) {
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (size_t)pages * (size_t)size : SIZE_MAX;
}

// The widest linear layer's output width: the LM head, or an FFN.
static int64_t widest_linear(const lt_config *c) {
    int64_t w = c->vocab > c->hidden ? c->vocab : c->hidden;
    for (int64_t l = 0; l < c->n_layers; l++)
        w = c->blocks[l].ffn_dim > w ? c->blocks[l].ffn_dim : w;
    return w;
}

// Transient buffers of a backward linear layer in the 16-bit modes, at its
// widest (the LM head): the 16-bit output gradient (N, out) and input (N, in);
// in f16 also both operands widened to f32 (kept per thread for reuse).
static size_t gemm_scratch_bytes(const lt_config *c, lt_dtype dtype, int64_t N) {
    if (dtype == LT_F32) return 0;
    size_t out = (size_t)widest_linear(c), in = (size_t)c->hidden, n = (size_t)N;
    size_t bytes = 2 * n * (out + in);
    if (dtype == LT_F16) bytes += 4 * (n * out + n * in);
    return bytes;
}

// The shards' file sizes: they are mapped and, over an epoch, read entirely.
static size_t data_bytes(const lt_train_opts *o) {
    size_t total = 0;
    for (int i = 0; i <= o->n_data; i++) {
        const char *spec = i < o->n_data ? o->data[i] : o->val_data;
        if (!spec) continue;
        char *path = NULL;
        double weight;
        lt_status s = i < o->n_data ? lt_data_spec_parse(spec, &path, &weight) : NULL;
        struct stat st;
        if (!s && stat(path ? path : spec, &st) == 0) total += (size_t)st.st_size;
        lt_status_free(s);
        lt_free(path);
    }
    return total;
}

lt_status lt_train_plan_memory(const lt_train_opts *o, lt_train_memory *out) {
    memset(out, 0, sizeof *out);
    LT_TRY(check_opts(o));
    lt_config cfg;
    LT_TRY(load_config(o, &cfg));
    if (o->seq > cfg.max_positions) {
        lt_status s =
            lt_error(LT_ERR_ARG, "--seq %lld exceeds the model's max_position_embeddings %lld",
                     (long long)o->seq, (long long)cfg.max_positions);
        lt_config_free(&cfg);
        return s;
    }
    size_t n = (size_t)lt_config_param_count(&cfg);
    out->weights = n * 4;
    out->weights_lowp = o->dtype != LT_F32 ? n * 2 : 0;
    out->grads = n * 4;
    out->optimizer = lt_adamw_state_bytes_for((int64_t)n);
    out->activations = lt_acts_bytes(&cfg, o->dtype, o->batch, o->seq);
    out->scratch = gemm_scratch_bytes(&cfg, o->dtype, o->batch * o->seq);
    out->data = data_bytes(o);
    out->objective = o->objective ? o->objective->memory : 0;
    out->total = out->weights + out->weights_lowp + out->grads + out->optimizer + out->activations +
                 out->scratch + out->data + out->objective;
    lt_config_free(&cfg);
    return NULL;
}

// ---------------------------------------------------------------- setup

static lt_status open_model(lt_trainer *t, const char *resume_dir) {
    const lt_train_opts *o = t->opts;
    if (resume_dir) return lt_model_load(&t->model, resume_dir);
    if (o->init_from) return lt_model_load(&t->model, o->init_from);
    lt_config cfg;
    LT_TRY(load_config(o, &cfg));
    lt_status s = lt_model_init(&t->model, &cfg);
    lt_config_free(&cfg);
    if (!s) lt_model_init_random(t->model, o->init_seed);
    return s;
}

static lt_status open_data(lt_trainer *t) {
    const lt_train_opts *o = t->opts;
    t->data = o->source;
    if (!t->data) {
        LT_TRY(lt_train_data_shards(&t->own_data, o->data, o->n_data, o->val_data, o->batch, o->seq,
                                    o->seed));
        t->data = &t->own_data;
    }
    return t->data->check_vocab(t->data->ctx, t->model->cfg.vocab);
}

static lt_status open_optimizer(lt_trainer *t) {
    const lt_train_opts *o = t->opts;
    lt_adamw_config ac = {
        .beta1 = o->beta1, .beta2 = o->beta2, .eps = o->eps, .weight_decay = o->weight_decay};
    LT_TRY(lt_adamw_config_check(&ac));
    t->schedule = lt_schedule_default();
    LT_TRY(lt_schedule_kind_parse(o->schedule, &t->schedule.kind));
    t->schedule.lr = o->lr;
    t->schedule.min_lr = o->min_lr;
    t->schedule.warmup = o->warmup;
    t->schedule.decay_frac = o->decay_frac;
    LT_TRY(lt_schedule_check(&t->schedule, o->steps));
    // Loss scaling: dynamic by default in f16 (bf16 and f32 need none).
    const char *mode = o->loss_scale ? o->loss_scale : (o->dtype == LT_F16 ? "dynamic" : "none");
    lt_scaler_init(&t->scaler);
    t->scaling = strcmp(mode, "none") != 0;
    t->dynamic_scaling = strcmp(mode, "dynamic") == 0;
    if (t->scaling && !t->dynamic_scaling) t->scaler.scale = (float)strtod(mode, NULL);
    if (!t->scaling) t->scaler.scale = 1.0f;
    return lt_adamw_init_model(&t->optim, &ac, t->model);
}

static lt_status alloc_buffers(lt_trainer *t) {
    const lt_train_opts *o = t->opts;
    int64_t micro = o->batch * o->seq;
    t->accum = o->global_batch_tokens > 0 ? o->global_batch_tokens / micro : 1;
    size_t n = (size_t)(t->accum * micro);
    LT_TRY(lt_acts_init(&t->acts, t->model, o->batch, o->seq));
    LT_TRY(lt_calloc((void **)&t->grads, (size_t)t->model->n_params, sizeof(float), "gradients"));
    LT_TRY(lt_alloc((void **)&t->ids, n * sizeof(int32_t), "batch ids"));
    LT_TRY(lt_alloc((void **)&t->targets, n * sizeof(int32_t), "batch targets"));
    LT_TRY(lt_alloc((void **)&t->segments, n * sizeof(int32_t), "batch segments"));
    return lt_alloc((void **)&t->positions, n * sizeof(int32_t), "batch positions");
}

static void trainer_free(lt_trainer *t) {
    lt_acts_free(t->acts);
    lt_model_free(t->model);
    lt_free(t->grads);
    lt_adamw_free(t->optim);
    lt_train_data_free(&t->own_data);
    lt_free(t->ids);
    lt_free(t->targets);
    lt_free(t->segments);
    lt_free(t->positions);
    lt_free(t->checkpoints_dir);
    lt_free(t->created_dir);
}

// ---------------------------------------------------------------- one step

// The objective's parts since the last call, as means over `counted` targets.
static void take_parts(const lt_train_objective *obj, bool val, int64_t counted,
                       lt_train_event *ev) {
    if (!obj || obj->n_parts <= 0) return;
    double sums[LT_TRAIN_MAX_PARTS] = {0};
    obj->take_parts(obj->ctx, val, sums);
    ev->n_parts = obj->n_parts < LT_TRAIN_MAX_PARTS ? obj->n_parts : LT_TRAIN_MAX_PARTS;
    ev->part_names = obj->part_names;
    for (int i = 0; i < ev->n_parts; i++)
        ev->parts[i] = counted > 0 ? sums[i] / (double)counted : 0.0;
}

static lt_batch micro_batch(const lt_trainer *t, int64_t k) {
    int64_t off = k * t->opts->batch * t->opts->seq;
    return (lt_batch){.B = t->opts->batch,
                      .T = t->opts->seq,
                      .ids = t->ids + off,
                      .targets = t->targets + off,
                      .segments = t->segments + off,
                      .positions = t->positions + off};
}

// Forward + backward over every micro-batch; returns the mean loss over all
// counted targets of the step (and the objective's parts into ev).
static lt_status accumulate(lt_trainer *t, float loss_scale, double *loss, lt_train_event *ev) {
    const lt_train_objective *obj = t->opts->objective;
    int64_t micro = t->opts->batch * t->opts->seq, counted = 0;
    for (int64_t k = 0; k < t->accum; k++)
        LT_TRY(t->data->next(t->data->ctx, t->ids + k * micro, t->targets + k * micro,
                             t->segments + k * micro, t->positions + k * micro));
    for (int64_t i = 0; i < t->accum * micro; i++) counted += t->targets[i] >= 0;
    memset(t->grads, 0, (size_t)t->model->n_params * sizeof(float));
    double sum = 0;
    for (int64_t k = 0; k < t->accum; k++) {
        lt_batch b = micro_batch(t, k);
        LT_TRY(lt_model_forward(t->model, t->acts, &b));
        lt_loss l;
        const float *const *dhidden = NULL;
        if (obj)
            LT_TRY(obj->train(obj->ctx, t->acts, &b, (double)(counted > 0 ? counted : 1),
                              loss_scale, &l, &dhidden));
        else
            LT_TRY(lt_objective_xent(t->acts, b.targets, (double)(counted > 0 ? counted : 1),
                                     loss_scale, &l));
        LT_TRY(lt_model_backward(t->model, t->acts, t->grads, dhidden));
        sum += l.loss_sum;
    }
    *loss = counted > 0 ? sum / (double)counted : 0.0;
    take_parts(obj, false, counted, ev);
    return NULL;
}

static lt_status step(lt_trainer *t, lt_train_event *ev) {
    // The schedule counts updates from 1: this is update t->step + 1.
    double lr = lt_schedule_lr(&t->schedule, t->step + 1, t->opts->steps), loss, norm = 0;
    float scale = t->scaler.scale;
    LT_TRY(accumulate(t, scale, &loss, ev));
    if (!isfinite(loss))
        return lt_error(
            LT_ERR_RANGE,
            "the loss became %g at step %lld: training stopped (the last checkpoint is intact; try a lower --lr)",
            loss, (long long)t->step + 1);
    ev->loss = loss, ev->lr = lr, ev->loss_scale = scale;
    if (t->opts->dtype == LT_F16) {
        // Micikevicius et al.: unscale, and skip the update when any gradient
        // overflowed (the dynamic scaler then halves its scale).
        bool finite = scale != 1.0f
                          ? lt_grad_unscale_check(t->grads, t->model->n_params, 1.0f / scale)
                          : lt_grad_all_finite(t->grads, t->model->n_params);
        bool apply = t->dynamic_scaling ? lt_scaler_update(&t->scaler, finite) : finite;
        if (!apply) {
            t->step++;
            t->tokens += t->accum * t->opts->batch * t->opts->seq;
            t->skipped++;
            ev->skipped = true;
            return NULL;
        }
    }
    if (t->opts->clip > 0)
        lt_grad_clip_norm(t->grads, t->model->n_params, t->opts->clip, &norm);
    else
        norm = lt_grad_norm(t->grads, t->model->n_params);
    if (!isfinite(norm))
        return lt_error(
            LT_ERR_RANGE,
            "the gradient norm became %g at step %lld: training stopped (the last checkpoint is intact)",
            norm, (long long)t->step + 1);
    lt_adamw_step(t->optim, t->model->params, t->grads, lr);
    lt_model_sync_lowp(t->model);
    t->step++;
    t->tokens += t->accum * t->opts->batch * t->opts->seq;
    ev->grad_norm = norm;
    return NULL;
}

// Mean loss over eval_batches batches of the validation data (all of it when 0).
static lt_status evaluate(lt_trainer *t, lt_train_event *ev) {
    const lt_train_objective *obj = t->opts->objective;
    LT_TRY(t->data->val_begin(t->data->ctx));
    double sum = 0;
    int64_t counted = 0, rows = 0;
    for (int64_t b = 0; t->opts->eval_batches == 0 || b < t->opts->eval_batches; b++) {
        lt_batch batch = micro_batch(t, 0);
        LT_TRY(
            t->data->val_next(t->data->ctx, t->ids, t->targets, t->segments, t->positions, &rows));
        if (rows == 0) break;
        LT_TRY(lt_model_forward(t->model, t->acts, &batch));
        lt_loss l;
        if (obj && obj->eval)
            LT_TRY(obj->eval(obj->ctx, t->acts, &batch, &l));
        else
            LT_TRY(lt_objective_xent_eval(t->acts, t->targets, &l));
        sum += l.loss_sum;
        counted += l.n_counted;
    }
    take_parts(obj, true, counted, ev);
    if (counted == 0) return NULL;
    ev->has_val = true;
    ev->val_loss = sum / (double)counted;
    ev->val_ppl = exp(ev->val_loss);
    double bytes_per_token = t->data->val_bytes_per_token;
    ev->val_bpb = bytes_per_token > 0 ? ev->val_loss / (M_LN2 * bytes_per_token) : 0;
    return NULL;
}

// ---------------------------------------------------------------- metrics

// Appends one metrics line with a single write(), so a reader never sees half a record.
static lt_status append_line(const char *path, const char *line, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return lt_error(LT_ERR_IO, "%s: cannot append: %s", path, strerror(errno));
    ssize_t w = write(fd, line, n);
    int e = errno;
    bool ok = close(fd) == 0 && w == (ssize_t)n;
    return ok ? NULL : lt_error(LT_ERR_IO, "%s: write failed: %s", path, strerror(w < 0 ? e : EIO));
}

// The objective's parts as JSON members: ,"kl":0.1 (validation: ,"val_kl":0.1).
static int format_parts(char *buf, size_t size, const lt_train_event *ev) {
    int n = 0;
    buf[0] = 0;
    for (int i = 0; i < ev->n_parts && n >= 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, ",\"%s%s\":%.6f", ev->has_val ? "val_" : "",
                      ev->part_names[i], ev->parts[i]);
    return n;
}

static lt_status append_metrics(const char *path, const char *run, const lt_train_event *ev) {
    char line[1024], parts[256];
    int n;
    format_parts(parts, sizeof parts, ev);
    if (ev->has_val)
        n = snprintf(
            line, sizeof line,
            "{\"run\":\"%s\",\"step\":%lld,\"tokens\":%lld,\"val_loss\":%.6f,\"val_ppl\":%.4f,\"val_bpb\":%.5f%s,\"elapsed_s\":%.3f}\n",
            run, (long long)ev->step, (long long)ev->tokens, ev->val_loss, ev->val_ppl, ev->val_bpb,
            parts, ev->elapsed_s);
    else
        n = snprintf(
            line, sizeof line,
            "{\"run\":\"%s\",\"step\":%lld,\"tokens\":%lld,\"loss\":%.6f%s,\"lr\":%.6g,\"grad_norm\":%.5g,\"tokens_per_s\":%.1f,\"mfu\":%.4f,\"loss_scale\":%g,\"skipped_steps\":%lld,\"elapsed_s\":%.3f}\n",
            run, (long long)ev->step, (long long)ev->tokens, ev->loss, parts, ev->lr, ev->grad_norm,
            ev->tokens_per_s, ev->mfu, ev->loss_scale, (long long)ev->skipped_total, ev->elapsed_s);
    return append_line(path, line, (size_t)n);
}

// A run name safe to put in JSON: the out dir's last component, quotes dropped.
static void run_name(const lt_train_opts *o, char *buf, size_t size) {
    const char *name = o->run_name;
    if (!name) {
        name = strrchr(o->out_dir, '/');
        name = name && name[1] ? name + 1 : o->out_dir;
    }
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < size; c++)
        if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) buf[k++] = *c;
    buf[k] = 0;
}

// The activation gradients of one step (see lt_grad_stats): how many would
// vanish or lose precision in f16, and their log2 histogram.
static lt_status append_grad_stats(const char *path, const char *run, const lt_trainer *t) {
    const lt_grad_stats *g = &t->acts->grad_stats;
    char line[2048];
    double nz = g->nonzero ? (double)g->nonzero : 1;
    int n = snprintf(
        line, sizeof line,
        "{\"run\":\"%s\",\"step\":%lld,\"grad_values\":%llu,\"grad_nonzero\":%llu,\"grad_f16_zero_frac\":%.6g,"
        "\"grad_f16_subnormal_frac\":%.6g,\"loss_scale\":%g,\"grad_log2_min\":%d,\"grad_log2_hist\":[",
        run, (long long)t->step, (unsigned long long)g->total, (unsigned long long)g->nonzero,
        (double)g->f16_zero / nz, (double)g->f16_subnormal / nz, t->scaler.scale, LT_GRAD_HIST_MIN);
    for (int b = 0; b < LT_GRAD_HIST_BINS; b++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%llu", b ? "," : "",
                      (unsigned long long)g->log2_hist[b]);
    n += snprintf(line + n, sizeof line - (size_t)n, "]}\n");
    return append_line(path, line, (size_t)n);
}

// ---------------------------------------------------------------- the loop

// The outermost folder of `path` that does not exist yet (NULL: it exists).
static char *first_missing_dir(const char *path) {
    if (lt_path_is_dir(path)) return NULL;
    char *p = lt_strdup(path);
    if (!p) return NULL;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = 0;
        if (!lt_path_is_dir(p)) return p;
        *c = '/';
    }
    return p;
}

// The run's folders, made only once everything else is ready, so a run that
// fails to start leaves nothing behind.
static lt_status make_folders(lt_trainer *t) {
    t->created_dir = first_missing_dir(t->opts->out_dir);
    t->created_checkpoints = !lt_path_is_dir(t->checkpoints_dir);
    LT_TRY(lt_mkdir_p(t->opts->out_dir));
    return lt_mkdir_p(t->checkpoints_dir);
}

// After a run that saved nothing: removes the folders it created, if empty
// (metrics of a run that failed part-way stay for reading).
static void remove_empty_folders(const lt_trainer *t) {
    if (t->created_checkpoints && t->checkpoints_dir) rmdir(t->checkpoints_dir);
    if (!t->created_dir) return;
    char *p = lt_strdup(t->opts->out_dir);
    size_t stop = strlen(t->created_dir), n = p ? strlen(p) : 0;
    while (p && n >= stop) { // out_dir, then its parents up to created_dir
        while (n > stop && p[n - 1] == '/') p[--n] = 0;
        if (rmdir(p) != 0 || n == stop) break;
        while (n > stop && p[n - 1] != '/') n--;
        p[n] = 0;
    }
    lt_free(p);
}

static lt_status open_trainer(lt_trainer *t, const lt_train_opts *o) {
    memset(t, 0, sizeof *t);
    t->opts = o;
    t->saved_step = -1;
    LT_TRY(check_opts(o));
    t->checkpoints_dir = lt_path_join(o->out_dir, "checkpoints");
    if (!t->checkpoints_dir)
        return lt_error_nomem("the checkpoints path", strlen(o->out_dir) + sizeof "/checkpoints");
    char *resume_dir = NULL;
    if (o->resume) {
        LT_TRY(lt_trainer_latest(o->out_dir, &resume_dir));
        if (!resume_dir)
            return lt_error(LT_ERR_ARG, "--resume: %s has no checkpoint yet (no 'latest' file)",
                            o->out_dir);
    } else {
        char *latest = NULL;
        LT_TRY(lt_trainer_latest(o->out_dir, &latest));
        if (latest) {
            lt_free(latest);
            return lt_error(
                LT_ERR_ARG,
                "%s already holds a run: pass --resume to continue it, or choose another --out",
                o->out_dir);
        }
    }
    lt_train_memory mem;
    lt_status s = lt_train_plan_memory(o, &mem);
    if (!s && mem.total > available_memory())
        s = lt_error(
            LT_ERR_NOMEM,
            "this run needs %.1f GiB (weights, gradients, optimizer, activations of %lld x %lld) but only %.1f GiB are available: lower --batch or --seq",
            (double)mem.total / (1 << 30), (long long)o->batch, (long long)o->seq,
            (double)available_memory() / (1 << 30));
    if (!s) s = open_model(t, resume_dir);
    if (!s && o->seq > t->model->cfg.max_positions)
        s = lt_error(LT_ERR_ARG, "--seq %lld exceeds the model's max_position_embeddings %lld",
                     (long long)o->seq, (long long)t->model->cfg.max_positions);
    if (!s && t->opts->tokenizer_dir)
        s = lt_tokenizer_dir_check(t->opts->tokenizer_dir, t->model->cfg.vocab);
    if (!s) s = lt_model_set_dtype(t->model, o->dtype);
    if (!s) s = open_data(t);
    if (!s) s = open_optimizer(t);
    if (!s) s = alloc_buffers(t);
    if (!s && resume_dir) s = lt_trainer_restore_state(t, resume_dir);
    if (!s && resume_dir) t->saved_step = t->step;
    if (!s) s = make_folders(t);
    lt_free(resume_dir);
    return s;
}

static lt_status run(lt_trainer *t, lt_train_log_fn log, void *user, bool *stopped) {
    const lt_train_opts *o = t->opts;
    char *metrics = lt_path_join(o->out_dir, "metrics.jsonl");
    if (!metrics)
        return lt_error_nomem("the metrics path", strlen(o->out_dir) + sizeof "/metrics.jsonl");
    char run[128];
    run_name(o, run, sizeof run);
    double peak = lt_gemm_peak_gflops(o->dtype, 1024, 0.2) * 1e9;
    double flops_per_token = lt_config_train_flops_per_token(&t->model->cfg, o->seq);
    double start = lt_time_now(), interval_start = start;
    int64_t interval_tokens = 0;
    lt_status s = NULL;
    int64_t first = t->step, stop = o->steps;
    if (o->stop_after > 0 && first + o->stop_after < stop) stop = first + o->stop_after;
    while (!s && t->step < stop) {
        if (o->stop && *o->stop) {
            *stopped = true;
            break;
        }
        lt_train_event ev = {0};
        bool stats = o->grad_stats_every > 0 && (t->step + 1) % o->grad_stats_every == 0;
        t->acts->collect_grad_stats = stats;
        memset(&t->acts->grad_stats, 0, sizeof t->acts->grad_stats);
        float scale_used = t->scaler.scale;
        s = step(t, &ev);
        if (s) break;
        if (stats) {
            float after = t->scaler.scale;
            t->scaler.scale = scale_used; // report the scale the gradients were made with
            s = append_grad_stats(metrics, run, t);
            t->scaler.scale = after;
            if (s) break;
        }
        interval_tokens += t->accum * o->batch * o->seq;
        ev.step = t->step, ev.steps = o->steps, ev.tokens = t->tokens,
        ev.skipped_total = t->skipped;
        ev.elapsed_s = lt_time_now() - start;
        bool last = t->step == o->steps, pause = t->step == stop;
        if (t->step % (o->log_every > 0 ? o->log_every : 1) == 0 || last || t->step == 1) {
            double now = lt_time_now();
            ev.tokens_per_s = (double)interval_tokens / (now - interval_start);
            ev.mfu = peak > 0 ? ev.tokens_per_s * flops_per_token / peak : 0;
            interval_start = now, interval_tokens = 0;
            s = append_metrics(metrics, run, &ev);
            if (log) log(user, &ev);
        }
        char info[160];
        snprintf(info, sizeof info, "loss %.4f", ev.loss);
        lt_progress_report(&o->progress, "train", (double)t->step, (double)o->steps, info);
        if (!s && t->data->val_next &&
            ((o->eval_every > 0 && t->step % o->eval_every == 0) || last)) {
            lt_train_event val = {.step = t->step, .steps = o->steps, .tokens = t->tokens};
            s = evaluate(t, &val);
            val.elapsed_s = lt_time_now() - start;
            if (!s && val.has_val) s = append_metrics(metrics, run, &val);
            if (!s && val.has_val && log) log(user, &val);
        }
        if (!s && ((o->save_every > 0 && t->step % o->save_every == 0) || last || pause))
            s = lt_trainer_save(t);
    }
    // Stopped: the steps done since the last checkpoint are saved before returning.
    if (!s && *stopped && t->step > 0 && t->saved_step != t->step) s = lt_trainer_save(t);
    lt_free(metrics);
    return s;
}

lt_status lt_train_run(const lt_train_opts *opts, lt_train_log_fn log, void *user,
                       lt_train_result *result) {
    if (opts->threads > 0) lt_threads_set(opts->threads);
    lt_trainer t;
    bool stopped = false;
    lt_status s = open_trainer(&t, opts);
    if (!s) s = run(&t, log, user, &stopped);
    if (t.saved_step < 0) remove_empty_folders(&t);
    if (result) {
        memset(result, 0, sizeof *result);
        result->step = t.step;
        result->stopped = stopped;
        result->saved = t.saved_step >= 0;
        if (result->saved)
            snprintf(result->checkpoint, sizeof result->checkpoint, "checkpoints/step-%08lld",
                     (long long)t.saved_step);
    }
    trainer_free(&t);
    return s;
}

lt_status lt_train(const lt_train_opts *opts, lt_train_log_fn log, void *user) {
    return lt_train_run(opts, log, user, NULL);
}
