// profile.h: per-op wall time for --profile, one mechanism for the trainer's
// forward/backward (lt_acts) and the inference engine. An lt_profile sums the
// seconds of each timed call under its op; when it is off, timing costs one
// branch per call and no clock read.
//
//   LT_TIMED(&a->profile, LT_OP_ROPE, lt_rope_forward(q, cos, sin, pos, N, H, D));
//   LT_TIMED(&a->profile, LT_OP_ATTN, LT_TRY(lt_attention_forward(...)));
#ifndef LATHE_PROFILE_H
#define LATHE_PROFILE_H

#include "lathe/base.h"

// The ops a forward or backward pass is made of. The engine times a subset
// (it has no separate residual, loss or 16-bit storage step).
typedef enum {
    LT_OP_EMBED,
    LT_OP_NORM,
    LT_OP_QKV,
    LT_OP_ROPE,
    LT_OP_ATTN,
    LT_OP_OPROJ,
    LT_OP_FFN_IN,
    LT_OP_SWIGLU,
    LT_OP_FFN_OUT,
    LT_OP_LINEAR_BLOCK,
    LT_OP_RESIDUAL,
    LT_OP_HEAD,
    LT_OP_LOSS,
    LT_OP_CONVERT,
    LT_OP_COUNT
} lt_op;
// "embedding", "rmsnorm", ... as the benchmarks print them; "?" out of range.
const char *lt_op_name(lt_op op);

typedef struct {
    bool on;
    double seconds[LT_OP_COUNT]; // summed while on
} lt_profile;

// Turns timing on or off; turning it on zeroes the sums.
void lt_profile_enable(lt_profile *p, bool on);

// A timed region: t0 = lt_profile_begin(p); ...; lt_profile_end(p, op, t0).
static inline double lt_profile_begin(const lt_profile *p) { return p->on ? lt_time_now() : 0; }
static inline void lt_profile_end(lt_profile *p, lt_op op, double t0) {
    if (p->on) p->seconds[op] += lt_time_now() - t0;
}

// Times one statement (a call, or LT_TRY(call): an error returns untimed).
#define LT_TIMED(p, op, call)             \
    do {                                  \
        double t0_ = lt_profile_begin(p); \
        call;                             \
        lt_profile_end(p, op, t0_);       \
    } while (0)

#endif
