/* backends.h — the two implementations behind store_open (private to
 * src/store: the rest of Lockstep opens a store by its URL). */
#ifndef LOCKSTEP_STORE_BACKENDS_H
#define LOCKSTEP_STORE_BACKENDS_H

#include "store/store.h"

/* Open the SQLite store at `path` / the PostgreSQL store `conninfo`, as
 * store_open does for their URLs. */
int store_sqlite_open(const char *path, const struct store_options *o, struct store **out,
                      char *err, size_t errlen);
int store_pg_open(const char *conninfo, const struct store_options *o, struct store **out,
                  char *err, size_t errlen);

#endif
