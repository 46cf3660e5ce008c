/* test_scheduler.c — the scheduler inside a process, as serve runs it: the
 * job-done hooks are called after every run with its job and status, a hook
 * removed is never called again, and a stop between runs returns at once. */
#include "config/config.h"
#include "service/app.h"
#include "service/job_history.h"
#include "service/metrics.h"
#include "service/monitor.h"
#include "service/scheduler.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct seen {
    pthread_mutex_t mu;
    int calls;
    char job[64], status[32];
};

static void on_job_done(void *ctx, const char *job, const char *status)
{
    struct seen *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    snprintf(s->job, sizeof s->job, "%s", job);
    snprintf(s->status, sizeof s->status, "%s", status);
    pthread_mutex_unlock(&s->mu);
}

static int calls(struct seen *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->calls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void job_done_hooks(void **state)
{
    (void)state;
    char dir[512];
    struct store *seed = tu_store("sched-hooks", dir);
    store_close(seed);
    struct app app;
    memset(&app, 0, sizeof app);
    config_defaults(&app.cfg);
    snprintf(app.cfg.data_dir, sizeof app.cfg.data_dir, "%s", dir);
    snprintf(app.cfg.db, sizeof app.cfg.db, "%s", tu_url(dir));
    app.cfg.check_interval = 1;
    app.cfg.sync_interval = 3600;
    char err[600];
    assert_int_equal(config_finalize(&app.cfg, err, sizeof err), 0);
    snprintf(app.instance_id, sizeof app.instance_id, "test:%ld", (long)getpid());
    app.started_at = time_now_us();
    struct store_options so;
    store_options_default(&so);
    assert_int_equal(store_pool_open(app.cfg.db, &so, 2, &app.pool, err, sizeof err), 0);
    app.metrics = metrics_new(NULL, 0);
    assert_non_null(app.metrics);
    app.monitor = monitor_new(&app.cfg, app.metrics);
    assert_non_null(app.monitor);

    assert_int_equal(scheduler_start(&app, &app.scheduler, err, sizeof err), 0);
    struct seen seen = {.mu = PTHREAD_MUTEX_INITIALIZER};
    assert_int_equal(scheduler_add_job_done_hook(app.scheduler, on_job_done, &seen), 0);
    for (int i = 0; i < 1000 && calls(&seen) < 2; i++)
        sleep_ms(10);
    assert_true(calls(&seen) >= 2); /* one a second */
    pthread_mutex_lock(&seen.mu);
    assert_string_equal(seen.job, JOB_CHECK);
    assert_string_equal(seen.status, "success");
    pthread_mutex_unlock(&seen.mu);

    /* The list is bounded: a clear refusal past its size. */
    struct seen other = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 1; i < SCHEDULER_HOOKS_MAX; i++)
        assert_int_equal(scheduler_add_job_done_hook(app.scheduler, on_job_done, &other), 0);
    assert_int_equal(scheduler_add_job_done_hook(app.scheduler, on_job_done, &other), -1);
    for (int i = 1; i < SCHEDULER_HOOKS_MAX; i++)
        scheduler_remove_job_done_hook(app.scheduler, on_job_done, &other);

    /* Removed: never called again, though the check goes on every second. */
    scheduler_remove_job_done_hook(app.scheduler, on_job_done, &seen);
    int n = calls(&seen);
    sleep_ms(2500);
    assert_int_equal(calls(&seen), n);

    int64_t t = time_mono_us();
    scheduler_stop(app.scheduler, 10000);
    assert_true(time_mono_us() - t < 5 * USEC_PER_SEC);
    monitor_free(app.monitor);
    metrics_free(app.metrics);
    store_pool_close(app.pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_done_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
