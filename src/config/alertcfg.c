/* alertcfg.c — checking and parsing the values of the alert channel keys. */
#include "config/alertcfg.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

bool alertcfg_text_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t more;
        unsigned min;
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            more = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        p++;
        for (size_t i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (*p & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
    }
    return true;
}

static bool starts_with(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* The path of an http(s) URL ("" when none), or NULL when `url` is not one:
 * a scheme, a host, no white space or control characters. */
static const char *http_url_path(const char *url)
{
    const char *rest = starts_with(url, "http://")    ? url + 7
                       : starts_with(url, "https://") ? url + 8
                                                      : NULL;
    if (!rest || !*rest || *rest == '/')
        return NULL;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return NULL;
    const char *slash = strchr(rest, '/');
    return slash ? slash : "";
}

/* Whether the URL path ends with /api/v2/alerts or /api/v1/alerts (a slash after it too). */
static bool names_alerts_api(const char *path)
{
    size_t n = strcspn(path, "?#");
    while (n > 0 && path[n - 1] == '/')
        n--;
    static const char *const tails[] = {"/api/v2/alerts", "/api/v1/alerts"};
    for (size_t i = 0; i < 2; i++) {
        size_t t = strlen(tails[i]);
        if (n >= t && !strncmp(path + n - t, tails[i], t))
            return true;
    }
    return false;
}

/* An address Lockstep puts in the envelope and in headers: local@domain,
 * no white space, no characters that open a comment, a group or a quote. */
static bool plain_address(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
            return false;
    }
    return true;
}

int alertcfg_mailbox_parse(const char *text, char *display, size_t display_len, char *addr,
                           size_t addr_len, char *err, size_t errlen)
{
    static const char *const hint =
        "alert_email_from must be an address (lockstep@academy.example) or a name and an "
        "address (Lockstep North <lockstep@academy.example>), on one line";
    const char *lt = strchr(text, '<');
    const char *a = text, *ae = text + strlen(text);
    const char *d = text, *de = text;
    if (lt) {
        const char *gt = strchr(lt, '>');
        const char *after = gt ? gt + 1 : NULL;
        while (after && *after == ' ')
            after++;
        if (!gt || *after || strchr(lt + 1, '<')) {
            snprintf(err, errlen, "%s", hint);
            return -1;
        }
        a = lt + 1, ae = gt;
        de = lt;
    }
    while (a < ae && *a == ' ')
        a++;
    while (ae > a && ae[-1] == ' ')
        ae--;
    while (d < de && *d == ' ')
        d++;
    while (de > d && de[-1] == ' ')
        de--;
    if (!plain_address(a, (size_t)(ae - a)) || (size_t)(ae - a) >= addr_len) {
        snprintf(err, errlen, "%s", hint);
        return -1;
    }
    memcpy(addr, a, (size_t)(ae - a));
    addr[ae - a] = '\0';
    size_t n = 0;
    bool quoted = de - d >= 2 && *d == '"' && de[-1] == '"';
    if (quoted)
        d++, de--;
    for (const char *p = d; p < de; p++) {
        if (quoted && *p == '\\' && p + 1 < de)
            p++;
        else if (*p == '"') {
            snprintf(err, errlen, "%s (a quote in the name needs the whole name in quotes: "
                                  "\"The \\\"North\\\" Academy\" <addr>)", hint);
            return -1;
        }
        if (n + 1 >= display_len) {
            snprintf(err, errlen, "alert_email_from: the display name is too long");
            return -1;
        }
        display[n++] = *p;
    }
    display[n] = '\0';
    if (!alertcfg_text_ok(display)) {
        snprintf(err, errlen, "alert_email_from: the display name must be UTF-8 text on one "
                              "line");
        return -1;
    }
    return 0;
}

