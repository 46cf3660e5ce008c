/* pg_watch.c — the PostgreSQL store's side of the watcher (watch.md): the
 * pending change rows the capture triggers write, the pairs they name read
 * back in one round trip per batch, the open violations and watch_state
 * moved, the watch lock, and the wait for lockstep_pair_changes. */
#include "model/pair.h"
#include "store/pg/pg_lease.h"
#include "store/pg/pg_private.h"
#include "util/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <string.h>
#include <time.h>

/* ---- array parameters --------------------------------------------------------------- */

/* ids as a bigint[] literal ("{1,2,3}") into b. 0, or -1 out of memory. */
static int array_of_ids(struct buf *b, const int64_t *ids, size_t n)
{
    int rc = buf_puts(b, "{");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = buf_printf(b, "%s%" PRId64, i ? "," : "", ids[i]);
    return rc ? rc : buf_puts(b, "}");
}

/* The users and the specializations of keys as two array literals. */
static int arrays_of_keys(struct buf *users, struct buf *specs, const struct pair_key *keys,
                          size_t n)
{
    int rc = buf_puts(users, "{");
    if (rc == 0)
        rc = buf_puts(specs, "{");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_printf(users, "%s%" PRId64, i ? "," : "", keys[i].user_id);
        /* Every element quoted, a quote or backslash inside escaped. */
        if (rc == 0)
            rc = buf_puts(specs, i ? ",\"" : "\"");
        for (const char *c = keys[i].spec; *c && rc == 0; c++)
            rc = (*c == '"' || *c == '\\') ? buf_printf(specs, "\\%c", *c)
                                           : buf_append(specs, c, 1);
        if (rc == 0)
            rc = buf_puts(specs, "\"");
    }
    if (rc == 0)
        rc = buf_puts(users, "}");
    return rc ? rc : buf_puts(specs, "}");
}

/* ---- reads ---------------------------------------------------------------------------- */

int pg_watch_state_get(struct store *s, struct watch_state *out)
{
    memset(out, 0, sizeof *out);
    int rc;
    PGresult *res = pg_one(PS(s), Q_WATCH_STATE_GET, 0, NULL, "read the watch state", &rc);
    if (!res)
        return rc;
    out->initialized = c_bool(res, 0, 0);
    out->sweep_requested = c_bool(res, 0, 1);
    out->pairs = c_i64(res, 0, 2);
    out->users = c_i64(res, 0, 3);
    out->violations = c_i64(res, 0, 4);
    out->version = c_i64(res, 0, 5);
    out->applied_at = c_time(res, 0, 6);
    out->last_full_at = c_time(res, 0, 7);
    out->last_full_check_id = c_i64(res, 0, 8);
    out->divergences_total = c_i64(res, 0, 9);
    out->last_lag_seconds = c_dbl(res, 0, 10);
    c_copy(res, 0, 11, out->marks.progress, sizeof out->marks.progress);
    c_copy(res, 0, 12, out->marks.license, sizeof out->marks.license);
    PQclear(res);
    return 0;
}

int pg_watch_pending(struct store *s, int64_t *count, double *oldest_changed_at)
{
    *count = 0;
    *oldest_changed_at = 0;
    int rc;
    PGresult *res = pg_one(PS(s), Q_WATCH_PENDING, 0, NULL, "count pending changes", &rc);
    if (!res)
        return rc;
    *count = c_i64(res, 0, 0);
    *oldest_changed_at = c_dbl(res, 0, 1);
    PQclear(res);
    return 0;
}

/* The pending rows of the users in the array literal `users`. Not a
 * prepared statement: planned with the array as a constant, PostgreSQL
 * hashes it, so a scan of the pending rows costs one probe per row. (An
 * array from a subquery is searched element by element: with 200,000
 * pending rows and 10,000 users that took 7 s a batch, and a join instead
 * became a nested loop whenever the table's statistics said it was empty.) */
#define WATCH_USER_CHANGES                                                                      \
    "SELECT id, user_id, specialization, delta, changed_at FROM pair_changes "                 \
    "WHERE user_id = ANY ($1::bigint[]) ORDER BY id"

