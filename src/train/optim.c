// optim.c: AdamW over the parameter arena, exactly torch.optim.AdamW's update
// (PyTorch 1.13, decay first, then the Adam step), with fp32 moments and no
// weight decay on 1-D tensors; and its state as bytes for training-state files.
//
// The arena is cut once, at init, into chunks of at most OPTIM_CHUNK floats
// that each lie inside one run of tensors with the same decay flag; a step is
// one OpenMP loop over those chunks with a simd loop inside each. Elements are
// independent, so the result does not depend on the thread count.
#include "lathe/optim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the optimizer state format is written with memcpy: little-endian hosts only"
#endif

#define OPTIM_CHUNK ((int64_t)1 << 14)

// A piece of the arena updated by one loop iteration.
typedef struct {
    int64_t begin, end; // [begin, end) in floats
    bool decay;
} optim_chunk;

struct lt_adamw {
    lt_adamw_config cfg;
    int64_t n_params;
    int64_t step;        // updates applied so far
    float *m, *v;        // (n_params) first and second moments
    optim_chunk *chunks; // (n_chunks), in arena order
    int64_t n_chunks;
};

// ---------------------------------------------------------------- config

lt_adamw_config lt_adamw_config_default(void) {
    return (lt_adamw_config){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
}

static lt_status check_beta(const char *flag, double beta) {
    if (!(beta >= 0.0 && beta < 1.0))
        return lt_error(LT_ERR_ARG, "%s: %g is outside [0, 1)", flag, beta);
    return NULL;
}

static lt_status check_nonneg(const char *flag, double x) {
    if (!(x >= 0.0 && isfinite(x)))
        return lt_error(LT_ERR_ARG, "%s: %g must be a finite number >= 0", flag, x);
    return NULL;
}

lt_status lt_adamw_config_check(const lt_adamw_config *cfg) {
    LT_TRY(check_beta("--beta1", cfg->beta1));
    LT_TRY(check_beta("--beta2", cfg->beta2));
    LT_TRY(check_nonneg("--eps", cfg->eps));
    return check_nonneg("--weight-decay", cfg->weight_decay);
}

lt_status lt_adamw_config_set(lt_adamw_config *cfg, const char *key, const char *value) {
    if (!key) return lt_error(LT_ERR_ARG, "optimizer flag: no name given");
    if (key[0] == '-' && key[1] == '-') key += 2;
    lt_adamw_config tmp = *cfg;
    double *field = strcmp(key, "beta1") == 0          ? &tmp.beta1
                    : strcmp(key, "beta2") == 0        ? &tmp.beta2
                    : strcmp(key, "eps") == 0          ? &tmp.eps
                    : strcmp(key, "weight-decay") == 0 ? &tmp.weight_decay
                                                       : NULL;
    if (!field)
        return lt_error(LT_ERR_ARG,
                        "unknown optimizer flag '--%s' (expected --beta1, --beta2, --eps or "
                        "--weight-decay)",
                        key);
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", key);
    LT_TRY(lt_optim_parse_double(flag, value, field));
    LT_TRY(lt_adamw_config_check(&tmp));
    *cfg = tmp;
    return NULL;
}

// ---------------------------------------------------------------- init

static int compare_offsets(const void *a, const void *b) {
    const lt_param *x = *(const lt_param *const *)a, *y = *(const lt_param *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

// Sorted pointers into the tensor table, checked to lie inside the arena
// without overlapping.
static lt_status sorted_tensors(const lt_param ***out, int64_t n_params, const lt_param *tensors,
                                int n_tensors) {
    const lt_param **order = NULL;
    LT_TRY(lt_alloc((void **)&order, (size_t)(n_tensors ? n_tensors : 1) * sizeof *order,
                    "optimizer tensor order"));
    for (int i = 0; i < n_tensors; i++) {
        const lt_param *p = &tensors[i];
        if (p->numel < 0 || p->offset > (size_t)n_params ||
            (uint64_t)p->numel > (uint64_t)n_params - p->offset) {
            lt_free(order);
            return lt_error(LT_ERR_ARG,
                            "optimizer: tensor '%s' (offset %zu, %lld values) lies outside the "
                            "arena of %lld values",
                            p->name, p->offset, (long long)p->numel, (long long)n_params);
        }
        order[i] = p;
    }
    qsort(order, (size_t)n_tensors, sizeof *order, compare_offsets);
    for (int i = 1; i < n_tensors; i++) {
        const lt_param *a = order[i - 1], *b = order[i];
        if (a->numel > 0 && b->numel > 0 && a->offset + (size_t)a->numel > b->offset) {
            lt_free(order);
            return lt_error(LT_ERR_ARG, "optimizer: tensors '%s' and '%s' overlap in the arena",
                            a->name, b->name);
        }
    }
    *out = order;
    return NULL;
}

// Appends the chunks of [begin, end) to opt->chunks (NULL: only counts them).
static void add_range(lt_adamw *opt, int64_t begin, int64_t end, bool decay) {
    for (int64_t b = begin; b < end; b += OPTIM_CHUNK) {
        if (opt->chunks) {
            optim_chunk *c = &opt->chunks[opt->n_chunks];
            c->begin = b;
            c->end = end - b > OPTIM_CHUNK ? b + OPTIM_CHUNK : end;
            c->decay = decay;
        }
        opt->n_chunks++;
    }
}

// Merges adjacent tensors of equal decay into ranges and cuts them into
// chunks; run twice, first counting, then filling opt->chunks.
static void build_chunks(lt_adamw *opt, const lt_param **order, int n_tensors) {
    opt->n_chunks = 0;
    int64_t begin = 0, end = 0;
    bool decay = false, open = false;
    for (int i = 0; i < n_tensors; i++) {
        const lt_param *p = order[i];
        if (p->numel == 0) continue;
        bool d = p->ndim >= 2;
        int64_t b = (int64_t)p->offset, e = b + p->numel;
        if (open && d == decay && b == end) {
            end = e;
            continue;
        }
        if (open) add_range(opt, begin, end, decay);
        begin = b, end = e, decay = d, open = true;
    }
    if (open) add_range(opt, begin, end, decay);
}

lt_status lt_adamw_init(lt_adamw **out, const lt_adamw_config *cfg, int64_t n_params,
                        const lt_param *tensors, int n_tensors) {
    *out = NULL;
    LT_TRY(lt_adamw_config_check(cfg));
    if (n_params < 0)
        return lt_error(LT_ERR_ARG, "optimizer: negative parameter count %lld",
                        (long long)n_params);
    lt_param whole = {.name = "(whole arena)", .ndim = 2, .numel = n_params};
    if (!tensors) tensors = &whole, n_tensors = 1;
    const lt_param **order = NULL;
    LT_TRY(sorted_tensors(&order, n_params, tensors, n_tensors));

    lt_adamw *opt;
    lt_status st = lt_calloc((void **)&opt, 1, sizeof *opt, "optimizer");
    if (st) goto done;
    opt->cfg = *cfg;
    opt->n_params = n_params;
    size_t n = (size_t)(n_params ? n_params : 1);
    if ((st = lt_calloc((void **)&opt->m, n, sizeof(float), "AdamW first moment")) ||
        (st = lt_calloc((void **)&opt->v, n, sizeof(float), "AdamW second moment")))
        goto done;
    build_chunks(opt, order, n_tensors);
    st = lt_alloc((void **)&opt->chunks,
                  (size_t)(opt->n_chunks ? opt->n_chunks : 1) * sizeof *opt->chunks,
                  "optimizer chunks");
    if (st) goto done;
    build_chunks(opt, order, n_tensors);
done:
    lt_free(order);
    if (st) {
        lt_adamw_free(opt);
        return st;
    }
    *out = opt;
    return NULL;
}

lt_status lt_adamw_init_model(lt_adamw **out, const lt_adamw_config *cfg, const lt_model *m) {
    return lt_adamw_init(out, cfg, m->n_params, m->tensors, m->n_tensors);
}

void lt_adamw_free(lt_adamw *opt) {
    if (!opt) return;
    lt_free(opt->m);
    lt_free(opt->v);
    lt_free(opt->chunks);
    lt_free(opt);
}

// ---------------------------------------------------------------- step

// The element update of one chunk. The f32 operations follow torch's:
// p.mul_(1 - lr*wd); m.mul_(b1).add_(g, 1-b1); v.mul_(b2).addcmul_(g, g, 1-b2);
// denom = v.sqrt() / sqrt(bc2) + eps; p.addcdiv_(m, denom, -step_size).
static void adamw_chunk(float *restrict p, float *restrict m, float *restrict v,
                        const float *restrict g, int64_t n, float decay_mul, float beta1,
                        float one_minus_beta1, float beta2, float one_minus_beta2, float bc2_sqrt,
                        float eps, float neg_step_size) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = p[i] * decay_mul;
        float mi = m[i] * beta1 + one_minus_beta1 * gi;
        float vi = v[i] * beta2 + one_minus_beta2 * gi * gi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + neg_step_size * (mi / denom);
    }
}

void lt_adamw_step(lt_adamw *opt, float *params, const float *grads, double lr) {
    const lt_adamw_config *c = &opt->cfg;
    opt->step++;
    double t = (double)opt->step;
    double bias_correction1 = 1.0 - pow(c->beta1, t);
    double bias_correction2 = 1.0 - pow(c->beta2, t);
    float decay_mul = (float)(1.0 - lr * c->weight_decay);
    float beta1 = (float)c->beta1, beta2 = (float)c->beta2;
    float one_minus_beta1 = (float)(1.0 - c->beta1), one_minus_beta2 = (float)(1.0 - c->beta2);
    float bc2_sqrt = (float)sqrt(bias_correction2);
    float eps = (float)c->eps;
    float neg_step_size = (float)-(lr / bias_correction1);
    const optim_chunk *chunks = opt->chunks;
    float *m = opt->m, *v = opt->v;
#pragma omp parallel for schedule(static) if (opt->n_params >= LT_OPTIM_PAR_MIN)
    for (int64_t k = 0; k < opt->n_chunks; k++) {
        int64_t b = chunks[k].begin, n = chunks[k].end - b;
        adamw_chunk(params + b, m + b, v + b, grads + b, n, chunks[k].decay ? decay_mul : 1.0f,
                    beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step_size);
    }
}

// ---------------------------------------------------------------- state

int64_t lt_adamw_step_count(const lt_adamw *opt) { return opt->step; }
void lt_adamw_set_step_count(lt_adamw *opt, int64_t step) { opt->step = step; }
float *lt_adamw_m(lt_adamw *opt) { return opt->m; }
float *lt_adamw_v(lt_adamw *opt) { return opt->v; }
int64_t lt_adamw_n_params(const lt_adamw *opt) { return opt->n_params; }
const lt_adamw_config *lt_adamw_get_config(const lt_adamw *opt) { return &opt->cfg; }

size_t lt_adamw_state_bytes_for(int64_t n_params) {
    return 2 * (size_t)(n_params > 0 ? n_params : 0) * sizeof(float);
}

#define STATE_MAGIC "LTADAMW" // 7 chars + NUL = 8 bytes
#define STATE_VERSION 1u
#define STATE_HEADER 32

size_t lt_adamw_state_size(const lt_adamw *opt) {
    return STATE_HEADER + lt_adamw_state_bytes_for(opt->n_params);
}

static void encode_header(const lt_adamw *opt, uint8_t hdr[STATE_HEADER]) {
    uint32_t version = STATE_VERSION, zero = 0;
    memcpy(hdr, STATE_MAGIC, 8);
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &zero, 4);
    memcpy(hdr + 16, &opt->n_params, 8);
    memcpy(hdr + 24, &opt->step, 8);
}

