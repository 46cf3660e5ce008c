/* pg_checks.c — the PostgreSQL store's recorded checks: the violations a
 * check stages (COPY into a session's temporary table), the check recorded
 * with the open violations resolved, updated and opened from that stage in
 * one transaction, and the reads of checks and violations. */
#include "store/pg/pg_private.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* Staged violations go to the session's stage table this many at a time, so
 * a check holds at most one batch of them in memory however many it finds. */
#define STAGE_BATCH 4096

int pg_violation_first_seen(struct store *s, int64_t user, const char *spec,
                                   const char *issue, int64_t *first_seen)
{
    struct params p = {0};
    p_i64(&p, 0, user);
    p.v[1] = spec;
    p.v[2] = issue;
    int rc;
    PGresult *res = pg_one(PS(s), Q_VIOLATION_FIRST_SEEN, 3, p.v, "open violation", &rc);
    if (!res)
        return rc;
    *first_seen = c_time(res, 0, 0);
    PQclear(res);
    return 0;
}

/* Send the staged violations not yet sent to the stage table (one COPY). */
static int stage_flush(struct pg_store *ps)
{
    if (ps->stage_pending == 0)
        return 0;
    int rc = pg_ensure(ps, "stage violations");
    if (rc)
        return rc;
    PGresult *res = PQexec(ps->conn, "COPY " PG_STAGE_TABLE " FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN)
        return pg_fail_result(ps, res, "stage violations");
    PQclear(res);
    bool sent = PQputCopyData(ps->conn, ps->stage_copy.data, (int)ps->stage_copy.len) == 1;
    if (PQputCopyEnd(ps->conn, sent ? NULL : "the staged violations could not be sent") != 1)
        return pg_fail_conn(ps, "stage violations");
    res = PQgetResult(ps->conn);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_fail_result(ps, res, "stage violations");
    else
        PQclear(res);
    while ((res = PQgetResult(ps->conn)) != NULL)
        PQclear(res);
    if (rc == 0 && !sent)
        rc = pg_fail_conn(ps, "stage violations");
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    return rc;
}

/* A new stage: the session's temporary table (created once, outside any
 * transaction, since the check stages inside its read-only one) emptied. */
int pg_check_stage_reset(struct store *s)
{
    struct pg_store *ps = PS(s);
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    ps->stage_open = ps->stage_complete = false;
    int rc;
    if (!ps->stage_table) {
        if (s->in_txn == (int)STORE_TXN_READ + 1)
            return store_fail(s, STORE_ERR, "check_stage_reset must come before the check's "
                                            "read transaction");
        rc = pg_command(ps,
                     "CREATE TEMP TABLE IF NOT EXISTS " PG_STAGE_TABLE " (user_id BIGINT NOT NULL, "
                     "specialization TEXT COLLATE \"C\" NOT NULL, issue_type TEXT COLLATE \"C\" "
                     "NOT NULL, user_email TEXT NOT NULL, progress_level INTEGER, "
                     "license_level INTEGER, recommended_action TEXT NOT NULL, "
                     "first_seen TIMESTAMPTZ)",
                     "stage violations");
        if (rc)
            return rc;
        /* Created inside a transaction, it would vanish with a rollback. */
        ps->stage_table = !s->in_txn;
    }
    /* TRUNCATE keeps the table small between checks (temporary tables are
     * never vacuumed); inside a transaction only DELETE is allowed. */
    rc = pg_command(ps, s->in_txn ? "DELETE FROM " PG_STAGE_TABLE : "TRUNCATE " PG_STAGE_TABLE,
                 "stage violations");
    if (rc == 0)
        ps->stage_open = true;
    return rc;
}

/* COPY text format: backslash, tab, newline and carriage return escaped. */
static int copy_text(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '\t' ? "\\t" : *s == '\n' ? "\\n"
                                                 : *s == '\r' ? "\\r" : NULL;
        rc = esc ? buf_puts(b, esc) : buf_append(b, s, 1);
    }
    return rc;
}

