/* pg_lease.h — the PostgreSQL store's leadership lease and alert-evaluation
 * lock (pg_lease.c), and the accessor of pg_statements.c they are built on.
 * Internal to store/pg. */
#ifndef LOCKSTEP_PG_LEASE_H
#define LOCKSTEP_PG_LEASE_H

#include "store/store.h"

#include <libpq-fe.h>

/* Run `text` with `n` text parameters on the store's connection (reconnecting
 * first when it was lost, outside a transaction). 0 with *out (caller clears),
 * or a STORE_ERR_* code with the store's error set and *out NULL. */
int pg_store_exec(struct store *s, const char *text, int n, const char *const *vals,
                  const char *what, PGresult **out);

/* The store_ops of the same names (store.h). */
int pg_lease_get(struct store *s, struct scheduler_lease *out);
int pg_lease_renew(struct store *s, const char *owner, int64_t duration_ms, bool *held);
int pg_lease_take(struct store *s, const char *owner, const char *from, int64_t duration_ms,
                  bool *held);
int pg_lease_release(struct store *s, const char *owner);
int pg_alert_eval_lock(struct store *s);

#endif
