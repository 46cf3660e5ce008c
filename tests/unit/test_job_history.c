/* test_job_history.c — the scheduled jobs' arithmetic with a fake clock:
 * due/misfire/skip decisions, expected and pending runs, success rates, and
 * job windows from recorded runs. */
#include "service/job_history.h"
#include "testutil.h"
#include "util/fsutil.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S USEC_PER_SEC

static void on_time_runs(void **state)
{
    (void)state;
    struct schedule_plan p;
    int64_t due = 1000 * S;
    job_history_plan(due, due, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, due + 300 * S);
}

static void not_due_yet(void **state)
{
    (void)state;
    struct schedule_plan p;
    job_history_plan(999 * S, 1000 * S, 300 * S, 60 * S, &p);
    assert_false(p.run);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, 1000 * S);
}

static void late_within_grace_runs(void **state)
{
    (void)state;
    struct schedule_plan p;
    job_history_plan(1059 * S, 1000 * S, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, 1000 * S);
    assert_int_equal(p.n_missed, 0);
    assert_int_equal(p.next_due, 1300 * S);
}

static void late_beyond_grace_is_missed(void **state)
{
    (void)state;
    struct schedule_plan p;
    job_history_plan(1061 * S, 1000 * S, 300 * S, 60 * S, &p);
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
    job_history_plan(now, due, 300 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due + 3600 * S);
    assert_int_equal(p.n_missed, 12);
    assert_int_equal(p.first_missed, due);
    assert_true(p.next_due > now);
    assert_int_equal(p.next_due, due + 3900 * S);
    /* Tiny intervals with a long grace coalesce too: one run, not a burst. */
    job_history_plan(due + 10 * S, due, 1 * S, 60 * S, &p);
    assert_true(p.run);
    assert_int_equal(p.run_due, due + 10 * S);
    assert_int_equal(p.n_missed, 10);
}

static void expected_runs(void **state)
{
    (void)state;
    int64_t day = 86400 * S, start = 10 * day;
    struct schedule_segment one = {start - day, 300 * S};
    /* 72 h at 5 min = 864. */
    assert_int_equal(job_history_expected_runs(start, start + 3 * day, &one, 1), 864);
    /* Clipped to the first scheduler start. */
    one.start = start + day / 2;
    assert_int_equal(job_history_expected_runs(start, start + day, &one, 1), 144);
    /* Rounded down. */
    one.start = start - day;
    assert_int_equal(job_history_expected_runs(start, start + 299 * S, &one, 1), 0);
    assert_int_equal(job_history_expected_runs(start, start + 601 * S, &one, 1), 2);
    /* Never started: nothing expected. */
    assert_int_equal(job_history_expected_runs(start, start + day, NULL, 0), 0);
    /* Each start judged by its own interval: 12 h at 1 s before a restart, then
     * 12 h at 300 s (43200 + 144); each segment rounded down on its own. */
    struct schedule_segment two[] = {{start - day, S}, {start + day / 2, 300 * S}};
    assert_int_equal(job_history_expected_runs(start, start + day, two, 2), 43200 + 144);
    assert_int_equal(job_history_expected_runs(start + day / 2 - 90 * S, start + day / 2 + 299 * S,
                                             two, 2),
                     90);
    /* A start without recorded settings counts nothing. */
    struct schedule_segment legacy[] = {{start - day, 0}, {start + day / 2, 300 * S}};
    assert_int_equal(job_history_expected_runs(start, start + day, legacy, 2), 144);
}

/* Dues after the last recorded one that may still start: within the grace. */
static void pending_runs(void **state)
{
    (void)state;
    /* 5-minute interval, 60 s grace: the due 10 s ago may still start. */
    int64_t last = 1000 * S;
    assert_int_equal(job_history_pending_runs(last, last + 310 * S, 300 * S, 60 * S), 1);
    assert_int_equal(job_history_pending_runs(last, last + 299 * S, 300 * S, 60 * S), 0);
    assert_int_equal(job_history_pending_runs(last, last + 361 * S, 300 * S, 60 * S), 0);
    /* 1-second interval: up to a minute of dues. */
    assert_int_equal(job_history_pending_runs(last, last + 3 * S, 1 * S, 60 * S), 3);
    assert_int_equal(job_history_pending_runs(last, last + 100 * S, 1 * S, 60 * S), 60);
    assert_int_equal(job_history_pending_runs(0, last, 300 * S, 60 * S), 0);
}

/* ok / expected in percent to two decimals; more ok than expected is 100 %,
 * nothing expected is n/a (-1). */
static void success_rate(void **state)
{
    (void)state;
    assert_true(job_history_success_rate(9, 12) > 74.999 &&
                job_history_success_rate(9, 12) < 75.001);
    assert_true(job_history_success_rate(2, 3) > 66.669 &&
                job_history_success_rate(2, 3) < 66.671); /* 66.666… rounds up */
    assert_true(job_history_success_rate(1, 3) > 33.329 &&
                job_history_success_rate(1, 3) < 33.331);
    assert_true(job_history_success_rate(15, 12) > 99.999 &&
                job_history_success_rate(15, 12) < 100.001);
    assert_true(job_history_success_rate(0, 5) == 0.0);
    assert_true(job_history_success_rate(3, 0) < 0);
    assert_true(job_history_success_rate(0, -2) < 0);
}

