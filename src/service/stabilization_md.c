/* stabilization_md.c — the stabilization report as Markdown, and its file
 * logs/reports/stabilization_report_YYYYMMDD.md (written atomically). */
#include "service/stabilization.h"

#include "util/fsutil.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

static void md_violations(FILE *fp, const char *title, const struct violation_list *l,
                          int64_t total)
{
    if (total <= 0)
        return;
    fprintf(fp, "\n%s (%lld%s):\n\n", title, (long long)total,
            total > (int64_t)l->n ? ", the first listed" : "");
    for (size_t i = 0; i < l->n; i++) {
        char line[200], seen[TIME_ISO_LEN];
        baseline_violation_line(&l->items[i], line, sizeof line);
        time_format_iso(l->items[i].first_seen, seen);
        fprintf(fp, "- %s — first seen %s\n", line, seen);
    }
}

int stabilization_write_md(FILE *fp, const struct stab_report *r)
{
    const struct trend *t = &r->trend.trend;
    const struct stab_verdict *v = &r->verdict;
    const struct job_window *cj = &r->check_job;
    char label[32], a[TIME_ISO_LEN], b[TIME_ISO_LEN];
    trend_window_label(r->window_seconds, label, sizeof label);
    time_format_iso(r->since, a);
    time_format_iso(r->until, b);

    fprintf(fp, "# Lockstep stabilization report\n\n");
    time_format_iso(r->generated_at, b);
    fprintf(fp, "Generated %s. Window: %s (%s to ", b, label, a);
    time_format_iso(r->until, b);
    fprintf(fp, "%s).\n", b);

    fprintf(fp, "\n## Decision: %s\n\n", stabilization_decision_name(v->decision));
    if (v->decision == STAB_INSUFFICIENT_DATA)
        fprintf(fp, "Too little data to decide.\n\n");
    for (int i = 0; i < v->reasons.n; i++)
        fprintf(fp, "- %s\n", v->reasons.text[i]);
    fprintf(fp, "\n| criterion | result |\n|---|---|\n");
    fprintf(fp, "| data (≥ %d checks) | %s |\n", TREND_MIN_CHECKS, v->criteria.data);
    fprintf(fp, "| consistency | %s |\n| trend | %s |\n| scheduler | %s |\n| violations | %s |\n",
            v->criteria.consistency, v->criteria.trend, v->criteria.scheduler,
            v->criteria.violations);

    fprintf(fp, "\n## Consistency\n\n| | |\n|---|---|\n");
    if (r->trend.has_baseline) {
        time_format_iso(r->baseline.check.timestamp, a);
        fprintf(fp, "| Baseline | #%lld: %.2f%% (%s, check at %s) |\n",
                (long long)r->baseline.baseline.id, r->baseline.check.consistency_rate,
                r->baseline.check.status, a);
    } else {
        fprintf(fp, "| Baseline | none recorded |\n");
    }
    if (r->trend.series.has_latest) {
        time_format_iso(r->trend.series.latest.timestamp, a);
        fprintf(fp, "| Current | %.2f%% (%s, check at %s) |\n",
                r->trend.series.latest.consistency_rate, r->trend.series.latest.status, a);
    } else {
        fprintf(fp, "| Current | no check in the window |\n");
    }
    fprintf(fp, "| Checks recorded | %lld |\n", (long long)t->count);
    if (t->count > 0) {
        fprintf(fp, "| Average | %.2f%% |\n", t->average);
        fprintf(fp, "| Min / max | %.2f%% / %.2f%% |\n", t->min, t->max);
        fprintf(fp, "| Standard deviation | %.3f |\n", t->stddev);
        fprintf(fp, "| First / last | %.2f%% / %.2f%% |\n", t->first, t->last);
        fprintf(fp, "| Slope | %+.4f points per hour |\n", t->slope_per_hour);
    }
    fprintf(fp, "| Trend | %s: %s |\n", trend_verdict_name(t->verdict), t->explanation);

    fprintf(fp, "\n## Violations\n\n| | |\n|---|---|\n");
    if (r->baseline_violations >= 0)
        fprintf(fp, "| At the baseline | %lld |\n", (long long)r->baseline_violations);
    else
        fprintf(fp, "| At the baseline | no baseline (reference: the first check of the "
                    "window) |\n");
    fprintf(fp, "| Current | %lld |\n", (long long)r->current_violations);
    fprintf(fp, "| New since the baseline | %lld |\n", (long long)r->new_count);
    fprintf(fp, "| Resolved since the baseline | %lld |\n", (long long)r->resolved_count);
    fprintf(fp, "| Appeared and resolved since | %lld |\n", (long long)r->transient_count);
    fprintf(fp, "| All known | %s |\n", v->all_known ? "yes" : "no");
    md_violations(fp, "New since the baseline", &r->new_list, r->new_count);
    md_violations(fp, "Resolved since the baseline", &r->resolved_list, r->resolved_count);

    int64_t missed = cj->missed - r->checks_pending;
    fprintf(fp, "\n## Scheduler\n\n| | |\n|---|---|\n");
    fprintf(fp, "| Scheduler | %s |\n", !r->facts.scheduler_started ? "never started"
                                         : v->scheduler_running     ? "running"
                                                                    : "not running");
    if (cj->recorded) {
        time_format_iso(cj->settings_at, a);
        fprintf(fp, "| Health checks run / expected | %lld / %lld (every %ld s, as recorded "
                    "by serve at %s) |\n",
                (long long)(cj->ok + cj->failed + cj->interrupted + cj->running),
                (long long)cj->expected, r->check_interval, a);
    } else {
        fprintf(fp, "| Health checks run / expected | %lld / n/a (no scheduler start with its "
                    "settings is recorded in the store) |\n",
                (long long)(cj->ok + cj->failed + cj->interrupted + cj->running));
    }
    fprintf(fp, "| Succeeded | %lld |\n| Failed | %lld |\n| Missed | %lld |\n",
            (long long)cj->ok, (long long)cj->failed, (long long)(missed > 0 ? missed : 0));
    fprintf(fp, "| Skipped | %lld |\n| Interrupted | %lld |\n| In progress | %lld |\n",
            (long long)cj->skipped, (long long)cj->interrupted,
            (long long)r->facts.runs_in_progress);
    if (v->success_rate >= 0)
        fprintf(fp, "| Success rate | %.2f%% |\n", v->success_rate);
    else
        fprintf(fp, "| Success rate | n/a (nothing expected) |\n");
    time_format_iso(cj->last_success, a);
    fprintf(fp, "| Last success | %s |\n", cj->last_success ? a : "never");
    fprintf(fp, "| Errors in the window | %lld |\n", (long long)r->check_errors_total);
    if (r->n_errors > 0) {
        fprintf(fp, "\nErrors (newest first):\n\n");
        for (int i = 0; i < r->n_errors; i++) {
            time_format_iso(r->errors[i].due_at, a);
            fprintf(fp, "- %s due %s: %s%s%s\n", r->errors[i].job_id, a, r->errors[i].status,
                    r->errors[i].error[0] ? ": " : "", r->errors[i].error);
        }
    }

    fprintf(fp, "\n### Sync runs\n\n| | |\n|---|---|\n");
    fprintf(fp, "| Runs | %lld (%lld dry runs) |\n", (long long)r->sync_runs,
            (long long)r->sync_dry_runs);
    fprintf(fp, "| Succeeded / failed | %lld / %lld |\n", (long long)r->sync_succeeded,
            (long long)r->sync_failed);
    fprintf(fp, "| Pairs repaired / not repaired | %lld / %lld |\n",
            (long long)r->sync_pairs_repaired, (long long)r->sync_pairs_failed);
    if (r->has_last_sync) {
        time_format_iso(r->last_sync.started_at, a);
        fprintf(fp, "| Last run | %s (%s, %s%s): %lld synced, %lld failed |\n", a,
                r->last_sync.trigger, r->last_sync.direction,
                r->last_sync.dry_run ? ", dry run" : "",
                (long long)r->last_sync.synced_count, (long long)r->last_sync.failed_count);
    }
    if (r->sync_job.recorded)
        fprintf(fp, "| Auto-sync job | %lld ok of %lld expected (every %ld s) |\n",
                (long long)r->sync_job.ok, (long long)r->sync_job.expected, r->sync_interval);
    else
        fprintf(fp, "| Auto-sync job | %lld ok of n/a expected (no scheduler start with its "
                    "settings is recorded) |\n",
                (long long)r->sync_job.ok);

    fprintf(fp, "\n## Observations\n\n### Positive\n\n");
    if (!r->positive.n)
        fprintf(fp, "- none\n");
    for (int i = 0; i < r->positive.n; i++)
        fprintf(fp, "- %s\n", r->positive.text[i]);
    fprintf(fp, "\n### Issues\n\n");
    if (!r->issues.n)
        fprintf(fp, "- none\n");
    for (int i = 0; i < r->issues.n; i++)
        fprintf(fp, "- %s\n", r->issues.text[i]);
    fprintf(fp, "\n## Action items\n\n");
    for (int i = 0; i < r->actions.n; i++)
        fprintf(fp, "%d. %s\n", i + 1, r->actions.text[i]);
    return ferror(fp) ? -1 : 0;
}

static int write_md(FILE *fp, const void *r)
{
    return stabilization_write_md(fp, r);
}

int stabilization_write_file(const char *data_dir, const struct stab_report *r, char *rel,
                             size_t rellen, char *err, size_t errlen)
{
    char day[9], name[96], path[FS_PATH_MAX];
    time_format_day(r->until, day);
    snprintf(name, sizeof name, REPORTS_DIR "/stabilization_report_%s.md", day);
    if (fs_join(path, sizeof path, data_dir, name) != 0) {
        snprintf(err, errlen, "data_dir path is too long");
        return -1;
    }
    if (fs_write_with(path, FS_FILE_MODE, write_md, r, err, errlen) != 0)
        return -1;
    snprintf(rel, rellen, "%s", name);
    return 0;
}
