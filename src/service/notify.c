/* notify.c — the alert outbox: payloads, webhook and SMTP delivery through
 * libcurl, retries with backoff, and the worker thread. */
#include "service/notify.h"

#include "config/alertcfg.h"
#include "service/scheduler.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <ctype.h>
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

/* ---- labels, links, times ------------------------------------------------------------ */

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

/* RFC 3339 in UTC as Go writes it (Alertmanager, Prometheus): the fraction of
 * a second without trailing zeros, none for a whole second. */
static void rfc3339(int64_t us, char out[40])
{
    time_t t = (time_t)(us / USEC_PER_SEC);
    long frac = (long)(us % USEC_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        int digits = 6;
        while (frac % 10 == 0)
            frac /= 10, digits--;
        n += snprintf(out + n, (size_t)(40 - n), ".%0*ld", digits, frac);
    }
    snprintf(out + n, (size_t)(40 - n), "Z");
}

static json_t *time_json(int64_t us)
{
    char iso[40];
    rfc3339(us, iso);
    return json_string(iso);
}

/* What Alertmanager sends as the end of an alert that has none (Go's zero time). */
#define ZERO_TIME "0001-01-01T00:00:00Z"

void notify_alert_link(const struct config *cfg, const struct alert *a, char *out, size_t len)
{
    snprintf(out, len, "%s/admin/health#alert-%s%s%s", cfg->external_url, a->rule,
             a->subject[0] ? "-" : "", a->subject);
}

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The label names of `labels`, sorted bytewise (as Go sorts them), into
 * names[max]; returns how many. Borrowed from the object. */
static size_t sorted_names(json_t *labels, const char **names, size_t max)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        if (n < max)
            names[n++] = k;
    }
    qsort(names, n, sizeof *names, name_cmp);
    return n;
}

#define LABELS_MAX (ALERTCFG_LABELS_MAX + 8)

json_t *notify_labels_json(const struct config *cfg, const struct alert *a)
{
    struct alertcfg_label extra[ALERTCFG_LABELS_MAX];
    size_t n_extra = 0;
    char err[200];
    if (alertcfg_labels_parse(cfg->alert_labels, extra, &n_extra, err, sizeof err) != 0)
        n_extra = 0; /* checked at start; never here */
    json_t *all = json_object(), *sorted = json_object();
    if (!all || !sorted)
        goto fail;
    json_object_set_new(all, "alertname", json_string(a->rule));
    json_object_set_new(all, "severity", json_string(a->severity));
    json_object_set_new(all, "service", json_string("lockstep"));
    json_object_set_new(all, "instance", json_string(cfg->alert_instance));
    if (a->subject[0])
        json_object_set_new(all, "job", json_string(a->subject));
    for (size_t i = 0; i < n_extra; i++)
        json_object_set_new(all, extra[i].name, json_string(extra[i].value));
    /* Sorted by name, as Alertmanager writes label sets. */
    const char *names[LABELS_MAX];
    size_t n = sorted_names(all, names, LABELS_MAX);
    for (size_t i = 0; i < n; i++)
        if (json_object_set(sorted, names[i], json_object_get(all, names[i])))
            goto fail;
    json_decref(all);
    return sorted;
fail:
    json_decref(all);
    json_decref(sorted);
    return NULL;
}

/* FNV-1a, 64 bits, as Prometheus' model package hashes label sets. */
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_add(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

void notify_fingerprint(json_t *labels, char out[17])
{
    const char *names[LABELS_MAX];
    size_t n = sorted_names(labels, names, LABELS_MAX);
    uint64_t h = FNV_OFFSET;
    const unsigned char sep = 0xff;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(labels, names[i]));
        h = fnv_add(h, (const unsigned char *)names[i], strlen(names[i]));
        h = fnv_add(h, &sep, 1);
        h = fnv_add(h, (const unsigned char *)(v ? v : ""), v ? strlen(v) : 0);
        h = fnv_add(h, &sep, 1);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* A label set as Alertmanager prints one in a groupKey: {a="x", b="y"},
 * sorted, values quoted as Go's %q does for text without control characters. */
static int label_set_string(json_t *labels, struct buf *b)
{
    const char *names[LABELS_MAX];
    size_t n = sorted_names(labels, names, LABELS_MAX);
    int rc = buf_puts(b, "{");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *v = json_string_value(json_object_get(labels, names[i]));
        rc = buf_printf(b, "%s%s=\"", i ? ", " : "", names[i]);
        for (const char *p = v ? v : ""; rc == 0 && *p; p++)
            rc = *p == '"' || *p == '\\' ? buf_printf(b, "\\%c", *p) : buf_append(b, p, 1);
        if (rc == 0)
            rc = buf_puts(b, "\"");
    }
    return rc ? rc : buf_puts(b, "}");
}

