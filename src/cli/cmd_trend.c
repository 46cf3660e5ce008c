/* cmd_trend.c — `lockstep trend`: the consistency trend of a window, its
 * text file under logs/reports/ and, with --svg, a chart. */
#include "cli/cli.h"
#include "service/errors.h"
#include "service/trend.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_svg(const struct cli *c, const char *path, const struct trend_result *r)
{
    struct atomic_file af;
    char err[600];
    if (atomic_file_open(&af, path, FS_FILE_MODE, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return -1;
    }
    if (trend_write_svg(af.fp, r, c->cfg.healthy_threshold, c->cfg.degraded_threshold) != 0) {
        atomic_file_abort(&af);
        cli_error(c, "cannot write %s: write failed", path);
        return -1;
    }
    if (atomic_file_commit(&af, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        return -1;
    }
    return 0;
}

int cmd_trend(struct cli *c, int argc, char **argv)
{
    const char *window = NULL, *svg = NULL, *baseline = NULL;
    bool json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--window", &window),
        CLI_VALUE("--svg", &svg),
        CLI_VALUE("--baseline", &baseline),
        CLI_FLAG("--json", &json),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    int64_t secs;
    if ((rc = cli_parse_window(c, window, "24h", &secs)) != 0)
        return rc;
    long long bid = 0;
    if (baseline && (rc = cli_parse_int(c, "--baseline", baseline, 1, INT64_MAX, &bid)) != 0)
        return rc;
    if (svg && !*svg) {
        cli_error(c, "--svg needs a file name");
        return EXIT_USAGE;
    }
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    struct trend_result r;
    char err[600], rel[256];
    rc = trend_analyze(s, 0, secs, (int64_t)bid, &r, err, sizeof err);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        trend_result_free(&r);
        return EXIT_FAIL;
    }
    int exit_code = EXIT_OK;
    bool file_ok = trend_write_file(c->cfg.data_dir, &r, rel, sizeof rel, err, sizeof err) == 0;
    if (json) {
        if (cli_print_json(c, trend_json(&r, true)) != EXIT_OK)
            exit_code = EXIT_FAIL;
    } else {
        trend_write_summary(stdout, &r);
        if (file_ok)
            printf("Written %s\n", rel);
    }
    if (!file_ok) {
        cli_error(c, "%s", err);
        exit_code = EXIT_FAIL;
    }
    if (svg) {
        if (write_svg(c, svg, &r) != 0)
            exit_code = EXIT_FAIL;
        else if (!json)
            printf("Chart written to %s\n", svg);
    }
    trend_result_free(&r);
    fflush(stdout);
    return exit_code;
}
