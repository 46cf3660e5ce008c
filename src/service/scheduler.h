/* scheduler.h — the two interval jobs of `lockstep serve` (operations.md,
 * "Scheduler"): the health check and the auto-sync. First run one interval
 * after start, never two runs of one job at once (the later is `skipped`),
 * a run starting later than its grace is `missed` and runs are never stacked
 * up to catch up. Every run is recorded in the store (its arithmetic is
 * job_history.h); after each run the job-done hooks are called. Hand-written:
 * no C library schedules interval jobs with misfire accounting like this. */
#ifndef LOCKSTEP_SCHEDULER_H
#define LOCKSTEP_SCHEDULER_H

#include "service/app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scheduler;

/* A job-done hook: called on the job's thread after each run of a job has
 * been recorded (job: JOB_CHECK or JOB_SYNC, status: "success", "failed" or
 * "interrupted"). Keep it short — a wake, a kick: the hooks are called under
 * a lock that scheduler_remove_job_done_hook takes. */
typedef void (*scheduler_job_done_fn)(void *ctx, const char *job, const char *status);
#define SCHEDULER_HOOKS_MAX 4

/* Record in the store that `serve` runs without the scheduler (--no-scheduler),
 * with the settings it would use (a failure is logged). */
void scheduler_record_disabled(struct app *app);

/* False when the auto-sync is not scheduled: the domain tables are an
 * attached database's and repairs are off (attach.md, rule 2). */
bool scheduler_sync_enabled(const struct config *cfg);

/* Start the jobs inside `app` (its pool, monitor, config). Marks runs left
 * `running` by a crash as `interrupted`, records the gap since the last run as
 * missed, writes the start banner to the day log. Returns 0 or -1 with err. */
int scheduler_start(struct app *app, struct scheduler **out, char *err, size_t errlen);
/* Stop taking new runs; wait at most timeout_ms for running jobs to finish,
 * then free. A job still running after that is left to the process exit (its
 * run is marked interrupted at the next start) and calls no hook: false is
 * returned then, and the caller must end the process without freeing what
 * the job uses (app, its pool, its monitor). True otherwise; NULL is
 * ignored (true). */
bool scheduler_stop(struct scheduler *s, long timeout_ms);
/* Call fn(ctx, …) after every job run from now on. Returns 0, or -1 when
 * SCHEDULER_HOOKS_MAX hooks are registered already. */
int scheduler_add_job_done_hook(struct scheduler *s, scheduler_job_done_fn fn, void *ctx);
/* Remove a hook: when this returns it is not running and is never called
 * again, so ctx may be freed. NULL s is ignored. */
void scheduler_remove_job_done_hook(struct scheduler *s, scheduler_job_done_fn fn, void *ctx);
/* True while this process leads the scheduled jobs. */
bool scheduler_is_leader(struct scheduler *s);
/* Next due time of a job (0 if unknown or another process leads). */
int64_t scheduler_next_run(struct scheduler *s, const char *job);
/* True when the scheduler thread is alive and no job has been running longer
 * than its interval (at least 10 s); otherwise false with the reason. */
bool scheduler_healthy(struct scheduler *s, char *reason, size_t len);

#endif
