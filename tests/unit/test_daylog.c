/* test_daylog.c — the day log: the file of the UTC day, a directory that
 * cannot be written, a file renamed away. */
#include "service/daylog.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define S USEC_PER_SEC

static int count_lines(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, 1 << 20, &text, &len) != 0)
        return -1;
    int n = 0;
    for (char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(text);
    return n;
}

/* Lines go to the file of their UTC day: the log switches at midnight. */
static void daylog_switches_at_midnight(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("daylog");
    char base[512];
    snprintf(base, sizeof base, "%s", dir);
    struct daylog *d = daylog_open(base);
    assert_non_null(d);
    int64_t midnight;
    assert_int_equal(time_parse_iso("2025-10-26T00:00:00Z", &midnight), 0);
    daylog_write_at(d, midnight - S, LOG_INFO, "health_check",
                    "Health check complete: 148/150 consistent (98.67%)");
    daylog_write_at(d, midnight, LOG_INFO, "health_check",
                    "Health check complete: 150/150 consistent (100.00%)");
    daylog_write_at(d, midnight + S, LOG_ERROR, "scheduler", "Job coupling_health_check failed: x");
    daylog_close(d);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/logs/sync_jobs/scheduler_20251025.log", base);
    snprintf(b, sizeof b, "%s/logs/sync_jobs/scheduler_20251026.log", base);
    assert_int_equal(count_lines(a, "Health check complete"), 1);
    assert_int_equal(count_lines(b, "Health check complete"), 1);
    assert_int_equal(count_lines(a, "2025-10-25 23:59:59 - health_check - INFO - Health check "
                                    "complete: 148/150 consistent (98.67%)\n"),
                     1);
    assert_int_equal(count_lines(b, " - scheduler - ERROR - Job coupling_health_check failed: x"),
                     1);
    /* The grep/awk of operations.md yields one rate per check. */
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "test \"$(grep -h 'Health check complete' %s %s | awk -F'[()]' '{print $2}' | "
             "tr '\\n' ' ')\" = '98.67%% 100.00%% '",
             a, b);
    assert_int_equal(tu_sh("%s", cmd), 0);
}

/* A log directory that cannot be written costs a counted failure, not a crash. */
static void daylog_unwritable(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("daylog-ro");
    char base[512], blocker[700];
    snprintf(base, sizeof base, "%s", dir);
    snprintf(blocker, sizeof blocker, "%s/logs", base);
    assert_int_equal(tu_sh("mkdir -p '%s' && touch '%s/sync_jobs'", blocker, blocker), 0);
    struct daylog *d = daylog_open(base);
    daylog_write(d, LOG_INFO, "scheduler", "Starting background scheduler...");
    daylog_write(d, LOG_INFO, "scheduler", "Background scheduler started successfully");
    assert_int_equal(daylog_failures(d), 2);
    daylog_close(d);
}

/* An operator renamed the day log: the next line goes to a new file of the
 * canonical name, for every day log of the process, with or without SIGHUP. */
static void daylog_reopens_after_rename(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("daylog-reopen");
    char base[512], path[700], moved[720], removed[720];
    snprintf(base, sizeof base, "%s", dir);
    struct daylog *a = daylog_open(base), *b = daylog_open(base);
    int64_t t;
    assert_int_equal(time_parse_iso("2025-10-25T12:00:00Z", &t), 0);
    daylog_write_at(a, t, LOG_INFO, "health_check", "one");
    daylog_write_at(b, t, LOG_INFO, "alerts", "two");
    snprintf(path, sizeof path, "%s/logs/sync_jobs/scheduler_20251025.log", base);
    snprintf(moved, sizeof moved, "%s.1", path);
    assert_int_equal(rename(path, moved), 0);
    daylog_write_at(a, t + S, LOG_INFO, "health_check", "three"); /* noticed without SIGHUP */
    daylog_reopen_all();
    daylog_write_at(a, t + 2 * S, LOG_INFO, "health_check", "four");
    daylog_write_at(b, t + 2 * S, LOG_INFO, "alerts", "five");
    assert_int_equal(count_lines(moved, " - INFO - "), 2);
    assert_int_equal(count_lines(path, " - INFO - "), 3);
    assert_int_equal(count_lines(path, "2025-10-25 12:00:01 - health_check - INFO - three\n"), 1);
    assert_int_equal(count_lines(path, "2025-10-25 12:00:02 - health_check - INFO - four\n"), 1);
    assert_int_equal(count_lines(path, "2025-10-25 12:00:02 - alerts - INFO - five\n"), 1);
    /* Removed (logrotate without a rename, an operator's rm): a new file too. */
    snprintf(removed, sizeof removed, "%s.2", path);
    assert_int_equal(rename(path, removed), 0);
    assert_int_equal(unlink(removed), 0);
    daylog_write_at(b, t + 3 * S, LOG_INFO, "alerts", "six");
    assert_int_equal(count_lines(path, " - INFO - "), 1);
    daylog_close(a);
    daylog_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daylog_switches_at_midnight),
        cmocka_unit_test(daylog_unwritable),
        cmocka_unit_test(daylog_reopens_after_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
