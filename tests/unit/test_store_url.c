/* test_store_url.c — what a store URL names (store_url_parse, what
 * store_open and fuzz_store_url read), without opening anything. */
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void sqlite_and_postgres_urls(void **state)
{
    (void)state;
    enum store_url_kind kind;
    const char *target = NULL;
    char err[300];
    assert_int_equal(store_url_parse("sqlite:/var/lib/lockstep.db", &kind, &target, err,
                                     sizeof err), 0);
    assert_int_equal(kind, STORE_URL_SQLITE);
    assert_string_equal(target, "/var/lib/lockstep.db");
    assert_int_equal(store_url_parse("sqlite://rel/x.db", &kind, &target, err, sizeof err), 0);
    assert_string_equal(target, "rel/x.db");
    static const char pg[] = "postgres://lockstep@127.0.0.1/lockstep";
    assert_int_equal(store_url_parse(pg, &kind, &target, err, sizeof err), 0);
    assert_int_equal(kind, STORE_URL_POSTGRES);
    assert_ptr_equal(target, pg);
    assert_int_equal(store_url_parse("postgresql:///db?host=/run", &kind, &target, err,
                                     sizeof err), 0);
    assert_int_equal(kind, STORE_URL_POSTGRES);
}

static void bad_urls_are_refused_with_a_reason(void **state)
{
    (void)state;
    enum store_url_kind kind;
    const char *target = NULL;
    char err[300];
    static const char *const bad[] = {"", "sqlite:", "sqlite://", "mysql://x", "lockstep.db",
                                      "SQLITE:/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(store_url_parse(bad[i], &kind, &target, err, sizeof err),
                         STORE_ERR_URL);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(store_url_parse(NULL, &kind, &target, err, sizeof err), STORE_ERR_URL);
}

/* An error names the URL, never its password. */
static void a_refused_url_hides_its_password(void **state)
{
    (void)state;
    enum store_url_kind kind;
    const char *target = NULL;
    char err[300];
    assert_int_equal(store_url_parse("mysql://app:s3cr3t@db.example:3306/x", &kind, &target, err,
                                     sizeof err),
                     STORE_ERR_URL);
    assert_null(strstr(err, "s3cr3t"));
    assert_non_null(strstr(err, "'mysql://app:***@db.example:3306/x'"));
    /* A password holding '@' and ':' is hidden whole. */
    assert_int_equal(store_url_parse("mariadb://app:p@ss:w@host/x", &kind, &target, err,
                                     sizeof err),
                     STORE_ERR_URL);
    assert_null(strstr(err, "ss:w"));
    assert_non_null(strstr(err, "'mariadb://app:***@host/x'"));
    /* Without a password the URL is shown as given. */
    assert_int_equal(store_url_parse("mysql://app@host/x", &kind, &target, err, sizeof err),
                     STORE_ERR_URL);
    assert_non_null(strstr(err, "'mysql://app@host/x'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlite_and_postgres_urls),
        cmocka_unit_test(bad_urls_are_refused_with_a_reason),
        cmocka_unit_test(a_refused_url_hides_its_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
