/* sqlite_jobs.c — the SQLite store's record of jobs: sync runs,
 * scheduler starts, job runs and baselines. */
#include "store/columns.h"
#include "store/sqlite/sqlite_private.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sync runs and audit -------------------------------------------------- */

int sq_sync_run_insert(struct store *s, struct sync_run *r)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SYNC_RUN_INSERT);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, r->started_at);
    sq_bind_time(st, 2, r->finished_at);
    sqlite3_bind_text(st, 3, r->trigger, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->direction, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, r->dry_run);
    sq_bind_id_or_null(st, 6, r->scope_user);
    sq_bind_text_or_null(st, 7, r->scope_spec[0] ? r->scope_spec : NULL);
    sqlite3_bind_int64(st, 8, r->total_issues);
    sqlite3_bind_int64(st, 9, r->synced_count);
    sqlite3_bind_int64(st, 10, r->failed_count);
    sqlite3_bind_int(st, 11, r->success);
    sqlite3_bind_text(st, 12, r->log_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, r->status[0] ? r->status : "finished", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, r->owner, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "record sync run");
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

static int each_sync_run(struct sqlite_store *ss, sqlite3_stmt *st, store_sync_run_cb cb,
                         void *ctx)
{
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sync_run r;
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(st, 0);
        r.started_at = sq_col_time(st, 1);
        r.finished_at = sq_col_time(st, 2);
        sq_col_copy(st, 3, r.trigger, sizeof r.trigger);
        sq_col_copy(st, 4, r.direction, sizeof r.direction);
        r.dry_run = sqlite3_column_int(st, 5) != 0;
        r.scope_user = sqlite3_column_int64(st, 6);
        sq_col_copy(st, 7, r.scope_spec, sizeof r.scope_spec);
        r.total_issues = sqlite3_column_int64(st, 8);
        r.synced_count = sqlite3_column_int64(st, 9);
        r.failed_count = sqlite3_column_int64(st, 10);
        r.success = sqlite3_column_int(st, 11) != 0;
        sq_col_copy(st, 12, r.log_file, sizeof r.log_file);
        sq_col_copy(st, 13, r.error, sizeof r.error);
        sq_col_copy(st, 14, r.status, sizeof r.status);
        sq_col_copy(st, 15, r.owner, sizeof r.owner);
        if ((out = cb(ctx, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list sync runs");
    sqlite3_reset(st);
    return out;
}

int sq_sync_run_list(struct store *s, int64_t since, store_sync_run_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SYNC_RUN_LIST);
    if (!st)
        return STORE_ERR;
    sq_bind_range(st, 1, since, 0);
    return each_sync_run(ss, st, cb, ctx);
}

int sq_sync_run_list_running(struct store *s, store_sync_run_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SYNC_RUN_RUNNING);
    if (!st)
        return STORE_ERR;
    return each_sync_run(ss, st, cb, ctx);
}

int sq_sync_run_count_repair(struct store *s, int64_t id)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SYNC_RUN_COUNT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return sq_exec_stmt(ss, st, "count a sync repair");
}

int sq_sync_run_finish(struct store *s, const struct sync_run *r)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SYNC_RUN_FINISH);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, r->id);
    sq_bind_time(st, 2, r->finished_at);
    sqlite3_bind_int64(st, 3, r->total_issues);
    sqlite3_bind_int64(st, 4, r->synced_count);
    sqlite3_bind_int64(st, 5, r->failed_count);
    sqlite3_bind_int(st, 6, r->success);
    sqlite3_bind_text(st, 7, r->log_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->status, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "finish sync run");
    if (rc == 0 && sqlite3_changes(ss->db) == 0)
        return store_fail(s, STORE_ERR_NOT_FOUND, "sync run %lld is not running",
                          (long long)r->id);
    return rc;
}

/* ---- scheduler history ---------------------------------------------------- */

int sq_scheduler_start_insert(struct store *s, struct scheduler_start *r)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SCHED_START_INSERT);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, r->started_at);
    sqlite3_bind_text(st, 2, r->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, r->scheduler ? 1 : 0);
    sqlite3_bind_int64(st, 4, r->check_interval);
    sqlite3_bind_int64(st, 5, r->sync_interval);
    sqlite3_bind_int64(st, 6, r->check_misfire_grace);
    sqlite3_bind_int64(st, 7, r->sync_misfire_grace);
    int rc = sq_exec_stmt(ss, st, "record scheduler start");
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_scheduler_start_list(struct store *s, int64_t since, int64_t until,
                            store_sched_start_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SCHED_START_LIST);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, since);
    sq_bind_time(st, 2, until);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct scheduler_start r;
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(st, 0);
        r.started_at = sq_col_time(st, 1);
        sq_col_copy(st, 2, r.owner, sizeof r.owner);
        r.scheduler = sqlite3_column_int(st, 3) != 0;
        r.settings_known = sqlite3_column_type(st, 4) != SQLITE_NULL;
        r.check_interval = sqlite3_column_int64(st, 4);
        r.sync_interval = sqlite3_column_int64(st, 5);
        r.check_misfire_grace = sqlite3_column_int64(st, 6);
        r.sync_misfire_grace = sqlite3_column_int64(st, 7);
        if ((out = cb(ctx, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list scheduler starts");
    sqlite3_reset(st);
    return out;
}

int sq_scheduler_last_start(struct store *s, int64_t *when, char owner[64])
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SCHED_LAST_START);
    if (!st)
        return STORE_ERR;
    int rc = sq_step_one(ss, st, "scheduler start");
    if (rc)
        return rc;
    *when = sq_col_time(st, 0);
    sq_col_copy(st, 1, owner, 64);
    sqlite3_reset(st);
    return 0;
}

