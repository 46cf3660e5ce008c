/* config.c — one table of keys read from INI (inih), environment and flags. */
#include "config/config.h"

#include "config/alertcfg.h"
#include "model/direction.h"
#include "store/store.h"
#include "util/netaddr.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum key_type { KEY_STR, KEY_LONG, KEY_DOUBLE, KEY_BOOL, KEY_DIRECTION };

struct key_desc {
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size;   /* for strings */
    double min, max;
    const char *default_value; /* as the INI file would write it; NULL: zero or empty */
};

#define STR(f) KEY_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0
#define LNG(f, lo, hi) KEY_LONG, offsetof(struct config, f), 0, lo, hi
#define DBL(f, lo, hi) KEY_DOUBLE, offsetof(struct config, f), 0, lo, hi
#define BOOL(f) KEY_BOOL, offsetof(struct config, f), 0, 0, 1

/* Every key: its name, type, range and default. */
static const struct key_desc keys[] = {
    {"db", STR(db), NULL},
    {"data_dir", STR(data_dir), "./var"},
    {"replica_url", STR(replica_url), NULL},         /* [store] */
    {"replica_max_lag", LNG(replica_max_lag, 0, 86400), "60"}, /* [store] */
    {"watch_mode", STR(watch_mode), NULL},                  /* [watch] mode */
    {"watch_poll_interval", LNG(watch_poll_interval, 10, 60000), "250"}, /* [watch], ms */
    {"watch_full_sweep_interval", LNG(watch_full_sweep_interval, 60, 86400 * 30),
     "86400"},                                               /* [watch], seconds */
    {"listen", STR(listen), "127.0.0.1:8000"},
    {"check_interval", LNG(check_interval, 1, 86400 * 7), "300"},
    {"sync_interval", LNG(sync_interval, 1, 86400 * 30), "21600"}, /* 6 hours */
    {"sync_direction", KEY_DIRECTION, offsetof(struct config, sync_direction),
     sizeof(((struct config *)0)->sync_direction), 0, 0, DIRECTION_PROGRESS_TO_LICENSE},
    {"jwt_secret", STR(jwt_secret), NULL},
    {"healthy_threshold", DBL(healthy_threshold, 0, 100), "99"},
    {"degraded_threshold", DBL(degraded_threshold, 0, 100), "95"},
    {"log_retention_days", LNG(log_retention_days, 1, 3650), "30"},
    {"report_budget_bytes_per_day", LNG(report_budget_bytes_per_day, 0, 1L << 40),
     "268435456"}, /* 256 MiB */
    {"baseline_keep", LNG(baseline_keep, 1, 100000), "12"},
    {"baseline_retention_days", LNG(baseline_retention_days, 1, 36500), "365"},
    {"shutdown_timeout", LNG(shutdown_timeout, 0, 3600), "30"},
    {"busy_timeout_ms", LNG(busy_timeout_ms, 0, 600000), "5000"},
    {"access_token_minutes", LNG(access_token_minutes, 1, 24 * 60), "30"},
    {"refresh_token_days", LNG(refresh_token_days, 1, 365), "7"},
    {"max_body_bytes", LNG(max_body_bytes, 1024, 64L * 1024 * 1024), "65536"}, /* 64 KiB */
    {"check_now_wait", BOOL(check_now_wait), "true"},
    {"access_log", BOOL(access_log), "true"},
    {"access_log_probes", BOOL(access_log_probes), NULL},
    {"log_file", STR(log_file), NULL},
    {"metrics_token", STR(metrics_token), NULL},
    {"metrics_deprecated", BOOL(metrics_deprecated), "true"},
    {"web_dir", STR(web_dir), NULL},
    {"workers", LNG(workers, 0, 256), "0"},
    {"http_threads", LNG(http_threads, 0, 64), "0"},
    {"request_header_timeout", LNG(request_header_timeout, 1, 3600), "10"},
    {"request_body_timeout", LNG(request_body_timeout, 1, 3600), "30"},
    {"keepalive_timeout", LNG(keepalive_timeout, 1, 3600), "5"},
    {"max_connections", LNG(max_connections, 16, 1000000), "4096"},
    {"max_connections_per_address", LNG(max_connections_per_address, 1, 1000000), "128"},
    {"status_violations_limit", LNG(status_violations_limit, 0, 10000), "100"},
    {"parallel_scan_min_bytes", LNG(parallel_scan_min_bytes, -1, 1L << 40), "8388608"}, /* 8 MiB */
    {"login_max_failures", LNG(login_max_failures, 1, LOGIN_MAX_FAILURES_LIMIT), "5"},
    {"login_window_seconds", LNG(login_window_seconds, 1, 86400), "300"},
    {"login_address_max_failures", LNG(login_address_max_failures, 1, LOGIN_MAX_FAILURES_LIMIT),
     "20"},
    {"login_throttle_slots", LNG(login_throttle_slots, 16, 1L << 22), "16384"},
    {"trusted_proxies", STR(trusted_proxies), NULL},
    {"check_misfire_grace", LNG(check_misfire_grace, 0, 86400), "60"},
    {"sync_misfire_grace", LNG(sync_misfire_grace, 0, 86400), "300"},
    {"leader_lease", LNG(leader_lease, 2, 3600), "10"},
    {"inconsistent_alert_count", LNG(inconsistent_alert_count, 0, 1000000000), "10"},
    {"alert_repeat_interval", LNG(alert_repeat_interval, 1, 86400 * 7), "14400"}, /* 4 hours */
    {"alert_alertmanager_url", STR(alert_alertmanager_url), NULL},
    {"alert_webhook_url", STR(alert_webhook_url), NULL},
    {"alert_webhook_authorization", STR(alert_webhook_authorization), NULL},
    {"alert_instance", STR(alert_instance), NULL},
    {"alert_labels", STR(alert_labels), NULL},
    {"external_url", STR(external_url), NULL},
    {"alert_smtp_url", STR(alert_smtp_url), NULL},
    {"alert_email_from", STR(alert_email_from), "lockstep@localhost"},
    {"alert_email_to", STR(alert_email_to), NULL},
    {"alert_critical_for", LNG(alert_critical_for, 0, 86400 * 7), "900"},
    {"alert_degraded_for", LNG(alert_degraded_for, 0, 86400 * 7), "1800"},
    {"alert_retry_min", LNG(alert_retry_min, 1, 3600), "10"},
    {"alert_send_timeout", LNG(alert_send_timeout, 1, 300), "10"},
};