int pg_watch_changes(struct store *s, int64_t max_rows, int64_t after_id, store_change_cb cb,
                     void *ctx)
{
    struct params p = {0};
    if (max_rows > 0)
        p_i64(&p, 0, max_rows);
    p_i64(&p, 1, after_id);
    int rc;
    PGresult *res = pg_run(PS(s), Q_WATCH_CHANGE_USERS, 2, p.v, "read pending changes", &rc);
    if (!res)
        return rc;
    int n = PQntuples(res);
    struct buf users = BUF_INIT(0);
    rc = buf_puts(&users, "{");
    for (int i = 0; i < n && rc == 0; i++)
        rc = buf_printf(&users, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    rc = rc ? rc : buf_puts(&users, "}");
    PQclear(res);
    if (rc) {
        buf_free(&users);
        return store_fail(s, STORE_ERR_NOMEM, "read pending changes: out of memory");
    }
    if (n == 0) {
        buf_free(&users);
        return 0;
    }
    const char *arg = users.data;
    rc = pg_store_exec(s, WATCH_USER_CHANGES, 1, &arg, "read pending changes", &res);
    buf_free(&users);
    if (rc)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct pair_change c;
        memset(&c, 0, sizeof c);
        c.id = c_i64(res, i, 0);
        c.user_id = c_i64(res, i, 1);
        out = store_spec_copy(s, c.spec, PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2),
                              "a pending change (pair_changes.specialization)", c.user_id);
        c.delta = (int)c_i64(res, i, 3);
        c.changed_at = c_dbl(res, i, 4);
        if (out == 0)
            out = cb(ctx, &c);
    }
    PQclear(res);
    return out;
}

/* One side of a pair as Q_PAIRS_GET reads it: the level (column lc; NULL,
 * or not an int, is level_null) and the row count (column nc). */
static void key_side(PGresult *r, int i, int lc, int nc, bool present, int *level,
                     bool *level_null, int64_t *rows)
{
    *rows = present ? c_i64(r, i, nc) : 0;
    int64_t v = present && !PQgetisnull(r, i, lc) ? c_i64(r, i, lc) : 0;
    *level_null = present && (PQgetisnull(r, i, lc) || v <= INT32_MIN || v > INT32_MAX);
    *level = *level_null ? 0 : (int)v;
}

/* Row i of Q_PAIRS_GET as the pair scan fills a pair (pg_scan.c), with its
 * open violation. */
static void read_pair(PGresult *r, int i, struct pair_levels *out)
{
    memset(out, 0, sizeof *out);
    /* Columns of PAIRS_GET_FORMAT: u, sp, progress row, license row, levels,
     * row counts, max_levels (NULL: unknown), email, then the open
     * violation: issue, email, levels, action, first_seen (µs), id. */
    out->user_id = c_i64(r, i, 0);
    c_copy(r, i, 1, out->spec, sizeof out->spec);
    out->has_progress = c_bool(r, i, 2);
    out->has_license = c_bool(r, i, 3);
    key_side(r, i, 4, 6, out->has_progress, &out->progress_level, &out->progress_level_null,
             &out->progress_rows);
    key_side(r, i, 5, 7, out->has_license, &out->license_level, &out->license_level_null,
             &out->license_rows);
    int64_t max = c_i64(r, i, 8);
    out->max_level = max > 0 && max <= INT32_MAX ? (int)max : 0;
    out->open_known = true;
    out->has_open = !PQgetisnull(r, i, 10);
    if (out->has_open) {
        struct open_violation *o = &out->open;
        c_copy(r, i, 10, o->issue_type, sizeof o->issue_type);
        c_copy(r, i, 11, o->user_email, sizeof o->user_email);
        o->has_progress = !PQgetisnull(r, i, 12);
        o->progress_level = (int)c_i64(r, i, 12);
        o->has_license = !PQgetisnull(r, i, 13);
        o->license_level = (int)c_i64(r, i, 13);
        c_copy(r, i, 14, o->recommended_action, sizeof o->recommended_action);
        o->first_seen = c_i64(r, i, 15);
        o->id = c_i64(r, i, 16);
    }
    /* As the scan: an inconsistent pair comes with its email and the
     * first_seen of its open violation of the same issue type (0: none). */
    const char *issue = pair_issue_type(pair_state_of(out));
    out->has_details = issue != NULL;
    if (out->has_details) {
        c_copy(r, i, 9, out->user_email, sizeof out->user_email);
        if (out->has_open && !strcmp(out->open.issue_type, issue))
            out->first_seen = out->open.first_seen;
    }
}

