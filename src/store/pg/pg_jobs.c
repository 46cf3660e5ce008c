/* pg_jobs.c — the PostgreSQL store's record of jobs: sync runs,
 * scheduler starts, job runs and baselines. */
#include "store/columns.h"
#include "store/pg/pg_private.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sync runs, audit, refresh tokens ------------------------------------------------ */

int pg_sync_run_insert(struct store *s, struct sync_run *r)
{
    struct params p = {0};
    p_time(&p, 0, r->started_at);
    p_time(&p, 1, r->finished_at);
    p.v[2] = r->trigger;
    p.v[3] = r->direction;
    p_bool(&p, 4, r->dry_run);
    p_id_or_null(&p, 5, r->scope_user);
    p.v[6] = r->scope_spec[0] ? r->scope_spec : NULL;
    p_i64(&p, 7, r->total_issues);
    p_i64(&p, 8, r->synced_count);
    p_i64(&p, 9, r->failed_count);
    p_bool(&p, 10, r->success);
    p.v[11] = r->log_file;
    p.v[12] = r->error;
    p.v[13] = r->status[0] ? r->status : "finished";
    p.v[14] = r->owner;
    int rc;
    PGresult *res = pg_run(PS(s), Q_SYNC_RUN_INSERT, 15, p.v, "record sync run", &rc);
    if (!res)
        return rc;
    r->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

static int each_sync_run(PGresult *res, store_sync_run_cb cb, void *ctx)
{
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct sync_run r;
        memset(&r, 0, sizeof r);
        r.id = c_i64(res, i, 0);
        r.started_at = c_time(res, i, 1);
        r.finished_at = c_time(res, i, 2);
        c_copy(res, i, 3, r.trigger, sizeof r.trigger);
        c_copy(res, i, 4, r.direction, sizeof r.direction);
        r.dry_run = c_bool(res, i, 5);
        r.scope_user = c_i64(res, i, 6);
        c_copy(res, i, 7, r.scope_spec, sizeof r.scope_spec);
        r.total_issues = c_i64(res, i, 8);
        r.synced_count = c_i64(res, i, 9);
        r.failed_count = c_i64(res, i, 10);
        r.success = c_bool(res, i, 11);
        c_copy(res, i, 12, r.log_file, sizeof r.log_file);
        c_copy(res, i, 13, r.error, sizeof r.error);
        c_copy(res, i, 14, r.status, sizeof r.status);
        c_copy(res, i, 15, r.owner, sizeof r.owner);
        out = cb(ctx, &r);
    }
    PQclear(res);
    return out;
}

int pg_sync_run_list(struct store *s, int64_t since, store_sync_run_cb cb, void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since);
    int rc;
    PGresult *res = pg_run(PS(s), Q_SYNC_RUN_LIST, 1, p.v, "list sync runs", &rc);
    return res ? each_sync_run(res, cb, ctx) : rc;
}

int pg_sync_run_list_running(struct store *s, store_sync_run_cb cb, void *ctx)
{
    int rc;
    PGresult *res = pg_run(PS(s), Q_SYNC_RUN_RUNNING, 0, NULL, "list running sync runs", &rc);
    return res ? each_sync_run(res, cb, ctx) : rc;
}

int pg_sync_run_count_repair(struct store *s, int64_t id)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    return pg_exec_q(PS(s), Q_SYNC_RUN_COUNT, 1, p.v, "count a sync repair");
}

int pg_sync_run_finish(struct store *s, const struct sync_run *r)
{
    struct params p = {0};
    p_i64(&p, 0, r->id);
    p_time(&p, 1, r->finished_at);
    p_i64(&p, 2, r->total_issues);
    p_i64(&p, 3, r->synced_count);
    p_i64(&p, 4, r->failed_count);
    p_bool(&p, 5, r->success);
    p.v[6] = r->log_file;
    p.v[7] = r->error;
    p.v[8] = r->status;
    int rc;
    PGresult *res = pg_run(PS(s), Q_SYNC_RUN_FINISH, 9, p.v, "finish sync run", &rc);
    if (!res)
        return rc;
    int changed = pg_count_changed(res);
    PQclear(res);
    return changed ? 0 : store_fail(s, STORE_ERR_NOT_FOUND, "sync run %lld is not running",
                                    (long long)r->id);
}

