/* scheduler.c — one timing thread and one worker thread per job. The timing
 * thread decides (job_history_plan) and records skipped/missed runs; a worker
 * runs its job, records the outcome and calls the job-done hooks. */
#include "service/scheduler_internal.h"

#include "service/check.h"
#include "service/job_history.h"
#include "service/metrics.h"
#include "service/sync.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GAP_RECORDS 100000 /* missed dues recorded for one downtime, at most */
#define STUCK_FLOOR_US (10 * USEC_PER_SEC)

/* ---- recording ------------------------------------------------------------------ */

static void record_run(struct scheduler *s, struct store *st, const char *job, int64_t due,
                       const char *status, const char *error)
{
    struct job_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.job_id, sizeof r.job_id, "%s", job);
    r.due_at = due;
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.error, sizeof r.error, "%s", error ? error : "");
    snprintf(r.owner, sizeof r.owner, "%s", s->app->instance_id);
    int rc = st->ops->job_run_insert(st, &r);
    if (rc && rc != STORE_ERR_CONFLICT)
        daylog_write(s->log, LOG_ERROR, "scheduler", "cannot record %s run of %s: %s", status,
                     job, store_errmsg(st));
    if (rc == 0)
        metrics_job(s->app->metrics, job, status);
}

/* Finish a run and count its outcome. */
void scheduler_finish_run(struct scheduler *s, struct store *st, const char *job, int64_t run_id,
                          const char *status, const char *error)
{
    if (!scheduler_lease_valid(s)) {
        /* Another process may lead by now and has marked this run interrupted
         * (or will): say the same, whatever the job did before it stopped. */
        status = "interrupted";
        error = "this process lost the lead of the scheduled jobs while the job ran";
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Job %s interrupted: this process lost the lead of the scheduled jobs "
                     "while it ran", job);
    }
    if (st->ops->job_run_finish(st, run_id, status, error, time_now_us()) != 0)
        daylog_write(s->log, LOG_ERROR, "scheduler", "cannot record the end of a %s run: %s",
                     job, store_errmsg(st));
    metrics_job(s->app->metrics, job, status);
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t i = 0; i < s->n_hooks; i++)
        s->hooks[i].fn(s->hooks[i].ctx, job, status);
    pthread_mutex_unlock(&s->hooks_mu);
}

static void execute(struct job *j, int64_t due)
{
    struct scheduler *s = j->sched;
    if (!scheduler_lease_valid(s)) {
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Job %s not started: this process's lead of the scheduled jobs has lapsed",
                     j->id);
        return;
    }
    struct store *st = store_pool_get(s->app->pool);
    struct job_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.job_id, sizeof r.job_id, "%s", j->id);
    r.due_at = due;
    r.started_at = time_now_us();
    snprintf(r.status, sizeof r.status, "running");
    snprintf(r.owner, sizeof r.owner, "%s", s->app->instance_id);
    int rc = st->ops->job_run_insert(st, &r);
    if (rc == STORE_ERR_CONFLICT) {
        /* Another process already ran this due time. */
        store_pool_put(s->app->pool, st);
        return;
    }
    if (rc) {
        daylog_write(s->log, LOG_ERROR, "scheduler", "Job %s failed: cannot record the run: %s",
                     j->id, store_errmsg(st));
        store_pool_put(s->app->pool, st);
        return;
    }
    j->run(j, st, due, r.id);
    store_pool_put(s->app->pool, st);
}

/* A job's worker: run the job when the timing thread gave it a due time. */
static int64_t job_pass(void *arg)
{
    struct job *j = arg;
    struct scheduler *s = j->sched;
    pthread_mutex_lock(&s->mu);
    bool work = j->has_work && !s->stopping;
    int64_t due = j->work_due;
    if (work) {
        j->has_work = false;
        j->running = true;
        j->running_since = time_mono_us();
    }
    pthread_mutex_unlock(&s->mu);
    if (!work)
        return WORKER_IDLE;
    execute(j, due);
    pthread_mutex_lock(&s->mu);
    j->running = false;
    pthread_mutex_unlock(&s->mu);
    return WORKER_IDLE;
}

