/* notify.c — the alert outbox: payloads, webhook and SMTP delivery through
 * libcurl, retries with backoff, and the worker thread. */
#include "service/notify.h"

#include "service/scheduler.h"
#include "util/timeutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- payloads ------------------------------------------------------------------------ */

static bool webhook_on(const struct config *cfg)
{
    return cfg->alert_webhook_url[0] != '\0';
}

static bool email_on(const struct config *cfg)
{
    return cfg->alert_smtp_url[0] != '\0' && cfg->alert_email_to[0] != '\0';
}

static json_t *iso_json(int64_t us)
{
    char iso[TIME_ISO_LEN];
    time_format_iso(us, iso);
    return json_string(iso);
}

int notify_webhook_payload(const struct config *cfg, const struct alert *a, const char *event,
                           int64_t now, char *out, size_t len)
{
    bool resolved = !strcmp(event, "resolved");
    json_t *labels = json_object(), *ann = json_object(), *al = json_object();
    json_t *arr = json_array();
    int rc = -1;
    if (!labels || !ann || !al || !arr) {
        json_decref(labels);
        json_decref(ann);
        goto out;
    }
    json_object_set_new(labels, "alertname", json_string(a->rule));
    json_object_set_new(labels, "severity", json_string(a->severity));
    json_object_set_new(labels, "service", json_string("lockstep"));
    if (a->subject[0])
        json_object_set_new(labels, "job", json_string(a->subject));
    json_object_set_new(ann, "summary", json_string(a->summary));
    json_object_set_new(ann, "description", json_string(a->description));
    json_object_set_new(al, "labels", labels);
    json_object_set_new(al, "annotations", ann);
    json_object_set_new(al, "startsAt", iso_json(a->fired_at ? a->fired_at : a->started_at));
    json_object_set_new(al, "endsAt",
                        iso_json(resolved ? a->resolved_at
                                          : now + 2 * (int64_t)cfg->alert_repeat_interval *
                                                      USEC_PER_SEC));
    char url[CONFIG_STR_MAX + 40];
    snprintf(url, sizeof url, "http://%s/api/v1/health/alerts", cfg->listen);
    json_object_set_new(al, "generatorURL", json_string(url));
    json_array_append(arr, al);
    size_t need = json_dumpb(arr, out, len, JSON_COMPACT);
    if (need > 0 && need < len) {
        out[need] = '\0';
        rc = 0;
    }
out:
    json_decref(al);
    json_decref(arr);
    return rc;
}