/* The [domain] keys that are not table or column names, after them in
 * domain_keys_set's bits. */
enum { DK_SOURCE = DOMAIN_NAME_COUNT, DK_SCHEMA, DK_DATABASE, DK_LOCKSTEP_SCHEMA, DK_REPAIR,
       DK_ALLOW_EMPTY, DK_COUNT };
static const char *const domain_flag_keys[] = {"source", "schema", "database",
                                               "lockstep_schema", "repair", "allow_empty"};

static int domain_key_index(const char *key)
{
    int n = domain_name_find(key);
    if (n >= 0)
        return n;
    for (int i = 0; i < DK_COUNT - DK_SOURCE; i++)
        if (!strcmp(domain_flag_keys[i], key))
            return DK_SOURCE + i;
    return -1;
}

static int parse_on_off(const char *key, const char *value, const char *on, const char *off,
                        bool *out, char *err, size_t errlen)
{
    if (!strcmp(value, on))
        *out = true;
    else if (!strcmp(value, off))
        *out = false;
    else {
        snprintf(err, errlen, "[domain] %s is %s or %s, not '%.40s'", key, on, off, value);
        return -1;
    }
    return 0;
}

int config_set_domain(struct config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
    struct domain_map *m = &c->domain;
    int k = domain_key_index(key);
    char msg[256];
    int rc = 0;
    if (k < 0) {
        snprintf(err, errlen, "unknown key '%.64s' in [domain] (attach.md lists them)", key);
        return -2;
    }
    if (k < DOMAIN_NAME_COUNT) {
        if ((rc = domain_map_set(m, (enum domain_name)k, value, msg, sizeof msg)) != 0)
            snprintf(err, errlen, "[domain] %s", msg);
    } else if (k == DK_SOURCE) {
        bool attached = false;
        rc = parse_on_off(key, value, "attached", "own", &attached, err, errlen);
        m->attached = attached;
    } else if (k == DK_REPAIR) {
        rc = parse_on_off(key, value, "on", "off", &m->repair, err, errlen);
    } else if (k == DK_ALLOW_EMPTY) {
        rc = parse_on_off(key, value, "true", "false", &m->allow_empty, err, errlen);
    } else if (k == DK_DATABASE) {
        if (strlen(value) >= sizeof m->database) {
            snprintf(err, errlen, "[domain] database: a path is at most %zu bytes",
                     sizeof m->database - 1);
            rc = -1;
        } else {
            snprintf(m->database, sizeof m->database, "%s", value);
        }
    } else { /* schema, lockstep_schema: identifiers like the mapped names */
        char *dst = k == DK_SCHEMA ? m->schema : m->own_schema;
        size_t len = strlen(value);
        bool ok = len > 0 && len < DOMAIN_IDENT_MAX;
        for (size_t i = 0; ok && i < len; i++)
            ok = (unsigned char)value[i] >= 0x20 && value[i] != 0x7f;
        if (!ok) {
            snprintf(err, errlen, "[domain] %s must name a schema (1-%d bytes, no control "
                     "characters)", key, DOMAIN_IDENT_MAX - 1);
            rc = -1;
        } else {
            memcpy(dst, value, len + 1);
        }
    }
    if (rc == 0)
        c->domain_keys_set |= 1u << k;
    return rc;
}

