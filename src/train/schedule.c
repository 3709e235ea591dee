// schedule.c: learning-rate schedules (linear warmup, then cosine, linear,
// constant, or warmup-stable-decay) and the parsing of their flags and of the
// compact spec string "wsd:lr=3e-4,min-lr=3e-5,warmup=100,decay-frac=0.2".
//
// WSD's decay is a straight line from lr to min_lr over the last decay_frac
// of the run, ending exactly at min_lr on the last step. Hägele et al. (2024,
// "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
// Durations") compare cooldown shapes: a linear one matches a full cosine
// schedule, and a 1-sqrt one does slightly better; linear is the simplest.
#include "lathe/optim.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim_internal.h"

lt_status lt_optim_parse_double(const char *flag, const char *text, double *out) {
    if (!text || !*text) return lt_error(LT_ERR_ARG, "%s needs a value", flag);
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != 0 || errno == ERANGE || !isfinite(x))
        return lt_error(LT_ERR_ARG, "%s: '%s' is not a number", flag, text);
    *out = x;
    return NULL;
}

lt_status lt_optim_parse_int(const char *flag, const char *text, int64_t *out) {
    if (!text || !*text) return lt_error(LT_ERR_ARG, "%s needs a value", flag);
    char *end;
    errno = 0;
    long long x = strtoll(text, &end, 10);
    if (end == text || *end != 0 || errno == ERANGE)
        return lt_error(LT_ERR_ARG, "%s: '%s' is not an integer", flag, text);
    *out = x;
    return NULL;
}

static const char *const kind_names[] = {"cosine", "linear", "constant", "wsd"};

lt_schedule lt_schedule_default(void) {
    return (lt_schedule){
        .kind = LT_SCHEDULE_COSINE, .lr = 3e-4, .min_lr = 0.0, .warmup = 0, .decay_frac = 0.2};
}

const char *lt_schedule_kind_name(lt_schedule_kind kind) {
    return (unsigned)kind < 4 ? kind_names[kind] : "?";
}

lt_status lt_schedule_kind_parse(const char *name, lt_schedule_kind *out) {
    for (int k = 0; k < 4; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *out = (lt_schedule_kind)k;
            return NULL;
        }
    return lt_error(LT_ERR_ARG,
                    "--schedule: unknown schedule '%s' (expected cosine, linear, constant or wsd)",
                    name ? name : "");
}

// Range checks of single fields, shared by lt_schedule_set and lt_schedule_check.
static lt_status check_lr(double lr) {
    if (!(lr > 0.0 && isfinite(lr)))
        return lt_error(LT_ERR_ARG, "--lr: %g must be a finite number > 0", lr);
    return NULL;
}

static lt_status check_min_lr(double min_lr) {
    if (!(min_lr >= 0.0 && isfinite(min_lr)))
        return lt_error(LT_ERR_ARG, "--min-lr: %g must be a finite number >= 0", min_lr);
    return NULL;
}

static lt_status check_warmup(int64_t warmup) {
    if (warmup < 0)
        return lt_error(LT_ERR_ARG, "--warmup: %lld steps is negative", (long long)warmup);
    return NULL;
}

static lt_status check_decay_frac(double frac) {
    if (!(frac > 0.0 && frac <= 1.0))
        return lt_error(LT_ERR_ARG, "--decay-frac: %g is outside (0, 1]", frac);
    return NULL;
}

lt_status lt_schedule_set(lt_schedule *s, const char *key, const char *value) {
    if (!key) return lt_error(LT_ERR_ARG, "schedule flag: no name given");
    if (key[0] == '-' && key[1] == '-') key += 2;
    if (strcmp(key, "schedule") == 0) {
        if (!value || !*value) return lt_error(LT_ERR_ARG, "--schedule needs a value");
        return lt_schedule_kind_parse(value, &s->kind);
    }
    double x = 0.0;
    if (strcmp(key, "lr") == 0) {
        LT_TRY(lt_optim_parse_double("--lr", value, &x));
        LT_TRY(check_lr(x));
        s->lr = x;
    } else if (strcmp(key, "min-lr") == 0) {
        LT_TRY(lt_optim_parse_double("--min-lr", value, &x));
        LT_TRY(check_min_lr(x));
        s->min_lr = x;
    } else if (strcmp(key, "decay-frac") == 0) {
        LT_TRY(lt_optim_parse_double("--decay-frac", value, &x));
        LT_TRY(check_decay_frac(x));
        s->decay_frac = x;
    } else if (strcmp(key, "warmup") == 0) {
        int64_t w = 0;
        LT_TRY(lt_optim_parse_int("--warmup", value, &w));
        LT_TRY(check_warmup(w));
        s->warmup = w;
    } else {
        return lt_error(LT_ERR_ARG,
                        "unknown schedule setting '%s' (expected schedule, lr, min-lr, warmup or "
                        "decay-frac)",
                        key);
    }
    return NULL;
}

