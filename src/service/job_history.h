/* job_history.h — the scheduled jobs' recorded history and its arithmetic:
 * due times, expected, missed and pending runs, success rates, a job's
 * window. The scheduler decides with it; /health/jobs, the metrics, the
 * alerts and the stabilization report judge the history with it. Pure except
 * the functions that take a store. */
#ifndef LOCKSTEP_JOB_HISTORY_H
#define LOCKSTEP_JOB_HISTORY_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_CHECK "coupling_health_check"
#define JOB_SYNC "progress_license_sync"
#define JOB_CHECK_NAME "Coupling Enforcer Health Check"
#define JOB_SYNC_NAME "Progress-License Auto-Sync"

/* What to do for a job whose due time has come. Given the job's due time
 * `due` <= now: the dues due, due+interval, … up to now are considered; the
 * latest runs when it is at most `grace` late, every other one is missed. */
struct schedule_plan {
    bool run;           /* run the latest due now */
    int64_t run_due;    /* that due time */
    int64_t first_missed;
    int64_t n_missed;   /* dues first_missed, +interval, … that are missed */
    int64_t next_due;   /* the next due time, > now */
};
void job_history_plan(int64_t now, int64_t due, int64_t interval, int64_t grace,
                      struct schedule_plan *p);

/* One stretch of the recorded schedule: from a start of the scheduler to the
 * next start (or the end of the window), judged by that start's interval
 * (0: the start was recorded without its settings). */
struct schedule_segment {
    int64_t start;
    int64_t interval_us;
};

/* Runs expected in [since, until) over the segments (oldest first; each ends
 * where the next begins, the last at `until`): the sum over the segments of
 * (the segment clipped to the window) / its interval, each rounded down.
 * Time before the first segment counts nothing; time after the last start
 * counts with its interval even when the process was down (downtime shows as
 * missed runs). */
int64_t job_history_expected_runs(int64_t since, int64_t until,
                                  const struct schedule_segment *segs, size_t n);

/* Dues after the last recorded one (`last_due`, or the scheduler's start when
 * later) that may still start: dues last_due + k·interval (k >= 1) in
 * (until − grace, until]. 0 when last_due is 0. */
int64_t job_history_pending_runs(int64_t last_due, int64_t until, int64_t interval_us,
                                 int64_t grace_us);

/* The success rate of `ok` runs out of `expected`, in percent rounded to two
 * decimals; ok is counted at most `expected` times. -1 when nothing was
 * expected. */
double job_history_success_rate(int64_t ok, int64_t expected);

/* How long after its last success a job counts as no longer running: two
 * intervals, or one interval plus its grace when that is longer. */
int64_t job_history_stale_after(int64_t interval_us, int64_t grace_us);

/* A job's record over a window, as /health/jobs and the reports show it. */
struct job_window {
    bool recorded;            /* a scheduler start with its settings is recorded for
                                 the window; false: expected and the rate are n/a */
    int64_t interval_s;       /* of the latest such start (0 when not recorded) */
    int64_t grace_s;          /* its misfire grace */
    int64_t settings_at;      /* when that start was, 0 when not recorded */
    int64_t counted_since;    /* runs are counted from here (>= since) */
    int64_t expected, ok, failed, missed, skipped, interrupted, running;
    double success_rate;      /* ok / expected × 100; < 0 when nothing was expected */
    int64_t last_run;         /* start of the latest run, 0 if none */
    char last_status[STATUS_MAX];
    int64_t last_due;
    int64_t last_success;
};

/* The first half of a window, from the schedule alone: whether settings are
 * recorded, the latest interval, the time runs are counted from (starts
 * recorded without settings come first: runs are counted from the end of the
 * last of them, so that runs and expected runs cover the same time) and the
 * expected runs. grace_s and settings_at are the caller's (the segments do
 * not hold them). Pure. */
void job_history_window_schedule(int64_t since, int64_t until,
                                 const struct schedule_segment *segs, size_t n,
                                 struct job_window *w);
/* The second half: the recorded runs' counts since w->counted_since. Dues
 * that never started — recorded as missed or not recorded at all (the
 * process was down) — are missed. Pure. */
void job_history_window_runs(const struct job_stats *st, struct job_window *w);
/* Runs of the window that started (whatever their outcome). */
int64_t job_history_started(const struct job_window *w);

/* The next due time of a job as its recorded history says — its last due
 * plus its recorded interval — for a job another process runs; 0 when the
 * window has no recorded settings or no due. */
int64_t job_history_next_due(const struct job_window *w);

/* Compute a job's window from the store: the intervals are those `serve`
 * recorded with each scheduler start, never this process's configuration.
 * Returns 0 or a STORE_ERR_* code. */
int job_history_window(struct store *s, const char *job, int64_t since, int64_t until,
                       struct job_window *w);

/* The dues of a job's window `w` (computed up to `until`) that may still
 * start: after the job's last recorded due, or the latest scheduler start
 * when later, within the grace (job_history_pending_runs) — and only dues the
 * window counts as missed. 0 when the window has no recorded settings.
 * Returns 0 or a STORE_ERR_* code. */
int job_history_pending(struct store *s, const char *job, const struct job_window *w,
                        int64_t until, int64_t *pending);

/* The latest scheduler start at or before `at` that ran the jobs and recorded
 * its settings. Returns 0, STORE_ERR_NOT_FOUND when there is none, or a
 * STORE_ERR_* code. */
int job_history_settings_at(struct store *s, int64_t at, struct scheduler_start *out);

/* The process leading the jobs (host:pid) as the store records it — the
 * latest scheduler start with the scheduler running — and since when.
 * Returns 0, STORE_ERR_NOT_FOUND or another STORE_ERR_* code. */
int job_history_leader(struct store *s, int64_t *since, char owner[64]);

#endif
