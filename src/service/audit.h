/* audit.h — the audit trail: one row per action a user or the system took
 * (logins, level changes, syncs, silences), written where it happens. */
#ifndef LOCKSTEP_AUDIT_H
#define LOCKSTEP_AUDIT_H

#include "store/store.h"

/* Append the audit row `a` (its strings are borrowed). Returns 0 or a
 * STORE_ERR_* code (store_errmsg(s) says why). */
int audit_record(struct store *s, const struct audit_entry *a);

#endif