lt_status lt_adamw_state_encode(const lt_adamw *opt, void *buf, size_t size) {
    size_t need = lt_adamw_state_size(opt);
    if (size < need)
        return lt_error(LT_ERR_ARG, "optimizer state needs %zu bytes, the buffer has %zu", need,
                        size);
    uint8_t *out = buf;
    encode_header(opt, out);
    size_t moment_bytes = (size_t)opt->n_params * sizeof(float);
    memcpy(out + STATE_HEADER, opt->m, moment_bytes);
    memcpy(out + STATE_HEADER + moment_bytes, opt->v, moment_bytes);
    return NULL;
}

lt_status lt_adamw_state_write(const lt_adamw *opt, lt_file *f) {
    uint8_t hdr[STATE_HEADER];
    encode_header(opt, hdr);
    size_t moment_bytes = (size_t)opt->n_params * sizeof(float);
    LT_TRY(lt_file_write(f, hdr, sizeof hdr));
    LT_TRY(lt_file_write(f, opt->m, moment_bytes));
    return lt_file_write(f, opt->v, moment_bytes);
}

// Index of the first value in data (n floats, any alignment) that is not
// finite, or (second moment) negative; -1 when all are fine.
static int64_t first_bad_moment(const uint8_t *data, int64_t n, bool second) {
    for (int64_t i = 0; i < n; i++) {
        float x;
        memcpy(&x, data + (size_t)i * sizeof x, sizeof x);
        if (!isfinite(x) || (second && x < 0.0f)) return i;
    }
    return -1;
}

