/* readiness.h — is the store fit to serve? A background probe (never on a
 * request thread) reads real tables, verifies the pages from time to time,
 * commits a no-op write and compares what it finds with what was recorded;
 * GET /readyz answers from its last result. */
#ifndef LOCKSTEP_READINESS_H
#define LOCKSTEP_READINESS_H

#include <stdbool.h>
#include <stddef.h>

struct app;
struct readiness;

/* Probe once (a cheap probe, so /readyz is honest from the first request),
 * then start the probe thread. NULL with err on failure. */
struct readiness *readiness_start(struct app *app, char *err, size_t errlen);
void readiness_stop(struct readiness *r);

/* The last probe's verdict: true when the store is readable, writable and not
 * empty where data was expected; else false with a short `check` name
 * (store_unavailable, store_unreadable, store_unwritable, store_empty,
 * probe_stalled) and a reason. *schema_version as last read. Never blocks on
 * the store. */
bool readiness_store_ok(struct readiness *r, int *schema_version, const char **check,
                        char *reason, size_t len);

/* A request found the store unavailable: not ready at once with that reason,
 * until the probe, woken now, finds it answering again. */
void readiness_store_failed(struct readiness *r, const char *message);

#endif
