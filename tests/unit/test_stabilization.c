/* test_stabilization.c — the stabilization report: every row of the decision
 * matrix with its reasons (pure), the in-progress arithmetic, and histories
 * recorded through the real check and job-run records with a test clock:
 * 72 hours at 5 minutes (864 expected runs), success rates with missed and
 * failed runs, new and resolved violations against a baseline, each
 * decision reached from the store, too little data, and the Markdown file. */
#include "service/baseline.h"
#include "service/check.h"
#include "service/errors.h"
#include "service/job_history.h"
#include "service/stabilization.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S USEC_PER_SEC

/* ---- the matrix, pure ---------------------------------------------------------- */

/* Facts of a good 72 hours: every criterion of PROCEED met. */
static struct stab_facts good(void)
{
    struct stab_facts f;
    memset(&f, 0, sizeof f);
    f.checks = 864;
    f.current_rate = 100.0;
    f.trend = TREND_STABLE;
    snprintf(f.trend_explanation, sizeof f.trend_explanation, "all 864 rates within ±2 points");
    f.healthy_threshold = 99.0;
    f.degraded_threshold = 95.0;
    f.scheduler_started = true;
    f.runs_expected = 864;
    f.runs_ok = 864;
    f.until = 1000000 * S;
    f.last_success_at = f.until - 100 * S;
    f.stale_after_us = 600 * S;
    f.has_baseline = true;
    f.baseline_id = 1;
    f.reference_at = f.until - 259200 * S;
    return f;
}

static bool has_reason(const struct stab_verdict *v, const char *needle)
{
    for (int i = 0; i < v->reasons.n; i++)
        if (strstr(v->reasons.text[i], needle))
            return true;
    return false;
}

static void print_reasons(const struct stab_verdict *v)
{
    for (int i = 0; i < v->reasons.n; i++)
        print_message("  reason: %s\n", v->reasons.text[i]);
}

#define ASSERT_REASON(v, needle)                                                                  \
    do {                                                                                          \
        if (!has_reason(v, needle)) {                                                             \
            print_reasons(v);                                                                     \
            fail_msg("no reason contains \"%s\"", needle);                                       \
        }                                                                                         \
    } while (0)

static void matrix_proceed(void **state)
{
    (void)state;
    struct stab_facts f = good();
    f.open_violations = 2; /* known ones are fine */
    struct stab_verdict v;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_PROCEED);
    assert_string_equal(stabilization_decision_name(v.decision), "PROCEED");
    assert_int_equal(stabilization_exit_code(v.decision), 0);
    assert_int_equal(v.reasons.n, 4); /* every criterion, each met */
    ASSERT_REASON(&v, "current consistency 100.00% is at or above 99.00%");
    ASSERT_REASON(&v, "the trend is stable");
    ASSERT_REASON(&v, "success rate 100.00% (864 of 864 runs) is at or above 99%");
    ASSERT_REASON(&v, "all 2 open violations were known at baseline #1");
    assert_true(v.all_known);
    assert_true(v.scheduler_running);
    assert_string_equal(v.criteria.consistency, "pass");
    assert_string_equal(v.criteria.scheduler, "pass");
    /* An improving trend is not held against it. */
    f.trend = TREND_IMPROVING;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_PROCEED);
    /* 99% exactly is enough, for both. */
    f.current_rate = 99.0;
    f.runs_ok = 856; /* 856 / 864 = 99.07% */
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_PROCEED);
}

static void matrix_investigate(void **state)
{
    (void)state;
    struct stab_verdict v;
    /* 95–99% and stable, scheduler fine, all known: the matrix's second row. */
    struct stab_facts f = good();
    f.current_rate = 97.5;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_INVESTIGATE);
    assert_int_equal(stabilization_exit_code(v.decision), 3);
    assert_string_equal(v.criteria.consistency, "investigate");
    /* The shortfall first, then what was met. */
    assert_non_null(strstr(v.reasons.text[0], "97.50% is between 95.00% and 99.00%"));
    ASSERT_REASON(&v, "the trend is stable");
    /* Between the rows: a degrading trend at a healthy rate… */
    f = good();
    f.trend = TREND_DEGRADING;
    snprintf(f.trend_explanation, sizeof f.trend_explanation, "the rate fell to 96.00%%");
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_INVESTIGATE);
    assert_non_null(strstr(v.reasons.text[0], "the trend is degrading: the rate fell"));
    /* …and a scheduler between 95% and 99%. */
    f = good();
    f.runs_ok = 840; /* 97.22% */
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_INVESTIGATE);
    assert_non_null(strstr(v.reasons.text[0], "97.22% (840 of 864 runs) is below 99%"));
    assert_string_equal(v.criteria.scheduler, "investigate");
}

