/* notify.h — alert notifications: the outbox (one store row per alert event
 * and channel), its delivery through libcurl — to an Alertmanager (the
 * POST /api/v2/alerts array Prometheus sends), to a webhook (the body
 * Alertmanager sends to webhook receivers, version 4) and by SMTP email —
 * retried with exponential backoff, and the worker thread of `serve` that
 * delivers due rows. Every attempt is kept in the store. Delivery is at least
 * once: a row is marked delivered after the receiver accepted it. */
#ifndef LOCKSTEP_NOTIFY_H
#define LOCKSTEP_NOTIFY_H

#include "config/config.h"
#include "service/app.h"
#include "store/store.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>

#define NOTIFY_RETRY_MAX_S 3600              /* the backoff stops doubling here */
#define NOTIFY_EXPIRE_S (3 * 86400)          /* a row undelivered this long expires */
#define NOTIFY_BATCH 16                      /* rows one delivery pass takes */

/* Queue a notification of alert `a` (its state after the event) for `event`
 * (firing | repeat | resolved) to every configured channel (alertmanager when
 * alert_alertmanager_url is set, webhook when alert_webhook_url is, email when
 * alert_smtp_url and alert_email_to are). An email gets a new random
 * Message-ID; the first one becomes a->message_id (the thread), the later
 * ones reply to it (the caller saves `a`). Returns how many rows were queued
 * (0: no channel), or a STORE_ERR_* code. */
int notify_enqueue(struct store *s, const struct config *cfg, struct alert *a,
                   const char *event, int64_t now);
/* Whether `channel` (alertmanager | webhook | email) is configured. */
bool notify_channel_on(const struct config *cfg, const char *channel);

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
/* Whether this process leads the scheduled jobs: only the leader delivers. */
typedef bool (*notify_leader_fn)(void *ctx);
struct notifier *notify_start(struct app *app, notify_leader_fn is_leader, void *leader_ctx,
                              char *err, size_t errlen);
/* Deliver soon: rows were queued. NULL is ignored. */
void notify_kick(struct notifier *n);
/* Stop (an attempt in flight is aborted) and free. NULL is ignored. */
void notify_stop(struct notifier *n);

#endif
