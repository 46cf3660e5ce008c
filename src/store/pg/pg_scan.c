/* pg_scan.c — the PostgreSQL store's pair scan: one server-side merge join
 * of progress and licenses (its SQL: pg_statements.c, SCAN_FORMAT), read
 * through a cursor a batch at a time, the next batch fetched while one is read. */
#include "model/pair.h"
#include "store/pg/pg_private.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* An open pair scan: the batch being read, the one fetched ahead, and the
 * last pair returned (the order check). */
struct store_scan {
    struct pg_store *ps;
    PGresult *batch;
    int row, rows;
    bool done;
    /* The next batch is requested as soon as one arrives, so the server
     * produces it while this one is classified. */
    bool pending;
    PGresult *prefetched; /* collected early because another call needed the connection */
    int64_t last_user;
    char last_spec[SPEC_ID_MAX];
    bool any;
};

/* Wait for a FETCH sent ahead; the result (or NULL) stays with the scan. */
static PGresult *collect_prefetch(struct store_scan *sc)
{
    PGresult *res = NULL, *r;
    while ((r = PQgetResult(sc->ps->conn)) != NULL) {
        if (!res)
            res = r;
        else
            PQclear(r);
    }
    sc->pending = false;
    return res;
}

void pg_scan_settle(struct store_scan *sc)
{
    if (sc->pending)
        sc->prefetched = collect_prefetch(sc);
}

int pg_pair_scan_open(struct store *s, const struct pair_filter *f,
                             struct store_scan **out)
{
    struct pg_store *ps = PS(s);
    *out = NULL;
    if (s->in_txn != (int)STORE_TXN_READ + 1 && s->in_txn != (int)STORE_TXN_WRITE + 1)
        return store_fail(s, STORE_ERR, "the pair scan needs an open transaction");
    bool by_user = f && f->user_id > 0, by_spec = f && f->spec;
    enum stmt_id id = by_user ? (by_spec ? Q_SCAN_USER_SPEC : Q_SCAN_USER)
                              : (by_spec ? Q_SCAN_SPEC : Q_SCAN_ALL);
    struct params p = {0};
    int n = 0;
    if (by_user)
        p_i64(&p, n++, f->user_id);
    if (by_spec)
        p.v[n++] = f->spec;
    int rc;
    const char *names[4] = {ps->domain.name[DOMAIN_PROGRESS_USER],
                            ps->domain.name[DOMAIN_PROGRESS_SPEC],
                            ps->domain.name[DOMAIN_LICENSE_USER],
                            ps->domain.name[DOMAIN_LICENSE_SPEC]};
    PGresult *plan = pg_run(ps, Q_SCAN_PLAN, 4, names, "prepare the pair scan", &rc);
    if (plan && id == Q_SCAN_ALL && PQntuples(plan) == 1 && PQgetvalue(plan, 0, 3)[0] == 't')
        id = Q_SCAN_ALL_KEYED;
    PQclear(plan);
    if (rc == 0)
        rc = pg_exec_q(ps, id, n, p.v, "open the pair scan");
    if (rc)
        return rc;
    struct store_scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        PQclear(pg_run(ps, Q_SCAN_CLOSE, 0, NULL, "close the pair scan", &rc));
        return store_fail(s, STORE_ERR, "out of memory");
    }
    sc->ps = ps;
    ps->scan = sc;
    *out = sc;
    return 0;
}

static int send_fetch(struct store_scan *sc)
{
    char name[16];
    int rc = pg_prepare(sc->ps, Q_SCAN_FETCH, name, "scan pairs");
    if (rc)
        return rc;
    if (!PQsendQueryPrepared(sc->ps->conn, name, 0, NULL, NULL, NULL, 0))
        return pg_fail_conn(sc->ps, "scan pairs");
    sc->pending = true;
    return 0;
}