static bool reserved_label(const char *name)
{
    static const char *const reserved[] = {"alertname", "severity", "service", "instance",
                                           "job"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (!strcmp(name, reserved[i]))
            return true;
    return false;
}

int alertcfg_labels_parse(const char *text, struct alertcfg_label *out, size_t *n, char *err,
                          size_t errlen)
{
    *n = 0;
    const char *p = text;
    if (strspn(text, " \t") == strlen(text))
        return 0; /* only blanks: no labels */
    while (*p) {
        const char *e = p + strcspn(p, ",");
        const char *s = p, *t = e;
        p = *e ? e + 1 : e;
        while (s < t && (*s == ' ' || *s == '\t'))
            s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (s == t) {
            snprintf(err, errlen, "alert_labels: an empty pair (expected name=value pairs "
                                  "separated by commas, e.g. environment=prod, academy=north)");
            return -1;
        }
        const char *eq = memchr(s, '=', (size_t)(t - s));
        if (!eq) {
            snprintf(err, errlen, "alert_labels: '%.*s' is not name=value",
                     (int)(t - s > 60 ? 60 : t - s), s);
            return -1;
        }
        const char *ne = eq, *v = eq + 1;
        while (ne > s && (ne[-1] == ' ' || ne[-1] == '\t'))
            ne--;
        while (v < t && (*v == ' ' || *v == '\t'))
            v++;
        size_t nl = (size_t)(ne - s), vl = (size_t)(t - v);
        if (*n >= ALERTCFG_LABELS_MAX) {
            snprintf(err, errlen, "alert_labels: at most %d labels", ALERTCFG_LABELS_MAX);
            return -1;
        }
        struct alertcfg_label *l = &out[*n];
        if (nl == 0 || nl >= sizeof l->name) {
            snprintf(err, errlen, "alert_labels: a label name must have 1 to %d characters",
                     ALERTCFG_LABEL_NAME_MAX - 1);
            return -1;
        }
        memcpy(l->name, s, nl);
        l->name[nl] = '\0';
        bool ok = (l->name[0] >= 'a' && l->name[0] <= 'z') ||
                  (l->name[0] >= 'A' && l->name[0] <= 'Z') || l->name[0] == '_';
        for (size_t i = 1; ok && i < nl; i++) {
            char c = l->name[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_';
        }
        if (!ok) {
            snprintf(err, errlen, "alert_labels: '%s' is not a valid label name (Prometheus "
                                  "allows [a-zA-Z_][a-zA-Z0-9_]*)", l->name);
            return -1;
        }
        if (starts_with(l->name, "__")) {
            snprintf(err, errlen, "alert_labels: label names starting with __ are reserved "
                                  "(%s)", l->name);
            return -1;
        }
        if (reserved_label(l->name)) {
            snprintf(err, errlen, "alert_labels: the label %s is set by Lockstep and cannot be "
                                  "overridden%s", l->name,
                     !strcmp(l->name, "instance") ? " (set alert_instance instead)" : "");
            return -1;
        }
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(out[i].name, l->name)) {
                snprintf(err, errlen, "alert_labels: the label %s is given twice", l->name);
                return -1;
            }
        if (vl == 0 || vl >= sizeof l->value) {
            snprintf(err, errlen, "alert_labels: the value of %s must have 1 to %d bytes",
                     l->name, ALERTCFG_LABEL_VALUE_MAX - 1);
            return -1;
        }
        memcpy(l->value, v, vl);
        l->value[vl] = '\0';
        if (!alertcfg_text_ok(l->value)) {
            snprintf(err, errlen, "alert_labels: the value of %s must be UTF-8 without control "
                                  "characters", l->name);
            return -1;
        }
        (*n)++;
    }
    return 0;
}

int alertcfg_check(const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp(key, "alert_alertmanager_url") && *value) {
        const char *path = http_url_path(value);
        if (!path || strpbrk(path, "?#")) {
            snprintf(err, errlen, "alert_alertmanager_url must be an http:// or https:// URL "
                                  "without a query (the Alertmanager's base URL)");
            return -1;
        }
        if (names_alerts_api(path)) {
            snprintf(err, errlen, "alert_alertmanager_url is the Alertmanager's base URL "
                                  "(e.g. http://alertmanager:9093): Lockstep adds "
                                  "/api/v2/alerts itself");
            return -1;
        }
    } else if (!strcmp(key, "alert_webhook_url") && *value) {
        const char *path = http_url_path(value);
        if (!path) {
            snprintf(err, errlen, "alert_webhook_url must start with http:// or https:// "
                                  "(and hold no white space)");
            return -1;
        }
        if (names_alerts_api(path)) {
            snprintf(err, errlen, "alert_webhook_url points at an Alertmanager API "
                                  "(/api/v2/alerts), but the webhook channel now sends the "
                                  "body of Alertmanager's webhook receivers (version 4): to "
                                  "send to an Alertmanager, set alert_alertmanager_url to its "
                                  "base URL instead");
            return -1;
        }
    } else if (!strcmp(key, "external_url") && *value) {
        const char *path = http_url_path(value);
        const char *host = path ? strstr(value, "://") + 3 : NULL;
        if (!path || strpbrk(path, "?#") || strlen(value) > ALERTCFG_EXTERNAL_URL_MAX ||
            memchr(host, '@', (size_t)(path[0] ? path - host : (ptrdiff_t)strlen(host)))) {
            snprintf(err, errlen, "external_url must be an http:// or https:// URL of at most "
                                  "%d characters without credentials, a query or a fragment "
                                  "(the address people open, e.g. "
                                  "https://lockstep.academy.example)",
                     ALERTCFG_EXTERNAL_URL_MAX);
            return -1;
        }
    } else if (!strcmp(key, "alert_smtp_url") && *value) {
        if (!starts_with(value, "smtp://") && !starts_with(value, "smtps://")) {
            snprintf(err, errlen, "alert_smtp_url must start with smtp:// or smtps://");
            return -1;
        }
    } else if (!strcmp(key, "alert_webhook_authorization")) {
        for (const char *p = value; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
                snprintf(err, errlen, "alert_webhook_authorization must be one line of "
                                      "printable ASCII (the whole header value, e.g. Bearer "
                                      "followed by the token)");
                return -1;
            }
    } else if (!strcmp(key, "alert_email_from")) {
        char display[256], addr[256];
        return alertcfg_mailbox_parse(value, display, sizeof display, addr, sizeof addr, err,
                                      errlen);
    } else if (!strcmp(key, "alert_email_to") && *value) {
        const char *p = value;
        while (*p) {
            const char *e = p + strcspn(p, ",");
            const char *s = p, *t = e;
            while (s < t && *s == ' ')
                s++;
            while (t > s && t[-1] == ' ')
                t--;
            if (s < t && !plain_address(s, (size_t)(t - s))) {
                snprintf(err, errlen, "alert_email_to must be plain addresses (name@host, "
                                      "separated by commas)");
                return -1;
            }
            p = *e ? e + 1 : e;
        }
        if (!strchr(value, '@')) {
            snprintf(err, errlen, "alert_email_to must be plain addresses (name@host, "
                                  "separated by commas)");
            return -1;
        }
    } else if (!strcmp(key, "alert_instance")) {
        if (!alertcfg_text_ok(value) || strlen(value) >= ALERTCFG_LABEL_VALUE_MAX) {
            snprintf(err, errlen, "alert_instance must be UTF-8 text without control "
                                  "characters, at most %d bytes",
                     ALERTCFG_LABEL_VALUE_MAX - 1);
            return -1;
        }
    } else if (!strcmp(key, "alert_labels")) {
        struct alertcfg_label labels[ALERTCFG_LABELS_MAX];
        size_t n;
        return alertcfg_labels_parse(value, labels, &n, err, errlen);
    }
    return 0;
}