/* ---- payloads ------------------------------------------------------------------------ */

/* One alert as Prometheus posts it to Alertmanager: labels, annotations,
 * startsAt, endsAt, generatorURL. A firing alert's endsAt is `now` plus twice
 * the repeat interval (Alertmanager resolves it if Lockstep stops repeating); a
 * resolved one's is its resolved_at. New reference or NULL. */
static json_t *v2_alert(const struct config *cfg, const struct alert *a, const char *event,
                        int64_t now)
{
    bool resolved = !strcmp(event, "resolved");
    json_t *al = json_object(), *labels = notify_labels_json(cfg, a), *ann = json_object();
    if (!al || !labels || !ann) {
        json_decref(al);
        json_decref(labels);
        json_decref(ann);
        return NULL;
    }
    json_object_set_new(ann, "description", json_string(a->description));
    json_object_set_new(ann, "summary", json_string(a->summary));
    char link[CONFIG_STR_MAX + 128];
    notify_alert_link(cfg, a, link, sizeof link);
    json_object_set_new(al, "labels", labels);
    json_object_set_new(al, "annotations", ann);
    json_object_set_new(al, "startsAt", time_json(a->fired_at ? a->fired_at : a->started_at));
    json_object_set_new(al, "endsAt",
                        time_json(resolved ? a->resolved_at
                                           : now + 2 * (int64_t)cfg->alert_repeat_interval *
                                                       USEC_PER_SEC));
    json_object_set_new(al, "generatorURL", json_string(link));
    return al;
}

/* The body Alertmanager sends to webhook receivers (version 4) for the one
 * alert `v2` (as v2_alert makes it): one notification is one group, grouped by
 * every label (as a route with group_by: ['...'] groups). New reference or NULL. */
static json_t *v4_body(const struct config *cfg, json_t *v2, bool resolved)
{
    json_t *labels = json_object_get(v2, "labels"), *ann = json_object_get(v2, "annotations");
    if (!json_is_object(labels) || !json_is_object(ann))
        return NULL;
    const char *status = resolved ? "resolved" : "firing";
    char fp[17];
    notify_fingerprint(labels, fp);
    struct buf key = BUF_INIT(8192);
    json_t *body = json_object(), *alerts = json_array(), *al = json_object();
    if (!body || !alerts || !al || buf_puts(&key, "{}:") || label_set_string(labels, &key)) {
        json_decref(body);
        json_decref(alerts);
        json_decref(al);
        buf_free(&key);
        return NULL;
    }
    json_object_set_new(al, "status", json_string(status));
    json_object_set(al, "labels", labels);
    json_object_set(al, "annotations", ann);
    json_object_set(al, "startsAt", json_object_get(v2, "startsAt"));
    json_object_set_new(al, "endsAt", resolved ? json_copy(json_object_get(v2, "endsAt"))
                                               : json_string(ZERO_TIME));
    json_object_set(al, "generatorURL", json_object_get(v2, "generatorURL"));
    json_object_set_new(al, "fingerprint", json_string(fp));
    json_array_append_new(alerts, al);
    json_object_set_new(body, "receiver", json_string("lockstep"));
    json_object_set_new(body, "status", json_string(status));
    json_object_set_new(body, "alerts", alerts);
    json_object_set_new(body, "groupLabels", json_deep_copy(labels));
    json_object_set_new(body, "commonLabels", json_deep_copy(labels));
    json_object_set_new(body, "commonAnnotations", json_deep_copy(ann));
    json_object_set_new(body, "externalURL", json_string(cfg->external_url));
    json_object_set_new(body, "version", json_string("4"));
    json_object_set_new(body, "groupKey", json_string(buf_str(&key)));
    json_object_set_new(body, "truncatedAlerts", json_integer(0));
    buf_free(&key);
    return body;
}

