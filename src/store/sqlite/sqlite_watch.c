/* sqlite_watch.c — the SQLite store's side of the watcher (watch.md): the
 * pending change rows, the pairs they name as they are now, the open
 * violations moved and the watch_state counts kept. */
#include "store/sqlite/sqlite_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

int sq_watch_state_get(struct store *s, struct watch_state *out)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_STATE_GET);
    if (!st)
        return STORE_ERR;
    int rc = sq_step_one(ss, st, "read the watch state");
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->initialized = sqlite3_column_int(st, 0) != 0;
    out->sweep_requested = sqlite3_column_int(st, 1) != 0;
    out->pairs = sqlite3_column_int64(st, 2);
    out->users = sqlite3_column_int64(st, 3);
    out->violations = sqlite3_column_int64(st, 4);
    out->version = sqlite3_column_int64(st, 5);
    out->applied_at = sq_col_time(st, 6);
    out->last_full_at = sq_col_time(st, 7);
    out->last_full_check_id = sqlite3_column_int64(st, 8);
    out->divergences_total = sqlite3_column_int64(st, 9);
    out->last_lag_seconds = sqlite3_column_double(st, 10);
    sqlite3_reset(st);
    return 0;
}

int sq_watch_pending(struct store *s, int64_t *count, double *oldest)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_PENDING);
    if (!st)
        return STORE_ERR;
    int rc = sq_step_one(ss, st, "count pending changes");
    if (rc)
        return rc;
    *count = sqlite3_column_int64(st, 0);
    *oldest = sqlite3_column_double(st, 1);
    sqlite3_reset(st);
    return 0;
}

int sq_watch_changes(struct store *s, int64_t max_rows, store_change_cb cb, void *ctx)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_CHANGES);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, max_rows > 0 ? max_rows : -1);
    struct pair_change c;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        c.id = sqlite3_column_int64(st, 0);
        c.user_id = sqlite3_column_int64(st, 1);
        sq_col_copy(st, 2, c.spec, sizeof c.spec);
        c.delta = sqlite3_column_int(st, 3);
        c.changed_at = sqlite3_column_double(st, 4);
        int stop = cb(ctx, &c);
        if (stop) {
            sqlite3_reset(st);
            return stop;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read pending changes");
}

/* One side of a pair: how many rows, and the level of the first. */
static int read_side(struct sqlite_store *ss, enum stmt_id id, const struct pair_key *k,
                     int64_t *rows, int *level, bool *level_null)
{
    sqlite3_stmt *st = sq_stmt(ss, id);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, k->user_id);
    sqlite3_bind_text(st, 2, k->spec, -1, SQLITE_STATIC);
    int rc;
    *rows = 0;
    *level = 0;
    *level_null = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((*rows)++ > 0)
            continue;
        /* As the scan decodes it: an integer that fits, else invalid. */
        if (sqlite3_column_type(st, 2) == SQLITE_INTEGER) {
            int64_t v = sqlite3_column_int64(st, 2);
            if (v > INT32_MIN && v <= INT32_MAX)
                *level = (int)v;
            else
                *level_null = true;
        } else {
            *level_null = true;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read a changed pair");
}

/* The specializations' maximum levels, read once per pairs_get. */
struct spec_max {
    char id[SPEC_ID_MAX];
    int max;
};

static int load_spec_max(struct sqlite_store *ss, struct spec_max **out, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_SPEC_IDS);
    if (!st)
        return STORE_ERR;
    size_t cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct spec_max *m = realloc(*out, cap * sizeof *m);
            if (!m) {
                sqlite3_reset(st);
                return store_fail(&ss->base, STORE_ERR_NOMEM, "out of memory");
            }
            *out = m;
        }
        sq_col_copy(st, 0, (*out)[*n].id, SPEC_ID_MAX);
        int max = sqlite3_column_type(st, 1) == SQLITE_INTEGER ? sqlite3_column_int(st, 1) : 0;
        (*out)[(*n)++].max = max > 0 ? max : 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(ss, rc, "read the specializations");
}

static int max_of(const struct spec_max *m, size_t n, const char *spec)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].id, spec))
            return m[i].max;
    return 0;
}