/* ---- the timing thread ------------------------------------------------------------ */

/* Decide for one job whose due time has come. Called with the mutex held;
 * releases it around store writes. */
static void fire(struct scheduler *s, struct job *j, int64_t now)
{
    struct schedule_plan p;
    job_history_plan(now, j->next_due, j->interval_us, j->grace_us, &p);
    j->next_due = p.next_due;
    bool skip = p.run && (j->running || j->has_work);
    if (p.run && !skip) {
        j->has_work = true;
        j->work_due = p.run_due;
        worker_wake(j->worker);
    }
    if (p.n_missed == 0 && !skip)
        return;
    pthread_mutex_unlock(&s->mu);
    struct store *st = store_pool_get(s->app->pool);
    for (int64_t k = 0; k < p.n_missed && k < MAX_GAP_RECORDS; k++)
        record_run(s, st, j->id, p.first_missed + k * j->interval_us, "missed",
                   "started later than its misfire grace");
    if (p.n_missed)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Run of job %s was missed by more than its grace (%lld run%s missed)",
                     j->id, (long long)p.n_missed, p.n_missed == 1 ? "" : "s");
    if (skip) {
        record_run(s, st, j->id, p.run_due, "skipped", "the previous run was still running");
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Job %s skipped: the previous run is still running", j->id);
    }
    store_pool_put(s->app->pool, st);
    pthread_mutex_lock(&s->mu);
}

/* A scheduler start with the settings it runs by: the reports judge the
 * schedule by these, not by their own configuration. */
static int record_start(const struct app *app, struct store *st, int64_t when, bool running)
{
    struct scheduler_start r;
    memset(&r, 0, sizeof r);
    r.started_at = when;
    snprintf(r.owner, sizeof r.owner, "%s", app->instance_id);
    r.scheduler = running;
    r.check_interval = app->cfg.check_interval;
    r.sync_interval = app->cfg.sync_interval;
    r.check_misfire_grace = app->cfg.check_misfire_grace;
    r.sync_misfire_grace = app->cfg.sync_misfire_grace;
    return st->ops->scheduler_start_insert(st, &r);
}

void scheduler_record_disabled(struct app *app)
{
    struct store *st = store_pool_get(app->pool);
    if (record_start(app, st, time_now_us(), false) != 0)
        log_msg(LOG_ERROR, "scheduler", "cannot record the start without the scheduler: %s",
                store_errmsg(st));
    store_pool_put(app->pool, st);
}

/* One pass of the timing thread: renew (or take) the lease every second, fire
 * the jobs that are due; sleep until the next due time, at most a second.
 * While stopping, a job still running keeps the lease renewed. */
static int64_t timing_pass(void *arg)
{
    struct scheduler *s = arg;
    atomic_store(&s->last_tick, time_mono_us());
    if (time_mono_us() - s->last_leader_check >= USEC_PER_SEC) {
        s->last_leader_check = time_mono_us();
        scheduler_lease_check(s);
    }
    int64_t now = time_now_us();
    int64_t wake = now + USEC_PER_SEC; /* re-evaluate at least every second */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 2 && !s->stopping && s->leader && scheduler_lease_valid(s); i++) {
        if (s->jobs[i].disabled)
            continue;
        if (now >= s->jobs[i].next_due)
            fire(s, &s->jobs[i], now);
        if (s->jobs[i].next_due < wake)
            wake = s->jobs[i].next_due;
    }
    pthread_mutex_unlock(&s->mu);
    return wake - time_now_us();
}

/* ---- start and stop --------------------------------------------------------------- */

