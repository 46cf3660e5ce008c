/* test_pair.c — the eight pair states and their order, the repair each direction recommends, and
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
                            .has_license = true, .license_level = 2, .max_level = 8};
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

/* The CASE a SQL backend runs classifies every combination of rows, row
 * counts, levels (NULL, out of range) and maxima as pair_state_of does (run
 * here on SQLite, over a row per case). */
static void sql_rule_matches_c_rule(void **state)
{
    (void)state;
    char text[2048], query[2600];
    const struct pair_sql_columns cols = {
        .progress_row = "p", .license_row = "l", .progress_level = "pl",
        .license_level = "ll", .progress_rows = "pn", .license_rows = "ln", .max_level = "mx"};
    assert_int_equal(pair_sql_issue(text, 40, &cols), -1); /* too small */
    assert_int_equal(pair_sql_issue(text, sizeof text, &cols), 0);
    snprintf(query, sizeof query,
             "SELECT %s FROM (SELECT ?1 AS p, ?2 AS l, ?3 AS pl, ?4 AS ll, ?5 AS pn, "
             "?6 AS ln, ?7 AS mx)",
             text);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
    /* Levels: NULL (-100 here), 0, 1, 2, 3, 9; maxima: NULL (-1 here), 0, 3, 8. */
    static const int levels[] = {-100, 0, 1, 2, 3, 9};
    static const int maxima[] = {-1, 0, 3, 8};
    int checked = 0, by_state[PAIR_STATE_COUNT] = {0};
    for (int hp = 0; hp < 2; hp++)
        for (int hl = 0; hl < 2; hl++)
            for (int pi = 0; pi < 6; pi++)
                for (int li = 0; li < 6; li++)
                    for (int pn = 1; pn <= 2; pn++)
                        for (int ln = 1; ln <= 2; ln++)
                            for (int mi = 0; mi < 4; mi++) {
                                struct pair_levels p = {
                                    .has_progress = hp, .has_license = hl,
                                    .progress_level_null = hp && levels[pi] == -100,
                                    .license_level_null = hl && levels[li] == -100,
                                    .progress_rows = hp ? pn : 0, .license_rows = hl ? ln : 0,
                                    .max_level = maxima[mi] > 0 ? maxima[mi] : 0};
                                p.progress_level = hp && !p.progress_level_null ? levels[pi] : 0;
                                p.license_level = hl && !p.license_level_null ? levels[li] : 0;
                                if (hp)
                                    sqlite3_bind_int(st, 1, 1);
                                else
                                    sqlite3_bind_null(st, 1);
                                if (hl)
                                    sqlite3_bind_int(st, 2, 1);
                                else
                                    sqlite3_bind_null(st, 2);
                                if (hp && !p.progress_level_null)
                                    sqlite3_bind_int(st, 3, levels[pi]);
                                else
                                    sqlite3_bind_null(st, 3);
                                if (hl && !p.license_level_null)
                                    sqlite3_bind_int(st, 4, levels[li]);
                                else
                                    sqlite3_bind_null(st, 4);
                                sqlite3_bind_int(st, 5, pn);
                                sqlite3_bind_int(st, 6, ln);
                                if (maxima[mi] < 0)
                                    sqlite3_bind_null(st, 7);
                                else
                                    sqlite3_bind_int(st, 7, maxima[mi]);
                                assert_int_equal(sqlite3_step(st), SQLITE_ROW);
                                enum pair_state want_state = pair_state_of(&p);
                                const char *want = pair_issue_type(want_state);
                                const char *got = (const char *)sqlite3_column_text(st, 0);
                                if (want)
                                    assert_string_equal(got, want);
                                else
                                    assert_null(got);
                                sqlite3_reset(st);
                                by_state[want_state]++;
                                checked++;
                            }
    assert_int_equal(checked, 2 * 2 * 6 * 6 * 2 * 2 * 4);
    for (int i = 0; i < PAIR_STATE_COUNT; i++)
        assert_true(by_state[i] > 0); /* every state was met */
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The three states no sync repairs, and their order when several apply. */
static void review_states_and_precedence(void **state)
{
    (void)state;
    struct pair_levels p = {.user_id = 9, .spec = "PLAYER", .has_progress = true,
                            .progress_level = 3, .has_license = true, .license_level = 3,
                            .progress_rows = 1, .license_rows = 1, .max_level = 8};
    assert_int_equal(pair_state_of(&p), PAIR_CONSISTENT);
    /* Out of range on either side, even when equal: invalid_level. */
    p.progress_level = p.license_level = 99;
    assert_int_equal(pair_state_of(&p), PAIR_INVALID_LEVEL);
    p.progress_level = p.license_level = 0;
    assert_int_equal(pair_state_of(&p), PAIR_INVALID_LEVEL);
    p.progress_level = 3;
    p.license_level = -3;
    assert_int_equal(pair_state_of(&p), PAIR_INVALID_LEVEL);
    /* A NULL level is invalid; the row still exists (presence is by key). */
    p.license_level = 0;
    p.license_level_null = true;
    assert_int_equal(pair_state_of(&p), PAIR_INVALID_LEVEL);
    p.has_progress = false;
    p.progress_level = 0;
    assert_int_equal(pair_state_of(&p), PAIR_INVALID_LEVEL); /* not missing_progress */
    struct violation v;
    assert_true(pair_violation(&p, "progress_to_license", &v));
    assert_string_equal(v.issue_type, "invalid_level");
    assert_string_equal(v.recommended_action, "manual_review");
    assert_false(v.has_progress);
    assert_false(v.has_license); /* the NULL level shows as null */
    /* The level as read when it is a number. */
    p.has_progress = true;
    p.progress_level = 9;
    p.license_level_null = false;
    p.license_level = 2;
    assert_true(pair_violation(&p, NULL, &v));
    assert_true(v.has_progress && v.has_license);
    assert_int_equal(v.progress_level, 9);
    assert_int_equal(v.license_level, 2);
    /* No known maximum: unknown_specialization, before invalid_level. */
    p.max_level = 0;
    assert_int_equal(pair_state_of(&p), PAIR_UNKNOWN_SPECIALIZATION);
    p.progress_level = p.license_level = 2;
    assert_int_equal(pair_state_of(&p), PAIR_UNKNOWN_SPECIALIZATION); /* never "max 1" */
    assert_true(pair_violation(&p, NULL, &v));
    assert_string_equal(v.recommended_action, "manual_review");
    assert_int_equal(v.progress_level, 2);
    /* Duplicates come first of all; the duplicated side's level is null. */
    p.license_rows = 2;
    p.progress_level = 99;
    assert_int_equal(pair_state_of(&p), PAIR_DUPLICATE_ROWS);
    assert_true(pair_violation(&p, NULL, &v));
    assert_string_equal(v.issue_type, "duplicate_rows");
    assert_true(v.has_progress);
    assert_false(v.has_license);
    /* A row count of a missing side means nothing. */
    p.has_license = false;
    p.max_level = 8;
    p.progress_level = 4;
    assert_int_equal(pair_state_of(&p), PAIR_MISSING_LICENSE);
    /* Review states are violations and only they need review. */
    for (int st = 0; st < PAIR_STATE_COUNT; st++)
        assert_int_equal(pair_needs_review((enum pair_state)st),
                         st == PAIR_INVALID_LEVEL || st == PAIR_UNKNOWN_SPECIALIZATION ||
                             st == PAIR_DUPLICATE_ROWS);
    assert_true(pair_is_violation(PAIR_DUPLICATE_ROWS));
    assert_string_equal(pair_recommended_action(PAIR_INVALID_LEVEL, "higher_wins", 9, 2),
                        "manual_review");
    /* The list of issue types, in the order of the rule. */
    static const char *const all[] = {"level_mismatch", "missing_license", "missing_progress",
                                      "invalid_level", "unknown_specialization",
                                      "duplicate_rows"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(pair_issue_type_at(i), all[i]);
    assert_null(pair_issue_type_at(6));
    assert_true(pair_level_in_range(1, 3) && pair_level_in_range(3, 3));
    assert_false(pair_level_in_range(4, 3) || pair_level_in_range(0, 3) ||
                 pair_level_in_range(1, 0));
}

/* What the check compares with a pair's open violation before writing it. */
static void open_violation_unchanged(void **state)
{
    (void)state;
    struct pair_levels p = {.user_id = 7, .spec = "PLAYER", .has_progress = true,
                            .has_license = true, .progress_level = 3, .license_level = 2,
                            .max_level = 8};
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
        cmocka_unit_test(review_states_and_precedence),
        cmocka_unit_test(open_violation_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
