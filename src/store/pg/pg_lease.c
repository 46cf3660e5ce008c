/* pg_lease.c — the leadership lease of the scheduled jobs on PostgreSQL (one
 * row of scheduler_lease, renewed and taken with conditional UPDATEs), and the
 * lock that makes the alert evaluations of all processes take turns. */
#include "store/pg/pg_lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every time is the server's clock_timestamp(): one clock for all processes,
 * whatever their hosts' clocks say. */

#define ALERT_EVAL_LOCK_KEY "7283940052" /* one-key advisory locks: 7283940050 migrations */
#define ALERT_EVAL_IDLE_LIMIT "5s"          /* an evaluation idles for milliseconds */
#define ALERT_EVAL_LOCK_WAIT "15s"          /* longer than a stopped holder keeps it */

/* Run a lease UPDATE ... RETURNING: *held when it returned the row. */
static int lease_update(struct store *s, const char *sql, const char *what, int n,
                        const char *const *vals, bool *held)
{
    PGresult *res = NULL;
    *held = false;
    int rc = pg_store_exec(s, sql, n, vals, what, &res);
    if (rc)
        return rc;
    *held = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

int pg_lease_get(struct store *s, struct scheduler_lease *out)
{
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    int rc = pg_store_exec(s,
                           "SELECT owner, (extract(epoch FROM expires_at) * 1000000)::bigint,"
                           " (extract(epoch FROM renewed_at) * 1000000)::bigint,"
                           " expires_at <= clock_timestamp() FROM scheduler_lease WHERE id = 1",
                           0, NULL, "read the scheduler lease", &res);
    if (rc)
        return rc;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return store_fail(s, STORE_ERR_NOT_FOUND, "read the scheduler lease: the row is missing");
    }
    snprintf(out->owner, sizeof out->owner, "%s", PQgetvalue(res, 0, 0));
    out->expires_at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    out->renewed_at = PQgetisnull(res, 0, 2) ? 0 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->expired = PQgetvalue(res, 0, 3)[0] == 't';
    PQclear(res);
    return 0;
}

int pg_lease_renew(struct store *s, const char *owner, int64_t duration_ms, bool *held)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, duration_ms);
    const char *vals[2] = {owner, ms};
    return lease_update(s,
                        "UPDATE scheduler_lease SET renewed_at = clock_timestamp(),"
                        " expires_at = clock_timestamp() + $2::bigint * interval '1 millisecond'"
                        " WHERE id = 1 AND owner = $1 AND expires_at > clock_timestamp()"
                        " RETURNING owner",
                        "renew the scheduler lease", 2, vals, held);
}

int pg_lease_take(struct store *s, const char *owner, const char *from, int64_t duration_ms,
                  bool *held)
{
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, duration_ms);
    const char *vals[3] = {owner, ms, from};
    return lease_update(s,
                        "UPDATE scheduler_lease SET owner = $1, renewed_at = clock_timestamp(),"
                        " expires_at = clock_timestamp() + $2::bigint * interval '1 millisecond'"
                        " WHERE id = 1 AND (expires_at <= clock_timestamp() OR owner = $3)"
                        " RETURNING owner",
                        "take the scheduler lease", 3, vals, held);
}

int pg_lease_release(struct store *s, const char *owner)
{
    const char *vals[1] = {owner};
    bool released;
    return lease_update(s,
                        "UPDATE scheduler_lease SET expires_at = clock_timestamp()"
                        " WHERE id = 1 AND owner = $1 AND expires_at > clock_timestamp()"
                        " RETURNING owner",
                        "release the scheduler lease", 1, vals, &released);
}

int pg_alert_eval_lock(struct store *s)
{
    if (!s->in_txn)
        return store_fail(s, STORE_ERR, "alert evaluation outside a transaction");
    /* A process stopped (SIGSTOP, a debugger) inside its evaluation would hold
     * the lock, and every other evaluation with it, for as long as it stays
     * stopped: the server ends such a transaction after a few idle seconds,
     * and the others wait longer than that for the lock. */
    PGresult *res = NULL;
    int rc = pg_store_exec(s,
                           "SELECT set_config('idle_in_transaction_session_timeout', "
                           "'" ALERT_EVAL_IDLE_LIMIT "', true),"
                           " set_config('lock_timeout', '" ALERT_EVAL_LOCK_WAIT "', true)",
                           0, NULL, "limit the alert evaluation's idle time", &res);
    PQclear(res);
    if (rc)
        return rc;
    rc = pg_store_exec(s, "SELECT pg_advisory_xact_lock(" ALERT_EVAL_LOCK_KEY ")", 0, NULL,
                       "wait for the other processes' alert evaluation", &res);
    PQclear(res);
    return rc;
}