/* The pair's open violation into p (open_known set). */
static int read_open(struct sqlite_store *ss, const struct pair_key *k, struct pair_levels *p)
{
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_OPEN_PAIR);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, k->user_id);
    sqlite3_bind_text(st, 2, k->spec, -1, SQLITE_STATIC);
    int rc = sq_step_one(ss, st, "read an open violation");
    p->open_known = true;
    p->has_open = rc == 0;
    if (rc == 0) {
        struct open_violation *o = &p->open;
        sq_col_copy(st, 1, o->user_email, sizeof o->user_email);
        sq_col_copy(st, 3, o->issue_type, sizeof o->issue_type);
        o->has_progress = sqlite3_column_type(st, 4) != SQLITE_NULL;
        o->progress_level = sqlite3_column_int(st, 4);
        o->has_license = sqlite3_column_type(st, 5) != SQLITE_NULL;
        o->license_level = sqlite3_column_int(st, 5);
        sq_col_copy(st, 6, o->recommended_action, sizeof o->recommended_action);
        o->first_seen = sq_col_time(st, 7);
    }
    sqlite3_reset(st);
    return rc == 0 || rc == STORE_ERR_NOT_FOUND ? 0 : rc;
}

int sq_pairs_get(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                 void *ctx)
{
    struct sqlite_store *ss = SS(s);
    struct spec_max *specs = NULL;
    size_t n_specs = 0;
    int rc = load_spec_max(ss, &specs, &n_specs);
    struct pair_levels p;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct pair_key *k = &keys[i];
        memset(&p, 0, sizeof p);
        p.user_id = k->user_id;
        memcpy(p.spec, k->spec, sizeof p.spec);
        int64_t prow, lrow;
        if ((rc = read_side(ss, ST_SCAN_P_USER_SPEC, k, &prow, &p.progress_level,
                            &p.progress_level_null)) != 0 ||
            (rc = read_side(ss, ST_SCAN_L_USER_SPEC, k, &lrow, &p.license_level,
                            &p.license_level_null)) != 0 ||
            (rc = read_open(ss, k, &p)) != 0)
            break;
        p.has_progress = prow > 0;
        p.has_license = lrow > 0;
        p.progress_rows = prow > 1 ? prow : 0;
        p.license_rows = lrow > 1 ? lrow : 0;
        p.max_level = max_of(specs, n_specs, k->spec);
        rc = cb(ctx, &p);
    }
    free(specs);
    return rc;
}

int sq_user_rows(struct store *s, const int64_t *users, size_t n, int64_t *out)
{
    struct sqlite_store *ss = SS(s);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = sq_stmt(ss, ST_USER_ROWS);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, users[i]);
        int rc = sq_step_one(ss, st, "count a user's rows");
        if (rc)
            return rc;
        out[i] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return 0;
}

static void bind_level(sqlite3_stmt *st, int i, bool has, int level)
{
    if (has)
        sqlite3_bind_int(st, i, level);
    else
        sqlite3_bind_null(st, i);
}

/* ?1 … ?7 of the statements that update or open v. */
static void bind_open(sqlite3_stmt *st, const struct pair_key *k, const struct violation *v)
{
    sqlite3_bind_int64(st, 1, k->user_id);
    sqlite3_bind_text(st, 2, k->spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v->issue_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, v->user_email, -1, SQLITE_STATIC);
    bind_level(st, 5, v->has_progress, v->progress_level);
    bind_level(st, 6, v->has_license, v->license_level);
    sqlite3_bind_text(st, 7, v->recommended_action, -1, SQLITE_STATIC);
}

int sq_violation_set(struct store *s, const struct pair_key *k, const struct violation *v,
                     int64_t check_id, int64_t now)
{
    struct sqlite_store *ss = SS(s);
    sqlite3_stmt *st = sq_stmt(ss, ST_VIOLATION_RESOLVE_OTHER);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, k->user_id);
    sqlite3_bind_text(st, 2, k->spec, -1, SQLITE_STATIC);
    if (v)
        sqlite3_bind_text(st, 3, v->issue_type, -1, SQLITE_STATIC);
    sq_bind_time(st, 4, now);
    sq_bind_id_or_null(st, 5, check_id);
    int rc = sq_exec_stmt(ss, st, "resolve a violation");
    if (rc || !v)
        return rc;
    if (!(st = sq_stmt(ss, ST_VIOLATION_UPDATE_OPEN)))
        return STORE_ERR;
    bind_open(st, k, v);
    sqlite3_bind_int64(st, 8, check_id);
    if ((rc = sq_exec_stmt(ss, st, "update an open violation")) != 0)
        return rc;
    if (sqlite3_changes(ss->db) > 0)
        return 0;
    if (!(st = sq_stmt(ss, ST_VIOLATION_INSERT)))
        return STORE_ERR;
    bind_open(st, k, v);
    sq_bind_time(st, 8, v->first_seen ? v->first_seen : now);
    sqlite3_bind_int64(st, 9, check_id);
    return sq_exec_stmt(ss, st, "open a violation");
}