/* The [domain] rules that span keys (attach.md): the mapping is read only in
 * attached mode; repairs are on in own mode and off by default in attached
 * mode; [levels] is read only where specs_max_levels is not mapped. */
static int finalize_domain(struct config *c, char *err, size_t errlen)
{
    struct domain_map *m = &c->domain;
    unsigned set = c->domain_keys_set;
    if (!m->attached) {
        for (int k = 0; k < DK_COUNT; k++) {
            if (k == DK_SOURCE || !(set & (1u << k)))
                continue;
            snprintf(err, errlen, "[domain] %s is read only with source = attached (own mode "
                     "uses Lockstep's own tables)",
                     k < DOMAIN_NAME_COUNT ? domain_name_key((enum domain_name)k)
                                           : domain_flag_keys[k - DK_SOURCE]);
            return -1;
        }
        if (m->levels) {
            snprintf(err, errlen, "[levels] is read only with [domain] source = attached (own "
                     "mode keeps each maximum in the specializations table)");
            return -1;
        }
        m->repair = true;
        return 0;
    }
    if (!(set & (1u << DK_REPAIR)))
        m->repair = false;
    /* attach.md: specs_max_levels is empty unless set (the academy's table
     * has no such column; the limits come from [levels]). */
    if (!(set & (1u << DOMAIN_SPECS_MAX_LEVELS)))
        m->name[DOMAIN_SPECS_MAX_LEVELS][0] = '\0';
    if (m->name[DOMAIN_SPECS_MAX_LEVELS][0] && m->levels) {
        snprintf(err, errlen, "[levels] is read only when [domain] specs_max_levels is empty "
                 "(the maximum levels come from the column %s)",
                 m->name[DOMAIN_SPECS_MAX_LEVELS]);
        return -1;
    }
    if (!strcmp(m->schema, m->own_schema)) {
        snprintf(err, errlen, "[domain] lockstep_schema must differ from schema ('%s'): "
                 "Lockstep's tables never sit beside the attached ones", m->schema);
        return -1;
    }
    return 0;
}

/* [watch] mode = poll reads the rows whose updated_at moved (watch.md): both
 * tables need one mapped. Own mode's tables always have it (domain.md), so
 * only an attached mapping can leave one empty. */
static int finalize_poll(const struct config *c, char *err, size_t errlen)
{
    if (strcmp(c->watch_mode, "poll") != 0)
        return 0;
    static const enum domain_name needed[] = {DOMAIN_PROGRESS_UPDATED_AT,
                                              DOMAIN_LICENSE_UPDATED_AT};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (c->domain.name[needed[i]][0])
            continue;
        snprintf(err, errlen, "[watch] mode = poll needs [domain] %s: poll reads the rows "
                 "whose updated_at moved, and %s leaves it empty (map it to the table's "
                 "updated_at column, or set [watch] mode = triggers or off)",
                 domain_name_key(needed[i]), domain_name_key(needed[i]));
        return -1;
    }
    return 0;
}

