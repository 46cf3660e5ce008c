/* readiness.c — the store probe behind /readyz (see readiness.h). */
#include "service/readiness.h"

#include "service/app.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PROBE_EVERY_US (2 * USEC_PER_SEC)
#define PROBE_NICE 10
/* The page check (quick_check) runs at most every DEEP_MIN_US, and no more
 * often than 20 times its own duration (at most ~5 % of one CPU). */
#define DEEP_MIN_US (6 * USEC_PER_SEC)
#define DEEP_FACTOR 20
/* A probe that has neither finished nor gone on for this long makes the
 * store not ready. */
#define STALE_US (30 * USEC_PER_SEC)

struct readiness {
    struct app *app;
    struct store *store; /* the probe's own connection; NULL until opened */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stopping;
    atomic_bool cancel; /* set by readiness_stop: a probe under way stops */
    /* monotonic; when a probe under way last went on (the deep check notes
     * it as it reads: a slow check is not a stuck one) */
    atomic_llong progress_at;
    /* The last verdict (under mu). */
    bool ok;
    const char *check;
    char reason[400];
    int schema_version;
    int64_t probed_at; /* monotonic; when the last probe finished */
    int64_t next_deep;
    int64_t failed_at; /* monotonic; when a request last found the store unavailable */
};

/* One probe: the verdict into ok/check/reason. */
static void probe(struct readiness *r, bool deep, bool *ok, const char **check, char *reason,
                  size_t len, int *schema_version)
{
    *ok = false;
    if (!r->store) {
        struct store_options so;
        app_store_options(&r->app->cfg, &so);
        so.migrate = false;
        so.busy_timeout_ms = 1000;      /* the probe must answer quickly */
        so.parallel_scan_min_bytes = -1;
        char err[256];
        if (store_open(r->app->cfg.db, &so, &r->store, err, sizeof err) != 0) {
            *check = "store_unavailable";
            snprintf(reason, len, "the store cannot be opened: %s", err);
            return;
        }
        r->store->cancel = &r->cancel;
        r->store->progress_at = &r->progress_at;
    }
    struct store_probe p;
    bool attached = r->app->cfg.domain.attached;
    int rc = r->store->ops->probe(r->store, deep, &p);
    if (rc) {
        *check = "store_unavailable";
        snprintf(reason, len, "the store does not answer: %s", store_errmsg(r->store));
        if (rc == STORE_ERR_UNAVAILABLE) {
            store_close(r->store);
            r->store = NULL;
        }
        return;
    }
    *schema_version = p.schema_version;
    if (p.read_error[0]) {
        *check = "store_unreadable";
        snprintf(reason, len, "the store cannot be read: %s", p.read_error);
    } else if (p.write_error[0]) {
        *check = "store_unwritable";
        snprintf(reason, len, "the store cannot be written: %s", p.write_error);
    } else if (attached && !r->app->cfg.domain.allow_empty && !p.has_pairs) {
        /* attach.md, rule 8: an attached database without pairs is loud. */
        *check = "store_empty";
        snprintf(reason, len, "the attached database has no pairs: its progress and license "
                 "tables are empty (set [domain] allow_empty = true when that is expected)");
    } else if (p.last_check_pairs > 0 && !p.has_pairs) {
        *check = "store_empty";
        snprintf(reason, len,
                 "the store is empty: no progress or license rows, while the last recorded "
                 "check counted %lld pairs",
                 (long long)p.last_check_pairs);
    } else if (!attached && p.last_check_pairs > 0 && !p.has_users) {
        /* (In attached mode the users are the academy's; Lockstep's own
         * accounts are only logins.) */
        *check = "store_empty";
        snprintf(reason, len,
                 "the store is empty: no users, while the last recorded check counted %lld "
                 "pairs",
                 (long long)p.last_check_pairs);
    } else {
        *ok = true;
        *check = "";
        reason[0] = '\0';
    }
}