static int delete_changes(struct sqlite_store *ss, const int64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_DELETE);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, ids[i]);
        int rc = sq_exec_stmt(ss, st, "delete applied changes");
        if (rc)
            return rc;
    }
    return 0;
}

int sq_watch_advance(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                     int64_t dusers, int64_t dviolations, double lag, int64_t now)
{
    struct sqlite_store *ss = SS(s);
    int rc = delete_changes(ss, ids, n);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_ADVANCE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, dpairs);
    sqlite3_bind_int64(st, 2, dusers);
    sqlite3_bind_int64(st, 3, dviolations);
    sq_bind_time(st, 4, now);
    sqlite3_bind_double(st, 5, lag);
    return sq_exec_stmt(ss, st, "advance the watch state");
}

int sq_watch_reset(struct store *s, const int64_t *ids, size_t n, int64_t pairs, int64_t users,
                   int64_t violations, int64_t check_id, int64_t divergences, int64_t now)
{
    struct sqlite_store *ss = SS(s);
    int rc = delete_changes(ss, ids, n);
    if (rc)
        return rc;
    sqlite3_stmt *st = sq_stmt(ss, ST_WATCH_RESET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, pairs);
    sqlite3_bind_int64(st, 2, users);
    sqlite3_bind_int64(st, 3, violations);
    sq_bind_time(st, 4, now);
    sqlite3_bind_int64(st, 5, check_id);
    sqlite3_bind_int64(st, 6, divergences);
    return sq_exec_stmt(ss, st, "reset the watch state");
}

int sq_watch_discard(struct store *s)
{
    struct sqlite_store *ss = SS(s);
    int rc = sq_exec_sql(ss, "DELETE FROM pair_changes", "discard pending changes");
    return rc ? rc : sq_exec_sql(ss, "UPDATE watch_state SET initialized = 0, version = version + 1",
                                 "discard pending changes");
}

int sq_watch_capture(struct store *s, bool install, bool apply, char **sql)
{
    (void)install;
    (void)apply;
    *sql = NULL;
    if (!SS(s)->attached)
        return store_fail(s, STORE_ERR, "the capture triggers of Lockstep's own tables are "
                          "installed by its migrations (schema version 14)");
    return store_fail(s, STORE_ERR, "an attached SQLite file cannot carry the capture triggers "
                      "(a trigger cannot write to another database file): keep [watch] mode = "
                      "off, every scheduled check then reads every pair");
}

int sq_watch_capture_installed(struct store *s, bool *installed)
{
    struct sqlite_store *ss = SS(s);
    *installed = false;
    if (ss->attached)
        return 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(ss->db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                                "AND name IN ('lockstep_progress_insert', 'lockstep_progress_update',"
                                " 'lockstep_progress_delete', 'lockstep_license_insert', "
                                "'lockstep_license_update', 'lockstep_license_delete')",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(ss, rc, "look for the capture triggers");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *installed = sqlite3_column_int(st, 0) == 6;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sq_fail(ss, rc, "look for the capture triggers");
}

int sq_watch_lock(struct store *s, bool on)
{
    struct sqlite_store *ss = SS(s);
    if (ss->watch_fd < 0) {
        /* A database no other connection can open has nobody to wait for. */
        if (!on || !ss->path[0] || !strcmp(ss->path, ":memory:"))
            return 0;
        char path[STORE_PATH_MAX + 8];
        if (snprintf(path, sizeof path, "%s-watch", ss->path) >= (int)sizeof path)
            return store_fail(s, STORE_ERR, "the database path is too long for its watch lock");
        ss->watch_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ss->watch_fd < 0)
            return store_fail(s, STORE_ERR, "cannot open %s: %s", path, strerror(errno));
    }
    int rc;
    do
        rc = flock(ss->watch_fd, on ? LOCK_EX : LOCK_UN);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : store_fail(s, STORE_ERR, "watch lock: %s", strerror(errno));
}

int sq_watch_wait(struct store *s, long timeout_ms)
{
    (void)s;
    struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    while (timeout_ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}