/* A job stops counting as running after two intervals, or one plus its grace
 * when the grace is longer than an interval. */
static void stale_after(void **state)
{
    (void)state;
    assert_int_equal(job_history_stale_after(300 * S, 60 * S), 600 * S);
    assert_int_equal(job_history_stale_after(60 * S, 600 * S), 660 * S);
    assert_int_equal(job_history_stale_after(0, 0), 0);
}

/* The window's arithmetic without a store: a start recorded without its
 * settings moves the counting past it; dues never recorded are missed. */
static void window_from_schedule_and_runs(void **state)
{
    (void)state;
    int64_t t0 = 1000000 * S;
    struct schedule_segment segs[] = {{t0 - 600 * S, 0}, {t0 + 600 * S, 300 * S}};
    struct job_window w;
    memset(&w, 0, sizeof w);
    job_history_window_schedule(t0, t0 + 3600 * S, segs, 2, &w);
    assert_true(w.recorded);
    assert_int_equal(w.interval_s, 300);
    assert_int_equal(w.counted_since, t0 + 600 * S);
    assert_int_equal(w.expected, 10);
    struct job_stats st = {.ok = 6, .failed = 1, .missed = 1, .running = 1,
                           .last_started_at = t0 + 3500 * S, .last_due_at = t0 + 3300 * S,
                           .last_success_at = t0 + 3000 * S};
    snprintf(st.last_status, sizeof st.last_status, "running");
    job_history_window_runs(&st, &w);
    assert_int_equal(job_history_started(&w), 8);
    assert_int_equal(w.missed, 2); /* one recorded, one never recorded */
    assert_true(w.success_rate > 59.999 && w.success_rate < 60.001);
    assert_int_equal(w.last_run, t0 + 3500 * S);
    assert_int_equal(w.last_due, t0 + 3300 * S);
    assert_int_equal(w.last_success, t0 + 3000 * S);
    assert_string_equal(w.last_status, "running");
    assert_int_equal(job_history_next_due(&w), t0 + 3600 * S);
    /* More recorded missed than unstarted dues: the record wins. */
    st.missed = 5;
    job_history_window_runs(&st, &w);
    assert_int_equal(w.missed, 5);

    /* Only starts without settings: nothing expected, n/a. */
    job_history_window_schedule(t0, t0 + 3600 * S, segs, 1, &w);
    assert_false(w.recorded);
    assert_int_equal(w.expected, 0);
    assert_int_equal(w.counted_since, t0 + 3600 * S);
    job_history_window_runs(&st, &w);
    assert_true(w.success_rate < 0);
    assert_int_equal(job_history_next_due(&w), 0); /* no recorded interval */
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
    tu_sched_start(s, t0, "test", 300, 21600);
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
    assert_int_equal(job_history_window(s, JOB_CHECK, t0, t0 + 3600 * S, &w), 0);
    assert_int_equal(w.expected, 12);
    assert_int_equal(w.ok, 9);
    assert_int_equal(w.failed, 1);
    assert_int_equal(w.missed, 2);
    assert_true(w.success_rate > 74.99 && w.success_rate < 75.01);
    assert_string_equal(w.last_status, "failed");

    /* Nothing expected before the first start: rate n/a. */
    assert_int_equal(job_history_window(s, JOB_CHECK, t0 - 7200 * S, t0, &w), 0);
    assert_int_equal(w.expected, 0);
    assert_false(w.recorded);
    assert_true(w.success_rate < 0);

    /* A serve without the scheduler changes nothing; a restart with another
     * interval is judged by its own: 12 runs at 300 s, then 10 at 60 s. */
    struct scheduler_start off = {.started_at = t0 + 1800 * S, .scheduler = false,
                                  .check_interval = 7, .sync_interval = 7};
    snprintf(off.owner, sizeof off.owner, "api-only");
    assert_int_equal(s->ops->scheduler_start_insert(s, &off), 0);
    tu_sched_start(s, t0 + 3600 * S, "test-2", 60, 600);
    assert_int_equal(job_history_window(s, JOB_CHECK, t0, t0 + 4200 * S, &w), 0);
    assert_true(w.recorded);
    assert_int_equal(w.expected, 22);
    assert_int_equal(w.interval_s, 60);
    assert_int_equal(w.grace_s, 60);
    assert_int_equal(w.settings_at, t0 + 3600 * S);
    /* A window after the restart only: the earlier start's interval is not used. */
    assert_int_equal(job_history_window(s, JOB_CHECK, t0 + 3600 * S, t0 + 4200 * S, &w), 0);
    assert_int_equal(w.expected, 10);
    assert_int_equal(job_history_window(s, JOB_SYNC, t0, t0 + 4200 * S, &w), 0);
    assert_int_equal(w.expected, 0 + 1); /* 3600 s at 21600 s, then 600 s at 600 s */

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(on_time_runs),
        cmocka_unit_test(not_due_yet),
        cmocka_unit_test(late_within_grace_runs),
        cmocka_unit_test(late_beyond_grace_is_missed),
        cmocka_unit_test(no_catch_up_after_pause),
        cmocka_unit_test(expected_runs),
        cmocka_unit_test(pending_runs),
        cmocka_unit_test(success_rate),
        cmocka_unit_test(stale_after),
        cmocka_unit_test(window_from_schedule_and_runs),
        cmocka_unit_test(job_window_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
