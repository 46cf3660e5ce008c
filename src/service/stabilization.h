/* stabilization.h — the stabilization report and its go/no-go decision
 * (operations.md, "Stabilization report and decision"): consistency,
 * violations against the baseline, the scheduler's record, sync runs,
 * observations, action items, and the decision from the matrix with the
 * reasons that led to it. Hand-written: the matrix is Lockstep's own.
 *
 * stabilization_decide is pure (facts in, decision and reasons out) so every
 * row of the matrix is tested without a store; stabilization_compile gathers
 * the facts from the store. */
#ifndef LOCKSTEP_STABILIZATION_H
#define LOCKSTEP_STABILIZATION_H

#include "config/config.h"
#include "service/baseline.h"
#include "service/job_history.h"
#include "service/trend.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define STAB_SCHEDULER_GOOD 99.0 /* health-check job success rate for PROCEED/INVESTIGATE */
#define STAB_SCHEDULER_MIN 95.0  /* below it: FIX_SCHEDULER */
#define STAB_MAX_ITEMS 16        /* reasons, observations, action items: at most */
#define STAB_ITEM_LEN 360
#define STAB_LIST_MAX 50         /* violations listed per section (all are counted) */
#define STAB_ERRORS_MAX 20       /* job errors listed (all are counted) */

enum stab_decision {
    STAB_INSUFFICIENT_DATA, /* fewer than TREND_MIN_CHECKS checks: no decision */
    STAB_PROCEED,
    STAB_INVESTIGATE,
    STAB_FIX_ISSUES,
    STAB_FIX_SCHEDULER,
};

/* What the decision is made from. */
struct stab_facts {
    int64_t checks;                   /* recorded checks in the window */
    double current_rate;              /* the newest of them */
    enum trend_verdict trend;
    char trend_explanation[200];
    double healthy_threshold, degraded_threshold;
    /* The health-check job. Runs in progress (running, or due after the last
     * recorded run and still within their misfire grace) are not judged yet:
     * success rate = ok / (expected − in_progress). */
    bool scheduler_started;
    bool settings_unknown;            /* started, but no start in the window recorded the
                                         intervals (an earlier version): expected is n/a */
    int64_t runs_expected, runs_ok, runs_in_progress;
    int64_t last_success_at;          /* end of the latest successful run, 0: none */
    int64_t until;                    /* end of the window */
    int64_t stale_after_us;           /* no success for longer: the scheduler is not running */
    /* Violations against the reference: the baseline's check, or the first
     * check of the window when there is no baseline. */
    bool has_baseline;
    int64_t baseline_id;
    int64_t reference_at;
    int64_t open_violations, new_violations;
};

struct stab_items {
    int n;
    char text[STAB_MAX_ITEMS][STAB_ITEM_LEN];
};

/* How each criterion fared: "pass", "investigate", "fail" or "insufficient". */
struct stab_criteria {
    const char *data, *consistency, *trend, *scheduler, *violations;
};

struct stab_verdict {
    enum stab_decision decision;
    struct stab_items reasons;
    struct stab_criteria criteria;
    double success_rate;     /* settled success rate of the health-check job; < 0: n/a */
    bool scheduler_running;  /* started, and a success within stale_after_us of until */
    bool all_known;          /* no open violation first seen after the reference */
};

/* The matrix, in this order:
 *   fewer than TREND_MIN_CHECKS checks → INSUFFICIENT_DATA;
 *   scheduler never started, not running, or success < 95% → FIX_SCHEDULER;
 *   nothing expected of the scheduler in the window → INSUFFICIENT_DATA;
 *   current rate < degraded threshold, or new violations → FIX_ISSUES;
 *   rate ≥ healthy, trend stable or improving, success ≥ 99%, all known → PROCEED;
 *   otherwise (rate in 95–99%, a degrading trend, success in 95–99%) → INVESTIGATE.
 * Reasons: for FIX_* the failed criteria; for PROCEED and INVESTIGATE every
 * criterion, the ones that fell short first. Pure. */
void stabilization_decide(const struct stab_facts *f, struct stab_verdict *v);
/* "PROCEED", "INVESTIGATE", "FIX_ISSUES", "FIX_SCHEDULER" or "INSUFFICIENT_DATA". */
const char *stabilization_decision_name(enum stab_decision d);
/* `lockstep report` exit code: 0 PROCEED, 3 INVESTIGATE, 4 FIX_ISSUES,
 * 5 FIX_SCHEDULER, 6 INSUFFICIENT_DATA. */
int stabilization_exit_code(enum stab_decision d);
/* The whole report. Owns its lists; release with stabilization_free. */
struct stab_report {
    int64_t generated_at, since, until, window_seconds;
    double healthy_threshold, degraded_threshold;
    long check_interval, sync_interval; /* as the latest recorded scheduler start ran
                                           them; 0 when none is recorded */

    struct trend_result trend;        /* the checks of the window and the baseline */
    struct baseline_info baseline;    /* when trend.has_baseline */

    /* Violations. */
    int64_t reference_at;             /* baseline check, else the first check of the window */
    int64_t baseline_violations;      /* -1 without a baseline */
    int64_t current_violations;
    int64_t new_count, resolved_count, transient_count;
    struct violation_list new_list;   /* the first STAB_LIST_MAX */
    struct violation_list resolved_list;

    /* Scheduler. */
    struct job_window check_job, sync_job;
    int64_t checks_pending;           /* due, not recorded yet, within grace */
    int64_t check_errors_total;       /* failed or interrupted runs of either job */
    struct job_run errors[STAB_ERRORS_MAX];
    int n_errors;

    /* Sync runs. */
    int64_t sync_runs, sync_dry_runs, sync_succeeded, sync_failed, sync_pairs_repaired,
        sync_pairs_failed;
    bool has_last_sync;
    struct sync_run last_sync;

    struct stab_facts facts;
    struct stab_verdict verdict;
    struct stab_items positive, issues, actions;
};

/* Compile the report of [until − window, until) (until 0: now) against
 * baseline `baseline_id` (0: the latest, if any). *out is allocated (the
 * caller frees it with stabilization_free) or NULL after a failure. Returns
 * 0, LS_ERR_NOT_FOUND for a named baseline that does not exist, or another
 * LS_ERR_* code; err says why. */
int stabilization_compile(struct store *s, const struct config *cfg, int64_t until,
                          int64_t window_seconds, int64_t baseline_id, struct stab_report **out,
                          char *err, size_t errlen);
void stabilization_free(struct stab_report *r);
/* The report as JSON: the same facts as the Markdown plus what a dashboard
 * panel shows (baseline summary, current vs baseline, trend verdict, checks
 * run vs expected, decision, reasons, criteria). New reference or NULL. */
json_t *stabilization_json(const struct stab_report *r);
/* The report as Markdown. Returns 0 or -1 on a write error. */
int stabilization_write_md(FILE *fp, const struct stab_report *r);
/* Write logs/reports/stabilization_report_YYYYMMDD.md (date of r->until)
 * under data_dir atomically; the relative path goes to rel. Returns 0 or -1
 * with err. */
int stabilization_write_file(const char *data_dir, const struct stab_report *r, char *rel,
                             size_t rellen, char *err, size_t errlen);

#endif
