// test_plot.c: the metrics reader and SVG chart of `lathe plot` — series
// parsing (fields, nulls, unknown fields, resumed runs), each malformed input,
// nice ticks for known ranges, smoothing by hand, and the pixel positions of
// known data computed from the geometry documented in plot.h.
#include <unistd.h>

#include "lathe/plot.h"
#include "lt_test.h"

static lt_status parse(lt_plot_run *run, const char *text) {
    return lt_plot_run_parse(run, text, strlen(text), "m.jsonl", "default");
}

// ---------------------------------------------------------------- parsing

static void test_parse_series(void) {
    const char *text =
        "{\"run\":\"f32\",\"step\":1,\"tokens\":2048,\"loss\":9.5,\"lr\":0.0003,\"elapsed_s\":1.5}\n"
        "\n"
        "{\"step\":2,\"tokens\":4096,\"loss\":8.25,\"grad_norm\":0.8,\"new_field\":[1,{\"a\":2}]}\r\n"
        "   \t\n"
        "{\"step\":2,\"val_loss\":8.5,\"val_ppl\":4914.8,\"val_bpb\":1.2}\n"
        "{\"step\":3,\"loss\":7.0,\"val_loss\":7.5,\"loss_scale\":65536}\n"
        "{\"step\":4,\"loss\":null,\"val_loss\":null,\"tokens\":null}\n"
        "{\"run\":\"other\",\"step\":5}"; // no final newline; a second run name is ignored
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, text));
    LT_CHECK_STR(run.name, "f32");
    LT_CHECK_INT(run.n_train, 3);
    LT_CHECK_INT(run.n_val, 2);
    if (run.n_train == 3 && run.n_val == 2) {
        LT_CHECK(run.train[0].step == 1 && run.train[0].tokens == 2048 &&
                 run.train[0].elapsed_s == 1.5 && run.train[0].value == 9.5);
        LT_CHECK(run.train[1].step == 2 && run.train[1].value == 8.25 &&
                 isnan(run.train[1].elapsed_s));
        LT_CHECK(run.train[2].step == 3 && run.train[2].value == 7.0 && isnan(run.train[2].tokens));
        LT_CHECK(run.val[0].step == 2 && run.val[0].value == 8.5);
        LT_CHECK(run.val[1].step == 3 && run.val[1].value == 7.5);
        lt_plot_point p = run.train[0];
        LT_CHECK(lt_plot_point_x(&p, LT_PLOT_X_STEP) == 1);
        LT_CHECK(lt_plot_point_x(&p, LT_PLOT_X_TOKENS) == 2048);
        LT_CHECK(lt_plot_point_x(&p, LT_PLOT_X_TIME) == 1.5);
    }
    lt_plot_run_free(&run);
}

static void test_parse_name_from_file(void) {
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/bf16-run.jsonl", dir);
    const char *text = "{\"step\":1,\"loss\":3}\n";
    LT_CHECK_OK(lt_file_write_all(path, text, strlen(text)));
    lt_plot_run run;
    LT_CHECK_OK(lt_plot_run_load(&run, path));
    LT_CHECK_STR(run.name, "bf16-run");
    LT_CHECK_INT(run.n_train, 1);
    lt_plot_run_free(&run);
    unlink(path);
    rmdir(dir);
}

// A run resumed from its step-2 checkpoint records steps 3 and 4 again: the later records win.
static void test_parse_resumed_run(void) {
    const char *text =
        "{\"step\":1,\"loss\":5}\n{\"step\":2,\"loss\":4}\n{\"step\":3,\"loss\":3.9}\n"
        "{\"step\":4,\"loss\":3.8}\n{\"step\":4,\"val_loss\":4.1}\n"
        "{\"step\":3,\"loss\":3.5}\n{\"step\":4,\"loss\":3.4}\n"
        "{\"step\":4,\"val_loss\":3.6}\n{\"step\":5,\"loss\":3.3}\n";
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, text));
    LT_CHECK_INT(run.n_train, 5);
    LT_CHECK_INT(run.n_val, 1);
    static const double steps[] = {1, 2, 3, 4, 5}, losses[] = {5, 4, 3.5, 3.4, 3.3};
    for (int i = 0; i < 5 && i < run.n_train; i++)
        LT_CHECK(run.train[i].step == steps[i] && run.train[i].value == losses[i]);
    if (run.n_val == 1) LT_CHECK(run.val[0].value == 3.6);
    lt_plot_run_free(&run);
}

