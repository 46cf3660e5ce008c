/* test_sessions.c — refresh-token rotation: a token rotates once; the same
 * token again ends every session of its user; a token that is unknown,
 * revoked or another user's is refused; an inactive user gets none. */
#include "service/sessions.h"
#include "service/users.h"
#include "testutil.h"
#include "util/timeutil.h"

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
    s = tu_store("sessions", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(s);
    return 0;
}

static void record(int64_t user, const char *jti, const char *family, int64_t now)
{
    struct refresh_token t = {.user_id = user, .issued_at = now,
                              .expires_at = now + 3600 * USEC_PER_SEC};
    snprintf(t.jti, sizeof t.jti, "%s", jti);
    snprintf(t.family, sizeof t.family, "%s", family);
    assert_int_equal(sessions_record(s, &t), 0);
}

static void rotates_once_then_reuse_ends_every_session(void **state)
{
    (void)state;
    int64_t uid = tu_user(s, "rotate", "student"), now = time_now_us();
    record(uid, "jti-1", "fam-1", now);
    record(uid, "jti-2", "fam-2", now);
    struct refresh_token t;
    struct user u;
    bool reused = true;
    assert_int_equal(sessions_rotate(s, "jti-1", uid, now + 1, &t, &u, &reused), 0);
    assert_false(reused);
    assert_string_equal(t.family, "fam-1");
    assert_int_equal(u.id, uid);
    /* The same token again: a copy exists; every session of the user ends. */
    assert_int_equal(sessions_rotate(s, "jti-1", uid, now + 2, &t, &u, &reused),
                     SESSIONS_REUSED);
    assert_true(reused);
    assert_int_equal(users_get(s, uid, &u), 0);
    assert_true(u.tokens_valid_after >= now + 2);
    /* The user's other token was revoked with them. */
    assert_int_equal(sessions_rotate(s, "jti-2", uid, now + 3, &t, &u, &reused),
                     SESSIONS_INVALID);
    assert_false(reused);
}

static void refuses_unknown_foreign_and_inactive(void **state)
{
    (void)state;
    int64_t a = tu_user(s, "owner", "student"), b = tu_user(s, "other", "student");
    int64_t now = time_now_us();
    record(a, "jti-a", "fam-a", now);
    struct refresh_token t;
    struct user u;
    bool reused;
    assert_int_equal(sessions_rotate(s, "no-such-jti", a, now, &t, &u, &reused),
                     SESSIONS_INVALID);
    assert_int_equal(sessions_rotate(s, "jti-a", b, now, &t, &u, &reused), SESSIONS_INVALID);
    char err[300];
    assert_int_equal(users_update(s, a, NULL, NULL, 0, NULL, &u, err, sizeof err), 0);
    record(a, "jti-a2", "fam-a2", now + 10);
    assert_int_equal(sessions_rotate(s, "jti-a2", a, now + 11, &t, &u, &reused),
                     SESSIONS_NO_USER);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(rotates_once_then_reuse_ends_every_session),
        T(refuses_unknown_foreign_and_inactive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