bool config_valid_direction(const char *d)
{
    return direction_valid(d);
}

static const struct key_desc *find_key(const char *name)
{
    /* The first byte first: a config file or the environment names up to a
     * hundred keys, each compared with every key otherwise. */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].name[0] == name[0] && !strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(v, no[i])) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* A PostgreSQL URL (the kinds store_url_parse knows). */
static bool is_postgres_url(const char *url)
{
    enum store_url_kind kind;
    const char *target;
    char err[300];
    return store_url_parse(url, &kind, &target, err, sizeof err) == 0 &&
           kind == STORE_URL_POSTGRES;
}

/* The keys of [store]; they are set there and nowhere else in the file. */
static bool store_section_key(const char *name)
{
    return !strcmp(name, "replica_url") || !strcmp(name, "replica_max_lag");
}

/* The keys of [watch] (watch.md): `mode` there is watch_mode in the key
 * table (and LOCKSTEP_WATCH_MODE in the environment). */
static bool watch_section_key(const char *name)
{
    return !strncmp(name, "watch_", 6);
}

static int set_key(struct config *c, const struct key_desc *k, const char *value, char *err,
                   size_t errlen)
{
    char *base = (char *)c + k->offset;
    switch (k->type) {
    case KEY_STR:
    case KEY_DIRECTION: {
        size_t n = strlen(value);
        if (n >= k->size) {
            snprintf(err, errlen, "value of %s is too long (at most %zu characters)", k->name,
                     k->size - 1);
            return -1;
        }
        if (k->type == KEY_DIRECTION && !config_valid_direction(value)) {
            snprintf(err, errlen,
                     "invalid %s '%.64s' (expected progress_to_license, license_to_progress "
                     "or higher_wins)",
                     k->name, value);
            return -1;
        }
        if (alertcfg_check(k->name, value, err, errlen) != 0)
            return -1;
        if (!strcmp(k->name, "watch_mode") && value[0] && strcmp(value, "triggers") != 0 &&
            strcmp(value, "poll") != 0 && strcmp(value, "off") != 0) {
            snprintf(err, errlen, "invalid [watch] mode '%.64s' (expected triggers, poll or off)",
                     value);
            return -1;
        }
        if (!strcmp(k->name, "replica_url") && value[0] && !is_postgres_url(value)) {
            char shown[208];
            store_url_shown(value, shown, sizeof shown);
            snprintf(err, errlen, "invalid replica_url '%s' (expected a PostgreSQL URL: "
                     "postgres://USER@HOST/DB)", shown);
            return -1;
        }
        memcpy(base, value, n + 1);
        if (!strcmp(k->name, "db"))
            c->db_set = n > 0;
        return 0;
    }
    case KEY_LONG: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0' || v < (long)k->min || v > (long)k->max) {
            snprintf(err, errlen, "invalid %s '%.64s' (expected an integer from %.0f to %.0f)",
                     k->name, value, k->min, k->max);
            return -1;
        }
        *(long *)(void *)base = v;
        return 0;
    }
    case KEY_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (errno || end == value || *end != '\0' || !isfinite(v) || v < k->min ||
            v > k->max) {
            snprintf(err, errlen, "invalid %s '%.64s' (expected a number from %.0f to %.0f)",
                     k->name, value, k->min, k->max);
            return -1;
        }
        *(double *)(void *)base = v;
        return 0;
    }
    case KEY_BOOL: {
        bool v;
        if (parse_bool(value, &v)) {
            snprintf(err, errlen, "invalid %s '%.64s' (expected true or false)", k->name,
                     value);
            return -1;
        }
        *(bool *)(void *)base = v;
        return 0;
    }
    }
    return -1;
}

int config_set(struct config *c, const char *key, const char *value, char *err,
               size_t errlen)
{
    const struct key_desc *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown key '%.64s'", key);
        return -2;
    }
    return set_key(c, k, value, err, errlen);
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!keys[i].default_value)
            continue;
        char err[200];
        int rc = set_key(c, &keys[i], keys[i].default_value, err, sizeof err);
        assert(rc == 0 && "a default lies in its key's range");
        (void)rc;
    }
    domain_map_own(&c->domain);
}

