/* sqlite_lease.c — the leadership lease of the scheduled jobs on SQLite: one
 * row of scheduler_lease, renewed and taken with conditional UPDATEs. */
#include "store/sqlite/sqlite_lease.h"

#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

/* The clock is the writing process's wall clock: every process on one SQLite
 * file runs on the host that has the file, so they read the same clock. Times
 * are stored as fixed-width ISO 8601 text, which compares in time order. */

/* Run a lease UPDATE: ?1 owner, ?2 expires_at, ?3 now, ?4 from (or NULL).
 * *held: whether it changed the row. */
static int lease_update(struct store *s, const char *sql, const char *what, const char *owner,
                        int64_t expires_at, int64_t now, const char *from, bool *held)
{
    sqlite3 *db = sqlite_store_db(s);
    sqlite3_stmt *st = NULL;
    *held = false;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_store_fail(s, rc, what);
    char exp[TIME_ISO_LEN], at[TIME_ISO_LEN];
    time_format_iso(expires_at, exp);
    time_format_iso(now, at);
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, exp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, at, -1, SQLITE_TRANSIENT);
    if (sqlite3_bind_parameter_count(st) >= 4) {
        if (from)
            sqlite3_bind_text(st, 4, from, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 4);
    }
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sqlite_store_fail(s, rc, what);
    *held = sqlite3_changes(db) == 1;
    return 0;
}

int sqlite_lease_get(struct store *s, struct scheduler_lease *out)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = sqlite_store_db(s);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT owner, expires_at, renewed_at FROM scheduler_lease "
                                "WHERE id = 1",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sqlite_store_fail(s, rc, "read the scheduler lease");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *o = sqlite3_column_text(st, 0);
        const unsigned char *e = sqlite3_column_text(st, 1);
        const unsigned char *r = sqlite3_column_text(st, 2);
        snprintf(out->owner, sizeof out->owner, "%s", o ? (const char *)o : "");
        if (!e || time_parse_iso((const char *)e, &out->expires_at) != 0)
            out->expires_at = 0;
        if (!r || time_parse_iso((const char *)r, &out->renewed_at) != 0)
            out->renewed_at = 0;
        out->expired = out->expires_at <= time_now_us();
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return store_fail(s, STORE_ERR_NOT_FOUND, "read the scheduler lease: the row is missing");
    return rc == SQLITE_ROW ? 0 : sqlite_store_fail(s, rc, "read the scheduler lease");
}

int sqlite_lease_renew(struct store *s, const char *owner, int64_t duration_ms, bool *held)
{
    int64_t now = time_now_us();
    return lease_update(s,
                        "UPDATE scheduler_lease SET expires_at = ?2, renewed_at = ?3 "
                        "WHERE id = 1 AND owner = ?1 AND expires_at > ?3",
                        "renew the scheduler lease", owner, now + duration_ms * 1000, now, NULL,
                        held);
}

int sqlite_lease_take(struct store *s, const char *owner, const char *from,
                      int64_t duration_ms, bool *held)
{
    int64_t now = time_now_us();
    return lease_update(s,
                        "UPDATE scheduler_lease SET owner = ?1, expires_at = ?2, renewed_at = ?3 "
                        "WHERE id = 1 AND (expires_at <= ?3 OR owner = ?4)",
                        "take the scheduler lease", owner, now + duration_ms * 1000, now, from,
                        held);
}

int sqlite_lease_release(struct store *s, const char *owner)
{
    int64_t now = time_now_us();
    bool released;
    return lease_update(s,
                        "UPDATE scheduler_lease SET expires_at = ?2 "
                        "WHERE id = 1 AND owner = ?1 AND expires_at > ?3",
                        "release the scheduler lease", owner, now, now, NULL, &released);
}

int sqlite_alert_eval_lock(struct store *s)
{
    /* Write transactions begin IMMEDIATE: holding one already excludes every
     * other process's evaluation. */
    return s->in_txn ? 0 : store_fail(s, STORE_ERR, "alert evaluation outside a transaction");
}