// ---------------------------------------------------------------- malformed input, one case each

static void test_error_invalid_json(void) {
    lt_plot_run run;
    LT_CHECK_ERR(parse(&run, "{\"step\":1,\"loss\":3}\n\n{\"step\":2,\"loss\":\n"), LT_ERR_FORMAT,
                 "m.jsonl:3: invalid JSON");
    LT_CHECK(run.name == NULL && run.train == NULL); // left empty
}

static void test_error_truncated_last_line(void) {
    lt_plot_run run;
    LT_CHECK_ERR(parse(&run, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"lo"), LT_ERR_FORMAT,
                 "m.jsonl:2: invalid JSON");
}

static void test_error_trailing_text(void) {
    lt_plot_run run;
    LT_CHECK_ERR(parse(&run, "{\"step\":1,\"loss\":3} {\"step\":2}\n"), LT_ERR_FORMAT,
                 "m.jsonl:1: unexpected text after the JSON object");
}

static void test_error_not_an_object(void) {
    lt_plot_run run;
    LT_CHECK_ERR(parse(&run, "{\"step\":1,\"loss\":3}\n[1,2]\n"), LT_ERR_FORMAT,
                 "m.jsonl:2: expected a JSON object");
}

static void test_error_wrong_field_type(void) {
    lt_plot_run run;
    LT_CHECK_ERR(parse(&run, "{\"step\":1,\"loss\":\"low\"}\n"), LT_ERR_FORMAT,
                 "m.jsonl:1: field 'loss' must be a number");
    LT_CHECK_ERR(parse(&run, "{\"step\":\"one\",\"loss\":3}\n"), LT_ERR_FORMAT,
                 "m.jsonl:1: field 'step' must be a number");
    LT_CHECK_ERR(parse(&run, "{\"run\":7,\"loss\":3}\n"), LT_ERR_FORMAT,
                 "m.jsonl:1: field 'run' must be a string");
}

static void test_error_missing_file(void) {
    lt_plot_run run;
    LT_CHECK_ERR(lt_plot_run_load(&run, "/nonexistent/metrics.jsonl"), LT_ERR_IO,
                 "/nonexistent/metrics.jsonl: cannot open");
}

static void test_error_nothing_to_plot(void) {
    lt_plot_run run;
    char *svg = NULL;
    LT_CHECK_OK(parse(&run, "{\"step\":1,\"val_loss\":3}\n{\"step\":2,\"loss\":-1}\n"));
    lt_plot_options only_train = {.x = LT_PLOT_X_STEP, .y = LT_PLOT_Y_LOSS, .log_y = true};
    LT_CHECK_ERR(lt_plot_svg(&svg, NULL, &run, 1, &only_train), LT_ERR_FORMAT,
                 "nothing to plot: no line of run 'default' has 'loss' together with 'step' "
                 "(with a log y axis only positive losses count)");
    lt_plot_options by_time = {.x = LT_PLOT_X_TIME, .y = LT_PLOT_Y_BOTH};
    LT_CHECK_ERR(lt_plot_svg(&svg, NULL, &run, 1, &by_time), LT_ERR_FORMAT,
                 "has 'loss' or 'val_loss' together with 'elapsed_s'");
    LT_CHECK(svg == NULL);
    // Nothing written either.
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    LT_CHECK_ERR(lt_plot_write_svg(path, &run, 1, &by_time), LT_ERR_FORMAT, "nothing to plot");
    LT_CHECK(!lt_path_exists(path));
    LT_CHECK(rmdir(dir) == 0); // empty: no temporary left behind
    lt_plot_run_free(&run);
}

static void test_error_bad_options(void) {
    lt_plot_run run;
    char *svg = NULL;
    LT_CHECK_OK(parse(&run, "{\"step\":1,\"loss\":3}\n"));
    lt_plot_options tiny = {.y = LT_PLOT_Y_BOTH, .width = 50, .height = 50};
    LT_CHECK_ERR(lt_plot_svg(&svg, NULL, &run, 1, &tiny), LT_ERR_ARG, "plot: size 50x50");
    lt_plot_options no_curves = {.y = 0};
    LT_CHECK_ERR(lt_plot_svg(&svg, NULL, &run, 1, &no_curves), LT_ERR_ARG, "unknown y selection");
    lt_plot_options ok = {.y = LT_PLOT_Y_BOTH};
    LT_CHECK_ERR(lt_plot_svg(&svg, NULL, &run, 0, &ok), LT_ERR_ARG, "no runs");
    lt_plot_run_free(&run);
}

