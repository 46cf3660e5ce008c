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
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--window", &window),
        CLI_VALUE("--format", &format),
        CLI_VALUE("--baseline", &baseline),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 1, &args);
    if (rc)
        return rc;
    if (args.n != 1 || strcmp(args.pos[0], "stabilization") != 0) {
        cli_error(c, USAGE);
        return EXIT_USAGE;
    }
    bool json = format && !strcmp(format, "json");
    if (format && !json && strcmp(format, "md") != 0) {
        cli_error(c, "invalid --format '%.20s' (expected md or json)", format);
        return EXIT_USAGE;
    }
    int64_t secs;
    if ((rc = cli_parse_window(c, window, "72h", &secs)) != 0)
        return rc;
    long long bid = 0;
    if (baseline && (rc = cli_parse_int(c, "--baseline", baseline, 1, INT64_MAX, &bid)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
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
        if (cli_print_json(c, stabilization_json(r)) != EXIT_OK)
            exit_code = EXIT_FAIL;
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