int pg_pairs_get(struct store *s, const struct pair_key *keys, size_t n, store_pair_cb cb,
                 void *ctx)
{
    if (n == 0)
        return 0;
    struct buf users = BUF_INIT(0), specs = BUF_INIT(0);
    int rc = 0;
    PGresult *res = NULL;
    if (arrays_of_keys(&users, &specs, keys, n) != 0) {
        rc = store_fail(s, STORE_ERR_NOMEM, "read pairs: out of memory");
        goto out;
    }
    const char *v[2] = {buf_str(&users), buf_str(&specs)};
    res = pg_run(PS(s), Q_PAIRS_GET, 2, v, "read pairs", &rc);
    if (!res)
        goto out;
    if ((size_t)PQntuples(res) != n) {
        rc = store_fail(s, STORE_ERR, "read pairs: %d rows for %zu keys", PQntuples(res), n);
        goto out;
    }
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct pair_levels p;
        read_pair(res, i, &p);
        rc = cb(ctx, &p);
    }
out:
    PQclear(res);
    buf_free(&users);
    buf_free(&specs);
    return rc;
}

int pg_user_rows(struct store *s, const int64_t *users, size_t n, int64_t *out)
{
    if (n == 0)
        return 0;
    struct buf ids = BUF_INIT(0);
    int rc = 0;
    PGresult *res = NULL;
    if (array_of_ids(&ids, users, n) != 0) {
        rc = store_fail(s, STORE_ERR_NOMEM, "count rows of users: out of memory");
        goto out;
    }
    const char *v[1] = {buf_str(&ids)};
    res = pg_run(PS(s), Q_USER_ROWS, 1, v, "count rows of users", &rc);
    if (!res)
        goto out;
    if ((size_t)PQntuples(res) != n) {
        rc = store_fail(s, STORE_ERR, "count rows of users: %d rows for %zu users",
                        PQntuples(res), n);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = c_i64(res, (int)i, 0);
out:
    PQclear(res);
    buf_free(&ids);
    return rc;
}

/* ---- writes --------------------------------------------------------------------------- */

/* One element of a text[] literal: NULL, or s quoted with a quote or
 * backslash inside escaped. */
static int array_text(struct buf *b, size_t i, const char *s)
{
    int rc = i ? buf_puts(b, ",") : 0;
    if (rc == 0 && !s)
        return buf_puts(b, "NULL");
    rc = rc ? rc : buf_puts(b, "\"");
    for (const char *c = s; *c && rc == 0; c++)
        rc = (*c == '"' || *c == '\\') ? buf_printf(b, "\\%c", *c) : buf_append(b, c, 1);
    return rc ? rc : buf_puts(b, "\"");
}

/* One element of an int[] literal: the level, or NULL when not shown. */
static int array_level(struct buf *b, size_t i, bool has, int level)
{
    return has ? buf_printf(b, "%s%d", i ? "," : "", level)
               : buf_printf(b, "%sNULL", i ? "," : "");
}

int pg_violations_move(struct store *s, const struct violation_move *m, size_t n, int64_t now)
{
    enum { U, SP, ISSUE, EMAIL, PL, LL, ACT, FS, N_ARRAYS };
    struct buf a[N_ARRAYS];
    for (int k = 0; k < N_ARRAYS; k++)
        a[k] = (struct buf)BUF_INIT(0);
    int rc = 0;
    for (int k = 0; k < N_ARRAYS && rc == 0; k++)
        rc = buf_puts(&a[k], "{");
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct violation *v = m[i].has_v ? &m[i].v : NULL;
        char fs[TIME_ISO_LEN];
        if (v && v->first_seen)
            time_format_iso(v->first_seen, fs);
        rc = buf_printf(&a[U], "%s%" PRId64, i ? "," : "", m[i].key.user_id);
        rc = rc ? rc : array_text(&a[SP], i, m[i].key.spec);
        rc = rc ? rc : array_text(&a[ISSUE], i, v ? v->issue_type : NULL);
        rc = rc ? rc : array_text(&a[EMAIL], i, v ? v->user_email : NULL);
        rc = rc ? rc : array_level(&a[PL], i, v && v->has_progress, v ? v->progress_level : 0);
        rc = rc ? rc : array_level(&a[LL], i, v && v->has_license, v ? v->license_level : 0);
        rc = rc ? rc : array_text(&a[ACT], i, v ? v->recommended_action : NULL);
        rc = rc ? rc : array_text(&a[FS], i, v && v->first_seen ? fs : NULL);
    }
    for (int k = 0; k < N_ARRAYS && rc == 0; k++)
        rc = buf_puts(&a[k], "}");
    if (rc) {
        rc = store_fail(s, STORE_ERR_NOMEM, "move violations: out of memory");
    } else {
        struct params p = {0};
        for (int k = 0; k < N_ARRAYS; k++)
            p.v[k] = buf_str(&a[k]);
        p_time(&p, N_ARRAYS, now);
        rc = pg_exec_q(PS(s), Q_VIOLATIONS_MOVE, N_ARRAYS + 1, p.v, "move open violations");
    }
    for (int k = 0; k < N_ARRAYS; k++)
        buf_free(&a[k]);
    return rc;
}