/* One COPY line per violation, sent a batch at a time (during the scan, into
 * the temporary table, which a read-only transaction may write). */
int pg_check_stage_add(struct store *s, const struct violation *v, bool unchanged)
{
    /* Every violation is staged, unchanged or not: check_record resolves the
     * open violations that are not. */
    (void)unchanged;
    struct pg_store *ps = PS(s);
    if (!ps->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_add before check_stage_reset");
    struct buf *b = &ps->stage_copy;
    size_t mark = b->len;
    char iso[TIME_ISO_LEN] = "\\N", pl[16] = "\\N", ll[16] = "\\N";
    if (v->first_seen)
        time_format_iso(v->first_seen, iso);
    if (v->has_progress)
        snprintf(pl, sizeof pl, "%d", v->progress_level);
    if (v->has_license)
        snprintf(ll, sizeof ll, "%d", v->license_level);
    int rc = buf_printf(b, "%" PRId64 "\t", v->user_id);
    if (rc == 0)
        rc = copy_text(b, v->spec);
    if (rc == 0)
        rc = buf_puts(b, "\t");
    if (rc == 0)
        rc = copy_text(b, v->issue_type);
    if (rc == 0)
        rc = buf_puts(b, "\t");
    if (rc == 0)
        rc = copy_text(b, v->user_email);
    if (rc == 0)
        rc = buf_printf(b, "\t%s\t%s\t", pl, ll);
    if (rc == 0)
        rc = copy_text(b, v->recommended_action);
    if (rc == 0)
        rc = buf_printf(b, "\t%s\n", iso);
    if (rc) {
        b->len = mark; /* drop the partial line */
        if (b->data)
            b->data[mark] = '\0';
        return store_fail(s, STORE_ERR, "out of memory");
    }
    if (++ps->stage_pending >= STAGE_BATCH)
        return stage_flush(ps);
    return 0;
}

/* The pair scan never reports the open violations here (open_known is
 * false), so nothing calls this during a check; check_record resolves every
 * open violation not staged, which covers one named here as well. */
int pg_check_stage_resolve(struct store *s, int64_t user, const char *spec,
                                  const char *issue)
{
    if (!PS(s)->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_resolve before check_stage_reset");
    return 0;
}

int pg_check_stage_complete(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (!ps->stage_open)
        return store_fail(s, STORE_ERR, "check_stage_complete before check_stage_reset");
    ps->stage_complete = true;
    return 0;
}

int pg_check_record(struct store *s, struct check_run *c)
{
    struct pg_store *ps = PS(s);
    bool incremental = !strcmp(c->kind, "incremental");
    if (!incremental && (!ps->stage_open || !ps->stage_complete))
        return store_fail(s, STORE_ERR, "check_record needs a complete full pair scan after "
                                        "check_stage_reset");
    int rc = incremental ? 0 : stage_flush(ps);
    if (rc)
        return rc;
    if ((rc = pg_begin(s, STORE_TXN_WRITE)) != 0)
        return rc;
    struct params p = {0};
    p_time(&p, 0, c->timestamp);
    p_i64(&p, 1, c->total_checked);
    p_i64(&p, 2, c->consistent);
    p_i64(&p, 3, c->inconsistent);
    p_dbl(&p, 4, c->consistency_rate);
    p.v[5] = c->status;
    p.v[6] = c->trigger;
    p_dbl(&p, 7, c->duration_ms);
    p.v[8] = c->report_file;
    p.v[9] = c->file_error;
    p_i64(&p, 10, c->users_checked);
    p.v[11] = c->read.source[0] ? c->read.source : "primary";
    if (c->read.has_replica_lag)
        p_dbl(&p, 12, c->read.replica_lag_seconds);
    p.v[13] = c->read.replica_fallback;
    p.v[14] = c->kind[0] ? c->kind : "full";
    p_i64(&p, 15, c->divergences);
    PGresult *res = pg_run(ps, Q_CHECK_INSERT, 16, p.v, "record check", &rc);
    if (!res)
        goto out;
    c->id = c_i64(res, 0, 0);
    PQclear(res);
    if (incremental) /* the watcher's state: the open violations are already it */
        return pg_commit(s);
    /* The statements below are planned from the stage table's statistics;
     * a sample of 3,000 rows (statistics target 10, for this transaction)
     * gives them their plans in 16 ms, where the default 30,000 took 125 ms
     * at 100,000 violations. */
    if ((rc = pg_command(ps, "SET LOCAL default_statistics_target = 10; ANALYZE " PG_STAGE_TABLE,
                         "stage violations")) != 0)
        goto out;
    struct params q = {0};
    p_time(&q, 0, c->timestamp);
    p_i64(&q, 1, c->id);
    const char *open_new[2] = {q.v[1], q.v[0]};
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_RESOLVE, 2, q.v, "resolve violations")) != 0)
        goto out;
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_TOUCH, 1, q.v + 1, "update open violations")) != 0)
        goto out;
    if ((rc = pg_exec_q(ps, Q_VIOLATIONS_OPEN_NEW, 2, open_new, "open new violations")) != 0)
        goto out;
    if ((rc = pg_commit(s)) == 0)
        ps->stage_open = ps->stage_complete = false;
    return rc;