static void matrix_fix_issues(void **state)
{
    (void)state;
    struct stab_verdict v;
    struct stab_facts f = good();
    f.current_rate = 94.0;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_ISSUES);
    assert_int_equal(stabilization_exit_code(v.decision), 4);
    assert_int_equal(v.reasons.n, 1);
    ASSERT_REASON(&v, "current consistency 94.00% is below 95.00% (critical)");
    assert_string_equal(v.criteria.consistency, "fail");
    /* New unexplained violations, whatever the rate. */
    f = good();
    f.open_violations = 3;
    f.new_violations = 1;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_ISSUES);
    ASSERT_REASON(&v, "1 new violation not known at baseline #1");
    assert_false(v.all_known);
    /* Both. */
    f.current_rate = 90.0;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_ISSUES);
    assert_int_equal(v.reasons.n, 2);
    /* Without a baseline the reference is named. */
    f.has_baseline = false;
    stabilization_decide(&f, &v);
    ASSERT_REASON(&v, "the first check of the window");
}

static void matrix_fix_scheduler(void **state)
{
    (void)state;
    struct stab_verdict v;
    /* Success below 95% — and it wins over data issues. */
    struct stab_facts f = good();
    f.runs_ok = 800; /* 92.59% */
    f.current_rate = 90.0;
    f.new_violations = 4;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_SCHEDULER);
    assert_int_equal(stabilization_exit_code(v.decision), 5);
    ASSERT_REASON(&v, "success rate 92.59% (800 of 864 runs) is below 95%");
    assert_false(has_reason(&v, "critical"));
    /* Not running: the last success too long ago. */
    f = good();
    f.last_success_at = f.until - 601 * S;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_SCHEDULER);
    assert_false(v.scheduler_running);
    ASSERT_REASON(&v, "the scheduler is not running");
    /* Never started (checks were all manual). */
    f = good();
    f.scheduler_started = false;
    f.runs_expected = f.runs_ok = 0;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_FIX_SCHEDULER);
    ASSERT_REASON(&v, "never started");
}

static void matrix_too_little_data(void **state)
{
    (void)state;
    struct stab_verdict v;
    struct stab_facts f = good();
    f.checks = 11;
    f.trend = TREND_INSUFFICIENT_DATA;
    f.current_rate = 50.0; /* no decision, however bad */
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_INSUFFICIENT_DATA);
    assert_string_equal(stabilization_decision_name(v.decision), "INSUFFICIENT_DATA");
    assert_int_equal(stabilization_exit_code(v.decision), 6);
    ASSERT_REASON(&v, "only 11 recorded checks in the window; at least 12 are needed");
    /* Nothing expected of the scheduler yet: cannot be judged either. */
    f = good();
    f.runs_expected = f.runs_ok = 0;
    stabilization_decide(&f, &v);
    assert_int_equal(v.decision, STAB_INSUFFICIENT_DATA);
    ASSERT_REASON(&v, "cannot be judged");
}

/* Runs due but not started yet, within their grace, are not judged. */
static void in_progress_runs(void **state)
{
    (void)state;
    struct stab_verdict v;
    struct stab_facts f = good();
    f.runs_ok = 863;
    f.runs_in_progress = 1;
    stabilization_decide(&f, &v);
    assert_true(fabs(v.success_rate - 100.0) < 1e-9);
}

/* ---- histories through the store --------------------------------------------- */

#define USERS 50 /* one violation costs exactly 2 points */
#define STEP (300 * S)