struct ini_ctx {
    struct config *c;
    FILE *f;
    int line;     /* lines read so far, numbered as inih numbers them */
    int msg_line;   /* the line msg is about; 0: none yet */
    int read_errno; /* a read failed (the path is a directory, an I/O error) */
    bool indented;  /* the line read last starts with a blank (inih: a continuation) */
    const struct key_desc *prev; /* the key of the entry before, NULL after a section */
    int set_on[sizeof keys / sizeof keys[0]]; /* the line that set each key; 0: none */
    char msg[512];
};

static char *read_line(char *str, int num, void *stream)
{
    struct ini_ctx *ctx = stream;
    errno = 0;
    char *got = fgets(str, num, ctx->f);
    if (got) {
        ctx->line++;
        ctx->indented = got[0] == ' ' || got[0] == '\t';
    }
    else if (ferror(ctx->f))
        ctx->read_errno = errno ? errno : EIO;
    return got;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    char msg[sizeof ctx->msg];
    int ok = 1;
    if (!strcmp(section, "domain") || !strcmp(section, "levels")) {
        ctx->prev = NULL;
        if (name) {
            bool levels = section[0] == 'l';
            int k = levels ? -1 : domain_key_index(name);
            if (ctx->indented) {
                snprintf(msg, sizeof msg, "an indented line continues the value of %s (values "
                         "are one line)", name);
                ok = 0;
            } else if (k >= 0 && (ctx->c->domain_keys_set & (1u << k))) {
                snprintf(msg, sizeof msg, "duplicate key %s in [domain]", name);
                ok = 0;
            } else if (levels) {
                ok = domain_map_set_level(&ctx->c->domain, name, value, msg, sizeof msg) == 0;
            } else {
                ok = config_set_domain(ctx->c, name, value, msg, sizeof msg) == 0;
            }
        }
    } else if (!strcmp(section, "watch")) {
        ctx->prev = NULL;
        char full[96];
        snprintf(full, sizeof full, "watch_%.80s", name ? name : "");
        if (name && (!find_key(full) || ctx->indented)) {
            if (ctx->indented)
                snprintf(msg, sizeof msg, "an indented line continues a value (values are one "
                         "line)");
            else
                snprintf(msg, sizeof msg, "unknown key %.64s in [watch] (expected mode, "
                         "poll_interval or full_sweep_interval)", name);
            ok = 0;
        } else if (name) {
            size_t i = (size_t)(find_key(full) - keys);
            if (ctx->set_on[i]) {
                snprintf(msg, sizeof msg, "duplicate key %s in [watch] (first set on line %d)",
                         name, ctx->set_on[i]);
                ok = 0;
            } else {
                ok = config_set(ctx->c, full, value, msg, sizeof msg) == 0;
                ctx->set_on[i] = ctx->line;
            }
        }
    } else if (section[0] && strcmp(section, "lockstep") != 0 && strcmp(section, "store") != 0) {
        snprintf(msg, sizeof msg, "unknown section [%.64s] (keys go at the top, under "
                 "[lockstep], [store], [watch], [domain] or [levels])", section);
        ok = 0;
    } else if (name && watch_section_key(name)) {
        snprintf(msg, sizeof msg, "%s goes under [watch] as %s", name, name + 6);
        ok = 0;
        ctx->prev = NULL;
    } else if (name && (section[0] == 's') != store_section_key(name)) {
        if (section[0] == 's')
            snprintf(msg, sizeof msg, "unknown key %.64s in [store] (expected replica_url or "
                     "replica_max_lag)", name);
        else
            snprintf(msg, sizeof msg, "%s goes under [store]", name);
        ok = 0;
        ctx->prev = NULL;
    } else if (name) { /* NULL: a section header alone */
        /* The top of the file and [lockstep] are one section: a key set twice
         * there is a mistake to point at, not "the last one wins". */
        const struct key_desc *k = find_key(name);
        size_t i = k ? (size_t)(k - keys) : 0;
        if (k && ctx->indented && ctx->prev == k) {
            snprintf(msg, sizeof msg, "an indented line continues the value of %s (values "
                     "are one line)", k->name);
            ok = 0;
        } else if (k && ctx->set_on[i]) {
            snprintf(msg, sizeof msg, "duplicate key %s (first set on line %d)", k->name,
                     ctx->set_on[i]);
            ok = 0;
        } else {
            ok = config_set(ctx->c, name, value, msg, sizeof msg) == 0;
            if (ok && !strcmp(name, "alert_webhook_authorization") && value[0])
                ctx->c->secret_in_file = true;
            if (k)
                ctx->set_on[i] = ctx->line;
        }
        ctx->prev = k;
    } else {
        ctx->prev = NULL;
    }
    /* inih reads on after an error and reports the line of the first one:
     * keep that line's message, not the last. */
    if (!ok && !ctx->msg_line) {
        ctx->msg_line = ctx->line;
        snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    }
    return ok;
}

