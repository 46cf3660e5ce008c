/* test_users.c — accounts: email normalization and uniqueness, roles,
 * password rules and argon2id, and the last active admin that must stay. */
#include "service/errors.h"
#include "service/users.h"
#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static struct store *s;
static char dir[512];

static int setup(void **state)
{
    (void)state;
    s = tu_store("users", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    return 0;
}

static int create(const char *email, const char *password, const char *role, struct user *u,
                  char *err)
{
    return users_create(s, email, NULL, password, role, u, err, 300);
}

static int64_t count_users(void)
{
    int64_t n = -1;
    assert_int_equal(s->ops->user_count(s, NULL, false, &n), 0);
    return n;
}

static void create_and_verify(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(users_create(s, "Ada@Example.COM", "Ada", "correct horse", "instructor", &u,
                                  err, sizeof err),
                     0);
    assert_true(u.id > 0);
    assert_string_equal(u.email, "ada@example.com"); /* stored lower-cased */
    assert_string_equal(u.name, "Ada");
    assert_string_equal(u.role, "instructor");
    assert_true(u.is_active);
    assert_non_null(strstr(u.password_hash, "$argon2id$"));
    assert_null(strstr(u.password_hash, "correct horse"));
    assert_true(users_verify_password(u.password_hash, "correct horse"));
    assert_false(users_verify_password(u.password_hash, "correct horsE"));
    assert_false(users_verify_password(u.password_hash, ""));
    assert_false(users_verify_password(NULL, "anything"));
    /* Found whatever the case of the address, with what was stored. */
    struct user again;
    assert_int_equal(users_get_by_email(s, "ADA@example.com", &again, err, sizeof err), 0);
    assert_int_equal(again.id, u.id);
    assert_string_equal(again.password_hash, u.password_hash);
    assert_int_equal(users_get_by_email(s, "nobody@example.com", &again, err, sizeof err),
                     LS_ERR_NOT_FOUND);
    assert_string_equal(err, "no user with email nobody@example.com");
    /* No role given: a student. */
    assert_int_equal(create("pupil@example.com", "password1", NULL, &u, err), 0);
    assert_string_equal(u.role, "student");
}

static void no_password_cannot_log_in(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(create("nopw@example.com", NULL, "student", &u, err), 0);
    assert_string_equal(u.password_hash, USERS_NO_PASSWORD);
    assert_false(users_verify_password(u.password_hash, ""));
    assert_false(users_verify_password(u.password_hash, USERS_NO_PASSWORD));
}

static void duplicate_email_in_any_case(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(create("dup@example.com", "password1", "student", &u, err), 0);
    assert_int_equal(create("DUP@example.com", "password2", "admin", &u, err), LS_ERR_CONFLICT);
    assert_string_equal(err, "a user with email dup@example.com already exists");
    assert_int_equal(create("dup@EXAMPLE.com", NULL, NULL, &u, err), LS_ERR_CONFLICT);
    assert_int_equal(count_users(), 1);
    assert_string_equal(ls_error_type(LS_ERR_CONFLICT), "conflict");
}

static int count_cb(void *ctx, const struct user *u)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

/* Another program (an academy's backend, an import) stored an address with
 * capitals: every lookup still finds it, and no second account differs from
 * it by case alone. */
static void an_address_stored_with_capitals_is_found_in_any_case(void **state)
{
    (void)state;
    struct user u, found;
    char err[300], out[64];
    assert_int_equal(create("mixed.case@example.com", "password1", "instructor", &u, err), 0);
    assert_int_equal(tu_sql(dir, out, sizeof out, "UPDATE users SET email = "
                                                  "'Mixed.Case@Example.COM' WHERE id = %lld",
                            (long long)u.id),
                     0);
    assert_int_equal(users_get_by_email(s, "mixed.case@example.com", &found, err, sizeof err), 0);
    assert_int_equal(found.id, u.id);
    assert_int_equal(users_get_by_email(s, "MIXED.CASE@EXAMPLE.COM", &found, err, sizeof err), 0);
    assert_int_equal(found.id, u.id);
    assert_true(users_verify_password(found.password_hash, "password1"));
    assert_int_equal(create("MIXED.case@example.com", "password2", "student", &u, err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "a user with email Mixed.Case@Example.COM already exists");
    assert_int_equal(count_users(), 1);
    struct user_filter f = {.active = -1, .query = "case@EXAMPLE", .limit = 10};
    int n = 0;
    assert_int_equal(s->ops->user_list(s, &f, count_cb, &n), 0);
    assert_int_equal(n, 1);
}

static void bad_input_changes_nothing(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    const char *bad_emails[] = {"not-an-email", "@example.com", "a@", "a@b@c", "a b@example.com",
                                "a<b>@example.com", "a,b@example.com", "", NULL};
    for (size_t i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++) {
        if (create(bad_emails[i], "password1", "student", &u, err) != LS_ERR_VALIDATION)
            fail_msg("email '%s' was accepted", bad_emails[i] ? bad_emails[i] : "(null)");
    }
    assert_int_equal(create("x@example.com", "password1", "superuser", &u, err),
                     LS_ERR_VALIDATION);
    assert_string_equal(err, "invalid role 'superuser' (expected admin, instructor or student)");
    assert_int_equal(create("x@example.com", "password1", "Admin", &u, err), LS_ERR_VALIDATION);
    /* Passwords: 8 to 256 characters. */
    assert_int_equal(create("x@example.com", "short12", "student", &u, err), LS_ERR_VALIDATION);
    assert_string_equal(err, "password must be 8 to 256 characters");
    assert_int_equal(create("x@example.com", "", "student", &u, err), LS_ERR_VALIDATION);
    char longpw[258];
    memset(longpw, 'p', 257);
    longpw[257] = '\0';
    assert_int_equal(create("x@example.com", longpw, "student", &u, err), LS_ERR_VALIDATION);
    char name[USER_NAME_MAX + 2];
    memset(name, 'n', USER_NAME_MAX + 1);
    name[USER_NAME_MAX + 1] = '\0';
    assert_int_equal(users_create(s, "x@example.com", name, "password1", "student", &u, err,
                                  sizeof err),
                     LS_ERR_VALIDATION);
    assert_int_equal(count_users(), 0);
    /* The edges that are allowed. */
    longpw[256] = '\0';
    assert_int_equal(create("long@example.com", longpw, "student", &u, err), 0);
    assert_true(users_verify_password(u.password_hash, longpw));
    assert_int_equal(create("eight@example.com", "12345678", "student", &u, err), 0);
    assert_int_equal(count_users(), 2);
}

static void roles(void **state)
{
    (void)state;
    assert_true(users_valid_role("admin"));
    assert_true(users_valid_role("instructor"));
    assert_true(users_valid_role("student"));
    assert_false(users_valid_role("root"));
    assert_false(users_valid_role(NULL));
    /* admin ⊃ instructor ⊃ student. */
    assert_true(users_role_rank("admin") > users_role_rank("instructor"));
    assert_true(users_role_rank("instructor") > users_role_rank("student"));
    assert_int_equal(users_role_rank("root"), 0);
}

static void last_active_admin_stays(void **state)
{
    (void)state;
    struct user a, b;
    char err[300];
    assert_int_equal(create("admin1@example.com", "password1", "admin", &a, err), 0);
    assert_int_equal(users_update(s, a.id, NULL, "student", -1, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "cannot demote or disable the last active admin");
    assert_int_equal(users_update(s, a.id, NULL, "instructor", -1, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_int_equal(users_update(s, a.id, NULL, NULL, 0, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    assert_string_equal(err, "cannot demote or disable the last active admin");
    struct user now;
    assert_int_equal(s->ops->user_get(s, a.id, &now), 0);
    assert_string_equal(now.role, "admin");
    assert_true(now.is_active);
    /* Renaming the last admin is fine. */
    assert_int_equal(users_update(s, a.id, "Chief", NULL, -1, NULL, &a, err, sizeof err), 0);
    assert_string_equal(a.name, "Chief");
    /* A disabled admin does not count as another admin. */
    assert_int_equal(create("admin2@example.com", "password1", "admin", &b, err), 0);
    assert_int_equal(users_update(s, b.id, NULL, NULL, 0, NULL, &b, err, sizeof err), 0);
    assert_false(b.is_active);
    assert_int_equal(users_update(s, a.id, NULL, "student", -1, NULL, &a, err, sizeof err),
                     LS_ERR_CONFLICT);
    /* Once b is active again, a can step down; then b is the last one. */
    assert_int_equal(users_update(s, b.id, NULL, NULL, 1, NULL, &b, err, sizeof err), 0);
    assert_int_equal(users_update(s, a.id, "Former admin", "student", -1, NULL, &a, err,
                                  sizeof err),
                     0);
    assert_string_equal(a.role, "student");
    assert_string_equal(a.name, "Former admin");
    assert_int_equal(users_update(s, b.id, NULL, NULL, 0, NULL, &b, err, sizeof err),
                     LS_ERR_CONFLICT);
    int64_t admins = 0;
    assert_int_equal(s->ops->user_count(s, "admin", true, &admins), 0);
    assert_int_equal(admins, 1);
}

struct demotion {
    int64_t id;
    int rc;
    char err[300];
};

static void *demote_other(void *arg)
{
    struct demotion *d = arg;
    struct store *other = tu_store_contended(dir);
    d->rc = users_update(other, d->id, NULL, "student", -1, NULL, NULL, d->err, sizeof d->err);
    store_close(other);
    return NULL;
}

/* Two admins demoting each other at once: the second waits for the first,
 * then finds itself the last one (on PostgreSQL too, where a write
 * transaction does not lock the whole store). */
static void concurrent_demotions_keep_one_admin(void **state)
{
    (void)state;
    struct user a, b;
    char err[300];
    assert_int_equal(create("race1@example.com", "password1", "admin", &a, err), 0);
    assert_int_equal(create("race2@example.com", "password1", "admin", &b, err), 0);
    /* This connection's demotion of a, held open at the point where it has
     * counted the admins and written its change. */
    assert_int_equal(s->ops->begin(s, STORE_TXN_WRITE), 0);
    int64_t admins = 0;
    assert_int_equal(s->ops->user_count(s, "admin", true, &admins), 0);
    assert_int_equal(admins, 2);
    struct user_change c = {.role = "student", .is_active = -1};
    assert_int_equal(s->ops->user_update(s, a.id, &c), 0);
    struct demotion d = {.id = b.id, .rc = 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, demote_other, &d), 0);
    usleep(300 * 1000); /* the other demotion is waiting on this transaction */
    assert_int_equal(s->ops->commit(s), 0);
    pthread_join(t, NULL);
    assert_int_equal(d.rc, LS_ERR_CONFLICT);
    assert_string_equal(d.err, "cannot demote or disable the last active admin");
    assert_int_equal(s->ops->user_count(s, "admin", true, &admins), 0);
    assert_int_equal(admins, 1);
}

static void update_password_and_errors(void **state)
{
    (void)state;
    struct user u;
    char err[300];
    assert_int_equal(create("pw@example.com", "old password", "student", &u, err), 0);
    assert_int_equal(users_update(s, u.id, NULL, NULL, -1, "new password", &u, err, sizeof err),
                     0);
    assert_true(users_verify_password(u.password_hash, "new password"));
    assert_false(users_verify_password(u.password_hash, "old password"));
    /* Refused changes leave the account as it was. */
    assert_int_equal(users_update(s, u.id, NULL, NULL, -1, "short", &u, err, sizeof err),
                     LS_ERR_VALIDATION);
    assert_int_equal(users_update(s, u.id, NULL, "king", -1, NULL, &u, err, sizeof err),
                     LS_ERR_VALIDATION);
    struct user now;
    assert_int_equal(s->ops->user_get(s, u.id, &now), 0);
    assert_true(users_verify_password(now.password_hash, "new password"));
    assert_string_equal(now.role, "student");
    assert_int_equal(users_update(s, 999999, "x", NULL, -1, NULL, &u, err, sizeof err),
                     LS_ERR_NOT_FOUND);
    assert_string_equal(err, "User 999999 not found");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(create_and_verify),  T(no_password_cannot_log_in), T(duplicate_email_in_any_case),
        T(an_address_stored_with_capitals_is_found_in_any_case),
        T(bad_input_changes_nothing), T(roles), T(last_active_admin_stays),
        T(concurrent_demotions_keep_one_admin), T(update_password_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
