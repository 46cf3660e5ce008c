/* test_specs.c — specializations: ids normalized to upper case, SQL and path
 * characters refused, duplicates, limits, and the maximum level taken from the
 * table by the enforcer. */
#include "service/enforcer.h"
#include "service/errors.h"
#include "service/specs.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct store *s;

static int setup(void **state)
{
    (void)state;
    s = tu_store("specs", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    return 0;
}

static void normalized_ids(void **state)
{
    (void)state;
    char id[SPEC_ID_MAX];
    assert_int_equal(specs_normalize_id("goalkeeper_2", id), 0);
    assert_string_equal(id, "GOALKEEPER_2");
    assert_int_equal(specs_normalize_id("Player", id), 0);
    assert_string_equal(id, "PLAYER");
    assert_int_equal(specs_normalize_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", id), 0); /* 32 */
    const char *longest = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ01";
    assert_int_equal(strlen(longest), SPEC_ID_LEN);
    assert_int_equal(specs_normalize_id(longest, id), 0);
    assert_string_equal(id, longest);
    const char *bad[] = {"", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ012" /* 65 */,
                         "PLAYER'; DROP TABLE users;--", "../../etc/passwd", "a/b", "a.b",
                         "a-b", "a b", "x;", "x'", "x\"", "x%", "x*", "\xc3\x89LITE", "tab\t",
                         NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (specs_normalize_id(bad[i], id) != LS_ERR_VALIDATION)
            fail_msg("specialization id '%s' was accepted", bad[i] ? bad[i] : "(null)");
    }
}

static int list_ids(void *ctx, const struct specialization *sp)
{
    char *ids = ctx;
    size_t n = strlen(ids);
    snprintf(ids + n, 400 - n, "%s ", sp->id);
    return 0;
}

static void create_get_list(void **state)
{
    (void)state;
    struct specialization sp;
    char err[300];
    assert_int_equal(specs_create(s, "goalkeeper", "Goalkeeper", 5, &sp, err, sizeof err), 0);
    assert_string_equal(sp.id, "GOALKEEPER");
    assert_string_equal(sp.name, "Goalkeeper");
    assert_int_equal(sp.max_levels, 5);
    assert_true(sp.is_active);
    struct specialization got;
    assert_int_equal(specs_get(s, "GoalKeeper", &got, err, sizeof err), 0);
    assert_string_equal(got.id, "GOALKEEPER");
    assert_int_equal(got.max_levels, 5);
    assert_int_equal(specs_get(s, "nope", &got, err, sizeof err), LS_ERR_NOT_FOUND);
    assert_string_equal(err, "Unknown specialization NOPE");
    assert_int_equal(specs_get(s, "no;pe", &got, err, sizeof err), LS_ERR_NOT_FOUND);
    /* The edges of max_levels. */
    assert_int_equal(specs_create(s, "one", "One", 1, &sp, err, sizeof err), 0);
    assert_int_equal(specs_create(s, "hundred", "Hundred", 100, &sp, err, sizeof err), 0);
    char ids[400] = "";
    assert_int_equal(s->ops->spec_list(s, list_ids, ids), 0);
    assert_string_equal(ids, "COACH GOALKEEPER HUNDRED INTERNSHIP ONE PLAYER ");
}

static void refused_and_duplicates(void **state)
{
    (void)state;
    struct specialization sp;
    char err[300];
    assert_int_equal(specs_create(s, "GOALKEEPER", "Goalkeeper", 5, &sp, err, sizeof err), 0);
    assert_int_equal(specs_create(s, "goalkeeper", "Again", 6, &sp, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "specialization GOALKEEPER already exists");
    assert_int_equal(specs_create(s, "player", "Player", 8, &sp, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_int_equal(specs_create(s, "X", "X", 0, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_string_equal(err, "max_levels must be from 1 to 100 (got 0)");
    assert_int_equal(specs_create(s, "X", "X", -3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "X", "X", 101, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "X", "", 3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "X", NULL, 3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "x-ray", "X", 3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_string_equal(err, "invalid specialization id 'x-ray' (1-64 letters, digits or _)");
    /* Nothing of the refused ones exists; the first one is unchanged. */
    assert_int_equal(specs_get(s, "X", &sp, err, sizeof err), LS_ERR_NOT_FOUND);
    assert_int_equal(specs_get(s, "GOALKEEPER", &sp, err, sizeof err), 0);
    assert_string_equal(sp.name, "Goalkeeper");
    assert_int_equal(sp.max_levels, 5);
}

/* Ids of up to 64 characters are created whole, and ones that share their
 * first 32 stay two; a longer one is refused naming the limit, by create
 * and by a lookup alike. */
static void ids_up_to_the_limit(void **state)
{
    (void)state;
    struct specialization sp, got;
    char err[300];
    const char *a = "lfa_football_player_internship_track_a_advanced";
    const char *b = "lfa_football_player_internship_track_b_advanced";
    const char *a64 = "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_A_ADVANCED_0123456789ABCDEF";
    assert_int_equal(strlen(a64), SPEC_ID_LEN);
    assert_int_equal(specs_create(s, a, "A", 4, &sp, err, sizeof err), 0);
    assert_int_equal(specs_create(s, b, "B", 6, &sp, err, sizeof err), 0);
    assert_int_equal(specs_create(s, a64, "A64", 7, &sp, err, sizeof err), 0);
    assert_string_equal(sp.id, a64);
    assert_int_equal(specs_get(s, a, &got, err, sizeof err), 0);
    assert_string_equal(got.id, "LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_A_ADVANCED");
    assert_int_equal(got.max_levels, 4);
    assert_int_equal(specs_get(s, b, &got, err, sizeof err), 0);
    assert_int_equal(got.max_levels, 6);
    assert_int_equal(specs_get(s, a64, &got, err, sizeof err), 0);
    assert_int_equal(got.max_levels, 7);
    char a65[SPEC_ID_MAX + 1];
    snprintf(a65, sizeof a65, "%sG", a64);
    assert_int_equal(specs_create(s, a65, "A65", 3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_string_equal(err, "specialization id 'LFA_FOOTBALL_PLAYER_INTERNSHIP_TRACK_A_A…' is 65 "
                             "characters: the limit is 64");
    assert_int_equal(specs_get(s, a65, &got, err, sizeof err), LS_ERR_VALIDATION);
    assert_non_null(strstr(err, "the limit is 64"));
}

static void defaults_of_the_first_migration(void **state)
{
    (void)state;
    struct specialization sp;
    char err[300];
    assert_int_equal(specs_get(s, "PLAYER", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 8);
    assert_int_equal(specs_get(s, "COACH", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 8);
    assert_int_equal(specs_get(s, "INTERNSHIP", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 3);
}

/* The maximum level always comes from the table, also for a new specialization. */
static void max_level_from_the_table(void **state)
{
    (void)state;
    struct specialization sp;
    char err[300];
    assert_int_equal(specs_create(s, "keeper", "Keeper", 5, &sp, err, sizeof err), 0);
    int64_t u = tu_user(s, "keeper", NULL);
    struct level_change c = {.user_id = u, .spec = "keeper", .new_level = 5};
    struct level_result r;
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), 0);
    assert_int_equal(r.new_license_level, 5);
    c.new_level = 6;
    assert_int_equal(enforcer_update_level_atomic(s, &c, &r), LS_ERR_VALIDATION);
    assert_string_equal(r.message, "Invalid level 6 for KEEPER (valid range: 1-5)");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalized_ids),   T(create_get_list),
        T(refused_and_duplicates),          T(defaults_of_the_first_migration),
        T(max_level_from_the_table),        T(ids_up_to_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