/* Read INI text from f; name (a path) prefixes the messages. */
static int load_stream(struct config *c, FILE *f, const char *name, char *err, size_t errlen)
{
    struct ini_ctx ctx = {.c = c, .f = f};
    int line = ini_parse_stream(read_line, &ctx, on_ini_entry, &ctx);
    if (ctx.read_errno) {
        snprintf(err, errlen, "cannot read config file %s: %s", name, strerror(ctx.read_errno));
        return -1;
    }
    if (line != 0) {
        if (line < 0)
            snprintf(err, errlen, "cannot read config file %s", name);
        else
            snprintf(err, errlen, "%s:%d: %s", name, line,
                     ctx.msg_line == line ? ctx.msg : "syntax error");
        return -1;
    }
    return 0;
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = load_stream(c, f, path, err, errlen);
    fclose(f);
    if (rc)
        return rc;
    snprintf(c->config_file, sizeof c->config_file, "%s", path);
    return 0;
}

int config_load_text(struct config *c, const char *name, const char *text, size_t len,
                     char *err, size_t errlen)
{
    /* fmemopen refuses a zero size: empty text is an empty file. */
    if (len == 0)
        return 0;
    FILE *f = fmemopen((void *)text, len, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read config text %s: %s", name, strerror(errno));
        return -1;
    }
    /* A buffer of our own: no allocation per call (fuzz_config runs this
     * millions of times). */
    char buf[1024];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    int rc = load_stream(c, f, name, err, errlen);
    fclose(f);
    return rc;
}

/* LOCKSTEP_* variables that are not settings: the config file's path, and the
 * variables of the test, benchmark and packaging harnesses (docs/operations.md). */
static const char *const env_not_settings[] = {"LOCKSTEP_CONFIG", "LOCKSTEP_BIN",
                                               "LOCKSTEP_CHROMIUM", "LOCKSTEP_WRITE_FIXTURE"};
static const char *const env_harness_prefixes[] = {"LOCKSTEP_TEST_", "LOCKSTEP_BENCH_",
                                                   "LOCKSTEP_FRESH_", "LOCKSTEP_DEB_",
                                                   "LOCKSTEP_FUZZ_"};

static void env_name_of(const char *key, char env[96])
{
    size_t n = snprintf(env, 96, "LOCKSTEP_");
    for (const char *p = key; *p && n + 1 < 96; p++)
        env[n++] = (char)toupper((unsigned char)*p);
    env[n] = '\0';
}

/* Edit distance of a and b (the first 95 characters), for a "did you mean". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strnlen(a, 95), lb = strnlen(b, 95), row[96];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A LOCKSTEP_* variable that names no setting is an error: a misspelt
 * LOCKSTEP_JWT_SECRET must not leave a server with a generated secret. */
