/* notify.c — the alert outbox: queueing a notification per channel (what it says
 * is alertmsg.c), delivery to Alertmanager, webhooks and SMTP through libcurl,
 * retries with backoff, and the worker thread. */
#include "service/notify.h"

#include "service/alertmsg.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/worker.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- channels ------------------------------------------------------------------------ */

static bool alertmanager_on(const struct config *cfg)
{
    return cfg->alert_alertmanager_url[0] != '\0';
}

static bool webhook_on(const struct config *cfg)
{
    return cfg->alert_webhook_url[0] != '\0';
}

static bool email_on(const struct config *cfg)
{
    return cfg->alert_smtp_url[0] != '\0' && cfg->alert_email_to[0] != '\0';
}

bool notify_channel_on(const struct config *cfg, const char *channel)
{
    return !strcmp(channel, "alertmanager") ? alertmanager_on(cfg)
           : !strcmp(channel, "webhook")    ? webhook_on(cfg)
           : !strcmp(channel, "email")      ? email_on(cfg)
                                            : false;
}

int notify_enqueue(struct store *s, const struct config *cfg, struct alert *a, const char *event,
                   int64_t now)
{
    static const char *const channels[] = {"alertmanager", "webhook", "email"};
    struct alert_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return store_fail(s, STORE_ERR_NOMEM, "queue alert delivery: out of memory");
    int queued = 0, rc = 0;
    for (size_t i = 0; i < sizeof channels / sizeof channels[0] && rc == 0; i++) {
        if (!notify_channel_on(cfg, channels[i]))
            continue;
        memset(d, 0, sizeof *d);
        d->alert_id = a->id;
        snprintf(d->channel, sizeof d->channel, "%s", channels[i]);
        snprintf(d->event, sizeof d->event, "%s", event);
        snprintf(d->status, sizeof d->status, "pending");
        d->created_at = d->next_attempt_at = now;
        int prc;
        if (i == 0) {
            prc = alertmsg_alertmanager_body(cfg, a, event, now, d->payload, sizeof d->payload);
        } else if (i == 1) {
            prc = alertmsg_webhook_body(cfg, a, event, now, d->payload, sizeof d->payload);
        } else {
            prc = alertmsg_email_text(cfg, a, event, d->payload, sizeof d->payload);
            alertmsg_message_id(cfg, a, event, d->message_id);
            /* The first mail of the alert starts the thread; the others reply to it. */
            if (a->message_id[0])
                snprintf(d->in_reply_to, sizeof d->in_reply_to, "%s", a->message_id);
            else
                snprintf(a->message_id, sizeof a->message_id, "%s", d->message_id);
        }
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

/* The body to send for an HTTP row (NULL: the payload as stored). A firing
 * alert sent late to Alertmanager still tells it how long to keep the alert;
 * a webhook row queued before the webhook channel sent the v4 body (a v2
 * array) is sent as the v4 body. Allocated; the caller frees it. */
static char *http_body(const struct config *cfg, const struct alert_delivery *d)
{
    bool resolved = !strcmp(d->event, "resolved");
    bool am = !strcmp(d->channel, "alertmanager");
    if (d->payload[0] != '[' || (am && resolved))
        return NULL;
    json_t *arr = json_loads(d->payload, 0, NULL);
    json_t *al = arr ? json_array_get(arr, 0) : NULL;
    char *text = NULL;
    if (json_is_object(al) && am) {
        char ends[ALERTMSG_TIME_LEN];
        alertmsg_time(time_now_us() + 2 * (int64_t)cfg->alert_repeat_interval * USEC_PER_SEC,
                      ends);
        json_object_set_new(al, "endsAt", json_string(ends));
        text = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    } else if (json_is_object(al)) {
        json_t *body = alertmsg_webhook_from_alert(cfg, al, resolved);
        text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(body);
    }
    json_decref(arr);
    return text;
}

/* POST an alertmanager or webhook row. */
static int send_http(const struct config *cfg, const struct alert_delivery *d, char *err,
                     size_t errlen)
{
    bool am = !strcmp(d->channel, "alertmanager");
    char url[CONFIG_STR_MAX + 32];
    if (am) {
        size_t n = strlen(cfg->alert_alertmanager_url);
        while (n > 0 && cfg->alert_alertmanager_url[n - 1] == '/')
            n--;
        snprintf(url, sizeof url, "%.*s/api/v2/alerts", (int)n, cfg->alert_alertmanager_url);
    } else {
        snprintf(url, sizeof url, "%s", cfg->alert_webhook_url);
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot start an HTTP client");
        return -1;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char *body = http_body(cfg, d);
    struct curl_slist *headers = NULL;
    int out = -1;
    const char *lines[3] = {"Content-Type: application/json",
                            "User-Agent: lockstep/" LOCKSTEP_VERSION, NULL};
    char auth[CONFIG_STR_MAX + 32];
    if (!am && cfg->alert_webhook_authorization[0]) {
        snprintf(auth, sizeof auth, "Authorization: %s", cfg->alert_webhook_authorization);
        lines[2] = auth;
    }
    for (size_t i = 0; i < 3 && lines[i]; i++) {
        struct curl_slist *next = curl_slist_append(headers, lines[i]);
        if (!next) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        headers = next;
    }
    common_options(h, cfg, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, url);
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
    sodium_memzero(auth, sizeof auth);
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
    if (alertmsg_email_message(cfg, d, &msg) != 0) {
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
    char from[300], display[256], addr[256];
    alertmsg_sender(cfg, display, sizeof display, addr, sizeof addr);
    snprintf(from, sizeof from, "<%s>", addr);
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
    if (!strcmp(d->channel, "alertmanager") || !strcmp(d->channel, "webhook"))
        return send_http(cfg, d, err, errlen);
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
        return store_fail(s, STORE_ERR_NOMEM, "deliver alerts: out of memory");
    int rc = s->ops->delivery_due(s, now, NOTIFY_BATCH, collect_due, &rows);
    for (size_t i = 0; rc == 0 && i < rows.n; i++) {
        struct alert_delivery *d = &rows.items[i];
        char err[ALERT_ERROR_MAX] = "";
        bool configured = notify_channel_on(cfg, d->channel);
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
    struct worker *worker;
    notify_leader_fn is_leader;
    void *leader_ctx;
};

/* One delivery pass on the leader; the next when a row comes due (at most a
 * second later), at once when a full batch went out or when kicked. */
static int64_t notifier_pass(void *arg)
{
    struct notifier *n = arg;
    int64_t wake = time_now_us() + USEC_PER_SEC;
    if (n->is_leader(n->leader_ctx)) {
        int delivered = 0, failed = 0;
        int rc = notify_deliver_due(n->store, &n->app->cfg, time_now_us(), &delivered, &failed);
        int64_t next = 0;
        if (rc == 0 && n->store->ops->delivery_next_due(n->store, &next) == 0 && next < wake)
            wake = next;
        if (rc == 0 && delivered + failed == NOTIFY_BATCH)
            return 0; /* more may be due: go on at once */
    }
    return wake - time_now_us();
}

struct notifier *notify_start(struct app *app, notify_leader_fn is_leader, void *leader_ctx,
                              char *err, size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    atomic_store(&abort_sends, 0);
    struct notifier *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->app = app;
    n->is_leader = is_leader;
    n->leader_ctx = leader_ctx;
    struct stat st;
    if (app->cfg.secret_in_file && stat(app->cfg.config_file, &st) == 0 && (st.st_mode & 077))
        log_msg(LOG_WARNING, "alerts",
                "%s holds alert_webhook_authorization and is readable by other users: "
                "chmod 600 it", app->cfg.config_file);
    if (app->cfg.external_url_derived &&
        (alertmanager_on(&app->cfg) || webhook_on(&app->cfg) || email_on(&app->cfg)))
        log_msg(LOG_WARNING, "alerts",
                "external_url is not set: links in alerts point at %s (derived from listen); "
                "set it to the address people open", app->cfg.external_url);
    if (app_store_open(app, "alert outbox", &n->store, err, errlen) != 0) {
        free(n);
        return NULL;
    }
    if (worker_start(notifier_pass, n, &n->worker) != 0) {
        snprintf(err, errlen, "cannot start the alert outbox thread");
        store_close(n->store);
        free(n);
        return NULL;
    }
    return n;
}

void notify_kick(struct notifier *n)
{
    if (n)
        worker_wake(n->worker);
}

void notify_stop(struct notifier *n)
{
    if (!n)
        return;
    atomic_store(&abort_sends, 1);
    worker_stop(n->worker, -1);
    store_close(n->store);
    free(n);
}
