/* config.h — Lockstep's settings and where they come from.
 *
 * Precedence: command-line flag > LOCKSTEP_* environment > INI file > default.
 * Every key is described once in a table (config.c) that the INI reader, the
 * environment reader and the flag parser share, so a key is spelled the same
 * everywhere and validated the same way. Unknown keys and bad values are
 * errors, never silently ignored.
 */
#ifndef LOCKSTEP_CONFIG_H
#define LOCKSTEP_CONFIG_H

#include "model/domain_map.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_STR_MAX 1024
/* The most login_max_failures and login_address_max_failures may be: the
 * login throttle keeps up to this many failure times per email and per client
 * address. */
#define LOGIN_MAX_FAILURES_LIMIT 100

struct config {
    char db[CONFIG_STR_MAX];          /* store URL: sqlite:PATH or postgres://… */
    char data_dir[CONFIG_STR_MAX];    /* logs, secret.key, the embedded store */
    char replica_url[CONFIG_STR_MAX]; /* [store]: a streaming replica checks read; "": none */
    long replica_max_lag;             /* [store]: seconds of replay lag a check accepts */
    /* [watch] (watch.md): change capture triggers | poll | off; "": the default
     * of the mode (own: triggers, attached: off), see config_watch_mode. */
    char watch_mode[16];
    long watch_poll_interval;        /* ms between polls: of the change rows (SQLite: the
                                        longest wait, woken by writes), of
                                        the updated_at columns (mode poll, both stores) */
    long watch_full_sweep_interval;  /* seconds between full sweeps while watching */
    char listen[CONFIG_STR_MAX];      /* ADDR:PORT for serve */
    long check_interval;              /* seconds between health checks */
    long sync_interval;               /* seconds between auto-syncs */
    char sync_direction[32];          /* progress_to_license | license_to_progress | higher_wins */
    char jwt_secret[CONFIG_STR_MAX];  /* empty: generated into <data_dir>/secret.key */
    double healthy_threshold;         /* rate >= this is healthy */
    double degraded_threshold;        /* rate >= this is degraded, below critical */
    long log_retention_days;          /* files under logs/ older than this are pruned */
    long report_budget_bytes_per_day; /* integrity-check files per UTC day; 0: none */
    long baseline_keep;               /* baseline files: the newest N always stay */
    long baseline_retention_days;     /* older baseline files beyond those N are pruned */
    long shutdown_timeout;            /* seconds a running job may take at shutdown */
    long busy_timeout_ms;             /* how long a write waits for a locked database */
    long access_token_minutes;
    long refresh_token_days;
    long max_body_bytes;              /* request bodies above this get 413 */
    bool check_now_wait;
    bool access_log;                  /* one stderr line per HTTP request */              /* check-now during a check: wait (true) or 409 */
    bool access_log_probes;           /* /healthz, /readyz, /metrics at INFO (else DEBUG) */
    char log_file[CONFIG_STR_MAX];    /* serve's process log; empty = stderr */
    char metrics_token[CONFIG_STR_MAX]; /* bearer token for //metrics; empty = open */
    bool metrics_deprecated;          /* //metrics also shows the deprecated names */
    char web_dir[CONFIG_STR_MAX];     /* serve the dashboard from disk (development) */
    long workers;                     /* pooled store connections and handler threads;
                                         0 = from the CPU count */
    long http_threads;                /* epoll threads serving connections; 0 = CPUs */
    long request_header_timeout;      /* seconds to read a request's head (not reset by bytes) */
    long request_body_timeout;        /* seconds to read its body, after the head */
    long keepalive_timeout;           /* seconds a connection may stay silent */
    long max_connections;             /* open connections in total; more get 503 */
    long max_connections_per_address; /* open connections per client address */
    long status_violations_limit;     /* violations in /health/status and check-now */
    long parallel_scan_min_bytes;     /* SQLite: full scans of larger files use threads */
    long login_max_failures;          /* failures per email before 429 */
    long login_window_seconds;        /* the window those failures are counted in */
    long login_address_max_failures;  /* failures from one address, any accounts, before 429 */
    long login_throttle_slots;        /* records the login throttle keeps (bounded memory) */
    char trusted_proxies[CONFIG_STR_MAX]; /* addresses/CIDRs whose X-Forwarded-For is believed */
    long check_misfire_grace;         /* seconds; a run starting later is missed */
    long sync_misfire_grace;
    long leader_lease;                /* seconds a leader of the jobs holds its lease unrenewed */
    long inconsistent_alert_count;    /* alert when more violations than this */
    long alert_repeat_interval;       /* seconds between re-notifications */
    char alert_alertmanager_url[CONFIG_STR_MAX]; /* base URL; posts to its /api/v2/alerts */
    char alert_webhook_url[CONFIG_STR_MAX];       /* receives the webhook (v4) body */
    char alert_webhook_authorization[CONFIG_STR_MAX]; /* Authorization header value; secret */
    char alert_instance[256];         /* the instance label; default the host name */
    char alert_labels[CONFIG_STR_MAX]; /* name=value pairs on every alert (alertcfg.h) */
    char external_url[CONFIG_STR_MAX]; /* the address people open, for links; no slash at
                                          the end; default derived from listen */
    char alert_smtp_url[CONFIG_STR_MAX];  /* smtp://host:port */
    char alert_email_from[256];
    char alert_email_to[CONFIG_STR_MAX];  /* recipients, separated by commas */
    long alert_critical_for;          /* seconds status is critical before its alert fires */
    long alert_degraded_for;          /* seconds status is degraded before its alert fires */
    long alert_retry_min;             /* first retry delay of a failed delivery, seconds */
    long alert_send_timeout;          /* seconds one webhook or SMTP delivery may take */
    struct domain_map domain;         /* [domain] and [levels] (attach.md); own mode by default */
    unsigned domain_keys_set;         /* which [domain] keys the file set (config.c) */
    char config_file[CONFIG_STR_MAX]; /* the file read, for messages ("" = none) */
    bool db_set;                      /* db was given explicitly (not derived) */
    bool secret_in_file;              /* config_file sets alert_webhook_authorization */
    bool external_url_derived;        /* external_url was not set: derived from listen */
};

/* Fill `c` with the defaults of operations.md (each key's row in config.c's table
 * holds its default). */
void config_defaults(struct config *c);
/* Read an INI file. Errors name "file:line: message". Returns 0 or -1. */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);
/* Apply INI text held in memory (len bytes, NUL not needed) as
 * config_load_file applies a file; name stands for the path in messages.
 * Returns 0 or -1 with err. */
int config_load_text(struct config *c, const char *name, const char *text, size_t len,
                     char *err, size_t errlen);
/* Apply LOCKSTEP_<KEY> environment variables. Returns 0 or -1 with err. */
int config_load_env(struct config *c, char *err, size_t errlen);
/* Set one key from text (flags use this). Returns 0, -1 bad value, -2 unknown key. */
int config_set(struct config *c, const char *key, const char *value, char *err,
               size_t errlen);
/* Derive what depends on other keys (the default db from data_dir) and check
 * cross-key rules. Returns 0 or -1 with err. */
int config_finalize(struct config *c, char *err, size_t errlen);
/* Set one key of the [domain] section (attach.md). Returns 0, -1 bad value,
 * -2 unknown key. */
int config_set_domain(struct config *c, const char *key, const char *value, char *err,
                      size_t errlen);
/* True when `d` is one of the three sync directions. */
bool config_valid_direction(const char *d);

#endif
