/* test_enforcer.c — update_level_atomic and level_up: validations, the
 * rollback guarantee, progression rows, max_achieved_level, COACH hours,
 * thresholds, and many writers on the same pairs at once. */
#include "service/enforcer.h"
#include "service/errors.h"
#include "testutil.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct store *s;
static char dir[512];

static int setup(void **state)
{
    (void)state;
    s = tu_store("enforcer", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    return 0;
}

static int change(int64_t user, const char *spec, int level, int64_t xp, struct level_result *r)
{
    struct level_change c = {.user_id = user, .spec = spec, .new_level = level, .xp_change = xp};
    return enforcer_update_level_atomic(s, &c, r);
}

static int64_t progressions(int64_t user, const char *spec)
{
    struct license l;
    if (s->ops->license_get(s, user, spec, false, &l) != 0)
        return -1;
    int64_t n = -1;
    assert_int_equal(s->ops->progression_count(s, l.id, &n), 0);
    return n;
}

static void creates_missing_rows_and_moves_both(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "create", NULL);
    struct level_result r;
    assert_int_equal(change(u, "player", 3, 250, &r), 0); /* lower case is accepted */
    assert_true(r.success);
    assert_int_equal(r.old_progress_level, 1);
    assert_int_equal(r.new_progress_level, 3);
    assert_int_equal(r.old_license_level, 1);
    assert_int_equal(r.new_license_level, 3);
    assert_int_equal(r.max_achieved_level, 3);
    assert_int_equal(r.total_xp, 250);
    assert_true(r.progression_created);
    struct progress p;
    struct license l;
    assert_int_equal(s->ops->progress_get(s, u, "PLAYER", false, &p), 0);
    assert_int_equal(s->ops->license_get(s, u, "PLAYER", false, &l), 0);
    assert_int_equal(p.current_level, 3);
    assert_int_equal(l.current_level, 3);
    assert_true(p.last_activity > 0);
    assert_true(l.last_advanced_at > 0);
    assert_int_equal(progressions(u, "PLAYER"), 1);
}

static void progression_only_when_license_level_changes(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "progression", NULL);
    struct level_result r;
    assert_int_equal(change(u, "PLAYER", 2, 0, &r), 0);
    assert_int_equal(progressions(u, "PLAYER"), 1);
    assert_int_equal(change(u, "PLAYER", 2, 100, &r), 0); /* same level: xp only */
    assert_false(r.progression_created);
    assert_int_equal(progressions(u, "PLAYER"), 1);
    assert_int_equal(change(u, "PLAYER", 4, 0, &r), 0);
    assert_true(r.progression_created);
    assert_int_equal(progressions(u, "PLAYER"), 2);
}

static void max_achieved_never_lowered(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "maxlevel", NULL);
    struct level_result r;
    assert_int_equal(change(u, "COACH", 6, 0, &r), 0);
    assert_int_equal(r.max_achieved_level, 6);
    assert_int_equal(change(u, "COACH", 2, 0, &r), 0);
    assert_int_equal(r.new_license_level, 2);
    assert_int_equal(r.max_achieved_level, 6);
    struct license l;
    assert_int_equal(s->ops->license_get(s, u, "COACH", false, &l), 0);
    assert_int_equal(l.current_level, 2);
    assert_int_equal(l.max_achieved_level, 6);
}

static void hours_apply_to_coach_only(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "hours", NULL);
    struct level_result r;
    struct level_change c = {.user_id = u, .spec = "COACH", .new_level = 2,
                             .theory_hours_change = 5, .practice_hours_change = 7,
                             .sessions_change = 2, .projects_change = 1};
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), 0);
    c.spec = "PLAYER";
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), 0);
    struct progress p;
    assert_int_equal(s->ops->progress_get(s, u, "COACH", false, &p), 0);
    assert_int_equal(p.theory_hours_completed, 5);
    assert_int_equal(p.practice_hours_completed, 7);
    assert_int_equal(p.completed_sessions, 2);
    assert_int_equal(s->ops->progress_get(s, u, "PLAYER", false, &p), 0);
    assert_int_equal(p.theory_hours_completed, 0);
    assert_int_equal(p.practice_hours_completed, 0);
    assert_int_equal(p.completed_sessions, 2);
    assert_int_equal(p.completed_projects, 1);
}

