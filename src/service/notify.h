/* notify.h — alert notifications: the outbox (one store row per alert event
 * and channel), its delivery by webhook (the Alertmanager POST /api/v2/alerts
 * body) and SMTP email through libcurl, retried with exponential backoff, and
 * the worker thread of `serve` that delivers due rows. Every attempt is kept
 * in the store. Delivery is at least once: a row is marked delivered after the
 * receiver accepted it. */
#ifndef LOCKSTEP_NOTIFY_H
#define LOCKSTEP_NOTIFY_H

#include "config/config.h"
#include "service/app.h"
#include "store/store.h"
#include "util/buf.h"

#include <stdint.h>

#define NOTIFY_RETRY_MAX_S 3600              /* the backoff stops doubling here */
#define NOTIFY_EXPIRE_S (3 * 86400)          /* a row undelivered this long expires */
#define NOTIFY_BATCH 16                      /* rows one delivery pass takes */

/* Queue a notification of alert `a` (its state after the event) for `event`
 * (firing | repeat | resolved) to every configured channel (webhook when
 * alert_webhook_url is set, email when alert_smtp_url and alert_email_to are).
 * Returns how many rows were queued (0: no channel), or a STORE_ERR_* code. */
int notify_enqueue(struct store *s, const struct config *cfg, const struct alert *a,
                   const char *event, int64_t now);

/* The webhook body for `a`: a JSON array with one alert (labels alertname,
 * severity, service and job for job rules; annotations summary, description;
 * startsAt, endsAt, generatorURL). A firing alert's endsAt is `now` plus twice
 * the repeat interval (Alertmanager resolves it if Lockstep stops repeating);
 * a resolved one's is its resolved_at. Returns 0 or -1 (too long / no memory). */
int notify_webhook_payload(const struct config *cfg, const struct alert *a, const char *event,
                           int64_t now, char *out, size_t len);
/* The stored email text: the subject line, an empty line, the body. Returns 0
 * or -1 when it does not fit. */
int notify_email_payload(const struct config *cfg, const struct alert *a, const char *event,
                         char *out, size_t len);
/* The RFC 5322 message of an email outbox row (Date, From, To, Subject,
 * Message-ID, MIME headers, CRLF line ends) into out. Returns 0 or a BUF_ERR_*. */
int notify_email_message(const struct config *cfg, const struct alert_delivery *d,
                         struct buf *out);
/* The delay before retry number `attempts` (1: after the first failure):
 * alert_retry_min doubled per attempt, at most NOTIFY_RETRY_MAX_S; in µs. */
int64_t notify_backoff_us(const struct config *cfg, int64_t attempts);

/* Send one outbox row now (no store access). Returns 0 when the receiver
 * accepted it, else -1 with a one-line reason in err (never the URL: it may
 * hold a password). */
int notify_send(const struct config *cfg, const struct alert_delivery *d, char *err,
                size_t errlen);

/* One delivery pass: send up to NOTIFY_BATCH rows due at `now`, record each
 * attempt and the row's new state (delivered, retried later with backoff, or
 * expired). *delivered and *failed (may be NULL) count them. Returns 0 or a
 * STORE_ERR_* code. */
int notify_deliver_due(struct store *s, const struct config *cfg, int64_t now, int *delivered,
                       int *failed);

/* The outbox worker of `serve`: delivers on the leader of the scheduled jobs,
 * when rows come due and when kicked. NULL when it cannot start (err). */
struct notifier;
struct notifier *notify_start(struct app *app, char *err, size_t errlen);
/* Deliver soon: rows were queued. NULL is ignored. */
void notify_kick(struct notifier *n);
/* Stop (an attempt in flight is aborted) and free. NULL is ignored. */
void notify_stop(struct notifier *n);

#endif
