/* stabilization.c — the stabilization report: facts from the store, the
 * decision matrix, observations and action items, Markdown and JSON
 * (hand-written; see stabilization.h). */
#include "service/stabilization.h"

#include "model/pair.h"

#include "service/errors.h"
#include "service/report.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9

static void item(struct stab_items *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void item(struct stab_items *it, const char *fmt, ...)
{
    if (it->n >= STAB_MAX_ITEMS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->text[it->n++], STAB_ITEM_LEN, fmt, ap);
    va_end(ap);
}

const char *stabilization_decision_name(enum stab_decision d)
{
    switch (d) {
    case STAB_PROCEED:
        return "PROCEED";
    case STAB_INVESTIGATE:
        return "INVESTIGATE";
    case STAB_FIX_ISSUES:
        return "FIX_ISSUES";
    case STAB_FIX_SCHEDULER:
        return "FIX_SCHEDULER";
    default:
        return "INSUFFICIENT_DATA";
    }
}

int stabilization_exit_code(enum stab_decision d)
{
    switch (d) {
    case STAB_PROCEED:
        return 0;
    case STAB_INVESTIGATE:
        return 3;
    case STAB_FIX_ISSUES:
        return 4;
    case STAB_FIX_SCHEDULER:
        return 5;
    default:
        return 6;
    }
}

/* ---- the decision ----------------------------------------------------------------- */

static void fmt_time(int64_t us, char out[TIME_ISO_LEN])
{
    if (us)
        time_format_iso(us, out);
    else
        snprintf(out, TIME_ISO_LEN, "never");
}

/* "known at baseline #3" or "already open at the first check of the window". */
static void reference_words(const struct stab_facts *f, char *out, size_t len)
{
    char at[TIME_ISO_LEN];
    fmt_time(f->reference_at, at);
    if (f->has_baseline)
        snprintf(out, len, "baseline #%lld (%s)", (long long)f->baseline_id, at);
    else
        snprintf(out, len, "the first check of the window (%s; no baseline recorded)", at);
}

/* PROCEED, or INVESTIGATE what falls short of it: the criteria that hold
 * are listed after those that do not. `ok` of `judged` runs succeeded. */
static void decide_proceed(const struct stab_facts *f, struct stab_verdict *v, int64_t ok,
                           int64_t judged, const char *ref)
{
    bool rate_ok = f->current_rate >= f->healthy_threshold - EPS;
    bool trend_ok = f->trend == TREND_STABLE || f->trend == TREND_IMPROVING;
    bool sched_ok = v->success_rate >= STAB_SCHEDULER_GOOD - EPS;
    char text[4][STAB_ITEM_LEN];
    bool passed[4] = {rate_ok, trend_ok, sched_ok, true};
    if (rate_ok)
        snprintf(text[0], sizeof text[0], "current consistency %.2f%% is at or above %.2f%%",
                 f->current_rate, f->healthy_threshold);
    else
        snprintf(text[0], sizeof text[0],
                 "current consistency %.2f%% is between %.2f%% and %.2f%% (degraded)",
                 f->current_rate, f->degraded_threshold, f->healthy_threshold);
    snprintf(text[1], sizeof text[1], "the trend is %s: %s", trend_verdict_name(f->trend),
             f->trend_explanation);
    snprintf(text[2], sizeof text[2],
             "health-check job success rate %.2f%% (%lld of %lld runs) is %s %.0f%%",
             v->success_rate, (long long)ok, (long long)judged,
             sched_ok ? "at or above" : "below", STAB_SCHEDULER_GOOD);
    if (f->open_violations == 0)
        snprintf(text[3], sizeof text[3], "no violations are open");
    else
        snprintf(text[3], sizeof text[3], "all %lld open violation%s were known at %s",
                 (long long)f->open_violations, f->open_violations == 1 ? "" : "s", ref);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 4; i++)
            if (passed[i] == (pass == 1))
                item(&v->reasons, "%s", text[i]);
    v->decision = rate_ok && trend_ok && sched_ok ? STAB_PROCEED : STAB_INVESTIGATE;
}