/* Every failure leaves nothing behind: not even the rows it would have created. */
static void failures_change_nothing(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "failures", NULL);
    struct level_result r;
    struct progress p;
    struct license l;

    assert_int_equal(change(u, "NOSUCH", 2, 0, &r), -11);
    assert_false(r.success);
    assert_string_equal(r.error_type, "not_found");
    assert_string_equal(r.message, "Unknown specialization NOSUCH");
    assert_int_equal(s->ops->progress_get(s, u, "NOSUCH", false, &p), STORE_ERR_NOT_FOUND);
    assert_int_equal(change(u, "PLAYER'; DROP TABLE users;--", 2, 0, &r), -11);
    assert_string_equal(r.error_type, "not_found");

    assert_int_equal(change(u, "INTERNSHIP", 0, 0, &r), -10);
    assert_string_equal(r.error_type, "validation_error");
    assert_string_equal(r.message, "Invalid level 0 for INTERNSHIP (valid range: 1-3)");
    assert_int_equal(change(u, "INTERNSHIP", 4, 0, &r), -10);
    assert_string_equal(r.message, "Invalid level 4 for INTERNSHIP (valid range: 1-3)");
    assert_int_equal(change(u, "player", 9, 0, &r), -10);
    assert_string_equal(r.message, "Invalid level 9 for PLAYER (valid range: 1-8)");
    assert_int_equal(change(u, "INTERNSHIP", 2, -1, &r), -10); /* rows would be created */
    assert_int_equal(s->ops->progress_get(s, u, "INTERNSHIP", false, &p), STORE_ERR_NOT_FOUND);
    assert_int_equal(s->ops->license_get(s, u, "INTERNSHIP", false, &l), STORE_ERR_NOT_FOUND);

    assert_int_equal(change(u, "PLAYER", 3, 100, &r), 0);
    assert_int_equal(change(u, "PLAYER", 5, -101, &r), -10); /* xp would go negative */
    assert_string_equal(r.error_type, "validation_error");
    assert_non_null(strstr(r.message, "total_xp"));
    assert_false(r.progression_created);
    assert_int_equal(s->ops->progress_get(s, u, "PLAYER", false, &p), 0);
    assert_int_equal(s->ops->license_get(s, u, "PLAYER", false, &l), 0);
    assert_int_equal(p.current_level, 3);
    assert_int_equal(p.total_xp, 100);
    assert_int_equal(l.current_level, 3);
    assert_int_equal(progressions(u, "PLAYER"), 1);

    struct level_change neg = {.user_id = u, .spec = "PLAYER", .new_level = 3,
                               .sessions_change = -1};
    assert_int_equal(enforcer_update_level_atomic(s, &neg, &r), -10);
    assert_non_null(strstr(r.message, "completed_sessions"));

    assert_int_equal(change(999999, "PLAYER", 2, 0, &r), -11);
    assert_string_equal(r.message, "User 999999 not found");
}


/* The progression rows of a user's licenses, "from>to by reason" joined by '\n'. */

static void progression_rows_say_who_and_why(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "why", NULL), coach = tu_user(s, "whycoach", "instructor");
    struct level_result r;
    assert_int_equal(change(u, "PLAYER", 3, 0, &r), 0);
    struct level_change c = {.user_id = u, .spec = "PLAYER", .new_level = 2,
                             .advanced_by = coach, .reason = "Failed assessment"};
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), 0);
    char want[200];
    snprintf(want, sizeof want, "1|3|0|Atomic level update to 3\n3|2|%lld|Failed assessment",
             (long long)coach);
    assert_string_equal(tu_progression_rows(dir, u), want);
}

