/* sqlite_checks.c — the SQLite store's recorded checks: the staged changes
 * to the open violations, recording a check, reading checks and violations. */
#include "store/sqlite/sqlite_private.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- recorded checks and open violations -------------------------------- */

int sq_violation_first_seen(struct store *s, int64_t user, const char *spec,
                            const char *issue, int64_t *first_seen)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_FIRST_SEEN);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_text(st, 2, spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, issue, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "open violation");
    if (rc)
        return rc;
    *first_seen = sq_col_time(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* Grow an array of staged violations by one; NULL when out of memory. */
static struct staged_violation *stage_push(struct staged_violation **arr, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct staged_violation *p = realloc(*arr, c * sizeof *p);
        if (!p)
            return NULL;
        *arr = p;
        *cap = c;
    }
    struct staged_violation *v = &(*arr)[(*n)++];
    memset(v, 0, sizeof *v);
    return v;
}

void sq_stage_clear(struct stage *st)
{
    for (size_t i = 0; i < st->n_upserts; i++)
        free(st->upserts[i].email);
    free(st->upserts);
    free(st->resolved);
    intern_free(&st->names);
    memset(st, 0, sizeof *st);
}

int sq_check_stage_reset(struct store *s)
{
    struct stage *st = &SS(s)->stage;
    sq_stage_clear(st);
    st->open = true;
    return 0;
}

/* A violation of the check: nothing to write when it is the pair's open
 * violation unchanged; otherwise it is staged to be opened or updated. */
int sq_check_stage_add(struct store *s, const struct violation *v, bool unchanged)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_add before check_stage_reset");
    if (unchanged)
        return 0;
    struct staged_violation *u = stage_push(&st->upserts, &st->n_upserts, &st->cap_upserts);
    if (!u || intern_add(&st->names, v->spec, &u->spec) != 0 ||
        intern_add(&st->names, v->issue_type, &u->issue) != 0 ||
        intern_add(&st->names, v->recommended_action, &u->action) != 0 ||
        !(u->email = strdup(v->user_email))) {
        if (u)
            st->n_upserts--;
        return store_fail(s, STORE_ERR, "out of memory");
    }
    u->user = v->user_id;
    u->has_progress = v->has_progress;
    u->has_license = v->has_license;
    u->progress_level = v->progress_level;
    u->license_level = v->license_level;
    u->first_seen = v->first_seen;
    return 0;
}

/* An open violation the check no longer finds: staged to be resolved. */
int sq_check_stage_resolve(struct store *s, int64_t user, const char *spec,
                           const char *issue)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_resolve before check_stage_reset");
    struct staged_violation *v = stage_push(&st->resolved, &st->n_resolved, &st->cap_resolved);
    if (!v || intern_add(&st->names, spec, &v->spec) != 0 ||
        intern_add(&st->names, issue, &v->issue) != 0) {
        if (v)
            st->n_resolved--;
        return store_fail(s, STORE_ERR, "out of memory");
    }
    v->user = user;
    return 0;
}

int sq_check_stage_complete(struct store *s)
{
    struct stage *st = &SS(s)->stage;
    if (!st->open)
        return store_fail(s, STORE_ERR, "check_stage_complete before check_stage_reset");
    st->complete = true;
    return 0;
}

/* The strings bound are the stage's names: nothing is interned while they
 * are bound (the record only reads the stage). */
static void bind_key(sqlite3_stmt *st, const struct stage *stg, const struct staged_violation *v)
{
    sqlite3_bind_int64(st, 1, v->user);
    sqlite3_bind_text(st, 2, intern_str(&stg->names, v->spec), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, intern_str(&stg->names, v->issue), -1, SQLITE_STATIC);
}

static void bind_level_or_null(sqlite3_stmt *st, int i, bool has, int level)
{
    if (has)
        sqlite3_bind_int(st, i, level);
    else
        sqlite3_bind_null(st, i);
}

/* A staged violation's key and what the check saw of it: ?1 … ?7 of the
 * statements that update or open it. */
static void bind_violation(sqlite3_stmt *st, const struct stage *stg,
                           const struct staged_violation *v)
{
    bind_key(st, stg, v);
    sqlite3_bind_text(st, 4, v->email, -1, SQLITE_STATIC);
    bind_level_or_null(st, 5, v->has_progress, v->progress_level);
    bind_level_or_null(st, 6, v->has_license, v->license_level);
    sqlite3_bind_text(st, 7, intern_str(&stg->names, v->action), -1, SQLITE_STATIC);
}

