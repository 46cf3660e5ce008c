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

#include <jansson.h>
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

/* The labels of every notification of `a`, sorted by name: alertname,
 * severity, service="lockstep", instance (alert_instance), job (job rules) and
 * the operator's alert_labels. New reference, or NULL (no memory). */
json_t *notify_labels_json(const struct config *cfg, const struct alert *a);
/* The fingerprint of a label set as Prometheus and Alertmanager compute it
 * (FNV-1a 64 over the sorted names and values, 0xff after each), as 16
 * lower-case hex digits into out. */
void notify_fingerprint(json_t *labels, char out[17]);
/* The dashboard link of `a`: <external_url>/admin/health#alert-RULE[-JOB]. */
void notify_alert_link(const struct config *cfg, const struct alert *a, char *out, size_t len);

/* The alertmanager body for `a`: a JSON array with one alert (labels,
 * annotations summary and description, startsAt, endsAt, generatorURL). A
 * firing alert's endsAt is `now` plus twice the repeat interval (Alertmanager
 * resolves it if Lockstep stops repeating); a resolved one's is its
 * resolved_at. Returns 0 or -1 (too long / no memory). */
int notify_alertmanager_payload(const struct config *cfg, const struct alert *a,
                                const char *event, int64_t now, char *out, size_t len);
/* The webhook body for `a`: what Alertmanager sends to a webhook receiver
 * (version "4", groupKey, truncatedAlerts, status, receiver "lockstep",
 * groupLabels and commonLabels (every label), commonAnnotations, externalURL
 * (external_url), alerts[] with status, labels, annotations, startsAt, endsAt
 * (Go's zero time while firing, as Alertmanager sends), generatorURL and
 * fingerprint). Returns 0 or -1. */
int notify_webhook_payload(const struct config *cfg, const struct alert *a, const char *event,
                           int64_t now, char *out, size_t len);
/* The stored email text: the subject line, an empty line, the body. Returns 0
 * or -1 when it does not fit. */
int notify_email_payload(const struct config *cfg, const struct alert *a, const char *event,
                         char *out, size_t len);
/* The RFC 5322 message of an email outbox row into out: Date (when it was
 * queued), From (a display name quoted or RFC 2047-encoded as needed), To,
 * Subject (RFC 2047-encoded when not ASCII), Message-ID, In-Reply-To and
 * References (a repeat or a resolve: the first mail of the alert),
 * Auto-Submitted: auto-generated, MIME headers (text/plain, UTF-8), CRLF line
 * ends. Returns 0 or a BUF_ERR_*. */
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
