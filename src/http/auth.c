/* auth.c — authentication of `lockstep serve`: bearer tokens on every
 * request; login, refresh with rotation and reuse detection, logout, /auth/me;
 * the gate that keeps argon2id from taking every CPU. Tokens are tokens.c's,
 * the caches auth_cache.c's, the throttle login_throttle.c's. */
#include "http/auth.h"

#include "http/auth_cache.h"
#include "http/handlers.h"
#include "http/login_throttle.h"
#include "http/token.h"
#include "service/errors.h"
#include "service/sessions.h"
#include "service/users.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define COOKIE_NAME "lockstep_refresh"
#define COOKIE_PATH "/api/v1/auth"

/* ---- the argon2id gate -------------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    sem_t hash_gate;
    bool ready;
} auth_state = {.mu = PTHREAD_MUTEX_INITIALIZER};

int auth_hash_slots(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* argon2id is meant to be slow: leave at least one CPU for everything else. */
    return cpus > 2 ? (int)(cpus - 1) : 1;
}

int auth_init(struct app *app, char *err, size_t errlen)
{
    if (token_load_secret(app, err, errlen) != 0)
        return -1;
    long keep = app->cfg.login_max_failures > app->cfg.login_address_max_failures
                    ? app->cfg.login_max_failures
                    : app->cfg.login_address_max_failures;
    if (login_throttle_init(app->cfg.login_throttle_slots, keep) != 0) {
        snprintf(err, errlen, "cannot allocate the login throttle (%ld records)",
                 app->cfg.login_throttle_slots);
        return -1;
    }
    pthread_mutex_lock(&auth_state.mu);
    if (!auth_state.ready) {
        unsigned gate = (unsigned)auth_hash_slots();
        if (sem_init(&auth_state.hash_gate, 0, gate) != 0) {
            pthread_mutex_unlock(&auth_state.mu);
            snprintf(err, errlen, "cannot create the password hashing gate");
            return -1;
        }
        auth_state.ready = true;
    }
    pthread_mutex_unlock(&auth_state.mu);
    /* Warm the dummy hash so the first unknown-email login is not slower. */
    (void)users_verify_password(NULL, "warm-up");
    return 0;
}

void auth_shutdown(void)
{
    login_throttle_shutdown();
    pthread_mutex_lock(&auth_state.mu);
    if (auth_state.ready) {
        sem_destroy(&auth_state.hash_gate);
        auth_state.ready = false;
    }
    pthread_mutex_unlock(&auth_state.mu);
}

void auth_forget_user(int64_t id)
{
    auth_cache_user_forget(id);
}

/* ---- requests ------------------------------------------------------------------ */