void stabilization_decide(const struct stab_facts *f, struct stab_verdict *v)
{
    memset(v, 0, sizeof *v);
    struct stab_criteria *cr = &v->criteria;
    int64_t judged = f->runs_expected - f->runs_in_progress;
    int64_t ok = f->runs_ok > judged ? judged : f->runs_ok;
    v->success_rate = job_history_success_rate(f->runs_ok, judged);
    v->scheduler_running = f->scheduler_started && f->last_success_at &&
                           f->until - f->last_success_at <= f->stale_after_us;
    v->all_known = f->new_violations == 0;
    char ref[160];
    reference_words(f, ref, sizeof ref);

    /* Each criterion's level. */
    cr->data = f->checks >= TREND_MIN_CHECKS ? "pass" : "insufficient";
    cr->consistency = f->checks == 0                                    ? "insufficient"
                      : f->current_rate >= f->healthy_threshold - EPS   ? "pass"
                      : f->current_rate >= f->degraded_threshold - EPS ? "investigate"
                                                                        : "fail";
    cr->trend = f->trend == TREND_INSUFFICIENT_DATA ? "insufficient"
                : f->trend == TREND_DEGRADING       ? "investigate"
                                                    : "pass";
    cr->scheduler = !f->scheduler_started || !v->scheduler_running  ? "fail"
                    : v->success_rate < 0                            ? "insufficient"
                    : v->success_rate < STAB_SCHEDULER_MIN - EPS     ? "fail"
                    : v->success_rate < STAB_SCHEDULER_GOOD - EPS    ? "investigate"
                                                                     : "pass";
    cr->violations = v->all_known ? "pass" : "fail";

    if (f->checks < TREND_MIN_CHECKS) {
        v->decision = STAB_INSUFFICIENT_DATA;
        item(&v->reasons,
             "only %lld recorded check%s in the window; at least %d are needed (one hour at the "
             "default 5-minute interval) before deciding",
             (long long)f->checks, f->checks == 1 ? "" : "s", TREND_MIN_CHECKS);
        if (!f->scheduler_started)
            item(&v->reasons, "the scheduler has never started: run `lockstep serve` (without "
                              "--no-scheduler) to record checks");
        else if (!v->scheduler_running)
            item(&v->reasons, "the scheduler is not running: no successful health-check run "
                              "recently");
        return;
    }

    /* Scheduler first: without it nothing else can be trusted. */
    char last[TIME_ISO_LEN];
    fmt_time(f->last_success_at, last);
    bool sched_failed = false;
    if (!f->scheduler_started) {
        item(&v->reasons, "the scheduler has never started: no scheduled health-check has run");
        sched_failed = true;
    } else if (f->settings_unknown) {
        item(&v->reasons, "no scheduler start in the window recorded its intervals (recorded "
                          "by an earlier version): expected runs are n/a until `lockstep "
                          "serve` starts again");
        sched_failed = true;
    } else if (!v->scheduler_running) {
        item(&v->reasons,
             "the scheduler is not running: the last successful health-check run ended %s, "
             "more than %lld s before the end of the window",
             last, (long long)(f->stale_after_us / USEC_PER_SEC));
        sched_failed = true;
    }
    if (f->scheduler_started && v->success_rate >= 0 &&
        v->success_rate < STAB_SCHEDULER_MIN - EPS) {
        item(&v->reasons,
             "health-check job success rate %.2f%% (%lld of %lld runs) is below %.0f%%",
             v->success_rate, (long long)ok, (long long)judged, STAB_SCHEDULER_MIN);
        sched_failed = true;
    }
    if (sched_failed) {
        v->decision = STAB_FIX_SCHEDULER;
        return;
    }
    if (v->success_rate < 0) {
        v->decision = STAB_INSUFFICIENT_DATA;
        item(&v->reasons, "no scheduled health-check run was due in the window yet, so the "
                          "scheduler cannot be judged");
        return;
    }

    /* Issues in the data. */
    if (f->current_rate < f->degraded_threshold - EPS)
        item(&v->reasons, "current consistency %.2f%% is below %.2f%% (critical)",
             f->current_rate, f->degraded_threshold);
    if (f->new_violations > 0)
        item(&v->reasons, "%lld new violation%s not known at %s are open",
             (long long)f->new_violations, f->new_violations == 1 ? "" : "s", ref);
    if (v->reasons.n) {
        v->decision = STAB_FIX_ISSUES;
        return;
    }

    decide_proceed(f, v, ok, judged, ref);
}

/* ---- gathering the facts ---------------------------------------------------------- */

struct vcollect {
    struct store *s;
    int64_t reference_at;
    struct violation_list *list;
    int64_t *count;
    int64_t *other;        /* resolved_since: the ones first seen after the reference */
};

static int collect_new(void *ctx, const struct violation *v)
{
    struct vcollect *c = ctx;
    (*c->count)++;
    if (c->list->n < STAB_LIST_MAX && violation_list_add(c->list, v) != 0)
        return store_fail(c->s, STORE_ERR_NOMEM, "out of memory");
    return 0;
}

