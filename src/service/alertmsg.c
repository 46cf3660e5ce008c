/* alertmsg.c — what a notification says: labels, fingerprints, links, the
 * Alertmanager and webhook bodies, and the email message. */
#include "service/alertmsg.h"

#include "config/alertcfg.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* RFC 3339 in UTC as Go writes it (Alertmanager, Prometheus): the fraction of
 * a second without trailing zeros, none for a whole second. */
void alertmsg_time(int64_t us, char out[ALERTMSG_TIME_LEN])
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
    char iso[ALERTMSG_TIME_LEN];
    alertmsg_time(us, iso);
    return json_string(iso);
}

/* What Alertmanager sends as the end of an alert that has none (Go's zero time). */
#define ZERO_TIME "0001-01-01T00:00:00Z"

void alertmsg_link(const struct config *cfg, const struct alert *a, char *out, size_t len)
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

json_t *alertmsg_labels_json(const struct config *cfg, const struct alert *a)
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

void alertmsg_fingerprint(json_t *labels, char out[17])
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
    json_t *al = json_object(), *labels = alertmsg_labels_json(cfg, a), *ann = json_object();
    if (!al || !labels || !ann) {
        json_decref(al);
        json_decref(labels);
        json_decref(ann);
        return NULL;
    }
    json_object_set_new(ann, "description", json_string(a->description));
    json_object_set_new(ann, "summary", json_string(a->summary));
    char link[CONFIG_STR_MAX + 128];
    alertmsg_link(cfg, a, link, sizeof link);
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
json_t *alertmsg_webhook_from_alert(const struct config *cfg, json_t *v2, bool resolved)
{
    json_t *labels = json_object_get(v2, "labels"), *ann = json_object_get(v2, "annotations");
    if (!json_is_object(labels) || !json_is_object(ann))
        return NULL;
    const char *status = resolved ? "resolved" : "firing";
    char fp[17];
    alertmsg_fingerprint(labels, fp);
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

int alertmsg_alertmanager_body(const struct config *cfg, const struct alert *a,
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

int alertmsg_webhook_body(const struct config *cfg, const struct alert *a, const char *event,
                          int64_t now, char *out, size_t len)
{
    json_t *al = v2_alert(cfg, a, event, now);
    json_t *body = al ? alertmsg_webhook_from_alert(cfg, al, !strcmp(event, "resolved")) : NULL;
    json_decref(al);
    return dump_into(body, out, len);
}

int alertmsg_email_text(const struct config *cfg, const struct alert *a, const char *event,
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
    alertmsg_link(cfg, a, link, sizeof link);
    struct buf labels = BUF_INIT(4096);
    json_t *set = alertmsg_labels_json(cfg, a);
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
void alertmsg_sender(const struct config *cfg, char *display, size_t dlen, char *addr,
                     size_t alen)
{
    char err[300];
    if (alertcfg_mailbox_parse(cfg->alert_email_from, display, dlen, addr, alen, err,
                               sizeof err) != 0) {
        display[0] = '\0'; /* checked at start; never here */
        snprintf(addr, alen, "lockstep@localhost");
    }
}

int alertmsg_email_message(const struct config *cfg, const struct alert_delivery *d,
                           struct buf *out)
{
    const char *sep = strstr(d->payload, "\n\n");
    size_t subject_len = sep ? (size_t)(sep - d->payload) : strlen(d->payload);
    const char *body = sep ? sep + 2 : "";
    char date[48], display[256], addr[256];
    rfc5322_date(d->created_at, date, sizeof date);
    alertmsg_sender(cfg, display, sizeof display, addr, sizeof addr);
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
void alertmsg_message_id(const struct config *cfg, const struct alert *a, const char *event,
                         char out[ALERT_MESSAGE_ID_MAX])
{
    pthread_once(&sodium_once, sodium_init_once);
    unsigned char rnd[8];
    char hex[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    char display[256], addr[256];
    alertmsg_sender(cfg, display, sizeof display, addr, sizeof addr);
    const char *at = strrchr(addr, '@');
    snprintf(out, ALERT_MESSAGE_ID_MAX, "<lockstep.%lld.%s.%s@%s>", (long long)a->id, event, hex,
             at ? at + 1 : "localhost");
}
