/* cmd_baseline.c — `lockstep baseline create|list|show [ID]`: the reference
 * the trend and the stabilization report compare with. */
#include "cli/cli.h"
#include "service/baseline.h"
#include "service/errors.h"
#include "service/report.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE                                                                                     \
    "usage: lockstep baseline create [--note TEXT] [--json] | list [--json] | show [ID] [--json]"

static void print_baseline(const struct baseline_info *b, const struct violation_list *l)
{
    const struct check_run *k = &b->check;
    char created[TIME_ISO_LEN], checked[TIME_ISO_LEN], line[200];
    time_format_iso(b->baseline.created_at, created);
    time_format_iso(k->timestamp, checked);
    printf("Baseline #%lld, created %s\n", (long long)b->baseline.id, created);
    printf("From check #%lld at %s (%s)\n", (long long)k->id, checked, k->trigger);
    printf("Status: %s\n", baseline_status_badge(k->status));
    printf("Consistency: %.2f%% (%lld/%lld consistent, %lld violations)\n", k->consistency_rate,
           (long long)k->consistent, (long long)k->total_checked, (long long)k->inconsistent);
    if (b->baseline.file[0])
        printf("File: %s\n", b->baseline.file);
    if (b->baseline.note[0])
        printf("Note: %s\n", b->baseline.note);
    if (!l || l->n == 0)
        return;
    printf("Violations (%zu):\n", l->n);
    for (size_t i = 0; i < l->n; i++) {
        baseline_violation_line(&l->items[i], line, sizeof line);
        printf("  %s\n", line);
    }
}

static int print_line(void *ctx, const struct baseline_info *bi)
{
    (void)ctx;
    const struct baseline *b = &bi->baseline;
    char created[TIME_ISO_LEN];
    time_format_iso(b->created_at, created);
    printf("%-5lld %s  check #%-7lld %7.2f%%  %-9s %6lld violations  %s\n", (long long)b->id,
           created, (long long)b->check_id, bi->check.consistency_rate, bi->check.status,
           (long long)bi->check.inconsistent, b->file[0] ? b->file : "-");
    return 0;
}

static int do_list(struct cli *c, struct store *s, bool json)
{
    if (json) {
        json_t *arr;
        char err[600];
        if (baseline_list_json(s, &arr, err, sizeof err) != 0) {
            cli_error(c, "cannot list baselines: %s", err);
            return EXIT_FAIL;
        }
        return cli_print_json(c, arr);
    }
    if (baseline_list_each(s, print_line, NULL) != 0) {
        cli_error(c, "cannot list baselines: %s", store_errmsg(s));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int do_show(struct cli *c, struct store *s, int64_t id, bool json)
{
    struct baseline_info bi;
    struct violation_list l;
    char err[600];
    int rc = baseline_load(s, id, &bi, err, sizeof err);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    if ((rc = baseline_violations_at(s, bi.check.timestamp, &l)) != 0) {
        cli_error(c, "cannot read the baseline's violations: %s", store_errmsg(s));
        violation_list_free(&l);
        return EXIT_FAIL;
    }
    if (json)
        rc = cli_print_json(c, baseline_json(&bi, &l));
    else
        print_baseline(&bi, &l);
    violation_list_free(&l);
    return rc;
}

static int do_create(struct cli *c, struct store *s, const char *note, bool json)
{
    struct baseline_info bi;
    struct violation_list l;
    char err[600], file_error[400];
    int rc = baseline_create(s, &c->cfg, note, &bi, &l, file_error, sizeof file_error, err,
                             sizeof err);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    if (json) {
        json_t *o = baseline_json(&bi, &l);
        if (o && file_error[0])
            json_object_set_new(o, "file_error", json_string(file_error));
        rc = cli_print_json(c, o);
    } else {
        print_baseline(&bi, NULL);
        printf("Written under %s/" BASELINE_DIR ": %s, " BASELINE_README "%s\n", c->cfg.data_dir,
               bi.baseline.file[0] ? strrchr(bi.baseline.file, '/') + 1 : "(no report file)",
               l.n ? ", " BASELINE_KNOWN : "");
    }
    violation_list_free(&l);
    /* The baseline is recorded either way (as a check whose file failed). */
    if (file_error[0])
        cli_error(c, "the baseline was recorded, but its files were not all written: %s",
                  file_error);
    return rc;
}

int cmd_baseline(struct cli *c, int argc, char **argv)
{
    const char *note = NULL;
    bool json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_VALUE("--note", &note),
        CLI_FLAG("--json", &json),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 2, &args);
    if (rc)
        return rc;
    const char *sub = args.n ? args.pos[0] : "";
    long long id = 0;
    bool ok = (!strcmp(sub, "create") && args.n == 1) ||
              (!strcmp(sub, "list") && args.n == 1 && !note) ||
              (!strcmp(sub, "show") && !note);
    if (!ok) {
        cli_error(c, USAGE);
        return EXIT_USAGE;
    }
    if (note && strlen(note) > 255) {
        cli_error(c, "--note is too long (at most 255 bytes)");
        return EXIT_USAGE;
    }
    if (args.n == 2 && (rc = cli_parse_int(c, "baseline id", args.pos[1], 1, INT64_MAX, &id)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    if (!strcmp(sub, "create"))
        rc = do_create(c, s, note, json);
    else if (!strcmp(sub, "list"))
        rc = do_list(c, s, json);
    else
        rc = do_show(c, s, (int64_t)id, json);
    store_close(s);
    fflush(stdout);
    return rc;
}