static int collect_resolved(void *ctx, const struct violation *v)
{
    struct vcollect *c = ctx;
    if (v->first_seen > c->reference_at) {
        (*c->other)++; /* appeared after the reference and went away again */
        return 0;
    }
    return collect_new(ctx, v);
}

struct ecollect {
    struct stab_report *r;
};

static int collect_error(void *ctx, const struct job_run *j)
{
    struct stab_report *r = ((struct ecollect *)ctx)->r;
    if (strcmp(j->status, "failed") && strcmp(j->status, "interrupted"))
        return 0;
    r->check_errors_total++;
    if (r->n_errors < STAB_ERRORS_MAX)
        r->errors[r->n_errors++] = *j;
    return 0;
}

static int collect_sync(void *ctx, const struct sync_run *s)
{
    struct stab_report *r = ctx;
    if (r->until && s->started_at >= r->until)
        return 0;
    r->sync_runs++;
    if (s->dry_run)
        r->sync_dry_runs++;
    if (s->success)
        r->sync_succeeded++;
    else
        r->sync_failed++;
    if (!s->dry_run) {
        r->sync_pairs_repaired += s->synced_count;
        r->sync_pairs_failed += s->failed_count;
    }
    r->last_sync = *s; /* oldest first: the last one wins */
    r->has_last_sync = true;
    return 0;
}

static void observe(struct stab_report *r);

int stabilization_compile(struct store *s, const struct config *cfg, int64_t until,
                          int64_t window_seconds, int64_t baseline_id, struct stab_report **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    struct stab_report *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return LS_ERR_NOMEM;
    }
    int rc = 0;
    r->generated_at = time_now_us();
    r->until = until ? until : r->generated_at;
    r->window_seconds = window_seconds;
    r->since = r->until - window_seconds * USEC_PER_SEC;
    r->healthy_threshold = cfg->healthy_threshold;
    r->degraded_threshold = cfg->degraded_threshold;

    /* Consistency: the checks of the window against the baseline. */
    if ((rc = trend_analyze(s, r->until, window_seconds, baseline_id, &r->trend, err, errlen)))
        goto fail;
    const struct trend_series *ser = &r->trend.series;
    if (r->trend.has_baseline) {
        r->baseline.baseline = r->trend.baseline;
        r->baseline.check = r->trend.baseline_check;
        r->reference_at = r->baseline.check.timestamp;
        r->baseline_violations = r->baseline.check.inconsistent;
    } else {
        r->reference_at = ser->n ? ser->points[0].timestamp : r->since;
        r->baseline_violations = -1;
    }
    r->current_violations = ser->has_latest ? ser->latest.inconsistent : 0;

    /* Violations: new since the reference (still open) and resolved since. */
    struct vcollect vc = {s, r->reference_at, &r->new_list, &r->new_count, NULL};
    if ((rc = s->ops->violations_new_since(s, r->reference_at, collect_new, &vc)) != 0)
        goto store_failed;
    vc.list = &r->resolved_list;
    vc.count = &r->resolved_count;
    vc.other = &r->transient_count;
    if ((rc = s->ops->violations_resolved_since(s, r->reference_at, collect_resolved, &vc)) != 0)
        goto store_failed;

    /* Scheduler. */
    /* The schedule is judged by the settings `serve` recorded with each start
     * of its scheduler, never by this process's configuration. */
    if ((rc = job_history_window(s, JOB_CHECK, r->since, r->until, &r->check_job)) != 0 ||
        (rc = job_history_window(s, JOB_SYNC, r->since, r->until, &r->sync_job)) != 0)
        goto store_failed;
    r->check_interval = (long)r->check_job.interval_s;
    r->sync_interval = (long)r->sync_job.interval_s;
    int64_t first_start = 0;
    rc = s->ops->scheduler_first_start(s, &first_start);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        goto store_failed;
    if (first_start &&
        (rc = job_history_pending(s, JOB_CHECK, &r->check_job, r->until, &r->checks_pending)))
        goto store_failed;
    rc = 0;
    struct ecollect ec = {r};
    if ((rc = s->ops->job_run_list(s, NULL, r->since, r->until, 0, collect_error, &ec)) != 0)
        goto store_failed;

    /* Sync runs. */
    if ((rc = s->ops->sync_run_list(s, r->since, collect_sync, r)) != 0)
        goto store_failed;

    /* The decision. */
    struct stab_facts *f = &r->facts;
    f->checks = (int64_t)ser->n;
    f->current_rate = ser->has_latest ? ser->latest.consistency_rate : 0.0;
    f->trend = r->trend.trend.verdict;
    snprintf(f->trend_explanation, sizeof f->trend_explanation, "%s",
             r->trend.trend.explanation);
    f->healthy_threshold = cfg->healthy_threshold;
    f->degraded_threshold = cfg->degraded_threshold;
    f->scheduler_started = first_start != 0;
    f->settings_unknown = first_start != 0 && !r->check_job.recorded;
    f->runs_expected = r->check_job.expected;
    f->runs_ok = r->check_job.ok;
    f->runs_in_progress = r->check_job.running + r->checks_pending;
    f->last_success_at = r->check_job.last_success;
    f->until = r->until;
    f->stale_after_us = job_history_stale_after(r->check_job.interval_s * USEC_PER_SEC,
                                                r->check_job.grace_s * USEC_PER_SEC);
    f->has_baseline = r->trend.has_baseline;
    f->baseline_id = r->baseline.baseline.id;
    f->reference_at = r->reference_at;
    f->open_violations = r->current_violations;
    f->new_violations = r->new_count;
    stabilization_decide(f, &r->verdict);
    observe(r);
    *out = r;
    return 0;