struct history {
    struct store *s;
    char dir[512];
    struct config cfg;
    int64_t u[USERS];
    int64_t t0; /* the scheduler's first start; due k at t0 + k·STEP */
};

static int setup(void **state)
{
    struct history *h = calloc(1, sizeof *h);
    h->s = tu_store("stabilization", h->dir);
    config_defaults(&h->cfg);
    snprintf(h->cfg.data_dir, sizeof h->cfg.data_dir, "%s", h->dir);
    for (int i = 0; i < USERS; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "s%d", i);
        h->u[i] = tu_user(h->s, tag, NULL);
        tu_pair(h->s, h->u[i], "PLAYER", 3, 3);
    }
    h->t0 = (time_now_us() / S - 4 * 86400) * S; /* four days ago, whole seconds */
    tu_sched_start(h->s, h->t0, "test", 300, 21600);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    struct history *h = *state;
    time_set_test_clock(0);
    store_close(h->s);
    free(h);
    return 0;
}

static void set_license(struct history *h, int user, int level)
{
    struct license l;
    assert_int_equal(h->s->ops->license_get(h->s, h->u[user], "PLAYER", false, &l), 0);
    l.current_level = level;
    assert_int_equal(h->s->ops->license_update(h->s, &l), 0);
}

static void job_run(struct history *h, int64_t due, const char *status)
{
    struct job_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.job_id, sizeof r.job_id, "%s", JOB_CHECK);
    r.due_at = due;
    bool ran = strcmp(status, "missed") != 0;
    r.started_at = ran ? due + S : 0;
    r.finished_at = ran ? due + 2 * S : 0;
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.error, sizeof r.error, "%s", strcmp(status, "failed") ? "" : "database is locked");
    snprintf(r.owner, sizeof r.owner, "test");
    assert_int_equal(h->s->ops->job_run_insert(h->s, &r), 0);
}

/* The scheduled check of due k: the check runs (recorded) when its job run
 * succeeded; "failed" and "missed" runs record no check. `status` NULL:
 * nothing recorded at all (the process was down). */
static struct check_outcome due(struct history *h, int k, const char *status)
{
    struct check_outcome out;
    memset(&out, 0, sizeof out);
    int64_t at = h->t0 + (int64_t)k * STEP;
    time_set_test_clock(at + S);
    if (status && !strcmp(status, "success")) {
        struct check_options o = {.trigger = "scheduled", .direction = "progress_to_license",
                                  .healthy_threshold = 99.0, .degraded_threshold = 95.0};
        char err[300];
        if (check_execute(h->s, &o, &out, err, sizeof err) != 0)
            fail_msg("check failed: %s", err);
    }
    if (status)
        job_run(h, at, status);
    return out;
}

/* Compile the report `secs` long ending 10 s after due k. */
static struct stab_report *report_after(struct history *h, int k, int64_t secs)
{
    int64_t until = h->t0 + (int64_t)k * STEP + 10 * S;
    time_set_test_clock(until);
    struct stab_report *r = NULL;
    char err[300];
    int rc = stabilization_compile(h->s, &h->cfg, until, secs, 0, &r, err, sizeof err);
    if (rc)
        fail_msg("report failed: %s", err);
    return r;
}

static struct check_outcome baseline_now(struct history *h, int k)
{
    struct check_outcome o = due(h, k, "success");
    struct baseline_info bi;
    char fe[300], err[300];
    struct config cfg = h->cfg;
    cfg.data_dir[0] = '\0';
    assert_int_equal(baseline_record(h->s, &cfg, &o.run, NULL, &bi, NULL, fe, sizeof fe, err,
                                     sizeof err),
                     0);
    return o;
}

static void print_report(const struct stab_report *r)
{
    print_reasons(&r->verdict);
}

/* 72 hours at 5 minutes: 864 runs expected. With 3 dues never recorded
 * (down), 2 failed and 1 recorded missed: 858 ok, success 99.31%, 4 missed.
 * Consistency 100% all along against a baseline at the start: PROCEED. */