/* Record as missed every due time of `j` between its last recorded run and now. */
static void record_gap(struct scheduler *s, struct store *st, struct job *j, int64_t now)
{
    int64_t last = 0;
    if (st->ops->job_run_last_due(st, j->id, &last) != 0)
        return;
    int64_t n = 0;
    for (int64_t d = last + j->interval_us; d <= now && n < MAX_GAP_RECORDS;
         d += j->interval_us, n++)
        record_run(s, st, j->id, d, "missed", "the scheduler was not running");
    if (n)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Job %s: %lld run%s missed while the scheduler was not running", j->id,
                     (long long)n, n == 1 ? "" : "s");
}

/* This process now runs the jobs. At process start the first runs come one
 * interval later and the time since the last recorded run is missed; when
 * taking over from a process that stopped, the due times continue where its
 * history ends (a due already run is never run again: job runs are unique
 * per due time). */
void scheduler_become_leader(struct scheduler *s, bool at_start)
{
    struct app *app = s->app;
    int64_t now = time_now_us();
    struct store *st = store_pool_get(app->pool);
    int64_t n = 0;
    if (st->ops->job_runs_interrupt_stale(st, now, &n) == 0 && n)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Marked %lld job run(s) left running by a stopped process as interrupted",
                     (long long)n);
    if (sync_recover_interrupted(st, app->cfg.data_dir, &n) == 0 && n)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Marked %lld sync run(s) left running by a stopped process as interrupted",
                     (long long)n);
    char previous[64] = "";
    int64_t prev_at = 0;
    st->ops->scheduler_last_start(st, &prev_at, previous);
    if (record_start(app, st, now, true) != 0)
        daylog_write(s->log, LOG_ERROR, "scheduler", "cannot record the scheduler start: %s",
                     store_errmsg(st));
    int64_t next[2];
    for (int i = 0; i < 2; i++) {
        struct job *j = &s->jobs[i];
        int64_t last = 0;
        if (j->disabled) {
            next[i] = INT64_MAX;
        } else if (at_start || st->ops->job_run_last_due(st, j->id, &last) != 0) {
            record_gap(s, st, j, now);
            next[i] = now + j->interval_us;
        } else {
            next[i] = last + j->interval_us;
        }
    }
    store_pool_put(app->pool, st);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 2; i++)
        s->jobs[i].next_due = next[i];
    s->leader = true;
    pthread_mutex_unlock(&s->mu);
    metrics_set_leader(app->metrics, true);
    if (!at_start)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "This process (%s) now leads the scheduled jobs, taking over from %s",
                     app->instance_id, previous[0] ? previous : "no one");
}

/* The scheduler's own connection, this process's name in the lease, and a
 * first read of the lease (the store answers). Returns 0 or -1 with err. */
static int open_lease(struct scheduler *s, char *err, size_t errlen)
{
    const struct app *app = s->app;
    if (app_store_open(app, "scheduler", &s->leader_store, err, errlen) != 0)
        return -1;
    s->lease_us = app->cfg.leader_lease * USEC_PER_SEC;
    unsigned char nonce[6];
    if (sodium_init() < 0) {
        snprintf(err, errlen, "cannot start the scheduler: no random numbers");
        return -1;
    }
    randombytes_buf(nonce, sizeof nonce);
    snprintf(s->lease_owner, sizeof s->lease_owner, "%s:%02x%02x%02x%02x%02x%02x",
             app->instance_id, nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5]);
    struct scheduler_lease l;
    if (s->leader_store->ops->lease_get(s->leader_store, &l) != 0) {
        snprintf(err, errlen, "cannot start the scheduler: %s", store_errmsg(s->leader_store));
        return -1;
    }
    return 0;
}

bool scheduler_sync_enabled(const struct config *cfg)
{
    return !cfg->domain.attached || cfg->domain.repair;
}

