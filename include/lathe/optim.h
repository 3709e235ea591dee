// optim.h: what the trainer does to the gradient arena between backward and
// the next forward — AdamW (exactly torch.optim.AdamW's update), learning-rate
// schedules, global-norm clipping, finite checks and scaling of gradients, and
// the dynamic loss scaler of f16 training (torch.cuda.amp.GradScaler's rule).
//
// One f16 training step, in the order Micikevicius et al. (2018) and PyTorch use:
//   backward with dlogits multiplied by scaler.scale
//   finite = lt_grad_unscale_check(grads, n, 1 / scaler.scale)
//   if (lt_scaler_update(&scaler, finite)) {          // false: skip this update
//       lt_grad_clip_norm(grads, n, max_norm, &norm);  // on unscaled gradients
//       lt_adamw_step(opt, params, grads, lt_schedule_lr(&sched, lt_adamw_step_count(opt) + 1, T));
//   }
// f32 and bf16 runs skip the scaler (scale 1) but should still check finiteness.
//
// All arena loops are OpenMP-parallel over fixed chunks; every result is
// independent of the thread count (reductions combine per-chunk partial sums
// in a fixed order), so a resumed run repeats an uninterrupted one bit for bit.
#ifndef LATHE_OPTIM_H
#define LATHE_OPTIM_H

#include "lathe/base.h"
#include "lathe/model.h"

// ---------------------------------------------------------------- AdamW

// Hyperparameters (the learning rate is passed to every step, from a schedule).
typedef struct {
    double beta1;        // 0.9
    double beta2;        // 0.999
    double eps;          // 1e-8, added after sqrt(v_hat)
    double weight_decay; // 0.01, decoupled; never applied to 1-D tensors (RMSNorm weights)
} lt_adamw_config;

// torch.optim.AdamW's defaults: beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0.01.
lt_adamw_config lt_adamw_config_default(void);
// Sets one hyperparameter from a flag value: key "beta1" | "beta2" | "eps" |
// "weight-decay" (a leading "--" is accepted). LT_ERR_ARG naming the flag when
// the value is not a number or out of range (betas in [0, 1), eps and
// weight decay >= 0) or the key is unknown.
lt_status lt_adamw_config_set(lt_adamw_config *cfg, const char *key, const char *value);
// Checks every field's range (as lt_adamw_config_set does).
lt_status lt_adamw_config_check(const lt_adamw_config *cfg);

typedef struct lt_adamw lt_adamw;

// An optimizer for an arena of n_params floats. tensors[0..n_tensors) say
// which parts exist and which decay: a tensor with ndim >= 2 decays, a 1-D
// tensor does not; floats covered by no tensor are never touched. tensors ==
// NULL means one decayed tensor covering the whole arena. Moments start at 0,
// the step count at 0. LT_ERR_ARG if a tensor lies outside the arena or two
// tensors overlap (naming them).
lt_status lt_adamw_init(lt_adamw **out, const lt_adamw_config *cfg, int64_t n_params,
                        const lt_param *tensors, int n_tensors);
// The same for a model's arena and tensor table.
lt_status lt_adamw_init_model(lt_adamw **out, const lt_adamw_config *cfg, const lt_model *m);
void lt_adamw_free(lt_adamw *opt);

// One update of params (n_params) from grads (n_params, read only), as
// torch.optim.AdamW (PyTorch 1.13) does it for each element, with t = step
// count after incrementing it, wd = 0 for 1-D tensors:
//   p = p * (1 - lr * wd)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// (decay first, then the Adam step with the new moments). Scalar factors are
// computed in double and rounded to f32 once; the element arithmetic is f32.
void lt_adamw_step(lt_adamw *opt, float *params, const float *grads, double lr);

// State access. The moments are (n_params) f32 arrays owned by opt.
int64_t lt_adamw_step_count(const lt_adamw *opt); // updates applied so far
void lt_adamw_set_step_count(lt_adamw *opt, int64_t step);
float *lt_adamw_m(lt_adamw *opt); // first moment, (n_params)
float *lt_adamw_v(lt_adamw *opt); // second moment, (n_params)
int64_t lt_adamw_n_params(const lt_adamw *opt);
const lt_adamw_config *lt_adamw_get_config(const lt_adamw *opt);
// Bytes the optimizer state holds (2 * n_params floats), for memory accounting.
size_t lt_adamw_state_bytes_for(int64_t n_params);

