// plot.c: loss curves of training runs as SVG 1.1 — reads the trainer's
// metrics JSONL into per-run series and writes the chart as hand-built SVG
// text (axes with nice ticks, grid, one colour per run, a legend). The
// geometry is documented in include/lathe/plot.h so tests can predict every
// pixel.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"
#include "lathe/plot.h"

// ---------------------------------------------------------------- parsing

static lt_status push_point(lt_plot_point **list, int64_t *n, int64_t *cap, lt_plot_point p) {
    // A point not past the previous one comes from a resumed run: it replaces
    // what was recorded from its step on (see plot.h).
    double key = isfinite(p.step) ? p.step : p.tokens;
    if (isfinite(key)) {
        while (*n > 0) {
            const lt_plot_point *last = &(*list)[*n - 1];
            double last_key = isfinite(p.step) ? last->step : last->tokens;
            if (!isfinite(last_key) || last_key < key) break;
            (*n)--;
        }
    }
    if (*n == *cap) {
        int64_t new_cap = *cap ? *cap * 2 : 256;
        lt_plot_point *grown;
        LT_TRY(lt_alloc((void **)&grown, (size_t)new_cap * sizeof *grown, "metrics points"));
        if (*n) memcpy(grown, *list, (size_t)*n * sizeof *grown);
        lt_free(*list);
        *list = grown;
        *cap = new_cap;
    }
    (*list)[(*n)++] = p;
    return NULL;
}

static bool is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

// Reads the fields of one metrics object; `where` is "file:line".
static lt_status parse_object(lt_plot_run *run, const cJSON *obj, const char *where) {
    lt_plot_point p = {NAN, NAN, NAN, NAN};
    double loss = NAN, val_loss = NAN;
    const char *name = NULL;
    LT_TRY(lt_json_get_double_opt(obj, "step", &p.step, where));
    LT_TRY(lt_json_get_double_opt(obj, "tokens", &p.tokens, where));
    LT_TRY(lt_json_get_double_opt(obj, "elapsed_s", &p.elapsed_s, where));
    LT_TRY(lt_json_get_double_opt(obj, "loss", &loss, where));
    LT_TRY(lt_json_get_double_opt(obj, "val_loss", &val_loss, where));
    LT_TRY(lt_json_get_string_opt(obj, "run", &name, where));
    if (name && !run->name) {
        run->name = lt_strdup(name);
        if (!run->name) return lt_error(LT_ERR_NOMEM, "%s: run name", where);
    }
    if (isfinite(loss)) {
        p.value = loss;
        LT_TRY(push_point(&run->train, &run->n_train, &run->cap_train, p));
    }
    if (isfinite(val_loss)) {
        p.value = val_loss;
        LT_TRY(push_point(&run->val, &run->n_val, &run->cap_val, p));
    }
    return NULL;
}

static lt_status parse_line(lt_plot_run *run, const char *line, size_t n, const char *source,
                            int64_t line_no) {
    char where[512];
    snprintf(where, sizeof where, "%s:%lld", source, (long long)line_no);
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, n, &end, false);
    if (!obj) {
        size_t column = end && end >= line ? (size_t)(end - line) + 1 : 1;
        return lt_error(LT_ERR_FORMAT, "%s: invalid JSON near column %zu", where, column);
    }
    lt_status s = NULL;
    if (!is_blank(end, n - (size_t)(end - line)))
        s = lt_error(LT_ERR_FORMAT,
                     "%s: unexpected text after the JSON object (one object per line)", where);
    else if (!cJSON_IsObject(obj))
        s = lt_error(LT_ERR_FORMAT, "%s: expected a JSON object, one per line", where);
    else
        s = parse_object(run, obj, where);
    cJSON_Delete(obj);
    return s;
}

lt_status lt_plot_run_parse(lt_plot_run *run, const char *text, size_t len, const char *source,
                            const char *default_name) {
    memset(run, 0, sizeof *run);
    lt_status s = NULL;
    int64_t line_no = 0;
    for (size_t pos = 0; pos < len && !s;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + 1;
        line_no++;
        if (!is_blank(line, n)) s = parse_line(run, line, n, source, line_no);
    }
    if (!s && !run->name) {
        run->name = lt_strdup(default_name ? default_name : source);
        if (!run->name) s = lt_error(LT_ERR_NOMEM, "%s: run name", source);
    }
    if (s) lt_plot_run_free(run);
    return s;
}

