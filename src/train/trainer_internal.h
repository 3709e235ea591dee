// trainer_internal.h: what the trainer's files share — the run state and the
// checkpoint functions (train_checkpoint.c).
#ifndef LATHE_TRAINER_INTERNAL_H
#define LATHE_TRAINER_INTERNAL_H

#include "lathe/data.h"
#include "lathe/optim.h"
#include "lathe/train.h"

typedef struct {
    const lt_train_opts *opts;
    lt_model *model;
    lt_acts *acts;
    float *grads; // (n_params)
    lt_adamw *optim;
    lt_schedule schedule;
    lt_train_data *data; // opts->source, or own_data (token shards)
    lt_train_data own_data;
    int64_t accum;         // micro-batches per optimizer step
    int64_t step;          // optimizer steps done (skipped f16 overflow steps included)
    int64_t skipped;       // steps whose update was skipped (f16 overflow)
    lt_loss_scaler scaler; // f16: the loss scale (1 when not scaling)
    bool scaling, dynamic_scaling;
    int64_t tokens; // training tokens consumed
    // One optimizer step's micro-batches: (accum, B, T) each.
    int32_t *ids, *targets, *segments, *positions;
    char *checkpoints_dir;    // <out>/checkpoints
    char *created_dir;        // the outermost folder of out_dir this run created (NULL: none)
    bool created_checkpoints; // this run created checkpoints_dir
    int64_t saved_step;       // the step of the newest checkpoint (-1: none yet)
} lt_trainer;

// Writes <out>/checkpoints/step-NNNNNNNN (model directory + train_state.bin),
// crash-safely, points <out>/latest at it, and removes checkpoints beyond keep_last.
lt_status lt_trainer_save(lt_trainer *t);
// The checkpoint directory <out>/latest names, or NULL (LT_OK) when there is none.
lt_status lt_trainer_latest(const char *out_dir, char **dir);
// Restores step, tokens, optimizer and data-source state from a checkpoint's train_state.bin.
lt_status lt_trainer_restore_state(lt_trainer *t, const char *checkpoint_dir);

#endif