static void run_once(struct readiness *r)
{
    int64_t t0 = time_mono_us();
    atomic_store(&r->progress_at, t0);
    bool deep = t0 >= r->next_deep, ok;
    const char *check;
    char reason[sizeof r->reason];
    int version = 0;
    probe(r, deep, &ok, &check, reason, sizeof reason, &version);
    if (atomic_load(&r->cancel))
        return; /* stopped under way: no verdict */
    int64_t t1 = time_mono_us();
    if (deep) {
        int64_t gap = (t1 - t0) * DEEP_FACTOR;
        r->next_deep = t1 + (gap > DEEP_MIN_US ? gap : DEEP_MIN_US);
    }
    pthread_mutex_lock(&r->mu);
    if (ok && r->failed_at >= t0) { /* a request failed while this probe ran: probe again */
        r->probed_at = t1;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    if (ok != r->ok || (!ok && strcmp(reason, r->reason) != 0)) {
        if (ok)
            log_msg(LOG_INFO, "ready", "the store is ready again");
        else
            log_msg(LOG_ERROR, "ready", "not ready: %s", reason);
    }
    r->ok = ok;
    r->check = check;
    memcpy(r->reason, reason, sizeof r->reason);
    if (version)
        r->schema_version = version;
    r->probed_at = t1;
    pthread_mutex_unlock(&r->mu);
}

static void *probe_thread(void *arg)
{
    struct readiness *r = arg;
    /* The deep check reads the whole store (14 s of CPU at 10 M pairs, every
     * 20 times that): behind the watcher and the requests when the CPUs are
     * busy. Lowering its own priority needs no privilege; a failure leaves it
     * as it was. */
    (void)setpriority(PRIO_PROCESS, (id_t)gettid(), PROBE_NICE);
    (void)pthread_setname_np(pthread_self(), "lockstep-probe");
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        int64_t wake = time_now_us() + PROBE_EVERY_US;
        struct timespec ts = {.tv_sec = (time_t)(wake / USEC_PER_SEC),
                              .tv_nsec = (long)(wake % USEC_PER_SEC) * 1000};
        pthread_cond_timedwait(&r->wake, &r->mu, &ts);
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->mu);
        run_once(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct readiness *readiness_start(struct app *app, char *err, size_t errlen)
{
    struct readiness *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->app = app;
    atomic_init(&r->cancel, false);
    atomic_init(&r->progress_at, 0);
    r->ok = true; /* so that a first failure is logged */
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->wake, NULL);
    /* The first probe is cheap; the thread's first one verifies the pages. */
    r->next_deep = time_mono_us() + DEEP_MIN_US;
    run_once(r);
    r->next_deep = 0;
    if (pthread_create(&r->thread, NULL, probe_thread, r) != 0) {
        snprintf(err, errlen, "cannot start the readiness probe thread");
        readiness_stop(r);
        return NULL;
    }
    r->started = true;
    return r;
}

void readiness_stop(struct readiness *r)
{
    if (!r)
        return;
    if (r->started) {
        atomic_store(&r->cancel, true);
        pthread_mutex_lock(&r->mu);
        r->stopping = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    if (r->store)
        store_close(r->store);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool readiness_store_ok(struct readiness *r, int *schema_version, const char **check,
                        char *reason, size_t len)
{
    pthread_mutex_lock(&r->mu);
    /* Stalled: no probe finished, nor went on, for STALE_US. */
    int64_t last = r->probed_at, going = atomic_load(&r->progress_at);
    int64_t age = time_mono_us() - (going > last ? going : last);
    bool ok = r->ok;
    *schema_version = r->schema_version;
    *check = r->check;
    snprintf(reason, len, "%s", r->reason);
    pthread_mutex_unlock(&r->mu);
    if (age > STALE_US) {
        *check = "probe_stalled";
        snprintf(reason, len,
                 "the store probe has not finished for %lld s (the store does not answer)",
                 (long long)(age / USEC_PER_SEC));
        return false;
    }
    return ok;
}

void readiness_store_failed(struct readiness *r, const char *message)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->ok)
        log_msg(LOG_ERROR, "ready", "not ready: the store does not answer: %s", message);
    r->ok = false;
    r->failed_at = time_mono_us();
    r->check = "store_unavailable";
    snprintf(r->reason, sizeof r->reason, "the store does not answer: %s", message);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->mu);
}