lt_status lt_plot_run_load(lt_plot_run *run, const char *path) {
    memset(run, 0, sizeof *run);
    char *text;
    size_t len;
    LT_TRY(lt_file_read_all(path, &text, &len, (size_t)1 << 31));
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[256];
    snprintf(name, sizeof name, "%s", base);
    size_t n = strlen(name);
    if (n > 6 && strcmp(name + n - 6, ".jsonl") == 0) name[n - 6] = 0;
    lt_status s = lt_plot_run_parse(run, text, len, path, name);
    lt_free(text);
    return s;
}

void lt_plot_run_free(lt_plot_run *run) {
    if (!run) return;
    lt_free(run->name);
    lt_free(run->train);
    lt_free(run->val);
    memset(run, 0, sizeof *run);
}

double lt_plot_point_x(const lt_plot_point *p, lt_plot_x x) {
    switch (x) {
    case LT_PLOT_X_TOKENS: return p->tokens;
    case LT_PLOT_X_TIME: return p->elapsed_s;
    default: return p->step;
    }
}

void lt_plot_smooth(double *out, const double *in, int64_t n, int window) {
    if (window < 1) window = 1;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        sum += in[i];
        if (i >= window) sum -= in[i - window];
        int64_t count = i + 1 < window ? i + 1 : window;
        out[i] = sum / (double)count;
    }
}

// ---------------------------------------------------------------- ticks

// The smallest {1, 2, 5} x 10^k at least `raw`, as mantissa and exponent so
// that tick values can be formed exactly (k * m / 10^-e for decimals).
static void nice_step(double raw, double *mantissa, int *exponent) {
    int e = (int)floor(log10(raw));
    double mag = pow(10.0, e);
    static const double ms[] = {1, 2, 5, 10};
    double m = 10;
    for (int i = 0; i < 4; i++)
        if (ms[i] * mag >= raw * (1 - 1e-12)) {
            m = ms[i];
            break;
        }
    if (m == 10) {
        m = 1;
        e++;
    }
    *mantissa = m;
    *exponent = e;
}

// k * m * 10^e, rounded once (so 3 x 0.1 prints as 0.3, not 0.30000000000000004).
static double scaled(double k_times_m, int e) {
    return e >= 0 ? k_times_m * pow(10.0, e) : k_times_m / pow(10.0, -e);
}

int lt_plot_ticks(double lo, double hi, double *ticks, int max_ticks, double *step_out) {
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || max_ticks < 1) return 0;
    double m;
    int e;
    nice_step((hi - lo) / 6.0, &m, &e);
    double step = scaled(m, e);
    double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
    int n = 0;
    for (double k = k0; k <= k1 && n < max_ticks; k++) {
        double v = scaled(k * m, e);
        ticks[n++] = v == 0 ? 0 : v; // no "-0"
    }
    if (step_out) *step_out = step;
    return n;
}

// Ticks m * 10^e for the mantissas given, inside [lo, hi]; returns the count
// (which may exceed max_ticks: only the first max_ticks are stored).
static int log_ticks_with(double lo, double hi, const double *mantissas, int n_mantissas,
                          double *ticks, int max_ticks) {
    int n = 0;
    for (int e = (int)floor(log10(lo)) - 1; e <= (int)floor(log10(hi)) + 1; e++)
        for (int i = 0; i < n_mantissas; i++) {
            double v = scaled(mantissas[i], e);
            if (v < lo * (1 - 1e-12) || v > hi * (1 + 1e-12)) continue;
            if (n < max_ticks) ticks[n] = v;
            n++;
        }
    return n;
}

int lt_plot_ticks_log(double lo, double hi, double *ticks, int max_ticks) {
    if (!isfinite(lo) || !isfinite(hi) || !(lo > 0) || !(hi > lo) || max_ticks < 1) return 0;
    static const double decades[] = {1}, one_two_five[] = {1, 2, 5},
                        digits[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int n = log_ticks_with(lo, hi, decades, 1, ticks, max_ticks);
    if (n > max_ticks) { // very wide range: every stride-th decade
        int stride = (n + max_ticks - 1) / max_ticks, count = 0;
        for (int e = (int)ceil(log10(lo) - 1e-9); e <= (int)floor(log10(hi) + 1e-9); e++)
            if (e % stride == 0 && count < max_ticks) ticks[count++] = scaled(1, e);
        return count;
    }
    if (n >= 3) return n;
    n = log_ticks_with(lo, hi, one_two_five, 3, ticks, max_ticks);
    if (n >= 3 && n <= max_ticks) return n;
    n = log_ticks_with(lo, hi, digits, 9, ticks, max_ticks);
    if (n >= 3 && n <= max_ticks) return n;
    return lt_plot_ticks(lo, hi, ticks, max_ticks, NULL);
}

// ---------------------------------------------------------------- SVG text

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed;
} svg_buffer;

