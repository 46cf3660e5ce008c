/* scheduler_lease.c — the lead of the scheduled jobs: the store's lease,
 * taken when free, renewed every second, and this process's local deadline
 * (docs/architecture.md, "Leadership"). */
#include "service/scheduler_internal.h"

#include "service/metrics.h"
#include "util/timeutil.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The clock of the deadline: it runs on while the process is stopped (SIGSTOP)
 * or the machine sleeps, so a process that wakes up finds its deadline passed
 * before it writes anything as the leader. */
static int64_t lease_clock_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Whether this process may still start or commit a job as the leader: its
 * last renewal began less than one lease duration ago. The store's lease
 * lasts from the renewal's execution, later than its beginning, so this
 * deadline passes first (the clocks' rates agree over a few seconds). */
bool scheduler_lease_valid(struct scheduler *s)
{
    return lease_clock_us() < atomic_load(&s->lease_valid_until);
}

bool scheduler_lease_valid_cb(void *ctx)
{
    return scheduler_lease_valid(ctx);
}

/* This process no longer leads: no job starts or commits from now on. */
static void step_down(struct scheduler *s, const char *why)
{
    pthread_mutex_lock(&s->mu);
    bool was = s->leader;
    s->leader = false;
    atomic_store(&s->lease_valid_until, 0);
    pthread_mutex_unlock(&s->mu);
    metrics_set_leader(s->app->metrics, false);
    if (was)
        daylog_write(s->log, LOG_ERROR, "scheduler",
                     "Lost the lead of the scheduled jobs: %s; another process may take over",
                     why);
}

/* Whether the holder of the lease is a process of this host that no longer
 * exists (killed, crashed): then its lease need not run out. Another host's
 * processes cannot be asked; their lease runs out. */
static bool lease_holder_gone(const char *holder, const char *self)
{
    const char *r = strrchr(holder, ':'), *self_r = strrchr(self, ':');
    if (!r || !self_r)
        return false;
    const char *p = r, *self_p = self_r;
    while (p > holder && p[-1] != ':')
        p--;
    while (self_p > self && self_p[-1] != ':')
        self_p--;
    if (p == holder || self_p == self || p - holder != self_p - self ||
        strncmp(holder, self, (size_t)(p - holder)) != 0)
        return false; /* another host */
    char *end = NULL;
    long pid = strtol(p, &end, 10);
    if (end != r || pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Take the lease when it is free: expired, never held, or held by a process
 * of this host that is gone (or by this process, which let it lapse). True
 * when this process holds it now; the deadline is set. */
bool scheduler_lease_try_take(struct scheduler *s)
{
    struct store *st = s->leader_store;
    int64_t start = lease_clock_us();
    struct scheduler_lease l;
    if (st->ops->lease_get(st, &l) != 0)
        return false;
    const char *from = NULL;
    if (!l.expired && (!strcmp(l.owner, s->lease_owner) ||
                       lease_holder_gone(l.owner, s->lease_owner)))
        from = l.owner;
    bool held = false;
    if ((!l.expired && !from) ||
        st->ops->lease_take(st, s->lease_owner, from, s->lease_us / 1000, &held) != 0 || !held)
        return false;
    atomic_store(&s->lease_valid_until, start + s->lease_us);
    return true;
}

/* Renew the lease, or take it when free (unlocked: it talks to the store). */
void scheduler_lease_check(struct scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    bool leading = s->leader, stopping = s->stopping;
    pthread_mutex_unlock(&s->mu);
    if (!leading) {
        if (!stopping && scheduler_lease_try_take(s))
            scheduler_become_leader(s, false);
        return;
    }
    struct store *st = s->leader_store;
    int64_t start = lease_clock_us();
    bool held = false;
    int rc = st->ops->lease_renew(st, s->lease_owner, s->lease_us / 1000, &held);
    if (rc == 0 && held) {
        atomic_store(&s->lease_valid_until, start + s->lease_us);
        if (s->renew_failing)
            daylog_write(s->log, LOG_INFO, "scheduler",
                         "Renewed the lead of the scheduled jobs again");
        s->renew_failing = false;
        return;
    }
    if (rc == 0) {
        s->renew_failing = false;
        step_down(s, "its lease ran out or another process took it over");
        return;
    }
    /* The store did not answer: lead on until the lease could have run out. */
    if (!s->renew_failing)
        daylog_write(s->log, LOG_ERROR, "scheduler",
                     "Cannot renew the lead of the scheduled jobs: %s; no job starts once the "
                     "lease runs out", store_errmsg(st));
    s->renew_failing = true;
    if (!scheduler_lease_valid(s)) {
        s->renew_failing = false;
        step_down(s, "its lease ran out while the store could not renew it");
    }
}