store_failed:
    snprintf(err, errlen, "cannot compile the stabilization report: %s", store_errmsg(s));
    rc = ls_from_store(rc);
fail:
    stabilization_free(r);
    return rc;
}

void stabilization_free(struct stab_report *r)
{
    if (!r)
        return;
    trend_result_free(&r->trend);
    violation_list_free(&r->new_list);
    violation_list_free(&r->resolved_list);
    free(r);
}

/* ---- observations and action items -------------------------------------------- */

/* What went well in the window. */
static void observe_positive(struct stab_report *r, const char *ref)
{
    const struct trend *t = &r->trend.trend;
    const struct stab_verdict *v = &r->verdict;
    const struct job_window *cj = &r->check_job;
    if (t->count > 0 && t->min >= r->healthy_threshold - EPS)
        item(&r->positive, "consistency stayed at or above %.2f%% in all %lld checks",
             r->healthy_threshold, (long long)t->count);
    if (t->verdict == TREND_STABLE)
        item(&r->positive, "the trend is stable: %s", t->explanation);
    else if (t->verdict == TREND_IMPROVING)
        item(&r->positive, "the trend is improving: %s", t->explanation);
    if (t->count > 0 && r->new_count == 0)
        item(&r->positive, "no new violations since %s", ref);
    if (r->resolved_count > 0)
        item(&r->positive, "%lld violation%s known at %s resolved since",
             (long long)r->resolved_count, r->resolved_count == 1 ? "" : "s", ref);
    if (v->success_rate >= STAB_SCHEDULER_GOOD - EPS)
        item(&r->positive, "the health-check job succeeded in %lld of %lld expected runs (%.2f%%)",
             (long long)cj->ok, (long long)(cj->expected - r->facts.runs_in_progress),
             v->success_rate);
    if (r->facts.scheduler_started && r->check_errors_total == 0)
        item(&r->positive, "no job errors in the window");
    if (r->sync_runs > 0 && r->sync_failed == 0)
        item(&r->positive, "all %lld sync run%s succeeded (%lld pair%s repaired)",
             (long long)r->sync_runs, r->sync_runs == 1 ? "" : "s",
             (long long)r->sync_pairs_repaired, r->sync_pairs_repaired == 1 ? "" : "s");
}