int sq_scheduler_first_start(struct store *s, int64_t *when)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_SCHED_FIRST_START);
    return st ? sq_first_time(ss, st, when, "scheduler start") : STORE_ERR;
}

int sq_job_run_insert(struct store *s, struct job_run *r)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUN_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, r->job_id, -1, SQLITE_STATIC);
    sq_bind_time(st, 2, r->due_at);
    sq_bind_time(st, 3, r->started_at);
    sq_bind_time(st, 4, r->finished_at);
    sqlite3_bind_text(st, 5, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, r->owner, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "record job run");
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_job_run_finish(struct store *s, int64_t id, const char *status, const char *error,
                      int64_t finished_at)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUN_FINISH);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
    sq_bind_time(st, 4, finished_at);
    return sq_exec_stmt(ss, st, "finish job run");
}

int sq_job_runs_interrupt_stale(struct store *s, int64_t when, int64_t *n)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUNS_INTERRUPT);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, when);
    int rc = sq_exec_stmt(ss, st, "mark interrupted job runs");
    if (rc == 0 && n)
        *n = sqlite3_changes(ss->db);
    return rc;
}

int sq_job_run_stats(struct store *s, const char *job, int64_t since, int64_t until,
                     struct job_stats *stats)
{
    struct sqlite_store *ss = SS(s);
    memset(stats, 0, sizeof *stats);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUN_STATS);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sq_bind_range(st, 2, since, until);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        if (!strcmp(status, "success"))
            stats->ok = n;
        else if (!strcmp(status, "failed"))
            stats->failed = n;
        else if (!strcmp(status, "missed"))
            stats->missed = n;
        else if (!strcmp(status, "skipped"))
            stats->skipped = n;
        else if (!strcmp(status, "interrupted"))
            stats->interrupted = n;
        else if (!strcmp(status, "running"))
            stats->running = n;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(ss, rc, "job run counts");
    if (!(st = sq_stmt(ss, ST_JOB_RUN_LAST)))
        return STORE_ERR;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_col_copy(st, 0, stats->last_status, sizeof stats->last_status);
        stats->last_started_at = sq_col_time(st, 1);
        stats->last_due_at = sq_col_time(st, 2);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(ss, rc, "last job run");
    if (!(st = sq_stmt(ss, ST_JOB_RUN_LAST_SUCCESS)))
        return STORE_ERR;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    rc = sq_first_time(ss, st, &stats->last_success_at, "last successful run");
    return rc == STORE_ERR_NOT_FOUND ? 0 : rc;
}

int sq_job_run_list(struct store *s, const char *job, int64_t since, int64_t until,
                    int64_t limit, store_job_run_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUN_LIST);
    if (!st)
        return STORE_ERR;
    sq_bind_text_or_null(st, 1, job);
    sq_bind_range(st, 2, since, until);
    sqlite3_bind_int64(st, 4, limit > 0 ? limit : -1);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct job_run r;
        memset(&r, 0, sizeof r);
        r.id = sqlite3_column_int64(st, 0);
        sq_col_copy(st, 1, r.job_id, sizeof r.job_id);
        r.due_at = sq_col_time(st, 2);
        r.started_at = sq_col_time(st, 3);
        r.finished_at = sq_col_time(st, 4);
        sq_col_copy(st, 5, r.status, sizeof r.status);
        sq_col_copy(st, 6, r.error, sizeof r.error);
        sq_col_copy(st, 7, r.owner, sizeof r.owner);
        if ((out = cb(ctx, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list job runs");
    sqlite3_reset(st);
    return out;
}

int sq_job_run_last_due(struct store *s, const char *job, int64_t *due)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_JOB_RUN_LAST_DUE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    return sq_first_time(ss, st, due, "last job run");
}

/* ---- baselines ------------------------------------------------------------ */

static void read_baseline(sqlite3_stmt *st, struct baseline *b)
{
    memset(b, 0, sizeof *b);
    b->id = sqlite3_column_int64(st, 0);
    b->check_id = sqlite3_column_int64(st, 1);
    b->created_at = sq_col_time(st, 2);
    sq_col_copy(st, 3, b->file, sizeof b->file);
    sq_col_copy(st, 4, b->note, sizeof b->note);
}

int sq_baseline_insert(struct store *s, struct baseline *b)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_BASELINE_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, b->check_id);
    sq_bind_time(st, 2, b->created_at);
    sqlite3_bind_text(st, 3, b->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b->note, -1, SQLITE_STATIC);
    int rc = sq_exec_stmt(ss, st, "record baseline");
    if (rc == 0)
        b->id = sqlite3_last_insert_rowid(ss->db);
    return rc;
}

int sq_baseline_get(struct store *s, int64_t id, struct baseline *b)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, id ? ST_BASELINE_GET : ST_BASELINE_LATEST);
    if (!st)
        return STORE_ERR;
    if (id)
        sqlite3_bind_int64(st, 1, id);
    int rc = sq_step_one(ss, st, "baseline");
    if (rc)
        return rc;
    read_baseline(st, b);
    sqlite3_reset(st);
    return 0;
}

int sq_baseline_list(struct store *s, store_baseline_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_BASELINE_LIST);
    if (!st)
        return STORE_ERR;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct baseline b;
        read_baseline(st, &b);
        if ((out = cb(ctx, &b)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list baselines");
    sqlite3_reset(st);
    return out;
}

int sq_baseline_set_file(struct store *s, int64_t id, const char *file)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_BASELINE_SET_FILE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "record baseline file");
}