/* ---- scheduler history (leadership: pg_lease.c) -------------------------------------- */

int pg_scheduler_start_insert(struct store *s, struct scheduler_start *r)
{
    struct params p = {0};
    p_time(&p, 0, r->started_at);
    p.v[1] = r->owner;
    p_bool(&p, 2, r->scheduler);
    p_i64(&p, 3, r->check_interval);
    p_i64(&p, 4, r->sync_interval);
    p_i64(&p, 5, r->check_misfire_grace);
    p_i64(&p, 6, r->sync_misfire_grace);
    int rc;
    PGresult *res = pg_one(PS(s), Q_SCHED_START_INSERT, 7, p.v, "record scheduler start", &rc);
    if (!res)
        return rc;
    r->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_scheduler_start_list(struct store *s, int64_t since, int64_t until,
                            store_sched_start_cb cb, void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since);
    p_time(&p, 1, until);
    int rc;
    PGresult *res = pg_run(PS(s), Q_SCHED_START_LIST, 2, p.v, "list scheduler starts", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct scheduler_start r;
        memset(&r, 0, sizeof r);
        r.id = c_i64(res, i, 0);
        r.started_at = c_time(res, i, 1);
        c_copy(res, i, 2, r.owner, sizeof r.owner);
        r.scheduler = c_bool(res, i, 3);
        r.settings_known = !PQgetisnull(res, i, 4);
        r.check_interval = c_i64(res, i, 4);
        r.sync_interval = c_i64(res, i, 5);
        r.check_misfire_grace = c_i64(res, i, 6);
        r.sync_misfire_grace = c_i64(res, i, 7);
        out = cb(ctx, &r);
    }
    PQclear(res);
    return out;
}

int pg_scheduler_first_start(struct store *s, int64_t *when)
{
    return pg_one_time(PS(s), Q_SCHED_FIRST_START, 0, NULL, when, "scheduler start");
}

int pg_scheduler_last_start(struct store *s, int64_t *when, char owner[64])
{
    int rc;
    PGresult *res = pg_one(PS(s), Q_SCHED_LAST_START, 0, NULL, "scheduler start", &rc);
    if (!res)
        return rc;
    *when = c_time(res, 0, 0);
    c_copy(res, 0, 1, owner, 64);
    PQclear(res);
    return 0;
}

int pg_job_run_insert(struct store *s, struct job_run *r)
{
    struct params p = {0};
    p.v[0] = r->job_id;
    p_time(&p, 1, r->due_at);
    p_time(&p, 2, r->started_at);
    p_time(&p, 3, r->finished_at);
    p.v[4] = r->status;
    p.v[5] = r->error;
    p.v[6] = r->owner;
    int rc;
    PGresult *res = pg_run(PS(s), Q_JOB_RUN_INSERT, 7, p.v, "record job run", &rc);
    if (!res)
        return rc;
    r->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_job_run_finish(struct store *s, int64_t id, const char *status, const char *error,
                      int64_t finished_at)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p.v[1] = status;
    p.v[2] = error ? error : "";
    p_time(&p, 3, finished_at);
    return pg_exec_q(PS(s), Q_JOB_RUN_FINISH, 4, p.v, "finish job run");
}

int pg_job_runs_interrupt_stale(struct store *s, int64_t when, int64_t *n)
{
    struct params p = {0};
    p_time(&p, 0, when);
    int rc;
    PGresult *res = pg_run(PS(s), Q_JOB_RUNS_INTERRUPT, 1, p.v, "mark interrupted job runs", &rc);
    if (!res)
        return rc;
    if (n)
        *n = pg_count_changed(res);
    PQclear(res);
    return 0;
}

