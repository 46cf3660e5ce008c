/* pg_store.c — the scale-out store: store.h implemented on PostgreSQL (libpq).
 * This file holds the connection and its errors, transactions, migrations,
 * the probe, opening and closing, and the table of store_ops; the statements
 * are in pg_statements.c, the rest by subject in the other pg_*.c files.
 *
 * Every statement is prepared once per connection and run with text
 * parameters; timestamps travel as ISO 8601 text in UTC. A lost connection
 * answers STORE_ERR_UNAVAILABLE and is re-established by the next call, so a
 * database restart under a running server needs no restart of Lockstep. */
#include "store/pg/pg_lease.h"
#include "store/pg/pg_private.h"
#include "store/pg/pg_schema.h"
#include "store/store.h"
#include "util/buf.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct store_ops pg_ops;

/* ---- connection and errors --------------------------------------------------- */

/* libpq messages end with a newline: keep the first line only. */
static void first_line(char *out, size_t len, const char *msg)
{
    snprintf(out, len, "%s", msg ? msg : "unknown error");
    out[strcspn(out, "\n")] = '\0';
}

int pg_fail_conn(struct pg_store *ps, const char *what)
{
    char msg[400];
    first_line(msg, sizeof msg, PQerrorMessage(ps->conn));
    return store_fail(&ps->base, STORE_ERR_UNAVAILABLE, "%s: the database is unavailable: %s",
                      what, msg);
}

int pg_fail_result(struct pg_store *ps, PGresult *res, const char *what)
{
    char msg[400];
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        PQclear(res);
        /* Whatever the transaction did is gone: the caller must see every
         * further call of it fail (not run outside it) until it rolls back. */
        if (ps->base.in_txn)
            ps->txn_lost = true;
        return pg_fail_conn(ps, what);
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    first_line(msg, sizeof msg, res ? PQresultErrorMessage(res) : PQerrorMessage(ps->conn));
    int code = STORE_ERR;
    if (state && !strcmp(state, "23505"))
        code = STORE_ERR_CONFLICT;
    else if (state && (!strcmp(state, "55P03") || !strcmp(state, "40001") ||
                       !strcmp(state, "40P01")))
        code = STORE_ERR_BUSY;
    else if (state && !strncmp(state, "08", 2))
        code = STORE_ERR_UNAVAILABLE;
    else if (state && !strcmp(state, "57P01")) /* admin shutdown */
        code = STORE_ERR_UNAVAILABLE;
    PQclear(res);
    if (code == STORE_ERR_BUSY)
        return store_fail(&ps->base, code, "%s: the database is locked by another writer (%s)",
                          what, msg);
    return store_fail(&ps->base, code, "%s: %s", what, msg);
}

/* Configure session c as every session of this store: UTC, ISO dates, no
 * JIT, row-lock waits bounded like SQLite's busy timeout, and, attached, the
 * search path of Lockstep's own schema. Returns NULL, or the failed result
 * (the caller's to clear). */