int auth_authenticate(struct http_req *r)
{
    const char *h = u_map_get_case(r->u->map_header, "Authorization");
    if (!h) {
        http_error(r, 401, "Not authenticated");
        return -1;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        http_error(r, 401, "Invalid authentication scheme (expected Bearer)");
        return -1;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    if (strlen(token) > TOKEN_MAX) {
        http_error(r, 401, "Could not validate credentials");
        return -1;
    }
    int64_t uid = 0, issued = 0;
    if (!auth_cache_token_get(token, &uid, &issued)) {
        struct token_claims claims;
        if (token_verify(r->app, token, "access", &claims) != 0 || !claims.user_id) {
            http_error(r, 401, "Could not validate credentials");
            return -1;
        }
        uid = claims.user_id;
        issued = claims.issued_us;
        auth_cache_token_put(token, uid, issued, claims.exp_s);
    }
    if (!auth_cache_user_get(uid, &r->user)) {
        /* Reading the user is a handler thread's job. */
        if (http_defer(r))
            return 1;
        struct store *s = http_store(r);
        int rc = users_get(s, uid, &r->user);
        if (rc == STORE_ERR_NOT_FOUND) {
            http_error(r, 401, "Could not validate credentials");
            return -1;
        }
        if (rc) {
            http_store_error(r, rc);
            return -1;
        }
        auth_cache_user_put(&r->user);
    }
    if (!r->user.is_active) {
        http_error(r, 401, "Inactive user");
        return -1;
    }
    if (r->user.tokens_valid_after && issued < r->user.tokens_valid_after) {
        http_error(r, 401, "Token has been revoked");
        return -1;
    }
    r->authed = true;
    return 0;
}

/* Issue an access and a refresh token; the refresh token's id is stored. */
static int issue_pair(struct http_req *r, const struct user *u, const char *family,
                      bool cookie)
{
    struct app *app = r->app;
    int64_t now = time_now_us();
    char jti_a[33], jti_r[33], fam[33];
    token_random_id(jti_a);
    token_random_id(jti_r);
    if (family)
        snprintf(fam, sizeof fam, "%s", family);
    else
        token_random_id(fam);
    int64_t access_ttl = app->cfg.access_token_minutes * 60;
    int64_t refresh_ttl = app->cfg.refresh_token_days * 86400;
    char *access = token_sign(app, u, "access", now, access_ttl, jti_a, NULL);
    char *refresh = token_sign(app, u, "refresh", now, refresh_ttl, jti_r, fam);
    if (!access || !refresh) {
        free(access);
        free(refresh);
        http_service_error(r, LS_ERR_DATABASE, "cannot sign tokens");
        return -1;
    }
    struct refresh_token t = {.user_id = u->id, .issued_at = now,
                              .expires_at = now + refresh_ttl * USEC_PER_SEC};
    snprintf(t.jti, sizeof t.jti, "%s", jti_r);
    snprintf(t.family, sizeof t.family, "%s", fam);
    struct store *s = http_store(r);
    int rc = sessions_record(s, &t);
    if (rc) {
        free(access);
        free(refresh);
        http_store_error(r, rc);
        return -1;
    }
    json_t *o = json_object();
    json_object_set_new(o, "access_token", json_string(access));
    json_object_set_new(o, "refresh_token", cookie ? json_null() : json_string(refresh));
    json_object_set_new(o, "token_type", json_string("bearer"));
    json_object_set_new(o, "expires_in", json_integer(access_ttl));
    if (cookie)
        ulfius_add_same_site_cookie_to_response(r->resp, COOKIE_NAME, refresh, NULL,
                                                (unsigned)refresh_ttl, NULL, COOKIE_PATH, 0, 1,
                                                U_COOKIE_SAME_SITE_STRICT);
    sodium_memzero(refresh, strlen(refresh));
    free(access);
    free(refresh);
    http_json(r, 200, o);
    return 0;
}

static bool wants_cookie(struct http_req *r)
{
    const char *v = http_query(r, "session");
    return v && !strcmp(v, "cookie");
}

void h_login(struct http_req *r)
{
    const char *email_in, *password;
    if (http_body_string(r, "email", true, EMAIL_MAX, &email_in) < 0 ||
        http_body_string(r, "password", true, USERS_PASSWORD_MAX, &password) < 0)
        return;
    struct app *app = r->app;
    char email[EMAIL_MAX + 1];
    bool valid_email = users_normalize_email(email_in, email) == 0;
    if (!valid_email)
        snprintf(email, sizeof email, "%.*s", EMAIL_MAX, email_in);
    struct login_throttle_limits lim = {.account_max = app->cfg.login_max_failures,
                                        .address_max = app->cfg.login_address_max_failures,
                                        .window_s = app->cfg.login_window_seconds};
    struct login_throttle_ticket ticket;
    long wait = login_throttle_begin(email, r->ip, time_now_us(), &lim, &ticket);
    if (login_throttle_was_full())
        log_msg(LOG_WARNING, "auth", "request %s: the login throttle has no room for more "
                "failing accounts or addresses; refusing logins it could not count "
                "(login_throttle_slots = %ld)", r->id, app->cfg.login_throttle_slots);
    if (wait > 0) {
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", wait);
        http_header(r, "Retry-After", ra);
        http_error(r, 429, "Too many failed login attempts; retry in %ld seconds", wait);
        return;
    }
    struct user u;
    char err[512];
    int rc = users_get_by_email(http_store(r), email, &u, err, sizeof err);
    if (rc && rc != LS_ERR_NOT_FOUND) {
        login_throttle_end(&ticket, LOGIN_ABANDONED, time_now_us());
        http_service_error(r, rc, err);
        return;
    }
    bool found = rc == 0;
    /* Give the connection back while hashing: argon2id takes tens of ms. */
    store_pool_put(app->pool, r->store);
    r->store = NULL;
    while (sem_wait(&auth_state.hash_gate) != 0 && errno == EINTR)
        ;
    bool ok = users_verify_password(found ? u.password_hash : NULL, password);
    sem_post(&auth_state.hash_gate);
    login_throttle_end(&ticket, ok ? LOGIN_SUCCEEDED : LOGIN_FAILED, time_now_us());
    if (!ok) {
        http_error(r, 401, "Incorrect email or password");
        json_t *d = json_object();
        json_object_set_new(d, "email", json_string(email));
        json_object_set_new(d, "reason", json_string(found ? "wrong password" : "unknown email"));
        if (found)
            r->user = u;
        r->authed = found;
        http_audit(r, "LOGIN_FAILED", "user", NULL, d);
        r->authed = false;
        json_decref(d);
        return;
    }
    if (!u.is_active) {
        http_error(r, 403, "Inactive user");
        r->user = u;
        r->authed = true;
        http_audit(r, "LOGIN_FAILED", "user", NULL, NULL);
        r->authed = false;
        return;
    }
    r->user = u;
    r->authed = true;
    if (issue_pair(r, &u, NULL, wants_cookie(r)) == 0)
        http_audit(r, "LOGIN", "user", NULL, NULL);
}

void h_refresh(struct http_req *r)
{
    const char *token = NULL;
    if (http_body_string(r, "refresh_token", false, TOKEN_MAX, &token) < 0)
        return;
    bool cookie = false;
    if (!token) {
        token = u_map_get(r->u->map_cookie, COOKIE_NAME);
        cookie = token != NULL;
    }
    if (!token) {
        http_error(r, 401, "A refresh token is required");
        return;
    }
    struct token_claims claims;
    if (token_verify(r->app, token, "refresh", &claims) != 0 || !claims.jti[0] ||
        !claims.user_id) {
        http_error(r, 401, "Invalid or expired refresh token");
        return;
    }
    int64_t uid = claims.user_id;
    struct refresh_token t;
    struct user u;
    bool reused = false;
    int rc = sessions_rotate(http_store(r), claims.jti, uid, time_now_us(), &t, &u, &reused);
    if (reused)
        auth_forget_user(uid);
    if (rc == SESSIONS_INVALID) {
        http_error(r, 401, "Invalid or expired refresh token");
        return;
    }
    if (rc == SESSIONS_REUSED) {
        log_msg(LOG_WARNING, "auth", "request %s: refresh token reuse for user %lld; "
                "ended every session of the user", r->id, (long long)uid);
        http_error(r, 401, "Refresh token reuse detected; please log in again");
        return;
    }
    if (rc == SESSIONS_NO_USER) {
        http_error(r, 401, "Inactive or unknown user");
        return;
    }
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    r->user = u;
    r->authed = true;
    issue_pair(r, &u, t.family, cookie || wants_cookie(r));
}

void h_logout(struct http_req *r)
{
    /* Every session of the caller ends: the refresh tokens and every access
     * token issued until now. Only tokens_valid_after is written, never the
     * user row read when the request was authenticated. */
    int rc = users_end_sessions(http_store(r), r->user.id, time_now_us());
    auth_forget_user(r->user.id);
    if (rc) {
        http_store_error(r, rc);
        return;
    }
    ulfius_add_same_site_cookie_to_response(r->resp, COOKIE_NAME, "", NULL, 0, NULL,
                                            COOKIE_PATH, 0, 1, U_COOKIE_SAME_SITE_STRICT);
    json_t *o = json_object();
    json_object_set_new(o, "detail", json_string("Logged out"));
    http_json(r, 200, o);
    http_audit(r, "LOGOUT", "user", NULL, NULL);
}

void h_me(struct http_req *r)
{
    http_json(r, 200, users_json(&r->user, false));
}
