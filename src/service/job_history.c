/* job_history.c — the arithmetic of the scheduled jobs' recorded history
 * (due times, expected, missed and pending runs, success rates) and a job's
 * window read from the store. Hand-written: it is Lockstep's own schedule. */
#include "service/job_history.h"

#include "util/timeutil.h"
#include "util/array.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void job_history_plan(int64_t now, int64_t due, int64_t interval, int64_t grace,
                      struct schedule_plan *p)
{
    memset(p, 0, sizeof *p);
    if (interval <= 0)
        interval = 1;
    if (now < due) {
        p->next_due = due;
        return;
    }
    int64_t k = (now - due) / interval;
    int64_t last = due + k * interval;
    p->first_missed = due;
    p->n_missed = k;
    if (now - last <= grace) {
        p->run = true;
        p->run_due = last;
    } else {
        p->n_missed = k + 1;
    }
    p->next_due = last + interval;
}

/* The end of segment i inside a window ending at `until`. */
static int64_t segment_end(const struct schedule_segment *segs, size_t n, size_t i,
                           int64_t until)
{
    return i + 1 < n && segs[i + 1].start < until ? segs[i + 1].start : until;
}

int64_t job_history_expected_runs(int64_t since, int64_t until,
                                  const struct schedule_segment *segs, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t from = segs[i].start > since ? segs[i].start : since;
        int64_t to = segment_end(segs, n, i, until);
        if (segs[i].interval_us > 0 && to > from)
            total += (to - from) / segs[i].interval_us;
    }
    return total;
}

int64_t job_history_pending_runs(int64_t last_due, int64_t until, int64_t interval_us,
                                 int64_t grace_us)
{
    if (!last_due || interval_us <= 0 || until <= last_due)
        return 0;
    int64_t kmax = (until - last_due) / interval_us;
    int64_t kmin = 1;
    if (until - grace_us - last_due >= 0)
        kmin = (until - grace_us - last_due) / interval_us + 1;
    return kmax >= kmin ? kmax - kmin + 1 : 0;
}

double job_history_success_rate(int64_t ok, int64_t expected)
{
    if (expected <= 0)
        return -1.0;
    if (ok > expected)
        ok = expected;
    return round((double)ok * 10000.0 / (double)expected) / 100.0;
}

int64_t job_history_stale_after(int64_t interval_us, int64_t grace_us)
{
    int64_t with_grace = interval_us + grace_us;
    return 2 * interval_us > with_grace ? 2 * interval_us : with_grace;
}

void job_history_window_schedule(int64_t since, int64_t until,
                                 const struct schedule_segment *segs, size_t n,
                                 struct job_window *w)
{
    w->recorded = false;
    w->interval_s = 0;
    w->counted_since = since;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].interval_us > 0) {
            w->recorded = true;
            w->interval_s = segs[i].interval_us / USEC_PER_SEC;
            continue;
        }
        int64_t end = segment_end(segs, n, i, until);
        if (end > w->counted_since)
            w->counted_since = end;
    }
    w->expected = job_history_expected_runs(since, until, segs, n);
}

void job_history_window_runs(const struct job_stats *st, struct job_window *w)
{
    w->ok = st->ok;
    w->failed = st->failed;
    w->skipped = st->skipped;
    w->interrupted = st->interrupted;
    w->running = st->running;
    int64_t unstarted = w->expected - job_history_started(w);
    w->missed = unstarted > st->missed ? unstarted : st->missed;
    w->success_rate = job_history_success_rate(st->ok, w->expected);
    w->last_run = st->last_started_at;
    w->last_due = st->last_due_at;
    w->last_success = st->last_success_at;
    memcpy(w->last_status, st->last_status, sizeof w->last_status);
}

int64_t job_history_started(const struct job_window *w)
{
    return w->ok + w->failed + w->skipped + w->interrupted + w->running;
}

