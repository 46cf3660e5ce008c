/* test_config.c — settings from defaults, INI file, environment and flags,
 * in that order of precedence; every bad input is an error naming its source. */
#include "config/config.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(precedence),
        cmocka_unit_test(bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