// ---------------------------------------------------------------- ticks and smoothing

static void check_ticks(double lo, double hi, const double *want, int n_want, double want_step) {
    double ticks[LT_PLOT_MAX_TICKS], step = 0;
    int n = lt_plot_ticks(lo, hi, ticks, LT_PLOT_MAX_TICKS, &step);
    LT_CHECK_MSG(n == n_want, "[%g, %g]: %d ticks, expected %d", lo, hi, n, n_want);
    LT_CHECK_MSG(step == want_step, "[%g, %g]: step %.17g, expected %g", lo, hi, step, want_step);
    for (int i = 0; i < n && i < n_want; i++)
        LT_CHECK_MSG(ticks[i] == want[i], "[%g, %g] tick %d: %.17g, expected %g", lo, hi, i,
                     ticks[i], want[i]);
}

static void test_ticks_linear(void) {
    check_ticks(0.9, 4.3, (const double[]){1, 2, 3, 4}, 4, 1);
    check_ticks(0, 1000, (const double[]){0, 200, 400, 600, 800, 1000}, 6, 200);
    check_ticks(2.7, 9.9, (const double[]){4, 6, 8}, 3, 2);
    check_ticks(-3, 3, (const double[]){-3, -2, -1, 0, 1, 2, 3}, 7, 1);
    // Decimal steps give the decimal values themselves (0.3, not 0.30000000000000004).
    check_ticks(0.25, 0.62, (const double[]){0.3, 0.4, 0.5, 0.6}, 4, 0.1);
    check_ticks(0.0012, 0.0047, (const double[]){0.002, 0.003, 0.004}, 3, 0.001);
    check_ticks(0, 3e6, (const double[]){0, 5e5, 1e6, 1.5e6, 2e6, 2.5e6, 3e6}, 7, 5e5);
    double t[LT_PLOT_MAX_TICKS];
    LT_CHECK_INT(lt_plot_ticks(1, 1, t, LT_PLOT_MAX_TICKS, NULL), 0);   // empty range
    LT_CHECK_INT(lt_plot_ticks(2, 1, t, LT_PLOT_MAX_TICKS, NULL), 0);   // reversed
    LT_CHECK_INT(lt_plot_ticks(0, NAN, t, LT_PLOT_MAX_TICKS, NULL), 0); // not finite
    LT_CHECK_INT(lt_plot_ticks(0, 1000, t, 2, NULL), 2);                // capped
}

static void check_log_ticks(double lo, double hi, const double *want, int n_want) {
    double ticks[LT_PLOT_MAX_TICKS];
    int n = lt_plot_ticks_log(lo, hi, ticks, LT_PLOT_MAX_TICKS);
    LT_CHECK_MSG(n == n_want, "log [%g, %g]: %d ticks, expected %d", lo, hi, n, n_want);
    for (int i = 0; i < n && i < n_want; i++) LT_CHECK_CLOSE(ticks[i], want[i], 0, 1e-15);
}

static void test_ticks_log(void) {
    check_log_ticks(0.5, 2000, (const double[]){1, 10, 100, 1000}, 4);      // decades
    check_log_ticks(0.15, 6, (const double[]){0.2, 0.5, 1, 2, 5}, 5);       // 1-2-5
    check_log_ticks(2.5, 11, (const double[]){3, 4, 5, 6, 7, 8, 9, 10}, 8); // 1..9
    check_log_ticks(1, 1.2, (const double[]){1, 1.05, 1.1, 1.15, 1.2}, 5);  // linear
    check_log_ticks(
        1e-30, 1e30,
        (const double[]){1e-30, 1e-24, 1e-18, 1e-12, 1e-6, 1, 1e6, 1e12, 1e18, 1e24, 1e30},
        11); // every 6th decade
    double t[LT_PLOT_MAX_TICKS];
    LT_CHECK_INT(lt_plot_ticks_log(0, 10, t, LT_PLOT_MAX_TICKS), 0);
}

