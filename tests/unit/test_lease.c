/* test_lease.c — the leadership lease of the scheduled jobs on the store under
 * test (SQLite, or PostgreSQL under LOCKSTEP_TEST_PG): free at first, held by
 * one owner at a time, renewed only by its holder, taken when it has expired
 * or from a holder known to be gone, let go by its holder only; the alert
 * evaluation lock is taken inside a write transaction. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool holds(struct store *s, const char *owner)
{
    struct scheduler_lease l;
    assert_int_equal(s->ops->lease_get(s, &l), 0);
    return !l.expired && !strcmp(l.owner, owner);
}

static void one_holder_at_a_time(void **state)
{
    (void)state;
    char dir[512];
    struct store *a = tu_store("lease-turns", dir), *b = tu_store_again(dir);
    struct scheduler_lease l;
    assert_int_equal(b->ops->lease_get(b, &l), 0);
    assert_string_equal(l.owner, "");
    assert_true(l.expired);

    bool held = false;
    assert_int_equal(a->ops->lease_take(a, "h:1:aa", NULL, 60000, &held), 0);
    assert_true(held);
    assert_int_equal(b->ops->lease_get(b, &l), 0);
    assert_string_equal(l.owner, "h:1:aa");
    assert_false(l.expired);
    assert_true(l.expires_at >= l.renewed_at + 59 * 1000000LL);

    /* Held and not expired: no one else takes or renews it. */
    assert_int_equal(b->ops->lease_take(b, "h:2:bb", NULL, 60000, &held), 0);
    assert_false(held);
    assert_int_equal(b->ops->lease_renew(b, "h:2:bb", 60000, &held), 0);
    assert_false(held);
    assert_int_equal(a->ops->lease_renew(a, "h:1:aa", 60000, &held), 0);
    assert_true(held);
    /* Taking it "from" someone who is not the holder changes nothing. */
    assert_int_equal(b->ops->lease_take(b, "h:2:bb", "h:9:zz", 60000, &held), 0);
    assert_false(held);
    assert_true(holds(b, "h:1:aa"));

    /* From a holder known to be gone: at once. */
    assert_int_equal(b->ops->lease_take(b, "h:2:bb", "h:1:aa", 60000, &held), 0);
    assert_true(held);
    assert_int_equal(a->ops->lease_renew(a, "h:1:aa", 60000, &held), 0);
    assert_false(held);
    /* Only the holder lets it go. */
    assert_int_equal(a->ops->lease_release(a, "h:1:aa"), 0);
    assert_true(holds(a, "h:2:bb"));
    assert_int_equal(b->ops->lease_release(b, "h:2:bb"), 0);
    assert_int_equal(a->ops->lease_get(a, &l), 0);
    assert_true(l.expired);
    assert_int_equal(a->ops->lease_take(a, "h:1:aa", NULL, 60000, &held), 0);
    assert_true(held);
    store_close(b);
    store_close(a);
}

static void an_unrenewed_lease_expires(void **state)
{
    (void)state;
    char dir[512];
    struct store *a = tu_store("lease-expiry", dir), *b = tu_store_again(dir);
    bool held = false;
    assert_int_equal(a->ops->lease_take(a, "h:1:aa", NULL, 300, &held), 0);
    assert_true(held);
    assert_true(holds(b, "h:1:aa"));
    pause_ms(600);
    struct scheduler_lease l;
    assert_int_equal(b->ops->lease_get(b, &l), 0);
    assert_true(l.expired);
    /* An expired lease is not renewed, even by its holder: it is taken. */
    assert_int_equal(a->ops->lease_renew(a, "h:1:aa", 60000, &held), 0);
    assert_false(held);
    assert_int_equal(b->ops->lease_take(b, "h:2:bb", NULL, 60000, &held), 0);
    assert_true(held);
    assert_true(holds(a, "h:2:bb"));
    store_close(b);
    store_close(a);
}

static void alert_eval_lock_inside_a_write_transaction(void **state)
{
    (void)state;
    struct store *s = tu_store("lease-alert-lock", NULL);
    assert_int_not_equal(s->ops->alert_eval_lock(s), 0);
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    assert_int_equal(s->ops->alert_eval_lock(s), 0);
    assert_int_equal(s->ops->commit(s), 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_holder_at_a_time),
        cmocka_unit_test(an_unrenewed_lease_expires),
        cmocka_unit_test(alert_eval_lock_inside_a_write_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
