/* metrics.h — the counters behind //metrics (Prometheus text format 0.0.4).
 *
 * Counters and the check-duration histogram live in this process and are
 * lock-free on the request path (atomics in fixed tables); gauges describing
 * the data (consistency rate, pairs, violations by issue type, last check
 * time) are read from the store when the page is rendered, so every process
 * of a multi-process deployment reports the same values for them. */
#ifndef LOCKSTEP_METRICS_H
#define LOCKSTEP_METRICS_H

#include "store/store.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>

struct metrics;

/* `routes` are the label values of lockstep_http_requests_total{route}; the
 * array (borrowed) must outlive the registry. Index n_routes is used for
 * requests that matched no API route (label "other"). NULL on no memory. */
struct metrics *metrics_new(const char *const *routes, int n_routes);
void metrics_free(struct metrics *m);
/* Count one HTTP request. */
void metrics_http(struct metrics *m, int route, int status);
/* Count one recorded check (trigger scheduled|manual, status healthy|…). */
void metrics_check(struct metrics *m, const char *trigger, const char *status,
                   double duration_seconds);
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

/* Render the exposition text into out. The store gives the data gauges.
 * Returns 0, or a STORE_ERR_* code (the page is still rendered without
 * the store's gauges, and lockstep_up reports 0). */
int metrics_render(struct metrics *m, struct store *s, struct buf *out);

#endif