static void test_smooth(void) {
    const double in[] = {1, 2, 3, 4, 5, 10};
    double out[6];
    lt_plot_smooth(out, in, 6, 2);
    const double w2[] = {1, 1.5, 2.5, 3.5, 4.5, 7.5};
    for (int i = 0; i < 6; i++) LT_CHECK_CLOSE(out[i], w2[i], 1e-12, 0);
    lt_plot_smooth(out, in, 6, 3);
    const double w3[] = {1, 1.5, 2, 3, 4, 19.0 / 3};
    for (int i = 0; i < 6; i++) LT_CHECK_CLOSE(out[i], w3[i], 1e-12, 0);
    lt_plot_smooth(out, in, 6, 100); // longer than the data: running mean
    const double all[] = {1, 1.5, 2, 2.5, 3, 25.0 / 6};
    for (int i = 0; i < 6; i++) LT_CHECK_CLOSE(out[i], all[i], 1e-12, 0);
    lt_plot_smooth(out, in, 6, 1);
    for (int i = 0; i < 6; i++) LT_CHECK(out[i] == in[i]);
}

// ---------------------------------------------------------------- the SVG

// A small well-formedness check: tags nest and close, attribute values are
// quoted, '&' only starts the five XML entities, nothing follows the root.
static bool xml_well_formed(const char *s, char *why, size_t why_size) {
    char stack[64][32];
    int depth = 0;
    bool root_done = false;
    const char *p = s;
    if (strncmp(p, "<?xml ", 6) == 0) p = strstr(p, "?>") + 2;
    for (; *p; p++) {
        if (*p == '&') {
            static const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            bool ok = false;
            for (int i = 0; i < 5; i++) ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
            if (!ok) return snprintf(why, why_size, "bare '&' at byte %td", p - s), false;
            continue;
        }
        if (*p == '>') return snprintf(why, why_size, "stray '>' at byte %td", p - s), false;
        if (*p != '<') {
            if (root_done && *p != '\n' && *p != ' ')
                return snprintf(why, why_size, "text after the root element"), false;
            continue;
        }
        bool closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
        if (!len || len >= 32) return snprintf(why, why_size, "bad tag at byte %td", p - s), false;
        const char *q = name + len;
        while (*q && *q != '>') { // attributes: name="value"
            if (*q == '"') {
                const char *end = strchr(q + 1, '"');
                if (!end || memchr(q + 1, '<', (size_t)(end - q - 1)))
                    return snprintf(why, why_size, "bad attribute at byte %td", q - s), false;
                q = end;
            }
            q++;
        }
        if (!*q) return snprintf(why, why_size, "unterminated tag"), false;
        bool empty = q[-1] == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], name, len))
                return snprintf(why, why_size, "</%.*s> does not match", (int)len, name), false;
            root_done = --depth == 0;
        } else if (!empty) {
            if (root_done || depth == 64) return snprintf(why, why_size, "second root"), false;
            memcpy(stack[depth], name, len);
            stack[depth++][len] = 0;
        }
        p = q;
    }
    if (depth) return snprintf(why, why_size, "<%s> not closed", stack[depth - 1]), false;
    return root_done || (snprintf(why, why_size, "no root element"), false);
}

// The "x,y" pairs of the polyline with the given id; returns how many (at most max).
static int polyline_points(const char *svg, const char *id, double *xy, int max) {
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *p = strstr(svg, key);
    if (!p) return -1;
    p = strstr(p, "points=\"");
    if (!p) return -1;
    p += 8;
    int n = 0;
    while (*p != '"' && n < max) {
        char *end;
        xy[2 * n] = strtod(p, &end);
        if (*end != ',') return -1;
        xy[2 * n + 1] = strtod(end + 1, &end);
        n++;
        p = end;
        while (*p == ' ') p++;
    }
    return n;
}

// Plot area per plot.h at the default size: x in [72, 776], y in [44, 444].
static double expect_px(double x, double x0, double x1) {
    return LT_PLOT_MARGIN_LEFT +
           (x - x0) / (x1 - x0) * (LT_PLOT_WIDTH - LT_PLOT_MARGIN_RIGHT - LT_PLOT_MARGIN_LEFT);
}
static double expect_py(double y, double y0, double y1) {
    return LT_PLOT_MARGIN_TOP +
           (y1 - y) / (y1 - y0) * (LT_PLOT_HEIGHT - LT_PLOT_MARGIN_BOTTOM - LT_PLOT_MARGIN_TOP);
}

