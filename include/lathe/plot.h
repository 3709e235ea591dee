// plot.h: loss curves of training runs as a standalone SVG 1.1 chart — the
// reader of the trainer's metrics JSONL (one object per line) and the
// renderer behind `lathe plot`. No drawing library: the chart is our own
// output format, written as text, so it works wherever lathe builds.
//
// Metrics lines: a line with "loss" is a training point, a line with
// "val_loss" an evaluation point (one line may be both). The x value comes
// from "step", "tokens" or "elapsed_s"; "run" names the run. Any field may be
// absent, null fields count as absent, unknown fields are ignored, and a
// known field of the wrong type is an error naming the file, line and field.
//
// Resumed runs: when a run is resumed from a checkpoint, its metrics file
// holds the steps after the checkpoint twice. A point whose step (or tokens,
// when it has no step) is not past the previous point's therefore replaces
// the earlier points of the same kind (train or validation) from that step
// on, so the chart shows the history the final weights actually went through.
//
// Chart geometry (what tests and users can rely on), in pixels with y down:
//   the plot area is x in [LT_PLOT_MARGIN_LEFT, width - LT_PLOT_MARGIN_RIGHT]
//   and y in [LT_PLOT_MARGIN_TOP, height - LT_PLOT_MARGIN_BOTTOM];
//   the x axis spans exactly [min x, max x] of the plotted points;
//   the y axis spans [min y, max y] of the plotted points widened by
//   LT_PLOT_Y_PAD of the span on each side (with --log-y: the same in log10
//   space), so curves never touch the frame;
//   a degenerate span (one distinct value v) first becomes v ± 5% of |v|
//   (± 1 when v = 0); the time axis reads in seconds, minutes (from 120 s)
//   or hours (from 7200 s), by the largest elapsed time of any point.
// Train loss is a solid polyline with id "train-<run>" (smoothed when asked;
// the raw curve is then drawn faintly as "train-raw-<run>"), validation loss a
// dashed polyline with id "val-<run>" plus a circle marker per point, where
// <run> is the run's index in the order given; the points attribute holds
// "x,y" pairs with two decimals.
#ifndef LATHE_PLOT_H
#define LATHE_PLOT_H

#include "lathe/base.h"

#define LT_PLOT_WIDTH 800
#define LT_PLOT_HEIGHT 500
#define LT_PLOT_MARGIN_LEFT 72
#define LT_PLOT_MARGIN_RIGHT 24
#define LT_PLOT_MARGIN_TOP 44
#define LT_PLOT_MARGIN_BOTTOM 56
#define LT_PLOT_Y_PAD 0.05
#define LT_PLOT_MAX_TICKS 12

typedef enum { LT_PLOT_X_STEP = 0, LT_PLOT_X_TOKENS, LT_PLOT_X_TIME } lt_plot_x;

// Which curves to draw (bit set): training loss, validation loss, or both.
typedef enum { LT_PLOT_Y_LOSS = 1, LT_PLOT_Y_VAL = 2, LT_PLOT_Y_BOTH = 3 } lt_plot_y;

// One metrics line, reduced to what a chart needs; NAN marks an absent field.
typedef struct {
    double step, tokens, elapsed_s;
    double value; // "loss" for a training point, "val_loss" for an evaluation point
} lt_plot_point;

typedef struct {
    char *name;           // the first "run" field, else the file name without .jsonl
    lt_plot_point *train; // (n_train) lines with "loss", in file order after resume handling
    lt_plot_point *val;   // (n_val) lines with "val_loss"
    int64_t n_train, n_val;
    int64_t cap_train, cap_val;
} lt_plot_run;

typedef struct {
    lt_plot_x x;
    lt_plot_y y;
    const char *title; // NULL: no title
    bool log_y;
    int smooth;        // trailing moving average over this many training points (<= 1: none)
    int width, height; // 0: LT_PLOT_WIDTH x LT_PLOT_HEIGHT
} lt_plot_options;

// Parses metrics text (len bytes, need not be NUL-terminated). `source` names
// the text in errors ("metrics.jsonl:7: invalid JSON"); `default_name` names
// the run when no line has "run". On error *run is left empty.
lt_status lt_plot_run_parse(lt_plot_run *run, const char *text, size_t len, const char *source,
                            const char *default_name);
// Reads and parses a metrics file; the default name is its base name without ".jsonl".
lt_status lt_plot_run_load(lt_plot_run *run, const char *path);
void lt_plot_run_free(lt_plot_run *run);

// The x value of a point for the chosen axis (NAN when the point lacks it).
double lt_plot_point_x(const lt_plot_point *p, lt_plot_x x);

// How many points of the run the chart would draw with these options.
int64_t lt_plot_run_points(const lt_plot_run *run, const lt_plot_options *opt);

// Trailing moving average: out[i] = mean of in[max(0, i-window+1) .. i].
// in, out (n), not overlapping.
void lt_plot_smooth(double *out, const double *in, int64_t n, int window);

// "Nice" tick values inside [lo, hi]: every multiple of the step that lies in
// the range, the step being the smallest {1, 2, 5} x 10^k that is at least
// (hi - lo) / 6 (so 3 to 7 ticks). Writes at most max_ticks values and
// returns how many; *step_out (may be NULL) gets the step.
int lt_plot_ticks(double lo, double hi, double *ticks, int max_ticks, double *step_out);
// Ticks for a log axis over [lo, hi] (both > 0): powers of ten when at least
// three fall inside, else {1, 2, 5} x 10^k, else {1..9} x 10^k, else the
// linear ticks of lt_plot_ticks.
int lt_plot_ticks_log(double lo, double hi, double *ticks, int max_ticks);

// Renders the chart of n_runs runs into a new NUL-terminated buffer (lt_free
// it). Fails with LT_ERR_FORMAT when no run has a point to plot for the
// chosen axes, naming the runs and the fields that were looked for.
lt_status lt_plot_svg(char **svg, size_t *len, const lt_plot_run *runs, int n_runs,
                      const lt_plot_options *opt);
// Renders and writes crash-safely (temporary file, fsync, rename): on any
// error nothing is written.
lt_status lt_plot_write_svg(const char *path, const lt_plot_run *runs, int n_runs,
                            const lt_plot_options *opt);

#endif