PGresult *pg_session_configure(struct pg_store *ps, PGconn *c)
{
    PGresult *res = PQexec(c, "SET TIME ZONE 'UTC'; SET datestyle = 'ISO, YMD'; "
                              "SET jit = off");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return res;
    PQclear(res);
    /* A timeout of 0 means do not wait there, while PostgreSQL's 0 would wait
     * forever. */
    char ms[32];
    snprintf(ms, sizeof ms, "%ld", ps->lock_timeout_ms > 0 ? ps->lock_timeout_ms : 1);
    const char *v[1] = {ms};
    res = PQexecParams(c, "SELECT set_config('lock_timeout', $1, false)", 1, NULL, v, NULL,
                       NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return res;
    PQclear(res);
    if (ps->attached) {
        /* Lockstep's own tables live in their schema, and only there: every
         * statement names them unqualified, and the attached tables by
         * their schema. */
        v[0] = ps->domain.own_schema;
        res = PQexecParams(c, "SELECT set_config('search_path', quote_ident($1), false)", 1,
                           NULL, v, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return res;
        PQclear(res);
    }
    return NULL;
}

static int session_setup(struct pg_store *ps)
{
    PGresult *res = pg_session_configure(ps, ps->conn);
    return res ? pg_fail_result(ps, res, "configure the session") : 0;
}

/* Make sure the connection is up; re-establish it after a loss. A FETCH sent
 * ahead by a pair scan is collected first, so the connection is free. */
int pg_ensure(struct pg_store *ps, const char *what)
{
    if (ps->scan)
        pg_scan_settle(ps->scan);
    if (ps->txn_lost)
        return store_fail(&ps->base, STORE_ERR_UNAVAILABLE,
                          "%s: the connection to the database was lost during the "
                          "transaction", what);
    if (PQstatus(ps->conn) == CONNECTION_OK)
        return 0;
    if (ps->base.in_txn) {
        ps->txn_lost = true;
        return pg_fail_conn(ps, what);
    }
    PQreset(ps->conn);
    memset(ps->prepared, 0, sizeof ps->prepared);
    /* The watcher's LISTEN and lock went with the session too. */
    ps->listening = ps->watch_locked = false;
    /* The stage table went with the session, and with it what was staged. */
    ps->stage_table = ps->stage_open = ps->stage_complete = false;
    buf_reset(&ps->stage_copy);
    ps->stage_pending = 0;
    if (PQstatus(ps->conn) != CONNECTION_OK)
        return pg_fail_conn(ps, what);
    return session_setup(ps);
}

/* Run a simple command (no parameters, no rows). */
int pg_command(struct pg_store *ps, const char *text, const char *what)
{
    int rc = pg_ensure(ps, what);
    if (rc)
        return rc;
    PGresult *res = PQexec(ps->conn, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail_result(ps, res, what);
    PQclear(res);
    return 0;
}

/* ---- transactions and migrations ----------------------------------------------- */

int pg_begin(struct store *s, enum store_txn kind)
{
    struct pg_store *ps = PS(s);
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "a transaction is already open");
    int rc = pg_command(ps,
                        kind == STORE_TXN_WRITE      ? "BEGIN"
                        : kind == STORE_TXN_SNAPSHOT ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                                     : "BEGIN ISOLATION LEVEL REPEATABLE READ "
                                                       "READ ONLY",
                        "begin transaction");
    if (rc == 0)
        s->in_txn = (int)kind + 1;
    ps->academy_path_set = false;
    return rc;
}

int pg_commit(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (!s->in_txn)
        return store_fail(s, STORE_ERR, "no transaction is open");
    if (ps->txn_lost) {
        s->in_txn = 0;
        ps->txn_lost = false;
        return store_fail(s, STORE_ERR_UNAVAILABLE,
                          "commit: the connection to the database was lost during the "
                          "transaction; nothing of it was saved");
    }
    PGresult *res = PQexec(ps->conn, "COMMIT");
    s->in_txn = 0;
    ps->academy_path_set = false;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail_result(ps, res, "commit");
    /* COMMIT of a failed transaction reports ROLLBACK: the change did not happen. */
    bool rolled_back = !strcmp(PQcmdStatus(res), "ROLLBACK");
    PQclear(res);
    return rolled_back ? store_fail(s, STORE_ERR, "commit: the transaction was rolled back") : 0;
}

void pg_rollback(struct store *s)
{
    struct pg_store *ps = PS(s);
    if (PQstatus(ps->conn) == CONNECTION_OK &&
        PQtransactionStatus(ps->conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(ps->conn, "ROLLBACK");
        PQclear(res);
    }
    s->in_txn = 0;
    ps->txn_lost = false;
    ps->academy_path_set = false;
}

static int current_version(struct pg_store *ps, int *version)
{
    *version = 0;
    PGresult *res = PQexec(ps->conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail_result(ps, res, "read schema version");
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!exists)
        return 0;
    res = PQexec(ps->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail_result(ps, res, "read schema version");
    *version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

static int pg_schema_version(struct store *s, int *version)
{
    int rc = pg_ensure(PS(s), "read schema version");
    return rc ? rc : current_version(PS(s), version);
}

static void probe_error(PGresult *res, PGconn *conn, char *out, size_t len)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    snprintf(out, len, "%.*s", (int)strcspn(m, "\n"), m);
}

static int pg_probe(struct store *s, bool deep, struct store_probe *out)
{
    (void)deep; /* PostgreSQL verifies its pages itself (checksums) on every read */
    struct pg_store *ps = PS(s);
    memset(out, 0, sizeof *out);
    out->last_check_pairs = -1;
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "probe: a transaction is open");
    int rc = pg_ensure(ps, "probe");
    if (rc)
        return rc;
    char err[256];
    const char *text = pg_statement_text(ps, Q_PROBE, err, sizeof err);
    if (!text) {
        snprintf(out->read_error, sizeof out->read_error, "read: %s", err);
        return 0;
    }
    PGresult *res = PQexec(ps->conn, text);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        probe_error(res, ps->conn, out->read_error, sizeof out->read_error);
        PQclear(res);
        return PQstatus(ps->conn) == CONNECTION_OK ? 0 : pg_fail_conn(ps, "probe");
    }
    out->schema_version = atoi(PQgetvalue(res, 0, 0));
    out->has_users = PQgetvalue(res, 0, 1)[0] == 't';
    out->has_pairs = PQgetvalue(res, 0, 2)[0] == 't';
    out->last_check_pairs = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    /* A write that changes nothing, committed (read-only server, full disk). */
    res = PQexec(ps->conn, "UPDATE schema_migrations SET applied_at = applied_at "
                           "WHERE version = (SELECT max(version) FROM schema_migrations)");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && !strcmp(state, "55P03")) /* lock_not_available */
            out->write_busy = true;
        else
            probe_error(res, ps->conn, out->write_error, sizeof out->write_error);
    }
    PQclear(res);
    return PQstatus(ps->conn) == CONNECTION_OK ? 0 : pg_fail_conn(ps, "probe");
}