static void out(svg_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(svg_buffer *b, const char *fmt, ...) {
    if (b->failed) return;
    if (!b->buf) {
        lt_status s = lt_alloc((void **)&b->buf, 1 << 16, "SVG text");
        if (s) {
            lt_status_free(s);
            b->failed = true;
            return;
        }
        b->cap = 1 << 16;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *grown;
        lt_status s = lt_alloc((void **)&grown, cap, "SVG text");
        if (s) {
            lt_status_free(s);
            b->failed = true;
            return;
        }
        memcpy(grown, b->buf, b->len);
        lt_free(b->buf);
        b->buf = grown;
        b->cap = cap;
    }
}

// Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid
// or encodes a character XML 1.0 forbids (U+FFFE, U+FFFF).
static int utf8_valid_len(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    int len = c >= 0xC2 && c <= 0xDF   ? 2
              : c >= 0xE0 && c <= 0xEF ? 3
              : c >= 0xF0 && c <= 0xF4 ? 4
                                       : 0;
    for (int i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0; // overlong, surrogate or beyond U+10FFFF
    if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF)) return 0;
    return len;
}

// Characters of s as XML character data; what XML cannot hold becomes '?'.
static void out_text(svg_buffer *b, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_valid_len(p);
        if (n == 0 || (*p < 0x20 && *p != '\t'))
            out(b, "?");
        else if (*p == '&')
            out(b, "&amp;");
        else if (*p == '<')
            out(b, "&lt;");
        else if (*p == '>')
            out(b, "&gt;");
        else if (*p == '"')
            out(b, "&quot;");
        else
            out(b, "%.*s", n, (const char *)p);
        p += n ? n : 1;
    }
}

// Width of s in pixels at 12 px, roughly (no font metrics here): 7 px a character.
static double text_width(const char *s) {
    double n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
    return 7.0 * n;
}

// ---------------------------------------------------------------- series and frame

// One run's curves on the chosen axes: only points with a finite x (and a
// positive y on a log axis). x (n) in display units, y (n) raw losses.
typedef struct {
    double *x, *y;
    int64_t n;
} series;

typedef struct {
    series train, val;
    double *train_smooth; // (train.n) or NULL when not smoothing
} run_curves;

typedef struct {
    double left, right, top, bottom; // plot area in pixels
    double x0, x1;                   // x axis range (display units)
    double y0, y1;                   // y axis range (log10 of the loss when log_y)
    bool log_y;
    double x_unit;       // seconds per display unit for the time axis, else 1
    const char *x_label; // axis label
} frame;

static bool plottable(double x, double y, bool log_y) {
    return isfinite(x) && isfinite(y) && (!log_y || y > 0);
}

static lt_status series_build(series *out, const lt_plot_point *points, int64_t n,
                              const lt_plot_options *opt, double x_unit) {
    memset(out, 0, sizeof *out);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++)
        count += plottable(lt_plot_point_x(&points[i], opt->x), points[i].value, opt->log_y);
    if (!count) return NULL;
    LT_TRY(lt_alloc((void **)&out->x, (size_t)count * sizeof(double), "plot series"));
    lt_status s = lt_alloc((void **)&out->y, (size_t)count * sizeof(double), "plot series");
    if (s) {
        lt_free(out->x);
        out->x = NULL;
        return s;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = lt_plot_point_x(&points[i], opt->x);
        if (!plottable(x, points[i].value, opt->log_y)) continue;
        out->x[out->n] = x / x_unit;
        out->y[out->n++] = points[i].value;
    }
    return NULL;
}

static void curves_free(run_curves *c, int n_runs) {
    for (int r = 0; c && r < n_runs; r++) {
        lt_free(c[r].train.x), lt_free(c[r].train.y);
        lt_free(c[r].val.x), lt_free(c[r].val.y);
        lt_free(c[r].train_smooth);
    }
    lt_free(c);
}