/* Q_WATCH_ADVANCE or Q_WATCH_RESET: the ids as $1, then the other
 * parameters (nvals of them, in vals[1..]). */
static int watch_write(struct store *s, enum stmt_id id, const int64_t *ids, size_t n,
                       struct params *p, int nvals, const char *what)
{
    struct buf list = BUF_INIT(0);
    int rc;
    if (array_of_ids(&list, ids, n) != 0) {
        rc = store_fail(s, STORE_ERR_NOMEM, "%s: out of memory", what);
    } else {
        p->v[0] = buf_str(&list);
        PGresult *res = pg_run(PS(s), id, nvals + 1, p->v, what, &rc);
        if (res && pg_count_changed(res) != 1)
            rc = store_fail(s, STORE_ERR, "%s: watch_state has no row", what);
        else if (res && PQnfields(res) == 1 && c_i64(res, 0, 0) != (int64_t)n)
            rc = store_fail(s, STORE_ERR, "%s: %lld of the %zu change rows applied were no "
                            "longer pending (consumed by another writer)", what,
                            (long long)((int64_t)n - c_i64(res, 0, 0)), n);
        PQclear(res);
    }
    buf_free(&list);
    return rc;
}

int pg_watch_advance(struct store *s, const int64_t *ids, size_t n, int64_t dpairs,
                     int64_t dusers, int64_t dviolations, double lag, int64_t now)
{
    struct params p = {0};
    p_i64(&p, 1, dpairs);
    p_i64(&p, 2, dusers);
    p_i64(&p, 3, dviolations);
    p_time(&p, 4, now);
    p_dbl(&p, 5, lag);
    return watch_write(s, Q_WATCH_ADVANCE, ids, n, &p, 5, "apply changes");
}

int pg_watch_reset(struct store *s, const int64_t *ids, size_t n, int64_t pairs, int64_t users,
                   int64_t violations, int64_t check_id, int64_t divergences, int64_t now,
                   const struct watch_marks *marks)
{
    struct params p = {0};
    p_i64(&p, 1, pairs);
    p_i64(&p, 2, users);
    p_i64(&p, 3, violations);
    p_time(&p, 4, now);
    p_i64(&p, 5, check_id);
    p_i64(&p, 6, divergences);
    p.v[7] = marks ? marks->progress : NULL;
    p.v[8] = marks ? marks->license : NULL;
    return watch_write(s, Q_WATCH_RESET, ids, n, &p, 8, "record the full sweep's state");
}

/* ---- [watch] mode = poll ---------------------------------------------------------- */

/* A watermark read from column c of row 0 into mark[WATCH_MARK_MAX]; kept as
 * it was when NULL. */
static int take_mark(struct store *s, PGresult *res, int c, char *mark)
{
    if (PQgetisnull(res, 0, c))
        return 0;
    if (strlen(PQgetvalue(res, 0, c)) >= WATCH_MARK_MAX)
        return store_fail(s, STORE_ERR, "an updated_at of more than %d characters cannot be "
                          "a poll watermark", WATCH_MARK_MAX - 1);
    c_copy(res, 0, c, mark, WATCH_MARK_MAX);
    return 0;
}

/* Run Q_WATCH_MAX_* (after NULL) or Q_WATCH_POLL_* (after: the watermark):
 * both answer how many rows they took and the newest updated_at, which
 * becomes mark[WATCH_MARK_MAX] (kept when NULL). */
static int run_mark(struct store *s, enum stmt_id id, const char *after, char *mark,
                    int64_t *taken)
{
    const char *v[1] = {after};
    int rc;
    PGresult *res = pg_one(PS(s), id, after ? 1 : 0, v, "poll the updated_at columns", &rc);
    if (!res)
        return rc;
    *taken += c_i64(res, 0, 0);
    rc = take_mark(s, res, 1, mark);
    PQclear(res);
    return rc;
}

int pg_watch_marks(struct store *s, struct watch_marks *out)
{
    int64_t none = 0;
    int rc = run_mark(s, Q_WATCH_MAX_P, NULL, out->progress, &none);
    return rc ? rc : run_mark(s, Q_WATCH_MAX_L, NULL, out->license, &none);
}