// The state as bytes, little-endian (what the training-state file stores):
//   offset 0   char[8]  magic "LTADAMW\0"
//          8   u32      version (1)
//         12   u32      0
//         16   i64      n_params
//         24   i64      step count
//         32   f32[n]   m
//    32 + 4n   f32[n]   v
// Hyperparameters are not part of it: they come from the run's flags.
size_t lt_adamw_state_size(const lt_adamw *opt); // 32 + 8 * n_params
// Writes the state into buf (size >= lt_adamw_state_size, else LT_ERR_ARG).
lt_status lt_adamw_state_encode(const lt_adamw *opt, void *buf, size_t size);
// Appends the state to a file being written (without a second copy in memory).
lt_status lt_adamw_state_write(const lt_adamw *opt, lt_file *f);
// Restores the state from exactly lt_adamw_state_size bytes (any alignment,
// e.g. a slice of an mmap'd file). Errors (prefixed with `source`): wrong
// size or magic or version (LT_ERR_FORMAT), a parameter count different from
// opt's (LT_ERR_ARG), a negative step, a non-finite moment or a negative
// second moment (LT_ERR_FORMAT, naming the index). opt is unchanged on error.
lt_status lt_adamw_state_read(lt_adamw *opt, const void *data, size_t size, const char *source);

// ---------------------------------------------------------------- schedules

typedef enum {
    LT_SCHEDULE_COSINE = 0, // cosine from lr to min_lr after warmup
    LT_SCHEDULE_LINEAR,     // straight line from lr to min_lr after warmup
    LT_SCHEDULE_CONSTANT,   // lr after warmup (min_lr unused)
    LT_SCHEDULE_WSD,        // warmup-stable-decay: lr, then a linear decay to min_lr
                            // over the last decay_frac of the steps
} lt_schedule_kind;

typedef struct {
    lt_schedule_kind kind;
    double lr;         // peak learning rate, > 0
    double min_lr;     // final learning rate, in [0, lr]
    int64_t warmup;    // warmup steps, >= 0
    double decay_frac; // wsd only: fraction of all steps spent decaying, in (0, 1]
} lt_schedule;

// The defaults of the flags: cosine, lr 3e-4, min_lr 0, warmup 0, decay_frac 0.2.
lt_schedule lt_schedule_default(void);
const char *lt_schedule_kind_name(lt_schedule_kind kind);
// "cosine" | "linear" | "constant" | "wsd"; LT_ERR_ARG listing them otherwise.
lt_status lt_schedule_kind_parse(const char *name, lt_schedule_kind *out);
// Sets one field from a flag: key "schedule" | "lr" | "min-lr" | "warmup" |
// "decay-frac" (a leading "--" is accepted). The value must parse completely
// and lie in the field's range; errors are LT_ERR_ARG and name the flag.
lt_status lt_schedule_set(lt_schedule *s, const char *key, const char *value);
// Parses a spec "KIND[:KEY=VALUE,...]" with the keys of lt_schedule_set, e.g.
// "wsd:lr=3e-4,min-lr=3e-5,warmup=100,decay-frac=0.2", starting from the
// defaults. *s is written only on success.
lt_status lt_schedule_parse(lt_schedule *s, const char *spec);
// Writes the spec of s (parseable by lt_schedule_parse, giving s back exactly)
// into buf; returns what snprintf returns.
int lt_schedule_format(const lt_schedule *s, char *buf, size_t size);
// Checks the fields together with the run length: total_steps >= 1, lr > 0,
// 0 <= min_lr <= lr, 0 <= warmup <= total_steps, and for wsd decay_frac in
// (0, 1] with warmup + decay steps <= total_steps. LT_ERR_ARG naming the flags.
lt_status lt_schedule_check(const lt_schedule *s, int64_t total_steps);