int sq_check_record(struct store *s, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    struct stage *stg = &ss->stage;
    bool incremental = !strcmp(c->kind, "incremental");
    if (!incremental && (!stg->open || !stg->complete))
        return store_fail(s, STORE_ERR, "check_record needs a complete full pair scan after "
                                        "check_stage_reset");
    int rc = sq_begin(s, STORE_TXN_WRITE);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_INSERT);
    if (!st) {
        rc = STORE_ERR;
        goto out;
    }
    sq_bind_time(st, 1, c->timestamp);
    sqlite3_bind_int64(st, 2, c->total_checked);
    sqlite3_bind_int64(st, 3, c->consistent);
    sqlite3_bind_int64(st, 4, c->inconsistent);
    sqlite3_bind_double(st, 5, c->consistency_rate);
    sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, c->trigger, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 8, c->duration_ms);
    sqlite3_bind_text(st, 9, c->report_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, c->file_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, c->users_checked);
    sqlite3_bind_text(st, 12, c->read.source[0] ? c->read.source : "primary", -1, SQLITE_STATIC);
    if (c->read.has_replica_lag)
        sqlite3_bind_double(st, 13, c->read.replica_lag_seconds);
    else
        sqlite3_bind_null(st, 13);
    sqlite3_bind_text(st, 14, c->read.replica_fallback, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 15, c->kind[0] ? c->kind : "full", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 16, c->divergences);
    if ((rc = sq_exec_stmt(ss, st, "record check")) != 0)
        goto out;
    c->id = sqlite3_last_insert_rowid(ss->db);
    if (incremental) /* the watcher's state: the open violations are already it */
        return sq_commit(s);
    for (size_t i = 0; i < stg->n_resolved; i++) {
        if (!(st = sq_stmt(ss, ST_VIOLATION_RESOLVE))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_key(st, stg, &stg->resolved[i]);
        sq_bind_time(st, 4, c->timestamp);
        sqlite3_bind_int64(st, 5, c->id);
        if ((rc = sq_exec_stmt(ss, st, "resolve violation")) != 0)
            goto out;
    }
    for (size_t i = 0; i < stg->n_upserts; i++) {
        const struct staged_violation *v = &stg->upserts[i];
        if (!(st = sq_stmt(ss, ST_VIOLATION_UPDATE_OPEN))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_violation(st, stg, v);
        sqlite3_bind_int64(st, 8, c->id);
        if ((rc = sq_exec_stmt(ss, st, "update open violation")) != 0)
            goto out;
        if (sqlite3_changes(ss->db) > 0)
            continue;
        if (!(st = sq_stmt(ss, ST_VIOLATION_INSERT))) {
            rc = STORE_ERR;
            goto out;
        }
        bind_violation(st, stg, v);
        sq_bind_time(st, 8, v->first_seen ? v->first_seen : c->timestamp);
        sqlite3_bind_int64(st, 9, c->id);
        if ((rc = sq_exec_stmt(ss, st, "open violation")) != 0)
            goto out;
    }
    if ((rc = sq_commit(s)) == 0)
        sq_stage_clear(stg);
    return rc;
out:
    sq_rollback(s);
    return rc;
}

int sq_check_set_file(struct store *s, int64_t id, const char *file, const char *error)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_SET_FILE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, file ? file : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, error ? error : "", -1, SQLITE_STATIC);
    return sq_exec_stmt(ss, st, "record check file");
}

static void read_check(sqlite3_stmt *st, struct check_run *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    c->timestamp = sq_col_time(st, 1);
    c->total_checked = sqlite3_column_int64(st, 2);
    c->consistent = sqlite3_column_int64(st, 3);
    c->inconsistent = sqlite3_column_int64(st, 4);
    c->consistency_rate = sqlite3_column_double(st, 5);
    sq_col_copy(st, 6, c->status, sizeof c->status);
    sq_col_copy(st, 7, c->trigger, sizeof c->trigger);
    c->duration_ms = sqlite3_column_double(st, 8);
    sq_col_copy(st, 9, c->report_file, sizeof c->report_file);
    sq_col_copy(st, 10, c->file_error, sizeof c->file_error);
    c->users_checked = sqlite3_column_int64(st, 11);
    sq_col_copy(st, 12, c->read.source, sizeof c->read.source);
    c->read.has_replica_lag = sqlite3_column_type(st, 13) != SQLITE_NULL;
    c->read.replica_lag_seconds = sqlite3_column_double(st, 13);
    sq_col_copy(st, 14, c->read.replica_fallback, sizeof c->read.replica_fallback);
    sq_col_copy(st, 15, c->kind, sizeof c->kind);
    c->divergences = sqlite3_column_int64(st, 16);
}