/* Write `j` (stolen) compactly into out; 0 or -1 when it does not fit. */
static int dump_into(json_t *j, char *out, size_t len)
{
    int rc = -1;
    if (j) {
        size_t need = json_dumpb(j, out, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (need > 0 && need < len) {
            out[need] = '\0';
            rc = 0;
        }
    }
    json_decref(j);
    return rc;
}

int notify_alertmanager_payload(const struct config *cfg, const struct alert *a,
                                const char *event, int64_t now, char *out, size_t len)
{
    json_t *al = v2_alert(cfg, a, event, now), *arr = al ? json_array() : NULL;
    if (!arr || json_array_append_new(arr, al)) {
        json_decref(arr);
        if (!arr)
            json_decref(al);
        return -1;
    }
    return dump_into(arr, out, len);
}

int notify_webhook_payload(const struct config *cfg, const struct alert *a, const char *event,
                           int64_t now, char *out, size_t len)
{
    json_t *al = v2_alert(cfg, a, event, now);
    json_t *body = al ? v4_body(cfg, al, !strcmp(event, "resolved")) : NULL;
    json_decref(al);
    return dump_into(body, out, len);
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
    char link[CONFIG_STR_MAX + 128];
    notify_alert_link(cfg, a, link, sizeof link);
    struct buf labels = BUF_INIT(4096);
    json_t *set = notify_labels_json(cfg, a);
    const char *k;
    json_t *v;
    int rc = set ? 0 : -1;
    json_object_foreach(set, k, v) {
        if (rc == 0)
            rc = buf_printf(&labels, "%s%s=%s", labels.len ? ", " : "", k, json_string_value(v));
    }
    json_decref(set);
    int n = rc ? -1
               : snprintf(out, len,
                          "[Lockstep %s] %s %s: %s\n\n"
                          "%s\n\n"
                          "Rule:      %s%s%s\n"
                          "Severity:  %s\n"
                          "State:     %s\n"
                          "Since:     %s\n"
                          "Firing:    %s\n"
                          "Resolved:  %s\n"
                          "Labels:    %s\n\n"
                          "Dashboard: %s\n",
                          cfg->alert_instance, head, a->severity, a->summary, a->description,
                          a->rule, a->subject[0] ? " / job " : "", a->subject, a->severity,
                          a->state, started, fired, resolved, buf_str(&labels), link);
    buf_free(&labels);
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

static bool all_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* RFC 2047 encoded words (UTF-8, base64) for the n bytes of `s`, each at most
 * 75 characters and never splitting a character, folded onto continuation
 * lines. */
static int put_encoded_words(struct buf *b, const char *s, size_t n)
{
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < n) {
        size_t take = n - i < 45 ? n - i : 45; /* 45 bytes: 60 base64 characters */
        while (take > 0 && i + take < n && ((unsigned char)s[i + take] & 0xc0) == 0x80)
            take--;
        char b64[sodium_base64_ENCODED_LEN(45, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        rc = buf_printf(b, "%s=?UTF-8?B?%s?=", i ? "\r\n " : "", b64);
        i += take;
    }
    return rc;
}

/* A display name as a phrase: as it is when it is only letters, digits and
 * spaces (and the other atext characters); quoted when it holds specials;
 * encoded words when it is not ASCII. */
static int put_display_name(struct buf *b, const char *name)
{
    size_t n = strlen(name);
    if (!all_ascii(name, n))
        return put_encoded_words(b, name, n);
    bool atoms = true;
    for (size_t i = 0; i < n && atoms; i++)
        atoms = isalnum((unsigned char)name[i]) || strchr(" !#$%&'*+-/=?^_`{|}~", name[i]);
    if (atoms)
        return buf_puts(b, name);
    int rc = buf_puts(b, "\"");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = name[i] == '"' || name[i] == '\\' ? buf_printf(b, "\\%c", name[i])
                                               : buf_append(b, &name[i], 1);
    return rc ? rc : buf_puts(b, "\"");
}

/* The sender's address alone (envelope, Message-ID domain). */
static void sender_address(const struct config *cfg, char *display, size_t dlen, char *addr,
                           size_t alen)
{
    char err[300];
    if (alertcfg_mailbox_parse(cfg->alert_email_from, display, dlen, addr, alen, err,
                               sizeof err) != 0) {
        display[0] = '\0'; /* checked at start; never here */
        snprintf(addr, alen, "lockstep@localhost");
    }
}

int notify_email_message(const struct config *cfg, const struct alert_delivery *d,
                         struct buf *out)
{
    const char *sep = strstr(d->payload, "\n\n");
    size_t subject_len = sep ? (size_t)(sep - d->payload) : strlen(d->payload);
    const char *body = sep ? sep + 2 : "";
    char date[48], display[256], addr[256];
    rfc5322_date(d->created_at, date, sizeof date);
    sender_address(cfg, display, sizeof display, addr, sizeof addr);
    char legacy_id[ALERT_MESSAGE_ID_MAX];
    if (!d->message_id[0]) {
        /* Rows queued before Message-IDs were kept. */
        const char *at = strrchr(addr, '@');
        snprintf(legacy_id, sizeof legacy_id, "<lockstep-alert-%lld-%lld@%s>",
                 (long long)d->alert_id, (long long)d->id, at ? at + 1 : "localhost");
    }
    int rc = buf_printf(out, "Date: %s\r\nFrom: ", date);
    if (rc == 0 && display[0])
        rc = put_display_name(out, display);
    if (rc == 0)
        rc = buf_printf(out, display[0] ? " <%s>\r\n" : "%s\r\n", addr);
    if (rc == 0)
        rc = buf_printf(out, "To: %s\r\nSubject: ", cfg->alert_email_to);
    if (rc == 0)
        rc = all_ascii(d->payload, subject_len) ? buf_append(out, d->payload, subject_len)
                                                : put_encoded_words(out, d->payload, subject_len);
    if (rc == 0)
        rc = buf_printf(out, "\r\nMessage-ID: %s\r\n",
                        d->message_id[0] ? d->message_id : legacy_id);
    if (rc == 0 && d->in_reply_to[0])
        rc = buf_printf(out, "In-Reply-To: %s\r\nReferences: %s\r\n", d->in_reply_to,
                        d->in_reply_to);
    if (rc == 0)
        rc = buf_puts(out, "Auto-Submitted: auto-generated\r\n"
                           "X-Auto-Response-Suppress: All\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: text/plain; charset=utf-8\r\n"
                           "Content-Transfer-Encoding: 8bit\r\n"
                           "\r\n");
    if (rc == 0)
        rc = put_crlf(out, body, strlen(body));
    return rc;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static void sodium_init_once(void)
{
    if (sodium_init() < 0)
        abort(); /* no random source: nothing Lockstep does is safe */
}

/* A new Message-ID for a mail of alert `a`: random, so deployments and
 * restored stores never repeat one; the domain is the sender's. */
static void new_message_id(const struct config *cfg, const struct alert *a, const char *event,
                           char out[ALERT_MESSAGE_ID_MAX])
{
    pthread_once(&sodium_once, sodium_init_once);
    unsigned char rnd[8];
    char hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    char display[256], addr[256];
    sender_address(cfg, display, sizeof display, addr, sizeof addr);
    const char *at = strrchr(addr, '@');
    snprintf(out, ALERT_MESSAGE_ID_MAX, "<lockstep.%lld.%s.%s@%s>", (long long)a->id, event, hex,
             at ? at + 1 : "localhost");
}

int notify_enqueue(struct store *s, const struct config *cfg, struct alert *a, const char *event,
                   int64_t now)
{
    static const char *const channels[] = {"alertmanager", "webhook", "email"};
    struct alert_delivery *d = calloc(1, sizeof *d);
    if (!d)
        return store_fail(s, STORE_ERR, "queue alert delivery: out of memory");
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
            prc = notify_alertmanager_payload(cfg, a, event, now, d->payload, sizeof d->payload);
        } else if (i == 1) {
            prc = notify_webhook_payload(cfg, a, event, now, d->payload, sizeof d->payload);
        } else {
            prc = notify_email_payload(cfg, a, event, d->payload, sizeof d->payload);
            new_message_id(cfg, a, event, d->message_id);
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
        json_object_set_new(al, "endsAt",
                            time_json(time_now_us() +
                                      2 * (int64_t)cfg->alert_repeat_interval * USEC_PER_SEC));
        text = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    } else if (json_is_object(al)) {
        json_t *body = v4_body(cfg, al, resolved);
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
    char from[300], display[256], addr[256];
    sender_address(cfg, display, sizeof display, addr, sizeof addr);
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
        return store_fail(s, STORE_ERR, "deliver alerts: out of memory");
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
