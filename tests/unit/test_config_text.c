/* test_config_text.c — INI text held in memory (config_load_text, what
 * fuzz_config drives) reads exactly as the same text in a file. */
#include "config/config.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void text_sets_keys_like_a_file(void **state)
{
    (void)state;
    static const char ini[] = "[lockstep]\ncheck_interval = 120\nsync_direction = higher_wins\n"
                              "; comment\naccess_log = false\n";
    struct config from_text, from_file;
    char err[300];
    config_defaults(&from_text);
    config_defaults(&from_file);
    assert_int_equal(config_load_text(&from_text, "mem.ini", ini, strlen(ini), err, sizeof err),
                     0);
    char path[800];
    snprintf(path, sizeof path, "%s/lockstep.ini", tu_tmpdir("config_text"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ini, f);
    fclose(f);
    assert_int_equal(config_load_file(&from_file, path, err, sizeof err), 0);
    assert_int_equal(from_text.check_interval, 120);
    assert_string_equal(from_text.sync_direction, "higher_wins");
    assert_false(from_text.access_log);
    memset(from_file.config_file, 0, sizeof from_file.config_file); /* only a file has a path */
    assert_memory_equal(&from_text, &from_file, sizeof from_text);
}

static void text_errors_name_the_line(void **state)
{
    (void)state;
    static const char ini[] = "check_interval = 60\n\ncheck_interval = soon\n";
    struct config c;
    char err[300];
    config_defaults(&c);
    assert_int_equal(config_load_text(&c, "mem.ini", ini, strlen(ini), err, sizeof err), -1);
    assert_non_null(strstr(err, "mem.ini:3:"));
    config_defaults(&c);
    /* Text without a final newline, and no text at all. */
    assert_int_equal(config_load_text(&c, "mem.ini", "workers = 3", 11, err, sizeof err), 0);
    assert_int_equal(c.workers, 3);
    assert_int_equal(config_load_text(&c, "mem.ini", "", 0, err, sizeof err), 0);
    /* Text is not a string: bytes after len are not read. */
    assert_int_equal(config_load_text(&c, "mem.ini", "workers = 5junk", 11, err, sizeof err), 0);
    assert_int_equal(c.workers, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_sets_keys_like_a_file),
        cmocka_unit_test(text_errors_name_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
