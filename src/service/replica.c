/* replica.c — choosing where a check reads: ask the primary where its log
 * stands and the replica what it has replayed; a replica that is caught up
 * lags 0 s, else the time since the last transaction it replayed. The
 * replica's connection is kept between checks and dropped when it fails. */
#include "service/replica.h"

#include "service/app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replica {
    const struct config *cfg;
    struct store *conn; /* open between checks; NULL: connect at the next one */
};

struct replica *replica_new(const struct config *cfg)
{
    struct replica *rp = calloc(1, sizeof *rp);
    if (rp)
        rp->cfg = cfg;
    return rp;
}

static void drop(struct replica *rp)
{
    if (rp->conn)
        store_close(rp->conn);
    rp->conn = NULL;
}

void replica_free(struct replica *rp)
{
    if (!rp)
        return;
    drop(rp);
    free(rp);
}

static void fallback(struct check_source *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fallback(struct check_source *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->replica_fallback, sizeof src->replica_fallback, fmt, ap);
    va_end(ap);
}

/* Where this check reads: *read the replica's store, or NULL (the primary)
 * with src->replica_fallback saying why. */
static void choose(struct replica *rp, struct store *s, struct store **read,
                   struct check_source *src)
{
    const struct config *cfg = rp->cfg;
    char err[600], shown[208];
    *read = NULL;
    if (!s->ops->wal_position) { /* the configuration refuses this: a guard */
        fallback(src, "a replica needs a PostgreSQL store");
        return;
    }
    /* The primary first: a replica that has replayed this far since is caught up. */
    struct store_wal primary, standby;
    if (s->ops->wal_position(s, &primary) != 0) {
        fallback(src, "cannot read the primary's log position: %s", store_errmsg(s));
        return;
    }
    store_url_shown(cfg->replica_url, shown, sizeof shown);
    if (!rp->conn) {
        struct store_options so;
        app_store_options(cfg, &so);
        so.create = so.migrate = false; /* the replica has the primary's schema */
        if (store_open(cfg->replica_url, &so, &rp->conn, err, sizeof err) != 0) {
            fallback(src, "replica %s unreachable: %s", shown, err);
            return;
        }
    }
    if (rp->conn->ops->wal_position(rp->conn, &standby) != 0) {
        fallback(src, "replica %s unreachable: %s", shown, store_errmsg(rp->conn));
        drop(rp);
        return;
    }
    if (!standby.in_recovery) {
        fallback(src, "%s is not a replica (not in recovery)", shown);
        drop(rp);
        return;
    }
    if (standby.lsn < primary.lsn && !standby.has_replay_age) {
        fallback(src, "replica %s has replayed no transaction yet", shown);
        return;
    }
    src->has_replica_lag = true;
    src->replica_lag_seconds = standby.lsn >= primary.lsn ? 0
                               : standby.replay_age_seconds > 0 ? standby.replay_age_seconds
                                                                : 0;
    if (src->replica_lag_seconds > (double)cfg->replica_max_lag) {
        fallback(src, "replay lag %.1f s is above replica_max_lag (%ld s)",
                 src->replica_lag_seconds, cfg->replica_max_lag);
        return;
    }
    *read = rp->conn;
    snprintf(src->source, sizeof src->source, "replica");
}

int replica_check(struct replica *rp, struct store *s, const struct check_options *o,
                  struct check_outcome *out, char *err, size_t errlen)
{
    struct check_options ro = *o;
    memset(&ro.read, 0, sizeof ro.read);
    ro.read_store = NULL;
    if (rp && rp->cfg->replica_url[0])
        choose(rp, s, &ro.read_store, &ro.read);
    if (!ro.read_store)
        snprintf(ro.read.source, sizeof ro.read.source, "primary");
    int rc = check_execute(s, &ro, out, err, errlen);
    if (rc && ro.read_store) /* the next check connects afresh and asks again */
        drop(rp);
    return rc;
}
