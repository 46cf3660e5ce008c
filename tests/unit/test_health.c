/* test_health.c — rate rounding, the status thresholds and check's exit codes. */
#include "model/health.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void rate_rounding(void **state)
{
    (void)state;
    assert_float_equal(health_rate(2, 4), 50.0, 1e-9);
    assert_float_equal(health_rate(0, 0), 100.0, 1e-9); /* no pairs: nothing inconsistent */
    assert_float_equal(health_rate(148, 150), 98.67, 1e-9);
    assert_float_equal(health_rate(2, 3), 66.67, 1e-9);
    assert_float_equal(health_rate(1, 3), 33.33, 1e-9);
    assert_float_equal(health_rate(1, 8), 12.5, 1e-9);
    assert_float_equal(health_rate(999999, 1000000), 100.0, 1e-9); /* 99.9999 rounds up */
    assert_float_equal(health_rate(9899, 10000), 98.99, 1e-9);
    assert_float_equal(health_rate(0, 7), 0.0, 1e-9);
}

static void threshold_boundaries(void **state)
{
    (void)state;
    assert_string_equal(health_status(100.0, 99.0, 95.0), "healthy");
    assert_string_equal(health_status(99.0, 99.0, 95.0), "healthy");
    assert_string_equal(health_status(98.99, 99.0, 95.0), "degraded");
    assert_string_equal(health_status(95.0, 99.0, 95.0), "degraded");
    assert_string_equal(health_status(94.99, 99.0, 95.0), "critical");
    assert_string_equal(health_status(0.0, 99.0, 95.0), "critical");
    /* Configurable thresholds. */
    assert_string_equal(health_status(97.0, 97.0, 90.0), "healthy");
    assert_string_equal(health_status(89.99, 97.0, 90.0), "critical");
    /* A rate computed from counts right at the boundary: 99 of 100. */
    assert_string_equal(health_status(health_rate(99, 100), 99.0, 95.0), "healthy");
    assert_string_equal(health_status(health_rate(95, 100), 99.0, 95.0), "degraded");
}

static void attention_and_exit_codes(void **state)
{
    (void)state;
    assert_false(health_requires_attention("healthy"));
    assert_true(health_requires_attention("degraded"));
    assert_true(health_requires_attention("critical"));
    assert_false(health_requires_attention("unknown"));
    assert_int_equal(health_exit_code("healthy"), 0);
    assert_int_equal(health_exit_code("degraded"), 3);
    assert_int_equal(health_exit_code("critical"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_rounding),
        cmocka_unit_test(threshold_boundaries),
        cmocka_unit_test(attention_and_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