int scheduler_start(struct app *app, struct scheduler **out, char *err, size_t errlen)
{
    *out = NULL;
    struct scheduler *s = calloc(1, sizeof *s);
    if (!s || !(s->log = daylog_open(app->cfg.data_dir))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->app = app;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->hooks_mu, NULL);
    const struct config *cfg = &app->cfg;
    s->jobs[0] = (struct job){.sched = s, .id = JOB_CHECK, .name = JOB_CHECK_NAME,
                              .interval_us = cfg->check_interval * USEC_PER_SEC,
                              .grace_us = cfg->check_misfire_grace * USEC_PER_SEC,
                              .next_due = INT64_MAX, .run = scheduler_run_check};
    s->jobs[1] = (struct job){.sched = s, .id = JOB_SYNC, .name = JOB_SYNC_NAME,
                              .interval_us = cfg->sync_interval * USEC_PER_SEC,
                              .grace_us = cfg->sync_misfire_grace * USEC_PER_SEC,
                              .next_due = INT64_MAX, .run = scheduler_run_sync,
                              .disabled = !scheduler_sync_enabled(cfg)};
    daylog_write(s->log, LOG_INFO, "scheduler", "Starting background scheduler...");
    if (open_lease(s, err, errlen) != 0) {
        store_close(s->leader_store);
        daylog_close(s->log);
        pthread_mutex_destroy(&s->mu);
        pthread_mutex_destroy(&s->hooks_mu);
        free(s);
        return -1;
    }
    bool leader = scheduler_lease_try_take(s);
    if (leader)
        scheduler_become_leader(s, true);
    /* A process killed while writing leaves hidden temporary files: remove them. */
    static const char *const dirs[] = {CHECK_DIR, SYNC_DIR, "logs/baselines", "logs/reports"};
    for (size_t i = 0; leader && i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[FS_PATH_MAX];
        if (fs_join(dir, sizeof dir, app->cfg.data_dir, dirs[i]) == 0 &&
            fs_remove_stale_tmp(dir) > 0)
            daylog_write(s->log, LOG_INFO, "scheduler",
                         "Removed temporary files of an interrupted write from %s", dirs[i]);
    }

    for (int i = 0; i < 2; i++) {
        if (worker_start(job_pass, &s->jobs[i], &s->jobs[i].worker) != 0) {
            snprintf(err, errlen, "cannot start a job thread");
            scheduler_stop(s, 0);
            return -1;
        }
    }
    atomic_store(&s->last_tick, time_mono_us());
    if (worker_start(timing_pass, s, &s->timer) != 0) {
        snprintf(err, errlen, "cannot start the scheduler thread");
        scheduler_stop(s, 0);
        return -1;
    }
    char a[48], b[48];
    time_format_interval(app->cfg.sync_interval, a, sizeof a);
    time_format_interval(app->cfg.check_interval, b, sizeof b);
    daylog_write(s->log, LOG_INFO, "scheduler", "Background scheduler started successfully");
    daylog_write(s->log, LOG_INFO, "scheduler", "Scheduled jobs:");
    if (s->jobs[1].disabled)
        daylog_write(s->log, LOG_INFO, "scheduler", "  - %s (ID: %s): disabled (%s)",
                     JOB_SYNC_NAME, JOB_SYNC, STORE_REPAIR_OFF);
    else
        daylog_write(s->log, LOG_INFO, "scheduler", "  - %s (ID: %s): interval[%s]",
                     JOB_SYNC_NAME, JOB_SYNC, a);
    daylog_write(s->log, LOG_INFO, "scheduler", "  - %s (ID: %s): interval[%s]", JOB_CHECK_NAME,
                 JOB_CHECK, b);
    if (!leader)
        daylog_write(s->log, LOG_INFO, "scheduler",
                     "Another process leads the scheduled jobs; this one takes over if it stops");
    *out = s;
    return 0;
}