static void seventy_two_hours_proceed(void **state)
{
    struct history *h = *state;
    baseline_now(h, 1);
    for (int k = 2; k <= 864; k++) {
        const char *st = "success";
        if (k == 100 || k == 101 || k == 102)
            st = NULL;
        else if (k == 200 || k == 500)
            st = "failed";
        else if (k == 600)
            st = "missed";
        due(h, k, st);
    }
    struct stab_report *r = report_after(h, 864, 72 * 3600);
    assert_int_equal(r->check_job.expected, 864);
    assert_int_equal(r->check_job.ok, 858);
    assert_int_equal(r->check_job.failed, 2);
    assert_int_equal(r->check_job.missed, 4);
    assert_int_equal(r->checks_pending, 0);
    assert_true(fabs(r->verdict.success_rate - 99.31) < 1e-9);
    assert_int_equal(r->trend.trend.count, 858);
    assert_true(fabs(r->trend.trend.average - 100.0) < 1e-9);
    assert_int_equal(r->trend.trend.verdict, TREND_STABLE);
    assert_int_equal(r->new_count, 0);
    assert_int_equal(r->check_errors_total, 2);
    assert_string_equal(r->errors[0].error, "database is locked");
    if (r->verdict.decision != STAB_PROCEED)
        print_report(r);
    assert_int_equal(r->verdict.decision, STAB_PROCEED);

    /* JSON for the panel. */
    json_t *j = stabilization_json(r);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "PROCEED");
    json_t *sc = json_object_get(j, "scheduler");
    assert_int_equal(json_integer_value(json_object_get(sc, "checks_expected")), 864);
    assert_int_equal(json_integer_value(json_object_get(sc, "checks_run")), 860);
    assert_int_equal(json_integer_value(json_object_get(sc, "runs_missed")), 4);
    assert_true(fabs(json_real_value(json_object_get(sc, "success_rate")) - 99.31) < 1e-9);
    json_t *c = json_object_get(j, "consistency");
    assert_string_equal(json_string_value(json_object_get(c, "trend")), "stable");
    assert_true(json_is_object(json_object_get(j, "baseline")));
    assert_true(json_array_size(json_object_get(j, "reasons")) == 4);
    json_decref(j);

    /* The Markdown file. */
    char rel[256], err[300];
    assert_int_equal(stabilization_write_file(h->dir, r, rel, sizeof rel, err, sizeof err), 0);
    char path[1024], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", h->dir, rel);
    assert_int_equal(fs_read_file(path, 1 << 20, &text, &len), 0);
    assert_non_null(strstr(rel, "logs/reports/stabilization_report_"));
    assert_non_null(strstr(text, "## Decision: PROCEED"));
    assert_non_null(strstr(text, "| Health checks run / expected | 860 / 864"));
    assert_non_null(strstr(text, "| Success rate | 99.31% |"));
    assert_non_null(strstr(text, "## Observations"));
    assert_non_null(strstr(text, "## Action items"));
    free(text);
    stabilization_free(r);
}

/* A baseline with two violations; later one is repaired and a new one
 * appears: baseline 2, new 1, resolved 1 → FIX_ISSUES for the new one. */
