/* test_config.c — settings from defaults, INI file, environment and flags,
 * in that order of precedence (in the library and through the binary); every
 * bad input is an error naming its source, file:line for the INI file. */
#include "config/alertcfg.h"
#include "config/config.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *write_ini(const char *name, const char *text)
{
    static char path[800];
    const char *dir = tu_tmpdir(name);
    snprintf(path, sizeof path, "%s/lockstep.ini", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* `base`/`name` (static storage). */
static const char *path_in(const char *base, const char *name)
{
    static char path[800];
    snprintf(path, sizeof path, "%s/%s", base, name);
    return path;
}

static void defaults(void **state)
{
    (void)state;
    struct config c;
    char err[300];
    config_defaults(&c);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.db, "sqlite:./var/lockstep.db");
    assert_string_equal(c.listen, "127.0.0.1:8000");
    assert_int_equal(c.check_interval, 300);
    assert_int_equal(c.sync_interval, 21600);
    assert_string_equal(c.sync_direction, "progress_to_license");
    assert_float_equal(c.healthy_threshold, 99.0, 1e-9);
    assert_float_equal(c.degraded_threshold, 95.0, 1e-9);
    assert_int_equal(c.log_retention_days, 30);
    assert_int_equal(c.shutdown_timeout, 30);
    assert_int_equal(c.max_body_bytes, 65536);
}

static void precedence(void **state)
{
    (void)state;
    const char *ini = write_ini("config-prec", "# comment\n[lockstep]\ndata_dir = /from/file\n"
                                               "check_interval = 60\nsync_interval = 120\n");
    struct config c;
    char err[300];
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), 0);
    assert_string_equal(c.data_dir, "/from/file");
    setenv("LOCKSTEP_CHECK_INTERVAL", "30", 1);
    setenv("LOCKSTEP_DATA_DIR", "/from/env", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), 0);
    unsetenv("LOCKSTEP_CHECK_INTERVAL");
    unsetenv("LOCKSTEP_DATA_DIR");
    assert_int_equal(c.check_interval, 30);       /* env beats file */
    assert_int_equal(c.sync_interval, 120);       /* file beats default */
    assert_int_equal(config_set(&c, "data_dir", "/from/flag", err, sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_string_equal(c.data_dir, "/from/flag"); /* flag beats env */
    assert_string_equal(c.db, "sqlite:/from/flag/lockstep.db");
}

static void bad_inputs(void **state)
{
    (void)state;
    struct config c;
    char err[300];
    config_defaults(&c);
    const char *ini = write_ini("config-unknown", "check_interval = 60\nfrobnicate = yes\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:2: unknown key 'frobnicate'"));
    ini = write_ini("config-bad", "\n\ncheck_interval = soon\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:3: invalid check_interval 'soon'"));
    ini = write_ini("config-range", "healthy_threshold = 101\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: invalid healthy_threshold"));
    ini = write_ini("config-dir", "sync_direction = sideways\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid sync_direction 'sideways'"));
    ini = write_ini("config-section", "[alerts]\nfoo = 1\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: unknown section [alerts]"));
    assert_int_equal(config_load_file(&c, "/nonexistent/lockstep.ini", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot read config file /nonexistent/lockstep.ini"));
    setenv("LOCKSTEP_SHUTDOWN_TIMEOUT", "-5", 1);
    assert_int_equal(config_load_env(&c, err, sizeof err), -1);
    unsetenv("LOCKSTEP_SHUTDOWN_TIMEOUT");
    assert_non_null(strstr(err, "LOCKSTEP_SHUTDOWN_TIMEOUT: invalid shutdown_timeout '-5'"));
    assert_int_equal(config_set(&c, "nope", "1", err, sizeof err), -2);
    config_defaults(&c);
    assert_int_equal(config_set(&c, "degraded_threshold", "99.5", err, sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "must not be above healthy_threshold"));
}

/* The alert channels' keys: schemes, recipients, addresses that cannot break
 * a header; a message never repeats the URL (it may hold a password). A bad
 * value is refused when it is set, so a file names its line. */
static void alert_keys(void **state)
{
    (void)state;
    struct config c;
    char err[400];
    config_defaults(&c);
    assert_int_equal(c.alert_critical_for, 900);
    assert_int_equal(c.alert_degraded_for, 1800);
    assert_int_equal(c.alert_retry_min, 10);
    assert_int_equal(c.alert_send_timeout, 10);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_int_equal(config_set(&c, "alert_webhook_url", "ftp://x/hook", err, sizeof err), -1);
    assert_non_null(strstr(err, "alert_webhook_url must start with http:// or https://"));
    assert_int_equal(config_set(&c, "alert_webhook_url", "http://am:9093/api/v2/alerts", err,
                                sizeof err), -1);
    assert_non_null(strstr(err, "set alert_alertmanager_url"));
    assert_int_equal(config_set(&c, "alert_alertmanager_url", "http://u:pw@am:9093/api/v2/alerts/",
                                err, sizeof err), -1);
    assert_non_null(strstr(err, "base URL"));
    assert_null(strstr(err, "pw@"));
    assert_int_equal(config_set(&c, "alert_alertmanager_url", "am:9093", err, sizeof err), -1);
    assert_int_equal(config_set(&c, "alert_alertmanager_url", "http://am:9093/prefix", err,
                                sizeof err), 0);
    assert_int_equal(config_set(&c, "external_url", "https://lockstep.example/?x=1", err,
                                sizeof err), -1);
    assert_non_null(strstr(err, "external_url must be"));
    assert_int_equal(config_set(&c, "external_url", "https://u:pw@lockstep.example", err,
                                sizeof err), -1);
    assert_null(strstr(err, "pw@"));
    assert_int_equal(config_set(&c, "external_url", "https://lockstep.example/a@b", err,
                                sizeof err), 0);
    assert_int_equal(config_set(&c, "alert_webhook_authorization", "Bearer s3cret\r\nX: y", err,
                                sizeof err), -1);
    assert_null(strstr(err, "s3cret"));
    assert_int_equal(config_set(&c, "alert_webhook_authorization", "Bearer s3cret", err,
                                sizeof err), 0);
    config_defaults(&c);
    assert_int_equal(config_set(&c, "alert_smtp_url", "smtp://user:s3cret@mail:25", err,
                                sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "alert_smtp_url needs alert_email_to"));
    assert_null(strstr(err, "s3cret"));
    assert_int_equal(config_set(&c, "alert_email_to", "ops@x\r\nBcc: evil@y", err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "plain addresses"));
    assert_int_equal(config_set(&c, "alert_email_to", "ops@x, oncall@y", err, sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_int_equal(config_set(&c, "alert_smtp_url", "http://mail", err, sizeof err), -1);
    assert_non_null(strstr(err, "alert_smtp_url must start with smtp://"));
    assert_int_equal(config_set(&c, "alert_critical_for", "-1", err, sizeof err), -1);
    assert_int_equal(config_set(&c, "alert_retry_min", "0", err, sizeof err), -1);
    /* The sender: a plain address or a display name with one. */
    static const char *const good_from[] = {
        "lockstep@academy.example", "Lockstep North <lockstep@academy.example>",
        "\"Lockstep, North\" <lockstep@academy.example>", "Académie Nord <a@b.example>",
        "<lockstep@academy.example>"};
    for (size_t i = 0; i < sizeof good_from / sizeof good_from[0]; i++)
        assert_int_equal(config_set(&c, "alert_email_from", good_from[i], err, sizeof err), 0);
    static const char *const bad_from[] = {
        "Lockstep North", "Lockstep <a@b> x", "Lockstep\r\nBcc: x <a@b>", "Lock\"step <a@b>",
        "<a@b", "Name <a b@c>", "a@b, c@d", "Name <a@b@c>"};
    for (size_t i = 0; i < sizeof bad_from / sizeof bad_from[0]; i++)
        assert_int_equal(config_set(&c, "alert_email_from", bad_from[i], err, sizeof err), -1);
}

/* alert_labels: Prometheus label names, no reserved or internal names, no
 * duplicates; instance and external_url get their defaults at finalize. */
static void alert_labels_and_defaults(void **state)
{
    (void)state;
    struct config c;
    char err[400];
    config_defaults(&c);
    struct alertcfg_label l[ALERTCFG_LABELS_MAX];
    size_t n = 0;
    assert_int_equal(alertcfg_labels_parse(" environment = prod ,academy=north,", l, &n, err,
                                           sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(l[0].name, "environment");
    assert_string_equal(l[0].value, "prod");
    assert_string_equal(l[1].name, "academy");
    assert_string_equal(l[1].value, "north");
    assert_int_equal(alertcfg_labels_parse("", l, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    static const char *const bad[][2] = {
        {"environment", "is not name=value"},
        {"1env=prod", "not a valid label name"},
        {"env-x=prod", "not a valid label name"},
        {"__meta=x", "reserved"},
        {"severity=low", "set by Lockstep"},
        {"instance=x", "set alert_instance instead"},
        {"alertname=x", "set by Lockstep"},
        {"service=x", "set by Lockstep"},
        {"job=x", "set by Lockstep"},
        {"a=1,a=2", "given twice"},
        {"a=", "must have 1 to"},
        {"a=1,,b=2", "an empty pair"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(config_set(&c, "alert_labels", bad[i][0], err, sizeof err), -1);
        if (!strstr(err, bad[i][1]))
            fail_msg("%s: %s", bad[i][0], err);
        assert_non_null(strstr(err, "alert_labels"));
    }
    const char *ini = write_ini("config-labels", "check_interval = 60\n"
                                                 "alert_labels = environment=prod, severity=x\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:2: alert_labels: the label severity is set by "
                                "Lockstep"));
    /* Defaults: the host name, and external_url from listen as a last resort. */
    config_defaults(&c);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(c.alert_instance, host);
    assert_string_equal(c.external_url, "http://127.0.0.1:8000");
    config_defaults(&c);
    assert_int_equal(config_set(&c, "listen", "0.0.0.0:8080", err, sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    char want[300];
    snprintf(want, sizeof want, "http://%s:8080", host);
    assert_string_equal(c.external_url, want);
    config_defaults(&c);
    assert_int_equal(config_set(&c, "external_url", "https://lockstep.example/ops/", err,
                                sizeof err), 0);
    assert_int_equal(config_set(&c, "alert_instance", "north-1", err, sizeof err), 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_string_equal(c.external_url, "https://lockstep.example/ops");
    assert_string_equal(c.alert_instance, "north-1");
}

/* inih reads on after the first error: the message must be the one of the
 * line reported, not of a later line. */
/* Load INI text and finalize: 0, or -1 with err. */
static int load_domain(struct config *c, const char *text, char *err, size_t errlen)
{
    config_defaults(c);
    if (config_load_text(c, "lockstep.ini", text, strlen(text), err, errlen) != 0)
        return -1;
    return config_finalize(c, err, errlen);
}

/* A config text and what its refusal must say. */
struct refusal {
    const char *ini, *says;
};

/* Every text of bad[n] is refused (load_domain) with its message, which
 * never shows the word "secret" (the passwords of the cases). */
static void expect_refused(const struct refusal *bad, size_t n)
{
    struct config c;
    char err[400];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(load_domain(&c, bad[i].ini, err, sizeof err), -1);
        if (!strstr(err, bad[i].says))
            fail_msg("%s: said '%s', expected '%s'", bad[i].ini, err, bad[i].says);
        assert_null(strstr(err, "secret"));
    }
}

/* [domain] and [levels] (attach.md): own mode by default; attached mode's
 * defaults; every bad key or value an error naming it. */
static void domain_sections(void **state)
{
    (void)state;
    struct config c;
    char err[400];
    assert_int_equal(load_domain(&c, "", err, sizeof err), 0);
    assert_false(c.domain.attached);
    assert_true(c.domain.repair);
    assert_string_equal(c.domain.name[DOMAIN_SPECS_MAX_LEVELS], "max_levels");

    assert_int_equal(load_domain(&c, "[domain]\nsource = attached\nprogress_level = lvl\n"
                                     "[levels]\nplayer = 8\nINTERNSHIP = 3\n",
                                 err, sizeof err), 0);
    assert_true(c.domain.attached);
    assert_false(c.domain.repair);     /* off unless asked */
    assert_false(c.domain.allow_empty);
    assert_string_equal(c.domain.schema, "public");
    assert_string_equal(c.domain.own_schema, "lockstep");
    assert_string_equal(c.domain.name[DOMAIN_PROGRESS_LEVEL], "lvl");
    assert_string_equal(c.domain.name[DOMAIN_LICENSE_LEVEL], "current_level");
    assert_string_equal(c.domain.name[DOMAIN_SPECS_MAX_LEVELS], ""); /* from [levels] */
    assert_int_equal(domain_map_level(&c.domain, "PLAYER"), 8); /* upper-cased */
    assert_int_equal(domain_map_level(&c.domain, "INTERNSHIP"), 3);
    assert_int_equal(domain_map_level(&c.domain, "COACH"), 0);
    assert_int_equal(load_domain(&c, "[domain]\nsource = attached\nrepair = on\n", err,
                                 sizeof err), 0);
    assert_true(c.domain.repair);

    static const struct refusal bad[] = {
        {"[domain]\nsource = attached\nfrobnicate = 1\n", "lockstep.ini:3: unknown key 'frobnicate' in [domain]"},
        {"[domain]\nsource = elsewhere\n", "source is attached or own"},
        {"[domain]\nsource = attached\nsource = attached\n", "lockstep.ini:3: duplicate key source"},
        {"[domain]\nprogress_table = x\n", "progress_table is read only with source = attached"},
        {"[levels]\nPLAYER = 8\n", "[levels] is read only with [domain] source = attached"},
        {"[domain]\nsource = attached\nrepair = maybe\n", "repair is on or off"},
        {"[domain]\nsource = attached\nallow_empty = yes\n", "allow_empty is true or false"},
        {"[domain]\nsource = attached\nlockstep_schema = public\n", "lockstep_schema must differ"},
        {"[domain]\nsource = attached\nprogress_user =\n", "progress_user must name a column"},
        {"[domain]\nsource = attached\nspecs_max_levels = levels\n[levels]\nA = 1\n",
         "[levels] is read only when [domain] specs_max_levels is empty"},
        {"[domain]\nsource = attached\n[levels]\nPLAYER = 0\n", "whole number 1-100"},
        {"[domain]\nsource = attached\n[levels]\nPLAYER = 101\n", "whole number 1-100"},
        {"[domain]\nsource = attached\n[levels]\nPLAYER = 8\nplayer = 8\n", "PLAYER is given twice"},
        {"[domain]\nsource = attached\n[levels]\nPLAY-ER = 8\n", "made of A-Z, 0-9 and _"},
        {"[elsewhere]\nx = 1\n", "unknown section [elsewhere]"},
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
}

/* [store] (operations.md, "Reading from a replica"): no replica and 60 s by
 * default; its keys only there; a replica of PostgreSQL only, its URL shown
 * without the password. */
static void store_section(void **state)
{
    (void)state;
    struct config c;
    char err[400];
    assert_int_equal(load_domain(&c, "", err, sizeof err), 0);
    assert_string_equal(c.replica_url, "");
    assert_int_equal(c.replica_max_lag, 60);
    assert_int_equal(load_domain(&c, "db = postgres://u@primary/l\n[store]\n"
                                     "replica_url = postgresql://u:pw@replica/l\n"
                                     "replica_max_lag = 5\n",
                                 err, sizeof err), 0);
    assert_string_equal(c.replica_url, "postgresql://u:pw@replica/l");
    assert_int_equal(c.replica_max_lag, 5);
    static const struct refusal bad[] = {
        {"[store]\nreplica_url = postgres://u@replica/l\n", "replica_url needs a PostgreSQL db"},
        {"[store]\nreplica_url = sqlite:/x.db\n", "lockstep.ini:2: invalid replica_url 'sqlite:/x.db'"},
        {"[store]\nreplica_url = http://u:secret@h/x\n", "invalid replica_url 'http://u:***@h/x'"},
        {"[store]\nreplica_max_lag = 86401\n", "lockstep.ini:2: invalid replica_max_lag '86401'"},
        {"[store]\ncheck_interval = 5\n", "lockstep.ini:2: unknown key check_interval in [store]"},
        {"replica_max_lag = 5\n", "lockstep.ini:1: replica_max_lag goes under [store]"},
        {"[store]\nreplica_max_lag = 5\nreplica_max_lag = 6\n", "lockstep.ini:3: duplicate key"},
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
}

/* [watch] mode = poll (watch.md): own mode (whose tables have updated_at)
 * and an attached mapping of both updated_at columns; refused, naming the
 * key, when one is left empty. */
static void watch_poll_needs_both_updated_at_columns(void **state)
{
    (void)state;
    struct config c;
    char err[400];
    assert_int_equal(load_domain(&c, "[watch]\nmode = poll\n", err, sizeof err), 0);
    assert_string_equal(c.watch_mode, "poll");
    assert_int_equal(load_domain(&c, "[domain]\nsource = attached\nlicense_updated_at = changed\n"
                                     "[watch]\nmode = poll\n",
                                 err, sizeof err), 0);
    assert_string_equal(c.domain.name[DOMAIN_LICENSE_UPDATED_AT], "changed");
    static const struct refusal bad[] = {
        {"[domain]\nsource = attached\nprogress_updated_at =\n[watch]\nmode = poll\n",
         "[watch] mode = poll needs [domain] progress_updated_at"},
        {"[domain]\nsource = attached\nlicense_updated_at =\n[watch]\nmode = poll\n",
         "[watch] mode = poll needs [domain] license_updated_at"},
        {"[watch]\nmode = pol\n", "invalid [watch] mode 'pol' (expected triggers, poll or off)"},
    };
    expect_refused(bad, sizeof bad / sizeof bad[0]);
}

static void first_error_names_its_own_line(void **state)
{
    (void)state;
    struct config c;
    char err[300];
    config_defaults(&c);
    const char *ini = write_ini("config-first", "frobnicate = 1\n\n\ncheck_interval = soon\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:1: unknown key 'frobnicate'"));
    ini = write_ini("config-first2", "[lockstep]\ncheck_interval = 60\nsync_direction = up\n"
                                     "[alerts]\nwebhook = x\nfoo = 1\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:3: invalid sync_direction 'up'"));
    /* A line that is not key = value, then a bad key: the syntax error is first. */
    ini = write_ini("config-syntax", "just some words\nfrobnicate = 1\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:1: syntax error"));
    ini = write_ini("config-syntax2", "check_interval = 60\nfrobnicate = 1\nwords\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), -1);
    assert_non_null(strstr(err, "lockstep.ini:2: unknown key 'frobnicate'"));
}

static void values_of_every_type(void **state)
{
    (void)state;
    struct config c;
    char err[300];
    config_defaults(&c);
    const char *ini = write_ini("config-types", "; a comment\n[lockstep]\n"
                                                "db = postgres://u@h/db\n"
                                                "healthy_threshold = 98.5\n"
                                                "degraded_threshold = 90\n"
                                                "check_now_wait = no\n"
                                                "sync_direction = higher_wins\n"
                                                "busy_timeout_ms = 0\n");
    assert_int_equal(config_load_file(&c, ini, err, sizeof err), 0);
    assert_string_equal(c.db, "postgres://u@h/db");
    assert_float_equal(c.healthy_threshold, 98.5, 1e-9);
    assert_float_equal(c.degraded_threshold, 90.0, 1e-9);
    assert_false(c.check_now_wait);
    assert_string_equal(c.sync_direction, "higher_wins");
    assert_int_equal(c.busy_timeout_ms, 0);
    assert_int_equal(config_finalize(&c, err, sizeof err), 0);
    assert_string_equal(c.db, "postgres://u@h/db"); /* given: not derived from data_dir */
    /* Bad values of each type, from a flag. */
    const char *bad[][2] = {
        {"check_interval", "0"},        {"check_interval", "10s"},   {"check_interval", ""},
        {"check_interval", "99999999999999999999"},                  {"healthy_threshold", "nan"},
        {"healthy_threshold", "-1"},    {"healthy_threshold", "1e400"}, {"check_now_wait", "maybe"},
        {"sync_direction", "PROGRESS_TO_LICENSE"},                   {"busy_timeout_ms", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_set(&c, bad[i][0], bad[i][1], err, sizeof err) != -1)
            fail_msg("%s = '%s' was accepted", bad[i][0], bad[i][1]);
        assert_non_null(strstr(err, bad[i][0]));
    }
    assert_int_equal(c.check_interval, 300); /* refused values change nothing */
    assert_string_equal(c.sync_direction, "higher_wins");
    char longval[CONFIG_STR_MAX + 10];
    memset(longval, 'd', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    assert_int_equal(config_set(&c, "data_dir", longval, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
}

/* ---- through the binary: where does `check` put the store and its report? */

/* True when `dir` holds a store and one integrity-check report. */
static bool checked_in(const char *dir)
{
    return tu_sh("test -e '%s/lockstep.db' && test \"$(ls '%s/logs/integrity_checks' | wc -l)\" "
                 "-eq 1",
                 dir, dir) == 0;
}

static void precedence_through_the_binary(void **state)
{
    (void)state;
    char base[600];
    snprintf(base, sizeof base, "%s", tu_tmpdir("config-bin"));
    char *out;
    assert_int_equal(tu_sh("mkdir -p '%s/cwd' && printf '[lockstep]\\ndata_dir = %s/file\\n' > "
                           "'%s/f.ini' && printf 'data_dir = %s/other\\n' > '%s/o.ini'",
                           base, base, base, base, base),
                     0);
    /* Only migrate (serve, demo) creates a store: make one in every candidate
     * place; where the check's report lands tells which one was used. */
    assert_int_equal(tu_sh("cd '%s/cwd' && for d in flag env file other; do %s --data-dir "
                           "'%s/'$d migrate >/dev/null || exit 1; done && %s migrate >/dev/null "
                           "&& %s --db 'sqlite:%s/fixed.db' migrate >/dev/null",
                           base, tu_bin(), base, tu_bin(), tu_bin(), base),
                     0);
    /* Flag beats environment, file and default. */
    assert_int_equal(tu_cmd(&out, "cd '%s/cwd' && LOCKSTEP_DATA_DIR='%s/env' %s "
                                  "--config '%s/f.ini' --data-dir '%s/flag' check 2>&1",
                            base, base, tu_bin(), base, base),
                     0);
    assert_true(checked_in(path_in(base, "flag")));
    /* Environment beats file. */
    assert_int_equal(tu_cmd(&out, "cd '%s/cwd' && LOCKSTEP_DATA_DIR='%s/env' %s "
                                  "--config '%s/f.ini' check 2>&1",
                            base, base, tu_bin(), base),
                     0);
    assert_true(checked_in(path_in(base, "env")));
    /* File beats default; --config beats LOCKSTEP_CONFIG. */
    assert_int_equal(tu_cmd(&out, "cd '%s/cwd' && LOCKSTEP_CONFIG='%s/o.ini' %s "
                                  "--config '%s/f.ini' check 2>&1",
                            base, base, tu_bin(), base),
                     0);
    assert_true(checked_in(path_in(base, "file")));
    assert_int_equal(tu_sh("test ! -e '%s/other/logs'", base), 0);
    assert_int_equal(tu_cmd(&out, "cd '%s/cwd' && LOCKSTEP_CONFIG='%s/o.ini' %s check 2>&1", base,
                            base, tu_bin()),
                     0);
    assert_true(checked_in(path_in(base, "other")));
    /* Nothing given: ./var. */
    assert_int_equal(tu_cmd(&out, "cd '%s/cwd' && %s check 2>&1", base, tu_bin()), 0);
    assert_true(checked_in(path_in(base, "cwd/var")));
    /* A db given in the file stays where it is when the flag moves the data dir. */
    assert_int_equal(tu_cmd(&out, "printf 'db = sqlite:%s/fixed.db\\n' > '%s/db.ini' && "
                                  "%s --config '%s/db.ini' --data-dir '%s/logsonly' check 2>&1",
                            base, base, tu_bin(), base, base),
                     0);
    assert_int_equal(tu_sh("test -e '%s/fixed.db' && test ! -e '%s/logsonly/lockstep.db' && "
                           "test -d '%s/logsonly/logs/integrity_checks'",
                           base, base, base),
                     0);
    /* Thresholds: default, file, then environment (97 of 100 pairs consistent). */
    assert_int_equal(tu_cmd(&out, "%s --data-dir '%s/flag' demo --users 100 --drift 3 2>&1",
                            tu_bin(), base),
                     0);
    assert_int_equal(tu_cmd(&out, "%s --data-dir '%s/flag' check --dry-run 2>&1", tu_bin(), base),
                     3);
    assert_non_null(strstr(out, "Consistency: 97.00% (97/100 consistent, 3 inconsistent)"));
    assert_int_equal(tu_cmd(&out, "printf 'healthy_threshold = 100\\ndegraded_threshold = 99\\n' "
                                  "> '%s/t.ini' && %s --config '%s/t.ini' --data-dir '%s/flag' "
                                  "check --dry-run 2>&1",
                            base, tu_bin(), base, base),
                     4);
    assert_non_null(strstr(out, "Status: CRITICAL"));
    assert_int_equal(tu_cmd(&out, "LOCKSTEP_DEGRADED_THRESHOLD=97 %s --config '%s/t.ini' "
                                  "--data-dir '%s/flag' check --dry-run 2>&1",
                            tu_bin(), base, base),
                     3);
    assert_non_null(strstr(out, "Status: DEGRADED"));
    assert_int_equal(tu_cmd(&out, "LOCKSTEP_HEALTHY_THRESHOLD=97 LOCKSTEP_DEGRADED_THRESHOLD=90 %s "
                                  "--config '%s/t.ini' --data-dir '%s/flag' check --dry-run 2>&1",
                            tu_bin(), base, base),
                     0);
}

/* Every configuration error: exit 1, one line on stderr naming the source. */
static void errors_through_the_binary(void **state)
{
    (void)state;
    char base[600];
    snprintf(base, sizeof base, "%s", tu_tmpdir("config-bin-errors"));
    char *out;
    const struct {
        const char *ini;  /* written to bad.ini (a printf format: \n for newlines) */
        const char *env;
        const char *want; /* in the stderr line */
    } cases[] = {
        {"check_interval = 60\\nwho = me\\n", "", "bad.ini:2: unknown key 'who'"},
        {"\\n\\n\\ncheck_interval = soon\\n", "", "bad.ini:4: invalid check_interval 'soon'"},
        {"[alerts]\\nwebhook = x\\n", "", "bad.ini:2: unknown section [alerts]"},
        {"sync_direction = sideways\\n", "", "bad.ini:1: invalid sync_direction 'sideways'"},
        {"", "LOCKSTEP_CHECK_INTERVAL=0", "LOCKSTEP_CHECK_INTERVAL: invalid check_interval '0'"},
        {"", "LOCKSTEP_HEALTHY_THRESHOLD=90 LOCKSTEP_DEGRADED_THRESHOLD=95",
         "must not be above healthy_threshold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = tu_cmd(&out, "printf '%s' > '%s/bad.ini' && %s %s --config '%s/bad.ini' "
                                "--data-dir '%s/d' check 2>&1 >/dev/null",
                          cases[i].ini, base, cases[i].env, tu_bin(), base, base);
        if (code != 1 || !strstr(out, cases[i].want) || strchr(out, '\n') != out + strlen(out) - 1)
            fail_msg("case %zu: exit %d, stderr '%s'", i, code, out);
    }
    assert_int_equal(tu_cmd(&out, "%s --config '%s/none.ini' check 2>&1 >/dev/null", tu_bin(),
                            base),
                     1);
    assert_non_null(strstr(out, "cannot read config file"));
    assert_non_null(strstr(out, "none.ini"));
    /* A directory is not a config file either. */
    assert_int_equal(tu_cmd(&out, "%s --config '%s' --data-dir '%s/d' check 2>&1 >/dev/null",
                            tu_bin(), base, base),
                     1);
    assert_non_null(strstr(out, "config file"));
    assert_non_null(strstr(out, "Is a directory"));
    /* An empty data dir is refused. */
    assert_int_equal(tu_cmd(&out, "%s --data-dir '' check 2>&1 >/dev/null", tu_bin()), 1);
    assert_non_null(strstr(out, "data_dir must not be empty"));
    /* Nothing was created by the refused runs. */
    assert_int_equal(tu_sh("test ! -e '%s/d'", base), 0);
}

int main(void)
{
    /* The settings a developer's shell may carry would change what is tested. */
    static const char *outside[] = {"LOCKSTEP_CONFIG", "LOCKSTEP_DATA_DIR", "LOCKSTEP_DB",
                                    "LOCKSTEP_HEALTHY_THRESHOLD", "LOCKSTEP_DEGRADED_THRESHOLD",
                                    "LOCKSTEP_CHECK_INTERVAL", "LOCKSTEP_SYNC_INTERVAL"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        unsetenv(outside[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(precedence),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(alert_keys),
        cmocka_unit_test(alert_labels_and_defaults),
        cmocka_unit_test(domain_sections),
        cmocka_unit_test(store_section),
        cmocka_unit_test(watch_poll_needs_both_updated_at_columns),
        cmocka_unit_test(first_error_names_its_own_line),
        cmocka_unit_test(values_of_every_type),
        cmocka_unit_test(precedence_through_the_binary),
        cmocka_unit_test(errors_through_the_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
