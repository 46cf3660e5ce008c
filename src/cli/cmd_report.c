/* cmd_report.c — `lockstep report stabilization`: the stabilization report
 * and its go/no-go decision, as Markdown or JSON; the Markdown is also kept
 * under logs/reports/. Exit 0 PROCEED, 3 INVESTIGATE, 4 FIX_ISSUES,
 * 5 FIX_SCHEDULER, 6 INSUFFICIENT_DATA (1 failure, 2 usage). */
#include "cli/cli.h"
#include "service/errors.h"
#include "service/stabilization.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                     \
    "usage: lockstep report stabilization [--window 72h] [--format md|json] [--baseline ID]"

int cmd_report(struct cli *c, int argc, char **argv)
{
    const char *window = NULL, *format = NULL, *baseline = NULL;
    const struct cli_opt opts[] = {
        {"--window", OPT_VALUE, &window, NULL, NULL},
        {"--format", OPT_VALUE, &format, NULL, NULL},
        {"--baseline", OPT_VALUE, &baseline, NULL, NULL},
        {NULL, 0, NULL, NULL, NULL},
    };
    char *pos[1];
    int npos, rc;
    if ((rc = cli_parse(c, argc, argv, opts, pos, 1, &npos)) != 0)
        return rc;
    if (npos != 1 || strcmp(pos[0], "stabilization") != 0) {
        cli_error(c, USAGE);
        return EXIT_USAGE;
    }
    bool json = format && !strcmp(format, "json");
    if (format && !json && strcmp(format, "md") != 0) {
        cli_error(c, "invalid --format '%.20s' (expected md or json)", format);
        return EXIT_USAGE;
    }
    int64_t secs = trend_parse_window(window ? window : "72h");
    if (secs < 0) {
        cli_error(c, "invalid --window '%.40s' (expected a duration such as 24h, 72h or 7d, "
                     "at most 366d)", window);
        return EXIT_USAGE;
    }
    long long bid = 0;
    if (baseline && (rc = cli_parse_int(c, "--baseline", baseline, 1, INT64_MAX, &bid)) != 0)
        return rc;
    if ((rc = cli_configure(c)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_open_store(c, &s)) != 0)
        return rc;
    struct stab_report *r = NULL;
    char err[600], rel[256];
    rc = stabilization_compile(s, &c->cfg, 0, secs, (int64_t)bid, &r, err, sizeof err);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    int exit_code = stabilization_exit_code(r->verdict.decision);
    if (json) {
        json_t *o = stabilization_json(r);
        char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(o);
        if (!text) {
            cli_error(c, "out of memory");
            exit_code = EXIT_FAIL;
        } else {
            printf("%s\n", text);
            free(text);
        }
    } else if (stabilization_write_md(stdout, r) != 0) {
        cli_error(c, "cannot write the report");
        exit_code = EXIT_FAIL;
    }
    fflush(stdout);
    /* The Markdown is kept whatever the format asked for on stdout. */
    if (stabilization_write_file(c->cfg.data_dir, r, rel, sizeof rel, err, sizeof err) != 0) {
        cli_error(c, "%s", err);
        exit_code = EXIT_FAIL;
    } else {
        fprintf(stderr, "Report written to %s/%s\n", c->cfg.data_dir, rel);
    }
    stabilization_free(r);
    return exit_code;
}