int notify_email_payload(const struct config *cfg, const struct alert *a, const char *event,
                         char *out, size_t len)
{
    const char *head = !strcmp(event, "resolved") ? "RESOLVED"
                       : !strcmp(event, "repeat") ? "STILL FIRING"
                                                  : "FIRING";
    char started[TIME_ISO_LEN], fired[TIME_ISO_LEN] = "-", resolved[TIME_ISO_LEN] = "-";
    time_format_iso(a->started_at, started);
    if (a->fired_at)
        time_format_iso(a->fired_at, fired);
    if (a->resolved_at)
        time_format_iso(a->resolved_at, resolved);
    int n = snprintf(out, len,
                     "[Lockstep] %s %s: %s\n\n"
                     "%s\n\n"
                     "Rule:     %s%s%s\n"
                     "Severity: %s\n"
                     "State:    %s\n"
                     "Since:    %s\n"
                     "Firing:   %s\n"
                     "Resolved: %s\n\n"
                     "Alerts: http://%s/api/v1/health/alerts\n",
                     head, a->severity, a->summary, a->description, a->rule,
                     a->subject[0] ? " / job " : "", a->subject, a->severity, a->state, started,
                     fired, resolved, cfg->listen);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* "Sun, 29 Nov 2026 04:38:00 +0000" (locale-independent). */
static void rfc5322_date(int64_t us, char *out, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(us / USEC_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Append `text` with every line ending as CRLF. */
static int put_crlf(struct buf *b, const char *text, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (text[i] == '\r')
            continue;
        rc = text[i] == '\n' ? buf_append(b, "\r\n", 2) : buf_append(b, &text[i], 1);
    }
    return rc;
}

int notify_email_message(const struct config *cfg, const struct alert_delivery *d,
                         struct buf *out)
{
    const char *sep = strstr(d->payload, "\n\n");
    size_t subject_len = sep ? (size_t)(sep - d->payload) : strlen(d->payload);
    const char *body = sep ? sep + 2 : "";
    char date[48];
    rfc5322_date(d->created_at, date, sizeof date);
    const char *at = strrchr(cfg->alert_email_from, '@');
    const char *domain = at && at[1] ? at + 1 : "localhost";
    int rc = buf_printf(out,
                        "Date: %s\r\n"
                        "From: %s\r\n"
                        "To: %s\r\n"
                        "Subject: %.*s\r\n"
                        "Message-ID: <lockstep-alert-%lld-%lld@%s>\r\n"
                        "MIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n"
                        "\r\n",
                        date, cfg->alert_email_from, cfg->alert_email_to, (int)subject_len,
                        d->payload, (long long)d->alert_id, (long long)d->id, domain);
    if (rc == 0)
        rc = put_crlf(out, body, strlen(body));
    return rc;
}

int notify_enqueue(struct store *s, const struct config *cfg, const struct alert *a,
                   const char *event, int64_t now)
{
    const char *channels[2] = {webhook_on(cfg) ? "webhook" : NULL,
                               email_on(cfg) ? "email" : NULL};
    struct alert_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return store_fail(s, STORE_ERR, "queue alert delivery: out of memory");
    int queued = 0, rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!channels[i])
            continue;
        memset(d, 0, sizeof *d);
        d->alert_id = a->id;
        snprintf(d->channel, sizeof d->channel, "%s", channels[i]);
        snprintf(d->event, sizeof d->event, "%s", event);
        snprintf(d->status, sizeof d->status, "pending");
        d->created_at = d->next_attempt_at = now;
        int prc = i == 0 ? notify_webhook_payload(cfg, a, event, now, d->payload,
                                                  sizeof d->payload)
                         : notify_email_payload(cfg, a, event, d->payload, sizeof d->payload);
        if (prc != 0) {
            rc = store_fail(s, STORE_ERR, "queue alert delivery: the %s payload is too long",
                            channels[i]);
            break;
        }
        if ((rc = s->ops->delivery_insert(s, d)) == 0)
            queued++;
    }
    free(d);
    return rc ? rc : queued;
}

int64_t notify_backoff_us(const struct config *cfg, int64_t attempts)
{
    int64_t delay = cfg->alert_retry_min > 0 ? cfg->alert_retry_min : 1;
    for (int64_t i = 1; i < attempts && delay < NOTIFY_RETRY_MAX_S; i++)
        delay *= 2;
    if (delay > NOTIFY_RETRY_MAX_S)
        delay = NOTIFY_RETRY_MAX_S;
    return delay * USEC_PER_SEC;
}

/* ---- sending ------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Set by notify_stop: an attempt in flight gives up. */
static atomic_int abort_sends;

static int progress_abort(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    return atomic_load(&abort_sends) ? 1 : 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    return size * n;
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t read_upload(char *dst, size_t size, size_t n, void *ctx)
{
    struct upload *u = ctx;
    size_t room = size * n, left = u->len - u->pos;
    size_t k = left < room ? left : room;
    memcpy(dst, u->data + u->pos, k);
    u->pos += k;
    return k;
}

static void common_options(CURL *h, const struct config *cfg, char *errbuf)
{
    long timeout = cfg->alert_send_timeout > 0 ? cfg->alert_send_timeout : 10;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 5 ? timeout : 5L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_abort);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
}

