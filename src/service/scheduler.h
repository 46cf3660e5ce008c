/* scheduler.h — the two interval jobs of `lockstep serve` (operations.md,
 * "Scheduler"): the health check and the auto-sync. First run one interval
 * after start, never two runs of one job at once (the later is `skipped`),
 * a run starting later than its grace is `missed` and runs are never stacked
 * up to catch up. Every run is recorded in the store. Hand-written: no C
 * library schedules interval jobs with misfire accounting like this. */
#ifndef LOCKSTEP_SCHEDULER_H
#define LOCKSTEP_SCHEDULER_H

#include "service/app.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOB_CHECK "coupling_health_check"
#define JOB_SYNC "progress_license_sync"
#define JOB_CHECK_NAME "Coupling Enforcer Health Check"
#define JOB_SYNC_NAME "Progress-License Auto-Sync"

struct scheduler;

/* What to do for a job whose due time has come (pure arithmetic, so it can be
 * tested with a fake clock). Given the job's due time `due` <= now: the dues
 * due, due+interval, … up to now are considered; the latest runs when it is
 * at most `grace` late, every other one is missed. */
struct schedule_plan {
    bool run;           /* run the latest due now */
    int64_t run_due;    /* that due time */
    int64_t first_missed;
    int64_t n_missed;   /* dues first_missed, +interval, … that are missed */
    int64_t next_due;   /* the next due time, > now */
};
void scheduler_plan(int64_t now, int64_t due, int64_t interval, int64_t grace,
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
int64_t scheduler_expected_runs(int64_t since, int64_t until,
                                const struct schedule_segment *segs, size_t n);

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
/* Compute a job's window from the store: the intervals are those `serve`
 * recorded with each scheduler start, never this process's configuration.
 * Returns 0 or a STORE_ERR_* code. */
int scheduler_job_window(struct store *s, const char *job, int64_t since, int64_t until,
                         struct job_window *w);

/* The latest scheduler start at or before `at` that ran the jobs and recorded
 * its settings. Returns 0, STORE_ERR_NOT_FOUND when there is none, or a
 * STORE_ERR_* code. */
int scheduler_recorded_settings(struct store *s, int64_t at, struct scheduler_start *out);

/* Record in the store that `serve` runs without the scheduler (--no-scheduler),
 * with the settings it would use (a failure is logged). */
void scheduler_record_disabled(struct app *app);

/* Start the jobs inside `app` (its pool, monitor, config). Marks runs left
 * `running` by a crash as `interrupted`, records the gap since the last run as
 * missed, writes the start banner to the day log. Returns 0 or -1 with err. */
int scheduler_start(struct app *app, struct scheduler **out, char *err, size_t errlen);
/* Stop taking new runs; wait at most timeout_ms for running jobs to finish,
 * then free. A job still running after that is left to the process exit (its
 * run is marked interrupted at the next start). */
void scheduler_stop(struct scheduler *s, long timeout_ms);
/* True while this process leads the scheduled jobs. */
bool scheduler_is_leader(struct scheduler *s);
/* The process leading the jobs (host:pid) as the store records it — the
 * latest scheduler start with the scheduler running — and since when.
 * Returns 0, STORE_ERR_NOT_FOUND (never) or another STORE_ERR_* code. */
int scheduler_leader(struct store *s, int64_t *since, char owner[64]);
/* Next due time of a job (0 if unknown or another process leads). */
int64_t scheduler_next_run(struct scheduler *s, const char *job);
/* True when the scheduler thread is alive and no job has been running longer
 * than its interval (at least 10 s); otherwise false with the reason. */
bool scheduler_healthy(struct scheduler *s, char *reason, size_t len);
/* Failed integrity-check file writes and day-log writes since start. */
long scheduler_file_failures(struct scheduler *s);

#endif
