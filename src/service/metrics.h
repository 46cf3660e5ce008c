/* metrics.h — the counters behind //metrics (Prometheus text format 0.0.4).
 *
 * Counters and histograms live in this process and are lock-free on the
 * request path (relaxed atomics in fixed tables, allocated at start); gauges
 * describing the data (consistency, pairs, violations by issue type, the last
 * check, the baseline, the jobs) are read from the store when the page is
 * rendered, so every process of a multi-process deployment reports the same
 * values for them. The series and their names are listed in
 * docs/operations.md ("Metrics"). */
#ifndef LOCKSTEP_METRICS_H
#define LOCKSTEP_METRICS_H

#include "config/config.h"
#include "store/store.h"
#include "util/buf.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>

struct metrics;

/* Route values of requests that matched no API route: the dashboard's files
 * and client routes, and everything else (unknown API paths, bad requests).
 * Two values whatever the path, so the label set stays bounded. */
enum { METRICS_ROUTE_OTHER = -1, METRICS_ROUTE_DASHBOARD = -2 };

/* `routes` are the values of the label route (path patterns such as
 * "/api/v1/users/{id}", each once); the array (borrowed) must outlive the
 * registry. NULL on no memory. */
struct metrics *metrics_new(const char *const *routes, int n_routes);
void metrics_free(struct metrics *m);
/* Set every counter, histogram and gauge back to what metrics_new gave (as
 * after a restart of the process). Not atomic as a whole: meant for a
 * registry that no request is counting into at the time. */
void metrics_reset(struct metrics *m);
/* Count one answered HTTP request: its route (an index into `routes`, or
 * METRICS_ROUTE_*), its method (anything outside GET, HEAD, POST, PUT, PATCH,
 * DELETE and OPTIONS counts as "other"), its status and how long it took from
 * being read whole to its answer. Lock-free. */
void metrics_http(struct metrics *m, int route, const char *method, int status,
                  int64_t duration_us);
/* Count one recorded check (trigger scheduled|manual, status healthy|…). */
void metrics_check(struct metrics *m, const char *trigger, const char *status,
                   double duration_seconds);
/* Count one applied watcher batch: its change rows and each one's detection
 * lag in seconds (lags may be NULL with n 0). */
void metrics_watch_batch(struct metrics *m, int64_t changes, const double *lags, size_t n);
/* Count one job run outcome (success, failed, missed, skipped, interrupted). */
void metrics_job(struct metrics *m, const char *job, const char *status);
/* Whether this process leads the scheduled jobs (1) or not (0). */
void metrics_set_leader(struct metrics *m, bool leader);
/* The lanes of HTTP handler threads (label pool="store" / "password"). */
enum metrics_lane { METRICS_LANE_STORE, METRICS_LANE_PASSWORD, METRICS_LANES };
/* A lane's handler threads: how many, how many run a request, how many
 * requests wait for one. */
void metrics_http_handlers(struct metrics *m, int lane, int threads, int busy, int queued);
/* Count a report or log file that could not be written. */
void metrics_file_failure(struct metrics *m);

/* The open violations of the latest recorded check by issue type (every
 * type of model/pair.h, 0 when none), counted once per check: a new JSON
 * object into *out (the caller owns it; {} when no check was recorded).
 * Returns 0 or a STORE_ERR_* code. */
int metrics_violations_by_type(struct metrics *m, struct store *s, json_t **out);

/* Render the exposition text into out. The store gives the data gauges; cfg
 * gives the job intervals and whether the deprecated names are shown
 * (metrics_deprecated). Returns 0, or a STORE_ERR_* code (the page is still
 * rendered without the store's gauges, and lockstep_up reports 0). */
int metrics_render(struct metrics *m, const struct config *cfg, struct store *s,
                   struct buf *out);

#endif
