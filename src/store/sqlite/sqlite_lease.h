/* sqlite_lease.h — the SQLite store's leadership lease (sqlite_lease.c) and the
 * two accessors of sqlite_store.c it is built on. Internal to store/sqlite. */
#ifndef LOCKSTEP_SQLITE_LEASE_H
#define LOCKSTEP_SQLITE_LEASE_H

#include "store/store.h"

#include <sqlite3.h>

/* The store's main connection (borrowed; closed with the store). */
sqlite3 *sqlite_store_db(struct store *s);
/* Record SQLite result code `rc` of `what` as the store's error; returns the
 * store code (STORE_ERR_BUSY, STORE_ERR_CONFLICT, STORE_ERR). */
int sqlite_store_fail(struct store *s, int rc, const char *what);

/* The store_ops of the same names (store.h). */
int sqlite_lease_get(struct store *s, struct scheduler_lease *out);
int sqlite_lease_renew(struct store *s, const char *owner, int64_t duration_ms, bool *held);
int sqlite_lease_take(struct store *s, const char *owner, const char *from,
                      int64_t duration_ms, bool *held);
int sqlite_lease_release(struct store *s, const char *owner);
int sqlite_alert_eval_lock(struct store *s);

#endif