out:
    pg_rollback(s);
    return rc;
}

int pg_check_set_file(struct store *s, int64_t id, const char *file, const char *error)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    p.v[1] = file ? file : "";
    p.v[2] = error ? error : "";
    return pg_exec_q(PS(s), Q_CHECK_SET_FILE, 3, p.v, "record check file");
}

static void read_check(PGresult *r, int i, struct check_run *c)
{
    memset(c, 0, sizeof *c);
    c->id = c_i64(r, i, 0);
    c->timestamp = c_time(r, i, 1);
    c->total_checked = c_i64(r, i, 2);
    c->consistent = c_i64(r, i, 3);
    c->inconsistent = c_i64(r, i, 4);
    c->consistency_rate = c_dbl(r, i, 5);
    c_copy(r, i, 6, c->status, sizeof c->status);
    c_copy(r, i, 7, c->trigger, sizeof c->trigger);
    c->duration_ms = c_dbl(r, i, 8);
    c_copy(r, i, 9, c->report_file, sizeof c->report_file);
    c_copy(r, i, 10, c->file_error, sizeof c->file_error);
    c->users_checked = c_i64(r, i, 11);
    c_copy(r, i, 12, c->read.source, sizeof c->read.source);
    c->read.has_replica_lag = !PQgetisnull(r, i, 13);
    c->read.replica_lag_seconds = c_dbl(r, i, 13);
    c_copy(r, i, 14, c->read.replica_fallback, sizeof c->read.replica_fallback);
    c_copy(r, i, 15, c->kind, sizeof c->kind);
    c->divergences = c_i64(r, i, 16);
}

int pg_check_latest(struct store *s, struct check_run *c)
{
    int rc;
    PGresult *res = pg_one(PS(s), Q_CHECK_LATEST, 0, NULL, "check", &rc);
    if (!res)
        return rc;
    read_check(res, 0, c);
    PQclear(res);
    return 0;
}

int pg_check_get(struct store *s, int64_t id, struct check_run *c)
{
    struct params p = {0};
    p_i64(&p, 0, id);
    int rc;
    PGresult *res = pg_one(PS(s), Q_CHECK_GET, 1, p.v, "check", &rc);
    if (!res)
        return rc;
    read_check(res, 0, c);
    PQclear(res);
    return 0;
}

