/* test_token.c — token verification (auth_token_verify, what every request
 * and refresh runs and fuzz_jwt drives): only HS256 tokens signed with the
 * secret, of the type asked, not expired, with a user id, verify. */
#include "http/token.h"
#include "service/app.h"

#include <jwt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static const char secret[] = "unit-test-secret-unit-test-secret-0123";

static struct app *test_app(void)
{
    static struct app app;
    memset(&app, 0, sizeof app);
    memcpy(app.jwt_secret, secret, sizeof secret - 1);
    app.jwt_secret_len = sizeof secret - 1;
    return &app;
}

/* A token with these claims, signed with alg and key (caller frees). */
static char *token(jwt_alg_t alg, const char *key, const char *sub, const char *type,
                   long exp_offset)
{
    jwt_t *jwt = NULL;
    assert_int_equal(jwt_new(&jwt), 0);
    if (sub)
        assert_int_equal(jwt_add_grant(jwt, "sub", sub), 0);
    assert_int_equal(jwt_add_grant(jwt, "type", type), 0);
    assert_int_equal(jwt_add_grant_int(jwt, "exp", (long)time(NULL) + exp_offset), 0);
    assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key,
                                 key ? (int)strlen(key) : 0), 0);
    char *out = jwt_encode_str(jwt);
    jwt_free(jwt);
    assert_non_null(out);
    return out;
}

static void valid_tokens_verify(void **state)
{
    (void)state;
    struct app *app = test_app();
    int64_t uid = 0;
    char *t = token(JWT_ALG_HS256, secret, "42", "access", 600);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), 0);
    assert_int_equal(uid, 42);
    /* An access token is not a refresh token. */
    assert_int_equal(auth_token_verify(app, t, "refresh", &uid), -1);
    free(t);
    t = token(JWT_ALG_HS256, secret, "7", "refresh", 600);
    assert_int_equal(auth_token_verify(app, t, "refresh", &uid), 0);
    assert_int_equal(uid, 7);
    free(t);
}

static void forged_and_wrong_tokens_fail(void **state)
{
    (void)state;
    struct app *app = test_app();
    int64_t uid = 0;
    char *t = token(JWT_ALG_HS256, "another-secret-another-secret-0000", "1", "access", 600);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    free(t);
    t = token(JWT_ALG_NONE, NULL, "1", "access", 600);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    free(t);
    t = token(JWT_ALG_HS512, secret, "1", "access", 600);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    free(t);
    t = token(JWT_ALG_HS256, secret, "1", "access", -10);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    free(t);
    static const char *const bad_subs[] = {"0", "-3", "x", "12abc", ""};
    for (size_t i = 0; i < sizeof bad_subs / sizeof bad_subs[0]; i++) {
        t = token(JWT_ALG_HS256, secret, bad_subs[i], "access", 600);
        assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
        free(t);
    }
    t = token(JWT_ALG_HS256, secret, NULL, "access", 600);
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    /* One changed byte of the signature. */
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_token_verify(app, t, "access", &uid), -1);
    free(t);
    assert_int_equal(auth_token_verify(app, "", "access", &uid), -1);
    assert_int_equal(auth_token_verify(app, "a.b.c", "access", &uid), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_tokens_verify),
        cmocka_unit_test(forged_and_wrong_tokens_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
