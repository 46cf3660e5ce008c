/* alertmsg.h — what an alert notification says on each channel: the labels
 * of an alert (operations.md, "Alerts"), their fingerprint as Prometheus and
 * Alertmanager compute it, the dashboard link, the body Prometheus posts to
 * Alertmanager's /api/v2/alerts, the body Alertmanager posts to webhook
 * receivers (version 4), and the RFC 5322 email with its threading headers.
 * Pure given a configuration and an alert; the outbox (notify.h) stores and
 * sends what these make. */
#ifndef LOCKSTEP_ALERTMSG_H
#define LOCKSTEP_ALERTMSG_H

#include "config/config.h"
#include "store/store.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTMSG_TIME_LEN 40

/* `us` as RFC 3339 in UTC the way Go writes it (Alertmanager, Prometheus): the
 * fraction of a second without trailing zeros, none for a whole second. */
void alertmsg_time(int64_t us, char out[ALERTMSG_TIME_LEN]);

/* The labels of every notification of `a`, sorted by name: alertname,
 * severity, service="lockstep", instance (alert_instance), job (job rules) and
 * the operator's alert_labels. New reference, or NULL (no memory). */
json_t *alertmsg_labels_json(const struct config *cfg, const struct alert *a);
/* The fingerprint of a label set as Prometheus and Alertmanager compute it
 * (FNV-1a 64 over the sorted names and values, 0xff after each), as 16
 * lower-case hex digits into out. */
void alertmsg_fingerprint(json_t *labels, char out[17]);
/* The dashboard link of `a`: <external_url>/admin/health#alert-RULE[-JOB]. */
void alertmsg_link(const struct config *cfg, const struct alert *a, char *out, size_t len);

/* The alertmanager body for `a`: a JSON array with one alert (labels,
 * annotations summary and description, startsAt, endsAt, generatorURL). A
 * firing alert's endsAt is `now` plus twice the repeat interval (Alertmanager
 * resolves it if Lockstep stops repeating); a resolved one's is its
 * resolved_at. Returns 0 or -1 (too long / no memory). */
int alertmsg_alertmanager_body(const struct config *cfg, const struct alert *a,
                               const char *event, int64_t now, char *out, size_t len);
/* The webhook body for `a`: what Alertmanager sends to a webhook receiver
 * (version "4", groupKey, truncatedAlerts, status, receiver "lockstep",
 * groupLabels and commonLabels (every label), commonAnnotations, externalURL
 * (external_url), alerts[] with status, labels, annotations, startsAt, endsAt
 * (Go's zero time while firing, as Alertmanager sends), generatorURL and
 * fingerprint). Returns 0 or -1. */
int alertmsg_webhook_body(const struct config *cfg, const struct alert *a, const char *event,
                          int64_t now, char *out, size_t len);
/* The webhook body for one alert of an alertmanager body (`v2`, borrowed):
 * the same as alertmsg_webhook_body makes. New reference or NULL. */
json_t *alertmsg_webhook_from_alert(const struct config *cfg, json_t *v2, bool resolved);

/* The stored email text: the subject line, an empty line, the body. Returns 0
 * or -1 when it does not fit. */
int alertmsg_email_text(const struct config *cfg, const struct alert *a, const char *event,
                        char *out, size_t len);
/* The RFC 5322 message of an email outbox row into out: Date (when it was
 * queued), From (a display name quoted or RFC 2047-encoded as needed), To,
 * Subject (RFC 2047-encoded when not ASCII), Message-ID, In-Reply-To and
 * References (a repeat or a resolve: the first mail of the alert),
 * Auto-Submitted: auto-generated, MIME headers (text/plain, UTF-8), CRLF line
 * ends. Returns 0 or a BUF_ERR_*. */
int alertmsg_email_message(const struct config *cfg, const struct alert_delivery *d,
                           struct buf *out);
/* The display name and the address of alert_email_from. */
void alertmsg_sender(const struct config *cfg, char *display, size_t dlen, char *addr,
                     size_t alen);
/* A new Message-ID for a mail of alert `a` about `event`: random, so
 * deployments and restored stores never repeat one; the sender's domain. */
void alertmsg_message_id(const struct config *cfg, const struct alert *a, const char *event,
                         char out[ALERT_MESSAGE_ID_MAX]);

#endif