int pg_check_list(struct store *s, int64_t since, int64_t until, int64_t limit,
                         store_check_cb cb, void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since);
    p_time(&p, 1, until);
    if (limit > 0)
        p_i64(&p, 2, limit);
    int rc;
    PGresult *res = pg_run(PS(s), Q_CHECK_LIST, 3, p.v, "list checks", &rc);
    if (!res)
        return rc;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct check_run c;
        read_check(res, i, &c);
        out = cb(ctx, &c);
    }
    PQclear(res);
    return out;
}

struct violation_rows {
    store_violation_cb cb;
    void *ctx;
};

/* The violations of one result to the callback (pg_run_rows' row). */
static int each_violation(void *rows_ctx, PGresult *res)
{
    const struct violation_rows *vr = rows_ctx;
    store_violation_cb cb = vr->cb;
    void *ctx = vr->ctx;
    int out = 0;
    for (int i = 0; i < PQntuples(res) && out == 0; i++) {
        struct violation v;
        memset(&v, 0, sizeof v);
        v.user_id = c_i64(res, i, 0);
        c_copy(res, i, 1, v.user_email, sizeof v.user_email);
        c_copy(res, i, 2, v.spec, sizeof v.spec);
        c_copy(res, i, 3, v.issue_type, sizeof v.issue_type);
        v.has_progress = !PQgetisnull(res, i, 4);
        v.progress_level = (int)c_i64(res, i, 4);
        v.has_license = !PQgetisnull(res, i, 5);
        v.license_level = (int)c_i64(res, i, 5);
        c_copy(res, i, 6, v.recommended_action, sizeof v.recommended_action);
        v.first_seen = c_time(res, i, 7);
        out = cb(ctx, &v);
    }
    PQclear(res);
    return out;
}

/* The violations of statement `id`, streamed to cb. */
static int violation_rows(struct pg_store *ps, enum stmt_id id, int n, const char *const *vals,
                          store_violation_cb cb, void *ctx)
{
    struct violation_rows vr = {cb, ctx};
    return pg_run_rows(ps, id, n, vals, "list violations", each_violation, &vr);
}

int pg_violations_open(struct store *s, const char *spec, store_violation_cb cb,
                              void *ctx)
{
    const char *v[1] = {spec};
    return violation_rows(PS(s), spec ? Q_VIOLATIONS_OPEN_SPEC : Q_VIOLATIONS_OPEN_ALL,
                          spec ? 1 : 0, v, cb, ctx);
}

/* The violations statement `id` finds after a time (0: since the start). */
static int violations_since(struct store *s, enum stmt_id id, int64_t since,
                            store_violation_cb cb, void *ctx)
{
    struct params p = {0};
    p_time(&p, 0, since ? since : 1);
    return violation_rows(PS(s), id, 1, p.v, cb, ctx);
}

int pg_violations_new_since(struct store *s, int64_t since, store_violation_cb cb, void *ctx)
{
    return violations_since(s, Q_VIOLATIONS_NEW_SINCE, since, cb, ctx);
}

int pg_violations_resolved_since(struct store *s, int64_t since, store_violation_cb cb,
                                 void *ctx)
{
    return violations_since(s, Q_VIOLATIONS_RESOLVED_SINCE, since, cb, ctx);
}

int pg_violations_open_page(struct store *s, const char *spec, int64_t limit,
                                   int64_t offset, store_violation_cb cb, void *ctx)
{
    struct params p = {0};
    p.v[0] = spec;
    p_i64(&p, 1, limit);
    p_i64(&p, 2, offset);
    return violation_rows(PS(s), Q_VIOLATIONS_OPEN_PAGE, 3, p.v, cb, ctx);
}

int pg_violations_open_count(struct store *s, const char *spec, int64_t *count)
{
    const char *v[1] = {spec};
    int rc;
    PGresult *res = pg_one(PS(s), Q_VIOLATIONS_OPEN_COUNT, 1, v, "count violations", &rc);
    if (!res)
        return rc;
    *count = c_i64(res, 0, 0);
    PQclear(res);
    return 0;
}