static void test_svg_pixels(void) {
    lt_plot_run runs[2];
    // Train loss 4 -> 2 over steps 0..10, validation 3 at step 5; a second run inside the range.
    LT_CHECK_OK(parse(&runs[0], "{\"run\":\"a\",\"step\":0,\"loss\":4}\n"
                                "{\"step\":5,\"val_loss\":3}\n{\"step\":10,\"loss\":2}\n"));
    LT_CHECK_OK(
        parse(&runs[1], "{\"run\":\"b\",\"step\":2,\"loss\":3.5}\n{\"step\":8,\"loss\":2.5}\n"));
    lt_plot_options opt = {.x = LT_PLOT_X_STEP, .y = LT_PLOT_Y_BOTH, .title = "a <b> & \"c\""};
    char *svg = NULL;
    size_t len = 0;
    LT_CHECK_OK(lt_plot_svg(&svg, &len, runs, 2, &opt));
    if (!svg) return;
    LT_CHECK_INT(len, strlen(svg));
    char why[128] = "";
    LT_CHECK_MSG(xml_well_formed(svg, why, sizeof why), "SVG not well-formed: %s", why);
    LT_CHECK(strstr(svg, "version=\"1.1\"") && strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
    LT_CHECK(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot;</text>"));
    // x axis [0, 10] exactly; y axis data [2, 4] padded by 5% of 2 each side: [1.9, 4.1].
    double xy[8];
    LT_CHECK_INT(polyline_points(svg, "train-0", xy, 4), 2);
    LT_CHECK_CLOSE(xy[0], 72.0, 0.006, 0); // expect_px(0)
    LT_CHECK_CLOSE(xy[0], expect_px(0, 0, 10), 0.006, 0);
    LT_CHECK_CLOSE(xy[1], expect_py(4, 1.9, 4.1), 0.006, 0); // 44 + 0.1/2.2*400 = 62.18
    LT_CHECK_CLOSE(xy[2], 776.0, 0.006, 0);
    LT_CHECK_CLOSE(xy[3], expect_py(2, 1.9, 4.1), 0.006, 0); // 425.82
    LT_CHECK_INT(polyline_points(svg, "val-0", xy, 4), 1);
    LT_CHECK_CLOSE(xy[0], 424.0, 0.006, 0);
    LT_CHECK_CLOSE(xy[1], 244.0, 0.006, 0); // the middle of the plot area
    LT_CHECK(strstr(svg, "<circle cx=\"424.00\" cy=\"244.00\""));
    LT_CHECK_INT(polyline_points(svg, "train-1", xy, 4), 2);
    LT_CHECK_CLOSE(xy[0], expect_px(2, 0, 10), 0.006, 0); // 212.8
    LT_CHECK_CLOSE(xy[1], expect_py(3.5, 1.9, 4.1), 0.006, 0);
    LT_CHECK_CLOSE(xy[2], expect_px(8, 0, 10), 0.006, 0);
    LT_CHECK_CLOSE(xy[3], expect_py(2.5, 1.9, 4.1), 0.006, 0);
    LT_CHECK_INT(polyline_points(svg, "val-1", xy, 4), -1); // run b has no validation
    // Distinct colours; the legend names both runs and explains the line styles.
    const char *s0 = strstr(strstr(svg, "id=\"train-0\""), "stroke=\"#");
    const char *s1 = strstr(strstr(svg, "id=\"train-1\""), "stroke=\"#");
    LT_CHECK(s0 && s1 && strncmp(s0, s1, 16) != 0);
    LT_CHECK(strstr(svg, ">a</text>") && strstr(svg, ">b</text>"));
    LT_CHECK(strstr(svg, ">train</text>") && strstr(svg, ">validation</text>"));
    // Ticks of the y range [1.9, 4.1] (step 0.5: 2, 2.5, ..., 4) and the x range (0, 2, ..., 10).
    LT_CHECK(strstr(svg, ">2.0</text>") && strstr(svg, ">4.0</text>") &&
             strstr(svg, ">2.5</text>"));
    LT_CHECK(strstr(svg, ">10</text>") && strstr(svg, ">0</text>"));
    LT_CHECK(strstr(svg, ">step</text>") && strstr(svg, ">loss</text>"));
    lt_free(svg);

    // Only the training curves: no validation polyline, no legend key.
    opt.y = LT_PLOT_Y_LOSS;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, runs, 2, &opt));
    LT_CHECK(svg && !strstr(svg, "id=\"val-0\"") && !strstr(svg, ">validation</text>"));
    // Now y spans [2, 4] still (run a's train), so the same pixels.
    if (svg && polyline_points(svg, "train-0", xy, 4) == 2) LT_CHECK_CLOSE(xy[1], 62.18, 0.006, 0);
    lt_free(svg);
    lt_plot_run_free(&runs[0]);
    lt_plot_run_free(&runs[1]);
}