/* A one-line reason from a curl failure; never the URL. */
static void curl_reason(CURLcode rc, const char *errbuf, char *err, size_t errlen)
{
    if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(err, errlen, "timed out");
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(err, errlen, "aborted: the process is stopping");
    else
        snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* A firing notification sent late still tells Alertmanager how long to keep it. */
static char *refresh_ends_at(const struct config *cfg, const struct alert_delivery *d)
{
    if (!strcmp(d->event, "resolved"))
        return NULL;
    json_t *arr = json_loads(d->payload, 0, NULL);
    json_t *al = arr ? json_array_get(arr, 0) : NULL;
    char *text = NULL;
    if (json_is_object(al)) {
        json_object_set_new(al, "endsAt",
                            iso_json(time_now_us() +
                                     2 * (int64_t)cfg->alert_repeat_interval * USEC_PER_SEC));
        text = json_dumps(arr, JSON_COMPACT);
    }
    json_decref(arr);
    return text;
}

static int send_webhook(const struct config *cfg, const struct alert_delivery *d, char *err,
                        size_t errlen)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot start an HTTP client");
        return -1;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char *body = refresh_ends_at(cfg, d);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = headers ? curl_slist_append(headers, "User-Agent: lockstep/"
                                                                 LOCKSTEP_VERSION)
                                    : NULL;
    int out = -1;
    if (!h2) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    headers = h2;
    common_options(h, cfg, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, cfg->alert_webhook_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : d->payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body ? body : d->payload));
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        curl_reason(rc, errbuf, err, errlen);
        goto done;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
        snprintf(err, errlen, "the receiver answered HTTP %ld", code);
        goto done;
    }
    out = 0;
done:
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(body);
    return out;
}

/* Add "<addr>" for each comma-separated address of `list`. */
static struct curl_slist *recipients(const char *list)
{
    struct curl_slist *l = NULL;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if (t > p) {
            char one[300];
            snprintf(one, sizeof one, "<%.*s>", (int)(t - p), p);
            struct curl_slist *n = curl_slist_append(l, one);
            if (!n) {
                curl_slist_free_all(l);
                return NULL;
            }
            l = n;
        }
        p = e;
    }
    return l;
}