static int check_env_names(char *err, size_t errlen)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "LOCKSTEP_", 9) != 0)
            continue;
        size_t len = strcspn(*e, "=");
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)(len < 95 ? len : 95), *e);
        bool known = false;
        for (size_t i = 0; !known && i < sizeof env_not_settings / sizeof *env_not_settings; i++)
            known = !strcmp(name, env_not_settings[i]);
        for (size_t i = 0; !known && i < sizeof env_harness_prefixes / sizeof *env_harness_prefixes;
             i++)
            known = !strncmp(name, env_harness_prefixes[i], strlen(env_harness_prefixes[i]));
        const char *closest = NULL;
        size_t best = 4;
        char env[96], closest_env[96] = "";
        for (size_t i = 0; !known && i < sizeof keys / sizeof keys[0]; i++) {
            env_name_of(keys[i].name, env);
            known = !strcmp(name, env);
            size_t d = distance(name, env);
            if (d < best) {
                best = d;
                closest = keys[i].name;
                snprintf(closest_env, sizeof closest_env, "%s", env);
            }
        }
        if (known)
            continue;
        if (closest)
            snprintf(err, errlen, "unknown environment variable %s (did you mean %s?)", name,
                     closest_env);
        else
            snprintf(err, errlen, "unknown environment variable %s (no setting has that name)",
                     name);
        return -1;
    }
    return 0;
}

int config_load_env(struct config *c, char *err, size_t errlen)
{
    if (check_env_names(err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char env[96];
        env_name_of(keys[i].name, env);
        const char *v = getenv(env);
        if (!v)
            continue;
        char msg[400];
        if (set_key(c, &keys[i], v, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "%s: %s", env, msg);
            return -1;
        }
    }
    return 0;
}

/* The cross-key rules of the alert channels (each value was checked when it
 * was set, alertcfg_check), and the defaults that depend on the machine: the
 * instance label is the host name, external_url comes from listen. */
static int finalize_alert_keys(struct config *c, char *err, size_t errlen)
{
    if (c->alert_smtp_url[0] && !c->alert_email_to[0]) {
        snprintf(err, errlen, "alert_smtp_url needs alert_email_to (the recipients)");
        return -1;
    }
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0] || !alertcfg_text_ok(host))
        snprintf(host, sizeof host, "localhost");
    if (!c->alert_instance[0])
        snprintf(c->alert_instance, sizeof c->alert_instance, "%s", host);
    c->external_url_derived = !c->external_url[0];
    if (!c->external_url[0]) {
        /* A last resort: the address served, with the host name for a wildcard. */
        const char *colon = strrchr(c->listen, ':');
        size_t hl = colon ? (size_t)(colon - c->listen) : strlen(c->listen);
        bool wildcard = hl == 0 || (hl == 7 && !strncmp(c->listen, "0.0.0.0", 7)) ||
                        (hl == 4 && !strncmp(c->listen, "[::]", 4));
        snprintf(c->external_url, sizeof c->external_url, "http://%.*s%s",
                 wildcard ? (int)strlen(host) : (int)hl, wildcard ? host : c->listen,
                 colon ? colon : "");
    }
    size_t n = strlen(c->external_url);
    while (n > 0 && c->external_url[n - 1] == '/')
        c->external_url[--n] = '\0';
    return 0;
}

int config_finalize(struct config *c, char *err, size_t errlen)
{
    if (!c->data_dir[0]) {
        snprintf(err, errlen, "data_dir must not be empty");
        return -1;
    }
    if (!c->db[0]) {
        int n = snprintf(c->db, sizeof c->db, "sqlite:%s/lockstep.db", c->data_dir);
        if (n < 0 || (size_t)n >= sizeof c->db) {
            snprintf(err, errlen, "data_dir is too long");
            return -1;
        }
    }
    if (!c->watch_mode[0])
        snprintf(c->watch_mode, sizeof c->watch_mode, "%s",
                 c->domain.attached ? "off" : "triggers");
    if (c->degraded_threshold > c->healthy_threshold) {
        snprintf(err, errlen,
                 "degraded_threshold (%.2f) must not be above healthy_threshold (%.2f)",
                 c->degraded_threshold, c->healthy_threshold);
        return -1;
    }
    char msg[200];
    if (netaddr_list_check(c->trusted_proxies, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "invalid trusted_proxies: %s", msg);
        return -1;
    }
    if (c->replica_url[0] && !is_postgres_url(c->db)) {
        snprintf(err, errlen, "[store] replica_url needs a PostgreSQL db (a replica of it)");
        return -1;
    }
    if (finalize_domain(c, err, errlen) != 0 || finalize_poll(c, err, errlen) != 0)
        return -1;
    return finalize_alert_keys(c, err, errlen);
}
