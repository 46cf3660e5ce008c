/* scheduler_jobs.c — what each scheduled job does: the health check (through
 * the monitor) and the auto-sync, their day-log lines, and the pruning of old
 * files after a check. */
#include "service/scheduler_internal.h"

#include "service/baseline.h"
#include "service/check.h"
#include "service/metrics.h"
#include "service/monitor.h"
#include "service/sync.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

#define PRUNE_EVERY_US (3600 * USEC_PER_SEC)

static void prune_logs(struct scheduler *s, struct store *st)
{
    int64_t now = time_mono_us();
    if (s->last_prune && now - s->last_prune < PRUNE_EVERY_US)
        return;
    s->last_prune = now;
    long long age = s->app->cfg.log_retention_days * 86400LL;
    static const struct {
        const char *dir, *suffix;
    } sets[] = {/* _violations.json, and _violations_N.json of checks in the same second */
                {CHECK_DIR, ".json"}, {SYNC_DIR, "_sync.log"}, {SYNC_DIR, ".log"},
                /* Trend and stabilization reports; baselines have their own rule below. */
                {"logs/reports", ".txt"}, {"logs/reports", ".md"}, {"logs/reports", ".svg"}};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char dir[FS_PATH_MAX];
        if (fs_join(dir, sizeof dir, s->app->cfg.data_dir, sets[i].dir) != 0)
            continue;
        int n = fs_prune_older(dir, sets[i].suffix, age);
        if (n > 0)
            daylog_write(s->log, LOG_INFO, "scheduler",
                         "Removed %d file(s) older than %ld days from %s", n,
                         s->app->cfg.log_retention_days, sets[i].dir);
    }
    int n = baseline_prune_files(st, &s->app->cfg);
    if (n > 0)
        daylog_write(s->log, LOG_INFO, "scheduler",
                     "Removed %d baseline file(s) beyond the newest %ld and older than %ld days "
                     "from %s",
                     n, s->app->cfg.baseline_keep, s->app->cfg.baseline_retention_days,
                     BASELINE_DIR);
}

void scheduler_run_check(struct job *j, struct store *st, int64_t due, int64_t run_id)
{
    struct scheduler *s = j->sched;
    (void)due;
    struct monitor_check c = {.dry_run = false, .trigger = "scheduled", .wait = true,
                              .may_record = scheduler_lease_valid_cb, .may_record_ctx = s};
    struct monitor_result res;
    char err[400];
    int rc = monitor_run_check(s->app->monitor, st, &c, &res, err, sizeof err);
    if (rc) {
        if (scheduler_lease_valid(s)) /* else finish_run says why it stopped */
            daylog_write(s->log, LOG_ERROR, "scheduler", "Job %s failed: %s", j->id, err);
        scheduler_finish_run(s, st, j->id, run_id, "failed", err);
        return;
    }
    free(res.report);
    const struct check_run *r = &res.outcome.run;
    daylog_write(s->log, LOG_INFO, "health_check", "Health check complete: %lld/%lld consistent (%.2f%%)",
                 (long long)r->consistent, (long long)r->total_checked, r->consistency_rate);
    if (r->inconsistent > 0)
        daylog_write(s->log, LOG_WARNING, "health_check", "Found %lld inconsistencies",
                     (long long)r->inconsistent);
    if (res.outcome.file_error[0]) { /* counted by the monitor (metrics_file_failure) */
        daylog_write(s->log, LOG_ERROR, "health_check",
                     "Cannot write the integrity check file (check #%lld is recorded): %s",
                     (long long)r->id, res.outcome.file_error);
    } else if (r->report_file[0] && r->inconsistent > 0) {
        daylog_write(s->log, LOG_INFO, "health_check", "Violations logged to %s",
                     r->report_file);
    } else if (r->report_file[0]) {
        daylog_write(s->log, LOG_INFO, "health_check", "Report logged to %s", r->report_file);
    }
    scheduler_finish_run(s, st, j->id, run_id, "success", "");
    daylog_write(s->log, LOG_INFO, "scheduler", "Job %s executed successfully", j->id);
    prune_logs(s, st);
}

void scheduler_run_sync(struct job *j, struct store *st, int64_t due, int64_t run_id)
{
    struct scheduler *s = j->sched;
    (void)due;
    struct sync_options o = {
        .direction = s->app->cfg.sync_direction,
        .trigger = "scheduled",
        .data_dir = s->app->cfg.data_dir,
        .may_continue = scheduler_lease_valid_cb,
        .may_continue_ctx = s,
    };
    struct sync_result r;
    char err[400];
    int rc = sync_execute(st, &o, &r, err, sizeof err);
    if (rc) {
        daylog_write(s->log, LOG_ERROR, "scheduler", "Job %s failed: %s", j->id, err);
        scheduler_finish_run(s, st, j->id, run_id, "failed", err);
        return;
    }
    daylog_write(s->log, LOG_INFO, "auto_sync", "Auto-sync complete: %lld synced, %lld failed",
                 (long long)r.synced_count, (long long)r.failed_count);
    if (r.n_manual)
        daylog_write(s->log, LOG_WARNING, "auto_sync",
                     "Auto-sync left %zu pair(s) for manual review (never repaired "
                     "automatically; first: user %lld %s: %s)",
                     r.n_manual, (long long)r.manual[0].user_id, r.manual[0].spec,
                     r.manual[0].issue_type);
    if (r.log_error[0]) {
        metrics_file_failure(s->app->metrics);
        daylog_write(s->log, LOG_ERROR, "auto_sync", "Cannot write the sync log: %s",
                     r.log_error);
    }
    if (r.failed_count > 0) {
        for (size_t i = 0; i < r.n_items; i++)
            if (!r.items[i].success) {
                snprintf(err, sizeof err, "%lld pair(s) could not be repaired (first: user %lld "
                         "%s: %s)", (long long)r.failed_count, (long long)r.items[i].user_id,
                         sync_item_spec(&r, &r.items[i]), sync_item_error(&r.items[i]));
                break;
            }
        if (scheduler_lease_valid(s))
            daylog_write(s->log, LOG_ERROR, "scheduler", "Job %s failed: %s", j->id, err);
        scheduler_finish_run(s, st, j->id, run_id, "failed", err);
    } else {
        scheduler_finish_run(s, st, j->id, run_id, "success", "");
        daylog_write(s->log, LOG_INFO, "scheduler", "Job %s executed successfully", j->id);
    }
    sync_result_free(&r);
    monitor_invalidate(s->app->monitor);
}
