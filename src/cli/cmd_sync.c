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
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_FLAG("--dry-run", &dry_run),
        CLI_FLAG("--json", &json),
        CLI_VALUE("--direction", &direction),
        CLI_VALUE("--user", &user),
        CLI_VALUE("--spec", &spec),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    long long user_id = 0;
    if (user && (rc = cli_parse_int(c, "--user", user, 1, INT64_MAX, &user_id)) != 0)
        return rc;
    if (direction && !config_valid_direction(direction)) {
        cli_error(c, "invalid --direction '%.40s' (expected progress_to_license, "
                     "license_to_progress or higher_wins)", direction);
        return EXIT_USAGE;
    }
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
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
        cli_print_json(c, sync_result_json(&r));
    } else {
        printf("Sync %s(%s): %lld issue%s, %lld synced, %lld failed\n",
               r.dry_run ? "dry run " : "", r.direction, (long long)r.total_issues,
               r.total_issues == 1 ? "" : "s", (long long)r.synced_count,
               (long long)r.failed_count);
        for (size_t i = 0; i < r.n_items; i++) {
            const struct sync_item *it = &r.items[i];
            char from[16], to[16];
            printf("  user %-6lld %-12s %-16s %-28s %s -> %s%s%s\n", (long long)it->user_id,
                   sync_item_spec(&r, it), it->issue_type, it->action,
                   cli_level_text(it->has_old, it->old_level, from, sizeof from),
                   cli_level_text(it->has_new, it->new_level, to, sizeof to),
                   it->success ? "" : "  FAILED: ", sync_item_error(it));
        }
        if (r.n_manual)
            printf("%zu pair%s need%s manual review (never repaired automatically):\n",
                   r.n_manual, r.n_manual == 1 ? "" : "s", r.n_manual == 1 ? "s" : "");
        for (size_t i = 0; i < r.n_manual; i++) {
            const struct violation *v = &r.manual[i];
            char pl[16], ll[16];
            printf("  user %-6lld %-12s %-22s progress %s, license %s\n",
                   (long long)v->user_id, v->spec, v->issue_type,
                   cli_level_text(v->has_progress, v->progress_level, pl, sizeof pl),
                   cli_level_text(v->has_license, v->license_level, ll, sizeof ll));
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