/* On a standby pg_current_wal_lsn() fails and the replay functions answer;
 * on a primary the reverse: CASE asks only the one that applies. */
static int pg_wal_position(struct store *s, struct store_wal *out)
{
    struct pg_store *ps = PS(s);
    memset(out, 0, sizeof *out);
    if (s->in_txn)
        return store_fail(s, STORE_ERR, "wal position: a transaction is open");
    int rc = pg_ensure(ps, "read the WAL position");
    if (rc)
        return rc;
    PGresult *res = PQexec(ps->conn,
                           "SELECT pg_is_in_recovery(), "
                           "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                           "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn, "
                           "CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM "
                           "clock_timestamp() - pg_last_xact_replay_timestamp()) END");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return pg_fail_result(ps, res, "read the WAL position");
    out->in_recovery = PQgetvalue(res, 0, 0)[0] == 't';
    out->lsn = PQgetisnull(res, 0, 1) ? 0 : strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    out->has_replay_age = !PQgetisnull(res, 0, 2);
    out->replay_age_seconds = out->has_replay_age ? strtod(PQgetvalue(res, 0, 2), NULL) : 0;
    PQclear(res);
    return 0;
}

static int pg_migrate(struct store *s, int *applied)
{
    struct pg_store *ps = PS(s);
    *applied = 0;
    int version = 0, n = 0;
    int rc = pg_ensure(ps, "migrate");
    if (rc == 0)
        rc = current_version(ps, &version);
    if (rc)
        return rc;
    if (version > PG_MIGRATION_COUNT)
        return store_fail(s, STORE_ERR,
                          "the database schema is version %d, newer than this lockstep "
                          "understands (%d); upgrade lockstep",
                          version, PG_MIGRATION_COUNT);
    if (version == PG_MIGRATION_COUNT)
        return 0;
    /* Several processes may start at once: one migrates, the others wait. */
    rc = pg_command(ps, "BEGIN", "migrate");
    if (rc == 0)
        rc = pg_command(ps, "SELECT pg_advisory_xact_lock(7283940050)", "migrate");
    /* The server's notices (an IF NOT EXISTS that found the table, an IF
     * EXISTS that found nothing) are not the operator's business: libpq would
     * print each on stderr. */
    if (rc == 0)
        rc = pg_command(ps, "SET LOCAL client_min_messages = warning", "migrate");
    if (rc == 0)
        rc = pg_command(ps,
                     "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                     "KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
                     "create schema_migrations");
    if (rc == 0)
        rc = current_version(ps, &version);
    for (int i = 0; rc == 0 && i < PG_MIGRATION_COUNT; i++) {
        const struct store_migration *m = &pg_migrations[i];
        if (m->version <= version)
            continue;
        char what[96];
        snprintf(what, sizeof what, "migration %d (%s)", m->version, m->name);
        if (m->sql && (rc = pg_command(ps, m->sql, what)) != 0)
            break;
        if (m->domain_sql && !ps->attached && (rc = pg_command(ps, m->domain_sql, what)) != 0)
            break;
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        const char *vals[2] = {v, m->name};
        PGresult *res = PQexecParams(ps->conn,
                                     "INSERT INTO schema_migrations(version, name, applied_at) "
                                     "VALUES ($1, $2, now())",
                                     2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = pg_fail_result(ps, res, what);
            break;
        }
        PQclear(res);
        n++;
    }
    if (rc) {
        PGresult *res = PQexec(ps->conn, "ROLLBACK");
        PQclear(res);
        return rc;
    }
    rc = pg_command(ps, "COMMIT", "migrate");
    if (rc == 0)
        *applied = n;
    return rc;
}