/* What stands in the way of going ahead. */
static void observe_issues(struct stab_report *r, const char *ref, int64_t known_open)
{
    const struct trend *t = &r->trend.trend;
    const struct stab_verdict *v = &r->verdict;
    const struct job_window *cj = &r->check_job;
    char at[TIME_ISO_LEN];
    int64_t missed = cj->missed - r->checks_pending;
    if (missed < 0)
        missed = 0;
    if (t->count < TREND_MIN_CHECKS)
        item(&r->issues, "only %lld recorded check%s in the window (%d needed for a decision)",
             (long long)t->count, t->count == 1 ? "" : "s", TREND_MIN_CHECKS);
    if (!r->trend.has_baseline)
        item(&r->issues, "no baseline recorded: violations are compared with the first check of "
                         "the window and the trend with the window average");
    if (t->count > 0 && t->min < r->healthy_threshold - EPS) {
        time_format_iso(t->min_at, at);
        item(&r->issues, "consistency fell to %.2f%% (at %s)", t->min, at);
    }
    if (r->trend.series.has_latest && r->facts.current_rate < r->healthy_threshold - EPS)
        item(&r->issues, "current consistency is %.2f%% (%s)", r->facts.current_rate,
             r->trend.series.latest.status);
    if (t->verdict == TREND_DEGRADING)
        item(&r->issues, "the trend is degrading: %s", t->explanation);
    if (r->new_count > 0) {
        char users[160] = "";
        size_t used = 0;
        for (size_t i = 0; i < r->new_list.n && i < 5 && used + 1 < sizeof users; i++) {
            int n = snprintf(users + used, sizeof users - used, "%s%lld %s", i ? ", " : "",
                             (long long)r->new_list.items[i].user_id, r->new_list.items[i].spec);
            used += n > 0 ? (size_t)n : 0;
        }
        item(&r->issues, "%lld new violation%s since %s (users: %s%s)", (long long)r->new_count,
             r->new_count == 1 ? "" : "s", ref, users, r->new_count > 5 ? ", …" : "");
    }
    int64_t review = 0;
    for (size_t i = 0; i < r->new_list.n; i++)
        review += !strcmp(r->new_list.items[i].recommended_action, PAIR_MANUAL_REVIEW);
    if (review > 0)
        item(&r->issues, "%lld of the new violations listed need%s manual review (invalid level, "
             "unknown specialization or duplicate rows): no sync repairs them",
             (long long)review, review == 1 ? "s" : "");
    if (known_open > 0)
        item(&r->issues, "%lld known violation%s still open", (long long)known_open,
             known_open == 1 ? "" : "s");
    if (r->transient_count > 0)
        item(&r->issues, "%lld violation%s appeared after %s and were resolved again",
             (long long)r->transient_count, r->transient_count == 1 ? "" : "s", ref);
    if (!r->facts.scheduler_started)
        item(&r->issues, "the scheduler has never started");
    else if (!v->scheduler_running)
        item(&r->issues, "the scheduler is not running (no successful health-check run within "
                         "%lld s)", (long long)(r->facts.stale_after_us / USEC_PER_SEC));
    if (missed > 0 || cj->failed > 0 || cj->skipped > 0 || cj->interrupted > 0)
        item(&r->issues, "health-check job: %lld missed, %lld failed, %lld skipped, %lld "
                         "interrupted of %lld expected runs",
             (long long)missed, (long long)cj->failed, (long long)cj->skipped,
             (long long)cj->interrupted, (long long)cj->expected);
    if (r->check_errors_total > 0)
        item(&r->issues, "%lld job error%s in the window (latest: %s: %s)",
             (long long)r->check_errors_total, r->check_errors_total == 1 ? "" : "s",
             r->errors[0].job_id, r->errors[0].error[0] ? r->errors[0].error : r->errors[0].status);
    if (r->trend.series.file_errors > 0)
        item(&r->issues, "%lld check%s could not write the report file",
             (long long)r->trend.series.file_errors,
             r->trend.series.file_errors == 1 ? "" : "s");
    if (r->sync_failed > 0)
        item(&r->issues, "%lld sync run%s failed (%lld pair%s not repaired)",
             (long long)r->sync_failed, r->sync_failed == 1 ? "" : "s",
             (long long)r->sync_pairs_failed, r->sync_pairs_failed == 1 ? "" : "s");
}

