/* pg_scan.c — the PostgreSQL store's pair scan: one server-side merge join
 * of progress and licenses (its SQL: pg_statements.c, SCAN_FORMAT), read
 * through a cursor a batch at a time, the next batch fetched while one is read.
 * A sweep (SWEEP_FORMAT) returns the inconsistent pairs alone. Over a large
 * store it opens a second session for its time (sc->aux) that imports the
 * sweep's snapshot, so that the server works on two cores: there the pairs
 * and users are counted (SWEEP_COUNT_FORMAT) and the sweep's last users are
 * swept into a held cursor (materialized on the server at its COMMIT) while
 * this session sweeps the first ones; their pairs are read from it after the
 * first range's. Otherwise the sweep counts on its own session at the end. */
#include "model/pair.h"
#include "store/pg/pg_private.h"
#include "util/buf.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* An open pair scan: the batch being read, the one fetched ahead, and the
 * last pair read (the order check); a sweep's counts. */
struct store_scan {
    struct pg_store *ps;
    /* The session whose cursor is read: ps->conn, or aux for a sweep's
     * second range (its held cursor). */
    PGconn *reading;
    PGconn *aux; /* a split sweep's second session, closed with the scan */
    PGresult *batch;
    int row, rows;
    bool done;
    /* The next batch is requested as soon as one arrives, so the server
     * produces it while this one is classified. */
    bool pending;
    PGresult *prefetched; /* collected early because another call needed the connection */
    int64_t last_user;
    char last_spec[SPEC_ID_MAX]; /* the last pair's, when spec_known */
    bool any, spec_known;
    /* A sweep (pair_filter.inconsistent_only): only inconsistent pairs come.
     * The pairs with a progress row and their users are counted by
     * count_id, on sc->aux when counting_aside (else on the scan's own
     * connection when the pairs are read); the pairs without one, and the
     * users with no progress row at all, here (lic_*). */
    bool sweep, counting_aside, counted;
    enum stmt_id id, count_id;
    /* A sweep split in two: the users from split on are its second range,
     * swept on sc->aux (aside_range) or, when that failed, on ps->conn once
     * the first is read (second_pending until then). */
    int64_t split;
    bool second_pending, aside_range, aside_counted;
    /* The progress side's specializations are known by a foreign key
     * (spec_key_trusted): the sweep's $3. */
    bool spec_key;
    int64_t aside_keys, aside_users;
    int64_t lic_pairs, lic_users, last_lic_user;
    bool any_lic;
    int64_t pairs, users;
};

