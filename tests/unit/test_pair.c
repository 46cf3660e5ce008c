/* test_pair.c — the five pair states, the repair each direction recommends, and
 * the SQL form of the rule agreeing with the C one. */
#include "model/pair.h"

#include <sqlite3.h>

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

/* The CASE a SQL backend runs classifies every combination of rows and
 * levels as pair_classify does (run here on SQLite, over a row per case). */
static void sql_rule_matches_c_rule(void **state)
{
    (void)state;
    char text[1024], query[1400];
    assert_int_equal(pair_sql_issue(text, sizeof text, "p", "l", "pl", "ll"), 0);
    assert_int_equal(pair_sql_issue(text, 40, "p", "l", "pl", "ll"), -1); /* too small */
    assert_int_equal(pair_sql_issue(text, sizeof text, "p", "l", "pl", "ll"), 0);
    snprintf(query, sizeof query, "SELECT %s FROM (SELECT ?1 AS p, ?2 AS l, ?3 AS pl, ?4 AS ll)",
             text);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
    int checked = 0;
    for (int hp = 0; hp < 2; hp++)
        for (int hl = 0; hl < 2; hl++)
            for (int pl = 1; pl <= 2; pl++)
                for (int ll = 1; ll <= 2; ll++) {
                    if (hp)
                        sqlite3_bind_int(st, 1, 1);
                    else
                        sqlite3_bind_null(st, 1);
                    if (hl)
                        sqlite3_bind_int(st, 2, 1);
                    else
                        sqlite3_bind_null(st, 2);
                    sqlite3_bind_int(st, 3, pl);
                    sqlite3_bind_int(st, 4, ll);
                    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
                    const char *want =
                        pair_issue_type(pair_classify(hp, hp ? pl : 0, hl, hl ? ll : 0));
                    const char *got = (const char *)sqlite3_column_text(st, 0);
                    if (want)
                        assert_string_equal(got, want);
                    else
                        assert_null(got);
                    sqlite3_reset(st);
                    checked++;
                }
    assert_int_equal(checked, 16);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* What the check compares with a pair's open violation before writing it. */
static void open_violation_unchanged(void **state)
{
    (void)state;
    struct pair_levels p = {.user_id = 7, .spec = "PLAYER", .has_progress = true,
                            .has_license = true, .progress_level = 3, .license_level = 2};
    struct violation v;
    assert_true(pair_violation(&p, "progress_to_license", &v));
    struct open_violation o = {.issue_type = "level_mismatch", .has_progress = true,
                               .has_license = true, .progress_level = 3, .license_level = 2,
                               .recommended_action = "sync_progress_to_license"};
    assert_true(pair_open_unchanged(&o, &v));
    o.license_level = 1;
    assert_false(pair_open_unchanged(&o, &v));
    o.license_level = 2;
    snprintf(o.recommended_action, sizeof o.recommended_action, "sync_license_to_progress");
    assert_false(pair_open_unchanged(&o, &v));
    snprintf(o.recommended_action, sizeof o.recommended_action, "sync_progress_to_license");
    snprintf(o.issue_type, sizeof o.issue_type, "missing_license");
    assert_false(pair_open_unchanged(&o, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(five_states),
        cmocka_unit_test(recommended_actions),
        cmocka_unit_test(violation_from_pair),
        cmocka_unit_test(sql_rule_matches_c_rule),
        cmocka_unit_test(open_violation_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