lt_status lt_schedule_parse(lt_schedule *s, const char *spec) {
    if (!spec || !*spec)
        return lt_error(LT_ERR_ARG, "schedule spec is empty (expected KIND[:KEY=VALUE,...])");
    char buf[512];
    if (strlen(spec) >= sizeof buf)
        return lt_error(LT_ERR_ARG, "schedule spec '%.40s...' is too long", spec);
    strcpy(buf, spec);
    lt_schedule t = lt_schedule_default();
    char *colon = strchr(buf, ':');
    if (colon) *colon = 0;
    LT_TRY(lt_error_prefix(lt_schedule_kind_parse(buf, &t.kind), "schedule spec '%s'", spec));
    for (char *item = colon ? colon + 1 : NULL; item;) {
        char *next = strchr(item, ',');
        if (next) *next++ = 0;
        char *eq = strchr(item, '=');
        if (!eq)
            return lt_error(LT_ERR_ARG, "schedule spec '%s': '%s' is not KEY=VALUE", spec, item);
        *eq = 0;
        LT_TRY(lt_error_prefix(lt_schedule_set(&t, item, eq + 1), "schedule spec '%s'", spec));
        item = next;
    }
    *s = t;
    return NULL;
}

int lt_schedule_format(const lt_schedule *s, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s:lr=%.17g,min-lr=%.17g,warmup=%lld",
                     lt_schedule_kind_name(s->kind), s->lr, s->min_lr, (long long)s->warmup);
    if (s->kind != LT_SCHEDULE_WSD || n < 0) return n;
    size_t used = (size_t)n < size ? (size_t)n : size;
    int m = snprintf(buf + used, size - used, ",decay-frac=%.17g", s->decay_frac);
    return m < 0 ? m : n + m;
}

// Decay steps of a WSD run of total_steps.
static int64_t wsd_decay_steps(const lt_schedule *s, int64_t total_steps) {
    int64_t d = (int64_t)llround(s->decay_frac * (double)total_steps);
    return d < 1 ? 1 : d;
}

lt_status lt_schedule_check(const lt_schedule *s, int64_t total_steps) {
    if (total_steps < 1)
        return lt_error(LT_ERR_ARG, "--steps: %lld, a run needs at least 1 step",
                        (long long)total_steps);
    if ((unsigned)s->kind >= 4)
        return lt_error(LT_ERR_ARG, "--schedule: unknown schedule kind %d", (int)s->kind);
    LT_TRY(check_lr(s->lr));
    LT_TRY(check_min_lr(s->min_lr));
    if (s->min_lr > s->lr)
        return lt_error(LT_ERR_ARG, "--min-lr %g is above --lr %g", s->min_lr, s->lr);
    LT_TRY(check_warmup(s->warmup));
    if (s->warmup > total_steps)
        return lt_error(LT_ERR_ARG, "--warmup %lld is longer than the run (--steps %lld)",
                        (long long)s->warmup, (long long)total_steps);
    if (s->kind == LT_SCHEDULE_WSD) {
        LT_TRY(check_decay_frac(s->decay_frac));
        int64_t decay = wsd_decay_steps(s, total_steps);
        if (s->warmup + decay > total_steps)
            return lt_error(LT_ERR_ARG,
                            "--warmup %lld plus the wsd decay of %lld steps (--decay-frac %g of "
                            "%lld) is longer than the run",
                            (long long)s->warmup, (long long)decay, s->decay_frac,
                            (long long)total_steps);
    }
    return NULL;
}

double lt_schedule_lr(const lt_schedule *s, int64_t step, int64_t total_steps) {
    int64_t warmup = s->warmup, t = step < 0 ? 0 : step > total_steps ? total_steps : step;
    if (warmup > 0 && t <= warmup) return s->lr * (double)t / (double)warmup;
    double span = s->lr - s->min_lr;
    if (s->kind == LT_SCHEDULE_CONSTANT) return s->lr;
    if (s->kind == LT_SCHEDULE_WSD) {
        int64_t decay = wsd_decay_steps(s, total_steps), start = total_steps - decay;
        if (t <= start) return s->lr;
        return s->lr - span * (double)(t - start) / (double)decay;
    }
    double p = (double)(t - warmup) / (double)(total_steps - warmup);
    if (s->kind == LT_SCHEDULE_LINEAR) return s->lr - span * p;
    return s->min_lr + span * 0.5 * (1.0 + cos(M_PI * p));
}