static void new_and_resolved_against_the_baseline(void **state)
{
    struct history *h = *state;
    set_license(h, 3, 2); /* known, will be repaired */
    set_license(h, 4, 2); /* known, stays */
    for (int k = 1; k <= 4; k++)
        due(h, k, "success");
    struct check_outcome b = baseline_now(h, 5);
    assert_int_equal(b.run.inconsistent, 2);
    for (int k = 6; k <= 12; k++)
        due(h, k, "success");
    set_license(h, 3, 3); /* repaired */
    for (int k = 13; k <= 16; k++)
        due(h, k, "success");
    set_license(h, 9, 1); /* new, then gone again: appeared and resolved */
    due(h, 17, "success");
    set_license(h, 9, 3);
    due(h, 18, "success");
    set_license(h, 7, 5); /* new and open */
    for (int k = 19; k <= 24; k++)
        due(h, k, "success");

    struct stab_report *r = report_after(h, 24, 2 * 3600);
    assert_int_equal(r->baseline_violations, 2);
    assert_int_equal(r->current_violations, 2);
    assert_int_equal(r->new_count, 1);
    assert_int_equal(r->new_list.items[0].user_id, h->u[7]);
    assert_int_equal(r->resolved_count, 1);
    assert_int_equal(r->resolved_list.items[0].user_id, h->u[3]);
    assert_int_equal(r->transient_count, 1);
    assert_false(r->verdict.all_known);
    assert_int_equal(r->verdict.decision, STAB_FIX_ISSUES);
    ASSERT_REASON(&r->verdict, "1 new violation not known at baseline #1");
    json_t *j = stabilization_json(r);
    json_t *vi = json_object_get(j, "violations");
    assert_int_equal(json_integer_value(json_object_get(vi, "baseline")), 2);
    assert_int_equal(json_integer_value(json_object_get(vi, "new_since_baseline")), 1);
    assert_int_equal(json_integer_value(json_object_get(vi, "resolved_since_baseline")), 1);
    assert_int_equal(json_integer_value(json_object_get(vi, "known_still_open")), 1);
    json_decref(j);
    stabilization_free(r);

    /* Against baseline #1 named explicitly: the same; an unknown one: not found. */
    struct stab_report *r2 = NULL;
    char err[300];
    int64_t until = h->t0 + 24 * STEP + 10 * S;
    assert_int_equal(stabilization_compile(h->s, &h->cfg, until, 7200, 1, &r2, err, sizeof err),
                     0);
    assert_int_equal(r2->new_count, 1);
    stabilization_free(r2);
    assert_int_equal(stabilization_compile(h->s, &h->cfg, until, 7200, 9, &r2, err, sizeof err),
                     LS_ERR_NOT_FOUND);
    assert_null(r2);
}

/* Two hours at 98% with the violation known at the baseline: INVESTIGATE. */
static void degraded_but_known_investigates(void **state)
{
    struct history *h = *state;
    set_license(h, 0, 2);
    baseline_now(h, 1);
    for (int k = 2; k <= 24; k++)
        due(h, k, "success");
    struct stab_report *r = report_after(h, 24, 2 * 3600);
    assert_true(fabs(r->facts.current_rate - 98.0) < 1e-9);
    assert_int_equal(r->trend.trend.verdict, TREND_STABLE);
    assert_int_equal(r->verdict.decision, STAB_INVESTIGATE);
    ASSERT_REASON(&r->verdict, "98.00% is between 95.00% and 99.00%");
    stabilization_free(r);
}

/* Three new drifts at once: 94% — critical and new: FIX_ISSUES. */
static void critical_fixes_issues(void **state)
{
    struct history *h = *state;
    baseline_now(h, 1);
    for (int k = 2; k <= 20; k++)
        due(h, k, "success");
    set_license(h, 1, 1);
    set_license(h, 2, 1);
    set_license(h, 3, 1);
    for (int k = 21; k <= 24; k++)
        due(h, k, "success");
    struct stab_report *r = report_after(h, 24, 2 * 3600);
    assert_int_equal(r->verdict.decision, STAB_FIX_ISSUES);
    ASSERT_REASON(&r->verdict, "94.00% is below 95.00% (critical)");
    ASSERT_REASON(&r->verdict, "3 new violations");
    assert_int_equal(r->trend.trend.verdict, TREND_DEGRADING);
    stabilization_free(r);
}

/* A scheduler that failed a tenth of its runs: FIX_SCHEDULER even at 100%. */
static void failing_scheduler(void **state)
{
    struct history *h = *state;
    baseline_now(h, 1);
    for (int k = 2; k <= 24; k++)
        due(h, k, k % 8 == 0 ? "failed" : "success");
    struct stab_report *r = report_after(h, 24, 2 * 3600);
    assert_int_equal(r->check_job.expected, 24);
    assert_int_equal(r->check_job.failed, 3);
    assert_true(fabs(r->verdict.success_rate - 87.5) < 1e-9);
    assert_int_equal(r->verdict.decision, STAB_FIX_SCHEDULER);
    ASSERT_REASON(&r->verdict, "87.50% (21 of 24 runs) is below 95%");
    stabilization_free(r);

    /* Then the process stops: an hour later the scheduler is not running. */
    struct stab_report *r2 = report_after(h, 36, 3 * 3600);
    assert_false(r2->verdict.scheduler_running);
    assert_int_equal(r2->verdict.decision, STAB_FIX_SCHEDULER);
    ASSERT_REASON(&r2->verdict, "the scheduler is not running");
    stabilization_free(r2);
}