static lt_status curves_build(run_curves **out, const lt_plot_run *runs, int n_runs,
                              const lt_plot_options *opt, double x_unit) {
    run_curves *c;
    LT_TRY(lt_calloc((void **)&c, (size_t)n_runs, sizeof *c, "plot curves"));
    lt_status s = NULL;
    for (int r = 0; r < n_runs && !s; r++) {
        if (opt->y & LT_PLOT_Y_LOSS)
            s = series_build(&c[r].train, runs[r].train, runs[r].n_train, opt, x_unit);
        if (!s && (opt->y & LT_PLOT_Y_VAL))
            s = series_build(&c[r].val, runs[r].val, runs[r].n_val, opt, x_unit);
        if (!s && opt->smooth > 1 && c[r].train.n) {
            s = lt_alloc((void **)&c[r].train_smooth, (size_t)c[r].train.n * sizeof(double),
                         "smoothed loss");
            if (!s) lt_plot_smooth(c[r].train_smooth, c[r].train.y, c[r].train.n, opt->smooth);
        }
    }
    if (s) {
        curves_free(c, n_runs);
        return s;
    }
    *out = c;
    return NULL;
}

static void widen_if_degenerate(double *lo, double *hi) {
    if (*hi > *lo) return;
    double v = *lo, d = v != 0 ? 0.05 * fabs(v) : 1.0;
    *lo = v - d;
    *hi = v + d;
}

static void range_add(const double *v, int64_t n, double *lo, double *hi) {
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < *lo) *lo = v[i];
        if (v[i] > *hi) *hi = v[i];
    }
}

// The time axis reads in seconds, minutes or hours, whichever keeps the numbers small.
static void x_axis_unit(const lt_plot_run *runs, int n_runs, const lt_plot_options *opt,
                        double *unit, const char **label) {
    *unit = 1;
    if (opt->x == LT_PLOT_X_STEP) *label = "step";
    if (opt->x == LT_PLOT_X_TOKENS) *label = "tokens";
    if (opt->x != LT_PLOT_X_TIME) return;
    double max_s = 0;
    for (int r = 0; r < n_runs; r++) {
        for (int64_t i = 0; i < runs[r].n_train; i++)
            if (runs[r].train[i].elapsed_s > max_s) max_s = runs[r].train[i].elapsed_s;
        for (int64_t i = 0; i < runs[r].n_val; i++)
            if (runs[r].val[i].elapsed_s > max_s) max_s = runs[r].val[i].elapsed_s;
    }
    *unit = max_s >= 7200 ? 3600 : max_s >= 120 ? 60 : 1;
    *label = max_s >= 7200  ? "elapsed time (h)"
             : max_s >= 120 ? "elapsed time (min)"
                            : "elapsed time (s)";
}

// Axis ranges per plot.h; false when there is no point at all.
static bool frame_fit(frame *f, const run_curves *c, int n_runs, const lt_plot_options *opt) {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (int r = 0; r < n_runs; r++) {
        range_add(c[r].train.x, c[r].train.n, &x_lo, &x_hi);
        range_add(c[r].val.x, c[r].val.n, &x_lo, &x_hi);
        range_add(c[r].train.y, c[r].train.n, &y_lo, &y_hi);
        range_add(c[r].val.y, c[r].val.n, &y_lo, &y_hi);
    }
    if (!(x_hi >= x_lo)) return false;
    widen_if_degenerate(&x_lo, &x_hi);
    widen_if_degenerate(&y_lo, &y_hi);
    if (opt->log_y) {
        y_lo = log10(y_lo);
        y_hi = log10(y_hi);
    }
    double pad = LT_PLOT_Y_PAD * (y_hi - y_lo);
    f->x0 = x_lo, f->x1 = x_hi;
    f->y0 = y_lo - pad, f->y1 = y_hi + pad;
    f->log_y = opt->log_y;
    return true;
}

static double px(const frame *f, double x) {
    return f->left + (x - f->x0) / (f->x1 - f->x0) * (f->right - f->left);
}

static double py(const frame *f, double loss) {
    double y = f->log_y ? log10(loss) : loss;
    return f->top + (f->y1 - y) / (f->y1 - f->y0) * (f->bottom - f->top);
}

