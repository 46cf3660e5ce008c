/* replica.h — where a check reads its pairs: a streaming replica of the
 * PostgreSQL primary ([store] replica_url) when it is reachable and lags at
 * most replica_max_lag, the primary otherwise (docs/operations.md, "Reading
 * from a replica"). */
#ifndef LOCKSTEP_REPLICA_H
#define LOCKSTEP_REPLICA_H

#include "config/config.h"
#include "service/check.h"
#include "store/store.h"

#include <stddef.h>

struct replica;

/* The replica of cfg ([store] replica_url; none configured: every check
 * reads the primary). cfg is borrowed and must outlive it. No connection is
 * opened until a check asks. NULL on no memory. */
struct replica *replica_new(const struct config *cfg);
/* Close its connection and free it; NULL is a no-op. */
void replica_free(struct replica *rp);

/* Run check_execute on primary `s`, its pairs read from the replica when it
 * is usable right now, else from s with the reason in the run's
 * replica_fallback (o is copied; its read_store and read are set here). One
 * check at a time per replica. Returns what check_execute returns. */
int replica_check(struct replica *rp, struct store *s, const struct check_options *o,
                  struct check_outcome *out, char *err, size_t errlen);

#endif