/* Eleven checks in the window: too little data, no decision. */
static void too_little_data_from_the_store(void **state)
{
    struct history *h = *state;
    baseline_now(h, 1);
    for (int k = 2; k <= 11; k++)
        due(h, k, "success");
    struct stab_report *r = report_after(h, 11, 72 * 3600);
    assert_int_equal(r->trend.trend.count, 11);
    assert_int_equal(r->verdict.decision, STAB_INSUFFICIENT_DATA);
    ASSERT_REASON(&r->verdict, "only 11 recorded checks");
    json_t *j = stabilization_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "INSUFFICIENT_DATA");
    assert_true(json_is_false(json_object_get(j, "decided")));
    json_decref(j);
    char *md = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&md, &len);
    assert_int_equal(stabilization_write_md(fp, r), 0);
    fclose(fp);
    assert_non_null(strstr(md, "Too little data to decide."));
    free(md);
    stabilization_free(r);
    /* The twelfth decides. */
    due(h, 12, "success");
    r = report_after(h, 12, 72 * 3600);
    assert_int_equal(r->verdict.decision, STAB_PROCEED);
    stabilization_free(r);
}

/* Without any baseline the first check of the window is the reference, and
 * the report says so. */
static void no_baseline_uses_the_first_check(void **state)
{
    struct history *h = *state;
    set_license(h, 0, 2);
    for (int k = 1; k <= 12; k++)
        due(h, k, "success");
    set_license(h, 1, 2);
    for (int k = 13; k <= 24; k++)
        due(h, k, "success");
    struct stab_report *r = report_after(h, 24, 2 * 3600);
    assert_false(r->trend.has_baseline);
    assert_int_equal(r->baseline_violations, -1);
    assert_int_equal(r->new_count, 1);
    assert_int_equal(r->verdict.decision, STAB_FIX_ISSUES);
    ASSERT_REASON(&r->verdict, "the first check of the window");
    bool said = false;
    for (int i = 0; i < r->issues.n; i++)
        said = said || strstr(r->issues.text[i], "no baseline recorded");
    assert_true(said);
    stabilization_free(r);
}

/* Usage errors of the verbs exit 2 with a one-line message. */
static void cli_usage_errors(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("stabilization-cli");
    static const char *const bad[] = {
        "report",
        "report weekly",
        "report stabilization --format xml",
        "report stabilization --window 0",
        "report stabilization --baseline zero",
        "trend --window forever",
        "trend --svg ''",
        "trend extra",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out;
        int rc = tu_cmd(&out, "'%s' --data-dir '%s' %s 2>&1", tu_bin(), dir, bad[i]);
        if (rc != 2)
            fail_msg("'%s' exited %d: %s", bad[i], rc, out);
        assert_non_null(strstr(out, "lockstep: "));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_proceed),
        cmocka_unit_test(matrix_investigate),
        cmocka_unit_test(matrix_fix_issues),
        cmocka_unit_test(matrix_fix_scheduler),
        cmocka_unit_test(matrix_too_little_data),
        cmocka_unit_test(in_progress_runs),
        cmocka_unit_test(cli_usage_errors),
        cmocka_unit_test_setup_teardown(seventy_two_hours_proceed, setup, teardown),
        cmocka_unit_test_setup_teardown(new_and_resolved_against_the_baseline, setup, teardown),
        cmocka_unit_test_setup_teardown(degraded_but_known_investigates, setup, teardown),
        cmocka_unit_test_setup_teardown(critical_fixes_issues, setup, teardown),
        cmocka_unit_test_setup_teardown(failing_scheduler, setup, teardown),
        cmocka_unit_test_setup_teardown(too_little_data_from_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(no_baseline_uses_the_first_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
