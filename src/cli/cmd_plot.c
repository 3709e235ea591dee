// cmd_plot.c: `lathe plot` — the loss curves of one or several training runs
// (metrics JSONL files written by `lathe train`) on one SVG chart.
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "lathe/plot.h"

static void help(void) {
    printf("usage: lathe plot METRICS.jsonl [MORE.jsonl ...] -o OUT.svg [--x step|tokens|time]\n"
           "                  [--y loss|val_loss|both] [--title T] [--log-y] [--smooth N]\n\n"
           "Draws the loss curves of one or several training runs on one chart, written as a\n"
           "standalone SVG 1.1 file. Each metrics file is one run, named by its \"run\" field or,\n"
           "without one, by its file name. Training loss is a solid line, validation loss a\n"
           "dashed line with a marker at each evaluation.\n\n"
           "  -o, --out FILE  the chart to write (must end in .svg)\n"
           "  --x AXIS        step (default), tokens, or time (elapsed seconds, minutes or hours)\n"
           "  --y CURVES      loss (training), val_loss (validation) or both (default)\n"
           "  --title T       a title above the chart\n"
           "  --log-y         logarithmic loss axis\n"
           "  --smooth N      moving average over the last N training points (the raw curve\n"
           "                  stays visible, faint); validation points are never smoothed\n\n"
           "Points a resumed run recorded twice count once: the later record wins.\n");
}

static bool ends_with_svg(const char *path) {
    size_t n = strlen(path);
    return n > 4 && strcasecmp(path + n - 4, ".svg") == 0;
}

// Parses the flag values into options; a usage error is printed and returned as LT_EXIT_USAGE.
static int parse_options(lt_plot_options *opt, const char *x, const char *y, const char *smooth,
                         const char *out) {
    if (!out) return lt_cli_usage_error("plot", "-o OUT.svg is required");
    if (!ends_with_svg(out))
        return lt_cli_usage_error("plot",
                                  "-o %s: the chart is written as SVG, so the name must "
                                  "end in .svg (PNG: convert it, e.g. with rsvg-convert)",
                                  out);
    if (strcmp(x, "step") == 0)
        opt->x = LT_PLOT_X_STEP;
    else if (strcmp(x, "tokens") == 0)
        opt->x = LT_PLOT_X_TOKENS;
    else if (strcmp(x, "time") == 0)
        opt->x = LT_PLOT_X_TIME;
    else
        return lt_cli_usage_error("plot", "--x: unknown axis '%s' (use step, tokens or time)", x);
    if (strcmp(y, "loss") == 0)
        opt->y = LT_PLOT_Y_LOSS;
    else if (strcmp(y, "val_loss") == 0)
        opt->y = LT_PLOT_Y_VAL;
    else if (strcmp(y, "both") == 0)
        opt->y = LT_PLOT_Y_BOTH;
    else
        return lt_cli_usage_error("plot", "--y: unknown curves '%s' (use loss, val_loss or both)",
                                  y);
    if (smooth) {
        int64_t n;
        lt_status s = lt_cli_parse_int("--smooth", smooth, 1, 1000000, &n);
        if (s) return lt_cli_report("plot", lt_error_prefix(s, "plot"));
        opt->smooth = (int)n;
    }
    return -1;
}

// Two files naming their runs alike would share a legend entry's text: tell them apart.
static void disambiguate_names(lt_plot_run *runs, const char **paths, int n) {
    bool *clash = NULL;
    lt_status s = lt_calloc((void **)&clash, (size_t)n, sizeof *clash, "run names");
    if (s) {
        lt_status_free(s);
        return;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) clash[i] |= j != i && strcmp(runs[i].name, runs[j].name) == 0;
    for (int i = 0; i < n; i++) {
        if (!clash[i]) continue;
        size_t size = strlen(runs[i].name) + strlen(paths[i]) + 4;
        char *named = NULL;
        s = lt_alloc((void **)&named, size, "run name");
        if (s) {
            lt_status_free(s);
            continue;
        }
        snprintf(named, size, "%s (%s)", runs[i].name, paths[i]);
        lt_free(runs[i].name);
        runs[i].name = named;
    }
    lt_free(clash);
}

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *x = "step", *y = "both", *title = NULL, *smooth = NULL;
    bool log_y = false;
    const lt_cli_opt opts[] = {{"--out", .value = &out, .alias = "-o"},
                               {"--x", .value = &x},
                               {"--y", .value = &y},
                               {"--title", .value = &title},
                               {"--smooth", .value = &smooth},
                               {"--log-y", .present = &log_y},
                               {0}};
    const char **paths = NULL;
    lt_status s = lt_alloc((void **)&paths, (size_t)argc * sizeof *paths, "arguments");
    if (s) return lt_cli_report("plot", s);
    int n_paths = 0;
    int rc = lt_cli_parse("plot", argc, argv, opts, paths, argc, &n_paths, help);
    lt_plot_options opt = {.title = title, .log_y = log_y};
    if (rc < 0 && n_paths == 0)
        rc = lt_cli_usage_error("plot", "give at least one METRICS.jsonl file");
    if (rc < 0) rc = parse_options(&opt, x, y, smooth, out);
    if (rc >= 0) {
        lt_free(paths);
        return rc;
    }

    lt_plot_run *runs = NULL;
    s = lt_calloc((void **)&runs, (size_t)n_paths, sizeof *runs, "runs");
    for (int i = 0; i < n_paths && !s; i++) s = lt_plot_run_load(&runs[i], paths[i]);
    if (!s) {
        disambiguate_names(runs, paths, n_paths);
        for (int i = 0; i < n_paths; i++)
            if (lt_plot_run_points(&runs[i], &opt) == 0)
                fprintf(stderr, "lathe plot: warning: %s has no points for this chart\n", paths[i]);
        s = lt_plot_write_svg(out, runs, n_paths, &opt);
    }
    if (!s) {
        int64_t points = 0;
        for (int i = 0; i < n_paths; i++) points += lt_plot_run_points(&runs[i], &opt);
        printf("wrote %s: %d run%s, %lld points\n", out, n_paths, n_paths == 1 ? "" : "s",
               (long long)points);
    }
    for (int i = 0; runs && i < n_paths; i++) lt_plot_run_free(&runs[i]);
    lt_free(runs);
    lt_free(paths);
    return lt_cli_report("plot", s);
}