lt_status lt_adamw_state_read(lt_adamw *opt, const void *data, size_t size, const char *source) {
    const uint8_t *in = data;
    if (!source) source = "optimizer state";
    if (size < STATE_HEADER || memcmp(in, STATE_MAGIC, 8) != 0)
        return lt_error(LT_ERR_FORMAT, "%s: not an AdamW state (bad magic or only %zu bytes)",
                        source, size);
    uint32_t version;
    int64_t n_params, step;
    memcpy(&version, in + 8, 4);
    memcpy(&n_params, in + 16, 8);
    memcpy(&step, in + 24, 8);
    if (version != STATE_VERSION)
        return lt_error(LT_ERR_FORMAT, "%s: AdamW state version %u, this lathe reads version %u",
                        source, version, STATE_VERSION);
    if (n_params != opt->n_params)
        return lt_error(LT_ERR_ARG,
                        "%s: AdamW state is for %lld parameters, the model has %lld (a different "
                        "model?)",
                        source, (long long)n_params, (long long)opt->n_params);
    if (size != lt_adamw_state_size(opt))
        return lt_error(LT_ERR_FORMAT, "%s: AdamW state has %zu bytes, expected %zu (truncated?)",
                        source, size, lt_adamw_state_size(opt));
    if (step < 0)
        return lt_error(LT_ERR_FORMAT, "%s: AdamW step count %lld is negative", source,
                        (long long)step);
    size_t moment_bytes = (size_t)n_params * sizeof(float);
    const uint8_t *m = in + STATE_HEADER, *v = m + moment_bytes;
    int64_t bad = first_bad_moment(m, n_params, false);
    if (bad >= 0)
        return lt_error(LT_ERR_FORMAT, "%s: AdamW first moment [%lld] is not finite (corrupt?)",
                        source, (long long)bad);
    bad = first_bad_moment(v, n_params, true);
    if (bad >= 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: AdamW second moment [%lld] is negative or not finite (corrupt?)",
                        source, (long long)bad);
    memcpy(opt->m, m, moment_bytes);
    memcpy(opt->v, v, moment_bytes);
    opt->step = step;
    return NULL;
}