/* What to do next, by the decision. */
static void observe_actions(struct stab_report *r, int64_t known_open)
{
    const struct trend *t = &r->trend.trend;
    const struct stab_verdict *v = &r->verdict;
    switch (v->decision) {
    case STAB_INSUFFICIENT_DATA:
        item(&r->actions, "Keep `lockstep serve` running until the window holds at least %d "
                          "checks, then run the report again.", TREND_MIN_CHECKS);
        break;
    case STAB_FIX_SCHEDULER:
        item(&r->actions, "Make sure `lockstep serve` runs with its scheduler (not "
                          "--no-scheduler); see GET /api/v1/health/jobs and "
                          "logs/sync_jobs/scheduler_YYYYMMDD.log for the failed and missed runs.");
        break;
    case STAB_FIX_ISSUES:
        if (r->new_count > 0)
            item(&r->actions, "Review the %lld new violation%s (GET /api/v1/health/violations), "
                              "find the write path that bypassed the coupling enforcer, then "
                              "repair: `lockstep sync --dry-run`, `lockstep sync`.",
                 (long long)r->new_count, r->new_count == 1 ? "" : "s");
        if (r->facts.current_rate < r->degraded_threshold - EPS)
            item(&r->actions, "Consistency is critical: repair now (`lockstep sync --dry-run`, "
                              "then `lockstep sync`) and confirm with `lockstep check`.");
        break;
    case STAB_INVESTIGATE:
        if (r->facts.current_rate < r->healthy_threshold - EPS)
            item(&r->actions, "Investigate the %lld open violation%s (KNOWN_VIOLATIONS.md lists "
                              "the baseline's) and repair them with `lockstep sync`.",
                 (long long)r->current_violations, r->current_violations == 1 ? "" : "s");
        if (t->verdict == TREND_DEGRADING)
            item(&r->actions, "Find what lowered consistency: `lockstep trend --window 24h "
                              "--svg trend.svg`.");
        if (v->success_rate >= 0 && v->success_rate < STAB_SCHEDULER_GOOD - EPS)
            item(&r->actions, "Look into the failed and missed health-check runs "
                              "(GET /api/v1/health/jobs).");
        break;
    case STAB_PROCEED:
        item(&r->actions, "Proceed: the deployment is stable enough to build on.");
        item(&r->actions, "Record a fresh baseline as the new reference: `lockstep baseline "
                          "create`.");
        break;
    }
    if (!r->trend.has_baseline && v->decision != STAB_PROCEED)
        item(&r->actions, "Record a baseline (`lockstep baseline create` or POST "
                          "/api/v1/health/baselines) so later reports compare with it.");
    if (r->trend.series.file_errors > 0)
        item(&r->actions, "Check free space and permissions of the data dir's logs/ directory.");
    if (r->sync_failed > 0)
        item(&r->actions, "Look at the failed sync runs in logs/sync_jobs/.");
    if (v->decision != STAB_PROCEED && known_open > 0 && v->decision != STAB_FIX_SCHEDULER)
        item(&r->actions, "Repair the %lld known violation%s still open: `lockstep sync`.",
             (long long)known_open, known_open == 1 ? "" : "s");
}

/* The report's three lists: positive findings, issues and action items. */
static void observe(struct stab_report *r)
{
    char ref[160];
    reference_words(&r->facts, ref, sizeof ref);
    int64_t known_open = r->current_violations - r->new_count;
    observe_positive(r, ref);
    observe_issues(r, ref, known_open);
    observe_actions(r, known_open);
}

/* ---- JSON -------------------------------------------------------------------------- */

static double r2(double v)
{
    return round(v * 100.0) / 100.0;
}

static json_t *items_json(const struct stab_items *it)
{
    json_t *a = json_array();
    for (int i = 0; a && i < it->n; i++)
        json_array_append_new(a, json_string(it->text[i]));
    return a;
}

static json_t *violations_json(const struct violation_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++)
        json_array_append_new(a, report_violation_json(&l->items[i]));
    return a;
}

static json_t *job_window_json(const struct job_window *w)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "runs_expected", w->recorded ? json_integer(w->expected) : json_null());
    json_object_set_new(o, "runs_ok", json_integer(w->ok));
    json_object_set_new(o, "runs_failed", json_integer(w->failed));
    json_object_set_new(o, "runs_missed", json_integer(w->missed));
    json_object_set_new(o, "runs_skipped", json_integer(w->skipped));
    json_object_set_new(o, "runs_interrupted", json_integer(w->interrupted));
    json_object_set_new(o, "success_rate", w->success_rate >= 0 ? json_real(w->success_rate)
                                                                : json_null());
    json_object_set_new(o, "last_run", report_time_json(w->last_run));
    json_object_set_new(o, "last_status", w->last_status[0] ? json_string(w->last_status)
                                                            : json_null());
    json_object_set_new(o, "last_success", report_time_json(w->last_success));
    return o;
}