/* One table's poll: its newer rows as change rows, its watermark moved; a
 * table not polled yet starts from its newest updated_at. */
static int poll_table(struct store *s, enum stmt_id take, enum stmt_id max, char *mark,
                      int64_t *taken)
{
    if (!mark[0])
        return run_mark(s, max, NULL, mark, taken);
    char after[WATCH_MARK_MAX];
    memcpy(after, mark, sizeof after);
    return run_mark(s, take, after, mark, taken);
}

int pg_watch_poll(struct store *s, int64_t now, int64_t *taken)
{
    (void)now; /* every row taken has its updated_at */
    struct watch_state ws;
    *taken = 0;
    int rc = pg_watch_state_get(s, &ws);
    if (rc == 0)
        rc = poll_table(s, Q_WATCH_POLL_P, Q_WATCH_MAX_P, ws.marks.progress, taken);
    if (rc == 0)
        rc = poll_table(s, Q_WATCH_POLL_L, Q_WATCH_MAX_L, ws.marks.license, taken);
    if (rc)
        return rc;
    const char *v[2] = {ws.marks.progress, ws.marks.license};
    return pg_exec_q(PS(s), Q_WATCH_MARKS_SET, 2, v, "move the poll watermarks");
}

int pg_watch_discard(struct store *s)
{
    int rc = pg_exec_q(PS(s), Q_WATCH_DISCARD_CHANGES, 0, NULL, "discard pending changes");
    return rc ? rc : pg_exec_q(PS(s), Q_WATCH_DISCARD_STATE, 0, NULL, "discard pending changes");
}

/* ---- the lock and the wait ------------------------------------------------------------ */

int pg_watch_lock(struct store *s, bool on)
{
    struct pg_store *ps = PS(s);
    int rc;
    if (!on) {
        /* Not held (never taken, or gone with a lost session: a reconnect
         * here clears watch_locked): nothing to release, and the server
         * would only warn. */
        if (ps->watch_locked && !s->in_txn && pg_ensure(ps, "release the watch lock") != 0)
            ps->watch_locked = false;
        if (!ps->watch_locked)
            return 0;
        PQclear(pg_run(ps, Q_WATCH_UNLOCK, 0, NULL, "release the watch lock", &rc));
        if (rc == 0 || PQstatus(ps->conn) != CONNECTION_OK)
            ps->watch_locked = false;
        return rc;
    }
    if (ps->watch_locked)
        return 0;
    /* The session's lock_timeout (the busy timeout) bounds each wait; the
     * contract is to wait for the lock, so a timed-out wait starts again. */
    do
        PQclear(pg_run(ps, Q_WATCH_LOCK, 0, NULL, "take the watch lock", &rc));
    while (rc == STORE_ERR_BUSY && !s->in_txn);
    if (rc == 0)
        ps->watch_locked = true;
    return rc;
}

/* Take the notifications libpq has queued; true when there was one. */
static bool drain_notifies(PGconn *conn)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pg_watch_wait(struct store *s, long timeout_ms)
{
    struct pg_store *ps = PS(s);
    const char *what = "wait for changes";
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "%s: a transaction is open", what);
    /* Reconnects after a loss, which drops the LISTEN: it is run again. */
    int rc = pg_ensure(ps, what);
    if (rc)
        return rc;
    if (!ps->listening) {
        if ((rc = pg_exec_q(ps, Q_WATCH_LISTEN, 0, NULL, what)) != 0)
            return rc;
        ps->listening = true;
    }
    /* Notifications that came with the results of other statements are
     * already queued: they count. */
    if (!PQconsumeInput(ps->conn) || PQstatus(ps->conn) != CONNECTION_OK)
        return pg_fail_conn(ps, what);
    if (drain_notifies(ps->conn))
        return 0;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = PQsocket(ps->conn), .events = POLLIN};
        if (pfd.fd < 0)
            return pg_fail_conn(ps, what);
        int n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n < 0 && errno == EINTR)
            return 0; /* a signal: the caller looks at its flags */
        if (n < 0)
            return store_fail(s, STORE_ERR, "%s: poll: %s", what, strerror(errno));
        if (n == 0)
            return 0;
        /* A session the server ended reads as its last message, then
         * end of file: the connection is bad from then on. */
        if (!PQconsumeInput(ps->conn) || PQstatus(ps->conn) != CONNECTION_OK)
            return pg_fail_conn(ps, what);
        if (drain_notifies(ps->conn))
            return 0;
    }
}