static int send_email(const struct config *cfg, const struct alert_delivery *d, char *err,
                      size_t errlen)
{
    struct buf msg = BUF_INIT(ALERT_PAYLOAD_MAX * 2);
    if (notify_email_message(cfg, d, &msg) != 0) {
        buf_free(&msg);
        snprintf(err, errlen, "cannot build the message");
        return -1;
    }
    struct curl_slist *rcpt = recipients(cfg->alert_email_to);
    CURL *h = rcpt ? curl_easy_init() : NULL;
    if (!h) {
        curl_slist_free_all(rcpt);
        buf_free(&msg);
        snprintf(err, errlen, "no recipient in alert_email_to, or out of memory");
        return -1;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char from[300];
    snprintf(from, sizeof from, "<%s>", cfg->alert_email_from);
    struct upload up = {msg.data, msg.len, 0};
    common_options(h, cfg, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, cfg->alert_smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE, (long)msg.len);
    CURLcode rc = curl_easy_perform(h);
    int out = 0;
    if (rc != CURLE_OK) {
        curl_reason(rc, errbuf, err, errlen);
        out = -1;
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    buf_free(&msg);
    return out;
}

int notify_send(const struct config *cfg, const struct alert_delivery *d, char *err,
                size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    err[0] = '\0';
    if (!strcmp(d->channel, "webhook"))
        return send_webhook(cfg, d, err, errlen);
    if (!strcmp(d->channel, "email"))
        return send_email(cfg, d, err, errlen);
    snprintf(err, errlen, "unknown channel %s", d->channel);
    return -1;
}

/* ---- the outbox ---------------------------------------------------------------------- */

struct due_rows {
    struct alert_delivery *items;
    size_t n;
};

static int collect_due(void *ctx, const struct alert_delivery *d)
{
    struct due_rows *r = ctx;
    if (r->n < NOTIFY_BATCH)
        r->items[r->n++] = *d;
    return 0;
}

int notify_deliver_due(struct store *s, const struct config *cfg, int64_t now, int *delivered,
                       int *failed)
{
    int ok = 0, bad = 0;
    struct due_rows rows = {calloc(NOTIFY_BATCH, sizeof *rows.items), 0};
    if (!rows.items)
        return store_fail(s, STORE_ERR, "deliver alerts: out of memory");
    int rc = s->ops->delivery_due(s, now, NOTIFY_BATCH, collect_due, &rows);
    for (size_t i = 0; rc == 0 && i < rows.n; i++) {
        struct alert_delivery *d = &rows.items[i];
        char err[ALERT_ERROR_MAX] = "";
        bool configured = !strcmp(d->channel, "webhook") ? webhook_on(cfg) : email_on(cfg);
        int64_t at = time_now_us();
        int sent = -1;
        if (configured) {
            sent = notify_send(cfg, d, err, sizeof err);
            struct alert_attempt a = {.delivery_id = d->id, .attempted_at = at,
                                      .ok = sent == 0};
            snprintf(a.error, sizeof a.error, "%s", err);
            if ((rc = s->ops->attempt_insert(s, &a)) != 0)
                break;
            d->attempts++;
        } else {
            snprintf(err, sizeof err, "the %s channel is no longer configured", d->channel);
        }
        int64_t after = time_now_us();
        if (sent == 0) {
            snprintf(d->status, sizeof d->status, "delivered");
            d->delivered_at = after;
            d->last_error[0] = '\0';
            ok++;
        } else {
            snprintf(d->last_error, sizeof d->last_error, "%s", err);
            if (!configured || after - d->created_at > NOTIFY_EXPIRE_S * USEC_PER_SEC)
                snprintf(d->status, sizeof d->status, "expired");
            else
                d->next_attempt_at = after + notify_backoff_us(cfg, d->attempts);
            bad++;
        }
        rc = s->ops->delivery_update(s, d);
    }
    free(rows.items);
    if (delivered)
        *delivered = ok;
    if (failed)
        *failed = bad;
    return rc;
}

/* ---- the worker thread --------------------------------------------------------------- */

struct notifier {
    struct app *app;
    struct store *store; /* its own connection */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool kicked, stopping;
    pthread_t thread;
};

static void *notifier_main(void *arg)
{
    struct notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->stopping) {
        n->kicked = false;
        pthread_mutex_unlock(&n->mu);
        int64_t wake = time_now_us() + USEC_PER_SEC;
        if (scheduler_is_leader(n->app->scheduler)) {
            int delivered = 0, failed = 0;
            int rc = notify_deliver_due(n->store, &n->app->cfg, time_now_us(), &delivered,
                                        &failed);
            int64_t next = 0;
            if (rc == 0 && n->store->ops->delivery_next_due(n->store, &next) == 0 &&
                next < wake)
                wake = next;
            if (rc == 0 && delivered + failed == NOTIFY_BATCH)
                wake = 0; /* more may be due: go on at once */
        }
        pthread_mutex_lock(&n->mu);
        if (n->stopping || n->kicked || wake <= time_now_us())
            continue;
        struct timespec ts = {.tv_sec = (time_t)(wake / USEC_PER_SEC),
                              .tv_nsec = (long)(wake % USEC_PER_SEC) * 1000};
        pthread_cond_timedwait(&n->wake, &n->mu, &ts);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

struct notifier *notify_start(struct app *app, char *err, size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    atomic_store(&abort_sends, 0);
    struct notifier *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->app = app;
    struct store_options so;
    store_options_default(&so);
    so.migrate = false;
    so.busy_timeout_ms = app->cfg.busy_timeout_ms;
    char oerr[400];
    if (store_open(app->cfg.db, &so, &n->store, oerr, sizeof oerr) != 0) {
        snprintf(err, errlen, "cannot start the alert outbox: %s", oerr);
        free(n);
        return NULL;
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->wake, NULL);
    if (pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
        snprintf(err, errlen, "cannot start the alert outbox thread");
        store_close(n->store);
        pthread_mutex_destroy(&n->mu);
        pthread_cond_destroy(&n->wake);
        free(n);
        return NULL;
    }
    return n;
}

void notify_kick(struct notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->kicked = true;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->mu);
}

void notify_stop(struct notifier *n)
{
    if (!n)
        return;
    atomic_store(&abort_sends, 1);
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    store_close(n->store);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->wake);
    free(n);
}
