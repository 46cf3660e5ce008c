/* test_pair.c — the five pair states and the repair each direction recommends. */
#include "service/pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void five_states(void **state)
{
    (void)state;
    assert_int_equal(pair_classify(true, 3, true, 3), PAIR_CONSISTENT);
    assert_int_equal(pair_classify(false, 0, false, 0), PAIR_EMPTY);
    assert_int_equal(pair_classify(true, 3, true, 2), PAIR_LEVEL_MISMATCH);
    assert_int_equal(pair_classify(true, 3, false, 0), PAIR_MISSING_LICENSE);
    assert_int_equal(pair_classify(false, 0, true, 2), PAIR_MISSING_PROGRESS);
    assert_false(pair_is_violation(PAIR_CONSISTENT));
    assert_false(pair_is_violation(PAIR_EMPTY));
    assert_true(pair_is_violation(PAIR_LEVEL_MISMATCH));
    assert_true(pair_is_violation(PAIR_MISSING_LICENSE));
    assert_true(pair_is_violation(PAIR_MISSING_PROGRESS));
    assert_null(pair_issue_type(PAIR_CONSISTENT));
    assert_null(pair_issue_type(PAIR_EMPTY));
    assert_string_equal(pair_issue_type(PAIR_LEVEL_MISMATCH), "level_mismatch");
    assert_string_equal(pair_issue_type(PAIR_MISSING_LICENSE), "missing_license");
    assert_string_equal(pair_issue_type(PAIR_MISSING_PROGRESS), "missing_progress");
}

static void recommended_actions(void **state)
{
    (void)state;
    /* A missing side is created from the other whatever the direction. */
    static const char *dirs[] = {"progress_to_license", "license_to_progress", "higher_wins"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(pair_recommended_action(PAIR_MISSING_LICENSE, dirs[i], 3, 0),
                            "create_license_from_progress");
        assert_string_equal(pair_recommended_action(PAIR_MISSING_PROGRESS, dirs[i], 0, 7),
                            "create_progress_from_license");
    }
    /* The default direction is progress_to_license. */
    assert_string_equal(pair_recommended_action(PAIR_LEVEL_MISMATCH, NULL, 3, 5),
                        "sync_progress_to_license");
    assert_string_equal(pair_recommended_action(PAIR_MISSING_LICENSE, "license_to_progress", 3, 0),
                        "create_license_from_progress");
    assert_string_equal(pair_recommended_action(PAIR_MISSING_PROGRESS, "progress_to_license", 0, 2),
                        "create_progress_from_license");
    assert_string_equal(pair_recommended_action(PAIR_LEVEL_MISMATCH, "progress_to_license", 3, 5),
                        "sync_progress_to_license");
    assert_string_equal(pair_recommended_action(PAIR_LEVEL_MISMATCH, "license_to_progress", 3, 5),
                        "sync_license_to_progress");
    /* higher_wins: the higher side is copied to the other. */
    assert_string_equal(pair_recommended_action(PAIR_LEVEL_MISMATCH, "higher_wins", 5, 3),
                        "sync_progress_to_license");
    assert_string_equal(pair_recommended_action(PAIR_LEVEL_MISMATCH, "higher_wins", 3, 5),
                        "sync_license_to_progress");
    assert_null(pair_recommended_action(PAIR_CONSISTENT, "higher_wins", 3, 3));
}

static void violation_from_pair(void **state)
{
    (void)state;
    struct pair_levels p = {.user_id = 42, .has_progress = true, .progress_level = 3,
                            .has_license = true, .license_level = 2};
    snprintf(p.spec, sizeof p.spec, "PLAYER");
    struct violation v;
    assert_true(pair_violation(&p, "progress_to_license", &v));
    assert_int_equal(v.user_id, 42);
    assert_string_equal(v.spec, "PLAYER");
    assert_string_equal(v.issue_type, "level_mismatch");
    assert_true(v.has_progress && v.has_license);
    assert_int_equal(v.progress_level, 3);
    assert_int_equal(v.license_level, 2);
    assert_string_equal(v.recommended_action, "sync_progress_to_license");
    assert_true(pair_violation(&p, "license_to_progress", &v));
    assert_string_equal(v.recommended_action, "sync_license_to_progress");
    assert_true(pair_violation(&p, "higher_wins", &v));
    assert_string_equal(v.recommended_action, "sync_progress_to_license");
    p.license_level = 3;
    assert_false(pair_violation(&p, "progress_to_license", &v));
    /* A license only: missing_progress, no progress level. */
    p.has_progress = false;
    p.progress_level = 0;
    assert_true(pair_violation(&p, "license_to_progress", &v));
    assert_string_equal(v.issue_type, "missing_progress");
    assert_false(v.has_progress);
    assert_string_equal(v.recommended_action, "create_progress_from_license");
    p.has_license = false;
    assert_false(pair_violation(&p, "license_to_progress", &v)); /* empty: consistent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_states),
        cmocka_unit_test(recommended_actions),
        cmocka_unit_test(violation_from_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
