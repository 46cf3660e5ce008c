/* scheduler_internal.h — the scheduler's own state, shared by its files and
 * no other module: scheduler.c (timing, workers, start and stop),
 * scheduler_lease.c (the lead of the scheduled jobs), scheduler_jobs.c (what
 * each job does). */
#ifndef LOCKSTEP_SCHEDULER_INTERNAL_H
#define LOCKSTEP_SCHEDULER_INTERNAL_H

#include "service/daylog.h"
#include "service/scheduler.h"
#include "util/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct scheduler;

struct job {
    struct scheduler *sched;
    const char *id, *name;
    int64_t interval_us, grace_us;
    int64_t next_due;                /* wall clock */
    bool disabled;                   /* never runs (the auto-sync while repairs are off) */
    bool running;
    int64_t running_since;           /* monotonic */
    bool has_work;
    int64_t work_due;
    struct worker *worker;           /* runs the job when has_work */
    void (*run)(struct job *j, struct store *st, int64_t due, int64_t run_id);
};

struct scheduler {
    struct app *app;
    struct daylog *log;
    struct store *leader_store; /* its own connection: the lease is renewed on it */
    bool leader;
    char lease_owner[LEASE_OWNER_MAX]; /* host:pid:random: this process in scheduler_lease */
    int64_t lease_us;                  /* leader_lease */
    atomic_llong lease_valid_until;    /* lease clock; no job starts or commits after it */
    bool renew_failing;                /* the last renewal failed (said once in the day log) */
    pthread_mutex_t mu;
    bool stopping;           /* no job starts any more */
    struct worker *timer;    /* the timing thread */
    int64_t last_leader_check; /* monotonic, by the timing thread */
    atomic_llong last_tick;  /* monotonic, by the timing thread */
    int64_t last_prune;
    struct job jobs[2];
    pthread_mutex_t hooks_mu; /* held while the hooks are called */
    struct {
        scheduler_job_done_fn fn;
        void *ctx;
    } hooks[SCHEDULER_HOOKS_MAX];
    size_t n_hooks;
};

/* scheduler_lease.c. Whether this process may still start or commit a job
 * as the leader (its local deadline has not passed). */
bool scheduler_lease_valid(struct scheduler *s);
/* The same as a may_record / may_continue callback (ctx: the scheduler). */
bool scheduler_lease_valid_cb(void *ctx);
/* Take the lease when it is free; true when this process holds it now. */
bool scheduler_lease_try_take(struct scheduler *s);
/* Renew the lease, or take it when free (and become the leader); steps down
 * when it is lost. Called without the mutex: it talks to the store. */
void scheduler_lease_check(struct scheduler *s);

/* scheduler.c. This process now runs the jobs (see there). */
void scheduler_become_leader(struct scheduler *s, bool at_start);
/* Finish a run, count its outcome and call the job-done hooks. */
void scheduler_finish_run(struct scheduler *s, struct store *st, const char *job,
                          int64_t run_id, const char *status, const char *error);

/* scheduler_jobs.c: a job's run, with its run row `run_id` recorded. */
void scheduler_run_check(struct job *j, struct store *st, int64_t due, int64_t run_id);
void scheduler_run_sync(struct job *j, struct store *st, int64_t due, int64_t run_id);

#endif