static void test_svg_log_y(void) {
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"step\":0,\"loss\":100}\n{\"step\":1,\"val_loss\":10}\n"
                            "{\"step\":2,\"loss\":1}\n{\"step\":3,\"loss\":0}\n"));
    lt_plot_options opt = {.x = LT_PLOT_X_STEP, .y = LT_PLOT_Y_BOTH, .log_y = true};
    char *svg = NULL;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    if (!svg) return;
    // The zero loss is left out; log10 range [0, 2] padded to [-0.1, 2.1]; x spans [0, 2].
    double xy[8];
    LT_CHECK_INT(polyline_points(svg, "train-0", xy, 4), 2);
    LT_CHECK_CLOSE(xy[1], expect_py(2, -0.1, 2.1), 0.006, 0); // 62.18
    LT_CHECK_CLOSE(xy[2], 776.0, 0.006, 0);
    LT_CHECK_CLOSE(xy[3], expect_py(0, -0.1, 2.1), 0.006, 0); // 425.82
    LT_CHECK_INT(polyline_points(svg, "val-0", xy, 4), 1);
    LT_CHECK_CLOSE(xy[0], 424.0, 0.006, 0);
    LT_CHECK_CLOSE(xy[1], 244.0, 0.006, 0);
    LT_CHECK(strstr(svg, ">loss (log scale)</text>"));
    LT_CHECK(strstr(svg, ">1</text>") && strstr(svg, ">10</text>") && strstr(svg, ">100</text>"));
    lt_free(svg);
    lt_plot_run_free(&run);
}

static void test_svg_smoothing(void) {
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"step\":0,\"loss\":4}\n{\"step\":1,\"loss\":2}\n"
                            "{\"step\":2,\"loss\":4}\n{\"step\":3,\"loss\":2}\n"));
    lt_plot_options opt = {.x = LT_PLOT_X_STEP, .y = LT_PLOT_Y_BOTH, .smooth = 2};
    char *svg = NULL;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    if (!svg) return;
    // The raw curve stays (faint) and sets the y range: [2, 4] -> [1.9, 4.1].
    double xy[8];
    LT_CHECK_INT(polyline_points(svg, "train-raw-0", xy, 4), 4);
    LT_CHECK_CLOSE(xy[3], expect_py(2, 1.9, 4.1), 0.006, 0);
    // Smoothed with a window of 2: 4, 3, 3, 3.
    LT_CHECK_INT(polyline_points(svg, "train-0", xy, 4), 4);
    LT_CHECK_CLOSE(xy[1], expect_py(4, 1.9, 4.1), 0.006, 0);
    for (int i = 1; i < 4; i++) LT_CHECK_CLOSE(xy[2 * i + 1], 244.0, 0.006, 0);
    LT_CHECK_CLOSE(xy[2], expect_px(1, 0, 3), 0.006, 0);
    lt_free(svg);
    lt_plot_run_free(&run);
}

static void test_svg_axes_units(void) {
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"step\":1,\"tokens\":0,\"elapsed_s\":0,\"loss\":3}\n"
                            "{\"step\":2,\"tokens\":1000000,\"elapsed_s\":600,\"loss\":2}\n"));
    lt_plot_options opt = {.x = LT_PLOT_X_TOKENS, .y = LT_PLOT_Y_BOTH};
    char *svg = NULL;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    // Ticks 0, 200k, ..., 800k, 1M.
    LT_CHECK(svg && strstr(svg, ">0</text>") && strstr(svg, ">200k</text>") &&
             strstr(svg, ">800k</text>") && strstr(svg, ">1M</text>") &&
             strstr(svg, ">tokens</text>"));
    lt_free(svg);
    // 600 s reads in minutes: 0, 2, 4, ..., 10.
    opt.x = LT_PLOT_X_TIME;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    LT_CHECK(svg && strstr(svg, ">elapsed time (min)</text>") && strstr(svg, ">10</text>"));
    double xy[4];
    if (svg && polyline_points(svg, "train-0", xy, 2) == 2) {
        LT_CHECK_CLOSE(xy[0], 72.0, 0.006, 0);
        LT_CHECK_CLOSE(xy[2], 776.0, 0.006, 0);
    }
    lt_free(svg);
    lt_plot_run_free(&run);
}