bool scheduler_stop(struct scheduler *s, long timeout_ms)
{
    if (!s)
        return true;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    for (int i = 0; i < 2; i++)
        s->jobs[i].has_work = false;
    pthread_mutex_unlock(&s->mu);
    /* The running jobs get the timeout to finish; the timing thread renews
     * the lease meanwhile, and stops after them. */
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    bool busy = false;
    for (int i = 0; i < 2; i++) {
        int64_t left = deadline - time_mono_us();
        if (!worker_stop(s->jobs[i].worker, left > 0 ? (long)(left / 1000) : 0))
            busy = true;
    }
    worker_stop(s->timer, -1);
    pthread_mutex_lock(&s->hooks_mu);
    s->n_hooks = 0; /* a job left running calls none */
    pthread_mutex_unlock(&s->hooks_mu);
    if (busy) {
        /* A job overran the shutdown timeout: leave it, and the scheduler it
         * uses, to the process exit. */
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Stopping with a job still running; it will be marked interrupted");
        return false;
    }
    daylog_write(s->log, LOG_INFO, "scheduler", "Background scheduler stopped");
    /* Let the lease go now, so that another process takes over at once. */
    if (s->leader && s->leader_store->ops->lease_release(s->leader_store, s->lease_owner) != 0)
        daylog_write(s->log, LOG_WARNING, "scheduler",
                     "Cannot release the lead of the scheduled jobs (it runs out in %ld s): %s",
                     s->app->cfg.leader_lease, store_errmsg(s->leader_store));
    store_close(s->leader_store);
    daylog_close(s->log);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->hooks_mu);
    free(s);
    return true;
}

int scheduler_add_job_done_hook(struct scheduler *s, scheduler_job_done_fn fn, void *ctx)
{
    pthread_mutex_lock(&s->hooks_mu);
    int rc = -1;
    if (s->n_hooks < SCHEDULER_HOOKS_MAX) {
        s->hooks[s->n_hooks].fn = fn;
        s->hooks[s->n_hooks].ctx = ctx;
        s->n_hooks++;
        rc = 0;
    }
    pthread_mutex_unlock(&s->hooks_mu);
    return rc;
}

void scheduler_remove_job_done_hook(struct scheduler *s, scheduler_job_done_fn fn, void *ctx)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->hooks_mu);
    for (size_t i = 0; i < s->n_hooks; i++)
        if (s->hooks[i].fn == fn && s->hooks[i].ctx == ctx) {
            memmove(&s->hooks[i], &s->hooks[i + 1], (s->n_hooks - i - 1) * sizeof s->hooks[0]);
            s->n_hooks--;
            break;
        }
    pthread_mutex_unlock(&s->hooks_mu);
}

bool scheduler_is_leader(struct scheduler *s)
{
    if (!s)
        return false;
    pthread_mutex_lock(&s->mu);
    bool l = s->leader;
    pthread_mutex_unlock(&s->mu);
    return l && scheduler_lease_valid(s);
}

int64_t scheduler_next_run(struct scheduler *s, const char *job)
{
    if (!s)
        return 0;
    int64_t next = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 2 && s->leader; i++)
        if (!strcmp(s->jobs[i].id, job))
            next = s->jobs[i].disabled ? 0 : s->jobs[i].next_due;
    pthread_mutex_unlock(&s->mu);
    return next;
}

bool scheduler_healthy(struct scheduler *s, char *reason, size_t len)
{
    int64_t now = time_mono_us();
    if (now - atomic_load(&s->last_tick) > 5 * USEC_PER_SEC) {
        snprintf(reason, len, "the scheduler thread has not run for %lld s",
                 (long long)((now - atomic_load(&s->last_tick)) / USEC_PER_SEC));
        return false;
    }
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < 2 && ok; i++) {
        const struct job *j = &s->jobs[i];
        int64_t limit = j->interval_us > STUCK_FLOOR_US ? j->interval_us : STUCK_FLOOR_US;
        if (j->running && now - j->running_since > limit) {
            snprintf(reason, len, "job %s has been running for %lld s, longer than its interval",
                     j->id, (long long)((now - j->running_since) / USEC_PER_SEC));
            ok = false;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