json_t *stabilization_json(const struct stab_report *r)
{
    const struct trend *t = &r->trend.trend;
    const struct stab_verdict *v = &r->verdict;
    const struct job_window *cj = &r->check_job;
    bool have = t->count > 0;
    char label[32];
    trend_window_label(r->window_seconds, label, sizeof label);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "generated_at", report_time_json(r->generated_at));
    json_object_set_new(o, "window", json_string(label));
    json_object_set_new(o, "window_seconds", json_integer(r->window_seconds));
    json_object_set_new(o, "since", report_time_json(r->since));
    json_object_set_new(o, "until", report_time_json(r->until));
    json_object_set_new(o, "decision", json_string(stabilization_decision_name(v->decision)));
    json_object_set_new(o, "decided", json_boolean(v->decision != STAB_INSUFFICIENT_DATA));
    json_object_set_new(o, "reasons", items_json(&v->reasons));
    json_t *cr = json_object();
    json_object_set_new(cr, "data", json_string(v->criteria.data));
    json_object_set_new(cr, "consistency", json_string(v->criteria.consistency));
    json_object_set_new(cr, "trend", json_string(v->criteria.trend));
    json_object_set_new(cr, "scheduler", json_string(v->criteria.scheduler));
    json_object_set_new(cr, "violations", json_string(v->criteria.violations));
    json_object_set_new(o, "criteria", cr);
    json_t *th = json_object();
    json_object_set_new(th, "healthy", json_real(r->healthy_threshold));
    json_object_set_new(th, "degraded", json_real(r->degraded_threshold));
    json_object_set_new(th, "scheduler_success_good", json_real(STAB_SCHEDULER_GOOD));
    json_object_set_new(th, "scheduler_success_min", json_real(STAB_SCHEDULER_MIN));
    json_object_set_new(th, "trend_band_points", json_real(TREND_BAND));
    json_object_set_new(th, "minimum_checks", json_integer(TREND_MIN_CHECKS));
    json_object_set_new(o, "thresholds", th);

    json_object_set_new(o, "baseline", r->trend.has_baseline
                                           ? baseline_json(&r->baseline, NULL)
                                           : json_null());

    const struct check_run *cur = &r->trend.series.latest;
    bool has_cur = r->trend.series.has_latest;
    json_t *c = json_object();
    json_object_set_new(c, "baseline_rate", r->trend.has_baseline
                                                ? json_real(r->baseline.check.consistency_rate)
                                                : json_null());
    json_object_set_new(c, "current_rate", has_cur ? json_real(cur->consistency_rate)
                                                   : json_null());
    json_object_set_new(c, "current_status", has_cur ? json_string(cur->status) : json_null());
    json_object_set_new(c, "last_check", has_cur ? report_time_json(cur->timestamp)
                                                 : json_null());
    json_object_set_new(c, "change_from_baseline",
                        has_cur && r->trend.has_baseline
                            ? json_real(r2(cur->consistency_rate -
                                           r->baseline.check.consistency_rate))
                            : json_null());
    json_object_set_new(c, "checks", json_integer(t->count));
    json_object_set_new(c, "average", have ? json_real(r2(t->average)) : json_null());
    json_object_set_new(c, "min", have ? json_real(r2(t->min)) : json_null());
    json_object_set_new(c, "max", have ? json_real(r2(t->max)) : json_null());
    json_object_set_new(c, "stddev", have ? json_real(round(t->stddev * 1000) / 1000)
                                          : json_null());
    json_object_set_new(c, "first", have ? json_real(r2(t->first)) : json_null());
    json_object_set_new(c, "last", have ? json_real(r2(t->last)) : json_null());
    json_object_set_new(c, "slope_per_hour", have ? json_real(round(t->slope_per_hour * 1e4) / 1e4)
                                                  : json_null());
    json_object_set_new(c, "trend", json_string(trend_verdict_name(t->verdict)));
    json_object_set_new(c, "trend_explanation", json_string(t->explanation));
    json_object_set_new(c, "reference", json_string(r->trend.has_baseline ? "baseline"
                                                                           : "window_average"));
    json_object_set_new(c, "reference_rate", have || r->trend.has_baseline
                                                 ? json_real(r2(t->reference))
                                                 : json_null());
    json_object_set_new(c, "report_file_errors", json_integer(r->trend.series.file_errors));
    json_object_set_new(o, "consistency", c);

    json_t *vi = json_object();
    json_object_set_new(vi, "reference", json_string(r->trend.has_baseline
                                                         ? "baseline"
                                                         : "first_check_in_window"));
    json_object_set_new(vi, "reference_at", report_time_json(r->reference_at));
    json_object_set_new(vi, "baseline", r->baseline_violations >= 0
                                            ? json_integer(r->baseline_violations)
                                            : json_null());
    json_object_set_new(vi, "current", json_integer(r->current_violations));
    json_object_set_new(vi, "new_since_baseline", json_integer(r->new_count));
    json_object_set_new(vi, "resolved_since_baseline", json_integer(r->resolved_count));
    json_object_set_new(vi, "appeared_and_resolved", json_integer(r->transient_count));
    json_object_set_new(vi, "known_still_open",
                        json_integer(r->current_violations - r->new_count > 0
                                         ? r->current_violations - r->new_count
                                         : 0));
    json_object_set_new(vi, "all_known", json_boolean(v->all_known));
    json_object_set_new(vi, "new", violations_json(&r->new_list));
    json_object_set_new(vi, "resolved", violations_json(&r->resolved_list));
    json_object_set_new(o, "violations", vi);

    int64_t missed = cj->missed - r->checks_pending;
    json_t *sc = json_object();
    json_object_set_new(sc, "job", json_string(JOB_CHECK));
    json_object_set_new(sc, "interval_seconds", cj->recorded ? json_integer(r->check_interval)
                                                             : json_null());
    json_object_set_new(sc, "misfire_grace_seconds", cj->recorded ? json_integer(cj->grace_s)
                                                                  : json_null());
    json_object_set_new(sc, "settings_recorded_at", report_time_json(cj->settings_at));
    json_object_set_new(sc, "running", json_boolean(v->scheduler_running));
    json_object_set_new(sc, "started", json_boolean(r->facts.scheduler_started));
    json_object_set_new(sc, "checks_expected", cj->recorded ? json_integer(cj->expected)
                                                            : json_null());
    json_object_set_new(sc, "checks_run", json_integer(cj->ok + cj->failed + cj->interrupted +
                                                       cj->running));
    json_object_set_new(sc, "checks_recorded", json_integer(t->count));
    json_object_set_new(sc, "runs_ok", json_integer(cj->ok));
    json_object_set_new(sc, "runs_failed", json_integer(cj->failed));
    json_object_set_new(sc, "runs_missed", json_integer(missed > 0 ? missed : 0));
    json_object_set_new(sc, "runs_skipped", json_integer(cj->skipped));
    json_object_set_new(sc, "runs_interrupted", json_integer(cj->interrupted));
    json_object_set_new(sc, "runs_in_progress", json_integer(r->facts.runs_in_progress));
    json_object_set_new(sc, "success_rate", v->success_rate >= 0 ? json_real(v->success_rate)
                                                                 : json_null());
    json_object_set_new(sc, "last_success", report_time_json(cj->last_success));
    json_object_set_new(sc, "errors_total", json_integer(r->check_errors_total));
    json_t *errs = json_array();
    for (int i = 0; errs && i < r->n_errors; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "job", json_string(r->errors[i].job_id));
        json_object_set_new(e, "due_at", report_time_json(r->errors[i].due_at));
        json_object_set_new(e, "status", json_string(r->errors[i].status));
        json_object_set_new(e, "error", json_string(r->errors[i].error));
        json_array_append_new(errs, e);
    }
    json_object_set_new(sc, "errors", errs);
    json_object_set_new(o, "scheduler", sc);

    json_t *sy = json_object();
    json_object_set_new(sy, "runs", json_integer(r->sync_runs));
    json_object_set_new(sy, "dry_runs", json_integer(r->sync_dry_runs));
    json_object_set_new(sy, "succeeded", json_integer(r->sync_succeeded));
    json_object_set_new(sy, "failed", json_integer(r->sync_failed));
    json_object_set_new(sy, "pairs_repaired", json_integer(r->sync_pairs_repaired));
    json_object_set_new(sy, "pairs_failed", json_integer(r->sync_pairs_failed));
    if (r->has_last_sync) {
        json_t *ls = json_object();
        json_object_set_new(ls, "started_at", report_time_json(r->last_sync.started_at));
        json_object_set_new(ls, "trigger", json_string(r->last_sync.trigger));
        json_object_set_new(ls, "direction", json_string(r->last_sync.direction));
        json_object_set_new(ls, "dry_run", json_boolean(r->last_sync.dry_run));
        json_object_set_new(ls, "total_issues", json_integer(r->last_sync.total_issues));
        json_object_set_new(ls, "synced_count", json_integer(r->last_sync.synced_count));
        json_object_set_new(ls, "failed_count", json_integer(r->last_sync.failed_count));
        json_object_set_new(ls, "success", json_boolean(r->last_sync.success));
        json_object_set_new(sy, "last_run", ls);
    } else {
        json_object_set_new(sy, "last_run", json_null());
    }
    json_t *sj = job_window_json(&r->sync_job);
    if (sj) {
        json_object_set_new(sj, "job", json_string(JOB_SYNC));
        json_object_set_new(sj, "interval_seconds", r->sync_job.recorded
                                                        ? json_integer(r->sync_interval)
                                                        : json_null());
    }
    json_object_set_new(sy, "job", sj ? sj : json_null());
    json_object_set_new(o, "sync", sy);

    json_t *ob = json_object();
    json_object_set_new(ob, "positive", items_json(&r->positive));
    json_object_set_new(ob, "issues", items_json(&r->issues));
    json_object_set_new(o, "observations", ob);
    json_object_set_new(o, "action_items", items_json(&r->actions));
    return o;
}