static void test_svg_one_point(void) {
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"step\":120,\"loss\":3}\n"));
    lt_plot_options opt = {.y = LT_PLOT_Y_BOTH};
    char *svg = NULL;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    // x widens to 120 +- 6, y to 3 +- 0.15 (then padded): the point sits in the middle.
    double xy[2];
    if (svg && polyline_points(svg, "train-0", xy, 1) == 1) {
        LT_CHECK_CLOSE(xy[0], 424.0, 0.006, 0);
        LT_CHECK_CLOSE(xy[1], 244.0, 0.006, 0);
    }
    lt_free(svg);
    lt_plot_run_free(&run);
}

// Names are text: markup characters escaped, bytes XML cannot hold replaced.
static void test_svg_escaping(void) {
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"run\":\"<x&y>\\u0001 caf\\u00e9\",\"step\":1,\"loss\":3}\n"));
    LT_CHECK_STR(run.name, "<x&y>\x01 caf\xc3\xa9");
    lt_free(run.name); // bytes JSON cannot carry, as a file name could:
    run.name = lt_strdup("<x&y>\x01 caf\xc3\xa9 \xff\xc3");
    lt_plot_options opt = {.y = LT_PLOT_Y_BOTH};
    char *svg = NULL;
    LT_CHECK_OK(lt_plot_svg(&svg, NULL, &run, 1, &opt));
    LT_CHECK(svg && strstr(svg, ">&lt;x&amp;y&gt;? caf\xc3\xa9 ?\?</text>"));
    char why[128] = "";
    LT_CHECK_MSG(svg && xml_well_formed(svg, why, sizeof why), "not well-formed: %s", why);
    lt_free(svg);
    lt_plot_run_free(&run);
}

static void test_write_svg(void) {
    const char *dir = lt_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    lt_plot_run run;
    LT_CHECK_OK(parse(&run, "{\"step\":1,\"loss\":3}\n{\"step\":2,\"loss\":2}\n"));
    lt_plot_options opt = {.y = LT_PLOT_Y_BOTH};
    LT_CHECK_OK(lt_plot_write_svg(path, &run, 1, &opt));
    char *text = NULL;
    size_t size = 0;
    LT_CHECK_OK(lt_file_read_all(path, &text, &size, 1 << 20));
    char *direct = NULL;
    LT_CHECK_OK(lt_plot_svg(&direct, NULL, &run, 1, &opt));
    LT_CHECK(text && direct && strcmp(text, direct) == 0);
    lt_free(text);
    lt_free(direct);
    lt_plot_run_free(&run);
    unlink(path);
    LT_CHECK(rmdir(dir) == 0); // the only file was the chart: no temporary left behind
}

int main(void) {
    LT_RUN(test_parse_series);
    LT_RUN(test_parse_name_from_file);
    LT_RUN(test_parse_resumed_run);
    LT_RUN(test_error_invalid_json);
    LT_RUN(test_error_truncated_last_line);
    LT_RUN(test_error_trailing_text);
    LT_RUN(test_error_not_an_object);
    LT_RUN(test_error_wrong_field_type);
    LT_RUN(test_error_missing_file);
    LT_RUN(test_error_nothing_to_plot);
    LT_RUN(test_error_bad_options);
    LT_RUN(test_ticks_linear);
    LT_RUN(test_ticks_log);
    LT_RUN(test_smooth);
    LT_RUN(test_svg_pixels);
    LT_RUN(test_svg_log_y);
    LT_RUN(test_svg_smoothing);
    LT_RUN(test_svg_axes_units);
    LT_RUN(test_svg_one_point);
    LT_RUN(test_svg_escaping);
    LT_RUN(test_write_svg);
    return lt_test_finish();
}
