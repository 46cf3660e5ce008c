/* cmd_check.c — `lockstep check`: one health check now, summary or JSON. */
#include "cli/cli.h"
#include "service/check.h"
#include "service/errors.h"
#include "model/health.h"
#include "service/replica.h"
#include "service/watch.h"
#include "service/report.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define SHOWN 10

struct shown {
    struct violation first[SHOWN];
    int n;
    FILE *body; /* --json: the violations as report_write expects them */
    bool first_written;
    int write_failed;
};

static int keep(void *ctx, const struct violation *v)
{
    struct shown *s = ctx;
    if (s->n < SHOWN)
        s->first[s->n++] = *v;
    if (s->body) {
        if (report_write_violation(s->body, v, !s->first_written) != 0)
            s->write_failed = 1;
        s->first_written = true;
    }
    return 0;
}

static void print_summary(const struct check_outcome *o, const struct shown *sh, bool dry_run)
{
    const struct check_run *r = &o->run;
    char iso[TIME_ISO_LEN], upper[STATUS_MAX];
    size_t i;
    for (i = 0; r->status[i] && i + 1 < sizeof upper; i++)
        upper[i] = (char)(r->status[i] - 32 * (r->status[i] >= 'a' && r->status[i] <= 'z'));
    upper[i] = '\0';
    time_format_iso(r->timestamp, iso);
    printf("Status: %s%s\n", upper,
           health_requires_attention(r->status) ? " (requires attention)" : "");
    printf("Consistency: %.2f%% (%lld/%lld consistent, %lld inconsistent)\n",
           r->consistency_rate, (long long)r->consistent, (long long)r->total_checked,
           (long long)r->inconsistent);
    printf("Checked at %s in %.1f ms", iso, r->duration_ms);
    if (dry_run)
        printf(" (dry run: nothing recorded)\n");
    else if (r->report_file[0])
        printf(" (check #%lld, report %s)\n", (long long)r->id, r->report_file);
    else
        printf(" (check #%lld)\n", (long long)r->id);
    if (sh->n == 0)
        return;
    printf("Violations (%s%d of %lld):\n", r->inconsistent > sh->n ? "first " : "", sh->n,
           (long long)r->inconsistent);
    for (int k = 0; k < sh->n; k++) {
        const struct violation *v = &sh->first[k];
        char p[16], l[16], d[16] = "-";
        cli_level_text(v->has_progress, v->progress_level, p, sizeof p);
        cli_level_text(v->has_license, v->license_level, l, sizeof l);
        if (v->has_progress && v->has_license)
            snprintf(d, sizeof d, "%+d", v->progress_level - v->license_level);
        printf("  user %-6lld %-32s %-12s %-16s progress %-2s license %-2s delta %-3s -> %s\n",
               (long long)v->user_id, v->user_email, v->spec, v->issue_type, p, l, d,
               v->recommended_action);
    }
}

int cmd_check(struct cli *c, int argc, char **argv)
{
    bool dry_run = false, json = false;
    struct cli_args args;
    const struct cli_opt opts[] = {
        CLI_FLAG("--dry-run", &dry_run),
        CLI_FLAG("--json", &json),
    };
    int rc = CLI_PARSE(c, argc, argv, opts, 0, &args);
    if (rc)
        return rc;
    struct store *s;
    if ((rc = cli_configure_open_store(c, &s)) != 0)
        return rc;
    struct shown sh = {.n = 0};
    if (json && !(sh.body = tmpfile())) {
        cli_error(c, "cannot create a temporary file");
        store_close(s);
        return EXIT_FAIL;
    }
    struct check_options o = {
        .dry_run = dry_run,
        .trigger = "manual",
        .direction = c->cfg.sync_direction,
        .healthy_threshold = c->cfg.healthy_threshold,
        .degraded_threshold = c->cfg.degraded_threshold,
        .data_dir = c->cfg.data_dir,
        .budget_bytes_per_day = c->cfg.report_budget_bytes_per_day,
        .require_pairs = c->cfg.domain.attached && !c->cfg.domain.allow_empty,
        .on_violation = keep,
        .ctx = &sh,
    };
    watch_check_options(&c->cfg, s, &o);
    struct check_outcome out;
    char err[600];
    struct replica *rp = replica_new(&c->cfg);
    rc = rp ? replica_check(rp, s, &o, &out, err, sizeof err) : LS_ERR_NOMEM;
    if (!rp)
        snprintf(err, sizeof err, "out of memory");
    replica_free(rp);
    store_close(s);
    if (rc) {
        cli_error(c, "%s", err);
        if (sh.body)
            fclose(sh.body);
        /* An attached database without pairs: --json says so too (attach.md,
         * rule 8: status unknown with the reason). */
        if (json && o.require_pairs && rc == LS_ERR_VALIDATION) {
            json_t *j = json_pack("{s:s, s:s, s:b}", "status", "unknown", "reason", err,
                                  "requires_attention", 1);
            if (j)
                json_dumpf(j, stdout, JSON_INDENT(2));
            json_decref(j);
            fputc('\n', stdout);
        }
        return EXIT_FAIL;
    }
    if (json) {
        if (report_write(stdout, &out.run, sh.body) != 0 || sh.write_failed) {
            cli_error(c, "cannot write the JSON report");
            fclose(sh.body);
            return EXIT_FAIL;
        }
        fclose(sh.body);
    } else {
        print_summary(&out, &sh, dry_run);
    }
    if (out.file_error[0])
        cli_error(c, "the check was recorded, but its report file was not written: %s",
                  out.file_error);
    fflush(stdout);
    return health_exit_code(out.run.status);
}