// The learning rate of update number `step` (1-based: the first update is
// step 1, as AdamW's step count after incrementing) in a run of total_steps
// (T) updates with W = warmup. The schedule is a function of the continuous
// step count t that update `step` samples at its end, t = step:
//   t <= W (warmup):  lr * t / W                  (0 at t = 0, lr at t = W)
//   then, with p = (t - W) / (T - W) in (0, 1]:
//     cosine    min_lr + (lr - min_lr) * (1 + cos(pi * p)) / 2
//     linear    lr - (lr - min_lr) * p
//     constant  lr
//     wsd       D = max(1, round(decay_frac * T)) decay steps, S = T - D:
//               lr for t <= S, then lr - (lr - min_lr) * (t - S) / D
// So the first update uses lr / W, update W uses exactly lr, and the last
// update (t = T) uses exactly min_lr (cosine, linear, wsd). Steps beyond T
// stay at the final value, t < 0 counts as 0. Assumes lt_schedule_check passed.
double lt_schedule_lr(const lt_schedule *s, int64_t step, int64_t total_steps);

// ---------------------------------------------------------------- gradients

// sqrt(sum g^2) over g (n), accumulated in double (f32 squares are exact in
// double). NaN or inf when any element is.
double lt_grad_norm(const float *g, int64_t n);
// torch.nn.utils.clip_grad_norm_: with norm = lt_grad_norm(g), multiplies g by
// max_norm / (norm + 1e-6) when that is below 1; returns the pre-clip norm in
// *norm_out (may be NULL). A non-finite norm leaves g untouched (the caller
// should skip or stop). max_norm <= 0 disables clipping (the norm is still
// computed).
void lt_grad_clip_norm(float *g, int64_t n, double max_norm, double *norm_out);
// True when every element of g (n) is finite (no inf, no NaN).
bool lt_grad_all_finite(const float *g, int64_t n);
// g *= factor, element by element.
void lt_grad_scale(float *g, int64_t n, float factor);
// g *= inv_scale, and returns whether every element was finite before the
// multiplication — one pass, as torch's _amp_foreach_non_finite_check_and_unscale_.
bool lt_grad_unscale_check(float *g, int64_t n, float inv_scale);

// ---------------------------------------------------------------- loss scaler

// Dynamic loss scaling for f16 (GradScaler's state_dict fields).
typedef struct {
    float scale;             // multiply the loss (dlogits) by this before backward
    int32_t growth_tracker;  // consecutive finite steps since the scale last changed
    int32_t growth_interval; // 2000
    float growth_factor;     // 2.0
    float backoff_factor;    // 0.5
} lt_loss_scaler;

// GradScaler's defaults: scale 65536 (2^16), growth 2 every 2000 finite steps, backoff 0.5.
void lt_scaler_init(lt_loss_scaler *s);
// After the gradients of one step were checked: on a non-finite gradient the
// scale is multiplied by backoff_factor, the tracker resets and false is
// returned (skip this update). Otherwise the tracker counts one more finite
// step; when it reaches growth_interval the scale is multiplied by
// growth_factor (kept when that would overflow f32 to inf) and the tracker
// resets. Returns true: apply the update.
bool lt_scaler_update(lt_loss_scaler *s, bool grads_finite);

// The state as LT_SCALER_STATE_SIZE bytes, little-endian: char[8] magic
// "LTSCALER", f32 scale, i32 growth_tracker, i32 growth_interval, f32
// growth_factor, f32 backoff_factor.
#define LT_SCALER_STATE_SIZE 28
void lt_scaler_state_encode(const lt_loss_scaler *s, uint8_t out[LT_SCALER_STATE_SIZE]);
// Restores from exactly LT_SCALER_STATE_SIZE bytes; LT_ERR_FORMAT (prefixed
// with source) on a wrong size or magic, a scale that is not finite and > 0,
// a growth_interval < 1, a tracker outside [0, growth_interval), a growth
// factor not finite and > 1 or a backoff factor outside (0, 1). s is
// unchanged on error.
lt_status lt_scaler_state_decode(lt_loss_scaler *s, const void *data, size_t size,
                                 const char *source);

#endif