int pg_job_run_stats(struct store *s, const char *job, int64_t since, int64_t until,
                     struct job_stats *st)
{
    struct pg_store *ps = PS(s);
    memset(st, 0, sizeof *st);
    struct params p = {0};
    p.v[0] = job;
    p_time(&p, 1, since);
    p_time(&p, 2, until);
    int rc;
    PGresult *res = pg_run(ps, Q_JOB_RUN_STATS, 3, p.v, "job run counts", &rc);
    if (!res)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *status = PQgetvalue(res, i, 0);
        int64_t n = c_i64(res, i, 1);
        if (!strcmp(status, "success"))
            st->ok = n;
        else if (!strcmp(status, "failed"))
            st->failed = n;
        else if (!strcmp(status, "missed"))
            st->missed = n;
        else if (!strcmp(status, "skipped"))
            st->skipped = n;
        else if (!strcmp(status, "interrupted"))
            st->interrupted = n;
        else if (!strcmp(status, "running"))
            st->running = n;
    }
    PQclear(res);
    res = pg_run(ps, Q_JOB_RUN_LAST, 1, p.v, "last job run", &rc);
    if (!res)
        return rc;
    if (PQntuples(res)) {
        c_copy(res, 0, 0, st->last_status, sizeof st->last_status);
        st->last_started_at = c_time(res, 0, 1);
        st->last_due_at = c_time(res, 0, 2);
    }
    PQclear(res);
    rc = pg_one_time(ps, Q_JOB_RUN_LAST_SUCCESS, 1, p.v, &st->last_success_at,
                  "last successful run");
    return rc == STORE_ERR_NOT_FOUND ? 0 : rc;
}

int pg_job_run_list(struct store *s, const char *job, int64_t since, int64_t until,
                    int64_t limit, store_job_run_cb cb, void *ctx)
{
    struct params p = {0};
    p.v[0] = job;
    p_time(&p, 1, since);
    p_time(&p, 2, until);
    if (limit > 0)
        p_i64(&p, 3, limit);
    int rc;
    PGresult *res = pg_run(PS(s), Q_JOB_RUN_LIST, 4, p.v, "list job runs", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct job_run r;
        memset(&r, 0, sizeof r);
        r.id = c_i64(res, i, 0);
        c_copy(res, i, 1, r.job_id, sizeof r.job_id);
        r.due_at = c_time(res, i, 2);
        r.started_at = c_time(res, i, 3);
        r.finished_at = c_time(res, i, 4);
        c_copy(res, i, 5, r.status, sizeof r.status);
        c_copy(res, i, 6, r.error, sizeof r.error);
        c_copy(res, i, 7, r.owner, sizeof r.owner);
        out = cb(ctx, &r);
    }
    PQclear(res);
    return out;
}

int pg_job_run_last_due(struct store *s, const char *job, int64_t *due)
{
    const char *v[1] = {job};
    return pg_one_time(PS(s), Q_JOB_RUN_LAST_DUE, 1, v, due, "last job run");
}

/* ---- baselines ------------------------------------------------------------------------- */

static void read_baseline(PGresult *r, int i, struct baseline *b)
{
    memset(b, 0, sizeof *b);
    b->id = c_i64(r, i, 0);
    b->check_id = c_i64(r, i, 1);
    b->created_at = c_time(r, i, 2);
    c_copy(r, i, 3, b->file, sizeof b->file);
    c_copy(r, i, 4, b->note, sizeof b->note);
}

int pg_baseline_insert(struct store *s, struct baseline *b)
{
    struct params p = {0};
    p_i64(&p, 0, b->check_id);
    p_time(&p, 1, b->created_at);
    p.v[2] = b->file;
    p.v[3] = b->note;
    int rc;
    PGresult *res = pg_run(PS(s), Q_BASELINE_INSERT, 4, p.v, "record baseline", &rc);
    if (!res)
        return rc;
    b->id = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}

int pg_baseline_get(struct store *s, int64_t id, struct baseline *b)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    int rc;
    PGresult *res = pg_one(PS(s), id ? Q_BASELINE_GET : Q_BASELINE_LATEST, id ? 1 : 0, p.v,
                        "baseline", &rc);
    if (!res)
        return rc;
    read_baseline(res, 0, b);
    PQclear(res);
    return 0;
}

int pg_baseline_list(struct store *s, store_baseline_cb cb, void *ctx)
{
    int rc;
    PGresult *res = pg_run(PS(s), Q_BASELINE_LIST, 0, NULL, "list baselines", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct baseline b;
        read_baseline(res, i, &b);
        out = cb(ctx, &b);
    }
    PQclear(res);
    return out;
}

int pg_baseline_set_file(struct store *s, int64_t id, const char *file)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p.v[1] = file;
    return pg_exec_q(PS(s), Q_BASELINE_SET_FILE, 2, p.v, "record baseline file");
}
