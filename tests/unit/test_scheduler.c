/* test_scheduler.c — the scheduler's due/misfire/skip arithmetic with a fake
 * clock, expected-run accounting, job windows from recorded runs, and the day
 * log's midnight switch. */
#include "service/daylog.h"
#include "service/scheduler.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S USEC_PER_SEC

static void on_time_runs(void **state)
{
    (void)state;
    struct schedule_plan p;
    int64_t due = 1000 * S;
    scheduler_plan(due, due, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, due + 300 * S);
}

static void not_due_yet(void **state)
{
    (void)state;
    struct schedule_plan p;
    scheduler_plan(999 * S, 1000 * S, 300 * S, 60 * S, &p);
    assert_false(p.run);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, 1000 * S);
}

static void late_within_grace_runs(void **state)
{
    (void)state;
    struct schedule_plan p;
    scheduler_plan(1059 * S, 1000 * S, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, 1000 * S);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, 1300 * S);
}

static void late_beyond_grace_is_missed(void **state)
{
    (void)state;
    struct schedule_plan p;
    scheduler_plan(1061 * S, 1000 * S, 300 * S, 60 * S, &p);
    assert_false(p.run);
    assert_int_equal(p.n_missed, 1);
    assert_int_equal(p.first_missed, 1000 * S);
    assert_int_equal(p.next_due, 1300 * S);
}

/* After a pause of an hour only the latest due can run; the rest are missed,
 * never stacked up. */
static void no_catch_up_after_pause(void **state)
{
    (void)state;
    struct schedule_plan p;
    int64_t due = 1000 * S, now = due + 3600 * S + 10 * S;
    scheduler_plan(now, due, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due + 3600 * S);
    assert_int_equal(p.n_missed, 12);
    assert_int_equal(p.first_missed, due);
    assert_true(p.next_due > now);
    assert_int_equal(p.next_due, due + 3900 * S);
    /* Tiny intervals with a long grace coalesce too: one run, not a burst. */
    scheduler_plan(due + 10 * S, due, 1 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due + 10 * S);
    assert_int_equal(p.n_missed, 10);
}

static void expected_runs(void **state)
{
    (void)state;
    int64_t day = 86400 * S, start = 10 * day;
    /* 72 h at 5 min = 864. */
    assert_int_equal(scheduler_expected_runs(start, start + 3 * day, start - day, 300 * S), 864);
    /* Clipped to the first scheduler start. */
    assert_int_equal(scheduler_expected_runs(start, start + day, start + day / 2, 300 * S), 144);
    /* Rounded down. */
    assert_int_equal(scheduler_expected_runs(start, start + 299 * S, start - day, 300 * S), 0);
    assert_int_equal(scheduler_expected_runs(start, start + 601 * S, start - day, 300 * S), 2);
    /* Never started: nothing expected. */
    assert_int_equal(scheduler_expected_runs(start, start + day, 0, 300 * S), 0);
}

static void add_run(struct store *s, const char *job, int64_t due, const char *status)
{
    struct job_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.job_id, sizeof r.job_id, "%s", job);
    r.due_at = due;
    r.started_at = strcmp(status, "missed") ? due + S : 0;
    r.finished_at = r.started_at ? due + 2 * S : 0;
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.owner, sizeof r.owner, "test");
    assert_int_equal(s->ops->job_run_insert(s, &r), 0);
}

/* A job window over recorded runs: success rate is ok / expected, and dues
 * with no record at all (the process was down) count as missed. */
static void job_window_counts(void **state)
{
    (void)state;
    struct store *s = tu_store("sched-window", NULL);
    int64_t t0 = time_now_us() - 3600 * S;
    assert_int_equal(s->ops->scheduler_start_insert(s, t0, "test"), 0);
    /* 12 dues in the hour: 9 ok, 1 failed, 1 recorded missed, 1 never recorded. */
    for (int i = 1; i <= 9; i++)
        add_run(s, JOB_CHECK, t0 + i * 300 * S, "success");
    add_run(s, JOB_CHECK, t0 + 10 * 300 * S, "failed");
    add_run(s, JOB_CHECK, t0 + 11 * 300 * S, "missed");
    /* A duplicate due time is refused: history never shows two runs of one due. */
    struct job_run dup;
    memset(&dup, 0, sizeof dup);
    snprintf(dup.job_id, sizeof dup.job_id, JOB_CHECK);
    dup.due_at = t0 + 300 * S;
    snprintf(dup.status, sizeof dup.status, "success");
    assert_int_equal(s->ops->job_run_insert(s, &dup), STORE_ERR_CONFLICT);

    struct job_window w;
    assert_int_equal(scheduler_job_window(s, JOB_CHECK, 300, t0, t0 + 3600 * S, &w), 0);
    assert_int_equal(w.expected, 12);
    assert_int_equal(w.ok, 9);
    assert_int_equal(w.failed, 1);
    assert_int_equal(w.missed, 2);
    assert_true(w.success_rate > 74.99 && w.success_rate < 75.01);
    assert_string_equal(w.last_status, "failed");

    /* Nothing expected before the first start: rate n/a. */
    assert_int_equal(scheduler_job_window(s, JOB_CHECK, 300, t0 - 7200 * S, t0, &w), 0);
    assert_int_equal(w.expected, 0);
    assert_true(w.success_rate < 0);

    /* Runs left running by a crash become interrupted. */
    struct job_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.job_id, sizeof r.job_id, JOB_SYNC);
    r.due_at = t0 + 100 * S;
    r.started_at = t0 + 100 * S;
    snprintf(r.status, sizeof r.status, "running");
    assert_int_equal(s->ops->job_run_insert(s, &r), 0);
    int64_t n = 0;
    assert_int_equal(s->ops->job_runs_interrupt_stale(s, time_now_us(), &n), 0);
    assert_int_equal(n, 1);
    struct job_stats st;
    assert_int_equal(s->ops->job_run_stats(s, JOB_SYNC, t0, 0, &st), 0);
    assert_int_equal(st.interrupted, 1);
    assert_int_equal(st.running, 0);
    store_close(s);
}

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
        cmocka_unit_test(on_time_runs),
        cmocka_unit_test(not_due_yet),
        cmocka_unit_test(late_within_grace_runs),
        cmocka_unit_test(late_beyond_grace_is_missed),
        cmocka_unit_test(no_catch_up_after_pause),
        cmocka_unit_test(expected_runs),
        cmocka_unit_test(job_window_counts),
        cmocka_unit_test(daylog_switches_at_midnight),
        cmocka_unit_test(daylog_unwritable),
        cmocka_unit_test(daylog_reopens_after_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
