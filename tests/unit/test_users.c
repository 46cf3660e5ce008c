/* test_users.c — accounts (validation, argon2id, the last admin) and
 * specializations (normalized ids, limits, duplicates). */
#include "service/errors.h"
#include "service/specs.h"
#include "service/users.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static struct store *s;

static int setup(void **state)
{
    (void)state;
    s = tu_store("users", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    return 0;
}

static void create_and_verify(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(users_create(s, "Ada@Example.COM", "Ada", "correct horse", "instructor", &u,
                                  err, sizeof err),
                     0);
    assert_string_equal(u.email, "ada@example.com");
    assert_string_equal(u.role, "instructor");
    assert_true(u.is_active);
    assert_non_null(strstr(u.password_hash, "$argon2id$"));
    assert_true(users_verify_password(u.password_hash, "correct horse"));
    assert_false(users_verify_password(u.password_hash, "correct horsE"));
    assert_false(users_verify_password(NULL, "anything"));
    assert_false(users_verify_password(USERS_NO_PASSWORD, ""));
    struct user again;
    assert_int_equal(users_get_by_email(s, "ADA@example.com", &again, err, sizeof err), 0);
    assert_int_equal(again.id, u.id);
}

static void bad_input(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(users_create(s, "dup@example.com", NULL, "password1", "student", &u, err,
                                  sizeof err),
                     0);
    assert_int_equal(users_create(s, "DUP@example.com", NULL, "password1", "student", &u, err,
                                  sizeof err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "a user with email dup@example.com already exists");
    assert_int_equal(users_create(s, "not-an-email", NULL, "password1", "student", &u, err,
                                  sizeof err),
                     LS_ERR_VALIDATION);
    assert_int_equal(users_create(s, "a b@example.com", NULL, "password1", "student", &u, err,
                                  sizeof err),
                     LS_ERR_VALIDATION);
    assert_int_equal(users_create(s, "x@example.com", NULL, "short", "student", &u, err,
                                  sizeof err),
                     LS_ERR_VALIDATION);
    assert_int_equal(users_create(s, "x@example.com", NULL, "password1", "superuser", &u, err,
                                  sizeof err),
                     LS_ERR_VALIDATION);
    int64_t n = 0;
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0);
    assert_int_equal(n, 1); /* only the one valid account */
}

static void last_active_admin_stays(void **state)
{
    (void)state;
    struct user a, b;
    char err[300];
    assert_int_equal(users_create(s, "admin1@example.com", NULL, "password1", "admin", &a, err,
                                  sizeof err),
                     0);
    assert_int_equal(users_update(s, a.id, NULL, "student", -1, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_int_equal(users_update(s, a.id, NULL, NULL, 0, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "cannot demote or disable the last active admin");
    assert_int_equal(users_create(s, "admin2@example.com", NULL, "password1", "admin", &b, err,
                                  sizeof err),
                     0);
    assert_int_equal(users_update(s, a.id, "Former admin", "student", -1, NULL, &a, err,
                                  sizeof err),
                     0);
    assert_string_equal(a.role, "student");
    assert_string_equal(a.name, "Former admin");
    assert_int_equal(users_update(s, b.id, NULL, NULL, 0, NULL, &b, err, sizeof err),
                     LS_ERR_CONFLICT);
    /* Password change, and an unknown user. */
    assert_int_equal(users_update(s, a.id, NULL, NULL, -1, "new password", &a, err, sizeof err),
                     0);
    assert_true(users_verify_password(a.password_hash, "new password"));
    assert_int_equal(users_update(s, 999999, "x", NULL, -1, NULL, &a, err, sizeof err),
                     LS_ERR_NOT_FOUND);
}

static void specialization_ids(void **state)
{
    (void)state;
    char id[SPEC_ID_MAX];
    assert_int_equal(specs_normalize_id("goalkeeper_2", id), 0);
    assert_string_equal(id, "GOALKEEPER_2");
    assert_int_equal(specs_normalize_id("", id), LS_ERR_VALIDATION);
    assert_int_equal(specs_normalize_id("PLAYER'; DROP TABLE users;--", id), LS_ERR_VALIDATION);
    assert_int_equal(specs_normalize_id("../../etc/passwd", id), LS_ERR_VALIDATION);
    assert_int_equal(specs_normalize_id("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", id),
                     LS_ERR_VALIDATION); /* 33 characters */
    struct specialization sp;
    char err[300];
    assert_int_equal(specs_create(s, "goalkeeper", "Goalkeeper", 5, &sp, err, sizeof err), 0);
    assert_string_equal(sp.id, "GOALKEEPER");
    assert_int_equal(specs_create(s, "GOALKEEPER", "Again", 5, &sp, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_int_equal(specs_create(s, "X", "X", 0, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "X", "X", 101, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_create(s, "X", "", 3, &sp, err, sizeof err), LS_ERR_VALIDATION);
    assert_int_equal(specs_get(s, "goalkeeper", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 5);
    assert_int_equal(specs_get(s, "nope", &sp, err, sizeof err), LS_ERR_NOT_FOUND);
    assert_string_equal(err, "Unknown specialization NOPE");
    /* The defaults of the first migration. */
    assert_int_equal(specs_get(s, "PLAYER", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 8);
    assert_int_equal(specs_get(s, "COACH", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 8);
    assert_int_equal(specs_get(s, "INTERNSHIP", &sp, err, sizeof err), 0);
    assert_int_equal(sp.max_levels, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(last_active_admin_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(specialization_ids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