/* Digits to int64 without the locale machinery of strtoll (hot: every pair). */
static int64_t fast_i64(const char *p)
{
    bool neg = *p == '-';
    int64_t v = 0;
    for (p += neg; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return neg ? -v : v;
}

/* Wait for a FETCH sent ahead; the result (or NULL) stays with the scan. */
static PGresult *collect_prefetch(struct store_scan *sc)
{
    PGresult *res = NULL, *r;
    while ((r = PQgetResult(sc->reading)) != NULL) {
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
    if (sc->pending && sc->reading == sc->ps->conn)
        sc->prefetched = collect_prefetch(sc);
}

/* A sweep of a progress table smaller than this is not split: the second
 * range's own round trips would cost more than they save. */
#define SWEEP_SPLIT_MIN_ROWS 5000
/* The share of the users the first range takes: the second session also
 * counts every pair (about half the sweep's own work at 1 M and 10 M
 * pairs), so an even split of the work gives it the smaller range (0.75
 * measured best of 0.65 to 0.8 at both sizes: docs/benchmarks.md, run S6). */
#define SWEEP_SPLIT_SHARE 0.75

/* Where to split the sweep's users into *split (the first user of the
 * second range): the bound of the progress table's user histogram at
 * SWEEP_SPLIT_SHARE, or 0 for no split (no statistics yet, a small table, a
 * bound that is not an integer). Returns 0, or the store's error when the
 * catalog could not be read (the transaction is then unusable). */
static int sweep_split(struct store_scan *sc, int64_t *split_out)
{
    struct pg_store *ps = sc->ps;
    const char *v[3] = {ps->attached ? ps->domain.schema : "",
                        ps->domain.name[DOMAIN_PROGRESS_TABLE],
                        ps->domain.name[DOMAIN_PROGRESS_USER]};
    int rc;
    PGresult *r = pg_run(ps, Q_SWEEP_SPLIT, 3, v, "split the sweep", &rc);
    int64_t split = 0;
    if (r && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
        fast_i64(PQgetvalue(r, 0, 1)) >= SWEEP_SPLIT_MIN_ROWS) {
        /* "{b1,b2,...}": the bound at the share, by position. */
        const char *b = PQgetvalue(r, 0, 0);
        int bounds = 1;
        for (const char *c = b; *c; c++)
            bounds += *c == ',';
        int want = (int)(SWEEP_SPLIT_SHARE * (bounds - 1) + 0.5), at = 0;
        const char *c = b + (*b == '{');
        for (; *c && at < want; c++)
            at += *c == ',';
        const char *d = c + (*c == '-');
        if (*d >= '0' && *d <= '9') {
            split = fast_i64(c);
            for (; *d >= '0' && *d <= '9'; d++)
                ;
            if ((*d != ',' && *d != '}') || split <= INT64_MIN + 1)
                split = 0;
        }
    }
    PQclear(r);
    *split_out = split;
    return rc;
}

/* Whether the sweep may leave out its test of each pair's specialization
 * against the known ones (SWEEP_CANDIDATE) into *trusted: when the progress
 * table's specialization column has a foreign key to the specializations
 * table that PostgreSQL validated and enforces (Q_SWEEP_SPEC_KEY), and every
 * row of that table is a known specialization (Q_SWEEP_SPECS_KNOWN), read in
 * the sweep's own transaction, so in its snapshot. A pair with both rows
 * has one specialization (the join's key), so its progress row's settles
 * it; a pair without both rows is sent whatever its id. Rows written past
 * the key (its triggers disabled at the time, session_replication_role =
 * replica) are outside what PostgreSQL guarantees and so outside this test:
 * the watcher's and every scoped check's rule still tests each id
 * (docs/architecture.md). Returns 0, or the store's error. */
static int spec_key_trusted(struct store_scan *sc, bool *trusted)
{
    struct pg_store *ps = sc->ps;
    *trusted = false;
    const char *v[4] = {ps->attached ? ps->domain.schema : "",
                        ps->domain.name[DOMAIN_PROGRESS_TABLE],
                        ps->domain.name[DOMAIN_PROGRESS_SPEC],
                        ps->domain.name[DOMAIN_SPECS_TABLE]};
    int rc;
    PGresult *r = pg_one(ps, Q_SWEEP_SPEC_KEY, 4, v, "read the specializations' key", &rc);
    bool key = r && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (rc || !key)
        return rc;
    r = pg_one(ps, Q_SWEEP_SPECS_KNOWN, 0, NULL, "read the specializations", &rc);
    *trusted = r && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

/* Start a split sweep's second session in this transaction's snapshot
 * (exported here, imported there), without waiting: its count, then its
 * range. When it cannot be had or refuses the snapshot, both are left to
 * the scan's own session (second_range, count_totals): slower, the same
 * figures. Returns 0, or a store error when the export itself fails (the
 * transaction is then unusable; never seen on PostgreSQL 10 or later, which
 * export on a standby too). */
static int count_aside(struct store_scan *sc)
{
    struct pg_store *ps = sc->ps;
    char err[256];
    const char *text = pg_statement_text(ps, sc->count_id, err, sizeof err);
    if (!text)
        return store_fail(&ps->base, STORE_ERR, "count the pairs: %s", err);
    /* The second range: the sweep's own statement, its bounds and $3 written in and
     * its cursor held (materialized at the COMMIT), under a name of its own. */
    struct buf range = BUF_INIT(0);
    const char *sweep = sc->split ? pg_statement_text(ps, sc->id, err, sizeof err) : NULL;
    const char *declare = "DECLARE lockstep_pairs NO SCROLL CURSOR FOR ";
    if (sweep && !strncmp(sweep, declare, strlen(declare)) && strstr(sweep, "$2::bigint")) {
        int bad = buf_printf(&range, "DECLARE lockstep_second NO SCROLL CURSOR WITH HOLD FOR ");
        /* Every $1, $2 and $3 of the text: the range's bounds (the second
         * range has no upper one) and spec_key. */
        for (const char *c = sweep + strlen(declare); *c && !bad; c++) {
            if (c[0] == '$' && c[1] >= '1' && c[1] <= '3' && !(c[2] >= '0' && c[2] <= '9')) {
                bad = c[1] == '1'   ? buf_printf(&range, "%lld", (long long)sc->split)
                      : c[1] == '2' ? buf_printf(&range, "NULL")
                                    : buf_printf(&range, "%s", sc->spec_key ? "true" : "false");
                c++;
            } else {
                bad = buf_printf(&range, "%c", *c);
            }
        }
        if (bad)
            buf_reset(&range);
    }
    PGresult *r = PQexec(ps->conn, "SELECT pg_export_snapshot()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        buf_free(&range);
        return pg_fail_result(ps, r, "export the check's snapshot");
    }
    /* Configured as the store's own session: the second range's lookups
     * name Lockstep's tables as its statements do. */
    sc->aux = pg_connect(ps->conninfo);
    PGresult *failed = NULL;
    if (!sc->aux || PQstatus(sc->aux) != CONNECTION_OK ||
        (failed = pg_session_configure(ps, sc->aux)) != NULL) {
        PQclear(failed);
        PQfinish(sc->aux);
        sc->aux = NULL;
    }
    char *snapshot = sc->aux ? PQescapeLiteral(sc->aux, PQgetvalue(r, 0, 0),
                                               (size_t)PQgetlength(r, 0, 0))
                             : NULL;
    PQclear(r);
    if (!snapshot) {
        buf_free(&range);
        return 0;
    }
    /* The plan settings of Q_SCAN_PLAN: the second range must come as a
     * merge join does, in pair order. */
    struct buf q = BUF_INIT(0);
    int bad = buf_printf(&q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                             "SET TRANSACTION SNAPSHOT %s; SET LOCAL enable_hashjoin = off; "
                             "SET LOCAL enable_nestloop = off; SET LOCAL enable_hashagg = off; "
                             "%s; %s%s COMMIT",
                         snapshot, text, buf_str(&range), range.len ? ";" : "");
    PQfreemem(snapshot);
    if (bad == 0 && PQsendQuery(sc->aux, buf_str(&q))) {
        sc->counting_aside = true;
        sc->aside_range = range.len > 0;
    }
    buf_free(&q);
    buf_free(&range);
    return 0;
}

/* Wait for the second session's work: its count into sc->aside_keys and
 * aside_users (aside_counted), and whether its range's cursor is held
 * (aside_range stays true only then). Any failure closes the session; what
 * did not succeed is done on ps->conn. */
static void collect_aside(struct store_scan *sc)
{
    bool failed = false;
    PGresult *r;
    while ((r = PQgetResult(sc->aux)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 2 && !failed) {
            sc->aside_keys = fast_i64(PQgetvalue(r, 0, 0));
            sc->aside_users = fast_i64(PQgetvalue(r, 0, 1));
            sc->aside_counted = true;
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            failed = true;
        }
        PQclear(r);
    }
    sc->counting_aside = false;
    /* The COMMIT came last and materialized the held cursor: a failure of
     * any statement fails it (the transaction rolls back). */
    if (failed || PQtransactionStatus(sc->aux) != PQTRANS_IDLE) {
        sc->aside_range = false;
        PQfinish(sc->aux);
        sc->aux = NULL;
    }
}

/* The sweep's totals once its pairs are read: the aside count's figures, or
 * the same count run now on the scan's own connection, plus what the sweep
 * counted itself. Returns 0 or a store error. */
static int count_totals(struct store_scan *sc)
{
    if (sc->counting_aside)
        collect_aside(sc);
    int64_t keys = sc->aside_keys, users = sc->aside_users;
    if (!sc->aside_counted) {
        int rc;
        PGresult *r = pg_one(sc->ps, sc->count_id, 0, NULL, "count the pairs", &rc);
        if (!r)
            return rc;
        keys = fast_i64(PQgetvalue(r, 0, 0));
        users = fast_i64(PQgetvalue(r, 0, 1));
        PQclear(r);
    }
    sc->pairs = keys + sc->lic_pairs;
    sc->users = users + sc->lic_users;
    sc->counted = true;
    return 0;
}

int pg_pair_scan_open(struct store *s, const struct pair_filter *f,
                             struct store_scan **out)
{
    struct pg_store *ps = PS(s);
    *out = NULL;
    if (s->in_txn != (int)STORE_TXN_READ + 1 && s->in_txn != (int)STORE_TXN_WRITE + 1)
        return store_fail(s, STORE_ERR, "the pair scan needs an open transaction");
    bool by_user = f && f->user_id > 0, by_spec = f && f->spec;
    bool sweep = f && f->inconsistent_only && !by_user && !by_spec;
    enum stmt_id id = by_user ? (by_spec ? Q_SCAN_USER_SPEC : Q_SCAN_USER)
                      : by_spec ? Q_SCAN_SPEC
                      : sweep   ? Q_SCAN_SWEEP
                                : Q_SCAN_ALL;
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
    if (plan && (id == Q_SCAN_ALL || id == Q_SCAN_SWEEP) && PQntuples(plan) == 1 &&
        PQgetvalue(plan, 0, 4)[0] == 't')
        id = id == Q_SCAN_SWEEP ? Q_SCAN_SWEEP_KEYED : Q_SCAN_ALL_KEYED;
    PQclear(plan);
    struct store_scan *sc = rc == 0 ? calloc(1, sizeof *sc) : NULL;
    if (rc)
        return rc;
    if (!sc)
        return store_fail(s, STORE_ERR, "out of memory");
    sc->ps = ps;
    sc->reading = ps->conn;
    sc->sweep = sweep;
    sc->id = id;
    if (sweep) {
        sc->count_id = id == Q_SCAN_SWEEP_KEYED ? Q_SWEEP_COUNT_KEYED : Q_SWEEP_COUNT;
        /* Split only in a repeatable-read transaction: its snapshot, the
         * one exported, is the one its cursor reads (a read-committed one
         * takes a new snapshot for each statement). */
        if ((rc = spec_key_trusted(sc, &sc->spec_key)) != 0 ||
            (s->in_txn == (int)STORE_TXN_READ + 1 && (rc = sweep_split(sc, &sc->split)) != 0)) {
            free(sc);
            return rc;
        }
        if (sc->split && (rc = count_aside(sc)) != 0) {
            free(sc);
            return rc;
        }
        /* The first range (every user when not split): from the first user
         * (no lower bound), to the one before the split (none: the last). */
        p.v[n++] = NULL;
        if (sc->split)
            p_i64(&p, n, sc->split - 1);
        else
            p.v[n] = NULL;
        n++;
        p_bool(&p, n++, sc->spec_key);
        sc->second_pending = sc->split != 0;
    }
    if ((rc = pg_exec_q(ps, id, n, p.v, "open the pair scan")) != 0) {
        ps->scan = sc;
        pg_pair_scan_close(sc);
        return rc;
    }
    ps->scan = sc;
    *out = sc;
    return 0;
}

static int send_fetch(struct store_scan *sc)
{
    if (sc->reading != sc->ps->conn) { /* the second range's held cursor */
        if (!PQsendQuery(sc->reading,
                         "FETCH FORWARD " NUMBER_TEXT(PG_SCAN_FETCH) " FROM lockstep_second"))
            return store_fail(&sc->ps->base, STORE_ERR_UNAVAILABLE,
                              "scan pairs: the sweep's second session: %s",
                              PQerrorMessage(sc->reading));
        sc->pending = true;
        return 0;
    }
    char name[16];
    int rc = pg_prepare(sc->ps, Q_SCAN_FETCH, name, "scan pairs");
    if (rc)
        return rc;
    if (!PQsendQueryPrepared(sc->ps->conn, name, 0, NULL, NULL, NULL, 0))
        return pg_fail_conn(sc->ps, "scan pairs");
    sc->pending = true;
    return 0;
}

/* The first range of a split sweep is read: go on with the second, from the
 * held cursor of sc->aux, or swept now on ps->conn when that failed. Returns
 * 0 or a store error. */
static int second_range(struct store_scan *sc)
{
    struct pg_store *ps = sc->ps;
    sc->second_pending = false;
    if (sc->counting_aside)
        collect_aside(sc);
    PQclear(sc->batch);
    sc->batch = NULL;
    sc->row = sc->rows = 0;
    sc->done = false;
    if (sc->aside_range) {
        sc->reading = sc->aux;
        return 0;
    }
    int rc = pg_exec_q(ps, Q_SCAN_CLOSE, 0, NULL, "scan pairs");
    struct params p = {0};
    p_i64(&p, 0, sc->split); /* to the last user: no upper bound */
    p.v[1] = NULL;
    p_bool(&p, 2, sc->spec_key);
    return rc ? rc : pg_exec_q(ps, sc->id, 3, p.v, "scan pairs");
}

/* One side of a scanned pair from its level's text (NULL when the level is
 * NULL) and its row count's (NULL when one). */
static void side_of(bool present, const char *level_text, const char *rows_text, int *level,
                    bool *level_null, int64_t *rows)
{
    *rows = !present ? 0 : rows_text ? fast_i64(rows_text) : 1;
    int64_t v = present && level_text ? fast_i64(level_text) : 0;
    *level_null = present && (!level_text || v <= INT32_MIN || v > INT32_MAX);
    *level = *level_null ? 0 : (int)v;
}

/* Column c of row i as text, or NULL when it is NULL. */
static const char *text_or_null(PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

/* The pair's specialization (len bytes at sp) into out: 0, or STORE_ERR
 * when it is longer than SPEC_ID_LEN (store_spec_copy; it names the progress
 * side's column when the pair has a progress row, the scan's coalesce). */
static int scan_spec(struct store_scan *sc, struct pair_levels *out, const char *sp, size_t len)
{
    return store_domain_spec_copy(&sc->ps->base, &sc->ps->domain, !out->has_progress, out->spec,
                                  sp, len, out->user_id);
}

/* A row of SCAN_FORMAT into out: u, sp, progress row, license row, levels,
 * row counts (NULL: one), max_levels (NULL: unknown), email, first_seen.
 * Returns 0, or STORE_ERR (scan_spec). */
static int scan_row(struct store_scan *sc, PGresult *r, int i, struct pair_levels *out)
{
    out->user_id = fast_i64(PQgetvalue(r, i, 0));
    out->has_progress = PQgetvalue(r, i, 2)[0] == 't';
    out->has_license = PQgetvalue(r, i, 3)[0] == 't';
    if (scan_spec(sc, out, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1)) != 0)
        return STORE_ERR;
    side_of(out->has_progress, text_or_null(r, i, 4), text_or_null(r, i, 6),
            &out->progress_level, &out->progress_level_null, &out->progress_rows);
    side_of(out->has_license, text_or_null(r, i, 5), text_or_null(r, i, 7), &out->license_level,
            &out->license_level_null, &out->license_rows);
    int64_t max = PQgetisnull(r, i, 8) ? 0 : fast_i64(PQgetvalue(r, i, 8));
    out->max_level = max > 0 && max <= INT32_MAX ? (int)max : 0;
    out->has_details = pair_is_violation(pair_state_of(out));
    if (out->has_details) {
        c_copy(r, i, 9, out->user_email, sizeof out->user_email);
        out->first_seen = c_i64(r, i, 10);
    }
    return 0;
}

/* The fields of a sweep's inconsistent pair before its specialization. */
enum { SWEEP_PK, SWEEP_LK, SWEEP_PL, SWEEP_LL, SWEEP_PN, SWEEP_LN, SWEEP_MX, SWEEP_FIRST_SEEN,
       SWEEP_FIELDS };

#define SWEEP_MALFORMED "the pair scan returned a pair it cannot read"

/* A row of SWEEP_FORMAT with its pair's text d (see there: "pk lk pl ll pn
 * ln mx first_seen N:<sp><email>", NULL as empty) into out. Returns 0, or
 * STORE_ERR with the store's error: d is not of that form, or scan_spec. */
static int sweep_row(struct store_scan *sc, PGresult *r, int i, const char *d,
                     struct pair_levels *out)
{
    const char *field[SWEEP_FIELDS];
    for (int f = 0; f < SWEEP_FIELDS; f++) {
        const char *end = strchr(d, ' ');
        if (!end)
            return store_fail(&sc->ps->base, STORE_ERR, "%s", SWEEP_MALFORMED);
        field[f] = end > d ? d : NULL;
        d = end + 1;
    }
    size_t sp_len = 0;
    for (; *d >= '0' && *d <= '9'; d++)
        sp_len = sp_len * 10 + (size_t)(*d - '0');
    if (*d++ != ':' || sp_len > strlen(d))
        return store_fail(&sc->ps->base, STORE_ERR, "%s", SWEEP_MALFORMED);
    out->user_id = fast_i64(PQgetvalue(r, i, 0));
    out->has_progress = field[SWEEP_PK] && field[SWEEP_PK][0] == 't';
    out->has_license = field[SWEEP_LK] && field[SWEEP_LK][0] == 't';
    if (scan_spec(sc, out, d, sp_len) != 0)
        return STORE_ERR;
    side_of(out->has_progress, field[SWEEP_PL], field[SWEEP_PN], &out->progress_level,
            &out->progress_level_null, &out->progress_rows);
    side_of(out->has_license, field[SWEEP_LL], field[SWEEP_LN], &out->license_level,
            &out->license_level_null, &out->license_rows);
    int64_t max = field[SWEEP_MX] ? fast_i64(field[SWEEP_MX]) : 0;
    out->max_level = max > 0 && max <= INT32_MAX ? (int)max : 0;
    out->has_details = pair_is_violation(pair_state_of(out));
    if (out->has_details) {
        snprintf(out->user_email, sizeof out->user_email, "%s", d + sp_len);
        out->first_seen = field[SWEEP_FIRST_SEEN] ? fast_i64(field[SWEEP_FIRST_SEEN]) : 0;
    }
    return 0;
}

/* The next batch into sc->batch when the current one is read. Returns 1
 * when a row is there to read, 0 at the end, or a store error. */
static int next_row(struct store_scan *sc)
{
    if (sc->row < sc->rows)
        return 1;
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
        rc = pg_fail_result(sc->ps, sc->batch, "scan pairs");
        sc->batch = NULL;
        return rc;
    }
    sc->rows = PQntuples(sc->batch);
    sc->row = 0;
    if (sc->rows < PG_SCAN_FETCH)
        sc->done = true;
    else if ((rc = send_fetch(sc)) != 0) /* the next batch, while this one is read */
        return rc;
    return sc->rows > 0;
}

/* Count a pair of `user` (spec: NULL when not read) in the order check and
 * the sweep's counts. Returns 0, or a store error when the pairs come out of
 * order: the merge join returns them in order, and the users are counted by
 * that. */
static int count_pair(struct store_scan *sc, int64_t user, const char *spec)
{
    if (sc->any && (user < sc->last_user ||
                    (user == sc->last_user && spec && sc->spec_known &&
                     strcmp(spec, sc->last_spec) <= 0)))
        return store_fail(&sc->ps->base, STORE_ERR, "the pair scan returned pairs out of order");
    if (!sc->sweep && (!sc->any || user != sc->last_user))
        sc->users++;
    sc->pairs += !sc->sweep;
    sc->any = true;
    sc->last_user = user;
    sc->spec_known = spec != NULL;
    if (spec)
        memcpy(sc->last_spec, spec, sizeof sc->last_spec);
    return 0;
}

int pg_pair_scan_next(struct store_scan *sc, struct pair_levels *out)
{
    int rc;
    PGresult *r;
    int i;
    const char *details = NULL; /* a sweep's inconsistent pair */
    while ((rc = next_row(sc)) == 0 && sc->second_pending)
        if ((rc = second_range(sc)) != 0)
            return rc;
    if (rc != 1)
        return rc == 0 && sc->sweep && !sc->counted ? count_totals(sc) : rc;
    r = sc->batch;
    i = sc->row++;
    if (sc->sweep && (details = text_or_null(r, i, 1)) == NULL)
        return store_fail(&sc->ps->base, STORE_ERR, "%s", SWEEP_MALFORMED);
    out->open_known = out->has_open = false;
    out->user_email[0] = '\0';
    out->first_seen = 0;
    if (!details)
        rc = scan_row(sc, r, i, out);
    else
        rc = sweep_row(sc, r, i, details, out);
    if (rc)
        return rc;
    if (sc->sweep && !out->has_progress) {
        /* Counted here: a pair without a progress row, and its user when it
         * has none at all (the pairs come ordered by user). */
        sc->lic_pairs++;
        if (PQgetvalue(r, i, 2)[0] == 't' && (!sc->any_lic || out->user_id != sc->last_lic_user)) {
            sc->lic_users++;
            sc->any_lic = true;
            sc->last_lic_user = out->user_id;
        }
    }
    return (rc = count_pair(sc, out->user_id, out->spec)) != 0 ? rc : 1;
}

int pg_pair_scan_totals(struct store_scan *sc, int64_t *pairs, int64_t *users)
{
    *pairs = sc->pairs;
    *users = sc->users;
    return sc->sweep && sc->counted;
}

void pg_pair_scan_close(struct store_scan *sc)
{
    if (!sc)
        return;
    if (sc->pending)
        PQclear(collect_prefetch(sc));
    if (sc->counting_aside) { /* a sweep stopped early: its count is not wanted */
        PGcancel *cancel = PQgetCancel(sc->aux);
        char ignored_err[256];
        if (cancel) {
            PQcancel(cancel, ignored_err, sizeof ignored_err);
            PQfreeCancel(cancel);
        }
        collect_aside(sc);
    }
    PQfinish(sc->aux); /* and with it the held cursor */
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