// ---------------------------------------------------------------- drawing

// Ten well-separated colours (the common "category10" set); runs beyond ten reuse them.
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static const char *run_colour(int r) { return palette[r % 10]; }

// A linear tick label with as many decimals as the step needs. On axes
// reaching 10,000 each label takes the suffix its own size calls for (200k,
// 1.5M, 3G), without trailing zeros.
static void format_linear_tick(char *buf, size_t size, double v, double step, double axis_max) {
    double scale = 1;
    const char *suffix = "";
    double a = fabs(v);
    if (axis_max >= 1e4) {
        if (a >= 1e9)
            scale = 1e9, suffix = "G";
        else if (a >= 1e6)
            scale = 1e6, suffix = "M";
        else if (a >= 1e3)
            scale = 1e3, suffix = "k";
    }
    int decimals = (int)ceil(-log10(step / scale) - 1e-9);
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    snprintf(buf, size, "%.*f", decimals, v / scale);
    if (axis_max >= 1e4 && strchr(buf, '.')) {
        size_t n = strlen(buf);
        while (buf[n - 1] == '0') buf[--n] = 0;
        if (buf[n - 1] == '.') buf[--n] = 0;
    }
    snprintf(buf + strlen(buf), size - strlen(buf), "%s", suffix);
}

static void draw_axes(svg_buffer *b, const frame *f) {
    double ticks[LT_PLOT_MAX_TICKS], step;
    char label[64];
    out(b, "<g id=\"x-axis\" font-size=\"12\" text-anchor=\"middle\">\n");
    int n = lt_plot_ticks(f->x0, f->x1, ticks, LT_PLOT_MAX_TICKS, &step);
    double x_max = fmax(fabs(f->x0), fabs(f->x1));
    for (int i = 0; i < n; i++) {
        double x = px(f, ticks[i]);
        format_linear_tick(label, sizeof label, ticks[i], step, x_max);
        out(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e5e5e5\"/>\n", x,
            f->top, x, f->bottom);
        out(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#444\"/>\n", x,
            f->bottom, x, f->bottom + 5);
        out(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", x, f->bottom + 19, label);
    }
    out(b, "</g>\n<g id=\"y-axis\" font-size=\"12\" text-anchor=\"end\">\n");
    if (f->log_y) {
        double lo = pow(10.0, f->y0), hi = pow(10.0, f->y1);
        n = lt_plot_ticks_log(lo, hi, ticks, LT_PLOT_MAX_TICKS);
    } else {
        n = lt_plot_ticks(f->y0, f->y1, ticks, LT_PLOT_MAX_TICKS, &step);
    }
    double y_max = fmax(fabs(f->y0), fabs(f->y1));
    for (int i = 0; i < n; i++) {
        double y = py(f, ticks[i]);
        if (f->log_y)
            snprintf(label, sizeof label, "%g", ticks[i]);
        else
            format_linear_tick(label, sizeof label, ticks[i], step, y_max);
        out(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e5e5e5\"/>\n",
            f->left, y, f->right, y);
        out(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#444\"/>\n",
            f->left - 5, y, f->left, y);
        out(b, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", f->left - 8, y + 4, label);
    }
    out(b,
        "</g>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
        "stroke=\"#444\"/>\n",
        f->left, f->top, f->right - f->left, f->bottom - f->top);
}

static void draw_labels(svg_buffer *b, const frame *f, const lt_plot_options *opt, double width,
                        double height) {
    const char *y_label = opt->y == LT_PLOT_Y_VAL ? "validation loss" : "loss";
    out(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\">%s</text>\n",
        (f->left + f->right) / 2, height - 12, f->x_label);
    double cy = (f->top + f->bottom) / 2;
    out(b,
        "<text x=\"18\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\" "
        "transform=\"rotate(-90 18 %.2f)\">%s%s</text>\n",
        cy, cy, y_label, opt->log_y ? " (log scale)" : "");
    if (opt->title && *opt->title) {
        out(b,
            "<text x=\"%.2f\" y=\"28\" font-size=\"16\" font-weight=\"bold\" "
            "text-anchor=\"middle\">",
            width / 2);
        out_text(b, opt->title);
        out(b, "</text>\n");
    }
}

static void draw_polyline(svg_buffer *b, const frame *f, const char *id, const double *x,
                          const double *y, int64_t n, const char *style) {
    out(b, "<polyline id=\"%s\" fill=\"none\" stroke-linejoin=\"round\" %s points=\"", id, style);
    for (int64_t i = 0; i < n; i++) out(b, "%s%.2f,%.2f", i ? " " : "", px(f, x[i]), py(f, y[i]));
    out(b, "\"/>\n");
}

static void draw_curves(svg_buffer *b, const frame *f, const run_curves *c, int n_runs) {
    char id[48], style[160];
    out(b, "<g id=\"curves\">\n");
    for (int r = 0; r < n_runs; r++) {
        const char *colour = run_colour(r);
        const series *t = &c[r].train, *v = &c[r].val;
        if (t->n && c[r].train_smooth) {
            snprintf(id, sizeof id, "train-raw-%d", r);
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"1\" stroke-opacity=\"0.3\"",
                     colour);
            draw_polyline(b, f, id, t->x, t->y, t->n, style);
        }
        if (t->n) {
            snprintf(id, sizeof id, "train-%d", r);
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"1.8\"", colour);
            draw_polyline(b, f, id, t->x, c[r].train_smooth ? c[r].train_smooth : t->y, t->n,
                          style);
        }
        if (v->n) {
            snprintf(id, sizeof id, "val-%d", r);
            snprintf(style, sizeof style,
                     "stroke=\"%s\" stroke-width=\"1.8\" stroke-dasharray=\"6,4\"", colour);
            draw_polyline(b, f, id, v->x, v->y, v->n, style);
            out(b, "<g fill=\"%s\" stroke=\"white\" stroke-width=\"1\">\n", colour);
            for (int64_t i = 0; i < v->n; i++)
                out(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"/>\n", px(f, v->x[i]),
                    py(f, v->y[i]));
            out(b, "</g>\n");
        }
    }
    out(b, "</g>\n");
}