/* A pair with one side only: the missing side is created at level 1 first. */
static void one_missing_side_created_at_level_1(void **state)
{
    (void)state;
    int64_t a = tu_user(s, "onlyprogress", NULL), b = tu_user(s, "onlylicense", NULL);
    tu_pair(s, a, "PLAYER", 4, 0);
    tu_pair(s, b, "COACH", 0, 5);
    struct level_result r;
    assert_int_equal(change(a, "PLAYER", 5, 0, &r), 0);
    assert_int_equal(r.old_progress_level, 4);
    assert_int_equal(r.old_license_level, 1);
    assert_int_equal(r.new_license_level, 5);
    assert_string_equal(tu_progression_rows(dir, a), "1|5|0|Atomic level update to 5");
    assert_int_equal(change(b, "COACH", 5, 40, &r), 0);
    assert_int_equal(r.old_progress_level, 1);
    assert_int_equal(r.old_license_level, 5);
    assert_false(r.progression_created); /* the license stayed at 5 */
    assert_int_equal(r.total_xp, 40);
    struct progress p;
    assert_int_equal(s->ops->progress_get(s, b, "COACH", false, &p), 0);
    assert_int_equal(p.current_level, 5);
    assert_string_equal(tu_progression_rows(dir, b), "");
}

/* A refused change on an existing pair: every field as it was. */
static void refused_change_keeps_every_field(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "keepall", NULL);
    struct level_result r;
    struct level_change c = {.user_id = u, .spec = "COACH", .new_level = 4, .xp_change = 500,
                             .sessions_change = 3, .projects_change = 2,
                             .theory_hours_change = 6, .practice_hours_change = 9};
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), 0);
    struct progress p0, p1;
    struct license l0, l1;
    assert_int_equal(s->ops->progress_get(s, u, "COACH", false, &p0), 0);
    assert_int_equal(s->ops->license_get(s, u, "COACH", false, &l0), 0);
    const struct level_change refused[] = {
        {.user_id = u, .spec = "COACH", .new_level = 9, .xp_change = 1},
        {.user_id = u, .spec = "COACH", .new_level = 0, .xp_change = 1},
        {.user_id = u, .spec = "COACH", .new_level = 6, .xp_change = -501},
        {.user_id = u, .spec = "COACH", .new_level = 6, .xp_change = 1, .projects_change = -3},
        {.user_id = u, .spec = "COACH", .new_level = 6, .theory_hours_change = -7},
        {.user_id = u, .spec = "COACH", .new_level = 6, .practice_hours_change = -10},
        {.user_id = u, .spec = "COACH", .new_level = 6, .xp_change = INT64_MAX},
        {.user_id = u, .spec = "COACH", .new_level = 6, .sessions_change = INT64_MAX},
        {.user_id = u, .spec = "COACH", .new_level = 6, .xp_change = INT64_MIN},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (enforcer_update_level_atomic(s, &refused[i], &r) != LS_ERR_VALIDATION)
            fail_msg("change %zu was not refused: %s", i, r.message);
        assert_false(r.success);
        assert_false(r.progression_created);
        assert_string_equal(r.error_type, "validation_error");
    }
    c.new_level = 6;
    c.xp_change = INT64_MAX;
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), LS_ERR_VALIDATION);
    assert_string_equal(r.message, "total_xp would overflow");
    assert_int_equal(enforcer_level_up(s, u, "COACH", INT64_MAX, 0, 0, &r), LS_ERR_VALIDATION);
    assert_string_equal(r.message, "total_xp would overflow");
    assert_int_equal(s->ops->progress_get(s, u, "COACH", false, &p1), 0);
    assert_int_equal(s->ops->license_get(s, u, "COACH", false, &l1), 0);
    assert_int_equal(p1.current_level, p0.current_level);
    assert_int_equal(p1.total_xp, 500);
    assert_int_equal(p1.completed_sessions, 3);
    assert_int_equal(p1.completed_projects, 2);
    assert_int_equal(p1.theory_hours_completed, 6);
    assert_int_equal(p1.practice_hours_completed, 9);
    assert_int_equal(p1.last_activity, p0.last_activity);
    assert_int_equal(p1.updated_at, p0.updated_at);
    assert_int_equal(l1.current_level, 4);
    assert_int_equal(l1.max_achieved_level, 4);
    assert_int_equal(l1.last_advanced_at, l0.last_advanced_at);
    assert_int_equal(l1.updated_at, l0.updated_at);
    assert_int_equal(progressions(u, "COACH"), 1);
}

