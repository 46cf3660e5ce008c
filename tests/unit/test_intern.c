/* test_intern.c — interned strings: one dense index per distinct string,
 * stable across growth, the strings given back whole. */
#include "util/intern.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void same_string_same_index(void **state)
{
    (void)state;
    struct intern t = {0};
    uint32_t a, b, c;
    /* Two ids sharing their first 32 bytes are two strings. */
    const char *x = "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_A_ADVANCED";
    const char *y = "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_B_ADVANCED";
    assert_int_equal(intern_add(&t, x, &a), 0);
    assert_int_equal(intern_add(&t, y, &b), 0);
    assert_int_equal(intern_add(&t, x, &c), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, a);
    assert_string_equal(intern_str(&t, a), x);
    assert_string_equal(intern_str(&t, b), y);
    assert_int_equal(intern_add(&t, "", &c), 0);
    assert_int_equal(c, 2);
    assert_string_equal(intern_str(&t, c), "");
    assert_string_equal(intern_str(&t, 99), "");
    intern_free(&t);
    assert_int_equal(t.n, 0);
}

static void many_strings_keep_their_indexes(void **state)
{
    (void)state;
    struct intern t = {0};
    char s[32];
    for (uint32_t i = 0; i < 20000; i++) {
        snprintf(s, sizeof s, "SPEC_%u", i);
        uint32_t got;
        assert_int_equal(intern_add(&t, s, &got), 0);
        assert_int_equal(got, i);
    }
    for (uint32_t i = 0; i < 20000; i += 997) {
        snprintf(s, sizeof s, "SPEC_%u", i);
        uint32_t got;
        assert_int_equal(intern_add(&t, s, &got), 0);
        assert_int_equal(got, i);
        assert_string_equal(intern_str(&t, i), s);
    }
    assert_int_equal(t.n, 20000);
    intern_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_string_same_index),
        cmocka_unit_test(many_strings_keep_their_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
