/* app.h — the one process-wide state of `lockstep serve`: configuration,
 * connections, the check runner, the scheduler. Passed explicitly to every
 * component; nothing else is global. */
#ifndef LOCKSTEP_APP_H
#define LOCKSTEP_APP_H

#include "config/config.h"
#include "store/store.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct monitor;
struct scheduler;
struct metrics;
struct alerts;
struct notifier;
struct readiness;
struct watcher;

struct app {
    struct config cfg;
    struct store_pool *pool;       /* connections for request handlers and jobs */
    int workers;                   /* size of the pool, and of serve's handler threads */
    struct monitor *monitor;       /* one check at a time; status and metrics */
    struct scheduler *scheduler;   /* NULL with --no-scheduler */
    struct metrics *metrics;       /* counters for //metrics */
    struct alerts *alerts;         /* alert evaluation (NULL with --no-scheduler) */
    struct notifier *notifier;     /* the outbox worker (NULL with --no-scheduler) */
    struct readiness *readiness;   /* the store probe behind /readyz */
    struct watcher *watcher;       /* applies captured changes (watch.md); NULL when the
                                      watch mode is off or with --no-scheduler */
    unsigned char jwt_secret[CONFIG_STR_MAX]; /* the HS256 key, whole (auth_init) */
    size_t jwt_secret_len;
    char instance_id[64];          /* host:pid, names this process in job history */
    int64_t started_at;
    volatile sig_atomic_t stopping;
};

/* The store options `cfg` gives every connection: its busy timeout, the
 * parallel-scan size, the domain map; migrate on and create on as
 * store_options_default sets them. */
void app_store_options(const struct config *cfg, struct store_options *o);

/* A connection of a background component of serve (the scheduler's lease,
 * the alert evaluation, the outbox): no migrations. On failure err says
 * "cannot start the <what>: <reason>". Returns 0 or a STORE_ERR_* code; the
 * caller closes *out with store_close. */
int app_store_open(const struct app *app, const char *what, struct store **out, char *err,
                   size_t errlen);
/* The same with a SQLite page cache of cache_kib (store_options.cache_kib;
 * 0: the default) and store_options.secure_delete_fast. */
int app_store_open_tuned(const struct app *app, const char *what, long cache_kib,
                         bool secure_delete_fast, struct store **out, char *err, size_t errlen);

#endif