// One legend row: a line sample (dashed with a marker for validation) and a name.
static void legend_row(svg_buffer *b, double x, double y, const char *colour, bool dashed,
                       const char *name) {
    out(b,
        "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" "
        "stroke-width=\"1.8\"%s/>\n",
        x, y, x + 24, y, colour, dashed ? " stroke-dasharray=\"6,4\"" : "");
    if (dashed)
        out(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\" stroke=\"white\"/>\n", x + 12,
            y, colour);
    out(b, "<text x=\"%.2f\" y=\"%.2f\">", x + 32, y + 4);
    out_text(b, name);
    out(b, "</text>\n");
}

// Top-right inside the plot area, where falling loss curves leave room.
static void draw_legend(svg_buffer *b, const frame *f, const run_curves *c, const lt_plot_run *runs,
                        int n_runs) {
    int rows = 0;
    bool any_train = false, any_val = false;
    double name_width = 0;
    for (int r = 0; r < n_runs; r++) {
        if (!c[r].train.n && !c[r].val.n) continue;
        rows++;
        any_train |= c[r].train.n > 0;
        any_val |= c[r].val.n > 0;
        name_width = fmax(name_width, text_width(runs[r].name));
    }
    bool key = any_train && any_val; // explain solid vs dashed only when both appear
    if (key) {
        rows += 2;
        name_width = fmax(name_width, text_width("validation"));
    }
    double row_h = 18, w = 32 + name_width + 20, h = rows * row_h + 10;
    double x = f->right - 10 - w, y = f->top + 10;
    out(b,
        "<g id=\"legend\" font-size=\"12\">\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
        "height=\"%.2f\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n",
        x, y, w, h);
    double row_y = y + 5 + row_h / 2;
    for (int r = 0; r < n_runs; r++) {
        if (!c[r].train.n && !c[r].val.n) continue;
        legend_row(b, x + 10, row_y, run_colour(r), !c[r].train.n, runs[r].name);
        row_y += row_h;
    }
    if (key) {
        legend_row(b, x + 10, row_y, "#555", false, "train");
        legend_row(b, x + 10, row_y + row_h, "#555", true, "validation");
    }
    out(b, "</g>\n");
}

// ---------------------------------------------------------------- the chart