/* Digits to int64 without the locale machinery of strtoll (hot: every pair). */
static int64_t fast_i64(const char *p)
{
    bool neg = *p == '-';
    int64_t v = 0;
    for (p += neg; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return neg ? -v : v;
}

/* One side of a scanned pair: its level (column lc; NULL when the level is
 * NULL) and its row count (column nc; NULL when one). */
static void scan_side(PGresult *r, int i, int lc, int nc, bool present, int *level,
                      bool *level_null, int64_t *rows)
{
    *rows = !present ? 0 : PQgetisnull(r, i, nc) ? 1 : fast_i64(PQgetvalue(r, i, nc));
    int64_t v = present && !PQgetisnull(r, i, lc) ? fast_i64(PQgetvalue(r, i, lc)) : 0;
    *level_null = present && (PQgetisnull(r, i, lc) || v <= INT32_MIN || v > INT32_MAX);
    *level = *level_null ? 0 : (int)v;
}

int pg_pair_scan_next(struct store_scan *sc, struct pair_levels *out)
{
    struct pg_store *ps = sc->ps;
    if (sc->row >= sc->rows) {
        if (sc->done)
            return 0;
        PQclear(sc->batch);
        sc->batch = NULL;
        int rc = 0;
        if (sc->prefetched) {
            sc->batch = sc->prefetched;
            sc->prefetched = NULL;
        } else {
            if (!sc->pending)
                rc = send_fetch(sc);
            if (rc == 0)
                sc->batch = collect_prefetch(sc);
        }
        if (rc)
            return rc;
        if (PQresultStatus(sc->batch) != PGRES_TUPLES_OK) {
            rc = pg_fail_result(ps, sc->batch, "scan pairs");
            sc->batch = NULL;
            return rc;
        }
        sc->rows = PQntuples(sc->batch);
        sc->row = 0;
        if (sc->rows < PG_SCAN_FETCH)
            sc->done = true;
        else if ((rc = send_fetch(sc)) != 0) /* the next batch, while this one is read */
            return rc;
        if (sc->rows == 0)
            return 0;
    }
    PGresult *r = sc->batch;
    int i = sc->row++;
    out->user_id = fast_i64(PQgetvalue(r, i, 0));
    int n = PQgetlength(r, i, 1);
    if (n >= SPEC_ID_MAX)
        n = SPEC_ID_MAX - 1;
    memcpy(out->spec, PQgetvalue(r, i, 1), (size_t)n);
    out->spec[n] = '\0';
    /* Columns of SCAN_FORMAT: u, sp, progress row, license row, levels,
     * row counts (NULL: one), max_levels (NULL: unknown), email, first_seen. */
    out->has_progress = PQgetvalue(r, i, 2)[0] == 't';
    out->has_license = PQgetvalue(r, i, 3)[0] == 't';
    scan_side(r, i, 4, 6, out->has_progress, &out->progress_level, &out->progress_level_null,
              &out->progress_rows);
    scan_side(r, i, 5, 7, out->has_license, &out->license_level, &out->license_level_null,
              &out->license_rows);
    int64_t max = PQgetisnull(r, i, 8) ? 0 : fast_i64(PQgetvalue(r, i, 8));
    out->max_level = max > 0 && max <= INT32_MAX ? (int)max : 0;
    out->has_details = pair_is_violation(pair_state_of(out));
    out->open_known = out->has_open = false;
    if (out->has_details) {
        c_copy(r, i, 9, out->user_email, sizeof out->user_email);
        out->first_seen = c_i64(r, i, 10);
    } else {
        out->user_email[0] = '\0';
        out->first_seen = 0;
    }
    /* The merge join returns pairs in order; make sure of it. */
    if (sc->any && (out->user_id < sc->last_user ||
                    (out->user_id == sc->last_user && strcmp(out->spec, sc->last_spec) <= 0)))
        return store_fail(&ps->base, STORE_ERR, "the pair scan returned pairs out of order");
    sc->any = true;
    sc->last_user = out->user_id;
    memcpy(sc->last_spec, out->spec, sizeof sc->last_spec);
    return 1;
}

void pg_pair_scan_close(struct store_scan *sc)
{
    if (!sc)
        return;
    if (sc->pending)
        PQclear(collect_prefetch(sc));
    PQclear(sc->prefetched);
    sc->ps->scan = NULL;
    PQclear(sc->batch);
    if (PQstatus(sc->ps->conn) == CONNECTION_OK &&
        PQtransactionStatus(sc->ps->conn) == PQTRANS_INTRANS) {
        /* Closed now, so the transaction may go on (or scan again). */
        char saved[STORE_ERRMSG_MAX];
        memcpy(saved, sc->ps->base.errmsg, sizeof saved);
        int rc;
        PQclear(pg_run(sc->ps, Q_SCAN_CLOSE, 0, NULL, "close the pair scan", &rc));
        memcpy(sc->ps->base.errmsg, saved, sizeof saved);
    }
    free(sc);
}