static void level_up_thresholds(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "levelup", NULL);
    struct level_result r;
    /* Level L needs L * 1000 xp: from level 1, level 2 at 2000. */
    assert_int_equal(enforcer_level_up(s, u, "PLAYER", 1999, 1, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 1);
    assert_int_equal(r.new_license_level, 1);
    assert_int_equal(enforcer_level_up(s, u, "PLAYER", 1, 1, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 2);
    assert_int_equal(r.new_license_level, 2);
    assert_true(r.progression_created);
    assert_int_equal(r.total_xp, 2000);
    assert_int_equal(r.completed_sessions, 2);
    /* At most one level per call, however much xp arrives. */
    assert_int_equal(enforcer_level_up(s, u, "PLAYER", 50000, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 3);
    /* Never past max_levels (INTERNSHIP has 3). */
    int64_t v = tu_user(s, "levelmax", NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(enforcer_level_up(s, v, "INTERNSHIP", 10000, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 3);
    assert_int_equal(r.new_license_level, 3);
    assert_false(r.progression_created);
    assert_int_equal(r.total_xp, 50000);
    assert_string_equal(r.message, "Added 10000 xp in INTERNSHIP (level 3)");
    assert_int_equal(progressions(v, "INTERNSHIP"), 2); /* 1>2, 2>3 */
    assert_int_equal(enforcer_level_up(s, v, "INTERNSHIP", -5, 0, 0, &r), -10);
    assert_string_equal(r.error_type, "validation_error");
    assert_int_equal(enforcer_level_up(s, v, "INTERNSHIP", 5, -1, 0, &r), -10);
    assert_int_equal(enforcer_level_up(s, v, "NOSUCH", 5, 0, 0, &r), -11);
    struct progress p;
    assert_int_equal(s->ops->progress_get(s, v, "INTERNSHIP", false, &p), 0);
    assert_int_equal(p.total_xp, 50000);
}

/* level_up on a drifted pair moves the license with the progress. */
static void level_up_keeps_the_pair_coupled(void **state)
{
    (void)state;
    int64_t u = tu_user(s, "levelupdrift", NULL);
    tu_pair(s, u, "PLAYER", 3, 1);
    struct level_result r;
    assert_int_equal(enforcer_level_up(s, u, "PLAYER", 10, 1, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 3);
    assert_int_equal(r.new_license_level, 3);
    assert_int_equal(progressions(u, "PLAYER"), 1);
    assert_int_equal(enforcer_level_up(s, u, "PLAYER", 4000, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 4); /* 4010 >= 4 * 1000 */
    assert_string_equal(r.message, "Leveled up to 4 in PLAYER");
    assert_string_equal(tu_progression_rows(dir, u), "1|3|0|Atomic level update to 3\n"
                                             "3|4|0|Atomic level update to 4");
}

static void level_up_own_thresholds(void **state)
{
    (void)state;
    char out[100];
    assert_int_equal(tu_sql(dir, out, sizeof out,
                            "INSERT INTO specialization_level_thresholds(specialization_id, "
                            "level, xp_required) VALUES ('COACH', 2, 300), ('COACH', 3, 350)"),
                     0);
    int64_t u = tu_user(s, "ownthreshold", NULL);
    struct level_result r;
    int64_t xp;
    assert_int_equal(enforcer_level_threshold(s, "COACH", 2, &xp), 0);
    assert_int_equal(xp, 300);
    assert_int_equal(enforcer_level_threshold(s, "COACH", 4, &xp), 0);
    assert_int_equal(xp, 4000); /* not defined: L * 1000 */
    assert_int_equal(enforcer_level_threshold(s, "PLAYER", 2, &xp), 0);
    assert_int_equal(xp, 2000); /* another specialization keeps the default */
    assert_int_equal(enforcer_level_up(s, u, "COACH", 299, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 1);
    assert_int_equal(enforcer_level_up(s, u, "COACH", 1, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 2);
    assert_int_equal(r.new_license_level, 2);
    /* At most one level per call even when the next threshold is reached too. */
    int64_t v = tu_user(s, "ownthreshold2", NULL);
    assert_int_equal(enforcer_level_up(s, v, "COACH", 1000, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 2);
    assert_int_equal(enforcer_level_up(s, v, "COACH", 0, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 3);
    assert_int_equal(enforcer_level_up(s, v, "COACH", 0, 0, 0, &r), 0);
    assert_int_equal(r.new_progress_level, 3); /* 1000 < 4000 */
}

/* Many threads, each with its own connection, level the same pairs at once. */
#define WRITERS 4
#define ROUNDS 150

struct writer {
    struct store *conn; /* its own connection (opened before the threads start:
                           opening is not thread-safe) */
    int index;
    int64_t users[3];
    int64_t xp_ok[3];
    int failures;
};

static void *write_levels(void *arg)
{
    struct writer *w = arg;
    struct store *c = w->conn;
    static const char *specs[] = {"PLAYER", "COACH", "INTERNSHIP"};
    for (int i = 0; i < ROUNDS; i++) {
        int k = (i + w->index) % 3;
        struct level_result r;
        int rc;
        if (i % 4 == 3) {
            rc = enforcer_level_up(c, w->users[k], specs[k], 7, 1, 0, &r);
        } else {
            struct level_change ch = {.user_id = w->users[k], .spec = specs[k],
                                      .new_level = 1 + (i + w->index) % 3, .xp_change = 7,
                                      .sessions_change = 1};
            rc = enforcer_update_level_atomic(c, &ch, &r);
        }
        if (rc == 0)
            w->xp_ok[k] += 7;
        else
            w->failures++;
    }
    store_close(c);
    return NULL;
}

static void concurrent_writers_stay_coupled(void **state)
{
    (void)state;
    int64_t users[3] = {tu_user(s, "conc1", NULL), tu_user(s, "conc2", NULL),
                        tu_user(s, "conc3", NULL)};
    struct writer w[WRITERS];
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].conn = tu_store_contended(dir);
        w[i].index = i;
        memcpy(w[i].users, users, sizeof users);
        assert_int_equal(pthread_create(&t[i], NULL, write_levels, &w[i]), 0);
    }
    int64_t expect[3] = {0, 0, 0};
    int failures = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < 3; k++)
            expect[k] += w[i].xp_ok[k];
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0); /* the busy timeout absorbs the contention */
    static const char *specs[] = {"PLAYER", "COACH", "INTERNSHIP"};
    for (int k = 0; k < 3; k++) {
        struct progress p;
        struct license l;
        assert_int_equal(s->ops->progress_get(s, users[k], specs[k], false, &p), 0);
        assert_int_equal(s->ops->license_get(s, users[k], specs[k], false, &l), 0);
        assert_int_equal(p.current_level, l.current_level);
        assert_int_equal(p.total_xp, expect[k]);
        assert_int_equal(p.completed_sessions, expect[k] / 7);
        assert_true(l.max_achieved_level >= l.current_level);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(creates_missing_rows_and_moves_both),
        cmocka_unit_test(progression_only_when_license_level_changes),
        cmocka_unit_test(max_achieved_never_lowered),
        cmocka_unit_test(hours_apply_to_coach_only),
        cmocka_unit_test(failures_change_nothing),
        cmocka_unit_test(progression_rows_say_who_and_why),
        cmocka_unit_test(one_missing_side_created_at_level_1),
        cmocka_unit_test(refused_change_keeps_every_field),
        cmocka_unit_test(level_up_thresholds),
        cmocka_unit_test(level_up_keeps_the_pair_coupled),
        cmocka_unit_test(level_up_own_thresholds),
        cmocka_unit_test(concurrent_writers_stay_coupled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
