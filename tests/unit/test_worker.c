/* test_worker.c — the background thread helper: a pass at start, a wake runs
 * the next at once (never lost), a stop during a wait returns promptly, a
 * stop waits for the pass in progress or gives up after its timeout. */
#include "util/timeutil.h"
#include "util/worker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

struct counter {
    atomic_int passes;
    atomic_int finished;   /* passes that ran to their end */
    int64_t delay;         /* what each pass returns */
    long pass_ms;          /* how long each pass works */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t count_pass(void *arg)
{
    struct counter *c = arg;
    atomic_fetch_add(&c->passes, 1);
    if (c->pass_ms)
        sleep_ms(c->pass_ms);
    atomic_fetch_add(&c->finished, 1);
    return c->delay;
}

/* Wait up to 5 s for `n` passes. */
static int wait_passes(struct counter *c, int n)
{
    for (int i = 0; i < 500 && atomic_load(&c->passes) < n; i++)
        sleep_ms(10);
    return atomic_load(&c->passes);
}

static void first_pass_at_once_then_wake(void **state)
{
    (void)state;
    struct counter c = {.delay = WORKER_IDLE};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_int_equal(wait_passes(&c, 1), 1);
    sleep_ms(100);
    assert_int_equal(atomic_load(&c.passes), 1); /* idle: no pass without a wake */
    worker_wake(w);
    assert_int_equal(wait_passes(&c, 2), 2);
    assert_true(worker_stop(w, -1));
    worker_wake(NULL);
    assert_true(worker_stop(NULL, 0));
}

static void delay_repeats_passes(void **state)
{
    (void)state;
    struct counter c = {.delay = 20 * 1000};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_true(wait_passes(&c, 5) >= 5);
    assert_true(worker_stop(w, -1));
}

/* A stop while the worker sleeps for an hour returns at once. */
static void stop_during_wait_is_prompt(void **state)
{
    (void)state;
    struct counter c = {.delay = 3600 * USEC_PER_SEC};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_int_equal(wait_passes(&c, 1), 1);
    int64_t t = time_mono_us();
    assert_true(worker_stop(w, 0));
    assert_true(time_mono_us() - t < USEC_PER_SEC);
    assert_int_equal(atomic_load(&c.passes), 1);
}

/* A wake that comes during a pass runs another pass after it. */
static void wake_during_pass_is_kept(void **state)
{
    (void)state;
    struct counter c = {.delay = WORKER_IDLE, .pass_ms = 200};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_int_equal(wait_passes(&c, 1), 1);
    worker_wake(w); /* the first pass still works */
    assert_int_equal(wait_passes(&c, 2), 2);
    assert_true(worker_stop(w, -1));
}

/* The pass in progress finishes before stop returns; no pass starts after. */
static void stop_waits_for_the_pass(void **state)
{
    (void)state;
    struct counter c = {.delay = 0, .pass_ms = 100};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_int_equal(wait_passes(&c, 1) >= 1, 1);
    assert_true(worker_stop(w, 5000));
    int n = atomic_load(&c.passes);
    assert_int_equal(atomic_load(&c.finished), n);
    sleep_ms(150);
    assert_int_equal(atomic_load(&c.passes), n);
}

/* A pass that outlives the timeout: stop gives up, the pass runs to its end
 * and the thread frees the worker itself (the sanitizer build sees a leak or
 * a use after free otherwise). */
static void stop_gives_up_after_timeout(void **state)
{
    (void)state;
    struct counter c = {.delay = 0, .pass_ms = 400};
    struct worker *w = NULL;
    assert_int_equal(worker_start(count_pass, &c, &w), 0);
    assert_int_equal(wait_passes(&c, 1), 1);
    int64_t t = time_mono_us();
    assert_false(worker_stop(w, 50));
    assert_true(time_mono_us() - t < 350 * 1000);
    assert_int_equal(atomic_load(&c.finished), 0);
    for (int i = 0; i < 200 && atomic_load(&c.finished) < 1; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&c.finished), 1);
    sleep_ms(100); /* the thread frees the worker and ends */
    assert_int_equal(atomic_load(&c.passes), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_pass_at_once_then_wake),
        cmocka_unit_test(delay_repeats_passes),
        cmocka_unit_test(stop_during_wait_is_prompt),
        cmocka_unit_test(wake_during_pass_is_kept),
        cmocka_unit_test(stop_waits_for_the_pass),
        cmocka_unit_test(stop_gives_up_after_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