static lt_status nothing_to_plot(const lt_plot_run *runs, int n_runs, const lt_plot_options *opt) {
    static const char *x_fields[] = {"step", "tokens", "elapsed_s"};
    const char *y_field = opt->y == LT_PLOT_Y_LOSS  ? "'loss'"
                          : opt->y == LT_PLOT_Y_VAL ? "'val_loss'"
                                                    : "'loss' or 'val_loss'";
    char names[256] = "";
    for (int r = 0; r < n_runs; r++) {
        size_t used = strlen(names);
        if (used + 8 >= sizeof names) break;
        snprintf(names + used, sizeof names - used, "%s'%s'", r ? ", " : "", runs[r].name);
    }
    return lt_error(LT_ERR_FORMAT, "nothing to plot: no line of run %s has %s together with '%s'%s",
                    names, y_field, x_fields[opt->x],
                    opt->log_y ? " (with a log y axis only positive losses count)" : "");
}

int64_t lt_plot_run_points(const lt_plot_run *run, const lt_plot_options *opt) {
    int64_t n = 0;
    for (int64_t i = 0; (opt->y & LT_PLOT_Y_LOSS) && i < run->n_train; i++)
        n += plottable(lt_plot_point_x(&run->train[i], opt->x), run->train[i].value, opt->log_y);
    for (int64_t i = 0; (opt->y & LT_PLOT_Y_VAL) && i < run->n_val; i++)
        n += plottable(lt_plot_point_x(&run->val[i], opt->x), run->val[i].value, opt->log_y);
    return n;
}

static lt_status check_options(const lt_plot_options *opt, int n_runs) {
    if (n_runs < 1) return lt_error(LT_ERR_ARG, "plot: no runs given");
    if (opt->x < LT_PLOT_X_STEP || opt->x > LT_PLOT_X_TIME)
        return lt_error(LT_ERR_ARG, "plot: unknown x axis %d", (int)opt->x);
    if (opt->y < LT_PLOT_Y_LOSS || opt->y > LT_PLOT_Y_BOTH)
        return lt_error(LT_ERR_ARG, "plot: unknown y selection %d", (int)opt->y);
    if ((opt->width && opt->width < 200) || (opt->height && opt->height < 150) ||
        opt->width > 20000 || opt->height > 20000)
        return lt_error(LT_ERR_ARG, "plot: size %dx%d outside 200x150 .. 20000x20000", opt->width,
                        opt->height);
    return NULL;
}

lt_status lt_plot_svg(char **svg, size_t *len, const lt_plot_run *runs, int n_runs,
                      const lt_plot_options *opt) {
    *svg = NULL;
    if (len) *len = 0;
    LT_TRY(check_options(opt, n_runs));
    double width = opt->width ? opt->width : LT_PLOT_WIDTH;
    double height = opt->height ? opt->height : LT_PLOT_HEIGHT;
    frame f = {.left = LT_PLOT_MARGIN_LEFT,
               .right = width - LT_PLOT_MARGIN_RIGHT,
               .top = LT_PLOT_MARGIN_TOP,
               .bottom = height - LT_PLOT_MARGIN_BOTTOM};
    x_axis_unit(runs, n_runs, opt, &f.x_unit, &f.x_label);
    run_curves *c;
    LT_TRY(curves_build(&c, runs, n_runs, opt, f.x_unit));
    if (!frame_fit(&f, c, n_runs, opt)) {
        curves_free(c, n_runs);
        return nothing_to_plot(runs, n_runs, opt);
    }
    svg_buffer b = {0};
    out(&b,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
        "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
        "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n<title>",
        width, height, width, height);
    out_text(&b, opt->title && *opt->title ? opt->title : "loss curves");
    out(&b, "</title>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", width, height);
    draw_axes(&b, &f);
    draw_labels(&b, &f, opt, width, height);
    draw_curves(&b, &f, c, n_runs);
    draw_legend(&b, &f, c, runs, n_runs);
    out(&b, "</svg>\n");
    curves_free(c, n_runs);
    if (b.failed) {
        lt_free(b.buf);
        return lt_error(LT_ERR_NOMEM, "plot: out of memory while writing the SVG text");
    }
    *svg = b.buf;
    if (len) *len = b.len;
    return NULL;
}

lt_status lt_plot_write_svg(const char *path, const lt_plot_run *runs, int n_runs,
                            const lt_plot_options *opt) {
    char *svg;
    size_t len;
    LT_TRY(lt_plot_svg(&svg, &len, runs, n_runs, opt));
    lt_status s = lt_file_write_all(path, svg, len);
    lt_free(svg);
    return s;
}
