/* alertcfg.h — the values of the alert channel keys (operations.md, "Alerts"):
 * checking them when they are set (so a bad value is a `file:line` error at
 * start) and parsing them where they are used: the operator's alert_labels,
 * the sender mailbox of alert_email_from ("Name <addr@host>"), the URLs.
 * Messages never repeat a URL or alert_webhook_authorization: they may hold
 * secrets. */
#ifndef LOCKSTEP_ALERTCFG_H
#define LOCKSTEP_ALERTCFG_H

#include <stdbool.h>
#include <stddef.h>

#define ALERTCFG_LABELS_MAX 16        /* pairs alert_labels may hold */
#define ALERTCFG_LABEL_NAME_MAX 64    /* bytes of a label name, with the NUL */
#define ALERTCFG_LABEL_VALUE_MAX 256  /* bytes of a label value, with the NUL */
#define ALERTCFG_EXTERNAL_URL_MAX 500 /* external_url's longest value (mail lines stay short) */

/* One label of alert_labels. */
struct alertcfg_label {
    char name[ALERTCFG_LABEL_NAME_MAX];
    char value[ALERTCFG_LABEL_VALUE_MAX];
};

/* Check the value of `key` when it is one of the alert keys this module knows
 * (alert_alertmanager_url, alert_webhook_url, alert_webhook_authorization,
 * alert_smtp_url, alert_email_from, alert_email_to, alert_instance,
 * alert_labels, external_url). Returns 0 when it is acceptable (or `key` is not
 * one of them), -1 with a message in err that names the key and the problem. */
int alertcfg_check(const char *key, const char *value, char *err, size_t errlen);

/* Parse alert_labels ("name=value, name=value"; spaces around names and
 * values are dropped) into out[ALERTCFG_LABELS_MAX]; *n gets how many. Names
 * follow Prometheus ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__") and may
 * not be one Lockstep sets itself (alertname, severity, service, instance,
 * job); values are non-empty UTF-8 without control characters; a name
 * appears once. Returns 0, or -1 with err. */
int alertcfg_labels_parse(const char *text, struct alertcfg_label *out, size_t *n, char *err,
                          size_t errlen);

/* Split alert_email_from ("addr@host", "Display Name <addr@host>" or
 * "\"Quoted, Name\" <addr@host>") into the display name (unquoted, UTF-8; ""
 * when none) and the address. Returns 0, or -1 with err. */
int alertcfg_mailbox_parse(const char *text, char *display, size_t display_len, char *addr,
                           size_t addr_len, char *err, size_t errlen);

/* True when `s` is valid UTF-8 without control characters (below 0x20, 0x7f). */
bool alertcfg_text_ok(const char *s);

#endif
