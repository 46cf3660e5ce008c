/* cmd_sync.c — `lockstep sync`: repair violations from the command line. */
#include "cli/cli.h"
#include "service/report.h"
#include "service/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_sync(struct cli *c, int argc, char **argv)
{
    bool dry_run = false, json = false;
    const char *direction = NULL, *user = NULL, *spec = NULL;
    const struct cli_opt opts[] = {
        {"--dry-run", OPT_FLAG, NULL, &dry_run, NULL},
        {"--json", OPT_FLAG, NULL, &json, NULL},
        {"--direction", OPT_VALUE, &direction, NULL, NULL},
        {"--user", OPT_VALUE, &user, NULL, NULL},
        {"--spec", OPT_VALUE, &spec, NULL, NULL},
        {NULL, 0, NULL, NULL, NULL},
    };
    char *pos[1];
    int npos, rc;
    if ((rc = cli_parse(c, argc, argv, opts, pos, 0, &npos)) != 0)
        return rc;
    long long user_id = 0;
    if (user && (rc = cli_parse_int(c, "--user", user, 1, INT64_MAX, &user_id)) != 0)
        return rc;
    if (direction && !config_valid_direction(direction)) {
        cli_error(c, "invalid --direction '%.40s' (expected progress_to_license, "
                     "license_to_progress or higher_wins)", direction);
        return EXIT_USAGE;
    }
    if ((rc = cli_configure(c)) != 0)
        return rc;
    struct store *s;
    if ((rc = cli_open_store(c, &s)) != 0)
        return rc;
    struct sync_options o = {
        .user_id = user_id,
        .spec = spec,
        .direction = direction ? direction : c->cfg.sync_direction,
        .dry_run = dry_run,
        .trigger = "cli",
        .data_dir = c->cfg.data_dir,
    };
    struct sync_result r;
    char err[600];
    rc = sync_execute(s, &o, &r, err, sizeof err);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        return EXIT_FAIL;
    }
    if (json) {
        json_t *j = sync_result_json(&r);
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(j);
    } else {
        printf("Sync %s(%s): %lld issue%s, %lld synced, %lld failed\n",
               r.dry_run ? "dry run " : "", r.direction, (long long)r.total_issues,
               r.total_issues == 1 ? "" : "s", (long long)r.synced_count,
               (long long)r.failed_count);
        for (size_t i = 0; i < r.n_items; i++) {
            const struct sync_item *it = &r.items[i];
            char from[16] = "-", to[16] = "-";
            if (it->has_old)
                snprintf(from, sizeof from, "%d", it->old_level);
            if (it->has_new)
                snprintf(to, sizeof to, "%d", it->new_level);
            printf("  user %-6lld %-12s %-16s %-28s %s -> %s%s%s\n", (long long)it->user_id,
                   it->spec, it->issue_type, it->action, from, to,
                   it->success ? "" : "  FAILED: ", it->error);
        }
        if (r.n_manual)
            printf("%zu pair%s need%s manual review (never repaired automatically):\n",
                   r.n_manual, r.n_manual == 1 ? "" : "s", r.n_manual == 1 ? "s" : "");
        for (size_t i = 0; i < r.n_manual; i++) {
            const struct violation *v = &r.manual[i];
            char pl[16] = "-", ll[16] = "-";
            if (v->has_progress)
                snprintf(pl, sizeof pl, "%d", v->progress_level);
            if (v->has_license)
                snprintf(ll, sizeof ll, "%d", v->license_level);
            printf("  user %-6lld %-12s %-22s progress %s, license %s\n",
                   (long long)v->user_id, v->spec, v->issue_type, pl, ll);
        }
        if (r.log_file[0])
            printf("Result logged to %s\n", r.log_file);
    }
    if (r.error[0])
        cli_error(c, "%s", r.error);
    else if (r.log_error[0])
        cli_error(c, "the sync was applied, but its log was not written: %s", r.log_error);
    else if (r.record_error[0])
        cli_error(c, "the sync was applied, but the run was not recorded: %s", r.record_error);
    int code = r.failed_count ? EXIT_FAIL : EXIT_OK;
    sync_result_free(&r);
    return code;
}
