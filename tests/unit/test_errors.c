/* test_errors.c — the one error channel: every store code maps to one service
 * code, and every service code to the error_type the API and CLI print. */
#include "service/errors.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void store_codes_map_one_to_one(void **state)
{
    (void)state;
    assert_int_equal(ls_from_store(STORE_OK), LS_OK);
    assert_int_equal(ls_from_store(STORE_ERR_NOT_FOUND), LS_ERR_NOT_FOUND);
    assert_int_equal(ls_from_store(STORE_ERR_CONFLICT), LS_ERR_CONFLICT);
    assert_int_equal(ls_from_store(STORE_ERR_BUSY), LS_ERR_BUSY);
    assert_int_equal(ls_from_store(STORE_ERR_UNAVAILABLE), LS_ERR_UNAVAILABLE);
    assert_int_equal(ls_from_store(STORE_ERR), LS_ERR_DATABASE);
    assert_int_equal(ls_from_store(STORE_ERR_URL), LS_ERR_DATABASE);
}

/* Running out of memory is its own code, not a database error in disguise,
 * yet the API's error_type stays one domain.md names. */
static void out_of_memory_has_its_own_code(void **state)
{
    (void)state;
    assert_int_equal(ls_from_store(STORE_ERR_NOMEM), LS_ERR_NOMEM);
    assert_int_not_equal(LS_ERR_NOMEM, LS_ERR_DATABASE);
    assert_string_equal(ls_error_type(LS_ERR_NOMEM), "database_error");
}

static void error_types_are_the_domains(void **state)
{
    (void)state;
    assert_string_equal(ls_error_type(LS_ERR_VALIDATION), "validation_error");
    assert_string_equal(ls_error_type(LS_ERR_NOT_FOUND), "not_found");
    assert_string_equal(ls_error_type(LS_ERR_CONFLICT), "conflict");
    assert_string_equal(ls_error_type(LS_ERR_DATABASE), "database_error");
    assert_string_equal(ls_error_type(LS_ERR_UNAVAILABLE), "database_error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_codes_map_one_to_one),
        cmocka_unit_test(out_of_memory_has_its_own_code),
        cmocka_unit_test(error_types_are_the_domains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