static int get_check(struct sqlite_store *ss, sqlite3_stmt *st, struct check_run *c)
{
    int rc = sq_step_one(ss, st, "check");
    if (rc)
        return rc;
    read_check(st, c);
    sqlite3_reset(st);
    return 0;
}

int sq_check_latest(struct store *s, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_LATEST);
    return st ? get_check(ss, st, c) : STORE_ERR;
}

int sq_check_get(struct store *s, int64_t id, struct check_run *c)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return get_check(ss, st, c);
}

int sq_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                  store_check_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_CHECK_LIST);
    if (!st)
        return STORE_ERR;
    sq_bind_range(st, 1, since, until);
    sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct check_run c;
        read_check(st, &c);
        if ((out = cb(ctx, &c)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list checks");
    sqlite3_reset(st);
    return out;
}

static int each_violation(struct sqlite_store *ss, sqlite3_stmt *st, store_violation_cb cb,
                          void *ctx)
{
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct violation v;
        memset(&v, 0, sizeof v);
        v.user_id = sqlite3_column_int64(st, 0);
        sq_col_copy(st, 1, v.user_email, sizeof v.user_email);
        sq_col_copy(st, 2, v.spec, sizeof v.spec);
        sq_col_copy(st, 3, v.issue_type, sizeof v.issue_type);
        v.has_progress = sqlite3_column_type(st, 4) != SQLITE_NULL;
        v.progress_level = sqlite3_column_int(st, 4);
        v.has_license = sqlite3_column_type(st, 5) != SQLITE_NULL;
        v.license_level = sqlite3_column_int(st, 5);
        sq_col_copy(st, 6, v.recommended_action, sizeof v.recommended_action);
        v.first_seen = sq_col_time(st, 7);
        if ((out = cb(ctx, &v)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sq_fail(ss, rc, "list violations");
    sqlite3_reset(st);
    return out;
}

int sq_violations_open(struct store *s, const char *spec, store_violation_cb cb,
                       void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, spec ? ST_VIOLATIONS_OPEN_SPEC : ST_VIOLATIONS_OPEN_ALL);
    if (!st)
        return STORE_ERR;
    if (spec)
        sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
    return each_violation(ss, st, cb, ctx);
}

/* The violations statement `id` finds after a time (0: since the start). */
static int violations_since(struct store *s, enum stmt_id id, int64_t since,
                            store_violation_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, id);
    if (!st)
        return STORE_ERR;
    sq_bind_time(st, 1, since ? since : 1);
    return each_violation(ss, st, cb, ctx);
}

int sq_violations_new_since(struct store *s, int64_t since, store_violation_cb cb,
                            void *ctx)
{
    return violations_since(s, ST_VIOLATIONS_NEW_SINCE, since, cb, ctx);
}

int sq_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                 void *ctx)
{
    return violations_since(s, ST_VIOLATIONS_RESOLVED_SINCE, since, cb, ctx);
}

int sq_violations_open_page(struct store *s, const char *spec, int64_t limit,
                            int64_t offset, store_violation_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_OPEN_PAGE);
    if (!st)
        return STORE_ERR;
    sq_bind_text_or_null(st, 1, spec);
    sqlite3_bind_int64(st, 2, limit);
    sqlite3_bind_int64(st, 3, offset);
    return each_violation(ss, st, cb, ctx);
}

int sq_violations_open_count(struct store *s, const char *spec, int64_t *count)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATIONS_OPEN_COUNT);
    if (!st)
        return STORE_ERR;
    sq_bind_text_or_null(st, 1, spec);
    int rc = sq_step_one(ss, st, "count violations");
    if (rc)
        return rc;
    *count = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}