/* ---- open and close ---------------------------------------------------------------------- */

static void pg_close(struct store *s)
{
    struct pg_store *ps = PS(s);
    buf_free(&ps->stage_copy);
    PQfinish(ps->conn);
    for (int i = 0; i < Q_COUNT; i++)
        free(ps->sql[i]);
    free(ps);
}

PGconn *pg_connect(const char *conninfo)
{
    /* The URL's own settings and the PG* environment win over these defaults
     * (keywords before dbname are overridden by what the URL sets): a host
     * that does not answer fails after 10 s instead of the system's TCP
     * timeout of minutes. */
    const char *keys[4], *vals[4];
    int k = 0;
    if (!getenv("PGCONNECT_TIMEOUT")) {
        keys[k] = "connect_timeout";
        vals[k++] = "10";
    }
    keys[k] = "fallback_application_name";
    vals[k++] = "lockstep";
    keys[k] = "dbname";
    vals[k++] = conninfo;
    keys[k] = vals[k] = NULL;
    return PQconnectdbParams(keys, vals, 1);
}

int store_pg_open(const char *conninfo, const struct store_options *o, struct store **out,
                  char *err, size_t errlen)
{
    *out = NULL;
    struct pg_store *ps = calloc(1, sizeof *ps);
    if (!ps) {
        snprintf(err, errlen, "out of memory");
        return STORE_ERR;
    }
    ps->base.ops = &pg_ops;
    if (o->domain)
        ps->domain = *o->domain;
    else
        domain_map_own(&ps->domain);
    ps->attached = ps->domain.attached;
    ps->base.domain_read_only = ps->attached && !ps->domain.repair;
    ps->base.domain_attached = ps->attached;
    ps->stage_copy = (struct buf)BUF_INIT(0);
    ps->lock_timeout_ms = o->busy_timeout_ms;
    snprintf(ps->conninfo, sizeof ps->conninfo, "%s", conninfo);
    ps->conn = pg_connect(conninfo);
    if (!ps->conn || PQstatus(ps->conn) != CONNECTION_OK) {
        char msg[400];
        first_line(msg, sizeof msg, ps->conn ? PQerrorMessage(ps->conn) : "out of memory");
        /* The message names host and database, never the password. */
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
        PQfinish(ps->conn);
        free(ps);
        return STORE_ERR_UNAVAILABLE;
    }
    int rc = session_setup(ps);
    if (rc == 0 && ps->attached && (rc = pg_attach_prepare(ps, o->create || o->migrate, err,
                                                         errlen)) != 0) {
        pg_close(&ps->base);
        return rc;
    }
    if (rc == 0 && !o->create) {
        /* A database without Lockstep's schema is no store: nothing is created in it. */
        bool exists = false;
        PGresult *res = PQexec(ps->conn, "SELECT to_regclass('schema_migrations') IS NOT NULL");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = pg_fail_result(ps, res, "read schema version");
        } else {
            exists = PQgetvalue(res, 0, 0)[0] == 't';
            PQclear(res);
        }
        if (rc == 0 && !exists) {
            /* Named from the connection: host and database, never the password. */
            const char *host = PQhost(ps->conn), *port = PQport(ps->conn);
            host = host ? host : "";
            port = port ? port : "";
            if (host[0] == '/') /* a Unix socket directory */
                snprintf(err, errlen, "no Lockstep store at postgresql://%s@/%s?host=%s&port=%s",
                         PQuser(ps->conn), PQdb(ps->conn), host, port);
            else
                snprintf(err, errlen, "no Lockstep store at postgresql://%s@%s:%s/%s",
                         PQuser(ps->conn), host, port, PQdb(ps->conn));
            pg_close(&ps->base);
            return STORE_ERR_NO_STORE;
        }
    }
    if (rc == 0 && o->migrate) {
        int applied = 0;
        rc = pg_migrate(&ps->base, &applied);
    }
    if (rc) {
        snprintf(err, errlen, "cannot prepare the PostgreSQL store: %s", store_errmsg(&ps->base));
        pg_close(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return 0;
}

static const struct store_ops pg_ops = {
    .name = "postgres",
    .schema_latest = PG_MIGRATION_COUNT,
    .close = pg_close,
    .migrate = pg_migrate,
    .schema_version = pg_schema_version,
    .probe = pg_probe,
    .attached_inspect = pg_attached_inspect,
    .wal_position = pg_wal_position,
    .watch_state_get = pg_watch_state_get,
    .watch_pending = pg_watch_pending,
    .watch_changes = pg_watch_changes,
    .pairs_get = pg_pairs_get,
    .user_rows = pg_user_rows,
    .violations_move = pg_violations_move,
    .watch_advance = pg_watch_advance,
    .watch_reset = pg_watch_reset,
    .watch_marks = pg_watch_marks,
    .watch_poll = pg_watch_poll,
    .watch_discard = pg_watch_discard,
    .watch_lock = pg_watch_lock,
    .watch_wait = pg_watch_wait,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .user_insert = pg_user_insert,
    .user_get = pg_user_get,
    .user_get_by_email = pg_user_get_by_email,
    .user_update = pg_user_update,
    .user_list = pg_user_list,
    .user_count = pg_user_count,
    .user_email = pg_user_email,
    .spec_insert = pg_spec_insert,
    .spec_get = pg_spec_get,
    .spec_list = pg_spec_list,
    .spec_level_xp = pg_spec_level_xp,
    .progress_get = pg_progress_get,
    .progress_insert = pg_progress_insert,
    .progress_update = pg_progress_update,
    .license_get = pg_license_get,
    .license_insert = pg_license_insert,
    .license_update = pg_license_update,
    .progression_insert = pg_progression_insert,
    .progression_count = pg_progression_count,
    .user_pairs = pg_user_pairs,
    .pair_scan_open = pg_pair_scan_open,
    .pair_scan_next = pg_pair_scan_next,
    .pair_scan_totals = pg_pair_scan_totals,
    .pair_scan_close = pg_pair_scan_close,
    .violation_first_seen = pg_violation_first_seen,
    .check_stage_reset = pg_check_stage_reset,
    .check_stage_add = pg_check_stage_add,
    .check_stage_resolve = pg_check_stage_resolve,
    .check_stage_complete = pg_check_stage_complete,
    .check_record = pg_check_record,
    .check_set_file = pg_check_set_file,
    .check_latest = pg_check_latest,
    .check_get = pg_check_get,
    .check_list = pg_check_list,
    .violations_open = pg_violations_open,
    .violations_new_since = pg_violations_new_since,
    .violations_resolved_since = pg_violations_resolved_since,
    .violations_open_page = pg_violations_open_page,
    .violations_open_count = pg_violations_open_count,
    .sync_run_insert = pg_sync_run_insert,
    .sync_run_list = pg_sync_run_list,
    .sync_run_count_repair = pg_sync_run_count_repair,
    .sync_run_finish = pg_sync_run_finish,
    .sync_run_list_running = pg_sync_run_list_running,
    .audit_insert = pg_audit_insert,
    .refresh_insert = pg_refresh_insert,
    .refresh_get = pg_refresh_get,
    .refresh_mark_used = pg_refresh_mark_used,
    .refresh_revoke_family = pg_refresh_revoke_family,
    .refresh_revoke_user = pg_refresh_revoke_user,
    .lease_get = pg_lease_get,
    .lease_renew = pg_lease_renew,
    .lease_take = pg_lease_take,
    .lease_release = pg_lease_release,
    .alert_eval_lock = pg_alert_eval_lock,
    .scheduler_start_insert = pg_scheduler_start_insert,
    .scheduler_first_start = pg_scheduler_first_start,
    .scheduler_last_start = pg_scheduler_last_start,
    .scheduler_start_list = pg_scheduler_start_list,
    .job_run_insert = pg_job_run_insert,
    .job_run_finish = pg_job_run_finish,
    .job_runs_interrupt_stale = pg_job_runs_interrupt_stale,
    .job_run_stats = pg_job_run_stats,
    .job_run_list = pg_job_run_list,
    .job_run_last_due = pg_job_run_last_due,
    .baseline_insert = pg_baseline_insert,
    .baseline_get = pg_baseline_get,
    .baseline_list = pg_baseline_list,
    .baseline_set_file = pg_baseline_set_file,
    .alert_insert = pg_alert_insert,
    .alert_update = pg_alert_update,
    .alert_list = pg_alert_list,
    .silence_insert = pg_silence_insert,
    .silence_list = pg_silence_list,
    .silence_delete = pg_silence_delete,
    .delivery_insert = pg_delivery_insert,
    .delivery_update = pg_delivery_update,
    .delivery_due = pg_delivery_due,
    .delivery_list = pg_delivery_list,
    .delivery_next_due = pg_delivery_next_due,
    .attempt_insert = pg_attempt_insert,
    .attempt_list = pg_attempt_list,
    .watch_capture = pg_watch_capture,
    .watch_capture_installed = pg_watch_capture_installed,
    .watch_poll_indexed = pg_watch_poll_indexed,
};