int64_t job_history_next_due(const struct job_window *w)
{
    return w->recorded && w->last_due ? w->last_due + w->interval_s * USEC_PER_SEC : 0;
}

/* The scheduler starts of a window, as segments of one job's schedule. */
struct seg_collect {
    const char *job;
    struct schedule_segment *segs;
    size_t n, cap;
    int64_t grace_s, settings_at;
    bool failed;
};

static int collect_segment(void *ctx, const struct scheduler_start *r)
{
    struct seg_collect *c = ctx;
    if (!r->scheduler) /* serve without the scheduler: the jobs ran elsewhere or not at all */
        return 0;
    if (ARRAY_RESERVE(c->segs, c->n, c->cap, 16) != 0) {
        c->failed = true;
        return 1;
    }
    bool check = !strcmp(c->job, JOB_CHECK);
    int64_t iv = r->settings_known ? (check ? r->check_interval : r->sync_interval) : 0;
    c->segs[c->n++] = (struct schedule_segment){.start = r->started_at,
                                                .interval_us = iv * USEC_PER_SEC};
    if (iv > 0) {
        c->grace_s = check ? r->check_misfire_grace : r->sync_misfire_grace;
        c->settings_at = r->started_at;
    }
    return 0;
}

int job_history_window(struct store *s, const char *job, int64_t since, int64_t until,
                       struct job_window *w)
{
    memset(w, 0, sizeof *w);
    struct seg_collect c = {.job = job};
    int rc = s->ops->scheduler_start_list(s, since, until, collect_segment, &c);
    if (c.failed)
        rc = store_fail(s, STORE_ERR_NOMEM, "out of memory");
    if (rc) {
        free(c.segs);
        return rc;
    }
    job_history_window_schedule(since, until, c.segs, c.n, w);
    free(c.segs);
    w->grace_s = w->recorded ? c.grace_s : 0;
    w->settings_at = w->recorded ? c.settings_at : 0;
    struct job_stats st;
    if ((rc = s->ops->job_run_stats(s, job, w->counted_since, until, &st)) != 0)
        return rc;
    job_history_window_runs(&st, w);
    return 0;
}

int job_history_pending(struct store *s, const char *job, const struct job_window *w,
                        int64_t until, int64_t *pending)
{
    *pending = 0;
    if (!w->recorded)
        return 0;
    int64_t last_start = 0, last_due = 0;
    char owner[64];
    int rc = s->ops->scheduler_last_start(s, &last_start, owner);
    if (rc == 0)
        rc = s->ops->job_run_last_due(s, job, &last_due);
    if (rc && rc != STORE_ERR_NOT_FOUND)
        return rc;
    int64_t from = last_due > last_start ? last_due : last_start;
    int64_t n = job_history_pending_runs(from, until, w->interval_s * USEC_PER_SEC,
                                         w->grace_s * USEC_PER_SEC);
    int64_t unstarted = w->expected - job_history_started(w);
    if (n > unstarted)
        n = unstarted > 0 ? unstarted : 0;
    *pending = n;
    return 0;
}

struct latest_settings {
    struct scheduler_start *out;
    int64_t at;
    bool found;
};

static int keep_latest(void *ctx, const struct scheduler_start *r)
{
    struct latest_settings *l = ctx;
    if (r->scheduler && r->settings_known && r->started_at <= l->at) {
        *l->out = *r;
        l->found = true;
    }
    return 0;
}

int job_history_settings_at(struct store *s, int64_t at, struct scheduler_start *out)
{
    memset(out, 0, sizeof *out);
    struct latest_settings l = {.out = out, .at = at};
    int rc = s->ops->scheduler_start_list(s, at, at + 1, keep_latest, &l);
    if (rc)
        return rc;
    return l.found ? 0 : store_fail(s, STORE_ERR_NOT_FOUND, "no scheduler start recorded");
}

int job_history_leader(struct store *s, int64_t *since, char owner[64])
{
    return s->ops->scheduler_last_start(s, since, owner);
}
