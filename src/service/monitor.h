/* monitor.h — the health monitor shared by the API and the scheduler: runs
 * one check at a time (later callers wait for the running one and share its
 * result), and answers status, metrics and history from the store. */
#ifndef LOCKSTEP_MONITOR_H
#define LOCKSTEP_MONITOR_H

#include "config/config.h"
#include "service/check.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>

struct monitor;

struct monitor_check {
    bool dry_run;
    const char *trigger;  /* scheduled | manual */
    bool wait;            /* a check is running: wait for it (true) or LS_ERR_CONFLICT */
    /* With the watcher active (watch.md), a recorded check is incremental
     * unless full is asked, no full sweep succeeded in this process yet, the
     * last one is older than full_sweep_interval or the specializations
     * changed; full: always read every pair. */
    bool full;
    bool (*may_record)(void *ctx); /* optional: check_options.may_record */
    void *may_record_ctx;
};

struct monitor_result {
    char *report;                 /* the JSON report (summary + violations); caller frees */
    struct check_outcome outcome; /* numbers, file, errors */
    bool shared;                  /* another caller's check was joined */
};

struct metrics;
/* Create a monitor; `cfg` and `metrics` (may be NULL) are borrowed and must
 * outlive it. NULL on no memory. */
struct monitor *monitor_new(const struct config *cfg, struct metrics *metrics);
void monitor_free(struct monitor *m);
/* Run a check (or join the one running with the same dry_run). Returns 0 with
 * res filled, LS_ERR_CONFLICT when one runs and !wait, or another LS_ERR_*
 * with err set. */
int monitor_run_check(struct monitor *m, struct store *s, const struct monitor_check *c,
                      struct monitor_result *res, char *err, size_t errlen);
/* GET /health/status as a JSON text (caller frees), built from the store or
 * copied from the cache when the latest check id has not changed. */
int monitor_status_json(struct monitor *m, struct store *s, char **out, size_t *len);
/* The cached status text when it was validated within the last second and no
 * check was recorded by this process since (caller frees); NULL otherwise —
 * then ask monitor_status_json. */
char *monitor_status_cached(struct monitor *m, size_t *len);
/* GET /health/metrics. New reference or NULL with store_errmsg(s). */
json_t *monitor_metrics_json(struct monitor *m, struct store *s);
/* Drop cached answers (after anything that records a check). */
void monitor_invalidate(struct monitor *m);

#endif
