/* test_netaddr.c — addresses and CIDR lists (trusted_proxies), and the login
 * throttle's table: limits, parallel attempts, a full table refuses. */
#include "http/login_throttle.h"
#include "util/netaddr.h"
#include "util/timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct netaddr addr(const char *text)
{
    struct netaddr a;
    assert_int_equal(netaddr_parse(text, strlen(text), &a), 0);
    return a;
}

static void addresses_parse_and_format(void **state)
{
    (void)state;
    char out[NETADDR_TEXT_MAX];
    struct netaddr a = addr("192.0.2.7");
    netaddr_format(&a, out);
    assert_string_equal(out, "192.0.2.7");
    a = addr("::ffff:192.0.2.7"); /* the IPv4-mapped form is the same address */
    netaddr_format(&a, out);
    assert_string_equal(out, "192.0.2.7");
    a = addr("2001:db8::1");
    netaddr_format(&a, out);
    assert_string_equal(out, "2001:db8::1");
    struct netaddr b;
    const char *bad[] = {"", "proxy.local", "192.0.2.300", "192.0.2.7:80", " 192.0.2.7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(netaddr_parse(bad[i], strlen(bad[i]), &b), -1);
}

static void cidr_lists_match(void **state)
{
    (void)state;
    const char *list = "10.0.0.0/8, 192.0.2.7 2001:db8::/32,::1";
    char err[128];
    assert_int_equal(netaddr_list_check(list, err, sizeof err), 0);
    assert_int_equal(netaddr_list_check("", err, sizeof err), 0);
    struct netaddr a;
    a = addr("10.200.3.4");
    assert_true(netaddr_list_contains(list, &a));
    a = addr("11.0.0.1");
    assert_false(netaddr_list_contains(list, &a));
    a = addr("192.0.2.7");
    assert_true(netaddr_list_contains(list, &a));
    a = addr("192.0.2.8");
    assert_false(netaddr_list_contains(list, &a));
    a = addr("2001:db8:ffff::9");
    assert_true(netaddr_list_contains(list, &a));
    a = addr("::1");
    assert_true(netaddr_list_contains(list, &a));
    assert_false(netaddr_list_contains("", &a));
    const char *bad[] = {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(netaddr_list_check(bad[i], err, sizeof err), -1);
    assert_int_equal(netaddr_list_check("10.0.0.0/8, nope", err, sizeof err), -1);
    assert_string_equal(err, "'nope' is not an IP address or CIDR block");
}

static void throttle_limits_pending_and_full(void **state)
{
    (void)state;
    login_throttle_shutdown();
    assert_int_equal(login_throttle_init(16, 100), 0);
    struct login_throttle_limits lim = {.account_max = 3, .address_max = 100, .window_s = 60};
    struct login_throttle_ticket t[4];
    int64_t now = 1000 * USEC_PER_SEC;
    /* Three attempts in flight for one account: a fourth waits even before any fails. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(login_throttle_begin("a@x.io", "192.0.2.1", now, &lim, &t[i]), 0);
    assert_true(login_throttle_begin("a@x.io", "192.0.2.2", now, &lim, &t[3]) > 0);
    for (int i = 0; i < 3; i++)
        login_throttle_end(&t[i], LOGIN_FAILED, now);
    long wait = login_throttle_begin("a@x.io", "192.0.2.3", now + USEC_PER_SEC, &lim, &t[3]);
    assert_int_equal(wait, 59);
    /* Another account from the same address goes on. */
    assert_int_equal(login_throttle_begin("b@x.io", "192.0.2.1", now, &lim, &t[0]), 0);
    login_throttle_end(&t[0], LOGIN_SUCCEEDED, now);
    /* Fill the table: 2 records used, 14 more keys, then no room. */
    for (int i = 0; i < 14; i++) {
        char email[32];
        snprintf(email, sizeof email, "f%d@x.io", i);
        assert_int_equal(login_throttle_begin(email, "192.0.2.1", now, &lim, &t[0]), 0);
        login_throttle_end(&t[0], LOGIN_FAILED, now);
    }
    assert_false(login_throttle_was_full());
    assert_true(login_throttle_begin("new@x.io", "192.0.2.1", now, &lim, &t[0]) > 0);
    assert_true(login_throttle_was_full());
    /* The first account is still limited; after the window everything is free. */
    assert_true(login_throttle_begin("a@x.io", "192.0.2.1", now, &lim, &t[0]) > 0);
    int64_t later = now + 61 * USEC_PER_SEC;
    assert_int_equal(login_throttle_begin("a@x.io", "192.0.2.9", later, &lim, &t[0]), 0);
    login_throttle_end(&t[0], LOGIN_SUCCEEDED, later);
    assert_int_equal(login_throttle_begin("new@x.io", "192.0.2.1", later, &lim, &t[0]), 0);
    login_throttle_end(&t[0], LOGIN_ABANDONED, later);
    login_throttle_shutdown();
}

/* An account and an address whose hashes start at the same slot get two
 * records: the address must not take the slot just claimed for the account.
 * With two slots and a fresh random key per round, 64 rounds hit the shared
 * start all but certainly (a miss has probability 2^-64). */
static void throttle_keys_never_share_a_record(void **state)
{
    (void)state;
    struct login_throttle_limits lim = {.account_max = 3, .address_max = 100, .window_s = 60};
    int64_t now = 1000 * USEC_PER_SEC;
    for (int round = 0; round < 64; round++) {
        login_throttle_shutdown();
        assert_int_equal(login_throttle_init(2, 10), 0);
        struct login_throttle_ticket t[3];
        assert_int_equal(login_throttle_begin("a@x.io", "192.0.2.1", now, &lim, &t[0]), 0);
        assert_int_not_equal(t[0].account_slot, t[0].address_slot);
        /* Two attempts in flight are under the account's limit of 3. */
        assert_int_equal(login_throttle_begin("a@x.io", "192.0.2.1", now, &lim, &t[1]), 0);
        assert_int_equal(login_throttle_begin("a@x.io", "192.0.2.1", now, &lim, &t[2]), 0);
        for (int i = 0; i < 3; i++)
            login_throttle_end(&t[i], LOGIN_ABANDONED, now);
    }
    login_throttle_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses_parse_and_format),
        cmocka_unit_test(cidr_lists_match),
        cmocka_unit_test(throttle_limits_pending_and_full),
        cmocka_unit_test(throttle_keys_never_share_a_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
